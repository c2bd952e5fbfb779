/* test-llm.c — LaresLlm against a real HTTP server on 127.0.0.1.
 *
 * An in-process SoupServer plays a script: a status, then chunks of bytes
 * each after a delay (the response is paused in between), then an end:
 * complete the body, hang, or cut the connection once the last chunk is on
 * the wire.  The client side records every callback.  Waits run the main
 * loop until a condition holds, bounded by a deadline; nothing sleeps.
 */
#include "config.h"

#include "lares-llm.h"

#include <libsoup/soup.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct
{
  unsigned delay_ms;
  const char *bytes; /* NUL-terminated */
} Step;

typedef enum
{
  END_COMPLETE,
  END_HANG, /* send nothing more, keep the connection open */
  END_CUT,  /* close the socket after the last chunk was written */
} EndMode;

typedef struct
{
  unsigned status;
  const char *content_type;
  const Step *steps;
  size_t n_steps;
  EndMode end;
} Script;

typedef struct Fx Fx;

typedef struct
{
  Fx *fx;
  SoupServerMessage *msg; /* (owned) */
  size_t step;
  unsigned source; /* pending step timer, 0 if none */
  GSource *watch;  /* sees the client close the connection (owned) */
  gboolean over;   /* finished or disconnected */
} Play;

struct Fx
{
  LaresLlmHttpClient http_client; /* the transport under test */
  SoupEncoding framing;           /* of the chat responses: chunked unless a test says */
  unsigned drop_next;             /* requests to drop unanswered (connection shut down) */
  GSocket *last_socket;           /* the connection of the last request (owned) */
  SoupServer *server;
  char *base; /* "http://127.0.0.1:PORT" */
  const Script *script;
  unsigned probe_status;
  GPtrArray *plays; /* Play* (owned) */
  /* what the server saw */
  unsigned requests;
  char *path;
  char *body;
  char *auth;
  char *accept;
  char *user_agent;
  char *content_type;
  gboolean accept_encoding; /* libsoup asks for compression; lares's transport does not */
  GArray *client_ports;     /* uint16_t, one per request */
  unsigned disconnects;     /* SoupServerMessage::disconnected */
  unsigned closes;          /* connections the client closed, seen on the socket */
  unsigned finished;
  /* what the client saw */
  GPtrArray *pieces; /* char* on_text pieces */
  unsigned done_calls;
  gboolean done;
  GError *error;
  unsigned http_status;
  char *text;
  char *calls; /* "id name args;" per tool call */
  char *finish_reason;
  int64_t prompt_tokens, completion_tokens;
  gboolean finished_flag;
  uint64_t bytes_sent, bytes_received;
  int64_t first_token_us, total_us;
  GCancellable *cancel_on_piece; /* cancelled when the piece number below arrives */
  unsigned cancel_after;
};

/* ---- the server ---------------------------------------------------- */

static void
play_free (gpointer p)
{
  Play *play = p;

  g_clear_handle_id (&play->source, g_source_remove);
  if (play->watch != NULL)
    {
      g_source_destroy (play->watch);
      g_source_unref (play->watch);
    }
  g_signal_handlers_disconnect_by_data (play->msg, play);
  g_object_unref (play->msg);
  g_free (play);
}

static void play_next (Play *play);

static gboolean
step_cb (gpointer user_data)
{
  Play *play = user_data;
  const Step *step = &play->fx->script->steps[play->step];

  play->source = 0;
  play->step++;
  soup_message_body_append (soup_server_message_get_response_body (play->msg), SOUP_MEMORY_COPY,
                            step->bytes, strlen (step->bytes));
  soup_server_message_unpause (play->msg);
  play_next (play);
  return G_SOURCE_REMOVE;
}

static void
play_next (Play *play)
{
  const Script *script = play->fx->script;

  if (play->over)
    return;
  if (play->step < script->n_steps)
    {
      play->source = g_timeout_add (script->steps[play->step].delay_ms, step_cb, play);
      return;
    }
  if (script->end == END_COMPLETE)
    {
      soup_message_body_complete (soup_server_message_get_response_body (play->msg));
      soup_server_message_unpause (play->msg);
    }
  /* END_CUT happens in on_wrote_chunk; END_HANG does nothing. */
}

static void
on_wrote_chunk (SoupServerMessage *msg, gpointer user_data)
{
  Play *play = user_data;

  if (play->fx->script->end == END_CUT && play->step == play->fx->script->n_steps && !play->over)
    g_socket_shutdown (soup_server_message_get_socket (msg), TRUE, TRUE, NULL);
}

static void
on_disconnected (SoupServerMessage *msg, gpointer user_data)
{
  Play *play = user_data;

  play->over = TRUE;
  g_clear_handle_id (&play->source, g_source_remove);
  play->fx->disconnects++;
}

static void
on_finished (SoupServerMessage *msg, gpointer user_data)
{
  Play *play = user_data;

  play->over = TRUE;
  g_clear_handle_id (&play->source, g_source_remove);
  play->fx->finished++;
}

/* A paused response does not read its socket, so SoupServer would only
 * notice a closed connection at its next write: look at the socket. */
static gboolean
socket_readable_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Play *play = user_data;
  char c;
  ssize_t n = recv (g_socket_get_fd (socket), &c, 1, MSG_PEEK | MSG_DONTWAIT);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  /* n > 0: the next request on a kept-alive connection, not a close. */
  if (n <= 0)
    play->fx->closes++;
  g_clear_pointer (&play->watch, g_source_unref);
  return G_SOURCE_REMOVE;
}

static size_t
script_bytes (const Script *script)
{
  size_t n = 0;

  for (size_t i = 0; i < script->n_steps; i++)
    n += strlen (script->steps[i].bytes);
  return n;
}

static void
server_cb (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
           gpointer user_data)
{
  Fx *fx = user_data;
  SoupMessageHeaders *req_headers = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *resp_headers = soup_server_message_get_response_headers (msg);
  SoupMessageBody *req_body = soup_server_message_get_request_body (msg);
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  uint16_t port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote));
  Play *play;

  fx->requests++;
  g_array_append_val (fx->client_ports, port);
  g_free (fx->path);
  fx->path = g_strdup (path);
  g_free (fx->auth);
  fx->auth = g_strdup (soup_message_headers_get_one (req_headers, "Authorization"));
  g_free (fx->accept);
  fx->accept = g_strdup (soup_message_headers_get_one (req_headers, "Accept"));
  g_free (fx->user_agent);
  fx->user_agent = g_strdup (soup_message_headers_get_one (req_headers, "User-Agent"));
  g_free (fx->content_type);
  fx->content_type = g_strdup (soup_message_headers_get_one (req_headers, "Content-Type"));
  fx->accept_encoding = soup_message_headers_get_one (req_headers, "Accept-Encoding") != NULL;
  g_free (fx->body);
  fx->body = g_strndup (req_body->data, (size_t)req_body->length);

  if (strcmp (path, "/v1/models") == 0 || strcmp (path, "/api/tags") == 0)
    {
      soup_server_message_set_status (msg, fx->probe_status, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, "{}", 2);
      return;
    }
  if (strcmp (path, "/v1/chat/completions") != 0 && strcmp (path, "/api/chat") != 0)
    {
      soup_server_message_set_status (msg, 404, NULL);
      return;
    }

  g_clear_object (&fx->last_socket);
  fx->last_socket = g_object_ref (soup_server_message_get_socket (msg));
  if (fx->drop_next > 0)
    {
      /* Never answered: the connection goes away with the request unread. */
      fx->drop_next--;
      soup_server_message_set_status (msg, 500, NULL);
      g_socket_shutdown (fx->last_socket, TRUE, TRUE, NULL);
      return;
    }
  soup_server_message_set_status (msg, fx->script->status, NULL);
  soup_message_headers_set_encoding (resp_headers, fx->framing);
  if (fx->framing == SOUP_ENCODING_CONTENT_LENGTH)
    soup_message_headers_set_content_length (resp_headers, (goffset)script_bytes (fx->script));
  soup_message_headers_replace (resp_headers, "Content-Type", fx->script->content_type);
  play = g_new0 (Play, 1);
  play->fx = fx;
  play->msg = g_object_ref (msg);
  g_ptr_array_add (fx->plays, play);
  g_signal_connect (msg, "wrote-chunk", G_CALLBACK (on_wrote_chunk), play);
  g_signal_connect (msg, "disconnected", G_CALLBACK (on_disconnected), play);
  g_signal_connect (msg, "finished", G_CALLBACK (on_finished), play);
  play->watch = g_socket_create_source (soup_server_message_get_socket (msg),
                                        G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (play->watch, G_SOURCE_FUNC (socket_readable_cb), play, NULL);
  g_source_attach (play->watch, NULL);
  soup_server_message_pause (msg);
  play_next (play);
}

