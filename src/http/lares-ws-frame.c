/* lares-ws-frame.c — RFC 6455 frame reader and builders (see the header).
 *
 * DESIGN
 * - The reader needs a whole frame in the buffer before it takes it: the
 *   header says the payload length, and the cap is checked there, so the
 *   caller's buffer never holds more than one capped frame plus what one
 *   read brought.  An unfragmented text message (the usual case) is handed
 *   out in place, unmasked where it lies; fragments are copied into the
 *   reader's message buffer until the final one.
 * - Control frames may come between the fragments of a message (§5.4) and
 *   are handed out at once, without disturbing the open message.
 * - Nothing here allocates per frame except the fragment buffer, which
 *   grows at most to the cap.
 */
#include "config.h"

#include "lares-ws-frame.h"

#include <string.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 §1.3 */

void
lares_ws_reader_init (LaresWsReader *reader, uint64_t max_message)
{
  memset (reader, 0, sizeof *reader);
  reader->max_message = max_message;
}

void
lares_ws_reader_clear (LaresWsReader *reader)
{
  if (reader->message)
    g_byte_array_unref (reader->message);
  reader->message = NULL;
  reader->in_message = FALSE;
}

static size_t
fail (LaresWsReader *reader, LaresWsEvent *ev, unsigned short code, const char *why)
{
  reader->failed = TRUE;
  ev->kind = LARES_WS_FAIL;
  ev->code = code;
  ev->why = why;
  return 0;
}

gboolean
lares_ws_utf8_valid (const uint8_t *s, size_t len)
{
  size_t i = 0;

  while (i < len)
    {
      uint8_t c = s[i];
      uint32_t cp;
      size_t n;

      if (c < 0x80)
        {
          /* ASCII runs are most of every message: skip them eight at a time. */
          while (i + 8 <= len)
            {
              uint64_t w;
              memcpy (&w, s + i, 8);
              if (w & UINT64_C (0x8080808080808080))
                break;
              i += 8;
            }
          if (i < len && s[i] < 0x80)
            i++;
          continue;
        }
      if (c >= 0xc2 && c <= 0xdf)
        n = 1, cp = c & 0x1f;
      else if (c >= 0xe0 && c <= 0xef)
        n = 2, cp = c & 0x0f;
      else if (c >= 0xf0 && c <= 0xf4)
        n = 3, cp = c & 0x07;
      else
        return FALSE; /* a continuation byte, an overlong lead (c0, c1) or past f4 */
      if (len - i <= n)
        return FALSE;
      for (size_t k = 1; k <= n; k++)
        {
          if ((s[i + k] & 0xc0) != 0x80)
            return FALSE;
          cp = (cp << 6) | (s[i + k] & 0x3f);
        }
      if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
          (cp >= 0xd800 && cp <= 0xdfff))
        return FALSE;
      i += n + 1;
    }
  return TRUE;
}

/* Close codes a peer may send (§7.4): the defined ones that are not
 * reserved for local use, IANA's registered 1012–1014, and 3000–4999. */
static gboolean
close_code_valid (unsigned code)
{
  if (code >= 3000 && code <= 4999)
    return TRUE;
  switch (code)
    {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
    case 1012:
    case 1013:
    case 1014:
      return TRUE;
    default:
      return FALSE;
    }
}

static void
unmask (uint8_t *data, size_t len, const uint8_t mask[4])
{
  size_t i = 0;

  if (len >= 8)
    {
      uint64_t m8;
      uint8_t m[8] = { mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3] };

      memcpy (&m8, m, 8);
      for (; i + 8 <= len; i += 8)
        {
          uint64_t w;
          memcpy (&w, data + i, 8);
          w ^= m8;
          memcpy (data + i, &w, 8);
        }
    }
  for (; i < len; i++)
    data[i] ^= mask[i & 3];
}

