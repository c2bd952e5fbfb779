/* test-cli.c — the `lares` command line: help, exit codes, configuration
 * errors and redaction, doctor, and the example file staying in sync with
 * the configuration table. */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>

#include "lares-test.h"

static void
test_help_everywhere (void)
{
  const char *verbs[] = { "serve",   "doctor", "backup", "config",
                          "version", "user",   "token",  "intent" };

  for (size_t i = 0; i < G_N_ELEMENTS (verbs); i++)
    {
      const char *argv[] = { verbs[i], "--help", NULL };
      g_autofree char *out = NULL, *err = NULL;

      g_assert_cmpint (lares_test_run (argv, &out, &err), ==, 0);
      g_assert_nonnull (strstr (out, "Usage:"));
    }
  {
    const char *argv[] = { "--help", NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint (lares_test_run (argv, &out, &err), ==, 0);
    g_assert_nonnull (strstr (out, "serve"));
  }
}

static void
test_usage_errors (void)
{
  const char *cases[][4] = {
    { "frobnicate", NULL },
    { "serve", "--no-such-flag", NULL },
    { "backup", NULL },
    { "serve", "extra-arg", NULL },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = NULL, *err = NULL;
      g_assert_cmpint (lares_test_run (cases[i], &out, &err), ==, 2);
      g_assert_cmpuint (strlen (err), >, 0);
    }
  {
    const char *argv[] = { NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint (lares_test_run (argv, &out, &err), ==, 2);
  }
}

static void
test_bad_config_values (void)
{
  struct
  {
    const char *flag;
    const char *key;
  } cases[] = {
    { "server.port=99999", "server.port" },
    { "server.port=eighty", "server.port" },
    { "server.listen=not-an-ip", "server.listen" },
    { "server.max_body=lots", "server.max_body" },
    { "server.shutdown_timeout=-1s", "server.shutdown_timeout" },
    { "log.level=chatty", "log.level" },
    { "llm.provider=skynet", "llm.provider" },
    { "llm.base_url=ftp://x", "llm.base_url" },
    { "no.such_key=1", "no.such_key" },
    /* Reachable from other machines without an allowlist: refused. */
    { "server.listen=0.0.0.0", "server.allow_from" },
    { "server.allow_from=10.0.0.0/33", "server.allow_from" },
    { "server.tls_cert=/etc/ssl/x.pem", "server.tls_key" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *argv[] = { "serve", "--print-config", "--set", cases[i].flag, NULL };
      g_autofree char *out = NULL, *err = NULL;

      g_assert_cmpint (lares_test_run (argv, &out, &err), ==, 1);
      g_test_message ("%s -> %s", cases[i].flag, err);
      g_assert_nonnull (strstr (err, cases[i].key));
    }
}

static void
test_remote_listen_with_allowlist (void)
{
  const char *argv[] = { "serve", "--print-config",
                         "--set", "server.listen=0.0.0.0",
                         "--set", "server.allow_from=192.168.1.0/24, 10.0.0.7",
                         NULL };
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (lares_test_run (argv, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "\nlisten=0.0.0.0\n"));
}

static void
test_precedence_and_redaction (void)
{
  g_autofree char *dir = lares_test_tmpdir ();
  g_autofree char *conf = g_build_filename (dir, "lares.conf", NULL);
  const char *argv[] = { "serve", "--print-config", "-c", conf, "-p", "7001", NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GSubprocessLauncher) l = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *secret = g_strdup_printf ("sk-test-%08x%08x", g_random_int (), g_random_int ());

  /* File sets port and level; env overrides level and sets the secret;
   * the flag overrides the port. */
  g_assert_true (
      g_file_set_contents (conf, "[server]\nport=7000\n[log]\nlevel=warning\n", -1, NULL));
  l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (l, "LARES_LOG_LEVEL", "debug", TRUE);
  g_subprocess_launcher_setenv (l, "LARES_LLM_API_KEY", secret, TRUE);
  p = g_subprocess_launcher_spawn (l, &error, g_getenv ("LARES_BIN"), argv[0], argv[1], argv[2],
                                   argv[3], argv[4], argv[5], NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 0);
  g_assert_nonnull (strstr (out, "# port: flag\nport=7001\n"));
  g_assert_nonnull (strstr (out, "# level: environment\nlevel=debug\n"));
  g_assert_nonnull (strstr (out, "# listen: default\nlisten=127.0.0.1\n"));
  g_assert_nonnull (strstr (out, "# api_key: environment\napi_key=<redacted>\n"));
  g_assert_null (strstr (out, secret));
  g_assert_null (strstr (err, secret));
  lares_test_rmdir (dir);
}

static void
test_secret_in_readable_file (void)
{
  g_autofree char *dir = lares_test_tmpdir ();
  g_autofree char *conf = g_build_filename (dir, "lares.conf", NULL);
  const char *argv[] = { "serve", "--print-config", "-c", conf, NULL };
  g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL;

  g_assert_true (g_file_set_contents (conf, "[llm]\napi_key=sk-hidden-value\n", -1, NULL));
  g_assert_cmpint (g_chmod (conf, 0644), ==, 0);
  g_assert_cmpint (lares_test_run (argv, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "llm.api_key"));
  g_assert_nonnull (strstr (err, "chmod 600"));
  g_assert_null (strstr (err, "sk-hidden-value"));

  g_assert_cmpint (g_chmod (conf, 0600), ==, 0);
  g_assert_cmpint (lares_test_run (argv, &out2, &err2), ==, 0);
  g_assert_null (strstr (out2, "sk-hidden-value"));
  lares_test_rmdir (dir);
}

static void
test_example_in_sync (void)
{
  const char *argv[] = { "config", NULL };
  g_autofree char *out = NULL, *err = NULL, *committed = NULL;
  g_autofree char *path =
      g_build_filename (g_getenv ("LARES_SRCDIR"), "data", "lares.conf.example", NULL);

  g_assert_cmpint (lares_test_run (argv, &out, &err), ==, 0);
  g_assert_true (g_file_get_contents (path, &committed, NULL, NULL));
  /* Regenerate with: build/src/lares config > data/lares.conf.example */
  g_assert_cmpstr (out, ==, committed);
}

static void
test_doctor (void)
{
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  const char *argv[] = { "doctor", "-d", d->data_dir, NULL };
  const char *bad_llm[] = { "doctor",
                            "-d",
                            d->data_dir,
                            "--set",
                            "llm.provider=openai",
                            "--set",
                            "llm.base_url=http://127.0.0.1:1/v1",
                            NULL };
  g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL;

  g_assert_cmpint (lares_test_run (argv, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "ok    store"));
  g_assert_nonnull (strstr (out, "ok    clock"));
  g_assert_nonnull (strstr (out, "0 failed"));
  /* With the daemon's port and the CLI's token it checks the daemon too. */
  {
    g_autofree char *port = g_strdup_printf ("server.port=%u", d->port);
    const char *with_daemon[] = { "doctor", "-d", d->data_dir, "--set", port, NULL };
    g_autofree char *o1 = NULL, *e1 = NULL, *o2 = NULL, *e2 = NULL;

    g_setenv ("LARES_TOKEN", d->token, TRUE);
    g_assert_cmpint (lares_test_run (with_daemon, &o1, &e1), ==, 0);
    g_assert_nonnull (strstr (o1, "the CLI's token is valid for 'admin'"));
    g_setenv ("LARES_TOKEN", "lrs_wrong", TRUE);
    g_assert_cmpint (lares_test_run (with_daemon, &o2, &e2), ==, 1);
    g_assert_nonnull (strstr (o2, "refuses the CLI's token"));
    g_unsetenv ("LARES_TOKEN");
  }
  /* An unreachable LLM is a failure that names the URL. */
  g_assert_cmpint (lares_test_run (bad_llm, &out2, &err2), ==, 1);
  g_assert_nonnull (strstr (out2, "FAIL  llm"));
  g_assert_nonnull (strstr (out2, "127.0.0.1:1"));
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

static void
test_user_and_token_commands (void)
{
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  const char *add[] = { "user", "add", "eve", "-d", d->data_dir, NULL };
  const char *list[] = { "user", "list", "-d", d->data_dir, NULL };
  const char *del[] = { "user", "del", "eve", "-d", d->data_dir, NULL };
  const char *del_admin[] = { "user", "del", "admin", "-d", d->data_dir, NULL };
  const char *bad[] = { "user", "frob", "-d", d->data_dir, NULL };
  const char *tok_list[] = { "token", "list", "-d", d->data_dir, NULL };
  const char *tok_revoke[] = { "token", "revoke", "1", "-d", d->data_dir, NULL };
  g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL, *out3 = NULL, *err3 = NULL,
                  *out4 = NULL, *err4 = NULL, *out5 = NULL, *err5 = NULL, *out6 = NULL,
                  *err6 = NULL, *out7 = NULL, *err7 = NULL, *out8 = NULL, *err8 = NULL;
  char *password;
  unsigned status;

  g_assert_cmpint (lares_test_run (add, &out, &err), ==, 0);
  password = strstr (out, "password: ");
  g_assert_nonnull (password);
  password += strlen ("password: ");
  g_strstrip (password);
  g_assert_cmpuint (strlen (password), ==, 20);
  /* The running daemon accepts the new account at once. */
  {
    g_autofree char *json =
        g_strdup_printf ("{\"username\":\"eve\",\"password\":\"%s\"}", password);
    const char *none[] = { NULL };
    g_bytes_unref (lares_test_http_as (d, none, "POST", "/api/v1/auth/login", "application/json",
                                       json, strlen (json), &status, NULL));
    g_assert_cmpuint (status, ==, 200);
  }
  g_assert_cmpint (lares_test_run (add, &out2, &err2), ==, 1);
  g_assert_nonnull (strstr (err2, "taken"));
  g_assert_cmpint (lares_test_run (list, &out3, &err3), ==, 0);
  g_assert_nonnull (strstr (out3, "eve"));
  g_assert_cmpint (lares_test_run (del, &out4, &err4), ==, 0);
  g_assert_cmpint (lares_test_run (del_admin, &out5, &err5), ==, 1);
  g_assert_nonnull (strstr (err5, "last admin"));
  g_assert_cmpint (lares_test_run (bad, &out6, &err6), ==, 2);
  /* The harness's own token is #1: list shows it, revoke ends it. */
  g_assert_cmpint (lares_test_run (tok_list, &out7, &err7), ==, 0);
  g_assert_nonnull (strstr (out7, "\"tests\""));
  g_assert_null (strstr (out7, d->token));
  g_assert_cmpuint (lares_test_status (d, "GET", "/api/v1/auth/me", NULL, NULL, 0), ==, 200);
  g_assert_cmpint (lares_test_run (tok_revoke, &out8, &err8), ==, 0);
  g_assert_cmpuint (lares_test_status (d, "GET", "/api/v1/auth/me", NULL, NULL, 0), ==, 401);
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

static void
test_version (void)
{
  const char *argv[] = { "version", NULL };
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (lares_test_run (argv, &out, &err), ==, 0);
  g_assert_true (g_str_has_prefix (out, "lares " LARES_VERSION "\n"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/help", test_help_everywhere);
  g_test_add_func ("/cli/usage-errors", test_usage_errors);
  g_test_add_func ("/cli/bad-config-values", test_bad_config_values);
  g_test_add_func ("/cli/remote-listen-with-allowlist", test_remote_listen_with_allowlist);
  g_test_add_func ("/cli/precedence-and-redaction", test_precedence_and_redaction);
  g_test_add_func ("/cli/secret-in-readable-file", test_secret_in_readable_file);
  g_test_add_func ("/cli/example-in-sync", test_example_in_sync);
  g_test_add_func ("/cli/doctor", test_doctor);
  g_test_add_func ("/cli/user-and-token-commands", test_user_and_token_commands);
  g_test_add_func ("/cli/version", test_version);
  return g_test_run ();
}
