/* fuzz-http-routes.c — whole HTTP requests through the real routes: query
 * strings and bodies of every /api/v1 and /v1 route, parsed and validated by
 * the same handlers the daemon runs.
 *
 * Input: `METHOD TARGET\nBODY`.  The target (path and query) is sent with
 * every byte outside printable ASCII, and space, percent-encoded; the body
 * as is, as application/json.  One in-process server (lares_server_new,
 * the same as `lares serve` builds) listens on 127.0.0.1 with a store in a
 * temporary directory (on /dev/shm when there is one), and each input is
 * one real HTTP/1.1 request over loopback from this thread, with an admin
 * token; the main context is iterated until the daemon closes the
 * connection.  At the first input the store gets a note, a task, a
 * reminder and a calendar event, so {id} routes have something to find.
 *
 * Checks beyond "no crash, no leak, no UB":
 * - every request is answered within REPLY_TIMEOUT_MS, with a status, an
 *   X-Request-Id, and never 500 (an internal error is a bug here);
 * - a 4xx or 5xx answer is exactly {"error":{"code","message"}}, valid
 *   UTF-8 whatever the request quoted back.  The one exception is a
 *   request line libsoup itself cannot parse (a bad percent-escape, an
 *   encoded NUL or slash in the path): libsoup answers a bare 400 before
 *   any lares code runs (docs/RELIABILITY.md, known gaps);
 * - a 4xx changes nothing: triggers added to this test store count every
 *   insert, delete and update of users' data, and the count must not move
 *   (columns the scheduler or credential bookkeeping update by themselves,
 *   such as jobs.status or tokens.last_used_at, are left out).
 *
 * LARES_FUZZ_VERBOSE=1 prints each request's status and target.
 *
 * Left out: /ws (the upgrade takes the connection away), login (Argon2 per
 * attempt; fuzz-login-body covers its body), logout, password changes,
 * and deleting users or tokens, which would lock the harness out.
 */
#include "config.h"

#include "lares-fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "lares-auth.h"
#include "lares-bus.h"
#include "lares-config.h"
#include "lares-credentials.h"
#include "lares-server.h"
#include "lares-store.h"
#include "lares-users.h"

#define MAX_BODY         (256 * 1024)
#define REPLY_TIMEOUT_MS 10000
/* The seeding chat turn waits for the intent engine, which ASan builds in
 * seconds of CPU: on a busy machine that is more than one reply's limit. */
#define SEED_TIMEOUT_MS 180000

static int reply_timeout_ms = REPLY_TIMEOUT_MS;

typedef struct
{
  LaresConfig *cfg;
  LaresStore *store;
  LaresBus *bus;
  LaresServer *server;
  sqlite3 *check_db; /* read-only: the change counter */
  uint16_t port;
  char token[LARES_SECRET_TEXT];
  gboolean seeded;
} Harness;

static Harness *harness;

/* ---- set-up ------------------------------------------------------------------------------------
 */

typedef struct
{
  char *secret;
  int64_t user_id;
} Admin;

static gboolean
make_admin (sqlite3 *db, gpointer data, GError **error)
{
  Admin *a = data;
  uint8_t digest[LARES_DIGEST_LEN];
  char text[LARES_SECRET_TEXT];
  gboolean created;
  int64_t token_id, now = g_get_real_time () / 1000;

  if (!lares_users_ensure_admin (db, now, &a->user_id, &created, error))
    return FALSE;
  lares_secret_new (TRUE, text, digest);
  a->secret = g_strdup (text);
  return lares_tokens_insert (db, a->user_id, "fuzz", digest, now, 0, &token_id, error);
}

/* Columns updated by the daemon's own bookkeeping, not by a request. */
static gboolean
bookkeeping (const char *table, const char *column)
{
  static const char *const cols[] = {
    "jobs.status",           "jobs.due_at",
    "jobs.updated_at",       "jobs.fired_at",
    "jobs.fired_due",        "jobs.fire_count",
    "jobs.delivered_at",     "tokens.last_used_at",
    "sessions.last_seen_at", NULL,
  };
  g_autofree char *key = g_strconcat (table, ".", column, NULL);

  return g_strv_contains (cols, key);
}

