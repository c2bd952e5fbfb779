/* test-calendar.c — the calendar over real HTTP, WebSocket and the real
 * programs it interchanges with.
 *
 * REST create/read/change/delete; a weekly event keeps 09:00 Paris time
 * across the spring DST change; EXDATE and an override through
 * /occurrences; the RFC 5545 examples of PROTOCOLS.md §7 imported and
 * expanded to the documented dates; bad iCalendar, rules and dates are 400
 * and change no row (counted with a separate SQLite connection); the feed,
 * fetched with its key and no other credentials, read by Debian's
 * python3-icalendar and expanded by python3-dateutil to the same
 * occurrences lares gives; export → import → export is byte-stable; a
 * wrong or replaced key is 404; a reminder before an event arrives on /ws;
 * chat creates, lists and (after a "yes") clears events through the
 * intent engine.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>

#include "lares-test.h"

#define PYTHON "/usr/bin/python3"

static JsonNode *
call (LaresTestDaemon *d, const char *method, const char *path, const char *ctype, const char *body,
      unsigned expect)
{
  unsigned status;
  g_autoptr (GBytes) resp =
      lares_test_http (d, method, path, ctype, body, body ? strlen (body) : 0, &status, NULL);

  if (status != expect)
    g_test_message ("%s %s %s -> %u %.*s", method, path, body ? body : "", status,
                    (int)g_bytes_get_size (resp), (const char *)g_bytes_get_data (resp, NULL));
  g_assert_cmpuint (status, ==, expect);
  return g_bytes_get_size (resp) ? lares_test_json (resp) : NULL;
}

static JsonNode *
post (LaresTestDaemon *d, const char *path, const char *body, unsigned expect)
{
  return call (d, "POST", path, "application/json", body, expect);
}

static JsonObject *
member (JsonNode *root, const char *name)
{
  return json_object_get_object_member (json_node_get_object (root), name);
}

static int64_t
create (LaresTestDaemon *d, const char *body)
{
  g_autoptr (JsonNode) r = post (d, "/api/v1/events", body, 201);

  return json_object_get_int_member (member (r, "event"), "id");
}

/* GET /api/v1/events?from=&to= → its occurrences array (owned by @root). */
static JsonArray *
range (LaresTestDaemon *d, const char *from, const char *to, JsonNode **root)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/events?from=%s&to=%s", from, to);

  *root = call (d, "GET", path, NULL, NULL, 200);
  return json_object_get_array_member (json_node_get_object (*root), "occurrences");
}

/* The starts of @event_id's occurrences, joined by spaces. */
static char *
starts_of (JsonArray *occ, int64_t event_id, gboolean date_only)
{
  GString *s = g_string_new (NULL);

  for (unsigned i = 0; i < json_array_get_length (occ); i++)
    {
      JsonObject *o = json_array_get_object_element (occ, i);
      const char *start = json_object_get_string_member (o, "start");

      if (event_id && json_object_get_int_member (o, "event_id") != event_id)
        continue;
      if (s->len)
        g_string_append_c (s, ' ');
      g_string_append_len (s, start, date_only ? 10 : (gssize)strlen (start));
    }
  return g_string_free (s, FALSE);
}

static int64_t
rows (LaresTestDaemon *d)
{
  return lares_test_db_count (d->data_dir, "events") +
         lares_test_db_count (d->data_dir, "event_exdates") +
         lares_test_db_count (d->data_dir, "event_overrides") +
         lares_test_db_count (d->data_dir, "jobs");
}

