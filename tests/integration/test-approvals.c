/* test-approvals.c — plan → confirm → execute, end to end: a real daemon,
 * real HTTP and WebSocket, tests/fake-llm as the model.
 *
 * A model's call of a high-risk tool becomes an approval announced to every
 * connection, nothing runs until the owner approves (over WebSocket, REST,
 * the CLI or "yes" in the conversation), a rejected or expired approval
 * never runs, approvals survive kill -9 with their expiry, and every step
 * is in the audit log.  Waits run the main loop until an event arrives or
 * a deadline passes; nothing sleeps.
 */
#include "config.h"

#include "lares-fake-llm.h"
#include "lares-test.h"

#include <signal.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------------------------- */

static LaresTestDaemon *
start_daemon (LaresFakeLlm *fake, const char *data_dir, const char *const *sets)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);

  if (fake != NULL)
    {
      g_ptr_array_add (argv, g_strdup ("--set"));
      g_ptr_array_add (argv, g_strdup ("llm.provider=openai"));
      g_ptr_array_add (argv, g_strdup ("--set"));
      g_ptr_array_add (argv, g_strdup_printf ("llm.base_url=%s", lares_fake_llm_url (fake)));
      g_ptr_array_add (argv, g_strdup ("--set"));
      g_ptr_array_add (argv, g_strdup ("llm.model=fake"));
    }
  for (size_t i = 0; sets && sets[i]; i++)
    {
      g_ptr_array_add (argv, g_strdup ("--set"));
      g_ptr_array_add (argv, g_strdup (sets[i]));
    }
  g_ptr_array_add (argv, NULL);
  return lares_test_daemon_start (data_dir, (const char *const *)argv->pdata);
}

static void
stop_daemon (LaresTestDaemon *d)
{
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* One request; the status must be @expect.  (transfer full) */
static JsonNode *
call (LaresTestDaemon *d, const char *method, const char *path, const char *body, unsigned expect)
{
  unsigned status = 0;
  g_autoptr (GBytes) resp = lares_test_http (d, method, path, body ? "application/json" : NULL,
                                             body, body ? strlen (body) : 0, &status, NULL);

  if (status != expect)
    g_error ("%s %s %s -> %u (expected %u): %.*s", method, path, body ? body : "", status, expect,
             (int)g_bytes_get_size (resp), (const char *)g_bytes_get_data (resp, NULL));
  return g_bytes_get_size (resp) > 0 ? lares_test_json (resp) : NULL;
}

static JsonObject *
obj (JsonNode *node, const char *member)
{
  return json_object_get_object_member (json_node_get_object (node), member);
}

static const char *
str (JsonObject *o, const char *member)
{
  return json_object_get_string_member_with_default (o, member, NULL);
}

static void
add_task (LaresTestDaemon *d, const char *description, const char *project)
{
  g_autofree char *body =
      g_strdup_printf ("{\"description\":\"%s\",\"project\":\"%s\"}", description, project);
  g_autoptr (JsonNode) t = call (d, "POST", "/api/v1/tasks", body, 201);

  g_assert_nonnull (t);
}

static int64_t
db_int (LaresTestDaemon *d, const char *sql)
{
  sqlite3 *db = lares_test_db_open (d->data_dir);
  sqlite3_stmt *st = NULL;
  int64_t n = -1;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  if (sqlite3_step (st) == SQLITE_ROW)
    n = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  sqlite3_close (db);
  return n;
}

/* The audit events (with a tool record's status and via) in order. */
static char *
audit_trail (LaresTestDaemon *d)
{
  sqlite3 *db = lares_test_db_open (d->data_dir);
  sqlite3_stmt *st = NULL;
  GString *s = g_string_new (NULL);

  g_assert_cmpint (
      sqlite3_prepare_v2 (db,
                          "SELECT event, json_extract(detail, '$.status'), "
                          "json_extract(detail, '$.via') FROM audit WHERE event LIKE 'tool' OR "
                          "event LIKE 'approval%' ORDER BY id",
                          -1, &st, NULL),
      ==, SQLITE_OK);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      if (s->len)
        g_string_append_c (s, ',');
      g_string_append (s, (const char *)sqlite3_column_text (st, 0));
      if (sqlite3_column_type (st, 1) != SQLITE_NULL)
        g_string_append_printf (s, ":%s", sqlite3_column_text (st, 1));
      if (sqlite3_column_type (st, 2) != SQLITE_NULL)
        g_string_append_printf (s, "/%s", sqlite3_column_text (st, 2));
    }
  sqlite3_finalize (st);
  sqlite3_close (db);
  return g_string_free (s, FALSE);
}

/* A WebSocket client that keeps every event. */
typedef struct
{
  SoupWebsocketConnection *conn;
  GPtrArray *events; /* JsonNode* */
} WsClient;

static void
on_ws_message (SoupWebsocketConnection *conn G_GNUC_UNUSED, int type, GBytes *message,
               gpointer data)
{
  WsClient *c = data;

  if (type == SOUP_WEBSOCKET_DATA_TEXT)
    g_ptr_array_add (c->events, lares_test_json (message));
}

static WsClient *
ws_client (LaresTestDaemon *d)
{
  WsClient *c = g_new0 (WsClient, 1);

  c->conn = lares_test_ws_connect (d);
  c->events = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);
  g_signal_connect (c->conn, "message", G_CALLBACK (on_ws_message), c);
  return c;
}

