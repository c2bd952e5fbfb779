/* lares-llm-stream.c — line splitter, SSE events and the two chunk
 * accumulators (OpenAI chat completions, Ollama /api/chat).
 *
 * DESIGN: everything here is pure and incremental; lares-llm.c owns the
 * sockets.  A line that fits in one chunk is handed on straight from the
 * read buffer; only a line cut by a chunk boundary is copied (into
 * LaresLlmLines.partial, reused).  SSE data is joined into one reused
 * GString.  Each event or NDJSON line is parsed once by a reused JsonParser;
 * text is appended to the result's GString and tool-call arguments to one
 * GString per call, so a token costs one JSON parse and a memcpy.
 *
 * json-glib is handed only text it parses safely: valid UTF-8 (a bad byte
 * becomes U+FFFD rather than failing the answer), at most
 * LARES_LLM_JSON_DEPTH_MAX levels deep (it recurses), and one top-level
 * value (json-glib 1.6 leaks the first of two).  Strings it decodes from
 * "\u" escapes may still be invalid UTF-8 (a lone surrogate), so every
 * string taken from a chunk is checked again before it is kept: on_text
 * only ever sees whole, valid characters.
 */
#include "config.h"

#include "lares-llm-stream.h"

#include <string.h>

G_DEFINE_QUARK (lares - llm - error - quark, lares_llm_error)

static gboolean
fail_protocol (GError **error, const char *message)
{
  g_set_error_literal (error, LARES_LLM_ERROR, LARES_LLM_ERROR_PROTOCOL, message);
  return FALSE;
}

/* ---- lines ---------------------------------------------------------- */

void
lares_llm_lines_init (LaresLlmLines *lines, size_t max_line)
{
  lines->partial = g_string_new (NULL);
  lines->max_line = max_line;
  lines->cr_ending = FALSE;
}

void
lares_llm_lines_clear (LaresLlmLines *lines)
{
  if (lines->partial != NULL)
    g_string_free (g_steal_pointer (&lines->partial), TRUE);
}

static gboolean
fail_long_line (LaresLlmLines *lines, GError **error)
{
  g_set_error (error, LARES_LLM_ERROR, LARES_LLM_ERROR_PROTOCOL,
               "a line of the LLM stream is longer than %zu bytes", lines->max_line);
  return FALSE;
}

/* The first '\n' or '\r' in [@p, @end), or @end.  Two memchr() passes
 * instead of a test of every byte: streams end lines in '\n', so the
 * second pass only looks at the line itself.  *@nl keeps the '\n' found
 * (@end if none) for the next lines of the same buffer, so a stream of
 * '\r'-only ends is not searched to its end once a line. */
static const char *
line_end (const char *p, const char *end, const char **nl)
{
  const char *cr;

  if (*nl == NULL || *nl < p)
    {
      *nl = memchr (p, '\n', (size_t)(end - p));
      if (*nl == NULL)
        *nl = end;
    }
  cr = memchr (p, '\r', (size_t)(*nl - p));
  return cr != NULL ? cr : *nl;
}

gboolean
lares_llm_lines_feed (LaresLlmLines *lines, const char *data, size_t len, LaresLlmChunkFunc func,
                      gpointer user_data, GError **error)
{
  const char *p = data, *end = data + len;
  const char *nl = NULL; /* the next '\n' at or after p, once searched */

  if (len == 0)
    return TRUE;
  /* "\r\n" split across two chunks is one line end. */
  if (lines->cr_ending)
    {
      lines->cr_ending = FALSE;
      if (*p == '\n')
        p++;
    }
  while (p < end)
    {
      const char *q = line_end (p, end, &nl);
      size_t n = (size_t)(q - p);
      gboolean ok;

      if (lines->partial->len + n > lines->max_line)
        return fail_long_line (lines, error);
      if (q == end)
        {
          g_string_append_len (lines->partial, p, (gssize)n);
          return TRUE;
        }
      if (lines->partial->len > 0)
        {
          g_string_append_len (lines->partial, p, (gssize)n);
          ok = func (lines->partial->str, lines->partial->len, user_data, error);
          g_string_truncate (lines->partial, 0);
        }
      else
        ok = func (p, n, user_data, error);
      if (!ok)
        return FALSE;
      if (*q == '\r')
        {
          if (q + 1 == end)
            lines->cr_ending = TRUE;
          else if (q[1] == '\n')
            q++;
        }
      p = q + 1;
    }
  return TRUE;
}

gboolean
lares_llm_lines_finish (LaresLlmLines *lines, LaresLlmChunkFunc func, gpointer user_data,
                        GError **error)
{
  gboolean ok = TRUE;

  lines->cr_ending = FALSE;
  if (lines->partial->len > 0)
    {
      ok = func (lines->partial->str, lines->partial->len, user_data, error);
      g_string_truncate (lines->partial, 0);
    }
  return ok;
}

/* ---- SSE (WHATWG HTML "Server-sent events", §9.2.6 interpretation) ---- */

static gboolean
sse_dispatch (LaresLlmSse *sse, GError **error)
{
  gboolean ok;

  if (!sse->have_data)
    return TRUE;
  sse->have_data = FALSE;
  sse->events++;
  ok = sse->func (sse->data->str, sse->data->len, sse->user_data, error);
  g_string_truncate (sse->data, 0);
  return ok;
}