static void
test_crud (void)
{
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  int64_t id = create (d, "{\"title\":\"dentist\",\"start\":\"2026-12-04T15:00:00+01:00\","
                          "\"duration\":2700,\"location\":\"Rue X\",\"tz\":\"Europe/Paris\"}");
  g_autofree char *path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT, id);
  g_autofree char *bob = lares_test_add_user (d, "bob", "correct horse battery");
  g_autofree char *bearer = g_strconcat ("Bearer ", bob, NULL);
  const char *const as_bob[] = { "Authorization", bearer, NULL };
  unsigned status;

  {
    g_autoptr (JsonNode) r = call (d, "GET", path, NULL, NULL, 200);
    JsonObject *ev = member (r, "event");

    g_assert_cmpstr (json_object_get_string_member (ev, "start"), ==, "2026-12-04T14:00:00Z");
    g_assert_cmpstr (json_object_get_string_member (ev, "end"), ==, "2026-12-04T14:45:00Z");
    g_assert_cmpstr (json_object_get_string_member (ev, "location"), ==, "Rue X");
    g_assert_true (g_str_has_suffix (json_object_get_string_member (ev, "uid"), "@lares"));
    g_assert_true (json_object_get_null_member (ev, "rrule"));
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (ev, "overrides")), ==,
                      0);
  }
  {
    /* A partial change keeps the rest; moving the start keeps the length. */
    g_autoptr (JsonNode) r =
        post (d, path, "{\"start\":\"2026-12-05T10:00:00+01:00\",\"location\":null}", 200);
    JsonObject *ev = member (r, "event");

    g_assert_cmpstr (json_object_get_string_member (ev, "title"), ==, "dentist");
    g_assert_cmpstr (json_object_get_string_member (ev, "end"), ==, "2026-12-05T09:45:00Z");
    g_assert_cmpstr (json_object_get_string_member (ev, "location"), ==, "");
  }
  {
    /* All day. */
    g_autoptr (JsonNode) r = post (d, "/api/v1/events",
                                   "{\"title\":\"holiday\",\"start\":\"2026-12-24\",\"end\":"
                                   "\"2026-12-27\"}",
                                   201);
    JsonObject *ev = member (r, "event");
    g_autoptr (JsonNode) root = NULL;
    JsonArray *occ = range (d, "2026-12-25", "2026-12-26", &root);

    g_assert_true (json_object_get_boolean_member (ev, "all_day"));
    g_assert_cmpstr (json_object_get_string_member (ev, "start"), ==, "2026-12-24");
    g_assert_cmpuint (json_array_get_length (occ), ==, 1);
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (occ, 0), "end"),
                     ==, "2026-12-27");
  }
  /* Another user sees nothing of it. */
  {
    g_autoptr (GBytes) r =
        lares_test_http_as (d, as_bob, "GET", path, NULL, NULL, 0, &status, NULL);
    (void)r;
    g_assert_cmpuint (status, ==, 404);
    g_bytes_unref (lares_test_http_as (d, as_bob, "DELETE", path, NULL, NULL, 0, &status, NULL));
    g_assert_cmpuint (status, ==, 404);
  }
  {
    g_autoptr (JsonNode) r = call (d, "DELETE", path, NULL, NULL, 200);
    g_assert_true (json_object_get_boolean_member (json_node_get_object (r), "deleted"));
  }
  g_assert_cmpuint (lares_test_status (d, "GET", path, NULL, NULL, 0), ==, 404);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