/* A change counter and triggers on every table of users' data (not the
 * audit log, whose entries on refusals are wanted, nor FTS internals). */
static gboolean
add_triggers (sqlite3 *db, gpointer data, GError **error)
{
  g_autoptr (GPtrArray) tables = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (sqlite3_stmt) st = NULL;

  if (!lares_sql_exec (db,
                       "CREATE TABLE fuzz_changes (n INTEGER NOT NULL);"
                       "INSERT INTO fuzz_changes VALUES (0);",
                       error))
    return FALSE;
  st = lares_sql_prepare (db,
                          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                          "'sqlite_%' AND name NOT LIKE 'notes_fts%' AND name NOT IN ('audit', "
                          "'fuzz_changes')",
                          error);
  if (st == NULL)
    return FALSE;
  while (sqlite3_step (st) == SQLITE_ROW)
    g_ptr_array_add (tables, g_strdup ((const char *)sqlite3_column_text (st, 0)));
  for (unsigned i = 0; i < tables->len; i++)
    {
      const char *t = tables->pdata[i];
      g_autofree char *info_sql = g_strdup_printf ("PRAGMA table_info(%s)", t);
      g_autoptr (sqlite3_stmt) info = lares_sql_prepare (db, info_sql, error);
      g_autoptr (GString) cols = g_string_new (NULL);
      g_autofree char *sql = NULL;

      if (info == NULL)
        return FALSE;
      while (sqlite3_step (info) == SQLITE_ROW)
        {
          const char *c = (const char *)sqlite3_column_text (info, 1);
          if (!bookkeeping (t, c))
            g_string_append_printf (cols, "%s%s", cols->len ? ", " : "", c);
        }
      sql = g_strdup_printf (
          "CREATE TRIGGER fuzz_%s_i AFTER INSERT ON %s BEGIN UPDATE fuzz_changes SET n = n + 1; "
          "END;"
          "CREATE TRIGGER fuzz_%s_d AFTER DELETE ON %s BEGIN UPDATE fuzz_changes SET n = n + 1; "
          "END;"
          "CREATE TRIGGER fuzz_%s_u AFTER UPDATE OF %s ON %s BEGIN UPDATE fuzz_changes SET n = n + "
          "1; END;",
          t, t, t, t, t, cols->str, t);
      if (!lares_sql_exec (db, sql, error))
        return FALSE;
    }
  return TRUE;
}

static void
harness_init (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *db_path = NULL;
  LaresStoreOptions sopts = { 5000, 2 };
  Admin admin = { 0 };
  Harness *h = g_new0 (Harness, 1);

  lares_fuzz_init ();
  signal (SIGPIPE, SIG_IGN);
  /* fsync is cheap on tmpfs. */
  if (g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) && access ("/dev/shm", W_OK) == 0)
    dir = g_build_filename ("/dev/shm", "lares-fuzz-XXXXXX", NULL);
  else
    dir = g_build_filename (g_get_tmp_dir (), "lares-fuzz-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (dir));
  h->cfg = lares_config_new ();
  g_assert_true (
      lares_config_set (h->cfg, "store.data_dir", dir, LARES_CONFIG_SOURCE_FLAG, &error));
  g_assert_true (lares_config_set (h->cfg, "server.port", "0", LARES_CONFIG_SOURCE_FLAG, &error));
  g_assert_true (lares_auth_init (&error));
  h->store = lares_store_open (dir, &sopts, &error);
  g_assert_no_error (error);
  g_assert_true (lares_store_write_sync (h->store, make_admin, &admin, &error));
  g_assert_true (lares_store_write_sync (h->store, add_triggers, NULL, &error));
  g_strlcpy (h->token, admin.secret, sizeof h->token);
  g_free (admin.secret);
  h->bus = lares_bus_new ();
  h->server = lares_server_new (h->cfg, h->store, h->bus, &error);
  g_assert_no_error (error);
  g_assert_true (lares_server_listen (h->server, &error));
  h->port = lares_server_get_port (h->server);
  db_path = lares_store_db_path (dir);
  g_assert_cmpint (sqlite3_open_v2 (db_path, &h->check_db, SQLITE_OPEN_READONLY, NULL), ==,
                   SQLITE_OK);
  sqlite3_busy_timeout (h->check_db, 5000);
  harness = h;
}