static gboolean
sse_line (const char *line, size_t len, gpointer user_data, GError **error)
{
  LaresLlmSse *sse = user_data;
  const char *colon, *value;
  size_t name_len, value_len;

  if (len == 0)
    return sse_dispatch (sse, error);
  if (line[0] == ':')
    return TRUE; /* a comment: llama.cpp's keep-alive pings */
  colon = memchr (line, ':', len);
  name_len = colon != NULL ? (size_t)(colon - line) : len;
  /* Only "data" matters; "event", "id", "retry" and unknown fields are
   * dropped.  A field without a colon has an empty value.  Unknown ones
   * are counted: a body of nothing else is not an event stream at all. */
  if (name_len != 4 || memcmp (line, "data", 4) != 0)
    {
      if (!((name_len == 5 && memcmp (line, "event", 5) == 0) ||
            (name_len == 2 && memcmp (line, "id", 2) == 0) ||
            (name_len == 5 && memcmp (line, "retry", 5) == 0)))
        sse->strangers++;
      return TRUE;
    }
  value = line + len;
  value_len = 0;
  if (colon != NULL)
    {
      value = colon + 1;
      value_len = len - 5;
    }
  if (value_len > 0 && *value == ' ')
    {
      value++;
      value_len--;
    }
  if (sse->data->len + value_len + (sse->have_data ? 1 : 0) > sse->lines.max_line)
    {
      g_set_error (error, LARES_LLM_ERROR, LARES_LLM_ERROR_PROTOCOL,
                   "an event of the LLM stream is longer than %zu bytes", sse->lines.max_line);
      return FALSE;
    }
  if (sse->have_data)
    g_string_append_c (sse->data, '\n');
  g_string_append_len (sse->data, value, (gssize)value_len);
  sse->have_data = TRUE;
  return TRUE;
}

void
lares_llm_sse_init (LaresLlmSse *sse, size_t max_line, LaresLlmChunkFunc func, gpointer user_data)
{
  lares_llm_lines_init (&sse->lines, max_line);
  sse->data = g_string_new (NULL);
  sse->have_data = FALSE;
  sse->events = 0;
  sse->strangers = 0;
  sse->func = func;
  sse->user_data = user_data;
}

void
lares_llm_sse_clear (LaresLlmSse *sse)
{
  lares_llm_lines_clear (&sse->lines);
  if (sse->data != NULL)
    g_string_free (g_steal_pointer (&sse->data), TRUE);
}

gboolean
lares_llm_sse_feed (LaresLlmSse *sse, const char *data, size_t len, GError **error)
{
  return lares_llm_lines_feed (&sse->lines, data, len, sse_line, sse, error);
}

gboolean
lares_llm_sse_finish (LaresLlmSse *sse, GError **error)
{
  if (!lares_llm_lines_finish (&sse->lines, sse_line, sse, error))
    return FALSE;
  return sse_dispatch (sse, error);
}

/* ---- JSON ------------------------------------------------------------ */

static gboolean
is_json_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One linear pass: refuse what json-glib would recurse too deep on or leak. */
static const char *
json_shape_problem (const char *p, size_t len)
{
  unsigned depth = 0;
  gboolean in_string = FALSE, escaped = FALSE, started = FALSE;

  for (size_t i = 0; i < len; i++)
    {
      char c = p[i];

      if (in_string)
        {
          if (escaped)
            escaped = FALSE;
          else if (c == '\\')
            escaped = TRUE;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (depth == 0 && !is_json_space (c))
        {
          if ((c == '{' || c == '[') && started)
            return "more than one JSON value";
          started = TRUE;
        }
      if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        {
          if (++depth > LARES_LLM_JSON_DEPTH_MAX)
            return "the JSON nests too deeply";
        }
      else if ((c == '}' || c == ']') && depth > 0)
        depth--;
    }
  return NULL;
}

JsonNode *
lares_llm_json_parse (JsonParser *parser, const char *data, size_t len, GError **error)
{
  g_autofree char *repaired = NULL;
  g_autoptr (GError) local = NULL;
  const char *why;
  JsonNode *root;

  if (!g_utf8_validate_len (data, len, NULL))
    {
      repaired = g_utf8_make_valid (data, (gssize)len);
      data = repaired;
      len = strlen (repaired);
    }
  why = json_shape_problem (data, len);
  if (why != NULL)
    {
      g_set_error (error, LARES_LLM_ERROR, LARES_LLM_ERROR_PROTOCOL,
                   "an LLM stream chunk is refused: %s", why);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data, (gssize)len, &local))
    {
      g_set_error (error, LARES_LLM_ERROR, LARES_LLM_ERROR_PROTOCOL,
                   "an LLM stream chunk is not JSON: %s", local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL)
    {
      fail_protocol (error, "an LLM stream chunk holds no JSON value");
      return NULL;
    }
  return root;
}

static JsonNode *
member (JsonObject *obj, const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);

  return node != NULL && !JSON_NODE_HOLDS_NULL (node) ? node : NULL;
}

