/* test-chat-unit.c — the pure parts of the chat layer: the emotion tag
 * filter, tool calls written as text, persona modes, and tool argument
 * validation against the registry's schemas. */
#include "config.h"

#include "lares-persona.h"
#include "lares-tools.h"

#include <string.h>

static LaresPersona *
persona (void)
{
  g_autoptr (LaresConfig) cfg = lares_config_new ();
  g_autoptr (GError) error = NULL;
  LaresPersona *p = lares_persona_new (cfg, &error);

  g_assert_no_error (error);
  return p;
}

/* Feed @text in pieces of @step bytes; return the visible text and the
 * emotions joined with ','. */
static char *
filter_run (LaresPersona *p, const char *text, size_t step, char **emotions)
{
  LaresEmotionFilter f;
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GPtrArray) found = g_ptr_array_new ();
  size_t len = strlen (text);

  lares_emotion_filter_init (&f, p);
  for (size_t i = 0; i < len; i += step)
    lares_emotion_filter_feed (&f, text + i, MIN (step, len - i), out, found);
  lares_emotion_filter_flush (&f, out);
  g_ptr_array_add (found, NULL);
  *emotions = g_strjoinv (",", (char **)found->pdata);
  return g_strdup (out->str);
}

static void
test_emotion_filter (void)
{
  g_autoptr (LaresPersona) p = persona ();
  static const struct
  {
    const char *in, *out, *emotions;
  } cases[] = {
    { "[happy] Sure, done!", "Sure, done!", "happy" },
    { "Hello [HAPPY]there", "Hello there", "happy" },
    { "Well [thinking]... [sad] no.", "Well ...  no.", "thinking,sad" },
    { "an [array] index and [1]", "an [array] index and [1]", "" },
    { "a [[happy]] b", "a [] b", "happy" },
    { "cut [hap", "cut [hap", "" },
    { "[happy][sad]", "", "happy,sad" },
    { "   leading space", "leading space", "" },
    { "x [averyveryveryveryverylongword] y", "x [averyveryveryveryverylongword] y", "" },
    { "naïve [surprised]café", "naïve café", "surprised" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    for (size_t step = 1; step <= strlen (cases[i].in); step++)
      {
        g_autofree char *emotions = NULL;
        g_autofree char *out = filter_run (p, cases[i].in, step, &emotions);
        g_assert_cmpstr (out, ==, cases[i].out);
        g_assert_cmpstr (emotions, ==, cases[i].emotions);
      }
}

static void
test_text_tool_call (void)
{
  static const struct
  {
    const char *text;
    const char *name; /* NULL: not a tool call */
    const char *args;
  } cases[] = {
    { "{\"tool\":\"time_now\",\"arguments\":{\"what\":\"date\"}}", "time_now",
      "{\"what\":\"date\"}" },
    { "  ```json\n{\"name\": \"memory_recall\", \"parameters\": {}}\n```  ", "memory_recall",
      "{}" },
    { "{\"tool\":\"help\"}", "help", "{}" },
    { "{\"tool\":\"x\",\"arguments\":\"{\\\"a\\\":1}\"}", "x", "{\"a\":1}" },
    { "Sure! {\"tool\":\"help\"}", NULL, NULL },
    { "{\"not\":\"a call\"}", NULL, NULL },
    { "{broken", NULL, NULL },
    { "", NULL, NULL },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = NULL;
      g_autofree char *args = NULL;
      gboolean ok = lares_persona_parse_text_tool_call (cases[i].text, &name, &args);
      g_assert_cmpint (ok, ==, cases[i].name != NULL);
      g_assert_cmpstr (name, ==, cases[i].name);
      g_assert_cmpstr (args, ==, cases[i].args);
    }
  g_assert_true (lares_persona_maybe_text_tool_call ("  {\"to", 6));
  g_assert_true (lares_persona_maybe_text_tool_call ("`", 1));
  g_assert_true (lares_persona_maybe_text_tool_call ("  ", 2));
  g_assert_false (lares_persona_maybe_text_tool_call ("Hi", 2));
  g_assert_false (lares_persona_maybe_text_tool_call ("`x", 2));
}

static void
test_modes (void)
{
  g_autoptr (LaresConfig) cfg = lares_config_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (LaresPersona) p = NULL;
  g_autoptr (LaresPersona) bad = NULL;

  g_assert_true (lares_config_set (cfg, "persona.modes", "Short: Be brief.; pirate: Arr.",
                                   LARES_CONFIG_SOURCE_FLAG, &error));
  g_assert_true (lares_config_set (cfg, "persona.name", "Vesta", LARES_CONFIG_SOURCE_FLAG, &error));
  p = lares_persona_new (cfg, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lares_persona_get_mode (p, "short"), ==, "Be brief.");
  g_assert_cmpstr (lares_persona_get_mode (p, "pirate"), ==, "Arr.");
  g_assert_null (lares_persona_get_mode (p, "concise"));
  g_assert_cmpstr (lares_persona_list_modes (p), ==, "short, pirate");
  g_assert_nonnull (strstr (lares_persona_get_prompt (p), "You are Vesta"));

  g_assert_true (
      lares_config_set (cfg, "persona.modes", "no colon here", LARES_CONFIG_SOURCE_FLAG, &error));
  bad = lares_persona_new (cfg, &error);
  g_assert_null (bad);
  g_assert_error (error, LARES_CONFIG_ERROR, LARES_CONFIG_ERROR_INVALID_VALUE);
}

static void
test_tool_validation (void)
{
  g_autoptr (LaresToolRegistry) reg = lares_tool_registry_new ();
  const LaresTool *remember, *forget, *now;
  static const struct
  {
    const char *tool;
    const char *args;
    const char *error; /* substring of the message, NULL: valid */
  } cases[] = {
    { "memory.remember", "{\"fact\":\"I like jazz\"}", NULL },
    { "memory.remember", "{}", "fact: is required" },
    { "memory.remember", "{\"fact\":null}", "fact: is required" },
    { "memory.remember", "{\"fact\":\"\"}", "fact: must not be empty" },
    { "memory.remember", "{\"fact\":42}", "fact: expected a string" },
    { "memory.remember", "{\"fact\":\"x\",\"extra\":1}", "extra: is not a known argument" },
    { "memory.remember", "[1,2]", "arguments: expected an object" },
    { "memory.remember", "{\"fact\":", "not valid JSON" },
    { "memory_remember", "\"just a string\"", "expected an object" },
    { "memory.forget", "{\"id\":0}", "id: is out of range" },
    { "memory.forget", "{\"id\":1.5}", "id: expected an integer" },
    { "memory.forget", "{\"id\":3}", NULL },
    { "time.now", "", NULL },
    { "time_now", "{\"what\":\"date\"}", NULL },
    { "time.now", "{\"what\":\"weather\"}", "what: expected one of: time, date" },
  };

  lares_tool_registry_add_builtin (reg);
  remember = lares_tool_registry_lookup (reg, "memory.remember");
  forget = lares_tool_registry_lookup (reg, "memory_forget");
  now = lares_tool_registry_lookup (reg, "time.now");
  g_assert_nonnull (remember);
  g_assert_nonnull (forget);
  g_assert_nonnull (now);
  g_assert_true (remember == lares_tool_registry_lookup (reg, "memory_remember"));
  g_assert_null (lares_tool_registry_lookup (reg, "memory.nothing"));
  g_assert_cmpstr (lares_tool_get_llm_name (remember), ==, "memory_remember");

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const LaresTool *tool = lares_tool_registry_lookup (reg, cases[i].tool);
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) args = lares_tool_parse_args (tool, cases[i].args, &error);

      if (cases[i].error == NULL)
        {
          g_assert_no_error (error);
          g_assert_nonnull (args);
        }
      else
        {
          g_assert_null (args);
          g_assert_error (error, LARES_TOOL_ERROR, LARES_TOOL_ERROR_INVALID_ARGS);
          if (strstr (error->message, cases[i].error) == NULL)
            g_error ("case %zu: '%s' does not contain '%s'", i, error->message, cases[i].error);
        }
    }
}

