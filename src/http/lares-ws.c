/* lares-ws.c — the /ws endpoint: JSON text frames, ping/pong, fan-out.
 *
 * DESIGN
 * - Each connection subscribes to the bus for its user; a published event
 *   is sent as the same bytes to every connection of that user.
 * - Incoming messages are capped at server.ws_max_message by libsoup
 *   (max-incoming-payload-size): a bigger one closes the connection with
 *   1009.  Binary frames close with 1003.  A text frame that is not a JSON
 *   object with a string "type" gets an error event and changes nothing.
 * - permessage-deflate is removed from the server: it costs 40–60% more CPU
 *   per message and ~250 KB per connection (STYLE.md §12) for chat-sized
 *   frames that are mostly small.
 * - The server's websockets array holds one LaresWs per open connection;
 *   the entry is removed on "closed", which also ends a pending shutdown.
 * - approve/reject run through the policy like every other channel; the
 *   decision outlives the connection that asked (it is not cancelled), and
 *   its refusal finds that connection again by its bus subscription id.
 * - A client that stops reading: libsoup 3.2 queues outgoing frames without
 *   a limit, so its memory would grow with every event.  Every
 *   WS_CHECK_BYTES sent, ws_send asks the kernel whether the socket has
 *   room (one poll); what was handed to libsoup while it had none counts as
 *   backlog, and past WS_BACKLOG_MAX the connection is dropped (the socket
 *   shut down: a close frame would only queue behind the rest).  While the
 *   client reads, the socket has room and the backlog is forgotten.  Cost:
 *   one poll per connection per WS_CHECK_BYTES, nothing per small event.
 */
#include "config.h"

#include "lares-http-parse.h"
#include "lares-http-private.h"

#define WS_CHECK_BYTES (64 * 1024)       /* sent between two looks at the socket */
#define WS_BACKLOG_MAX (4 * 1024 * 1024) /* queued in libsoup before the client is dropped */

typedef struct
{
  LaresServer *server;
  SoupWebsocketConnection *conn; /* (owned) */
  GSocket *socket;               /* (owned) (nullable) under conn's stream */
  int64_t user_id;
  unsigned sub_id;
  size_t unchecked; /* bytes sent since the last look at the socket */
  size_t backlog;   /* bytes sent while the socket had no room */
  gboolean dropped;
  char id[20];
} LaresWs;

/* Account for @len more bytes; FALSE once the client is too far behind. */
static gboolean
ws_keeping_up (LaresWs *ws, size_t len)
{
  ws->unchecked += len;
  if (ws->unchecked < WS_CHECK_BYTES || ws->socket == NULL)
    return TRUE;
  if (g_socket_condition_check (ws->socket, G_IO_OUT) & G_IO_OUT)
    ws->backlog = 0;
  else
    ws->backlog += ws->unchecked;
  ws->unchecked = 0;
  return ws->backlog <= WS_BACKLOG_MAX;
}

/* The socket under a connection's stream: libsoup wraps ours in its own
 * stream ("base-iostream"), and TLS wraps the TCP one ("base-io-stream").
 * (transfer full) (nullable) */
static GSocket *
stream_socket (GIOStream *io)
{
  g_autoptr (GIOStream) cur = io ? g_object_ref (io) : NULL;

  for (int depth = 0; cur != NULL && depth < 4; depth++)
    {
      const char *prop = G_IS_TLS_CONNECTION (cur) ? "base-io-stream" : "base-iostream";
      GParamSpec *spec = g_object_class_find_property (G_OBJECT_GET_CLASS (cur), prop);
      GIOStream *base = NULL;

      if (G_IS_SOCKET_CONNECTION (cur))
        return g_object_ref (g_socket_connection_get_socket (G_SOCKET_CONNECTION (cur)));
      if (spec == NULL || !(spec->flags & G_PARAM_READABLE))
        return NULL;
      g_object_get (cur, prop, &base, NULL);
      g_object_unref (cur);
      cur = base;
    }
  return NULL;
}

