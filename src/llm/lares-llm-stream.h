/* lares-llm-stream.h — the pure, incremental parsers under lares-llm.c.
 *
 * No I/O and no main loop: each parser is fed byte chunks exactly as they
 * came off the socket, split anywhere, and reports complete units through a
 * callback (a line, an SSE event) or OUT parameters (a delta).  The same
 * bytes give the same results however they are split; the unit tests and
 * fuzz targets hold the parsers to that.
 *
 * - LaresLlmLines: a line splitter.  A line ends at "\n", "\r\n" or "\r",
 *   also when the "\r" and "\n" arrive in different chunks.  A line longer
 *   than the cap is an error as soon as it is seen, so memory stays bounded.
 * - LaresLlmSse: Server-Sent Events on top of it (the WHATWG event stream
 *   format, as OpenAI and llama.cpp use it): comments, "data:" joining,
 *   dispatch at a blank line, other fields ignored.
 * - LaresLlmAccum: turns the events (OpenAI chunks, PROTOCOLS.md §3.1) or
 *   the NDJSON lines (Ollama, §3.3) into a LaresLlmResult: text, tool calls
 *   merged by index, finish reason, usage.
 *
 * Errors are LARES_LLM_ERROR_PROTOCOL (or LARES_LLM_ERROR_HTTP for an error
 * object the server put into the stream).  After an error a parser must not
 * be fed again; clear it.
 */
#pragma once

#include "lares-llm.h"

G_BEGIN_DECLS

/* Longest line (and longest joined SSE event) accepted, in bytes. */
#define LARES_LLM_LINE_MAX (1024 * 1024)
/* Most assistant text plus tool-call arguments kept for one answer. */
#define LARES_LLM_ANSWER_MAX (8 * 1024 * 1024)
/* Most distinct tool calls in one answer. */
#define LARES_LLM_TOOL_CALLS_MAX 128
/* Deepest JSON nesting accepted in one chunk (json-glib recurses). */
#define LARES_LLM_JSON_DEPTH_MAX 64

/* A complete line or event: @len bytes at @data, not NUL-terminated, valid
 * only during the call.  Return FALSE and set @error to stop the feed. */
typedef gboolean (*LaresLlmChunkFunc) (const char *data, size_t len, gpointer user_data,
                                       GError **error);

typedef struct
{
  GString *partial;   /* the line begun in an earlier chunk (owned) */
  size_t max_line;    /* bytes, without the line end */
  gboolean cr_ending; /* the last byte seen was "\r": a following "\n" is part of it */
} LaresLlmLines;

void lares_llm_lines_init (LaresLlmLines *lines, size_t max_line);
void lares_llm_lines_clear (LaresLlmLines *lines);
/* Call @func for each complete line in @data (line ends removed). */
gboolean lares_llm_lines_feed (LaresLlmLines *lines, const char *data, size_t len,
                               LaresLlmChunkFunc func, gpointer user_data, GError **error);
/* End of input: a last line without a line end is still a line. */
gboolean lares_llm_lines_finish (LaresLlmLines *lines, LaresLlmChunkFunc func, gpointer user_data,
                                 GError **error);

typedef struct
{
  LaresLlmLines lines;
  GString *data;      /* the "data:" lines of the current event, joined by "\n" (owned) */
  gboolean have_data; /* the current event has at least one "data:" line */
  unsigned events;    /* events dispatched so far */
  unsigned strangers; /* lines that are no SSE field we know nor a comment */
  LaresLlmChunkFunc func;
  gpointer user_data;
} LaresLlmSse;

/* @func gets the data of each event (events without "data:" are dropped). */
void lares_llm_sse_init (LaresLlmSse *sse, size_t max_line, LaresLlmChunkFunc func,
                         gpointer user_data);
void lares_llm_sse_clear (LaresLlmSse *sse);
gboolean lares_llm_sse_feed (LaresLlmSse *sse, const char *data, size_t len, GError **error);
/* End of input: an event without its closing blank line is still dispatched. */
gboolean lares_llm_sse_finish (LaresLlmSse *sse, GError **error);

/* What one feed of an accumulator added. */
typedef struct
{
  const char *text; /* new assistant text: valid UTF-8, points into result.text and is
                       valid until the next feed; NULL when none */
  size_t text_len;
  gboolean tool_call; /* a tool-call piece arrived */
  gboolean finished;  /* this feed carried [DONE] or "done":true */
} LaresLlmDelta;

typedef struct _LaresLlmAccum LaresLlmAccum;

/* (transfer full) */
LaresLlmAccum *lares_llm_accum_new (LaresLlmProvider provider);
void lares_llm_accum_free (LaresLlmAccum *acc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresLlmAccum, lares_llm_accum_free)

/* Feed one SSE event's data (openai) or one NDJSON line (ollama).  Input
 * after the stream finished is ignored.  @delta: OUT. */
gboolean lares_llm_accum_feed (LaresLlmAccum *acc, const char *data, size_t len,
                               LaresLlmDelta *delta, GError **error);

/* Plain text chunks of OpenAI streams are read by a scanner without a
 * JSON tree; tests and the fuzz target turn that off to compare.  On by
 * default. */
void lares_llm_accum_set_fast_path (LaresLlmAccum *acc, gboolean enabled);

/* The answer so far: text, finish reason, usage, finished, and tool_calls
 * rebuilt from the merged pieces (made-up ids filled in).  The transport
 * fields (http_status, bytes_*, *_us) are left for the caller.
 * (transfer none; valid until the next feed or the free) */
LaresLlmResult *lares_llm_accum_result (LaresLlmAccum *acc);

/* Free a LaresLlmToolCall. */
void lares_llm_tool_call_free (LaresLlmToolCall *call);

/* Parse @len bytes of JSON text the way the accumulators do: invalid UTF-8
 * is repaired, nesting deeper than LARES_LLM_JSON_DEPTH_MAX and a second
 * top-level value are refused before json-glib sees them.  @parser is reused
 * between calls.  (transfer none: the root belongs to @parser) */
JsonNode *lares_llm_json_parse (JsonParser *parser, const char *data, size_t len, GError **error);

/* The server's own words from an error body ({"error":{"message":…}},
 * {"error":"…"}, {"message":"…"} or plain text): at most @max_chars
 * characters of valid UTF-8 with control characters removed.  Empty when
 * nothing usable is there.  (transfer full) */
char *lares_llm_error_text (const char *body, size_t len, size_t max_chars);

G_END_DECLS
