/* lares-test.h — helpers for integration tests: run a real `lares serve`
 * on 127.0.0.1 port 0 with a temporary data directory and talk to it over
 * real HTTP and WebSocket.
 *
 * The binary comes from $LARES_BIN (set by meson).  Every wait is bounded:
 * a condition that does not come true within the deadline fails the test.
 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct
{
  GSubprocess *proc;
  char *data_dir; /* owned */
  uint16_t port;
  gboolean tls; /* serving HTTPS */
  char *base;   /* "http://127.0.0.1:PORT" (https with TLS) */
  SoupSession *session;
  char *admin_password; /* printed by the first start (owned) */
  char *token;          /* an admin API token made with `lares token create` (owned) */
  char *log_path;       /* the daemon's stderr, rewritten at each start (owned) */
} LaresTestDaemon;

/* A fresh temporary directory (removed by lares_test_rmdir). */
char *lares_test_tmpdir (void);
void lares_test_rmdir (const char *path);

/* A client session for loopback tests.  (transfer full) */
SoupSession *lares_test_session_new (unsigned timeout_s);

/* Start `lares serve -d DATA_DIR -p 0 [extra...]` and wait for its
 * "listening" line.  @data_dir NULL makes a temporary one. */
LaresTestDaemon *lares_test_daemon_start (const char *data_dir, const char *const *extra);

typedef struct
{
  const char *data_dir;     /* nullable: a temporary one */
  const char *const *extra; /* nullable: arguments after `-p 0` */
  const char *const *env;   /* nullable: "NAME", "value", ..., NULL for the daemon only */
  const char *log_path;     /* nullable: <data_dir>/daemon.log */
} LaresTestDaemonOptions;

/* The same with more control: a daemon environment of its own (e.g.
 * LD_PRELOAD), or its log outside the data directory (a full disk). */
LaresTestDaemon *lares_test_daemon_start_full (const LaresTestDaemonOptions *options);

/* The daemon's process id (0 once it exited). */
GPid lares_test_daemon_pid (LaresTestDaemon *d);
/* Send @sig and wait for exit; returns the exit status (or 128+signal). */
int lares_test_daemon_stop (LaresTestDaemon *d, int sig);
/* Free without stopping (after stop). Removes the data dir if @remove. */
void lares_test_daemon_free (LaresTestDaemon *d, gboolean remove);

/* Run the lares binary with @argv (NULL-terminated, without "lares") and
 * capture its output.  Returns the exit status. */
int lares_test_run (const char *const *argv, char **out, char **err);

/* One HTTP request; returns the body (never NULL) and fills @status and,
 * when not NULL, @resp_headers (transfer full). */
GBytes *lares_test_http (LaresTestDaemon *d, const char *method, const char *path,
                         const char *content_type, const char *body, size_t len, unsigned *status,
                         SoupMessageHeaders **resp_headers);

/* The same with exactly @headers ("Name", "value", ..., NULL): no token is
 * added, so this is how a test sends other credentials or none. */
GBytes *lares_test_http_as (LaresTestDaemon *d, const char *const *headers, const char *method,
                            const char *path, const char *content_type, const char *body,
                            size_t len, unsigned *status, SoupMessageHeaders **resp_headers);

/* A new admin-made user NAME with PASSWORD; returns a token for them. */
char *lares_test_add_user (LaresTestDaemon *d, const char *name, const char *password);

/* The same, when only the status matters. */
unsigned lares_test_status (LaresTestDaemon *d, const char *method, const char *path,
                            const char *content_type, const char *body, size_t len);

/* Write @request raw to the daemon's port and read the whole response
 * (the request should carry "Connection: close"). */
char *lares_test_raw (LaresTestDaemon *d, const char *request, size_t len);

/* Parse @body as JSON; asserts it is an object.  (transfer full) */
JsonNode *lares_test_json (GBytes *body);

/* Assert @body is the JSON error model with @code. */
void lares_test_assert_error (GBytes *body, const char *code);

/* Open the daemon's database read-only (a real SQLite connection). */
sqlite3 *lares_test_db_open (const char *data_dir);
int64_t lares_test_db_count (const char *data_dir, const char *table);

/* Iterate the default main context until *@flag is TRUE, at most @ms. */
void lares_test_wait_flag (gboolean *flag, unsigned ms);
/* One iteration of the default main context that returns by @deadline_us
 * (g_get_monotonic_time) even when nothing else happens, so a wait loop
 * that checks its deadline between iterations cannot block forever. */
void lares_test_iterate (int64_t deadline_us);

/* The next line of @in, without its newline, read while the default main
 * context runs, by @deadline_us (g_get_monotonic_time).  NULL with @error
 * set at end of input (G_IO_ERROR_CLOSED), on a read error, or when the
 * deadline passes (G_IO_ERROR_TIMED_OUT). */
char *lares_test_read_line (GDataInputStream *in, int64_t deadline_us, GError **error);

/* A GSpawnChildSetupFunc: the child is killed when the test process dies,
 * instead of lingering and holding the test's pipes open. */
void lares_test_die_with_parent (gpointer data);

/* How many times slower than usual the daemon runs: $LARES_TEST_TIME_SCALE
 * (tests/valgrind-run.sh sets it for memcheck), else 1.  A test that gives
 * the daemon a wall-clock budget it must meet for the test to mean
 * anything (a first-token timeout, an approval's lifetime, a margin before
 * a due time) multiplies the budget, and the waits for it, by this. */
unsigned lares_test_time_scale (void);

/* Connect a WebSocket client to /ws with the daemon's token.  (transfer full) */
SoupWebsocketConnection *lares_test_ws_connect (LaresTestDaemon *d);
/* Try with exactly @headers; NULL and the HTTP status in @status on refusal. */
SoupWebsocketConnection *lares_test_ws_connect_as (LaresTestDaemon *d, const char *const *headers,
                                                   unsigned *status);

G_END_DECLS
