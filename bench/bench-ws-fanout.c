/* bench-ws-fanout.c — WebSocket fan-out latency of `lares serve` to many clients.
 *
 * Usage: bench-ws-fanout [--clients N] [--rounds R] [--warmup W] [--threads T]
 *                        [--client soup|raw] LARES_BINARY
 *
 * Starts its own daemon (fresh data directory, port 0) and:
 * 1. baseline: POST /api/v1/notes with no WebSocket open (the request and
 *    its durable commit alone), and GET /healthz latency with none open;
 * 2. opens N WebSocket clients to /ws, checks on /metrics that the daemon
 *    counts N, reads its RSS and fd count, and measures GET /healthz again
 *    with N idle sockets open;
 * 3. runs W unrecorded and R recorded rounds, one at a time.  A round: take
 *    the monotonic time t0, POST a note titled "fanout-rNNNNNN", and wait
 *    until the POST answered 201 and every client received the matching
 *    note_created event.  Each client's latency is (the time its "message"
 *    handler ran) − t0: the HTTP request, the SQLite commit (WAL,
 *    synchronous=FULL), the daemon's sends to all N sockets and this
 *    process's receive path.  Also reported: the spread (receipt − the
 *    round's first receipt: fan-out without the request and commit),
 *    POST -> 201, and the daemon's CPU time per round;
 * 4. SIGTERM with all N sockets open: every client must see the daemon
 *    close it and the daemon must exit 0;
 * 5. without the daemon: the same fan-out as plain send(2) calls from this
 *    process to N loopback sockets of its own (send_floor_us_per_send), the
 *    kernel's share of the daemon's CPU per delivery on this machine.
 *
 * Results go to stdout as key=value lines; progress and errors to stderr.
 * Exit status 1 on any error or timeout.
 *
 * DESIGN
 * - Two client kinds.  soup (default): SoupSession and
 *   soup_session_websocket_connect_async, as a GLib application would do
 *   it.  raw: bench-ws-raw.c, a minimal RFC 6455 client read from an epoll
 *   loop, whose per-message cost is one read(2).  The soup client's GLib
 *   main loop polls every one of its sources on every wakeup, so with 1,000
 *   sockets it spends O(1,000) per event and its own CPU time dominates the
 *   figures; the raw client shows how much of that is the bench.
 * - The clients are split over T receiver threads (client i in thread
 *   i % T), each with its own GMainContext and SoupSession (a session is
 *   used only by the thread that made it) or epoll set.  With T = 1 one loop
 *   serves every client and later clients' figures include the time spent on
 *   the earlier ones.  Either way the bench shares the machine's CPUs with
 *   the daemon, so the figures are an upper bound on the daemon's own
 *   fan-out time.
 * - The main thread owns the rounds and the HTTP client.  Receiver threads
 *   write only their clients' slots of rx_us and bump atomic counters; the
 *   thread that completes a count wakes the main context.
 * - Every wait is bounded (run_until); the first error ends the run.
 * - Matching is a substring search for "note_created" and the title marker,
 *   not a JSON parse, to keep the receive path cheap.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libsoup/soup.h>

#include "bench-util.h"
#include "bench-ws-raw.h"
#include "lares-util.h"

#define CONNECT_WINDOW  64 /* handshakes in flight at once, over all threads */
#define CONNECT_TIMEOUT 60000
#define ROUND_TIMEOUT   10000
#define STOP_TIMEOUT    20000
#define BASELINE_ROUNDS 50  /* POSTs with no client open, recorded (as many again first) */
#define HEALTHZ_PROBES  200 /* sequential GET /healthz, each on a new connection */
#define MARKER          "fanout-r"
#define MARKER_DIGITS   6

typedef struct _Fanout Fanout;
typedef struct _Receiver Receiver;

typedef struct
{
  Fanout *f;
  unsigned index;
  SoupWebsocketConnection *conn; /* (owned) soup client; touched only by its receiver thread */
  BenchWsRaw raw;                /* raw client; likewise */
  int last_round;                /* last round received, -1 for none */
  unsigned short close_code;     /* read by the main thread once n_closed == N */
} Client;

struct _Receiver
{
  Fanout *f;
  unsigned first, count; /* clients [first, first + count) */
  unsigned next, connecting, window;
  GThread *thread;
  GMainContext *ctx;    /* (owned) soup client */
  GMainLoop *loop;      /* (owned) soup client */
  SoupSession *session; /* (owned) soup client, receiver thread only */
  int wake_fd;          /* (owned) raw client: an eventfd that stops the thread */
};

struct _Fanout
{
  GMainContext *main_ctx;    /* the default context: main thread */
  SoupSession *http_session; /* (owned) main thread only */
  char *base_url;            /* (owned) "http://127.0.0.1:PORT" */
  char *auth;                /* "Bearer <token>" for the daemon (owned) */
  unsigned port, n_clients, n_threads;
  gboolean raw;        /* --client raw: epoll + bench-ws-raw instead of libsoup */
  Client *clients;     /* (owned) array of n_clients */
  Receiver *receivers; /* (owned) array of n_threads */

  /* Shared with the receiver threads: g_atomic_* only. */
  int round; /* current round number, -1 before the first */
  int connected, received, n_closed, stopping, other_messages;
  int event_len;  /* bytes of the last round's event, as a client got it */
  int64_t *rx_us; /* (owned) per client, this round's receipt time; written by the
                   * client's thread before it increments received */

