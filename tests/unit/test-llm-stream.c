/* test-llm-stream.c — the line splitter, SSE events and the OpenAI and
 * Ollama accumulators (lares-llm-stream.h), without sockets.
 *
 * Every stream is also fed split at each byte offset and one byte at a
 * time, and must give the same answer as when fed whole.  Inputs are
 * copied into buffers of their exact length (not NUL-terminated).
 */
#include "config.h"

#include "lares-llm-stream.h"

#include <string.h>

/* ---- a driver: bytes in, a one-line summary out ----------------------- */

typedef struct
{
  LaresLlmAccum *acc;
  GString *pieces; /* on_text pieces joined by '|' */
  GString *joined; /* on_text pieces concatenated */
  unsigned tool_pieces;
  unsigned finished_deltas;
} Drive;

static gboolean
drive_chunk (const char *data, size_t len, gpointer user_data, GError **error)
{
  Drive *d = user_data;
  LaresLlmDelta delta;

  if (!lares_llm_accum_feed (d->acc, data, len, &delta, error))
    return FALSE;
  if (delta.text_len > 0)
    {
      g_assert_true (g_utf8_validate_len (delta.text, delta.text_len, NULL));
      if (d->pieces->len > 0)
        g_string_append_c (d->pieces, '|');
      g_string_append_len (d->pieces, delta.text, (gssize)delta.text_len);
      g_string_append_len (d->joined, delta.text, (gssize)delta.text_len);
    }
  else
    g_assert_null (delta.text);
  d->tool_pieces += delta.tool_call ? 1 : 0;
  d->finished_deltas += delta.finished ? 1 : 0;
  return TRUE;
}

/* Everything the accumulator assembled, as one comparable string. */
static char *
summarize (Drive *d, const GError *error)
{
  LaresLlmResult *r = lares_llm_accum_result (d->acc);
  GString *out = g_string_new (NULL);

  g_assert_cmpstr (d->joined->str, ==, r->text->str);
  g_string_append_printf (out, "text=%s\n", r->text->str);
  for (unsigned i = 0; i < r->tool_calls->len; i++)
    {
      LaresLlmToolCall *c = g_ptr_array_index (r->tool_calls, i);
      g_string_append_printf (out, "call=%s %s %s\n", c->id, c->name, c->arguments);
    }
  g_string_append_printf (out,
                          "finish=%s usage=%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " finished=%d",
                          r->finish_reason ? r->finish_reason : "(null)", r->prompt_tokens,
                          r->completion_tokens, r->finished);
  if (error != NULL)
    g_string_append_printf (out, " error=%d", error->code);
  return g_string_free (out, FALSE);
}

/* Feed @len bytes of @bytes cut at @cuts (ascending offsets) and finish.
 * @pieces: OUT (nullable), the on_text pieces joined by '|'. */
static char *
run_cuts (LaresLlmProvider provider, size_t max_line, const char *bytes, size_t len,
          const size_t *cuts, size_t n_cuts, char **pieces)
{
  Drive d = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *copy = g_memdup2 (bytes, len ? len : 1);
  LaresLlmSse sse;
  LaresLlmLines lines;
  size_t at = 0;
  gboolean ok = TRUE;
  char *summary;

  d.acc = lares_llm_accum_new (provider);
  d.pieces = g_string_new (NULL);
  d.joined = g_string_new (NULL);
  lares_llm_sse_init (&sse, max_line, drive_chunk, &d);
  lares_llm_lines_init (&lines, max_line);
  for (size_t i = 0; i <= n_cuts && ok; i++)
    {
      size_t to = i < n_cuts ? cuts[i] : len;
      /* Each piece in its own exact-size buffer, so an overread shows. */
      g_autofree char *part = g_malloc (to > at ? to - at : 1);

      memcpy (part, copy + at, to - at);

      if (provider == LARES_LLM_OPENAI)
        ok = lares_llm_sse_feed (&sse, part, to - at, &error);
      else
        ok = lares_llm_lines_feed (&lines, part, to - at, drive_chunk, &d, &error);
      at = to;
    }
  if (ok)
    ok = provider == LARES_LLM_OPENAI ? lares_llm_sse_finish (&sse, &error)
                                      : lares_llm_lines_finish (&lines, drive_chunk, &d, &error);
  g_assert_true (ok == (error == NULL));
  if (error != NULL)
    {
      g_assert_nonnull (error->message);
      g_assert_cmpuint (strlen (error->message), >, 0);
    }
  g_assert_cmpuint (d.finished_deltas, <=, 1);
  summary = summarize (&d, error);
  if (pieces != NULL)
    *pieces = g_strdup (d.pieces->str);
  lares_llm_sse_clear (&sse);
  lares_llm_lines_clear (&lines);
  lares_llm_accum_free (d.acc);
  g_string_free (d.pieces, TRUE);
  g_string_free (d.joined, TRUE);
  return summary;
}

static gboolean
collect_unit (const char *data, size_t len, gpointer user_data, GError **error)
{
  g_string_append_printf (user_data, "[%.*s]", (int)len, data);
  return TRUE;
}

