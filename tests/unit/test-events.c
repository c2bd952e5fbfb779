/* test-events.c — calendar events without a daemon: expansion (all-day
 * series, DST gaps, overrides that move across the range, limits), the
 * next start after a time, the span bounds range queries use, and the
 * store: a series' reminder job, bulk delete by title and range (all or
 * nothing), and range queries that use the span index.
 */
#include "config.h"

#include <string.h>

#include "lares-events.h"
#include "lares-store.h"
#include "lares-test.h"

#define DAY G_GINT64_CONSTANT (86400000)

static int64_t
at (const char *iso)
{
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  int64_t ms = 0;
  gboolean is_date;

  g_assert_true (lares_event_parse_time (iso, utc, &ms, &is_date));
  return ms;
}

static LaresEvent *
event (const char *json)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;
  LaresEvent *ev = lares_event_new ();

  g_assert_true (json_parser_load_from_data (p, json, -1, NULL));
  if (!lares_event_apply_json (ev, json_node_get_object (json_parser_get_root (p)), TRUE, &error))
    g_error ("%s: %s", json, error->message);
  return ev;
}

static char *
starts (const LaresEvent *ev, const char *from, const char *to, unsigned max, gboolean *complete)
{
  g_autoptr (GPtrArray) occ = g_ptr_array_new_with_free_func (g_free);
  GString *s = g_string_new (NULL);
  gboolean done = lares_event_expand (ev, at (from), at (to), occ, max);

  if (complete)
    *complete = done;
  for (unsigned i = 0; i < occ->len; i++)
    {
      const LaresOccurrence *o = occ->pdata[i];
      g_autofree char *t = lares_event_format_time (ev, o->start_at);
      g_string_append_printf (s, "%s%s%s", s->len ? " " : "", t, o->overridden ? "*" : "");
    }
  return g_string_free (s, FALSE);
}

static void
test_expand (void)
{
  g_autoptr (LaresEvent) bins = event ("{\"title\":\"bins\",\"start\":\"2026-01-31\","
                                       "\"tz\":\"Pacific/Auckland\",\"rrule\":\"FREQ=MONTHLY;"
                                       "BYMONTHDAY=-1;COUNT=4\",\"exdates\":[\"2026-02-28\"]}");
  g_autoptr (LaresEvent) gap = event ("{\"title\":\"early\",\"start\":\"2026-03-01T02:30:00\","
                                      "\"tz\":\"America/New_York\",\"rrule\":\"FREQ=WEEKLY\"}");
  g_autofree char *a = starts (bins, "2026-01-01", "2026-12-31", 100, NULL);
  g_autofree char *b = starts (gap, "2026-03-01", "2026-03-16", 100, NULL);
  g_autofree char *c = NULL;
  gboolean complete;
  int64_t span_start, span_end;

  /* All-day: dates, the last day of each month, minus the EXDATE. */
  g_assert_cmpstr (a, ==, "2026-01-31 2026-03-31 2026-04-30");
  /* 02:30 does not exist on 8 March in New York: the offset before the gap
   * (RFC 5545 §3.3.5), so 07:30 UTC like the week before. */
  g_assert_cmpstr (b, ==, "2026-03-01T07:30:00Z 2026-03-08T07:30:00Z 2026-03-15T06:30:00Z");
  /* An occurrence moved from outside the range into it, and one moved out. */
  {
    LaresEventOverride *o = g_new0 (LaresEventOverride, 1);

    o->recurrence_id = at ("2026-03-22T06:30:00Z");
    o->start_at = at ("2026-03-14T12:00:00Z");
    o->end_at = o->start_at + 3600000;
    lares_event_put_override (gap, o);
    o = g_new0 (LaresEventOverride, 1);
    o->recurrence_id = at ("2026-03-08T07:30:00Z");
    o->start_at = at ("2026-04-30T12:00:00Z");
    o->end_at = o->start_at + 3600000;
    lares_event_put_override (gap, o);
  }
  c = starts (gap, "2026-03-01", "2026-03-16", 100, NULL);
  g_assert_cmpstr (c, ==, "2026-03-01T07:30:00Z 2026-03-15T06:30:00Z 2026-03-14T12:00:00Z*");
  g_assert_true (lares_event_is_occurrence (gap, at ("2026-03-22T06:30:00Z")));
  g_assert_false (lares_event_is_occurrence (gap, at ("2026-03-22T07:30:00Z")));
  /* The next start sees the override that moved earlier. */
  {
    LaresOccurrence occ;

    g_assert_cmpint (lares_event_next_start (gap, at ("2026-03-10T00:00:00Z"), &occ), ==,
                     at ("2026-03-14T12:00:00Z"));
    g_assert_true (occ.overridden);
  }
  lares_event_span (gap, &span_start, &span_end);
  g_assert_cmpint (span_start, ==, at ("2026-03-01T07:30:00Z"));
  g_assert_cmpint (span_end, ==, -1);
  lares_event_span (bins, &span_start, &span_end);
  /* Auckland midnight of 31 January .. of 1 May. */
  g_assert_cmpint (span_start, ==, at ("2026-01-30T11:00:00Z"));
  g_assert_cmpint (span_end, ==, at ("2026-04-30T12:00:00Z"));
  /* The cap cuts the answer and says so. */
  g_free (c);
  c = starts (gap, "2026-01-01", "2026-12-31", 3, &complete);
  g_assert_false (complete);
  g_assert_cmpuint (strlen (c), >, 0);
}

