/* test-config.c — the configuration table: defaults, sources, errors. */
#include "config.h"

#include "lares-config.h"

static void
test_defaults (void)
{
  g_autoptr (LaresConfig) cfg = lares_config_new ();

  g_assert_cmpstr (cfg->listen, ==, "127.0.0.1");
  g_assert_cmpint (cfg->port, ==, 8765);
  g_assert_cmpstr (cfg->data_dir, ==, "./var");
  g_assert_cmpuint (cfg->max_body, ==, 1024 * 1024);
  g_assert_cmpuint (cfg->ws_max_message, ==, 64 * 1024);
  g_assert_cmpstr (cfg->llm_provider, ==, "none");
  g_assert_cmpuint (cfg->sources[0], ==, LARES_CONFIG_SOURCE_DEFAULT);
}

static void
test_sources_override (void)
{
  g_autoptr (LaresConfig) cfg = lares_config_new ();
  g_autoptr (GError) error = NULL;
  const char file[] = "[server]\nport=9000\nmax_body=2MiB\n[store]\ndata_dir=/srv/lares\n";
  char *env[] = { (char *)"LARES_SERVER_PORT=9001", (char *)"LARES_TOKEN=ignored",
                  (char *)"LARES_UNRELATED=1", NULL };
  g_autofree char *dump = NULL;

  g_assert_true (lares_config_load_data (cfg, file, sizeof file - 1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cfg->port, ==, 9000);
  g_assert_true (lares_config_load_env (cfg, env, &error));
  g_assert_cmpint (cfg->port, ==, 9001);
  g_assert_true (lares_config_set (cfg, "server.port", "9002", LARES_CONFIG_SOURCE_FLAG, &error));
  g_assert_cmpint (cfg->port, ==, 9002);
  g_assert_cmpuint (cfg->max_body, ==, 2 * 1024 * 1024);
  g_assert_cmpstr (cfg->data_dir, ==, "/srv/lares");

  dump = lares_config_dump (cfg);
  g_assert_nonnull (strstr (dump, "# port: flag\nport=9002\n"));
  g_assert_nonnull (strstr (dump, "# max_body: lares.conf\nmax_body=2MiB\n"));
  g_assert_nonnull (strstr (dump, "# ws_max_message: default\nws_max_message=64KiB\n"));
}

static void
test_dump_reloads (void)
{
  g_autoptr (LaresConfig) cfg = lares_config_new ();
  g_autoptr (LaresConfig) again = lares_config_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *dump = NULL;

  g_assert_true (lares_config_set (cfg, "server.port", "9100", LARES_CONFIG_SOURCE_FLAG, &error));
  g_assert_true (lares_config_set (cfg, "llm.model", "small", LARES_CONFIG_SOURCE_FLAG, &error));
  dump = lares_config_dump (cfg);
  /* --print-config output is itself a loadable lares.conf. */
  g_assert_true (lares_config_load_data (again, dump, strlen (dump), &error));
  g_assert_no_error (error);
  g_assert_cmpint (again->port, ==, 9100);
  g_assert_cmpstr (again->llm_model, ==, "small");
}

static void
test_control_characters_refused (void)
{
  g_autoptr (LaresConfig) cfg = lares_config_new ();
  g_autoptr (GError) error = NULL;
  const char spoof[] = "[llm]\nmodel=x\\n[llm]\\napi_key=leaked\n";

  /* GKeyFile turns the \n escapes into real newlines; they are refused. */
  g_assert_false (lares_config_load_data (cfg, spoof, sizeof spoof - 1, &error));
  g_assert_error (error, LARES_CONFIG_ERROR, LARES_CONFIG_ERROR_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "llm.model"));
  g_assert_cmpstr (cfg->llm_model, ==, "");
  g_clear_error (&error);
  g_assert_false (lares_config_set (cfg, "bad\xff\x01key", "1", LARES_CONFIG_SOURCE_FLAG, &error));
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

typedef struct
{
  const char *text;
  int code;
  const char *mentions;
} BadFile;

static void
test_bad_files (void)
{
  static const BadFile cases[] = {
    { "[server]\nprot=1\n", LARES_CONFIG_ERROR_UNKNOWN_KEY, "server.prot" },
    { "[nope]\nx=1\n", LARES_CONFIG_ERROR_UNKNOWN_KEY, "nope.x" },
    { "[server]\nport=70000\n", LARES_CONFIG_ERROR_INVALID_VALUE, "server.port" },
    { "[server]\nport=\n", LARES_CONFIG_ERROR_INVALID_VALUE, "server.port" },
    { "[server]\nmax_body=1\n", LARES_CONFIG_ERROR_INVALID_VALUE, "server.max_body" },
    { "[server]\nlisten=localhost\n", LARES_CONFIG_ERROR_INVALID_VALUE, "server.listen" },
    { "[store]\ndata_dir=\n", LARES_CONFIG_ERROR_INVALID_VALUE, "store.data_dir" },
    { "port=1\n", LARES_CONFIG_ERROR_FILE, "parse" },
    { "[server\n", LARES_CONFIG_ERROR_FILE, "parse" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (LaresConfig) cfg = lares_config_new ();
      g_autoptr (GError) error = NULL;

      g_assert_false (lares_config_load_data (cfg, cases[i].text, strlen (cases[i].text), &error));
      g_test_message ("%s", error->message);
      g_assert_error (error, LARES_CONFIG_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].mentions));
      /* A rejected value leaves the default in place. */
      g_assert_cmpint (cfg->port, ==, 8765);
    }
}

static void
test_secret_never_echoed (void)
{
  g_autoptr (LaresConfig) cfg = lares_config_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *dump = NULL;
  char *env[] = { (char *)"LARES_LLM_API_KEY=sk-abcdef123456", NULL };

  g_assert_true (lares_config_load_env (cfg, env, &error));
  g_assert_cmpstr (cfg->llm_api_key, ==, "sk-abcdef123456");
  dump = lares_config_dump (cfg);
  g_assert_null (strstr (dump, "sk-abcdef"));
  g_assert_nonnull (strstr (dump, "api_key=<redacted>"));
  /* Even an invalid secret is not echoed in the error. */
  g_assert_false (
      lares_config_set (cfg, "llm.api_key", "bad\xff", LARES_CONFIG_SOURCE_FLAG, &error));
  g_assert_null (strstr (error->message, "bad"));
}

static void
test_example_lists_every_key (void)
{
  g_autofree char *example = lares_config_example ();
  g_autoptr (LaresConfig) cfg = lares_config_new ();
  g_autofree char *dump = lares_config_dump (cfg);
  g_auto (GStrv) lines = g_strsplit (dump, "\n", -1);
  unsigned keys = 0;

  for (size_t i = 0; lines[i]; i++)
    {
      const char *eq = strchr (lines[i], '=');
      g_autofree char *key = NULL, *needle = NULL;
      if (lines[i][0] == '#' || eq == NULL)
        continue;
      key = g_strndup (lines[i], (size_t)(eq - lines[i]));
      needle = g_strdup_printf ("\n#%s=", key);
      g_assert_nonnull (strstr (example, needle));
      keys++;
    }
  g_assert_cmpuint (keys, >=, 10);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/sources-override", test_sources_override);
  g_test_add_func ("/config/bad-files", test_bad_files);
  g_test_add_func ("/config/dump-reloads", test_dump_reloads);
  g_test_add_func ("/config/control-characters-refused", test_control_characters_refused);
  g_test_add_func ("/config/secret-never-echoed", test_secret_never_echoed);
  g_test_add_func ("/config/example-lists-every-key", test_example_lists_every_key);
  return g_test_run ();
}
