/* test-server.c — the daemon over real HTTP and WebSocket on loopback.
 *
 * One daemon serves the whole file (started in main); tests that need a
 * daemon of their own (lock, shutdown) start one.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lares-test.h"

static LaresTestDaemon *daemon_;

/* ---- basic endpoints ---------------------------------------------------- */

static void
test_healthz (void)
{
  unsigned status;
  g_autoptr (GBytes) body =
      lares_test_http (daemon_, "GET", "/healthz", NULL, NULL, 0, &status, NULL);
  g_autoptr (JsonNode) root = lares_test_json (body);

  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (root), "status"), ==, "ok");
}

static void
test_readyz (void)
{
  g_assert_cmpuint (lares_test_status (daemon_, "GET", "/readyz", NULL, NULL, 0), ==, 200);
}

static void
test_metrics (void)
{
  unsigned status;
  g_autoptr (GBytes) body = NULL;
  g_autofree char *text = NULL;

  g_assert_cmpuint (lares_test_status (daemon_, "GET", "/healthz", NULL, NULL, 0), ==, 200);
  body = lares_test_http (daemon_, "GET", "/metrics", NULL, NULL, 0, &status, NULL);
  text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));

  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (strstr (text, "lares_http_requests_total{route=\"healthz\",code=\"200\"}"));
  g_assert_nonnull (strstr (text, "lares_process_resident_memory_bytes "));
  g_assert_nonnull (strstr (text, "lares_ws_connections "));
  g_assert_nonnull (strstr (text, "lares_store_writes_total "));
}

static void
test_request_ids_unique (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (int i = 0; i < 20; i++)
    {
      SoupMessageHeaders *h = NULL;
      unsigned status;
      const char *id;

      g_bytes_unref (lares_test_http (daemon_, "GET", i % 2 ? "/healthz" : "/nope", NULL, NULL, 0,
                                      &status, &h));
      id = soup_message_headers_get_one (h, "X-Request-Id");
      g_assert_cmpuint (strlen (id), ==, 16);
      g_assert_false (g_hash_table_contains (seen, id));
      g_hash_table_add (seen, g_strdup (id));
      soup_message_headers_unref (h);
    }
}

/* ---- notes CRUD ----------------------------------------------------------- */

static int64_t
create_note (const char *json, unsigned *status)
{
  g_autoptr (GBytes) body = lares_test_http (daemon_, "POST", "/api/v1/notes", "application/json",
                                             json, strlen (json), status, NULL);
  g_autoptr (JsonNode) root = NULL;

  if (*status != 201)
    return 0;
  root = lares_test_json (body);
  return json_object_get_int_member (json_node_get_object (root), "id");
}

static void
test_notes_crud (void)
{
  unsigned status;
  int64_t id =
      create_note ("{\"title\":\"shopping\",\"body\":\"milk, bread — and café\"}", &status);
  g_autofree char *path = g_strdup_printf ("/api/v1/notes/%" G_GINT64_FORMAT, id);
  g_autoptr (GBytes) got = NULL, list = NULL, del = NULL, gone = NULL;
  g_autoptr (JsonNode) note = NULL, listed = NULL;
  JsonArray *notes;
  gboolean found = FALSE;

  g_assert_cmpuint (status, ==, 201);
  g_assert_cmpint (id, >, 0);

  got = lares_test_http (daemon_, "GET", path, NULL, NULL, 0, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  note = lares_test_json (got);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (note), "body"), ==,
                   "milk, bread — and café");

  list = lares_test_http (daemon_, "GET", "/api/v1/notes?limit=500", NULL, NULL, 0, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  listed = lares_test_json (list);
  notes = json_object_get_array_member (json_node_get_object (listed), "notes");
  for (unsigned i = 0; i < json_array_get_length (notes); i++)
    if (json_object_get_int_member (json_array_get_object_element (notes, i), "id") == id)
      found = TRUE;
  g_assert_true (found);

  del = lares_test_http (daemon_, "DELETE", path, NULL, NULL, 0, &status, NULL);
  g_assert_cmpuint (status, ==, 204);
  gone = lares_test_http (daemon_, "GET", path, NULL, NULL, 0, &status, NULL);
  g_assert_cmpuint (status, ==, 404);
  lares_test_assert_error (gone, "not_found");
}

/* ---- bad input: right 4xx, JSON error model, store unchanged ----------- */

typedef struct
{
  const char *name;
  const char *method;
  const char *path;
  const char *content_type; /* NULL: no body */
  const char *body;
  ssize_t len; /* -1: strlen */
  unsigned status;
  const char *code;
} BadCase;