/* ---- one request
 * --------------------------------------------------------------------------------- */

typedef struct
{
  GString *in;
  gboolean done;
} Reply;

static gboolean
on_readable (int fd, GIOCondition cond, gpointer data)
{
  Reply *r = data;
  char buf[16384];

  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n > 0)
        {
          g_string_append_len (r->in, buf, n);
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return G_SOURCE_CONTINUE;
      r->done = TRUE; /* EOF, or the connection was reset */
      return G_SOURCE_REMOVE;
    }
}

static gboolean
on_timeout (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterate until the store has nothing queued, so every write of the last
 * request (and what it set off) has committed before we look.  Each store
 * job hands its result back through this main context, which wakes it. */
static void
settle (void)
{
  LaresStoreStats st;
  gboolean expired = FALSE;
  unsigned timer = g_timeout_add ((unsigned)reply_timeout_ms, on_timeout, &expired);

  while (g_main_context_iteration (NULL, FALSE))
    ;
  for (;;)
    {
      lares_store_get_stats (harness->store, &st);
      if (st.queued == 0)
        break;
      if (expired)
        g_error ("the store still had %u jobs after %d ms", st.queued, reply_timeout_ms);
      g_main_context_iteration (NULL, TRUE);
    }
  if (!expired)
    g_source_remove (timer);
}

/* A non-blocking socket connected to the daemon.  libFuzzer's -timeout
 * alarm (SIGALRM every timeout/2 + 1 seconds, installed without
 * SA_RESTART) interrupts a blocking connect(2) that is waiting for the
 * loopback handshake, as it does on a busy machine: connect fails with
 * EINTR and cannot simply be called again.  So the socket connects without
 * blocking, and we wait in poll(2), which can. */
static int
connect_daemon (void)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  struct pollfd pfd = { .events = POLLOUT };
  int err = 0;
  socklen_t len = sizeof err;

  pfd.fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  g_assert_cmpint (pfd.fd, >=, 0);
  sa.sin_port = htons (harness->port);
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (connect (pfd.fd, (struct sockaddr *)&sa, sizeof sa) == 0)
    return pfd.fd;
  if (errno != EINPROGRESS)
    g_error ("cannot connect to the daemon: %s", g_strerror (errno));
  while (poll (&pfd, 1, reply_timeout_ms) < 0)
    if (errno != EINTR)
      g_error ("poll: %s", g_strerror (errno));
  if (pfd.revents == 0)
    g_error ("no connection to the daemon within %d ms", reply_timeout_ms);
  g_assert_cmpint (getsockopt (pfd.fd, SOL_SOCKET, SO_ERROR, &err, &len), ==, 0);
  if (err != 0)
    g_error ("cannot connect to the daemon: %s", g_strerror (err));
  return pfd.fd;
}

/* Send @request and return the whole response (the daemon closes after
 * it).  (transfer full) */
static GString *
exchange (const char *request, size_t len)
{
  Reply r = { g_string_new (NULL), FALSE };
  gboolean expired = FALSE;
  size_t off = 0;
  unsigned timer;
  int fd = connect_daemon ();

  g_unix_fd_add (fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, &r);
  timer = g_timeout_add ((unsigned)reply_timeout_ms, on_timeout, &expired);
  while (!r.done && !expired)
    {
      if (off < len)
        {
          ssize_t n = send (fd, request + off, len - off, MSG_NOSIGNAL);
          if (n > 0)
            off += (size_t)n;
          else if (n < 0 && errno != EAGAIN && errno != EINTR)
            off = len; /* the daemon answered early and closed (413): read on */
        }
      g_main_context_iteration (NULL, off >= len);
    }
  if (!r.done)
    g_error ("no complete answer within %d ms to: %.200s", reply_timeout_ms, request);
  g_source_remove (timer); /* the watch removed itself at EOF */
  close (fd);
  return r.in;
}