/* Only the framing: the SSE events or NDJSON lines of @bytes cut at @cuts,
 * each in brackets, and the error code if any. */
static char *
framing (LaresLlmProvider provider, size_t max_line, const char *bytes, size_t len,
         const size_t *cuts, size_t n_cuts)
{
  GString *out = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  LaresLlmSse sse;
  LaresLlmLines lines;
  size_t at = 0;
  gboolean ok = TRUE;

  lares_llm_sse_init (&sse, max_line, collect_unit, out);
  lares_llm_lines_init (&lines, max_line);
  for (size_t i = 0; i <= n_cuts && ok; i++)
    {
      size_t to = i < n_cuts ? cuts[i] : len;
      g_autofree char *part = g_malloc (to > at ? to - at : 1);

      memcpy (part, bytes + at, to - at);
      ok = provider == LARES_LLM_OPENAI
               ? lares_llm_sse_feed (&sse, part, to - at, &error)
               : lares_llm_lines_feed (&lines, part, to - at, collect_unit, out, &error);
      at = to;
    }
  if (ok && provider == LARES_LLM_OPENAI)
    lares_llm_sse_finish (&sse, &error);
  else if (ok)
    lares_llm_lines_finish (&lines, collect_unit, out, &error);
  if (error != NULL)
    g_string_append_printf (out, " error=%d", error->code);
  lares_llm_sse_clear (&sse);
  lares_llm_lines_clear (&lines);
  return g_string_free (out, FALSE);
}

/* The stream cut at every offset must frame into the same events (or
 * lines) as when fed whole, and so, the accumulator being a function of
 * them, give the same answer; a full run through the accumulator is done
 * for every 61st cut and byte by byte.  Returns the summary of the whole
 * run. */
static char *
run_all_ways (LaresLlmProvider provider, size_t max_line, const char *bytes, size_t len)
{
  char *whole = run_cuts (provider, max_line, bytes, len, NULL, 0, NULL);
  g_autofree char *whole_framing = framing (provider, max_line, bytes, len, NULL, 0);
  g_autofree size_t *every = g_new (size_t, len + 1);

  for (size_t cut = 0; cut <= len; cut++)
    {
      g_autofree char *split = framing (provider, max_line, bytes, len, &cut, 1);

      if (g_strcmp0 (split, whole_framing) != 0)
        g_error ("cut at %zu of %zu:\n%s\n-- differs from whole --\n%s", cut, len, split,
                 whole_framing);
      if (cut % 61 == 0 || cut == len)
        {
          g_autofree char *answer = run_cuts (provider, max_line, bytes, len, &cut, 1, NULL);
          g_assert_cmpstr (answer, ==, whole);
        }
    }
  for (size_t i = 0; i < len; i++)
    every[i] = i;
  {
    g_autofree char *bytewise = run_cuts (provider, max_line, bytes, len, every, len, NULL);
    g_autofree char *bytewise_framing = framing (provider, max_line, bytes, len, every, len);
    g_assert_cmpstr (bytewise, ==, whole);
    g_assert_cmpstr (bytewise_framing, ==, whole_framing);
  }
  return whole;
}

#define RUN_OPENAI(lit) run_all_ways (LARES_LLM_OPENAI, LARES_LLM_LINE_MAX, lit, sizeof lit - 1)
#define RUN_OLLAMA(lit) run_all_ways (LARES_LLM_OLLAMA, LARES_LLM_LINE_MAX, lit, sizeof lit - 1)

/* ---- PROTOCOLS.md §3.1: the recorded tool-call stream ----------------- */

#define P                                                                                          \
  "\"id\":\"chatcmpl-ABfw8AOXnoa2kzy11vVTSjuQhHCQr\",\"object\":\"chat.completion.chunk\","        \
  "\"created\":1727346176,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":"                 \
  "\"fp_7568d46099\""
#define ARGS(frag)                                                                                 \
  "data: {" P ",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"   \
  "{\"arguments\":\"" frag "\"}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n"

static const char openai_tool_stream[] =
    "data: {" P ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,"
    "\"tool_calls\":[{\"index\":0,\"id\":\"call_c91SqDXlYFuETYv8mUHzz6pp\",\"type\":\"function\","
    "\"function\":{\"name\":\"GetWeatherArgs\",\"arguments\":\"\"}}],\"refusal\":null},"
    "\"logprobs\":null,\"finish_reason\":null}]}\n\n" ARGS ("{\\\"") ARGS ("city")
        ARGS ("\\\":\\\"") ARGS ("Ed") ARGS ("inburgh") ARGS ("\\\",\\\"") ARGS ("country") ARGS (
            "\\\":\\\"") ARGS ("UK") ARGS ("\\\",\\\"") ARGS ("units") ARGS ("\\\":\\\"") ARGS ("c")
            ARGS (
                "\\\"}") "data: {" P ",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,"
                         "\"finish_reason\":\"tool_calls\"}]}"
                         "\n\n"
                         "data: {" P
                         ",\"choices\":[],\"usage\":{\"prompt_tokens\":76,\"completion_tokens\":24,"
                         "\"total_tokens\":100,\"completion_tokens_details\":{\"reasoning_tokens\":"
                         "0}}}\n\n"
                         "data: [DONE]\n\n";

