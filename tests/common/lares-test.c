/* lares-test.c — integration test helpers (see lares-test.h). */
#include "config.h"

#include "lares-test.h"

#include <json-glib/json-glib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

char *
lares_test_tmpdir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("lares-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

void
lares_test_rmdir (const char *path)
{
  const char *argv[] = { "rm", "-rf", path, NULL };
  g_autoptr (GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_NONE, NULL);

  if (p)
    g_subprocess_wait (p, NULL, NULL);
}

static const char *
lares_bin (void)
{
  const char *bin = g_getenv ("LARES_BIN");

  g_assert_nonnull (bin);
  return bin;
}

void
lares_test_die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

SoupSession *
lares_test_session_new (unsigned timeout_s)
{
  /* No proxy lookup for loopback: libproxy's resolver thread throws C++
   * exceptions internally, which ASan's interceptor cannot follow. */
  return soup_session_new_with_options ("timeout", timeout_s, "max-conns-per-host", 64,
                                        "proxy-resolver", NULL, NULL);
}

LaresTestDaemon *
lares_test_daemon_start (const char *data_dir, const char *const *extra)
{
  LaresTestDaemonOptions o = { data_dir, extra, NULL, NULL };

  return lares_test_daemon_start_full (&o);
}

GPid
lares_test_daemon_pid (LaresTestDaemon *d)
{
  const char *id = g_subprocess_get_identifier (d->proc);

  return id ? (GPid)g_ascii_strtoll (id, NULL, 10) : 0;
}

#define START_TIMEOUT_S 120

LaresTestDaemon *
lares_test_daemon_start_full (const LaresTestDaemonOptions *options)
{
  const char *data_dir = options->data_dir;
  const char *const *extra = options->extra;
  LaresTestDaemon *d = g_new0 (LaresTestDaemon, 1);
  g_auto (GStrv) wrapper = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autofree char *line = NULL;
  const char *colon;
  int64_t deadline;

  d->data_dir = data_dir ? g_strdup (data_dir) : lares_test_tmpdir ();
  /* `make check-valgrind` runs every daemon under valgrind too. */
  if (g_getenv ("LARES_TEST_DAEMON_WRAPPER") != NULL && *g_getenv ("LARES_TEST_DAEMON_WRAPPER"))
    {
      g_assert_true (
          g_shell_parse_argv (g_getenv ("LARES_TEST_DAEMON_WRAPPER"), NULL, &wrapper, &error));
      for (size_t i = 0; wrapper[i]; i++)
        g_ptr_array_add (argv, wrapper[i]);
    }
  g_ptr_array_add (argv, (gpointer)lares_bin ());
  g_ptr_array_add (argv, (gpointer) "serve");
  g_ptr_array_add (argv, (gpointer) "-d");
  g_ptr_array_add (argv, d->data_dir);
  g_ptr_array_add (argv, (gpointer) "-p");
  g_ptr_array_add (argv, (gpointer) "0");
  for (size_t i = 0; extra && extra[i]; i++)
    g_ptr_array_add (argv, (gpointer)extra[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  /* The daemon's log goes to a file in its data directory, so tests can
   * read it (and check what it never contains). */
  g_assert_cmpint (g_mkdir_with_parents (d->data_dir, 0700), ==, 0);
  d->log_path = options->log_path ? g_strdup (options->log_path)
                                  : g_build_filename (d->data_dir, "daemon.log", NULL);
  g_subprocess_launcher_set_stderr_file_path (launcher, d->log_path);
  for (size_t i = 0; options->env && options->env[i] && options->env[i + 1]; i += 2)
    g_subprocess_launcher_setenv (launcher, options->env[i], options->env[i + 1], TRUE);
  g_subprocess_launcher_set_child_setup (launcher, lares_test_die_with_parent, NULL, NULL);
  /* Under ASan, `make test` asks for full stacks on every allocation; the
   * daemon compiles its intent templates at start (about a million
   * allocations), which that makes take ~10 s.  Leaks are still found with
   * the fast unwinder; only their allocation stacks get shorter. */
  if (g_getenv ("ASAN_OPTIONS") != NULL)
    {
      g_autofree char *opts =
          g_strconcat (g_getenv ("ASAN_OPTIONS"), ":fast_unwind_on_malloc=1", NULL);
      g_subprocess_launcher_setenv (launcher, "ASAN_OPTIONS", opts, TRUE);
      /* GSlice keeps freed blocks in chunks LeakSanitizer sees as
       * reachable, so a leaked GObject (such as libsoup 3.2's accepted
       * GSocket, lares-server.c) would pass unseen. */
      g_subprocess_launcher_setenv (launcher, "G_SLICE", "always-malloc", TRUE);
    }
  d->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (d->proc));
  /* Wait until the daemon is serving, within START_TIMEOUT_S (scaled under
   * memcheck): a daemon stuck at start fails the test with its log's path
   * instead of hanging it.  A first start prints the admin's password
   * before that. */
  deadline = g_get_monotonic_time () +
             (int64_t)START_TIMEOUT_S * lares_test_time_scale () * G_USEC_PER_SEC;
  for (;;)
    {
      g_free (line);
      line = lares_test_read_line (out, deadline, &error);
      if (line == NULL)
        g_error ("lares serve did not say it was listening within %d s (%s); its log: %s",
                 START_TIMEOUT_S * (int)lares_test_time_scale (), error->message, d->log_path);
      if (g_str_has_prefix (line, "lares: created user 'admin' with password "))
        d->admin_password = g_strdup (line + strlen ("lares: created user 'admin' with password "));
      if (g_str_has_prefix (line, "lares: listening on http://127.0.0.1:"))
        break;
      if (g_str_has_prefix (line, "lares: listening on https://127.0.0.1:"))
        {
          d->tls = TRUE;
          break;
        }
    }
  colon = strrchr (line, ':');
  d->port = (uint16_t)g_ascii_strtoull (colon + 1, NULL, 10);
  g_assert_cmpuint (d->port, >, 0);
  d->base = g_strdup_printf ("%s://127.0.0.1:%u", d->tls ? "https" : "http", d->port);
  d->session = lares_test_session_new (30);
  {
    const char *targv[] = { "token", "create", "-d", d->data_dir, "--name", "tests", NULL };
    g_autofree char *err = NULL;
    g_assert_cmpint (lares_test_run (targv, &d->token, &err), ==, 0);
    g_strstrip (d->token);
    g_assert_true (g_str_has_prefix (d->token, "lrs_"));
  }
  return d;
}

int
lares_test_daemon_stop (LaresTestDaemon *d, int sig)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *log = NULL;
  int rc;

  if (sig)
    g_subprocess_send_signal (d->proc, sig);
  g_subprocess_wait (d->proc, NULL, &error);
  g_assert_no_error (error);
  if (g_subprocess_get_if_signaled (d->proc))
    rc = 128 + g_subprocess_get_term_sig (d->proc);
  else
    rc = g_subprocess_get_exit_status (d->proc);
  /* A daemon that did not stop cleanly: show why in the test's output. */
  if (rc != 0 && sig != SIGKILL && d->log_path &&
      g_file_get_contents (d->log_path, &log, NULL, NULL))
    g_test_message ("daemon exited with %d; its log:\n%s", rc, log);
  return rc;
}

void
lares_test_daemon_free (LaresTestDaemon *d, gboolean remove)
{
  if (d == NULL)
    return;
  if (remove)
    lares_test_rmdir (d->data_dir);
  g_clear_object (&d->session);
  g_clear_object (&d->proc);
  g_free (d->data_dir);
  g_free (d->base);
  g_free (d->admin_password);
  g_free (d->token);
  g_free (d->log_path);
  g_free (d);
}

int
lares_test_run (const char *const *args, char **out, char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;

  g_ptr_array_add (argv, (gpointer)lares_bin ());
  for (size_t i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer)args[i]);
  g_ptr_array_add (argv, NULL);
  p = g_subprocess_newv ((const char *const *)argv->pdata,
                         G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, out, err, &error);
  g_assert_no_error (error);
  return g_subprocess_get_exit_status (p);
}

