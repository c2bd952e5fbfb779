/* lares-llm.c — the streaming LLM client: one SoupSession per LaresLlm,
 * one Request per lares_llm_chat().
 *
 * DESIGN
 * - Main context only; nothing blocks.  The response is read with
 *   soup_session_send_async() and g_input_stream_read_async() into a 16 KiB
 *   buffer and fed to the pure parsers of lares-llm-stream.c; on_text runs
 *   from the read callback for each piece of text as it arrives.
 * - A Request owns everything it uses (a ref on the session, the message,
 *   the parsers) and is reference counted: one reference per pending async
 *   operation, one held by the caller's call until the send is started
 *   (on lares's own transport: until on_done has run).
 *   LaresLlm can therefore be freed with requests in flight.
 * - Exactly one async operation (the send, or one read) is pending at any
 *   time until the end.  Everything that stops a request early — the
 *   caller's GCancellable, one of our timers — only cancels the internal
 *   cancellable `io`; the pending operation then fails with CANCELLED and
 *   its callback calls request_finish() with the recorded reason.  So
 *   on_done always runs from an I/O callback, never from inside
 *   g_cancellable_cancel() (whose handler could not disconnect itself), and
 *   exactly once: request_finish() sets `done`, and every later callback
 *   only drops its reference.
 * - Timeouts all count from the send: connect (until the connection is up:
 *   a network-event COMPLETE, or the request headers written on a reused
 *   connection), first token (the first text or tool-call piece), total.
 *   0 disables one.  One timer per request, at the earliest deadline still
 *   armed; timer_expire() decides for both transports which one passed
 *   and stops the request with its error.  On libsoup the timer is a
 *   GSource of the request's own on the caller's thread-default context.
 * - Cancelling `io` is what aborts upstream: libsoup drops the connection
 *   of a message cancelled before its body was read to the end.
 * - lares's own transport (plain HTTP to a loopback server, LaresLlm.pool
 *   set) keeps the same Request and the same endings, and attaches no
 *   GSource per request: GLib visits every source on every loop pass, and
 *   with 100 streams open their prepare and check took 8-9 % of the main
 *   thread.
 *   The request takes the pool's LaresPoller for its context first, then
 *   its deadlines go into the poller as one LaresPollerTimer.  After the
 *   connect (an async GSocketClient operation, the only user of `io` here,
 *   made for it; or a kept-alive connection taken from the pool) the
 *   Request drives the non-blocking fd itself through a poller watch: the
 *   request goes out with one sendmsg() where the kernel takes it (the
 *   rest on EPOLLOUT), then each readable event is one recv() into `buf`,
 *   fed to the response reader (lares-llm-http.c) whose body bytes go to
 *   the same parsers.  The watch cannot fail with CANCELLED, so stopping
 *   (request_cancel: a timer, the caller's cancellable, on_text) sets
 *   `stopped` and arms the request's timer for "now"; its firing ends the
 *   request with the recorded reason — still from a poller dispatch, never
 *   inside g_cancellable_cancel().  That touches the poller, so the
 *   caller's cancellable must be cancelled on the thread of the request's
 *   context here (lares-llm.h).  The request holds a reference on itself
 *   until on_done has run.  A connection whose response was read to its
 *   end and may be kept goes back to the pool before on_done runs; any
 *   other is closed at the end, so the server sees a stopped request at
 *   once.
 * - If the poller cannot be made (out of descriptors) the request is
 *   stopped with CONNECT before it starts and ends from an idle source.
 */
#include "config.h"

#include "lares-llm.h"
#include "lares-llm-http.h"
#include "lares-llm-pool.h"
#include "lares-llm-stream.h"
#include "lares-log.h"

#include <errno.h>
#include <libsoup/soup.h>
#include <sys/epoll.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define READ_CHUNK       (16 * 1024)
#define ERROR_BODY_MAX   (64 * 1024)
#define ERROR_TEXT_CHARS 200
#define IDLE_TIMEOUT_S   LARES_LLM_POOL_IDLE_S
#define PROBE_DEFAULT_MS 10000

struct _LaresLlm
{
  LaresLlmProvider provider;
  char *model;      /* (owned) */
  char *model_json; /* @model as a JSON string, for the request body (owned) */
  char *api_key;    /* nullable (owned) */
  GUri *chat_uri;   /* (owned) */
  GUri *probe_uri;  /* (owned) */
  uint64_t connect_timeout_ms;
  uint64_t first_token_timeout_ms;
  uint64_t total_timeout_ms;
  SoupSession *session; /* (owned; each Request holds its own ref) */
  /* lares's own transport, for plain HTTP to a loopback server; NULL when
   * chat requests go through @session. */
  LaresLlmPool *pool; /* (owned ref; each Request holds its own) */
  char *head_fixed;   /* the request head up to Content-Length's value (owned) */
  /* The last tools array serialized, kept because it is the same registry
   * array on every request (~6 KB of JSON for the built-in tools). */
  JsonNode *tools_node; /* (owned ref): the address stays unique while held */
  char *tools_json;     /* (owned) */
  size_t tools_json_len;
};

/* ---- construction ---------------------------------------------------- */

static gboolean
host_is_loopback (const char *host)
{
  g_autoptr (GInetAddress) addr = NULL;

  if (g_ascii_strcasecmp (host, "localhost") == 0 || g_str_has_suffix (host, ".localhost"))
    return TRUE;
  addr = g_inet_address_new_from_string (host);
  return addr != NULL && g_inet_address_get_is_loopback (addr);
}

static GUri *
uri_below (const char *base, const char *path, GError **error)
{
  g_autofree char *text = g_strconcat (base, path, NULL);
  g_autoptr (GError) local = NULL;
  GUri *uri = g_uri_parse (text, SOUP_HTTP_URI_FLAGS, &local);

  if (uri == NULL)
    {
      g_set_error (error, LARES_LLM_ERROR, LARES_LLM_ERROR_UNCONFIGURED,
                   "the LLM base URL \"%s\" does not parse: %s", base, local->message);
      return NULL;
    }
  return uri;
}

/* Everything of the request head but the body length, which comes last
 * (RFC 9112 §3, §6.2): request line, Host, and the headers the libsoup
 * path sends too. */
static void
own_transport_init (LaresLlm *llm, unsigned conns)
{
  const char *host = g_uri_get_host (llm->chat_uri);
  int port = g_uri_get_port (llm->chat_uri);
  const char *query = g_uri_get_query (llm->chat_uri);
  const char *path = g_uri_get_path (llm->chat_uri);
  GString *head = g_string_sized_new (256);
  gboolean v6 = strchr (host, ':') != NULL;

  if (port <= 0)
    port = 80;
  llm->pool = lares_llm_pool_new (host, (uint16_t)port, conns);
  g_string_append_printf (head, "POST %s%s%s HTTP/1.1\r\nHost: %s%s%s", *path ? path : "/",
                          query != NULL ? "?" : "", query != NULL ? query : "", v6 ? "[" : "", host,
                          v6 ? "]" : "");
  if (g_uri_get_port (llm->chat_uri) > 0)
    g_string_append_printf (head, ":%d", port);
  g_string_append (head, "\r\nUser-Agent: lares/" LARES_VERSION "\r\nAccept: ");
  g_string_append (head, llm->provider == LARES_LLM_OLLAMA ? "application/x-ndjson"
                                                           : "text/event-stream");
  g_string_append (head, "\r\nContent-Type: application/json\r\n");
  if (llm->api_key != NULL)
    g_string_append_printf (head, "Authorization: Bearer %s\r\n", llm->api_key);
  g_string_append (head, "Content-Length: ");
  llm->head_fixed = g_string_free (head, FALSE);
}

