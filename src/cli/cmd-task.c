/* cmd-task.c — `lares task add|list|done`: tasks through the running
 * daemon's REST API (/api/v1/tasks) with the CLI's token.
 *
 * Dates given without a zone are local time; the daemon stores UTC.
 */
#include "config.h"

#include "lares-cli.h"
#include "lares-util.h"

#include <stdio.h>
#include <string.h>

static void
usage (FILE *out)
{
  fprintf (out, "Usage: lares task add|list|done [OPTIONS]\n\n"
                "  add [--project P] [--tag T]... [--due WHEN] [--priority H|M|L] TEXT\n"
                "  list [--project P] [--all] [--json]   most urgent first\n"
                "  done ID\n\n"
                "WHEN: today, tomorrow, 2026-11-21, 2026-11-21T17:00 (local time) or with a zone.\n"
                "Run 'lares task COMMAND --help' for each command's options.\n");
}

/* WHEN as ISO 8601 with an offset, or NULL.  (transfer full) */
static char *
parse_when (const char *text)
{
  g_autoptr (GTimeZone) local = g_time_zone_new_local ();
  g_autoptr (GDateTime) now = g_date_time_new_now (local);
  g_autoptr (GDateTime) dt = NULL;

  if (g_ascii_strcasecmp (text, "today") == 0 || g_ascii_strcasecmp (text, "tomorrow") == 0)
    {
      g_autoptr (GDateTime) day =
          g_date_time_new (local, g_date_time_get_year (now), g_date_time_get_month (now),
                           g_date_time_get_day_of_month (now), 0, 0, 0);
      dt = g_date_time_add_days (day, text[1] == 'o' && text[2] == 'm' ? 1 : 0);
    }
  else if (strlen (text) == 10)
    {
      g_autofree char *full = g_strconcat (text, "T00:00:00", NULL);
      dt = g_date_time_new_from_iso8601 (full, local);
    }
  else
    {
      /* "2026-11-21T17:00" has no seconds; GLib wants them. */
      g_autofree char *full =
          strlen (text) == 16 ? g_strconcat (text, ":00", NULL) : g_strdup (text);
      dt = g_date_time_new_from_iso8601 (full, local);
    }
  return dt ? g_date_time_format_iso8601 (dt) : NULL;
}

static int
task_add (LaresCliClient *c, int argc, char **argv)
{
  g_autofree char *project = NULL, *due = NULL, *priority = NULL;
  g_auto (GStrv) tags = NULL;
  GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_STRING, &project, "put it in project P", "P" },
    { "tag", 't', 0, G_OPTION_ARG_STRING_ARRAY, &tags, "add tag T (repeatable)", "T" },
    { "due", 0, 0, G_OPTION_ARG_STRING, &due, "due date", "WHEN" },
    { "priority", 0, 0, G_OPTION_ARG_STRING, &priority, "H, M or L", "H|M|L" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("TEXT - add a task");
  g_autoptr (GString) body = g_string_new ("{\"description\":");
  g_autoptr (JsonNode) answer = NULL;
  g_autofree char *text = NULL, *when = NULL;
  unsigned status;
  int rc;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    return rc;
  if (argc < 2)
    {
      fprintf (stderr, "lares task add: say what the task is\n");
      return LARES_EXIT_USAGE;
    }
  if (due && (when = parse_when (due)) == NULL)
    {
      fprintf (stderr, "lares task add: '%s' is not a date (try 2026-11-21T17:00)\n", due);
      return LARES_EXIT_USAGE;
    }
  text = g_strjoinv (" ", argv + 1);
  lares_json_append_string (body, text, -1);
  if (project)
    {
      g_string_append (body, ",\"project\":");
      lares_json_append_string (body, project, -1);
    }
  if (priority)
    {
      g_string_append (body, ",\"priority\":");
      lares_json_append_string (body, priority, -1);
    }
  if (when)
    {
      g_string_append (body, ",\"due\":");
      lares_json_append_string (body, when, -1);
    }
  if (tags)
    {
      g_string_append (body, ",\"tags\":[");
      for (char **t = tags; *t; t++)
        {
          if (t != tags)
            g_string_append_c (body, ',');
          lares_json_append_string (body, *t, -1);
        }
      g_string_append_c (body, ']');
    }
  g_string_append_c (body, '}');
  answer = lares_cli_client_call (c, "POST", "/api/v1/tasks", body->str, &status);
  if (status != 201 || answer == NULL)
    {
      lares_cli_client_report (status, answer);
      return status == 400 ? LARES_EXIT_USAGE : LARES_EXIT_FAILURE;
    }
  printf ("Added task %" G_GINT64_FORMAT ": %s\n",
          json_object_get_int_member (json_node_get_object (answer), "id"), text);
  return LARES_EXIT_OK;
}