static void
ws_client_free (WsClient *c)
{
  g_signal_handlers_disconnect_by_data (c->conn, c);
  soup_websocket_connection_close (c->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_object_unref (c->conn);
  g_ptr_array_unref (c->events);
  g_free (c);
}

static gboolean
tick (gpointer data G_GNUC_UNUSED)
{
  return G_SOURCE_CONTINUE;
}

/* The first event of @type (and, for notifications, with this approval
 * status) at or after index *@from; waits up to @ms.  *@from moves past it. */
static JsonObject *
ws_wait (WsClient *c, unsigned *from, const char *type, const char *status, unsigned ms)
{
  int64_t deadline = g_get_monotonic_time () + (int64_t)ms * 1000;
  /* Wakes the loop up to look at the deadline. */
  unsigned ticker = g_timeout_add (50, tick, NULL);

  for (;;)
    {
      for (unsigned i = *from; i < c->events->len; i++)
        {
          JsonObject *o = json_node_get_object (c->events->pdata[i]);
          JsonObject *a = json_object_has_member (o, "approval")
                              ? json_object_get_object_member (o, "approval")
                              : NULL;

          if (g_strcmp0 (str (o, "type"), type) != 0)
            continue;
          if (status != NULL && (a == NULL || g_strcmp0 (str (a, "status"), status) != 0))
            continue;
          *from = i + 1;
          g_source_remove (ticker);
          return o;
        }
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for a %s event%s%s", type, status ? " with status " : "",
                 status ? status : "");
      g_main_context_iteration (NULL, TRUE);
    }
}

static unsigned
ws_count (WsClient *c, const char *type)
{
  unsigned n = 0;

  for (unsigned i = 0; i < c->events->len; i++)
    if (g_strcmp0 (str (json_node_get_object (c->events->pdata[i]), "type"), type) == 0)
      n++;
  return n;
}

static JsonNode *
chat (LaresTestDaemon *d, int64_t conversation_id, const char *text)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *body = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, text);
  if (conversation_id > 0)
    {
      json_builder_set_member_name (b, "conversation_id");
      json_builder_add_int_value (b, conversation_id);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  body = json_to_string (root, FALSE);
  return call (d, "POST", "/api/v1/chat", body, 200);
}

static const char *
reply_of (JsonNode *turn)
{
  return str (json_node_get_object (turn), "reply");
}

/* "/api/v1/approvals/ID" + @suffix.  (transfer full) */
static char *
approval_path (int64_t id, const char *suffix)
{
  return g_strdup_printf ("/api/v1/approvals/%" G_GINT64_FORMAT "%s", id, suffix);
}

/* ---- a model's call, approved over WebSocket ------------------------------------------------ */

static void
test_llm_call_approved_over_ws (void)
{
  g_autoptr (LaresFakeLlm) fake =
      lares_fake_llm_start ("call 0 task_delete_many\nargs 0 {\"project\":\"groceries\"}\n", NULL);
  LaresTestDaemon *d = start_daemon (fake, NULL, NULL);
  WsClient *a, *b;
  unsigned at = 0, bt = 0;
  JsonObject *req, *end, *note, *approval;
  int64_t id;
  g_autofree char *trail = NULL;

  add_task (d, "milk", "groceries");
  add_task (d, "eggs", "groceries");
  add_task (d, "bread", "groceries");
  add_task (d, "paint the hall", "home");
  a = ws_client (d);
  b = ws_client (d);
  soup_websocket_connection_send_text (a->conn,
                                       "{\"type\":\"message\",\"text\":\"tidy up my shopping\"}");

  /* Every connection is asked, with what would happen. */
  req = ws_wait (b, &bt, "approval_required", NULL, 10000);
  req = ws_wait (a, &at, "approval_required", NULL, 10000);
  id = json_object_get_int_member (req, "id");
  g_assert_cmpint (id, >, 0);
  g_assert_cmpstr (str (req, "tool"), ==, "task.delete_many");
  g_assert_cmpstr (str (req, "risk"), ==, "high");
  g_assert_cmpstr (str (req, "summary"), ==, "Delete 3 pending tasks in project groceries");
  g_assert_cmpstr (str (json_object_get_object_member (req, "args"), "project"), ==, "groceries");
  g_assert_true (g_str_has_suffix (str (req, "expires_at"), "Z"));
  g_assert_cmpint (json_object_get_int_member (req, "conversation_id"), >, 0);
  end = ws_wait (a, &at, "turn_end", NULL, 10000);
  g_assert_cmpstr (str (end, "status"), ==, "done");
  g_assert_nonnull (
      strstr (str (end, "reply"), "This needs your approval: Delete 3 pending tasks"));
  /* Nothing ran. */
  g_assert_cmpint (lares_test_db_count (d->data_dir, "tasks"), ==, 4);
  {
    g_autoptr (JsonNode) list = call (d, "GET", "/api/v1/approvals", NULL, 200);
    JsonArray *arr = json_object_get_array_member (json_node_get_object (list), "approvals");
    g_assert_cmpuint (json_array_get_length (arr), ==, 1);
    g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (arr, 0), "id"), ==,
                     id);
  }

  /* Approved from one connection; every connection hears how it ended. */
  {
    g_autofree char *msg =
        g_strdup_printf ("{\"type\":\"approve\",\"id\":%" G_GINT64_FORMAT "}", id);
    soup_websocket_connection_send_text (a->conn, msg);
  }
  note = ws_wait (b, &bt, "notification", "executed", 10000);
  g_assert_cmpstr (str (note, "kind"), ==, "approval");
  approval = json_object_get_object_member (note, "approval");
  g_assert_cmpint (json_object_get_int_member (approval, "id"), ==, id);
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (approval, "result"), "deleted"),
      ==, 3);
  g_assert_nonnull (str (approval, "decided_at"));
  ws_wait (a, &at, "notification", "executed", 10000);
  g_assert_cmpint (lares_test_db_count (d->data_dir, "tasks"), ==, 1);
  g_assert_cmpuint (ws_count (b, "task_deleted"), ==, 3);

  /* Once only. */
  {
    g_autofree char *p = approval_path (id, "/approve");
    g_autoptr (JsonNode) again = call (d, "POST", p, NULL, 409);
    g_assert_cmpstr (str (obj (again, "error"), "code"), ==, "conflict");
  }
  g_assert_cmpuint (lares_fake_llm_n_requests (fake), ==, 1);
  trail = audit_trail (d);
  g_assert_cmpstr (trail, ==,
                   "tool:needs_approval/llm,approval_created/llm,approval_approved/ws,"
                   "tool:ok/approval");
  ws_client_free (a);
  ws_client_free (b);
  stop_daemon (d);
}

