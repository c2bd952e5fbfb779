/* bench-scheduler.c — the scheduler with 100k pending jobs (SPEC §11:
 * fire lateness p99 < 50 ms, memory < 50 MB).
 *
 * Usage: bench-scheduler [--pending N] [--fire N] [--burst N]
 *
 * In one process, on a real store in a temporary directory (WAL,
 * synchronous=FULL, as the daemon runs it) and with the real clock:
 * 1. N pending jobs (default 100,000) of 1,000 users, due over the next 30
 *    days, are written in one transaction; then the scheduler starts
 *    (reads them all and arms its timer).  Reported: start-up time, RSS
 *    before and after (the index's cost) and the process's peak RSS.
 * 2. Spread: --fire jobs (default 3,000) due one every 2 ms from 2 s after
 *    start, for one user with a bus subscriber.  Lateness = the moment the
 *    subscriber gets the notification (after the firing has committed)
 *    minus the due time.
 * 3. Burst: --burst jobs (default 1,000) all due at the same instant; the
 *    same lateness, the last of them is the one that waits longest.
 *
 * Results go to stdout as key=value lines like the other benches.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-util.h"
#include "lares-bus.h"
#include "lares-jobs.h"
#include "lares-scheduler.h"
#include "lares-store.h"
#include "lares-users.h"

#define USERS 1000

typedef struct
{
  unsigned pending, fire, burst;
  int64_t base_ms;
  int64_t listener; /* the user whose jobs are timed */
  int64_t *users;
} Setup;

typedef struct
{
  GArray *seen; /* Seen */
} Sink;

static gboolean
fill (sqlite3 *db, gpointer data, GError **error)
{
  Setup *s = data;
  LaresJob job = { 0 };

  for (unsigned u = 0; u < USERS; u++)
    {
      g_autofree char *name = g_strdup_printf ("user%u", u);
      if (!lares_users_insert (db, name, "user", NULL, 1, &s->users[u], error))
        return FALSE;
    }
  s->listener = s->users[0];
  job.kind = LARES_JOB_REMINDER;
  job.text = (char *)"water the plants";
  for (unsigned i = 0; i < s->pending; i++)
    {
      job.user_id = s->users[1 + i % (USERS - 1)];
      job.due_at = s->base_ms + 3600 * 1000 + (int64_t)g_random_int_range (0, 30 * 86400) * 1000;
      if (!lares_jobs_insert (db, &job, s->base_ms, NULL, error))
        return FALSE;
    }
  return TRUE;
}

/* PRAGMA wal_checkpoint(TRUNCATE) on a connection of its own (it cannot
 * run inside the transaction of a store write). */
static gboolean
checkpoint (LaresStore *store, GError **error)
{
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2 (lares_store_get_path (store), &db, SQLITE_OPEN_READWRITE, NULL);

  if (rc == SQLITE_OK)
    rc = sqlite3_exec (db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    lares_sql_throw (db, rc, error);
  sqlite3_close (db);
  return rc == SQLITE_OK;
}

typedef struct
{
  Setup *s;
  int64_t first_due;
  unsigned n;
  int64_t step_ms;
} Batch;

static gboolean
add_batch (sqlite3 *db, gpointer data, GError **error)
{
  Batch *b = data;
  LaresJob job = { 0 };

  job.kind = LARES_JOB_TIMER;
  job.text = (char *)"";
  job.user_id = b->s->listener;
  job.seconds = 1;
  for (unsigned i = 0; i < b->n; i++)
    {
      job.due_at = b->first_due + i * b->step_ms;
      if (!lares_jobs_insert (db, &job, b->s->base_ms, NULL, error))
        return FALSE;
    }
  return TRUE;
}

/* The subscriber only notes the time and keeps the bytes: parsing happens
 * after the run, so the bench's own work does not delay later firings. */
typedef struct
{
  double at_ms;
  GBytes *payload;
} Seen;

static void
on_note (GBytes *payload, gpointer data)
{
  Sink *k = data;
  Seen seen = { (double)g_get_real_time () / 1000.0, g_bytes_ref (payload) };

  g_array_append_val (k->seen, seen);
}

/* Lateness of every notification seen, in ms; empties @k->seen. */
static GArray *
lateness (Sink *k)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (double));

  for (unsigned i = 0; i < k->seen->len; i++)
    {
      Seen *seen = &g_array_index (k->seen, Seen, i);
      g_autoptr (JsonParser) p = json_parser_new ();
      JsonObject *job;
      double late;

      if (json_parser_load_from_data (p, g_bytes_get_data (seen->payload, NULL),
                                      (gssize)g_bytes_get_size (seen->payload), NULL))
        {
          job = json_object_get_object_member (json_node_get_object (json_parser_get_root (p)),
                                               "job");
          /* One-off jobs keep the due time they fired for. */
          late = seen->at_ms - (double)json_object_get_int_member (job, "due_ms");
          g_array_append_val (out, late);
        }
      g_bytes_unref (seen->payload);
    }
  g_array_set_size (k->seen, 0);
  return out;
}