static char *
format_due (JsonObject *t)
{
  JsonNode *n = json_object_get_member (t, "due");
  g_autoptr (GDateTime) utc = NULL;
  g_autoptr (GDateTime) local = NULL;

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return g_strdup ("");
  utc = g_date_time_new_from_unix_utc (json_node_get_int (n) / 1000);
  local = utc ? g_date_time_to_local (utc) : NULL;
  return local ? g_date_time_format (local, "%Y-%m-%d %H:%M") : g_strdup ("?");
}

static int
task_list (LaresCliClient *c, int argc, char **argv)
{
  g_autofree char *project = NULL;
  gboolean all = FALSE, json = FALSE;
  GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_STRING, &project, "only project P (and its subprojects)",
      "P" },
    { "all", 'a', 0, G_OPTION_ARG_NONE, &all, "also completed, deleted and waiting tasks", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print the daemon's JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- list tasks, most urgent first");
  g_autoptr (GString) path = g_string_new ("/api/v1/tasks?sort=urgency&limit=10000");
  g_autoptr (JsonNode) answer = NULL;
  JsonArray *tasks;
  unsigned status;
  int rc;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    return rc;
  if (argc > 1)
    {
      fprintf (stderr, "lares task list: unexpected '%s'\n", argv[1]);
      return LARES_EXIT_USAGE;
    }
  if (all)
    g_string_append (path, "&status=all");
  if (project)
    {
      g_autofree char *escaped = g_uri_escape_string (project, NULL, FALSE);
      g_string_append_printf (path, "&project=%s", escaped);
    }
  answer = lares_cli_client_call (c, "GET", path->str, NULL, &status);
  if (status != 200 || answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    {
      lares_cli_client_report (status, answer);
      return LARES_EXIT_FAILURE;
    }
  if (json)
    {
      g_autofree char *text = json_to_string (answer, TRUE);
      printf ("%s\n", text);
      return LARES_EXIT_OK;
    }
  tasks = json_object_get_array_member (json_node_get_object (answer), "tasks");
  if (tasks == NULL || json_array_get_length (tasks) == 0)
    {
      printf ("No tasks.\n");
      return LARES_EXIT_OK;
    }
  printf ("%5s %6s %-16s %-12s %s\n", "ID", "URG", "DUE", "PROJECT", "DESCRIPTION");
  for (unsigned i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      g_autofree char *due = format_due (t);
      const char *st = json_object_get_string_member_with_default (t, "status", "");
      JsonNode *p = json_object_get_member (t, "project");

      printf ("%5" G_GINT64_FORMAT " %6.2f %-16s %-12s %s%s%s\n",
              json_object_get_int_member (t, "id"), json_object_get_double_member (t, "urgency"),
              due, p && !JSON_NODE_HOLDS_NULL (p) ? json_node_get_string (p) : "",
              json_object_get_string_member_with_default (t, "description", ""),
              strcmp (st, "pending") != 0 ? " — " : "", strcmp (st, "pending") != 0 ? st : "");
    }
  return LARES_EXIT_OK;
}

static int
task_done (LaresCliClient *c, int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new ("ID - mark a task as done");
  g_autoptr (JsonNode) answer = NULL;
  g_autofree char *path = NULL;
  int64_t id;
  unsigned status;
  int rc;

  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    return rc;
  if (argc != 2 || !lares_parse_int64 (argv[1], &id) || id <= 0)
    {
      fprintf (stderr, "lares task done: give one task ID (see `lares task list`)\n");
      return LARES_EXIT_USAGE;
    }
  path = g_strdup_printf ("/api/v1/tasks/%" G_GINT64_FORMAT "/done", id);
  answer = lares_cli_client_call (c, "POST", path, NULL, &status);
  if (status != 200 || answer == NULL)
    {
      lares_cli_client_report (status, answer);
      return LARES_EXIT_FAILURE;
    }
  printf ("Completed task %" G_GINT64_FORMAT ": %s\n", id,
          json_object_get_string_member_with_default (json_node_get_object (answer), "description",
                                                      ""));
  return LARES_EXIT_OK;
}

int
lares_cmd_task (int argc, char **argv)
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
  if (strcmp (sub, "add") == 0)
    run = task_add;
  else if (strcmp (sub, "list") == 0)
    run = task_list;
  else if (strcmp (sub, "done") == 0)
    run = task_done;
  else
    {
      fprintf (stderr, "lares task: unknown command '%s'\n\n", sub);
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
