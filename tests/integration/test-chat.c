/* test-chat.c — conversations and the LLM agent over real HTTP and
 * WebSocket, against tests/fake-llm speaking the providers' wire formats.
 *
 * Each test starts a fake LLM with a script and a lares daemon pointed at
 * it, talks to the daemon like a client would, and checks three things:
 * what the client saw (events, replies), what the fake received (the
 * request lares built), and what the store holds afterwards (read with a
 * separate SQLite connection).
 */
#include "config.h"

#include "lares-fake-llm.h"
#include "lares-test.h"

#include <string.h>

/* ---- helpers -------------------------------------------------------------------------------- */

static LaresTestDaemon *
start_daemon (LaresFakeLlm *fake, const char *provider, const char *const *more)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);

  if (fake != NULL)
    {
      gboolean ollama = g_strcmp0 (provider, "ollama") == 0;
      g_ptr_array_add (argv, g_strdup ("--set"));
      g_ptr_array_add (argv, g_strdup_printf ("llm.provider=%s", provider ? provider : "openai"));
      g_ptr_array_add (argv, g_strdup ("--set"));
      g_ptr_array_add (argv,
                       g_strdup_printf ("llm.base_url=%s", ollama ? lares_fake_llm_base (fake)
                                                                  : lares_fake_llm_url (fake)));
      g_ptr_array_add (argv, g_strdup ("--set"));
      g_ptr_array_add (argv, g_strdup ("llm.model=fake"));
    }
  for (size_t i = 0; more && more[i]; i++)
    {
      g_ptr_array_add (argv, g_strdup ("--set"));
      g_ptr_array_add (argv, g_strdup (more[i]));
    }
  g_ptr_array_add (argv, NULL);
  return lares_test_daemon_start (NULL, (const char *const *)argv->pdata);
}

static char *
chat_body (int64_t conversation_id, const char *text)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

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
  return json_to_string (root, FALSE);
}

/* POST /api/v1/chat (JSON answer); asserts 200.  (transfer full) */
static JsonNode *
chat (LaresTestDaemon *d, int64_t conversation_id, const char *text)
{
  g_autofree char *body = chat_body (conversation_id, text);
  unsigned status = 0;
  g_autoptr (GBytes) resp = lares_test_http (d, "POST", "/api/v1/chat", "application/json", body,
                                             strlen (body), &status, NULL);

  if (status != 200)
    g_error ("chat answered %u: %.*s", status, (int)g_bytes_get_size (resp),
             (const char *)g_bytes_get_data (resp, NULL));
  return lares_test_json (resp);
}

static const char *
str (JsonNode *node, const char *member)
{
  return json_object_get_string_member_with_default (json_node_get_object (node), member, NULL);
}

static int64_t
num (JsonNode *node, const char *member)
{
  return json_object_get_int_member_with_default (json_node_get_object (node), member, -1);
}

/* POST /api/v1/chat as SSE: the events in order (each a JsonNode with its
 * SSE event name checked against "type").  (transfer full) */
static GPtrArray *
chat_sse (LaresTestDaemon *d, int64_t conversation_id, const char *text)
{
  g_autofree char *auth = g_strconcat ("Bearer ", d->token, NULL);
  const char *headers[] = { "Authorization", auth, "Accept", "text/event-stream", NULL };
  g_autofree char *body = chat_body (conversation_id, text);
  unsigned status = 0;
  g_autoptr (SoupMessageHeaders) rh = NULL;
  g_autoptr (GBytes) resp = lares_test_http_as (
      d, headers, "POST", "/api/v1/chat", "application/json", body, strlen (body), &status, &rh);
  g_autofree char *text_copy = g_strndup (g_bytes_get_data (resp, NULL), g_bytes_get_size (resp));
  g_auto (GStrv) blocks = NULL;
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);

  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_content_type (rh, NULL), ==, "text/event-stream");
  g_assert_true (g_str_has_prefix (text_copy, ": ok\n\n"));
  blocks = g_strsplit (text_copy + 6, "\n\n", -1);
  for (char **b = blocks; *b && **b; b++)
    {
      g_auto (GStrv) lines = g_strsplit (*b, "\n", 2);
      g_autoptr (GBytes) data = NULL;
      JsonNode *ev;

      g_assert_true (g_str_has_prefix (lines[0], "event: "));
      g_assert_true (lines[1] != NULL && g_str_has_prefix (lines[1], "data: "));
      data = g_bytes_new_static (lines[1] + 6, strlen (lines[1] + 6));
      ev = lares_test_json (data);
      g_assert_cmpstr (str (ev, "type"), ==, lines[0] + 7);
      g_ptr_array_add (events, ev);
    }
  g_assert_cmpuint (events->len, >=, 2);
  g_assert_cmpstr (str (events->pdata[events->len - 1], "type"), ==, "turn_end");
  return events;
}

/* The texts of the token events, joined. */
static char *
tokens_of (GPtrArray *events)
{
  GString *s = g_string_new (NULL);

  for (unsigned i = 0; i < events->len; i++)
    if (g_strcmp0 (str (events->pdata[i], "type"), "token") == 0)
      g_string_append (s, str (events->pdata[i], "text"));
  return g_string_free (s, FALSE);
}

static unsigned
count_type (GPtrArray *events, const char *type)
{
  unsigned n = 0;

  for (unsigned i = 0; i < events->len; i++)
    if (g_strcmp0 (str (events->pdata[i], "type"), type) == 0)
      n++;
  return n;
}

static JsonNode *
find_type (GPtrArray *events, const char *type, unsigned nth)
{
  for (unsigned i = 0; i < events->len; i++)
    if (g_strcmp0 (str (events->pdata[i], "type"), type) == 0 && nth-- == 0)
      return events->pdata[i];
  return NULL;
}

/* The messages array of recorded request @i.  (transfer none) */
static JsonArray *
request_messages (GPtrArray *requests, unsigned i)
{
  JsonObject *rec = json_node_get_object (requests->pdata[i]);
  JsonObject *body = json_object_get_object_member (rec, "body");
  return json_object_get_array_member (body, "messages");
}

static const char *
msg_role (JsonArray *messages, unsigned i)
{
  return json_object_get_string_member (json_array_get_object_element (messages, i), "role");
}

