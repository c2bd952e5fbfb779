/* fuzz-llm-ndjson.c — the Ollama stream path: the NDJSON line splitter feeding
 * the chunk accumulator (lares-llm-stream.h), as lares_llm_chat() uses them;
 * then lares_llm_error_text() on the same bytes, as an error body.
 *
 * The input is fed twice: whole, and cut at up to three points derived
 * from its bytes.  Checks beyond "no crash": both runs give the same
 * answer (framing does not depend on how reads fall), every on_text piece
 * is valid UTF-8 and together they are the result's text, tool-call fields
 * are valid UTF-8, and a failure is always a LARES_LLM_ERROR.  A small
 * line cap lets short inputs reach the oversize-line path.
 */
#include "config.h"

#include <string.h>

#include "lares-fuzz.h"
#include "lares-llm-stream.h"

#define MAX_LINE 2048

typedef struct
{
  LaresLlmAccum *acc;
  GString *pieces; /* every on_text piece, concatenated */
  LaresLlmLines lines;
} Run;

static gboolean
line_cb (const char *data, size_t len, gpointer user_data, GError **error)
{
  Run *run = user_data;
  LaresLlmDelta delta;

  if (!lares_llm_accum_feed (run->acc, data, len, &delta, error))
    return FALSE;
  if (delta.text_len > 0)
    {
      g_assert_true (g_utf8_validate_len (delta.text, delta.text_len, NULL));
      g_string_append_len (run->pieces, delta.text, (gssize)delta.text_len);
    }
  return TRUE;
}

/* Everything the run produced, for comparing two runs. */
static char *
run_stream (const uint8_t *data, size_t size, const size_t *cuts, size_t n_cuts)
{
  g_autoptr (GError) error = NULL;
  GString *out = g_string_new (NULL);
  LaresLlmResult *result;
  Run run = { 0 };
  size_t at = 0;
  gboolean ok = TRUE;

  run.acc = lares_llm_accum_new (LARES_LLM_OLLAMA);
  run.pieces = g_string_new (NULL);
  lares_llm_lines_init (&run.lines, MAX_LINE);
  for (size_t i = 0; i <= n_cuts && ok; i++)
    {
      size_t to = i < n_cuts ? cuts[i] : size;

      ok = lares_llm_lines_feed (&run.lines, (const char *)data + at, to - at, line_cb, &run,
                                 &error);
      at = to;
    }
  if (ok)
    ok = lares_llm_lines_finish (&run.lines, line_cb, &run, &error);
  g_assert_true (ok == (error == NULL));
  if (error != NULL)
    g_assert_true (error->domain == LARES_LLM_ERROR);

  result = lares_llm_accum_result (run.acc);
  g_assert_cmpstr (run.pieces->str, ==, result->text->str);
  g_assert_true (g_utf8_validate_len (result->text->str, result->text->len, NULL));
  g_string_append_len (out, result->text->str, (gssize)result->text->len);
  for (unsigned i = 0; i < result->tool_calls->len; i++)
    {
      LaresLlmToolCall *call = g_ptr_array_index (result->tool_calls, i);

      g_assert_true (g_utf8_validate (call->id, -1, NULL));
      g_assert_true (g_utf8_validate (call->name, -1, NULL));
      g_assert_true (g_utf8_validate (call->arguments, -1, NULL));
      g_string_append_printf (out, "\n%s %s %s", call->id, call->name, call->arguments);
    }
  g_string_append_printf (out, "\n%s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %d %d",
                          result->finish_reason ? result->finish_reason : "-",
                          result->prompt_tokens, result->completion_tokens, result->finished,
                          error != NULL ? error->code : -1);
  lares_llm_lines_clear (&run.lines);
  lares_llm_accum_free (run.acc);
  g_string_free (run.pieces, TRUE);
  return g_string_free (out, FALSE);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *whole = NULL;
  g_autofree char *split = NULL;
  g_autofree char *message = NULL;
  size_t cuts[3];

  lares_fuzz_init ();

  lares_fuzz_cuts (data, size, cuts, G_N_ELEMENTS (cuts));

  whole = run_stream (data, size, NULL, 0);
  split = run_stream (data, size, cuts, G_N_ELEMENTS (cuts));
  g_assert_cmpstr (whole, ==, split);

  /* The same bytes as a non-2xx body: at most 200 characters of valid
   * UTF-8 without control characters. */
  message = lares_llm_error_text ((const char *)data, size, 200);
  g_assert_true (g_utf8_validate (message, -1, NULL));
  g_assert_cmpuint (g_utf8_strlen (message, -1), <=, 200);
  for (const char *p = message; *p != '\0'; p = g_utf8_next_char (p))
    g_assert_false (g_unichar_iscntrl (g_utf8_get_char (p)));
  return 0;
}