static const BadCase bad_cases[] = {
  { "unknown route", "GET", "/nope", NULL, NULL, 0, 404, "not_found" },
  { "prefix of a route", "GET", "/healthz/x", NULL, NULL, 0, 404, "not_found" },
  { "unknown api route", "GET", "/api/v1/nothing", NULL, NULL, 0, 404, "not_found" },
  { "wrong method", "PUT", "/healthz", NULL, NULL, 0, 405, "method_not_allowed" },
  { "wrong method on collection", "DELETE", "/api/v1/notes", NULL, NULL, 0, 405,
    "method_not_allowed" },
  { "wrong method on item", "PUT", "/api/v1/notes/1", "application/json", "{}", -1, 405,
    "method_not_allowed" },
  { "malformed JSON", "POST", "/api/v1/notes", "application/json", "{\"body\":", -1, 400,
    "invalid_json" },
  { "truncated JSON", "POST", "/api/v1/notes", "application/json", "{\"body\":\"abc", -1, 400,
    "invalid_json" },
  { "trailing garbage", "POST", "/api/v1/notes", "application/json", "{\"body\":\"a\"} x", -1, 400,
    "invalid_json" },
  { "invalid UTF-8", "POST", "/api/v1/notes", "application/json", "{\"body\":\"\xff\xfe\"}", -1,
    400, "invalid_utf8" },
  { "overlong UTF-8", "POST", "/api/v1/notes", "application/json", "{\"body\":\"\xc0\xaf\"}", -1,
    400, "invalid_utf8" },
  { "NUL byte", "POST", "/api/v1/notes", "application/json", "{\"body\":\"a\0b\"}", 14, 400,
    "invalid_utf8" },
  { "empty body", "POST", "/api/v1/notes", "application/json", "", 0, 400, "invalid_json" },
  { "array body", "POST", "/api/v1/notes", "application/json", "[1,2]", -1, 400, "invalid_json" },
  { "wrong type", "POST", "/api/v1/notes", "application/json", "{\"body\":5}", -1, 400,
    "invalid_argument" },
  { "missing field", "POST", "/api/v1/notes", "application/json", "{\"title\":\"x\"}", -1, 400,
    "invalid_argument" },
  { "unknown field", "POST", "/api/v1/notes", "application/json", "{\"body\":\"x\",\"user_id\":2}",
    -1, 400, "invalid_argument" },
  { "empty note", "POST", "/api/v1/notes", "application/json", "{\"body\":\"\"}", -1, 400,
    "invalid_argument" },
  { "wrong content type", "POST", "/api/v1/notes", "text/plain", "{\"body\":\"x\"}", -1, 415,
    "unsupported_media_type" },
  { "form content type", "POST", "/api/v1/notes", "application/x-www-form-urlencoded", "body=x", -1,
    415, "unsupported_media_type" },
  { "id not a number", "GET", "/api/v1/notes/abc", NULL, NULL, 0, 404, "not_found" },
  { "id zero", "GET", "/api/v1/notes/0", NULL, NULL, 0, 404, "not_found" },
  { "id overflow", "GET", "/api/v1/notes/99999999999999999999999", NULL, NULL, 0, 404,
    "not_found" },
  { "missing id", "GET", "/api/v1/notes/999999", NULL, NULL, 0, 404, "not_found" },
  { "delete missing", "DELETE", "/api/v1/notes/999999", NULL, NULL, 0, 404, "not_found" },
  { "bad limit", "GET", "/api/v1/notes?limit=abc", NULL, NULL, 0, 400, "invalid_argument" },
  { "limit too big", "GET", "/api/v1/notes?limit=100000", NULL, NULL, 0, 400, "invalid_argument" },
  { "ws with POST", "POST", "/ws", "application/json", "{}", -1, 405, "method_not_allowed" },
  { "ws without upgrade", "GET", "/ws", NULL, NULL, 0, 400, "websocket_required" },
  { "ws sub-path", "GET", "/ws/x", NULL, NULL, 0, 404, "not_found" },
  /* fuzz/corpus/http-routes/crash-404-path-invalid-utf8: the 404 quoted the
   * decoded path, and with it bytes that are not UTF-8, into its JSON. */
  { "path not UTF-8", "GET", "/api/v1/no%FFte", NULL, NULL, 0, 404, "not_found" },
  /* fuzz/corpus/login-body/crash-octal-escape-not-utf8: json-glib reads an
   * octal escape, which JSON does not have, into a byte that is not UTF-8. */
  { "octal escape", "POST", "/api/v1/notes", "application/json", "{\"body\":\"a\\603b\"}", -1, 400,
    "invalid_json" },
};

static void
check_bad_case (const BadCase *c)
{
  int64_t before = lares_test_db_count (daemon_->data_dir, "notes");
  unsigned status = 0;
  size_t len = c->len < 0 ? strlen (c->body) : (size_t)c->len;
  g_autoptr (GBytes) body =
      lares_test_http (daemon_, c->method, c->path, c->content_type, c->body, len, &status, NULL);

  g_test_message ("%s: %s %s -> %u", c->name, c->method, c->path, status);
  g_assert_cmpuint (status, ==, c->status);
  lares_test_assert_error (body, c->code);
  g_assert_cmpint (lares_test_db_count (daemon_->data_dir, "notes"), ==, before);
}

