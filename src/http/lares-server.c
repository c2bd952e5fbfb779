/* lares-server.c — dispatch, the error model, lifecycle and metrics.
 *
 * DESIGN
 * - One SoupServer handler at "/" (early + normal) does our own routing
 *   against the route tables, matching the whole path (libsoup matches
 *   handler paths as prefixes, so it cannot be trusted to 404 for us).
 * - The early handler runs once headers are read: it mints the request id,
 *   finds the route, and rejects what can be rejected before the body is
 *   read (404, 405, 411, 413, 415).  Setting a status there makes libsoup
 *   skip the body, so an oversize upload is never buffered.
 * - The normal handler checks and parses the body (UTF-8, JSON, depth) and
 *   calls the route handler.  A LaresRequest lives from the early handler
 *   to its respond call; it is attached to the message as object data so an
 *   aborted connection frees it too.
 * - In-flight accounting uses the server's request-started and
 *   request-finished/-aborted signals, so shutdown waits for responses to be
 *   written, not just produced.
 * - Stop accepting: libsoup's soup_server_disconnect() also drops live
 *   connections, so we own the listening socket and shutdown(2) it instead.
 * - We accept connections ourselves and hand each to libsoup with
 *   soup_server_accept_iostream, wrapped in TLS first when serving HTTPS.
 *   A main-loop watch on that (non-blocking) socket accepts up to
 *   ACCEPT_BATCH connections a wakeup: GSocketService, used before, made a
 *   GTask, a GSource and a signal emission for every connection (~16,000
 *   instructions) and took one connection per main-loop pass.  libsoup 3.2's own accept path
 *   (soup_server_listen_socket) leaks the GSocket of every connection it
 *   accepts, about 350 bytes each, even when the connection is closed
 *   (make soak measured ~140 MB an hour at 40 requests/s; valgrind names
 *   it); this path leaks nothing.
 */
#include "config.h"

#include "lares-server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "lares-http-parse.h"
#include "lares-http-private.h"
#include "lares-util.h"
#include "lares-ws-io.h"

/* After server.shutdown_timeout has cut the remaining work short, how long
 * the cancelled turns' responses get to send their last events. */
#define SHUTDOWN_FLUSH_MS 1000

static const double latency_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1.0,  5.0 };
G_STATIC_ASSERT (G_N_ELEMENTS (latency_bounds) == 12);

/* Object data keys of a request's SoupServerMessage, interned once (the
 * string forms cost a locked lookup in GLib's quark table each time). */
static GQuark request_quark; /* "lares-request": its LaresRequest */
static GQuark counted_quark; /* "lares-counted": in the in-flight count */

void
lares_server_next_id (LaresServer *server, char out[20])
{
  static const char hex[] = "0123456789abcdef";
  uint32_t n = (uint32_t)(server->next_request++ & 0xffffffffu);

  /* id_prefix then n as "%08x", without printf: every request makes one. */
  G_STATIC_ASSERT (sizeof server->id_prefix == 9);
  memcpy (out, server->id_prefix, 8);
  for (int i = 15; i >= 8; i--, n >>= 4)
    out[i] = hex[n & 0xf];
  out[16] = '\0';
}

/* ---- requests and responses ------------------------------------------- */

static void flush_cancel (LaresRequest *req);

typedef struct
{
  GSource base;
  LaresServer *server;
} FlushSource;

static void
request_free (gpointer p)
{
  LaresRequest *req = p;

  if (req->body)
    json_node_unref (req->body);
  flush_cancel (req);
  if (req->pending)
    g_string_free (req->pending, TRUE);
  g_free (req);
}

static void
count_request (LaresServer *server, const char *route, unsigned status, int64_t started_us)
{
  char key[96]; /* "route status"; routes are names from the route tables */
  size_t n = g_strlcpy (key, route, sizeof key - 4);
  uint64_t *count;
  double secs = (double)(g_get_monotonic_time () - started_us) / 1e6;

  g_assert (n < sizeof key - 4 && status >= 100 && status <= 999);
  key[n] = ' ';
  key[n + 1] = (char)('0' + status / 100);
  key[n + 2] = (char)('0' + status / 10 % 10);
  key[n + 3] = (char)('0' + status % 10);
  key[n + 4] = '\0';
  count = g_hash_table_lookup (server->request_counts, key);
  if (count == NULL)
    {
      count = g_new0 (uint64_t, 1);
      g_hash_table_insert (server->request_counts, g_strdup (key), count);
    }
  (*count)++;
  for (size_t i = 0; i < G_N_ELEMENTS (latency_bounds); i++)
    if (secs <= latency_bounds[i])
      server->latency_buckets[i]++;
  server->latency_count++;
  server->latency_sum_s += secs;
}

static void
finish_response (LaresRequest *req, unsigned status)
{
  LaresServer *server = req->server;
  SoupServerMessage *msg = req->msg;

  g_assert (!req->done);
  req->done = TRUE;
  soup_server_message_set_status (msg, status, NULL);
  /* Answered before the body was read (an early rejection): libsoup still
   * drains the body to keep the connection in sync, but must not keep it.
   * With "Expect: 100-continue" the client is told not to send it at all. */
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  count_request (server, req->route ? req->route->name : "other", status, req->started_us);
  if (status >= 500)
    lares_log_req (G_LOG_LEVEL_WARNING, req->id, "%s %s -> %u",
                   soup_server_message_get_method (msg),
                   g_uri_get_path (soup_server_message_get_uri (msg)), status);
  else
    lares_log_req (G_LOG_LEVEL_DEBUG, req->id, "%s %s -> %u", soup_server_message_get_method (msg),
                   g_uri_get_path (soup_server_message_get_uri (msg)), status);
  if (req->paused)
    soup_server_message_unpause (msg);
  /* The request is owned by the message's object data; dropping it frees it. */
  g_object_set_qdata (G_OBJECT (msg), request_quark, NULL);
}

void
lares_server_publish_change (LaresServer *server, int64_t user_id, const char *type,
                             const char *member, JsonNode *row, int64_t id)
{
  lares_bus_publish_change (server->bus, user_id, type, member, row, id);
}

