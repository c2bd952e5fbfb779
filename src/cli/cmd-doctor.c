/* cmd-doctor.c — `lares doctor`: check what lares needs, say what is wrong.
 *
 * Each check prints one line "ok", "warn" or "FAIL" with the reason; the
 * exit code is 1 if any check failed.  It only reads: nothing is created or
 * changed, so it is safe beside a running daemon.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lares-cli.h"
#include "lares-store.h"

typedef struct
{
  unsigned failed, warned;
} Report;

static void report (Report *r, const char *status, const char *what, const char *fmt, ...)
    G_GNUC_PRINTF (4, 5);

static void
report (Report *r, const char *status, const char *what, const char *fmt, ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, fmt);
  detail = g_strdup_vprintf (fmt, args);
  va_end (args);
  if (g_str_equal (status, "FAIL"))
    r->failed++;
  else if (g_str_equal (status, "warn"))
    r->warned++;
  printf ("%-4s  %-10s %s\n", status, what, detail);
}

static void
check_data_dir (Report *r, const LaresConfig *cfg)
{
  struct stat st;

  if (stat (cfg->data_dir, &st) != 0)
    {
      report (r, "warn", "data dir", "'%s' does not exist yet; 'lares serve' creates it",
              cfg->data_dir);
      return;
    }
  if (!S_ISDIR (st.st_mode))
    {
      report (r, "FAIL", "data dir", "'%s' is not a directory", cfg->data_dir);
      return;
    }
  if (access (cfg->data_dir, R_OK | W_OK | X_OK) != 0)
    {
      report (r, "FAIL", "data dir", "'%s' is not writable by this user", cfg->data_dir);
      return;
    }
  if (st.st_mode & 077)
    report (r, "warn", "data dir", "'%s' is readable by others (mode %03o); run 'chmod 700 %s'",
            cfg->data_dir, st.st_mode & 0777, cfg->data_dir);
  else
    report (r, "ok", "data dir", "'%s' (mode %03o)", cfg->data_dir, st.st_mode & 0777);
}

static void
check_store (Report *r, const LaresConfig *cfg)
{
  g_autofree char *path = lares_store_db_path (cfg->data_dir);
  g_autoptr (GError) error = NULL;
  int version = -1, head = lares_store_schema_head ();

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      report (r, "warn", "store", "no database yet at '%s'", path);
      return;
    }
  if (!lares_store_check (path, &version, &error))
    {
      report (r, "FAIL", "store", "%s", error->message);
      return;
    }
  if (version > head)
    report (r, "FAIL", "store", "schema %d is newer than this lares (%d)", version, head);
  else if (version < head)
    report (r, "ok", "store", "schema %d (will migrate to %d at start), integrity ok", version,
            head);
  else
    report (r, "ok", "store", "schema %d, integrity ok", version);
}

static void
check_clock (Report *r)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autoptr (GTimeZone) tz = g_time_zone_new_local ();
  const char *tzid = g_time_zone_get_identifier (tz);
  g_autofree char *stamp = g_date_time_format_iso8601 (now);

  if (g_date_time_get_year (now) < 2024)
    report (r, "FAIL", "clock", "the clock says %s; reminders need a correct clock", stamp);
  else
    report (r, "ok", "clock", "%s, time zone %s", stamp, tzid ? tzid : "unknown");
}

static void
check_llm (Report *r, const LaresConfig *cfg)
{
  g_autoptr (SoupSession) session = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;
  gboolean ollama = g_str_equal (cfg->llm_provider, "ollama");

  if (g_str_equal (cfg->llm_provider, "none"))
    {
      report (r, "ok", "llm", "none configured; the built-in intent engine answers");
      return;
    }
  if (*cfg->llm_base_url == '\0')
    {
      report (r, "FAIL", "llm", "llm.provider is '%s' but llm.base_url is empty",
              cfg->llm_provider);
      return;
    }
  url = g_strconcat (cfg->llm_base_url, g_str_has_suffix (cfg->llm_base_url, "/") ? "" : "/",
                     ollama ? "api/tags" : "models", NULL);
  /* No system proxy lookup: the LLM is normally on this machine or the
   * LAN, and libproxy's resolver thread is heavy for one probe. */
  session = soup_session_new_with_options ("timeout", 5, "proxy-resolver", NULL, NULL);
  msg = soup_message_new ("GET", url);
  if (msg == NULL)
    {
      report (r, "FAIL", "llm", "bad URL '%s'", url);
      return;
    }
  if (*cfg->llm_api_key)
    {
      g_autofree char *auth = g_strconcat ("Bearer ", cfg->llm_api_key, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }
  body = soup_session_send_and_read (session, msg, NULL, &error);
  if (body == NULL)
    report (r, "FAIL", "llm", "%s is unreachable: %s", url, error->message);
  else if (soup_message_get_status (msg) != 200)
    report (r, "FAIL", "llm", "%s answered HTTP %u", url, soup_message_get_status (msg));
  else
    report (r, "ok", "llm", "%s answers", url);
}

