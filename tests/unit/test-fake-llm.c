/* test-fake-llm.c — the fake LLM server (tests/fake-llm) against a libsoup
 * client over loopback: exact wire bytes, faults, timing and the record.
 *
 * Other tests trust this fake to behave like the real services, so its
 * output is compared byte for byte with PROTOCOLS.md §3.  Timing checks are
 * lower bounds measured on the main loop; nothing sleeps.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <stdarg.h>
#include <string.h>

#include "lares-fake-llm.h"
#include "lares-test.h"

static SoupSession *session;

/* The members every OpenAI chunk of request N carries. */
#define PREFIX(n)                                                                                  \
  "\"id\":\"chatcmpl-fake" n "\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"     \
  "\"model\":\"fake\""
#define CHUNK(n, delta, finish)                                                                    \
  "data: {" PREFIX (n) ",\"choices\":[{\"index\":0,\"delta\":{" delta "},\"logprobs\":null,"       \
                       "\"finish_reason\":" finish "}]}\n\n"
/* The same when the usage chunk is coming: "usage":null on the others. */
#define CHUNK_U(n, delta, finish)                                                                  \
  "data: {" PREFIX (n) ",\"choices\":[{\"index\":0,\"delta\":{" delta "},\"logprobs\":null,"       \
                       "\"finish_reason\":" finish "}],\"usage\":null}\n\n"
#define DONE       "data: [DONE]\n\n"
#define OLLAMA_MSG "{\"model\":\"fake\",\"created_at\":\"2023-11-14T22:13:20Z\",\"message\":"
#define STREAM_REQ "{\"model\":\"fake\",\"stream\":true,\"messages\":[]}"
#define STREAM_REQ_USE                                                                             \
  "{\"model\":\"fake\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"               \
  "\"messages\":[]}"

/* ---- a streaming client --------------------------------------------------- */

typedef struct
{
  SoupMessage *msg;
  GInputStream *in;
  GCancellable *cancel;
  GString *body;
  GError *error;
  gboolean got_headers;                       /* send finished (headers, or an error) */
  gboolean done;                              /* body read to its end, or failed */
  gint64 t_start, t_headers, t_first, t_done; /* µs, monotonic */
  size_t first_len;                           /* bytes of the first read */
  char buf[8192];
} Fetch;

static void fetch_read (Fetch *f);

static void
read_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Fetch *f = data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &f->error);

  if (n > 0)
    {
      if (f->body->len == 0)
        {
          f->t_first = g_get_monotonic_time ();
          f->first_len = (size_t)n;
        }
      g_string_append_len (f->body, f->buf, n);
      fetch_read (f);
      return;
    }
  f->t_done = g_get_monotonic_time ();
  f->done = TRUE;
}

static void
fetch_read (Fetch *f)
{
  g_input_stream_read_async (f->in, f->buf, sizeof f->buf, G_PRIORITY_DEFAULT, f->cancel, read_cb,
                             f);
}

static void
sent_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Fetch *f = data;

  f->in = soup_session_send_finish (SOUP_SESSION (source), result, &f->error);
  f->t_headers = g_get_monotonic_time ();
  f->got_headers = TRUE;
  if (f->in == NULL)
    {
      f->done = TRUE;
      return;
    }
  fetch_read (f);
}

/* Start @method @path on @fake; @body (nullable) is sent as JSON. */
static Fetch *
fetch_start (LaresFakeLlm *fake, const char *method, const char *path, const char *body,
             const char *auth)
{
  Fetch *f = g_new0 (Fetch, 1);
  g_autofree char *url = g_strconcat (lares_fake_llm_base (fake), path, NULL);

  f->msg = soup_message_new (method, url);
  f->cancel = g_cancellable_new ();
  f->body = g_string_new (NULL);
  if (auth)
    soup_message_headers_replace (soup_message_get_request_headers (f->msg), "Authorization", auth);
  if (body)
    {
      g_autoptr (GBytes) b = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (f->msg, "application/json", b);
    }
  f->t_start = g_get_monotonic_time ();
  soup_session_send_async (session, f->msg, G_PRIORITY_DEFAULT, f->cancel, sent_cb, f);
  return f;
}

static void
fetch_free (Fetch *f)
{
  /* A read still in flight holds @f: cancel it and let it land. */
  g_cancellable_cancel (f->cancel);
  while (!f->done)
    g_main_context_iteration (NULL, TRUE);
  g_clear_object (&f->in);
  g_object_unref (f->msg);
  g_object_unref (f->cancel);
  g_string_free (f->body, TRUE);
  g_clear_error (&f->error);
  g_free (f);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Fetch, fetch_free)

/* A whole request; asserts the transfer ended without error. */
static Fetch *
fetch (LaresFakeLlm *fake, const char *method, const char *path, const char *body)
{
  Fetch *f = fetch_start (fake, method, path, body, NULL);

  lares_test_wait_flag (&f->done, 10000);
  g_assert_no_error (f->error);
  return f;
}

static Fetch *
post_chat (LaresFakeLlm *fake, const char *body)
{
  return fetch (fake, "POST", "/v1/chat/completions", body);
}

static const char *
resp_header (Fetch *f, const char *name)
{
  return soup_message_headers_get_one (soup_message_get_response_headers (f->msg), name);
}

/* Assert that the body @f read is the concatenation of the strings that
 * follow (NULL-terminated). */
static void
assert_body (Fetch *f, ...)
{
  g_autoptr (GString) want = g_string_new (NULL);
  va_list ap;

  va_start (ap, f);
  for (const char *piece; (piece = va_arg (ap, const char *)) != NULL;)
    g_string_append (want, piece);
  va_end (ap);
  g_assert_cmpstr (f->body->str, ==, want->str);
}

/* ---- wire formats ----------------------------------------------------------- */

