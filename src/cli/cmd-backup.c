/* cmd-backup.c — `lares backup FILE`: an online copy of the database.
 *
 * Uses SQLite's backup API on a read-only connection, so it is safe while
 * the daemon runs and writes; the result is a standalone database file that
 * the sqlite3 shell (or `lares serve -d` on a directory holding it as
 * lares.db) can open.
 */
#include "config.h"

#include <stdio.h>

#include "lares-cli.h"
#include "lares-store.h"

int
lares_cmd_backup (int argc, char **argv)
{
  LaresCliConfigOptions copts = { 0 };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("FILE - copy the database to FILE");
  g_autoptr (LaresConfig) cfg = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *db_path = NULL;
  int rc;

  lares_cli_add_config_options (ctx, &copts);
  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    goto out;
  if (argc != 2)
    {
      fprintf (stderr, "lares backup: expected one FILE argument (see 'lares backup --help')\n");
      rc = LARES_EXIT_USAGE;
      goto out;
    }
  cfg = lares_cli_load_config (&copts, NULL);
  if (cfg == NULL)
    {
      rc = LARES_EXIT_FAILURE;
      goto out;
    }
  db_path = lares_store_db_path (cfg->data_dir);
  if (!lares_store_backup (db_path, argv[1], &error))
    {
      fprintf (stderr, "lares backup: %s\n", error->message);
      rc = LARES_EXIT_FAILURE;
      goto out;
    }
  printf ("backed up '%s' to '%s'\n", db_path, argv[1]);
  rc = LARES_EXIT_OK;
out:
  lares_cli_config_options_clear (&copts);
  return rc;
}