static void
test_dst_exdate_override (void)
{
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  /* Mondays 09:00 in Paris; Europe springs forward on Sunday 29 March 2026. */
  int64_t id = create (d, "{\"title\":\"standup\",\"start\":\"2026-03-16T09:00:00\","
                          "\"tz\":\"Europe/Paris\",\"rrule\":\"FREQ=WEEKLY;BYDAY=MO\"}");
  g_autofree char *occ_path =
      g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/occurrences", id);
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *starts = NULL;
  JsonArray *occ = range (d, "2026-03-15T00:00:00Z", "2026-04-14T00:00:00Z", &root);

  starts = starts_of (occ, id, FALSE);
  g_assert_cmpstr (starts, ==,
                   "2026-03-16T08:00:00Z 2026-03-23T08:00:00Z 2026-03-30T07:00:00Z "
                   "2026-04-06T07:00:00Z 2026-04-13T07:00:00Z");
  /* Cancel the 30th (an EXDATE), move the 6th to 10:30 with a new title. */
  g_clear_pointer (&root, json_node_unref);
  root = post (d, occ_path, "{\"recurrence_id\":\"2026-03-30T07:00:00Z\",\"cancelled\":true}", 200);
  g_assert_cmpstr (json_array_get_string_element (
                       json_object_get_array_member (member (root, "event"), "exdates"), 0),
                   ==, "2026-03-30T07:00:00Z");
  g_clear_pointer (&root, json_node_unref);
  root =
      post (d, occ_path,
            "{\"recurrence_id\":\"2026-04-06T07:00:00Z\",\"start\":\"2026-04-06T10:30:00+02:00\","
            "\"title\":\"standup (moved)\"}",
            200);
  g_clear_pointer (&root, json_node_unref);
  occ = range (d, "2026-03-15T00:00:00Z", "2026-04-14T00:00:00Z", &root);
  g_free (starts);
  starts = starts_of (occ, id, FALSE);
  g_assert_cmpstr (starts, ==,
                   "2026-03-16T08:00:00Z 2026-03-23T08:00:00Z 2026-04-06T08:30:00Z "
                   "2026-04-13T07:00:00Z");
  {
    JsonObject *moved = json_array_get_object_element (occ, 2);

    g_assert_cmpstr (json_object_get_string_member (moved, "title"), ==, "standup (moved)");
    g_assert_true (json_object_get_boolean_member (moved, "overridden"));
    g_assert_cmpstr (json_object_get_string_member (moved, "recurrence_id"), ==,
                     "2026-04-06T07:00:00Z");
    g_assert_cmpstr (json_object_get_string_member (moved, "end"), ==, "2026-04-06T09:30:00Z");
  }
  /* Not an occurrence: 400, nothing changes. */
  {
    int64_t before = rows (d);
    g_autoptr (JsonNode) r =
        post (d, occ_path, "{\"recurrence_id\":\"2026-03-31T07:00:00Z\",\"cancelled\":true}", 400);
    (void)r;
    g_assert_cmpint (rows (d), ==, before);
  }
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* PROTOCOLS.md §7: the RFC 5545 examples with DTSTART;TZID=America/New_York. */
static const struct
{
  const char *dtstart, *rrule, *dates;
} rfc[] = {
  { "19970902T090000", "FREQ=DAILY;COUNT=10",
    "1997-09-02 1997-09-03 1997-09-04 1997-09-05 1997-09-06 1997-09-07 1997-09-08 1997-09-09 "
    "1997-09-10 1997-09-11" },
  { "19970902T090000", "FREQ=DAILY;INTERVAL=10;COUNT=5",
    "1997-09-02 1997-09-12 1997-09-22 1997-10-02 1997-10-12" },
  { "19970902T090000", "FREQ=WEEKLY;COUNT=10",
    "1997-09-02 1997-09-09 1997-09-16 1997-09-23 1997-09-30 1997-10-07 1997-10-14 1997-10-21 "
    "1997-10-28 1997-11-04" },
  { "19970902T090000", "FREQ=WEEKLY;UNTIL=19971007T000000Z;WKST=SU;BYDAY=TU,TH",
    "1997-09-02 1997-09-04 1997-09-09 1997-09-11 1997-09-16 1997-09-18 1997-09-23 1997-09-25 "
    "1997-09-30 1997-10-02" },
  { "19970902T090000", "FREQ=WEEKLY;INTERVAL=2;COUNT=8;WKST=SU;BYDAY=TU,TH",
    "1997-09-02 1997-09-04 1997-09-16 1997-09-18 1997-09-30 1997-10-02 1997-10-14 1997-10-16" },
  { "19970905T090000", "FREQ=MONTHLY;COUNT=10;BYDAY=1FR",
    "1997-09-05 1997-10-03 1997-11-07 1997-12-05 1998-01-02 1998-02-06 1998-03-06 1998-04-03 "
    "1998-05-01 1998-06-05" },
  { "19970805T090000", "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO",
    "1997-08-05 1997-08-10 1997-08-19 1997-08-24" },
  { "19970805T090000", "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU",
    "1997-08-05 1997-08-17 1997-08-19 1997-08-31" },
  { "19970902T090000", "FREQ=DAILY;UNTIL=19971224T000000Z", NULL /* 113, Sep 2 - Dec 23 */ },
};

static void
test_rfc_examples (void)
{
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  g_autoptr (GString) ics =
      g_string_new ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n");
  g_autoptr (JsonNode) imported = NULL;
  g_autoptr (JsonNode) root = NULL;
  JsonArray *occ;

  for (unsigned i = 0; i < G_N_ELEMENTS (rfc); i++)
    g_string_append_printf (ics,
                            "BEGIN:VEVENT\r\nUID:rfc-%u@example.com\r\nDTSTAMP:19970901T130000Z\r\n"
                            "DTSTART;TZID=America/New_York:%s\r\nDURATION:PT1H\r\n"
                            "SUMMARY:rfc %u\r\nRRULE:%s\r\nEND:VEVENT\r\n",
                            i, rfc[i].dtstart, i, rfc[i].rrule);
  g_string_append (ics, "END:VCALENDAR\r\n");
  imported = call (d, "POST", "/api/v1/calendar/import", "text/calendar", ics->str, 200);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (imported), "imported"), ==,
                   G_N_ELEMENTS (rfc));
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (imported), "updated"), ==, 0);
  occ = range (d, "1997-08-01", "1998-07-01", &root);
  for (unsigned i = 0; i < G_N_ELEMENTS (rfc); i++)
    {
      g_autofree char *got = starts_of (occ, i + 1, TRUE);

      g_test_message ("%s: %s", rfc[i].rrule, got);
      if (rfc[i].dates)
        g_assert_cmpstr (got, ==, rfc[i].dates);
      else
        {
          g_auto (GStrv) days = g_strsplit (got, " ", -1);
          g_assert_cmpuint (g_strv_length (days), ==, 113);
          g_assert_cmpstr (days[0], ==, "1997-09-02");
          g_assert_cmpstr (days[112], ==, "1997-12-23");
        }
    }
  /* 09:00 New York on both sides of 26 October 1997 (EDT → EST). */
  {
    g_autofree char *first = starts_of (occ, 3, FALSE);
    g_assert_true (g_str_has_prefix (first, "1997-09-02T13:00:00Z"));
    g_assert_nonnull (strstr (first, "1997-11-04T14:00:00Z"));
  }
  /* Importing the same file again updates in place. */
  g_clear_pointer (&imported, json_node_unref);
  imported = call (d, "POST", "/api/v1/calendar/import", "text/calendar", ics->str, 200);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (imported), "updated"), ==,
                   G_N_ELEMENTS (rfc));
  g_assert_cmpint (lares_test_db_count (d->data_dir, "events"), ==, G_N_ELEMENTS (rfc));
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