static const char *
member_string (JsonObject *obj, const char *name)
{
  JsonNode *node = member (obj, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static JsonObject *
member_object (JsonObject *obj, const char *name)
{
  JsonNode *node = member (obj, name);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonArray *
member_array (JsonObject *obj, const char *name)
{
  JsonNode *node = member (obj, name);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static gboolean
member_int (JsonObject *obj, const char *name, int64_t *out)
{
  JsonNode *node = member (obj, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (node);
  return TRUE;
}

static gboolean
member_true (JsonObject *obj, const char *name)
{
  JsonNode *node = member (obj, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_BOOLEAN && json_node_get_boolean (node);
}

/* ---- text clean-up ------------------------------------------------- */

/* Append @s (NUL-terminated, from json-glib) as valid UTF-8. */
static void
append_valid (GString *out, const char *s)
{
  size_t len = strlen (s);

  if (G_LIKELY (g_utf8_validate_len (s, len, NULL)))
    g_string_append_len (out, s, (gssize)len);
  else
    {
      g_autofree char *fixed = g_utf8_make_valid (s, (gssize)len);
      g_string_append (out, fixed);
    }
}

static char *
dup_valid (const char *s)
{
  return g_utf8_validate (s, -1, NULL) ? g_strdup (s) : g_utf8_make_valid (s, -1);
}

/* At most @max_chars characters of @s (valid UTF-8): control characters
 * dropped, line breaks and tabs as spaces, runs of spaces folded, trimmed. */
static char *
clean_text (const char *s, size_t max_chars)
{
  g_autofree char *repaired = g_utf8_validate (s, -1, NULL) ? NULL : g_utf8_make_valid (s, -1);
  GString *out = g_string_new (NULL);

  if (repaired != NULL)
    s = repaired;
  size_t chars = 0;
  gboolean space = FALSE;

  for (const char *p = s; *p != '\0' && chars < max_chars; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '\n' || c == '\r' || c == '\t' || c == ' ')
        {
          space = out->len > 0;
          continue;
        }
      if (g_unichar_iscntrl (c) || c == 0x2028 || c == 0x2029)
        continue;
      if (space)
        {
          g_string_append_c (out, ' ');
          chars++;
          space = FALSE;
          if (chars >= max_chars)
            break;
        }
      g_string_append_unichar (out, c);
      chars++;
    }
  return g_string_free (out, FALSE);
}

/* The message of an error value: {"message":…}, or a string. */
static const char *
error_message_of (JsonNode *node)
{
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  if (JSON_NODE_HOLDS_OBJECT (node))
    return member_string (json_node_get_object (node), "message");
  return NULL;
}

char *
lares_llm_error_text (const char *body, size_t len, size_t max_chars)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autofree char *valid = NULL;
  JsonNode *root;
  const char *text;

  if (len == 0)
    return g_strdup ("");
  parser = json_parser_new_immutable ();
  valid = g_utf8_make_valid (body, (gssize)len);
  text = valid;
  if ((root = lares_llm_json_parse (parser, body, len, NULL)) != NULL)
    {
      if (JSON_NODE_HOLDS_OBJECT (root))
        {
          JsonObject *obj = json_node_get_object (root);
          JsonNode *err = member (obj, "error");
          const char *found = err != NULL ? error_message_of (err) : NULL;

          if (found == NULL)
            found = member_string (obj, "message");
          if (found == NULL)
            found = member_string (obj, "detail"); /* FastAPI servers (vLLM) */
          if (found != NULL)
            text = found;
        }
    }
  return clean_text (text, max_chars);
}

/* ---- accumulators -------------------------------------------------- */

typedef struct
{
  int64_t index; /* OpenAI's tool_calls[].index; Ollama: position */
  char *id;      /* NULL until the provider sends one (owned) */
  char *name;    /* (owned) */
  GString *arguments;
} PendingCall;

struct _LaresLlmAccum
{
  LaresLlmProvider provider;
  JsonParser *parser; /* reused for every chunk the full path parses; NULL until one */
  LaresLlmResult result;
  GArray *calls;       /* PendingCall, sorted by index */
  size_t answer_bytes; /* text plus arguments kept, against LARES_LLM_ANSWER_MAX */
  gboolean no_fast_path;
};

void
lares_llm_accum_set_fast_path (LaresLlmAccum *acc, gboolean enabled)
{
  acc->no_fast_path = !enabled;
}

void
lares_llm_tool_call_free (LaresLlmToolCall *call)
{
  if (call == NULL)
    return;
  g_free (call->id);
  g_free (call->name);
  g_free (call->arguments);
  g_free (call);
}

static void
pending_call_clear (gpointer p)
{
  PendingCall *pc = p;

  g_clear_pointer (&pc->id, g_free);
  g_clear_pointer (&pc->name, g_free);
  if (pc->arguments != NULL)
    g_string_free (g_steal_pointer (&pc->arguments), TRUE);
}

LaresLlmAccum *
lares_llm_accum_new (LaresLlmProvider provider)
{
  LaresLlmAccum *acc = g_new0 (LaresLlmAccum, 1);

  acc->provider = provider;
  acc->result.text = g_string_sized_new (256);
  acc->result.tool_calls =
      g_ptr_array_new_with_free_func ((GDestroyNotify)lares_llm_tool_call_free);
  acc->result.prompt_tokens = -1;
  acc->result.completion_tokens = -1;
  acc->result.first_token_us = -1;
  acc->calls = g_array_new (FALSE, TRUE, sizeof (PendingCall));
  g_array_set_clear_func (acc->calls, pending_call_clear);
  return acc;
}

void
lares_llm_accum_free (LaresLlmAccum *acc)
{
  if (acc == NULL)
    return;
  g_clear_object (&acc->parser);
  g_string_free (acc->result.text, TRUE);
  g_ptr_array_unref (acc->result.tool_calls);
  g_free (acc->result.finish_reason);
  g_array_unref (acc->calls);
  g_free (acc);
}

LaresLlmResult *
lares_llm_accum_result (LaresLlmAccum *acc)
{
  g_ptr_array_set_size (acc->result.tool_calls, 0);
  for (unsigned i = 0; i < acc->calls->len; i++)
    {
      PendingCall *pc = &g_array_index (acc->calls, PendingCall, i);
      LaresLlmToolCall *call = g_new0 (LaresLlmToolCall, 1);

      call->id = pc->id != NULL ? g_strdup (pc->id)
                                : g_strdup_printf ("call_%" G_GINT64_FORMAT, pc->index);
      call->name = g_strdup (pc->name != NULL ? pc->name : "");
      call->arguments = g_strndup (pc->arguments->str, pc->arguments->len);
      g_ptr_array_add (acc->result.tool_calls, call);
    }
  return &acc->result;
}

static gboolean
charge (LaresLlmAccum *acc, size_t bytes, GError **error)
{
  if (bytes > LARES_LLM_ANSWER_MAX - acc->answer_bytes)
    {
      g_set_error (error, LARES_LLM_ERROR, LARES_LLM_ERROR_PROTOCOL,
                   "the LLM answer is longer than %d bytes", LARES_LLM_ANSWER_MAX);
      return FALSE;
    }
  acc->answer_bytes += bytes;
  return TRUE;
}

static gboolean
add_text (LaresLlmAccum *acc, const char *s, LaresLlmDelta *delta, GError **error)
{
  size_t before = acc->result.text->len;

  if (*s == '\0')
    return TRUE;
  if (!charge (acc, strlen (s), error))
    return FALSE;
  append_valid (acc->result.text, s);
  delta->text = acc->result.text->str + before;
  delta->text_len = acc->result.text->len - before;
  return TRUE;
}

/* The call with @index, added in index order when new. */
static PendingCall *
call_for_index (LaresLlmAccum *acc, int64_t index, GError **error)
{
  unsigned pos = acc->calls->len;
  PendingCall fresh = { 0 };

  while (pos > 0 && g_array_index (acc->calls, PendingCall, pos - 1).index >= index)
    pos--;
  if (pos < acc->calls->len && g_array_index (acc->calls, PendingCall, pos).index == index)
    return &g_array_index (acc->calls, PendingCall, pos);
  if (acc->calls->len >= LARES_LLM_TOOL_CALLS_MAX)
    {
      g_set_error (error, LARES_LLM_ERROR, LARES_LLM_ERROR_PROTOCOL,
                   "the LLM answer has more than %d tool calls", LARES_LLM_TOOL_CALLS_MAX);
      return NULL;
    }
  fresh.index = index;
  fresh.arguments = g_string_new (NULL);
  g_array_insert_val (acc->calls, pos, fresh);
  return &g_array_index (acc->calls, PendingCall, pos);
}

static gboolean
stream_error (JsonNode *err, GError **error)
{
  const char *message = error_message_of (err);
  g_autofree char *clean = clean_text (message != NULL ? message : "", 200);

  g_set_error (error, LARES_LLM_ERROR, LARES_LLM_ERROR_HTTP, "LLM server sent an error: %s",
               *clean != '\0' ? clean : "(no message)");
  return FALSE;
}

static void
set_finish_reason (LaresLlmAccum *acc, const char *reason)
{
  if (g_strcmp0 (acc->result.finish_reason, reason) == 0)
    return;
  g_free (acc->result.finish_reason);
  acc->result.finish_reason = dup_valid (reason);
}

/* One piece of choices[0].delta.tool_calls (PROTOCOLS.md §3.1): id, type and
 * name come in the first piece of an index, arguments are concatenated. */
static gboolean
openai_tool_piece (LaresLlmAccum *acc, JsonNode *node, unsigned position, GError **error)
{
  JsonObject *obj, *function;
  PendingCall *pc;
  int64_t index = position;
  const char *id, *name, *arguments;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail_protocol (error, "a tool call in the LLM stream is not an object");
  obj = json_node_get_object (node);
  if (member_int (obj, "index", &index) && index < 0)
    return fail_protocol (error, "a tool call in the LLM stream has a negative index");
  pc = call_for_index (acc, index, error);
  if (pc == NULL)
    return FALSE;
  id = member_string (obj, "id");
  if (pc->id == NULL && id != NULL && *id != '\0')
    pc->id = dup_valid (id);
  function = member_object (obj, "function");
  if (function == NULL)
    return TRUE;
  name = member_string (function, "name");
  if (pc->name == NULL && name != NULL && *name != '\0')
    pc->name = dup_valid (name);
  arguments = member_string (function, "arguments");
  if (arguments != NULL && *arguments != '\0')
    {
      if (!charge (acc, strlen (arguments), error))
        return FALSE;
      append_valid (pc->arguments, arguments);
    }
  return TRUE;
}

/* The choice with index 0 (we never ask for n > 1). */
static JsonObject *
first_choice (JsonArray *choices)
{
  for (unsigned i = 0; i < json_array_get_length (choices); i++)
    {
      JsonNode *node = json_array_get_element (choices, i);
      int64_t index = 0;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      if (!member_int (json_node_get_object (node), "index", &index) || index == 0)
        return json_node_get_object (node);
    }
  return NULL;
}

/* The reused parser, made when a chunk first needs it: an answer of plain
 * text chunks (the fast path) never does. */
static JsonParser *
accum_parser (LaresLlmAccum *acc)
{
  if (acc->parser == NULL)
    acc->parser = json_parser_new_immutable ();
  return acc->parser;
}

/* ---- the fast path for plain text chunks ------------------------------------------------------
 *
 * Most chunks of an answer are {"id":…,"choices":[{"index":0,"delta":{"content":"…"},
 * "finish_reason":null}]} and nothing else of interest.  Building a json-glib tree for each
 * cost ~18% of the main loop per turn, so a strict scanner reads that one shape without a tree:
 * it checks the whole chunk is valid JSON (RFC 8259, no extensions), and gives up (returns
 * FAST_NO) at anything it does not handle exactly like the full path — tool calls, usage,
 * errors, several choices, duplicate or escaped keys, invalid UTF-8, lone surrogates, NUL —
 * which then takes the full path.  The content is decoded straight onto the answer's text and
 * taken back off when the chunk goes to the full path after all, so a text chunk allocates
 * nothing.  The fuzz target compares both paths on every input. */

typedef enum
{
  FAST_NO,  /* not this shape: use the full parser */
  FAST_YES, /* handled */
} FastVerdict;

typedef struct
{
  const char *p, *end;
  unsigned depth;
} Scan;

static const char *
skip_ws (const char *p, const char *end)
{
  while (p < end && is_json_space (*p))
    p++;
  return p;
}

static void
scan_ws (Scan *sc)
{
  sc->p = skip_ws (sc->p, sc->end);
}

static gboolean
scan_lit (Scan *sc, const char *lit, size_t n)
{
  if ((size_t)(sc->end - sc->p) < n || memcmp (sc->p, lit, n) != 0)
    return FALSE;
  sc->p += n;
  return TRUE;
}

static int
hex4 (const char *p)
{
  int v = 0;

  for (int i = 0; i < 4; i++)
    {
      int d = g_ascii_xdigit_value (p[i]);
      if (d < 0)
        return -1;
      v = v * 16 + d;
    }
  return v;
}

/* What a byte is inside a JSON string: 0 ends a run of plain bytes ('"',
 * '\\' or a control byte), 1 is plain ASCII, 2 is a byte above 0x7f (part
 * of a UTF-8 sequence).  One lookup a byte instead of three tests. */
static const guchar str_class[256] = {
  [0x20 ... 0x21] = 1, /* '"' is 0x22 */
  [0x23 ... 0x5b] = 1, /* '\\' is 0x5c */
  [0x5d ... 0x7f] = 1,
  [0x80 ... 0xff] = 2,
};

/* A string at sc->p (on its opening quote).  With @out, decoded into it.
 * A run of plain bytes is checked as UTF-8 only when it has a byte above
 * 0x7f: most of a chunk is ASCII, and g_utf8_validate_len() costs a call
 * per run. */
static gboolean
scan_string (Scan *sc, GString *out)
{
  const char *p = sc->p, *end = sc->end;

  if (p >= end || *p != '"')
    return FALSE;
  sc->p = ++p;
  for (;;)
    {
      const char *run = p;
      guchar high = 0;

      for (guchar cls; p < end && (cls = str_class[(guchar)*p]) != 0; p++)
        high |= cls;
      sc->p = p;
      if (p > run)
        {
          if ((high & 2) && !g_utf8_validate_len (run, (gsize)(p - run), NULL))
            return FALSE;
          if (out)
            g_string_append_len (out, run, p - run);
        }
      if (p >= end || (guchar)*p < 0x20)
        return FALSE;
      if (*p == '"')
        {
          sc->p = p + 1;
          return TRUE;
        }
      /* An escape. */
      if (sc->end - sc->p < 2)
        return FALSE;
      switch (sc->p[1])
        {
        case '"':
        case '\\':
        case '/':
          if (out)
            g_string_append_c (out, sc->p[1]);
          sc->p += 2;
          break;
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          if (out)
            g_string_append_c (out, sc->p[1] == 'b'   ? '\b'
                                    : sc->p[1] == 'f' ? '\f'
                                    : sc->p[1] == 'n' ? '\n'
                                    : sc->p[1] == 'r' ? '\r'
                                                      : '\t');
          sc->p += 2;
          break;
        case 'u':
          {
            int hi, lo;
            gunichar c;

            if (sc->end - sc->p < 6 || (hi = hex4 (sc->p + 2)) < 0)
              return FALSE;
            sc->p += 6;
            if (hi == 0 || (hi >= 0xdc00 && hi <= 0xdfff))
              return FALSE; /* NUL, or a lone low surrogate */
            c = (gunichar)hi;
            if (hi >= 0xd800 && hi <= 0xdbff)
              {
                if (sc->end - sc->p < 6 || sc->p[0] != '\\' || sc->p[1] != 'u' ||
                    (lo = hex4 (sc->p + 2)) < 0xdc00 || lo > 0xdfff)
                  return FALSE; /* a lone high surrogate */
                sc->p += 6;
                c = 0x10000 + (((gunichar)hi - 0xd800) << 10) + ((gunichar)lo - 0xdc00);
              }
            if (out)
              g_string_append_unichar (out, c);
            break;
          }
        default:
          return FALSE;
        }
      p = sc->p;
    }
}

static gboolean
scan_number (Scan *sc)
{
  const char *start = sc->p;

  if (sc->p < sc->end && *sc->p == '-')
    sc->p++;
  if (sc->p < sc->end && *sc->p == '0')
    sc->p++;
  else if (sc->p < sc->end && *sc->p >= '1' && *sc->p <= '9')
    while (sc->p < sc->end && g_ascii_isdigit (*sc->p))
      sc->p++;
  else
    return FALSE;
  if (sc->p < sc->end && *sc->p == '.')
    {
      sc->p++;
      if (sc->p >= sc->end || !g_ascii_isdigit (*sc->p))
        return FALSE;
      while (sc->p < sc->end && g_ascii_isdigit (*sc->p))
        sc->p++;
    }
  if (sc->p < sc->end && (*sc->p == 'e' || *sc->p == 'E'))
    {
      sc->p++;
      if (sc->p < sc->end && (*sc->p == '+' || *sc->p == '-'))
        sc->p++;
      if (sc->p >= sc->end || !g_ascii_isdigit (*sc->p))
        return FALSE;
      while (sc->p < sc->end && g_ascii_isdigit (*sc->p))
        sc->p++;
    }
  return sc->p > start;
}

/* Any value, checked and skipped. */
static gboolean
scan_value (Scan *sc)
{
  gboolean ok = TRUE;

  scan_ws (sc);
  if (sc->p >= sc->end)
    return FALSE;
  switch (*sc->p)
    {
    case '"':
      return scan_string (sc, NULL);
    case 't':
      return scan_lit (sc, "true", 4);
    case 'f':
      return scan_lit (sc, "false", 5);
    case 'n':
      return scan_lit (sc, "null", 4);
    case '{':
    case '[':
      {
        char close = *sc->p == '{' ? '}' : ']';
        gboolean object = close == '}';

        if (++sc->depth > 16)
          return FALSE;
        sc->p++;
        scan_ws (sc);
        if (sc->p < sc->end && *sc->p == close)
          {
            sc->p++;
            sc->depth--;
            return TRUE;
          }
        for (;;)
          {
            if (object)
              {
                scan_ws (sc);
                if (!scan_string (sc, NULL))
                  return FALSE;
                scan_ws (sc);
                if (!scan_lit (sc, ":", 1))
                  return FALSE;
              }
            if (!scan_value (sc))
              return FALSE;
            scan_ws (sc);
            if (scan_lit (sc, ",", 1))
              continue;
            ok = sc->p < sc->end && *sc->p == close;
            if (ok)
              sc->p++;
            sc->depth--;
            return ok;
          }
      }
    default:
      return scan_number (sc);
    }
}

#define KEY_IS(k, n, lit) ((n) == sizeof (lit) - 1 && memcmp ((k), (lit), (n)) == 0)

/* Iterate the members of an object at sc->p: returns 1 with the next key,
 * 0 at its end, -1 on a syntax problem (or a key this scanner leaves to
 * the full parser: escapes, bytes above 0x7f).  @key points into the
 * chunk.  Works on a local pointer, stored back once. */
static int
scan_member (Scan *sc, gboolean *first, const char **key, size_t *klen)
{
  const char *p = skip_ws (sc->p, sc->end), *end = sc->end, *start;

  if (p < end && *p == '}')
    {
      *first = FALSE;
      sc->p = p + 1;
      return 0;
    }
  if (*first)
    *first = FALSE;
  else if (p < end && *p == ',')
    p = skip_ws (p + 1, end);
  else
    return -1;
  if (p >= end || *p != '"')
    return -1;
  start = ++p;
  while (p < end && str_class[(guchar)*p] == 1)
    p++;
  if (p >= end || *p != '"')
    return -1;
  *key = start;
  *klen = (size_t)(p - start);
  p = skip_ws (p + 1, end);
  if (p >= end || *p != ':')
    return -1;
  sc->p = p + 1;
  return 1;
}

/* A JSON number that json-glib reads as an int64 and prints back the same:
 * no fraction, no exponent, no leading zero, at most 18 digits.  FALSE
 * leaves anything else to the full parser. */
static gboolean
scan_plain_int (Scan *sc, int64_t *out)
{
  const char *p = sc->p;
  gboolean neg = FALSE;
  int64_t v = 0;
  int digits = 0;

  if (p < sc->end && *p == '-')
    neg = TRUE, p++;
  if (p >= sc->end || !g_ascii_isdigit (*p))
    return FALSE;
  if (*p == '0' && p + 1 < sc->end && g_ascii_isdigit (p[1]))
    return FALSE;
  for (; p < sc->end && g_ascii_isdigit (*p); p++)
    {
      if (++digits > 18)
        return FALSE;
      v = v * 10 + (*p - '0');
    }
  if (p < sc->end && (*p == '.' || *p == 'e' || *p == 'E'))
    return FALSE;
  *out = neg ? -v : v;
  sc->p = p;
  return TRUE;
}

/* The usage object: its two counts, each at most once and a plain integer;
 * other members are skipped.  Counts absent stay -1. */
static gboolean
scan_usage (Scan *sc, int64_t *prompt, int64_t *completion)
{
  gboolean first = TRUE;
  const char *key;
  size_t klen;
  int r;

  if (!scan_lit (sc, "{", 1))
    return FALSE;
  while ((r = scan_member (sc, &first, &key, &klen)) == 1)
    {
      int64_t *out = KEY_IS (key, klen, "prompt_tokens")       ? prompt
                     : KEY_IS (key, klen, "completion_tokens") ? completion
                                                               : NULL;
      if (out == NULL)
        {
          if (!scan_value (sc))
            return FALSE;
          continue;
        }
      scan_ws (sc);
      if (*out != -1 || !scan_plain_int (sc, out) || *out < 0)
        return FALSE;
    }
  return r == 0;
}

/* The scan of openai_fast(): the content is decoded straight onto the
 * answer's text (the caller takes it back off unless FAST_YES); @reason,
 * @prompt and @completion are OUT. */
static FastVerdict
openai_fast_scan (LaresLlmAccum *acc, const char *data, size_t len, char **reason, int64_t *prompt,
                  int64_t *completion)
{
  Scan sc = { data, data + len, 0 };
  gboolean first = TRUE, seen_choices = FALSE, seen_usage = FALSE;
  const char *key;
  size_t klen;
  int r;

  scan_ws (&sc);
  if (!scan_lit (&sc, "{", 1))
    return FAST_NO;
  while ((r = scan_member (&sc, &first, &key, &klen)) == 1)
    {
      if (KEY_IS (key, klen, "choices"))
        {
          gboolean cfirst = TRUE, seen_delta = FALSE, seen_reason = FALSE, seen_index = FALSE;

          if (seen_choices)
            return FAST_NO;
          seen_choices = TRUE;
          scan_ws (&sc);
          if (!scan_lit (&sc, "[", 1))
            return FAST_NO;
          scan_ws (&sc);
          if (scan_lit (&sc, "]", 1))
            continue; /* no choice */
          if (!scan_lit (&sc, "{", 1))
            return FAST_NO;
          while ((r = scan_member (&sc, &cfirst, &key, &klen)) == 1)
            {
              if (KEY_IS (key, klen, "delta"))
                {
                  gboolean dfirst = TRUE, seen_content = FALSE;

                  if (seen_delta)
                    return FAST_NO;
                  seen_delta = TRUE;
                  scan_ws (&sc);
                  if (!scan_lit (&sc, "{", 1))
                    return FAST_NO;
                  while ((r = scan_member (&sc, &dfirst, &key, &klen)) == 1)
                    {
                      if (KEY_IS (key, klen, "content"))
                        {
                          if (seen_content)
                            return FAST_NO;
                          seen_content = TRUE;
                          scan_ws (&sc);
                          if (scan_lit (&sc, "null", 4))
                            continue;
                          if (!scan_string (&sc, acc->result.text))
                            return FAST_NO;
                        }
                      else if (KEY_IS (key, klen, "role") || KEY_IS (key, klen, "refusal"))
                        {
                          if (!scan_value (&sc))
                            return FAST_NO;
                        }
                      else
                        return FAST_NO; /* tool_calls, or something new */
                    }
                  if (r < 0)
                    return FAST_NO;
                }
              else if (KEY_IS (key, klen, "finish_reason"))
                {
                  if (seen_reason)
                    return FAST_NO;
                  seen_reason = TRUE;
                  scan_ws (&sc);
                  if (scan_lit (&sc, "null", 4))
                    continue;
                  {
                    g_autoptr (GString) rs = g_string_new (NULL);
                    if (!scan_string (&sc, rs))
                      return FAST_NO;
                    *reason = g_string_free (g_steal_pointer (&rs), FALSE);
                  }
                }
              else if (KEY_IS (key, klen, "index"))
                {
                  if (seen_index)
                    return FAST_NO;
                  seen_index = TRUE;
                  scan_ws (&sc);
                  if (!scan_lit (&sc, "0", 1) ||
                      (sc.p < sc.end &&
                       (g_ascii_isdigit (*sc.p) || *sc.p == '.' || *sc.p == 'e' || *sc.p == 'E')))
                    return FAST_NO;
                }
              else if (!scan_value (&sc))
                return FAST_NO;
            }
          if (r < 0)
            return FAST_NO;
          scan_ws (&sc);
          if (!scan_lit (&sc, "]", 1))
            return FAST_NO; /* several choices */
        }
      else if (KEY_IS (key, klen, "usage"))
        {
          if (seen_usage)
            return FAST_NO;
          seen_usage = TRUE;
          scan_ws (&sc);
          if (!scan_lit (&sc, "null", 4) && !scan_usage (&sc, prompt, completion))
            return FAST_NO;
        }
      else if (KEY_IS (key, klen, "error"))
        return FAST_NO;
      else if (!scan_value (&sc))
        return FAST_NO;
    }
  if (r < 0)
    return FAST_NO;
  scan_ws (&sc);
  return sc.p == sc.end ? FAST_YES : FAST_NO;
}

static FastVerdict
openai_fast (LaresLlmAccum *acc, const char *data, size_t len, LaresLlmDelta *delta, GError **error)
{
  GString *text = acc->result.text;
  size_t before = text->len, added;
  g_autofree char *reason = NULL;
  int64_t prompt = -1, completion = -1;

  if (openai_fast_scan (acc, data, len, &reason, &prompt, &completion) == FAST_NO)
    {
      g_string_truncate (text, before);
      return FAST_NO;
    }
  /* The same checks as add_text(): the scan let through only valid UTF-8
   * without NUL. */
  added = text->len - before;
  if (added > 0)
    {
      if (!charge (acc, added, error))
        return FAST_YES; /* the caller sees @error and takes the text back off */
      delta->text = text->str + before;
      delta->text_len = added;
    }
  if (reason != NULL)
    set_finish_reason (acc, reason);
  if (prompt >= 0)
    acc->result.prompt_tokens = prompt;
  if (completion >= 0)
    acc->result.completion_tokens = completion;
  return FAST_YES;
}

static gboolean
openai_feed (LaresLlmAccum *acc, const char *data, size_t len, LaresLlmDelta *delta, GError **error)
{
  JsonNode *root, *err;
  JsonObject *obj, *choice, *usage;
  JsonArray *choices;

  if (len == 6 && memcmp (data, "[DONE]", 6) == 0)
    {
      acc->result.finished = delta->finished = TRUE;
      return TRUE;
    }
  if (!acc->no_fast_path)
    {
      GError *local = NULL;

      if (openai_fast (acc, data, len, delta, &local) == FAST_YES)
        {
          if (local == NULL)
            return TRUE;
          g_propagate_error (error, local);
          return FALSE;
        }
    }
  root = lares_llm_json_parse (accum_parser (acc), data, len, error);
  if (root == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return fail_protocol (error, "an LLM stream chunk is not a JSON object");
  obj = json_node_get_object (root);
  if ((err = member (obj, "error")) != NULL)
    return stream_error (err, error);

  choices = member_array (obj, "choices");
  choice = choices != NULL ? first_choice (choices) : NULL;
  if (choice != NULL)
    {
      JsonObject *d = member_object (choice, "delta");
      const char *reason = member_string (choice, "finish_reason");

      if (d != NULL)
        {
          const char *content = member_string (d, "content");
          JsonArray *tools = member_array (d, "tool_calls");

          if (content != NULL && !add_text (acc, content, delta, error))
            return FALSE;
          for (unsigned i = 0; tools != NULL && i < json_array_get_length (tools); i++)
            {
              if (!openai_tool_piece (acc, json_array_get_element (tools, i), i, error))
                return FALSE;
              delta->tool_call = TRUE;
            }
        }
      if (reason != NULL)
        set_finish_reason (acc, reason);
    }

  usage = member_object (obj, "usage");
  if (usage != NULL)
    {
      member_int (usage, "prompt_tokens", &acc->result.prompt_tokens);
      member_int (usage, "completion_tokens", &acc->result.completion_tokens);
    }
  return TRUE;
}

/* Ollama sends each tool call whole, arguments as an object (§3.3). */
static gboolean
ollama_tool_call (LaresLlmAccum *acc, JsonNode *node, GError **error)
{
  JsonObject *obj, *function;
  JsonNode *args;
  PendingCall *pc;
  const char *id, *name;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail_protocol (error, "a tool call in the LLM stream is not an object");
  obj = json_node_get_object (node);
  function = member_object (obj, "function");
  if (function == NULL)
    return fail_protocol (error, "a tool call in the LLM stream has no function");
  pc = call_for_index (acc, acc->calls->len, error);
  if (pc == NULL)
    return FALSE;
  id = member_string (obj, "id");
  if (id != NULL && *id != '\0')
    pc->id = dup_valid (id);
  name = member_string (function, "name");
  if (name != NULL)
    pc->name = dup_valid (name);
  args = member (function, "arguments");
  if (args == NULL)
    g_string_assign (pc->arguments, "{}");
  else if (JSON_NODE_HOLDS_VALUE (args) && json_node_get_value_type (args) == G_TYPE_STRING)
    append_valid (pc->arguments, json_node_get_string (args));
  else
    {
      g_autofree char *text = json_to_string (args, FALSE);
      append_valid (pc->arguments, text);
    }
  return charge (acc, pc->arguments->len, error);
}

static gboolean
ollama_feed (LaresLlmAccum *acc, const char *data, size_t len, LaresLlmDelta *delta, GError **error)
{
  JsonNode *root, *err;
  JsonObject *obj, *message;
  const char *reason;

  root = lares_llm_json_parse (accum_parser (acc), data, len, error);
  if (root == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return fail_protocol (error, "an LLM stream line is not a JSON object");
  obj = json_node_get_object (root);
  if ((err = member (obj, "error")) != NULL)
    return stream_error (err, error);

  message = member_object (obj, "message");
  if (message != NULL)
    {
      const char *content = member_string (message, "content");
      JsonArray *tools = member_array (message, "tool_calls");

      if (content != NULL && !add_text (acc, content, delta, error))
        return FALSE;
      for (unsigned i = 0; tools != NULL && i < json_array_get_length (tools); i++)
        {
          if (!ollama_tool_call (acc, json_array_get_element (tools, i), error))
            return FALSE;
          delta->tool_call = TRUE;
        }
    }
  if ((reason = member_string (obj, "done_reason")) != NULL && *reason != '\0')
    set_finish_reason (acc, reason);
  member_int (obj, "prompt_eval_count", &acc->result.prompt_tokens);
  member_int (obj, "eval_count", &acc->result.completion_tokens);
  if (member_true (obj, "done"))
    {
      /* Ollama says "stop" after tool calls too; callers look for
       * "tool_calls" as OpenAI servers send it. */
      if (acc->calls->len > 0 &&
          (acc->result.finish_reason == NULL || strcmp (acc->result.finish_reason, "stop") == 0))
        set_finish_reason (acc, "tool_calls");
      else if (acc->result.finish_reason == NULL)
        set_finish_reason (acc, "stop");
      acc->result.finished = delta->finished = TRUE;
    }
  return TRUE;
}

gboolean
lares_llm_accum_feed (LaresLlmAccum *acc, const char *data, size_t len, LaresLlmDelta *delta,
                      GError **error)
{
  size_t before;
  gboolean ok;

  memset (delta, 0, sizeof *delta);
  if (acc->result.finished)
    return TRUE;
  while (len > 0 && is_json_space (data[0]))
    data++, len--;
  while (len > 0 && is_json_space (data[len - 1]))
    len--;
  if (len == 0)
    return TRUE; /* "data:" alone, or a blank NDJSON line */
  before = acc->result.text->len;
  ok = acc->provider == LARES_LLM_OLLAMA ? ollama_feed (acc, data, len, delta, error)
                                         : openai_feed (acc, data, len, delta, error);
  if (!ok)
    {
      /* A chunk that fails adds no text: the text stays exactly what was
       * reported piece by piece. */
      g_string_truncate (acc->result.text, before);
      memset (delta, 0, sizeof *delta);
    }
  return ok;
}