LaresLlm *
lares_llm_new (const LaresLlmOptions *options, GError **error)
{
  g_autoptr (LaresLlm) llm = NULL;
  g_autofree char *base = NULL;
  const char *scheme, *host;
  unsigned conns;

  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (options->provider != LARES_LLM_OPENAI && options->provider != LARES_LLM_OLLAMA)
    {
      g_set_error_literal (error, LARES_LLM_ERROR, LARES_LLM_ERROR_UNCONFIGURED,
                           "no LLM provider is set");
      return NULL;
    }
  if (options->base_url == NULL || *options->base_url == '\0')
    {
      g_set_error_literal (error, LARES_LLM_ERROR, LARES_LLM_ERROR_UNCONFIGURED,
                           "no LLM base URL is set");
      return NULL;
    }
  if (options->model == NULL || *options->model == '\0')
    {
      g_set_error_literal (error, LARES_LLM_ERROR, LARES_LLM_ERROR_UNCONFIGURED,
                           "no LLM model is set");
      return NULL;
    }

  llm = g_new0 (LaresLlm, 1);
  llm->provider = options->provider;
  llm->model = g_strdup (options->model);
  {
    g_autoptr (JsonNode) model = json_node_init_string (json_node_alloc (), llm->model);

    llm->model_json = json_to_string (model, FALSE);
  }
  llm->api_key =
      options->api_key != NULL && *options->api_key != '\0' ? g_strdup (options->api_key) : NULL;
  llm->connect_timeout_ms = options->connect_timeout_ms;
  llm->first_token_timeout_ms = options->first_token_timeout_ms;
  llm->total_timeout_ms = options->total_timeout_ms;

  base = g_strdup (options->base_url);
  while (*base != '\0' && base[strlen (base) - 1] == '/')
    base[strlen (base) - 1] = '\0';
  llm->chat_uri = uri_below (
      base, llm->provider == LARES_LLM_OLLAMA ? "/api/chat" : "/chat/completions", error);
  if (llm->chat_uri == NULL)
    return NULL;
  llm->probe_uri =
      uri_below (base, llm->provider == LARES_LLM_OLLAMA ? "/api/tags" : "/models", error);
  if (llm->probe_uri == NULL)
    return NULL;
  scheme = g_uri_get_scheme (llm->chat_uri);
  host = g_uri_get_host (llm->chat_uri);
  if (scheme == NULL ||
      (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0))
    {
      g_set_error (error, LARES_LLM_ERROR, LARES_LLM_ERROR_UNCONFIGURED,
                   "the LLM base URL \"%s\" is not http or https", options->base_url);
      return NULL;
    }
  if (host == NULL || *host == '\0')
    {
      g_set_error (error, LARES_LLM_ERROR, LARES_LLM_ERROR_UNCONFIGURED,
                   "the LLM base URL \"%s\" has no host", options->base_url);
      return NULL;
    }

  /* timeout 0: our own timers decide (the default 60 s would cut a slow
   * first token); connections are capped by llm.max_concurrent (the
   * default 2 per host would queue the third stream).  A loopback server
   * needs no proxy lookup, and libproxy's worker throws C++ exceptions. */
  conns = MAX (options->max_concurrent, 1u);
  if (host_is_loopback (host))
    llm->session = soup_session_new_with_options ("timeout", 0, "idle-timeout", IDLE_TIMEOUT_S,
                                                  "max-conns", conns, "max-conns-per-host", conns,
                                                  "proxy-resolver", NULL, NULL);
  else
    llm->session =
        soup_session_new_with_options ("timeout", 0, "idle-timeout", IDLE_TIMEOUT_S, "max-conns",
                                       conns, "max-conns-per-host", conns, NULL);
  soup_session_set_user_agent (llm->session, "lares/" LARES_VERSION);
  if (llm->api_key != NULL && strpbrk (llm->api_key, "\r\n") != NULL)
    {
      g_set_error_literal (error, LARES_LLM_ERROR, LARES_LLM_ERROR_UNCONFIGURED,
                           "the LLM API key holds a line break");
      return NULL;
    }
  /* The host goes into our Host header as it is: plain names and
   * address literals only. */
  if (options->http_client == LARES_LLM_HTTP_AUTO && g_ascii_strcasecmp (scheme, "http") == 0 &&
      host_is_loopback (host) &&
      host[strspn (host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:")] ==
          '\0')
    own_transport_init (llm, conns);
  return g_steal_pointer (&llm);
}

void
lares_llm_free (LaresLlm *llm)
{
  if (llm == NULL)
    return;
  g_free (llm->model);
  g_free (llm->model_json);
  g_free (llm->api_key);
  g_clear_pointer (&llm->chat_uri, g_uri_unref);
  g_clear_pointer (&llm->probe_uri, g_uri_unref);
  g_clear_object (&llm->session);
  if (llm->pool != NULL)
    {
      /* Requests still running hold their own refs. */
      lares_llm_pool_shutdown (llm->pool);
      g_clear_pointer (&llm->pool, lares_llm_pool_unref);
    }
  g_free (llm->head_fixed);
  g_clear_pointer (&llm->tools_node, json_node_unref);
  g_free (llm->tools_json);
  g_free (llm);
}

const char *
lares_llm_get_model (const LaresLlm *llm)
{
  g_return_val_if_fail (llm != NULL, NULL);
  return llm->model;
}

LaresLlmProvider
lares_llm_get_provider (const LaresLlm *llm)
{
  g_return_val_if_fail (llm != NULL, LARES_LLM_OPENAI);
  return llm->provider;
}

/* ---- request bodies -------------------------------------------------- */

static void
append_json (GString *out, JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, node);
  json_generator_to_gstring (gen, out);
}

/* @tools as JSON text, from the cache when it is the same array. */
static void
append_tools (const LaresLlm *llm, GString *out, JsonNode *tools)
{
  LaresLlm *mut = (LaresLlm *)llm; /* a cache; main context only */

  if (tools != llm->tools_node)
    {
      g_autoptr (JsonGenerator) gen = json_generator_new ();

      g_clear_pointer (&mut->tools_node, json_node_unref);
      g_clear_pointer (&mut->tools_json, g_free);
      json_generator_set_root (gen, tools);
      mut->tools_json = json_generator_to_data (gen, &mut->tools_json_len);
      mut->tools_node = json_node_ref (tools);
    }
  g_string_append_len (out, llm->tools_json, (gssize)llm->tools_json_len);
}

static JsonObject *
node_object (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static const char *
object_string (JsonObject *obj, const char *name)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static JsonArray *
object_array (JsonObject *obj, const char *name)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

/* The function name of the tool call @id in the assistant messages before
 * @before (the nearest one: made-up ids repeat across turns). */
static const char *
tool_name_for (JsonArray *messages, unsigned before, const char *id)
{
  for (unsigned i = before; i-- > 0;)
    {
      JsonObject *msg = node_object (json_array_get_element (messages, i));
      JsonArray *calls = object_array (msg, "tool_calls");

      for (unsigned j = 0; calls != NULL && j < json_array_get_length (calls); j++)
        {
          JsonObject *call = node_object (json_array_get_element (calls, j));

          if (g_strcmp0 (object_string (call, "id"), id) == 0)
            return object_string (node_object (json_object_get_member (call, "function")), "name");
        }
    }
  return NULL;
}

/* OpenAI's arguments are JSON text; Ollama wants the object itself. */
static JsonNode *
arguments_object (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root, *empty;

  if (text != NULL && (root = lares_llm_json_parse (parser, text, strlen (text), NULL)) != NULL &&
      JSON_NODE_HOLDS_OBJECT (root))
    return json_node_copy (root);
  empty = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (empty, json_object_new ());
  return empty;
}

static JsonNode *
ollama_tool_calls (JsonArray *calls)
{
  JsonArray *out = json_array_sized_new (json_array_get_length (calls));
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  for (unsigned i = 0; i < json_array_get_length (calls); i++)
    {
      JsonNode *call_node = json_array_get_element (calls, i);
      JsonObject *call = node_object (call_node);
      JsonObject *function = node_object (call ? json_object_get_member (call, "function") : NULL);
      JsonObject *fn_out, *call_out;

      if (function == NULL)
        {
          json_array_add_element (out, json_node_copy (call_node));
          continue;
        }
      call_out = json_object_new ();
      fn_out = json_object_new ();
      json_object_set_string_member (fn_out, "name", object_string (function, "name") ?: "");
      json_object_set_member (fn_out, "arguments",
                              arguments_object (object_string (function, "arguments")));
      json_object_set_object_member (call_out, "function", fn_out);
      json_array_add_object_element (out, call_out);
    }
  json_node_take_array (node, out);
  return node;
}

/* PROTOCOLS.md §3.3: translate OpenAI-form messages for /api/chat. */
static JsonNode *
ollama_messages (JsonArray *messages)
{
  JsonArray *out = json_array_sized_new (json_array_get_length (messages));
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  for (unsigned i = 0; i < json_array_get_length (messages); i++)
    {
      JsonNode *msg_node = json_array_get_element (messages, i);
      JsonObject *msg = node_object (msg_node);
      const char *role = object_string (msg, "role");
      JsonArray *calls = object_array (msg, "tool_calls");
      JsonObject *copy;

      if (g_strcmp0 (role, "tool") == 0)
        {
          const char *name = tool_name_for (messages, i, object_string (msg, "tool_call_id"));

          copy = json_object_new ();
          json_object_set_string_member (copy, "role", "tool");
          json_object_set_string_member (copy, "content", object_string (msg, "content") ?: "");
          if (name != NULL)
            json_object_set_string_member (copy, "tool_name", name);
          json_array_add_object_element (out, copy);
        }
      else if (g_strcmp0 (role, "assistant") == 0 && calls != NULL)
        {
          copy = json_object_new ();
          json_object_set_string_member (copy, "role", "assistant");
          json_object_set_string_member (copy, "content", object_string (msg, "content") ?: "");
          json_object_set_member (copy, "tool_calls", ollama_tool_calls (calls));
          json_array_add_object_element (out, copy);
        }
      else
        json_array_add_element (out, json_node_copy (msg_node));
    }
  json_node_take_array (node, out);
  return node;
}

static gboolean
has_tools (JsonNode *tools)
{
  return tools != NULL && JSON_NODE_HOLDS_ARRAY (tools) &&
         json_array_get_length (json_node_get_array (tools)) > 0;
}

char *
lares_llm_build_request (const LaresLlm *llm, JsonNode *messages, JsonNode *tools, size_t *len)
{
  GString *out;

  g_return_val_if_fail (llm != NULL, NULL);
  g_return_val_if_fail (messages != NULL && JSON_NODE_HOLDS_ARRAY (messages), NULL);

  /* Room for the tools as last sent and some messages: fewer reallocs. */
  out = g_string_sized_new (4096 + llm->tools_json_len);
  g_string_append (out, "{\"model\":");
  g_string_append (out, llm->model_json);
  if (llm->provider == LARES_LLM_OLLAMA)
    {
      g_autoptr (JsonNode) translated = ollama_messages (json_node_get_array (messages));

      g_string_append (out, ",\"stream\":true,\"messages\":");
      append_json (out, translated);
      if (has_tools (tools))
        {
          g_string_append (out, ",\"tools\":");
          append_tools (llm, out, tools);
        }
    }
  else
    {
      g_string_append (out, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"
                            ",\"messages\":");
      append_json (out, messages);
      if (has_tools (tools))
        {
          g_string_append (out, ",\"tools\":");
          append_tools (llm, out, tools);
          g_string_append (out, ",\"tool_choice\":\"auto\"");
        }
    }
  g_string_append_c (out, '}');
  if (len != NULL)
    *len = out->len;
  return g_string_free (out, FALSE);
}

/* ---- one chat request ------------------------------------------------ */

typedef struct
{
  unsigned refs; /* main context only */
  LaresLlmProvider provider;
  SoupSession *session; /* (owned ref) */
  SoupMessage *msg;     /* (owned) (nullable: NULL on lares's own transport) */
  GInputStream *body;   /* the response body once headers arrived (owned) */
  /* lares's own transport */
  LaresLlmPool *pool;     /* (owned ref) (nullable: NULL on libsoup) */
  LaresLlmConn *conn;     /* the connection in use (owned) */
  char *out_head;         /* the request head (owned) */
  size_t out_head_len;    /* bytes of @out_head */
  GBytes *out_body;       /* the request body (owned) */
  size_t out_off;         /* bytes of head + body written on @conn */
  LaresPoller *poller;    /* the pool's, for @context; NULL when it could not be made */
  LaresPollerWatch watch; /* @conn's fd: EPOLLOUT while writing, then EPOLLIN; holds a ref */
  LaresPollerTimer timer; /* in @poller: the earliest deadline, or "now" once stopped */
  gboolean stopped;       /* cancelled: by the caller, a timer or on_text */
  LaresLlmHttp http;      /* the response reader */
  gboolean got_response;  /* a response byte arrived on @conn */
  gboolean retried;       /* a reused connection failed once already */
  gboolean in_io;         /* inside own_ready_cb (it may be dispatched recursively) */
  GCancellable *caller;   /* the caller's, nullable (owned ref) */
  gulong caller_handler;  /* on @caller, 0 if none */
  GCancellable *io;       /* cancels the pending send/read (libsoup) or connect (lares's
                             transport, made for it) (owned) (nullable) */
  GMainContext *context;  /* where timers run (owned ref) */
  LaresLlmCallbacks callbacks;
  gpointer user_data;
  LaresLlmAccum *acc;  /* (owned) */
  LaresLlmSse sse;     /* openai */
  LaresLlmLines lines; /* ollama */
  GError *stop;        /* why we stopped the request ourselves (owned) */
  /* The three timeouts share one timer, at the earliest deadline still
   * armed (monotonic µs; 0: disarmed): @timer on lares's transport,
   * @timer_source on libsoup.  With 100 streams open every main-loop pass
   * visits each GSource, so the poller's one timer for all is cheapest. */
  GSource *timer_source;    /* libsoup: (owned), NULL once done */
  int64_t connect_deadline; /* until connected */
  int64_t first_deadline;   /* until the first token */
  int64_t total_deadline;   /* until the end */
  uint64_t first_token_timeout_ms;
  int64_t start_us;       /* g_get_monotonic_time() at the send */
  int64_t first_token_us; /* since @start_us; -1 until then */
  uint64_t bytes_sent, bytes_received;
  unsigned status; /* HTTP status, 0 before headers */
  gboolean connected;
  gboolean eof;           /* the body was read to its end */
  gboolean done;          /* on_done has run */
  GByteArray *error_body; /* a non-2xx body, at most ERROR_BODY_MAX (owned) */
  uint8_t buf[];          /* READ_CHUNK bytes, not zeroed: each read fills what it uses */
} Request;

static Request *
request_ref (Request *req)
{
  req->refs++;
  return req;
}

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

typedef struct
{
  GSource base;
  Request *req; /* the request owns the source, not the other way round */
} TimerSource;

/* Set the timer to the earliest deadline still armed, or none.  On lares's
 * transport a stopped request's timer stays at "now". */
static void
timer_rearm (Request *req)
{
  int64_t next = G_MAXINT64;

  if (req->connect_deadline != 0)
    next = MIN (next, req->connect_deadline);
  if (req->first_deadline != 0)
    next = MIN (next, req->first_deadline);
  if (req->total_deadline != 0)
    next = MIN (next, req->total_deadline);
  if (req->pool == NULL)
    {
      if (req->timer_source != NULL)
        g_source_set_ready_time (req->timer_source, next == G_MAXINT64 ? -1 : next);
    }
  else if (req->poller != NULL && !req->stopped && !req->done)
    {
      if (next != G_MAXINT64)
        lares_poller_timer_arm (req->poller, &req->timer, next);
      else
        lares_poller_timer_disarm (req->poller, &req->timer);
    }
}

static void
request_unref (Request *req)
{
  g_assert (req->refs > 0);
  if (--req->refs > 0)
    return;
  g_assert (req->done);
  g_assert (!req->watch.added && !lares_poller_timer_armed (&req->timer) && req->conn == NULL);
  g_clear_pointer (&req->pool, lares_llm_pool_unref);
  g_free (req->out_head);
  g_clear_pointer (&req->out_body, g_bytes_unref);
  lares_llm_http_clear (&req->http);
  g_clear_object (&req->body);
  g_clear_object (&req->msg);
  g_clear_object (&req->caller);
  g_clear_object (&req->io);
  g_clear_object (&req->session);
  g_clear_pointer (&req->context, g_main_context_unref);
  g_clear_pointer (&req->acc, lares_llm_accum_free);
  lares_llm_sse_clear (&req->sse);
  lares_llm_lines_clear (&req->lines);
  g_clear_pointer (&req->error_body, g_byte_array_unref);
  g_clear_error (&req->stop);
  g_free (req);
}

/* Stop watching the connection's fd (lares's own transport), dropping the
 * watch's reference: callers hold one of their own. */
static void
own_unwatch (Request *req)
{
  if (!req->watch.added)
    return;
  lares_poller_remove (req->poller, &req->watch);
  request_unref (req);
}

/* Stopped by the caller, a timer or on_text? */
static gboolean
request_cancelled (Request *req)
{
  return req->pool != NULL ? req->stopped : g_cancellable_is_cancelled (req->io);
}

/* Cancel what is pending.  On libsoup the pending operation then fails
 * with CANCELLED; on lares's transport the request's timer, armed for
 * now, ends it from the poller's next dispatch. */
static void
request_cancel (Request *req)
{
  if (req->pool == NULL)
    {
      g_cancellable_cancel (req->io);
      return;
    }
  if (req->stopped)
    return;
  req->stopped = TRUE;
  if (req->io != NULL)
    g_cancellable_cancel (req->io); /* a connect */
  if (req->poller != NULL && !req->done)
    lares_poller_timer_arm (req->poller, &req->timer, 0);
}

/* Cancel the upstream request, remembering @why (owned) as the reason. */
static void
request_stop (Request *req, GError *why)
{
  if (req->stop == NULL)
    req->stop = why;
  else
    g_error_free (why);
  request_cancel (req);
}

/* The only place on_done is called. @error: (transfer full) (nullable). */
static void
request_finish (Request *req, GError *error)
{
  LaresLlmResult *result;

  if (req->done)
    {
      g_clear_error (&error);
      return;
    }
  req->done = TRUE;
  request_ref (req); /* destroying the sources below drops theirs */
  /* A cancelled caller gets CANCELLED whatever else went wrong meanwhile. */
  if (req->caller != NULL && g_cancellable_is_cancelled (req->caller))
    {
      g_clear_error (&error);
      error =
          g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "the LLM request was cancelled");
    }
  destroy_source (&req->timer_source);
  if (req->poller != NULL)
    lares_poller_timer_disarm (req->poller, &req->timer);
  if (req->caller_handler != 0)
    g_cancellable_disconnect (req->caller, req->caller_handler);
  req->caller_handler = 0;
  if (req->msg != NULL)
    g_signal_handlers_disconnect_by_data (req->msg, req);
  /* Drop the upstream request unless its body was read to the end: then
   * the connection goes back to the pool for the next request.  (On our
   * own transport such a connection went back already; any still held
   * here is half read, or was never answered.) */
  if (!req->eof && req->io != NULL)
    g_cancellable_cancel (req->io);
  own_unwatch (req);
  g_clear_pointer (&req->conn, lares_llm_conn_close);

  result = lares_llm_accum_result (req->acc);
  result->http_status = req->status;
  result->bytes_sent = req->bytes_sent;
  result->bytes_received = req->bytes_received;
  result->first_token_us = req->first_token_us;
  result->total_us = g_get_monotonic_time () - req->start_us;
  if (error != NULL)
    g_debug ("LLM request ended: %s", error->message);
  req->callbacks.on_done (result, error, req->user_data);
  g_clear_error (&error);
  /* On lares's transport a request holds itself until here (see
   * lares_llm_chat). */
  if (req->pool != NULL)
    request_unref (req);
  request_unref (req);
}

static void
mark_connected (Request *req)
{
  req->connected = TRUE;
  req->connect_deadline = 0;
  timer_rearm (req);
}

static void
on_network_event (SoupMessage *msg, GSocketClientEvent event, GIOStream *conn, gpointer user_data)
{
  if (event == G_SOCKET_CLIENT_COMPLETE)
    mark_connected (user_data);
}

/* A reused connection has no network events; writing the request headers
 * means the connection is there. */
static void
on_wrote_headers (SoupMessage *msg, gpointer user_data)
{
  mark_connected (user_data);
}

/* Stop @req with the timeout whose deadline passed at @now, if one did:
 * the timers of both transports decide here. */
static void
timer_expire (Request *req, int64_t now)
{
  if (req->connect_deadline != 0 && now >= req->connect_deadline)
    {
      req->connect_deadline = 0;
      request_stop (req, g_error_new_literal (LARES_LLM_ERROR, LARES_LLM_ERROR_CONNECT,
                                              "the LLM server did not accept a connection within "
                                              "the connect timeout"));
    }
  else if (req->first_deadline != 0 && now >= req->first_deadline)
    {
      req->first_deadline = 0;
      request_stop (req, g_error_new (LARES_LLM_ERROR, LARES_LLM_ERROR_TIMEOUT,
                                      "no first token from the LLM within the first-token "
                                      "timeout (%" G_GUINT64_FORMAT " ms)",
                                      req->first_token_timeout_ms));
    }
  else if (req->total_deadline != 0 && now >= req->total_deadline)
    {
      req->total_deadline = 0;
      request_stop (req, g_error_new_literal (LARES_LLM_ERROR, LARES_LLM_ERROR_TIMEOUT,
                                              "the LLM answer did not end within the total "
                                              "timeout"));
    }
}

/* libsoup's timer: a GSource of the request's own. */
static gboolean
timer_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  Request *req = ((TimerSource *)source)->req;

  timer_expire (req, g_source_get_time (source));
  timer_rearm (req);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_funcs = {
  .dispatch = timer_dispatch,
};

/* The three deadlines (0 ms: that one is off), counting from the send. */
static void
timer_deadlines (Request *req, uint64_t connect_ms, uint64_t first_ms, uint64_t total_ms)
{
  int64_t now = req->start_us;

  req->connect_deadline =
      connect_ms ? now + (int64_t)MIN (connect_ms, G_MAXINT64 / 2000) * 1000 : 0;
  req->first_deadline = first_ms ? now + (int64_t)MIN (first_ms, G_MAXINT64 / 2000) * 1000 : 0;
  req->total_deadline = total_ms ? now + (int64_t)MIN (total_ms, G_MAXINT64 / 2000) * 1000 : 0;
}

static void
timer_source_start (Request *req)
{
  req->timer_source = g_source_new (&timer_funcs, sizeof (TimerSource));
  ((TimerSource *)req->timer_source)->req = req;
  g_source_set_name (req->timer_source, "lares LLM timeouts");
  timer_rearm (req);
  g_source_attach (req->timer_source, req->context);
}

/* On libsoup: runs in whatever thread cancels and only touches the
 * thread-safe @io.  On lares's transport the request's poller is touched,
 * so this must run on the thread of the request's context (lares-llm.h):
 * a cancel from elsewhere is reported, and the request then ends at its
 * next socket event or deadline. */
static void
caller_cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  Request *req = user_data;

  if (req->pool == NULL)
    {
      g_cancellable_cancel (req->io);
      return;
    }
  if (!g_main_context_acquire (req->context))
    {
      g_critical ("an LLM request on lares's own transport was cancelled outside the thread "
                  "of its main context; it stops at its next event");
      req->stopped = TRUE;
      return;
    }
  request_cancel (req);
  g_main_context_release (req->context);
}