  /* Main thread only. */
  unsigned expect; /* clients that must get this round's event */
  int64_t t0_us;   /* just before the POST of the current round */
  gboolean post_done;
  double post_ms_now;
  double *lat_ms;    /* (owned) end-to-end, one per recorded delivery */
  double *spread_ms; /* (owned) receipt − first receipt of its round */
  double *post_ms;   /* (owned) POST -> 201, one per recorded round */
  double *last_ms;   /* (owned) slowest client per recorded round */
  double *base_ms;   /* (owned) POST -> 201 with no client open */
  size_t n_lat, n_rounds;

  GMutex lock;
  GError *error; /* (owned) first error, under lock; ends every wait */
};

static void fail (Fanout *f, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
fail (Fanout *f, const char *format, ...)
{
  va_list ap;

  g_mutex_lock (&f->lock);
  if (f->error == NULL)
    {
      va_start (ap, format);
      f->error = g_error_new_valist (G_IO_ERROR, G_IO_ERROR_FAILED, format, ap);
      va_end (ap);
    }
  g_mutex_unlock (&f->lock);
  g_main_context_wakeup (f->main_ctx);
}

static gboolean
failed (Fanout *f)
{
  gboolean yes;

  g_mutex_lock (&f->lock);
  yes = f->error != NULL;
  g_mutex_unlock (&f->lock);
  return yes;
}

static gboolean
on_deadline (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*DoneFunc) (Fanout *f, gpointer data);

/* Iterate the main context until DONE, an error or TIMEOUT_MS. */
static gboolean
run_until (Fanout *f, DoneFunc done, gpointer data, int timeout_ms, const char *what)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add ((guint)timeout_ms, on_deadline, &expired);

  while (!done (f, data) && !failed (f) && !expired)
    g_main_context_iteration (f->main_ctx, TRUE);
  if (!expired)
    g_source_remove (id);
  if (!failed (f) && !done (f, data))
    fail (f, "timed out after %d ms waiting for %s", timeout_ms, what);
  return !failed (f);
}

static gboolean
flag_set (Fanout *f, gpointer data)
{
  return *(gboolean *)data;
}

static void
pause_ms (Fanout *f, int ms)
{
  gboolean expired = FALSE;

  g_timeout_add ((guint)ms, on_deadline, &expired);
  while (!expired)
    g_main_context_iteration (f->main_ctx, TRUE);
}

/* ---- receiver threads ------------------------------------------------- */

/* "...note_created...fanout-r000123..." -> 123 */
static gboolean
parse_round (const char *data, size_t len, int *round)
{
  const char *m = memmem (data, len, MARKER, strlen (MARKER));
  int v = 0;

  if (m == NULL || memmem (data, len, "note_created", strlen ("note_created")) == NULL)
    return FALSE;
  m += strlen (MARKER);
  if ((size_t)(m - data) + MARKER_DIGITS > len)
    return FALSE;
  for (int i = 0; i < MARKER_DIGITS; i++)
    {
      if (!g_ascii_isdigit (m[i]))
        return FALSE;
      v = v * 10 + (m[i] - '0');
    }
  *round = v;
  return TRUE;
}

/* A text message reached client C (either client kind). */
static void
client_text (gpointer user_data, const char *data, size_t len)
{
  int64_t now = g_get_monotonic_time ();
  Client *c = user_data;
  Fanout *f = c->f;
  int round, current;

  if (!parse_round (data, len, &round))
    {
      g_atomic_int_inc (&f->other_messages);
      return;
    }
  current = g_atomic_int_get (&f->round);
  if (round != current || c->last_round == round)
    {
      fail (f, "client %u: unexpected event for round %d during round %d", c->index, round,
            current);
      return;
    }
  c->last_round = round;
  f->rx_us[c->index] = now;
  g_atomic_int_set (&f->event_len, (int)len);
  if (g_atomic_int_add (&f->received, 1) + 1 == (int)f->n_clients)
    g_main_context_wakeup (f->main_ctx);
}

static void
client_closed (Client *c, unsigned short code)
{
  Fanout *f = c->f;

  c->close_code = code;
  if (!g_atomic_int_get (&f->stopping))
    fail (f, "client %u: connection closed by the daemon (code %u)", c->index, c->close_code);
  if (g_atomic_int_add (&f->n_closed, 1) + 1 == (int)f->n_clients)
    g_main_context_wakeup (f->main_ctx);
}

static void
on_message (SoupWebsocketConnection *conn, int type, GBytes *message, gpointer user_data)
{
  Client *c = user_data;
  size_t len = 0;
  const char *data = g_bytes_get_data (message, &len);

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      g_atomic_int_inc (&c->f->other_messages);
      return;
    }
  client_text (c, data, len);
}

static void
on_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  client_closed (user_data, soup_websocket_connection_get_close_code (conn));
}

static void receiver_connect_next (Receiver *r);

