/* fuzz-ical-import.c — iCalendar import: the body of
 * POST /api/v1/calendar/import through lares_ical_parse() (the prescan,
 * libical's parser, zone mapping, times, RRULE/EXDATE/RECURRENCE-ID), with
 * no store.
 *
 * Checks beyond "no crash": a failure is LARES_EVENT_ERROR_INVALID with a
 * UTF-8 message; every parsed event passes lares_event_check(); expanding
 * each over a year gives occurrences in order of their original starts,
 * inside the range, at most the cap asked for, their JSON text equal to
 * their JSON tree; and the export of what was
 * parsed parses back to the same events (uid, times, rule, exceptions).
 */
#include "config.h"

#include "lares-fuzz.h"
#include "lares-ical.h"

#include <string.h>

#define NOW_MS  G_GINT64_CONSTANT (1795254223000) /* 2026-11-21 */
#define YEAR_MS (G_GINT64_CONSTANT (366) * 86400 * 1000)

static void
check_event (const LaresEvent *ev)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) occ = g_ptr_array_new_with_free_func (g_free);
  int64_t from = ev->start_at - 86400000, to = from + YEAR_MS;

  g_assert_true (lares_event_check (ev, &error));
  lares_event_expand (ev, from, to, occ, 200);
  g_assert_cmpuint (occ->len, <=, 200);
  for (unsigned i = 0; i < occ->len; i++)
    {
      const LaresOccurrence *o = occ->pdata[i];
      g_autoptr (GString) text = g_string_new (NULL);
      g_autoptr (JsonParser) p = json_parser_new ();
      g_autoptr (JsonNode) tree = lares_occurrence_to_json (o);

      g_assert_true (o->start_ms < to);
      g_assert_true (o->end_ms >= o->start_ms);
      /* The text form (GET /api/v1/events) says what the tree form says. */
      lares_occurrence_append_json (text, o);
      g_assert_true (json_parser_load_from_data (p, text->str, (gssize)text->len, NULL));
      g_assert_true (json_node_equal (json_parser_get_root (p), tree));
    }
  (void)lares_event_next_start (ev, NOW_MS, NULL);
}

static void
check_same (const LaresEvent *a, const LaresEvent *b)
{
  g_assert_cmpstr (a->uid, ==, b->uid);
  g_assert_cmpint (a->all_day, ==, b->all_day);
  g_assert_cmpint (a->start_at / 1000, ==, b->start_at / 1000);
  g_assert_cmpint (a->end_at / 1000, ==, b->end_at / 1000);
  g_assert_cmpstr (a->rrule, ==, b->rrule);
  g_assert_cmpuint (a->exdates->len, ==, b->exdates->len);
  g_assert_cmpuint (a->overrides->len, ==, b->overrides->len);
  g_assert_cmpint (a->remind_minutes, ==, b->remind_minutes);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LaresIcalImport) imp = NULL;
  g_autoptr (LaresIcalImport) back = NULL;
  g_autofree char *text = NULL;

  lares_fuzz_init ();
  imp = lares_ical_parse ((const char *)data, size, "Europe/Paris", NOW_MS, &error);
  if (imp == NULL)
    {
      g_assert_error (error, LARES_EVENT_ERROR, LARES_EVENT_ERROR_INVALID);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      return 0;
    }
  for (unsigned i = 0; i < imp->events->len; i++)
    check_event (imp->events->pdata[i]);
  text = lares_ical_export (imp->events, "fuzz");
  back = lares_ical_parse (text, strlen (text), "Europe/Paris", NOW_MS, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->events->len, ==, imp->events->len);
  g_assert_cmpuint (back->orphans->len, ==, 0);
  for (unsigned i = 0; i < imp->events->len; i++)
    check_same (imp->events->pdata[i], back->events->pdata[i]);
  return 0;
}