static void
ws_drop (LaresWs *ws)
{
  lares_log_req (G_LOG_LEVEL_WARNING, ws->id,
                 "websocket: the client stopped reading (over %u KiB waiting); dropping it",
                 WS_BACKLOG_MAX / 1024);
  ws->dropped = TRUE;
  ws->server->ws_dropped++;
  if (ws->sub_id)
    {
      lares_bus_unsubscribe (ws->server->bus, ws->sub_id);
      ws->sub_id = 0;
    }
  /* libsoup sees the end of the stream and reports the connection closed. */
  g_socket_shutdown (ws->socket, TRUE, TRUE, NULL);
}

static void
ws_send (LaresWs *ws, GBytes *payload)
{
  if (ws->dropped || soup_websocket_connection_get_state (ws->conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  if (!ws_keeping_up (ws, g_bytes_get_size (payload)))
    {
      ws_drop (ws);
      return;
    }
  soup_websocket_connection_send_message (ws->conn, SOUP_WEBSOCKET_DATA_TEXT, payload);
  ws->server->ws_sent++;
}

static void
ws_send_json (LaresWs *ws, JsonBuilder *b)
{
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (GBytes) payload = NULL;
  size_t len = 0;
  char *text;

  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, &len);
  payload = g_bytes_new_take (text, len);
  ws_send (ws, payload);
}

static void
ws_send_error (LaresWs *ws, const char *code, const char *message)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  ws->server->ws_rejected++;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "error");
  json_builder_set_member_name (b, "code");
  json_builder_add_string_value (b, code);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message);
  json_builder_end_object (b);
  ws_send_json (ws, b);
}

static void
on_bus_event (GBytes *payload, gpointer user_data)
{
  ws_send (user_data, payload);
}

/* {"type":"approve"|"reject","id":N}: decide approval N.  The outcome
 * reaches every connection of the user as a notification; a refusal is
 * an error event on this one, naming the approval. */
typedef struct
{
  LaresServer *server;
  unsigned sub_id; /* the connection's bus subscription when asked */
  int64_t user_id;
  int64_t id;
} WsDecision;

static void
ws_decided (const LaresApproval *a G_GNUC_UNUSED, const GError *error, gpointer data)
{
  WsDecision *d = data;

  if (error)
    {
      const char *code = "internal";
      g_autoptr (JsonNode) event = json_node_new (JSON_NODE_OBJECT);
      JsonObject *o = json_object_new ();

      if (g_error_matches (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND))
        code = "not_found";
      else if (g_error_matches (error, LARES_POLICY_ERROR, LARES_POLICY_ERROR_EXPIRED))
        code = "expired";
      else if (g_error_matches (error, LARES_POLICY_ERROR, LARES_POLICY_ERROR_CONFLICT))
        code = "conflict";
      else if (g_error_matches (error, LARES_POLICY_ERROR, LARES_POLICY_ERROR_DENIED))
        code = "denied";
      json_object_set_string_member (o, "type", "error");
      json_object_set_string_member (o, "code", code);
      json_object_set_string_member (
          o, "message", g_str_equal (code, "internal") ? "the decision failed" : error->message);
      json_object_set_int_member (o, "id", d->id);
      json_node_take_object (event, o);
      /* The asking connection may have closed meanwhile: then nobody hears it. */
      for (unsigned i = 0; i < d->server->websockets->len; i++)
        {
          LaresWs *ws = d->server->websockets->pdata[i];
          if (ws->sub_id != 0 && ws->sub_id == d->sub_id)
            {
              g_autoptr (JsonGenerator) gen = json_generator_new ();
              size_t len = 0;
              char *text;

              json_generator_set_root (gen, event);
              text = json_generator_to_data (gen, &len);
              {
                g_autoptr (GBytes) payload = g_bytes_new_take (text, len);
                ws->server->ws_rejected++;
                ws_send (ws, payload);
              }
              break;
            }
        }
    }
  g_free (d);
}