static void
connect_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Client *c = user_data;
  Fanout *f = c->f;
  Receiver *r = &f->receivers[c->index % f->n_threads];
  g_autoptr (GError) error = NULL;

  c->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  r->connecting--;
  if (c->conn == NULL)
    {
      fail (f, "client %u: websocket connect: %s", c->index, error->message);
      return;
    }
  g_signal_connect (c->conn, "message", G_CALLBACK (on_message), c);
  g_signal_connect (c->conn, "closed", G_CALLBACK (on_closed), c);
  if (g_atomic_int_add (&f->connected, 1) + 1 == (int)f->n_clients)
    g_main_context_wakeup (f->main_ctx);
  receiver_connect_next (r);
}

/* Client i belongs to receiver i % T. */
static void
receiver_connect_next (Receiver *r)
{
  Fanout *f = r->f;
  g_autofree char *url = g_strconcat (f->base_url, "/ws", NULL);

  while (!failed (f) && r->connecting < r->window && r->next < r->count)
    {
      Client *c = &f->clients[r->first + r->next++ * f->n_threads];
      g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    f->auth);
      r->connecting++;
      soup_session_websocket_connect_async (r->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                            connect_done, c);
    }
}

static gpointer
soup_receiver_main (gpointer data)
{
  Receiver *r = data;
  Fanout *f = r->f;

  g_main_context_push_thread_default (r->ctx);
  /* No connection limits in the way of the handshakes, no deflate offer
   * (the daemon refuses it anyway), no proxy, bounded I/O. */
  r->session = soup_session_new_with_options ("max-conns", r->count + 16, "max-conns-per-host",
                                              r->count + 16, "timeout", 30, NULL);
  soup_session_remove_feature_by_type (r->session, SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
  soup_session_set_proxy_resolver (r->session, NULL);
  receiver_connect_next (r);
  g_main_loop_run (r->loop);
  for (unsigned i = 0; i < r->count; i++)
    {
      Client *c = &f->clients[r->first + i * f->n_threads];

      if (c->conn)
        {
          g_signal_handlers_disconnect_by_data (c->conn, c);
          g_clear_object (&c->conn);
        }
    }
  g_clear_object (&r->session);
  while (g_main_context_iteration (r->ctx, FALSE))
    ;
  g_main_context_pop_thread_default (r->ctx);
  return NULL;
}

#define RAW_EVENTS 256

static void
raw_connect_all (Receiver *r, int epfd)
{
  Fanout *f = r->f;

  for (unsigned i = 0; i < r->count && !failed (f); i++)
    {
      Client *c = &f->clients[r->first + i * f->n_threads];
      struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
      g_autoptr (GError) error = NULL;

      if (!bench_ws_raw_open (&c->raw, f->port, "/ws", f->auth, 10000, &error))
        {
          fail (f, "client %u: websocket connect: %s", c->index, error->message);
          return;
        }
      if (epoll_ctl (epfd, EPOLL_CTL_ADD, c->raw.fd, &ev) != 0)
        {
          fail (f, "epoll_ctl: %s", g_strerror (errno));
          return;
        }
      if (g_atomic_int_add (&f->connected, 1) + 1 == (int)f->n_clients)
        g_main_context_wakeup (f->main_ctx);
    }
}

/* Raw clients: blocking handshakes one after another, then one epoll loop
 * that reads each readable socket once per wakeup. */
static gpointer
raw_receiver_main (gpointer data)
{
  Receiver *r = data;
  Fanout *f = r->f;
  struct epoll_event wake = { .events = EPOLLIN, .data.ptr = NULL };
  struct epoll_event events[RAW_EVENTS];
  gboolean running = TRUE;
  int epfd = epoll_create1 (EPOLL_CLOEXEC);

  if (epfd < 0 || epoll_ctl (epfd, EPOLL_CTL_ADD, r->wake_fd, &wake) != 0)
    {
      fail (f, "epoll: %s", g_strerror (errno));
      running = FALSE;
    }
  else
    raw_connect_all (r, epfd);
  while (running)
    {
      int n = epoll_wait (epfd, events, RAW_EVENTS, -1);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          fail (f, "epoll_wait: %s", g_strerror (errno));
          break;
        }
      for (int i = 0; i < n; i++)
        {
          Client *c = events[i].data.ptr;
          g_autoptr (GError) error = NULL;
          unsigned short code = 0;
          int rc;

          if (c == NULL)
            {
              running = FALSE;
              continue;
            }
          if (c->raw.fd < 0)
            continue;
          rc = bench_ws_raw_read (&c->raw, client_text, c, &code, &error);
          if (rc == 0)
            client_closed (c, code); /* closing the fd left the epoll set */
          else if (rc < 0)
            fail (f, "client %u: %s", c->index, error->message);
        }
    }
  for (unsigned i = 0; i < r->count; i++)
    bench_ws_raw_clear (&f->clients[r->first + i * f->n_threads].raw);
  if (epfd >= 0)
    close (epfd);
  return NULL;
}

/* ---- main thread -------------------------------------------------------- */

typedef struct
{
  gboolean done;
  unsigned status;
  GBytes *body; /* (owned) */
  GError *error;
} HttpWait;

static void
http_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  HttpWait *w = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);

  w->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &w->error);
  w->status = msg ? soup_message_get_status (msg) : 0;
  w->done = TRUE;
}