gboolean
lares_request_query_int (LaresRequest *req, const char *name, int64_t min, int64_t max,
                         int64_t *out)
{
  const char *text = lares_request_query (req, name);
  int64_t v;

  if (text == NULL)
    return TRUE;
  if (!lares_parse_int64 (text, &v) || v < min || v > max)
    {
      lares_request_respond_error (
          req, 400, "invalid_argument",
          "'%s' must be an integer from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT, name, min, max);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

static void stream_flush (LaresRequest *req);

/* The connection of a stream the I/O thread wrote is closed: the request
 * leaves the in-flight count and is freed. */
static void
stream_request_free (LaresRequest *req)
{
  SoupServerMessage *msg = g_steal_pointer (&req->stolen_from);

  lares_server_uncount (req->server, msg);
  g_object_unref (msg);
  request_free (req);
}

static void
on_stream_notice (LaresWsConn *conn, gpointer conn_data, LaresWsIoNotice what, GBytes *data,
                  unsigned short code, gpointer user_data)
{
  LaresServer *server = user_data;
  LaresRequest *req = conn_data;

  /* DROPPED was logged by the thread; CLOSED follows it. */
  if (what != LARES_WS_IO_CLOSED)
    return;
  lares_ws_io_release (server->ws_io, conn);
  req->stream_conn = NULL;
  if (!req->done)
    {
      /* The client went before the end. */
      req->done = TRUE; /* nothing may answer it now */
      flush_cancel (req);
      if (req->gone)
        req->gone (req->gone_data);
    }
  stream_request_free (req);
}

/* Take a plain connection from libsoup and give it to the I/O thread,
 * with the status line and headers libsoup would have sent.  The sends of
 * a stream (one a token) then cost the main loop a queue append, not a
 * system call and libsoup's write machinery.  TLS streams stay with
 * libsoup, which ends them with a close_notify. */
static gboolean
stream_steal (LaresRequest *req, const char *prelude)
{
  LaresServer *server = req->server;
  SoupServerMessage *msg = req->msg;
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  g_autoptr (GIOStream) stream = NULL;
  g_autoptr (GBytes) head = NULL;
  GString *text;
  SoupMessageHeadersIter iter;
  const char *name, *value;

  if (server->tls || server->ws_io == NULL)
    return FALSE;
  text = g_string_sized_new (512 + strlen (prelude));
  g_string_append (text, "HTTP/1.1 200 OK\r\n");
  soup_message_headers_iter_init (&iter, h);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    {
      g_string_append (text, name);
      g_string_append_len (text, ": ", 2);
      g_string_append (text, value);
      g_string_append_len (text, "\r\n", 2);
    }
  g_string_append (text, "\r\n");
  g_string_append (text, prelude);
  head = g_string_free_to_bytes (text);

  req->stolen_from = g_object_ref (msg);
  stream = soup_server_message_steal_connection (msg);
  if (stream == NULL)
    {
      g_clear_object (&req->stolen_from);
      return FALSE;
    }
  /* From here the request is ours, not the message's. */
  g_object_steal_qdata (G_OBJECT (msg), request_quark);
  req->stream_conn =
      lares_ws_io_add_stream (server->ws_io, stream, head, on_stream_notice, req, req->id);
  return TRUE;
}

void
lares_request_stream_begin (LaresRequest *req, const char *content_type, const char *prelude)
{
  SoupServerMessage *msg = req->msg;
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);

  g_assert (!req->done && !req->streaming);
  req->streaming = TRUE;
  soup_server_message_set_status (msg, 200, NULL);
  soup_message_headers_set_content_type (h, content_type, NULL);
  /* The connection closes after every response (see on_request), so the
   * end of the connection delimits the stream: each flush is then one
   * write, where libsoup frames a chunk with three. */
  soup_message_headers_set_encoding (h, SOUP_ENCODING_EOF);
  soup_message_headers_replace (h, "X-Accel-Buffering", "no");
  if (stream_steal (req, prelude))
    return;
  /* The headers and the prelude go at once. */
  lares_request_stream_write (req, prelude, strlen (prelude));
  stream_flush (req);
}

/* Hand what was written since the last flush on as one piece. */
static void
stream_flush (LaresRequest *req)
{
  flush_cancel (req);
  if (req->pending == NULL || req->pending->len == 0)
    return;
  if (req->stream_conn != NULL)
    {
      lares_ws_io_send_bytes (req->server->ws_io, req->stream_conn, req->pending->str,
                              req->pending->len);
      g_string_truncate (req->pending, 0);
      return;
    }
  soup_message_body_append (soup_server_message_get_response_body (req->msg), SOUP_MEMORY_COPY,
                            req->pending->str, req->pending->len);
  g_string_truncate (req->pending, 0);
  /* libsoup pauses a chunked response that ran out of chunks; unpausing
   * after adding one is the documented way on. */
  req->paused = FALSE;
  soup_server_message_unpause (req->msg);
}

static void
flush_cancel (LaresRequest *req)
{
  if (req->flush_link.data == NULL)
    return;
  g_queue_unlink (&req->server->flush_queue, &req->flush_link);
  req->flush_link.data = NULL;
}

/* The flush source does its work before the main loop sleeps, as redis
 * writes its replies in beforeSleep: GLib calls every source's prepare
 * at the start of a pass, before it polls, so what the last pass's
 * dispatches wrote to plain streams (a send, or a queue append for the
 * I/O thread) leaves then, without a pass of its own.  Streams still on
 * libsoup (TLS) wait for the dispatch: unpausing a message runs libsoup's
 * I/O, which is no work for a prepare function. */
static gboolean
flush_prepare (GSource *source, int *timeout)
{
  LaresServer *server = ((FlushSource *)source)->server;
  GList *link = server->flush_queue.head;

  *timeout = -1;
  while (link != NULL)
    {
      LaresRequest *req = link->data;

      link = link->next;
      if (req->stream_conn != NULL)
        stream_flush (req);
    }
  return server->flush_queue.length > 0;
}

static gboolean
flush_check (GSource *source)
{
  LaresServer *server = ((FlushSource *)source)->server;

  return server->flush_queue.length > 0;
}

static gboolean
flush_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  LaresServer *server = ((FlushSource *)source)->server;
  GList *link;

  /* stream_flush unlinks each one; nothing here adds to the queue. */
  while ((link = server->flush_queue.head) != NULL)
    stream_flush (link->data);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs flush_funcs = {
  .prepare = flush_prepare,
  .check = flush_check,
  .dispatch = flush_dispatch,
};

/* Writes are gathered until the main loop has dispatched what was ready
 * (see flush_prepare): the tokens of one LLM read leave as one write, a
 * few microseconds later than one by one. */
void
lares_request_stream_write (LaresRequest *req, const char *data, size_t len)
{
  g_assert (req->streaming && !req->done);
  if (req->pending == NULL)
    req->pending = g_string_sized_new (MAX (len, 1024));
  g_string_append_len (req->pending, data, len);
  if (req->flush_link.data == NULL)
    {
      req->flush_link.data = req;
      g_queue_push_tail_link (&req->server->flush_queue, &req->flush_link);
    }
}

void
lares_request_stream_end (LaresRequest *req)
{
  LaresServer *server = req->server;
  SoupServerMessage *msg = req->msg;

  g_assert (req->streaming && !req->done);
  stream_flush (req);
  req->done = TRUE;
  if (req->stream_conn != NULL)
    {
      count_request (server, req->route ? req->route->name : "other", 200, req->started_us);
      lares_log_req (G_LOG_LEVEL_DEBUG, req->id, "%s %s -> 200 (streamed)",
                     soup_server_message_get_method (msg),
                     g_uri_get_path (soup_server_message_get_uri (msg)));
      /* In flight until the thread has written the rest and the
       * connection is closed (on_stream_notice), so a shutdown waits for
       * the last bytes as it does for libsoup's responses. */
      lares_ws_io_end_stream (server->ws_io, req->stream_conn);
      return;
    }
  soup_message_body_complete (soup_server_message_get_response_body (msg));
  count_request (server, req->route ? req->route->name : "other", 200, req->started_us);
  lares_log_req (G_LOG_LEVEL_DEBUG, req->id, "%s %s -> 200 (streamed)",
                 soup_server_message_get_method (msg),
                 g_uri_get_path (soup_server_message_get_uri (msg)));
  soup_server_message_unpause (msg);
  g_object_set_qdata (G_OBJECT (msg), request_quark, NULL);
}

static void
on_message_finished (SoupServerMessage *msg, gpointer user_data)
{
  LaresRequest *req = g_object_get_qdata (G_OBJECT (msg), request_quark);

  g_signal_handlers_disconnect_by_func (msg, on_message_finished, user_data);
  if (req == NULL || req->done || req->gone == NULL)
    return;
  req->done = TRUE; /* nothing may answer it now */
  flush_cancel (req);
  req->gone (req->gone_data);
}

void
lares_request_watch_gone (LaresRequest *req, LaresRequestGoneFunc func, gpointer data)
{
  g_assert (req->gone == NULL);
  req->gone = func;
  req->gone_data = data;
  if (req->stream_conn != NULL)
    return; /* on_stream_notice calls it */
  g_signal_connect (req->msg, "finished", G_CALLBACK (on_message_finished), NULL);
}

void
lares_request_respond_text (LaresRequest *req, unsigned status, const char *content_type,
                            char *text, size_t len)
{
  soup_server_message_set_response (req->msg, content_type, SOUP_MEMORY_TAKE, text, len);
  finish_response (req, status);
}

void
lares_request_respond_json (LaresRequest *req, unsigned status, JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  size_t len = 0;
  char *text;

  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, &len);
  lares_request_respond_text (req, status, "application/json; charset=utf-8", text, len);
}

void
lares_request_respond_empty (LaresRequest *req, unsigned status)
{
  finish_response (req, status);
}

void
lares_request_respond_error (LaresRequest *req, unsigned status, const char *code,
                             const char *format, ...)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  /* Messages may quote what the client sent (a path, a field name): JSON
   * must stay valid UTF-8 whatever those bytes were. */
  if (!g_utf8_validate (message, -1, NULL))
    {
      char *valid = g_utf8_make_valid (message, -1);
      g_free (message);
      message = valid;
    }

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "error");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "code");
  json_builder_add_string_value (b, code);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message);
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  if (status >= 400 && status < 500)
    lares_log_req (G_LOG_LEVEL_DEBUG, req->id, "rejected: %s: %s", code, message);
  lares_request_respond_json (req, status, root);
}

