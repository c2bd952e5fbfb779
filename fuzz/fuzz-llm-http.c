/* fuzz-llm-http.c — the HTTP/1.1 response reader under lares's own LLM
 * transport (lares-llm-http.h), fed an LLM server's response bytes.
 *
 * The input is fed whole, cut at up to three points derived from its
 * bytes, and (when short) byte by byte, each followed by the end of input;
 * and whole and cut without it.  Checks beyond "no crash": every way gives
 * the same heads, body, outcome and keep-alive decision; body bytes point
 * into the buffer being fed (no copy); a failure is a LARES_LLM_ERROR; the
 * reason phrase is valid UTF-8 without control characters; a kept
 * connection always had its response read to the end.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lares-fuzz.h"
#include "lares-llm-http.h"

#define SLOW_MAX 4096

typedef struct
{
  GString *out;
  const char *feed_start, *feed_end;
} Run;

static gboolean
head_cb (const LaresLlmHttp *http, gpointer user_data, GError **error)
{
  Run *run = user_data;

  g_assert_true (http->status >= 200 && http->status <= 999);
  g_assert_true (g_utf8_validate (http->reason, -1, NULL));
  for (const char *c = http->reason; *c != '\0'; c++)
    g_assert_true ((unsigned char)*c >= 0x20 && *c != 0x7f);
  g_assert_true (lares_llm_http_head_done (http));
  g_string_append_printf (run->out, "head %u %s|", http->status, http->reason);
  return TRUE;
}

static gboolean
body_cb (const char *data, size_t len, gpointer user_data, GError **error)
{
  Run *run = user_data;

  g_assert_true (len > 0);
  g_assert_true (data >= run->feed_start && data + len <= run->feed_end);
  g_string_append_len (run->out, data, (gssize)len);
  return TRUE;
}

/* Everything the run produced, for comparing runs.  @step 0: pieces at
 * @cuts; otherwise pieces of @step bytes. */
static char *
run_reader (const uint8_t *data, size_t size, const size_t *cuts, size_t n_cuts, size_t step,
            gboolean eof)
{
  g_autoptr (GError) error = NULL;
  LaresLlmHttp http;
  Run run = { g_string_new (NULL), NULL, NULL };
  size_t at = 0;
  gboolean ok = TRUE;

  lares_llm_http_init (&http, head_cb, body_cb, &run);
  for (size_t i = 0; ok; i++)
    {
      size_t to = step > 0 ? MIN (at + step, size) : i < n_cuts ? cuts[i] : size;
      g_autofree char *piece = g_malloc (MAX (to - at, 1)); /* its own: overreads show */

      if (to > at)
        memcpy (piece, data + at, to - at);

      run.feed_start = piece;
      run.feed_end = piece + (to - at);
      ok = lares_llm_http_feed (&http, piece, to - at, &error);
      at = to;
      if (at == size && (step > 0 || i >= n_cuts))
        break;
    }
  if (ok && eof)
    ok = lares_llm_http_finish (&http, &error);
  g_assert_true (ok == (error == NULL));
  if (error != NULL)
    g_assert_true (error->domain == LARES_LLM_ERROR);
  g_assert_true (!lares_llm_http_keep_alive (&http) || lares_llm_http_done (&http));
  g_string_append_printf (run.out, "|done %d keep %d error %s", lares_llm_http_done (&http),
                          lares_llm_http_keep_alive (&http), error ? error->message : "-");
  lares_llm_http_clear (&http);
  return g_string_free (run.out, FALSE);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  size_t cuts[3];

  lares_fuzz_init ();

  lares_fuzz_cuts (data, size, cuts, G_N_ELEMENTS (cuts));

  for (int eof = 0; eof <= 1; eof++)
    {
      g_autofree char *whole = run_reader (data, size, NULL, 0, 0, eof);
      g_autofree char *split = run_reader (data, size, cuts, G_N_ELEMENTS (cuts), 0, eof);

      g_assert_cmpstr (whole, ==, split);
      if (size <= SLOW_MAX)
        {
          g_autofree char *slow = run_reader (data, size, NULL, 0, 1, eof);
          g_assert_cmpstr (whole, ==, slow);
        }
    }
  return 0;
}