static const char *
msg_content (JsonArray *messages, unsigned i)
{
  JsonObject *m = json_array_get_object_element (messages, i);
  JsonNode *c = json_object_get_member (m, "content");
  return c && JSON_NODE_HOLDS_VALUE (c) ? json_node_get_string (c) : NULL;
}

static char *
db_string (const char *data_dir, const char *sql)
{
  sqlite3 *db = lares_test_db_open (data_dir);
  sqlite3_stmt *st = NULL;
  char *out = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_text (st, 0))
    out = g_strdup ((const char *)sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  sqlite3_close (db);
  return out;
}

/* A WebSocket client that collects every event. */
typedef struct
{
  SoupWebsocketConnection *conn;
  GPtrArray *events;
  unsigned ends;
} WsClient;

static void
on_ws_message (SoupWebsocketConnection *conn, int type, GBytes *message, gpointer data)
{
  WsClient *c = data;
  JsonNode *ev = lares_test_json (message);

  g_ptr_array_add (c->events, ev);
  if (g_strcmp0 (str (ev, "type"), "turn_end") == 0)
    c->ends++;
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
ws_send (WsClient *c, const char *text)
{
  soup_websocket_connection_send_text (c->conn, text);
}

static void
ws_wait_ends (WsClient *c, unsigned n, unsigned ms)
{
  int64_t deadline = g_get_monotonic_time () + (int64_t)ms * 1000;

  while (c->ends < n)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for %u turn_end events (have %u)", n, c->ends);
      lares_test_iterate (deadline);
    }
}

static void
ws_wait_type (WsClient *c, const char *type, unsigned ms)
{
  int64_t deadline = g_get_monotonic_time () + (int64_t)ms * 1000;

  while (count_type (c->events, type) == 0)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for a %s event", type);
      lares_test_iterate (deadline);
    }
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

/* ---- without an LLM ------------------------------------------------------------------------- */

static void
test_no_llm (void)
{
  LaresTestDaemon *d = start_daemon (NULL, NULL, NULL);
  g_autoptr (JsonNode) t1 = chat (d, 0, "what time is it");
  g_autoptr (JsonNode) t2 = NULL;
  g_autoptr (JsonNode) t3 = NULL;
  g_autoptr (JsonNode) msgs = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autofree char *path = NULL;
  JsonArray *calls, *list;
  int64_t conv = num (t1, "conversation_id");
  unsigned status;

  /* The intent engine answers through the time.now tool. */
  g_assert_cmpstr (str (t1, "status"), ==, "done");
  g_assert_cmpstr (str (t1, "path"), ==, "intent");
  g_assert_true (g_str_has_prefix (str (t1, "reply"), "It is "));
  calls = json_object_get_array_member (json_node_get_object (t1), "tool_calls");
  g_assert_cmpuint (json_array_get_length (calls), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (calls, 0), "tool"),
                   ==, "time.now");
  g_assert_cmpint (conv, >, 0);

  /* Nothing matches and there is no LLM: an honest list of what works. */
  t2 = chat (d, conv, "please compose a sonnet about otters");
  g_assert_cmpstr (str (t2, "path"), ==, "fallback");
  g_assert_nonnull (strstr (str (t2, "reply"), "no language model"));
  g_assert_cmpint (num (t2, "conversation_id"), ==, conv);

  /* Remember, through the intent engine, lands in the store. */
  t3 = chat (d, conv, "remember that my sister is called Ana");
  g_assert_cmpstr (str (t3, "path"), ==, "intent");
  g_assert_cmpint (lares_test_db_count (d->data_dir, "facts"), ==, 1);

  /* The conversation holds every message of the three turns in order. */
  path = g_strdup_printf ("/api/v1/conversations/%" G_GINT64_FORMAT "/messages", conv);
  body = lares_test_http (d, "GET", path, NULL, NULL, 0, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  msgs = lares_test_json (body);
  list = json_object_get_array_member (json_node_get_object (msgs), "messages");
  /* user, assistant(call), tool, assistant; user, assistant; user, assistant(call), tool, assistant
   */
  g_assert_cmpuint (json_array_get_length (list), ==, 10);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (list, 0), "role"),
                   ==, "user");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (list, 2), "role"),
                   ==, "tool");
  g_assert_cmpint (lares_test_db_count (d->data_dir, "turns"), ==, 3);
  g_free (path);
  path = db_string (d->data_dir, "SELECT group_concat(path, ',') FROM (SELECT path FROM turns "
                                 "ORDER BY id)");
  g_assert_cmpstr (path, ==, "intent,fallback,intent");

  /* Bad input changes nothing. */
  g_assert_cmpuint (
      lares_test_status (d, "POST", "/api/v1/chat", "application/json", "{\"text\":\"\"}", 11), ==,
      400);
  g_assert_cmpuint (
      lares_test_status (d, "POST", "/api/v1/chat", "application/json", "{\"text\":3}", 10), ==,
      400);
  g_assert_cmpuint (lares_test_status (d, "POST", "/api/v1/chat", "application/json",
                                       "{\"text\":\"hi\",\"conversation_id\":999}", 35),
                    ==, 404);
  g_assert_cmpuint (lares_test_status (d, "POST", "/api/v1/chat", "application/json",
                                       "{\"text\":\"hi\",\"extra\":1}", 23),
                    ==, 400);
  {
    g_autofree char *big = g_strnfill (10001, 'a');
    g_autofree char *bigbody = chat_body (0, big);
    g_assert_cmpuint (lares_test_status (d, "POST", "/api/v1/chat", "application/json", bigbody,
                                         strlen (bigbody)),
                      ==, 400);
  }
  g_assert_cmpint (lares_test_db_count (d->data_dir, "turns"), ==, 3);

  /* Another user sees none of it. */
  {
    g_autofree char *other = lares_test_add_user (d, "bob", "correct horse battery");
    g_autofree char *auth = g_strconcat ("Bearer ", other, NULL);
    const char *headers[] = { "Authorization", auth, NULL };
    g_autofree char *msgpath =
        g_strdup_printf ("/api/v1/conversations/%" G_GINT64_FORMAT "/messages", conv);
    g_autoptr (GBytes) b =
        lares_test_http_as (d, headers, "GET", msgpath, NULL, NULL, 0, &status, NULL);
    g_autofree char *cbody = chat_body (conv, "hello");
    g_autoptr (GBytes) b2 = NULL;
    g_assert_cmpuint (status, ==, 404);
    lares_test_assert_error (b, "not_found");
    b2 = lares_test_http_as (d, headers, "POST", "/api/v1/chat", "application/json", cbody,
                             strlen (cbody), &status, NULL);
    g_assert_cmpuint (status, ==, 404);
    lares_test_assert_error (b2, "not_found");
  }

  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* ---- streaming ------------------------------------------------------------------------------ */

