/* cmd-serve.c — `lares serve`: run the daemon.
 *
 * DESIGN: start-up is synchronous and ordered (config, log, lock, store,
 * first user, listen), then everything happens on the main loop.  The one
 * slow step of a first start, hashing the new admin's password (Argon2id,
 * ~20 ms), runs on a thread while the store is created and the server set
 * up; it is joined before the admin is written and the port announced.  SIGTERM
 * and SIGINT start a bounded graceful shutdown: stop accepting, close
 * WebSockets with 1001, let in-flight requests finish, then close the store,
 * which drains its queues and checkpoints the WAL.  A second signal during
 * shutdown exits at once (the store is still consistent: every write is a
 * committed transaction).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lares-auth.h"
#include "lares-bus.h"
#include "lares-cli.h"
#include "lares-config.h"
#include "lares-datadir.h"
#include "lares-log.h"
#include "lares-server.h"
#include "lares-store.h"
#include "lares-credentials.h"
#include "lares-users.h"
#include "lares-util.h"

typedef struct
{
  GMainLoop *loop;
  LaresServer *server;
  gboolean stopping;
  gboolean clean;
} ServeState;

typedef struct
{
  int64_t user_id;
  gboolean created;
  char *hash; /* for the admin, should this start create it */
} FirstUser;

/* The first admin's password, hashed on its own thread. */
typedef struct
{
  char *password; /* (owned) */
  char *hash;     /* (owned) out */
  GError *error;  /* out */
  GThread *thread;
} AdminHash;

static gpointer
admin_hash_run (gpointer data)
{
  AdminHash *h = data;

  h->hash = lares_password_hash (h->password, &h->error);
  return NULL;
}

static void
admin_hash_start (AdminHash *h)
{
  if (h->thread != NULL)
    return;
  h->password = lares_password_generate ();
  h->thread = g_thread_new ("lares-hash", admin_hash_run, h);
}

/* Wait for the hash, if one was started.  FALSE with @error if it failed. */
static gboolean
admin_hash_join (AdminHash *h, GError **error)
{
  if (h->thread == NULL)
    return TRUE;
  g_thread_join (g_steal_pointer (&h->thread));
  if (h->hash == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&h->error));
      return FALSE;
    }
  return TRUE;
}

static void
admin_hash_clear (AdminHash *h)
{
  if (h->thread)
    g_thread_join (g_steal_pointer (&h->thread));
  if (h->password)
    memset (h->password, 0, strlen (h->password));
  g_clear_pointer (&h->password, g_free);
  g_clear_pointer (&h->hash, g_free);
  g_clear_error (&h->error);
}

static gboolean
count_admins (sqlite3 *db, gpointer data, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_prepare (db, "SELECT count(*) FROM users WHERE role = 'admin'", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    return lares_sql_throw (db, rc, error);
  *(int64_t *)data = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

static gboolean
ensure_first_user (sqlite3 *db, gpointer data, GError **error)
{
  FirstUser *fu = data;
  int64_t now = g_get_real_time () / 1000;

  if (!lares_users_ensure_admin (db, now, &fu->user_id, &fu->created, error))
    return FALSE;
  if (!fu->created)
    return TRUE;
  return lares_users_set_password (db, fu->user_id, fu->hash, now, 0, error) &&
         lares_audit_append (db, now, fu->user_id, "user_created", "local", "{\"name\":\"admin\"}",
                             error);
}

/* Write the first admin's password to a 0600 file in the data directory. */
static gboolean
save_admin_password (const char *data_dir, const char *password, char **out_path, GError **error)
{
  g_autofree char *path = g_build_filename (data_dir, "admin-password", NULL);
  g_autofree char *text = g_strconcat (password, "\n", NULL);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  if (fd < 0 || write (fd, text, strlen (text)) != (ssize_t)strlen (text) || fsync (fd) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "cannot write '%s': %s", path,
                   g_strerror (errno));
      if (fd >= 0)
        close (fd);
      return FALSE;
    }
  close (fd);
  *out_path = g_steal_pointer (&path);
  return TRUE;
}

static void
shutdown_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ServeState *st = user_data;

  st->clean = lares_server_shutdown_finish (st->server, result, NULL);
  g_main_loop_quit (st->loop);
}

static gboolean
on_signal (gpointer user_data)
{
  ServeState *st = user_data;

  if (st->stopping)
    {
      g_warning ("second signal: exiting now");
      _exit (1);
    }
  st->stopping = TRUE;
  g_message ("stopping: finishing in-flight work");
  lares_server_shutdown_async (st->server, shutdown_done, st);
  return G_SOURCE_CONTINUE;
}

