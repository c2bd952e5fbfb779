/* bench-intent.c — intent engine speed: start-up compile time of the full
 * English template set, and match time per utterance over the golden corpus.
 *
 * Usage: bench-intent [--rounds N] [--compile-runs N] [--slowest N] DATA_DIR CORPUS_JSONL
 *
 * Compile: the engine is built from DATA_DIR/en 20 times (--compile-runs;
 * fewer keeps a callgrind run of the match short); p50 and max.
 * Match: every corpus utterance (at its own "now", zone and the corpus's
 * entities) is matched once unrecorded, then N rounds (default 20) each
 * matching every utterance once, each call timed alone with
 * CLOCK_MONOTONIC.  Percentiles are over all timed calls.  --slowest N
 * lists on stderr the N utterances with the highest median time, the ones
 * that set p99 (for profiling; a shared machine's noise moves the max, not
 * the medians).
 *
 * Results go to stdout as key=value lines (run-bench.sh parses them).
 * DESIGN: one thread; nothing else runs while a call is timed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench-util.h"
#include "lares-intent.h"

#define COMPILE_RUNS  20
#define BUDGET_P99_US 50.0

typedef struct
{
  char *text;
  GDateTime *now;
  GTimeZone *tz;
} Utterance;

static double
now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
utterance_clear (gpointer p)
{
  Utterance *u = p;
  g_free (u->text);
  g_date_time_unref (u->now);
  g_time_zone_unref (u->tz);
}

typedef struct
{
  double median;
  size_t index;
} Slow;

static int
slow_cmp (const void *a, const void *b)
{
  const Slow *x = a, *y = b;
  return x->median < y->median ? 1 : x->median > y->median ? -1 : 0;
}

/* @lat holds @rounds rounds of one call per utterance, in order. */
static void
print_slowest (GArray *utts, const double *lat, size_t rounds, size_t n)
{
  g_autofree Slow *slow = g_new0 (Slow, utts->len);
  g_autofree double *one = g_new0 (double, rounds);

  for (size_t i = 0; i < utts->len; i++)
    {
      for (size_t r = 0; r < rounds; r++)
        one[r] = lat[r * utts->len + i];
      bench_sort (one, rounds);
      slow[i] = (Slow){ bench_percentile (one, rounds, 50), i };
    }
  qsort (slow, utts->len, sizeof (Slow), slow_cmp);
  for (size_t i = 0; i < n && i < utts->len; i++)
    fprintf (stderr, "slow %8.1f us  %s\n", slow[i].median,
             g_array_index (utts, Utterance, slow[i].index).text);
}

