/* lares-ws.c — the /ws endpoint: handshake, JSON messages, fan-out.
 *
 * DESIGN
 * - The handshake is libsoup's HTTP: ws_early authenticates and checks it
 *   (exact path, GET, credentials, same origin for cookies, a valid RFC
 *   6455 handshake) before anything else, with the same JSON errors as
 *   every route.  ws_handler answers 101 with Sec-WebSocket-Accept, and
 *   once libsoup has written it ("wrote-informational", as libsoup's own
 *   WebSocket handler does) the connection is stolen from libsoup and
 *   handed to the WebSocket I/O thread (lares-ws-io.c), which reads,
 *   frames and writes from then on.  No extension is negotiated
 *   (permessage-deflate costs 40–60% more CPU per message and ~250 KB per
 *   connection, STYLE.md §12, for chat-sized frames that are mostly small).
 * - This file runs on the main thread and owns everything lares: each
 *   connection's bus subscription, its user, the handling of its messages
 *   (ping, message, cancel, approve, reject), the metrics.  The I/O thread
 *   owns only sockets and buffers.  A published event reaches on_bus_event
 *   once per connection with the same payload; lares_ws_io_send_text
 *   builds its frame once and every connection gets the same bytes.
 * - Incoming messages are capped at server.ws_max_message (1009 past it,
 *   fragments counted together); binary frames close with 1003, text that
 *   is not UTF-8 with 1007, protocol errors with 1002 — all decided on the
 *   I/O thread (lares-ws-frame.c).  A text message that is not a JSON
 *   object with a string "type" gets an error event and changes nothing.
 * - The server's websockets array holds one LaresWs per open connection;
 *   the entry leaves on the CLOSED notice, which also lets a pending
 *   shutdown finish.
 * - approve/reject run through the policy like every other channel; the
 *   decision outlives the connection that asked (it is not cancelled), and
 *   its refusal finds that connection again by its bus subscription id.
 * - A client that stops reading is dropped by the I/O thread once 4 MiB
 *   wait for it (lares_ws_dropped_total counts it here).
 */
#include "config.h"

#include "lares-http-parse.h"
#include "lares-http-private.h"
#include "lares-ws-frame.h"
#include "lares-ws-io.h"

typedef struct
{
  LaresServer *server;
  LaresWsConn *conn; /* the I/O thread's; released on CLOSED */
  int64_t user_id;
  unsigned sub_id;
  gboolean closing; /* a close was asked or the client was dropped: send nothing more */
  char id[20];
} LaresWs;

