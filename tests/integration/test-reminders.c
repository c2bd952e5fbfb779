/* test-reminders.c — reminders over real HTTP and WebSocket.
 *
 * A reminder a second ahead reaches /ws as a notification; one that falls
 * due while the daemon is down fires at the next start, marked late, and
 * reaches the user's next connection; "set a timer for 1 second" in chat
 * rings; bad dates and rules are 400 and write nothing.  Waits run the main
 * loop until an event arrives or a deadline passes; nothing sleeps.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>

#include "lares-test.h"

typedef struct
{
  SoupWebsocketConnection *conn;
  GPtrArray *notes; /* JsonNode* notification events */
  gboolean got;
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
  if (g_strcmp0 (json_object_get_string_member_with_default (o, "type", ""), "notification") != 0)
    return;
  g_ptr_array_add (c->notes, json_node_copy (json_parser_get_root (p)));
  c->got = TRUE;
}

static Client *
client_new (LaresTestDaemon *d)
{
  Client *c = g_new0 (Client, 1);

  c->conn = lares_test_ws_connect (d);
  c->notes = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);
  g_signal_connect (c->conn, "message", G_CALLBACK (on_ws_message), c);
  return c;
}

static void
client_free (Client *c)
{
  g_signal_handlers_disconnect_by_data (c->conn, c);
  soup_websocket_connection_close (c->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_object_unref (c->conn);
  g_ptr_array_unref (c->notes);
  g_free (c);
}

static JsonObject *
wait_note (Client *c, unsigned ms)
{
  c->got = FALSE;
  if (c->notes->len == 0)
    lares_test_wait_flag (&c->got, ms);
  g_assert_cmpuint (c->notes->len, >, 0);
  return json_node_get_object (c->notes->pdata[c->notes->len - 1]);
}

static char *
iso_in (int64_t ms_ahead)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) t = g_date_time_add (now, ms_ahead * 1000);

  return g_date_time_format (t, "%Y-%m-%dT%H:%M:%S.%fZ");
}

static JsonNode *
post (LaresTestDaemon *d, const char *path, const char *body, unsigned expect)
{
  unsigned status;
  g_autoptr (GBytes) resp =
      lares_test_http (d, "POST", path, "application/json", body, strlen (body), &status, NULL);

  if (status != expect)
    g_test_message ("POST %s %s -> %u %.*s", path, body, status, (int)g_bytes_get_size (resp),
                    (const char *)g_bytes_get_data (resp, NULL));
  g_assert_cmpuint (status, ==, expect);
  return lares_test_json (resp);
}

static void
test_fires_over_ws (void)
{
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  Client *c = client_new (d);
  g_autofree char *at = iso_in (1200);
  g_autofree char *body = g_strdup_printf ("{\"text\":\"stretch\",\"at\":\"%s\"}", at);
  g_autoptr (JsonNode) created = post (d, "/api/v1/reminders", body, 201);
  int64_t id = json_object_get_int_member (json_node_get_object (created), "id");
  JsonObject *note, *job;
  int64_t lateness;

  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (created), "status"), ==,
                   "pending");
  note = wait_note (c, 10000);
  job = json_object_get_object_member (note, "job");
  g_assert_cmpstr (json_object_get_string_member (note, "kind"), ==, "reminder");
  g_assert_false (json_object_get_boolean_member (note, "late"));
  g_assert_cmpint (json_object_get_int_member (job, "id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (job, "text"), ==, "stretch");
  g_assert_cmpstr (json_object_get_string_member (job, "status"), ==, "fired");
  lateness = g_get_real_time () / 1000 - json_object_get_int_member (job, "due_ms");
  g_test_message ("notification arrived %" G_GINT64_FORMAT " ms after its due time", lateness);
  g_assert_cmpint (lateness, >=, 0);

  /* Snooze, then dismiss, through REST. */
  {
    g_autofree char *path = g_strdup_printf ("/api/v1/reminders/%" G_GINT64_FORMAT "/snooze", id);
    g_autoptr (JsonNode) s = post (d, path, "{\"minutes\":5}", 200);
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (s), "status"), ==,
                     "pending");
    g_assert_cmpint (json_object_get_int_member (json_node_get_object (s), "snoozes"), ==, 1);
  }
  {
    g_autofree char *path = g_strdup_printf ("/api/v1/reminders/%" G_GINT64_FORMAT "/dismiss", id);
    g_autoptr (JsonNode) s = post (d, path, "{}", 200);
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (s), "status"), ==,
                     "dismissed");
    /* Dismissed is final. */
    g_autoptr (JsonNode) again = post (d, path, "{}", 409);
    g_assert_true (json_object_has_member (json_node_get_object (again), "error"));
  }
  client_free (c);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_late_after_restart (void)
{
  LaresTestDaemon *d = NULL;
  g_autofree char *dir = NULL;
  int64_t due = 0;
  gboolean passed = FALSE;
  JsonObject *note;
  Client *c;

  /* Acknowledged, then the daemon dies before it is due.  The margin must
   * cover creating it and the kill; on a machine too busy for that, the
   * reminder may fire before the kill and the case did not happen: try
   * again with twice the margin. */
  for (unsigned margin_ms = 800 * lares_test_time_scale ();; margin_ms *= 2)
    {
      g_autofree char *at = iso_in (margin_ms);
      g_autofree char *body = g_strdup_printf ("{\"text\":\"while down\",\"at\":\"%s\"}", at);
      g_autoptr (JsonNode) created = NULL;

      d = lares_test_daemon_start (NULL, NULL);
      created = post (d, "/api/v1/reminders", body, 201);
      due = json_object_get_int_member (json_node_get_object (created), "due_ms");
      g_assert_cmpint (lares_test_daemon_stop (d, SIGKILL), ==, 128 + SIGKILL);
      if (g_get_real_time () / 1000 < due)
        {
          dir = g_strdup (d->data_dir);
          lares_test_daemon_free (d, FALSE);
          break;
        }
      g_assert_cmpuint (margin_ms, <, 30000);
      g_test_message ("the kill came after the reminder was due (margin %u ms); again", margin_ms);
      lares_test_daemon_free (d, TRUE);
    }
  /* Let the due time pass while nothing runs (a bounded main-loop wait). */
  g_timeout_add ((unsigned)MAX (1, due - g_get_real_time () / 1000 + 50), set_flag, &passed);
  lares_test_wait_flag (&passed, 5000 * lares_test_time_scale ());
  g_assert_cmpint (g_get_real_time () / 1000, >, due);

  d = lares_test_daemon_start (dir, NULL);
  c = client_new (d);
  note = wait_note (c, 10000);
  g_assert_true (json_object_get_boolean_member (note, "late"));
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (note, "job"), "text"), ==,
      "while down");
  client_free (c);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

