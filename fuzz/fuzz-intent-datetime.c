/* fuzz-intent-datetime.c — the date/time, duration and recurrence slot
 * parsers, then a whole match, over normalized input at fixed instants in
 * zones with DST (a spring-forward eve, a fall-back eve) and without.
 *
 * Checks: a parsed date/time is RFC 3339 that GLib reads back; a day is a
 * {start, end} pair with start < end; a duration is positive; a recurrence's
 * RRULE is one libical accepts (the parser promises it) with a start; a match
 * always has a why, and a tool and JSON object args unless it is NONE.
 */
#include "config.h"

#include <string.h>

#include "lares-fuzz-intent.h"
#include "lares-fuzz.h"

static void
check_instant (const char *s)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (s, NULL);
  g_assert_nonnull (dt);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const zones[] = { "Europe/Berlin", "America/New_York", "UTC" };
  static const char *const nows[] = { "2025-03-29T10:00:00Z", "2025-10-25T23:30:00Z",
                                      "2024-02-29T00:00:00Z" };
  const LaresIntentEngine *e;
  const LaresIntentLang *lang;
  g_autoptr (GArray) toks = NULL;
  g_autoptr (GPtrArray) words = g_ptr_array_new ();
  g_autoptr (GTimeZone) tz = NULL;
  g_autoptr (GDateTime) utc = NULL;
  g_autoptr (GDateTime) now = NULL;
  unsigned pick = size > 0 ? data[0] : 0;
  g_autofree char *text = lares_fuzz_strndup (data, size);

  lares_fuzz_init ();
  e = lares_fuzz_intent_engine ();
  lang = lares_intent_engine_get_lang (e);
  tz = g_time_zone_new_identifier (zones[pick % 3]);
  utc = g_date_time_new_from_iso8601 (nows[(pick / 3) % 3], NULL);
  now = g_date_time_to_timezone (utc, tz);

  toks = lares_intent_normalize (lang, (const char *)data, size);
  for (size_t i = 0; i < toks->len; i++)
    g_ptr_array_add (words, g_array_index (toks, LaresIntentToken, i).text);

  for (int day_only = 0; day_only < 2; day_only++)
    {
      g_autoptr (JsonNode) v = NULL;
      g_autofree char *note = NULL;
      if (!lares_intent_parse_datetime (lang, (char **)words->pdata, words->len, now, day_only, &v,
                                        &note))
        continue;
      if (day_only)
        {
          JsonObject *o = json_node_get_object (v);
          const char *a = json_object_get_string_member (o, "start");
          const char *b = json_object_get_string_member (o, "end");
          g_autoptr (GDateTime) da = g_date_time_new_from_iso8601 (a, NULL);
          g_autoptr (GDateTime) db = g_date_time_new_from_iso8601 (b, NULL);
          g_assert_nonnull (da);
          g_assert_nonnull (db);
          g_assert_cmpint (g_date_time_compare (da, db), <, 0);
        }
      else
        check_instant (json_node_get_string (v));
    }
  {
    int64_t secs = 0;
    if (lares_intent_parse_duration (lang, (char **)words->pdata, words->len, &secs))
      g_assert_cmpint (secs, >, 0);
  }
  {
    g_autoptr (JsonNode) v = NULL;
    g_autofree char *note = NULL;
    if (lares_intent_parse_recurrence (lang, (char **)words->pdata, words->len, now, &v, &note))
      {
        JsonObject *o = json_node_get_object (v);
        g_assert_true (g_str_has_prefix (json_object_get_string_member (o, "rrule"), "FREQ="));
        check_instant (json_object_get_string_member (o, "start"));
      }
  }
  {
    g_autoptr (LaresIntentMatch) m = lares_intent_engine_match (e, text, now, tz, NULL);
    g_assert_nonnull (lares_intent_match_get_why (m));
    if (lares_intent_match_get_verdict (m) != LARES_INTENT_VERDICT_NONE)
      {
        g_assert_nonnull (lares_intent_match_get_tool (m));
        g_assert_true (JSON_NODE_HOLDS_OBJECT (lares_intent_match_get_args (m)));
      }
  }
  return 0;
}
