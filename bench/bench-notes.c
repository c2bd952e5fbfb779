/* bench-notes.c — notes full-text search over 100,000 notes (SPEC §11:
 * p50 < 5 ms).
 *
 * Usage: bench-notes [--notes N] [--rounds N]
 *
 * A store in a temporary directory gets one user and N notes (default
 * 100,000) inserted through lares_notes_insert_tagged() in write jobs of
 * 5,000, so the FTS index is built by the same triggers as in the daemon.
 * Bodies are 20-60 words drawn from a 5,000-word vocabulary with a Zipf-like
 * distribution (common words are very common, rare ones rare), titles 2-4
 * words, 0-2 tags of 20.  Then each query of a fixed set (a rare word, a
 * common word, two and three words AND-ed, prefixes, a tag) runs through
 * lares_notes_query_build() and lares_notes_search() with limit 20 on a
 * read-only connection of the store: once unrecorded, then --rounds times
 * (default 50), each call timed alone with CLOCK_MONOTONIC.  This is the
 * store's part of GET /api/v1/search; HTTP adds ~35 µs (STYLE.md §12).
 *
 * Results go to stdout as key=value lines.
 * DESIGN: one thread; nothing else runs while a call is timed.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench-util.h"
#include "lares-notes.h"
#include "lares-store.h"

#define VOCAB         5000
#define BATCH         5000
#define BUDGET_P50_MS 5.0

typedef struct
{
  unsigned n_notes;
  unsigned done;
  GRand *rand;
  char **words;
  double *cdf;
} Fill;

/* CPU time of this thread: unlike the wall clock, not stretched by other
 * work on a shared machine. */
static double
thread_cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* How many notes match @fts (all users; the bench has one). */
static int64_t
count_matches (sqlite3 *db, const char *fts)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_prepare (db, "SELECT count(*) FROM notes_fts WHERE notes_fts MATCH ?1", NULL);

  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, fts, -1, SQLITE_STATIC);
  return sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : -1;
}

static double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Word i: a pronounceable made-up word, unique per i. */
static char *
make_word (unsigned i)
{
  static const char *const syl[] = { "ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "pe", "du",
                                     "ba", "go", "ri", "fe", "zu", "ha", "jo", "we", "ny", "qu" };
  GString *w = g_string_new (NULL);

  do
    {
      g_string_append (w, syl[i % 20]);
      i /= 20;
    }
  while (i > 0);
  g_string_append (w, "x");
  return g_string_free (w, FALSE);
}

static const char *
pick (Fill *f)
{
  double r = g_rand_double (f->rand);
  unsigned lo = 0, hi = VOCAB - 1;

  while (lo < hi)
    {
      unsigned mid = (lo + hi) / 2;
      if (f->cdf[mid] < r)
        lo = mid + 1;
      else
        hi = mid;
    }
  return f->words[lo];
}