static void
test_timer_from_chat (void)
{
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  Client *c = client_new (d);
  g_autoptr (JsonNode) turn =
      post (d, "/api/v1/chat", "{\"text\":\"set a timer for 1 second\"}", 200);
  JsonObject *note;

  g_assert_nonnull (
      strstr (json_object_get_string_member (json_node_get_object (turn), "reply"), "Timer set"));
  note = wait_note (c, 10000);
  g_assert_cmpstr (json_object_get_string_member (note, "kind"), ==, "timer");
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (note, "job"), "seconds"), ==, 1);
  client_free (c);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

static void
test_bad_input_writes_nothing (void)
{
  static const char *const bad[] = {
    "{\"text\":\"x\"}",
    "{\"text\":\"x\",\"at\":\"tomorrow\"}",
    "{\"text\":\"x\",\"at\":\"2026-02-30T09:00:00Z\"}",
    "{\"text\":\"x\",\"at\":\"2001-01-01T09:00:00Z\"}",
    "{\"text\":\"x\",\"at\":42}",
    "{\"text\":\"x\",\"rrule\":\"FREQ=SECONDLY\"}",
    "{\"text\":\"x\",\"rrule\":\"FREQ=DAILY;COUNT=2;UNTIL=20300101T000000Z\"}",
    "{\"text\":\"x\",\"rrule\":\"FREQ=WEEKLY;BYDAY=1MO\"}",
    "{\"text\":\"x\",\"rrule\":\"FREQ=DAILY\",\"tz\":\"Nowhere/Land\"}",
    "{\"text\":\"x\",\"rrule\":\"FREQ=DAILY\",\"dtstart\":\"2030-01-01\"}",
    "{\"text\":\"\",\"at\":\"2099-01-01T09:00:00Z\"}",
    "{\"text\":\"x\",\"at\":\"2099-01-01T09:00:00Z\",\"color\":\"red\"}",
    "{\"kind\":\"timer\",\"seconds\":0}",
    "{\"kind\":\"comet\",\"at\":\"2099-01-01T09:00:00Z\"}",
  };
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  unsigned status;

  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GBytes) resp = lares_test_http (d, "POST", "/api/v1/reminders", "application/json",
                                                 bad[i], strlen (bad[i]), &status, NULL);
      g_assert_cmpuint (status, ==, 400);
      lares_test_assert_error (resp, "invalid_argument");
    }
  g_assert_cmpint (lares_test_db_count (d->data_dir, "jobs"), ==, 0);

  /* A good repeating one, listed; another user cannot touch it. */
  {
    g_autoptr (JsonNode) r =
        post (d, "/api/v1/reminders",
              "{\"text\":\"plants\",\"rrule\":\"FREQ=WEEKLY;BYDAY=MO\",\"dtstart\":"
              "\"20260105T090000\",\"tz\":\"Europe/Paris\"}",
              201);
    int64_t id = json_object_get_int_member (json_node_get_object (r), "id");
    g_autofree char *path = g_strdup_printf ("/api/v1/reminders/%" G_GINT64_FORMAT, id);
    g_autofree char *bob = lares_test_add_user (d, "bob", "correct horse battery");
    g_autofree char *bearer = g_strconcat ("Bearer ", bob, NULL);
    const char *const as_bob[] = { "Authorization", bearer, NULL };
    g_autoptr (GBytes) list =
        lares_test_http (d, "GET", "/api/v1/reminders", NULL, NULL, 0, &status, NULL);
    g_autoptr (JsonNode) root = lares_test_json (list);
    g_autoptr (GBytes) del = NULL;
    JsonArray *a = json_object_get_array_member (json_node_get_object (root), "reminders");

    g_assert_cmpuint (status, ==, 200);
    g_assert_cmpuint (json_array_get_length (a), ==, 1);
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (a, 0), "tz"), ==,
                     "Europe/Paris");
    del = lares_test_http_as (d, as_bob, "DELETE", path, NULL, NULL, 0, &status, NULL);
    g_assert_cmpuint (status, ==, 404);
    g_assert_cmpuint (lares_test_status (d, "DELETE", path, NULL, NULL, 0), ==, 200);
    g_assert_cmpuint (lares_test_status (d, "GET", "/api/v1/reminders?status=bogus", NULL, NULL, 0),
                      ==, 400);
  }
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* `lares remind`: the sentence is read by the daemon, in the user's time
 * zone as the daemon knows it, not the zone of the shell that ran it. */