static int64_t
changes (void)
{
  sqlite3_stmt *st = NULL;
  int64_t n;

  g_assert_cmpint (
      sqlite3_prepare_v2 (harness->check_db, "SELECT n FROM fuzz_changes", -1, &st, NULL), ==,
      SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return n;
}

/* The JSON error model, exactly. */
static void
check_error_body (const char *body, size_t len, int status)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  JsonObject *root, *err;

  if (!json_parser_load_from_data (p, body, (gssize)len, NULL))
    g_error ("status %d with a body that is not JSON: %.200s", status, body);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)));
  root = json_node_get_object (json_parser_get_root (p));
  g_assert_cmpuint (json_object_get_size (root), ==, 1);
  err = json_object_get_object_member (root, "error");
  g_assert_nonnull (err);
  g_assert_nonnull (json_object_get_string_member (err, "code"));
  g_assert_nonnull (json_object_get_string_member (err, "message"));
  g_assert_true (g_utf8_validate (json_object_get_string_member (err, "message"), -1, NULL));
}

/* Whether the harness refuses to send this request (see the header). */
static gboolean
excluded (const char *method, const char *path)
{
  if (!g_str_has_prefix (path, "/api/v1/") && !g_str_has_prefix (path, "/v1/"))
    return TRUE;
  if (g_str_has_prefix (path, "/api/v1/auth/login") ||
      g_str_has_prefix (path, "/api/v1/auth/logout") ||
      g_str_has_prefix (path, "/api/v1/auth/password"))
    return TRUE;
  if (g_str_equal (method, "DELETE") &&
      (g_str_has_prefix (path, "/api/v1/users") || g_str_has_prefix (path, "/api/v1/tokens")))
    return TRUE;
  return FALSE;
}

/* Send one request and check the answer; returns the status. */
static int
request (const char *method, const char *target, const char *body, size_t body_len)
{
  g_autoptr (GString) req = g_string_new (NULL);
  g_autoptr (GString) resp = NULL;
  g_autofree char *head = NULL;
  const char *end;
  int64_t before, after;
  int status;
  gboolean head_only = g_str_equal (method, "HEAD");

  g_string_append_printf (req,
                          "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n",
                          method, target, harness->port, harness->token);
  if (body_len > 0 || g_str_equal (method, "POST"))
    g_string_append_printf (req, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                            body_len);
  g_string_append (req, "Connection: close\r\n\r\n");
  g_string_append_len (req, body, (gssize)body_len);

  settle ();
  before = changes ();
  resp = exchange (req->str, req->len);
  settle ();
  after = changes ();

  if (!g_str_has_prefix (resp->str, "HTTP/1.1 ") || resp->len < 12)
    g_error ("not an HTTP response to %s %s: %.200s", method, target, resp->str);
  status = (int)g_ascii_strtoll (resp->str + 9, NULL, 10);
  end = strstr (resp->str, "\r\n\r\n");
  g_assert_nonnull (end);
  head = g_ascii_strdown (resp->str, end - resp->str);
  g_assert_cmpint (status, >=, 200);
  g_assert_cmpint (status, <, 600);
  if (status == 500)
    g_error ("500 for %s %s: %s", method, target, end + 4);
  if (status == 400 && strstr (head, "\r\nx-request-id: ") == NULL &&
      strstr (head, "\r\ncontent-length: 0") != NULL)
    {
      /* libsoup refused the request line before any handler of ours ran
       * (a bad percent-escape, an encoded NUL or slash in the path): a
       * bare 400.  Still, nothing may have changed. */
    }
  else
    {
      g_assert_nonnull (strstr (head, "\r\nx-request-id: "));
      if (status >= 400 && !head_only && strstr (head, "transfer-encoding: chunked") == NULL)
        check_error_body (end + 4, resp->len - (size_t)(end + 4 - resp->str), status);
    }
  if (g_getenv ("LARES_FUZZ_VERBOSE"))
    g_printerr ("%d %s %s %.200s\n", status, method, target, status >= 400 ? end + 4 : "");
  if (status >= 400 && status < 500 && after != before)
    g_error ("%d for %s %s changed %" G_GINT64_FORMAT " rows; body: %.*s", status, method, target,
             after - before, (int)MIN (body_len, 300), body);
  return status;
}