/* GET /metrics and return the value of METRIC, or -1. */
static double
scrape_metric (Fanout *f, const char *metric)
{
  g_autofree char *url = g_strconcat (f->base_url, "/metrics", NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  g_autofree char *text = NULL;
  g_autofree char *needle = g_strconcat ("\n", metric, " ", NULL);
  HttpWait w = { 0 };
  const char *p;
  double v = -1;

  soup_session_send_and_read_async (f->http_session, msg, G_PRIORITY_DEFAULT, NULL, http_done, &w);
  if (!run_until (f, flag_set, &w.done, 10000, "GET /metrics"))
    goto out;
  if (w.error || w.status != 200)
    {
      fail (f, "GET /metrics: %s", w.error ? w.error->message : soup_status_get_phrase (w.status));
      goto out;
    }
  text = g_strndup (g_bytes_get_data (w.body, NULL), g_bytes_get_size (w.body));
  p = strstr (text, needle);
  if (p)
    v = g_ascii_strtod (p + strlen (needle), NULL);
out:
  g_clear_pointer (&w.body, g_bytes_unref);
  g_clear_error (&w.error);
  return v;
}

static void
post_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  int64_t now = g_get_monotonic_time ();
  Fanout *f = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body =
      soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);

  if (body == NULL)
    {
      fail (f, "round %d: POST /api/v1/notes: %s", f->round, error->message);
      return;
    }
  if (soup_message_get_status (msg) != SOUP_STATUS_CREATED)
    {
      fail (f, "round %d: POST /api/v1/notes answered %u: %.200s", f->round,
            soup_message_get_status (msg), (const char *)g_bytes_get_data (body, NULL));
      return;
    }
  f->post_ms_now = (double)(now - f->t0_us) / 1000.0;
  f->post_done = TRUE;
}

static gboolean
round_done (Fanout *f, gpointer data)
{
  return f->post_done && (unsigned)g_atomic_int_get (&f->received) == f->expect;
}

static void
record_round (Fanout *f)
{
  int64_t first = G_MAXINT64;
  double slowest = 0;

  for (unsigned i = 0; i < f->n_clients; i++)
    first = MIN (first, f->rx_us[i]);
  for (unsigned i = 0; i < f->n_clients; i++)
    {
      double ms = (double)(f->rx_us[i] - f->t0_us) / 1000.0;

      f->lat_ms[f->n_lat] = ms;
      f->spread_ms[f->n_lat] = (double)(f->rx_us[i] - first) / 1000.0;
      f->n_lat++;
      slowest = MAX (slowest, ms);
    }
  f->post_ms[f->n_rounds] = f->post_ms_now;
  f->last_ms[f->n_rounds++] = slowest;
}

static gboolean
run_round (Fanout *f, int round, gboolean record, unsigned expect)
{
  g_autofree char *url = g_strconcat (f->base_url, "/api/v1/notes", NULL);
  g_autofree char *json =
      g_strdup_printf ("{\"title\":\"" MARKER "%0*d\",\"body\":\"bench-ws-fanout round %d\"}",
                       MARKER_DIGITS, round, round);
  size_t json_len = strlen (json);
  g_autoptr (SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr (GBytes) body = g_bytes_new_take (g_steal_pointer (&json), json_len);

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", f->auth);

  g_atomic_int_set (&f->received, 0);
  g_atomic_int_set (&f->round, round);
  f->expect = expect;
  f->post_done = FALSE;
  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  /* libsoup opens a new connection for every non-idempotent request; a
   * browser reuses its keep-alive connection, and so do we.  Should libsoup
   * ever resend, the duplicate event fails the run ("unexpected event"). */
  soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT);
  f->t0_us = g_get_monotonic_time ();
  soup_session_send_and_read_async (f->http_session, msg, G_PRIORITY_DEFAULT, NULL, post_done, f);
  if (!run_until (f, round_done, NULL, ROUND_TIMEOUT, "a round to reach every client"))
    {
      g_mutex_lock (&f->lock);
      g_prefix_error (&f->error, "round %d (%d of %u clients got the event): ", round,
                      g_atomic_int_get (&f->received), expect);
      g_mutex_unlock (&f->lock);
      return FALSE;
    }
  if (record)
    record_round (f);
  return TRUE;
}

static int64_t
self_cpu_us (void)
{
  struct rusage ru;

  if (getrusage (RUSAGE_SELF, &ru) != 0)
    return 0;
  return (int64_t)ru.ru_utime.tv_sec * G_USEC_PER_SEC + ru.ru_utime.tv_usec +
         (int64_t)ru.ru_stime.tv_sec * G_USEC_PER_SEC + ru.ru_stime.tv_usec;
}

static void
print_dist (const char *key, double *v, size_t n)
{
  bench_sort (v, n);
  printf ("fanout.%s_p50_ms=%.3f\n", key, bench_percentile (v, n, 50));
  printf ("fanout.%s_p90_ms=%.3f\n", key, bench_percentile (v, n, 90));
  printf ("fanout.%s_p99_ms=%.3f\n", key, bench_percentile (v, n, 99));
  printf ("fanout.%s_max_ms=%.3f\n", key, n ? v[n - 1] : 0.0);
}

/* Sequential GET /healthz, each on a new loopback connection, from this
 * thread with blocking sockets: what one request costs the daemon with
 * KEY's number of idle WebSockets open. */
