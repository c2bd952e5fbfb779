/* bench-load.c — load and soak harness for `lares serve` (issue 8).
 *
 * Usage: bench-load MODE [OPTION...] LARES_BINARY FAKE_LLM
 *
 * Starts its own daemon (fresh data directory, 127.0.0.1, port 0) and, for
 * the modes that chat, tests/fake-llm.  Modes:
 *
 *   ws     --clients N WebSocket clients (default 1,000) of one user, then
 *          events published through REST writes at --rate per second
 *          (open loop; notes, tasks and reminders in turn).  Latency of an
 *          event = a client's receipt − the write's scheduled send time;
 *          every client must get every acknowledged write's event once.
 *          Ends with SIGTERM while all clients are open: each must be
 *          closed with 1001 and the daemon must exit 0.
 *   chat   --conc concurrent chat turns (default 100) held in flight for
 *          --seconds (closed loop: a slot sends its next turn when the last
 *          one ended; the slots' first turns are spread over one turn's
 *          length, or turns of equal length would keep every slot in step
 *          and the load would be a burst of --conc requests each turn),
 *          `POST /api/v1/chat` with `Accept: text/event-stream`,
 *          against a fake LLM pacing its answer (--first-delay, --tokens,
 *          --token-delay).  Added latency = time to the first `token` event
 *          − the fake's first-token delay.
 *   rest   a mixed REST workload at a fixed --rate (open loop, default 200
 *          requests/s): note and task creation, task completion, full-text
 *          search and the urgency-sorted task list.  Latency is measured
 *          from each request's scheduled send time, so a stalled daemon
 *          cannot hide its backlog (no coordinated omission).
 *   soak   everything at once for --seconds (default 600): REST at --rate
 *          (default 40/s), chat turns at --chat-rate (default 4/s, open
 *          loop), and --clients WebSocket clients (default 50) of which one
 *          is dropped and replaced every --churn-ms (default 200; abrupt
 *          closes and closing handshakes in turn).  Every --sample seconds
 *          the daemon's RSS, open descriptors, threads and CPU are printed;
 *          the run fails if RSS or descriptors grow past the bounds below
 *          after the warm-up.
 *
 * Every mode reports p50/p99/max latency and error counts per request kind,
 * the daemon's RSS (VmRSS, VmHWM from /proc/PID/status) and CPU (utime +
 * stime from /proc/PID/stat) over the measured window, this process's CPU,
 * and how busy the whole machine was.  Then it stops the daemon with
 * SIGTERM, opens its database and checks that every acknowledged write
 * (each 201's id) is there: `writes_lost` must be 0.  Results go to stdout
 * as key=value lines (load.MODE.KEY); progress and errors to stderr.  Exit
 * status 1 on any error, lost write, or soak bound exceeded; 2 on usage.
 *
 * Soak bounds (after a warm-up of max(--window, 10 % of the run); --window
 * defaults to 60 s): the largest RSS of the last window may exceed the
 * largest of the first window after warm-up by at most SOAK_RSS_SLACK_KIB
 * plus 10 %, and the fewest open descriptors of the last window (the
 * floor, with nothing in flight) may exceed the first window's floor by at
 * most SOAK_FD_SLACK.  Any failed request fails the soak too.  A leak of one
 * object per request or connection shows as a rising floor within minutes;
 * caches that fill up to a fixed size do not.
 *
 * DESIGN
 * - One thread, one epoll loop, non-blocking sockets, HTTP/1.1 written by
 *   hand.  The daemon closes every connection after its response
 *   (docs/internals/http.md), so every request opens a new connection, as
 *   any client of it does; a response ends at EOF.
 * - WebSocket clients are bench-ws-raw.c's (blocking handshake, then
 *   non-blocking reads from this loop).  Opening one blocks the loop for
 *   the handshake, a few hundred microseconds on loopback; the soak's
 *   churn does that once per --churn-ms.
 * - Open-loop generators submit every request whose scheduled time has
 *   come at each loop pass; epoll_wait sleeps until the next one is due
 *   (millisecond resolution).  In-flight requests are capped (MAX_INFLIGHT)
 *   only to stay within file descriptors: a request over the cap waits, and
 *   its latency still counts from its scheduled time.
 * - Every request has a deadline (REQUEST_TIMEOUT_MS); a request past it is
 *   an error of its kind.  Every wait of the harness is bounded.
 * - Timestamps are g_get_monotonic_time() taken once per read(2).  The
 *   harness shares the machine's cores with the daemon and the fake LLM, so
 *   latencies are upper bounds on the daemon's own; CPU time from /proc is
 *   the steadier figure on a shared machine.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "bench-util.h"
#include "bench-ws-raw.h"

#define START_TIMEOUT_MS   15000
#define REQUEST_TIMEOUT_MS 30000
#define DRAIN_TIMEOUT_MS   30000
#define STOP_TIMEOUT_MS    30000
#define MAX_INFLIGHT       768
#define MARK               "load-e"
#define MARK_DIGITS        7
#define CHAT_PROMPT        "Say hi."
#define SOAK_RSS_SLACK_KIB (8 * 1024)
#define SOAK_FD_SLACK      8

typedef enum
{
  K_NOTE,
  K_TASK,
  K_DONE,
  K_SEARCH,
  K_LIST,
  K_REMIND,
  K_CHAT,
  K_N
} Kind;

static const char *const kind_names[K_N] = {
  "note_create", "task_create", "task_done", "search", "task_list", "reminder_create", "chat",
};

typedef enum
{
  OBJ_HTTP = 1,
  OBJ_WS,
} ObjType;

typedef struct
{
  GArray *lat;  /* double ms, recorded requests that succeeded */
  GArray *ttft; /* chat: double ms to the first token event */
  uint64_t ok, err_status, err_io, err_timeout;
  char last_error[160];
} Stats;

typedef struct _Load Load;

typedef struct
{
  ObjType type; /* first: epoll data points here */
  Load *l;
  int fd;
  Kind kind;
  gboolean record; /* scheduled inside the measured window */
  gboolean sent;   /* the whole request is written */
  int64_t seq;     /* event / turn number; -1 for none */
  int slot;        /* chat closed-loop slot, -1 for none */
  int64_t t_sched, t_first, deadline;
  GString *out;
  size_t out_off;
  GString *in;
} Http;

typedef struct
{
  ObjType type; /* first */
  Load *l;
  unsigned index;
  BenchWsRaw ws;
  unsigned short close_code;
  gboolean closed;
} Ws;

typedef struct
{
  double rate;       /* per second; 0 = off */
  int64_t next, end; /* monotonic µs */
  uint64_t n;
} Gen;

typedef struct
{
  int64_t t_s;
  uint64_t rss_kib, hwm_kib;
  int fds, threads;
  double cpu_pct;
  uint64_t ok, errors;
  uint64_t db_kib;
} Sample;

struct _Load
{
  const char *mode;
  const char *lares;
  unsigned port;
  char *auth;     /* (owned) "Bearer …" */
  char *data_dir; /* (owned) */
  GPid daemon;
  GPid fake; /* 0 when no fake LLM runs */
  int epfd;

  int64_t window_start, window_end; /* recorded: t_sched in [start, end) */
  GHashTable *inflight;             /* Http* set (owned there) */
  GQueue waiting;                   /* Http* over the in-flight cap, not yet connected */
  unsigned n_inflight;
  Stats stats[K_N];
  GError *error; /* (owned) the first harness error: ends the run */

  /* What the daemon acknowledged, checked in its database at the end. */
  GArray *acked_notes, *acked_tasks, *acked_jobs; /* int64 ids */
  GArray *open_tasks;                             /* int64 ids that can still be completed */
  uint64_t chat_done;                             /* turns answered with turn_end "done" */
  int64_t seq;                                    /* next marker number */

  /* ws mode: per event (marker number) */
  GArray *ev_sched;  /* int64 µs */
  GArray *ev_count;  /* guint32 deliveries */
  GArray *ev_acked;  /* gboolean: the write answered 201 */
  GArray *ev_record; /* gboolean */
  GArray *deliveries;
  uint64_t ws_unexpected, ws_other;
  Ws **ws;
  unsigned n_ws;
  unsigned ws_closed_1001, ws_closed;

  /* chat closed loop */
  unsigned chat_conc;
  GArray *chat_ready; /* int slots whose turn ended: send the next from the loop */
  gboolean chat_stop;
  int first_delay_ms;
  int turn_ms; /* the fake's answer: first delay + tokens × token delay */

  /* soak */
  GArray *samples; /* Sample */
  uint64_t ws_opened, ws_dropped;
};