static void
fx_setup (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  GSList *uris;

  memset (fx, 0, sizeof *fx);
  fx->http_client = GPOINTER_TO_INT (data);
  fx->framing = SOUP_ENCODING_CHUNKED;
  fx->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (fx->server, NULL, server_cb, fx, NULL);
  g_assert_true (soup_server_listen_local (fx->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (fx->server);
  fx->base = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);
  fx->plays = g_ptr_array_new_with_free_func (play_free);
  fx->client_ports = g_array_new (FALSE, FALSE, sizeof (uint16_t));
  fx->pieces = g_ptr_array_new_with_free_func (g_free);
  fx->probe_status = 200;
  fx->prompt_tokens = fx->completion_tokens = -2;
}

static void
fx_teardown (Fx *fx, gconstpointer data)
{
  g_ptr_array_unref (fx->plays);
  g_clear_object (&fx->last_socket);
  soup_server_disconnect (fx->server);
  g_object_unref (fx->server);
  /* Let the closed connections' sources run down. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_free (fx->base);
  g_free (fx->path);
  g_free (fx->body);
  g_free (fx->auth);
  g_free (fx->accept);
  g_free (fx->user_agent);
  g_free (fx->content_type);
  g_array_unref (fx->client_ports);
  g_ptr_array_unref (fx->pieces);
  g_clear_error (&fx->error);
  g_free (fx->text);
  g_free (fx->calls);
  g_free (fx->finish_reason);
  g_clear_object (&fx->cancel_on_piece);
}

/* ---- the client ---------------------------------------------------- */

static void
on_text (const char *text, size_t len, gpointer user_data)
{
  Fx *fx = user_data;

  g_assert_false (fx->done);
  g_assert_true (g_utf8_validate_len (text, len, NULL));
  g_ptr_array_add (fx->pieces, g_strndup (text, len));
  if (fx->cancel_on_piece != NULL && fx->pieces->len == fx->cancel_after)
    g_cancellable_cancel (fx->cancel_on_piece);
}

static void
on_done (const LaresLlmResult *result, const GError *error, gpointer user_data)
{
  Fx *fx = user_data;
  GString *calls = g_string_new (NULL);

  fx->done_calls++;
  fx->done = TRUE;
  g_clear_error (&fx->error);
  fx->error = error != NULL ? g_error_copy (error) : NULL;
  fx->http_status = result->http_status;
  g_free (fx->text);
  fx->text = g_strdup (result->text->str);
  for (unsigned i = 0; i < result->tool_calls->len; i++)
    {
      LaresLlmToolCall *c = g_ptr_array_index (result->tool_calls, i);
      g_string_append_printf (calls, "%s %s %s;", c->id, c->name, c->arguments);
    }
  g_free (fx->calls);
  fx->calls = g_string_free (calls, FALSE);
  g_free (fx->finish_reason);
  fx->finish_reason = g_strdup (result->finish_reason);
  fx->prompt_tokens = result->prompt_tokens;
  fx->completion_tokens = result->completion_tokens;
  fx->finished_flag = result->finished;
  fx->bytes_sent = result->bytes_sent;
  fx->bytes_received = result->bytes_received;
  fx->first_token_us = result->first_token_us;
  fx->total_us = result->total_us;
}

static const LaresLlmCallbacks callbacks = { on_text, on_done };

static gboolean
deadline_cb (gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Run the main loop until *@counter reaches @want; fail after @ms. */
static void
wait_for (unsigned *counter, unsigned want, unsigned ms)
{
  gboolean expired = FALSE;
  unsigned id = g_timeout_add (ms, deadline_cb, &expired);

  while (*counter < want && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
  g_assert_cmpuint (*counter, >=, want);
}

static LaresLlm *
make_llm (Fx *fx, LaresLlmProvider provider, uint64_t first_ms, uint64_t total_ms)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *base = g_strconcat (fx->base, provider == LARES_LLM_OPENAI ? "/v1/" : "", NULL);
  LaresLlmOptions options = {
    .provider = provider,
    .base_url = base,
    .model = "test-model",
    .api_key = "sk-test",
    .connect_timeout_ms = 2000,
    .first_token_timeout_ms = first_ms,
    .total_timeout_ms = total_ms,
    .max_concurrent = 4,
    .http_client = fx->http_client,
  };
  LaresLlm *llm = lares_llm_new (&options, &error);

  g_assert_no_error (error);
  return llm;
}

static JsonNode *
json (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  return node;
}

static JsonNode *
simple_messages (void)
{
  return json ("[{\"role\":\"system\",\"content\":\"be brief\"},"
               "{\"role\":\"user\",\"content\":\"hello\"}]");
}

/* Start a chat, run until on_done, and check it ran once. */
static void
chat (Fx *fx, LaresLlm *llm, JsonNode *tools, GCancellable *cancellable)
{
  g_autoptr (JsonNode) messages = simple_messages ();

  lares_llm_chat (llm, messages, tools, cancellable, &callbacks, fx);
  g_assert_false (fx->done); /* never called back from inside lares_llm_chat */
  wait_for (&fx->done_calls, 1, 10000);
  g_assert_cmpuint (fx->done_calls, ==, 1);
}

static char *
joined_pieces (Fx *fx)
{
  GString *out = g_string_new (NULL);

  for (unsigned i = 0; i < fx->pieces->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, '|');
      g_string_append (out, g_ptr_array_index (fx->pieces, i));
    }
  return g_string_free (out, FALSE);
}

#define TOKEN(t)                                                                                   \
  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" t "\"},\"finish_reason\":null}],"   \
  "\"usage\":null}\n\n"

static const Step text_steps[] = {
  { 0, ": ok\n\n" },
  { 20, TOKEN ("Hel") },
  { 20, TOKEN ("lo") TOKEN (",") }, /* two events in one chunk */
  { 20, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" wor" },
  { 20, "ld\"},\"finish_reason\":null}],\"usage\":null}\n" }, /* an event split */
  { 20, "\ndata: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\r\n\r\n" },
  { 0, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":4}}\n\n" },
  { 0, "data: [DONE]\n\n" },
};
static const Script text_script = { 200, "text/event-stream", text_steps, G_N_ELEMENTS (text_steps),
                                    END_COMPLETE };

static void
test_stream_text (Fx *fx, gconstpointer data)
{
  g_autoptr (LaresLlm) llm = make_llm (fx, LARES_LLM_OPENAI, 2000, 5000);
  g_autofree char *pieces = NULL;
  g_autofree char *expected_body = NULL;
  g_autoptr (JsonNode) messages = simple_messages ();
  size_t body_len = 0;

  fx->script = &text_script;
  chat (fx, llm, NULL, NULL);
  g_assert_no_error (fx->error);
  pieces = joined_pieces (fx);
  g_assert_cmpstr (pieces, ==, "Hel|lo|,| world");
  g_assert_cmpstr (fx->text, ==, "Hello, world");
  g_assert_cmpstr (fx->finish_reason, ==, "stop");
  g_assert_true (fx->finished_flag);
  g_assert_cmpint (fx->prompt_tokens, ==, 12);
  g_assert_cmpint (fx->completion_tokens, ==, 4);
  g_assert_cmpuint (fx->http_status, ==, 200);
  g_assert_cmpstr (fx->calls, ==, "");

  /* What went over the wire. */
  g_assert_cmpstr (fx->path, ==, "/v1/chat/completions");
  g_assert_cmpstr (fx->auth, ==, "Bearer sk-test");
  g_assert_cmpstr (fx->accept, ==, "text/event-stream");
  g_assert_cmpstr (fx->user_agent, ==, "lares/" LARES_VERSION);
  g_assert_cmpstr (fx->content_type, ==, "application/json");
  /* The transport under test carried it. */
  g_assert_true (fx->accept_encoding == (fx->http_client == LARES_LLM_HTTP_LIBSOUP));
  expected_body = lares_llm_build_request (llm, messages, NULL, &body_len);
  g_assert_cmpstr (fx->body, ==, expected_body);
  g_assert_cmpuint (fx->bytes_sent, ==, body_len);
  g_assert_cmpuint (fx->bytes_received, ==, script_bytes (&text_script));
  /* The first token came after the 20 ms pause, and before the end. */
  g_assert_cmpint (fx->first_token_us, >=, 15000);
  g_assert_cmpint (fx->first_token_us, <, fx->total_us);
  g_assert_cmpint (fx->total_us, >=, 90000);
}

/* The headers come late: a connect timeout shorter than that must not
 * fire once the connection is up. */
static const Step late_headers_steps[] = {
  { 150, TOKEN ("late") },
  { 0, "data: [DONE]\n\n" },
};
static const Script late_headers_script = { 200, "text/event-stream", late_headers_steps,
                                            G_N_ELEMENTS (late_headers_steps), END_COMPLETE };

/* Read to the end, a connection goes back to the pool: the second request
 * reuses it (no network events then; writing the request counts as
 * connected). */
static void
test_connection_reuse (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *base = g_strconcat (fx->base, "/v1", NULL);
  LaresLlmOptions options = {
    .provider = LARES_LLM_OPENAI,
    .base_url = base,
    .model = "m",
    .connect_timeout_ms = 50,
    .first_token_timeout_ms = 3000,
    .total_timeout_ms = 5000,
    .max_concurrent = 1,
    .http_client = fx->http_client,
  };
  g_autoptr (LaresLlm) llm = lares_llm_new (&options, &error);

  g_assert_no_error (error);
  fx->script = &late_headers_script;
  chat (fx, llm, NULL, NULL);
  g_assert_no_error (fx->error);
  g_assert_cmpstr (fx->text, ==, "late");
  g_assert_null (fx->auth); /* no key, no header */
  fx->done_calls = 0;
  fx->done = FALSE;
  chat (fx, llm, NULL, NULL);
  g_assert_no_error (fx->error);
  g_assert_cmpstr (fx->text, ==, "late");
  g_assert_cmpuint (fx->client_ports->len, ==, 2);
  g_assert_cmpuint (g_array_index (fx->client_ports, uint16_t, 0), ==,
                    g_array_index (fx->client_ports, uint16_t, 1));
}

#define P "\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\""
#define ARGS(frag)                                                                                 \
  "data: {" P ",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"   \
  "{\"arguments\":\"" frag "\"}}]},\"finish_reason\":null}],\"usage\":null}\n\n"

static const Step tool_steps[] = {
  { 10, "data: {" P ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,"
        "\"tool_calls\":[{\"index\":0,\"id\":\"call_c91SqDXlYFuETYv8mUHzz6pp\",\"type\":"
        "\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}],"
        "\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n" },
  { 10, ARGS ("{\\\"") ARGS ("city") },
  { 10, ARGS ("\\\":\\\"") ARGS ("Edinburgh") ARGS ("\\\",\\\"") },
  { 10, ARGS ("country") ARGS ("\\\":\\\"") ARGS ("UK") ARGS ("\\\",\\\"") ARGS ("units") },
  { 10, ARGS ("\\\":\\\"") ARGS ("c") ARGS ("\\\"}") },
  { 10, "data: {" P ",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],"
        "\"usage\":null}\n\n"
        "data: {" P ",\"choices\":[],\"usage\":{\"prompt_tokens\":76,\"completion_tokens\":24,"
        "\"total_tokens\":100}}\n\n"
        "data: [DONE]\n\n" },
};
static const Script tool_script = { 200, "text/event-stream", tool_steps, G_N_ELEMENTS (tool_steps),
                                    END_COMPLETE };

static const char weather_tools[] =
    "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
    "\"required\":[\"city\"]}}}]";

static void
test_stream_tool_call (Fx *fx, gconstpointer data)
{
  g_autoptr (LaresLlm) llm = make_llm (fx, LARES_LLM_OPENAI, 2000, 5000);
  g_autoptr (JsonNode) tools = json (weather_tools);
  g_autoptr (JsonNode) sent = NULL;
  JsonObject *obj;

  fx->script = &tool_script;
  chat (fx, llm, tools, NULL);
  g_assert_no_error (fx->error);
  g_assert_cmpuint (fx->pieces->len, ==, 0);
  g_assert_cmpstr (fx->calls, ==,
                   "call_c91SqDXlYFuETYv8mUHzz6pp get_weather "
                   "{\"city\":\"Edinburgh\",\"country\":\"UK\",\"units\":\"c\"};");
  g_assert_cmpstr (fx->finish_reason, ==, "tool_calls");
  g_assert_cmpint (fx->prompt_tokens, ==, 76);
  g_assert_cmpint (fx->completion_tokens, ==, 24);
  /* A tool-call piece is a first token too. */
  g_assert_cmpint (fx->first_token_us, >=, 5000);

  sent = json (fx->body);
  obj = json_node_get_object (sent);
  g_assert_cmpstr (json_object_get_string_member (obj, "model"), ==, "test-model");
  g_assert_true (json_object_get_boolean_member (obj, "stream"));
  g_assert_true (json_object_get_boolean_member (
      json_object_get_object_member (obj, "stream_options"), "include_usage"));
  g_assert_cmpstr (json_object_get_string_member (obj, "tool_choice"), ==, "auto");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj, "tools")), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj, "messages")), ==, 2);
}