static void
test_text_stream (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token Hello\n"
                                                        "token ,\\sworld [happy] \"q\" \xc3\xbc\n"
                                                        "token a\\nb\\tc\\\\d\n",
                                                        NULL);
  g_autoptr (Fetch) f = post_chat (fake, STREAM_REQ);

  g_assert_cmpuint (soup_message_get_status (f->msg), ==, 200);
  g_assert_cmpstr (resp_header (f, "Content-Type"), ==, "text/event-stream");
  assert_body (f, CHUNK ("1", "\"role\":\"assistant\",\"content\":\"Hello\"", "null"),
               CHUNK ("1", "\"content\":\", world [happy] \\\"q\\\" \xc3\xbc\"", "null"),
               CHUNK ("1", "\"content\":\"a\\nb\\tc\\\\d\"", "null"), CHUNK ("1", "", "\"stop\""),
               DONE, NULL);
}

static void
test_openai_tool_calls (void)
{
  /* PROTOCOLS.md §3.1: id, type and name in the first piece of each index,
   * then argument fragments by index; usage in a chunk with no choices. */
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("call 0 get_weather call_abc\n"
                                                        "call 1 get_time\n"
                                                        "args 0 {\"city\":\n"
                                                        "args 1 {\"tz\":\"UTC\"}\n"
                                                        "args 0 \"Paris\"}\n"
                                                        "usage 76 24\n",
                                                        NULL);
  g_autoptr (Fetch) f = post_chat (fake, STREAM_REQ_USE);

  assert_body (f,
               CHUNK_U ("1",
                        "\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,"
                        "\"id\":\"call_abc\",\"type\":\"function\",\"function\":{\"name\":"
                        "\"get_weather\",\"arguments\":\"\"}}]",
                        "null"),
               CHUNK_U ("1",
                        "\"tool_calls\":[{\"index\":1,\"id\":\"call_1_1\",\"type\":\"function\","
                        "\"function\":{\"name\":\"get_time\",\"arguments\":\"\"}}]",
                        "null"),
               CHUNK_U ("1",
                        "\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
                        "\"{\\\"city\\\":\"}}]",
                        "null"),
               CHUNK_U ("1",
                        "\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":"
                        "\"{\\\"tz\\\":\\\"UTC\\\"}\"}}]",
                        "null"),
               CHUNK_U ("1",
                        "\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
                        "\"\\\"Paris\\\"}\"}}]",
                        "null"),
               CHUNK_U ("1", "", "\"tool_calls\""),
               "data: {" PREFIX ("1") ",\"choices\":[],\"usage\":{\"prompt_tokens\":76,"
                                      "\"completion_tokens\":24,\"total_tokens\":100}}\n\n",
               DONE, NULL);
}

static void
test_usage_default (void)
{
  /* Asked for usage, none scripted: body bytes / 4 and one per token. */
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token a\ntoken b\n", NULL);
  g_autoptr (Fetch) f = post_chat (fake, STREAM_REQ_USE);
  g_autofree char *usage =
      g_strdup_printf ("\"usage\":{\"prompt_tokens\":%zu,\"completion_tokens\":2,"
                       "\"total_tokens\":%zu}}\n\n" DONE,
                       strlen (STREAM_REQ_USE) / 4, strlen (STREAM_REQ_USE) / 4 + 2);

  g_assert_true (g_str_has_suffix (f->body->str, usage));
}

static void
test_ollama_stream (void)
{
  /* PROTOCOLS.md §3.3: tool calls whole in one line, arguments an object. */
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token Let me check.\n"
                                                        "call 0 get_weather\n"
                                                        "args 0 {\"city\":\n"
                                                        "args 0 \"Tokyo\"}\n"
                                                        "usage 169 15\n",
                                                        NULL);
  g_autoptr (Fetch) f = fetch (fake, "POST", "/api/chat", "{\"model\":\"fake\",\"messages\":[]}");

  g_assert_cmpuint (soup_message_get_status (f->msg), ==, 200);
  g_assert_cmpstr (resp_header (f, "Content-Type"), ==, "application/x-ndjson");
  assert_body (f,
               OLLAMA_MSG "{\"role\":\"assistant\",\"content\":\"Let me check.\"},"
                          "\"done\":false}\n",
               OLLAMA_MSG "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{"
                          "\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":"
                          "\"Tokyo\"}}}]},\"done\":false}\n",
               OLLAMA_MSG "{\"role\":\"assistant\",\"content\":\"\"},\"done_reason\":\"stop\","
                          "\"done\":true,\"total_duration\":6000000,\"load_duration\":1000000,"
                          "\"prompt_eval_count\":169,\"prompt_eval_duration\":2000000,"
                          "\"eval_count\":15,\"eval_duration\":3000000}\n",
               NULL);
}

static void
test_crlf_ping (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("crlf\nping\ntoken a\n", NULL);
  g_autoptr (Fetch) f = post_chat (fake, STREAM_REQ);

  assert_body (f, ": ping\r\n\r\n",
               "data: {" PREFIX ("1") ",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                                      "\"assistant\",\"content\":\"a\"},\"logprobs\":null,"
                                      "\"finish_reason\":null}]}\r\n\r\n",
               "data: {" PREFIX ("1") ",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":"
                                      "null,\"finish_reason\":\"stop\"}]}\r\n\r\n",
               "data: [DONE]\r\n\r\n", NULL);
}

static void
test_garbage_no_done (void)
{
  g_autoptr (LaresFakeLlm) fake =
      lares_fake_llm_start ("token a\ngarbage\ngarbage [1,\nno-done\nfinish length\n", NULL);
  g_autoptr (Fetch) f = post_chat (fake, STREAM_REQ);

  assert_body (f, CHUNK ("1", "\"role\":\"assistant\",\"content\":\"a\"", "null"),
               "data: {not json\n\n", "data: [1,\n\n", CHUNK ("1", "", "\"length\""), NULL);
}

static void
test_split_coalesce_same_bytes (void)
{
  /* Transport quirks change how bytes are written, never which. */
  const char *script = "ping\ntoken one\ntoken two\ncall 0 f\nargs 0 {}\n";
  g_autofree char *split = g_strconcat (script, "split 1\n", NULL);
  g_autofree char *coalesce = g_strconcat (script, "delay 5\ncoalesce\n", NULL);
  g_autoptr (LaresFakeLlm) plain_fake = lares_fake_llm_start (script, NULL);
  g_autoptr (LaresFakeLlm) split_fake = lares_fake_llm_start (split, NULL);
  g_autoptr (LaresFakeLlm) coalesce_fake = lares_fake_llm_start (coalesce, NULL);
  g_autoptr (Fetch) a = post_chat (plain_fake, STREAM_REQ_USE);
  g_autoptr (Fetch) b = post_chat (split_fake, STREAM_REQ_USE);
  g_autoptr (Fetch) c = post_chat (coalesce_fake, STREAM_REQ_USE);

  g_assert_cmpuint (a->body->len, >, 0);
  g_assert_cmpstr (a->body->str, ==, b->body->str);
  g_assert_cmpstr (a->body->str, ==, c->body->str);
}

