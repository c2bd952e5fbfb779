/* cmd-remind.c — `lares remind "…"`: a reminder in plain words, through the
 * running daemon's chat (POST /api/v1/chat), so the sentence is read by
 * the same intent engine as in any chat, in the user's time zone as the
 * daemon knows it, and the reminder goes through the same tool, policy and
 * audit.  Prints what was scheduled.
 *
 * "call mom at 5pm" is sent as "remind me call mom at 5pm"; a sentence
 * that already says how ("remind me …", "set an alarm …", "wake me up
 * …", "set a timer …") is sent as it is.  Exit 0 when a reminder, alarm or
 * timer was set, 1 when the daemon understood something else or nothing
 * (its answer goes to stderr), 2 for usage errors.
 */
#include "config.h"

#include "lares-cli.h"
#include "lares-util.h"

#include <stdio.h>
#include <string.h>

static gboolean
says_how (const char *text)
{
  g_autofree char *lower = g_utf8_strdown (text, -1);
  static const char *const starts[] = { "remind", "set ", "wake " };

  for (size_t i = 0; i < G_N_ELEMENTS (starts); i++)
    if (g_str_has_prefix (lower, starts[i]))
      return TRUE;
  return strstr (lower, "remind me") != NULL;
}

static gboolean
scheduled (JsonObject *turn)
{
  JsonArray *calls = json_object_get_array_member (turn, "tool_calls");
  static const char *const tools[] = { "reminder.create", "alarm.set", "timer.start" };

  for (unsigned i = 0; calls && i < json_array_get_length (calls); i++)
    {
      JsonObject *c = json_array_get_object_element (calls, i);
      const char *tool = json_object_get_string_member_with_default (c, "tool", "");
      const char *status = json_object_get_string_member_with_default (c, "status", "");

      for (size_t t = 0; t < G_N_ELEMENTS (tools); t++)
        if (strcmp (tool, tools[t]) == 0 && strcmp (status, "done") == 0)
          return TRUE;
    }
  return FALSE;
}

static int
remind_run (LaresCliClient *c, int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print the daemon's JSON answer", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx =
      g_option_context_new ("TEXT - set a reminder in plain words, e.g. \"call mom at 5pm\"");
  g_autoptr (GString) body = g_string_new ("{\"text\":");
  g_autoptr (JsonNode) answer = NULL;
  g_autofree char *text = NULL, *sentence = NULL;
  JsonObject *turn;
  unsigned status;
  int rc;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
                                    "Examples:\n  lares remind \"call mom tomorrow at 5pm\"\n"
                                    "  lares remind \"in 20 minutes to check the oven\"\n"
                                    "  lares remind \"every monday at 9 to water the plants\"\n"
                                    "  lares remind \"set an alarm for 7am\"\n");
  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    return rc;
  if (argc < 2)
    {
      fprintf (stderr, "lares remind: say what to be reminded of, and when\n");
      return LARES_EXIT_USAGE;
    }
  text = g_strstrip (g_strjoinv (" ", argv + 1));
  if (*text == '\0' || !g_utf8_validate (text, -1, NULL))
    {
      fprintf (stderr, "lares remind: say what to be reminded of, and when\n");
      return LARES_EXIT_USAGE;
    }
  {
    LaresCliConfigOptions copts = { 0 };
    gboolean ok = lares_cli_client_init (c, &copts);

    lares_cli_config_options_clear (&copts);
    if (!ok)
      return LARES_EXIT_FAILURE;
  }
  sentence = says_how (text) ? g_strdup (text) : g_strconcat ("remind me ", text, NULL);
  lares_json_append_string (body, sentence, -1);
  g_string_append_c (body, '}');
  answer = lares_cli_client_call (c, "POST", "/api/v1/chat", body->str, &status);
  if (status != 200 || answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    {
      lares_cli_client_report (status, answer);
      return status == 400 ? LARES_EXIT_USAGE : LARES_EXIT_FAILURE;
    }
  turn = json_node_get_object (answer);
  if (json)
    {
      g_autofree char *out = json_to_string (answer, TRUE);
      printf ("%s\n", out);
      return scheduled (turn) ? LARES_EXIT_OK : LARES_EXIT_FAILURE;
    }
  if (!scheduled (turn))
    {
      fprintf (stderr, "lares remind: nothing was scheduled. %s\n",
               json_object_get_string_member_with_default (turn, "reply", ""));
      return LARES_EXIT_FAILURE;
    }
  printf ("%s\n", json_object_get_string_member_with_default (turn, "reply", "Done."));
  return LARES_EXIT_OK;
}

int
lares_cmd_remind (int argc, char **argv)
{
  LaresCliClient c = { 0 };
  /* The daemon is reached once the command line is known to be good. */
  int rc = remind_run (&c, argc, argv);

  lares_cli_client_clear (&c);
  return rc;
}