static void
test_bad_input (gconstpointer data)
{
  check_bad_case (data);
}

static void
test_oversize_body (void)
{
  int64_t before = lares_test_db_count (daemon_->data_dir, "notes");
  size_t n = 1024 * 1024 + 1;
  g_autofree char *big = g_malloc (n);
  unsigned status;
  g_autoptr (GBytes) body = NULL;

  memset (big, 'a', n);
  memcpy (big, "{\"body\":\"", 9);
  big[n - 2] = '"';
  big[n - 1] = '}';
  body =
      lares_test_http (daemon_, "POST", "/api/v1/notes", "application/json", big, n, &status, NULL);
  g_assert_cmpuint (status, ==, 413);
  lares_test_assert_error (body, "payload_too_large");
  g_assert_cmpint (lares_test_db_count (daemon_->data_dir, "notes"), ==, before);
}

static void
test_deep_nesting (void)
{
  int64_t before = lares_test_db_count (daemon_->data_dir, "notes");
  GString *s = g_string_new ("{\"body\":");
  unsigned status;
  g_autoptr (GBytes) body = NULL;

  for (int i = 0; i < 100000; i++)
    g_string_append_c (s, '[');
  body = lares_test_http (daemon_, "POST", "/api/v1/notes", "application/json", s->str, s->len,
                          &status, NULL);
  g_string_free (s, TRUE);
  g_assert_cmpuint (status, ==, 400);
  lares_test_assert_error (body, "invalid_json");
  g_assert_cmpint (lares_test_db_count (daemon_->data_dir, "notes"), ==, before);
}

/* The body of a raw HTTP response.  (transfer full) */
static GBytes *
raw_body (const char *resp)
{
  const char *p = strstr (resp, "\r\n\r\n");

  g_assert_nonnull (p);
  return g_bytes_new (p + 4, strlen (resp) - (size_t)(p + 4 - resp));
}