static void
test_json_text (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("json-text\n"
                                                        "token Sure.\\n\n"
                                                        "call 0 get_weather\n"
                                                        "args 0 {\"city\":\"Oslo\"}\n",
                                                        NULL);
  g_autoptr (Fetch) f = post_chat (fake, "{\"model\":\"fake\",\"stream\":false}");
  g_autoptr (JsonNode) root = NULL;
  JsonObject *choice, *message;

  g_assert_cmpuint (soup_message_get_status (f->msg), ==, 200);
  root = json_from_string (f->body->str, NULL);
  g_assert_nonnull (root);
  choice = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (root), "choices"), 0);
  message = json_object_get_object_member (choice, "message");
  g_assert_cmpstr (json_object_get_string_member (message, "content"), ==,
                   "Sure.\n{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Oslo\"}}");
  g_assert_false (json_object_has_member (message, "tool_calls"));
  g_assert_cmpstr (json_object_get_string_member (choice, "finish_reason"), ==, "stop");
}

static void
test_non_stream (void)
{
  g_autoptr (LaresFakeLlm) fake =
      lares_fake_llm_start ("token Checking\ncall 0 get_weather\nargs 0 {\"city\":\nargs 0 \"X\"}\n"
                            "usage 7 3\n",
                            NULL);
  /* "stream" absent: the OpenAI API does not stream. */
  g_autoptr (Fetch) f = post_chat (fake, "{\"model\":\"fake\"}");
  g_autoptr (Fetch) o = fetch (fake, "POST", "/api/chat", "{\"model\":\"fake\",\"stream\":false}");

  g_assert_cmpstr (resp_header (f, "Content-Type"), ==, "application/json");
  g_assert_cmpstr (f->body->str, ==,
                   "{\"id\":\"chatcmpl-fake1\",\"object\":\"chat.completion\",\"created\":"
                   "1700000000,\"model\":\"fake\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
                   "\"assistant\",\"content\":\"Checking\",\"tool_calls\":[{\"id\":\"call_1_0\","
                   "\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
                   "\"{\\\"city\\\":\\\"X\\\"}\"}}],\"refusal\":null},\"logprobs\":null,"
                   "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":7,"
                   "\"completion_tokens\":3,\"total_tokens\":10}}");
  g_assert_cmpstr (
      o->body->str, ==,
      OLLAMA_MSG "{\"role\":\"assistant\",\"content\":\"Checking\",\"tool_calls\":[{\"function\":{"
                 "\"name\":\"get_weather\",\"arguments\":{\"city\":\"X\"}}}]},\"done_reason\":"
                 "\"stop\",\"done\":true,\"total_duration\":6000000,\"load_duration\":1000000,"
                 "\"prompt_eval_count\":7,\"prompt_eval_duration\":2000000,\"eval_count\":3,"
                 "\"eval_duration\":3000000}");
}

static void
test_quick_mode (void)
{
  const char *args[] = { "--tokens", "3", NULL };
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start (NULL, args);
  g_autoptr (Fetch) f = post_chat (fake, STREAM_REQ);

  assert_body (f, CHUNK ("1", "\"role\":\"assistant\",\"content\":\"tok0 \"", "null"),
               CHUNK ("1", "\"content\":\"tok1 \"", "null"),
               CHUNK ("1", "\"content\":\"tok2 \"", "null"), CHUNK ("1", "", "\"stop\""), DONE,
               NULL);
}

/* ---- endpoints and errors ------------------------------------------------- */

static void
test_endpoints (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token x\n", NULL);
  g_autoptr (Fetch) models = fetch (fake, "GET", "/v1/models", NULL);
  g_autoptr (Fetch) health = fetch (fake, "GET", "/health", NULL);
  g_autoptr (Fetch) tags = fetch (fake, "GET", "/api/tags", NULL);
  g_autoptr (Fetch) bare = fetch (fake, "POST", "/chat/completions", STREAM_REQ);
  g_autoptr (Fetch) bad = post_chat (fake, "{\"model\":");
  g_autoptr (Fetch) get = fetch (fake, "GET", "/v1/chat/completions", NULL);
  g_autoptr (Fetch) nope = fetch (fake, "GET", "/v1/nope", NULL);
  g_autoptr (JsonNode) tags_json = json_from_string (tags->body->str, NULL);
  g_autoptr (JsonNode) bad_json = json_from_string (bad->body->str, NULL);

  g_assert_cmpstr (models->body->str, ==,
                   "{\"object\":\"list\",\"data\":[{\"id\":\"fake\",\"object\":\"model\","
                   "\"created\":0,\"owned_by\":\"lares-tests\"}]}");
  g_assert_cmpstr (health->body->str, ==, "{\"status\":\"ok\"}");
  g_assert_cmpstr (
      json_object_get_string_member (
          json_array_get_object_element (
              json_object_get_array_member (json_node_get_object (tags_json), "models"), 0),
          "name"),
      ==, "fake");
  g_assert_cmpuint (soup_message_get_status (bare->msg), ==, 200);
  g_assert_true (g_str_has_suffix (bare->body->str, DONE));
  g_assert_cmpuint (soup_message_get_status (bad->msg), ==, 400);
  g_assert_cmpstr (
      json_object_get_string_member (
          json_object_get_object_member (json_node_get_object (bad_json), "error"), "type"),
      ==, "invalid_request_error");
  g_assert_cmpuint (soup_message_get_status (get->msg), ==, 405);
  g_assert_cmpuint (soup_message_get_status (nope->msg), ==, 404);
  /* Recorded: the two chat posts; the bad body as null. */
  g_assert_cmpuint (lares_fake_llm_n_requests (fake), ==, 2);
}

