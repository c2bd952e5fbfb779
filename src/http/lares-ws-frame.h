/* lares-ws-frame.h — RFC 6455 framing for /ws, without any I/O.
 *
 * The reader turns the bytes a client sent into whole messages and control
 * frames; the builders make the frames the server sends (unmasked, FIN,
 * RFC 6455 §5.2).  Pure functions over caller-owned buffers, so unit tests
 * and the fuzz target drive them directly.
 *
 * The reader enforces what the server accepts (RFC 6455 §5): masked client
 * frames (else 1002), no RSV bits (no extension is ever negotiated), known
 * opcodes, control frames of at most 125 bytes and never fragmented,
 * fragmented messages reassembled with the cap applying to the whole
 * message (1009, decided from the frame header, before the payload is
 * buffered), text only (binary: 1003), valid UTF-8 in text messages and
 * close reasons (1007) and a valid close code.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Opcodes (RFC 6455 §5.2). */
#define LARES_WS_OP_CONTINUATION 0x0
#define LARES_WS_OP_TEXT         0x1
#define LARES_WS_OP_BINARY       0x2
#define LARES_WS_OP_CLOSE        0x8
#define LARES_WS_OP_PING         0x9
#define LARES_WS_OP_PONG         0xa

/* Close codes (RFC 6455 §7.4.1). */
#define LARES_WS_CLOSE_NORMAL           1000
#define LARES_WS_CLOSE_GOING_AWAY       1001
#define LARES_WS_CLOSE_PROTOCOL_ERROR   1002
#define LARES_WS_CLOSE_UNSUPPORTED_DATA 1003
#define LARES_WS_CLOSE_NO_STATUS        1005 /* never sent: "the close frame had no code" */
#define LARES_WS_CLOSE_ABNORMAL         1006 /* never sent: "the connection just ended" */
#define LARES_WS_CLOSE_BAD_DATA         1007
#define LARES_WS_CLOSE_TOO_BIG          1009

#define LARES_WS_CONTROL_MAX 125 /* payload bytes of a control frame (§5.5) */
#define LARES_WS_HEADER_MAX  14  /* 2 + 8 (64-bit length) + 4 (mask) */

typedef enum
{
  LARES_WS_NEED_MORE, /* no whole frame in the buffer: read more */
  LARES_WS_TEXT,      /* a whole text message, valid UTF-8 */
  LARES_WS_PING,      /* payload: answer with a pong carrying the same bytes */
  LARES_WS_PONG,
  LARES_WS_CLOSE,    /* the peer closes: code (1005 when it gave none) and reason */
  LARES_WS_FAIL,     /* the peer broke the protocol: close with code and why */
  LARES_WS_CONSUMED, /* a frame that completes nothing yet (a non-final fragment) */
} LaresWsEventKind;

typedef struct
{
  LaresWsEventKind kind;
  const uint8_t *data; /* TEXT, PING, PONG payload; CLOSE reason (not NUL-terminated) */
  size_t len;
  unsigned short code; /* CLOSE, FAIL */
  const char *why;     /* FAIL: a short sentence for the log and the close frame (static) */
} LaresWsEvent;

typedef struct
{
  uint64_t max_message; /* cap on a whole message's payload, fragments included */
  GByteArray *message;  /* (owned) (nullable) fragments of the open message */
  gboolean in_message;  /* a fragmented message is open */
  gboolean failed;      /* FAIL was returned: nothing more is read */
} LaresWsReader;

void lares_ws_reader_init (LaresWsReader *reader, uint64_t max_message);
void lares_ws_reader_clear (LaresWsReader *reader);

/* Read the next event from the first @len bytes of @buf (what the client
 * sent and nothing consumed yet).  Returns how many bytes it took (0 with
 * NEED_MORE); fills *@ev (OUT).  Frame payloads are unmasked in place in
 * @buf.  Event data point into @buf or the reader and stay valid until the
 * next call or until those bytes are dropped.  After FAIL every call
 * returns FAIL again, taking nothing; after CLOSE the caller stops reading. */
size_t lares_ws_reader_next (LaresWsReader *reader, uint8_t *buf, size_t len, LaresWsEvent *ev);

/* RFC 3629 UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF); NUL is valid. */
gboolean lares_ws_utf8_valid (const uint8_t *data, size_t len);

/* Write a server frame header (FIN set, unmasked) for @len payload bytes
 * into @out; returns its length (2, 4 or 10). */
size_t lares_ws_frame_header (uint8_t out[LARES_WS_HEADER_MAX], unsigned opcode, uint64_t len);

/* A whole server frame: header and a copy of @payload.  (transfer full) */
GBytes *lares_ws_frame_new (unsigned opcode, const void *payload, size_t len);

/* A close frame with @code and @reason (nullable; cut to fit 125 bytes on
 * a character boundary).  @code 0 makes an empty close frame.
 * (transfer full) */
GBytes *lares_ws_frame_close (unsigned short code, const char *reason);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2):
 * base64 (SHA-1 (key + the protocol's GUID)).  (transfer full) */
char *lares_ws_accept_key (const char *key);

G_END_DECLS
