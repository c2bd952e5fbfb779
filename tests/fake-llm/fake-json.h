/* fake-json.h — the little JSON the fake LLM needs from a request body, in
 * one pass and without building a tree: is it a JSON object (RFC 8259,
 * strict, valid UTF-8), and what are its top-level "model", "stream" and
 * "stream_options"."include_usage".  Also a copy of a body with the
 * insignificant whitespace taken out, for the one-line record.
 *
 * A tree parser (json-glib) spent most of the fake's time per request on a
 * 7 KB body it only needs three members of.  Duplicate members behave as in
 * json-glib: the last one counts.
 */
#pragma once

#include <glib.h>

typedef struct
{
  /* "model" when it is a string: its bytes between the quotes, escapes
   * still in (nullable; not NUL-terminated). */
  const char *model;
  size_t model_len;
  gboolean model_escaped; /* the span holds a backslash escape */
  int stream;             /* "stream": 1 true, 0 false, -1 absent or not a boolean */
  gboolean include_usage; /* "stream_options" is an object whose "include_usage" is true */
  gboolean spaced;        /* whitespace outside strings: minify before recording */
} FakeJsonFacts;

/* TRUE if @data is one JSON object (with optional whitespace around it);
 * fills @facts (OUT, pointers into @data). */
gboolean fake_json_scan_object (const char *data, size_t len, FakeJsonFacts *facts);

/* TRUE if @s (NUL-terminated) is one JSON value of any kind. */
gboolean fake_json_valid (const char *s);

/* Append @data (valid JSON) to @out without whitespace outside strings. */
void fake_json_append_minified (GString *out, const char *data, size_t len);

/* Append @s as a JSON string literal, quotes included: `"` `\` and control
 * characters escaped, everything else (UTF-8 included) as it is. */
void fake_json_append_string (GString *out, const char *s);

/* Append the string a facts.model span holds, re-encoded as by
 * fake_json_append_string (so a model comes back in the fake's own
 * spelling; a \u0000 ends it, as in a C string). */
void fake_json_append_span (GString *out, const char *span, size_t len, gboolean escaped);