static void
test_bad_input_changes_nothing (void)
{
  static const char *const bad_ics[] = {
    "",
    "hello",
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n",
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:2026garbage\r\nEND:VEVENT\r\nEND:"
    "VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nSUMMARY:no "
    "start\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T090000Z\r\nRRULE:FREQ=SOMETIMES"
    "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T090000Z\r\nRRULE:FREQ=DAILY;"
    "COUNT=3;UNTIL=20270101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T090000Z\r\nDTEND:"
    "20251231T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Mars/Olympus:20260101T090000\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260230T090000Z\r\nEND:VEVENT\r\nEND:"
    "VCALENDAR\r\n",
    /* A good event first, then a bad one: nothing of the file is kept. */
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:good\r\nDTSTART:20260101T090000Z\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:bad\r\nDTSTART:20260101T090000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=1MO\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nBEGIN:VALARM\r\nBEGIN:X\r\nBEGIN:Y\r\nEND:Y\r\nEND:X\r\n"
    "END:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\xff\r\nDTSTART:20260101T090000Z\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n",
  };
  static const char *const bad_json[] = {
    "{\"title\":\"x\"}",
    "{\"start\":\"2026-01-01T09:00:00Z\"}",
    "{\"title\":\"x\",\"start\":\"tomorrow\"}",
    "{\"title\":\"x\",\"start\":\"2026-02-30T09:00:00Z\"}",
    "{\"title\":\"x\",\"start\":\"1969-12-31T09:00:00Z\"}",
    "{\"title\":\"x\",\"start\":\"2026-01-01T09:00:00Z\",\"end\":\"2026-01-01T08:00:00Z\"}",
    "{\"title\":\"x\",\"start\":\"2026-01-01T09:00:00Z\",\"rrule\":\"FREQ=SECONDLY\"}",
    "{\"title\":\"x\",\"start\":\"2026-01-01T09:00:00Z\",\"rrule\":\"FREQ=DAILY;FREQ=WEEKLY\"}",
    "{\"title\":\"x\",\"start\":\"2026-01-01T09:00:00Z\",\"rrule\":\"BYDAY=MO\"}",
    "{\"title\":\"x\",\"start\":\"2026-01-01T09:00:00Z\",\"tz\":\"Nowhere/Land\"}",
    "{\"title\":\"x\",\"start\":\"2026-01-01T09:00:00Z\",\"tz\":\"../../etc/passwd\"}",
    "{\"title\":\"x\",\"start\":\"2026-01-01\",\"all_day\":false}",
    "{\"title\":\"x\",\"start\":\"2026-01-01T09:00:00Z\",\"remind_minutes\":-5}",
    ("{\"title\":\"x\",\"start\":\"2026-01-01T09:00:00Z\",\"exdates\":[\"2026-01-02\"],"
     "\"rrule\":\"FREQ=DAILY\"}"),
    "{\"title\":\"\",\"start\":\"2026-01-01T09:00:00Z\"}",
    "{\"title\":\"x\",\"start\":\"2026-01-01T09:00:00Z\",\"colour\":\"red\"}",
    "{\"title\":7,\"start\":\"2026-01-01T09:00:00Z\"}",
  };
  static const char *const bad_ranges[] = {
    "/api/v1/events",
    "/api/v1/events?from=2026-01-01",
    "/api/v1/events?from=2026-01-01&to=2028-01-01",
    "/api/v1/events?from=2026-01-02&to=2026-01-01",
    "/api/v1/events?from=yesterday&to=2026-01-01",
  };
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  int64_t before;
  unsigned status;

  /* Something to keep, including an exception and a reminder job. */
  {
    int64_t id = create (d, "{\"title\":\"keep\",\"start\":\"2030-01-07T09:00:00+01:00\","
                            "\"rrule\":\"FREQ=WEEKLY\",\"exdates\":[\"2030-01-14T08:00:00Z\"],"
                            "\"remind_minutes\":5}");
    g_autofree char *path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT, id);

    before = rows (d);
    g_assert_cmpint (before, ==, 3);
    /* A bad change to it is refused whole. */
    g_autoptr (JsonNode) r =
        post (d, path, "{\"title\":\"changed\",\"rrule\":\"FREQ=WEEKLY;COUNT=0;UNTIL=x\"}", 400);
    (void)r;
    g_autoptr (JsonNode) again = call (d, "GET", path, NULL, NULL, 200);
    g_assert_cmpstr (json_object_get_string_member (member (again, "event"), "title"), ==, "keep");
  }
  for (size_t i = 0; i < G_N_ELEMENTS (bad_ics); i++)
    {
      g_autoptr (GBytes) resp =
          lares_test_http (d, "POST", "/api/v1/calendar/import", "text/calendar", bad_ics[i],
                           strlen (bad_ics[i]), &status, NULL);
      if (status != 400)
        g_test_message ("ics %zu -> %u %.*s", i, status, (int)g_bytes_get_size (resp),
                        (const char *)g_bytes_get_data (resp, NULL));
      g_assert_cmpuint (status, ==, 400);
      lares_test_assert_error (resp, "invalid_argument");
    }
  g_assert_cmpuint (
      lares_test_status (d, "POST", "/api/v1/calendar/import", "application/json", "{}", 2), ==,
      415);
  for (size_t i = 0; i < G_N_ELEMENTS (bad_json); i++)
    {
      g_autoptr (GBytes) resp = lares_test_http (d, "POST", "/api/v1/events", "application/json",
                                                 bad_json[i], strlen (bad_json[i]), &status, NULL);
      if (status != 400)
        g_test_message ("json %s -> %u", bad_json[i], status);
      g_assert_cmpuint (status, ==, 400);
      lares_test_assert_error (resp, "invalid_argument");
    }
  for (size_t i = 0; i < G_N_ELEMENTS (bad_ranges); i++)
    g_assert_cmpuint (lares_test_status (d, "GET", bad_ranges[i], NULL, NULL, 0), ==, 400);
  g_assert_cmpint (rows (d), ==, before);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* Run the independent reader; NULL (after saying why) when it cannot run. */