void
lares_request_respond_gerror (LaresRequest *req, const GError *error)
{
  if (error->domain == LARES_STORE_ERROR)
    switch ((LaresStoreError)error->code)
      {
      case LARES_STORE_ERROR_NOT_FOUND:
        lares_request_respond_error (req, 404, "not_found", "%s", error->message);
        return;
      case LARES_STORE_ERROR_BUSY:
        lares_request_respond_error (req, 503, "busy", "the store is busy; try again");
        return;
      case LARES_STORE_ERROR_FULL:
        lares_request_respond_error (req, 507, "storage_full",
                                     "the disk is full; nothing was changed");
        return;
      case LARES_STORE_ERROR_CONSTRAINT:
        lares_request_respond_error (req, 409, "conflict", "the change conflicts with stored data");
        return;
      default:
        break;
      }
  if (error->domain == LARES_POLICY_ERROR)
    switch ((LaresPolicyError)error->code)
      {
      case LARES_POLICY_ERROR_CONFLICT:
        lares_request_respond_error (req, 409, "conflict", "%s", error->message);
        return;
      case LARES_POLICY_ERROR_EXPIRED:
        lares_request_respond_error (req, 409, "expired", "%s", error->message);
        return;
      case LARES_POLICY_ERROR_DENIED:
        lares_request_respond_error (req, 403, "denied", "%s", error->message);
        return;
      }
  if (error->domain == LARES_TOOL_ERROR)
    switch ((LaresToolError)error->code)
      {
      case LARES_TOOL_ERROR_INVALID_ARGS:
        lares_request_respond_error (req, 400, "invalid_args", "%s", error->message);
        return;
      case LARES_TOOL_ERROR_UNKNOWN:
        lares_request_respond_error (req, 404, "not_found", "%s", error->message);
        return;
      case LARES_TOOL_ERROR_DENIED:
        lares_request_respond_error (req, 403, "denied", "%s", error->message);
        return;
      case LARES_TOOL_ERROR_NEEDS_APPROVAL:
        lares_request_respond_error (req, 409, "needs_approval", "%s", error->message);
        return;
      case LARES_TOOL_ERROR_FAILED:
        /* The tool said why, for a person: its own words, not internals. */
        lares_request_respond_error (req, 422, "tool_failed", "%s", error->message);
        return;
      }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      lares_request_respond_error (req, 503, "unavailable", "the server is shutting down");
      return;
    }
  /* Never leak internals: log them under the request id, answer generically. */
  lares_log_req (G_LOG_LEVEL_WARNING, req->id, "internal error: %s", error->message);
  lares_request_respond_error (req, 500, "internal", "internal error (request %s)", req->id);
}

