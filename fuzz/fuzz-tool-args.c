/* fuzz-tool-args.c — what a model (or a REST client of /api/v1/tools)
 * sends as a tool call: arguments checked against every registered tool's
 * schema, the same text read as a tool call written in the reply, and as
 * reply text through the emotion tag filter (split at a data-derived
 * point).
 *
 * Checks: arguments that pass validation are a JSON object; a refusal has
 * a UTF-8 message; the filter's visible output is valid UTF-8 and never
 * longer than the input.
 */
#include "config.h"

#include "lares-fuzz.h"
#include "lares-persona.h"
#include "lares-tools.h"

#include <string.h>

static LaresToolRegistry *registry;
static LaresPersona *persona;

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = lares_fuzz_strndup (data, size);
  g_autofree char *name = NULL;
  g_autofree char *arguments = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GPtrArray) emotions = g_ptr_array_new ();
  LaresEmotionFilter filter;
  size_t len = strlen (text);
  size_t cut = size ? data[0] % (len + 1) : 0;

  lares_fuzz_init ();
  if (registry == NULL)
    {
      g_autoptr (LaresConfig) cfg = lares_config_new ();
      registry = lares_tool_registry_new ();
      lares_tool_registry_add_builtin (registry);
      persona = lares_persona_new (cfg, NULL);
    }
  /* Every tool, the high-risk ones too: one validator for every path. */
  for (unsigned i = 0; i < lares_tool_registry_n_tools (registry); i++)
    {
      const LaresTool *tool = lares_tool_registry_nth (registry, i);
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) args = lares_tool_parse_args (tool, text, &error);
      if (args != NULL)
        {
          g_assert_true (JSON_NODE_HOLDS_OBJECT (args));
          g_assert_true (lares_tool_validate (tool, args, NULL));
        }
      else
        g_assert_true (error != NULL && g_utf8_validate (error->message, -1, NULL));
    }
  if (lares_persona_parse_text_tool_call (text, &name, &arguments))
    g_assert_true (name != NULL && *name != '\0' && arguments != NULL);
  if (g_utf8_validate (text, -1, NULL))
    {
      /* Pieces of a reply always end on character boundaries. */
      while (cut < len && (text[cut] & 0xc0) == 0x80)
        cut++;
      lares_emotion_filter_init (&filter, persona);
      lares_emotion_filter_feed (&filter, text, cut, out, emotions);
      lares_emotion_filter_feed (&filter, text + cut, len - cut, out, emotions);
      lares_emotion_filter_flush (&filter, out);
      g_assert_true (out->len <= len);
      g_assert_true (g_utf8_validate (out->str, out->len, NULL));
    }
  return 0;
}