static void
test_openai_tool_call_vector (void)
{
  g_autofree char *got = RUN_OPENAI (openai_tool_stream);

  g_assert_cmpstr (got, ==,
                   "text=\n"
                   "call=call_c91SqDXlYFuETYv8mUHzz6pp GetWeatherArgs "
                   "{\"city\":\"Edinburgh\",\"country\":\"UK\",\"units\":\"c\"}\n"
                   "finish=tool_calls usage=76/24 finished=1");
}

/* A content stream as llama.cpp sends it: a ping comment, "data:" without
 * the space on one line, an empty first delta and a usage chunk. */
#define C(text)                                                                                    \
  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" text                                \
  "\"},\"finish_reason\":null}],"                                                                  \
  "\"usage\":null}\n\n"

static void
test_openai_content (void)
{
  static const char stream[] =
      ": ping\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
      "\"finish_reason\":null}]}\n\n" C ("Hello") C (",") C (" w\\u00f6rld")
          C (" \\ud83d\\ude00") ": ping 2\n"
                                "data:{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
                                "\"stop\"}],\"usage\":null}"
                                "\n\n"
                                "data: "
                                "{\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_"
                                "tokens\":4}}\n\n"
                                "data: [DONE]\n\n";
  g_autofree char *pieces = NULL;
  g_autofree char *got = RUN_OPENAI (stream);
  g_autofree char *whole =
      run_cuts (LARES_LLM_OPENAI, LARES_LLM_LINE_MAX, stream, sizeof stream - 1, NULL, 0, &pieces);

  g_assert_cmpstr (got, ==,
                   "text=Hello, w\xc3\xb6rld \xf0\x9f\x98\x80\n"
                   "finish=stop usage=5/4 finished=1");
  /* One on_text per content delta, in order; the empty delta reports none. */
  g_assert_cmpstr (whole, ==, got);
  g_assert_cmpstr (pieces, ==, "Hello|,| w\xc3\xb6rld| \xf0\x9f\x98\x80");
}

static void
test_openai_line_endings (void)
{
  static const char crlf[] = ": ping\r\n\r\n" C ("a") "data: [DONE]\r\n\r\n";
  static const char cr[] = ": ping\r\r"
                           "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\r\r"
                           "data: [DONE]\r\r";
  static const char mixed[] =
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\r\n"
      "\r"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\r"
      "\n\n"
      "data: [DONE]\n\r\n";
  g_autofree char *a = RUN_OPENAI (crlf);
  g_autofree char *b = RUN_OPENAI (cr);
  g_autofree char *c = RUN_OPENAI (mixed);

  g_assert_cmpstr (a, ==, "text=a\nfinish=(null) usage=-1/-1 finished=1");
  g_assert_cmpstr (b, ==, "text=a\nfinish=(null) usage=-1/-1 finished=1");
  g_assert_cmpstr (c, ==, "text=ab\nfinish=(null) usage=-1/-1 finished=1");
}

/* Two tool calls streamed in parallel, their fragments interleaved, index 1
 * announced first. */
#define TC(idx, body)                                                                              \
  "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":" #idx "," body          \
  "}]},\"finish_reason\":null}]}\n\n"

static void
test_openai_parallel_tool_calls (void)
{
  static const char stream[] = TC (
      1, "\"id\":\"call_B\",\"type\":\"function\",\"function\":{\"name\":\"time_now\","
         "\"arguments\":\"\"}")
      TC (0, "\"id\":\"call_A\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
             "\"arguments\":\"{\\\"ci\"}") TC (1, "\"function\":{\"arguments\":\"{\\\"tz\\\":\"}")
          TC (0, "\"function\":{\"arguments\":\"ty\\\":\"}")
              TC (1, "\"function\":{\"arguments\":\"\\\"UTC\\\"}\"}") TC (
                  0, "\"function\":{\"arguments\":\"\\\"Oslo\\\"}\"}") "data: "
                                                                       "{\"choices\":[{\"index\":0,"
                                                                       "\"delta\":{},"
                                                                       "\"finish_reason\":\"tool_"
                                                                       "calls\"}]}\n\n"
                                                                       "data: [DONE]\n\n";
  g_autofree char *got = RUN_OPENAI (stream);

  g_assert_cmpstr (got, ==,
                   "text=\n"
                   "call=call_A get_weather {\"city\":\"Oslo\"}\n"
                   "call=call_B time_now {\"tz\":\"UTC\"}\n"
                   "finish=tool_calls usage=-1/-1 finished=1");
}

