/* bench-ws-raw.c — minimal WebSocket client (RFC 6455) for the fan-out bench.
 *
 * DESIGN: the handshake is blocking with SO_RCVTIMEO/SO_SNDTIMEO, because
 * the bench opens connections one after another before it measures
 * anything.  Afterwards the socket is non-blocking and bench_ws_raw_read()
 * drains it whenever the caller's epoll says it is readable.  Frames we
 * send (pong, close) are masked as §5.3 requires of clients; frames from
 * the server must not be (§5.1).
 */
#include "config.h"

#include "bench-ws-raw.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

#define WS_GUID   "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 §1.3 */
#define READ_SIZE 4096

enum
{
  OP_TEXT = 0x1,
  OP_CLOSE = 0x8,
  OP_PING = 0x9,
  OP_PONG = 0xA,
};

static gboolean
throw_errno (GError **error, int saved_errno, const char *what)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s: %s", what,
               g_strerror (saved_errno));
  return FALSE;
}

static void
ensure_room (BenchWsRaw *ws, size_t want)
{
  if (ws->cap - ws->len >= want)
    return;
  ws->cap = MAX (ws->cap * 2, ws->len + want);
  ws->buf = g_realloc (ws->buf, ws->cap);
}

static char *
expected_accept (const char *key)
{
  g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  uint8_t digest[20];
  gsize digest_len = sizeof digest;

  g_checksum_update (sha1, (const guchar *)key, strlen (key));
  g_checksum_update (sha1, (const guchar *)WS_GUID, strlen (WS_GUID));
  g_checksum_get_digest (sha1, digest, &digest_len);
  return g_base64_encode (digest, digest_len);
}

/* Read until the end of the response headers; keep any bytes after them. */
static gboolean
read_handshake (BenchWsRaw *ws, char **headers, GError **error)
{
  for (;;)
    {
      const uint8_t *end;
      ssize_t n;

      ensure_room (ws, READ_SIZE);
      n = read (ws->fd, ws->buf + ws->len, READ_SIZE);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return throw_errno (error, errno, "read handshake response");
      if (n == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "closed during the handshake");
          return FALSE;
        }
      ws->len += (size_t)n;
      end = memmem (ws->buf, ws->len, "\r\n\r\n", 4);
      if (end == NULL)
        {
          if (ws->len > 16384)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "handshake response headers too long");
              return FALSE;
            }
          continue;
        }
      end += 4;
      *headers = g_strndup ((const char *)ws->buf, (size_t)(end - ws->buf));
      ws->len -= (size_t)(end - ws->buf);
      memmove (ws->buf, end, ws->len);
      return TRUE;
    }
}

static gboolean
check_handshake (const char *headers, const char *key, GError **error)
{
  g_autofree char *accept = expected_accept (key);
  g_autofree char *lower = g_ascii_strdown (headers, -1);
  g_autofree char *want = g_strconcat ("\r\nsec-websocket-accept: ", accept, "\r\n", NULL);
  g_autofree char *want_lower = g_ascii_strdown (want, -1);
  const char *eol = strstr (headers, "\r\n");

  if (!g_str_has_prefix (headers, "HTTP/1.1 101"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "handshake refused: %.*s",
                   eol ? (int)(eol - headers) : 40, headers);
      return FALSE;
    }
  /* Header names are case-insensitive; the accept value is base64, which
   * lower-casing both sides keeps comparable. */
  if (strstr (lower, want_lower) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "handshake: missing or wrong Sec-WebSocket-Accept");
      return FALSE;
    }
  return TRUE;
}