static void fail (Load *l, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
fail (Load *l, const char *format, ...)
{
  va_list ap;

  if (l->error != NULL)
    return;
  va_start (ap, format);
  l->error = g_error_new_valist (G_IO_ERROR, G_IO_ERROR_FAILED, format, ap);
  va_end (ap);
}

static const char *const words[] = {
  "apple",  "garden", "window",  "river",  "letter", "basket",  "candle", "forest",
  "bridge", "kettle", "pepper",  "ladder", "pillow", "meadow",  "copper", "violin",
  "marble", "harbor", "lantern", "orchid", "saddle", "thunder", "walnut", "zephyr",
};

static const char *
word (void)
{
  return words[g_random_int_range (0, G_N_ELEMENTS (words))];
}

/* ---- HTTP requests --------------------------------------------------------------------------- */

static void
http_free (Http *h)
{
  if (h->fd >= 0)
    close (h->fd);
  if (h->out)
    g_string_free (h->out, TRUE);
  if (h->in)
    g_string_free (h->in, TRUE);
  g_free (h);
}

static char *
marker (int64_t seq)
{
  return g_strdup_printf (MARK "%0*" G_GINT64_FORMAT, MARK_DIGITS, seq);
}

/* The request line, headers and body of a request of @kind. */
static GString *
build_request (Load *l, Kind kind, int64_t seq, int64_t *task_id)
{
  g_autofree char *mark = marker (seq);
  g_autofree char *body = NULL;
  g_autofree char *target = NULL;
  const char *method = "POST";
  const char *accept = "application/json";
  GString *s = g_string_new (NULL);

  switch (kind)
    {
    case K_NOTE:
      target = g_strdup ("/api/v1/notes");
      body = g_strdup_printf ("{\"title\":\"%s\",\"body\":\"%s %s %s %s %s %s\",\"tags\":[\"%s\"]}",
                              mark, word (), word (), word (), word (), word (), word (), word ());
      break;
    case K_TASK:
      target = g_strdup ("/api/v1/tasks");
      body =
          g_strdup_printf ("{\"description\":\"%s %s %s\",\"project\":\"load\",\"tags\":[\"%s\"]}",
                           mark, word (), word (), word ());
      break;
    case K_DONE:
      target = g_strdup_printf ("/api/v1/tasks/%" G_GINT64_FORMAT "/done", *task_id);
      break;
    case K_SEARCH:
      method = "GET";
      target = g_strdup_printf ("/api/v1/search?q=%s&limit=20", word ());
      break;
    case K_LIST:
      method = "GET";
      target = g_strdup ("/api/v1/tasks?status=pending&sort=urgency&limit=50");
      break;
    case K_REMIND:
      {
        g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
        g_autoptr (GDateTime) at = g_date_time_add_days (now, 1);
        g_autofree char *iso = g_date_time_format (at, "%Y-%m-%dT%H:%M:%SZ");

        target = g_strdup ("/api/v1/reminders");
        body = g_strdup_printf ("{\"text\":\"%s %s\",\"at\":\"%s\"}", mark, word (), iso);
      }
      break;
    case K_CHAT:
      target = g_strdup ("/api/v1/chat");
      accept = "text/event-stream";
      body = g_strdup_printf ("{\"text\":\"" CHAT_PROMPT " [load:%" G_GINT64_FORMAT "]\"}", seq);
      break;
    case K_N:
      g_assert_not_reached ();
    }
  g_string_append_printf (s,
                          "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: %s\r\n"
                          "Accept: %s\r\n",
                          method, target, l->port, l->auth, accept);
  if (body)
    g_string_append_printf (s, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                            strlen (body), body);
  else if (g_str_equal (method, "POST"))
    g_string_append (s, "Content-Length: 0\r\n\r\n");
  else
    g_string_append (s, "\r\n");
  return s;
}

static gboolean
http_connect (Load *l, Http *h)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
  int one = 1;

  sa.sin_port = htons ((uint16_t)l->port);
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  h->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (h->fd < 0)
    {
      fail (l, "socket: %s", g_strerror (errno));
      return FALSE;
    }
  (void)setsockopt (h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect (h->fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS)
    {
      /* Counted against the request, not the harness: the daemon refused. */
      g_snprintf (l->stats[h->kind].last_error, sizeof l->stats[h->kind].last_error, "connect: %s",
                  g_strerror (errno));
      return FALSE;
    }
  ev.data.ptr = h;
  if (epoll_ctl (l->epfd, EPOLL_CTL_ADD, h->fd, &ev) != 0)
    {
      fail (l, "epoll_ctl: %s", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

typedef enum
{
  END_EOF,     /* the daemon closed after its response */
  END_IO,      /* connect, send or receive failed */
  END_TIMEOUT, /* REQUEST_TIMEOUT_MS passed */
} EndKind;

static void http_done (Load *l, Http *h, EndKind end);

static void
http_launch (Load *l, Http *h)
{
  l->n_inflight++;
  g_hash_table_add (l->inflight, h);
  if (!http_connect (l, h))
    http_done (l, h, END_IO);
}

/* Submit a request of @kind scheduled at @t_sched (monotonic µs). */
static void
http_submit (Load *l, Kind kind, int64_t t_sched, int slot)
{
  Http *h = g_new0 (Http, 1);
  int64_t task_id = 0;

  if (kind == K_DONE)
    {
      if (l->open_tasks->len == 0)
        kind = K_TASK; /* nothing to complete yet */
      else
        {
          unsigned i = (unsigned)g_random_int_range (0, (int32_t)l->open_tasks->len);
          task_id = g_array_index (l->open_tasks, int64_t, i);
          g_array_remove_index_fast (l->open_tasks, i);
        }
    }
  h->type = OBJ_HTTP;
  h->l = l;
  h->fd = -1;
  h->kind = kind;
  h->slot = slot;
  h->t_sched = t_sched;
  h->deadline = t_sched + (int64_t)REQUEST_TIMEOUT_MS * 1000;
  h->record = t_sched >= l->window_start && t_sched < l->window_end;
  h->seq = l->seq++;
  h->out = build_request (l, kind, h->seq, &task_id);
  h->in = g_string_sized_new (1024);
  if (l->ev_sched)
    {
      int64_t zero = 0;
      gboolean no = FALSE;

      g_array_append_val (l->ev_sched, t_sched);
      g_array_append_val (l->ev_count, zero);
      g_array_append_val (l->ev_acked, no);
      g_array_append_val (l->ev_record, h->record);
    }
  if (l->n_inflight >= MAX_INFLIGHT)
    g_queue_push_tail (&l->waiting, h);
  else
    http_launch (l, h);
}

static void http_error (Load *l, Http *h, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
http_error (Load *l, Http *h, const char *format, ...)
{
  va_list ap;

  va_start (ap, format);
  g_vsnprintf (l->stats[h->kind].last_error, sizeof l->stats[h->kind].last_error, format, ap);
  va_end (ap);
}

/* "HTTP/1.1 201 …" -> 201; 0 if unreadable. */
static int
http_status (const GString *in)
{
  if (in->len < 12 || !g_str_has_prefix (in->str, "HTTP/1."))
    return 0;
  return (int)g_ascii_strtoull (in->str + 9, NULL, 10);
}

/* The "id" member of a JSON object body (after the head); -1 if none. */
static int64_t
body_id (const GString *in)
{
  const char *body = strstr (in->str, "\r\n\r\n");
  g_autoptr (JsonParser) p = json_parser_new ();
  JsonNode *root;

  if (body == NULL || !json_parser_load_from_data (p, body + 4, -1, NULL))
    return -1;
  root = json_parser_get_root (p);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return -1;
  if (json_object_has_member (json_node_get_object (root), "job"))
    return json_object_get_int_member_with_default (
        json_object_get_object_member (json_node_get_object (root), "job"), "id", -1);
  return json_object_get_int_member_with_default (json_node_get_object (root), "id", -1);
}

/* The request ended (@end).  Accounts for it, frees @h, launches a
 * waiting request, and hands a closed-loop chat slot back. */
static void
http_done (Load *l, Http *h, EndKind end)
{
  int64_t now = g_get_monotonic_time ();
  Stats *st = &l->stats[h->kind];
  int status = end == END_EOF ? http_status (h->in) : 0;
  gboolean ok = FALSE;
  int want = (h->kind == K_SEARCH || h->kind == K_LIST || h->kind == K_DONE || h->kind == K_CHAT)
                 ? 200
                 : 201;

  if (end == END_IO)
    st->err_io++;
  else if (end == END_TIMEOUT)
    st->err_timeout++;
  else if (status != want)
    {
      const char *body = strstr (h->in->str, "\r\n\r\n");
      st->err_status++;
      http_error (l, h, "status %d: %.100s", status, body ? body + 4 : h->in->str);
    }
  else if (h->kind == K_CHAT)
    {
      /* Each turn ends with a turn_end event; "done" unless the LLM failed. */
      const char *te = strstr (h->in->str, "event: turn_end");
      if (h->t_first == 0 || te == NULL || strstr (te, "\"status\":\"done\"") == NULL)
        {
          st->err_status++;
          http_error (l, h, "turn %" G_GINT64_FORMAT " ended without %s", h->seq,
                      h->t_first == 0 ? "a token" : "turn_end done");
        }
      else
        {
          ok = TRUE;
          l->chat_done++;
        }
    }
  else if (want == 201)
    {
      int64_t id = body_id (h->in);
      if (id <= 0)
        {
          st->err_status++;
          http_error (l, h, "201 without an id");
        }
      else
        {
          ok = TRUE;
          g_array_append_val (h->kind == K_NOTE   ? l->acked_notes
                              : h->kind == K_TASK ? l->acked_tasks
                                                  : l->acked_jobs,
                              id);
          if (h->kind == K_TASK)
            g_array_append_val (l->open_tasks, id);
          if (l->ev_acked)
            g_array_index (l->ev_acked, gboolean, h->seq) = TRUE;
        }
    }
  else
    ok = TRUE;
  if (ok)
    {
      st->ok++;
      if (h->record)
        {
          double ms = (double)(now - h->t_sched) / 1000.0;
          g_array_append_val (st->lat, ms);
          if (h->kind == K_CHAT)
            {
              double first = (double)(h->t_first - h->t_sched) / 1000.0;
              g_array_append_val (st->ttft, first);
            }
        }
    }
  if (h->kind == K_CHAT && h->slot >= 0)
    g_array_append_val (l->chat_ready, h->slot);
  if (h->fd >= 0)
    {
      close (h->fd);
      h->fd = -1;
    }
  g_hash_table_remove (l->inflight, h); /* frees h */
  l->n_inflight--;
  while (l->n_inflight < MAX_INFLIGHT && !g_queue_is_empty (&l->waiting))
    http_launch (l, g_queue_pop_head (&l->waiting));
}

static void
http_event (Load *l, Http *h, uint32_t events)
{
  gboolean chat = h->kind == K_CHAT;

  if (!h->sent && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
    {
      while (h->out_off < h->out->len)
        {
          ssize_t n = write (h->fd, h->out->str + h->out_off, h->out->len - h->out_off);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0 && errno == EAGAIN)
            return;
          if (n < 0)
            {
              http_error (l, h, "send: %s", g_strerror (errno));
              http_done (l, h, END_IO);
              return;
            }
          h->out_off += (size_t)n;
        }
      h->sent = TRUE;
      {
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };
        (void)epoll_ctl (l->epfd, EPOLL_CTL_MOD, h->fd, &ev);
      }
    }
  if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
    return;
  for (;;)
    {
      char buf[16384];
      ssize_t n = read (h->fd, buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n < 0)
        {
          http_error (l, h, "read: %s", g_strerror (errno));
          http_done (l, h, END_IO);
          return;
        }
      if (n == 0)
        {
          if (h->in->len == 0)
            http_error (l, h, "closed without a response");
          http_done (l, h, h->in->len > 0 ? END_EOF : END_IO);
          return;
        }
      {
        size_t from = h->in->len > 16 ? h->in->len - 16 : 0;
        g_string_append_len (h->in, buf, n);
        if (chat && h->t_first == 0 && strstr (h->in->str + from, "event: token") != NULL)
          h->t_first = g_get_monotonic_time ();
      }
    }
}

/* Requests past their deadline count as timeouts. */
static void
sweep_timeouts (Load *l, int64_t now)
{
  g_autoptr (GPtrArray) late = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key;

  g_hash_table_iter_init (&it, l->inflight);
  while (g_hash_table_iter_next (&it, &key, NULL))
    if (((Http *)key)->deadline <= now)
      g_ptr_array_add (late, key);
  for (unsigned i = 0; i < late->len; i++)
    {
      Http *h = late->pdata[i];

      http_error (l, h, "no answer within %d ms", REQUEST_TIMEOUT_MS);
      http_done (l, h, END_TIMEOUT);
    }
}

/* ---- WebSocket clients ----------------------------------------------------------------------- */

static void
ws_text (gpointer user_data, const char *data, size_t len)
{
  Ws *w = user_data;
  Load *l = w->l;
  const char *m = memmem (data, len, MARK, strlen (MARK));
  int64_t now = g_get_monotonic_time (), seq = 0;

  if (m == NULL || l->ev_sched == NULL)
    {
      l->ws_other++;
      return;
    }
  m += strlen (MARK);
  if ((size_t)(m - data) + MARK_DIGITS > len)
    {
      l->ws_unexpected++;
      return;
    }
  for (int i = 0; i < MARK_DIGITS; i++)
    {
      if (!g_ascii_isdigit (m[i]))
        {
          l->ws_unexpected++;
          return;
        }
      seq = seq * 10 + (m[i] - '0');
    }
  if (seq >= (int64_t)l->ev_sched->len)
    {
      l->ws_unexpected++;
      return;
    }
  g_array_index (l->ev_count, int64_t, seq)++;
  if (g_array_index (l->ev_record, gboolean, seq))
    {
      double ms = (double)(now - g_array_index (l->ev_sched, int64_t, seq)) / 1000.0;
      g_array_append_val (l->deliveries, ms);
    }
}

static Ws *
ws_open (Load *l, unsigned index)
{
  Ws *w = g_new0 (Ws, 1);
  struct epoll_event ev = { .events = EPOLLIN };
  g_autoptr (GError) error = NULL;

  w->type = OBJ_WS;
  w->l = l;
  w->index = index;
  w->ws.fd = -1;
  if (!bench_ws_raw_open (&w->ws, l->port, "/ws", l->auth, 10000, &error))
    {
      fail (l, "WebSocket client %u: %s", index, error->message);
      g_free (w);
      return NULL;
    }
  ev.data.ptr = w;
  if (epoll_ctl (l->epfd, EPOLL_CTL_ADD, w->ws.fd, &ev) != 0)
    fail (l, "epoll_ctl: %s", g_strerror (errno));
  l->ws_opened++;
  return w;
}

static void
ws_free (Ws *w)
{
  if (w == NULL)
    return;
  bench_ws_raw_clear (&w->ws);
  g_free (w);
}

static void
ws_event (Load *l, Ws *w)
{
  g_autoptr (GError) error = NULL;
  int rc;

  if (w->closed)
    return;
  rc = bench_ws_raw_read (&w->ws, ws_text, w, &w->close_code, &error);
  if (rc < 0)
    {
      fail (l, "WebSocket client %u: %s", w->index, error->message);
      return;
    }
  if (rc == 0)
    {
      w->closed = TRUE;
      l->ws_closed++;
      if (w->close_code == 1001)
        l->ws_closed_1001++;
    }
}

/* Close client @w from our side: a closing handshake (masked close frame,
 * 1000) or, with @abrupt, just the socket. */
static void
ws_drop (Load *l, Ws *w, gboolean abrupt)
{
  if (!abrupt && w->ws.fd >= 0)
    {
      uint8_t frame[8] = { 0x88, 0x82 };
      uint32_t mask = g_random_int ();

      memcpy (frame + 2, &mask, 4);
      frame[6] = (uint8_t)(0x03 ^ frame[2]); /* 1000 = 0x03e8 */
      frame[7] = (uint8_t)(0xe8 ^ frame[3]);
      (void)!write (w->ws.fd, frame, sizeof frame);
    }
  l->ws_dropped++;
  ws_free (w);
}

/* Closed-loop chat: each slot whose turn ended sends its next one, until
 * the window ends. */
static void
chat_refill (Load *l, int64_t now)
{
  g_autoptr (GArray) ready = NULL;

  if (l->chat_ready->len == 0)
    return;
  ready = l->chat_ready;
  l->chat_ready = g_array_new (FALSE, FALSE, sizeof (int));
  if (l->chat_stop || now >= l->window_end)
    return;
  for (unsigned i = 0; i < ready->len && l->error == NULL; i++)
    http_submit (l, K_CHAT, now, g_array_index (ready, int, i));
}

/* ---- the loop ----------------------------------------------------------------------------------
 */

typedef void (*TickFunc) (Load *l, int64_t now, gpointer data);
typedef gboolean (*DoneFunc) (Load *l, gpointer data);

/* Run until @done or @until_us (then FALSE unless @deadline_ok); @tick runs
 * every pass and returns the next time it wants to run via *next. */
static gboolean
run_loop (Load *l, int64_t until_us, TickFunc tick, int64_t (*next_due) (Load *, gpointer),
          DoneFunc done, gpointer data)
{
  struct epoll_event events[256];
  int64_t last_sweep = 0;

  while (l->error == NULL)
    {
      int64_t now = g_get_monotonic_time ();
      int64_t wake = until_us;
      int n, timeout;

      chat_refill (l, now);
      if (tick)
        tick (l, now, data);
      if (done && done (l, data))
        return TRUE;
      if (now >= until_us)
        return done == NULL;
      if (now - last_sweep > 250000)
        {
          sweep_timeouts (l, now);
          last_sweep = now;
        }
      if (next_due)
        wake = MIN (wake, next_due (l, data));
      wake = MIN (wake, now + 250000);
      timeout = (int)MAX (0, (wake - now + 999) / 1000);
      n = epoll_wait (l->epfd, events, G_N_ELEMENTS (events), timeout);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          fail (l, "epoll_wait: %s", g_strerror (errno));
          break;
        }
      for (int i = 0; i < n && l->error == NULL; i++)
        {
          ObjType *t = events[i].data.ptr;
          if (*t == OBJ_HTTP)
            http_event (l, events[i].data.ptr, events[i].events);
          else
            ws_event (l, events[i].data.ptr);
        }
    }
  return FALSE;
}

static gboolean
nothing_in_flight (Load *l, gpointer data)
{
  return l->n_inflight == 0;
}

/* Submit every request of @g due by @now, of kinds from @pick. */
static void
gen_tick (Load *l, Gen *g, int64_t now, Kind (*pick) (Gen *g))
{
  while (g->rate > 0 && g->next <= now && g->next < g->end && l->error == NULL)
    {
      http_submit (l, pick (g), g->next, -1);
      g->n++;
      g->next = g->next + (int64_t)(1e6 / g->rate);
    }
}

static int64_t
gen_next (const Gen *g)
{
  return g->rate > 0 && g->next < g->end ? g->next : G_MAXINT64;
}

/* ---- modes: the request mixes -----------------------------------------------------------------
 */

/* rest: 25 % notes, 25 % tasks, 10 % completions, 20 % search, 20 % list. */
static Kind
pick_rest (Gen *g)
{
  static const Kind mix[20] = { K_NOTE,   K_NOTE,   K_NOTE, K_NOTE, K_NOTE, K_TASK,   K_TASK,
                                K_TASK,   K_TASK,   K_TASK, K_DONE, K_DONE, K_SEARCH, K_SEARCH,
                                K_SEARCH, K_SEARCH, K_LIST, K_LIST, K_LIST, K_LIST };
  return mix[(g->n * 7) % 20]; /* 7 and 20 are coprime: each 20 picks are the mix */
}

/* ws: notes, tasks and reminders in turn. */
static Kind
pick_event (Gen *g)
{
  static const Kind kinds[3] = { K_NOTE, K_TASK, K_REMIND };
  return kinds[g->n % 3];
}

static Kind
pick_chat (Gen *g)
{
  return K_CHAT;
}

/* ---- results ------------------------------------------------------------------------------------
 */

static void
put_dist (const char *prefix, const char *what, GArray *v)
{
  double *d = (double *)v->data;

  bench_sort (d, v->len);
  printf ("%s.%s_n=%u\n", prefix, what, v->len);
  if (v->len == 0)
    return;
  printf ("%s.%s_p50_ms=%.3f\n", prefix, what, bench_percentile (d, v->len, 50));
  printf ("%s.%s_p90_ms=%.3f\n", prefix, what, bench_percentile (d, v->len, 90));
  printf ("%s.%s_p99_ms=%.3f\n", prefix, what, bench_percentile (d, v->len, 99));
  printf ("%s.%s_max_ms=%.3f\n", prefix, what, d[v->len - 1]);
}

static void
put_stats (Load *l, const char *prefix)
{
  uint64_t ok = 0, errors = 0;
  GArray *all = g_array_new (FALSE, FALSE, sizeof (double));

  for (int k = 0; k < K_N; k++)
    {
      Stats *st = &l->stats[k];
      g_autofree char *p = g_strdup_printf ("%s.%s", prefix, kind_names[k]);
      uint64_t err = st->err_status + st->err_io + st->err_timeout;

      if (st->ok + err == 0)
        continue;
      ok += st->ok;
      errors += err;
      g_array_append_vals (all, st->lat->data, st->lat->len);
      printf ("%s.ok=%" G_GUINT64_FORMAT "\n", p, st->ok);
      printf ("%s.errors=%" G_GUINT64_FORMAT "\n", p, err);
      printf ("%s.err_status=%" G_GUINT64_FORMAT "\n", p, st->err_status);
      printf ("%s.err_io=%" G_GUINT64_FORMAT "\n", p, st->err_io);
      printf ("%s.err_timeout=%" G_GUINT64_FORMAT "\n", p, st->err_timeout);
      put_dist (p, "lat", st->lat);
      if (k == K_CHAT)
        put_dist (p, "ttft", st->ttft);
      if (err)
        {
          printf ("%s.last_error=%s\n", p, st->last_error);
          fprintf (stderr, "bench-load: %s: %" G_GUINT64_FORMAT " errors, last: %s\n",
                   kind_names[k], err, st->last_error);
        }
    }
  printf ("%s.ok=%" G_GUINT64_FORMAT "\n", prefix, ok);
  printf ("%s.errors=%" G_GUINT64_FORMAT "\n", prefix, errors);
  put_dist (prefix, "lat", all);
  g_array_unref (all);
}

typedef struct
{
  int64_t t_us;
  int64_t daemon_cpu_us;
  int64_t fake_cpu_us;
  int64_t self_cpu_us;
  guint64 busy, total;
} Mark;

static int64_t
self_cpu_us (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
         (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
}

static void
machine_ticks (guint64 *busy, guint64 *total)
{
  g_autofree char *text = NULL;
  guint64 v[10] = { 0 };

  *busy = *total = 0;
  if (!g_file_get_contents ("/proc/stat", &text, NULL, NULL) || !g_str_has_prefix (text, "cpu "))
    return;
  if (sscanf (text + 4,
              "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
              " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
              " %" G_GUINT64_FORMAT,
              &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 5)
    return;
  for (int i = 0; i < 8; i++)
    *total += v[i];
  *busy = *total - v[3] - v[4]; /* minus idle and iowait */
}

static void
mark (Load *l, Mark *m)
{
  m->t_us = g_get_monotonic_time ();
  m->daemon_cpu_us = bench_proc_cpu_us (l->daemon);
  m->fake_cpu_us = l->fake > 0 ? bench_proc_cpu_us (l->fake) : 0;
  m->self_cpu_us = self_cpu_us ();
  machine_ticks (&m->busy, &m->total);
}

static void
put_window (Load *l, const char *prefix, const Mark *a, const Mark *b, uint64_t requests)
{
  double s = (double)(b->t_us - a->t_us) / 1e6;

  printf ("%s.window_s=%.1f\n", prefix, s);
  printf ("%s.requests_per_s=%.1f\n", prefix, s > 0 ? (double)requests / s : 0.0);
  printf ("%s.daemon_cpu_s=%.2f\n", prefix, (double)(b->daemon_cpu_us - a->daemon_cpu_us) / 1e6);
  printf ("%s.daemon_cores=%.3f\n", prefix,
          s > 0 ? (double)(b->daemon_cpu_us - a->daemon_cpu_us) / 1e6 / s : 0.0);
  printf ("%s.daemon_cpu_us_per_req=%.0f\n", prefix,
          requests ? (double)(b->daemon_cpu_us - a->daemon_cpu_us) / (double)requests : 0.0);
  if (l->fake > 0)
    printf ("%s.fake_cpu_us_per_req=%.0f\n", prefix,
            requests ? (double)(b->fake_cpu_us - a->fake_cpu_us) / (double)requests : 0.0);
  printf ("%s.bench_cpu_us_per_req=%.0f\n", prefix,
          requests ? (double)(b->self_cpu_us - a->self_cpu_us) / (double)requests : 0.0);
  printf ("%s.machine_busy_pct=%.0f\n", prefix,
          b->total > a->total ? 100.0 * (double)(b->busy - a->busy) / (double)(b->total - a->total)
                              : 0.0);
  printf ("%s.rss_kib=%" G_GUINT64_FORMAT "\n", prefix, bench_proc_status_kib (l->daemon, "VmRSS"));
  printf ("%s.hwm_kib=%" G_GUINT64_FORMAT "\n", prefix, bench_proc_status_kib (l->daemon, "VmHWM"));
  printf ("%s.fds=%d\n", prefix, bench_proc_fd_count (l->daemon));
}

static uint64_t
recorded_requests (Load *l)
{
  uint64_t n = 0;

  for (int k = 0; k < K_N; k++)
    n += l->stats[k].lat->len;
  return n;
}

/* Every acknowledged id must be in its table.  Returns the missing count. */
static uint64_t
count_missing (sqlite3 *db, const char *table, GArray *ids, GError **error)
{
  g_autofree char *sql = g_strdup_printf ("SELECT 1 FROM %s WHERE id = ?", table);
  sqlite3_stmt *stmt = NULL;
  uint64_t missing = 0;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", sqlite3_errmsg (db));
      return 0;
    }
  for (unsigned i = 0; i < ids->len; i++)
    {
      sqlite3_bind_int64 (stmt, 1, g_array_index (ids, int64_t, i));
      if (sqlite3_step (stmt) != SQLITE_ROW)
        missing++;
      sqlite3_reset (stmt);
    }
  sqlite3_finalize (stmt);
  return missing;
}

/* After the daemon stopped: acknowledged rows, done turns, integrity. */
static gboolean
verify_store (Load *l, const char *prefix, GError **error)
{
  g_autofree char *path = g_build_filename (l->data_dir, "lares.db", NULL);
  sqlite3 *db = NULL;
  uint64_t lost = 0;
  int64_t done_turns = -1;
  g_autofree char *integrity = NULL;
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "open %s: %s", path,
                   db ? sqlite3_errmsg (db) : "out of memory");
      sqlite3_close (db);
      return FALSE;
    }
  lost += count_missing (db, "notes", l->acked_notes, error);
  lost += count_missing (db, "tasks", l->acked_tasks, error);
  lost += count_missing (db, "jobs", l->acked_jobs, error);
  if (sqlite3_prepare_v2 (db, "SELECT count(*) FROM turns WHERE status = 'done'", -1, &stmt,
                          NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    done_turns = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  if (sqlite3_prepare_v2 (db, "PRAGMA quick_check", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    integrity = g_strdup ((const char *)sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  if (error && *error)
    return FALSE;
  printf ("%s.acked_writes=%u\n", prefix,
          l->acked_notes->len + l->acked_tasks->len + l->acked_jobs->len);
  printf ("%s.writes_lost=%" G_GUINT64_FORMAT "\n", prefix, lost);
  printf ("%s.chat_turns_done=%" G_GUINT64_FORMAT "\n", prefix, l->chat_done);
  printf ("%s.turns_done_in_store=%" G_GINT64_FORMAT "\n", prefix, done_turns);
  printf ("%s.quick_check=%s\n", prefix, integrity ? integrity : "?");
  if (lost != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%" G_GUINT64_FORMAT " acknowledged writes are missing from the store", lost);
      return FALSE;
    }
  if (done_turns >= 0 && (uint64_t)done_turns < l->chat_done)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%" G_GUINT64_FORMAT " turns answered done, %" G_GINT64_FORMAT " in the store",
                   l->chat_done, done_turns);
      return FALSE;
    }
  if (g_strcmp0 (integrity, "ok") != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "quick_check: %s",
                   integrity ? integrity : "failed");
      return FALSE;
    }
  return TRUE;
}

/* ---- ws mode ------------------------------------------------------------------------------------
 */

typedef struct
{
  Gen gen;
} EventRun;

static void
event_tick (Load *l, int64_t now, gpointer data)
{
  gen_tick (l, &((EventRun *)data)->gen, now, pick_event);
}

static int64_t
event_next (Load *l, gpointer data)
{
  return gen_next (&((EventRun *)data)->gen);
}

static gboolean
events_delivered (Load *l, gpointer data)
{
  if (l->n_inflight > 0 || ((EventRun *)data)->gen.next < ((EventRun *)data)->gen.end)
    return FALSE;
  for (unsigned i = 0; i < l->ev_sched->len; i++)
    if (g_array_index (l->ev_acked, gboolean, i) &&
        g_array_index (l->ev_count, int64_t, i) < (int64_t)l->n_ws)
      return FALSE;
  return TRUE;
}

static gboolean
all_ws_closed (Load *l, gpointer data)
{
  return l->ws_closed == l->n_ws;
}

static gboolean
run_ws (Load *l, int clients, double rate, int seconds, int warmup_s, BenchDaemon *d,
        GError **error)
{
  EventRun run = { 0 };
  Mark a, b;
  int64_t t0, missing = 0, duplicate = 0, acked = 0, code = -1, stop_us = 0;
  uint64_t rss0 = bench_proc_status_kib (l->daemon, "VmRSS");
  int exit_code = -1;

  l->ev_sched = g_array_new (FALSE, FALSE, sizeof (int64_t));
  l->ev_count = g_array_new (FALSE, FALSE, sizeof (int64_t));
  l->ev_acked = g_array_new (FALSE, FALSE, sizeof (gboolean));
  l->ev_record = g_array_new (FALSE, FALSE, sizeof (gboolean));
  l->deliveries = g_array_new (FALSE, FALSE, sizeof (double));
  l->ws = g_new0 (Ws *, clients);
  t0 = g_get_monotonic_time ();
  for (int i = 0; i < clients && l->error == NULL; i++)
    {
      l->ws[i] = ws_open (l, (unsigned)i);
      l->n_ws++;
    }
  if (l->error)
    return FALSE;
  printf ("load.ws.clients=%d\n", clients);
  printf ("load.ws.connect_all_ms=%.0f\n", (double)(g_get_monotonic_time () - t0) / 1000.0);
  printf ("load.ws.rss_before_kib=%" G_GUINT64_FORMAT "\n", rss0);
  printf ("load.ws.rss_open_kib=%" G_GUINT64_FORMAT "\n",
          bench_proc_status_kib (l->daemon, "VmRSS"));
  printf ("load.ws.fds_open=%d\n", bench_proc_fd_count (l->daemon));
  printf ("load.ws.rate=%.0f\n", rate);
  fprintf (stderr, "bench-load: ws: %d clients open; %d s of events at %.0f/s\n", clients, seconds,
           rate);

  run.gen.rate = rate;
  run.gen.next = g_get_monotonic_time ();
  l->window_start = run.gen.next + (int64_t)warmup_s * 1000000;
  l->window_end = l->window_start + (int64_t)seconds * 1000000;
  run.gen.end = l->window_end;
  run_loop (l, l->window_start, event_tick, event_next, NULL, &run);
  mark (l, &a);
  run_loop (l, l->window_end, event_tick, event_next, NULL, &run);
  mark (l, &b);
  if (!run_loop (l, g_get_monotonic_time () + (int64_t)DRAIN_TIMEOUT_MS * 1000, event_tick,
                 event_next, events_delivered, &run) &&
      l->error == NULL)
    fprintf (stderr, "bench-load: ws: not every event arrived within %d ms\n", DRAIN_TIMEOUT_MS);
  if (l->error)
    return FALSE;
  for (unsigned i = 0; i < l->ev_sched->len; i++)
    {
      int64_t c = g_array_index (l->ev_count, int64_t, i);
      if (!g_array_index (l->ev_acked, gboolean, i))
        continue;
      acked++;
      if (c < clients)
        missing += clients - c;
      if (c > clients)
        duplicate += c - clients;
    }
  put_stats (l, "load.ws");
  put_window (l, "load.ws", &a, &b, recorded_requests (l));
  put_dist ("load.ws", "event", l->deliveries);
  printf ("load.ws.events_acked=%" G_GINT64_FORMAT "\n", acked);
  printf ("load.ws.deliveries=%" G_GINT64_FORMAT "\n", acked * clients - missing + duplicate);
  printf ("load.ws.deliveries_missing=%" G_GINT64_FORMAT "\n", missing);
  printf ("load.ws.deliveries_duplicate=%" G_GINT64_FORMAT "\n", duplicate);
  printf ("load.ws.messages_unexpected=%" G_GUINT64_FORMAT "\n", l->ws_unexpected);
  fflush (stdout);

  /* SIGTERM with every client open: each is closed (1001), then exit 0. */
  t0 = g_get_monotonic_time ();
  if (kill (l->daemon, SIGTERM) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "kill: %s", g_strerror (errno));
      return FALSE;
    }
  run_loop (l, t0 + (int64_t)STOP_TIMEOUT_MS * 1000, NULL, NULL, all_ws_closed, NULL);
  stop_us = g_get_monotonic_time () - t0;
  if (!bench_daemon_reap (d, STOP_TIMEOUT_MS, &exit_code, error))
    return FALSE;
  code = exit_code;
  printf ("load.ws.stop_all_closed_ms=%.0f\n", (double)stop_us / 1000.0);
  printf ("load.ws.stop_exit_ms=%.0f\n", (double)(g_get_monotonic_time () - t0) / 1000.0);
  printf ("load.ws.stop_close_1001=%u\n", l->ws_closed_1001);
  printf ("load.ws.daemon_exit=%" G_GINT64_FORMAT "\n", code);
  if (l->error)
    return FALSE;
  if (missing || duplicate || l->ws_unexpected || l->ws_closed_1001 != (unsigned)clients ||
      code != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%" G_GINT64_FORMAT " deliveries missing, %" G_GINT64_FORMAT
                   " duplicated, %" G_GUINT64_FORMAT " unexpected; %u of %d closed with 1001; "
                   "exit %" G_GINT64_FORMAT,
                   missing, duplicate, l->ws_unexpected, l->ws_closed_1001, clients, code);
      return FALSE;
    }
  return TRUE;
}

/* ---- chat mode ----------------------------------------------------------------------------------
 */

/* The first turn of each slot: slot i at start + i × span / conc. */
typedef struct
{
  unsigned next, conc;
  int64_t start, span;
} Stagger;

static int64_t
stagger_due (Stagger *s)
{
  return s->next < s->conc ? s->start + s->span * (int64_t)s->next / (int64_t)s->conc : G_MAXINT64;
}

static void
stagger_tick (Load *l, int64_t now, gpointer data)
{
  Stagger *s = data;

  for (int64_t due; (due = stagger_due (s)) <= now && l->error == NULL; s->next++)
    http_submit (l, K_CHAT, due, (int)s->next);
}

static int64_t
stagger_next (Load *l, gpointer data)
{
  return stagger_due (data);
}

static gboolean
run_chat (Load *l, unsigned conc, int seconds, int warmup_s, GError **error)
{
  Mark a, b;
  int64_t start = g_get_monotonic_time ();
  Stats *st = &l->stats[K_CHAT];
  GArray *added = g_array_new (FALSE, FALSE, sizeof (double));
  uint64_t n;

  Stagger stagger = { 0, conc, start, (int64_t)l->turn_ms * 1000 };

  l->chat_conc = conc;
  /* Every slot has started before the window opens. */
  l->window_start = start + MAX ((int64_t)warmup_s * 1000000, stagger.span);
  l->window_end = l->window_start + (int64_t)seconds * 1000000;
  fprintf (stderr, "bench-load: chat: %u concurrent turns for %d s (+%d s warm-up)\n", conc,
           seconds, warmup_s);
  run_loop (l, l->window_start, stagger_tick, stagger_next, NULL, &stagger);
  mark (l, &a);
  run_loop (l, l->window_end, NULL, NULL, NULL, NULL);
  mark (l, &b);
  l->chat_stop = TRUE;
  if (!run_loop (l, g_get_monotonic_time () + (int64_t)DRAIN_TIMEOUT_MS * 1000, NULL, NULL,
                 nothing_in_flight, NULL) &&
      l->error == NULL)
    fail (l, "%u turns still in flight %d ms after the end", l->n_inflight, DRAIN_TIMEOUT_MS);
  if (l->error)
    {
      g_array_unref (added);
      return FALSE;
    }
  for (unsigned i = 0; i < st->ttft->len; i++)
    {
      double v = g_array_index (st->ttft, double, i) - l->first_delay_ms;
      g_array_append_val (added, v);
    }
  n = st->lat->len;
  printf ("load.chat.concurrency=%u\n", conc);
  printf ("load.chat.first_delay_ms=%d\n", l->first_delay_ms);
  put_stats (l, "load.chat");
  put_dist ("load.chat", "added", added);
  put_window (l, "load.chat", &a, &b, n);
  printf ("load.chat.turns_per_s=%.1f\n", (double)n / ((double)(b.t_us - a.t_us) / 1e6));
  g_array_unref (added);
  return TRUE;
}

/* ---- rest mode ----------------------------------------------------------------------------------
 */

typedef struct
{
  Gen rest, chat;
  /* soak only */
  int64_t next_churn, churn_us, next_sample, sample_us, t0;
  unsigned churn_n;
  Mark last;
  gboolean soak;
} MixRun;

static void sample_now (Load *l, MixRun *run, int64_t now);

static void
mix_tick (Load *l, int64_t now, gpointer data)
{
  MixRun *run = data;

  gen_tick (l, &run->rest, now, pick_rest);
  gen_tick (l, &run->chat, now, pick_chat);
  if (!run->soak)
    return;
  if (now >= run->next_churn && now < run->rest.end)
    {
      /* Replace one client: alternately a closing handshake and an abrupt
       * drop, then a new connection in its place. */
      unsigned i = run->churn_n++ % l->n_ws;
      Ws *w = l->ws[i];

      (void)epoll_ctl (l->epfd, EPOLL_CTL_DEL, w->ws.fd, NULL);
      ws_drop (l, w, (run->churn_n & 1) == 0);
      l->ws[i] = ws_open (l, i);
      run->next_churn += run->churn_us;
    }
  if (now >= run->next_sample)
    {
      sample_now (l, run, now);
      run->next_sample += run->sample_us;
    }
}

static int64_t
mix_next (Load *l, gpointer data)
{
  MixRun *run = data;
  int64_t n = MIN (gen_next (&run->rest), gen_next (&run->chat));

  if (run->soak)
    n = MIN (n, MIN (run->next_churn, run->next_sample));
  return n;
}

static gboolean
run_rest (Load *l, double rate, int seconds, int warmup_s, GError **error)
{
  MixRun run = { 0 };
  Mark a, b;

  run.rest.rate = rate;
  run.rest.next = g_get_monotonic_time ();
  l->window_start = run.rest.next + (int64_t)warmup_s * 1000000;
  l->window_end = l->window_start + (int64_t)seconds * 1000000;
  run.rest.end = l->window_end;
  fprintf (stderr, "bench-load: rest: %.0f requests/s for %d s (+%d s warm-up)\n", rate, seconds,
           warmup_s);
  run_loop (l, l->window_start, mix_tick, mix_next, NULL, &run);
  mark (l, &a);
  run_loop (l, l->window_end, mix_tick, mix_next, NULL, &run);
  mark (l, &b);
  if (!run_loop (l, g_get_monotonic_time () + (int64_t)DRAIN_TIMEOUT_MS * 1000, NULL, NULL,
                 nothing_in_flight, NULL) &&
      l->error == NULL)
    fail (l, "%u requests still in flight %d ms after the end", l->n_inflight, DRAIN_TIMEOUT_MS);
  if (l->error)
    return FALSE;
  printf ("load.rest.rate=%.0f\n", rate);
  put_stats (l, "load.rest");
  put_window (l, "load.rest", &a, &b, recorded_requests (l));
  return TRUE;
}

/* ---- soak mode ----------------------------------------------------------------------------------
 */

static uint64_t
file_kib (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (uint64_t)st.st_size / 1024 : 0;
}

static void
sample_now (Load *l, MixRun *run, int64_t now)
{
  Mark m;
  Sample s = { 0 };
  g_autofree char *status = NULL;
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int)l->daemon);
  const char *th;

  mark (l, &m);
  s.t_s = (now - run->t0) / 1000000;
  s.rss_kib = bench_proc_status_kib (l->daemon, "VmRSS");
  s.hwm_kib = bench_proc_status_kib (l->daemon, "VmHWM");
  s.fds = bench_proc_fd_count (l->daemon);
  if (g_file_get_contents (path, &status, NULL, NULL) &&
      (th = strstr (status, "\nThreads:")) != NULL)
    s.threads = (int)g_ascii_strtoll (th + 9, NULL, 10);
  s.cpu_pct = m.t_us > run->last.t_us
                  ? 100.0 * (double)(m.daemon_cpu_us - run->last.daemon_cpu_us) /
                        (double)(m.t_us - run->last.t_us)
                  : 0;
  for (int k = 0; k < K_N; k++)
    {
      s.ok += l->stats[k].ok;
      s.errors += l->stats[k].err_status + l->stats[k].err_io + l->stats[k].err_timeout;
    }
  s.db_kib = file_kib (l->data_dir, "lares.db") + file_kib (l->data_dir, "lares.db-wal");
  run->last = m;
  g_array_append_val (l->samples, s);
  fprintf (stderr,
           "soak %5" G_GINT64_FORMAT " s  rss %7" G_GUINT64_FORMAT " KiB  hwm %7" G_GUINT64_FORMAT
           " KiB  fds %4d  threads %2d  cpu %5.1f %%  ok %8" G_GUINT64_FORMAT
           "  errors %4" G_GUINT64_FORMAT "  db %6" G_GUINT64_FORMAT " KiB\n",
           s.t_s, s.rss_kib, s.hwm_kib, s.fds, s.threads, s.cpu_pct, s.ok, s.errors, s.db_kib);
}