static gboolean
accept_any_certificate (SoupMessage *msg, GTlsCertificate *cert, GTlsCertificateFlags errors,
                        gpointer data)
{
  return TRUE;
}

GBytes *
lares_test_http_as (LaresTestDaemon *d, const char *const *headers, const char *method,
                    const char *path, const char *content_type, const char *body, size_t len,
                    unsigned *status, SoupMessageHeaders **resp_headers)
{
  g_autofree char *url = g_strconcat (d->base, path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GError) error = NULL;
  GBytes *resp;

  g_assert_nonnull (msg);
  /* Test daemons serve TLS with a throwaway self-signed certificate. */
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_any_certificate), NULL);
  for (size_t i = 0; headers && headers[i]; i += 2)
    soup_message_headers_replace (soup_message_get_request_headers (msg), headers[i],
                                  headers[i + 1]);
  if (body != NULL)
    {
      g_autoptr (GBytes) b = g_bytes_new (body, len);
      soup_message_set_request_body_from_bytes (msg, content_type, b);
    }
  resp = soup_session_send_and_read (d->session, msg, NULL, &error);
  g_assert_no_error (error);
  *status = soup_message_get_status (msg);
  /* Every response carries a request id. */
  g_assert_nonnull (
      soup_message_headers_get_one (soup_message_get_response_headers (msg), "X-Request-Id"));
  if (resp_headers)
    *resp_headers =
        g_boxed_copy (SOUP_TYPE_MESSAGE_HEADERS, soup_message_get_response_headers (msg));
  return resp;
}