static const Step ollama_steps[] = {
  { 10, "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.385406455-07:00\","
        "\"message\":{\"role\":\"assistant\",\"content\":\"The\",\"images\":null},"
        "\"done\":false}\n{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\","
        "\"content\":\" sky\"},\"done\":false}\n" },
  { 10, "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"\","
        "\"tool_calls\":[{\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":"
        "\"Tokyo\"}}}]},\"done\":false}\n" },
  { 10, "{\"model\":\"llama3.2\",\"created_at\":\"2025-07-07T20:22:19.19314Z\",\"message\":"
        "{\"role\":\"assistant\",\"content\":\"\"},\"done_reason\":\"stop\",\"done\":true,"
        "\"total_duration\":182242375,\"load_duration\":41295167,\"prompt_eval_count\":169,"
        "\"prompt_eval_duration\":24573166,\"eval_count\":15,\"eval_duration\":115959084}" },
};
static const Script ollama_script = { 200, "application/x-ndjson", ollama_steps,
                                      G_N_ELEMENTS (ollama_steps), END_COMPLETE };

static void
test_ollama (Fx *fx, gconstpointer data)
{
  g_autoptr (LaresLlm) llm = make_llm (fx, LARES_LLM_OLLAMA, 2000, 5000);
  g_autoptr (JsonNode) tools = json (weather_tools);
  g_autoptr (JsonNode) sent = NULL;
  g_autofree char *pieces = NULL;
  JsonObject *obj;

  fx->script = &ollama_script;
  chat (fx, llm, tools, NULL);
  g_assert_no_error (fx->error);
  pieces = joined_pieces (fx);
  g_assert_cmpstr (pieces, ==, "The| sky");
  g_assert_cmpstr (fx->calls, ==, "call_0 get_weather {\"city\":\"Tokyo\"};");
  g_assert_cmpstr (fx->finish_reason, ==, "tool_calls");
  g_assert_true (fx->finished_flag);
  g_assert_cmpint (fx->prompt_tokens, ==, 169);
  g_assert_cmpint (fx->completion_tokens, ==, 15);
  g_assert_cmpstr (fx->path, ==, "/api/chat");
  g_assert_cmpstr (fx->accept, ==, "application/x-ndjson");

  sent = json (fx->body);
  obj = json_node_get_object (sent);
  g_assert_cmpstr (json_object_get_string_member (obj, "model"), ==, "test-model");
  g_assert_true (json_object_get_boolean_member (obj, "stream"));
  g_assert_false (json_object_has_member (obj, "stream_options"));
  g_assert_false (json_object_has_member (obj, "tool_choice"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj, "tools")), ==, 1);
}