/* Least-squares slope of RSS (KiB) over time (s) for samples from @first. */
static double
rss_slope (GArray *samples, unsigned first)
{
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;

  for (unsigned i = first; i < samples->len; i++)
    {
      const Sample *s = &g_array_index (samples, Sample, i);
      double x = (double)s->t_s, y = (double)s->rss_kib;
      n++, sx += x, sy += y, sxx += x * x, sxy += x * y;
    }
  if (n < 2 || n * sxx - sx * sx == 0)
    return 0;
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

/* Returns FALSE on a harness error; a soak that ran but broke its bounds
 * sets @verdict instead, so the store is still checked afterwards. */
static gboolean
run_soak (Load *l, double rate, double chat_rate, int clients, int churn_ms, int sample_s,
          int seconds, int window_s, GError **verdict, GError **error)
{
  MixRun run = { 0 };
  Mark a, b;
  int warm_s = MAX (window_s, seconds / 10);
  uint64_t rss_first = 0, rss_last = 0;
  int fd_first = G_MAXINT, fd_last = G_MAXINT, fd_first_max = 0, fd_last_max = 0;
  unsigned first_idx = 0, n_first = 0, n_last = 0;
  double slope;
  uint64_t errors = 0;
  gboolean rss_ok, fd_ok;

  if (seconds < warm_s + 2 * window_s)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "a soak needs at least %d s (warm-up + two %d s windows)", warm_s + 2 * window_s,
                   window_s);
      return FALSE;
    }
  l->samples = g_array_new (FALSE, FALSE, sizeof (Sample));
  l->ws = g_new0 (Ws *, clients);
  for (int i = 0; i < clients && l->error == NULL; i++)
    {
      l->ws[i] = ws_open (l, (unsigned)i);
      l->n_ws++;
    }
  if (l->error)
    return FALSE;
  run.soak = TRUE;
  run.t0 = g_get_monotonic_time ();
  l->window_start = run.t0;
  l->window_end = run.t0 + (int64_t)seconds * 1000000;
  run.rest.rate = rate;
  run.rest.next = run.t0;
  run.rest.end = l->window_end;
  run.chat.rate = chat_rate;
  run.chat.next = run.t0;
  run.chat.end = l->window_end;
  run.churn_us = (int64_t)churn_ms * 1000;
  run.next_churn = run.t0 + run.churn_us;
  run.sample_us = (int64_t)sample_s * 1000000;
  run.next_sample = run.t0;
  mark (l, &run.last);
  fprintf (stderr,
           "bench-load: soak: %d s; REST %.0f/s, chat %.1f turns/s, %d WebSockets (one replaced "
           "every %d ms); a sample every %d s; warm-up %d s\n",
           seconds, rate, chat_rate, clients, churn_ms, sample_s, warm_s);
  mark (l, &a);
  run_loop (l, l->window_end, mix_tick, mix_next, NULL, &run);
  mark (l, &b);
  sample_now (l, &run, g_get_monotonic_time ());
  if (!run_loop (l, g_get_monotonic_time () + (int64_t)DRAIN_TIMEOUT_MS * 1000, NULL, NULL,
                 nothing_in_flight, NULL) &&
      l->error == NULL)
    fail (l, "%u requests still in flight %d ms after the end", l->n_inflight, DRAIN_TIMEOUT_MS);
  if (l->error)
    return FALSE;

  /* Windows: the first window_s after warm-up, and the last. */
  for (unsigned i = 0; i < l->samples->len; i++)
    {
      const Sample *s = &g_array_index (l->samples, Sample, i);

      printf ("load.soak.sample.%u=t=%" G_GINT64_FORMAT " rss_kib=%" G_GUINT64_FORMAT
              " hwm_kib=%" G_GUINT64_FORMAT " fds=%d threads=%d cpu_pct=%.1f ok=%" G_GUINT64_FORMAT
              " errors=%" G_GUINT64_FORMAT " db_kib=%" G_GUINT64_FORMAT "\n",
              i, s->t_s, s->rss_kib, s->hwm_kib, s->fds, s->threads, s->cpu_pct, s->ok, s->errors,
              s->db_kib);
      if (s->t_s >= warm_s && s->t_s < warm_s + window_s)
        {
          if (n_first++ == 0)
            first_idx = i;
          rss_first = MAX (rss_first, s->rss_kib);
          fd_first = MIN (fd_first, s->fds);
          fd_first_max = MAX (fd_first_max, s->fds);
        }
      if (s->t_s > seconds - window_s)
        {
          n_last++;
          rss_last = MAX (rss_last, s->rss_kib);
          fd_last = MIN (fd_last, s->fds);
          fd_last_max = MAX (fd_last_max, s->fds);
        }
    }
  slope = rss_slope (l->samples, first_idx);
  rss_ok = n_first > 0 && n_last > 0 && rss_last <= rss_first + SOAK_RSS_SLACK_KIB + rss_first / 10;
  fd_ok = n_first > 0 && n_last > 0 && fd_last <= fd_first + SOAK_FD_SLACK;
  printf ("load.soak.seconds=%d\n", seconds);
  printf ("load.soak.warmup_s=%d\n", warm_s);
  printf ("load.soak.rate=%.0f\n", rate);
  printf ("load.soak.chat_rate=%.1f\n", chat_rate);
  printf ("load.soak.ws_clients=%d\n", clients);
  printf ("load.soak.ws_opened=%" G_GUINT64_FORMAT "\n", l->ws_opened);
  printf ("load.soak.ws_dropped=%" G_GUINT64_FORMAT "\n", l->ws_dropped);
  printf ("load.soak.samples=%u\n", l->samples->len);
  printf ("load.soak.rss_first_max_kib=%" G_GUINT64_FORMAT "\n", rss_first);
  printf ("load.soak.rss_last_max_kib=%" G_GUINT64_FORMAT "\n", rss_last);
  printf ("load.soak.rss_bound_kib=%" G_GUINT64_FORMAT "\n",
          rss_first + SOAK_RSS_SLACK_KIB + rss_first / 10);
  printf ("load.soak.rss_slope_kib_per_h=%.0f\n", slope * 3600);
  printf ("load.soak.fds_first_min=%d\n", fd_first);
  printf ("load.soak.fds_first_max=%d\n", fd_first_max);
  printf ("load.soak.fds_last_min=%d\n", fd_last);
  printf ("load.soak.fds_last_max=%d\n", fd_last_max);
  printf ("load.soak.fds_bound=%d\n", fd_first + SOAK_FD_SLACK);
  printf ("load.soak.rss_verdict=%s\n", rss_ok ? "flat" : "GREW");
  printf ("load.soak.fds_verdict=%s\n", fd_ok ? "flat" : "GREW");
  put_stats (l, "load.soak");
  put_window (l, "load.soak", &a, &b, recorded_requests (l));
  for (int k = 0; k < K_N; k++)
    errors += l->stats[k].err_status + l->stats[k].err_io + l->stats[k].err_timeout;
  if (errors > 0)
    {
      g_set_error (verdict, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "soak: %" G_GUINT64_FORMAT " requests failed", errors);
      return TRUE;
    }
  if (!rss_ok || !fd_ok)
    {
      g_set_error (verdict, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "soak: RSS %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
                   " KiB, descriptor floor %d -> %d: %s",
                   rss_first, rss_last, fd_first, fd_last,
                   !rss_ok ? "RSS grew past its bound" : "descriptors grew past their bound");
      return TRUE;
    }
  return TRUE;
}