size_t
lares_ws_reader_next (LaresWsReader *reader, uint8_t *buf, size_t len, LaresWsEvent *ev)
{
  gboolean fin;
  unsigned opcode;
  uint64_t plen;
  size_t hlen = 2;
  uint8_t *payload;
  const uint8_t *mask;

  memset (ev, 0, sizeof *ev);
  if (reader->failed)
    return fail (reader, ev, LARES_WS_CLOSE_PROTOCOL_ERROR, "the connection already failed");
  if (len < 2)
    {
      ev->kind = LARES_WS_NEED_MORE;
      return 0;
    }

  /* §5.2: FIN, RSV1-3, opcode | MASK, payload length. */
  fin = (buf[0] & 0x80) != 0;
  opcode = buf[0] & 0x0f;
  if (buf[0] & 0x70)
    return fail (reader, ev, LARES_WS_CLOSE_PROTOCOL_ERROR, "reserved bits set");
  /* §5.1: a server closes the connection on an unmasked client frame. */
  if (!(buf[1] & 0x80))
    return fail (reader, ev, LARES_WS_CLOSE_PROTOCOL_ERROR, "unmasked client frame");
  plen = buf[1] & 0x7f;
  if (plen == 126)
    {
      if (len < 4)
        {
          ev->kind = LARES_WS_NEED_MORE;
          return 0;
        }
      plen = ((uint64_t)buf[2] << 8) | buf[3];
      hlen = 4;
    }
  else if (plen == 127)
    {
      if (len < 10)
        {
          ev->kind = LARES_WS_NEED_MORE;
          return 0;
        }
      plen = 0;
      for (int i = 0; i < 8; i++)
        plen = (plen << 8) | buf[2 + i];
      if (plen >> 63)
        return fail (reader, ev, LARES_WS_CLOSE_PROTOCOL_ERROR, "frame length out of range");
      hlen = 10;
    }

  switch (opcode)
    {
    case LARES_WS_OP_CLOSE:
    case LARES_WS_OP_PING:
    case LARES_WS_OP_PONG:
      /* §5.5: control frames are short and never fragmented. */
      if (!fin)
        return fail (reader, ev, LARES_WS_CLOSE_PROTOCOL_ERROR, "fragmented control frame");
      if (plen > LARES_WS_CONTROL_MAX)
        return fail (reader, ev, LARES_WS_CLOSE_PROTOCOL_ERROR, "control frame too long");
      break;
    case LARES_WS_OP_TEXT:
    case LARES_WS_OP_BINARY:
      if (reader->in_message)
        return fail (reader, ev, LARES_WS_CLOSE_PROTOCOL_ERROR,
                     "a new message inside a fragmented one");
      if (opcode == LARES_WS_OP_BINARY)
        return fail (reader, ev, LARES_WS_CLOSE_UNSUPPORTED_DATA,
                     "only JSON text frames are accepted");
      if (plen > reader->max_message)
        return fail (reader, ev, LARES_WS_CLOSE_TOO_BIG, "message too big");
      break;
    case LARES_WS_OP_CONTINUATION:
      if (!reader->in_message)
        return fail (reader, ev, LARES_WS_CLOSE_PROTOCOL_ERROR, "continuation without a message");
      if (plen > reader->max_message - reader->message->len)
        return fail (reader, ev, LARES_WS_CLOSE_TOO_BIG, "message too big");
      break;
    default:
      return fail (reader, ev, LARES_WS_CLOSE_PROTOCOL_ERROR, "unknown opcode");
    }

  if (len - hlen < 4 || len - hlen - 4 < plen)
    {
      ev->kind = LARES_WS_NEED_MORE;
      return 0;
    }
  mask = buf + hlen;
  payload = buf + hlen + 4;
  unmask (payload, (size_t)plen, mask);

  switch (opcode)
    {
    case LARES_WS_OP_PING:
    case LARES_WS_OP_PONG:
      ev->kind = opcode == LARES_WS_OP_PING ? LARES_WS_PING : LARES_WS_PONG;
      ev->data = payload;
      ev->len = (size_t)plen;
      break;
    case LARES_WS_OP_CLOSE:
      /* §5.5.1: empty, or a 2-byte code and a UTF-8 reason. */
      if (plen == 1)
        return fail (reader, ev, LARES_WS_CLOSE_PROTOCOL_ERROR, "close frame of one byte");
      ev->kind = LARES_WS_CLOSE;
      ev->code = LARES_WS_CLOSE_NO_STATUS;
      if (plen >= 2)
        {
          ev->code = (unsigned short)((payload[0] << 8) | payload[1]);
          if (!close_code_valid (ev->code))
            return fail (reader, ev, LARES_WS_CLOSE_PROTOCOL_ERROR, "invalid close code");
          ev->data = payload + 2;
          ev->len = (size_t)plen - 2;
          if (!lares_ws_utf8_valid (ev->data, ev->len))
            return fail (reader, ev, LARES_WS_CLOSE_BAD_DATA, "close reason is not UTF-8");
        }
      break;
    case LARES_WS_OP_TEXT:
      if (fin)
        {
          if (!lares_ws_utf8_valid (payload, (size_t)plen))
            return fail (reader, ev, LARES_WS_CLOSE_BAD_DATA, "text is not UTF-8");
          ev->kind = LARES_WS_TEXT;
          ev->data = payload;
          ev->len = (size_t)plen;
          break;
        }
      if (reader->message == NULL)
        reader->message = g_byte_array_new ();
      g_byte_array_set_size (reader->message, 0);
      reader->in_message = TRUE;
      /* The first fragment is kept like the others. */
      G_GNUC_FALLTHROUGH;
    case LARES_WS_OP_CONTINUATION:
      g_byte_array_append (reader->message, payload, (unsigned)plen);
      if (!fin)
        {
          ev->kind = LARES_WS_CONSUMED;
          break;
        }
      reader->in_message = FALSE;
      if (!lares_ws_utf8_valid (reader->message->data, reader->message->len))
        return fail (reader, ev, LARES_WS_CLOSE_BAD_DATA, "text is not UTF-8");
      ev->kind = LARES_WS_TEXT;
      ev->data = reader->message->data;
      ev->len = reader->message->len;
      break;
    default:
      g_assert_not_reached ();
    }
  return hlen + 4 + (size_t)plen;
}