static JsonNode *
python_check (const char *file, const char *from, const char *to)
{
  g_autofree char *script = g_build_filename (g_getenv ("LARES_SRCDIR"), "tests", "integration",
                                              "calendar-check.py", NULL);
  const char *argv[] = { PYTHON, script, file, from, to, NULL };
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();

  if (!g_file_test (PYTHON, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("no " PYTHON " (tools/bootstrap.sh test installs python3-icalendar)");
      return NULL;
    }
  p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                         &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (p) == 3)
    {
      g_test_skip ("python3-icalendar or python3-dateutil is missing (tools/bootstrap.sh test)");
      return NULL;
    }
  if (g_subprocess_get_exit_status (p) != 0)
    g_test_message ("calendar-check.py: %s", err);
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 0);
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  return json_node_copy (json_parser_get_root (parser));
}

static char *
fetch_feed (LaresTestDaemon *d, const char *path_and_key, unsigned *status)
{
  const char *const none[] = { NULL };
  g_autoptr (SoupMessageHeaders) h = NULL;
  g_autoptr (GBytes) body =
      lares_test_http_as (d, none, "GET", path_and_key, NULL, NULL, 0, status, &h);

  if (*status == 200)
    g_assert_cmpstr (soup_message_headers_get_content_type (h, NULL), ==, "text/calendar");
  return g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

static void
test_feed (void)
{
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  g_autofree char *dir = lares_test_tmpdir ();
  g_autofree char *file = g_build_filename (dir, "feed.ics", NULL);
  g_autofree char *path = NULL, *old_path = NULL, *ics = NULL, *again = NULL, *third = NULL;
  g_autoptr (JsonNode) feed = NULL;
  g_autoptr (JsonNode) checked = NULL;
  g_autoptr (JsonNode) root = NULL;
  const char *url;
  unsigned status;
  int64_t standup;

  standup = create (d, "{\"title\":\"standup, daily; \\\"quoted\\\" \\\\ and a long line that goes "
                       "on and on past seventy-five octets so it must be folded\","
                       "\"start\":\"2026-03-16T09:00:00\",\"tz\":\"Europe/Paris\","
                       "\"rrule\":\"FREQ=WEEKLY;BYDAY=MO,WE\",\"location\":\"Café Zoë\","
                       "\"remind_minutes\":15}");
  create (d, "{\"title\":\"call\",\"start\":\"2026-03-25T18:00:00Z\",\"duration\":1800}");
  create (d, "{\"title\":\"trip\",\"start\":\"2026-04-02\",\"end\":\"2026-04-05\"}");
  create (d, "{\"title\":\"ny sync\",\"start\":\"2026-03-02T10:00:00\",\"tz\":\"America/New_York\","
             "\"rrule\":\"FREQ=WEEKLY;COUNT=6\"}");
  {
    g_autofree char *p =
        g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/occurrences", standup);
    g_autoptr (JsonNode) a =
        post (d, p, "{\"recurrence_id\":\"2026-03-30T07:00:00Z\",\"cancelled\":true}", 200);
    (void)a;
    g_autoptr (JsonNode) b = post (d, p,
                                   "{\"recurrence_id\":\"2026-04-01T07:00:00Z\",\"start\":"
                                   "\"2026-04-01T11:00:00+02:00\",\"title\":\"standup late\"}",
                                   200);
    (void)b;
  }

  /* Make a key; the URL works with no other credentials. */
  feed = post (d, "/api/v1/calendar/feed", "{}", 200);
  url = json_object_get_string_member (json_node_get_object (feed), "url");
  g_assert_true (g_str_has_prefix (url, "http://127.0.0.1:"));
  path = g_strdup (strstr (url, "/api/v1/calendar.ics?key="));
  g_assert_nonnull (path);
  ics = fetch_feed (d, path, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (g_str_has_prefix (ics, "BEGIN:VCALENDAR\r\n"));
  g_assert_nonnull (strstr (ics, "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\n"));
  g_assert_nonnull (strstr (ics, "\r\n ")); /* folded */
  /* Also with normal credentials and no key. */
  {
    g_autoptr (GBytes) b =
        lares_test_http (d, "GET", "/api/v1/calendar.ics", NULL, NULL, 0, &status, NULL);
    g_assert_cmpuint (status, ==, 200);
    g_assert_cmpmem (g_bytes_get_data (b, NULL), g_bytes_get_size (b), ics, strlen (ics));
  }

  /* Debian's python3-icalendar reads it; python3-dateutil expands it to
   * what lares says. */
  g_assert_true (g_file_set_contents (file, ics, -1, NULL));
  checked = python_check (file, "2026-03-01T00:00:00Z", "2026-05-01T00:00:00Z");
  if (checked)
    {
      JsonObject *c = json_node_get_object (checked);
      JsonArray *evs = json_object_get_array_member (c, "events");
      JsonArray *theirs = json_object_get_array_member (c, "occurrences");
      JsonArray *ours = range (d, "2026-03-01T00:00:00Z", "2026-05-01T00:00:00Z", &root);
      g_autoptr (GString) a = g_string_new (NULL), b = g_string_new (NULL);
      gboolean found = FALSE;

      g_assert_cmpuint (json_array_get_length (evs), ==, 5);
      for (unsigned i = 0; i < json_array_get_length (evs); i++)
        {
          JsonObject *e = json_array_get_object_element (evs, i);
          if (g_str_has_prefix (json_object_get_string_member (e, "summary"),
                                "standup, daily; \"") &&
              JSON_NODE_HOLDS_NULL (json_object_get_member (e, "recurrence_id")))
            {
              found = TRUE;
              g_assert_nonnull (strstr (json_object_get_string_member (e, "summary"),
                                        "\\ and a long line that goes on and on past seventy-five "
                                        "octets so it must be folded"));
              g_assert_cmpstr (json_object_get_string_member (e, "location"), ==, "Café Zoë");
              g_assert_cmpstr (json_object_get_string_member (e, "start"), ==,
                               "2026-03-16T08:00:00Z");
              g_assert_cmpint (json_object_get_int_member (e, "alarm_minutes"), ==, 15);
              g_assert_cmpstr (
                  json_array_get_string_element (json_object_get_array_member (e, "exdates"), 0),
                  ==, "2026-03-30T07:00:00Z");
            }
        }
      g_assert_true (found);
      for (unsigned i = 0; i < json_array_get_length (theirs); i++)
        {
          JsonObject *o = json_array_get_object_element (theirs, i);
          g_string_append_printf (a, "%s %s|", json_object_get_string_member (o, "start"),
                                  json_object_get_string_member (o, "summary"));
        }
      for (unsigned i = 0; i < json_array_get_length (ours); i++)
        {
          JsonObject *o = json_array_get_object_element (ours, i);
          g_string_append_printf (b, "%s %s|", json_object_get_string_member (o, "start"),
                                  json_object_get_string_member (o, "title"));
        }
      g_test_message ("python: %s", a->str);
      g_assert_cmpstr (a->str, ==, b->str);
      g_assert_nonnull (strstr (b->str, "2026-04-01T09:00:00Z standup late|"));
      g_assert_null (strstr (b->str, "2026-03-30T07:00:00Z"));
    }

  /* Export → import → export is byte for byte the same. */
  {
    g_autoptr (JsonNode) r = call (d, "POST", "/api/v1/calendar/import", "text/calendar", ics, 200);
    g_assert_cmpint (json_object_get_int_member (json_node_get_object (r), "updated"), ==, 4);
    g_assert_cmpuint (
        json_array_get_length (json_object_get_array_member (json_node_get_object (r), "skipped")),
        ==, 0);
  }
  again = fetch_feed (d, path, &status);
  g_assert_cmpstr (again, ==, ics);
  g_assert_cmpint (lares_test_db_count (d->data_dir, "events"), ==, 4);

  /* The same through the command line. */
  {
    g_autofree char *out_file = g_build_filename (dir, "cli.ics", NULL);
    g_autofree char *exported = NULL, *out = NULL, *err = NULL;
    const char *exp_argv[] = { "calendar", "export", out_file, NULL };
    const char *imp_argv[] = { "calendar", "import", file, NULL };
    const char *bad_argv[] = { "calendar", "import", "/nonexistent.ics", NULL };

    g_setenv ("LARES_TOKEN", d->token, TRUE);
    g_setenv ("LARES_URL", d->base, TRUE);
    g_assert_cmpint (lares_test_run (exp_argv, &out, &err), ==, 0);
    g_assert_true (g_file_get_contents (out_file, &exported, NULL, NULL));
    g_assert_cmpstr (exported, ==, ics);
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (lares_test_run (imp_argv, &out, &err), ==, 0);
    g_assert_nonnull (strstr (out, "Imported 4 event(s), 4 of them updates."));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (lares_test_run (bad_argv, &out, &err), ==, 1);
  }

  /* A wrong key, or one replaced by a new one, is 404 and shows nothing. */
  {
    g_autofree char *wrong = fetch_feed (d, "/api/v1/calendar.ics?key=AAAAAAAAAAAAAAAA", &status);
    g_assert_cmpuint (status, ==, 404);
    g_assert_null (strstr (wrong, "standup"));
    g_free (fetch_feed (d, "/api/v1/calendar.ics", &status));
    g_assert_cmpuint (status, ==, 401);
  }
  old_path = g_steal_pointer (&path);
  g_clear_pointer (&feed, json_node_unref);
  feed = post (d, "/api/v1/calendar/feed", "{}", 200);
  third = fetch_feed (d, old_path, &status);
  g_assert_cmpuint (status, ==, 404);
  /* The key only opens the feed, not the rest of the API. */
  {
    const char *key = strstr (old_path, "key=") + 4;
    g_autofree char *p =
        g_strdup_printf ("/api/v1/events?from=2026-03-01&to=2026-04-01&key=%s", key);
    const char *const none[] = { NULL };
    g_autoptr (GBytes) b = lares_test_http_as (d, none, "GET", p, NULL, NULL, 0, &status, NULL);
    (void)b;
    g_assert_cmpuint (status, ==, 401);
  }
  /* The key is stored only as a digest. */
  {
    const char *key =
        strstr (json_object_get_string_member (json_node_get_object (feed), "url"), "key=") + 4;
    g_autofree char *db = g_build_filename (d->data_dir, "lares.db", NULL);
    g_autofree char *bytes = NULL;
    size_t len = 0;

    g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
    g_assert_true (g_file_get_contents (db, &bytes, &len, NULL));
    g_assert_null (g_strstr_len (bytes, (gssize)len, key));
  }
  lares_test_daemon_free (d, TRUE);
  lares_test_rmdir (dir);
}

typedef struct
{
  GPtrArray *notes;
  gboolean got;
  unsigned created; /* event_created events seen */
} Client;

static void
on_ws_message (SoupWebsocketConnection *conn G_GNUC_UNUSED, int type, GBytes *message,
               gpointer data)
{
  Client *c = data;
  g_autoptr (JsonParser) p = json_parser_new ();
  JsonObject *o;

  if (type != SOUP_WEBSOCKET_DATA_TEXT ||
      !json_parser_load_from_data (p, g_bytes_get_data (message, NULL),
                                   (gssize)g_bytes_get_size (message), NULL))
    return;
  o = json_node_get_object (json_parser_get_root (p));
  if (g_strcmp0 (json_object_get_string_member_with_default (o, "type", ""), "event_created") == 0)
    c->created++;
  if (g_strcmp0 (json_object_get_string_member_with_default (o, "type", ""), "notification") != 0)
    return;
  g_ptr_array_add (c->notes, json_node_copy (json_parser_get_root (p)));
  c->got = TRUE;
}

static void
test_reminder_fires (void)
{
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  SoupWebsocketConnection *ws = lares_test_ws_connect (d);
  Client c = { g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref), FALSE, 0 };
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  /* Starts in a minute and a second and a half; remind a minute before. */
  g_autoptr (GDateTime) start = g_date_time_add (now, G_USEC_PER_SEC * 61 + 500000);
  g_autofree char *iso = g_date_time_format (start, "%Y-%m-%dT%H:%M:%S.%fZ");
  g_autofree char *body =
      g_strdup_printf ("{\"title\":\"tea\",\"start\":\"%s\",\"remind_minutes\":1}", iso);
  int64_t id;
  JsonObject *note, *job;

  g_signal_connect (ws, "message", G_CALLBACK (on_ws_message), &c);
  id = create (d, body);
  lares_test_wait_flag (&c.got, 15000);
  g_assert_cmpuint (c.notes->len, >=, 1);
  note = json_node_get_object (c.notes->pdata[0]);
  job = json_object_get_object_member (note, "job");
  g_assert_cmpstr (json_object_get_string_member (note, "kind"), ==, "reminder");
  g_assert_cmpint (json_object_get_int_member (job, "event_id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (job, "text"), ==, "tea");
  g_assert_cmpint (json_object_get_int_member (job, "remind_minutes"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (job, "status"), ==, "fired");
  /* The new event itself went to the user's connections first. */
  g_assert_cmpuint (c.created, ==, 1);
  /* Deleting the event takes its reminder with it. */
  {
    g_autofree char *path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT, id);
    g_autoptr (JsonNode) r = call (d, "DELETE", path, NULL, NULL, 200);
    (void)r;
    g_assert_cmpint (lares_test_db_count (d->data_dir, "jobs"), ==, 0);
  }
  g_signal_handlers_disconnect_by_data (ws, &c);
  soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_object_unref (ws);
  g_ptr_array_unref (c.notes);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

static void
test_reminder_follows_event (void)
{
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  int64_t id =
      create (d, "{\"title\":\"gym\",\"start\":\"2030-01-07T18:00:00+01:00\","
                 "\"tz\":\"Europe/Paris\",\"rrule\":\"FREQ=WEEKLY\",\"remind_minutes\":30}");
  g_autofree char *path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT, id);
  g_autoptr (JsonNode) list = NULL;
  JsonObject *job;

  list = call (d, "GET", "/api/v1/reminders", NULL, NULL, 200);
  job = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (list), "reminders"), 0);
  g_assert_cmpstr (json_object_get_string_member (job, "due"), ==, "2030-01-07T16:30:00Z");
  g_assert_cmpstr (json_object_get_string_member (job, "event_start"), ==, "2030-01-07T17:00:00Z");
  /* Moving the event moves the reminder; dropping it cancels it. */
  g_clear_pointer (&list, json_node_unref);
  list = post (d, path, "{\"start\":\"2030-01-08T08:00:00+01:00\",\"remind_minutes\":10}", 200);
  g_clear_pointer (&list, json_node_unref);
  list = call (d, "GET", "/api/v1/reminders", NULL, NULL, 200);
  job = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (list), "reminders"), 0);
  g_assert_cmpstr (json_object_get_string_member (job, "due"), ==, "2030-01-08T06:50:00Z");
  g_clear_pointer (&list, json_node_unref);
  list = post (d, path, "{\"remind_minutes\":null}", 200);
  g_clear_pointer (&list, json_node_unref);
  list = call (d, "GET", "/api/v1/reminders", NULL, NULL, 200);
  g_assert_cmpuint (json_array_get_length (
                        json_object_get_array_member (json_node_get_object (list), "reminders")),
                    ==, 0);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

