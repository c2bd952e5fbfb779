/* test-ws-frame.c — the RFC 6455 frame reader and builders (lares-ws-frame.h).
 * Buffers are exact-length copies, never NUL-terminated. */
#include "config.h"

#include "lares-ws-frame.h"

#include <string.h>

static const uint8_t MASK[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* A client frame: masked with MASK unless @masked is FALSE. */
static void
put_frame (GByteArray *out, gboolean fin, unsigned opcode, const void *payload, size_t len,
           gboolean masked)
{
  uint8_t header[LARES_WS_HEADER_MAX];
  size_t hlen = lares_ws_frame_header (header, opcode, len);
  size_t start;

  if (!fin)
    header[0] &= 0x7f;
  if (masked)
    header[1] |= 0x80;
  g_byte_array_append (out, header, (unsigned)hlen);
  if (masked)
    g_byte_array_append (out, MASK, 4);
  start = out->len;
  if (len)
    g_byte_array_append (out, payload, (unsigned)len);
  if (masked)
    for (size_t i = 0; i < len; i++)
      out->data[start + i] ^= MASK[i & 3];
}

typedef struct
{
  LaresWsEventKind kind;
  char *data; /* (owned) */
  size_t len;
  unsigned short code;
} Seen;

/* Run the reader over @in (copied: it unmasks in place) and collect the
 * events up to NEED_MORE, CLOSE or FAIL.  *@used: bytes taken. */
static GArray *
read_all (const uint8_t *in, size_t len, uint64_t max, size_t *used)
{
  g_autofree uint8_t *buf = g_memdup2 (in, len ? len : 1);
  GArray *seen = g_array_new (FALSE, TRUE, sizeof (Seen));
  LaresWsReader r;
  size_t pos = 0;

  lares_ws_reader_init (&r, max);
  for (;;)
    {
      LaresWsEvent ev;
      Seen s = { 0 };
      size_t n = lares_ws_reader_next (&r, buf + pos, len - pos, &ev);

      g_assert_cmpuint (n, <=, len - pos);
      pos += n;
      if (ev.kind == LARES_WS_CONSUMED)
        {
          g_assert_cmpuint (n, >, 0);
          continue;
        }
      s.kind = ev.kind;
      s.code = ev.code;
      s.len = ev.len;
      s.data = g_malloc0 (ev.len + 1);
      if (ev.len)
        memcpy (s.data, ev.data, ev.len);
      g_array_append_val (seen, s);
      if (ev.kind == LARES_WS_NEED_MORE || ev.kind == LARES_WS_CLOSE || ev.kind == LARES_WS_FAIL)
        {
          if (ev.kind == LARES_WS_FAIL)
            {
              /* Failed for good: the same answer, nothing taken. */
              LaresWsEvent again;
              g_assert_cmpuint (lares_ws_reader_next (&r, buf + pos, len - pos, &again), ==, 0);
              g_assert_cmpint (again.kind, ==, LARES_WS_FAIL);
            }
          else if (ev.kind == LARES_WS_CLOSE)
            g_assert_cmpuint (n, >, 0);
          break;
        }
      g_assert_cmpuint (n, >, 0);
    }
  lares_ws_reader_clear (&r);
  if (used)
    *used = pos;
  return seen;
}

static void
seen_free (GArray *seen)
{
  for (unsigned i = 0; i < seen->len; i++)
    g_free (g_array_index (seen, Seen, i).data);
  g_array_unref (seen);
}

typedef GArray GArray_Seen;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GArray_Seen, seen_free)

static void
assert_seen (GArray *seen, unsigned i, LaresWsEventKind kind, const char *data, size_t len)
{
  Seen *s;

  g_assert_cmpuint (i, <, seen->len);
  s = &g_array_index (seen, Seen, i);
  g_assert_cmpint (s->kind, ==, kind);
  if (data)
    {
      g_assert_cmpuint (s->len, ==, len);
      g_assert_cmpmem (s->data, s->len, data, len);
    }
}

static unsigned short
last_code (GArray *seen)
{
  return g_array_index (seen, Seen, seen->len - 1).code;
}