static void
first_token (Request *req)
{
  if (req->first_token_us >= 0)
    return;
  req->first_token_us = g_get_monotonic_time () - req->start_us;
  req->first_deadline = 0;
  timer_rearm (req);
}

/* One SSE event (openai) or one NDJSON line (ollama). */
static gboolean
chunk_cb (const char *data, size_t len, gpointer user_data, GError **error)
{
  Request *req = user_data;
  LaresLlmDelta delta;

  if (!lares_llm_accum_feed (req->acc, data, len, &delta, error))
    return FALSE;
  if (delta.tool_call)
    first_token (req);
  if (delta.text_len > 0)
    {
      first_token (req);
      req->callbacks.on_text (delta.text, delta.text_len, req->user_data);
      /* on_text may have cancelled: no more text after that. */
      if (request_cancelled (req))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "the LLM request was cancelled");
          return FALSE;
        }
    }
  return TRUE;
}

static void read_more (Request *req);

/* The error to end with once @io was cancelled under a pending operation. */
static GError *
stop_reason (Request *req)
{
  if (req->stop != NULL)
    return g_error_copy (req->stop);
  return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "the LLM request was cancelled");
}

/* The stream is over (EOF or a broken connection): decide how it ended. */
static void
stream_ended (Request *req, const GError *read_error)
{
  g_autoptr (GError) error = NULL;
  LaresLlmResult *result = lares_llm_accum_result (req->acc);

  if (read_error == NULL)
    {
      gboolean ok = req->provider == LARES_LLM_OLLAMA
                        ? lares_llm_lines_finish (&req->lines, chunk_cb, req, &error)
                        : lares_llm_sse_finish (&req->sse, &error);
      if (!ok)
        {
          request_finish (req, g_steal_pointer (&error));
          return;
        }
    }
  /* A 200 with a JSON answer or an HTML page instead of an event stream. */
  if (req->provider == LARES_LLM_OPENAI && req->sse.events == 0 && req->sse.strangers > 0)
    {
      request_finish (req, g_error_new_literal (LARES_LLM_ERROR, LARES_LLM_ERROR_PROTOCOL,
                                                "the LLM server did not answer with an event "
                                                "stream"));
      return;
    }
  /* Usage may be missing when a stream is cut after its finish_reason;
   * the answer itself is whole. */
  if (result->finished || result->finish_reason != NULL)
    {
      request_finish (req, NULL);
      return;
    }
  if (read_error != NULL)
    request_finish (req, g_error_new (LARES_LLM_ERROR, LARES_LLM_ERROR_TRUNCATED,
                                      "the LLM stream broke off: %s", read_error->message));
  else
    request_finish (req,
                    g_error_new_literal (LARES_LLM_ERROR, LARES_LLM_ERROR_TRUNCATED,
                                         "the LLM stream ended before the answer was finished"));
}