static void
test_chunked_body (void)
{
  static const char req[] = "POST /api/v1/notes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "c\r\n{\"body\":\"x\"}\r\n0\r\n\r\n";
  int64_t before = lares_test_db_count (daemon_->data_dir, "notes");
  g_autofree char *resp = lares_test_raw (daemon_, req, sizeof req - 1);
  g_autoptr (GBytes) body = NULL;

  g_assert_true (g_str_has_prefix (resp, "HTTP/1.1 411"));
  g_assert_nonnull (strstr (resp, "X-Request-Id: "));
  body = raw_body (resp);
  lares_test_assert_error (body, "length_required");
  g_assert_cmpint (lares_test_db_count (daemon_->data_dir, "notes"), ==, before);
}

static void
test_declared_oversize (void)
{
  /* A Content-Length over the cap is refused from the headers alone: a
   * client that waits for "100 Continue" gets the 413 without sending. */
  static const char req[] = "POST /api/v1/notes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                            "Content-Type: application/json\r\nContent-Length: 999999999\r\n"
                            "Expect: 100-continue\r\n\r\n";
  g_autofree char *resp = lares_test_raw (daemon_, req, sizeof req - 1);
  g_autoptr (GBytes) body = NULL;

  g_assert_true (g_str_has_prefix (resp, "HTTP/1.1 413"));
  body = raw_body (resp);
  lares_test_assert_error (body, "payload_too_large");
}

static void
test_get_with_huge_body (void)
{
  /* Routes without a body get the same cap. */
  static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                            "Content-Length: 5000000000\r\nExpect: 100-continue\r\n\r\n";
  g_autofree char *resp = lares_test_raw (daemon_, req, sizeof req - 1);

  g_assert_true (g_str_has_prefix (resp, "HTTP/1.1 413"));
}

/* ---- WebSocket ------------------------------------------------------------ */

typedef struct
{
  GPtrArray *messages; /* char* */
  gboolean got;
  gboolean closed;
  unsigned short close_code;
} WsClient;

static void
ws_on_message (SoupWebsocketConnection *conn, int type, GBytes *msg, gpointer data)
{
  WsClient *c = data;

  g_ptr_array_add (c->messages, g_strndup (g_bytes_get_data (msg, NULL), g_bytes_get_size (msg)));
  c->got = TRUE;
}

static void
ws_on_closed (SoupWebsocketConnection *conn, gpointer data)
{
  WsClient *c = data;

  c->closed = TRUE;
  c->close_code = soup_websocket_connection_get_close_code (conn);
}

static SoupWebsocketConnection *
ws_open (LaresTestDaemon *d, WsClient *c)
{
  SoupWebsocketConnection *conn = lares_test_ws_connect (d);

  c->messages = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (conn, "message", G_CALLBACK (ws_on_message), c);
  g_signal_connect (conn, "closed", G_CALLBACK (ws_on_closed), c);
  /* No compression was negotiated: permessage-deflate is off. */
  g_assert_null (soup_websocket_connection_get_extensions (conn));
  return conn;
}

static JsonObject *
ws_last (WsClient *c, JsonNode **keep)
{
  g_autoptr (GBytes) b = NULL;
  const char *text;

  g_assert_cmpuint (c->messages->len, >, 0);
  text = c->messages->pdata[c->messages->len - 1];
  b = g_bytes_new (text, strlen (text));
  *keep = lares_test_json (b);
  return json_node_get_object (*keep);
}

static void
ws_expect (WsClient *c, const char *type, const char *code)
{
  g_autoptr (JsonNode) keep = NULL;
  JsonObject *obj;

  lares_test_wait_flag (&c->got, 5000);
  c->got = FALSE;
  obj = ws_last (c, &keep);
  g_assert_cmpstr (json_object_get_string_member (obj, "type"), ==, type);
  if (code)
    g_assert_cmpstr (json_object_get_string_member (obj, "code"), ==, code);
}

static void
ws_client_clear (WsClient *c)
{
  g_ptr_array_unref (c->messages);
}

static void
test_ws_ping_and_errors (void)
{
  WsClient c = { 0 };
  g_autoptr (SoupWebsocketConnection) conn = ws_open (daemon_, &c);

  soup_websocket_connection_send_text (conn, "{\"type\":\"ping\"}");
  ws_expect (&c, "pong", NULL);
  soup_websocket_connection_send_text (conn, "{\"type\":");
  ws_expect (&c, "error", "invalid_json");
  soup_websocket_connection_send_text (conn, "[1,2,3]");
  ws_expect (&c, "error", "invalid_message");
  soup_websocket_connection_send_text (conn, "{\"type\":7}");
  ws_expect (&c, "error", "invalid_message");
  soup_websocket_connection_send_text (conn, "{\"type\":\"launch_rockets\"}");
  ws_expect (&c, "error", "unknown_type");
  /* Still open and answering after the bad frames. */
  soup_websocket_connection_send_text (conn, "{\"type\":\"ping\"}");
  ws_expect (&c, "pong", NULL);
  soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  lares_test_wait_flag (&c.closed, 5000);
  ws_client_clear (&c);
}

static void
test_ws_fanout (void)
{
  WsClient a = { 0 }, b = { 0 };
  g_autoptr (SoupWebsocketConnection) ca = ws_open (daemon_, &a);
  g_autoptr (SoupWebsocketConnection) cb = ws_open (daemon_, &b);
  g_autoptr (JsonNode) ka = NULL, kb = NULL;
  unsigned status;
  int64_t id;

  /* Make sure both subscriptions are live before publishing. */
  soup_websocket_connection_send_text (ca, "{\"type\":\"ping\"}");
  ws_expect (&a, "pong", NULL);
  soup_websocket_connection_send_text (cb, "{\"type\":\"ping\"}");
  ws_expect (&b, "pong", NULL);

  id = create_note ("{\"body\":\"fan me out\"}", &status);
  g_assert_cmpuint (status, ==, 201);
  ws_expect (&a, "note_created", NULL);
  ws_expect (&b, "note_created", NULL);
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (ws_last (&a, &ka), "note"), "id"),
      ==, id);
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (ws_last (&b, &kb), "note"), "id"),
      ==, id);
  soup_websocket_connection_close (ca, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  soup_websocket_connection_close (cb, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  lares_test_wait_flag (&a.closed, 5000);
  lares_test_wait_flag (&b.closed, 5000);
  ws_client_clear (&a);
  ws_client_clear (&b);
}

static void
test_ws_oversize (void)
{
  WsClient c = { 0 };
  g_autoptr (SoupWebsocketConnection) conn = ws_open (daemon_, &c);
  size_t n = 70 * 1024;
  g_autofree char *big = g_malloc (n + 1);

  memset (big, ' ', n);
  big[n] = '\0';
  big[0] = '{';
  big[n - 1] = '}';
  soup_websocket_connection_send_text (conn, big);
  lares_test_wait_flag (&c.closed, 5000);
  /* The server answers 1009 and drops the connection; a client still busy
   * sending may see the drop (no code) before it reads the close frame. */
  g_assert_true (c.close_code == SOUP_WEBSOCKET_CLOSE_TOO_BIG || c.close_code == 0);
  g_assert_cmpuint (c.messages->len, ==, 0);
  ws_client_clear (&c);
}

static void
test_ws_binary (void)
{
  WsClient c = { 0 };
  g_autoptr (SoupWebsocketConnection) conn = ws_open (daemon_, &c);

  soup_websocket_connection_send_binary (conn, "\x01\x02", 2);
  lares_test_wait_flag (&c.closed, 5000);
  g_assert_cmpuint (c.close_code, ==, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA);
  ws_client_clear (&c);
}

/* ---- WebSocket protocol edges, over a plain socket ------------------------- */

/* A client of its own: frames exactly as a test wants them, masked or not. */
typedef struct
{
  GSocketConnection *conn; /* (owned) */
  GInputStream *in;
  GOutputStream *out;
} RawWs;

static void
raw_ws_close (RawWs *ws)
{
  g_clear_object (&ws->conn);
}

/* Handshake with RFC 6455 §1.3's key; the 101 must carry its accept value. */
static void
raw_ws_open (RawWs *ws)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *req = g_strdup_printf (
      "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "Authorization: Bearer %s\r\n\r\n",
      daemon_->port, daemon_->token);
  g_autoptr (GString) head = g_string_new (NULL);
  char c;

  g_socket_client_set_enable_proxy (client, FALSE);
  ws->conn = g_socket_client_connect_to_host (client, "127.0.0.1", daemon_->port, NULL, &error);
  g_assert_no_error (error);
  /* Every read is bounded: a missing answer fails the test, not hangs it. */
  g_socket_set_timeout (g_socket_connection_get_socket (ws->conn), 10);
  ws->in = g_io_stream_get_input_stream (G_IO_STREAM (ws->conn));
  ws->out = g_io_stream_get_output_stream (G_IO_STREAM (ws->conn));
  g_output_stream_write_all (ws->out, req, strlen (req), NULL, NULL, &error);
  g_assert_no_error (error);
  while (!g_str_has_suffix (head->str, "\r\n\r\n"))
    {
      g_assert_cmpint (g_input_stream_read (ws->in, &c, 1, NULL, &error), ==, 1);
      g_string_append_c (head, c);
    }
  g_assert_true (g_str_has_prefix (head->str, "HTTP/1.1 101"));
  g_assert_nonnull (strstr (head->str, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  g_assert_null (strstr (head->str, "Sec-WebSocket-Extensions"));
}

/* Write one client frame: @first is the FIN/RSV/opcode byte. */
static void
raw_ws_send (RawWs *ws, uint8_t first, const void *payload, size_t len, gboolean masked)
{
  static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
  g_autoptr (GByteArray) f = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  uint8_t h[10];
  size_t hlen = 2;

  h[0] = first;
  if (len < 126)
    h[1] = (uint8_t)len;
  else if (len <= 0xffff)
    {
      h[1] = 126;
      h[2] = (uint8_t)(len >> 8);
      h[3] = (uint8_t)len;
      hlen = 4;
    }
  else
    {
      h[1] = 127;
      for (int i = 0; i < 8; i++)
        h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
      hlen = 10;
    }
  if (masked)
    h[1] |= 0x80;
  g_byte_array_append (f, h, (unsigned)hlen);
  if (masked)
    g_byte_array_append (f, mask, 4);
  for (size_t i = 0; i < len; i++)
    {
      uint8_t b = ((const uint8_t *)payload)[i] ^ (masked ? mask[i & 3] : 0);
      g_byte_array_append (f, &b, 1);
    }
  g_output_stream_write_all (ws->out, f->data, f->len, NULL, NULL, &error);
  g_assert_no_error (error);
}

/* Read one server frame (never masked): its opcode, or -1 at EOF.
 * @payload gets its bytes (transfer full). */
static int
raw_ws_read (RawWs *ws, GBytes **payload)
{
  g_autoptr (GError) error = NULL;
  uint8_t h[8];
  uint64_t len;
  gsize got = 0;
  uint8_t *data;

  if (!g_input_stream_read_all (ws->in, h, 2, &got, NULL, &error) || got < 2)
    {
      g_assert_true (error == NULL ||
                     g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
                     g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE));
      return -1;
    }
  g_assert_cmpuint (h[1] & 0x80, ==, 0); /* a server never masks */
  g_assert_cmpuint (h[0] & 0x80, ==, 0x80);
  len = h[1] & 0x7f;
  if (len >= 126)
    {
      size_t n = len == 126 ? 2 : 8;
      g_assert_true (g_input_stream_read_all (ws->in, h, n, &got, NULL, &error));
      g_assert_cmpuint (got, ==, n);
      len = 0;
      for (size_t i = 0; i < n; i++)
        len = (len << 8) | h[i];
    }
  g_assert_cmpuint (len, <, 1 << 20);
  data = g_malloc (len + 1);
  g_assert_true (g_input_stream_read_all (ws->in, data, len, &got, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (got, ==, len);
  *payload = g_bytes_new_take (data, len);
  return h[0] & 0x0f;
}

/* The server's close frame with @code, then the end of the stream. */
static void
raw_ws_expect_close (RawWs *ws, unsigned short code)
{
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GBytes) rest = NULL;
  const uint8_t *p;
  size_t n = 0;

  g_assert_cmpint (raw_ws_read (ws, &payload), ==, 0x8);
  p = g_bytes_get_data (payload, &n);
  g_assert_cmpuint (n, >=, 2);
  g_assert_cmpuint ((p[0] << 8) | p[1], ==, code);
  /* Answer it, as a client should; the server then ends the connection. */
  raw_ws_send (ws, 0x88, p, 2, TRUE);
  g_assert_cmpint (raw_ws_read (ws, &rest), ==, -1);
}

static void
raw_ws_expect_text (RawWs *ws, const char *type)
{
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (JsonNode) root = NULL;

  g_assert_cmpint (raw_ws_read (ws, &payload), ==, 0x1);
  root = lares_test_json (payload);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (root), "type"), ==, type);
}