int
main (int argc, char **argv)
{
  int rounds = 20, compile_runs = COMPILE_RUNS, slowest = 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) utts = g_array_new (FALSE, TRUE, sizeof (Utterance));
  g_autoptr (LaresIntentEntities) ents = lares_intent_entities_new ();
  g_autoptr (LaresIntentEngine) engine = NULL;
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;
  g_autofree double *compile = NULL;
  g_autofree double *lat = NULL;
  const char *def_now = NULL, *def_tz = NULL;
  g_autoptr (JsonParser) head = json_parser_new ();
  size_t n_lat = 0, matched = 0;

  g_array_set_clear_func (utts, utterance_clear);
  while (argc >= 3 && g_str_has_prefix (argv[1], "--"))
    {
      if (g_strcmp0 (argv[1], "--rounds") == 0)
        rounds = atoi (argv[2]) > 0 ? atoi (argv[2]) : 20;
      else if (g_strcmp0 (argv[1], "--compile-runs") == 0)
        compile_runs = atoi (argv[2]) > 0 ? atoi (argv[2]) : COMPILE_RUNS;
      else if (g_strcmp0 (argv[1], "--slowest") == 0)
        slowest = atoi (argv[2]) > 0 ? atoi (argv[2]) : 0;
      else
        break;
      argv += 2;
      argc -= 2;
    }
  if (argc != 3)
    {
      fprintf (stderr, "usage: bench-intent [--rounds N] [--compile-runs N] [--slowest N] DATA_DIR "
                       "CORPUS_JSONL\n");
      return 2;
    }

  compile = g_new0 (double, compile_runs);
  for (int i = 0; i < compile_runs; i++)
    {
      double t0 = now_us ();
      g_autoptr (LaresIntentEngine) e = lares_intent_engine_new_from_dir (argv[1], "en", &error);
      compile[i] = now_us () - t0;
      if (e == NULL)
        {
          fprintf (stderr, "bench-intent: %s\n", error->message);
          return 1;
        }
    }
  engine = lares_intent_engine_new_from_dir (argv[1], "en", &error);
  g_assert_no_error (error);

  if (!g_file_get_contents (argv[2], &contents, NULL, &error))
    {
      fprintf (stderr, "bench-intent: %s\n", error->message);
      return 1;
    }
  lines = g_strsplit (contents, "\n", -1);
  if (lines[0] == NULL || !json_parser_load_from_data (head, lines[0], -1, &error))
    {
      fprintf (stderr, "bench-intent: bad corpus header\n");
      return 1;
    }
  {
    JsonObject *d = json_object_get_object_member (
        json_node_get_object (json_parser_get_root (head)), "defaults");
    JsonObject *eo = json_object_get_object_member (d, "entities");
    g_autoptr (GList) kinds = json_object_get_members (eo);
    def_now = json_object_get_string_member (d, "now");
    def_tz = json_object_get_string_member (d, "tz");
    for (GList *k = kinds; k != NULL; k = k->next)
      {
        JsonArray *a = json_object_get_array_member (eo, k->data);
        for (unsigned i = 0; i < json_array_get_length (a); i++)
          lares_intent_entities_add (ents, k->data, json_array_get_string_element (a, i));
      }
  }
  for (size_t i = 1; lines[i] != NULL; i++)
    {
      g_autoptr (JsonParser) p = json_parser_new ();
      JsonObject *c;
      Utterance u;
      if (*lines[i] == '\0' || !json_parser_load_from_data (p, lines[i], -1, NULL))
        continue;
      c = json_node_get_object (json_parser_get_root (p));
      u.text = g_strdup (json_object_get_string_member (c, "text"));
      u.tz =
          g_time_zone_new_identifier (json_object_get_string_member_with_default (c, "tz", def_tz));
      u.now = g_date_time_new_from_iso8601 (
          json_object_get_string_member_with_default (c, "now", def_now), u.tz);
      g_assert_nonnull (u.now);
      g_array_append_val (utts, u);
    }

  /* Warm-up, and how many match at all. */
  for (size_t i = 0; i < utts->len; i++)
    {
      Utterance *u = &g_array_index (utts, Utterance, i);
      g_autoptr (LaresIntentMatch) m =
          lares_intent_engine_match (engine, u->text, u->now, u->tz, ents);
      if (lares_intent_match_get_verdict (m) != LARES_INTENT_VERDICT_NONE)
        matched++;
    }
  lat = g_new0 (double, (size_t)rounds * utts->len);
  for (int r = 0; r < rounds; r++)
    for (size_t i = 0; i < utts->len; i++)
      {
        Utterance *u = &g_array_index (utts, Utterance, i);
        double t0 = now_us ();
        LaresIntentMatch *m = lares_intent_engine_match (engine, u->text, u->now, u->tz, ents);
        double t1 = now_us ();
        lares_intent_match_free (m);
        lat[n_lat++] = t1 - t0;
      }
  if (slowest > 0)
    print_slowest (utts, lat, (size_t)rounds, (size_t)slowest);
  bench_sort (lat, n_lat);
  bench_sort (compile, compile_runs);

  printf ("intent.paths=%zu\n", lares_intent_engine_get_n_paths (engine));
  printf ("intent.compile_ms_p50=%.2f\n", bench_percentile (compile, compile_runs, 50) / 1000);
  printf ("intent.compile_ms_max=%.2f\n", compile[compile_runs - 1] / 1000);
  printf ("intent.utterances=%u\n", utts->len);
  printf ("intent.matched=%zu\n", matched);
  printf ("intent.calls=%zu\n", n_lat);
  printf ("intent.match_us_p50=%.1f\n", bench_percentile (lat, n_lat, 50));
  printf ("intent.match_us_p90=%.1f\n", bench_percentile (lat, n_lat, 90));
  printf ("intent.match_us_p99=%.1f\n", bench_percentile (lat, n_lat, 99));
  printf ("intent.match_us_max=%.1f\n", lat[n_lat - 1]);
  printf ("intent.budget_p99_us=%.0f\n", BUDGET_P99_US);
  return 0;
}