static void
test_stream_sse (void)
{
  g_autoptr (LaresFakeLlm) fake =
      lares_fake_llm_start ("delay 5\ntoken Hello\ntoken ,\\sworld\ntoken !\nusage 30 3\n", NULL);
  LaresTestDaemon *d = start_daemon (fake, NULL, NULL);
  g_autoptr (GPtrArray) events = chat_sse (d, 0, "Tell me something nice");
  g_autoptr (GPtrArray) reqs = lares_fake_llm_requests (fake);
  g_autofree char *text = tokens_of (events);
  JsonNode *end = events->pdata[events->len - 1];
  JsonObject *body, *usage;
  JsonArray *msgs;

  g_assert_cmpstr (str (events->pdata[0], "type"), ==, "turn_start");
  g_assert_cmpstr (text, ==, "Hello, world!");
  g_assert_cmpuint (count_type (events, "token"), ==, 3);
  g_assert_cmpstr (str (end, "reply"), ==, "Hello, world!");
  g_assert_cmpstr (str (end, "path"), ==, "llm");
  g_assert_cmpstr (str (end, "status"), ==, "done");
  usage = json_object_get_object_member (json_node_get_object (end), "usage");
  g_assert_cmpint (json_object_get_int_member (usage, "prompt_tokens"), ==, 30);
  g_assert_cmpint (json_object_get_int_member (usage, "completion_tokens"), ==, 3);

  /* What lares sent: streaming, usage asked, tools, system then user. */
  g_assert_cmpuint (reqs->len, ==, 1);
  body = json_object_get_object_member (json_node_get_object (reqs->pdata[0]), "body");
  g_assert_cmpstr (json_object_get_string_member (body, "model"), ==, "fake");
  g_assert_true (json_object_get_boolean_member (body, "stream"));
  g_assert_true (json_object_get_boolean_member (
      json_object_get_object_member (body, "stream_options"), "include_usage"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (body, "tools")), ==, 24);
  msgs = json_object_get_array_member (body, "messages");
  g_assert_cmpuint (json_array_get_length (msgs), ==, 2);
  g_assert_cmpstr (msg_role (msgs, 0), ==, "system");
  g_assert_nonnull (strstr (msg_content (msgs, 0), "You are Lares"));
  g_assert_nonnull (strstr (msg_content (msgs, 0), "Now: "));
  g_assert_cmpstr (msg_role (msgs, 1), ==, "user");
  g_assert_cmpstr (msg_content (msgs, 1), ==, "Tell me something nice");

  /* The spend is recorded with the server's numbers. */
  {
    g_autofree char *row = db_string (
        d->data_dir, "SELECT prompt_tokens || '/' || completion_tokens || '/' || estimated || '/' "
                     "|| status FROM llm_calls");
    g_assert_cmpstr (row, ==, "30/3/0/ok");
  }
  /* The stored timings are the event's, as json-glib writes them. */
  {
    g_autofree char *stored = db_string (d->data_dir, "SELECT timings FROM turns");
    g_autofree char *sent =
        json_to_string (json_object_get_member (json_node_get_object (end), "timings"), FALSE);

    g_assert_nonnull (strstr (stored, "\"first_token_ms\":"));
    g_assert_cmpstr (stored, ==, sent);
  }
  /* And counted for /metrics. */
  {
    unsigned status;
    g_autoptr (GBytes) m = lares_test_http (d, "GET", "/metrics", NULL, NULL, 0, &status, NULL);
    g_autofree char *mtext = g_strndup (g_bytes_get_data (m, NULL), g_bytes_get_size (m));
    g_assert_cmpuint (status, ==, 200);
    g_assert_nonnull (strstr (mtext, "lares_turns_total{path=\"llm\"} 1\n"));
    g_assert_nonnull (strstr (mtext, "lares_llm_calls_total 1\n"));
    g_assert_nonnull (strstr (mtext, "lares_llm_tokens_total{kind=\"prompt\"} 30\n"));
    g_assert_nonnull (strstr (mtext, "lares_turns_running 0\n"));
  }
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* Every connection of the user sees the turn (seed 001's broadcast). */
static void
test_ws_broadcast (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token [happy] Hi\\sthere\n", NULL);
  LaresTestDaemon *d = start_daemon (fake, NULL, NULL);
  WsClient *a = ws_client (d);
  WsClient *b = ws_client (d);
  g_autofree char *ta = NULL;
  g_autofree char *tb = NULL;
  JsonNode *emotion;

  ws_send (a, "{\"type\":\"message\",\"text\":\"say hi\"}");
  ws_wait_ends (a, 1, 10000);
  ws_wait_ends (b, 1, 10000);
  ta = tokens_of (a->events);
  tb = tokens_of (b->events);
  g_assert_cmpstr (ta, ==, "Hi there");
  g_assert_cmpstr (tb, ==, ta);
  emotion = find_type (b->events, "emotion", 0);
  g_assert_nonnull (emotion);
  g_assert_cmpstr (str (emotion, "name"), ==, "happy");
  g_assert_cmpstr (str (find_type (a->events, "turn_end", 0), "reply"), ==, "Hi there");

  /* A bad message is refused and starts nothing. */
  ws_send (a, "{\"type\":\"message\",\"text\":42}");
  ws_wait_type (a, "error", 5000);
  g_assert_cmpstr (str (find_type (a->events, "error", 0), "code"), ==, "invalid_argument");
  g_assert_cmpint (lares_test_db_count (d->data_dir, "turns"), ==, 1);

  ws_client_free (a);
  ws_client_free (b);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* ---- tools ---------------------------------------------------------------------------------- */

static void
test_tool_two_steps (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start (
      "call 0 memory_remember\nargs 0 {\"fact\":\nargs 0 \"my cat is called Tom\"}\n---\n"
      "token Noted, I will remember Tom.\n",
      NULL);
  LaresTestDaemon *d = start_daemon (fake, NULL, NULL);
  g_autoptr (GPtrArray) events = chat_sse (d, 0, "the furry one at home answers to Tom");
  g_autoptr (GPtrArray) reqs = lares_fake_llm_requests (fake);
  JsonNode *running = find_type (events, "tool_call", 0);
  JsonNode *done = find_type (events, "tool_call", 1);
  JsonNode *end = events->pdata[events->len - 1];
  JsonArray *second;
  JsonObject *assistant, *tool;

  g_assert_nonnull (running);
  g_assert_cmpstr (str (running, "status"), ==, "running");
  g_assert_cmpstr (str (running, "tool"), ==, "memory.remember");
  g_assert_nonnull (done);
  g_assert_cmpstr (str (done, "status"), ==, "done");
  g_assert_cmpstr (str (end, "reply"), ==, "Noted, I will remember Tom.");
  g_assert_cmpint (lares_test_db_count (d->data_dir, "facts"), ==, 1);

  /* The second request carries the call and its result. */
  g_assert_cmpuint (reqs->len, ==, 2);
  second = request_messages (reqs, 1);
  g_assert_cmpuint (json_array_get_length (second), ==, 4);
  assistant = json_array_get_object_element (second, 2);
  g_assert_cmpstr (json_object_get_string_member (assistant, "role"), ==, "assistant");
  g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (
                           json_array_get_object_element (
                               json_object_get_array_member (assistant, "tool_calls"), 0),
                           "function"),
                       "arguments"),
                   ==, "{\"fact\":\"my cat is called Tom\"}");
  tool = json_array_get_object_element (second, 3);
  g_assert_cmpstr (json_object_get_string_member (tool, "role"), ==, "tool");
  g_assert_cmpstr (
      json_object_get_string_member (tool, "tool_call_id"), ==,
      json_object_get_string_member (
          json_array_get_object_element (json_object_get_array_member (assistant, "tool_calls"), 0),
          "id"));
  g_assert_nonnull (
      strstr (json_object_get_string_member (tool, "content"), "my cat is called Tom"));

  /* The next turn's context has the fact in the system prompt. */
  {
    g_autoptr (JsonNode) t2 = chat (d, 0, "what is my cat called?");
    g_autoptr (GPtrArray) reqs2 = lares_fake_llm_requests (fake);
    g_assert_cmpstr (str (t2, "path"), ==, "llm");
    g_assert_cmpuint (reqs2->len, ==, 3);
    g_assert_nonnull (
        strstr (msg_content (request_messages (reqs2, 2), 0), "my cat is called Tom"));
  }
  /* The store holds the whole exchange: user, assistant(call), tool, assistant. */
  g_assert_cmpint (lares_test_db_count (d->data_dir, "messages"), ==, 6);
  g_assert_cmpint (lares_test_db_count (d->data_dir, "llm_calls"), ==, 3);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

static void
test_tool_parallel (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start (
      "call 0 time_now\ncall 1 memory_recall\nargs 1 {\"query\":\nargs 0 {\"what\":\"date\"}\n"
      "args 1 \"\"}\n---\ntoken Done.\n",
      NULL);
  LaresTestDaemon *d = start_daemon (fake, NULL, NULL);
  g_autoptr (JsonNode) t = chat (d, 0, "what's the date and what do you know about me?");
  g_autoptr (GPtrArray) reqs = lares_fake_llm_requests (fake);
  JsonArray *calls = json_object_get_array_member (json_node_get_object (t), "tool_calls");
  JsonArray *second;

  g_assert_cmpstr (str (t, "status"), ==, "done");
  g_assert_cmpuint (json_array_get_length (calls), ==, 2);
  g_assert_cmpuint (reqs->len, ==, 2);
  second = request_messages (reqs, 1);
  /* system, user, assistant with two calls, two tool results */
  g_assert_cmpuint (json_array_get_length (second), ==, 5);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                        json_array_get_object_element (second, 2), "tool_calls")),
                    ==, 2);
  g_assert_cmpstr (msg_role (second, 3), ==, "tool");
  g_assert_cmpstr (msg_role (second, 4), ==, "tool");
  g_assert_nonnull (strstr (msg_content (second, 3), "Today is"));
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* Invalid arguments end the turn with a clear error and run nothing. */
static void
test_tool_invalid_args (void)
{
  g_autoptr (LaresFakeLlm) fake =
      lares_fake_llm_start ("call 0 memory_remember\nargs 0 {\"fact\":42}\n", NULL);
  LaresTestDaemon *d = start_daemon (fake, NULL, NULL);
  g_autoptr (GPtrArray) events = chat_sse (d, 0, "the number forty two matters to me");
  JsonNode *err = find_type (events, "error", 0);
  JsonNode *end = events->pdata[events->len - 1];
  g_autofree char *status = NULL;

  g_assert_nonnull (err);
  g_assert_cmpstr (str (err, "code"), ==, "invalid_tool_call");
  g_assert_nonnull (strstr (str (err, "message"), "fact: expected a string"));
  g_assert_cmpstr (str (end, "status"), ==, "error");
  g_assert_cmpint (lares_test_db_count (d->data_dir, "facts"), ==, 0);
  g_assert_cmpuint (lares_fake_llm_n_requests (fake), ==, 1);
  status = db_string (d->data_dir, "SELECT status || '/' || error_code FROM turns");
  g_assert_cmpstr (status, ==, "error/invalid_tool_call");
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* A model without native tool calls writes the call as JSON. */
static void
test_tool_text_mode (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start (
      "json-text\ncall 0 time_now\nargs 0 {\"what\":\"time\"}\n---\ntoken It's late.\n", NULL);
  const char *more[] = { "llm.tools=text", NULL };
  LaresTestDaemon *d = start_daemon (fake, NULL, more);
  g_autoptr (GPtrArray) events = chat_sse (d, 0, "how late is it");
  g_autoptr (GPtrArray) reqs = lares_fake_llm_requests (fake);
  g_autofree char *text = tokens_of (events);
  JsonObject *body0 = json_object_get_object_member (json_node_get_object (reqs->pdata[0]), "body");

  /* The JSON never reaches the user; the tool ran; no native tools sent. */
  g_assert_cmpstr (text, ==, "It's late.");
  g_assert_nonnull (find_type (events, "tool_call", 1));
  g_assert_false (json_object_has_member (body0, "tools"));
  g_assert_nonnull (strstr (msg_content (request_messages (reqs, 0), 0), "- time_now: "));
  g_assert_cmpuint (reqs->len, ==, 2);
  g_assert_true (
      g_str_has_prefix (msg_content (request_messages (reqs, 1), 3), "Result of time.now"));
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* ---- cancel and failures -------------------------------------------------------------------- */

static void
test_cancel (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start (
      "delay 200\ntoken one\ntoken \\stwo\ntoken \\sthree\ntoken \\sfour\ntoken \\sfive\n", NULL);
  LaresTestDaemon *d = start_daemon (fake, NULL, NULL);
  WsClient *c = ws_client (d);
  JsonNode *end;
  g_autofree char *status = NULL;

  ws_send (c, "{\"type\":\"message\",\"text\":\"count slowly\"}");
  ws_wait_type (c, "token", 10000);
  ws_send (c, "{\"type\":\"cancel\"}");
  ws_wait_ends (c, 1, 10000);
  end = find_type (c->events, "turn_end", 0);
  g_assert_cmpstr (str (end, "status"), ==, "cancelled");
  g_assert_cmpuint (count_type (c->events, "token"), <, 5);
  g_assert_true (g_str_has_prefix (str (end, "reply"), "one"));
  /* The upstream request went away with it. */
  lares_fake_llm_wait_requests (fake, 1, 5000);
  status = db_string (d->data_dir, "SELECT status FROM turns");
  g_assert_cmpstr (status, ==, "cancelled");
  ws_client_free (c);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* A streaming client that goes away mid-answer cancels the turn, and the
 * stream's connection is let go (the I/O thread writes streams; the main
 * loop must still hear that the client left). */
static void
test_sse_client_gone (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start (
      "delay 200\ntoken one\ntoken \\stwo\ntoken \\sthree\ntoken \\sfour\ntoken \\sfive\n", NULL);
  LaresTestDaemon *d = start_daemon (fake, NULL, NULL);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *body = chat_body (0, "count slowly");
  g_autofree char *request = g_strdup_printf ("POST /api/v1/chat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                              "Authorization: Bearer %s\r\n"
                                              "Accept: text/event-stream\r\n"
                                              "Content-Type: application/json\r\n"
                                              "Content-Length: %zu\r\n\r\n%s",
                                              d->token, strlen (body), body);
  g_autoptr (GString) got = g_string_new (NULL);
  g_autofree char *status = NULL;
  int64_t deadline;
  char buf[4096];

  g_socket_client_set_enable_proxy (client, FALSE);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", d->port, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), request,
                             strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  /* The headers, then the first token. */
  while (strstr (got->str, "event: token") == NULL)
    {
      gssize n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf,
                                      sizeof buf, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (got, buf, n);
    }
  g_assert_true (g_str_has_prefix (got->str, "HTTP/1.1 200 OK\r\n"));
  g_assert_nonnull (strstr (got->str, "\r\nContent-Type: text/event-stream\r\n"));
  g_assert_nonnull (strstr (got->str, "\r\nX-Request-Id: "));
  g_assert_nonnull (strstr (got->str, "\r\n\r\n: ok\n\n"));
  g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);

  /* The turn ends as cancelled well before the answer would have. */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC * lares_test_time_scale ();
  while ((status = db_string (d->data_dir, "SELECT status FROM turns")) == NULL ||
         strcmp (status, "cancelled") != 0)
    {
      g_assert_true (g_strcmp0 (status, "done") != 0);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_clear_pointer (&status, g_free);
      lares_test_iterate (g_get_monotonic_time () + 20 * 1000);
    }
  {
    unsigned code;
    g_autoptr (GBytes) m = lares_test_http (d, "GET", "/metrics", NULL, NULL, 0, &code, NULL);
    g_autofree char *mtext = g_strndup (g_bytes_get_data (m, NULL), g_bytes_get_size (m));
    g_assert_nonnull (strstr (mtext, "lares_turns_running 0\n"));
  }
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

typedef struct
{
  const char *name;
  const char *script;
  const char *code;
  unsigned requests;
} FailureCase;

static void
test_failures (void)
{
  static const FailureCase cases[] = {
    { "500", "status 500\n", "llm_http_error", 1 },
    { "429", "status 429\nheader Retry-After 7\n", "llm_http_error", 1 },
    { "garbage", "token a\ngarbage\n", "llm_bad_response", 1 },
    { "cut", "token partial\ntoken \\sanswer\ntoken \\smore\ncut 2\n", "llm_truncated", 1 },
    { "hang", "hang\n", "llm_timeout", 2 },
  };
  /* Short for "hang", yet time enough for the daemon to read a first
   * token that comes at once. */
  g_autofree char *timeout =
      g_strdup_printf ("llm.first_token_timeout=%ums", 400 * lares_test_time_scale ());
  const char *more[] = { timeout, NULL };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start (cases[i].script, NULL);
      LaresTestDaemon *d = start_daemon (fake, NULL, more);
      g_autoptr (GPtrArray) events = chat_sse (d, 0, "write me a poem about the sea");
      JsonNode *err = find_type (events, "error", 0);
      JsonNode *end = events->pdata[events->len - 1];
      g_autofree char *row = NULL;

      g_test_message ("failure case %s", cases[i].name);
      g_assert_nonnull (err);
      g_assert_cmpstr (str (err, "code"), ==, cases[i].code);
      g_assert_cmpstr (str (end, "status"), ==, "error");
      g_assert_cmpstr (str (end, "path"), ==, "fallback");
      g_assert_cmpuint (strlen (str (end, "reply")), >, 0);
      lares_fake_llm_wait_requests (fake, cases[i].requests, 5000);
      g_assert_cmpuint (lares_fake_llm_n_requests (fake), ==, cases[i].requests);
      /* A consistent record: the turn ended, with the reply stored. */
      row = db_string (d->data_dir, "SELECT t.status || '/' || t.error_code || '/' || "
                                    "(SELECT count(*) FROM messages m WHERE m.turn_id = t.id) "
                                    "FROM turns t");
      {
        g_autofree char *want = g_strdup_printf ("error/%s/2", cases[i].code);
        g_assert_cmpstr (row, ==, want);
      }
      if (cases[i].requests == 2)
        {
          /* The retry after a timeout carried less context. */
          g_autoptr (GPtrArray) reqs = lares_fake_llm_requests (fake);
          g_assert_cmpuint (json_array_get_length (request_messages (reqs, 1)), <=,
                            json_array_get_length (request_messages (reqs, 0)));
        }
      g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
      lares_test_daemon_free (d, TRUE);
    }
}

/* An LLM that cannot be reached: the intent engine still answers what it
 * knows, and the rest gets a clear message. */
static void
test_llm_down (void)
{
  const char *more[] = { "llm.provider=openai", "llm.base_url=http://127.0.0.1:9/v1", "llm.model=x",
                         NULL };
  LaresTestDaemon *d = start_daemon (NULL, NULL, more);
  g_autoptr (JsonNode) t1 = chat (d, 0, "what time is it");
  g_autoptr (JsonNode) t2 = chat (d, 0, "tell me a story");

  g_assert_cmpstr (str (t1, "path"), ==, "intent");
  g_assert_cmpstr (str (t2, "path"), ==, "fallback");
  g_assert_cmpstr (str (t2, "error_code"), ==, "llm_unreachable");
  g_assert_nonnull (strstr (str (t2, "reply"), "can't use the language model"));
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* ---- budgets, context, persona -------------------------------------------------------------- */

static void
test_budget (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token fine\nusage 100 10\n", NULL);
  /* 1 USD per 1,000 tokens: the first turn costs 0.11 USD. */
  const char *more[] = { "llm.prices=fake=1000/1000", "budget.daily=0.10", NULL };
  LaresTestDaemon *d = start_daemon (fake, NULL, more);
  g_autoptr (JsonNode) t1 = chat (d, 0, "first question for the model");
  g_autoptr (JsonNode) t2 = chat (d, 0, "second question for the model");
  g_autoptr (JsonNode) costs = NULL;
  g_autoptr (GBytes) body = NULL;
  unsigned status;
  JsonObject *c;

  g_assert_cmpstr (str (t1, "path"), ==, "llm");
  g_assert_cmpstr (str (t2, "path"), ==, "budget");
  g_assert_nonnull (strstr (str (t2, "reply"), "budget"));
  g_assert_cmpuint (lares_fake_llm_n_requests (fake), ==, 1);

  body = lares_test_http (d, "GET", "/api/v1/costs?period=day", NULL, NULL, 0, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  costs = lares_test_json (body);
  c = json_node_get_object (costs);
  g_assert_cmpint (json_object_get_int_member (c, "llm_calls"), ==, 1);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (c, "cost_usd"), 0.11, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (c, "remaining_usd"), 0.0, 1e-9);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (c, "days")), ==, 1);
  g_assert_cmpuint (lares_test_status (d, "GET", "/api/v1/costs?period=year", NULL, NULL, 0), ==,
                    400);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* Short-term memory: the last N turns within the token budget. */
static void
test_context_trim (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token ok\n", NULL);
  const char *more[] = { "chat.history_turns=2", NULL };
  LaresTestDaemon *d = start_daemon (fake, NULL, more);
  g_autoptr (JsonNode) first = chat (d, 0, "message number one");
  int64_t conv = num (first, "conversation_id");
  g_autoptr (GPtrArray) reqs = NULL;
  JsonArray *last;

  for (int i = 2; i <= 4; i++)
    {
      g_autofree char *text = g_strdup_printf ("message number %d", i);
      g_autoptr (JsonNode) t = chat (d, conv, text);
      g_assert_cmpint (num (t, "conversation_id"), ==, conv);
    }
  reqs = lares_fake_llm_requests (fake);
  g_assert_cmpuint (reqs->len, ==, 4);
  last = request_messages (reqs, 3);
  /* system, (user, assistant) x 2, user */
  g_assert_cmpuint (json_array_get_length (last), ==, 6);
  g_assert_cmpstr (msg_content (last, 1), ==, "message number 2");
  g_assert_cmpstr (msg_content (last, 2), ==, "ok");
  g_assert_cmpstr (msg_content (last, 5), ==, "message number 4");
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);

  /* A token budget smaller than one turn leaves the history out. */
  {
    g_autoptr (LaresFakeLlm) fake2 = lares_fake_llm_start ("token ok\n", NULL);
    const char *tight[] = { "chat.history_tokens=5", NULL };
    LaresTestDaemon *d2 = start_daemon (fake2, NULL, tight);
    g_autoptr (JsonNode) a = chat (d2, 0, "a long enough first message to cost tokens");
    g_autoptr (JsonNode) b = chat (d2, num (a, "conversation_id"), "second");
    g_autoptr (GPtrArray) r2 = lares_fake_llm_requests (fake2);
    g_assert_cmpint (num (b, "conversation_id"), ==, num (a, "conversation_id"));
    g_assert_cmpuint (json_array_get_length (request_messages (r2, 1)), ==, 2);
    g_assert_cmpint (lares_test_daemon_stop (d2, SIGTERM), ==, 0);
    lares_test_daemon_free (d2, TRUE);
  }
}