const char *
lares_request_path_name (LaresRequest *req)
{
  const char *path = g_uri_get_path (soup_server_message_get_uri (req->msg));
  const char *slash = strrchr (path, '/');

  return slash ? slash + 1 : path;
}

const char *
lares_request_query (LaresRequest *req, const char *name)
{
  const char *query = g_uri_get_query (soup_server_message_get_uri (req->msg));
  g_autoptr (GHashTable) params = NULL;
  g_autofree char *key = NULL;
  const char *value;

  if (query == NULL)
    return NULL;
  params = soup_form_decode (query);
  value = g_hash_table_lookup (params, name);
  if (value == NULL)
    return NULL;
  /* Keep the string alive as long as the request by parking it on the
   * message, under a prefix that cannot collide with our own keys. */
  key = g_strconcat ("lares-query:", name, NULL);
  g_object_set_data_full (G_OBJECT (req->msg), key, g_strdup (value), g_free);
  return g_object_get_data (G_OBJECT (req->msg), key);
}

/* ---- body checks ------------------------------------------------------ */

/* Parse the request body as one JSON object; respond with the error and
 * return FALSE when it is not acceptable. */
static gboolean
parse_body (LaresRequest *req)
{
  SoupMessageBody *body = soup_server_message_get_request_body (req->msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  g_autofree char *message = NULL;
  const char *code = NULL;
  size_t len = 0;
  const char *data = g_bytes_get_data (bytes, &len);

  if (req->route->flags & LARES_ROUTE_JSON_ANY)
    req->body = lares_json_value_parse (data, len, lares_request_max_body (req), &code, &message);
  else
    req->body = lares_json_body_parse (data, len, lares_request_max_body (req), &code, &message);
  if (req->body != NULL)
    return TRUE;
  lares_request_respond_error (req, g_str_equal (code, "payload_too_large") ? 413 : 400, code, "%s",
                               message);
  return FALSE;
}

/* ---- handlers --------------------------------------------------------- */

uint64_t
lares_request_max_body (LaresRequest *req)
{
  if (req->route != NULL && req->route->max_body != 0)
    return req->route->max_body;
  return req->server->cfg->max_body;
}

gboolean
lares_request_check_body_framing (LaresRequest *req)
{
  SoupMessageHeaders *in = soup_server_message_get_request_headers (req->msg);
  SoupEncoding enc = soup_message_headers_get_encoding (in);
  uint64_t max = lares_request_max_body (req);

  /* Bodies must declare their length so the cap applies before reading. */
  if (enc == SOUP_ENCODING_CHUNKED || enc == SOUP_ENCODING_EOF)
    {
      lares_request_respond_error (req, 411, "length_required",
                                   "send the body with a Content-Length");
      return FALSE;
    }
  if (enc == SOUP_ENCODING_CONTENT_LENGTH &&
      (uint64_t)soup_message_headers_get_content_length (in) > max)
    {
      lares_request_respond_error (req, 413, "payload_too_large",
                                   "the request body is larger than %" G_GUINT64_FORMAT " bytes",
                                   max);
      return FALSE;
    }
  return TRUE;
}

gboolean
lares_request_admit (LaresRequest *req)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (req->msg);
  GInetAddress *addr = NULL;
  GIOStream *stream;

  G_STATIC_ASSERT (sizeof req->ip == LARES_ADDRESS_TEXT_MAX);
  if (remote != NULL && G_IS_INET_SOCKET_ADDRESS (remote))
    {
      addr = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote));
      lares_inet_address_format (addr, req->ip);
    }
  if (addr != NULL && lares_allow_list_allows (req->server->allow, addr))
    return TRUE;
  /* Not on the allowlist: no answer at all, just a closed connection.  A
   * stolen message is reported neither finished nor aborted, so settle the
   * in-flight count here. */
  lares_log_req (G_LOG_LEVEL_INFO, req->id, "dropped a connection from %s (not in allow_from)",
                 req->ip[0] ? req->ip : "an unknown address");
  req->done = TRUE;
  stream = soup_server_message_steal_connection (req->msg);
  if (stream)
    {
      g_io_stream_close (stream, NULL, NULL);
      g_object_unref (stream);
    }
  lares_server_uncount (req->server, req->msg);
  return FALSE;
}

static void
early_handler (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
               gpointer user_data)
{
  LaresServer *server = user_data;
  SoupMessageHeaders *in = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *out = soup_server_message_get_response_headers (msg);
  LaresRequest *req = g_new0 (LaresRequest, 1);
  g_autoptr (GString) allow = g_string_new (NULL);
  const char *method = soup_server_message_get_method (msg);
  gboolean id_ok = TRUE;

  req->server = server;
  req->msg = msg; /* the message owns req, so no ref is needed */
  req->started_us = g_get_monotonic_time ();
  lares_server_next_id (server, req->id);
  g_object_set_qdata_full (G_OBJECT (msg), request_quark, req, request_free);
  lares_server_count (server, msg);
  if (!lares_request_admit (req))
    return;

  /* Appended, not replaced: libsoup has set only Date and Server so far,
   * and a replace would first search the headers for each name. */
  soup_message_headers_append (out, "X-Request-Id", req->id);
  soup_message_headers_append (out, "X-Content-Type-Options", "nosniff");
  soup_message_headers_append (out, "Cache-Control", "no-store");
  /* One request per connection.  libsoup 3.2 leaks a kept-alive connection
   * (its socket, fd included) when the client closes it while idle, which
   * is what browsers and HTTP clients do; the fix (upstream commit
   * d20c6601, in 3.3) is not in Debian 12.  A connection the server closes
   * itself is released.  NEEDSWORK: keep-alive once the fix is there. */
  soup_message_headers_append (out, "Connection", "close");

  req->route = lares_route_find (method, path, &req->path_id, &id_ok, allow);
  if (req->route == NULL && allow->len > 0)
    {
      soup_message_headers_replace (out, "Allow", allow->str);
      lares_request_respond_error (req, 405, "method_not_allowed",
                                   "%s is not allowed on %s (allowed: %s)", method, path,
                                   allow->str);
      return;
    }
  if (req->route == NULL || !id_ok)
    {
      lares_request_respond_error (req, 404, "not_found", "no such resource: %s", path);
      return;
    }
  if (!lares_request_check_body_framing (req))
    return;
  /* Credentials are checked before the body is read. */
  if (!lares_request_check_access (req))
    return;
  if (req->route->flags & LARES_ROUTE_JSON_BODY)
    {
      const char *ctype = soup_message_headers_get_content_type (in, NULL);

      if (g_strcmp0 (ctype, "application/json") != 0)
        {
          lares_request_respond_error (req, 415, "unsupported_media_type",
                                       "send the body as application/json");
          return;
        }
    }
}