static void
http_error_finish (Request *req)
{
  const char *data = req->error_body != NULL ? (const char *)req->error_body->data : "";
  size_t len = req->error_body != NULL ? req->error_body->len : 0;
  g_autofree char *text = lares_llm_error_text (data, len, ERROR_TEXT_CHARS);
  const char *phrase =
      req->msg != NULL ? soup_message_get_reason_phrase (req->msg) : req->http.reason;

  if (*text == '\0')
    request_finish (req,
                    g_error_new (LARES_LLM_ERROR, LARES_LLM_ERROR_HTTP, "LLM server answered %u %s",
                                 req->status, phrase != NULL ? phrase : ""));
  else
    request_finish (req, g_error_new (LARES_LLM_ERROR, LARES_LLM_ERROR_HTTP,
                                      "LLM server answered %u: %s", req->status, text));
}

static void
read_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Request *req = user_data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);

  if (req->done)
    goto out;
  if (n < 0)
    {
      if (g_cancellable_is_cancelled (req->io))
        {
          /* A timeout after the answer finished (the server kept the
           * body open) is not a failure. */
          if (req->stop != NULL && req->error_body == NULL &&
              lares_llm_accum_result (req->acc)->finished)
            request_finish (req, NULL);
          else
            request_finish (req, stop_reason (req));
        }
      else if (req->error_body != NULL)
        http_error_finish (req);
      else
        stream_ended (req, error);
      goto out;
    }
  req->bytes_received += (uint64_t)n;
  req->eof = n == 0;
  if (req->error_body != NULL)
    {
      size_t room = ERROR_BODY_MAX - req->error_body->len;

      g_byte_array_append (req->error_body, req->buf, (guint)MIN ((size_t)n, room));
      if (n == 0 || req->error_body->len >= ERROR_BODY_MAX)
        http_error_finish (req);
      else
        read_more (req);
      goto out;
    }
  if (n == 0)
    {
      stream_ended (req, NULL);
      goto out;
    }
  {
    gboolean ok = req->provider == LARES_LLM_OLLAMA
                      ? lares_llm_lines_feed (&req->lines, (const char *)req->buf, (size_t)n,
                                              chunk_cb, req, &error)
                      : lares_llm_sse_feed (&req->sse, (const char *)req->buf, (size_t)n, &error);
    if (g_cancellable_is_cancelled (req->io))
      request_finish (req, stop_reason (req));
    else if (!ok)
      request_finish (req, g_steal_pointer (&error));
    else
      read_more (req);
  }