static void
ws_decide (LaresWs *ws, JsonObject *msg, gboolean approve)
{
  JsonNode *id = json_object_get_member (msg, "id");
  LaresActor actor = { .user_id = ws->user_id, .is_owner = TRUE, .via = "ws" };
  WsDecision *d;

  if (id == NULL || !JSON_NODE_HOLDS_VALUE (id) || json_node_get_value_type (id) != G_TYPE_INT64 ||
      json_node_get_int (id) <= 0)
    {
      ws_send_error (ws, "invalid_argument", "'id' must be a positive integer");
      return;
    }
  d = g_new0 (WsDecision, 1);
  d->server = ws->server;
  d->sub_id = ws->sub_id;
  d->user_id = ws->user_id;
  d->id = json_node_get_int (id);
  lares_policy_decide (lares_chat_get_policy (ws->server->chat), &actor, d->id, approve, ws_decided,
                       d);
}

static void
on_message (SoupWebsocketConnection *conn, int type, GBytes *message, gpointer user_data)
{
  LaresWs *ws = user_data;
  g_autoptr (JsonNode) root = NULL;
  size_t len = 0;
  const char *data = g_bytes_get_data (message, &len);
  const char *kind = NULL, *code = NULL;

  ws->server->ws_received++;
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      ws->server->ws_rejected++;
      soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA,
                                       "only JSON text frames are accepted");
      return;
    }
  /* libsoup already closes on text frames that are not UTF-8 (1007). */
  root = lares_ws_message_parse (data, len, &kind, &code);
  if (root == NULL)
    {
      ws_send_error (ws, code,
                     g_str_equal (code, "invalid_json")
                         ? "the message is not valid JSON"
                         : "a message must be a JSON object with a string \"type\"");
      return;
    }
  if (g_strcmp0 (kind, "ping") == 0)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "pong");
      json_builder_end_object (b);
      ws_send_json (ws, b);
      return;
    }
  if (g_strcmp0 (kind, "message") == 0)
    {
      g_autofree char *why = NULL;
      const char *refused =
          lares_chat_ws_message (ws->server, ws->user_id, json_node_get_object (root), &why);
      if (refused != NULL)
        ws_send_error (ws, refused, why);
      return;
    }
  if (g_strcmp0 (kind, "cancel") == 0)
    {
      lares_chat_ws_cancel (ws->server, ws->user_id, json_node_get_object (root));
      return;
    }
  if (g_strcmp0 (kind, "approve") == 0 || g_strcmp0 (kind, "reject") == 0)
    {
      ws_decide (ws, json_node_get_object (root), kind[0] == 'a');
      return;
    }
  ws_send_error (ws, "unknown_type", "this message type is not supported");
}

static void
ws_free (LaresWs *ws)
{
  if (ws->sub_id)
    lares_bus_unsubscribe (ws->server->bus, ws->sub_id);
  g_signal_handlers_disconnect_by_data (ws->conn, ws);
  g_object_unref (ws->conn);
  g_clear_object (&ws->socket);
  g_free (ws);
}

static void
on_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  LaresWs *ws = user_data;
  LaresServer *server = ws->server;

  lares_log_req (G_LOG_LEVEL_DEBUG, ws->id, "websocket closed (%u)",
                 soup_websocket_connection_get_close_code (conn));
  g_ptr_array_remove_fast (server->websockets, ws);
  ws_free (ws);
  lares_server_ws_gone (server);
}

static void
on_error (SoupWebsocketConnection *conn, GError *error, gpointer user_data)
{
  LaresWs *ws = user_data;

  lares_log_req (G_LOG_LEVEL_DEBUG, ws->id, "websocket error: %s", error->message);
}