/* ---- rejected over WebSocket: nothing runs -------------------------------------------------- */

static void
test_rejected (void)
{
  LaresTestDaemon *d = start_daemon (NULL, NULL, NULL);
  WsClient *c;
  unsigned ct = 0;
  g_autoptr (JsonNode) asked = NULL;
  JsonObject *req, *err;
  int64_t id;
  g_autofree char *msg = NULL, *approve = NULL, *trail = NULL;

  add_task (d, "milk", "groceries");
  add_task (d, "eggs", "groceries");
  c = ws_client (d);
  asked = call (d, "POST", "/api/v1/tools/task.delete_many", "{\"ids\":[1,2,77]}", 202);
  id = json_object_get_int_member (obj (asked, "approval"), "id");
  g_assert_cmpstr (str (obj (asked, "approval"), "summary"), ==,
                   "Delete 2 tasks: \"milk\", \"eggs\"");
  g_assert_cmpstr (str (obj (asked, "approval"), "status"), ==, "pending");
  g_assert_true (
      JSON_NODE_HOLDS_NULL (json_object_get_member (obj (asked, "approval"), "conversation_id")));
  req = ws_wait (c, &ct, "approval_required", NULL, 10000);
  g_assert_cmpint (json_object_get_int_member (req, "id"), ==, id);

  msg = g_strdup_printf ("{\"type\":\"reject\",\"id\":%" G_GINT64_FORMAT "}", id);
  soup_websocket_connection_send_text (c->conn, msg);
  ws_wait (c, &ct, "notification", "rejected", 10000);
  g_assert_cmpint (lares_test_db_count (d->data_dir, "tasks"), ==, 2);

  /* A rejected one never runs, however it is asked. */
  approve = approval_path (id, "/approve");
  {
    g_autoptr (JsonNode) again = call (d, "POST", approve, NULL, 409);
    g_assert_cmpstr (str (obj (again, "error"), "code"), ==, "conflict");
  }
  g_free (msg);
  msg = g_strdup_printf ("{\"type\":\"approve\",\"id\":%" G_GINT64_FORMAT "}", id);
  soup_websocket_connection_send_text (c->conn, msg);
  err = ws_wait (c, &ct, "error", NULL, 10000);
  g_assert_cmpstr (str (err, "code"), ==, "conflict");
  g_assert_cmpint (json_object_get_int_member (err, "id"), ==, id);
  soup_websocket_connection_send_text (c->conn, "{\"type\":\"approve\",\"id\":999}");
  err = ws_wait (c, &ct, "error", NULL, 10000);
  g_assert_cmpstr (str (err, "code"), ==, "not_found");
  soup_websocket_connection_send_text (c->conn, "{\"type\":\"approve\",\"id\":\"x\"}");
  err = ws_wait (c, &ct, "error", NULL, 10000);
  g_assert_cmpstr (str (err, "code"), ==, "invalid_argument");
  g_assert_cmpint (lares_test_db_count (d->data_dir, "tasks"), ==, 2);
  {
    g_autofree char *get = approval_path (id, "");
    g_autoptr (JsonNode) one = call (d, "GET", get, NULL, 200);
    g_assert_cmpstr (str (obj (one, "approval"), "status"), ==, "rejected");
    g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (obj (one, "approval"), "result")));
  }
  trail = audit_trail (d);
  g_assert_cmpstr (trail, ==,
                   "tool:needs_approval/rest,approval_created/rest,approval_rejected/ws");
  ws_client_free (c);
  stop_daemon (d);
}

/* ---- expiry --------------------------------------------------------------------------------- */

static void
test_expired (void)
{
  const char *sets[] = { "policy.approval_ttl=1s", NULL };
  LaresTestDaemon *d = start_daemon (NULL, NULL, sets);
  WsClient *c = ws_client (d);
  unsigned ct = 0;
  g_autoptr (JsonNode) asked = NULL;
  JsonObject *note;
  int64_t id;
  g_autofree char *approve = NULL, *trail = NULL;

  add_task (d, "milk", "groceries");
  asked = call (d, "POST", "/api/v1/tools/task.delete_many", "{\"project\":\"groceries\"}", 202);
  id = json_object_get_int_member (obj (asked, "approval"), "id");
  /* The timer marks it expired and says so; nobody had to ask. */
  note = ws_wait (c, &ct, "notification", "expired", 15000);
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (note, "approval"), "id"), ==, id);
  approve = approval_path (id, "/approve");
  {
    g_autoptr (JsonNode) late = call (d, "POST", approve, NULL, 409);
    g_assert_cmpstr (str (obj (late, "error"), "code"), ==, "expired");
  }
  g_assert_cmpint (lares_test_db_count (d->data_dir, "tasks"), ==, 1);
  trail = audit_trail (d);
  g_assert_cmpstr (trail, ==,
                   "tool:needs_approval/rest,approval_created/rest,approval_expired/expiry");
  ws_client_free (c);
  stop_daemon (d);
}