/* A message in three fragments with control frames between them is one
 * message; pings get a pong with the same bytes (RFC 6455 §5.4, §5.5.2). */
static void
test_ws_fragmented (void)
{
  RawWs ws = { 0 };
  g_autoptr (GBytes) pong = NULL;
  g_autoptr (GBytes) close = NULL;

  raw_ws_open (&ws);
  raw_ws_send (&ws, 0x01, "{\"ty", 4, TRUE);
  raw_ws_send (&ws, 0x89, "are you there", 13, TRUE);
  raw_ws_send (&ws, 0x00, "pe\":\"pi", 7, TRUE);
  raw_ws_send (&ws, 0x8a, "", 0, TRUE); /* an unasked pong is ignored */
  raw_ws_send (&ws, 0x80, "ng\"}", 4, TRUE);
  g_assert_cmpint (raw_ws_read (&ws, &pong), ==, 0xa);
  g_assert_cmpmem (g_bytes_get_data (pong, NULL), g_bytes_get_size (pong), "are you there", 13);
  raw_ws_expect_text (&ws, "pong");
  /* Still open; a clean close is echoed with the same code. */
  raw_ws_send (&ws, 0x81, "{\"type\":\"ping\"}", 15, TRUE);
  raw_ws_expect_text (&ws, "pong");
  raw_ws_send (&ws, 0x88,
               "\x03\xe8"
               "bye",
               5, TRUE);
  g_assert_cmpint (raw_ws_read (&ws, &close), ==, 0x8);
  g_assert_cmpmem (g_bytes_get_data (close, NULL), g_bytes_get_size (close), "\x03\xe8", 2);
  {
    g_autoptr (GBytes) rest = NULL;
    g_assert_cmpint (raw_ws_read (&ws, &rest), ==, -1);
  }
  raw_ws_close (&ws);
}