static void
test_modes_and_history (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token fine\n", NULL);
  LaresTestDaemon *d = start_daemon (fake, NULL, NULL);
  g_autoptr (JsonNode) m1 = chat (d, 0, "/mode playful");
  g_autoptr (JsonNode) m2 = chat (d, 0, "/mode sulky");
  g_autoptr (JsonNode) t = chat (d, 0, "how are you today?");
  g_autoptr (GPtrArray) reqs = lares_fake_llm_requests (fake);
  g_autoptr (JsonNode) summary = NULL;
  g_autoptr (JsonNode) cleared = NULL;
  g_autoptr (GBytes) body = NULL;
  unsigned status;

  g_assert_cmpstr (str (m1, "path"), ==, "command");
  g_assert_cmpstr (str (m1, "reply"), ==, "Switched to playful mode.");
  g_assert_nonnull (strstr (str (m2, "reply"), "no mode 'sulky'"));
  g_assert_cmpuint (reqs->len, ==, 1);
  g_assert_nonnull (strstr (msg_content (request_messages (reqs, 0), 0), "Mode playful: "));
  g_assert_cmpstr (str (t, "path"), ==, "llm");

  body = lares_test_http (d, "GET", "/api/v1/history/summary", NULL, NULL, 0, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  summary = lares_test_json (body);
  g_assert_cmpint (num (summary, "conversations"), ==, 3);
  g_assert_cmpint (num (summary, "turns"), ==, 3);
  g_clear_pointer (&body, g_bytes_unref);
  body = lares_test_http (d, "POST", "/api/v1/history/clear", NULL, NULL, 0, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  cleared = lares_test_json (body);
  g_assert_cmpint (num (cleared, "deleted_conversations"), ==, 3);
  g_assert_cmpint (lares_test_db_count (d->data_dir, "messages"), ==, 0);
  /* Spend is not history. */
  g_assert_cmpint (lares_test_db_count (d->data_dir, "llm_calls"), ==, 1);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* ---- the OpenAI façade and Ollama ----------------------------------------------------------- */

static void
test_openai_facade (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token Hi\ntoken \\sfrom lares\n", NULL);
  LaresTestDaemon *d = start_daemon (fake, NULL, NULL);
  static const char req1[] =
      "{\"model\":\"lares\",\"user\":\"editor\",\"messages\":[{\"role\":\"system\",\"content\":"
      "\"ignored\"},{\"role\":\"user\",\"content\":\"hello there\"}]}";
  static const char req2[] =
      "{\"model\":\"lares\",\"user\":\"editor\",\"stream\":true,\"stream_options\":"
      "{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
      "\"text\":\"and again\"}]}]}";
  unsigned status;
  g_autoptr (GBytes) b1 = lares_test_http (d, "POST", "/v1/chat/completions", "application/json",
                                           req1, strlen (req1), &status, NULL);
  g_autoptr (JsonNode) r1 = NULL;
  g_autoptr (GBytes) b2 = NULL;
  g_autoptr (GBytes) models = NULL;
  g_autoptr (GPtrArray) reqs = NULL;
  g_autofree char *s2 = NULL;
  JsonObject *choice;

  g_assert_cmpuint (status, ==, 200);
  r1 = lares_test_json (b1);
  g_assert_cmpstr (str (r1, "object"), ==, "chat.completion");
  choice = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (r1), "choices"), 0);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (choice, "message"), "content"),
      ==, "Hi from lares");

  b2 = lares_test_http (d, "POST", "/v1/chat/completions", "application/json", req2, strlen (req2),
                        &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  s2 = g_strndup (g_bytes_get_data (b2, NULL), g_bytes_get_size (b2));
  g_assert_true (g_str_has_prefix (s2, "data: {\"id\":\"chatcmpl-lares-"));
  g_assert_nonnull (strstr (s2, "\"delta\":{\"content\":\"Hi\"}"));
  g_assert_nonnull (strstr (s2, "\"finish_reason\":\"stop\""));
  g_assert_nonnull (strstr (s2, "\"choices\":[],\"usage\":{"));
  g_assert_true (g_str_has_suffix (s2, "data: [DONE]\n\n"));
  {
    /* Each token's chunk whole: the common head, the delta, the tail. */
    g_autofree char *head = g_strndup (s2, (size_t)(strstr (s2, ",\"choices\":") - s2));
    g_autofree char *tok1 =
        g_strconcat ("\n\n", head,
                     ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"logprobs\":null,"
                     "\"finish_reason\":null}]}\n\n",
                     NULL);
    g_autofree char *tok2 = g_strconcat (
        "\n\n", head,
        ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" from lares\"},\"logprobs\":null,"
        "\"finish_reason\":null}]}\n\n",
        NULL);
    g_autofree char *stop =
        g_strconcat ("\n\n", head,
                     ",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,"
                     "\"finish_reason\":\"stop\"}]}\n\n",
                     NULL);

    g_assert_nonnull (strstr (s2, tok1));
    g_assert_nonnull (strstr (strstr (s2, tok1), tok2));
    g_assert_nonnull (strstr (strstr (s2, tok2), stop));
  }

  /* The same "user" continues the same conversation. */
  reqs = lares_fake_llm_requests (fake);
  g_assert_cmpuint (reqs->len, ==, 2);
  g_assert_cmpuint (json_array_get_length (request_messages (reqs, 1)), ==, 4);
  g_assert_cmpstr (msg_content (request_messages (reqs, 1), 1), ==, "hello there");
  g_assert_cmpstr (msg_content (request_messages (reqs, 1), 3), ==, "and again");

  models = lares_test_http (d, "GET", "/v1/models", NULL, NULL, 0, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (strstr (g_bytes_get_data (models, NULL), "\"id\":\"lares\""));
  g_assert_cmpuint (lares_test_status (d, "POST", "/v1/chat/completions", "application/json",
                                       "{\"messages\":[]}", 15),
                    ==, 400);
  {
    const char *noauth[] = { NULL };
    g_autoptr (GBytes) b3 =
        lares_test_http_as (d, noauth, "POST", "/v1/chat/completions", "application/json", req1,
                            strlen (req1), &status, NULL);
    g_assert_cmpuint (status, ==, 401);
    lares_test_assert_error (b3, "unauthorized");
  }
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

static void
test_ollama (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start (
      "call 0 time_now\nargs 0 {\"what\":\"date\"}\n---\ntoken Today.\n", NULL);
  LaresTestDaemon *d = start_daemon (fake, "ollama", NULL);
  g_autoptr (JsonNode) t = chat (d, 0, "which day is it, roughly?");
  g_autoptr (GPtrArray) reqs = lares_fake_llm_requests (fake);
  JsonArray *second;
  JsonObject *tool;

  g_assert_cmpstr (str (t, "reply"), ==, "Today.");
  g_assert_cmpuint (reqs->len, ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (reqs->pdata[0]), "path"),
                   ==, "/api/chat");
  second = request_messages (reqs, 1);
  tool = json_array_get_object_element (second, 3);
  g_assert_cmpstr (json_object_get_string_member (tool, "role"), ==, "tool");
  g_assert_cmpstr (json_object_get_string_member (tool, "tool_name"), ==, "time_now");
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* SIGTERM during a streaming turn: the turn finishes, then the daemon exits. */
static void
test_sigterm_mid_turn (void)
{
  g_autoptr (LaresFakeLlm) fake =
      lares_fake_llm_start ("delay 100\ntoken a\ntoken b\ntoken c\ntoken d\n", NULL);
  LaresTestDaemon *d = start_daemon (fake, NULL, NULL);
  WsClient *c = ws_client (d);
  g_autofree char *row = NULL;

  ws_send (c, "{\"type\":\"message\",\"text\":\"stream four tokens\"}");
  ws_wait_type (c, "token", 10000);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  row = db_string (d->data_dir, "SELECT status || '/' || (SELECT content FROM messages WHERE "
                                "role = 'assistant') FROM turns");
  g_assert_cmpstr (row, ==, "done/abcd");
  ws_client_free (c);
  lares_test_daemon_free (d, TRUE);
}

/* The intent engine matches the names the user has: a task project known
 * from the store makes "add X to my P project" a task in P. */
static void
test_entities_from_store (void)
{
  LaresTestDaemon *d = start_daemon (NULL, NULL, NULL);
  static const char task[] = "{\"description\":\"buy flour\",\"project\":\"groceries\"}";
  g_autoptr (JsonNode) before = chat (d, 0, "add oat milk to my groceries project");
  g_autoptr (JsonNode) after = NULL;
  g_autofree char *row = NULL;

  /* Unknown project: nothing matches, no LLM: the honest fallback. */
  g_assert_cmpstr (str (before, "path"), ==, "fallback");
  g_assert_cmpuint (
      lares_test_status (d, "POST", "/api/v1/tasks", "application/json", task, strlen (task)), ==,
      201);
  after = chat (d, 0, "add oat milk to my groceries project");
  g_assert_cmpstr (str (after, "path"), ==, "intent");
  row = db_string (d->data_dir, "SELECT group_concat(description || '@' || project, ',') FROM "
                                "(SELECT description, project FROM tasks ORDER BY id)");
  g_assert_cmpstr (row, ==, "buy flour@groceries,oat milk@groceries");
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* Run the lares CLI against @d with @input on stdin; returns the status. */
static int
run_cli (LaresTestDaemon *d, const char *const *args, const char *input, const char *token,
         char **out, char **err)
{
  g_autoptr (GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                 G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;

  g_subprocess_launcher_setenv (launcher, "LARES_URL", d->base, TRUE);
  if (token)
    g_subprocess_launcher_setenv (launcher, "LARES_TOKEN", token, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "LARES_TOKEN");
  /* No token file either. */
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", d->data_dir, TRUE);
  g_ptr_array_add (argv, (gpointer)g_getenv ("LARES_BIN"));
  for (size_t i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer)args[i]);
  g_ptr_array_add (argv, NULL);
  p = g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, input, NULL, out, err, &error);
  g_assert_no_error (error);
  return g_subprocess_get_if_exited (p) ? g_subprocess_get_exit_status (p) : 128;
}

static void
test_cli_ask_chat (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token Forty\\stwo.\n", NULL);
  LaresTestDaemon *d = start_daemon (fake, NULL, NULL);
  const char *ask[] = { "ask", "what is the answer to everything", NULL };
  const char *ask_json[] = { "ask", "--json", "what is the answer to everything", NULL };
  const char *ask_stdin[] = { "ask", "-", NULL };
  const char *ask_none[] = { "ask", NULL };
  const char *chat_cmd[] = { "chat", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (JsonNode) json = NULL;

  /* The reply alone on stdout, so it can be piped. */
  g_assert_cmpint (run_cli (d, ask, NULL, d->token, &out, &err), ==, 0);
  g_assert_cmpstr (out, ==, "Forty two.\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_cli (d, ask_json, NULL, d->token, &out, &err), ==, 0);
  {
    g_autoptr (GBytes) bytes = g_bytes_new (out, strlen (out));
    json = lares_test_json (bytes);
  }
  g_assert_cmpstr (str (json, "reply"), ==, "Forty two.");
  g_assert_cmpstr (str (json, "path"), ==, "llm");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_cli (d, ask_stdin, "what time is it\n", d->token, &out, &err), ==, 0);
  g_assert_true (g_str_has_prefix (out, "It is "));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Usage and credential errors: 2 and 1, with a reason on stderr. */
  g_assert_cmpint (run_cli (d, ask_none, NULL, d->token, &out, &err), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (d, ask, NULL, NULL, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "token"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (
      run_cli (d, ask, NULL, "lrs_not_a_real_token_at_all_000000000000000", &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "401"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Interactive chat read from a pipe: two turns in one conversation, then
   * a new one. */
  g_assert_cmpint (run_cli (d, chat_cmd, "hello\nand again\n/new\nthird\n", d->token, &out, &err),
                   ==, 0);
  g_assert_nonnull (strstr (out, "Forty two."));
  g_assert_nonnull (strstr (out, "(a new conversation)"));
  {
    g_autofree char *convs = db_string (
        d->data_dir, "SELECT group_concat(n, ',') FROM (SELECT count(*) AS n FROM turns WHERE "
                     "channel = 'rest' GROUP BY conversation_id ORDER BY conversation_id)");
    /* ask x3 (one each), chat: 2 then 1 */
    g_assert_cmpstr (convs, ==, "1,1,1,2,1");
  }
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/chat/no-llm", test_no_llm);
  g_test_add_func ("/chat/stream-sse", test_stream_sse);
  g_test_add_func ("/chat/ws-broadcast", test_ws_broadcast);
  g_test_add_func ("/chat/tool/two-steps", test_tool_two_steps);
  g_test_add_func ("/chat/tool/parallel", test_tool_parallel);
  g_test_add_func ("/chat/tool/invalid-args", test_tool_invalid_args);
  g_test_add_func ("/chat/tool/text-mode", test_tool_text_mode);
  g_test_add_func ("/chat/cancel", test_cancel);
  g_test_add_func ("/chat/sse-client-gone", test_sse_client_gone);
  g_test_add_func ("/chat/failures", test_failures);
  g_test_add_func ("/chat/llm-down", test_llm_down);
  g_test_add_func ("/chat/budget", test_budget);
  g_test_add_func ("/chat/context-trim", test_context_trim);
  g_test_add_func ("/chat/modes-history", test_modes_and_history);
  g_test_add_func ("/chat/openai-facade", test_openai_facade);
  g_test_add_func ("/chat/ollama", test_ollama);
  g_test_add_func ("/chat/sigterm-mid-turn", test_sigterm_mid_turn);
  g_test_add_func ("/chat/cli", test_cli_ask_chat);
  g_test_add_func ("/chat/entities-from-store", test_entities_from_store);
  return g_test_run ();
}