out:
  request_unref (req);
}

static void
read_more (Request *req)
{
  g_input_stream_read_async (req->body, req->buf, READ_CHUNK, G_PRIORITY_DEFAULT, req->io, read_cb,
                             request_ref (req));
}

static void
send_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Request *req = user_data;
  g_autoptr (GError) error = NULL;
  GInputStream *body = soup_session_send_finish (SOUP_SESSION (source), res, &error);

  req->body = body;
  if (req->done)
    goto out;
  if (body == NULL)
    {
      if (g_cancellable_is_cancelled (req->io))
        request_finish (req, stop_reason (req));
      else
        request_finish (req, g_error_new (LARES_LLM_ERROR, LARES_LLM_ERROR_CONNECT,
                                          "could not reach the LLM server: %s", error->message));
      goto out;
    }
  mark_connected (req);
  req->status = soup_message_get_status (req->msg);
  if (!SOUP_STATUS_IS_SUCCESSFUL (req->status))
    req->error_body = g_byte_array_new ();
  read_more (req);
out:
  request_unref (req);
}

/* ---- lares's own transport ------------------------------------------- */

static void own_connect (Request *req);

/* Stopped (caller, timer, or on_text): end with the reason. */
static void
own_stopped (Request *req)
{
  /* A timeout after the answer finished (the server kept the body open)
   * is not a failure. */
  if (req->stop != NULL && req->error_body == NULL && lares_llm_accum_result (req->acc)->finished)
    request_finish (req, NULL);
  else
    request_finish (req, stop_reason (req));
}