static void
main_handler (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
              gpointer user_data)
{
  LaresRequest *req = g_object_get_qdata (G_OBJECT (msg), request_quark);

  if (req == NULL || req->done)
    return; /* the early handler already answered */
  if ((req->route->flags & LARES_ROUTE_JSON_BODY) && !parse_body (req))
    return;
  req->route->handler (req);
  /* Not answered yet: the handler went asynchronous.  Keep the message
   * paused until lares_request_respond_*() resumes it. */
  req = g_object_get_qdata (G_OBJECT (msg), request_quark);
  if (req != NULL && !req->done && !req->streaming)
    {
      req->paused = TRUE;
      soup_server_message_pause (msg);
    }
}

/* ---- lifecycle -------------------------------------------------------- */

static void
maybe_finish_shutdown (LaresServer *server)
{
  GTask *task;

  if (server->shutdown_task == NULL)
    return;
  if (server->chat && lares_chat_n_running (server->chat) > 0)
    return; /* turns end first, even after the timeout: they are cancelled then */
  /* After the timeout, the cancelled turns' streams still get their last
   * events (turn_end) out, within SHUTDOWN_FLUSH_MS. */
  if (!server->shutdown_flushed && (server->inflight > 0 || server->websockets->len > 0))
    return;
  task = g_steal_pointer (&server->shutdown_task);
  g_clear_handle_id (&server->shutdown_timer, g_source_remove);
  g_task_return_boolean (task, !server->shutdown_cut);
  g_object_unref (task);
}

/* In-flight accounting.  A request counts from the moment its headers
 * reach an early handler until libsoup reports it finished or aborted (or
 * we steal its connection).  Counting from libsoup's request-started would
 * also count connections that never send a request (a port scan, a TLS
 * handshake that fails): libsoup never reports those finished, and
 * shutdown would wait out its timeout for them. */
void
lares_server_count (LaresServer *server, SoupServerMessage *msg)
{
  g_object_set_qdata (G_OBJECT (msg), counted_quark, GINT_TO_POINTER (1));
  server->inflight++;
}

void
lares_server_uncount (LaresServer *server, SoupServerMessage *msg)
{
  if (g_object_get_qdata (G_OBJECT (msg), counted_quark) == NULL)
    return;
  g_object_set_qdata (G_OBJECT (msg), counted_quark, NULL);
  g_assert (server->inflight > 0);
  server->inflight--;
  maybe_finish_shutdown (server);
}

static void
on_request_done (SoupServer *soup, SoupServerMessage *msg, gpointer user_data)
{
  lares_server_uncount (user_data, msg);
}

static void
chat_idle (gpointer user_data)
{
  maybe_finish_shutdown (user_data);
}

LaresServer *
lares_server_new (const LaresConfig *cfg, LaresStore *store, LaresBus *bus, GError **error)
{
  g_autoptr (LaresServer) server = g_new0 (LaresServer, 1);
  g_autoptr (GTlsCertificate) cert = NULL;

  request_quark = g_quark_from_static_string ("lares-request");
  counted_quark = g_quark_from_static_string ("lares-counted");
  server->cfg = cfg;
  server->store = store;
  server->bus = bus;
  server->started_us = g_get_monotonic_time ();
  server->websockets = g_ptr_array_new ();
  server->request_counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_queue_init (&server->flush_queue);
  server->flush_source = g_source_new (&flush_funcs, sizeof (FlushSource));
  ((FlushSource *)server->flush_source)->server = server;
  g_source_set_name (server->flush_source, "lares stream flush");
  g_source_attach (server->flush_source, g_main_context_get_thread_default ());
  g_snprintf (server->id_prefix, sizeof server->id_prefix, "%08x", g_random_int ());
  server->login_limit = lares_rate_limit_new (
      (unsigned)cfg->login_max_failures, (int64_t)cfg->login_window_ms, (int64_t)cfg->lockout_ms);
  server->allow = lares_allow_list_parse (cfg->allow_from, error);
  if (server->allow == NULL)
    return NULL;
  server->auth_db = lares_store_open_reader_cached (store, error);
  if (server->auth_db == NULL)
    return NULL;
  if (*cfg->tls_cert != '\0')
    {
      cert = g_tls_certificate_new_from_files (cfg->tls_cert, cfg->tls_key, error);
      if (cert == NULL)
        {
          g_prefix_error (error, "server.tls_cert/server.tls_key: ");
          return NULL;
        }
      server->tls = TRUE;
    }

  /* TLS is started on each connection in on_incoming, not by libsoup. */
  server->tls_cert = g_steal_pointer (&cert);
  server->soup = soup_server_new ("server-header", "lares", NULL);
  soup_server_add_early_handler (server->soup, NULL, early_handler, server, NULL);
  soup_server_add_handler (server->soup, NULL, main_handler, server, NULL);
  g_signal_connect (server->soup, "request-finished", G_CALLBACK (on_request_done), server);
  g_signal_connect (server->soup, "request-aborted", G_CALLBACK (on_request_done), server);
  if (!lares_ws_setup (server, error))
    return NULL;
  /* Jobs that fell due while lares was down fire from the first main-loop
   * pass, marked late. */
  server->scheduler = lares_scheduler_new (store, bus, NULL);
  if (!lares_scheduler_start (server->scheduler, error))
    return NULL;
  server->chat = lares_chat_new (cfg, store, bus, error);
  if (server->chat == NULL)
    return NULL;
  lares_chat_set_scheduler (server->chat, server->scheduler);
  lares_chat_set_idle_func (server->chat, chat_idle, server);
  return g_steal_pointer (&server);
}

