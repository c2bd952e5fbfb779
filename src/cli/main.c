/* main.c — the `lares` binary: dispatch to a subcommand.
 *
 * DESIGN: a table of verbs; `lares`, `lares help` and `lares --help` print
 * it.  Unknown verbs are usage errors (exit 2).
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>

#include "lares-cli.h"

typedef struct
{
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
  { "serve", lares_cmd_serve, "run the daemon (HTTP API, WebSocket, web UI)" },
  { "doctor", lares_cmd_doctor, "check configuration, data directory, store, clock and LLM" },
  { "user", lares_cmd_user, "add, list, delete users or change a password" },
  { "token", lares_cmd_token, "create, list or revoke API tokens" },
  { "chat", lares_cmd_chat, "talk with the running daemon (interactive, streaming)" },
  { "ask", lares_cmd_ask, "ask the running daemon once and print the answer" },
  { "note", lares_cmd_note, "add, search or list notes in the running daemon" },
  { "task", lares_cmd_task, "add, list or complete tasks" },
  { "remind", lares_cmd_remind, "set a reminder in plain words (\"call mom at 5pm\")" },
  { "approvals", lares_cmd_approvals, "list the actions waiting for your approval" },
  { "approve", lares_cmd_approve, "approve a waiting action (it runs then)" },
  { "reject", lares_cmd_reject, "reject a waiting action (it never runs)" },
  { "calendar", lares_cmd_calendar, "list events, import or export iCalendar" },
  { "intent", lares_cmd_intent, "match a sentence with the intent engine, print it as JSON" },
  { "backup", lares_cmd_backup, "copy the database to FILE while lares runs" },
  { "config", lares_cmd_config, "print the example configuration file" },
  { "version", lares_cmd_version, "print version information" },
};

static void
usage (FILE *out)
{
  fprintf (out, "Usage: lares COMMAND [OPTIONS]\n\n"
                "lares is a local-first personal assistant hub.\n\nCommands:\n");
  for (size_t i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nRun 'lares COMMAND --help' for the options of a command.\n");
}

int
main (int argc, char **argv)
{
  const char *verb;

  setlocale (LC_ALL, "");
  if (argc < 2)
    {
      usage (stderr);
      return LARES_EXIT_USAGE;
    }
  verb = argv[1];
  if (g_strcmp0 (verb, "help") == 0 || g_strcmp0 (verb, "--help") == 0 ||
      g_strcmp0 (verb, "-h") == 0)
    {
      usage (stdout);
      return LARES_EXIT_OK;
    }
  if (g_strcmp0 (verb, "--version") == 0)
    verb = "version";
  for (size_t i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_strcmp0 (verb, commands[i].name) == 0)
      {
        g_set_prgname (commands[i].name);
        return commands[i].run (argc - 1, argv + 1);
      }
  fprintf (stderr, "lares: unknown command '%s'\n\n", verb);
  usage (stderr);
  return LARES_EXIT_USAGE;
}