/* Something for {id} routes to find: note 1, task 1, reminder 1, a
 * conversation, event 1 (weekly, with a reminder job). */
static void
seed (void)
{
  static const char note[] = "{\"title\":\"seed\",\"body\":\"the spare key is under the pot\","
                             "\"tags\":[\"home\"]}";
  static const char task[] = "{\"description\":\"buy milk\",\"project\":\"home\",\"tags\":"
                             "[\"shop\"],\"due\":\"2030-01-01T10:00:00Z\"}";
  static const char job[] = "{\"text\":\"water the plants\",\"at\":\"2030-01-01T09:00:00Z\"}";
  static const char turn[] = "{\"text\":\"what time is it\"}";
  static const char event[] = "{\"title\":\"gym\",\"start\":\"2030-01-07T18:00:00Z\",\"rrule\":"
                              "\"FREQ=WEEKLY\",\"remind_minutes\":15}";

  reply_timeout_ms = SEED_TIMEOUT_MS;
  g_assert_cmpint (request ("POST", "/api/v1/notes", note, strlen (note)), ==, 201);
  g_assert_cmpint (request ("POST", "/api/v1/tasks", task, strlen (task)), ==, 201);
  g_assert_cmpint (request ("POST", "/api/v1/reminders", job, strlen (job)), ==, 201);
  g_assert_cmpint (request ("POST", "/api/v1/chat", turn, strlen (turn)), ==, 200);
  g_assert_cmpint (request ("POST", "/api/v1/events", event, strlen (event)), ==, 201);
  harness->seeded = TRUE;
  reply_timeout_ms = REPLY_TIMEOUT_MS;
}

/* libFuzzer calls this once before any input: the server, its store and
 * the seed requests (the first chat turn builds the intent engine, seconds
 * under ASan) must not count against the first input's -timeout.  The
 * replay driver never calls it; TestOneInput then does the same. */
int LLVMFuzzerInitialize (int *argc, char ***argv);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  if (harness == NULL)
    harness_init ();
  if (!harness->seeded)
    seed ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *nl = memchr (data, '\n', size);
  const uint8_t *sp;
  g_autofree char *method = NULL;
  g_autoptr (GString) target = g_string_new (NULL);
  size_t line_len = nl ? (size_t)(nl - data) : size;
  const char *body = nl ? (const char *)nl + 1 : "";
  size_t body_len = nl ? size - line_len - 1 : 0;

  if (harness == NULL)
    harness_init ();
  if (!harness->seeded)
    seed ();
  sp = memchr (data, ' ', line_len);
  if (sp == NULL || sp == data || sp - data > 10 || body_len > MAX_BODY)
    return 0;
  for (const uint8_t *p = data; p < sp; p++)
    if (!g_ascii_isupper (*p))
      return 0;
  method = g_strndup ((const char *)data, (size_t)(sp - data));
  for (const uint8_t *p = sp + 1; p < data + line_len; p++)
    {
      if (*p > 0x20 && *p < 0x7f)
        g_string_append_c (target, (char)*p);
      else
        g_string_append_printf (target, "%%%02X", *p);
    }
  if (excluded (method, target->str))
    return 0;
  request (method, target->str, body, body_len);
  return 0;
}