/* ---- processes ------------------------------------------------------------------------------- */

static gboolean
fake_spawn (const char *fake, int tokens, int first_delay, int token_delay, GPid *pid,
            unsigned *port, GError **error)
{
  g_autofree char *t = g_strdup_printf ("%d", tokens);
  g_autofree char *f = g_strdup_printf ("%d", first_delay);
  g_autofree char *k = g_strdup_printf ("%d", token_delay);
  const char *argv[] = { fake, "--port",        "0", "--tokens", t, "--first-delay",
                         f,    "--token-delay", k,   NULL };

  return bench_fake_spawn (argv, START_TIMEOUT_MS, pid, port, error);
}

/* The daemon's soft RLIMIT_NOFILE, from /proc/PID/limits; 0 if unknown. */
static uint64_t
daemon_nofile (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/limits", (int)pid);
  g_autofree char *text = NULL;
  const char *p;

  if (!g_file_get_contents (path, &text, NULL, NULL) ||
      (p = strstr (text, "Max open files")) == NULL)
    return 0;
  p += strlen ("Max open files");
  return g_ascii_strtoull (p, NULL, 10);
}

/* ---- main -------------------------------------------------------------------------------------
 */

int
main (int argc, char **argv)
{
  int seconds = -1, warmup = 2, clients = -1, conc = 100, tokens = 20, first_delay = 100,
      token_delay = 20, churn_ms = 200, sample_s = 5, window_s = -1;
  double rate = -1, chat_rate = 4;
  gboolean keep = FALSE;
  GOptionEntry entries[] = {
    { "seconds", 0, 0, G_OPTION_ARG_INT, &seconds,
      "Measured seconds (ws 20, chat 20, rest 30, soak 600)", "S" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup, "Unrecorded seconds first (default 2)", "S" },
    { "rate", 0, 0, G_OPTION_ARG_DOUBLE, &rate,
      "Requests per second (ws: events, default 50; rest 200; soak 40)", "R" },
    { "clients", 0, 0, G_OPTION_ARG_INT, &clients, "WebSocket clients (ws 1000, soak 50)", "N" },
    { "conc", 0, 0, G_OPTION_ARG_INT, &conc, "chat: turns in flight (default 100)", "N" },
    { "chat-rate", 0, 0, G_OPTION_ARG_DOUBLE, &chat_rate, "soak: chat turns per second (4)", "R" },
    { "tokens", 0, 0, G_OPTION_ARG_INT, &tokens, "Fake LLM tokens per answer (20)", "N" },
    { "first-delay", 0, 0, G_OPTION_ARG_INT, &first_delay, "Fake LLM first-token delay (100)",
      "MS" },
    { "token-delay", 0, 0, G_OPTION_ARG_INT, &token_delay, "Fake LLM delay per token (20)", "MS" },
    { "churn-ms", 0, 0, G_OPTION_ARG_INT, &churn_ms, "soak: replace a WebSocket every MS (200)",
      "MS" },
    { "sample", 0, 0, G_OPTION_ARG_INT, &sample_s, "soak: seconds between samples (5)", "S" },
    { "window", 0, 0, G_OPTION_ARG_INT, &window_s,
      "soak: the compared windows and the least warm-up, seconds (60, or a fifth of a "
      "shorter run)",
      "S" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &keep, "Keep the data directory and log", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("ws|chat|rest|soak LARES FAKE_LLM");
  g_autoptr (GError) error = NULL;
  g_autofree char *root = NULL, *log = NULL, *set_url = NULL;
  BenchDaemon d = { .stdout_fd = -1 };
  Load l = { .epfd = -1 };
  GPid fake_pid = 0;
  unsigned fake_port = 0;
  int64_t spawned;
  int rc = 1, code = -1;
  const char *mode;
  gboolean chats, ok = FALSE;
  struct rlimit rl;
  g_autoptr (GPtrArray) extra = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) verdict = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 4 ||
      !g_strv_contains ((const char *const[]){ "ws", "chat", "rest", "soak", NULL }, argv[1]) ||
      warmup < 0 || conc < 1 || conc > 500 || churn_ms < 10 || sample_s < 1 || window_s == 0 ||
      window_s < -1)
    {
      fprintf (stderr, "usage: bench-load ws|chat|rest|soak [OPTION...] LARES FAKE_LLM%s%s\n",
               error ? ": " : "", error ? error->message : "");
      return 2;
    }
  mode = argv[1];
  if (seconds < 0)
    seconds = g_str_equal (mode, "soak") ? 600 : g_str_equal (mode, "rest") ? 30 : 20;
  if (rate < 0)
    rate = g_str_equal (mode, "ws") ? 50 : g_str_equal (mode, "rest") ? 200 : 40;
  if (clients < 0)
    clients = g_str_equal (mode, "ws") ? 1000 : 50;
  if (window_s < 0)
    window_s = MAX (1, MIN (60, seconds / 5));
  if (seconds < 1 || rate <= 0 || clients < 1 || chat_rate < 0 ||
      (g_str_equal (mode, "soak") && seconds < MAX (window_s, seconds / 10) + 2 * window_s))
    {
      fprintf (stderr, "bench-load: bad --seconds, --rate, --clients, --chat-rate or --window (a "
                       "soak needs a warm-up and two windows)\n");
      return 2;
    }
  chats = g_str_equal (mode, "chat") || (g_str_equal (mode, "soak") && chat_rate > 0);

  /* 1,000 WebSockets and hundreds of requests in flight need descriptors. */
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      (void)setrlimit (RLIMIT_NOFILE, &rl);
    }
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)clients + MAX_INFLIGHT + 64)
    {
      fprintf (stderr, "bench-load: RLIMIT_NOFILE is %" G_GUINT64_FORMAT ", need %d\n",
               (guint64)rl.rlim_cur, clients + MAX_INFLIGHT + 64);
      return 1;
    }

  l.mode = mode;
  l.lares = argv[2];
  l.first_delay_ms = first_delay;
  l.turn_ms = first_delay + tokens * token_delay;
  l.inflight = g_hash_table_new_full (NULL, NULL, (GDestroyNotify)http_free, NULL);
  g_queue_init (&l.waiting);
  for (int k = 0; k < K_N; k++)
    {
      l.stats[k].lat = g_array_new (FALSE, FALSE, sizeof (double));
      l.stats[k].ttft = g_array_new (FALSE, FALSE, sizeof (double));
    }
  l.acked_notes = g_array_new (FALSE, FALSE, sizeof (int64_t));
  l.acked_tasks = g_array_new (FALSE, FALSE, sizeof (int64_t));
  l.acked_jobs = g_array_new (FALSE, FALSE, sizeof (int64_t));
  l.open_tasks = g_array_new (FALSE, FALSE, sizeof (int64_t));
  l.chat_ready = g_array_new (FALSE, FALSE, sizeof (int));
  l.epfd = epoll_create1 (EPOLL_CLOEXEC);

  root = bench_make_tmp_dir (&error);
  if (root == NULL)
    goto out;
  l.data_dir = g_build_filename (root, "data", NULL);
  log = g_build_filename (root, "stderr.log", NULL);
  if (chats)
    {
      if (!fake_spawn (argv[3], tokens, first_delay, token_delay, &fake_pid, &fake_port, &error))
        goto out;
      set_url = g_strdup_printf ("llm.base_url=http://127.0.0.1:%u/v1", fake_port);
      for (const char *const *a =
               (const char *const[]){ "--set", "llm.provider=openai", "--set", set_url, "--set",
                                      "llm.model=fake", "--set", "llm.max_concurrent=512", NULL };
           *a; a++)
        g_ptr_array_add (extra, g_strdup (*a));
    }
  g_ptr_array_add (extra, NULL);
  if (!bench_daemon_spawn_args (&d, argv[2], l.data_dir, root, log,
                                (const char *const *)extra->pdata, &spawned, &error) ||
      !bench_daemon_wait_listening (&d, START_TIMEOUT_MS, &error))
    goto out;
  l.daemon = d.pid;
  l.fake = fake_pid;
  l.port = d.port;
  l.auth = bench_make_token (argv[2], l.data_dir, &error);
  if (l.auth == NULL || !bench_wait_ready (d.port, START_TIMEOUT_MS, &error))
    goto out;
  printf ("load.%s.daemon_nofile=%" G_GUINT64_FORMAT "\n", mode, daemon_nofile (d.pid));
  printf ("load.%s.idle_rss_kib=%" G_GUINT64_FORMAT "\n", mode,
          bench_proc_status_kib (d.pid, "VmRSS"));
  if (chats)
    {
      printf ("load.%s.fake_tokens=%d\n", mode, tokens);
      printf ("load.%s.fake_first_delay_ms=%d\n", mode, first_delay);
      printf ("load.%s.fake_token_delay_ms=%d\n", mode, token_delay);
    }
  fflush (stdout);

  if (g_str_equal (mode, "ws"))
    ok = run_ws (&l, clients, rate, seconds, warmup, &d, &error);
  else if (g_str_equal (mode, "chat"))
    ok = run_chat (&l, (unsigned)conc, seconds, warmup, &error);
  else if (g_str_equal (mode, "rest"))
    ok = run_rest (&l, rate, seconds, warmup, &error);
  else
    ok = run_soak (&l, rate, chat_rate, clients, churn_ms, sample_s, seconds, window_s, &verdict,
                   &error);
  if (!ok)
    {
      if (error == NULL && l.error)
        error = g_error_copy (l.error);
      goto out;
    }
  if (d.pid > 0)
    {
      int64_t stop_us = 0;

      for (unsigned i = 0; i < l.n_ws; i++)
        g_clear_pointer (&l.ws[i], ws_free);
      if (!bench_daemon_stop (&d, STOP_TIMEOUT_MS, &code, &stop_us, &error))
        goto out;
      printf ("load.%s.daemon_exit=%d\n", mode, code);
      printf ("load.%s.stop_ms=%.0f\n", mode, (double)stop_us / 1000.0);
      if (code != 0)
        {
          g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "the daemon exited with %d", code);
          goto out;
        }
    }
  {
    g_autofree char *prefix = g_strdup_printf ("load.%s", mode);
    if (!verify_store (&l, prefix, &error))
      goto out;
  }
  if (verdict != NULL)
    {
      error = g_steal_pointer (&verdict);
      goto out;
    }
  rc = 0;