static LaresWsEventKind
last_kind (GArray *seen)
{
  return g_array_index (seen, Seen, seen->len - 1).kind;
}

/* RFC 6455 §5.7. */
static void
test_rfc_examples (void)
{
  /* A single-frame masked text message "Hello". */
  static const uint8_t hello[] = {
    0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
  };
  /* The same unmasked: a server must refuse it (§5.1). */
  static const uint8_t unmasked[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
  size_t used = 0;

  {
    g_autoptr (GArray_Seen) seen = read_all (hello, sizeof hello, 1024, &used);
    assert_seen (seen, 0, LARES_WS_TEXT, "Hello", 5);
    assert_seen (seen, 1, LARES_WS_NEED_MORE, NULL, 0);
    g_assert_cmpuint (used, ==, sizeof hello);
  }
  {
    g_autoptr (GArray_Seen) seen = read_all (unmasked, sizeof unmasked, 1024, &used);
    assert_seen (seen, 0, LARES_WS_FAIL, NULL, 0);
    g_assert_cmpuint (last_code (seen), ==, LARES_WS_CLOSE_PROTOCOL_ERROR);
    g_assert_cmpuint (used, ==, 0);
  }
  /* A fragmented text message: "Hel", then "lo"; a masked ping "Hello". */
  {
    g_autoptr (GByteArray) in = g_byte_array_new ();
    g_autoptr (GArray_Seen) seen = NULL;

    put_frame (in, FALSE, LARES_WS_OP_TEXT, "Hel", 3, TRUE);
    put_frame (in, TRUE, LARES_WS_OP_CONTINUATION, "lo", 2, TRUE);
    put_frame (in, TRUE, LARES_WS_OP_PING, "Hello", 5, TRUE);
    put_frame (in, TRUE, LARES_WS_OP_PONG, "Hello", 5, TRUE);
    seen = read_all (in->data, in->len, 1024, &used);
    assert_seen (seen, 0, LARES_WS_TEXT, "Hello", 5);
    assert_seen (seen, 1, LARES_WS_PING, "Hello", 5);
    assert_seen (seen, 2, LARES_WS_PONG, "Hello", 5);
    assert_seen (seen, 3, LARES_WS_NEED_MORE, NULL, 0);
    g_assert_cmpuint (used, ==, in->len);
  }
  /* 256 bytes of binary in one frame (16-bit length) and 64 KiB (64-bit):
   * refused from the header, with 1003. */
  {
    static const uint8_t bin16[] = { 0x82, 0xfe, 0x01, 0x00 };
    static const uint8_t bin64[] = { 0x82, 0xff, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00 };
    g_autoptr (GArray_Seen) a = read_all (bin16, sizeof bin16, 1 << 20, NULL);
    g_autoptr (GArray_Seen) b = read_all (bin64, sizeof bin64, 1 << 20, NULL);

    g_assert_cmpint (last_kind (a), ==, LARES_WS_FAIL);
    g_assert_cmpuint (last_code (a), ==, LARES_WS_CLOSE_UNSUPPORTED_DATA);
    g_assert_cmpint (last_kind (b), ==, LARES_WS_FAIL);
    g_assert_cmpuint (last_code (b), ==, LARES_WS_CLOSE_UNSUPPORTED_DATA);
  }
}

/* 7-, 16- and 64-bit lengths, at their edges. */
static void
test_lengths (void)
{
  static const size_t sizes[] = { 0, 1, 125, 126, 127, 65535, 65536, 70000 };

  for (size_t i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr (GByteArray) in = g_byte_array_new ();
      g_autofree char *text = g_malloc (sizes[i] + 1);
      g_autoptr (GArray_Seen) seen = NULL;
      size_t used = 0, expect_header = sizes[i] < 126 ? 2 : sizes[i] <= 65535 ? 4 : 10;

      for (size_t k = 0; k < sizes[i]; k++)
        text[k] = (char)('a' + k % 26);
      put_frame (in, TRUE, LARES_WS_OP_TEXT, text, sizes[i], TRUE);
      g_assert_cmpuint (in->len, ==, expect_header + 4 + sizes[i]);
      seen = read_all (in->data, in->len, 128 * 1024, &used);
      assert_seen (seen, 0, LARES_WS_TEXT, text, sizes[i]);
      g_assert_cmpuint (used, ==, in->len);

      /* Every proper prefix is "need more", taking nothing. */
      for (size_t cut = 0; cut < in->len; cut += (cut < 16 ? 1 : 997))
        {
          g_autoptr (GArray_Seen) part = read_all (in->data, cut, 128 * 1024, &used);
          assert_seen (part, 0, LARES_WS_NEED_MORE, NULL, 0);
          g_assert_cmpuint (used, ==, 0);
        }
    }
  /* A 64-bit length with the top bit set (§5.2). */
  {
    static const uint8_t huge[] = { 0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1 };
    g_autoptr (GArray_Seen) seen = read_all (huge, sizeof huge, G_MAXUINT64, NULL);
    g_assert_cmpint (last_kind (seen), ==, LARES_WS_FAIL);
    g_assert_cmpuint (last_code (seen), ==, LARES_WS_CLOSE_PROTOCOL_ERROR);
  }
}

/* The cap applies to a whole message and is decided from the header. */
static void
test_cap (void)
{
  g_autofree char *text = g_strnfill (600, 'x');

  {
    /* One frame over the cap: the header alone is enough to refuse it. */
    static const uint8_t header[] = { 0x81, 0xfe, 0x02, 0x58 }; /* 600 bytes */
    g_autoptr (GArray_Seen) seen = read_all (header, sizeof header, 512, NULL);
    g_assert_cmpint (last_kind (seen), ==, LARES_WS_FAIL);
    g_assert_cmpuint (last_code (seen), ==, LARES_WS_CLOSE_TOO_BIG);
  }
  {
    /* Exactly the cap is fine. */
    g_autoptr (GByteArray) in = g_byte_array_new ();
    g_autoptr (GArray_Seen) seen = NULL;
    put_frame (in, TRUE, LARES_WS_OP_TEXT, text, 512, TRUE);
    seen = read_all (in->data, in->len, 512, NULL);
    assert_seen (seen, 0, LARES_WS_TEXT, text, 512);
  }
  {
    /* Fragments each under the cap, together over it. */
    g_autoptr (GByteArray) in = g_byte_array_new ();
    g_autoptr (GArray_Seen) seen = NULL;
    put_frame (in, FALSE, LARES_WS_OP_TEXT, text, 300, TRUE);
    put_frame (in, FALSE, LARES_WS_OP_CONTINUATION, text, 200, TRUE);
    put_frame (in, TRUE, LARES_WS_OP_CONTINUATION, text, 100, TRUE);
    seen = read_all (in->data, in->len, 512, NULL);
    g_assert_cmpuint (seen->len, ==, 1);
    g_assert_cmpint (last_kind (seen), ==, LARES_WS_FAIL);
    g_assert_cmpuint (last_code (seen), ==, LARES_WS_CLOSE_TOO_BIG);
  }
  {
    /* Fragments adding up to exactly the cap. */
    g_autoptr (GByteArray) in = g_byte_array_new ();
    g_autoptr (GArray_Seen) seen = NULL;
    put_frame (in, FALSE, LARES_WS_OP_TEXT, text, 300, TRUE);
    put_frame (in, TRUE, LARES_WS_OP_CONTINUATION, text, 212, TRUE);
    seen = read_all (in->data, in->len, 512, NULL);
    assert_seen (seen, 0, LARES_WS_TEXT, text, 512);
  }
}

/* Fragmentation (§5.4): control frames may come between fragments;
 * fragments of two messages may not interleave. */
static void
test_fragments (void)
{
  {
    g_autoptr (GByteArray) in = g_byte_array_new ();
    g_autoptr (GArray_Seen) seen = NULL;

    put_frame (in, FALSE, LARES_WS_OP_TEXT, "{\"type\":", 8, TRUE);
    put_frame (in, TRUE, LARES_WS_OP_PING, "p1", 2, TRUE);
    put_frame (in, FALSE, LARES_WS_OP_CONTINUATION, "", 0, TRUE);
    put_frame (in, TRUE, LARES_WS_OP_PONG, NULL, 0, TRUE);
    put_frame (in, TRUE, LARES_WS_OP_CONTINUATION, "\"ping\"}", 7, TRUE);
    /* A second message right after, in one frame. */
    put_frame (in, TRUE, LARES_WS_OP_TEXT, "{}", 2, TRUE);
    seen = read_all (in->data, in->len, 1024, NULL);
    assert_seen (seen, 0, LARES_WS_PING, "p1", 2);
    assert_seen (seen, 1, LARES_WS_PONG, "", 0);
    assert_seen (seen, 2, LARES_WS_TEXT, "{\"type\":\"ping\"}", 15);
    assert_seen (seen, 3, LARES_WS_TEXT, "{}", 2);
    assert_seen (seen, 4, LARES_WS_NEED_MORE, NULL, 0);
  }
  {
    /* UTF-8 split between fragments is checked on the whole message. */
    g_autoptr (GByteArray) in = g_byte_array_new ();
    g_autoptr (GArray_Seen) seen = NULL;
    put_frame (in, FALSE, LARES_WS_OP_TEXT, "caf\xc3", 4, TRUE);
    put_frame (in, TRUE, LARES_WS_OP_CONTINUATION, "\xa9", 1, TRUE);
    seen = read_all (in->data, in->len, 1024, NULL);
    assert_seen (seen, 0, LARES_WS_TEXT, "caf\xc3\xa9", 5);
  }
  {
    /* A new text frame inside a fragmented message. */
    g_autoptr (GByteArray) in = g_byte_array_new ();
    g_autoptr (GArray_Seen) seen = NULL;
    put_frame (in, FALSE, LARES_WS_OP_TEXT, "a", 1, TRUE);
    put_frame (in, TRUE, LARES_WS_OP_TEXT, "b", 1, TRUE);
    seen = read_all (in->data, in->len, 1024, NULL);
    g_assert_cmpint (last_kind (seen), ==, LARES_WS_FAIL);
    g_assert_cmpuint (last_code (seen), ==, LARES_WS_CLOSE_PROTOCOL_ERROR);
  }
  {
    /* A continuation with no message open. */
    g_autoptr (GByteArray) in = g_byte_array_new ();
    g_autoptr (GArray_Seen) seen = NULL;
    put_frame (in, TRUE, LARES_WS_OP_CONTINUATION, "a", 1, TRUE);
    seen = read_all (in->data, in->len, 1024, NULL);
    g_assert_cmpint (last_kind (seen), ==, LARES_WS_FAIL);
    g_assert_cmpuint (last_code (seen), ==, LARES_WS_CLOSE_PROTOCOL_ERROR);
  }
  {
    /* A fragmented binary message is refused at its first frame. */
    g_autoptr (GByteArray) in = g_byte_array_new ();
    g_autoptr (GArray_Seen) seen = NULL;
    put_frame (in, FALSE, LARES_WS_OP_BINARY, "a", 1, TRUE);
    seen = read_all (in->data, in->len, 1024, NULL);
    g_assert_cmpuint (last_code (seen), ==, LARES_WS_CLOSE_UNSUPPORTED_DATA);
  }
}

typedef struct
{
  const char *name;
  uint8_t first;       /* FIN/RSV/opcode byte */
  const char *payload; /* masked by the test */
  size_t len;
  LaresWsEventKind kind; /* the first event */
  unsigned short code;   /* CLOSE, FAIL */
} ControlCase;

static void
test_control (void)
{
  g_autofree char *long_payload = g_strnfill (126, 'p');
  const ControlCase cases[] = {
    { "close with code and reason", 0x88,
      "\x03\xe8"
      "bye",
      5, LARES_WS_CLOSE, 1000 },
    { "close without a code", 0x88, "", 0, LARES_WS_CLOSE, LARES_WS_CLOSE_NO_STATUS },
    { "close 1001", 0x88, "\x03\xe9", 2, LARES_WS_CLOSE, 1001 },
    { "close 4000 (private use)", 0x88, "\x0f\xa0", 2, LARES_WS_CLOSE, 4000 },
    { "close of one byte", 0x88, "\x03", 1, LARES_WS_FAIL, 1002 },
    { "close 999", 0x88, "\x03\xe7", 2, LARES_WS_FAIL, 1002 },
    { "close 1005 (reserved)", 0x88, "\x03\xed", 2, LARES_WS_FAIL, 1002 },
    { "close 1006 (reserved)", 0x88, "\x03\xee", 2, LARES_WS_FAIL, 1002 },
    { "close 2000", 0x88, "\x07\xd0", 2, LARES_WS_FAIL, 1002 },
    { "close 5000", 0x88, "\x13\x88", 2, LARES_WS_FAIL, 1002 },
    { "close reason not UTF-8", 0x88, "\x03\xe8\xff", 3, LARES_WS_FAIL, 1007 },
    { "ping of 125 bytes", 0x89, NULL, 125, LARES_WS_PING, 0 },
    { "ping of 126 bytes", 0x89, NULL, 126, LARES_WS_FAIL, 1002 },
    { "fragmented ping", 0x09, "x", 1, LARES_WS_FAIL, 1002 },
    { "fragmented close", 0x08, "", 0, LARES_WS_FAIL, 1002 },
    { "RSV1 (no extension negotiated)", 0xc1, "x", 1, LARES_WS_FAIL, 1002 },
    { "RSV3", 0x91, "x", 1, LARES_WS_FAIL, 1002 },
    { "opcode 3", 0x83, "x", 1, LARES_WS_FAIL, 1002 },
    { "opcode 0xb", 0x8b, "x", 1, LARES_WS_FAIL, 1002 },
    { "text not UTF-8", 0x81, "\xc3\x28", 2, LARES_WS_FAIL, 1007 },
    { "text with a surrogate", 0x81, "\xed\xa0\x80", 3, LARES_WS_FAIL, 1007 },
    { "text with NUL", 0x81, "a\0b", 3, LARES_WS_TEXT, 0 },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const ControlCase *c = &cases[i];
      g_autoptr (GByteArray) in = g_byte_array_new ();
      g_autoptr (GArray_Seen) seen = NULL;
      Seen *first;

      g_test_message ("case: %s", c->name);
      put_frame (in, TRUE, c->first & 0x0f, c->payload ? c->payload : long_payload, c->len, TRUE);
      in->data[0] = c->first;
      seen = read_all (in->data, in->len, 1024, NULL);
      first = &g_array_index (seen, Seen, 0);
      g_assert_cmpint (first->kind, ==, c->kind);
      if (c->kind == LARES_WS_CLOSE || c->kind == LARES_WS_FAIL)
        g_assert_cmpuint (first->code, ==, c->code);
      if (c->kind == LARES_WS_CLOSE && c->len > 2)
        g_assert_cmpmem (first->data, first->len, c->payload + 2, c->len - 2);
    }
}

static void
test_utf8 (void)
{
  static const struct
  {
    const char *s;
    size_t len;
    gboolean ok;
  } cases[] = {
    { "", 0, TRUE },
    { "plain ascii, longer than eight bytes", 36, TRUE },
    { "\xc3\xa9", 2, TRUE },
    { "\xe2\x82\xac", 3, TRUE },
    { "\xf0\x9f\x98\x80", 4, TRUE },
    { "\xf4\x8f\xbf\xbf", 4, TRUE }, /* U+10FFFF */
    { "\xef\xbf\xbf", 3, TRUE },     /* U+FFFF */
    { "a\0b", 3, TRUE },
    { "\x80", 1, FALSE },
    { "\xc0\x80", 2, FALSE },         /* overlong NUL */
    { "\xc1\xbf", 2, FALSE },         /* overlong */
    { "\xe0\x80\x80", 3, FALSE },     /* overlong */
    { "\xe0\x9f\xbf", 3, FALSE },     /* overlong U+07FF */
    { "\xf0\x8f\xbf\xbf", 4, FALSE }, /* overlong U+FFFF */
    { "\xed\xa0\x80", 3, FALSE },     /* U+D800 */
    { "\xed\xbf\xbf", 3, FALSE },     /* U+DFFF */
    { "\xf4\x90\x80\x80", 4, FALSE }, /* past U+10FFFF */
    { "\xf5\x80\x80\x80", 4, FALSE },
    { "\xff", 1, FALSE },
    { "\xe2\x82", 2, FALSE }, /* cut short */
    { "abcdefgh\xe2\x82", 10, FALSE },
    { "\xc3\xa9\xc3", 3, FALSE },
    { "\xc3"
      "a",
      2, FALSE },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree uint8_t *copy = g_memdup2 (cases[i].s, cases[i].len ? cases[i].len : 1);
      g_test_message ("utf8 case %zu", i);
      g_assert_cmpint (lares_ws_utf8_valid (copy, cases[i].len), ==, cases[i].ok);
    }
}

static void
test_builders (void)
{
  uint8_t h[LARES_WS_HEADER_MAX];

  g_assert_cmpuint (lares_ws_frame_header (h, LARES_WS_OP_TEXT, 0), ==, 2);
  g_assert_cmpmem (h, 2, "\x81\x00", 2);
  g_assert_cmpuint (lares_ws_frame_header (h, LARES_WS_OP_TEXT, 125), ==, 2);
  g_assert_cmpmem (h, 2, "\x81\x7d", 2);
  g_assert_cmpuint (lares_ws_frame_header (h, LARES_WS_OP_PONG, 126), ==, 4);
  g_assert_cmpmem (h, 4, "\x8a\x7e\x00\x7e", 4);
  g_assert_cmpuint (lares_ws_frame_header (h, LARES_WS_OP_TEXT, 65535), ==, 4);
  g_assert_cmpmem (h, 4, "\x81\x7e\xff\xff", 4);
  g_assert_cmpuint (lares_ws_frame_header (h, LARES_WS_OP_TEXT, 65536), ==, 10);
  g_assert_cmpmem (h, 10, "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);

  {
    g_autoptr (GBytes) f = lares_ws_frame_new (LARES_WS_OP_TEXT, "Hello", 5);
    g_assert_cmpmem (g_bytes_get_data (f, NULL), g_bytes_get_size (f), "\x81\x05Hello", 7);
  }
  {
    g_autoptr (GBytes) f = lares_ws_frame_close (1001, "server stopping");
    g_assert_cmpmem (g_bytes_get_data (f, NULL), g_bytes_get_size (f),
                     "\x88\x11\x03\xe9server stopping", 19);
  }
  {
    g_autoptr (GBytes) f = lares_ws_frame_close (0, "ignored");
    g_assert_cmpmem (g_bytes_get_data (f, NULL), g_bytes_get_size (f), "\x88\x00", 2);
  }
  {
    /* A long reason is cut to 123 bytes, not inside a character. */
    g_autoptr (GString) reason = g_string_new (NULL);
    g_autoptr (GBytes) f = NULL;
    const uint8_t *d;
    size_t n = 0;

    for (int i = 0; i < 60; i++)
      g_string_append (reason, "\xc3\xa9");     /* 120 bytes */
    g_string_append (reason, "ab\xe2\x82\xac"); /* 125: the euro sign straddles 123 */
    f = lares_ws_frame_close (1000, reason->str);
    d = g_bytes_get_data (f, &n);
    g_assert_cmpuint (d[1], <=, LARES_WS_CONTROL_MAX);
    g_assert_cmpuint (n, ==, 2 + 2 + 122);
    g_assert_true (lares_ws_utf8_valid (d + 4, n - 4));
  }
}

/* RFC 6455 §1.3's example key. */
static void
test_accept_key (void)
{
  g_autofree char *accept = lares_ws_accept_key ("dGhlIHNhbXBsZSBub25jZQ==");
  g_assert_cmpstr (accept, ==, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ws-frame/rfc-examples", test_rfc_examples);
  g_test_add_func ("/ws-frame/lengths", test_lengths);
  g_test_add_func ("/ws-frame/cap", test_cap);
  g_test_add_func ("/ws-frame/fragments", test_fragments);
  g_test_add_func ("/ws-frame/control", test_control);
  g_test_add_func ("/ws-frame/utf8", test_utf8);
  g_test_add_func ("/ws-frame/builders", test_builders);
  g_test_add_func ("/ws-frame/accept-key", test_accept_key);
  return g_test_run ();
}