/* The request's one poller timer: a deadline, or "now" once stopped. */
static void
own_timer_cb (LaresPollerTimer *timer, gpointer user_data)
{
  Request *req = user_data;

  request_ref (req);
  if (!req->stopped)
    timer_expire (req, g_get_monotonic_time ());
  if (req->stopped)
    own_stopped (req);
  else
    timer_rearm (req);
  request_unref (req);
}

/* The poller could not be made: end from the main loop, as any other
 * request does. */
static gboolean
own_unwatched_cb (gpointer user_data)
{
  Request *req = user_data;

  request_finish (req, stop_reason (req));
  return G_SOURCE_REMOVE;
}

static gboolean
own_head_cb (const LaresLlmHttp *http, gpointer user_data, GError **error)
{
  Request *req = user_data;

  req->status = http->status;
  if (!SOUP_STATUS_IS_SUCCESSFUL (req->status))
    req->error_body = g_byte_array_new ();
  return TRUE;
}

static gboolean
own_body_cb (const char *data, size_t len, gpointer user_data, GError **error)
{
  Request *req = user_data;

  /* Body bytes, as libsoup counts them: framing left out. */
  req->bytes_received += len;
  if (req->error_body != NULL)
    {
      size_t room = ERROR_BODY_MAX - req->error_body->len;

      g_byte_array_append (req->error_body, (const uint8_t *)data, (guint)MIN (len, room));
      return TRUE;
    }
  return req->provider == LARES_LLM_OLLAMA
             ? lares_llm_lines_feed (&req->lines, data, len, chunk_cb, req, error)
             : lares_llm_sse_feed (&req->sse, data, len, error);
}

/* The response was read to its end: keep the connection if HTTP allows,
 * before on_done, so the next request (a tool round) can take it. */
static void
own_release (Request *req)
{
  LaresLlmConn *conn = g_steal_pointer (&req->conn);

  own_unwatch (req);
  req->eof = TRUE;
  if (lares_llm_http_keep_alive (&req->http))
    lares_llm_pool_put (req->pool, conn, req->poller);
  else
    lares_llm_conn_close (conn);
}

/* The response is complete (after the end of its body, or at EOF). */
static void
own_complete (Request *req)
{
  own_release (req);
  if (req->error_body != NULL)
    http_error_finish (req);
  else
    stream_ended (req, NULL);
}

/* The connection ended: EOF (@io_error NULL) or a failed send/recv. */
static void
own_broken (Request *req, const GError *io_error)
{
  g_autoptr (GError) error = NULL;

  /* A kept-alive connection the server closed before answering (its
   * idle timeout raced our request): it never processed the request, so
   * it goes once more on a new connection (RFC 9112 §9.3.1; a chat
   * request changes nothing on the server).  Only once, and never after
   * an answer byte. */
  if (!req->got_response && req->conn->reused && !req->retried)
    {
      g_debug ("LLM connection was closed before the answer; retrying on a new one");
      req->retried = TRUE;
      own_unwatch (req);
      g_clear_pointer (&req->conn, lares_llm_conn_close);
      own_connect (req);
      return;
    }
  if (!lares_llm_http_head_done (&req->http))
    {
      request_finish (req, g_error_new (LARES_LLM_ERROR, LARES_LLM_ERROR_CONNECT,
                                        "could not reach the LLM server: %s",
                                        io_error != NULL ? io_error->message
                                                         : "the connection closed before the "
                                                           "answer"));
      return;
    }
  if (io_error == NULL && lares_llm_http_finish (&req->http, &error))
    {
      own_complete (req); /* a close-delimited body ends here */
      return;
    }
  g_clear_pointer (&req->conn, lares_llm_conn_close);
  if (req->error_body != NULL)
    http_error_finish (req);
  else
    stream_ended (req, io_error != NULL ? io_error : error);
}

static void
own_errno (Request *req, int err, const char *what)
{
  g_autoptr (GError) error =
      g_error_new (G_IO_ERROR, g_io_error_from_errno (err), "%s: %s", what, g_strerror (err));

  own_broken (req, error);
}

static void own_ready_cb (LaresPollerWatch *watch, uint32_t events, gpointer user_data);

/* Watch the connection's fd for @events (EPOLLIN or EPOLLOUT) through the
 * pool's poller: one GSource for all the connections, so a wakeup of the
 * main loop costs the same with 1 or 100 streams open.  The watch holds a
 * reference on @req. */
static void
own_watch (Request *req, uint32_t events)
{
  g_autoptr (GError) error = NULL;

  if (req->watch.added)
    {
      if (!lares_poller_modify (req->poller, &req->watch, events))
        own_errno (req, errno, "could not watch the connection");
      return;
    }
  if (!lares_poller_add (req->poller, &req->watch, req->conn->fd, events, own_ready_cb, req,
                         &error))
    {
      own_broken (req, error);
      return;
    }
  request_ref (req);
}