typedef struct
{
  const char *name;
  uint8_t first;
  const char *payload;
  size_t len; /* 0 with payload NULL: 40 KiB of spaces, twice (see below) */
  gboolean masked;
  unsigned short code;
} WsEdge;

static const WsEdge ws_edges[] = {
  { "unmasked", 0x81, "{\"type\":\"ping\"}", 15, FALSE, 1002 },
  { "invalid-utf8", 0x81, "{\"type\":\"\xc3\x28\"}", 12, TRUE, 1007 },
  { "binary", 0x82, "\x01\x02", 2, TRUE, 1003 },
  { "reserved-bit", 0xc1, "{}", 2, TRUE, 1002 },
  { "unknown-opcode", 0x83, "{}", 2, TRUE, 1002 },
  { "long-ping", 0x89, NULL, 126, TRUE, 1002 },
  { "fragmented-ping", 0x09, "x", 1, TRUE, 1002 },
  { "stray-continuation", 0x80, "{}", 2, TRUE, 1002 },
  { "oversize-fragments", 0x01, NULL, 0, TRUE, 1009 },
};

/* Each protocol error closes the connection with its code (RFC 6455 §7.4.1)
 * and leaves the daemon serving the others. */
static void
test_ws_edge (gconstpointer data)
{
  const WsEdge *e = data;
  RawWs ws = { 0 };
  g_autofree char *filler = g_strnfill (40 * 1024, ' ');

  raw_ws_open (&ws);
  /* The connection works before the bad frame. */
  raw_ws_send (&ws, 0x81, "{\"type\":\"ping\"}", 15, TRUE);
  raw_ws_expect_text (&ws, "pong");
  if (e->payload == NULL && e->len == 0)
    {
      /* Two fragments of 40 KiB: each under server.ws_max_message (64 KiB),
       * the message over it. */
      raw_ws_send (&ws, 0x01, filler, 40 * 1024, TRUE);
      raw_ws_send (&ws, 0x80, filler, 40 * 1024, TRUE);
    }
  else
    raw_ws_send (&ws, e->first, e->payload ? e->payload : filler, e->len, e->masked);
  raw_ws_expect_close (&ws, e->code);
  raw_ws_close (&ws);
  g_assert_cmpuint (lares_test_status (daemon_, "GET", "/healthz", NULL, NULL, 0), ==, 200);
}

/* ---- lifecycle ------------------------------------------------------------ */

static int
fds_of (LaresTestDaemon *d)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/fd", g_subprocess_get_identifier (d->proc));
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  int n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static int
daemon_fds (void)
{
  return fds_of (daemon_);
}