void
lares_server_free (LaresServer *server)
{
  if (server == NULL)
    return;
  if (server->soup)
    {
      lares_ws_free_all (server);
      g_signal_handlers_disconnect_by_data (server->soup, server);
      soup_server_disconnect (server->soup);
      g_clear_object (&server->soup);
    }
  /* Approvals still running when the chat goes must not reach a freed scheduler. */
  if (server->chat)
    lares_chat_set_scheduler (server->chat, NULL);
  g_clear_pointer (&server->scheduler, lares_scheduler_free);
  g_clear_pointer (&server->chat, lares_chat_free);
  g_clear_pointer (&server->auth_db, lares_sql_close);
  g_clear_pointer (&server->login_limit, lares_rate_limit_free);
  g_clear_pointer (&server->allow, lares_allow_list_free);
  g_clear_handle_id (&server->accept_source, g_source_remove);
  g_clear_handle_id (&server->accept_pause, g_source_remove);
  g_clear_object (&server->listen_socket);
  g_clear_object (&server->local_address);
  g_clear_object (&server->tls_cert);
  g_clear_handle_id (&server->shutdown_timer, g_source_remove);
  /* Requests that outlive the server must not unlink from it. */
  while (server->flush_queue.head != NULL)
    flush_cancel (server->flush_queue.head->data);
  if (server->flush_source)
    {
      g_source_destroy (server->flush_source);
      g_clear_pointer (&server->flush_source, g_source_unref);
    }
  g_ptr_array_unref (server->websockets);
  g_hash_table_destroy (server->request_counts);
  g_free (server);
}

/* Connections accepted per wakeup of the listening socket: a burst is
 * taken in a few main-loop passes, and other sources get their turn in
 * between. */
#define ACCEPT_BATCH    16
#define ACCEPT_PAUSE_MS 100 /* after accept(2) failed for want of a resource */

/* A new connection (see DESIGN): to libsoup, through TLS when serving it. */
static void
take_connection (LaresServer *server, GSocketConnection *conn)
{
  /* libsoup wants both addresses.  The local one is the listening address
   * unless that is a wildcard, and asking the socket costs a getsockname
   * and two objects a connection. */
  g_autoptr (GSocketAddress) local = server->local_address
                                         ? g_object_ref (server->local_address)
                                         : g_socket_connection_get_local_address (conn, NULL);
  g_autoptr (GSocketAddress) remote = g_socket_connection_get_remote_address (conn, NULL);
  g_autoptr (GIOStream) stream = NULL;
  g_autoptr (GError) error = NULL;

  if (local == NULL || remote == NULL)
    return; /* the peer is already gone */
  /* As libsoup does for the connections it accepts: answers are written in
   * pieces, and Nagle would hold the later ones back. */
  (void)g_socket_set_option (g_socket_connection_get_socket (conn), IPPROTO_TCP, TCP_NODELAY, TRUE,
                             NULL);
  if (server->tls_cert != NULL)
    {
      stream =
          G_IO_STREAM (g_tls_server_connection_new (G_IO_STREAM (conn), server->tls_cert, &error));
      if (stream == NULL)
        {
          g_warning ("cannot start TLS on a new connection: %s", error->message);
          return;
        }
      g_tls_connection_set_require_close_notify (G_TLS_CONNECTION (stream), FALSE);
    }
  else
    stream = g_object_ref (G_IO_STREAM (conn));
  if (!soup_server_accept_iostream (server->soup, stream, local, remote, &error))
    g_debug ("cannot take a new connection: %s", error->message);
}

static gboolean on_listen_ready (int fd, GIOCondition condition, gpointer user_data);

static gboolean
accept_resume (gpointer user_data)
{
  LaresServer *server = user_data;

  server->accept_pause = 0;
  server->accept_source =
      g_unix_fd_add (g_socket_get_fd (server->listen_socket), G_IO_IN, on_listen_ready, server);
  return G_SOURCE_REMOVE;
}

static gboolean
on_listen_ready (int fd, GIOCondition condition, gpointer user_data)
{
  LaresServer *server = user_data;

  /* A handler may start the shutdown, which removes this watch. */
  for (int i = 0; i < ACCEPT_BATCH && server->accept_source != 0; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocket) sock = NULL;
      g_autoptr (GSocketConnection) conn = NULL;
      /* What g_socket_accept does, without making a GError of the EAGAIN
       * that ends every batch. */
      int conn_fd = accept4 (fd, NULL, NULL, SOCK_CLOEXEC);

      if (conn_fd < 0)
        {
          int errsv = errno;

          if (errsv == EINTR)
            continue;
          if (errsv == EAGAIN || errsv == EWOULDBLOCK)
            break; /* nothing more to take */
          /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection stays in the
           * backlog and the socket readable, so the watch would fire
           * again at once, a busy loop logging this line.  Pause it; the
           * waiting clients are taken when it comes back. */
          g_warning ("cannot accept a connection: %s; trying again in %d ms", g_strerror (errsv),
                     ACCEPT_PAUSE_MS);
          server->accept_source = 0;
          server->accept_pause = g_timeout_add (ACCEPT_PAUSE_MS, accept_resume, server);
          return G_SOURCE_REMOVE;
        }
      sock = g_socket_new_from_fd (conn_fd, &error);
      if (sock == NULL)
        {
          g_warning ("cannot accept a connection: %s", error->message);
          close (conn_fd);
          continue;
        }
      conn = g_socket_connection_factory_create_connection (sock);
      take_connection (server, conn);
    }
  return G_SOURCE_CONTINUE;
}

gboolean
lares_server_listen (LaresServer *server, GError **error)
{
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (server->cfg->listen);
  g_autoptr (GSocketAddress) sa = NULL;
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GSocket) sock = NULL;

  if (addr == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad listen address '%s'",
                   server->cfg->listen);
      return FALSE;
    }
  sa = g_inet_socket_address_new (addr, (uint16_t)server->cfg->port);
  sock = g_socket_new (g_inet_address_get_family (addr), G_SOCKET_TYPE_STREAM,
                       G_SOCKET_PROTOCOL_TCP, error);
  if (sock == NULL)
    return FALSE;
  if (!g_socket_bind (sock, sa, TRUE, error))
    {
      g_prefix_error (error, "cannot listen on %s:%" G_GINT64_FORMAT ": ", server->cfg->listen,
                      server->cfg->port);
      return FALSE;
    }
  g_socket_set_listen_backlog (sock, 1024);
  if (!g_socket_listen (sock, error))
    return FALSE;
  /* GSocket keeps its descriptor non-blocking: accept(2) answers EAGAIN
   * once the backlog is empty (on_listen_ready). */
  server->accept_source = g_unix_fd_add (g_socket_get_fd (sock), G_IO_IN, on_listen_ready, server);
  bound = g_socket_get_local_address (sock, error);
  if (bound == NULL)
    return FALSE;
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  if (!g_inet_address_get_is_any (addr))
    server->local_address = g_object_ref (bound);
  server->listen_socket = g_steal_pointer (&sock);
  return TRUE;
}

