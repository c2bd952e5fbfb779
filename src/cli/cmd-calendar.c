/* cmd-calendar.c — `lares calendar list|import|export`: the calendar
 * through the running daemon's REST API with the CLI's token.
 *
 *   list [--days N]      the next N days (7), repeats expanded, local time
 *   import FILE|-        an iCalendar file (text/calendar) into the calendar
 *   export [FILE]        the calendar as iCalendar (stdout by default)
 */
#include "config.h"

#include "lares-cli.h"

#include <gio/gunixinputstream.h>
#include <stdio.h>
#include <string.h>

static void
usage (FILE *out)
{
  fprintf (out, "Usage: lares calendar list|import|export [OPTIONS]\n\n"
                "  list [--days N]    the next N days (default 7)\n"
                "  import FILE|-      read an iCalendar file (.ics); a bad file changes nothing\n"
                "  export [FILE]      write the calendar as iCalendar (default: stdout)\n");
}

static char *
local_text (const char *iso, gboolean all_day)
{
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr (GDateTime) t = NULL;
  g_autoptr (GDateTime) local = NULL;

  if (all_day)
    return g_strdup_printf ("%s (all day)", iso);
  t = g_date_time_new_from_iso8601 (iso, utc);
  local = t ? g_date_time_to_local (t) : NULL;
  return local ? g_date_time_format (local, "%a %Y-%m-%d %H:%M") : g_strdup (iso);
}

static int
cal_list (LaresCliClient *c, int argc, char **argv)
{
  int days = 7;
  GOptionEntry entries[] = {
    { "days", 0, 0, G_OPTION_ARG_INT, &days, "how many days ahead (1-366)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- list what is on the calendar");
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) end = NULL;
  g_autofree char *from = NULL, *to = NULL, *path = NULL;
  g_autoptr (JsonNode) answer = NULL;
  JsonArray *occ;
  unsigned status;
  int rc;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    return rc;
  if (days < 1 || days > 366 || argc > 1)
    {
      fprintf (stderr, "lares calendar list: --days takes 1 to 366, and nothing else\n");
      return LARES_EXIT_USAGE;
    }
  end = g_date_time_add_days (now, days);
  from = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  to = g_date_time_format (end, "%Y-%m-%dT%H:%M:%SZ");
  path = g_strdup_printf ("/api/v1/events?from=%s&to=%s", from, to);
  answer = lares_cli_client_call (c, "GET", path, NULL, &status);
  if (status != 200 || answer == NULL)
    {
      lares_cli_client_report (status, answer);
      return LARES_EXIT_FAILURE;
    }
  occ = json_object_get_array_member (json_node_get_object (answer), "occurrences");
  if (json_array_get_length (occ) == 0)
    printf ("Nothing in the next %d day%s.\n", days, days == 1 ? "" : "s");
  for (unsigned i = 0; i < json_array_get_length (occ); i++)
    {
      JsonObject *o = json_array_get_object_element (occ, i);
      g_autofree char *when = local_text (json_object_get_string_member (o, "start"),
                                          json_object_get_boolean_member (o, "all_day"));
      const char *where = json_object_get_string_member_with_default (o, "location", "");

      printf ("%s  %s%s%s  (#%" G_GINT64_FORMAT ")\n", when,
              json_object_get_string_member (o, "title"), *where ? " @ " : "", where,
              json_object_get_int_member (o, "event_id"));
    }
  return LARES_EXIT_OK;
}