/* Lines of @d's log that contain @text. */
static unsigned
log_count (LaresTestDaemon *d, const char *text)
{
  g_autofree char *log = NULL;
  unsigned n = 0;

  if (!g_file_get_contents (d->log_path, &log, NULL, NULL))
    return 0;
  for (const char *p = log; (p = strstr (p, text)) != NULL; p += strlen (text))
    n++;
  return n;
}

/* Out of descriptors, accept(2) fails while the client waits in the
 * backlog and the listening socket stays readable: the daemon must pause
 * its accepting (one warning per pause), not spin on it, and take the
 * waiting clients once descriptors are back. */
static void
test_accept_out_of_fds (void)
{
  static const char warning[] = "cannot accept a connection";
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  pid_t pid = (pid_t)atoi (g_subprocess_get_identifier (d->proc));
  struct rlimit saved, low;
  struct sockaddr_in sa = { .sin_family = AF_INET };
  int clients[4];
  int64_t first = 0, deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  unsigned seen;

  g_assert_cmpint (prlimit (pid, RLIMIT_NOFILE, NULL, &saved), ==, 0);
  low = saved;
  low.rlim_cur = (rlim_t)fds_of (d) + 1; /* room for one connection */
  g_assert_cmpint (prlimit (pid, RLIMIT_NOFILE, &low, NULL), ==, 0);
  sa.sin_port = htons (d->port);
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  for (size_t i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      clients[i] = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      g_assert_cmpint (clients[i], >=, 0);
      /* Loopback: the kernel completes it from the backlog. */
      g_assert_cmpint (connect (clients[i], (struct sockaddr *)&sa, sizeof sa), ==, 0);
    }
  /* Two warnings: the accept failed, and failed again after the pause. */
  for (;;)
    {
      int64_t now = g_get_monotonic_time ();

      seen = log_count (d, warning);
      if (seen >= 1 && first == 0)
        first = now;
      if (seen >= 2)
        break;
      g_assert_cmpint (now, <, deadline);
      g_usleep (2000); /* polling the log file, not waiting out a race */
    }
  /* A spinning watch logs hundreds of lines in the time a paused one logs
   * a few: one per ACCEPT_PAUSE_MS (100 ms) since the first was seen, plus
   * slack for the lines before that. */
  g_assert_cmpuint (log_count (d, warning), <=,
                    (unsigned)((g_get_monotonic_time () - first) / 100000) + 3);
  g_assert_cmpint (prlimit (pid, RLIMIT_NOFILE, &saved, NULL), ==, 0);
  for (size_t i = 0; i < G_N_ELEMENTS (clients); i++)
    close (clients[i]);
  /* Accepting resumed: a new request is answered. */
  g_assert_cmpuint (lares_test_status (d, "GET", "/healthz", NULL, NULL, 0), ==, 200);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

/* Clients that keep a connection alive and then close it while idle (what
 * browsers and HTTP libraries do) must not leave anything behind in the
 * daemon: every response says "Connection: close" and the daemon releases
 * the connection itself. */
static void
test_connections_released (void)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  int before, after;

  /* A daemon that keeps the connection open fails the read, not the run. */
  g_socket_client_set_timeout (client, 5);
  /* Settle: earlier tests' connections are closed. */
  g_assert_cmpuint (lares_test_status (daemon_, "GET", "/healthz", NULL, NULL, 0), ==, 200);
  before = daemon_fds ();
  for (int i = 0; i < 100; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocketConnection) conn =
          g_socket_client_connect_to_host (client, "127.0.0.1", daemon_->port, NULL, &error);
      GOutputStream *out;
      GInputStream *in;
      char buf[2048];
      gssize n, total = 0;

      g_assert_no_error (error);
      out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
      in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
      g_assert_true (g_output_stream_write_all (out, req, strlen (req), NULL, NULL, &error));
      /* The server ends the response by closing: read to the end. */
      while ((n = g_input_stream_read (in, buf + MIN (total, 1024), 1024, NULL, &error)) > 0)
        total += n;
      g_assert_no_error (error);
      g_assert_cmpint (total, >, 0);
      g_assert_nonnull (g_strstr_len (buf, MIN (total, 1024), "Connection: close"));
    }
  /* Each connection was closed by the daemon (we read to its end), so its
   * descriptor is already gone. */
  after = daemon_fds ();
  g_assert_cmpint (after, <=, before + 3);
}

static void
test_lock (void)
{
  const char *argv[] = { "serve", "-p", "0", "-d", daemon_->data_dir, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = lares_test_run (argv, &out, &err);

  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (err, "is in use by another lares"));
}