static gboolean
probe_healthz (Fanout *f, BenchDaemon *d, const char *key)
{
  g_autofree double *ms = g_new (double, HEALTHZ_PROBES);
  g_autoptr (GError) error = NULL;

  for (int i = 0; i < HEALTHZ_PROBES; i++)
    {
      int64_t t0 = g_get_monotonic_time ();
      int status = 0;

      if (!bench_http_get_status (d->port, "/healthz", 5000, &status, &error) || status != 200)
        {
          fail (f, "GET /healthz: %s", error ? error->message : "not 200");
          return FALSE;
        }
      ms[i] = (double)(g_get_monotonic_time () - t0) / 1000.0;
    }
  bench_sort (ms, HEALTHZ_PROBES);
  printf ("fanout.healthz_%s_p50_ms=%.3f\n", key, bench_percentile (ms, HEALTHZ_PROBES, 50));
  printf ("fanout.healthz_%s_p99_ms=%.3f\n", key, bench_percentile (ms, HEALTHZ_PROBES, 99));
  return TRUE;
}

/* POST -> 201 with no WebSocket open: the request and the durable commit
 * alone.  Uses rounds 0 .. 2 * N - 1, the first half unrecorded. */
static gboolean
run_baseline (Fanout *f, BenchDaemon *d, int n)
{
  int64_t cpu0 = 0;

  for (int r = 0; r < 2 * n; r++)
    {
      /* schedstat, not /proc/PID/stat: 50 POSTs take well under one
       * 10 ms clock tick of CPU each. */
      if (r == n)
        cpu0 = bench_proc_threads_cpu_us (d->pid);
      if (!run_round (f, r, FALSE, 0))
        return FALSE;
      if (r >= n)
        f->base_ms[r - n] = f->post_ms_now;
    }
  bench_sort (f->base_ms, n);
  printf ("fanout.base_post_p50_ms=%.3f\n", bench_percentile (f->base_ms, n, 50));
  printf ("fanout.base_post_p99_ms=%.3f\n", bench_percentile (f->base_ms, n, 99));
  printf ("fanout.base_daemon_cpu_us_per_post=%.0f\n",
          (double)(bench_proc_threads_cpu_us (d->pid) - cpu0) / n);
  return TRUE;
}

static gboolean
all_connected (Fanout *f, gpointer data)
{
  return (unsigned)g_atomic_int_get (&f->connected) == f->n_clients;
}

static gboolean
connect_all (Fanout *f, BenchDaemon *d)
{
  int64_t t0 = g_get_monotonic_time ();
  double counted;

  for (unsigned t = 0; t < f->n_threads; t++)
    {
      Receiver *r = &f->receivers[t];
      g_autofree char *name = g_strdup_printf ("receiver-%u", t);

      r->thread = g_thread_new (name, f->raw ? raw_receiver_main : soup_receiver_main, r);
    }
  if (!run_until (f, all_connected, NULL, CONNECT_TIMEOUT, "all WebSocket handshakes"))
    return FALSE;
  printf ("fanout.connect_all_ms=%.1f\n", (double)(g_get_monotonic_time () - t0) / 1000.0);
  pause_ms (f, 1000);
  counted = scrape_metric (f, "lares_ws_connections");
  if (failed (f))
    return FALSE;
  if (counted != (double)f->n_clients)
    {
      fail (f, "the daemon reports %.0f open WebSockets, expected %u", counted, f->n_clients);
      return FALSE;
    }
  printf ("fanout.open_rss_kib=%" G_GUINT64_FORMAT "\n", bench_proc_status_kib (d->pid, "VmRSS"));
  printf ("fanout.open_fds=%d\n", bench_proc_fd_count (d->pid));
  fprintf (stderr, "bench-ws-fanout: %u clients open, daemon RSS %" G_GUINT64_FORMAT " KiB\n",
           f->n_clients, bench_proc_status_kib (d->pid, "VmRSS"));
  return TRUE;
}

static gboolean
run_rounds (Fanout *f, BenchDaemon *d, int first, int warmup, int rounds)
{
  int64_t cpu0, cpu1, self0, self1, t0, t1;

  for (int r = 0; r < warmup; r++)
    if (!run_round (f, first + r, FALSE, f->n_clients))
      return FALSE;
  first += warmup;
  cpu0 = bench_proc_cpu_us (d->pid);
  self0 = self_cpu_us ();
  t0 = g_get_monotonic_time ();
  for (int r = 0; r < rounds; r++)
    if (!run_round (f, first + r, TRUE, f->n_clients))
      return FALSE;
  t1 = g_get_monotonic_time ();
  cpu1 = bench_proc_cpu_us (d->pid);
  self1 = self_cpu_us ();
  printf ("fanout.rounds_wall_ms=%.1f\n", (double)(t1 - t0) / 1000.0);
  printf ("fanout.daemon_cpu_us_per_round=%.0f\n", (double)(cpu1 - cpu0) / rounds);
  printf ("fanout.daemon_cpu_us_per_delivery=%.2f\n",
          (double)(cpu1 - cpu0) / ((double)rounds * f->n_clients));
  printf ("fanout.bench_cpu_us_per_round=%.0f\n", (double)(self1 - self0) / rounds);
  printf ("fanout.after_rss_kib=%" G_GUINT64_FORMAT "\n", bench_proc_status_kib (d->pid, "VmRSS"));
  printf ("fanout.hwm_kib=%" G_GUINT64_FORMAT "\n", bench_proc_status_kib (d->pid, "VmHWM"));
  printf ("fanout.deliveries=%zu\n", f->n_lat);
  printf ("fanout.other_messages=%d\n", g_atomic_int_get (&f->other_messages));
  print_dist ("lat", f->lat_ms, f->n_lat);
  print_dist ("spread", f->spread_ms, f->n_lat);
  print_dist ("last", f->last_ms, f->n_rounds);
  print_dist ("post", f->post_ms, f->n_rounds);
  fprintf (stderr,
           "bench-ws-fanout: %zu deliveries: POST->event p50 %.3f / p99 %.3f / max %.3f ms\n",
           f->n_lat, bench_percentile (f->lat_ms, f->n_lat, 50),
           bench_percentile (f->lat_ms, f->n_lat, 99), f->lat_ms[f->n_lat - 1]);
  return TRUE;
}

