/* cmd-intent.c — `lares intent [--now RFC3339] [--tz ZONE] [--data DIR]
 * [--lang LANG] [--entity KIND:NAME]... [--llm] TEXT`: match one sentence
 * with the intent engine and print the match, and the router's decision, as
 * JSON.  A developer and support tool: it reads no configuration and touches
 * no data directory.
 *
 * DESIGN: one-shot; compiles the templates, matches, prints, exits.  Exit
 * status 0 when the engine loaded (whatever the verdict), 1 when the
 * templates are bad (the error names file and line), 2 on a usage error.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "lares-cli.h"
#include "lares-intent.h"

int
lares_cmd_intent (int argc, char **argv)
{
  g_autofree char *now_s = NULL;
  g_autofree char *zone = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *lang = NULL;
  g_auto (GStrv) entity_specs = NULL;
  gboolean llm = FALSE;
  GOptionEntry entries[] = {
    { "now", 0, 0, G_OPTION_ARG_STRING, &now_s, "the current time (default: now)", "RFC3339" },
    { "tz", 0, 0, G_OPTION_ARG_STRING, &zone, "the user's time zone (default: local)", "ZONE" },
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &dir,
      "read templates from DIR instead of the built-in ones", "DIR" },
    { "lang", 0, 0, G_OPTION_ARG_STRING, &lang, "language (default: en)", "LANG" },
    { "entity", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &entity_specs, "a name the user has",
      "KIND:NAME" },
    { "llm", 0, 0, G_OPTION_ARG_NONE, &llm, "route as if an LLM were configured", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("TEXT - match a sentence");
  g_autoptr (GError) error = NULL;
  g_autoptr (GTimeZone) tz = NULL;
  g_autoptr (GDateTime) now = NULL;
  g_autoptr (LaresIntentEngine) engine = NULL;
  g_autoptr (LaresIntentEntities) ents = lares_intent_entities_new ();
  g_autoptr (LaresIntentMatch) m = NULL;
  g_autoptr (JsonNode) out = NULL;
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;
  const char *why = NULL;
  LaresIntentRoute route;
  int rc;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    return rc;
  if (argc != 2)
    {
      fprintf (stderr, "lares intent: give exactly one sentence (quote it)\n");
      return LARES_EXIT_USAGE;
    }
  tz = zone != NULL ? g_time_zone_new_identifier (zone) : g_time_zone_new_local ();
  if (tz == NULL)
    {
      fprintf (stderr, "lares intent: unknown time zone '%s'\n", zone);
      return LARES_EXIT_USAGE;
    }
  now = now_s != NULL ? g_date_time_new_from_iso8601 (now_s, tz) : g_date_time_new_now (tz);
  if (now == NULL)
    {
      fprintf (stderr, "lares intent: '%s' is not an RFC 3339 time\n", now_s);
      return LARES_EXIT_USAGE;
    }
  for (char **e = entity_specs; e != NULL && *e != NULL; e++)
    {
      const char *colon = strchr (*e, ':');
      g_autofree char *kind = NULL;
      if (colon == NULL || colon == *e || colon[1] == '\0')
        {
          fprintf (stderr, "lares intent: --entity wants KIND:NAME, not '%s'\n", *e);
          return LARES_EXIT_USAGE;
        }
      kind = g_strndup (*e, (size_t)(colon - *e));
      lares_intent_entities_add (ents, kind, colon + 1);
    }

  engine = dir != NULL ? lares_intent_engine_new_from_dir (dir, lang != NULL ? lang : "en", &error)
                       : lares_intent_engine_new_builtin (lang != NULL ? lang : "en", &error);
  if (engine == NULL)
    {
      fprintf (stderr, "lares intent: %s\n", error->message);
      return LARES_EXIT_FAILURE;
    }
  m = lares_intent_engine_match (engine, argv[1], now, tz, ents);
  route = lares_intent_route (m, llm, &why);
  out = lares_intent_match_to_json (m);
  json_object_set_string_member (json_node_get_object (out), "route",
                                 lares_intent_route_to_string (route));
  json_object_set_string_member (json_node_get_object (out), "route_why", why);
  if (route == LARES_INTENT_ROUTE_CAPABILITIES)
    json_object_set_string_member (json_node_get_object (out), "answer",
                                   lares_intent_engine_get_capabilities (engine));
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, out);
  text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
  return LARES_EXIT_OK;
}