static void
test_sigterm (void)
{
  /* With five minutes of shutdown grace, only a shutdown that really finishes
   * its work (rather than waiting out the timeout) ends within the test's
   * time limit. */
  const char *extra[] = { "--set", "server.shutdown_timeout=300s", NULL };
  LaresTestDaemon *d = lares_test_daemon_start (NULL, extra);
  WsClient c = { 0 };
  g_autoptr (SoupWebsocketConnection) conn = ws_open (d, &c);
  g_autofree char *wal = g_build_filename (d->data_dir, "lares.db-wal", NULL);
  g_autoptr (GSocketConnection) idle = NULL;
  struct stat st;

  soup_websocket_connection_send_text (conn, "{\"type\":\"ping\"}");
  ws_expect (&c, "pong", NULL);
  /* A connection that never sends a request (a port scan) must not hold
   * up the shutdown either. */
  {
    g_autoptr (GSocketClient) client = g_socket_client_new ();
    g_socket_client_set_enable_proxy (client, FALSE);
    idle = g_socket_client_connect_to_host (client, "127.0.0.1", d->port, NULL, NULL);
    g_assert_nonnull (idle);
  }
  g_assert_cmpuint (
      lares_test_status (d, "POST", "/api/v1/notes", "application/json", "{\"body\":\"kept\"}", 15),
      ==, 201);
  g_subprocess_send_signal (d->proc, SIGTERM);
  lares_test_wait_flag (&c.closed, 10000);
  g_assert_cmpuint (c.close_code, ==, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
  g_assert_cmpint (lares_test_daemon_stop (d, 0), ==, 0);
  /* The WAL was checkpointed into the database and truncated. */
  g_assert_true (stat (wal, &st) != 0 || st.st_size == 0);
  g_assert_cmpint (lares_test_db_count (d->data_dir, "notes"), ==, 1);
  ws_client_clear (&c);
  lares_test_daemon_free (d, TRUE);
}

static void
test_backup (void)
{
  g_autofree char *dir = lares_test_tmpdir ();
  g_autofree char *file = g_build_filename (dir, "copy.db", NULL);
  const char *argv[] = { "backup", "-d", daemon_->data_dir, file, NULL };
  g_autofree char *out = NULL, *err = NULL;
  const char *sq[] = { "sqlite3", file, "SELECT count(*) FROM notes; PRAGMA integrity_check;",
                       NULL };
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *sq_out = NULL;
  g_autofree char *expect = NULL;

  g_assert_cmpuint (lares_test_status (daemon_, "POST", "/api/v1/notes", "application/json",
                                       "{\"body\":\"backed up\"}", 20),
                    ==, 201);
  g_assert_cmpint (lares_test_run (argv, &out, &err), ==, 0);
  /* The independent sqlite3 shell opens the copy and sees the same rows. */
  p = g_subprocess_newv (sq, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, &sq_out, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 0);
  expect = g_strdup_printf ("%" G_GINT64_FORMAT "\nok\n",
                            lares_test_db_count (daemon_->data_dir, "notes"));
  g_assert_cmpstr (sq_out, ==, expect);
  lares_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  daemon_ = lares_test_daemon_start (NULL, NULL);

  g_test_add_func ("/server/healthz", test_healthz);
  g_test_add_func ("/server/readyz", test_readyz);
  g_test_add_func ("/server/metrics", test_metrics);
  g_test_add_func ("/server/request-ids", test_request_ids_unique);
  g_test_add_func ("/server/notes-crud", test_notes_crud);
  for (size_t i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/server/bad-input/%02zu", i);
      g_test_add_data_func (name, &bad_cases[i], test_bad_input);
    }
  g_test_add_func ("/server/bad-input/oversize", test_oversize_body);
  g_test_add_func ("/server/bad-input/deep-nesting", test_deep_nesting);
  g_test_add_func ("/server/bad-input/chunked", test_chunked_body);
  g_test_add_func ("/server/bad-input/declared-oversize", test_declared_oversize);
  g_test_add_func ("/server/bad-input/get-with-huge-body", test_get_with_huge_body);
  g_test_add_func ("/ws/ping-and-errors", test_ws_ping_and_errors);
  g_test_add_func ("/ws/fanout", test_ws_fanout);
  g_test_add_func ("/ws/oversize", test_ws_oversize);
  g_test_add_func ("/ws/binary", test_ws_binary);
  g_test_add_func ("/ws/protocol/fragmented", test_ws_fragmented);
  for (size_t i = 0; i < G_N_ELEMENTS (ws_edges); i++)
    {
      g_autofree char *name = g_strdup_printf ("/ws/protocol/%s", ws_edges[i].name);
      g_test_add_data_func (name, &ws_edges[i], test_ws_edge);
    }
  g_test_add_func ("/lifecycle/connections-released", test_connections_released);
  g_test_add_func ("/lifecycle/accept-out-of-fds", test_accept_out_of_fds);
  g_test_add_func ("/lifecycle/lock", test_lock);
  g_test_add_func ("/lifecycle/sigterm", test_sigterm);
  g_test_add_func ("/lifecycle/backup", test_backup);
  rc = g_test_run ();

  g_assert_cmpint (lares_test_daemon_stop (daemon_, SIGTERM), ==, 0);
  lares_test_daemon_free (daemon_, TRUE);
  return rc;
}
