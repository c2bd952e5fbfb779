/* intent-try.c — developer tool: match sentences and print the result JSON.
 *
 * Usage: intent-try DATADIR NOW_RFC3339 ZONE "sentence"...
 * Entities come from LARES_TRY_ENTITIES="kind:name,kind:name".
 */
#include "config.h"

#include <stdio.h>

#include "lares-intent.h"

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LaresIntentEngine) e = NULL;
  g_autoptr (GTimeZone) tz = NULL;
  g_autoptr (GDateTime) now = NULL;
  g_autoptr (LaresIntentEntities) ents = lares_intent_entities_new ();
  const char *spec = g_getenv ("LARES_TRY_ENTITIES");

  if (argc < 5)
    {
      fprintf (stderr, "usage: intent-try DATADIR NOW ZONE SENTENCE...\n");
      return 2;
    }
  e = lares_intent_engine_new_from_dir (argv[1], "en", &error);
  if (e == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  tz = g_time_zone_new_identifier (argv[3]);
  now = g_date_time_new_from_iso8601 (argv[2], tz);
  if (tz == NULL || now == NULL)
    {
      fprintf (stderr, "bad zone or time\n");
      return 2;
    }
  if (spec != NULL)
    {
      g_auto (GStrv) parts = g_strsplit (spec, ",", -1);
      for (char **p = parts; *p; p++)
        {
          char *colon = strchr (*p, ':');
          if (colon == NULL)
            continue;
          *colon = '\0';
          lares_intent_entities_add (ents, *p, colon + 1);
        }
    }
  for (int i = 4; i < argc; i++)
    {
      g_autoptr (LaresIntentMatch) m = lares_intent_engine_match (e, argv[i], now, tz, ents);
      g_autoptr (JsonNode) j = lares_intent_match_to_json (m);
      g_autofree char *s = json_to_string (j, FALSE);
      printf ("%s\n  %s\n", argv[i], s);
    }
  return 0;
}
