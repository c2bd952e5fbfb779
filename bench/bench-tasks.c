/* bench-tasks.c — task list with urgency sort over 10,000 tasks.
 *
 * Inserts N tasks through the store API (lares_tasks_insert inside store
 * writes of 500) into a temporary data directory, with a realistic mix of
 * projects, tags, priorities, due dates, annotations and a few
 * dependencies, then times lares_tasks_list() of the pending tasks sorted
 * by urgency (read, parse, blocking/blocked lookups, urgency, sort) on a
 * reader connection.  Prints key=value lines.
 */
#include "config.h"

#include "bench-util.h"
#include "lares-store.h"
#include "lares-tasks.h"

#include <stdio.h>

#define N_TASKS 10000
#define BATCH   500
#define RUNS    60

typedef struct
{
  int64_t now_ms;
  unsigned from;
  char first_uuid[37];
} Fill;

static gboolean
fill_run (sqlite3 *db, gpointer data, GError **error)
{
  Fill *f = data;
  static const char *const projects[] = { "", "home", "home.garden", "work", "work.reports" };
  static const char *const prio[] = { "", "H", "M", "L" };

  for (unsigned i = f->from; i < f->from + BATCH && i < N_TASKS; i++)
    {
      g_autoptr (LaresTask) t = lares_task_new ();
      g_autofree char *desc = g_strdup_printf ("task number %u to do soon", i);

      g_free (t->description);
      t->description = g_steal_pointer (&desc);
      g_free (t->project);
      t->project = g_strdup (projects[i % G_N_ELEMENTS (projects)]);
      g_strlcpy (t->priority, prio[i % G_N_ELEMENTS (prio)], sizeof t->priority);
      t->entry = t->modified = f->now_ms - (int64_t)(i % 400) * 86400000;
      if (i % 3 == 0)
        t->due = f->now_ms + ((int64_t)(i % 60) - 20) * 86400000;
      if (i % 4 == 0)
        {
          g_strfreev (t->tags);
          t->tags = g_strsplit (i % 8 == 0 ? "next,shop" : "errand", ",", -1);
        }
      if (i % 10 == 0)
        {
          LaresTaskAnnotation *a = g_new0 (LaresTaskAnnotation, 1);
          a->entry = t->entry;
          a->description = g_strdup ("a note");
          g_ptr_array_add (t->annotations, a);
        }
      if (i % 50 == 1 && f->first_uuid[0])
        {
          g_strfreev (t->depends);
          t->depends = g_strsplit (f->first_uuid, ",", -1);
        }
      if (i % 7 == 0)
        t->status = LARES_TASK_COMPLETED, t->end = f->now_ms;
      if (!lares_tasks_insert (db, 1, t, error))
        return FALSE;
      if (i == 0)
        g_strlcpy (f->first_uuid, t->uuid, sizeof f->first_uuid);
    }
  return TRUE;
}

static gboolean
user_run (sqlite3 *db, gpointer data, GError **error)
{
  return lares_sql_exec (db, "INSERT INTO users (name, role, created_at) VALUES ('b', 'admin', 1)",
                         error);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = bench_make_tmp_dir (&error);
  g_autoptr (LaresStore) store = NULL;
  Fill fill = { 0 };
  double times[RUNS], by_id[RUNS];
  int64_t t0;
  unsigned pending = 0;
  sqlite3 *db;

  if (dir == NULL || (store = lares_store_open (dir, NULL, &error)) == NULL ||
      !lares_store_write_sync (store, user_run, NULL, &error))
    {
      fprintf (stderr, "bench-tasks: %s\n", error->message);
      return 1;
    }
  fill.now_ms = g_get_real_time () / 1000;
  t0 = g_get_monotonic_time ();
  for (fill.from = 0; fill.from < N_TASKS; fill.from += BATCH)
    if (!lares_store_write_sync (store, fill_run, &fill, &error))
      {
        fprintf (stderr, "bench-tasks: %s\n", error->message);
        return 1;
      }
  printf ("tasks.n=%d\n", N_TASKS);
  printf ("tasks.insert_ms=%.1f\n", (double)(g_get_monotonic_time () - t0) / 1000);

  db = lares_store_open_reader_cached (store, &error);
  if (db == NULL)
    {
      fprintf (stderr, "bench-tasks: %s\n", error->message);
      return 1;
    }
  for (int r = 0; r < RUNS; r++)
    {
      LaresTaskFilter f = { .status = LARES_TASK_PENDING, .by_urgency = TRUE };
      LaresTaskFilter g = { .status = LARES_TASK_PENDING };
      g_autoptr (GPtrArray) a = NULL, b = NULL;

      t0 = g_get_monotonic_time ();
      a = lares_tasks_list (db, 1, &f, fill.now_ms, &error);
      times[r] = (double)(g_get_monotonic_time () - t0);
      t0 = g_get_monotonic_time ();
      b = lares_tasks_list (db, 1, &g, fill.now_ms, &error);
      by_id[r] = (double)(g_get_monotonic_time () - t0);
      if (a == NULL || b == NULL)
        {
          fprintf (stderr, "bench-tasks: %s\n", error->message);
          return 1;
        }
      pending = a->len;
    }
  lares_sql_close (db);
  bench_sort (times, RUNS);
  bench_sort (by_id, RUNS);
  printf ("tasks.pending=%u\n", pending);
  printf ("tasks.list_urgency_ms_p50=%.2f\n", bench_percentile (times, RUNS, 50) / 1000);
  printf ("tasks.list_urgency_ms_p99=%.2f\n", bench_percentile (times, RUNS, 99) / 1000);
  printf ("tasks.list_by_id_ms_p50=%.2f\n", bench_percentile (by_id, RUNS, 50) / 1000);
  g_clear_pointer (&store, lares_store_close);
  bench_rm_rf (dir);
  return 0;
}
