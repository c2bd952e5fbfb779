/* fuzz-ws-frame.c — lares_ws_reader_next(), the /ws frame reader, over
 * what a client sends.
 *
 * Input: byte 0 picks the message cap (16 << (b % 8) bytes), byte 1 the
 * size of the pieces the stream arrives in (1 + b bytes), the rest is the
 * byte stream from the client.
 *
 * Checks beyond "no crash": the reader never takes more than it was given;
 * text messages are valid UTF-8 and within the cap; control payloads are
 * at most 125 bytes; a close code is one a peer may send; a failure names
 * 1002, 1003, 1007 or 1009 and stays failed; and the events are the same
 * whether the stream arrives whole or in pieces (the I/O thread keeps a
 * partial frame and reads on).
 */
#include "config.h"

#include "lares-fuzz.h"
#include "lares-ws-frame.h"

#include <string.h>

static void
record (GString *log, const LaresWsEvent *ev, uint64_t cap)
{
  switch (ev->kind)
    {
    case LARES_WS_TEXT:
      g_assert_cmpuint (ev->len, <=, cap);
      g_assert_true (lares_ws_utf8_valid (ev->data, ev->len));
      break;
    case LARES_WS_PING:
    case LARES_WS_PONG:
      g_assert_cmpuint (ev->len, <=, LARES_WS_CONTROL_MAX);
      break;
    case LARES_WS_CLOSE:
      g_assert_cmpuint (ev->len, <=, LARES_WS_CONTROL_MAX - 2);
      g_assert_true (ev->code == LARES_WS_CLOSE_NO_STATUS ||
                     (ev->code >= 1000 && ev->code < 5000 && ev->code != 1004 && ev->code != 1006 &&
                      ev->code != 1015));
      g_assert_true (lares_ws_utf8_valid (ev->data, ev->len));
      break;
    case LARES_WS_FAIL:
      g_assert_true (ev->code == LARES_WS_CLOSE_PROTOCOL_ERROR ||
                     ev->code == LARES_WS_CLOSE_UNSUPPORTED_DATA ||
                     ev->code == LARES_WS_CLOSE_BAD_DATA || ev->code == LARES_WS_CLOSE_TOO_BIG);
      g_assert_nonnull (ev->why);
      g_assert_cmpuint (strlen (ev->why), <=, LARES_WS_CONTROL_MAX - 2);
      break;
    case LARES_WS_NEED_MORE:
    case LARES_WS_CONSUMED:
      return;
    }
  g_string_append_printf (log, "%d %u %zu:", ev->kind, ev->code, ev->len);
  if (ev->len)
    g_string_append_len (log, (const char *)ev->data, (gssize)ev->len);
  g_string_append_c (log, '\n');
}

/* Feed @stream in pieces of @step bytes, as the I/O thread does: keep what
 * is not a whole frame yet and read on.  Returns the events' transcript. */
static GString *
run (const uint8_t *stream, size_t size, uint64_t cap, size_t step)
{
  GString *log = g_string_new (NULL);
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  LaresWsReader reader;
  gboolean over = FALSE;

  lares_ws_reader_init (&reader, cap);
  for (size_t fed = 0; fed < size && !over;)
    {
      size_t piece = MIN (step, size - fed), pos = 0;

      g_byte_array_append (buf, stream + fed, (unsigned)piece);
      fed += piece;
      for (;;)
        {
          LaresWsEvent ev;
          size_t used = lares_ws_reader_next (&reader, buf->data + pos, buf->len - pos, &ev);

          g_assert_cmpuint (used, <=, buf->len - pos);
          pos += used;
          record (log, &ev, cap);
          if (ev.kind == LARES_WS_NEED_MORE)
            break;
          if (ev.kind == LARES_WS_FAIL)
            {
              LaresWsEvent again;
              g_assert_cmpuint (used, ==, 0);
              g_assert_cmpuint (lares_ws_reader_next (&reader, buf->data, buf->len, &again), ==, 0);
              g_assert_cmpint (again.kind, ==, LARES_WS_FAIL);
              over = TRUE;
              break;
            }
          if (ev.kind == LARES_WS_CLOSE)
            {
              over = TRUE;
              break;
            }
          g_assert_cmpuint (used, >, 0);
        }
      g_byte_array_remove_range (buf, 0, (unsigned)pos);
      /* Never more than one frame (capped, or a control frame) plus one
       * piece waiting. */
      g_assert_cmpuint (buf->len, <=, MAX (cap, LARES_WS_CONTROL_MAX) + LARES_WS_HEADER_MAX + step);
    }
  lares_ws_reader_clear (&reader);
  return log;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  uint64_t cap;
  size_t step;
  g_autoptr (GString) whole = NULL, pieces = NULL;

  lares_fuzz_init ();
  if (size < 2)
    return 0;
  cap = (uint64_t)16 << (data[0] % 8);
  step = 1 + (size_t)data[1];
  whole = run (data + 2, size - 2, cap, size);
  pieces = run (data + 2, size - 2, cap, step);
  g_assert_cmpstr (whole->str, ==, pieces->str);
  return 0;
}