static void
test_cli_remind (void)
{
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  const char *remind[] = { "remind", "call mom tomorrow at 5pm", NULL };
  const char *vague[] = { "remind", "bananas", NULL };
  const char *usage[] = { "remind", NULL };
  g_autofree char *o1 = NULL, *e1 = NULL, *o2 = NULL, *e2 = NULL, *o3 = NULL, *e3 = NULL;
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier ("Pacific/Auckland");
  g_autoptr (GDateTime) now = g_date_time_new_now (tz);
  g_autoptr (GDateTime) tomorrow = g_date_time_add_days (now, 1);
  g_autoptr (GDateTime) want =
      g_date_time_new (tz, g_date_time_get_year (tomorrow), g_date_time_get_month (tomorrow),
                       g_date_time_get_day_of_month (tomorrow), 17, 0, 0);
  g_autofree char *path = g_build_filename (d->data_dir, "lares.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;

  /* The user's zone, as the daemon stores it. */
  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_exec (db,
                                 "INSERT INTO user_settings (user_id, key, value) SELECT id, "
                                 "'timezone', 'Pacific/Auckland' FROM users WHERE name = 'admin'",
                                 NULL, NULL, NULL),
                   ==, SQLITE_OK);
  sqlite3_close (db);

  g_setenv ("LARES_TOKEN", d->token, TRUE);
  g_setenv ("LARES_URL", d->base, TRUE);
  g_assert_cmpint (lares_test_run (remind, &o1, &e1), ==, 0);
  g_assert_nonnull (strstr (o1, "call mom"));
  db = lares_test_db_open (d->data_dir);
  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "SELECT due_at FROM jobs WHERE kind = 'reminder' AND text "
                                       "= 'call mom' AND status = 'pending'",
                                       -1, &st, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int64 (st, 0), ==, g_date_time_to_unix (want) * 1000);
  sqlite3_finalize (st);
  sqlite3_close (db);

  g_assert_cmpint (lares_test_run (vague, &o2, &e2), ==, 1);
  g_assert_nonnull (strstr (e2, "nothing was scheduled"));
  g_assert_cmpint (lares_test_run (usage, &o3, &e3), ==, 2);
  g_assert_cmpint (lares_test_db_count (d->data_dir, "jobs"), ==, 1);
  g_unsetenv ("LARES_TOKEN");
  g_unsetenv ("LARES_URL");
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/reminders/fires-over-ws", test_fires_over_ws);
  g_test_add_func ("/reminders/late-after-restart", test_late_after_restart);
  g_test_add_func ("/reminders/timer-from-chat", test_timer_from_chat);
  g_test_add_func ("/reminders/bad-input-writes-nothing", test_bad_input_writes_nothing);
  g_test_add_func ("/reminders/cli-remind", test_cli_remind);
  return g_test_run ();
}