/* ---- "yes" and "no" in the conversation ------------------------------------------------------ */

static void
test_chat_yes_no (void)
{
  LaresTestDaemon *d = start_daemon (NULL, NULL, NULL);
  g_autoptr (JsonNode) t1 = NULL, t2 = NULL, t3 = NULL, t4 = NULL, t5 = NULL, t6 = NULL;
  JsonArray *calls;
  JsonObject *c0;
  int64_t conv;

  add_task (d, "milk", "groceries");
  add_task (d, "eggs", "groceries");
  add_task (d, "bread", "groceries");
  /* The intent path asks like the LLM's does. */
  t1 = chat (d, 0, "delete all tasks in groceries");
  conv = json_object_get_int_member (json_node_get_object (t1), "conversation_id");
  g_assert_cmpstr (str (json_node_get_object (t1), "path"), ==, "intent");
  g_assert_nonnull (strstr (reply_of (t1), "This needs your approval: Delete 3 pending tasks in "
                                           "project groceries. Say yes"));
  calls = json_object_get_array_member (json_node_get_object (t1), "tool_calls");
  c0 = json_array_get_object_element (calls, 0);
  g_assert_cmpstr (str (c0, "status"), ==, "needs_approval");
  g_assert_cmpstr (str (json_object_get_object_member (c0, "approval"), "status"), ==, "pending");
  g_assert_cmpint (lares_test_db_count (d->data_dir, "tasks"), ==, 3);

  /* "yes" elsewhere decides nothing. */
  t2 = chat (d, 0, "yes");
  g_assert_cmpstr (reply_of (t2), ==,
                   "There is nothing waiting for your approval in this conversation.");
  g_assert_cmpint (lares_test_db_count (d->data_dir, "tasks"), ==, 3);

  t3 = chat (d, conv, "yes");
  g_assert_cmpstr (reply_of (t3), ==, "Deleted 3 tasks.");
  g_assert_cmpint (lares_test_db_count (d->data_dir, "tasks"), ==, 0);
  g_assert_cmpint (db_int (d, "SELECT count(*) FROM approvals WHERE status = 'executed' AND "
                              "decided_via = 'chat'"),
                   ==, 1);

  add_task (d, "apples", "groceries");
  t4 = chat (d, conv, "clear my groceries list");
  g_assert_nonnull (strstr (reply_of (t4), "Delete 1 pending task in project groceries"));
  t5 = chat (d, conv, "no");
  g_assert_nonnull (strstr (reply_of (t5), "OK, I won't do it"));
  g_assert_cmpint (lares_test_db_count (d->data_dir, "tasks"), ==, 1);
  g_assert_cmpint (db_int (d, "SELECT count(*) FROM approvals WHERE status = 'rejected'"), ==, 1);
  t6 = chat (d, conv, "yes");
  g_assert_cmpstr (reply_of (t6), ==,
                   "There is nothing waiting for your approval in this conversation.");
  g_assert_cmpint (lares_test_db_count (d->data_dir, "tasks"), ==, 1);
  stop_daemon (d);
}

/* A model asks; "yes" in its conversation decides, without another LLM call. */
static void
test_llm_then_yes (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start (
      "call 0 note_delete_many\nargs 0 {\"tag\":\"old\"}\n---\ntoken Good.\n", NULL);
  LaresTestDaemon *d = start_daemon (fake, NULL, NULL);
  g_autoptr (JsonNode) n1 = NULL, n2 = NULL, n3 = NULL, t1 = NULL, t2 = NULL, t3 = NULL;
  int64_t conv;

  n1 = call (d, "POST", "/api/v1/notes", "{\"body\":\"an old thing\",\"tags\":[\"old\"]}", 201);
  n2 = call (d, "POST", "/api/v1/notes", "{\"body\":\"another\",\"tags\":[\"old\"]}", 201);
  n3 = call (d, "POST", "/api/v1/notes", "{\"body\":\"keep me\",\"tags\":[\"new\"]}", 201);
  t1 = chat (d, 0, "get rid of the old stuff in my notes");
  g_assert_cmpstr (str (json_node_get_object (t1), "path"), ==, "llm");
  g_assert_nonnull (strstr (reply_of (t1), "Delete 2 notes tagged old"));
  conv = json_object_get_int_member (json_node_get_object (t1), "conversation_id");
  t2 = chat (d, conv, "yes please");
  g_assert_cmpstr (str (json_node_get_object (t2), "path"), ==, "intent");
  g_assert_cmpstr (reply_of (t2), ==, "Deleted 2 notes.");
  g_assert_cmpint (lares_test_db_count (d->data_dir, "notes"), ==, 1);
  g_assert_cmpuint (lares_fake_llm_n_requests (fake), ==, 1);

  /* The model sees what happened, in names it accepts. */
  t3 = chat (d, conv, "thanks, what is left in my notes?");
  g_assert_cmpstr (reply_of (t3), ==, "Good.");
  {
    g_autoptr (GPtrArray) reqs = lares_fake_llm_requests (fake);
    g_autofree char *sent = json_to_string (reqs->pdata[1], FALSE);
    g_assert_nonnull (strstr (sent, "\"name\":\"approval_approve\""));
    g_assert_nonnull (strstr (sent, "needs_approval"));
    g_assert_null (strstr (sent, "approval.approve"));
  }
  stop_daemon (d);
}

/* ---- the CLI -------------------------------------------------------------------------------- */