/* The Ollama adapter's translation of OpenAI-form tool messages. */
static void
test_request_bodies (Fx *fx, gconstpointer data)
{
  g_autoptr (LaresLlm) openai = make_llm (fx, LARES_LLM_OPENAI, 1000, 1000);
  g_autoptr (LaresLlm) ollama = make_llm (fx, LARES_LLM_OLLAMA, 1000, 1000);
  g_autoptr (JsonNode) messages =
      json ("[{\"role\":\"system\",\"content\":\"s\"},"
            "{\"role\":\"user\",\"content\":\"weather in Oslo and the time?\"},"
            "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
            "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
            "\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}},"
            "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"time_now\","
            "\"arguments\":\"\"}}]},"
            "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":\"12:00\"},"
            "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"rain\"},"
            "{\"role\":\"assistant\",\"content\":\"Rain, and it is noon.\"}]");
  g_autoptr (JsonNode) empty_tools = json ("[]");
  g_autoptr (JsonNode) tools = json (weather_tools);
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;
  g_autoptr (JsonNode) parsed = NULL;
  g_autofree char *msgs = NULL;
  size_t len = 0;

  /* OpenAI: messages pass as they are; no tools, no tool_choice. */
  a = lares_llm_build_request (openai, messages, empty_tools, &len);
  g_assert_cmpuint (len, ==, strlen (a));
  msgs = json_to_string (messages, FALSE);
  {
    g_autofree char *want = g_strconcat (
        "{\"model\":\"test-model\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
        "\"messages\":",
        msgs, "}", NULL);
    g_assert_cmpstr (a, ==, want);
  }
  b = lares_llm_build_request (openai, messages, tools, NULL);
  g_assert_true (g_str_has_suffix (b, ",\"tool_choice\":\"auto\"}"));

  c = lares_llm_build_request (ollama, messages, NULL, NULL);
  parsed = json (c);
  {
    JsonObject *obj = json_node_get_object (parsed);
    JsonArray *m = json_object_get_array_member (obj, "messages");
    JsonObject *assistant = json_array_get_object_element (m, 2);
    JsonArray *calls = json_object_get_array_member (assistant, "tool_calls");
    JsonObject *fn0 =
        json_object_get_object_member (json_array_get_object_element (calls, 0), "function");
    JsonObject *fn1 =
        json_object_get_object_member (json_array_get_object_element (calls, 1), "function");
    JsonObject *tool2 = json_array_get_object_element (m, 3);
    JsonObject *tool1 = json_array_get_object_element (m, 4);

    g_assert_false (json_object_has_member (obj, "tools"));
    g_assert_false (json_object_has_member (obj, "stream_options"));
    g_assert_cmpuint (json_array_get_length (m), ==, 6);
    g_assert_cmpstr (json_object_get_string_member (assistant, "content"), ==, "");
    g_assert_cmpstr (json_object_get_string_member (fn0, "name"), ==, "get_weather");
    /* arguments: an object, not JSON text */
    g_assert_cmpstr (
        json_object_get_string_member (json_object_get_object_member (fn0, "arguments"), "city"),
        ==, "Oslo");
    g_assert_cmpuint (json_object_get_size (json_object_get_object_member (fn1, "arguments")), ==,
                      0);
    g_assert_cmpstr (json_object_get_string_member (tool2, "role"), ==, "tool");
    g_assert_cmpstr (json_object_get_string_member (tool2, "tool_name"), ==, "time_now");
    g_assert_cmpstr (json_object_get_string_member (tool2, "content"), ==, "12:00");
    g_assert_false (json_object_has_member (tool2, "tool_call_id"));
    g_assert_cmpstr (json_object_get_string_member (tool1, "tool_name"), ==, "get_weather");
    g_assert_cmpstr (
        json_object_get_string_member (json_array_get_object_element (m, 5), "content"), ==,
        "Rain, and it is noon.");
  }
}

static const Step e429_steps[] = {
  { 0, "{\"error\":{\"message\":\"Rate limit reached for requests\",\"type\":\"requests\","
       "\"param\":null,\"code\":\"rate_limit_exceeded\"}}" },
};
static const Script e429_script = { 429, "application/json", e429_steps, G_N_ELEMENTS (e429_steps),
                                    END_COMPLETE };
static const Step e500_steps[] = {
  { 0, "Internal\x01 server\r\nerror" },
};
static const Script e500_script = { 500, "text/plain", e500_steps, G_N_ELEMENTS (e500_steps),
                                    END_COMPLETE };
