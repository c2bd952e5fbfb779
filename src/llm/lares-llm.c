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
 *   operation, one held by the caller's call until the send is started.
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
 * - Timers (GSources on the caller's thread-default context) all count
 *   from the send: connect (until the connection is up: a network-event
 *   COMPLETE, or the request headers written on a reused connection),
 *   first token (the first text or tool-call piece), total.  0 disables one.
 * - Cancelling `io` is what aborts upstream: libsoup drops the connection
 *   of a message cancelled before its body was read to the end.
 */
#include "config.h"

#include "lares-llm.h"
#include "lares-llm-stream.h"

#include <libsoup/soup.h>
#include <string.h>

#define READ_CHUNK       (16 * 1024)
#define ERROR_BODY_MAX   (64 * 1024)
#define ERROR_TEXT_CHARS 200
#define IDLE_TIMEOUT_S   300
#define PROBE_DEFAULT_MS 10000

struct _LaresLlm
{
  LaresLlmProvider provider;
  char *model;     /* (owned) */
  char *api_key;   /* nullable (owned) */
  GUri *chat_uri;  /* (owned) */
  GUri *probe_uri; /* (owned) */
  uint64_t connect_timeout_ms;
  uint64_t first_token_timeout_ms;
  uint64_t total_timeout_ms;
  SoupSession *session; /* (owned; each Request holds its own ref) */
  /* The last tools array serialized, kept because it is the same registry
   * array on every request (~6 KB of JSON for the built-in tools). */
  JsonNode *tools_node; /* (owned ref): the address stays unique while held */
  char *tools_json;     /* (owned) */
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
  return g_steal_pointer (&llm);
}

void
lares_llm_free (LaresLlm *llm)
{
  if (llm == NULL)
    return;
  g_free (llm->model);
  g_free (llm->api_key);
  g_clear_pointer (&llm->chat_uri, g_uri_unref);
  g_clear_pointer (&llm->probe_uri, g_uri_unref);
  g_clear_object (&llm->session);
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
  gsize len = 0;
  g_autofree char *text = NULL;

  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, &len);
  g_string_append_len (out, text, (gssize)len);
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
      mut->tools_json = json_generator_to_data (gen, NULL);
      mut->tools_node = json_node_ref (tools);
    }
  g_string_append (out, llm->tools_json);
}