/* The first line of the daemon's log that contains WORD, or NULL. */
static char *
log_line_with (BenchDaemon *d, const char *word)
{
  g_autofree char *text = NULL;
  const char *p, *start, *end;

  if (!g_file_get_contents (d->log_path, &text, NULL, NULL) || (p = strstr (text, word)) == NULL)
    return NULL;
  for (start = p; start > text && start[-1] != '\n'; start--)
    ;
  end = strchr (p, '\n');
  return g_strndup (start, end ? (size_t)(end - start) : strlen (start));
}

static gboolean
all_closed (Fanout *f, gpointer data)
{
  return (unsigned)g_atomic_int_get (&f->n_closed) == f->n_clients;
}

/* SIGTERM with every client still open: all must be closed by the daemon
 * and it must exit 0. */
static gboolean
stop_with_clients (Fanout *f, BenchDaemon *d)
{
  int64_t t0 = g_get_monotonic_time ();
  g_autofree char *warning = NULL;
  g_autoptr (GError) error = NULL;
  int64_t closed_us;
  unsigned going_away = 0;
  double stop_ms;
  int code = -1;

  g_atomic_int_set (&f->stopping, 1);
  if (kill (d->pid, SIGTERM) != 0)
    {
      fail (f, "kill(SIGTERM): %s", g_strerror (errno));
      return FALSE;
    }
  if (!run_until (f, all_closed, NULL, STOP_TIMEOUT, "the daemon to close every WebSocket"))
    return FALSE;
  closed_us = g_get_monotonic_time ();
  if (!bench_daemon_reap (d, STOP_TIMEOUT, &code, &error))
    {
      fail (f, "%s", error->message);
      return FALSE;
    }
  for (unsigned i = 0; i < f->n_clients; i++)
    going_away += f->clients[i].close_code == SOUP_WEBSOCKET_CLOSE_GOING_AWAY;
  stop_ms = (double)(g_get_monotonic_time () - t0) / 1000.0;
  printf ("fanout.stop_ms=%.1f\n", stop_ms);
  printf ("fanout.stop_all_closed_ms=%.1f\n", (double)(closed_us - t0) / 1000.0);
  printf ("fanout.stop_close_1001=%u\n", going_away);
  printf ("fanout.stop_exit_code=%d\n", code);
  warning = log_line_with (d, "WARN");
  if (warning)
    printf ("fanout.stop_warning=%s\n", warning);
  if (stop_ms > 1000)
    {
      fprintf (stderr, "bench-ws-fanout: note: SIGTERM -> exit took %.0f ms\n", stop_ms);
      bench_daemon_dump_log (d);
    }
  if (code != 0)
    fail (f, "the daemon exited with status %d after SIGTERM", code);
  return !failed (f);
}

static void
fanout_clear (Fanout *f)
{
  for (unsigned t = 0; f->receivers && t < f->n_threads; t++)
    {
      Receiver *r = &f->receivers[t];

      if (r->thread)
        {
          uint64_t one = 1;

          if (f->raw)
            (void)!write (r->wake_fd, &one, sizeof one);
          else
            g_main_loop_quit (r->loop);
          g_thread_join (r->thread);
        }
      g_clear_pointer (&r->loop, g_main_loop_unref);
      g_clear_pointer (&r->ctx, g_main_context_unref);
      if (r->wake_fd >= 0)
        close (r->wake_fd);
    }
  g_clear_pointer (&f->receivers, g_free);
  g_clear_pointer (&f->clients, g_free);
  g_clear_object (&f->http_session);
  g_clear_pointer (&f->base_url, g_free);
  g_clear_pointer (&f->auth, g_free);
  g_clear_pointer (&f->rx_us, g_free);
  g_clear_pointer (&f->lat_ms, g_free);
  g_clear_pointer (&f->spread_ms, g_free);
  g_clear_pointer (&f->post_ms, g_free);
  g_clear_pointer (&f->last_ms, g_free);
  g_clear_pointer (&f->base_ms, g_free);
  g_clear_error (&f->error);
  g_mutex_clear (&f->lock);
}

