/* test-tool-paths.c — one registry, three paths: every tool through REST
 * (/api/v1/tools), through an LLM tool call (tests/fake-llm) and, where
 * a sentence can carry the arguments, through the intent engine; the same
 * bad arguments give the same validation message on each, and valid calls
 * work through REST (high-risk ones become approvals).
 *
 * Every registered tool must have a valid call in the table below: a new
 * tool without one fails this test.
 */
#include "config.h"

#include "lares-fake-llm.h"
#include "lares-test.h"

#include <signal.h>
#include <string.h>

static JsonNode *
call (LaresTestDaemon *d, const char *method, const char *path, const char *body, unsigned *status)
{
  g_autoptr (GBytes) resp = lares_test_http (d, method, path, body ? "application/json" : NULL,
                                             body, body ? strlen (body) : 0, status, NULL);

  return lares_test_json (resp);
}

static const char *
str (JsonObject *o, const char *member)
{
  return json_object_get_string_member_with_default (o, member, NULL);
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

static JsonArray *
list_tools (LaresTestDaemon *d)
{
  unsigned status = 0;
  JsonNode *root = call (d, "GET", "/api/v1/tools", NULL, &status);

  g_assert_cmpuint (status, ==, 200);
  /* Kept alive by the caller's ref on the array. */
  {
    JsonArray *a =
        json_array_ref (json_object_get_array_member (json_node_get_object (root), "tools"));
    json_node_unref (root);
    return a;
  }
}

/* What every tool's schema refuses: its first argument (by name) with a
 * value of the wrong type, or not an object at all when it takes none.
 * (transfer full) */
static char *
bad_args_for (JsonObject *tool)
{
  JsonObject *schema = json_object_get_object_member (tool, "parameters");
  JsonObject *props = json_object_has_member (schema, "properties")
                          ? json_object_get_object_member (schema, "properties")
                          : NULL;
  g_autoptr (GList) names = props ? json_object_get_members (props) : NULL;
  const char *first = NULL, *type;

  for (GList *l = names; l; l = l->next)
    if (first == NULL || strcmp (l->data, first) < 0)
      first = l->data;
  if (first == NULL)
    return g_strdup ("[]");
  type = str (json_object_get_object_member (props, first), "type");
  return g_strdup_printf ("{\"%s\":%s}", first, g_strcmp0 (type, "string") == 0 ? "42" : "\"x\"");
}

static char *
llm_name (const char *name)
{
  return g_strdelimit (g_strdup (name), ".", '_');
}

static JsonNode *
chat (LaresTestDaemon *d, const char *text)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *body = NULL;
  unsigned status = 0;
  JsonNode *turn;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, text);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  body = json_to_string (root, FALSE);
  turn = call (d, "POST", "/api/v1/chat", body, &status);
  g_assert_cmpuint (status, ==, 200);
  return turn;
}

/* The error message of the turn's first tool call. */
static const char *
tool_error_of (JsonNode *turn, const char **code)
{
  JsonArray *calls = json_object_get_array_member (json_node_get_object (turn), "tool_calls");
  JsonObject *c0, *e;

  g_assert_cmpuint (json_array_get_length (calls), >=, 1);
  c0 = json_array_get_object_element (calls, 0);
  g_assert_cmpstr (str (c0, "status"), ==, "error");
  e = json_object_get_object_member (c0, "error");
  *code = str (e, "code");
  return str (e, "message");
}

/* ---- the same bad arguments, every path ----------------------------------------------------- */