static void
test_check (void)
{
  static const char *const bad[] = {
    "{\"title\":\"x\",\"start\":\"2026-01-01\",\"rrule\":\"FREQ=HOURLY\"}",
    "{\"title\":\"x\",\"start\":\"2026-01-01\",\"end\":\"2026-01-01\"}",
    "{\"title\":\"x\",\"start\":\"2026-01-01\",\"end\":\"2026-01-02T00:00:00Z\"}",
    ("{\"title\":\"x\",\"start\":\"2026-01-01T09:00:00Z\",\"duration\":10,\"end\":\"2026-01-01T10:"
     "00Z\"}"),
    "{\"title\":\"x\",\"start\":\"2199-12-31T23:00:00Z\",\"duration\":7200}",
    "{\"title\":\"x\",\"start\":\"2026-01-01T09:00:00Z\",\"uid\":\"a\\nb\"}",
  };

  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (JsonParser) p = json_parser_new ();
      g_autoptr (LaresEvent) ev = lares_event_new ();
      g_autoptr (GError) error = NULL;

      g_assert_true (json_parser_load_from_data (p, bad[i], -1, NULL));
      g_assert_false (lares_event_apply_json (ev, json_node_get_object (json_parser_get_root (p)),
                                              TRUE, &error));
      g_assert_error (error, LARES_EVENT_ERROR, LARES_EVENT_ERROR_INVALID);
    }
}

typedef struct
{
  int64_t user;
} Ctx;

