/* cmd-approvals.c — `lares approvals [--all]`, `lares approve ID`, `lares
 * reject ID`: the owner's decisions on high-risk actions, through the
 * running daemon's REST API (/api/v1/approvals) with the CLI's token.
 *
 * Exit codes: 0 done (an approval whose action then failed is 1), 1 the
 * daemon refused or could not be reached (unknown, already decided,
 * expired), 2 usage.
 */
#include "config.h"

#include "lares-cli.h"
#include "lares-util.h"

#include <stdio.h>
#include <string.h>

/* "2026-11-21 10:05" in local time, from ISO 8601 UTC.  (transfer full) */
static char *
local_time (JsonObject *o, const char *member)
{
  const char *iso = json_object_get_string_member_with_default (o, member, NULL);
  g_autoptr (GDateTime) t = iso ? g_date_time_new_from_iso8601 (iso, NULL) : NULL;
  g_autoptr (GDateTime) local = t ? g_date_time_to_local (t) : NULL;

  return local ? g_date_time_format (local, "%Y-%m-%d %H:%M") : g_strdup ("-");
}

/* The daemon is reached only once the command line is known to be good,
 * so a usage error is 2 whether or not a daemon and a token are there. */
static int
with_client (int argc, char **argv, int (*run) (LaresCliClient *, int, char **))
{
  LaresCliClient c = { 0 };
  int rc = run (&c, argc, argv);

  lares_cli_client_clear (&c);
  return rc;
}

static gboolean
connect_client (LaresCliClient *c)
{
  LaresCliConfigOptions copts = { 0 };
  gboolean ok = lares_cli_client_init (c, &copts);

  lares_cli_config_options_clear (&copts);
  return ok;
}

/* ---- lares approvals ------------------------------------------------------------------------ */

static int
approvals_run (LaresCliClient *c, int argc, char **argv)
{
  gboolean all = FALSE, json = FALSE;
  GOptionEntry entries[] = {
    { "all", 'a', 0, G_OPTION_ARG_NONE, &all, "also decided and expired ones", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print the daemon's JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx =
      g_option_context_new ("- list actions waiting for your approval (newest first)");
  g_autoptr (JsonNode) answer = NULL;
  JsonArray *list;
  unsigned status;
  int rc;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx, "Decide with `lares approve ID` or `lares reject ID`.");
  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    return rc;
  if (argc > 1)
    {
      fprintf (stderr, "lares approvals: unexpected '%s'\n", argv[1]);
      return LARES_EXIT_USAGE;
    }
  if (!connect_client (c))
    return LARES_EXIT_FAILURE;
  answer = lares_cli_client_call (c, "GET",
                                  all ? "/api/v1/approvals?status=all&limit=500"
                                      : "/api/v1/approvals?status=pending&limit=500",
                                  NULL, &status);
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
  list = json_object_get_array_member (json_node_get_object (answer), "approvals");
  if (list == NULL || json_array_get_length (list) == 0)
    {
      printf (all ? "No approvals.\n" : "Nothing is waiting for your approval.\n");
      return LARES_EXIT_OK;
    }
  printf ("%5s %-9s %-16s %-18s %s\n", "ID", "STATUS", all ? "ASKED" : "EXPIRES", "TOOL",
          "SUMMARY");
  for (unsigned i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *a = json_array_get_object_element (list, i);
      g_autofree char *when = local_time (a, all ? "created_at" : "expires_at");

      printf ("%5" G_GINT64_FORMAT " %-9s %-16s %-18s %s\n", json_object_get_int_member (a, "id"),
              json_object_get_string_member_with_default (a, "status", "?"), when,
              json_object_get_string_member_with_default (a, "tool", "?"),
              json_object_get_string_member_with_default (a, "summary", ""));
    }
  return LARES_EXIT_OK;
}

int
lares_cmd_approvals (int argc, char **argv)
{
  return with_client (argc, argv, approvals_run);
}

/* ---- lares approve / reject ----------------------------------------------------------------- */

static int
decide (LaresCliClient *c, int argc, char **argv, gboolean approve)
{
  const char *verb = approve ? "approve" : "reject";
  g_autofree char *summary = g_strdup_printf ("ID - %s the action waiting as approval ID", verb);
  g_autoptr (GOptionContext) ctx = g_option_context_new (summary);
  g_autoptr (JsonNode) answer = NULL;
  g_autofree char *path = NULL;
  JsonObject *a;
  const char *st;
  int64_t id;
  unsigned status;
  int rc;

  g_option_context_set_description (ctx, "See what is waiting with `lares approvals`.");
  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    return rc;
  if (argc != 2 || !lares_parse_int64 (argv[1], &id) || id <= 0)
    {
      fprintf (stderr, "lares %s: give one approval ID (see `lares approvals`)\n", verb);
      return LARES_EXIT_USAGE;
    }
  if (!connect_client (c))
    return LARES_EXIT_FAILURE;
  path = g_strdup_printf ("/api/v1/approvals/%" G_GINT64_FORMAT "/%s", id, verb);
  answer = lares_cli_client_call (c, "POST", path, NULL, &status);
  if (status != 200 || answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer) ||
      (a = json_object_get_object_member (json_node_get_object (answer), "approval")) == NULL)
    {
      lares_cli_client_report (status, answer);
      return LARES_EXIT_FAILURE;
    }
  st = json_object_get_string_member_with_default (a, "status", "?");
  if (strcmp (st, "executed") == 0)
    {
      JsonObject *result = json_object_get_object_member (a, "result");
      printf ("Approved %" G_GINT64_FORMAT ": %s\n%s\n", id,
              json_object_get_string_member_with_default (a, "summary", ""),
              result ? json_object_get_string_member_with_default (result, "text", "Done.")
                     : "Done.");
      return LARES_EXIT_OK;
    }
  if (strcmp (st, "rejected") == 0)
    {
      printf ("Rejected %" G_GINT64_FORMAT ": %s\n", id,
              json_object_get_string_member_with_default (a, "summary", ""));
      return LARES_EXIT_OK;
    }
  fprintf (stderr, "lares %s: approval %" G_GINT64_FORMAT " %s: %s\n", verb, id, st,
           json_object_get_string_member_with_default (a, "error", "no reason given"));
  return LARES_EXIT_FAILURE;
}

static int
approve_run (LaresCliClient *c, int argc, char **argv)
{
  return decide (c, argc, argv, TRUE);
}

static int
reject_run (LaresCliClient *c, int argc, char **argv)
{
  return decide (c, argc, argv, FALSE);
}

int
lares_cmd_approve (int argc, char **argv)
{
  return with_client (argc, argv, approve_run);
}

int
lares_cmd_reject (int argc, char **argv)
{
  return with_client (argc, argv, reject_run);
}
