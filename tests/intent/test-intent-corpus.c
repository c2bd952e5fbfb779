/* test-intent-corpus.c — the golden corpus (tests/intent/corpus/en.jsonl).
 *
 * Each line after the first is one utterance with the intent and the exact
 * tool arguments expected at a fixed "now" and zone (the first line holds
 * the defaults and the user's entity names); "intent": null means the
 * sentence must not match.  The expectations come from gen-corpus.py, which
 * computes dates with Python's zoneinfo, not with this engine.  The test
 * prints exact-match accuracy and every miss, and fails below 98%.
 */
#include "config.h"

#include <stdio.h>

#include "lares-intent.h"

#define MIN_ACCURACY 0.98

static LaresIntentEntities *
entities_from (JsonObject *o)
{
  LaresIntentEntities *ents = lares_intent_entities_new ();
  g_autoptr (GList) kinds = json_object_get_members (o);
  for (GList *k = kinds; k != NULL; k = k->next)
    {
      JsonArray *names = json_object_get_array_member (o, k->data);
      for (unsigned i = 0; i < json_array_get_length (names); i++)
        lares_intent_entities_add (ents, k->data, json_array_get_string_element (names, i));
    }
  return ents;
}

static gboolean
check_case (const LaresIntentEngine *e, JsonObject *c, const char *def_now, const char *def_tz,
            const LaresIntentEntities *ents, char **got_out)
{
  const char *text = json_object_get_string_member (c, "text");
  const char *zone_name = json_object_get_string_member_with_default (c, "tz", def_tz);
  const char *now_s = json_object_get_string_member_with_default (c, "now", def_now);
  JsonNode *want_intent = json_object_get_member (c, "intent");
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier (zone_name);
  g_autoptr (GDateTime) now = NULL;
  g_autoptr (LaresIntentMatch) m = NULL;
  g_autoptr (JsonNode) got = NULL;

  g_assert_nonnull (tz);
  now = g_date_time_new_from_iso8601 (now_s, tz);
  g_assert_nonnull (now);
  m = lares_intent_engine_match (e, text, now, tz, ents);
  got = lares_intent_match_to_json (m);
  *got_out = json_to_string (got, FALSE);

  if (JSON_NODE_HOLDS_NULL (want_intent))
    return lares_intent_match_get_verdict (m) == LARES_INTENT_VERDICT_NONE;
  if (lares_intent_match_get_verdict (m) != LARES_INTENT_VERDICT_MATCH)
    return FALSE;
  if (g_strcmp0 (lares_intent_match_get_intent (m), json_node_get_string (want_intent)) != 0)
    return FALSE;
  return json_node_equal (lares_intent_match_get_args (m), json_object_get_member (c, "args"));
}

static void
test_corpus (void)
{
  g_autofree char *data_dir =
      g_build_filename (g_test_get_dir (G_TEST_DIST), "..", "data", "intents", NULL);
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "intent", "corpus", "en.jsonl", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (LaresIntentEngine) e = lares_intent_engine_new_from_dir (data_dir, "en", &error);
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (LaresIntentEntities) ents = NULL;
  g_autoptr (JsonParser) head = json_parser_new ();
  JsonObject *defaults;
  const char *def_now, *def_tz;
  unsigned total = 0, ok = 0, negatives = 0;
  double accuracy;

  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_no_error (error);
  lines = g_strsplit (contents, "\n", -1);
  g_assert_nonnull (lines[0]);
  g_assert_true (json_parser_load_from_data (head, lines[0], -1, &error));
  defaults = json_object_get_object_member (json_node_get_object (json_parser_get_root (head)),
                                            "defaults");
  def_now = json_object_get_string_member (defaults, "now");
  def_tz = json_object_get_string_member (defaults, "tz");
  ents = entities_from (json_object_get_object_member (defaults, "entities"));

  for (size_t i = 1; lines[i] != NULL; i++)
    {
      g_autoptr (JsonParser) p = json_parser_new ();
      g_autofree char *got = NULL;
      JsonObject *c;
      if (*lines[i] == '\0')
        continue;
      g_assert_true (json_parser_load_from_data (p, lines[i], -1, &error));
      g_assert_no_error (error);
      c = json_node_get_object (json_parser_get_root (p));
      total++;
      if (JSON_NODE_HOLDS_NULL (json_object_get_member (c, "intent")))
        negatives++;
      if (check_case (e, c, def_now, def_tz, ents, &got))
        ok++;
      else
        g_test_message ("MISS line %zu: %s\n    want %s\n    got  %s", i + 1,
                        json_object_get_string_member (c, "text"), lines[i], got);
    }
  accuracy = total > 0 ? (double)ok / total : 0;
  g_test_message ("intent corpus: %u/%u exact (%.2f%%), %u must-not-match sentences", ok, total,
                  100.0 * accuracy, negatives);
  printf ("# intent corpus accuracy: %.2f%% (%u/%u)\n", 100.0 * accuracy, ok, total);
  g_assert_cmpuint (total, >=, 400);
  g_assert_cmpfloat (accuracy, >=, MIN_ACCURACY);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/intent/corpus/en", test_corpus);
  return g_test_run ();
}
