/* cmd-user.c — `lares user add|passwd|list|del`: manage accounts.
 *
 * Works on the data directory directly (whoever can read it owns the data
 * anyway), so it works whether or not the daemon runs: SQLite's WAL lets
 * both write safely, and the daemon sees changes on its next lookup.
 * Passwords are read from stdin with --password-stdin, or generated and
 * printed once.
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
  const char *name;
  const char *role;
  char *hash;
  int64_t id;
} UserJob;

static gboolean
add_run (sqlite3 *db, gpointer data, GError **error)
{
  UserJob *job = data;
  g_autofree char *detail = g_strdup_printf ("{\"name\":\"%s\"}", job->name);

  return lares_users_insert (db, job->name, job->role, job->hash, g_get_real_time () / 1000,
                             &job->id, error) &&
         lares_audit_append (db, g_get_real_time () / 1000, job->id, "user_created", "cli", detail,
                             error);
}

static gboolean
passwd_run (sqlite3 *db, gpointer data, GError **error)
{
  UserJob *job = data;
  g_autoptr (LaresUser) user = lares_users_find (db, job->name, error);

  if (user == NULL)
    return FALSE;
  job->id = user->id;
  return lares_users_set_password (db, user->id, job->hash, g_get_real_time () / 1000, 0, error) &&
         lares_audit_append (db, g_get_real_time () / 1000, user->id, "password_changed", "cli",
                             NULL, error);
}

static gboolean
del_run (sqlite3 *db, gpointer data, GError **error)
{
  UserJob *job = data;
  g_autoptr (LaresUser) user = lares_users_find (db, job->name, error);
  g_autofree char *detail = NULL;

  if (user == NULL)
    return FALSE;
  detail = g_strdup_printf ("{\"name\":\"%s\"}", user->name);
  return lares_users_delete (db, user->id, error) &&
         lares_audit_append (db, g_get_real_time () / 1000, 0, "user_deleted", "cli", detail,
                             error);
}

typedef struct
{
  GPtrArray *users;
} ListJob;

static gboolean
list_run (sqlite3 *db, gpointer data, GError **error)
{
  ListJob *job = data;

  job->users = lares_users_list (db, error);
  return job->users != NULL;
}

/* One password: from stdin (first line) or generated.  (transfer full) */
static char *
obtain_password (gboolean from_stdin, gboolean *generated, GError **error)
{
  char line[LARES_PASSWORD_MAX + 2];
  const char *why;
  size_t len;

  *generated = FALSE;
  if (!from_stdin)
    {
      *generated = TRUE;
      return lares_password_generate ();
    }
  if (fgets (line, sizeof line, stdin) == NULL)
    {
      g_set_error (error, LARES_AUTH_ERROR, LARES_AUTH_ERROR_WEAK_PASSWORD,
                   "no password on standard input");
      return NULL;
    }
  len = strcspn (line, "\r\n");
  line[len] = '\0';
  if ((why = lares_password_check_policy (line)) != NULL)
    {
      g_set_error (error, LARES_AUTH_ERROR, LARES_AUTH_ERROR_WEAK_PASSWORD, "%s", why);
      return NULL;
    }
  return g_strdup (line);
}

int
lares_cmd_user (int argc, char **argv)
{
  LaresCliConfigOptions copts = { 0 };
  gboolean from_stdin = FALSE, admin = FALSE;
  GOptionEntry entries[] = {
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &from_stdin,
      "Read the password from standard input (else one is generated and printed)", NULL },
    { "admin", 0, 0, G_OPTION_ARG_NONE, &admin, "With add: make the user an admin", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("add|passwd|del NAME | list");
  g_autoptr (LaresStore) store = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *password = NULL;
  UserJob job = { 0 };
  const char *verb;
  gboolean generated = FALSE;
  int rc;

  g_option_context_add_main_entries (ctx, entries, NULL);
  lares_cli_add_config_options (ctx, &copts);
  g_option_context_set_summary (ctx, "Manage user accounts in the data directory.");
  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    goto out;
  verb = argc > 1 ? argv[1] : "";
  if (!(g_str_equal (verb, "list") && argc == 2) &&
      !((g_str_equal (verb, "add") || g_str_equal (verb, "passwd") || g_str_equal (verb, "del")) &&
        argc == 3))
    {
      fprintf (stderr, "lares user: expected 'add NAME', 'passwd NAME', 'del NAME' or 'list' "
                       "(see 'lares user --help')\n");
      rc = LARES_EXIT_USAGE;
      goto out;
    }
  store = lares_cli_open_store (&copts);
  if (store == NULL)
    {
      rc = LARES_EXIT_FAILURE;
      goto out;
    }
  job.name = argc > 2 ? argv[2] : NULL;

  if (g_str_equal (verb, "list"))
    {
      ListJob lj = { 0 };
      if (!lares_store_write_sync (store, list_run, &lj, &error))
        goto fail;
      printf ("%-6s %-24s %s\n", "ID", "NAME", "ROLE");
      for (unsigned i = 0; i < lj.users->len; i++)
        {
          LaresUser *u = lj.users->pdata[i];
          printf ("%-6" G_GINT64_FORMAT " %-24s %s\n", u->id, u->name, u->role);
        }
      g_ptr_array_unref (lj.users);
      rc = LARES_EXIT_OK;
      goto out;
    }
  if (g_str_equal (verb, "del"))
    {
      if (!lares_store_write_sync (store, del_run, &job, &error))
        goto fail;
      printf ("deleted user '%s'\n", job.name);
      rc = LARES_EXIT_OK;
      goto out;
    }
  password = obtain_password (from_stdin, &generated, &error);
  if (password == NULL)
    goto fail;
  job.role = admin ? "admin" : "user";
  job.hash = lares_password_hash (password, &error);
  if (job.hash == NULL ||
      !lares_store_write_sync (store, g_str_equal (verb, "add") ? add_run : passwd_run, &job,
                               &error))
    goto fail;
  printf ("%s user '%s'%s%s\n", g_str_equal (verb, "add") ? "created" : "changed the password of",
          job.name, generated ? "; password: " : "", generated ? password : "");
  rc = LARES_EXIT_OK;
  goto out;

fail:
  if (g_error_matches (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT))
    fprintf (stderr, "lares user: %s\n",
             g_str_equal (verb, "add") ? "that name is taken" : error->message);
  else
    fprintf (stderr, "lares user: %s\n", error ? error->message : "failed");
  rc = LARES_EXIT_FAILURE;
out:
  g_free (job.hash);
  if (password)
    memset (password, 0, strlen (password));
  lares_cli_config_options_clear (&copts);
  return rc;
}