static void
fanout_init (Fanout *f, unsigned n_clients, unsigned n_threads, gboolean raw, int rounds,
             unsigned port)
{
  memset (f, 0, sizeof *f);
  f->raw = raw;
  f->port = port;
  g_mutex_init (&f->lock);
  f->main_ctx = g_main_context_default ();
  f->n_clients = n_clients;
  f->n_threads = n_threads;
  f->round = -1;
  f->clients = g_new0 (Client, n_clients);
  for (unsigned i = 0; i < n_clients; i++)
    {
      f->clients[i].f = f;
      f->clients[i].index = i;
      f->clients[i].last_round = -1;
      f->clients[i].raw.fd = -1;
    }
  f->receivers = g_new0 (Receiver, n_threads);
  for (unsigned t = 0; t < n_threads; t++)
    {
      Receiver *r = &f->receivers[t];

      r->f = f;
      r->first = t;
      r->count = n_clients / n_threads + (t < n_clients % n_threads);
      r->window = MAX (4, CONNECT_WINDOW / n_threads);
      r->wake_fd = -1;
      if (raw)
        r->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
      else
        {
          r->ctx = g_main_context_new ();
          r->loop = g_main_loop_new (r->ctx, FALSE);
        }
    }
  f->rx_us = g_new0 (int64_t, n_clients);
  f->lat_ms = g_new (double, (size_t)rounds *n_clients);
  f->spread_ms = g_new (double, (size_t)rounds *n_clients);
  f->post_ms = g_new (double, rounds);
  f->last_ms = g_new (double, rounds);
  f->base_ms = g_new (double, BASELINE_ROUNDS);
  f->base_url = g_strdup_printf ("http://127.0.0.1:%u", port);
  f->http_session = soup_session_new_with_options ("timeout", 10, NULL);
  /* Loopback only: no system proxy (libproxy would also run a lookup in a
   * worker thread for every request). */
  soup_session_set_proxy_resolver (f->http_session, NULL);
}

/* ---- the kernel's share ------------------------------------------------ */

/* The same fan-out without lares: this process sends a frame of the
 * event's size with plain send(2) to N loopback TCP sockets of its own
 * (TCP_NODELAY, as the daemon's), read by one epoll thread the way the raw
 * client reads.  On loopback the sender's system call also runs the
 * receiving side of each packet, so the sender's CPU time per send is the
 * floor under the daemon's CPU per delivery on this machine. */
typedef struct
{
  int ep;      /* epoll set of the receiving ends */
  int done_fd; /* eventfd: the round's bytes are all in */
  int target;  /* g_atomic: bytes expected this round */
  int stop;    /* g_atomic */
} SendFloor;

static gpointer
send_floor_reader (gpointer data)
{
  SendFloor *s = data;
  struct epoll_event ev[256];
  char buf[16384];
  int got = 0;

  while (!g_atomic_int_get (&s->stop))
    {
      int n = epoll_wait (s->ep, ev, G_N_ELEMENTS (ev), 100);
      for (int i = 0; i < n; i++)
        {
          ssize_t r = read (ev[i].data.fd, buf, sizeof buf);
          uint64_t one = 1;

          if (r <= 0)
            continue;
          got += (int)r;
          if (got < g_atomic_int_get (&s->target))
            continue;
          got = 0;
          if (write (s->done_fd, &one, sizeof one) < 0)
            return NULL;
        }
    }
  return NULL;
}

static double
thread_cpu_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Sender CPU µs per send over @rounds rounds (after 10 unrecorded), or a
 * negative value on failure. */
