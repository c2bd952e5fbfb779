/* lares-cli.h — the subcommands of the one `lares` binary.
 *
 * Each command lives in cmd-<verb>.c, parses its own options with
 * GOptionContext (so --help works everywhere) and returns the process exit
 * code: 0 ok, 1 failure, 2 usage error.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "lares-config.h"
#include "lares-store.h"

G_BEGIN_DECLS

enum
{
  LARES_EXIT_OK = 0,
  LARES_EXIT_FAILURE = 1,
  LARES_EXIT_USAGE = 2,
};

int lares_cmd_serve (int argc, char **argv);
int lares_cmd_version (int argc, char **argv);
int lares_cmd_doctor (int argc, char **argv);
int lares_cmd_backup (int argc, char **argv);
int lares_cmd_config (int argc, char **argv);
int lares_cmd_user (int argc, char **argv);
int lares_cmd_token (int argc, char **argv);
int lares_cmd_intent (int argc, char **argv);
int lares_cmd_chat (int argc, char **argv);
int lares_cmd_ask (int argc, char **argv);
int lares_cmd_note (int argc, char **argv);
int lares_cmd_task (int argc, char **argv);
int lares_cmd_remind (int argc, char **argv);
int lares_cmd_approvals (int argc, char **argv);
int lares_cmd_approve (int argc, char **argv);
int lares_cmd_reject (int argc, char **argv);
int lares_cmd_calendar (int argc, char **argv);

/* Options every command that reads the configuration accepts. */
typedef struct
{
  char *config_path;
  char *data_dir;
  char **set; /* KEY=VALUE */
} LaresCliConfigOptions;

/* Add -c/--config, -d/--data-dir and --set to @ctx's main options. */
void lares_cli_add_config_options (GOptionContext *ctx, LaresCliConfigOptions *opts);
void lares_cli_config_options_clear (LaresCliConfigOptions *opts);

/* Parse @argv with @ctx; prints the error and usage on failure.  Returns
 * -1 on success or the exit code to return. */
int lares_cli_parse (GOptionContext *ctx, int *argc, char ***argv);

/* The API token the CLI uses to talk to a daemon: $LARES_TOKEN, else the
 * first line of $XDG_CONFIG_HOME/lares/token (~/.config/lares/token),
 * which must not be readable by others.  NULL with @error unset when there
 * is none.  (transfer full) */
char *lares_cli_token (GError **error);

/* For commands that work on the data directory directly: load the
 * configuration, initialize the auth library and open (and migrate) the
 * store.  Prints what went wrong and returns NULL on failure. */
LaresStore *lares_cli_open_store (LaresCliConfigOptions *opts);

/* Load the configuration from the options; prints errors. */
LaresConfig *lares_cli_load_config (LaresCliConfigOptions *opts, char **extra_overrides);

/* The running daemon's base URL ("http://127.0.0.1:8765") from
 * server.listen/port/tls_cert; a wildcard listen maps to loopback.
 * (transfer full) */
char *lares_cli_daemon_url (const LaresConfig *cfg);

/* Where and as whom to reach the running daemon: the base URL from
 * LARES_URL, else from the configuration (lares_cli_daemon_url), and the
 * API token (lares_cli_token).  Prints what is missing and returns FALSE.
 * @base, @token: OUT (transfer full). */
gboolean lares_cli_daemon_target (LaresCliConfigOptions *opts, char **base, char **token);
/* A REST client of the running daemon: its URL ($LARES_URL, else from the
 * configuration) and the CLI's token. */
typedef struct
{
  gpointer session; /* SoupSession (owned) */
  char *base;       /* "http://127.0.0.1:8765" */
  char *token;
} LaresCliClient;

/* Prints what is missing and returns FALSE on failure. */
gboolean lares_cli_client_init (LaresCliClient *c, LaresCliConfigOptions *opts);
void lares_cli_client_clear (LaresCliClient *c);
/* One request with an optional JSON @body; blocks.  Returns the parsed
 * JSON answer (NULL for an empty or non-JSON one) and the status in
 * @status (0 when the daemon could not be reached, after printing why).
 * (transfer full) */
JsonNode *lares_cli_client_call (LaresCliClient *c, const char *method, const char *path,
                                 const char *body, unsigned *status);
/* The same with any body and content type; returns the raw answer
 * (NULL when the daemon could not be reached, after printing why).
 * (transfer full) */
GBytes *lares_cli_client_send (LaresCliClient *c, const char *method, const char *path,
                               const char *content_type, GBytes *body, unsigned *status);
/* Print the daemon's {"error":{...}} message (or the status) to stderr. */
void lares_cli_client_report (unsigned status, JsonNode *answer);

G_END_DECLS