static const Script e503_script = { 503, "text/plain", NULL, 0, END_COMPLETE };
static const Step e500_json_steps[] = {
  { 0, "{\"error\":{\"code\":500,\"message\":\"the model crashed\",\"type\":\"server_error\"}}" },
};
static const Script e500_json_script = { 500, "application/json", e500_json_steps,
                                         G_N_ELEMENTS (e500_json_steps), END_COMPLETE };

static void
test_http_errors (Fx *fx, gconstpointer data)
{
  g_autoptr (LaresLlm) llm = make_llm (fx, LARES_LLM_OPENAI, 2000, 5000);

  fx->script = &e429_script;
  chat (fx, llm, NULL, NULL);
  g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_HTTP);
  g_assert_cmpstr (fx->error->message, ==,
                   "LLM server answered 429: Rate limit reached for requests");
  g_assert_cmpuint (fx->http_status, ==, 429);
  g_assert_cmpuint (fx->bytes_received, ==, script_bytes (&e429_script));

  fx->done_calls = 0;
  fx->done = FALSE;
  fx->script = &e500_script;
  chat (fx, llm, NULL, NULL);
  g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_HTTP);
  g_assert_cmpstr (fx->error->message, ==, "LLM server answered 500: Internal server error");
  g_assert_cmpuint (fx->http_status, ==, 500);

  fx->done_calls = 0;
  fx->done = FALSE;
  fx->script = &e503_script;
  chat (fx, llm, NULL, NULL);
  g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_HTTP);
  g_assert_cmpstr (fx->error->message, ==, "LLM server answered 503 Service Unavailable");
  g_assert_cmpuint (fx->http_status, ==, 503);

  fx->done_calls = 0;
  fx->done = FALSE;
  fx->script = &e500_json_script;
  chat (fx, llm, NULL, NULL);
  g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_HTTP);
  g_assert_cmpstr (fx->error->message, ==, "LLM server answered 500: the model crashed");
  g_assert_cmpuint (fx->http_status, ==, 500);
  /* Error bodies read to their end leave the connection fit for reuse. */
  g_assert_cmpuint (fx->client_ports->len, ==, 4);
  g_assert_cmpuint (g_array_index (fx->client_ports, uint16_t, 3), ==,
                    g_array_index (fx->client_ports, uint16_t, 0));
}

static const Step garbage_steps[] = { { 0, "data: {\"choices\": oops}\n\n" } };
static const Script garbage_script = { 200, "text/event-stream", garbage_steps,
                                       G_N_ELEMENTS (garbage_steps), END_COMPLETE };
static const Step html_steps[] = { { 0, "<html><body>It works!</body></html>\n" } };
static const Script html_script = { 200, "text/event-stream", html_steps, G_N_ELEMENTS (html_steps),
                                    END_COMPLETE };
static const Step in_stream_error_steps[] = {
  { 0, TOKEN ("a") "data: {\"error\":{\"code\":500,\"message\":\"the context is full\"}}\n\n" },
};
static const Script in_stream_error_script = { 200, "text/event-stream", in_stream_error_steps,
                                               G_N_ELEMENTS (in_stream_error_steps), END_COMPLETE };

static void
test_garbage (Fx *fx, gconstpointer data)
{
  g_autoptr (LaresLlm) llm = make_llm (fx, LARES_LLM_OPENAI, 2000, 5000);

  fx->script = &garbage_script;
  chat (fx, llm, NULL, NULL);
  g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_PROTOCOL);
  g_assert_cmpuint (fx->http_status, ==, 200);

  fx->done_calls = 0;
  fx->done = FALSE;
  fx->script = &html_script;
  chat (fx, llm, NULL, NULL);
  g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_PROTOCOL);

  fx->done_calls = 0;
  fx->done = FALSE;
  fx->script = &in_stream_error_script;
  chat (fx, llm, NULL, NULL);
  g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_HTTP);
  g_assert_nonnull (strstr (fx->error->message, "the context is full"));
  g_assert_cmpstr (fx->text, ==, "a"); /* what arrived before */
}

static const Step cut_steps[] = {
  { 0, TOKEN ("one") },
  { 10, TOKEN ("two") },
};
static const Script cut_script = { 200, "text/event-stream", cut_steps, G_N_ELEMENTS (cut_steps),
                                   END_CUT };
static const Step cut_finished_steps[] = {
  { 0, TOKEN ("one") },
  { 10, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" },
};
static const Script cut_finished_script = { 200, "text/event-stream", cut_finished_steps,
                                            G_N_ELEMENTS (cut_finished_steps), END_CUT };
static const Script eof_script = { 200, "text/event-stream", cut_steps, G_N_ELEMENTS (cut_steps),
                                   END_COMPLETE };

static void
test_truncated (Fx *fx, gconstpointer data)
{
  g_autoptr (LaresLlm) llm = make_llm (fx, LARES_LLM_OPENAI, 2000, 5000);
  g_autofree char *pieces = NULL;

  /* The connection breaks mid-stream. */
  fx->script = &cut_script;
  chat (fx, llm, NULL, NULL);
  g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_TRUNCATED);
  pieces = joined_pieces (fx);
  g_assert_cmpstr (pieces, ==, "one|two");
  g_assert_cmpstr (fx->text, ==, "onetwo");

  /* A clean end of the body without [DONE] or a finish_reason. */
  fx->done_calls = 0;
  fx->done = FALSE;
  fx->script = &eof_script;
  chat (fx, llm, NULL, NULL);
  g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_TRUNCATED);

  /* Broken after the finish_reason: the answer is whole, usage missing. */
  fx->done_calls = 0;
  fx->done = FALSE;
  fx->script = &cut_finished_script;
  chat (fx, llm, NULL, NULL);
  g_assert_no_error (fx->error);
  g_assert_cmpstr (fx->finish_reason, ==, "stop");
  g_assert_false (fx->finished_flag);
  g_assert_cmpint (fx->prompt_tokens, ==, -1);
}

static const Step hang_steps[] = { { 0, ": ok\n\n" } };
static const Script hang_script = { 200, "text/event-stream", hang_steps, G_N_ELEMENTS (hang_steps),
                                    END_HANG };

static void
test_first_token_timeout (Fx *fx, gconstpointer data)
{
  g_autoptr (LaresLlm) llm = make_llm (fx, LARES_LLM_OPENAI, 150, 5000);

  fx->script = &hang_script;
  chat (fx, llm, NULL, NULL);
  g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (fx->error->message, "first-token"));
  g_assert_cmpuint (fx->http_status, ==, 200);
  g_assert_cmpint (fx->first_token_us, ==, -1);
  g_assert_cmpint (fx->total_us, >=, 150000);
  g_assert_cmpint (fx->total_us, <, 2000000);
  /* The upstream request was dropped. */
  wait_for (&fx->closes, 1, 5000);
}

static const Step slow_steps[] = {
  { 0, TOKEN ("a") },  { 50, TOKEN ("b") }, { 50, TOKEN ("c") }, { 50, TOKEN ("d") },
  { 50, TOKEN ("e") }, { 50, TOKEN ("f") }, { 50, TOKEN ("g") }, { 50, TOKEN ("h") },
  { 50, TOKEN ("i") }, { 50, TOKEN ("j") }, { 50, TOKEN ("k") }, { 50, TOKEN ("l") },
  { 50, TOKEN ("m") }, { 50, TOKEN ("n") }, { 50, TOKEN ("o") }, { 50, TOKEN ("p") },
  { 50, TOKEN ("q") }, { 50, TOKEN ("r") }, { 50, TOKEN ("s") }, { 50, "data: [DONE]\n\n" },
};
static const Script slow_script = { 200, "text/event-stream", slow_steps, G_N_ELEMENTS (slow_steps),
                                    END_COMPLETE };