static void
test_errors (void)
{
  g_autoptr (LaresFakeLlm) fake =
      lares_fake_llm_start ("status 500\n"
                            "body {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n"
                            "---\n"
                            "status 429\n"
                            "header Retry-After 7\n",
                            NULL);
  g_autoptr (Fetch) a = post_chat (fake, STREAM_REQ);
  g_autoptr (Fetch) b = post_chat (fake, STREAM_REQ);

  g_assert_cmpuint (soup_message_get_status (a->msg), ==, 500);
  g_assert_cmpstr (resp_header (a, "Content-Type"), ==, "application/json");
  g_assert_cmpstr (a->body->str, ==,
                   "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}");
  g_assert_cmpuint (soup_message_get_status (b->msg), ==, 429);
  g_assert_cmpstr (resp_header (b, "Retry-After"), ==, "7");
  g_assert_cmpstr (b->body->str, ==,
                   "{\"error\":{\"message\":\"Too Many Requests\",\"type\":\"rate_limit_error\","
                   "\"param\":null,\"code\":null}}");
}

/* ---- faults and timing ----------------------------------------------------- */

/* Send @request raw to @fake and read until the fake closes (bounded by a
 * socket timeout).  (transfer full) */
static char *
raw_exchange (LaresFakeLlm *fake, const char *request)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GError) error = NULL;
  GString *resp = g_string_new (NULL);
  char buf[4096];
  gssize n;

  g_socket_client_set_enable_proxy (client, FALSE);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", lares_fake_llm_port (fake), NULL,
                                          &error);
  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (conn), 10);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), request,
                             strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  while ((n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf,
                                   sizeof buf, NULL, &error)) > 0)
    g_string_append_len (resp, buf, n);
  g_assert_no_error (error);
  return g_string_free (resp, FALSE);
}

static void
test_cut (void)
{
  g_autoptr (LaresFakeLlm) fake =
      lares_fake_llm_start ("delay 20\ntoken a\ntoken b\ntoken c\ncut 2\n", NULL);
  g_autoptr (Fetch) f = fetch_start (fake, "POST", "/v1/chat/completions", STREAM_REQ, NULL);
  g_autofree char *raw = NULL;
  g_autoptr (GPtrArray) reqs = NULL;

  /* libsoup 3.2 reads a connection closed between chunks as a plain end
   * of body, so a client knows the stream was cut only from what is
   * missing: no finish chunk, no [DONE]. */
  lares_test_wait_flag (&f->done, 10000);
  g_assert_cmpuint (soup_message_get_status (f->msg), ==, 200);
  assert_body (f, CHUNK ("1", "\"role\":\"assistant\",\"content\":\"a\"", "null"),
               CHUNK ("1", "\"content\":\"b\"", "null"), NULL);

  /* On the wire: two chunks, then the close, with no terminating chunk. */
  raw = raw_exchange (fake, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                            "Content-Length: 15\r\n\r\n{\"stream\":true}");
  g_assert_true (g_str_has_prefix (raw, "HTTP/1.1 200 OK\r\n"));
  g_assert_nonnull (strstr (raw, "\r\nTransfer-Encoding: chunked\r\n"));
  g_assert_true (g_str_has_suffix (raw, "\"content\":\"b\"},\"logprobs\":null,"
                                        "\"finish_reason\":null}]}\n\n\r\n"));
  reqs = lares_fake_llm_requests (fake);
  g_assert_cmpuint (reqs->len, ==, 2);
}

static gboolean
flag_cb (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_hang (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("hang\n---\nhang-headers\n", NULL);
  Fetch *f = fetch_start (fake, "POST", "/v1/chat/completions", STREAM_REQ, NULL);
  Fetch *g;
  gboolean quiet = FALSE;
  g_autoptr (GPtrArray) reqs = NULL;

  /* hang: headers, then no byte for 300 ms. */
  lares_test_wait_flag (&f->got_headers, 10000);
  g_assert_no_error (f->error);
  g_assert_cmpuint (soup_message_get_status (f->msg), ==, 200);
  g_timeout_add (300, flag_cb, &quiet);
  while (!quiet)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (f->done);
  g_assert_cmpuint (f->body->len, ==, 0);

  /* hang-headers: not even the headers within 300 ms. */
  g = fetch_start (fake, "POST", "/v1/chat/completions", STREAM_REQ, NULL);
  quiet = FALSE;
  g_timeout_add (300, flag_cb, &quiet);
  while (!quiet)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (g->got_headers);

  /* The client goes away; the fake notices and records both. */
  fetch_free (f);
  fetch_free (g);
  soup_session_abort (session);
  lares_fake_llm_wait_requests (fake, 2, 10000);
  reqs = lares_fake_llm_requests (fake);
  g_assert_true (json_object_get_null_member (json_node_get_object (reqs->pdata[0]), "t_first_us"));
}

static void
test_delays (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("delay-headers 100\n"
                                                        "delay-first 200\n"
                                                        "delay 50\n"
                                                        "token a\ntoken b\ntoken c\n",
                                                        NULL);
  g_autoptr (Fetch) f = fetch_start (fake, "POST", "/v1/chat/completions", STREAM_REQ, NULL);
  g_autoptr (GPtrArray) reqs = NULL;
  JsonObject *rec;
  gint64 t_recv, t_arrived, t_first;

  lares_test_wait_flag (&f->done, 10000);
  g_assert_no_error (f->error);
  g_assert_true (g_str_has_suffix (f->body->str, DONE));
  /* Lower bounds from a time taken before the request: a loaded machine
   * may be late, never early. */
  g_assert_cmpint (f->t_headers - f->t_start, >=, 100 * 1000);
  g_assert_cmpint (f->t_first - f->t_start, >=, 300 * 1000);
  g_assert_cmpint (f->t_done - f->t_start, >=, 450 * 1000);
  /* Streamed, not buffered: the first bytes came well before the end
   * (150 ms before it on the fake's side; 100 ms of slack for a busy
   * client), and not all of the body at once. */
  g_assert_cmpint (f->t_done - f->t_first, >=, 50 * 1000);
  g_assert_cmpuint (f->first_len, <, f->body->len);

  /* The fake's monotonic times are on the same clock as ours. */
  reqs = lares_fake_llm_requests (fake);
  g_assert_cmpuint (reqs->len, ==, 1);
  rec = json_node_get_object (reqs->pdata[0]);
  t_recv = json_object_get_int_member (rec, "t_recv_us");
  t_first = json_object_get_int_member (rec, "t_first_us");
  t_arrived = json_object_get_int_member (rec, "t_arrived_us");
  g_assert_cmpint (t_recv, >=, f->t_start);
  /* The kernel's receive stamp: after we began sending, not after the
   * fake read it (1 ms of slack for moving it between clocks). */
  g_assert_cmpint (t_arrived, >=, f->t_start - 1000);
  g_assert_cmpint (t_arrived, <=, t_recv + 1000);
  g_assert_cmpint (t_recv, <=, f->t_headers);
  g_assert_cmpint (t_first - t_recv, >=, 300 * 1000);
  g_assert_cmpint (t_first, <=, f->t_first);
  /* b, c and the finish chunk each wait 50 ms after the first token. */
  g_assert_cmpint (f->t_done - t_first, >=, 150 * 1000);
}

static void
test_sleep (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token a\nsleep 200\ntoken b\n", NULL);
  g_autoptr (Fetch) f = fetch_start (fake, "POST", "/v1/chat/completions", STREAM_REQ, NULL);

  lares_test_wait_flag (&f->done, 10000);
  g_assert_no_error (f->error);
  g_assert_cmpint (f->t_done - f->t_start, >=, 200 * 1000);
  g_assert_cmpuint (f->first_len, <, f->body->len);
}

/* ---- the server: connections, framing, request bodies ----------------------- */

/* A blocking client on one connection, reads bounded by a socket timeout. */
typedef struct
{
  GSocketConnection *conn;
  GSocket *sock;
  GString *in; /* received, not yet taken */
} Raw;

static Raw *
raw_open (LaresFakeLlm *fake)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  Raw *r = g_new0 (Raw, 1);

  g_socket_client_set_enable_proxy (client, FALSE);
  r->conn = g_socket_client_connect_to_host (client, "127.0.0.1", lares_fake_llm_port (fake), NULL,
                                             &error);
  g_assert_no_error (error);
  r->sock = g_socket_connection_get_socket (r->conn);
  g_socket_set_timeout (r->sock, 10);
  r->in = g_string_new (NULL);
  return r;
}