out:
  if (error)
    {
      fprintf (stderr, "bench-load: error: %s\n", error->message);
      bench_daemon_dump_log (&d);
    }
  fflush (stdout);
  bench_daemon_clear (&d);
  bench_fake_stop (&fake_pid);
  for (unsigned i = 0; i < l.n_ws; i++)
    ws_free (l.ws[i]);
  g_free (l.ws);
  g_queue_clear_full (&l.waiting, (GDestroyNotify)http_free);
  g_hash_table_destroy (l.inflight);
  for (int k = 0; k < K_N; k++)
    {
      g_array_unref (l.stats[k].lat);
      g_array_unref (l.stats[k].ttft);
    }
  g_array_unref (l.acked_notes);
  g_array_unref (l.acked_tasks);
  g_array_unref (l.acked_jobs);
  g_array_unref (l.open_tasks);
  g_array_unref (l.chat_ready);
  g_clear_pointer (&l.ev_sched, g_array_unref);
  g_clear_pointer (&l.ev_count, g_array_unref);
  g_clear_pointer (&l.ev_acked, g_array_unref);
  g_clear_pointer (&l.ev_record, g_array_unref);
  g_clear_pointer (&l.deliveries, g_array_unref);
  g_clear_pointer (&l.samples, g_array_unref);
  g_clear_error (&l.error);
  if (l.epfd >= 0)
    close (l.epfd);
  g_free (l.auth);
  if (root && !keep)
    bench_rm_rf (root);
  else if (root)
    fprintf (stderr, "bench-load: kept %s\n", root);
  g_free (l.data_dir);
  return rc;
}