static void
test_openai_missing_done (void)
{
  /* A finish_reason without [DONE] nor usage: the answer is whole. */
  static const char stream[] =
      C ("hi") "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n";
  /* No blank line after the last event: still dispatched at the end. */
  static const char unterminated[] = C ("hi") "data: {\"choices\":[{\"index\":0,\"delta\":"
                                              "{\"content\":\"!\"}}]}";
  g_autofree char *a = RUN_OPENAI (stream);
  g_autofree char *b = RUN_OPENAI (unterminated);

  g_assert_cmpstr (a, ==, "text=hi\nfinish=length usage=-1/-1 finished=0");
  g_assert_cmpstr (b, ==, "text=hi!\nfinish=(null) usage=-1/-1 finished=0");
}

static void
test_openai_after_done (void)
{
  /* Whatever follows [DONE] is ignored, even garbage. */
  static const char stream[] = C ("a") "data: [DONE]\n\n" C ("b") "data: not json\n\n";
  g_autofree char *got = RUN_OPENAI (stream);

  g_assert_cmpstr (got, ==, "text=a\nfinish=(null) usage=-1/-1 finished=1");
}

typedef struct
{
  const char *bug; /* what the case guards against */
  const char *in;
  const char *want;
} StreamCase;

static void
test_openai_errors (void)
{
  static const StreamCase cases[] = {
    { "garbage", "data: {not json}\n\n", "text=\nfinish=(null) usage=-1/-1 finished=0 error=3" },
    { "not an object", "data: [1,2]\n\n", "text=\nfinish=(null) usage=-1/-1 finished=0 error=3" },
    { "text before garbage", C ("ok") "data: {\"choices\":\n\n",
      "text=ok\nfinish=(null) usage=-1/-1 finished=0 error=3" },
    { "an error event (llama.cpp, vLLM)",
      "data: {\"error\":{\"code\":500,\"message\":\"context overflow\",\"type\":\"server_error\"}}"
      "\n\n",
      "text=\nfinish=(null) usage=-1/-1 finished=0 error=2" },
    { "an error as a string", "data: {\"error\":\"boom\"}\n\n",
      "text=\nfinish=(null) usage=-1/-1 finished=0 error=2" },
    { "second top-level value (json-glib 1.6 leaks)", "data: {\"a\":1} {\"b\":2}\n\n",
      "text=\nfinish=(null) usage=-1/-1 finished=0 error=3" },
    { "deep nesting (json-glib recurses)",
      "data: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n\n",
      "text=\nfinish=(null) usage=-1/-1 finished=0 error=3" },
    { "no text from an event that fails",
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\",\"tool_calls\":"
      "[{\"index\":-1}]}}]}\n\n",
      "text=\nfinish=(null) usage=-1/-1 finished=0 error=3" },
    { "negative tool index",
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":-1}]}}]}\n\n",
      "text=\nfinish=(null) usage=-1/-1 finished=0 error=3" },
    { "wrong member types are ignored",
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":7,\"tool_calls\":{}},"
      "\"finish_reason\":1}],\"usage\":{\"prompt_tokens\":\"x\"}}\n\n",
      "text=\nfinish=(null) usage=-1/-1 finished=0" },
    { "an empty data line is no event", "data:\n\ndata: \n\n",
      "text=\nfinish=(null) usage=-1/-1 finished=0" },
    { "choices other than index 0 are ignored",
      "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"x\"}},"
      "{\"index\":0,\"delta\":{\"content\":\"y\"}}]}\n\n",
      "text=y\nfinish=(null) usage=-1/-1 finished=0" },
    { "a tool call without id gets one, by index",
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":3,\"function\":"
      "{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n",
      "call=call_3 f {}\nfinish=(null) usage=-1/-1 finished=0" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = NULL;

      g_test_message ("case %zu: %s", i, cases[i].bug);
      got = run_all_ways (LARES_LLM_OPENAI, LARES_LLM_LINE_MAX, cases[i].in, strlen (cases[i].in));
      if (g_str_has_prefix (cases[i].want, "call="))
        {
          g_autofree char *want = g_strconcat ("text=\n", cases[i].want, NULL);
          g_assert_cmpstr (got, ==, want);
        }
      else
        g_assert_cmpstr (got, ==, cases[i].want);
    }
}

/* A lone surrogate escape decodes to bytes that are not UTF-8; on_text must
 * never see them. */
static void
test_openai_bad_escapes (void)
{
  static const char stream[] = C ("a\\ud800b") C ("c\\u0000d") "data: [DONE]\n\n";
  /* json-glib refuses a lone low surrogate outright. */
  static const char low[] = C ("\\udc00") "data: [DONE]\n\n";
  static const char raw[] = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\xff\xfe"
                            "x\"}}]}\n\n";
  g_autofree char *got = RUN_OPENAI (stream);
  g_autofree char *got_raw = RUN_OPENAI (raw);

  g_autofree char *got_low = RUN_OPENAI (low);

  /* json-glib 1.6 turns "a\ud800b" into "a" and three bytes that are not
   * UTF-8 (eating the "b"), and ends "c\u0000d" at the NUL.  Whatever it
   * does, the text stays valid. */
  g_assert_true (g_utf8_validate (got, -1, NULL));
  g_assert_true (g_str_has_prefix (got, "text=a"));
  g_assert_true (g_str_has_suffix (got, "c\nfinish=(null) usage=-1/-1 finished=1"));
  g_assert_cmpstr (got_low, ==, "text=\nfinish=(null) usage=-1/-1 finished=0 error=3");
  g_assert_cmpstr (got_raw, ==,
                   "text=\xef\xbf\xbd\xef\xbf\xbdx\nfinish=(null) usage=-1/-1 finished=0");
}

/* ---- SSE framing on its own ------------------------------------------ */

static gboolean
collect_event (const char *data, size_t len, gpointer user_data, GError **error)
{
  GPtrArray *events = user_data;

  g_ptr_array_add (events, g_strdup_printf ("[%.*s]", (int)len, data));
  return TRUE;
}

static char *
sse_events (const char *in, size_t len, size_t max_line, int *error_code)
{
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autofree char *copy = g_memdup2 (in, len ? len : 1);
  LaresLlmSse sse;

  lares_llm_sse_init (&sse, max_line, collect_event, events);
  if (lares_llm_sse_feed (&sse, copy, len, &error))
    lares_llm_sse_finish (&sse, &error);
  lares_llm_sse_clear (&sse);
  *error_code = error != NULL ? error->code : -1;
  g_ptr_array_add (events, NULL);
  return g_strjoinv ("", (char **)events->pdata);
}

static void
test_sse_fields (void)
{
  static const struct
  {
    const char *in;
    const char *want;
  } cases[] = {
    { "data: a\ndata: b\n\n", "[a\nb]" },
    { "data:a\n\n", "[a]" },
    { "data:  two spaces\n\n", "[ two spaces]" },
    { "event: x\nid: 7\nretry: 10\ndata: a\n\n", "[a]" },
    { "event: only\n\n", "" },
    { "data\n\n", "[]" }, /* a field without a colon has an empty value */
    { "data:\n\n", "[]" },
    { "datum: x\ndata : y\n\n", "" }, /* neither is "data" */
    { ":comment\n:\ndata: a\n\n", "[a]" },
    { "data: a\n\ndata: b\n\n\n\ndata: c\n\n", "[a][b][c]" },
    { "data: a\n: ping\ndata: b\n\n", "[a\nb]" },
    { "data: a:b: c\n\n", "[a:b: c]" },
    { "data: tail", "[tail]" }, /* no line end at all */
    { "data: a\n", "[a]" },     /* no blank line */
    { "data: a\r\rdata: b\r\n\r\n", "[a][b]" },
    /* '\r'-only ends before and after a '\n' the splitter already found */
    { "data: a\r\rdata: b\r\rdata: c\ndata: d\n\r\rdata: e\r\r", "[a][b][c\nd][e]" },
    { "data: a\r\n\rdata: b\n\r\r\n", "[a][b]" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      int code;
      g_autofree char *got = sse_events (cases[i].in, strlen (cases[i].in), 1024, &code);

      g_test_message ("case %zu", i);
      g_assert_cmpint (code, ==, -1);
      g_assert_cmpstr (got, ==, cases[i].want);
    }
}

static void
test_sse_line_cap (void)
{
  int code;
  g_autofree char *at_cap = sse_events ("data: 12345678\n\n", 16, 14, &code);
  g_autofree char *over = NULL;
  g_autofree char *joined = NULL;
  g_autofree char *unterminated = NULL;
  g_autofree char *huge = NULL;
  size_t huge_len = LARES_LLM_LINE_MAX + 10;
  g_autofree char *big = g_malloc (huge_len);

  g_assert_cmpint (code, ==, -1);
  g_assert_cmpstr (at_cap, ==, "[12345678]");
  over = sse_events ("data: 123456789\n\n", 17, 14, &code);
  g_assert_cmpint (code, ==, LARES_LLM_ERROR_PROTOCOL);
  /* Two lines under the cap that join over it. */
  joined = sse_events ("data: 1234567\ndata: 1234567\n\n", 29, 14, &code);
  g_assert_cmpint (code, ==, LARES_LLM_ERROR_PROTOCOL);
  /* No line end at all: the cap still holds. */
  unterminated = sse_events ("data: 1234567890", 16, 14, &code);
  g_assert_cmpint (code, ==, LARES_LLM_ERROR_PROTOCOL);

  /* The real cap, 1 MiB. */
  memcpy (big, "data: ", 6);
  memset (big + 6, 'x', huge_len - 8);
  memcpy (big + huge_len - 2, "\n\n", 2);
  huge = sse_events (big, huge_len, LARES_LLM_LINE_MAX, &code);
  g_assert_cmpint (code, ==, LARES_LLM_ERROR_PROTOCOL);
}

static void
test_sse_cap_across_chunks (void)
{
  Drive d = { 0 };
  g_autoptr (GError) error = NULL;
  LaresLlmSse sse;
  gboolean ok = TRUE;
  char chunk[4096];
  unsigned fed = 0;

  d.acc = lares_llm_accum_new (LARES_LLM_OPENAI);
  d.pieces = g_string_new (NULL);
  d.joined = g_string_new (NULL);
  lares_llm_sse_init (&sse, LARES_LLM_LINE_MAX, drive_chunk, &d);
  memset (chunk, 'y', sizeof chunk);
  ok = lares_llm_sse_feed (&sse, "data: ", 6, &error);
  /* An endless line is refused once it passes the cap, not buffered. */
  while (ok && fed < 2 * LARES_LLM_LINE_MAX / sizeof chunk)
    {
      ok = lares_llm_sse_feed (&sse, chunk, sizeof chunk, &error);
      fed++;
    }
  g_assert_false (ok);
  g_assert_error (error, LARES_LLM_ERROR, LARES_LLM_ERROR_PROTOCOL);
  g_assert_cmpuint (fed * sizeof chunk, <=, LARES_LLM_LINE_MAX + sizeof chunk);
  g_assert_cmpuint (sse.lines.partial->len, <=, LARES_LLM_LINE_MAX);
  lares_llm_sse_clear (&sse);
  lares_llm_accum_free (d.acc);
  g_string_free (d.pieces, TRUE);
  g_string_free (d.joined, TRUE);
}

/* ---- Ollama, PROTOCOLS.md §3.3 ------------------------------------------ */

static const char ollama_text_stream[] =
    "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.385406455-07:00\",\"message\":"
    "{\"role\":\"assistant\",\"content\":\"The\",\"images\":null},\"done\":false}\n"
    "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.385406455-07:00\",\"message\":"
    "{\"role\":\"assistant\",\"content\":\" sky\",\"images\":null},\"done\":false}\n"
    "{\"model\":\"llama3.2\",\"created_at\":\"2025-07-07T20:22:19.19314Z\",\"message\":"
    "{\"role\":\"assistant\",\"content\":\"\"},\"done_reason\":\"stop\",\"done\":true,"
    "\"total_duration\":182242375,\"load_duration\":41295167,\"prompt_eval_count\":169,"
    "\"prompt_eval_duration\":24573166,\"eval_count\":15,\"eval_duration\":115959084}\n";

static void
test_ollama_text (void)
{
  g_autofree char *pieces = NULL;
  g_autofree char *got = RUN_OLLAMA (ollama_text_stream);
  g_autofree char *whole = run_cuts (LARES_LLM_OLLAMA, LARES_LLM_LINE_MAX, ollama_text_stream,
                                     sizeof ollama_text_stream - 1, NULL, 0, &pieces);

  g_assert_cmpstr (got, ==, "text=The sky\nfinish=stop usage=169/15 finished=1");
  g_assert_cmpstr (whole, ==, got);
  g_assert_cmpstr (pieces, ==, "The| sky");
}

static void
test_ollama_tool_call (void)
{
  /* Whole tool calls, arguments as an object, no id; Ollama's "stop" at
   * the end becomes "tool_calls". */
  static const char stream[] =
      "{\"model\":\"llama3.2\",\"created_at\":\"2025-07-07T20:22:19.1Z\",\"message\":{\"role\":"
      "\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"get_weather\","
      "\"arguments\":{\"city\":\"Tokyo\"}}}]},\"done\":false}\n"
      "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
      "[{\"id\":\"abc\",\"function\":{\"name\":\"time_now\",\"arguments\":{}}},"
      "{\"function\":{\"name\":\"s\",\"arguments\":\"{\\\"x\\\":1}\"}}]},\"done\":false}\n"
      "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
      "\"done_reason\":\"stop\",\"done\":true,\"prompt_eval_count\":20,\"eval_count\":9}\n";
  g_autofree char *got = RUN_OLLAMA (stream);

  g_assert_cmpstr (got, ==,
                   "text=\n"
                   "call=call_0 get_weather {\"city\":\"Tokyo\"}\n"
                   "call=abc time_now {}\n"
                   "call=call_2 s {\"x\":1}\n"
                   "finish=tool_calls usage=20/9 finished=1");
}

static void
test_ollama_edges (void)
{
  static const StreamCase cases[] = {
    { "blank lines and a last line without newline",
      "\n\n{\"message\":{\"content\":\"a\"},\"done\":false}\r\n  \n\r\n"
      "{\"message\":{\"content\":\"b\"},\"done\":true}",
      "text=ab\nfinish=stop usage=-1/-1 finished=1" },
    { "cut before done", "{\"message\":{\"content\":\"a\"},\"done\":false}\n",
      "text=a\nfinish=(null) usage=-1/-1 finished=0" },
    { "an error line", "{\"error\":\"model 'x' not found\"}\n",
      "text=\nfinish=(null) usage=-1/-1 finished=0 error=2" },
    { "garbage", "<html>\n", "text=\nfinish=(null) usage=-1/-1 finished=0 error=3" },
    { "SSE sent to the NDJSON parser", "data: {\"message\":{}}\n\n",
      "text=\nfinish=(null) usage=-1/-1 finished=0 error=3" },
    { "done_reason length kept",
      "{\"message\":{\"content\":\"a\"},\"done_reason\":\"length\","
      "\"done\":true}\n",
      "text=a\nfinish=length usage=-1/-1 finished=1" },
    { "a tool call without function", "{\"message\":{\"tool_calls\":[{}]}}\n",
      "text=\nfinish=(null) usage=-1/-1 finished=0 error=3" },
    /* fuzz-llm-ndjson found text kept from a line that then failed, which
     * on_text never saw (corpus: crash-text-before-bad-tool-call). */
    { "no text from a line that fails",
      "{\"message\":{\"content\":\"a\"}}\n{\"message\":{\"content\":\"b\",\"tool_calls\":[{}]}}\n",
      "text=a\nfinish=(null) usage=-1/-1 finished=0 error=3" },
    { "lines after done are ignored",
      "{\"done\":true}\n{\"message\":{\"content\":\"late\"}}\nnot json\n",
      "text=\nfinish=stop usage=-1/-1 finished=1" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = NULL;

      g_test_message ("case %zu: %s", i, cases[i].bug);
      got = run_all_ways (LARES_LLM_OLLAMA, LARES_LLM_LINE_MAX, cases[i].in, strlen (cases[i].in));
      g_assert_cmpstr (got, ==, cases[i].want);
    }
}

static void
test_ndjson_cap (void)
{
  g_autofree char *over =
      run_cuts (LARES_LLM_OLLAMA, 16, "{\"done\":false}\n{\"done\": false  }\n", 33, NULL, 0, NULL);
  g_autofree char *last =
      run_cuts (LARES_LLM_OLLAMA, 16, "{\"done\":false}\n{\"done\": false  }", 32, NULL, 0, NULL);

  g_assert_cmpstr (over, ==, "text=\nfinish=(null) usage=-1/-1 finished=0 error=3");
  g_assert_cmpstr (last, ==, "text=\nfinish=(null) usage=-1/-1 finished=0 error=3");
}

/* ---- error bodies ---------------------------------------------------- */

static void
test_error_text (void)
{
  static const struct
  {
    const char *body;
    const char *want;
  } cases[] = {
    { "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}",
      "Rate limit reached" },
    { "{\"error\":\"model \\\"x\\\" not found\"}", "model \"x\" not found" },
    { "{\"message\":\"nope\"}", "nope" },
    { "{\"detail\":\"Not Found\"}", "Not Found" },
    { "{\"error\":{\"code\":503,\"message\":\"Loading model\",\"type\":\"unavailable_error\"}}",
      "Loading model" },
    { "Bad\x01 gateway\r\n\tupstream \x1b[31mred", "Bad gateway upstream [31mred" },
    { "{\"error\":{\"message\":\"line\\nbreak\\u0007bell\"}}", "line breakbell" },
    { "{\"other\":1}", "{\"other\":1}" },
    { "", "" },
    { "  \n ", "" },
    { "caf\xc3\xa9 \xff", "caf\xc3\xa9 \xef\xbf\xbd" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = lares_llm_error_text (cases[i].body, strlen (cases[i].body), 200);
      g_test_message ("case %zu", i);
      g_assert_cmpstr (got, ==, cases[i].want);
    }

  {
    GString *longer = g_string_new ("{\"error\":{\"message\":\"");
    g_autofree char *got = NULL;

    for (int i = 0; i < 300; i++)
      g_string_append (longer, "\xc3\xa9"); /* two bytes, one character */
    g_string_append (longer, "\"}}");
    got = lares_llm_error_text (longer->str, longer->len, 200);
    g_assert_cmpuint (g_utf8_strlen (got, -1), ==, 200);
    g_assert_true (g_utf8_validate (got, -1, NULL));
    g_string_free (longer, TRUE);
  }
}

/* The plain-text fast path must give exactly what the full parser gives,
 * on the chunks it takes and on those it hands over.  Text came before, so
 * a chunk the fast path decodes onto the answer and then hands over (or
 * that fails) shows if its text is not taken back off. */
static char *
feed_one (const char *chunk, gboolean fast)
{
  static const char before[] = "{\"choices\":[{\"delta\":{\"content\":\"so far \"}}]}";
  g_autoptr (LaresLlmAccum) acc = lares_llm_accum_new (LARES_LLM_OPENAI);
  g_autoptr (GError) error = NULL;
  LaresLlmDelta delta;
  LaresLlmResult *r;
  gboolean ok;

  lares_llm_accum_set_fast_path (acc, fast);
  g_assert_true (lares_llm_accum_feed (acc, before, strlen (before), &delta, NULL));
  ok = lares_llm_accum_feed (acc, chunk, strlen (chunk), &delta, &error);
  r = lares_llm_accum_result (acc);
  return g_strdup_printf ("%d|%s|%s|%u|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%.*s", ok,
                          r->text->str, r->finish_reason ? r->finish_reason : "-",
                          r->tool_calls->len, r->prompt_tokens, r->completion_tokens,
                          (int)delta.text_len, delta.text ? delta.text : "");
}

static void
test_fast_path_agrees (void)
{
  static const char *const chunks[] = {
    "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"logprobs\":null,"
    "\"finish_reason\":null}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
    "\"finish_reason\":null}],\"usage\":null}",
    "{\"choices\":[{\"delta\":{\"content\":\"esc \\\" \\\\ \\/ \\n \\t \\u00e9 "
    "\\ud83d\\ude00\"}}]}",
    "{\"choices\":[{\"delta\":{\"content\":\"caf\xc3\xa9 \xe2\x82\xac\"}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"content\":null},\"finish_reason\":\"length\"}]}",
    "{\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}",
    "{\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":2605,\"completion_tokens\":20,"
    "\"total_tokens\":2625,\"prompt_tokens_details\":{\"cached_tokens\":0}}}",
    "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"completion_tokens\":0}}",
    "{\"usage\":{\"prompt_tokens\":7,\"prompt_tokens\":8}}",
    "{\"usage\":{\"prompt_tokens\":-3,\"completion_tokens\":1}}",
    "{\"usage\":{\"prompt_tokens\":7.0,\"completion_tokens\":1e2}}",
    "{\"usage\":{\"prompt_tokens\":\"7\",\"completion_tokens\":null}}",
    "{\"usage\":{\"prompt_tokens\":0123}}",
    "{\"usage\":{\"prompt_tokens\":12345678901234567890}}",
    "{\"usage\":[1,2]}",
    "{\"usage\":{}}",
    "{\"choices\":[{\"index\":1,\"delta\":{\"content\":\"second choice\"}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}},{\"index\":1,\"delta\":{}}]}",
    "{\"choices\":[{\"delta\":{\"content\":\"one\",\"content\":\"two\"}}]}",
    "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":"
    "{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}",
    "{\"error\":{\"message\":\"boom\"}}",
    "{\"choices\":[{\"delta\":{\"content\":\"lone \\udc00\"}}]}",
    "{\"choices\":[{\"delta\":{\"content\":\"nul \\u0000 here\"}}]}",
    "{\"choices\":[{\"delta\":{\"content\":\"bad \xff utf8\"}}]}",
    "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]} {\"second\":1}",
    "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],}",
    "{\"created\":1e400,\"choices\":[{\"delta\":{\"content\":\"big number\"}}]}",
    "{\"model\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]],\"choices\":[{\"delta\":"
    "{\"content\":\"deep\"}}]}",
    "{\"choices\":[{\"index\":0.0,\"delta\":{\"content\":\"float index\"}}]}",
    /* content decoded, then something only the full parser takes */
    "{\"choices\":[{\"delta\":{\"content\":\"then tools\",\"tool_calls\":[{\"index\":0,"
    "\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}",
    "{\"choices\":[{\"delta\":{\"content\":\"then bad\"},\"logprobs\":nul}]}",
    "{\"choices\":[{\"delta\":{\"content\":\"then error\"}}],\"error\":{\"message\":\"x\"}}",
    "{\"choices\":[{\"delta\":{\"content\":\"caf\xc3\xa9\"},\"d\xc3\xa9lta\":1}]}",
    "{\"choices\":[{\"delta\":{\"content\":\"ctl \x01 byte\"}}]}",
    "{\"choices\":[{\"delta\":{\"content\":\"mixed "
    "\xc3\xa9\\n\xe2\x82\xac\\t\xf0\x9f\x98\x80\"}}]}",
    "{\"choices\":[{\"delta\":{\"content\":\"cut \xe2\x82\"}}]}",
  };

  for (size_t i = 0; i < G_N_ELEMENTS (chunks); i++)
    {
      g_autofree char *fast = feed_one (chunks[i], TRUE);
      g_autofree char *slow = feed_one (chunks[i], FALSE);
      g_test_message ("chunk %zu: %s", i, slow);
      g_assert_cmpstr (fast, ==, slow);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/llm-stream/openai/tool-call-vector", test_openai_tool_call_vector);
  g_test_add_func ("/llm-stream/openai/content", test_openai_content);
  g_test_add_func ("/llm-stream/openai/line-endings", test_openai_line_endings);
  g_test_add_func ("/llm-stream/openai/parallel-tool-calls", test_openai_parallel_tool_calls);
  g_test_add_func ("/llm-stream/openai/missing-done", test_openai_missing_done);
  g_test_add_func ("/llm-stream/openai/after-done", test_openai_after_done);
  g_test_add_func ("/llm-stream/openai/errors", test_openai_errors);
  g_test_add_func ("/llm-stream/openai/bad-escapes", test_openai_bad_escapes);
  g_test_add_func ("/llm-stream/sse/fields", test_sse_fields);
  g_test_add_func ("/llm-stream/sse/line-cap", test_sse_line_cap);
  g_test_add_func ("/llm-stream/sse/cap-across-chunks", test_sse_cap_across_chunks);
  g_test_add_func ("/llm-stream/ollama/text", test_ollama_text);
  g_test_add_func ("/llm-stream/ollama/tool-call", test_ollama_tool_call);
  g_test_add_func ("/llm-stream/ollama/edges", test_ollama_edges);
  g_test_add_func ("/llm-stream/ndjson/cap", test_ndjson_cap);
  g_test_add_func ("/llm-stream/error-text", test_error_text);
  g_test_add_func ("/llm-stream/fast-path-agrees", test_fast_path_agrees);
  return g_test_run ();
}