static void
test_same_errors (void)
{
  LaresTestDaemon *plain = lares_test_daemon_start (NULL, NULL);
  g_autoptr (JsonArray) tools = list_tools (plain);
  g_autoptr (GString) script = g_string_new (NULL);
  g_autoptr (GPtrArray) messages = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (LaresFakeLlm) fake = NULL;
  LaresTestDaemon *d;
  g_autofree char *base_url = NULL;
  unsigned n = json_array_get_length (tools);

  /* REST first, building the model's script of the same calls. */
  for (unsigned i = 0; i < n; i++)
    {
      JsonObject *tool = json_array_get_object_element (tools, i);
      const char *name = str (tool, "name");
      g_autofree char *bad = bad_args_for (tool);
      g_autofree char *path = g_strconcat ("/api/v1/tools/", name, NULL);
      g_autofree char *fn = llm_name (name);
      unsigned status = 0;
      g_autoptr (JsonNode) err = call (plain, "POST", path, bad, &status);
      JsonObject *e = json_object_get_object_member (json_node_get_object (err), "error");

      g_test_message ("%s %s -> %u %s", name, bad, status, str (e, "message"));
      g_assert_cmpuint (status, ==, 400);
      g_assert_cmpstr (str (e, "code"), ==, "invalid_args");
      g_ptr_array_add (messages, g_strdup (str (e, "message")));
      g_string_append_printf (script, "%scall 0 %s\nargs 0 %s\n", i ? "---\n" : "", fn, bad);
    }
  /* Refused before anything ran or was recorded. */
  g_assert_cmpint (db_int (plain, "SELECT count(*) FROM audit WHERE event = 'tool'"), ==, 0);
  g_assert_cmpint (lares_test_daemon_stop (plain, SIGTERM), ==, 0);
  lares_test_daemon_free (plain, TRUE);

  fake = lares_fake_llm_start (script->str, NULL);
  base_url = g_strdup_printf ("llm.base_url=%s", lares_fake_llm_url (fake));
  {
    const char *argv[] = { "--set", "llm.provider=openai", "--set", base_url,
                           "--set", "llm.model=fake",      NULL };
    d = lares_test_daemon_start (NULL, argv);
  }
  for (unsigned i = 0; i < n; i++)
    {
      g_autofree char *text = g_strdup_printf ("please use tool number %u", i);
      g_autoptr (JsonNode) turn = chat (d, text);
      const char *code = NULL;
      const char *msg = tool_error_of (turn, &code);

      g_assert_cmpstr (code, ==, "invalid_arguments");
      g_assert_cmpstr (msg, ==, messages->pdata[i]);
    }
  g_assert_cmpuint (lares_fake_llm_n_requests (fake), ==, n);

  /* Through the intent engine: a sentence whose title is too long. */
  {
    g_autoptr (GString) title = g_string_new (NULL);
    g_autofree char *sentence = NULL, *body = NULL;
    g_autoptr (JsonNode) turn = NULL, rest = NULL;
    const char *code = NULL, *via_intent;
    unsigned status = 0;

    for (int i = 0; i < 1001; i++)
      g_string_append_c (title, 'x');
    sentence = g_strdup_printf ("add %s to my tasks", title->str);
    turn = chat (d, sentence);
    g_assert_cmpstr (str (json_node_get_object (turn), "path"), ==, "intent");
    via_intent = tool_error_of (turn, &code);
    g_assert_cmpstr (code, ==, "invalid_arguments");
    body = g_strdup_printf ("{\"title\":\"%s\"}", title->str);
    rest = call (d, "POST", "/api/v1/tools/task.add", body, &status);
    g_assert_cmpuint (status, ==, 400);
    g_assert_cmpstr (
        str (json_object_get_object_member (json_node_get_object (rest), "error"), "message"), ==,
        via_intent);
    g_assert_cmpstr (via_intent, ==, "title: is too long");
    g_assert_cmpint (lares_test_db_count (d->data_dir, "tasks"), ==, 0);
  }
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* ---- valid calls through REST --------------------------------------------------------------- */

typedef struct
{
  const char *name;
  const char *args; /* "%s": a time an hour from now */
  unsigned status;
  const char *text; /* part of the result's text (200) or the approval's summary (202) */
} Valid;

static void
on_event (SoupWebsocketConnection *conn G_GNUC_UNUSED, int type, GBytes *message, gpointer data)
{
  GPtrArray *events = data;

  if (type == SOUP_WEBSOCKET_DATA_TEXT)
    g_ptr_array_add (events, lares_test_json (message));
}

static gboolean
heard (GPtrArray *events, const char *type)
{
  for (unsigned i = 0; i < events->len; i++)
    if (g_strcmp0 (str (json_node_get_object (events->pdata[i]), "type"), type) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
tick (gpointer data G_GNUC_UNUSED)
{
  return G_SOURCE_CONTINUE;
}

static void
wait_heard (GPtrArray *events, const char *type)
{
  int64_t deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  unsigned ticker = g_timeout_add (50, tick, NULL);

  while (!heard (events, type))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("no %s event", type);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (ticker);
}

static void
test_valid_calls (void)
{
  static const Valid valid[] = {
    { "time.now", "{}", 200, "It is " },
    { "memory.remember", "{\"fact\":\"I like tea\"}", 200, "I'll remember that I like tea." },
    { "memory.recall", "{}", 200, "I like tea" },
    { "memory.forget", "{\"fact\":\"tea\"}", 200, "forgotten" },
    { "help", "{}", 200, "" },
    { "note.add", "{\"text\":\"the key is under the pot\",\"tags\":[\"home\"]}", 200, "Noted" },
    { "note.search", "{\"query\":\"key\"}", 200, "under the pot" },
    { "note.delete_many", "{\"tag\":\"home\"}", 202, "Delete 1 note tagged home" },
    { "task.add", "{\"title\":\"buy milk\",\"project\":\"groceries\"}", 200, "Added \"buy milk\"" },
    { "task.list", "{}", 200, "buy milk" },
    { "task.done", "{\"title\":\"buy milk\"}", 200, "Done" },
    { "task.delete_many", "{\"status\":\"completed\"}", 202, "Delete 1 completed task" },
    { "reminder.create", "{\"text\":\"call mom\",\"at\":\"%s\"}", 200, "call mom" },
    { "reminder.list", "{}", 200, "call mom" },
    { "reminder.cancel", "{\"text\":\"call mom\"}", 200, "" },
    { "timer.start", "{\"seconds\":600,\"name\":\"pasta\"}", 200, "" },
    { "timer.query", "{}", 200, "" },
    { "timer.cancel", "{\"name\":\"pasta\"}", 200, "" },
    { "alarm.set", "{\"at\":\"%s\"}", 200, "" },
    { "alarm.cancel", "{\"at\":\"%s\"}", 200, "" },
    { "calendar.create", "{\"title\":\"dentist\",\"start\":\"%s\"}", 200, "Added \"dentist\"" },
    { "calendar.list", "{}", 200, "dentist" },
    { "calendar.delete_many", "{\"title\":\"dentist\"}", 202, "Delete 1 event called \"dentist\"" },
    { "calendar.delete", "{\"title\":\"dentist\"}", 200, "Deleted \"dentist\"" },
  };
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  g_autoptr (JsonArray) tools = list_tools (d);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) later = g_date_time_add_hours (now, 1);
  g_autofree char *at = g_date_time_format (later, "%Y-%m-%dT%H:%M:00Z");
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);
  SoupWebsocketConnection *ws = lares_test_ws_connect (d);
  unsigned ran = 0;

  g_signal_connect (ws, "message", G_CALLBACK (on_event), events);
  /* The table covers the registry, and the registry says what it is. */
  g_assert_cmpuint (json_array_get_length (tools), ==, G_N_ELEMENTS (valid));
  for (unsigned i = 0; i < json_array_get_length (tools); i++)
    {
      JsonObject *t = json_array_get_object_element (tools, i);
      gboolean found = FALSE;

      for (size_t v = 0; v < G_N_ELEMENTS (valid); v++)
        found |= g_strcmp0 (valid[v].name, str (t, "name")) == 0;
      g_assert_true (found);
      g_assert_nonnull (str (t, "description"));
      g_assert_cmpstr (str (json_object_get_object_member (t, "parameters"), "type"), ==, "object");
      g_assert_cmpstr (str (t, "risk"), ==,
                       g_str_has_suffix (str (t, "name"), ".delete_many") ? "high" : "low");
    }

  for (size_t v = 0; v < G_N_ELEMENTS (valid); v++)
    {
      g_autofree char *path = g_strconcat ("/api/v1/tools/", valid[v].name, NULL);
      g_autoptr (GString) args = g_string_new (valid[v].args);
      g_autoptr (JsonNode) root = NULL;
      unsigned status = 0;
      const char *text;

      if (strstr (args->str, "%s"))
        g_string_replace (args, "%s", at, 1);
      root = call (d, "POST", path, args->str, &status);
      g_test_message ("%s %s -> %u", valid[v].name, args->str, status);
      g_assert_cmpuint (status, ==, valid[v].status);
      if (status == 200)
        {
          text =
              str (json_object_get_object_member (json_node_get_object (root), "result"), "text");
          ran++;
        }
      else
        text = str (json_object_get_object_member (json_node_get_object (root), "approval"),
                    "summary");
      g_assert_nonnull (text);
      g_assert_nonnull (strstr (text, valid[v].text));
    }
  /* A tool's changes reach the user's connections like the REST routes' do. */
  wait_heard (events, "note_created");
  wait_heard (events, "task_created");
  wait_heard (events, "event_created");
  wait_heard (events, "event_deleted");
  wait_heard (events, "approval_required");
  /* Every run is on record with what was asked, by whom and how it ended. */
  g_assert_cmpint (db_int (d, "SELECT count(*) FROM audit WHERE event = 'tool' AND "
                              "json_extract(detail, '$.via') = 'rest' AND "
                              "json_extract(detail, '$.status') = 'ok' AND "
                              "json_extract(detail, '$.args') IS NOT NULL AND "
                              "json_extract(detail, '$.result_text') IS NOT NULL"),
                   ==, ran);
  g_assert_cmpint (db_int (d, "SELECT count(*) FROM audit WHERE event = 'tool' AND "
                              "json_extract(detail, '$.status') = 'needs_approval'"),
                   ==, 3);

  /* Unknown tools and wrong methods. */
  {
    unsigned status = 0;
    SoupMessageHeaders *h = NULL;
    g_autoptr (JsonNode) nope = call (d, "POST", "/api/v1/tools/no.such", "{}", &status);
    g_assert_cmpuint (status, ==, 404);
    g_assert_cmpstr (
        str (json_object_get_object_member (json_node_get_object (nope), "error"), "message"), ==,
        "no tool named 'no.such'");
    g_assert_cmpuint (
        lares_test_status (d, "POST", "/api/v1/tools/a%20b", "application/json", "{}", 2), ==, 404);
    {
      g_autoptr (GBytes) r =
          lares_test_http (d, "GET", "/api/v1/tools/time.now", NULL, NULL, 0, &status, &h);
      lares_test_assert_error (r, "method_not_allowed");
      g_assert_cmpuint (status, ==, 405);
      g_assert_cmpstr (soup_message_headers_get_one (h, "Allow"), ==, "POST");
      soup_message_headers_unref (h);
    }
    {
      g_autoptr (GBytes) r = lares_test_http (d, "POST", "/api/v1/tools/time.now",
                                              "application/json", "{\"what\":", 8, &status, NULL);
      lares_test_assert_error (r, "invalid_json");
      g_assert_cmpuint (status, ==, 400);
    }
  }
  g_signal_handlers_disconnect_by_data (ws, events);
  soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_object_unref (ws);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tool-paths/same-errors", test_same_errors);
  g_test_add_func ("/tool-paths/valid-calls", test_valid_calls);
  return g_test_run ();
}