static void
raw_free (Raw *r)
{
  g_object_unref (r->conn);
  g_string_free (r->in, TRUE);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Raw, raw_free)

static void
raw_send (Raw *r, const char *data)
{
  g_autoptr (GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (r->conn)), data,
                             strlen (data), NULL, NULL, &error);
  g_assert_no_error (error);
}

/* Read more into r->in; FALSE at the end of the stream. */
static gboolean
raw_fill (Raw *r)
{
  g_autoptr (GError) error = NULL;
  char buf[4096];
  gssize n = g_socket_receive (r->sock, buf, sizeof buf, NULL, &error);

  g_assert_no_error (error);
  g_string_append_len (r->in, buf, n);
  return n > 0;
}

/* One whole response: its head (status line and headers, up to the empty
 * line) in @head, its body with the chunked framing taken off in @body.
 * Asserts it arrived complete. */
static void
raw_response (Raw *r, char **head, char **body)
{
  const char *end;
  size_t head_len, pos;
  GString *b = g_string_new (NULL);
  g_autofree char *lower = NULL;
  const char *cl;

  while ((end = strstr (r->in->str, "\r\n\r\n")) == NULL)
    g_assert_true (raw_fill (r));
  head_len = (size_t)(end - r->in->str) + 4;
  *head = g_strndup (r->in->str, head_len);
  lower = g_ascii_strdown (*head, -1);
  pos = head_len;
  if (strstr (lower, "\r\ntransfer-encoding: chunked\r\n"))
    for (;;)
      {
        const char *nl;
        guint64 size;

        while ((nl = strstr (r->in->str + pos, "\r\n")) == NULL)
          g_assert_true (raw_fill (r));
        size = g_ascii_strtoull (r->in->str + pos, NULL, 16);
        pos = (size_t)(nl - r->in->str) + 2;
        while (r->in->len < pos + size + 2)
          g_assert_true (raw_fill (r));
        g_string_append_len (b, r->in->str + pos, (gssize)size);
        g_assert_true (memcmp (r->in->str + pos + size, "\r\n", 2) == 0);
        pos += size + 2;
        if (size == 0)
          break;
      }
  else if ((cl = strstr (lower, "\r\ncontent-length: ")) != NULL)
    {
      guint64 size = g_ascii_strtoull (cl + 18, NULL, 10);

      while (r->in->len < pos + size)
        g_assert_true (raw_fill (r));
      g_string_append_len (b, r->in->str + pos, (gssize)size);
      pos += size;
    }
  g_string_erase (r->in, 0, (gssize)pos);
  *body = g_string_free (b, FALSE);
}

/* Assert the fake closes the connection, with no more bytes. */
static void
raw_assert_closed (Raw *r)
{
  while (raw_fill (r))
    ;
  g_assert_cmpstr (r->in->str, ==, "");
}

static char *
raw_post (const char *path, const char *body, const char *extra_headers)
{
  return g_strdup_printf ("POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %zu\r\n\r\n%s", path,
                          extra_headers ? extra_headers : "", strlen (body), body);
}

#define TEXT_A                                                                                     \
  CHUNK ("%u", "\"role\":\"assistant\",\"content\":\"a\"", "null")                                 \
  CHUNK ("%u", "", "\"stop\"") DONE

/* The answer to request @n of a "token a" script. */
static char *
text_a (unsigned n)
{
  return g_strdup_printf (TEXT_A, n, n);
}