static void
test_cli (void)
{
  LaresTestDaemon *d = start_daemon (NULL, NULL, NULL);
  g_autoptr (JsonNode) a1 = NULL, a2 = NULL;
  g_autofree char *id1 = NULL, *id2 = NULL;
  g_autofree char *o1 = NULL, *e1 = NULL, *o2 = NULL, *e2 = NULL, *o3 = NULL, *e3 = NULL;
  g_autofree char *o4 = NULL, *e4 = NULL, *o5 = NULL, *e5 = NULL, *o6 = NULL, *e6 = NULL;
  g_autofree char *o7 = NULL, *e7 = NULL, *o8 = NULL, *e8 = NULL;
  const char *list[] = { "approvals", NULL };
  const char *list_all[] = { "approvals", "--all", NULL };
  const char *approve[] = { "approve", NULL, NULL };
  const char *reject[] = { "reject", NULL, NULL };
  const char *bad[] = { "approve", "seven", NULL };
  const char *help[] = { "reject", "--help", NULL };

  add_task (d, "milk", "groceries");
  add_task (d, "old", "attic");
  a1 = call (d, "POST", "/api/v1/tools/task.delete_many", "{\"project\":\"groceries\"}", 202);
  a2 = call (d, "POST", "/api/v1/tools/task.delete_many", "{\"project\":\"attic\"}", 202);
  id1 = g_strdup_printf ("%" G_GINT64_FORMAT,
                         json_object_get_int_member (obj (a1, "approval"), "id"));
  id2 = g_strdup_printf ("%" G_GINT64_FORMAT,
                         json_object_get_int_member (obj (a2, "approval"), "id"));
  g_setenv ("LARES_TOKEN", d->token, TRUE);
  g_setenv ("LARES_URL", d->base, TRUE);

  g_assert_cmpint (lares_test_run (list, &o1, &e1), ==, 0);
  g_assert_nonnull (strstr (o1, "Delete 1 pending task in project groceries"));
  g_assert_nonnull (strstr (o1, "Delete 1 pending task in project attic"));
  approve[1] = id1;
  g_assert_cmpint (lares_test_run (approve, &o2, &e2), ==, 0);
  g_assert_nonnull (strstr (o2, "Approved"));
  g_assert_nonnull (strstr (o2, "Deleted 1 task."));
  g_assert_cmpint (lares_test_run (approve, &o3, &e3), ==, 1);
  g_assert_nonnull (strstr (e3, "already executed"));
  reject[1] = id2;
  g_assert_cmpint (lares_test_run (reject, &o4, &e4), ==, 0);
  g_assert_nonnull (strstr (o4, "Rejected"));
  g_assert_cmpint (lares_test_db_count (d->data_dir, "tasks"), ==, 1);
  g_assert_cmpint (lares_test_run (list, &o5, &e5), ==, 0);
  g_assert_nonnull (strstr (o5, "Nothing is waiting"));
  g_assert_cmpint (lares_test_run (list_all, &o6, &e6), ==, 0);
  g_assert_nonnull (strstr (o6, "executed"));
  g_assert_nonnull (strstr (o6, "rejected"));
  g_assert_cmpint (lares_test_run (bad, &o7, &e7), ==, 2);
  g_assert_cmpint (lares_test_run (help, &o8, &e8), ==, 0);
  g_assert_nonnull (strstr (o8, "Usage:"));
  g_unsetenv ("LARES_TOKEN");
  g_unsetenv ("LARES_URL");
  stop_daemon (d);
}

/* ---- kill -9 and restart -------------------------------------------------------------------- */

