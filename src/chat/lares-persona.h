/* lares-persona.h — who the assistant is: name, system prompt, modes, and
 * the emotion tags it may put in its replies (seed 001).
 *
 * Emotion tags are "[name]" for a name in persona.emotions (any case).  The
 * filter takes the reply as it streams, in pieces split anywhere, removes
 * the tags and reports them; text that only looks like the start of a tag is
 * held back until it is known not to be one (at most a tag's length).
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "lares-config.h"

G_BEGIN_DECLS

#define LARES_EMOTION_NAME_MAX 24

typedef struct _LaresPersona LaresPersona;

/* Fails when persona.modes does not parse ("name: instruction; ..."). */
LaresPersona *lares_persona_new (const LaresConfig *cfg, GError **error);
void lares_persona_free (LaresPersona *persona);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresPersona, lares_persona_free)

const char *lares_persona_get_name (const LaresPersona *persona);
/* The system prompt with {name} filled in.  (transfer none) */
const char *lares_persona_get_prompt (const LaresPersona *persona);
/* A mode's instruction, or NULL for an unknown mode.  (transfer none) */
const char *lares_persona_get_mode (const LaresPersona *persona, const char *mode);
/* "concise, detailed, playful".  (transfer none) */
const char *lares_persona_list_modes (const LaresPersona *persona);
/* Whether @name (any case) is a configured emotion; writes its configured
 * spelling to @canonical when given.  (transfer none) */
gboolean lares_persona_is_emotion (const LaresPersona *persona, const char *name, size_t len,
                                   const char **canonical);

/* The streaming tag filter.  Embed it; no allocation except the GStrings. */
typedef struct
{
  const LaresPersona *persona;
  char held[LARES_EMOTION_NAME_MAX + 2]; /* "[" + up to a name + maybe "]" */
  size_t n_held;
  gboolean started; /* visible text was produced (leading space is dropped before) */
} LaresEmotionFilter;

void lares_emotion_filter_init (LaresEmotionFilter *f, const LaresPersona *persona);
/* Feed a piece; visible text is appended to @out, each emotion found is
 * appended (canonical name, transfer none) to @emotions.  Returns the
 * number of bytes appended to @out. */
size_t lares_emotion_filter_feed (LaresEmotionFilter *f, const char *text, size_t len, GString *out,
                                  GPtrArray *emotions);
/* End of the reply: release any held text. */
size_t lares_emotion_filter_flush (LaresEmotionFilter *f, GString *out);

/* Models without native tool calls answer with a JSON object instead of
 * text: {"tool": NAME, "arguments": {...}} (also "name"/"parameters",
 * optionally in a ```json fence).  Returns the name and the arguments as
 * JSON text, or FALSE when @text is ordinary text. */
gboolean lares_persona_parse_text_tool_call (const char *text, char **name, char **arguments);
/* While streaming: could @text (the reply so far) still become such a tool
 * call?  (Starts with '{' or a ``` fence, ignoring leading space.) */
gboolean lares_persona_maybe_text_tool_call (const char *text, size_t len);

G_END_DECLS