gboolean
bench_ws_raw_open (BenchWsRaw *ws, unsigned port, const char *path, const char *auth,
                   int timeout_ms, GError **error)
{
  struct sockaddr_in sa = { 0 };
  struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
  uint8_t nonce[16];
  g_autofree char *key = NULL;
  g_autofree char *request = NULL;
  g_autofree char *headers = NULL;
  const char *p;
  size_t left;
  int one = 1, flags;

  memset (ws, 0, sizeof *ws);
  ws->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (ws->fd < 0)
    return throw_errno (error, errno, "socket");
  (void)setsockopt (ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  (void)setsockopt (ws->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)setsockopt (ws->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sa.sin_family = AF_INET;
  sa.sin_port = htons ((uint16_t)port);
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (connect (ws->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
    return throw_errno (error, errno, "connect");

  for (size_t i = 0; i < sizeof nonce; i++)
    nonce[i] = (uint8_t)g_random_int_range (0, 256);
  key = g_base64_encode (nonce, sizeof nonce);
  request = g_strdup_printf ("GET %s HTTP/1.1\r\n"
                             "Host: 127.0.0.1:%u\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Key: %s\r\n"
                             "Sec-WebSocket-Version: 13\r\n"
                             "Authorization: %s\r\n\r\n",
                             path, port, key, auth);
  for (p = request, left = strlen (request); left > 0;)
    {
      ssize_t n = write (ws->fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return throw_errno (error, errno, "send handshake");
      p += n;
      left -= (size_t)n;
    }
  if (!read_handshake (ws, &headers, error) || !check_handshake (headers, key, error))
    return FALSE;
  flags = fcntl (ws->fd, F_GETFL);
  if (flags < 0 || fcntl (ws->fd, F_SETFL, flags | O_NONBLOCK) != 0)
    return throw_errno (error, errno, "fcntl(O_NONBLOCK)");
  return TRUE;
}

/* A masked control frame from the client (payload <= 125 bytes). */
static gboolean
send_control (BenchWsRaw *ws, int opcode, const uint8_t *payload, size_t len, GError **error)
{
  uint8_t frame[2 + 4 + 125];
  uint32_t mask = g_random_int ();
  ssize_t n;

  g_return_val_if_fail (len <= 125, FALSE);
  frame[0] = (uint8_t)(0x80 | opcode);
  frame[1] = (uint8_t)(0x80 | len);
  memcpy (frame + 2, &mask, 4);
  for (size_t i = 0; i < len; i++)
    frame[6 + i] = payload[i] ^ frame[2 + i % 4];
  do
    n = write (ws->fd, frame, 6 + len);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return throw_errno (error, errno, "send control frame");
  if ((size_t)n != 6 + len)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "short write of a control frame");
      return FALSE;
    }
  return TRUE;
}

/* Parse complete frames.  Returns 1 to keep reading, 0 after a close frame
 * (answered), -1 on error. */
static int
parse_frames (BenchWsRaw *ws, BenchWsTextFunc func, gpointer user_data, unsigned short *close_code,
              GError **error)
{
  size_t at = 0;
  int rc = 1;

  while (rc == 1 && ws->len - at >= 2)
    {
      const uint8_t *h = ws->buf + at;
      size_t avail = ws->len - at, hdr = 2;
      uint64_t plen = h[1] & 0x7f;
      int opcode = h[0] & 0x0f;

      if (h[1] & 0x80)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "masked frame from the server");
          return -1;
        }
      if (plen == 126)
        {
          if (avail < 4)
            break;
          plen = ((uint64_t)h[2] << 8) | h[3];
          hdr = 4;
        }
      else if (plen == 127)
        {
          if (avail < 10)
            break;
          plen = 0;
          for (int i = 0; i < 8; i++)
            plen = (plen << 8) | h[2 + i];
          hdr = 10;
        }
      if (plen > 16 * 1024 * 1024)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "frame too large");
          return -1;
        }
      if (avail < hdr + plen)
        break;
      switch (opcode)
        {
        case OP_TEXT:
          if (!(h[0] & 0x80))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "fragmented message");
              return -1;
            }
          func (user_data, (const char *)h + hdr, (size_t)plen);
          break;
        case OP_PING:
          if (plen > 125 || !send_control (ws, OP_PONG, h + hdr, (size_t)plen, error))
            return -1;
          break;
        case OP_PONG:
          break;
        case OP_CLOSE:
          *close_code = plen >= 2 ? (unsigned short)((h[hdr] << 8) | h[hdr + 1]) : 1005;
          /* Echo the code back (§5.5.1); the server then closes TCP. */
          (void)send_control (ws, OP_CLOSE, h + hdr, plen >= 2 ? 2 : 0, NULL);
          rc = 0;
          break;
        default:
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "unexpected opcode %d", opcode);
          return -1;
        }
      at += hdr + (size_t)plen;
    }
  ws->len -= at;
  memmove (ws->buf, ws->buf + at, ws->len);
  return rc;
}

int
bench_ws_raw_read (BenchWsRaw *ws, BenchWsTextFunc func, gpointer user_data,
                   unsigned short *close_code, GError **error)
{
  int rc;

  /* Bytes that arrived with the handshake response come first. */
  if ((rc = parse_frames (ws, func, user_data, close_code, error)) != 1)
    goto done;
  for (;;)
    {
      ssize_t n;

      ensure_room (ws, READ_SIZE);
      n = read (ws->fd, ws->buf + ws->len, ws->cap - ws->len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 1;
      if (n < 0)
        {
          throw_errno (error, errno, "read");
          return -1;
        }
      if (n == 0)
        {
          *close_code = 1006;
          rc = 0;
          goto done;
        }
      ws->len += (size_t)n;
      if ((rc = parse_frames (ws, func, user_data, close_code, error)) != 1)
        goto done;
    }
done:
  if (rc == 0)
    {
      close (ws->fd);
      ws->fd = -1;
    }
  return rc;
}

void
bench_ws_raw_clear (BenchWsRaw *ws)
{
  if (ws->fd >= 0)
    close (ws->fd);
  ws->fd = -1;
  g_clear_pointer (&ws->buf, g_free);
  ws->len = ws->cap = 0;
}