static void
test_keep_alive (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token a\n", NULL);
  g_autoptr (Raw) r = raw_open (fake);
  g_autofree char *post = raw_post ("/v1/chat/completions", STREAM_REQ, NULL);
  g_autofree char *last = raw_post ("/v1/chat/completions", STREAM_REQ, "Connection: close\r\n");

  /* Three requests one after the other on one connection, then one that
   * asks to close it. */
  for (unsigned i = 1; i <= 4; i++)
    {
      g_autofree char *head = NULL;
      g_autofree char *body = NULL;
      g_autofree char *want = text_a (i);

      if (i == 2)
        raw_send (r, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
      raw_send (r, i == 4 ? last : post);
      if (i == 2)
        {
          raw_response (r, &head, &body);
          g_assert_cmpstr (body, ==, "{\"status\":\"ok\"}");
          g_clear_pointer (&head, g_free);
          g_clear_pointer (&body, g_free);
        }
      raw_response (r, &head, &body);
      g_assert_true (g_str_has_prefix (head, "HTTP/1.1 200 OK\r\n"));
      g_assert_nonnull (strstr (head, "\r\nContent-Type: text/event-stream\r\n"));
      g_assert_cmpstr (body, ==, want);
      g_assert_true ((strstr (head, "\r\nConnection: close\r\n") != NULL) == (i == 4));
    }
  raw_assert_closed (r);
  g_assert_cmpuint (lares_fake_llm_n_requests (fake), ==, 4);
}

static void
test_chunked_request (void)
{
  /* A chunked body (an extension, a trailer), with whitespace between
   * tokens: read whole, answered, recorded as JSON on one line. */
  static const char json[] = "{ \"model\" : \"m\\u00e9\\\"x\",\n  \"stream\": true,\n"
                             "  \"messages\": [ {\"role\": \"user\", \"content\": \"a  b\\n\"} ] }";
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token a\n", NULL);
  g_autoptr (Raw) r = raw_open (fake);
  g_autoptr (GString) req = g_string_new ("POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: x\r\n"
                                          "Transfer-Encoding: chunked\r\n\r\n");
  g_autofree char *head = NULL;
  g_autofree char *body = NULL;
  g_autoptr (GPtrArray) reqs = NULL;
  g_autoptr (JsonNode) sent = json_from_string (json, NULL);
  JsonObject *rec;
  size_t len = strlen (json), a = 10, b = 25;

  g_string_append_printf (req, "%zx;name=value\r\n", a);
  g_string_append_len (req, json, (gssize)a);
  g_string_append_printf (req, "\r\n%zX\r\n", b - a);
  g_string_append_len (req, json + a, (gssize)(b - a));
  g_string_append_printf (req, "\r\n%zx\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n", len - b, json + b);
  raw_send (r, req->str);
  raw_response (r, &head, &body);
  g_assert_true (g_str_has_prefix (head, "HTTP/1.1 200 OK\r\n"));
  /* The model comes back, re-escaped in the fake's own way. */
  g_assert_nonnull (strstr (body, "\"model\":\"m\xc3\xa9\\\"x\",\"choices\""));
  g_assert_true (g_str_has_suffix (body, DONE));

  reqs = lares_fake_llm_requests (fake);
  g_assert_cmpuint (reqs->len, ==, 1);
  rec = json_node_get_object (reqs->pdata[0]);
  g_assert_cmpstr (json_object_get_string_member (rec, "path"), ==, "/v1/chat/completions");
  g_assert_true (json_node_equal (json_object_get_member (rec, "body"), sent));
  g_assert_cmpint (json_object_get_int_member (rec, "bytes"), ==, (gint64)len);
}

static void
test_expect_continue (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token a\n", NULL);
  g_autoptr (Raw) r = raw_open (fake);
  g_autofree char *req = g_strdup_printf ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                          "Expect: 100-continue\r\nContent-Length: %zu\r\n\r\n",
                                          strlen (STREAM_REQ));
  g_autofree char *head = NULL;
  g_autofree char *body = NULL;
  g_autofree char *want = text_a (1);
  static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

  raw_send (r, req);
  while (r->in->len < sizeof cont - 1)
    g_assert_true (raw_fill (r));
  g_assert_cmpstr (r->in->str, ==, cont);
  g_string_truncate (r->in, 0);
  raw_send (r, STREAM_REQ);
  raw_response (r, &head, &body);
  g_assert_cmpstr (body, ==, want);
}

static void
test_pipelined (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token a\n", NULL);
  g_autoptr (Raw) r = raw_open (fake);
  g_autofree char *one = raw_post ("/v1/chat/completions", STREAM_REQ, NULL);
  g_autofree char *bad = raw_post ("/v1/chat/completions", "{\"model\":", NULL);
  g_autofree char *all = g_strconcat (one, bad, one, NULL);
  g_autofree char *head = NULL;
  g_autofree char *body = NULL;
  g_autofree char *want1 = text_a (1);
  g_autofree char *want2 = text_a (2);

  /* Three requests in one write: answered in order. */
  raw_send (r, all);
  raw_response (r, &head, &body);
  g_assert_cmpstr (body, ==, want1);
  g_free (head);
  g_free (body);
  raw_response (r, &head, &body);
  g_assert_true (g_str_has_prefix (head, "HTTP/1.1 400 Bad Request\r\n"));
  g_free (head);
  g_free (body);
  raw_response (r, &head, &body);
  g_assert_cmpstr (body, ==, want2);
  g_assert_cmpuint (lares_fake_llm_n_requests (fake), ==, 3);
}

static void
test_pipelined_gone (void)
{
  /* Two requests in one write, then the client goes: the first (waiting
   * out its delay) is dropped and recorded as it stands, the second never
   * starts, and the fake goes on serving others. */
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("delay-first 60000\ntoken a\n"
                                                        "---\ntoken b\n",
                                                        NULL);
  g_autofree char *one = raw_post ("/v1/chat/completions", STREAM_REQ, NULL);
  g_autofree char *two = g_strconcat (one, one, NULL);
  g_autoptr (Fetch) f = NULL;
  g_autoptr (GPtrArray) reqs = NULL;

  {
    g_autoptr (Raw) r = raw_open (fake);

    raw_send (r, two);
    /* The first answer's headers come at once. */
    while (strstr (r->in->str, "\r\n\r\n") == NULL)
      g_assert_true (raw_fill (r));
    g_assert_true (g_str_has_prefix (r->in->str, "HTTP/1.1 200 OK\r\n"));
  }
  lares_fake_llm_wait_requests (fake, 1, 10000);
  f = post_chat (fake, STREAM_REQ);
  g_assert_nonnull (strstr (f->body->str, "\"content\":\"b\""));
  reqs = lares_fake_llm_requests (fake);
  g_assert_cmpuint (reqs->len, ==, 2);
  g_assert_true (json_object_get_null_member (json_node_get_object (reqs->pdata[0]), "t_first_us"));
}