static void
test_total_timeout (Fx *fx, gconstpointer data)
{
  g_autoptr (LaresLlm) llm = make_llm (fx, LARES_LLM_OPENAI, 0, 250);

  fx->script = &slow_script;
  chat (fx, llm, NULL, NULL);
  g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (fx->error->message, "total timeout"));
  g_assert_cmpuint (fx->pieces->len, >=, 1);
  g_assert_cmpuint (fx->pieces->len, <, 19);
  g_assert_cmpint (fx->total_us, >=, 250000);
  g_assert_cmpint (fx->total_us, <, 900000);
  wait_for (&fx->closes, 1, 5000);
}

static uint16_t
unused_port (void)
{
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  g_autoptr (GError) error = NULL;
  uint16_t port = g_socket_listener_add_any_inet_port (listener, NULL, &error);

  g_assert_no_error (error);
  g_socket_listener_close (listener);
  return port;
}

static void
test_connection_refused (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *base = g_strdup_printf ("http://127.0.0.1:%u/v1", unused_port ());
  LaresLlmOptions options = { .provider = LARES_LLM_OPENAI,
                              .base_url = base,
                              .model = "m",
                              .connect_timeout_ms = 2000,
                              .first_token_timeout_ms = 2000,
                              .total_timeout_ms = 5000,
                              .max_concurrent = 1,
                              .http_client = fx->http_client };
  g_autoptr (LaresLlm) llm = lares_llm_new (&options, &error);

  g_assert_no_error (error);
  chat (fx, llm, NULL, NULL);
  g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_CONNECT);
  g_assert_cmpuint (fx->http_status, ==, 0);
  g_assert_cmpuint (fx->bytes_received, ==, 0);
  g_assert_cmpint (fx->total_us, <, 2000000);
}

static const Step forever_steps[] = {
  { 0, ": ok\n\n" },   { 20, TOKEN ("a") }, { 20, TOKEN ("b") }, { 20, TOKEN ("c") },
  { 20, TOKEN ("d") }, { 20, TOKEN ("e") }, { 20, TOKEN ("f") }, { 20, TOKEN ("g") },
  { 20, TOKEN ("h") }, { 20, TOKEN ("i") }, { 20, TOKEN ("j") }, { 20, TOKEN ("k") },
  { 20, TOKEN ("l") }, { 20, TOKEN ("m") }, { 20, TOKEN ("n") }, { 20, TOKEN ("o") },
  { 20, TOKEN ("p") }, { 20, TOKEN ("q") }, { 20, TOKEN ("r") }, { 20, TOKEN ("s") },
  { 20, TOKEN ("t") }, { 20, TOKEN ("u") }, { 20, TOKEN ("v") }, { 20, TOKEN ("w") },
  { 20, TOKEN ("x") }, { 20, TOKEN ("y") }, { 20, TOKEN ("z") }, { 20, "data: [DONE]\n\n" },
};
static const Script forever_script = { 200, "text/event-stream", forever_steps,
                                       G_N_ELEMENTS (forever_steps), END_COMPLETE };