uint16_t
lares_server_get_port (LaresServer *server)
{
  return server->port;
}

static gboolean
shutdown_flush_cb (gpointer user_data)
{
  LaresServer *server = user_data;

  server->shutdown_timer = 0;
  server->shutdown_flushed = TRUE;
  maybe_finish_shutdown (server);
  return G_SOURCE_REMOVE;
}

static gboolean
shutdown_timeout_cb (gpointer user_data)
{
  LaresServer *server = user_data;

  server->shutdown_cut = TRUE;
  /* The same timer handle, now for the flush grace. */
  server->shutdown_timer = g_timeout_add (SHUTDOWN_FLUSH_MS, shutdown_flush_cb, server);
  g_warning ("shutdown: %u request(s), %u WebSocket(s) and %u turn(s) still open after "
             "%" G_GUINT64_FORMAT " ms; cutting them short",
             server->inflight, server->websockets->len, lares_chat_n_running (server->chat),
             server->cfg->shutdown_timeout_ms);
  /* Cancelled turns still record how they ended before the store closes. */
  lares_chat_cancel_all (server->chat);
  maybe_finish_shutdown (server);
  return G_SOURCE_REMOVE;
}

void
lares_server_shutdown_async (LaresServer *server, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);

  g_task_set_source_tag (task, lares_server_shutdown_async);
  if (server->shutdown_task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING, "already shutting down");
      g_object_unref (task);
      return;
    }
  server->draining = TRUE;
  server->shutdown_task = task;
  /* Stop accepting: remove our watch, and shutdown(2) the listening socket
   * so it takes no more connections, while open connections keep going. */
  g_clear_handle_id (&server->accept_source, g_source_remove);
  g_clear_handle_id (&server->accept_pause, g_source_remove);
  if (server->listen_socket)
    (void)shutdown (g_socket_get_fd (server->listen_socket), SHUT_RDWR);
  lares_ws_close_all (server, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "server stopping");
  server->shutdown_timer =
      g_timeout_add ((unsigned)server->cfg->shutdown_timeout_ms, shutdown_timeout_cb, server);
  maybe_finish_shutdown (server);
}