static gboolean
fill_batch (sqlite3 *db, gpointer data, GError **error)
{
  Fill *f = data;
  unsigned end = MIN (f->done + BATCH, f->n_notes);
  g_autoptr (GString) title = g_string_new (NULL);
  g_autoptr (GString) body = g_string_new (NULL);

  for (; f->done < end; f->done++)
    {
      char tag_a[16], tag_b[16];
      const char *tags[3] = { NULL, NULL, NULL };
      unsigned n_tags = g_rand_int_range (f->rand, 0, 3);
      int n;

      g_string_truncate (title, 0);
      g_string_truncate (body, 0);
      n = g_rand_int_range (f->rand, 2, 5);
      for (int i = 0; i < n; i++)
        g_string_append_printf (title, "%s%s", i ? " " : "", pick (f));
      n = g_rand_int_range (f->rand, 20, 61);
      for (int i = 0; i < n; i++)
        g_string_append_printf (body, "%s%s", i ? " " : "", pick (f));
      g_snprintf (tag_a, sizeof tag_a, "tag%d", g_rand_int_range (f->rand, 0, 20));
      g_snprintf (tag_b, sizeof tag_b, "tag%d", g_rand_int_range (f->rand, 0, 20));
      if (n_tags > 0)
        tags[0] = tag_a;
      if (n_tags > 1)
        tags[1] = tag_b;
      if (!lares_notes_insert_tagged (db, 1, title->str, body->str, tags, 1700000000000 + f->done,
                                      NULL, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
add_user (sqlite3 *db, gpointer data, GError **error)
{
  return lares_sql_exec (
      db, "INSERT INTO users (name, role, created_at) VALUES ('bench','admin',1)", error);
}

int
main (int argc, char **argv)
{
  gint64 n_notes = 100000, rounds = 50;
  GOptionEntry entries[] = {
    { "notes", 0, 0, G_OPTION_ARG_INT64, &n_notes, "notes to insert (100000)", "N" },
    { "rounds", 0, 0, G_OPTION_ARG_INT64, &rounds, "timed runs of each query (50)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- notes search benchmark");
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  LaresStore *store;
  sqlite3 *db;
  Fill f = { 0 };
  double t0, fill_ms, total = 0;
  g_autoptr (GArray) all = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) all_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  char *queries[8];
  int fails = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || n_notes < 1 || rounds < 1)
    {
      fprintf (stderr, "bench-notes: %s\n", error ? error->message : "bad numbers");
      return 2;
    }
  dir = bench_make_tmp_dir (&error);
  if (dir == NULL || (store = lares_store_open (dir, NULL, &error)) == NULL)
    {
      fprintf (stderr, "bench-notes: %s\n", error->message);
      return 1;
    }

  f.n_notes = (unsigned)n_notes;
  f.rand = g_rand_new_with_seed (42);
  f.words = g_new0 (char *, VOCAB);
  f.cdf = g_new0 (double, VOCAB);
  for (unsigned i = 0; i < VOCAB; i++)
    {
      f.words[i] = make_word (i);
      total += 1.0 / (i + 1);
      f.cdf[i] = total;
    }
  for (unsigned i = 0; i < VOCAB; i++)
    f.cdf[i] /= total;

  t0 = now_ms ();
  if (!lares_store_write_sync (store, add_user, NULL, &error))
    goto fail;
  while (f.done < f.n_notes)
    if (!lares_store_write_sync (store, fill_batch, &f, &error))
      goto fail;
  fill_ms = now_ms () - t0;
  printf ("notes=%u\n", f.n_notes);
  printf ("insert_ms=%.0f\n", fill_ms);
  printf ("insert_per_note_us=%.1f\n", fill_ms * 1000.0 / f.n_notes);

  /* Ranks 4000 (rare), 50 (common), 2 (very common), pairs, prefixes, a tag. */
  queries[0] = g_strdup (f.words[4000]);
  queries[1] = g_strdup (f.words[50]);
  queries[2] = g_strdup (f.words[2]);
  queries[3] = g_strdup_printf ("%s %s", f.words[50], f.words[300]);
  queries[4] = g_strdup_printf ("%s %s %s", f.words[10], f.words[100], f.words[1000]);
  queries[5] = g_strdup_printf ("%.3s*", f.words[700]);
  queries[6] = g_strdup_printf ("%.5s* %s", f.words[1500], f.words[20]);
  queries[7] = g_strdup ("tag7");

  /* As a reader of the daemon's pool: statements kept after their first use. */
  db = lares_store_open_reader_cached (store, &error);
  if (db == NULL)
    goto fail;
  for (unsigned q = 0; q < G_N_ELEMENTS (queries); q++)
    {
      const char *why = NULL;
      g_autofree char *fts = lares_notes_query_build (queries[q], &why);
      g_autofree double *times = g_new (double, rounds);
      g_autofree double *cpu = g_new (double, rounds);
      unsigned hits = 0;
      int64_t matches = count_matches (db, fts);

      for (gint64 r = -1; r < rounds; r++)
        {
          double cpu0 = thread_cpu_ms ();
          double start = now_ms ();
          g_autoptr (GPtrArray) res = lares_notes_search (db, 1, fts, 0, 0, 20, &error);
          double ms = now_ms () - start;
          double cpu_ms = thread_cpu_ms () - cpu0;

          if (res == NULL)
            {
              fprintf (stderr, "bench-notes: %s: %s\n", queries[q], error->message);
              g_clear_error (&error);
              fails++;
              break;
            }
          hits = res->len;
          if (r >= 0)
            {
              times[r] = ms;
              cpu[r] = cpu_ms;
              g_array_append_val (all, ms);
              g_array_append_val (all_cpu, cpu_ms);
            }
        }
      bench_sort (times, (size_t)rounds);
      bench_sort (cpu, (size_t)rounds);
      printf ("query_%u=%s\n", q, queries[q]);
      printf ("query_%u_matches=%" G_GINT64_FORMAT "\n", q, matches);
      printf ("query_%u_hits=%u\n", q, hits);
      printf ("query_%u_cpu_p50_ms=%.3f\n", q, bench_percentile (cpu, (size_t)rounds, 50));
      printf ("query_%u_p50_ms=%.3f\n", q, bench_percentile (times, (size_t)rounds, 50));
      printf ("query_%u_p99_ms=%.3f\n", q, bench_percentile (times, (size_t)rounds, 99));
    }
  lares_sql_close (db);
  bench_sort ((double *)(void *)all->data, all->len);
  bench_sort ((double *)(void *)all_cpu->data, all_cpu->len);
  printf ("search_cpu_p50_ms=%.3f\n",
          bench_percentile ((double *)(void *)all_cpu->data, all_cpu->len, 50));
  printf ("search_cpu_p99_ms=%.3f\n",
          bench_percentile ((double *)(void *)all_cpu->data, all_cpu->len, 99));
  printf ("rank_window=%d\n", LARES_NOTES_RANK_WINDOW);
  printf ("search_p50_ms=%.3f\n", bench_percentile ((double *)(void *)all->data, all->len, 50));
  printf ("search_p99_ms=%.3f\n", bench_percentile ((double *)(void *)all->data, all->len, 99));
  printf ("search_max_ms=%.3f\n", ((double *)(void *)all->data)[all->len - 1]);
  printf ("budget_p50_ms=%.1f\n", BUDGET_P50_MS);

  lares_store_close (store);
  bench_rm_rf (dir);
  for (unsigned i = 0; i < G_N_ELEMENTS (queries); i++)
    g_free (queries[i]);
  for (unsigned i = 0; i < VOCAB; i++)
    g_free (f.words[i]);
  g_free (f.words);
  g_free (f.cdf);
  g_rand_free (f.rand);
  return fails ? 1 : 0;

fail:
  fprintf (stderr, "bench-notes: %s\n", error->message);
  lares_store_close (store);
  bench_rm_rf (dir);
  return 1;
}