GBytes *
lares_test_http (LaresTestDaemon *d, const char *method, const char *path, const char *content_type,
                 const char *body, size_t len, unsigned *status, SoupMessageHeaders **resp_headers)
{
  g_autofree char *bearer = g_strconcat ("Bearer ", d->token, NULL);
  const char *headers[] = { "Authorization", bearer, NULL };

  return lares_test_http_as (d, headers, method, path, content_type, body, len, status,
                             resp_headers);
}

char *
lares_test_add_user (LaresTestDaemon *d, const char *name, const char *password)
{
  g_autofree char *json = g_strdup_printf ("{\"name\":\"%s\",\"password\":\"%s\"}", name, password);
  unsigned status;
  const char *targv[] = { "token", "create", "-d", d->data_dir, "--user", name, NULL };
  g_autofree char *err = NULL;
  char *token = NULL;

  g_bytes_unref (lares_test_http (d, "POST", "/api/v1/users", "application/json", json,
                                  strlen (json), &status, NULL));
  g_assert_cmpuint (status, ==, 201);
  g_assert_cmpint (lares_test_run (targv, &token, &err), ==, 0);
  g_strstrip (token);
  return token;
}

unsigned
lares_test_status (LaresTestDaemon *d, const char *method, const char *path,
                   const char *content_type, const char *body, size_t len)
{
  unsigned status = 0;

  g_bytes_unref (lares_test_http (d, method, path, content_type, body, len, &status, NULL));
  return status;
}

char *
lares_test_raw (LaresTestDaemon *d, const char *request, size_t len)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GError) error = NULL;
  GOutputStream *os;
  GInputStream *is;
  GString *resp = g_string_new (NULL);
  char buf[4096];
  gssize n;

  g_socket_client_set_enable_proxy (client, FALSE);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", d->port, NULL, &error);
  g_assert_no_error (error);
  os = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  is = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  g_output_stream_write_all (os, request, len, NULL, NULL, &error);
  g_assert_no_error (error);
  while ((n = g_input_stream_read (is, buf, sizeof buf, NULL, NULL)) > 0)
    g_string_append_len (resp, buf, n);
  return g_string_free (resp, FALSE);
}

JsonNode *
lares_test_json (GBytes *body)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  size_t len;
  const char *data = g_bytes_get_data (body, &len);

  json_parser_load_from_data (parser, data, (gssize)len, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_parser_steal_root (parser);
}