static gboolean
deadline_cb (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
run_until (Sink *k, unsigned want, unsigned timeout_ms)
{
  gboolean expired = FALSE;
  unsigned id = g_timeout_add (timeout_ms, deadline_cb, &expired);

  while (k->seen->len < want && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
}

static void
report (const char *what, GArray *a)
{
  double *v = (double *)a->data;

  bench_sort (v, a->len);
  printf ("scheduler.%s.fired=%u\n", what, a->len);
  if (a->len == 0)
    return;
  printf ("scheduler.%s.lateness_ms_p50=%.2f\n", what, bench_percentile (v, a->len, 50));
  printf ("scheduler.%s.lateness_ms_p99=%.2f\n", what, bench_percentile (v, a->len, 99));
  printf ("scheduler.%s.lateness_ms_max=%.2f\n", what, v[a->len - 1]);
}

int
main (int argc, char **argv)
{
  Setup s = { 100000, 3000, 1000, 0, 0, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  LaresStore *store;
  LaresBus *bus;
  LaresScheduler *sched;
  Sink k = { 0 };
  Batch spread, burst;
  uint64_t rss0, rss1;
  int64_t t0;
  GPid self = getpid ();

  for (int i = 1; i + 1 < argc; i += 2)
    {
      unsigned v = (unsigned)strtoul (argv[i + 1], NULL, 10);
      if (strcmp (argv[i], "--pending") == 0)
        s.pending = v;
      else if (strcmp (argv[i], "--fire") == 0)
        s.fire = v;
      else if (strcmp (argv[i], "--burst") == 0)
        s.burst = v;
    }
  s.users = g_new0 (int64_t, USERS);
  dir = bench_make_tmp_dir (&error);
  if (dir == NULL || (store = lares_store_open (dir, NULL, &error)) == NULL)
    {
      fprintf (stderr, "bench-scheduler: %s\n", error->message);
      return 1;
    }
  s.base_ms = g_get_real_time () / 1000;
  t0 = g_get_monotonic_time ();
  if (!lares_store_write_sync (store, fill, &s, &error))
    {
      fprintf (stderr, "bench-scheduler: filling the store: %s\n", error->message);
      return 1;
    }
  printf ("scheduler.pending=%u\n", s.pending);
  printf ("scheduler.fill_ms=%.0f\n", (double)(g_get_monotonic_time () - t0) / 1000);
  /* The fill is set-up: copy its WAL (tens of MB) into the database now,
   * as a daemon's auto-checkpoints would have done long ago, rather than in
   * the middle of the timed firings. */
  if (!checkpoint (store, &error))
    {
      fprintf (stderr, "bench-scheduler: checkpoint: %s\n", error->message);
      return 1;
    }

  /* The timed jobs: a spread from +3 s and a burst after it, both
   * relative to when the scheduler will have started. */
  s.base_ms = g_get_real_time () / 1000;
  spread = (Batch){ &s, s.base_ms + 3000, s.fire, 2 };
  burst = (Batch){ &s, spread.first_due + (int64_t)s.fire * 2 + 2000, s.burst, 0 };
  if (!lares_store_write_sync (store, add_batch, &spread, &error) ||
      !lares_store_write_sync (store, add_batch, &burst, &error))
    {
      fprintf (stderr, "bench-scheduler: %s\n", error->message);
      return 1;
    }

  bus = lares_bus_new ();
  rss0 = bench_proc_status_kib (self, "VmRSS");
  t0 = g_get_monotonic_time ();
  sched = lares_scheduler_new (store, bus, NULL);
  if (!lares_scheduler_start (sched, &error))
    {
      fprintf (stderr, "bench-scheduler: %s\n", error->message);
      return 1;
    }
  printf ("scheduler.start_ms=%.1f\n", (double)(g_get_monotonic_time () - t0) / 1000);
  rss1 = bench_proc_status_kib (self, "VmRSS");
  printf ("scheduler.rss_before_kib=%" G_GUINT64_FORMAT "\n", rss0);
  printf ("scheduler.rss_kib=%" G_GUINT64_FORMAT "\n", rss1);
  printf ("scheduler.index_kib=%" G_GINT64_FORMAT "\n", (int64_t)rss1 - (int64_t)rss0);

  k.seen = g_array_new (FALSE, FALSE, sizeof (Seen));
  lares_bus_subscribe (bus, s.listener, on_note, &k);
  run_until (&k, s.fire, 60000);
  {
    g_autoptr (GArray) late = lateness (&k);
    report ("spread", late);
  }
  run_until (&k, s.burst, 60000);
  {
    g_autoptr (GArray) late = lateness (&k);
    report ("burst", late);
  }
  printf ("scheduler.rss_peak_kib=%" G_GUINT64_FORMAT "\n", bench_proc_status_kib (self, "VmHWM"));
  {
    LaresSchedulerStats st;
    lares_scheduler_get_stats (sched, &st);
    printf ("scheduler.still_pending=%u\n", st.pending);
  }

  lares_scheduler_free (sched);
  lares_bus_free (bus);
  lares_store_close (store);
  bench_rm_rf (dir);
  g_array_unref (k.seen);
  g_free (s.users);
  return 0;
}