static void
append_json_string (GString *out, const char *s)
{
  g_autoptr (JsonNode) node = json_node_init_string (json_node_alloc (), s);

  append_json (out, node);
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

  out = g_string_sized_new (1024);
  g_string_append (out, "{\"model\":");
  append_json_string (out, llm->model);
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
  SoupSession *session;  /* (owned ref) */
  SoupMessage *msg;      /* (owned) */
  GInputStream *body;    /* the response body once headers arrived (owned) */
  GCancellable *caller;  /* the caller's, nullable (owned ref) */
  gulong caller_handler; /* on @caller, 0 if none */
  GCancellable *io;      /* cancels the pending send/read (owned) */
  GMainContext *context; /* where timers run (owned ref) */
  LaresLlmCallbacks callbacks;
  gpointer user_data;
  LaresLlmAccum *acc;     /* (owned) */
  LaresLlmSse sse;        /* openai */
  LaresLlmLines lines;    /* ollama */
  GError *stop;           /* why we cancelled @io ourselves (owned) */
  GSource *connect_timer; /* (owned), NULL once connected or disabled */
  GSource *first_timer;   /* (owned), NULL after the first token or disabled */
  GSource *total_timer;   /* (owned), NULL if disabled */
  uint64_t first_token_timeout_ms;
  int64_t start_us;       /* g_get_monotonic_time() at the send */
  int64_t first_token_us; /* since @start_us; -1 until then */
  uint64_t bytes_sent, bytes_received;
  unsigned status; /* HTTP status, 0 before headers */
  gboolean connected;
  gboolean eof;           /* the body was read to its end */
  gboolean done;          /* on_done has run */
  GByteArray *error_body; /* a non-2xx body, at most ERROR_BODY_MAX (owned) */
  uint8_t buf[READ_CHUNK];
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

static void
request_unref (Request *req)
{
  g_assert (req->refs > 0);
  if (--req->refs > 0)
    return;
  g_assert (req->done);
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

/* Cancel the upstream request, remembering @why (owned) as the reason. */
static void
request_stop (Request *req, GError *why)
{
  if (req->stop == NULL)
    req->stop = why;
  else
    g_error_free (why);
  g_cancellable_cancel (req->io);
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
  /* A cancelled caller gets CANCELLED whatever else went wrong meanwhile. */
  if (req->caller != NULL && g_cancellable_is_cancelled (req->caller))
    {
      g_clear_error (&error);
      error =
          g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "the LLM request was cancelled");
    }
  destroy_source (&req->connect_timer);
  destroy_source (&req->first_timer);
  destroy_source (&req->total_timer);
  if (req->caller_handler != 0)
    g_cancellable_disconnect (req->caller, req->caller_handler);
  req->caller_handler = 0;
  g_signal_handlers_disconnect_by_data (req->msg, req);
  /* Drop the upstream request unless its body was read to the end: then
   * the connection goes back to the pool for the next request. */
  if (!req->eof)
    g_cancellable_cancel (req->io);

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
}

static void
mark_connected (Request *req)
{
  req->connected = TRUE;
  destroy_source (&req->connect_timer);
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

static gboolean
connect_timeout_cb (gpointer user_data)
{
  Request *req = user_data;

  g_clear_pointer (&req->connect_timer, g_source_unref);
  request_stop (req, g_error_new_literal (LARES_LLM_ERROR, LARES_LLM_ERROR_CONNECT,
                                          "the LLM server did not accept a connection within the "
                                          "connect timeout"));
  return G_SOURCE_REMOVE;
}

static gboolean
first_token_timeout_cb (gpointer user_data)
{
  Request *req = user_data;

  g_clear_pointer (&req->first_timer, g_source_unref);
  request_stop (req, g_error_new (LARES_LLM_ERROR, LARES_LLM_ERROR_TIMEOUT,
                                  "no first token from the LLM within the first-token timeout "
                                  "(%" G_GUINT64_FORMAT " ms)",
                                  req->first_token_timeout_ms));
  return G_SOURCE_REMOVE;
}

static gboolean
total_timeout_cb (gpointer user_data)
{
  Request *req = user_data;

  g_clear_pointer (&req->total_timer, g_source_unref);
  request_stop (req, g_error_new_literal (LARES_LLM_ERROR, LARES_LLM_ERROR_TIMEOUT,
                                          "the LLM answer did not end within the total timeout"));
  return G_SOURCE_REMOVE;
}

static GSource *
start_timer (Request *req, uint64_t ms, GSourceFunc func)
{
  GSource *source;

  if (ms == 0)
    return NULL;
  source = g_timeout_source_new ((guint)MIN (ms, (uint64_t)G_MAXUINT));
  g_source_set_callback (source, func, req, NULL);
  g_source_attach (source, req->context);
  return source;
}

/* Runs in whatever thread cancels; only touches the thread-safe @io. */
static void
caller_cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  Request *req = user_data;

  g_cancellable_cancel (req->io);
}

static void
first_token (Request *req)
{
  if (req->first_token_us >= 0)
    return;
  req->first_token_us = g_get_monotonic_time () - req->start_us;
  destroy_source (&req->first_timer);
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
      if (g_cancellable_set_error_if_cancelled (req->io, error))
        return FALSE;
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
stream_ended (Request *req, GError *read_error)
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
  const char *phrase = soup_message_get_reason_phrase (req->msg);

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
  g_input_stream_read_async (req->body, req->buf, sizeof req->buf, G_PRIORITY_DEFAULT, req->io,
                             read_cb, request_ref (req));
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

  req = g_new0 (Request, 1);
  req->refs = 1;
  req->provider = llm->provider;
  req->session = g_object_ref (llm->session);
  req->io = g_cancellable_new ();
  req->context = g_main_context_ref_thread_default ();
  req->callbacks = *callbacks;
  req->user_data = user_data;
  req->acc = lares_llm_accum_new (llm->provider);
  lares_llm_sse_init (&req->sse, LARES_LLM_LINE_MAX, chunk_cb, req);
  lares_llm_lines_init (&req->lines, LARES_LLM_LINE_MAX);
  req->first_token_us = -1;
  req->first_token_timeout_ms = llm->first_token_timeout_ms;
  req->bytes_sent = len;

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

  req->start_us = g_get_monotonic_time ();
  req->connect_timer = start_timer (req, llm->connect_timeout_ms, connect_timeout_cb);
  req->first_timer = start_timer (req, llm->first_token_timeout_ms, first_token_timeout_cb);
  req->total_timer = start_timer (req, llm->total_timeout_ms, total_timeout_cb);
  if (cancellable != NULL)
    {
      req->caller = g_object_ref (cancellable);
      /* Runs the handler at once if already cancelled: the send then
       * fails with CANCELLED right away. */
      req->caller_handler =
          g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled_cb), req, NULL);
    }
  g_debug ("LLM request: POST %s (%zu bytes)", g_uri_get_path (llm->chat_uri), len);
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
