/* lares-fake-llm.c — run the fake LLM server from tests (see
 * lares-fake-llm.h).
 *
 * DESIGN: the fake is a child process, killed with the test if the test
 * dies (PR_SET_PDEATHSIG), as lares-test.c does for the daemon.  Its port
 * line is read asynchronously on the default main context under a
 * deadline, so a fake that never starts fails the test instead of hanging
 * it.  Records are read from the file the fake appends to; only complete
 * lines count, so a line being written is never half-parsed.
 */
#include "config.h"

#include "lares-fake-llm.h"

#include <signal.h>
#include <string.h>

#include "lares-test.h"

#define START_TIMEOUT_MS 20000

struct _LaresFakeLlm
{
  GSubprocess *proc;
  char *dir;         /* temporary directory (owned) */
  char *record_path; /* owned */
  char *log_path;    /* the fake's stderr (owned) */
  uint16_t port;
  char *base; /* "http://127.0.0.1:PORT" (owned) */
  char *url;  /* base + "/v1" (owned) */
};

static gboolean
deadline_cb (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
show_log (LaresFakeLlm *fake, const char *why)
{
  g_autofree char *log = NULL;

  if (g_file_get_contents (fake->log_path, &log, NULL, NULL) && *log)
    g_test_message ("fake-llm %s; its stderr:\n%s", why, log);
}

LaresFakeLlm *
lares_fake_llm_start (const char *script_text, const char *const *extra_args)
{
  LaresFakeLlm *fake = g_new0 (LaresFakeLlm, 1);
  const char *bin = g_getenv ("LARES_FAKE_LLM");
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;
  guint64 port = 0;

  g_assert_nonnull (bin);
  fake->dir = g_dir_make_tmp ("lares-fake-llm-XXXXXX", &error);
  g_assert_no_error (error);
  fake->record_path = g_build_filename (fake->dir, "record.jsonl", NULL);
  fake->log_path = g_build_filename (fake->dir, "stderr.log", NULL);

  g_ptr_array_add (argv, g_strdup (bin));
  if (script_text)
    {
      g_autofree char *script = g_build_filename (fake->dir, "script", NULL);

      g_file_set_contents (script, script_text, -1, &error);
      g_assert_no_error (error);
      g_ptr_array_add (argv, g_strdup ("--script"));
      g_ptr_array_add (argv, g_steal_pointer (&script));
    }
  g_ptr_array_add (argv, g_strdup ("--record"));
  g_ptr_array_add (argv, g_strdup (fake->record_path));
  for (size_t i = 0; extra_args && extra_args[i]; i++)
    g_ptr_array_add (argv, g_strdup (extra_args[i]));
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stderr_file_path (launcher, fake->log_path);
  g_subprocess_launcher_set_child_setup (launcher, lares_test_die_with_parent, NULL, NULL);
  fake->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (fake->proc));
  line = lares_test_read_line (out, g_get_monotonic_time () + (int64_t)START_TIMEOUT_MS * 1000,
                               &error);
  if (line == NULL || !g_str_has_prefix (line, "port ") ||
      !g_ascii_string_to_unsigned (line + 5, 10, 1, 65535, &port, NULL))
    {
      g_subprocess_force_exit (fake->proc);
      show_log (fake, "did not start");
      g_assert_no_error (error);
      g_assert_cmpstr (line, ==, "port N");
    }

  fake->port = (uint16_t)port;
  fake->base = g_strdup_printf ("http://127.0.0.1:%u", fake->port);
  fake->url = g_strconcat (fake->base, "/v1", NULL);
  return fake;
}

LaresFakeLlm *
lares_fake_llm_start_named (const char *name, const char *const *extra_args)
{
  const char *srcdir = g_getenv ("LARES_SRCDIR");
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (srcdir);
  path = g_build_filename (srcdir, "tests", "fake-llm", "scripts", name, NULL);
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return lares_fake_llm_start (text, extra_args);
}

const char *
lares_fake_llm_url (LaresFakeLlm *fake)
{
  return fake->url;
}

const char *
lares_fake_llm_base (LaresFakeLlm *fake)
{
  return fake->base;
}

uint16_t
lares_fake_llm_port (LaresFakeLlm *fake)
{
  return fake->port;
}

GPtrArray *
lares_fake_llm_requests (LaresFakeLlm *fake)
{
  GPtrArray *reqs = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);
  g_autofree char *text = NULL;
  char *line, *nl;

  if (!g_file_get_contents (fake->record_path, &text, NULL, NULL))
    return reqs; /* nothing recorded yet */
  for (line = text; (nl = strchr (line, '\n')) != NULL; line = nl + 1)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;

      json_parser_load_from_data (parser, line, nl - line, &error);
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
      g_ptr_array_add (reqs, json_parser_steal_root (parser));
    }
  return reqs;
}

unsigned
lares_fake_llm_n_requests (LaresFakeLlm *fake)
{
  g_autoptr (GPtrArray) reqs = lares_fake_llm_requests (fake);

  return reqs->len;
}

void
lares_fake_llm_wait_requests (LaresFakeLlm *fake, unsigned n, unsigned ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64)ms * 1000;

  /* The record file has no change notification worth its setup cost
   * here: look again every 10 ms while the main context runs. */
  while (lares_fake_llm_n_requests (fake) < n)
    {
      gboolean tick = FALSE;

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_timeout_add (10, deadline_cb, &tick);
      while (!tick)
        g_main_context_iteration (NULL, TRUE);
    }
}

void
lares_fake_llm_free (LaresFakeLlm *fake)
{
  g_autoptr (GError) error = NULL;

  if (fake == NULL)
    return;
  g_subprocess_send_signal (fake->proc, SIGTERM);
  g_subprocess_wait (fake->proc, NULL, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (fake->proc) || g_subprocess_get_exit_status (fake->proc) != 0)
    {
      show_log (fake, "did not exit cleanly");
      g_assert_true (g_subprocess_get_if_exited (fake->proc));
      g_assert_cmpint (g_subprocess_get_exit_status (fake->proc), ==, 0);
    }
  lares_test_rmdir (fake->dir);
  g_clear_object (&fake->proc);
  g_free (fake->dir);
  g_free (fake->record_path);
  g_free (fake->log_path);
  g_free (fake->base);
  g_free (fake->url);
  g_free (fake);
}