/* @alone: no other connection gets @payload (see lares_ws_io_send_text). */
static void
ws_send (LaresWs *ws, GBytes *payload, gboolean alone)
{
  if (ws->closing)
    return;
  lares_ws_io_send_text (ws->server->ws_io, ws->conn, payload, alone);
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
  ws_send (ws, payload, TRUE);
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

/* A user's event reaches each of the user's connections; when there is
 * only this one (a chat reply to a user with one tab open, token after
 * token), it may be written at once. */
static void
on_bus_event (GBytes *payload, gpointer user_data)
{
  LaresWs *ws = user_data;

  ws_send (ws, payload, lares_bus_count (ws->server->bus, ws->user_id) == 1);
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
                ws_send (ws, payload, TRUE);
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

/* A whole text message from the client (valid UTF-8: the I/O thread
 * closes with 1007 otherwise). */
static void
ws_message (LaresWs *ws, GBytes *message)
{
  g_autoptr (JsonNode) root = NULL;
  size_t len = 0;
  const char *data = g_bytes_get_data (message, &len);
  const char *kind = NULL, *code = NULL;

  ws->server->ws_received++;
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
ws_unsubscribe (LaresWs *ws)
{
  if (ws->sub_id)
    {
      lares_bus_unsubscribe (ws->server->bus, ws->sub_id);
      ws->sub_id = 0;
    }
}

/* What the I/O thread reports, in order for each connection. */
static void
on_io_notice (LaresWsConn *conn, gpointer conn_data, LaresWsIoNotice what, GBytes *data,
              unsigned short code, gpointer user_data)
{
  LaresWs *ws = conn_data;
  LaresServer *server = ws->server;

  switch (what)
    {
    case LARES_WS_IO_MESSAGE:
      if (!ws->closing)
        ws_message (ws, data);
      break;
    case LARES_WS_IO_REJECTED:
      /* A binary message counts as received, like any message; every
       * protocol error as rejected. */
      if (code == LARES_WS_CLOSE_UNSUPPORTED_DATA)
        server->ws_received++;
      server->ws_rejected++;
      ws->closing = TRUE;
      ws_unsubscribe (ws);
      break;
    case LARES_WS_IO_DROPPED:
      server->ws_dropped++;
      ws->closing = TRUE;
      ws_unsubscribe (ws);
      break;
    case LARES_WS_IO_CLOSED:
      lares_log_req (G_LOG_LEVEL_DEBUG, ws->id, "websocket closed (%u)", code);
      ws_unsubscribe (ws);
      g_ptr_array_remove_fast (server->websockets, ws);
      lares_ws_io_release (server->ws_io, conn);
      g_free (ws);
      lares_server_ws_gone (server);
      break;
    }
}

/* libsoup wrote our 101: the connection is ours from here on. */
static void
ws_upgraded (SoupServerMessage *msg, gpointer user_data)
{
  LaresServer *server = user_data;
  LaresRequest *req = g_object_get_data (G_OBJECT (msg), "lares-request");
  g_autoptr (GIOStream) stream = NULL;
  LaresWs *ws;

  if (soup_server_message_get_status (msg) != SOUP_STATUS_SWITCHING_PROTOCOLS)
    return;
  g_signal_handlers_disconnect_by_func (msg, ws_upgraded, user_data);
  stream = soup_server_message_steal_connection (msg);
  /* libsoup reports a stolen (upgraded) request neither finished nor
   * aborted, so its in-flight count is settled here. */
  lares_server_uncount (server, msg);
  if (stream == NULL)
    return;

  /* The early handler authenticated the handshake, so req is there. */
  g_assert (req != NULL && req->user_id > 0);
  ws = g_new0 (LaresWs, 1);
  ws->server = server;
  ws->user_id = req->user_id;
  memcpy (ws->id, req->id, sizeof ws->id);
  ws->conn = lares_ws_io_add (server->ws_io, stream, ws, ws->id);
  g_ptr_array_add (server->websockets, ws);
  if (server->draining)
    {
      ws->closing = TRUE;
      lares_ws_io_close (server->ws_io, ws->conn, LARES_WS_CLOSE_GOING_AWAY, "server stopping");
      return;
    }
  ws->sub_id = lares_bus_subscribe (server->bus, ws->user_id, on_bus_event, ws);
  /* Reminders that fired while none of the user's clients listened. */
  lares_scheduler_user_connected (server->scheduler, ws->user_id);
  lares_log_req (G_LOG_LEVEL_DEBUG, ws->id, "websocket open for user %" G_GINT64_FORMAT,
                 ws->user_id);
}

/* After the body (none): ws_early accepted the handshake.  Answer 101
 * (RFC 6455 §4.2.2) and take the connection once libsoup has written it. */
static void
ws_handler (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer user_data)
{
  LaresServer *server = user_data;
  LaresRequest *req = g_object_get_data (G_OBJECT (msg), "lares-request");
  SoupMessageHeaders *in = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *out = soup_server_message_get_response_headers (msg);
  const char *key = soup_message_headers_get_one (in, "Sec-WebSocket-Key");
  g_autofree char *accept = NULL;

  if (req == NULL || req->done || key == NULL)
    return;
  if (server->draining)
    {
      lares_request_respond_error (req, 503, "unavailable", "the server is shutting down");
      return;
    }
  accept = lares_ws_accept_key (key);
  soup_server_message_set_status (msg, SOUP_STATUS_SWITCHING_PROTOCOLS, NULL);
  soup_message_headers_replace (out, "Upgrade", "websocket");
  soup_message_headers_replace (out, "Connection", "Upgrade");
  soup_message_headers_replace (out, "Sec-WebSocket-Accept", accept);
  g_signal_connect (msg, "wrote-informational", G_CALLBACK (ws_upgraded), server);
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

gboolean
lares_ws_setup (LaresServer *server, GError **error)
{
  server->ws_io =
      lares_ws_io_new (g_main_context_get_thread_default (), server->cfg->ws_max_message,
                       server->cfg->ws_ping_interval_ms, on_io_notice, server, error);
  if (server->ws_io == NULL)
    return FALSE;
  soup_server_add_early_handler (server->soup, "/ws", ws_early, server, NULL);
  soup_server_add_handler (server->soup, "/ws", ws_handler, server, NULL);
  return TRUE;
}

void
lares_ws_close_all (LaresServer *server, unsigned short code, const char *reason)
{
  /* Closing is asynchronous: entries leave the array on their CLOSED notice. */
  for (unsigned i = 0; i < server->websockets->len; i++)
    {
      LaresWs *ws = server->websockets->pdata[i];

      ws_unsubscribe (ws);
      if (!ws->closing)
        {
          ws->closing = TRUE;
          lares_ws_io_close (server->ws_io, ws->conn, code, reason);
        }
    }
}

void
lares_ws_free_all (LaresServer *server)
{
  while (server->websockets->len > 0)
    {
      LaresWs *ws = g_ptr_array_steal_index_fast (server->websockets, 0);
      ws_unsubscribe (ws);
      g_free (ws);
    }
  /* Stops the thread; the connections it still has go without a handshake. */
  g_clear_pointer (&server->ws_io, lares_ws_io_free);
}