/* Is a daemon answering on the configured address, and does the CLI's
 * token work there? */
static void
check_daemon (Report *r, const LaresConfig *cfg)
{
  g_autoptr (SoupSession) session =
      soup_session_new_with_options ("timeout", 3, "proxy-resolver", NULL, NULL);
  g_autofree char *base = lares_cli_daemon_url (cfg);
  g_autofree char *url = NULL;
  g_autofree char *token = NULL;
  g_autoptr (SoupMessage) health = NULL;
  g_autoptr (SoupMessage) me = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GError) error = NULL;

  url = g_strconcat (base, "/healthz", NULL);
  health = soup_message_new ("GET", url);
  body = soup_session_send_and_read (session, health, NULL, &error);
  if (body == NULL || soup_message_get_status (health) != 200)
    {
      report (r, "warn", "daemon", "nothing answers at %s (not running?)", base);
      return;
    }
  g_clear_pointer (&body, g_bytes_unref);
  token = lares_cli_token (&error);
  if (token == NULL)
    {
      if (error)
        report (r, "FAIL", "daemon", "%s answers, but the token: %s", base, error->message);
      else
        report (r, "ok", "daemon", "%s answers (set LARES_TOKEN to check a token)", base);
      return;
    }
  g_free (url);
  url = g_strconcat (base, "/api/v1/auth/me", NULL);
  me = soup_message_new ("GET", url);
  {
    g_autofree char *auth = g_strconcat ("Bearer ", token, NULL);
    soup_message_headers_replace (soup_message_get_request_headers (me), "Authorization", auth);
  }
  body = soup_session_send_and_read (session, me, NULL, &error);
  if (body == NULL || soup_message_get_status (me) != 200)
    {
      report (r, "FAIL", "daemon", "%s answers, but refuses the CLI's token (HTTP %u)", base,
              soup_message_get_status (me));
      return;
    }
  {
    g_autoptr (JsonParser) p = json_parser_new ();
    const char *name = "?";
    if (json_parser_load_from_data (p, g_bytes_get_data (body, NULL),
                                    (gssize)g_bytes_get_size (body), NULL) &&
        JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)))
      name = json_object_get_string_member_with_default (
          json_node_get_object (json_parser_get_root (p)), "name", "?");
    report (r, "ok", "daemon", "%s answers; the CLI's token is valid for '%s'", base, name);
  }
}

int
lares_cmd_doctor (int argc, char **argv)
{
  LaresCliConfigOptions copts = { 0 };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- check that lares can run here");
  g_autoptr (LaresConfig) cfg = NULL;
  Report r = { 0 };
  int rc;

  lares_cli_add_config_options (ctx, &copts);
  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    goto out;
  cfg = lares_cli_load_config (&copts, NULL);
  if (cfg == NULL)
    {
      printf ("FAIL  config     see the error above\n");
      rc = LARES_EXIT_FAILURE;
      goto out;
    }
  report (&r, "ok", "config", "%s", cfg->file_path ? cfg->file_path : "defaults (no lares.conf)");
  check_data_dir (&r, cfg);
  check_store (&r, cfg);
  check_clock (&r);
  check_llm (&r, cfg);
  check_daemon (&r, cfg);
  printf ("%u failed, %u warning(s)\n", r.failed, r.warned);
  rc = r.failed ? LARES_EXIT_FAILURE : LARES_EXIT_OK;
out:
  lares_cli_config_options_clear (&copts);
  return rc;
}