gboolean
lares_server_shutdown_finish (LaresServer *server, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
lares_server_ws_gone (LaresServer *server)
{
  maybe_finish_shutdown (server);
}

/* ---- metrics ---------------------------------------------------------- */

static int
compare_keys (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

char *
lares_server_render_metrics (LaresServer *server)
{
  GString *out = g_string_sized_new (4096);
  g_autofree gpointer *keys = NULL;
  unsigned n_keys = 0;
  LaresStoreStats st;
  uint64_t cumulative = 0;

  g_string_append_printf (out,
                          "# HELP lares_build_info Build information.\n"
                          "# TYPE lares_build_info gauge\n"
                          "lares_build_info{version=\"%s\"} 1\n",
                          LARES_VERSION);
  g_string_append_printf (out,
                          "# HELP lares_uptime_seconds Seconds since the daemon started.\n"
                          "# TYPE lares_uptime_seconds gauge\n"
                          "lares_uptime_seconds %.3f\n",
                          (double)(g_get_monotonic_time () - server->started_us) / 1e6);
  g_string_append_printf (out,
                          "# HELP lares_process_resident_memory_bytes Resident set size.\n"
                          "# TYPE lares_process_resident_memory_bytes gauge\n"
                          "lares_process_resident_memory_bytes %" G_GUINT64_FORMAT "\n",
                          lares_proc_rss_kib () * 1024);
  g_string_append_printf (out,
                          "# HELP lares_process_open_fds Open file descriptors.\n"
                          "# TYPE lares_process_open_fds gauge\n"
                          "lares_process_open_fds %d\n",
                          lares_proc_open_fds ());

  g_string_append (out, "# HELP lares_http_requests_total HTTP requests by route and status.\n"
                        "# TYPE lares_http_requests_total counter\n");
  keys = g_hash_table_get_keys_as_array (server->request_counts, &n_keys);
  qsort (keys, n_keys, sizeof (gpointer), compare_keys);
  for (unsigned i = 0; i < n_keys; i++)
    {
      const char *key = keys[i];
      const char *space = strrchr (key, ' ');
      uint64_t *count = g_hash_table_lookup (server->request_counts, key);
      g_string_append_printf (
          out, "lares_http_requests_total{route=\"%.*s\",code=\"%s\"} %" G_GUINT64_FORMAT "\n",
          (int)(space - key), key, space + 1, *count);
    }

  g_string_append (out, "# HELP lares_http_request_duration_seconds Time to produce a response.\n"
                        "# TYPE lares_http_request_duration_seconds histogram\n");
  for (size_t i = 0; i < G_N_ELEMENTS (latency_bounds); i++)
    {
      cumulative = server->latency_buckets[i];
      g_string_append_printf (
          out, "lares_http_request_duration_seconds_bucket{le=\"%g\"} %" G_GUINT64_FORMAT "\n",
          latency_bounds[i], cumulative);
    }
  g_string_append_printf (
      out,
      "lares_http_request_duration_seconds_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT "\n"
      "lares_http_request_duration_seconds_sum %.6f\n"
      "lares_http_request_duration_seconds_count %" G_GUINT64_FORMAT "\n",
      server->latency_count, server->latency_sum_s, server->latency_count);

  g_string_append_printf (out,
                          "# HELP lares_ws_connections Open WebSocket connections.\n"
                          "# TYPE lares_ws_connections gauge\n"
                          "lares_ws_connections %u\n"
                          "# HELP lares_ws_messages_received_total WebSocket messages received.\n"
                          "# TYPE lares_ws_messages_received_total counter\n"
                          "lares_ws_messages_received_total %" G_GUINT64_FORMAT "\n"
                          "# HELP lares_ws_messages_sent_total WebSocket messages sent.\n"
                          "# TYPE lares_ws_messages_sent_total counter\n"
                          "lares_ws_messages_sent_total %" G_GUINT64_FORMAT "\n"
                          "# HELP lares_ws_messages_rejected_total Bad WebSocket messages.\n"
                          "# TYPE lares_ws_messages_rejected_total counter\n"
                          "lares_ws_messages_rejected_total %" G_GUINT64_FORMAT "\n",
                          server->websockets->len, server->ws_received, server->ws_sent,
                          server->ws_rejected);
  g_string_append_printf (out,
                          "# HELP lares_ws_dropped_total WebSocket clients dropped for not "
                          "reading.\n"
                          "# TYPE lares_ws_dropped_total counter\n"
                          "lares_ws_dropped_total %" G_GUINT64_FORMAT "\n",
                          server->ws_dropped);
  {
    LaresChatStats cs;

    lares_chat_get_stats (server->chat, &cs);
    g_string_append_printf (out,
                            "# HELP lares_turns_running Conversation turns in progress.\n"
                            "# TYPE lares_turns_running gauge\n"
                            "lares_turns_running %u\n"
                            "# HELP lares_turns_total Conversation turns ended, by the path that "
                            "answered.\n"
                            "# TYPE lares_turns_total counter\n",
                            cs.running);
    for (unsigned i = 0; i < G_N_ELEMENTS (lares_chat_paths); i++)
      g_string_append_printf (out, "lares_turns_total{path=\"%s\"} %" G_GUINT64_FORMAT "\n",
                              lares_chat_paths[i], cs.by_path[i]);
    g_string_append_printf (
        out,
        "# HELP lares_turns_failed_total Turns that ended with an error.\n"
        "# TYPE lares_turns_failed_total counter\n"
        "lares_turns_failed_total %" G_GUINT64_FORMAT "\n"
        "# HELP lares_turns_cancelled_total Turns stopped by the user.\n"
        "# TYPE lares_turns_cancelled_total counter\n"
        "lares_turns_cancelled_total %" G_GUINT64_FORMAT "\n"
        "# HELP lares_llm_calls_total Requests to the LLM.\n"
        "# TYPE lares_llm_calls_total counter\n"
        "lares_llm_calls_total %" G_GUINT64_FORMAT "\n"
        "# HELP lares_llm_failures_total LLM requests that failed or timed out.\n"
        "# TYPE lares_llm_failures_total counter\n"
        "lares_llm_failures_total %" G_GUINT64_FORMAT "\n"
        "# HELP lares_llm_tokens_total Tokens of LLM requests, by kind.\n"
        "# TYPE lares_llm_tokens_total counter\n"
        "lares_llm_tokens_total{kind=\"prompt\"} %" G_GUINT64_FORMAT "\n"
        "lares_llm_tokens_total{kind=\"completion\"} %" G_GUINT64_FORMAT "\n",
        cs.turns_error, cs.turns_cancelled, cs.llm_calls, cs.llm_failures, cs.prompt_tokens,
        cs.completion_tokens);
  }

  lares_store_get_stats (server->store, &st);
  g_string_append_printf (out,
                          "# HELP lares_store_writes_total Committed writes.\n"
                          "# TYPE lares_store_writes_total counter\n"
                          "lares_store_writes_total %" G_GUINT64_FORMAT "\n"
                          "# HELP lares_store_commits_total Transactions (one fsync each) that "
                          "committed them.\n"
                          "# TYPE lares_store_commits_total counter\n"
                          "lares_store_commits_total %" G_GUINT64_FORMAT "\n"
                          "# HELP lares_store_write_errors_total Failed write transactions.\n"
                          "# TYPE lares_store_write_errors_total counter\n"
                          "lares_store_write_errors_total %" G_GUINT64_FORMAT "\n"
                          "# HELP lares_store_write_seconds_total Time in write transactions.\n"
                          "# TYPE lares_store_write_seconds_total counter\n"
                          "lares_store_write_seconds_total %.6f\n"
                          "# HELP lares_store_reads_total Read operations.\n"
                          "# TYPE lares_store_reads_total counter\n"
                          "lares_store_reads_total %" G_GUINT64_FORMAT "\n"
                          "# HELP lares_store_read_errors_total Failed read operations.\n"
                          "# TYPE lares_store_read_errors_total counter\n"
                          "lares_store_read_errors_total %" G_GUINT64_FORMAT "\n"
                          "# HELP lares_store_queue Store operations waiting or running.\n"
                          "# TYPE lares_store_queue gauge\n"
                          "lares_store_queue %u\n",
                          st.writes, st.commits, st.write_errors, (double)st.write_us_total / 1e6,
                          st.reads, st.read_errors, st.queued);
  {
    LaresSchedulerStats ss;

    lares_scheduler_get_stats (server->scheduler, &ss);
    g_string_append_printf (
        out,
        "# HELP lares_jobs_pending Reminders, timers and alarms waiting to fire.\n"
        "# TYPE lares_jobs_pending gauge\n"
        "lares_jobs_pending %u\n"
        "# HELP lares_jobs_fired_total Firings recorded, by whether they were late.\n"
        "# TYPE lares_jobs_fired_total counter\n"
        "lares_jobs_fired_total{late=\"false\"} %" G_GUINT64_FORMAT "\n"
        "lares_jobs_fired_total{late=\"true\"} %" G_GUINT64_FORMAT "\n"
        "# HELP lares_jobs_delivered_total Firings that reached at least one connection.\n"
        "# TYPE lares_jobs_delivered_total counter\n"
        "lares_jobs_delivered_total %" G_GUINT64_FORMAT "\n"
        "# HELP lares_jobs_fire_retries_total Firing writes that failed and were retried.\n"
        "# TYPE lares_jobs_fire_retries_total counter\n"
        "lares_jobs_fire_retries_total %" G_GUINT64_FORMAT "\n",
        ss.pending, ss.fired - ss.late, ss.late, ss.delivered, ss.retries);
  }
  g_string_append_printf (out,
                          "# HELP lares_approvals_pending High-risk actions waiting for approval.\n"
                          "# TYPE lares_approvals_pending gauge\n"
                          "lares_approvals_pending %u\n",
                          lares_policy_n_pending (lares_chat_get_policy (server->chat)));
  return g_string_free (out, FALSE);
}