static int
cal_import (LaresCliClient *c, int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new ("FILE|- - import an iCalendar file");
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GBytes) answer = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;
  JsonArray *skipped;
  unsigned status;
  int rc;

  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    return rc;
  if (argc != 2)
    {
      fprintf (stderr, "lares calendar import: give one file (or - for stdin)\n");
      return LARES_EXIT_USAGE;
    }
  if (strcmp (argv[1], "-") == 0)
    {
      g_autoptr (GInputStream) in = g_unix_input_stream_new (0, FALSE);
      g_autoptr (GOutputStream) mem = g_memory_output_stream_new_resizable ();

      if (g_output_stream_splice (mem, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error) < 0)
        {
          fprintf (stderr, "lares calendar import: reading stdin: %s\n", error->message);
          return LARES_EXIT_FAILURE;
        }
      body = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
    }
  else
    {
      char *data = NULL;
      size_t len = 0;

      if (!g_file_get_contents (argv[1], &data, &len, &error))
        {
          fprintf (stderr, "lares calendar import: %s\n", error->message);
          return LARES_EXIT_FAILURE;
        }
      body = g_bytes_new_take (data, len);
    }
  answer =
      lares_cli_client_send (c, "POST", "/api/v1/calendar/import", "text/calendar", body, &status);
  if (answer == NULL)
    return LARES_EXIT_FAILURE;
  if (status != 200 || !json_parser_load_from_data (parser, g_bytes_get_data (answer, NULL),
                                                    (gssize)g_bytes_get_size (answer), NULL))
    {
      g_autoptr (JsonNode) err = NULL;

      if (json_parser_load_from_data (parser, g_bytes_get_data (answer, NULL),
                                      (gssize)g_bytes_get_size (answer), NULL))
        err = json_node_copy (json_parser_get_root (parser));
      lares_cli_client_report (status, err);
      return status == 400 ? LARES_EXIT_USAGE : LARES_EXIT_FAILURE;
    }
  o = json_node_get_object (json_parser_get_root (parser));
  skipped = json_object_get_array_member (o, "skipped");
  printf ("Imported %" G_GINT64_FORMAT " event(s), %" G_GINT64_FORMAT " of them updates.\n",
          json_object_get_int_member (o, "imported"), json_object_get_int_member (o, "updated"));
  for (unsigned i = 0; skipped && i < json_array_get_length (skipped); i++)
    {
      JsonObject *s = json_array_get_object_element (skipped, i);
      JsonNode *uid = json_object_get_member (s, "uid");

      printf ("Skipped %s: %s\n",
              JSON_NODE_HOLDS_NULL (uid) ? "(no UID)" : json_node_get_string (uid),
              json_object_get_string_member (s, "reason"));
    }
  return LARES_EXIT_OK;
}

static int
cal_export (LaresCliClient *c, int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx =
      g_option_context_new ("[FILE] - write the calendar as iCalendar");
  g_autoptr (GBytes) answer = NULL;
  g_autoptr (GError) error = NULL;
  unsigned status;
  int rc;

  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    return rc;
  if (argc > 2)
    {
      fprintf (stderr, "lares calendar export: at most one file\n");
      return LARES_EXIT_USAGE;
    }
  answer = lares_cli_client_send (c, "GET", "/api/v1/calendar.ics", NULL, NULL, &status);
  if (answer == NULL)
    return LARES_EXIT_FAILURE;
  if (status != 200)
    {
      lares_cli_client_report (status, NULL);
      return LARES_EXIT_FAILURE;
    }
  if (argc == 2)
    {
      if (!g_file_set_contents (argv[1], g_bytes_get_data (answer, NULL),
                                (gssize)g_bytes_get_size (answer), &error))
        {
          fprintf (stderr, "lares calendar export: %s\n", error->message);
          return LARES_EXIT_FAILURE;
        }
      return LARES_EXIT_OK;
    }
  if (fwrite (g_bytes_get_data (answer, NULL), 1, g_bytes_get_size (answer), stdout) !=
          g_bytes_get_size (answer) ||
      fflush (stdout) != 0)
    return LARES_EXIT_FAILURE;
  return LARES_EXIT_OK;
}

int
lares_cmd_calendar (int argc, char **argv)
{
  LaresCliConfigOptions copts = { 0 };
  LaresCliClient c = { 0 };
  int (*run) (LaresCliClient *, int, char **) = NULL;
  const char *sub = argc > 1 ? argv[1] : NULL;
  int rc;

  if (sub == NULL || strcmp (sub, "--help") == 0 || strcmp (sub, "-h") == 0 ||
      strcmp (sub, "help") == 0)
    {
      usage (sub ? stdout : stderr);
      return sub ? LARES_EXIT_OK : LARES_EXIT_USAGE;
    }
  if (strcmp (sub, "list") == 0)
    run = cal_list;
  else if (strcmp (sub, "import") == 0)
    run = cal_import;
  else if (strcmp (sub, "export") == 0)
    run = cal_export;
  else
    {
      fprintf (stderr, "lares calendar: unknown command '%s'\n\n", sub);
      usage (stderr);
      return LARES_EXIT_USAGE;
    }
  /* --help needs no daemon. */
  for (int i = 2; i < argc; i++)
    if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
      return run (&c, argc - 1, argv + 1);
  if (!lares_cli_client_init (&c, &copts))
    rc = LARES_EXIT_FAILURE;
  else
    rc = run (&c, argc - 1, argv + 1);
  lares_cli_client_clear (&c);
  lares_cli_config_options_clear (&copts);
  return rc;
}