static void
test_cancel_mid_stream (Fx *fx, gconstpointer data)
{
  g_autoptr (LaresLlm) llm = make_llm (fx, LARES_LLM_OPENAI, 2000, 10000);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *pieces = NULL;

  fx->script = &forever_script;
  fx->cancel_on_piece = g_object_ref (cancellable);
  fx->cancel_after = 2;
  chat (fx, llm, NULL, cancellable);
  g_assert_error (fx->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* Nothing after the cancel, even from the same chunk. */
  pieces = joined_pieces (fx);
  g_assert_cmpstr (pieces, ==, "a|b");
  g_assert_cmpstr (fx->text, ==, "ab");
  /* The server sees the connection go away long before its script ends. */
  wait_for (&fx->closes, 1, 5000);
  g_assert_cmpuint (((Play *)g_ptr_array_index (fx->plays, 0))->step, <, 10);
  g_assert_cmpuint (fx->done_calls, ==, 1);
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static const Step late_steps[] = { { 3000, ": ok\n\n" } };
static const Script late_script = { 200, "text/event-stream", late_steps, G_N_ELEMENTS (late_steps),
                                    END_COMPLETE };

/* Cancelled while waiting for the headers, and cancelled before the start;
 * the LaresLlm is freed while the request runs. */
static void
test_cancel_early (Fx *fx, gconstpointer data)
{
  LaresLlm *llm = make_llm (fx, LARES_LLM_OPENAI, 5000, 10000);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GCancellable) already = g_cancellable_new ();
  g_autoptr (JsonNode) messages = simple_messages ();

  fx->script = &late_script;
  lares_llm_chat (llm, messages, NULL, cancellable, &callbacks, fx);
  lares_llm_free (llm);
  wait_for (&fx->requests, 1, 5000);
  g_idle_add (cancel_cb, cancellable);
  wait_for (&fx->done_calls, 1, 5000);
  g_assert_error (fx->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (fx->total_us, <, 2000000);
  wait_for (&fx->closes, 1, 5000);

  fx->done_calls = 0;
  fx->done = FALSE;
  llm = make_llm (fx, LARES_LLM_OPENAI, 5000, 10000);
  g_cancellable_cancel (already);
  lares_llm_chat (llm, messages, NULL, already, &callbacks, fx);
  g_assert_false (fx->done);
  wait_for (&fx->done_calls, 1, 5000);
  g_assert_error (fx->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  lares_llm_free (llm);
  g_assert_cmpuint (fx->done_calls, ==, 1);
}

static void
reset_client (Fx *fx)
{
  fx->done_calls = 0;
  fx->done = FALSE;
  g_ptr_array_set_size (fx->pieces, 0);
}

static uint16_t
port_of (Fx *fx, unsigned request)
{
  g_assert_cmpuint (request, <, fx->client_ports->len);
  return g_array_index (fx->client_ports, uint16_t, request);
}

static const Step quick_steps[] = { { 0, TOKEN ("hi") "data: [DONE]\n\n" } };
static const Script quick_script = { 200, "text/event-stream", quick_steps,
                                     G_N_ELEMENTS (quick_steps), END_COMPLETE };

/* The same stream in every framing a server may use: chunked, a
 * Content-Length, and until the connection closes.  A close-delimited
 * answer leaves nothing to reuse. */
static void
test_framings (Fx *fx, gconstpointer data)
{
  static const SoupEncoding framings[] = { SOUP_ENCODING_CHUNKED, SOUP_ENCODING_CONTENT_LENGTH,
                                           SOUP_ENCODING_EOF };
  g_autoptr (LaresLlm) llm = make_llm (fx, LARES_LLM_OPENAI, 2000, 5000);

  fx->script = &text_script;
  for (size_t i = 0; i < G_N_ELEMENTS (framings); i++)
    {
      unsigned first = fx->requests;

      g_test_message ("framing %d", framings[i]);
      fx->framing = framings[i];
      for (int round = 0; round < 2; round++)
        {
          g_autofree char *pieces = NULL;

          reset_client (fx);
          chat (fx, llm, NULL, NULL);
          g_assert_no_error (fx->error);
          pieces = joined_pieces (fx);
          g_assert_cmpstr (pieces, ==, "Hel|lo|,| world");
          g_assert_true (fx->finished_flag);
          g_assert_cmpint (fx->completion_tokens, ==, 4);
          g_assert_cmpuint (fx->bytes_received, ==, script_bytes (&text_script));
        }
      if (framings[i] == SOUP_ENCODING_EOF)
        g_assert_cmpuint (port_of (fx, first), !=, port_of (fx, first + 1));
      else
        g_assert_cmpuint (port_of (fx, first), ==, port_of (fx, first + 1));
    }
}

/* The server closed the kept-alive connection while it was idle: the next
 * request goes on a new one and succeeds. */
static void
test_idle_closed (Fx *fx, gconstpointer data)
{
  g_autoptr (LaresLlm) llm = make_llm (fx, LARES_LLM_OPENAI, 2000, 5000);

  fx->script = &quick_script;
  chat (fx, llm, NULL, NULL);
  g_assert_no_error (fx->error);
  g_socket_shutdown (fx->last_socket, TRUE, TRUE, NULL);
  reset_client (fx);
  chat (fx, llm, NULL, NULL);
  g_assert_no_error (fx->error);
  g_assert_cmpstr (fx->text, ==, "hi");
  g_assert_cmpuint (fx->requests, ==, 2);
  g_assert_cmpuint (port_of (fx, 0), !=, port_of (fx, 1));
}

/* A kept-alive connection that breaks before any answer byte: the server
 * never processed the request, so lares's transport sends it once more on
 * a new connection.  (libsoup 3.2 reports CONNECT here even for an
 * idempotent message; it only avoids idle connections it sees closed.)
 * A new connection that does the same is an error on both. */
static void
test_retry_once (Fx *fx, gconstpointer data)
{
  g_autoptr (LaresLlm) llm = make_llm (fx, LARES_LLM_OPENAI, 2000, 5000);
  g_autoptr (LaresLlm) fresh = make_llm (fx, LARES_LLM_OPENAI, 2000, 5000);

  fx->script = &quick_script;
  if (fx->http_client == LARES_LLM_HTTP_LIBSOUP)
    {
      fx->drop_next = 1;
      chat (fx, fresh, NULL, NULL);
      g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_CONNECT);
      g_assert_cmpuint (fx->requests, ==, 1);
      return;
    }
  chat (fx, llm, NULL, NULL);
  g_assert_no_error (fx->error);
  fx->drop_next = 1;
  reset_client (fx);
  chat (fx, llm, NULL, NULL);
  g_assert_no_error (fx->error);
  g_assert_cmpstr (fx->text, ==, "hi");
  g_assert_cmpuint (fx->requests, ==, 3);
  g_assert_cmpuint (port_of (fx, 1), ==, port_of (fx, 0)); /* dropped on the kept one */
  g_assert_cmpuint (port_of (fx, 2), !=, port_of (fx, 0)); /* sent again on a new one */

  fx->drop_next = 1;
  reset_client (fx);
  chat (fx, fresh, NULL, NULL);
  g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_CONNECT);
  g_assert_cmpuint (fx->requests, ==, 4);
}

/* lares's transport only: out of descriptors, the pool's poller (an epoll
 * set) cannot be made for the first request; it ends with CONNECT from the
 * main loop, and the next one, with descriptors back, succeeds. */
static void
test_out_of_descriptors (Fx *fx, gconstpointer data)
{
  g_autoptr (LaresLlm) llm = make_llm (fx, LARES_LLM_OPENAI, 2000, 5000);
  g_autoptr (JsonNode) messages = simple_messages ();
  struct rlimit saved, low;
  int lowest = dup (0); /* the lowest free descriptor */

  g_assert_cmpint (lowest, >=, 0);
  close (lowest);
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  low = saved;
  low.rlim_cur = (rlim_t)lowest;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);
  lares_llm_chat (llm, messages, NULL, NULL, &callbacks, fx);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  g_assert_false (fx->done);
  wait_for (&fx->done_calls, 1, 5000);
  g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_CONNECT);
  g_assert_nonnull (strstr (fx->error->message, "could not watch"));
  g_assert_cmpuint (fx->requests, ==, 0);

  fx->done_calls = 0;
  fx->done = FALSE;
  fx->script = &quick_script;
  chat (fx, llm, NULL, NULL);
  g_assert_no_error (fx->error);
}

static gpointer
cancel_thread (gpointer data)
{
  g_cancellable_cancel (data);
  return NULL;
}

/* lares's transport only: the caller's cancellable cancelled on another
 * thread while the request's context is in use is reported (lares-llm.h),
 * and the request still ends, at its next deadline, as cancelled. */
static void
test_cancel_other_thread (Fx *fx, gconstpointer data)
{
  g_autoptr (LaresLlm) llm = make_llm (fx, LARES_LLM_OPENAI, 300, 5000);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (JsonNode) messages = simple_messages ();
  GThread *thread;

  fx->script = &hang_script;
  lares_llm_chat (llm, messages, NULL, cancellable, &callbacks, fx);
  wait_for (&fx->requests, 1, 5000);
  g_assert_true (g_main_context_acquire (NULL));
  g_test_expect_message ("lares-llm", G_LOG_LEVEL_CRITICAL, "*outside the thread*");
  thread = g_thread_new ("cancel", cancel_thread, cancellable);
  g_thread_join (thread);
  g_test_assert_expected_messages ();
  g_main_context_release (NULL);
  wait_for (&fx->done_calls, 1, 5000);
  g_assert_error (fx->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  wait_for (&fx->closes, 1, 5000);
}

/* Freeing the LaresLlm closes its idle connections. */
static void
test_free_closes_idle (Fx *fx, gconstpointer data)
{
  LaresLlm *llm = make_llm (fx, LARES_LLM_OPENAI, 2000, 5000);

  fx->script = &quick_script;
  chat (fx, llm, NULL, NULL);
  g_assert_no_error (fx->error);
  g_assert_cmpuint (fx->closes, ==, 0);
  lares_llm_free (llm);
  wait_for (&fx->closes, 1, 5000);
}

/* A listener whose accept queue is full: a further connect gets no answer
 * to its SYN.  Fillers are added until one stays unconnected. */
static int
full_listener (uint16_t *port, GArray *fillers)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof addr;
  int lfd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (lfd, >=, 0);
  g_assert_cmpint (bind (lfd, (struct sockaddr *)&addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (lfd, 0), ==, 0);
  g_assert_cmpint (getsockname (lfd, (struct sockaddr *)&addr, &len), ==, 0);
  *port = ntohs (addr.sin_port);
  for (int i = 0; i < 16; i++)
    {
      int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      struct pollfd pfd = { .fd = fd, .events = POLLOUT };

      g_array_append_val (fillers, fd);
      if (connect (fd, (struct sockaddr *)&addr, sizeof addr) == 0)
        continue;
      g_assert_cmpint (errno, ==, EINPROGRESS);
      if (poll (&pfd, 1, 300) == 0)
        return lfd; /* this one waits: the queue is full */
    }
  g_assert_not_reached ();
}

static void
test_connect_timeout (Fx *fx, gconstpointer data)
{
  g_autoptr (GArray) fillers = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GError) error = NULL;
  g_autofree char *base = NULL;
  g_autoptr (LaresLlm) llm = NULL;
  uint16_t port;
  int lfd = full_listener (&port, fillers);
  LaresLlmOptions options = { .provider = LARES_LLM_OPENAI,
                              .model = "m",
                              .connect_timeout_ms = 200,
                              .first_token_timeout_ms = 5000,
                              .total_timeout_ms = 10000,
                              .max_concurrent = 1,
                              .http_client = fx->http_client };

  base = g_strdup_printf ("http://127.0.0.1:%u/v1", port);
  options.base_url = base;
  llm = lares_llm_new (&options, &error);
  g_assert_no_error (error);
  chat (fx, llm, NULL, NULL);
  g_assert_error (fx->error, LARES_LLM_ERROR, LARES_LLM_ERROR_CONNECT);
  g_assert_nonnull (strstr (fx->error->message, "connect timeout"));
  g_assert_cmpint (fx->total_us, >=, 200000);
  g_assert_cmpint (fx->total_us, <, 2000000);
  for (unsigned i = 0; i < fillers->len; i++)
    close (g_array_index (fillers, int, i));
  close (lfd);
}

