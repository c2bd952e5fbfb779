/* cmd-token.c — `lares token create|list|revoke`: API tokens for scripts
 * and the CLI.
 *
 * Like `lares user`, works on the data directory directly.  A new token is
 * printed once; only its digest is stored.
 */
#include "config.h"

#include <stdio.h>

#include "lares-auth.h"
#include "lares-cli.h"
#include "lares-credentials.h"
#include "lares-store.h"
#include "lares-users.h"

typedef struct
{
  const char *user_name;
  const char *name;
  int64_t days;
  int64_t revoke_id;
  char secret[LARES_SECRET_TEXT];
  uint8_t digest[LARES_DIGEST_LEN];
  int64_t id;
  JsonNode *list;
} TokenJob;

/* The named user, or the first admin when no name was given. */
static LaresUser *
find_user (sqlite3 *db, const char *name, GError **error)
{
  g_autoptr (GPtrArray) users = NULL;

  if (name)
    return lares_users_find (db, name, error);
  users = lares_users_list (db, error);
  if (users == NULL)
    return NULL;
  for (unsigned i = 0; i < users->len; i++)
    {
      LaresUser *u = users->pdata[i];
      if (g_str_equal (u->role, "admin"))
        return g_ptr_array_steal_index (users, i);
    }
  g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND,
               "no admin yet; start 'lares serve' once");
  return NULL;
}

static gboolean
create_run (sqlite3 *db, gpointer data, GError **error)
{
  TokenJob *job = data;
  g_autoptr (LaresUser) user = find_user (db, job->user_name, error);
  int64_t now = g_get_real_time () / 1000;

  if (user == NULL)
    return FALSE;
  job->user_name = NULL;
  return lares_tokens_insert (db, user->id, job->name, job->digest, now,
                              job->days > 0 ? now + job->days * 86400 * 1000 : 0, &job->id,
                              error) &&
         lares_audit_append (db, now, user->id, "token_created", "cli", NULL, error);
}

static gboolean
list_run (sqlite3 *db, gpointer data, GError **error)
{
  TokenJob *job = data;
  g_autoptr (LaresUser) user = find_user (db, job->user_name, error);

  if (user == NULL)
    return FALSE;
  job->list = lares_tokens_list (db, user->id, error);
  return job->list != NULL;
}

static gboolean
revoke_run (sqlite3 *db, gpointer data, GError **error)
{
  TokenJob *job = data;
  g_autoptr (LaresUser) user = find_user (db, job->user_name, error);
  int64_t now = g_get_real_time () / 1000;

  if (user == NULL)
    return FALSE;
  return lares_tokens_revoke (db, user->id, job->revoke_id, now, error) &&
         lares_audit_append (db, now, user->id, "token_revoked", "cli", NULL, error);
}

int
lares_cmd_token (int argc, char **argv)
{
  LaresCliConfigOptions copts = { 0 };
  g_autofree char *user_name = NULL, *name = NULL;
  int days = 0;
  GOptionEntry entries[] = {
    { "user", 'u', 0, G_OPTION_ARG_STRING, &user_name, "Whose token (default: the first admin)",
      "NAME" },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name, "A label for the token (default: cli)", "LABEL" },
    { "days", 0, 0, G_OPTION_ARG_INT, &days, "With create: expire after DAYS days", "DAYS" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("create | list | revoke ID");
  g_autoptr (LaresStore) store = NULL;
  g_autoptr (GError) error = NULL;
  TokenJob job = { 0 };
  const char *verb;
  int rc;

  g_option_context_add_main_entries (ctx, entries, NULL);
  lares_cli_add_config_options (ctx, &copts);
  g_option_context_set_summary (ctx, "Manage API tokens (sent as 'Authorization: Bearer TOKEN').");
  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    goto out;
  verb = argc > 1 ? argv[1] : "";
  if ((!((g_str_equal (verb, "create") || g_str_equal (verb, "list")) && argc == 2) &&
       !(g_str_equal (verb, "revoke") && argc == 3 &&
         (job.revoke_id = g_ascii_strtoll (argv[2], NULL, 10)) > 0)) ||
      days < 0 || days > 3650)
    {
      fprintf (stderr, "lares token: expected 'create', 'list' or 'revoke ID' "
                       "(see 'lares token --help')\n");
      rc = LARES_EXIT_USAGE;
      goto out;
    }
  store = lares_cli_open_store (&copts);
  if (store == NULL)
    {
      rc = LARES_EXIT_FAILURE;
      goto out;
    }
  job.user_name = user_name;
  job.name = name ? name : "cli";
  job.days = days;
  if (g_str_equal (verb, "create"))
    {
      lares_secret_new (TRUE, job.secret, job.digest);
      if (!lares_store_write_sync (store, create_run, &job, &error))
        goto fail;
      /* Only the token on stdout, so `$(lares token create)` works. */
      printf ("%s\n", job.secret);
      memset (job.secret, 0, sizeof job.secret);
    }
  else if (g_str_equal (verb, "list"))
    {
      g_autofree char *text = NULL;
      if (!lares_store_write_sync (store, list_run, &job, &error))
        goto fail;
      text = json_to_string (job.list, TRUE);
      printf ("%s\n", text);
      json_node_unref (job.list);
    }
  else
    {
      if (!lares_store_write_sync (store, revoke_run, &job, &error))
        goto fail;
      printf ("revoked token %" G_GINT64_FORMAT "\n", job.revoke_id);
    }
  rc = LARES_EXIT_OK;
  goto out;
fail:
  fprintf (stderr, "lares token: %s\n", error->message);
  rc = LARES_EXIT_FAILURE;
out:
  lares_cli_config_options_clear (&copts);
  return rc;
}