static void
test_survives_restart (void)
{
  /* Long enough for a kill, a restart and a look before it expires. */
  g_autofree char *ttl = g_strdup_printf ("policy.approval_ttl=%us", 6 * lares_test_time_scale ());
  const char *sets[] = { ttl, NULL };
  LaresTestDaemon *d = start_daemon (NULL, NULL, sets);
  g_autofree char *dir = g_strdup (d->data_dir);
  g_autoptr (JsonNode) asked = NULL, again = NULL, second = NULL, done = NULL;
  g_autofree char *get = NULL, *expires = NULL, *approve = NULL;
  int64_t id;
  WsClient *c;
  unsigned ct = 0;

  add_task (d, "milk", "groceries");
  asked = call (d, "POST", "/api/v1/tools/task.delete_many", "{\"project\":\"groceries\"}", 202);
  id = json_object_get_int_member (obj (asked, "approval"), "id");
  expires = g_strdup (str (obj (asked, "approval"), "expires_at"));
  /* Acknowledged means committed: a kill right after loses nothing. */
  g_assert_cmpint (lares_test_daemon_stop (d, SIGKILL), ==, 128 + SIGKILL);
  lares_test_daemon_free (d, FALSE);

  d = start_daemon (NULL, dir, sets);
  c = ws_client (d);
  get = approval_path (id, "");
  again = call (d, "GET", get, NULL, 200);
  g_assert_cmpstr (str (obj (again, "approval"), "status"), ==, "pending");
  g_assert_cmpstr (str (obj (again, "approval"), "expires_at"), ==, expires);
  g_assert_cmpstr (str (obj (again, "approval"), "summary"), ==,
                   "Delete 1 pending task in project groceries");

  /* A new one after the restart can be approved. */
  add_task (d, "paint", "home");
  second = call (d, "POST", "/api/v1/tools/task.delete_many", "{\"project\":\"home\"}", 202);
  approve = approval_path (json_object_get_int_member (obj (second, "approval"), "id"), "/approve");
  done = call (d, "POST", approve, NULL, 200);
  g_assert_cmpstr (str (obj (done, "approval"), "status"), ==, "executed");

  /* The first keeps its expiry across the restart. */
  ws_wait (c, &ct, "notification", "expired", 20000 * lares_test_time_scale ());
  g_assert_cmpint (lares_test_db_count (d->data_dir, "tasks"), ==, 1);
  ws_client_free (c);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* ---- calendar.delete_many ------------------------------------------------------------------- */

static int64_t
add_event (LaresTestDaemon *d, const char *body)
{
  g_autoptr (JsonNode) r = call (d, "POST", "/api/v1/events", body, 201);

  return json_object_get_int_member (obj (r, "event"), "id");
}

/* The scheduler's own count of jobs waiting to fire (its index, not the
 * table). */
static int64_t
jobs_indexed (LaresTestDaemon *d)
{
  unsigned status = 0;
  g_autoptr (GBytes) m = lares_test_http (d, "GET", "/metrics", NULL, NULL, 0, &status, NULL);
  g_autofree char *text = g_strndup (g_bytes_get_data (m, NULL), g_bytes_get_size (m));
  const char *line = strstr (text, "\nlares_jobs_pending ");

  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (line);
  return g_ascii_strtoll (line + strlen ("\nlares_jobs_pending "), NULL, 10);
}

/* The user's zone, as the daemon stores it (before their first turn). */
static void
set_user_zone (LaresTestDaemon *d, const char *zone)
{
  g_autofree char *path = g_build_filename (d->data_dir, "lares.db", NULL);
  g_autofree char *sql =
      g_strdup_printf ("INSERT INTO user_settings (user_id, key, value) SELECT id, 'timezone', "
                       "'%s' FROM users WHERE name = 'admin'",
                       zone);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

/* Four events, three with reminders; standup, dentist and lunch have an
 * occurrence in the week of Monday 7 January 2030 (standup is a weekly
 * series from the week before), gym is later. */
static void
add_week (LaresTestDaemon *d, int64_t ids[4])
{
  set_user_zone (d, "Europe/Paris");
  ids[0] =
      add_event (d, "{\"title\":\"standup\",\"start\":\"2030-01-02T09:00:00+01:00\","
                    "\"tz\":\"Europe/Paris\",\"rrule\":\"FREQ=WEEKLY\",\"remind_minutes\":10}");
  ids[1] = add_event (d, "{\"title\":\"dentist\",\"start\":\"2030-01-09T15:00:00+01:00\","
                         "\"tz\":\"Europe/Paris\",\"remind_minutes\":30}");
  ids[2] = add_event (d, "{\"title\":\"lunch\",\"start\":\"2030-01-10T12:00:00+01:00\","
                         "\"tz\":\"Europe/Paris\"}");
  ids[3] = add_event (d, "{\"title\":\"gym\",\"start\":\"2030-01-20T18:00:00+01:00\","
                         "\"tz\":\"Europe/Paris\",\"remind_minutes\":15}");
  g_assert_cmpint (lares_test_db_count (d->data_dir, "events"), ==, 4);
  g_assert_cmpint (lares_test_db_count (d->data_dir, "jobs"), ==, 3);
  g_assert_cmpint (jobs_indexed (d), ==, 3);
}

/* A model asks to clear a week; approved over WebSocket, the planned
 * events that still match go, with their reminders, and every connection
 * hears. */
static void
test_calendar_week_approved (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start (
      "call 0 calendar_delete_many\nargs 0 {\"from\":\"2030-01-07\",\"to\":\"2030-01-14\"}\n",
      NULL);
  LaresTestDaemon *d = start_daemon (fake, NULL, NULL);
  WsClient *a, *b;
  unsigned at = 0, bt = 0;
  int64_t ids[4], late, id;
  JsonObject *req, *end, *note, *approval, *result;
  const char *summary = "Delete 3 events between Mon 7 Jan and Sun 13 Jan: \"standup\", "
                        "\"dentist\", \"lunch\" (a repeating event counts once; all its "
                        "repeats go)";
  g_autofree char *trail = NULL;

  add_week (d, ids);
  a = ws_client (d);
  b = ws_client (d);
  soup_websocket_connection_send_text (
      a->conn, "{\"type\":\"message\",\"text\":\"clear my calendar the week of the 7th\"}");
  req = ws_wait (b, &bt, "approval_required", NULL, 10000);
  req = ws_wait (a, &at, "approval_required", NULL, 10000);
  id = json_object_get_int_member (req, "id");
  g_assert_cmpstr (str (req, "tool"), ==, "calendar.delete_many");
  g_assert_cmpstr (str (req, "risk"), ==, "high");
  g_assert_cmpstr (str (req, "summary"), ==, summary);
  end = ws_wait (a, &at, "turn_end", NULL, 10000);
  g_assert_nonnull (strstr (str (end, "reply"), "This needs your approval: Delete 3 events"));
  /* Nothing ran. */
  g_assert_cmpint (lares_test_db_count (d->data_dir, "events"), ==, 4);
  g_assert_cmpint (lares_test_db_count (d->data_dir, "jobs"), ==, 3);

  /* Added to that week after the question: not what was approved; and
   * lunch moves out of the week, so it no longer matches. */
  late = add_event (d, "{\"title\":\"late\",\"start\":\"2030-01-08T10:00:00+01:00\","
                       "\"tz\":\"Europe/Paris\",\"remind_minutes\":5}");
  g_assert_cmpint (jobs_indexed (d), ==, 4);
  {
    g_autofree char *path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT, ids[2]);
    g_autoptr (JsonNode) moved =
        call (d, "POST", path, "{\"start\":\"2030-01-15T12:00:00+01:00\"}", 200);
    g_assert_nonnull (moved);
  }

  {
    g_autofree char *msg =
        g_strdup_printf ("{\"type\":\"approve\",\"id\":%" G_GINT64_FORMAT "}", id);
    soup_websocket_connection_send_text (a->conn, msg);
  }
  note = ws_wait (b, &bt, "notification", "executed", 10000);
  approval = json_object_get_object_member (note, "approval");
  g_assert_cmpint (json_object_get_int_member (approval, "id"), ==, id);
  result = json_object_get_object_member (approval, "result");
  g_assert_cmpint (json_object_get_int_member (result, "deleted"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (result, "reminders_cancelled"), ==, 2);
  g_assert_cmpstr (str (result, "text"), ==,
                   "Deleted 2 events from your calendar. 2 pending reminders went with them. 1 "
                   "had changed or gone since you were asked, and was kept.");
  ws_wait (a, &at, "notification", "executed", 10000);
  g_assert_cmpuint (ws_count (b, "event_deleted"), ==, 2);

  /* lunch, gym and the late one are left, gym and late with their
   * reminders, in the table and in the scheduler. */
  g_assert_cmpint (lares_test_db_count (d->data_dir, "events"), ==, 3);
  {
    g_autofree char *sql =
        g_strdup_printf ("SELECT count(*) FROM events WHERE id IN (%" G_GINT64_FORMAT
                         ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ")",
                         ids[2], ids[3], late);
    g_assert_cmpint (db_int (d, sql), ==, 3);
  }
  g_assert_cmpint (lares_test_db_count (d->data_dir, "jobs"), ==, 2);
  g_assert_cmpint (jobs_indexed (d), ==, 2);
  {
    g_autoptr (JsonNode) list = call (d, "GET", "/api/v1/reminders", NULL, 200);
    g_assert_cmpuint (json_array_get_length (
                          json_object_get_array_member (json_node_get_object (list), "reminders")),
                      ==, 2);
  }
  trail = audit_trail (d);
  g_assert_cmpstr (trail, ==,
                   "tool:needs_approval/llm,approval_created/llm,approval_approved/ws,"
                   "tool:ok/approval");
  ws_client_free (a);
  ws_client_free (b);
  stop_daemon (d);
}

/* Asked in words and through DELETE /api/v1/events; rejected, nothing
 * changes. */
static void
test_calendar_rejected (void)
{
  LaresTestDaemon *d = start_daemon (NULL, NULL, NULL);
  WsClient *c;
  unsigned ct = 0;
  int64_t ids[4], conv;
  g_autoptr (JsonNode) t1 = NULL, t2 = NULL, asked = NULL;
  JsonObject *req;
  g_autofree char *msg = NULL;

  add_week (d, ids);
  c = ws_client (d);
  t1 = chat (d, 0, "delete all events called Standup");
  conv = json_object_get_int_member (json_node_get_object (t1), "conversation_id");
  g_assert_cmpstr (str (json_node_get_object (t1), "path"), ==, "intent");
  g_assert_cmpstr (reply_of (t1), ==,
                   "This needs your approval: Delete 1 event called \"Standup\" (a repeating "
                   "event counts once; all its repeats go). Say yes to go ahead, or no to cancel.");
  ws_wait (c, &ct, "approval_required", NULL, 10000);
  t2 = chat (d, conv, "no");
  g_assert_nonnull (strstr (reply_of (t2), "OK, I won't do it"));
  ws_wait (c, &ct, "notification", "rejected", 10000);

  /* The REST route asks the same way as /api/v1/tools. */
  asked = call (d, "DELETE", "/api/v1/events?from=2030-01-09&to=2030-01-11&title=unc", NULL, 202);
  g_assert_cmpstr (str (obj (asked, "approval"), "tool"), ==, "calendar.delete_many");
  g_assert_cmpstr (str (obj (asked, "approval"), "status"), ==, "pending");
  g_assert_cmpstr (str (obj (asked, "approval"), "summary"), ==,
                   "Delete 1 event with \"unc\" in the title between Wed 9 Jan 01:00 and Fri 11 "
                   "Jan 01:00: \"lunch\"");
  req = ws_wait (c, &ct, "approval_required", NULL, 10000);
  g_assert_cmpint (json_object_get_int_member (req, "id"), ==,
                   json_object_get_int_member (obj (asked, "approval"), "id"));
  msg = g_strdup_printf ("{\"type\":\"reject\",\"id\":%" G_GINT64_FORMAT "}",
                         json_object_get_int_member (obj (asked, "approval"), "id"));
  soup_websocket_connection_send_text (c->conn, msg);
  ws_wait (c, &ct, "notification", "rejected", 10000);

  g_assert_cmpint (lares_test_db_count (d->data_dir, "events"), ==, 4);
  g_assert_cmpint (lares_test_db_count (d->data_dir, "jobs"), ==, 3);
  g_assert_cmpint (jobs_indexed (d), ==, 3);
  g_assert_cmpuint (ws_count (c, "event_deleted"), ==, 0);
  g_assert_cmpint (db_int (d, "SELECT count(*) FROM approvals WHERE status = 'rejected'"), ==, 2);
  ws_client_free (c);
  stop_daemon (d);
}

/* DELETE /api/v1/events: bad queries are 400 and change nothing; ids
 * approved over REST; nothing to delete is an answer, not a question. */
static void
test_calendar_rest (void)
{
  LaresTestDaemon *d = start_daemon (NULL, NULL, NULL);
  int64_t ids[4];
  static const char *const bad[] = {
    "/api/v1/events",
    "/api/v1/events?from=2030-01-07",
    "/api/v1/events?to=2030-01-07",
    "/api/v1/events?from=2030-01-07&to=2030-01-07",
    "/api/v1/events?from=2030-01-07&to=2032-01-07",
    "/api/v1/events?from=soon&to=2030-01-07",
    "/api/v1/events?ids=",
    "/api/v1/events?ids=1,x",
    "/api/v1/events?ids=1,,2",
    "/api/v1/events?ids=0",
    "/api/v1/events?ids=-3",
    "/api/v1/events?ids=99999999999999999999",
  };
  g_autofree char *path = NULL, *approve = NULL;
  g_autoptr (JsonNode) asked = NULL, done = NULL, none = NULL, empty = NULL;

  add_week (d, ids);
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (JsonNode) r = call (d, "DELETE", bad[i], NULL, 400);
      g_test_message ("%s: %s", bad[i], str (obj (r, "error"), "message"));
      g_assert_cmpstr (str (obj (r, "error"), "code"), ==, "invalid_argument");
    }
  /* The tool's own schema still applies. */
  empty = call (d, "DELETE", "/api/v1/events?title=", NULL, 400);
  g_assert_cmpstr (str (obj (empty, "error"), "message"), ==, "title: must not be empty");
  g_assert_cmpint (db_int (d, "SELECT count(*) FROM approvals"), ==, 0);

  path = g_strdup_printf ("/api/v1/events?ids=%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",4242",
                          ids[1], ids[3]);
  asked = call (d, "DELETE", path, NULL, 202);
  g_assert_cmpstr (str (obj (asked, "approval"), "summary"), ==,
                   "Delete 2 events: \"dentist\", \"gym\"");
  approve = approval_path (json_object_get_int_member (obj (asked, "approval"), "id"), "/approve");
  done = call (d, "POST", approve, NULL, 200);
  g_assert_cmpstr (str (obj (done, "approval"), "status"), ==, "executed");
  g_assert_cmpint (lares_test_db_count (d->data_dir, "events"), ==, 2);
  g_assert_cmpint (lares_test_db_count (d->data_dir, "jobs"), ==, 1);
  g_assert_cmpint (jobs_indexed (d), ==, 1);

  none = call (d, "DELETE", "/api/v1/events?title=gym", NULL, 200);
  g_assert_cmpstr (str (obj (none, "result"), "text"), ==,
                   "There are no events called \"gym\" to delete.");
  g_assert_cmpint (db_int (d, "SELECT count(*) FROM approvals"), ==, 1);
  stop_daemon (d);
}

/* ---- users are apart ------------------------------------------------------------------------ */

static void
test_other_users (void)
{
  LaresTestDaemon *d = start_daemon (NULL, NULL, NULL);
  g_autoptr (JsonNode) asked = NULL;
  g_autofree char *bob = lares_test_add_user (d, "bob", "correct horse battery");
  g_autofree char *bearer = g_strconcat ("Bearer ", bob, NULL);
  const char *const as_bob[] = { "Authorization", bearer, NULL };
  g_autofree char *get = NULL, *approve = NULL;
  unsigned status = 0;

  add_task (d, "milk", "groceries");
  asked = call (d, "POST", "/api/v1/tools/task.delete_many", "{\"project\":\"groceries\"}", 202);
  get = approval_path (json_object_get_int_member (obj (asked, "approval"), "id"), "");
  approve = g_strconcat (get, "/approve", NULL);
  {
    g_autoptr (GBytes) r = lares_test_http_as (d, as_bob, "GET", get, NULL, NULL, 0, &status, NULL);
    lares_test_assert_error (r, "not_found");
    g_assert_cmpuint (status, ==, 404);
  }
  {
    g_autoptr (GBytes) r =
        lares_test_http_as (d, as_bob, "POST", approve, NULL, NULL, 0, &status, NULL);
    lares_test_assert_error (r, "not_found");
    g_assert_cmpuint (status, ==, 404);
  }
  {
    g_autoptr (GBytes) r = lares_test_http_as (d, as_bob, "GET", "/api/v1/approvals?status=all",
                                               NULL, NULL, 0, &status, NULL);
    g_autoptr (JsonNode) list = lares_test_json (r);
    g_assert_cmpuint (status, ==, 200);
    g_assert_cmpuint (json_array_get_length (
                          json_object_get_array_member (json_node_get_object (list), "approvals")),
                      ==, 0);
  }
  g_assert_cmpint (lares_test_db_count (d->data_dir, "tasks"), ==, 1);
  {
    g_autoptr (GBytes) r =
        lares_test_http (d, "GET", "/api/v1/approvals?status=later", NULL, NULL, 0, &status, NULL);
    lares_test_assert_error (r, "invalid_argument");
    g_assert_cmpuint (status, ==, 400);
  }
  stop_daemon (d);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/approvals/llm-call-approved-over-ws", test_llm_call_approved_over_ws);
  g_test_add_func ("/approvals/rejected", test_rejected);
  g_test_add_func ("/approvals/expired", test_expired);
  g_test_add_func ("/approvals/chat-yes-no", test_chat_yes_no);
  g_test_add_func ("/approvals/llm-then-yes", test_llm_then_yes);
  g_test_add_func ("/approvals/cli", test_cli);
  g_test_add_func ("/approvals/survives-restart", test_survives_restart);
  g_test_add_func ("/approvals/other-users", test_other_users);
  g_test_add_func ("/approvals/calendar-week-approved", test_calendar_week_approved);
  g_test_add_func ("/approvals/calendar-rejected", test_calendar_rejected);
  g_test_add_func ("/approvals/calendar-rest", test_calendar_rest);
  return g_test_run ();
}