static void
ws_connected (SoupServer *soup, SoupServerMessage *msg, const char *path,
              SoupWebsocketConnection *conn, gpointer user_data)
{
  LaresServer *server = user_data;
  LaresRequest *req = g_object_get_data (G_OBJECT (msg), "lares-request");
  LaresWs *ws = g_new0 (LaresWs, 1);

  /* libsoup reports a stolen (upgraded) request neither finished nor
   * aborted, so its in-flight count is settled here. */
  lares_server_uncount (server, msg);

  ws->server = server;
  ws->conn = g_object_ref (conn);
  ws->socket = stream_socket (soup_websocket_connection_get_io_stream (conn));
  /* The early handler authenticated the handshake, so req is there. */
  g_assert (req != NULL && req->user_id > 0);
  ws->user_id = req->user_id;
  memcpy (ws->id, req->id, sizeof ws->id);
  soup_websocket_connection_set_max_incoming_payload_size (conn, server->cfg->ws_max_message);
  soup_websocket_connection_set_keepalive_interval (
      conn, (unsigned)(server->cfg->ws_ping_interval_ms / 1000));
  g_signal_connect (conn, "message", G_CALLBACK (on_message), ws);
  g_signal_connect (conn, "closed", G_CALLBACK (on_closed), ws);
  g_signal_connect (conn, "error", G_CALLBACK (on_error), ws);
  g_ptr_array_add (server->websockets, ws);
  if (server->draining)
    {
      soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "server stopping");
      return;
    }
  ws->sub_id = lares_bus_subscribe (server->bus, ws->user_id, on_bus_event, ws);
  /* Reminders that fired while none of the user's clients listened. */
  lares_scheduler_user_connected (server->scheduler, ws->user_id);
  lares_log_req (G_LOG_LEVEL_DEBUG, ws->id, "websocket open for user %" G_GINT64_FORMAT,
                 ws->user_id);
}

/* Before the upgrade: only the exact path, only GET with a valid handshake;
 * anything else gets a JSON error like every other route. */
static void
ws_early (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
          gpointer user_data)
{
  LaresServer *server = user_data;
  LaresRequest *req = g_new0 (LaresRequest, 1);
  SoupMessageHeaders *out = soup_server_message_get_response_headers (msg);
  g_autoptr (GError) error = NULL;

  req->server = server;
  req->msg = msg;
  req->started_us = g_get_monotonic_time ();
  lares_server_next_id (server, req->id);
  g_object_set_data_full (G_OBJECT (msg), "lares-request", req, g_free);
  lares_server_count (server, msg);
  if (!lares_request_admit (req))
    return;
  soup_message_headers_replace (out, "X-Request-Id", req->id);

  if (!lares_request_check_body_framing (req))
    return;
  if (g_strcmp0 (path, "/ws") != 0)
    {
      lares_request_respond_error (req, 404, "not_found", "no such resource: %s", path);
      return;
    }
  if (g_strcmp0 (soup_server_message_get_method (msg), "GET") != 0)
    {
      soup_message_headers_replace (out, "Allow", "GET");
      lares_request_respond_error (req, 405, "method_not_allowed", "/ws takes GET only");
      return;
    }
  if (server->draining)
    {
      lares_request_respond_error (req, 503, "unavailable", "the server is shutting down");
      return;
    }
  if (!lares_request_authenticate (req))
    return;
  /* A browser sends the cookie with a cross-site handshake too (unless the
   * cookie's SameSite stops it): only our own pages may use it. */
  if (req->cred.kind == LARES_CREDENTIAL_SESSION && !lares_request_same_origin (req))
    {
      lares_request_respond_error (req, 403, "cross_site", "cross-site WebSocket refused");
      return;
    }
  if (!soup_websocket_server_check_handshake (msg, NULL, NULL, NULL, &error))
    {
      lares_request_respond_error (req, 400, "websocket_required",
                                   "/ws needs a WebSocket handshake: %s", error->message);
      return;
    }
}

void
lares_ws_setup (LaresServer *server)
{
  soup_server_remove_websocket_extension (server->soup, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
  soup_server_add_early_handler (server->soup, "/ws", ws_early, server, NULL);
  soup_server_add_websocket_handler (server->soup, "/ws", NULL, NULL, ws_connected, server, NULL);
}

void
lares_ws_close_all (LaresServer *server, unsigned short code, const char *reason)
{
  /* Closing is asynchronous: entries leave the array in on_closed. */
  for (unsigned i = 0; i < server->websockets->len; i++)
    {
      LaresWs *ws = server->websockets->pdata[i];
      SoupWebsocketState state = soup_websocket_connection_get_state (ws->conn);

      if (ws->sub_id)
        {
          lares_bus_unsubscribe (server->bus, ws->sub_id);
          ws->sub_id = 0;
        }
      if (state == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (ws->conn, code, reason);
    }
}

void
lares_ws_free_all (LaresServer *server)
{
  while (server->websockets->len > 0)
    {
      LaresWs *ws = g_ptr_array_steal_index_fast (server->websockets, 0);
      ws_free (ws);
    }
}