static gboolean
scenario (sqlite3 *db, gpointer data, GError **error)
{
  Ctx *c = data;
  const char *const titles[] = { "Team sync", "team lunch", "Dentist", NULL };
  g_autoptr (GArray) deleted = g_array_new (FALSE, FALSE, sizeof (int64_t));
  g_autoptr (GArray) jobs = g_array_new (FALSE, FALSE, sizeof (int64_t));
  g_autoptr (GPtrArray) evs = NULL;
  g_autoptr (GPtrArray) occ = NULL;
  gboolean cut;
  LaresEventFilter f = { 0 };

  g_assert_true (lares_sql_exec (
      db, "INSERT INTO users (name, role, created_at) VALUES ('alice', 'user', 1)", error));
  c->user = sqlite3_last_insert_rowid (db);
  for (unsigned i = 0; titles[i]; i++)
    {
      g_autofree char *json =
          g_strdup_printf ("{\"title\":\"%s\",\"start\":\"2030-01-0%uT09:00:00Z\",\"rrule\":\"%s\","
                           "\"remind_minutes\":10}",
                           titles[i], i + 1, i == 2 ? "FREQ=MONTHLY;COUNT=3" : "FREQ=WEEKLY");
      g_autoptr (LaresEvent) ev = event (json);
      g_autoptr (LaresJob) job = NULL;

      ev->user_id = c->user;
      g_assert_true (lares_events_insert (db, ev, at ("2029-12-01T00:00:00Z"), &job, error));
      g_assert_nonnull (job);
      g_assert_cmpint (job->event_id, ==, ev->id);
      g_assert_cmpint (job->due_at, ==, ev->start_at - 600000);
    }
  /* A range query. */
  occ = lares_events_between (db, c->user, at ("2030-01-01"), at ("2030-01-15"), &evs, &cut, error);
  g_assert_nonnull (occ);
  g_assert_false (cut);
  g_assert_cmpuint (occ->len, ==, 5); /* sync 1st, 8th; lunch 2nd, 9th; dentist 3rd */
  g_assert_cmpint (((LaresOccurrence *)occ->pdata[0])->start_ms, ==, at ("2030-01-01T09:00:00Z"));
  /* Bulk delete needs a condition; "team" in February takes two. */
  g_assert_false (lares_events_delete_many (db, c->user, &f, deleted, jobs, NULL));
  f.title_contains = "TEAM";
  f.from_ms = at ("2030-02-01");
  f.to_ms = at ("2030-03-01");
  g_assert_true (lares_events_delete_many (db, c->user, &f, deleted, jobs, error));
  g_assert_cmpuint (deleted->len, ==, 2);
  g_assert_cmpuint (jobs->len, ==, 2);
  /* By ids, another user's or a gone one: nothing matches. */
  {
    int64_t ids[] = { g_array_index (deleted, int64_t, 0) };
    LaresEventFilter g = { ids, 1, NULL, 0, 0 };
    g_autoptr (GPtrArray) none = lares_events_select (db, c->user, &g, error);

    g_assert_cmpuint (none->len, ==, 0);
  }
  /* The dentist's series ends in March: nothing in April. */
  {
    LaresEventFilter g = { NULL, 0, "dentist", at ("2030-04-01"), at ("2030-05-01") };
    g_autoptr (GPtrArray) none = lares_events_select (db, c->user, &g, error);

    g_assert_cmpuint (none->len, ==, 0);
  }
  return TRUE;
}

static void
test_store (void)
{
  g_autofree char *dir = lares_test_tmpdir ();
  g_autoptr (GError) error = NULL;
  LaresStore *store = lares_store_open (dir, NULL, &error);
  Ctx c = { 0 };

  g_assert_no_error (error);
  g_assert_true (lares_store_write_sync (store, scenario, &c, &error));
  g_assert_no_error (error);
  lares_store_close (store);
  g_assert_cmpint (lares_test_db_count (dir, "events"), ==, 1);
  g_assert_cmpint (lares_test_db_count (dir, "jobs"), ==, 1);
  /* Range queries read the span index, not the table. */
  {
    sqlite3 *db = lares_test_db_open (dir);
    sqlite3_stmt *stmt = NULL;
    g_autoptr (GString) plan = g_string_new (NULL);

    g_assert_cmpint (
        sqlite3_prepare_v2 (db,
                            "EXPLAIN QUERY PLAN SELECT id FROM events WHERE user_id = 1 "
                            "AND span_start < 5 AND (span_end IS NULL OR span_end >= 1)",
                            -1, &stmt, NULL),
        ==, SQLITE_OK);
    while (sqlite3_step (stmt) == SQLITE_ROW)
      g_string_append (plan, (const char *)sqlite3_column_text (stmt, 3));
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    g_assert_nonnull (strstr (plan->str, "events_by_span"));
  }
  lares_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/events/expand", test_expand);
  g_test_add_func ("/events/check", test_check);
  g_test_add_func ("/events/store", test_store);
  return g_test_run ();
}