static void
test_new_errors (Fx *fx, gconstpointer data)
{
  static const struct
  {
    LaresLlmProvider provider;
    const char *base;
    const char *model;
  } cases[] = {
    { LARES_LLM_OPENAI, "", "m" },
    { LARES_LLM_OPENAI, NULL, "m" },
    { LARES_LLM_OPENAI, "http://127.0.0.1:1/v1", "" },
    { LARES_LLM_OPENAI, "http://127.0.0.1:1/v1", NULL },
    { LARES_LLM_OPENAI, "not a url", "m" },
    { LARES_LLM_OPENAI, "ftp://127.0.0.1/v1", "m" },
    { LARES_LLM_OLLAMA, "http:///x", "m" },
    { (LaresLlmProvider)7, "http://127.0.0.1:1", "m" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      LaresLlmOptions options = { .provider = cases[i].provider,
                                  .base_url = cases[i].base,
                                  .model = cases[i].model,
                                  .http_client = fx->http_client };
      g_autoptr (LaresLlm) llm = lares_llm_new (&options, &error);

      g_test_message ("case %zu", i);
      g_assert_null (llm);
      g_assert_error (error, LARES_LLM_ERROR, LARES_LLM_ERROR_UNCONFIGURED);
    }

  {
    g_autoptr (LaresLlm) llm = make_llm (fx, LARES_LLM_OLLAMA, 1, 1);
    g_assert_cmpstr (lares_llm_get_model (llm), ==, "test-model");
    g_assert_cmpint (lares_llm_get_provider (llm), ==, LARES_LLM_OLLAMA);
  }
}

typedef struct
{
  gboolean done;
  gboolean ok;
  GError *error;
} ProbeWait;

static void
probe_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  ProbeWait *w = user_data;

  w->ok = lares_llm_probe_finish (NULL, res, &w->error);
  w->done = TRUE;
}

static void
probe (LaresLlm *llm, ProbeWait *w)
{
  gboolean expired = FALSE;
  unsigned id = g_timeout_add (5000, deadline_cb, &expired);

  memset (w, 0, sizeof *w);
  lares_llm_probe_async (llm, NULL, probe_cb, w);
  while (!w->done && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
  g_assert_true (w->done);
}

static void
test_probe (Fx *fx, gconstpointer data)
{
  g_autoptr (LaresLlm) openai = make_llm (fx, LARES_LLM_OPENAI, 1000, 1000);
  g_autoptr (LaresLlm) ollama = make_llm (fx, LARES_LLM_OLLAMA, 1000, 1000);
  g_autoptr (GError) error = NULL;
  g_autofree char *base = g_strdup_printf ("http://127.0.0.1:%u", unused_port ());
  LaresLlmOptions options = { .provider = LARES_LLM_OLLAMA,
                              .base_url = base,
                              .model = "m",
                              .connect_timeout_ms = 1000,
                              .first_token_timeout_ms = 1000,
                              .http_client = fx->http_client };
  g_autoptr (LaresLlm) nowhere = lares_llm_new (&options, &error);
  ProbeWait w;

  probe (openai, &w);
  g_assert_no_error (w.error);
  g_assert_true (w.ok);
  g_assert_cmpstr (fx->path, ==, "/v1/models");
  g_assert_cmpstr (fx->auth, ==, "Bearer sk-test");

  probe (ollama, &w);
  g_assert_no_error (w.error);
  g_assert_cmpstr (fx->path, ==, "/api/tags");

  fx->probe_status = 401;
  probe (openai, &w);
  g_assert_false (w.ok);
  g_assert_error (w.error, LARES_LLM_ERROR, LARES_LLM_ERROR_HTTP);
  g_assert_nonnull (strstr (w.error->message, "401"));
  g_clear_error (&w.error);

  g_assert_no_error (error);
  probe (nowhere, &w);
  g_assert_false (w.ok);
  g_assert_error (w.error, LARES_LLM_ERROR, LARES_LLM_ERROR_CONNECT);
  g_clear_error (&w.error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Every case runs on both transports: lares's own (the default for a
   * loopback server) and libsoup. */
#define ADD(path, func)                                                                            \
  do                                                                                               \
    {                                                                                              \
      g_test_add ("/llm/own/" path, Fx, GINT_TO_POINTER (LARES_LLM_HTTP_AUTO), fx_setup, func,     \
                  fx_teardown);                                                                    \
      g_test_add ("/llm/libsoup/" path, Fx, GINT_TO_POINTER (LARES_LLM_HTTP_LIBSOUP), fx_setup,    \
                  func, fx_teardown);                                                              \
    }                                                                                              \
  while (0)
  ADD ("stream-text", test_stream_text);
  ADD ("connection-reuse", test_connection_reuse);
  ADD ("stream-tool-call", test_stream_tool_call);
  ADD ("ollama", test_ollama);
  ADD ("request-bodies", test_request_bodies);
  ADD ("http-errors", test_http_errors);
  ADD ("garbage", test_garbage);
  ADD ("truncated", test_truncated);
  ADD ("first-token-timeout", test_first_token_timeout);
  ADD ("total-timeout", test_total_timeout);
  ADD ("connection-refused", test_connection_refused);
  ADD ("cancel-mid-stream", test_cancel_mid_stream);
  ADD ("cancel-early", test_cancel_early);
  ADD ("new-errors", test_new_errors);
  ADD ("framings", test_framings);
  ADD ("idle-closed", test_idle_closed);
  ADD ("retry-once", test_retry_once);
  ADD ("free-closes-idle", test_free_closes_idle);
  ADD ("connect-timeout", test_connect_timeout);
  ADD ("probe", test_probe);
#undef ADD
  g_test_add ("/llm/own/out-of-descriptors", Fx, GINT_TO_POINTER (LARES_LLM_HTTP_AUTO), fx_setup,
              test_out_of_descriptors, fx_teardown);
  g_test_add ("/llm/own/cancel-other-thread", Fx, GINT_TO_POINTER (LARES_LLM_HTTP_AUTO), fx_setup,
              test_cancel_other_thread, fx_teardown);
  return g_test_run ();
}