/* Write what the kernel takes of the request; then wait for the answer. */
static void
own_write (Request *req)
{
  size_t body_len = g_bytes_get_size (req->out_body);
  const char *body = g_bytes_get_data (req->out_body, NULL);

  while (req->out_off < req->out_head_len + body_len)
    {
      struct iovec iov[2];
      struct msghdr msg = { .msg_iov = iov };
      ssize_t n;

      if (req->out_off < req->out_head_len)
        {
          iov[0].iov_base = req->out_head + req->out_off;
          iov[0].iov_len = req->out_head_len - req->out_off;
          iov[1].iov_base = (void *)body;
          iov[1].iov_len = body_len;
          msg.msg_iovlen = 2;
        }
      else
        {
          iov[0].iov_base = (void *)(body + (req->out_off - req->out_head_len));
          iov[0].iov_len = req->out_head_len + body_len - req->out_off;
          msg.msg_iovlen = 1;
        }
      n = sendmsg (req->conn->fd, &msg, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          if (!req->watch.added)
            own_watch (req, EPOLLOUT);
          return;
        }
      if (n < 0)
        {
          own_errno (req, errno, "could not send the request");
          return;
        }
      req->out_off += (size_t)n;
    }
  /* Acknowledge every answer byte at once.  A server that leaves Nagle's
   * algorithm on (Python's http.server; cpp-httplib, so llama.cpp's
   * server, by default) holds each small write until the one before is
   * acknowledged, and Linux delays that ACK by up to 40 ms on a connection
   * in "pingpong" (interactive) mode: every token would wait for it.  A
   * receiver enters that mode only by sending data soon after receiving
   * some (tcp_event_data_sent), which is what this request just did on a
   * kept-alive connection, and TCP_QUICKACK=1 leaves it; lares sends
   * nothing more until the answer ends, so once per request is enough
   * (reads then ACK what they drain).  Measured with the peer harness's
   * Nagle-on fake: the same overhead as after every recv(), which cost 3 %
   * of the main thread. */
  (void)setsockopt (req->conn->fd, IPPROTO_TCP, TCP_QUICKACK, &(int){ 1 }, sizeof (int));
  own_watch (req, EPOLLIN);
}

/* One recv() per readable event, fed to the response reader. */
static void
own_read (Request *req)
{
  g_autoptr (GError) error = NULL;
  ssize_t n;
  gboolean ok;

  do
    n = recv (req->conn->fd, req->buf, READ_CHUNK, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        own_errno (req, errno, "the connection broke");
      return;
    }
  if (n == 0)
    {
      own_broken (req, NULL);
      return;
    }
  req->got_response = TRUE;
  ok = lares_llm_http_feed (&req->http, (const char *)req->buf, (size_t)n, &error);
  if (req->stopped)
    own_stopped (req);
  else if (!ok)
    request_finish (req, g_steal_pointer (&error));
  else if (lares_llm_http_done (&req->http))
    own_complete (req);
  else if (req->error_body != NULL && req->error_body->len >= ERROR_BODY_MAX)
    http_error_finish (req);
}

static void
own_ready_cb (LaresPollerWatch *watch, uint32_t events, gpointer user_data)
{
  Request *req = user_data;

  if (req->done || req->in_io)
    return;
  req->in_io = TRUE;
  request_ref (req);
  if (req->stopped)
    own_stopped (req);
  else if (req->out_off < req->out_head_len + g_bytes_get_size (req->out_body))
    own_write (req);
  else
    own_read (req);
  req->in_io = FALSE;
  request_unref (req);
}

/* Send the request on @conn (transfer full), fresh or from the pool. */
static void
own_begin (Request *req, LaresLlmConn *conn)
{
  req->conn = conn;
  req->out_off = 0;
  req->got_response = FALSE;
  lares_llm_http_clear (&req->http);
  lares_llm_http_init (&req->http, own_head_cb, own_body_cb, req);
  own_write (req);
}

static void
own_connect_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Request *req = user_data;
  g_autoptr (GError) error = NULL;
  LaresLlmConn *conn = lares_llm_pool_connect_finish (req->pool, res, &error);

  if (req->done)
    lares_llm_conn_close (conn);
  else if (conn == NULL)
    {
      if (req->stopped)
        request_finish (req, stop_reason (req));
      else
        request_finish (req, g_error_new (LARES_LLM_ERROR, LARES_LLM_ERROR_CONNECT,
                                          "could not reach the LLM server: %s", error->message));
    }
  else
    {
      mark_connected (req);
      own_begin (req, conn);
    }
  request_unref (req);
}

static void
own_connect (Request *req)
{
  if (req->stopped)
    return; /* the timer ends the request */
  if (req->io == NULL)
    req->io = g_cancellable_new ();
  lares_llm_pool_connect_async (req->pool, req->io, own_connect_cb, request_ref (req));
}

/* Take the pool's poller for the request's context and arm the request's
 * timer in it, before anything can stop the request.  Out of descriptors,
 * the request is stopped with CONNECT and ends from an idle source. */
static void
own_prepare (Request *req, LaresLlm *llm)
{
  g_autoptr (GError) error = NULL;
  GSource *idle;

  req->pool = lares_llm_pool_ref (llm->pool);
  req->poller = lares_llm_pool_poller (req->pool, req->context, &error);
  if (req->poller != NULL)
    {
      lares_poller_timer_init (&req->timer, own_timer_cb, req);
      timer_rearm (req);
      return;
    }
  req->stop = g_error_new (LARES_LLM_ERROR, LARES_LLM_ERROR_CONNECT,
                           "could not watch LLM connections: %s", error->message);
  req->stopped = TRUE;
  idle = g_idle_source_new ();
  g_source_set_callback (idle, own_unwatched_cb, request_ref (req), (GDestroyNotify)request_unref);
  g_source_attach (idle, req->context);
  g_source_unref (idle);
}

/* Start @req on lares's own transport.  Nothing here ends the request:
 * a failure of a kept-alive connection is retried on a new one, whose
 * outcome arrives from the main loop, and a request already stopped (the
 * caller's cancellable was cancelled before the call) ends from its timer
 * on the next dispatch. */
static void
own_start (Request *req, LaresLlm *llm, GBytes *body)
{
  LaresLlmConn *conn;

  req->out_head = g_strdup_printf ("%s%zu\r\n\r\n", llm->head_fixed, g_bytes_get_size (body));
  req->out_head_len = strlen (req->out_head);
  req->out_body = g_bytes_ref (body);
  if (req->stopped)
    return;
  conn = lares_llm_pool_take (req->pool);
  if (conn == NULL)
    {
      own_connect (req);
      return;
    }
  mark_connected (req);
  own_begin (req, conn);
}