static void
test_cut_zero (void)
{
  /* cut 0: the connection drops before the headers; still recorded. */
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("cut 0\n", NULL);
  g_autoptr (Raw) r = raw_open (fake);
  g_autofree char *one = raw_post ("/v1/chat/completions", STREAM_REQ, NULL);

  raw_send (r, one);
  raw_assert_closed (r);
  g_assert_cmpuint (lares_fake_llm_n_requests (fake), ==, 1);
}

static void
test_bad_requests (void)
{
  /* What a server must refuse: a 4xx or 501, then the connection closes. */
  static const struct
  {
    const char *request;
    const char *status;
  } cases[] = {
    { "NONSENSE\r\n\r\n", "400" },
    { "GET /health HTTP/2.0\r\n\r\n", "400" },
    { "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: x\r\n\r\n", "400" },
    { "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "400" },
    { "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n", "413" },
    { "POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "501" },
    { "POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "400" },
    { "GET /health HTTP/1.1\r\n folded: x\r\n\r\n", "400" },
  };
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token a\n", NULL);

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (Raw) r = raw_open (fake);
      g_autofree char *head = NULL;
      g_autofree char *body = NULL;
      g_autofree char *status = g_strdup_printf ("HTTP/1.1 %s ", cases[i].status);

      raw_send (r, cases[i].request);
      raw_response (r, &head, &body);
      g_assert_true (g_str_has_prefix (head, status));
      g_assert_nonnull (strstr (head, "\r\nConnection: close\r\n"));
      raw_assert_closed (r);
    }
  /* Bodies that are not one JSON object: 400, recorded with a null body. */
  {
    static const char *const bodies[] = {
      "",           "[1]",        "{\"a\":1} x",     "{\"a\":\"\x01\"}", "{\"a\":\"\xc3\"}",
      "{\"a\":01}", "{\"a\":1,}", "{\"a\":\"\\x\"}", "{\"a\":tru}",
    };
    g_autoptr (Raw) r = raw_open (fake);

    for (size_t i = 0; i < G_N_ELEMENTS (bodies); i++)
      {
        g_autofree char *req = raw_post ("/v1/chat/completions", bodies[i], NULL);
        g_autofree char *head = NULL;
        g_autofree char *body = NULL;

        raw_send (r, req);
        raw_response (r, &head, &body);
        g_assert_true (g_str_has_prefix (head, "HTTP/1.1 400 Bad Request\r\n"));
      }
    g_assert_cmpuint (lares_fake_llm_n_requests (fake), ==, G_N_ELEMENTS (bodies));
  }
}

static void
test_http10 (void)
{
  /* HTTP/1.0 has no chunked framing: the stream ends with the connection. */
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token a\n", NULL);
  g_autofree char *want = text_a (1);
  g_autofree char *req =
      g_strdup_printf ("POST /v1/chat/completions HTTP/1.0\r\nContent-Length: %zu\r\n\r\n%s",
                       strlen (STREAM_REQ), STREAM_REQ);
  g_autofree char *raw = raw_exchange (fake, req);
  const char *body = strstr (raw, "\r\n\r\n");

  g_assert_true (g_str_has_prefix (raw, "HTTP/1.1 200 OK\r\n"));
  g_assert_null (strstr (raw, "Transfer-Encoding"));
  g_assert_nonnull (strstr (raw, "\r\nConnection: close\r\n"));
  g_assert_nonnull (body);
  g_assert_cmpstr (body + 4, ==, want);
}

/* ---- the record and sequencing --------------------------------------------- */

static void
test_record (void)
{
  static const char body[] =
      "{\"model\":\"fake\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token x\n", NULL);
  g_autoptr (Fetch) f = fetch_start (fake, "POST", "/v1/chat/completions", body, "Bearer sk-test");
  g_autoptr (Fetch) o = NULL;
  g_autoptr (Fetch) m = NULL;
  g_autoptr (GPtrArray) reqs = NULL;
  g_autoptr (JsonNode) sent = json_from_string (body, NULL);
  JsonObject *rec;

  lares_test_wait_flag (&f->done, 10000);
  g_assert_no_error (f->error);
  o = fetch (fake, "POST", "/api/chat", "{\"model\":\"fake\"}");
  m = fetch (fake, "GET", "/v1/models", NULL);
  g_assert_cmpuint (soup_message_get_status (m->msg), ==, 200);

  /* Both chat responses were read whole, so both lines are there; the
   * GET is not a chat request and is not recorded. */
  reqs = lares_fake_llm_requests (fake);
  g_assert_cmpuint (reqs->len, ==, 2);
  rec = json_node_get_object (reqs->pdata[0]);
  g_assert_cmpstr (json_object_get_string_member (rec, "path"), ==, "/v1/chat/completions");
  g_assert_cmpstr (json_object_get_string_member (rec, "authorization"), ==, "Bearer sk-test");
  g_assert_true (json_node_equal (json_object_get_member (rec, "body"), sent));
  g_assert_cmpint (json_object_get_int_member (rec, "bytes"), ==, (gint64)strlen (body));
  g_assert_cmpint (json_object_get_int_member (rec, "t_first_us"), >=,
                   json_object_get_int_member (rec, "t_recv_us"));
  rec = json_node_get_object (reqs->pdata[1]);
  g_assert_cmpstr (json_object_get_string_member (rec, "path"), ==, "/api/chat");
  g_assert_true (json_object_get_null_member (rec, "authorization"));
}

static char *
content_of (Fetch *f)
{
  const char *p = strstr (f->body->str, "\"content\":\"");

  if (soup_message_get_status (f->msg) != 200)
    return g_strdup_printf ("%u", soup_message_get_status (f->msg));
  g_assert_nonnull (p);
  p += strlen ("\"content\":\"");
  return g_strndup (p, strcspn (p, "\""));
}

static void
check_sequence (const char *const *args, const char *const *expect)
{
  g_autoptr (LaresFakeLlm) fake =
      lares_fake_llm_start ("token one\n---\ntoken two\n---\nstatus 503\n", args);

  for (size_t i = 0; expect[i]; i++)
    {
      g_autoptr (Fetch) f = post_chat (fake, STREAM_REQ);
      g_autofree char *got = content_of (f);

      g_assert_cmpstr (got, ==, expect[i]);
    }
  g_assert_cmpuint (lares_fake_llm_n_requests (fake), ==, g_strv_length ((char **)expect));
}

static void
test_sequence (void)
{
  const char *repeat[] = { "one", "two", "503", "503", NULL };
  const char *cycle_args[] = { "--cycle", NULL };
  const char *cycle[] = { "one", "two", "503", "one", "two", NULL };

  check_sequence (NULL, repeat);
  check_sequence (cycle_args, cycle);
}

/* ---- the shipped scripts ----------------------------------------------------- */

typedef struct
{
  const char *name;
  unsigned status[2];  /* of the first two requests */
  const char *content; /* in the first answer, nullable */
} ScriptCase;

static const ScriptCase script_cases[] = {
  { "text.script", { 200, 200 }, "Hello" },        { "tool-call.script", { 200, 200 }, NULL },
  { "parallel-tools.script", { 200, 200 }, NULL }, { "emotion.script", { 200, 200 }, "[happy]" },
  { "error-500.script", { 500, 500 }, NULL },      { "rate-limit-429.script", { 429, 200 }, NULL },
  { "garbage.script", { 200, 200 }, "Hello" },
};

static void
test_script_file (gconstpointer data)
{
  const ScriptCase *c = data;
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start_named (c->name, NULL);

  for (unsigned i = 0; i < 2; i++)
    {
      g_autoptr (Fetch) f = post_chat (fake, STREAM_REQ);

      g_assert_cmpuint (soup_message_get_status (f->msg), ==, c->status[i]);
      if (c->status[i] == 200)
        g_assert_true (g_str_has_suffix (f->body->str, DONE));
      if (i == 0 && c->content)
        g_assert_nonnull (strstr (f->body->str, c->content));
    }
}

static void
test_script_faults (void)
{
  g_autoptr (LaresFakeLlm) cut = lares_fake_llm_start_named ("cut.script", NULL);
  g_autoptr (LaresFakeLlm) hang = lares_fake_llm_start_named ("hang.script", NULL);
  g_autoptr (Fetch) f = fetch_start (cut, "POST", "/v1/chat/completions", STREAM_REQ, NULL);

  lares_test_wait_flag (&f->done, 10000);
  g_assert_cmpuint (f->body->len, >, 0);
  g_assert_null (strstr (f->body->str, "[DONE]"));
  g_assert_cmpuint (lares_fake_llm_port (hang), >, 0);
}

static void
test_bad_script (void)
{
  /* A script error stops the fake before it listens: exit 2, and the
   * file and line on stderr. */
  g_autofree char *dir = lares_test_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "bad.script", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = NULL;
  g_autofree char *where = NULL;

  g_file_set_contents (path, "token ok\nargs 0 {}\n", -1, &error);
  g_assert_no_error (error);
  p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error,
                        g_getenv ("LARES_FAKE_LLM"), "--script", path, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 2);
  g_assert_cmpstr (out, ==, "");
  where = g_strconcat (path, ":2: args before its call", NULL);
  g_assert_nonnull (strstr (err, where));
  lares_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  session = lares_test_session_new (30);

  g_test_add_func ("/fake-llm/text-stream", test_text_stream);
  g_test_add_func ("/fake-llm/openai-tool-calls", test_openai_tool_calls);
  g_test_add_func ("/fake-llm/usage-default", test_usage_default);
  g_test_add_func ("/fake-llm/ollama-stream", test_ollama_stream);
  g_test_add_func ("/fake-llm/crlf-ping", test_crlf_ping);
  g_test_add_func ("/fake-llm/garbage-no-done", test_garbage_no_done);
  g_test_add_func ("/fake-llm/split-coalesce", test_split_coalesce_same_bytes);
  g_test_add_func ("/fake-llm/json-text", test_json_text);
  g_test_add_func ("/fake-llm/non-stream", test_non_stream);
  g_test_add_func ("/fake-llm/quick-mode", test_quick_mode);
  g_test_add_func ("/fake-llm/endpoints", test_endpoints);
  g_test_add_func ("/fake-llm/errors", test_errors);
  g_test_add_func ("/fake-llm/cut", test_cut);
  g_test_add_func ("/fake-llm/hang", test_hang);
  g_test_add_func ("/fake-llm/delays", test_delays);
  g_test_add_func ("/fake-llm/sleep", test_sleep);
  g_test_add_func ("/fake-llm/record", test_record);
  g_test_add_func ("/fake-llm/http/keep-alive", test_keep_alive);
  g_test_add_func ("/fake-llm/http/chunked-request", test_chunked_request);
  g_test_add_func ("/fake-llm/http/expect-continue", test_expect_continue);
  g_test_add_func ("/fake-llm/http/pipelined", test_pipelined);
  g_test_add_func ("/fake-llm/http/pipelined-gone", test_pipelined_gone);
  g_test_add_func ("/fake-llm/http/cut-zero", test_cut_zero);
  g_test_add_func ("/fake-llm/http/bad-requests", test_bad_requests);
  g_test_add_func ("/fake-llm/http/http10", test_http10);
  g_test_add_func ("/fake-llm/sequence", test_sequence);
  for (size_t i = 0; i < G_N_ELEMENTS (script_cases); i++)
    {
      g_autofree char *name = g_strconcat ("/fake-llm/scripts/", script_cases[i].name, NULL);
      g_test_add_data_func (name, &script_cases[i], test_script_file);
    }
  g_test_add_func ("/fake-llm/scripts/faults", test_script_faults);
  g_test_add_func ("/fake-llm/bad-script", test_bad_script);

  rc = g_test_run ();
  g_object_unref (session);
  return rc;
}