static void
test_registry (void)
{
  g_autoptr (LaresToolRegistry) reg = lares_tool_registry_new ();
  g_autoptr (GError) error = NULL;
  static const LaresToolSpec bad_schema = { "x.bad", "bad", "{\"type\":\"object\",\"oneOf\":[]}",
                                            LARES_TOOL_RISK_LOW, NULL };
  static const LaresToolSpec not_json = { "x.json", "bad", "{", LARES_TOOL_RISK_LOW, NULL };
  JsonNode *tools;
  JsonObject *first;

  g_assert_false (lares_tool_registry_add (reg, &bad_schema, &error));
  g_assert_nonnull (strstr (error->message, "'oneOf' is not supported"));
  g_clear_error (&error);
  g_assert_false (lares_tool_registry_add (reg, &not_json, &error));
  g_clear_error (&error);

  lares_tool_registry_add_builtin (reg);
  tools = lares_tool_registry_get_llm_tools (reg);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (tools));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (tools)), ==, 24);
  first = json_array_get_object_element (json_node_get_array (tools), 0);
  g_assert_cmpstr (json_object_get_string_member (first, "type"), ==, "function");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (first, "function"), "name"), ==,
      "time_now");
  g_assert_nonnull (strstr (lares_tool_registry_get_catalog (reg), "- memory_remember: "));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/chat/emotion-filter", test_emotion_filter);
  g_test_add_func ("/chat/text-tool-call", test_text_tool_call);
  g_test_add_func ("/chat/modes", test_modes);
  g_test_add_func ("/chat/tool-validation", test_tool_validation);
  g_test_add_func ("/chat/registry", test_registry);
  return g_test_run ();
}