static double
measure_send_floor (unsigned n, size_t size, int rounds)
{
  SendFloor s = { .ep = epoll_create1 (EPOLL_CLOEXEC), .done_fd = eventfd (0, EFD_CLOEXEC) };
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t alen = sizeof addr;
  g_autofree int *snd = g_new (int, n);
  g_autofree int *rcv = g_new (int, n);
  g_autofree char *payload = g_malloc (size);
  GThread *reader = NULL;
  int one = 1, lfd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  unsigned opened = 0;
  double cpu = 0, result = -1;

  memset (payload, 'x', size);
  if (s.ep < 0 || s.done_fd < 0 || lfd < 0 || bind (lfd, (struct sockaddr *)&addr, alen) < 0 ||
      listen (lfd, (int)n) < 0 || getsockname (lfd, (struct sockaddr *)&addr, &alen) < 0)
    goto out;
  for (; opened < n; opened++)
    {
      struct epoll_event ev = { .events = EPOLLIN };

      rcv[opened] = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (rcv[opened] < 0)
        goto out;
      if (connect (rcv[opened], (struct sockaddr *)&addr, alen) < 0 ||
          (snd[opened] = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0)
        {
          close (rcv[opened]);
          goto out;
        }
      setsockopt (snd[opened], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ev.data.fd = rcv[opened];
      epoll_ctl (s.ep, EPOLL_CTL_ADD, rcv[opened], &ev);
    }
  g_atomic_int_set (&s.target, (int)(n * size));
  reader = g_thread_new ("send-floor", send_floor_reader, &s);
  for (int r = 0; r < 10 + rounds; r++)
    {
      struct pollfd pfd = { .fd = s.done_fd, .events = POLLIN };
      double t0 = thread_cpu_us ();
      uint64_t count;

      for (unsigned i = 0; i < n; i++)
        if (send (snd[i], payload, size, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)size)
          goto out;
      if (r >= 10)
        cpu += thread_cpu_us () - t0;
      if (poll (&pfd, 1, ROUND_TIMEOUT) != 1 || read (s.done_fd, &count, sizeof count) < 0)
        goto out;
    }
  result = cpu / rounds / n;
out:
  if (reader)
    {
      g_atomic_int_set (&s.stop, 1);
      g_thread_join (reader);
    }
  for (unsigned i = 0; i < opened; i++)
    {
      close (snd[i]);
      close (rcv[i]);
    }
  if (lfd >= 0)
    close (lfd);
  if (s.ep >= 0)
    close (s.ep);
  if (s.done_fd >= 0)
    close (s.done_fd);
  return result;
}

int
main (int argc, char **argv)
{
  int n_clients = 1000, rounds = 200, warmup = 10, threads = 1;
  g_autofree char *client = NULL;
  GOptionEntry entries[] = {
    { "clients", 'c', 0, G_OPTION_ARG_INT, &n_clients, "WebSocket clients (default 1000)", "N" },
    { "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds, "Recorded rounds (default 200)", "R" },
    { "warmup", 'w', 0, G_OPTION_ARG_INT, &warmup, "Unrecorded rounds first (default 10)", "W" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Receiver threads (default 1)", "T" },
    { "client", 0, 0, G_OPTION_ARG_STRING, &client,
      "soup (libsoup SoupSession, default) or raw (epoll + minimal RFC 6455 client)", "KIND" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("LARES_BINARY");
  g_autoptr (GError) error = NULL;
  g_autofree char *root = NULL;
  g_autofree char *data = NULL;
  g_autofree char *log = NULL;
  BenchDaemon d = { .stdout_fd = -1 };
  Fanout f;
  int64_t spawned;
  uint64_t fd_limit;
  int rc = 1;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2 || n_clients < 1 ||
      rounds < 1 || warmup < 0 || threads < 1 || threads > n_clients ||
      (client && g_strcmp0 (client, "soup") != 0 && g_strcmp0 (client, "raw") != 0) ||
      2 * BASELINE_ROUNDS + warmup + rounds > 999999)
    {
      fprintf (stderr,
               "usage: bench-ws-fanout [--clients N] [--rounds R] [--warmup W] [--threads T] "
               "[--client soup|raw] LARES_BINARY%s%s\n",
               error ? ": " : "", error ? error->message : "");
      return 2;
    }
  fd_limit = lares_raise_fd_limit ();
  if (fd_limit < (uint64_t)n_clients + 64)
    {
      fprintf (stderr,
               "bench-ws-fanout: RLIMIT_NOFILE is %" G_GUINT64_FORMAT
               ", too low for %d clients (raise the hard limit)\n",
               fd_limit, n_clients);
      return 1;
    }

  root = bench_make_tmp_dir (&error);
  if (root == NULL)
    goto out;
  data = g_build_filename (root, "data", NULL);
  log = g_build_filename (root, "stderr.log", NULL);
  if (!bench_daemon_spawn (&d, argv[1], data, root, log, &spawned, &error) ||
      !bench_daemon_wait_listening (&d, 10000, &error))
    goto out;

  fanout_init (&f, (unsigned)n_clients, (unsigned)threads, g_strcmp0 (client, "raw") == 0, rounds,
               d.port);
  /* Every /api/v1 route and /ws needs credentials: an admin token. */
  f.auth = bench_make_token (argv[1], data, &error);
  if (f.auth == NULL)
    goto out;
  pause_ms (&f, 500);
  printf ("fanout.clients=%u\n", f.n_clients);
  printf ("fanout.threads=%u\n", f.n_threads);
  printf ("fanout.client=%s\n", f.raw ? "raw" : "soup");
  printf ("fanout.rounds=%d\n", rounds);
  printf ("fanout.warmup=%d\n", warmup);
  printf ("fanout.baseline_posts=%d\n", BASELINE_ROUNDS);
  printf ("fanout.healthz_probes=%d\n", HEALTHZ_PROBES);
  printf ("fanout.connect_window=%d\n", CONNECT_WINDOW);
  printf ("fanout.before_rss_kib=%" G_GUINT64_FORMAT "\n", bench_proc_status_kib (d.pid, "VmRSS"));
  if (!probe_healthz (&f, &d, "ws0") || !run_baseline (&f, &d, BASELINE_ROUNDS) ||
      !connect_all (&f, &d) || !probe_healthz (&f, &d, "wsN") ||
      !run_rounds (&f, &d, 2 * BASELINE_ROUNDS, warmup, rounds) || !stop_with_clients (&f, &d))
    {
      g_mutex_lock (&f.lock);
      error = g_steal_pointer (&f.error);
      g_mutex_unlock (&f.lock);
    }
  else
    {
      /* The event's frame: its text and a 2- or 4-byte header. */
      size_t len = (size_t)g_atomic_int_get (&f.event_len);
      size_t frame = len + (len < 126 ? 2 : 4);
      double floor_us = measure_send_floor (f.n_clients, frame, rounds);

      printf ("fanout.send_floor_bytes=%zu\n", frame);
      if (floor_us >= 0)
        printf ("fanout.send_floor_us_per_send=%.2f\n", floor_us);
      else
        fprintf (stderr, "bench-ws-fanout: the send(2) floor could not be measured: %s\n",
                 g_strerror (errno));
      rc = 0;
    }
  fanout_clear (&f);
out:
  if (error)
    {
      fprintf (stderr, "bench-ws-fanout: error: %s\n", error->message);
      bench_daemon_dump_log (&d);
    }
  fflush (stdout);
  bench_daemon_clear (&d);
  if (root)
    bench_rm_rf (root);
  return rc;
}