size_t
lares_ws_frame_header (uint8_t out[LARES_WS_HEADER_MAX], unsigned opcode, uint64_t len)
{
  out[0] = (uint8_t)(0x80 | (opcode & 0x0f));
  if (len < 126)
    {
      out[1] = (uint8_t)len;
      return 2;
    }
  if (len <= 0xffff)
    {
      out[1] = 126;
      out[2] = (uint8_t)(len >> 8);
      out[3] = (uint8_t)len;
      return 4;
    }
  out[1] = 127;
  for (int i = 0; i < 8; i++)
    out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
  return 10;
}

GBytes *
lares_ws_frame_new (unsigned opcode, const void *payload, size_t len)
{
  uint8_t header[LARES_WS_HEADER_MAX];
  size_t hlen = lares_ws_frame_header (header, opcode, len);
  uint8_t *frame = g_malloc (hlen + len);

  memcpy (frame, header, hlen);
  if (len)
    memcpy (frame + hlen, payload, len);
  return g_bytes_new_take (frame, hlen + len);
}

GBytes *
lares_ws_frame_close (unsigned short code, const char *reason)
{
  uint8_t payload[LARES_WS_CONTROL_MAX];
  size_t rlen = reason ? strlen (reason) : 0;

  if (code == 0)
    return lares_ws_frame_new (LARES_WS_OP_CLOSE, NULL, 0);
  /* Cut the reason at a character boundary to fit the control frame. */
  if (rlen > LARES_WS_CONTROL_MAX - 2)
    {
      rlen = LARES_WS_CONTROL_MAX - 2;
      while (rlen > 0 && ((uint8_t)reason[rlen] & 0xc0) == 0x80)
        rlen--;
    }
  payload[0] = (uint8_t)(code >> 8);
  payload[1] = (uint8_t)code;
  if (rlen)
    memcpy (payload + 2, reason, rlen);
  return lares_ws_frame_new (LARES_WS_OP_CLOSE, payload, rlen + 2);
}

char *
lares_ws_accept_key (const char *key)
{
  g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  uint8_t digest[20];
  size_t dlen = sizeof digest;

  g_checksum_update (sha1, (const guchar *)key, (gssize)strlen (key));
  g_checksum_update (sha1, (const guchar *)WS_GUID, (gssize)strlen (WS_GUID));
  g_checksum_get_digest (sha1, digest, &dlen);
  return g_base64_encode (digest, dlen);
}