void
lares_test_assert_error (GBytes *body, const char *code)
{
  g_autoptr (JsonNode) root = lares_test_json (body);
  JsonObject *obj = json_node_get_object (root);
  JsonObject *err;

  g_assert_true (json_object_has_member (obj, "error"));
  err = json_object_get_object_member (obj, "error");
  g_assert_cmpstr (json_object_get_string_member (err, "code"), ==, code);
  g_assert_cmpuint (strlen (json_object_get_string_member (err, "message")), >, 0);
  g_assert_cmpuint (json_object_get_size (obj), ==, 1);
}

sqlite3 *
lares_test_db_open (const char *data_dir)
{
  g_autofree char *path = g_build_filename (data_dir, "lares.db", NULL);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  return db;
}

int64_t
lares_test_db_count (const char *data_dir, const char *table)
{
  sqlite3 *db = lares_test_db_open (data_dir);
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s", table);
  sqlite3_stmt *stmt = NULL;
  int64_t n;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return n;
}

static gboolean
deadline_cb (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

typedef struct
{
  char *line;
  GError *error;
  gboolean done;
} LineRead;

static void
line_read_cb (GObject *source, GAsyncResult *res, gpointer data)
{
  LineRead *r = data;

  r->line =
      g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), res, NULL, &r->error);
  r->done = TRUE;
}

char *
lares_test_read_line (GDataInputStream *in, int64_t deadline_us, GError **error)
{
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  LineRead r = { 0 };

  g_data_input_stream_read_line_async (in, G_PRIORITY_DEFAULT, cancel, line_read_cb, &r);
  while (!r.done)
    {
      /* A cancelled read still completes, through the main loop: wait
       * for it, @r is on this stack. */
      if (g_get_monotonic_time () < deadline_us)
        lares_test_iterate (deadline_us);
      else
        {
          g_cancellable_cancel (cancel);
          g_main_context_iteration (NULL, TRUE);
        }
    }
  if (g_cancellable_is_cancelled (cancel))
    {
      g_free (r.line);
      g_clear_error (&r.error);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no line before the deadline");
      return NULL;
    }
  if (r.error != NULL)
    {
      g_propagate_error (error, r.error);
      return NULL;
    }
  if (r.line == NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "end of output");
  return r.line;
}

void
lares_test_iterate (int64_t deadline_us)
{
  int64_t left = deadline_us - g_get_monotonic_time ();
  gboolean expired = FALSE;
  unsigned id;

  if (left <= 0)
    return;
  id = g_timeout_add ((unsigned)((left + 999) / 1000), deadline_cb, &expired);
  g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
}

void
lares_test_wait_flag (gboolean *flag, unsigned ms)
{
  gboolean expired = FALSE;
  unsigned id = g_timeout_add (ms, deadline_cb, &expired);

  while (!*flag && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
  g_assert_true (*flag);
}

unsigned
lares_test_time_scale (void)
{
  const char *v = g_getenv ("LARES_TEST_TIME_SCALE");
  guint64 n = v ? g_ascii_strtoull (v, NULL, 10) : 1;

  return (unsigned)CLAMP (n, 1, 100);
}

typedef struct
{
  SoupWebsocketConnection *conn;
  gboolean done;
} WsConnect;

static void
ws_connected_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  WsConnect *wc = data;

  wc->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, NULL);
  wc->done = TRUE;
}

SoupWebsocketConnection *
lares_test_ws_connect_as (LaresTestDaemon *d, const char *const *headers, unsigned *status)
{
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/ws", d->port);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  WsConnect wc = { 0 };

  for (size_t i = 0; headers && headers[i]; i += 2)
    soup_message_headers_replace (soup_message_get_request_headers (msg), headers[i],
                                  headers[i + 1]);
  soup_session_websocket_connect_async (d->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        ws_connected_cb, &wc);
  lares_test_wait_flag (&wc.done, 10000);
  if (status)
    *status = soup_message_get_status (msg);
  return wc.conn;
}

SoupWebsocketConnection *
lares_test_ws_connect (LaresTestDaemon *d)
{
  g_autofree char *bearer = g_strconcat ("Bearer ", d->token, NULL);
  const char *headers[] = { "Authorization", bearer, NULL };
  SoupWebsocketConnection *conn = lares_test_ws_connect_as (d, headers, NULL);

  g_assert_nonnull (conn);
  return conn;
}