void
lares_llm_chat (LaresLlm *llm, JsonNode *messages, JsonNode *tools, GCancellable *cancellable,
                const LaresLlmCallbacks *callbacks, gpointer user_data)
{
  Request *req;
  size_t len = 0;
  char *body;
  g_autoptr (GBytes) bytes = NULL;
  SoupMessageHeaders *headers;

  g_return_if_fail (llm != NULL);
  g_return_if_fail (messages != NULL && JSON_NODE_HOLDS_ARRAY (messages));
  g_return_if_fail (callbacks != NULL && callbacks->on_text != NULL && callbacks->on_done != NULL);

  body = lares_llm_build_request (llm, messages, tools, &len);
  bytes = g_bytes_new_take (body, len);

  req = g_malloc (sizeof *req + READ_CHUNK);
  memset (req, 0, sizeof *req);
  req->refs = 1;
  req->provider = llm->provider;
  req->context = g_main_context_ref_thread_default ();
  req->callbacks = *callbacks;
  req->user_data = user_data;
  req->acc = lares_llm_accum_new (llm->provider);
  /* Only the provider's framing; the other stays zeroed (clearing it is
   * a no-op). */
  if (llm->provider == LARES_LLM_OLLAMA)
    lares_llm_lines_init (&req->lines, LARES_LLM_LINE_MAX);
  else
    lares_llm_sse_init (&req->sse, LARES_LLM_LINE_MAX, chunk_cb, req);
  req->first_token_us = -1;
  req->first_token_timeout_ms = llm->first_token_timeout_ms;
  req->bytes_sent = len;

  req->start_us = g_get_monotonic_time ();
  timer_deadlines (req, llm->connect_timeout_ms, llm->first_token_timeout_ms,
                   llm->total_timeout_ms);
  if (llm->pool != NULL)
    own_prepare (req, llm);
  else
    {
      req->io = g_cancellable_new ();
      timer_source_start (req);
    }
  if (cancellable != NULL)
    {
      req->caller = g_object_ref (cancellable);
      /* Runs the handler at once if already cancelled: the send then
       * fails with CANCELLED right away. */
      req->caller_handler =
          g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled_cb), req, NULL);
    }
  /* Not formatted at all unless debug lines are shown (g_debug would). */
  lares_log_req (G_LOG_LEVEL_DEBUG, NULL, "LLM request: POST %s (%zu bytes)",
                 g_uri_get_path (llm->chat_uri), len);
  if (llm->pool != NULL)
    {
      /* The caller's reference stays with the request until on_done has
       * run (request_finish drops it): its timer, watch and connect need
       * not hold their own. */
      own_start (req, llm, bytes);
      return;
    }
  req->session = g_object_ref (llm->session);
  req->msg = soup_message_new_from_uri (SOUP_METHOD_POST, llm->chat_uri);
  /* A redirect would turn the POST into a GET: report it instead.
   * libsoup opens a fresh connection for every POST unless told it is
   * idempotent; a chat request may be sent again on a kept-alive
   * connection that turned out closed (the server never saw it), and
   * reusing connections saves a TLS handshake per turn. */
  soup_message_add_flags (req->msg, SOUP_MESSAGE_NO_REDIRECT | SOUP_MESSAGE_IDEMPOTENT);
  headers = soup_message_get_request_headers (req->msg);
  soup_message_headers_replace (headers, "Accept",
                                llm->provider == LARES_LLM_OLLAMA ? "application/x-ndjson"
                                                                  : "text/event-stream");
  if (llm->api_key != NULL)
    {
      g_autofree char *auth = g_strconcat ("Bearer ", llm->api_key, NULL);
      soup_message_headers_replace (headers, "Authorization", auth);
    }
  soup_message_set_request_body_from_bytes (req->msg, "application/json", bytes);
  g_signal_connect (req->msg, "network-event", G_CALLBACK (on_network_event), req);
  g_signal_connect (req->msg, "wrote-headers", G_CALLBACK (on_wrote_headers), req);

  soup_session_send_async (req->session, req->msg, G_PRIORITY_DEFAULT, req->io, send_cb, req);
}

/* ---- probe ----------------------------------------------------------- */

typedef struct
{
  GCancellable *io;     /* (owned) */
  GCancellable *caller; /* (owned ref), nullable */
  gulong caller_handler;
  GSource *timer; /* (owned) */
  gboolean timed_out;
  uint64_t timeout_ms;
  char *what; /* "GET <url>" (owned) */
} Probe;

static void
probe_free (gpointer p)
{
  Probe *probe = p;

  destroy_source (&probe->timer);
  if (probe->caller_handler != 0)
    g_cancellable_disconnect (probe->caller, probe->caller_handler);
  g_clear_object (&probe->caller);
  g_clear_object (&probe->io);
  g_free (probe->what);
  g_free (probe);
}

static gboolean
probe_timeout_cb (gpointer user_data)
{
  Probe *probe = user_data;

  g_clear_pointer (&probe->timer, g_source_unref);
  probe->timed_out = TRUE;
  g_cancellable_cancel (probe->io);
  return G_SOURCE_REMOVE;
}

static void
probe_sent_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Probe *probe = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) body = soup_session_send_finish (SOUP_SESSION (source), res, &error);
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), res);
  unsigned status;

  destroy_source (&probe->timer);
  if (body == NULL)
    {
      if (probe->caller != NULL && g_cancellable_is_cancelled (probe->caller))
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                 "the LLM probe was cancelled");
      else if (probe->timed_out)
        g_task_return_new_error (task, LARES_LLM_ERROR, LARES_LLM_ERROR_TIMEOUT,
                                 "%s: no answer within %" G_GUINT64_FORMAT " ms", probe->what,
                                 probe->timeout_ms);
      else
        g_task_return_new_error (task, LARES_LLM_ERROR, LARES_LLM_ERROR_CONNECT,
                                 "%s: could not reach the LLM server: %s", probe->what,
                                 error->message);
      return;
    }
  status = soup_message_get_status (msg);
  /* Only the status matters; dropping the unread body closes the
   * connection, which is fine for a probe. */
  g_cancellable_cancel (probe->io);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      const char *phrase = soup_message_get_reason_phrase (msg);
      g_task_return_new_error (task, LARES_LLM_ERROR, LARES_LLM_ERROR_HTTP,
                               "%s: LLM server answered %u %s", probe->what, status,
                               phrase != NULL ? phrase : "");
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
probe_cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  Probe *probe = user_data;

  g_cancellable_cancel (probe->io);
}

void
lares_llm_probe_async (LaresLlm *llm, GCancellable *cancellable, GAsyncReadyCallback callback,
                       gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autofree char *url = NULL;
  Probe *probe;

  g_return_if_fail (llm != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, lares_llm_probe_async);
  /* Report our own CANCELLED (with a message) rather than GTask's. */
  g_task_set_check_cancellable (task, FALSE);
  probe = g_new0 (Probe, 1);
  probe->io = g_cancellable_new ();
  url = g_uri_to_string_partial (llm->probe_uri, G_URI_HIDE_PASSWORD);
  probe->what = g_strdup_printf ("GET %s", url);
  /* Headers of a model list come at once: connect plus first-token time
   * bounds the wait. */
  probe->timeout_ms = llm->connect_timeout_ms + llm->first_token_timeout_ms;
  if (probe->timeout_ms == 0)
    probe->timeout_ms = PROBE_DEFAULT_MS;
  g_task_set_task_data (task, probe, probe_free);

  probe->timer = g_timeout_source_new ((guint)MIN (probe->timeout_ms, (uint64_t)G_MAXUINT));
  g_source_set_callback (probe->timer, probe_timeout_cb, probe, NULL);
  g_source_attach (probe->timer, g_main_context_get_thread_default ());
  if (cancellable != NULL)
    {
      probe->caller = g_object_ref (cancellable);
      probe->caller_handler =
          g_cancellable_connect (cancellable, G_CALLBACK (probe_cancelled_cb), probe, NULL);
    }

  msg = soup_message_new_from_uri (SOUP_METHOD_GET, llm->probe_uri);
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  if (llm->api_key != NULL)
    {
      g_autofree char *auth = g_strconcat ("Bearer ", llm->api_key, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }
  soup_session_send_async (llm->session, msg, G_PRIORITY_DEFAULT, probe->io, probe_sent_cb,
                           g_steal_pointer (&task));
}

gboolean
lares_llm_probe_finish (LaresLlm *llm, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