static const char *
chat (LaresTestDaemon *d, const char *text, JsonNode **root)
{
  g_autofree char *body = g_strdup_printf ("{\"text\":\"%s\"}", text);

  *root = post (d, "/api/v1/chat", body, 200);
  return json_object_get_string_member (json_node_get_object (*root), "reply");
}

static void
test_chat (void)
{
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  g_autoptr (JsonNode) a = NULL, b = NULL, c = NULL, e = NULL;
  const char *reply;

  reply = chat (d, "schedule a dentist appointment tomorrow at 3pm", &a);
  g_test_message ("%s", reply);
  g_assert_true (g_str_has_prefix (reply, "Added \"dentist\" to your calendar"));
  reply = chat (d, "book tennis tomorrow at 6pm for 90 minutes", &e);
  g_assert_nonnull (strstr (reply, "18:00–19:30"));
  reply = chat (d, "what's on my calendar tomorrow", &b);
  g_test_message ("%s", reply);
  g_assert_true (g_str_has_prefix (reply, "You have 2 events:"));
  g_assert_nonnull (strstr (reply, "15:00–16:00 dentist"));
  g_assert_nonnull (strstr (reply, "tennis"));
  reply = chat (d, "what's on my calendar", &c);
  g_assert_true (g_str_has_prefix (reply, "You have 2 events:"));
  g_assert_cmpint (lares_test_db_count (d->data_dir, "events"), ==, 2);
  /* Clearing a day asks first (calendar.delete_many is high risk). */
  {
    g_autoptr (JsonNode) f = NULL, g = NULL, h = NULL;
    g_autofree char *body = NULL;
    int64_t conv;

    reply = chat (d, "clear my calendar tomorrow", &f);
    g_test_message ("%s", reply);
    g_assert_true (g_str_has_prefix (reply, "This needs your approval: Delete 2 events on "));
    g_assert_nonnull (strstr (reply, ": \"dentist\", \"tennis\". Say yes"));
    g_assert_cmpint (lares_test_db_count (d->data_dir, "events"), ==, 2);
    conv = json_object_get_int_member (json_node_get_object (f), "conversation_id");
    body = g_strdup_printf ("{\"text\":\"yes\",\"conversation_id\":%" G_GINT64_FORMAT "}", conv);
    g = post (d, "/api/v1/chat", body, 200);
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (g), "reply"), ==,
                     "Deleted 2 events from your calendar.");
    g_assert_cmpint (lares_test_db_count (d->data_dir, "events"), ==, 0);
    /* Without a day it asks which. */
    reply = chat (d, "clear my calendar", &h);
    g_assert_true (g_str_has_prefix (reply, "I couldn't do that: say which events to delete: a "
                                            "day or a time range"));
  }
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/calendar/crud", test_crud);
  g_test_add_func ("/calendar/dst-exdate-override", test_dst_exdate_override);
  g_test_add_func ("/calendar/rfc5545-examples", test_rfc_examples);
  g_test_add_func ("/calendar/bad-input-changes-nothing", test_bad_input_changes_nothing);
  g_test_add_func ("/calendar/feed", test_feed);
  g_test_add_func ("/calendar/reminder-fires", test_reminder_fires);
  g_test_add_func ("/calendar/reminder-follows-event", test_reminder_follows_event);
  g_test_add_func ("/calendar/chat", test_chat);
  return g_test_run ();
}