int
lares_cmd_serve (int argc, char **argv)
{
  LaresCliConfigOptions copts = { 0 };
  g_autofree char *listen = NULL;
  int port = -1;
  gboolean print_config = FALSE;
  GOptionEntry entries[] = { { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
                               "Address to listen on (server.listen)", "ADDR" },
                             { "port", 'p', 0, G_OPTION_ARG_INT, &port,
                               "Port to listen on, 0 for any (server.port)", "PORT" },
                             { "print-config", 0, 0, G_OPTION_ARG_NONE, &print_config,
                               "Print the effective configuration (secrets redacted) and exit",
                               NULL },
                             G_OPTION_ENTRY_NULL };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- run the lares daemon");
  g_autoptr (GStrvBuilder) extra = g_strv_builder_new ();
  g_auto (GStrv) overrides = NULL;
  g_autoptr (LaresConfig) cfg = NULL;
  g_autoptr (LaresDataDir) dir = NULL;
  g_autoptr (LaresStore) store = NULL;
  g_autoptr (LaresBus) bus = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  LaresStoreOptions sopts;
  FirstUser fu = { 0 };
  AdminHash ah = { 0 };
  g_autofree char *db_path = NULL;
  int64_t admins = 0;
  ServeState st = { 0 };
  int64_t t0 = g_get_monotonic_time ();
  int rc;

  g_option_context_add_main_entries (ctx, entries, NULL);
  lares_cli_add_config_options (ctx, &copts);
  g_option_context_set_description (
      ctx, "Settings come from defaults, then lares.conf, then LARES_* variables, then flags.\n"
           "Run 'lares config' for every key with its default.\n");
  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    goto out;
  if (argc > 1)
    {
      fprintf (stderr, "lares serve: unexpected argument '%s'\n", argv[1]);
      rc = LARES_EXIT_USAGE;
      goto out;
    }
  if (listen)
    {
      g_autofree char *kv = g_strconcat ("server.listen=", listen, NULL);
      g_strv_builder_add (extra, kv);
    }
  if (port >= 0)
    {
      g_autofree char *kv = g_strdup_printf ("server.port=%d", port);
      g_strv_builder_add (extra, kv);
    }
  overrides = g_strv_builder_end (extra);
  cfg = lares_cli_load_config (&copts, overrides);
  if (cfg == NULL)
    {
      rc = LARES_EXIT_FAILURE;
      goto out;
    }
  if (print_config)
    {
      g_autofree char *dump = lares_config_dump (cfg);
      fputs (dump, stdout);
      rc = LARES_EXIT_OK;
      goto out;
    }

  lares_log_init (cfg->log_level);
  signal (SIGPIPE, SIG_IGN);
  lares_raise_fd_limit ();

  dir = lares_data_dir_acquire (cfg->data_dir, &error);
  if (dir == NULL)
    {
      g_printerr ("lares: %s\n", error->message);
      rc = LARES_EXIT_FAILURE;
      goto out;
    }
  sopts.busy_timeout_ms = cfg->busy_timeout_ms;
  sopts.n_readers = 2;
  if (!lares_auth_init (&error))
    {
      g_printerr ("lares: %s\n", error->message);
      rc = LARES_EXIT_FAILURE;
      goto out;
    }
  /* A new installation will need its first admin: start hashing now. */
  db_path = lares_store_db_path (cfg->data_dir);
  if (!g_file_test (db_path, G_FILE_TEST_EXISTS))
    admin_hash_start (&ah);
  store = lares_store_open (cfg->data_dir, &sopts, &error);
  if (store == NULL)
    {
      g_printerr ("lares: cannot open the store: %s\n", error->message);
      rc = LARES_EXIT_FAILURE;
      goto out;
    }
  /* Only a first start pays for hashing the new admin's password. */
  if (!lares_store_write_sync (store, count_admins, &admins, &error))
    {
      g_printerr ("lares: cannot read the store: %s\n", error->message);
      rc = LARES_EXIT_FAILURE;
      goto out;
    }
  if (admins == 0)
    admin_hash_start (&ah);

  bus = lares_bus_new ();
  st.server = lares_server_new (cfg, store, bus, &error);
  if (st.server == NULL)
    {
      g_printerr ("lares: %s\n", error->message);
      rc = LARES_EXIT_FAILURE;
      goto out;
    }
  if (admins == 0)
    {
      if (admin_hash_join (&ah, &error))
        fu.hash = ah.hash;
      if (fu.hash == NULL || !lares_store_write_sync (store, ensure_first_user, &fu, &error))
        {
          g_printerr ("lares: cannot set up the first user: %s\n", error->message);
          rc = LARES_EXIT_FAILURE;
          goto out;
        }
    }
  if (fu.created)
    {
      g_autofree char *path = NULL;
      if (!save_admin_password (cfg->data_dir, ah.password, &path, &error))
        g_warning ("%s", error->message);
      /* Shown once, on stdout only (never in the log). */
      printf ("lares: created user 'admin' with password %s\n", ah.password);
      if (path)
        printf ("lares: the password is also in %s (mode 0600)\n", path);
      g_message ("created the first user 'admin'");
    }
  if (!lares_server_listen (st.server, &error))
    {
      g_printerr ("lares: %s\n", error->message);
      rc = LARES_EXIT_FAILURE;
      goto out;
    }
  loop = g_main_loop_new (NULL, FALSE);
  st.loop = loop;
  g_unix_signal_add (SIGTERM, on_signal, &st);
  g_unix_signal_add (SIGINT, on_signal, &st);

  /* One machine-readable line on stdout: tests and scripts wait for it. */
  if (strchr (cfg->listen, ':') != NULL)
    printf ("lares: listening on %s://[%s]:%u/\n", *cfg->tls_cert ? "https" : "http", cfg->listen,
            lares_server_get_port (st.server));
  else
    printf ("lares: listening on %s://%s:%u/\n", *cfg->tls_cert ? "https" : "http", cfg->listen,
            lares_server_get_port (st.server));
  fflush (stdout);
  g_message ("ready in %.1f ms (data dir '%s', pid %d)",
             (double)(g_get_monotonic_time () - t0) / 1000.0, cfg->data_dir, (int)getpid ());

  g_main_loop_run (loop);

  g_clear_pointer (&st.server, lares_server_free);
  lares_store_close (g_steal_pointer (&store));
  g_message ("stopped%s", st.clean ? "" : " (some work was cut short by the timeout)");
  rc = LARES_EXIT_OK;
out:
  g_clear_pointer (&st.server, lares_server_free);
  admin_hash_clear (&ah);
  lares_cli_config_options_clear (&copts);
  return rc;
}
