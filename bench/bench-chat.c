/* bench-chat.c — added latency to first token and turns/s of chat turns
 * through lares's OpenAI façade, against the fake LLM.
 *
 * Usage: bench-chat [--client raw|soup] [--turns1 N] [--turns10 N]
 *                   [--turns100 N] [--bursts R] [--tput-turns N]
 *                   [--tput-conc C] [--token-delay MS] [--open-turns N]
 *                   [--phases LIST] [--samples FILE] LARES_BINARY FAKE_LLM
 *
 * Starts tests/fake-llm (`--tokens 20 --first-delay MS --token-delay MS
 * --record FILE`, port 0; MS is --token-delay, default 0) and `lares serve` (fresh data directory,
 * port 0, llm.provider=openai pointing at the fake, llm.max_concurrent=128), makes an admin token,
 * waits for /readyz, reads the idle RSS, then runs these phases, each after unrecorded warm-up
 * turns at the same concurrency:
 *
 *   c1     1 connection, turns one after another;
 *   c10    10 connections, each sending its next turn as soon as the last
 *          one ended (closed loop, as shared/peers/openclaw/bench.py does);
 *   c100   the same with 100 connections;
 *   b100   bursts: 100 turns sent at once on 100 connections, wait for all
 *          to end, again (the latency of 100 turns that start together);
 *   tput   --tput-conc connections, closed loop: turns/s and CPU per turn;
 *   o100   open loop (paced runs only, --token-delay > 0): turns arrive as
 *          a Poisson process at the rate that keeps 100 turns running at
 *          once (Little's law: 100 / the fake's 20 × MS per turn), each on
 *          a new connection, whether or not earlier turns have ended.
 *
 * Why o100: with a closed loop, turns that last the same time end together
 * and their next turns start together, so c100 under a paced fake keeps
 * sending bursts of ~100 (b100 measures those on purpose).  Independent
 * users do not synchronise; an open loop measures the latency of a new turn
 * while ~100 others stream, and its mean_in_flight line shows the
 * concurrency it reached.  With a zero-delay fake a turn lasts well under a
 * millisecond, so 100 concurrent turns exist only at saturation: c100 and
 * tput measure that.
 *
 * A turn is `POST /v1/chat/completions` with `"stream":true`, a Bearer
 * token and the user message "Say hi. [bench:N]" (N unique; the intent
 * engine routes it to the LLM).  Client times, g_get_monotonic_time():
 * t_send just before the request is written, t_first when the first chunk
 * whose delta has non-empty "content" is read, t_done when "data: [DONE]"
 * is read.  The fake LLM records, on the same clock (CLOCK_MONOTONIC), when
 * it read each request (t_recv) and queued its first token (t_first), with
 * the request body; the tag in the body matches a record to its turn.
 *
 *   overhead = (t_first − t_send) − (fake t_first − fake t_recv)
 *            = inbound (t_send → fake t_recv) + outbound (fake t_first → t_first)
 *
 * The same "at the sockets" (overhead_sock, inbound_sock, outbound_sock)
 * replaces fake t_recv and t_first by when those bytes reached the fake's
 * and the bench's socket: the kernel's receive stamps (SO_TIMESTAMPNS; the
 * fake records t_arrived_us).  The fake and this process share the CPUs
 * with the daemon; a wait of theirs to be scheduled before reading is not
 * time lares added, and it is left out there.  A read of several segments
 * is stamped with the last one, so the figure errs high, never low.
 *
 * Per phase, key=value lines on stdout (chat.PHASE.KEY): overhead, inbound,
 * outbound, TTFT and full-turn p50/p90/p99/max in ms, turns/s, CPU per turn
 * of the daemon (/proc/PID/stat, includes exited threads), of the fake LLM
 * and of this process, machine busy %, bytes sent to the LLM per turn, LLM
 * calls per turn; RSS before the first turn and after the 100-connection
 * phases.  Progress and errors go to stderr; exit status 1 on any error
 * (a non-200 answer, a turn with no token, no [DONE] or no LLM call, a
 * timeout).
 *
 * DESIGN
 * - One thread.  raw (default): nonblocking kept-alive sockets in one
 *   epoll loop, HTTP/1.1 written by hand, chunked bodies decoded in place;
 *   a read costs one read(2).  soup: one SoupSession (max-conns = the
 *   phase's concurrency) on the default GMainContext, bodies read with
 *   g_input_stream_read_async; as a GLib client would do it, and slower.
 * - Timestamps are taken once per read(2) / read callback, so a turn's
 *   time includes the bench's own work for the turns handled before it in
 *   the same wakeup.  Both the fake and this process share the machine
 *   with the daemon: every figure is an upper bound on the daemon's own.
 * - The fake's record file is read after each phase (its line is flushed
 *   before the last bytes of its response, which precede lares's
 *   [DONE]), so parsing costs nothing while turns run.
 * - Every wait is bounded; the first error ends the run.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <math.h>
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

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "bench-util.h"
#include "lares-recv-stamped.h"

#define PROMPT           "Say hi."
#define FAKE_TOKENS      "20"
#define MAX_CONCURRENT   "256" /* llm.max_concurrent: above every phase's concurrency */
#define OPEN_TARGET      100   /* turns running at once in o100 */
#define OPEN_CONNS       300   /* o100's connections: the daemon falls behind if all are busy */
#define OPEN_USERS       4     /* o100's turns take turns among these users (128 running each) */
#define START_TIMEOUT_MS 10000
#define PHASE_TIMEOUT_MS 120000
#define STOP_TIMEOUT_MS  15000
#define IDLE_WAIT_MS     2000
#define RAW_BUF          65536

typedef struct
{
  int64_t t_send, t_first, t_done; /* client, monotonic µs; 0 = not (yet) seen */
  int64_t t_first_arrived;         /* when t_first's bytes reached the client's socket */
  int64_t f_recv, f_first;         /* the fake LLM's first record of this turn; 0 = none */
  int64_t f_arrived;               /* when the request reached the fake's socket; 0 = unknown */
  int64_t bytes;                   /* request body bytes of that record */
  unsigned llm_calls;              /* records carrying this turn's tag */
} Turn;

/* Looks for the first content token and [DONE] in an SSE body. */
typedef struct
{
  GString *line;   /* (owned) the current, unfinished line */
  int64_t arrived; /* when the bytes being fed reached the socket (else when read) */
} SseScan;

typedef enum
{
  RAW_IDLE,
  RAW_HEAD,
  RAW_SIZE,
  RAW_DATA,
  RAW_DATA_CRLF,
  RAW_END,
  RAW_UNTIL_EOF, /* a body that the connection's end delimits */
} RawState;

typedef struct _Bench Bench;

typedef enum
{
  MODE_CLOSED, /* each connection sends its next turn when the last one ended */
  MODE_BURST,  /* rounds of conc turns that start together */
  MODE_OPEN,   /* Poisson arrivals at open_rate, each on a free connection */
} Mode;

typedef struct
{
  Bench *b;
  unsigned slot;
  int fd; /* -1 when not connected */
  size_t turn;
  RawState state;
  gboolean close_after; /* the response said "Connection: close" */
  size_t chunk_left;
  size_t len; /* bytes in buf */
  SseScan sse;
  char buf[RAW_BUF];
} RawConn;

typedef struct
{
  Bench *b;
  unsigned slot;
  size_t turn;
  SoupMessage *msg; /* (owned) */
  GInputStream *in; /* (owned) */
  SseScan sse;
  char buf[16384];
} SoupTurn;

struct _Bench
{
  gboolean raw;
  unsigned port;
  char *auth;                  /* (owned) "Bearer <token>" */
  char *open_auth[OPEN_USERS]; /* (owned) o100's users' */
  char *url;                   /* (owned) */
  Turn *turns;
  size_t cap_turns;

  /* raw client */
  int epfd;
  RawConn **conns; /* (owned) array of max_conc, each (owned) */
  unsigned max_conc;

  /* soup client */
  SoupSession *session; /* (owned) */

  /* the running batch: turns [next, end) are still to be sent */
  size_t next, end;
  unsigned conc, in_flight;
  Mode mode;
  int64_t started_us, deadline_us;
  int token_delay_ms;

  /* open loop */
  double open_rate;        /* turns per second */
  int64_t next_arrival_us; /* when turn `next` is due */
  GRand *rand;             /* (owned) fixed seed: every run sees the same arrivals */
  unsigned *free_slots;    /* (owned) stack of idle connections, max_conc long */
  unsigned n_free;
  int64_t area_last_us; /* in_flight integrated over time, for its mean */
  double in_flight_area_us;
  int64_t send_late_max_us; /* the latest a turn was sent after it fell due */
  GError *error;            /* (owned) the first error */
  FILE *samples;            /* (owned) --samples: one line per recorded turn, or NULL */

  /* the fake's record file */
  char *record_path; /* (owned) */
  int64_t record_offset;
  unsigned unmatched_records;
};

static void fail (Bench *b, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
fail (Bench *b, const char *format, ...)
{
  va_list ap;

  if (b->error != NULL)
    return;
  va_start (ap, format);
  b->error = g_error_new_valist (G_IO_ERROR, G_IO_ERROR_FAILED, format, ap);
  va_end (ap);
}

/* ---- SSE ---------------------------------------------------------------- */

static void
sse_line (Turn *t, const char *line, size_t len, int64_t now, int64_t arrived)
{
  const char *p;

  if (len < 5 || memcmp (line, "data:", 5) != 0)
    return;
  line += 5, len -= 5;
  while (len > 0 && line[0] == ' ')
    line++, len--;
  if (len == 6 && memcmp (line, "[DONE]", 6) == 0)
    {
      if (t->t_done == 0)
        t->t_done = now;
      return;
    }
  if (t->t_first != 0)
    return;
  /* The first chunk is the role with "content":"": a token has text. */
  p = memmem (line, len, "\"content\":\"", 11);
  if (p != NULL && (size_t)(p - line) + 11 < len && p[11] != '"')
    {
      t->t_first = now;
      t->t_first_arrived = arrived;
    }
}

static void
sse_feed (SseScan *s, Turn *t, const char *data, size_t len, int64_t now)
{
  while (len > 0)
    {
      const char *nl = memchr (data, '\n', len);
      size_t take = nl ? (size_t)(nl - data) : len;

      if (nl == NULL)
        {
          g_string_append_len (s->line, data, (gssize)take);
          return;
        }
      if (s->line->len == 0)
        sse_line (t, data, take, now, s->arrived);
      else
        {
          g_string_append_len (s->line, data, (gssize)take);
          sse_line (t, s->line->str, s->line->len, now, s->arrived);
          g_string_truncate (s->line, 0);
        }
      data += take + 1;
      len -= take + 1;
    }
}

/* ---- scheduling (both clients) ----------------------------------------- */

static void start_turn (Bench *b, unsigned slot);

/* Change in_flight, integrating it over time for its mean. */
static void
in_flight_add (Bench *b, int delta)
{
  int64_t now = g_get_monotonic_time ();

  b->in_flight_area_us += (double)b->in_flight * (double)(now - b->area_last_us);
  b->area_last_us = now;
  b->in_flight = (unsigned)((int)b->in_flight + delta);
}

static void
start_round (Bench *b)
{
  if (b->mode == MODE_OPEN)
    {
      b->n_free = 0;
      for (unsigned i = b->conc; i-- > 0;)
        b->free_slots[b->n_free++] = i;
      b->next_arrival_us = g_get_monotonic_time ();
      return; /* open_arrivals() starts the turns as they fall due */
    }
  for (unsigned i = 0; i < b->conc && b->next < b->end && b->error == NULL; i++)
    start_turn (b, i);
}

/* Open loop: start every turn due by now, each on an idle connection;
 * the next inter-arrival time is exponential with mean 1 / open_rate. */
static void
open_arrivals (Bench *b, int64_t now)
{
  while (b->error == NULL && b->next < b->end && b->next_arrival_us <= now)
    {
      double u = g_rand_double (b->rand); /* [0, 1) */

      if (b->n_free == 0)
        {
          fail (b,
                "open loop: all %u connections busy; the daemon does not keep up with %.0f "
                "turns/s",
                b->conc, b->open_rate);
          return;
        }
      b->send_late_max_us = MAX (b->send_late_max_us, now - b->next_arrival_us);
      start_turn (b, b->free_slots[--b->n_free]);
      b->next_arrival_us += (int64_t)(-log1p (-u) / b->open_rate * 1e6);
    }
}

static void
turn_ended (Bench *b, unsigned slot, size_t turn)
{
  Turn *t = &b->turns[turn];

  in_flight_add (b, -1);
  if (t->t_first == 0 || t->t_done == 0)
    {
      fail (b, "turn %zu ended without %s", turn,
            t->t_first == 0 ? "a content token" : "data: [DONE]");
      return;
    }
  switch (b->mode)
    {
    case MODE_CLOSED:
      if (b->next < b->end)
        start_turn (b, slot);
      break;
    case MODE_BURST:
      if (b->in_flight == 0)
        start_round (b);
      break;
    case MODE_OPEN:
      b->free_slots[b->n_free++] = slot;
      break;
    }
}

static char *
request_body (size_t turn)
{
  return g_strdup_printf ("{\"model\":\"lares\",\"stream\":true,\"messages\":[{\"role\":\"user\","
                          "\"content\":\"" PROMPT " [bench:%zu]\"}]}",
                          turn);
}

/* ---- raw client ---------------------------------------------------------- */

static gboolean
raw_connect (Bench *b, RawConn *c)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  struct epoll_event ev = { .events = EPOLLIN };
  int one = 1;

  sa.sin_port = htons ((uint16_t)b->port);
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  c->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    {
      fail (b, "socket: %s", g_strerror (errno));
      return FALSE;
    }
  (void)setsockopt (c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  lares_stamp_arrivals (c->fd);
  /* A loopback connect completes (or is refused) at once. */
  if (connect (c->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
    {
      fail (b, "connect: %s", g_strerror (errno));
      close (c->fd);
      c->fd = -1;
      return FALSE;
    }
  (void)fcntl (c->fd, F_SETFL, fcntl (c->fd, F_GETFL) | O_NONBLOCK);
  ev.data.ptr = c;
  if (epoll_ctl (b->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
    {
      fail (b, "epoll_ctl: %s", g_strerror (errno));
      return FALSE;
    }
  c->state = RAW_IDLE;
  c->len = 0;
  return TRUE;
}

static void
raw_close (RawConn *c)
{
  if (c->fd >= 0)
    close (c->fd); /* also leaves the epoll set */
  c->fd = -1;
  c->state = RAW_IDLE;
  c->len = 0;
}

static void
raw_start (Bench *b, unsigned slot, size_t turn)
{
  RawConn *c = b->conns[slot];
  g_autofree char *body = request_body (turn);
  g_autofree char *req = NULL;
  size_t len, off = 0;

  if (c->fd < 0 && !raw_connect (b, c))
    return;
  req = g_strdup_printf ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                         "Authorization: %s\r\nContent-Type: application/json\r\n"
                         "Accept: text/event-stream\r\nContent-Length: %zu\r\n\r\n%s",
                         b->port, b->mode == MODE_OPEN ? b->open_auth[turn % OPEN_USERS] : b->auth,
                         strlen (body), body);
  len = strlen (req);
  c->turn = turn;
  c->state = RAW_HEAD;
  g_string_truncate (c->sse.line, 0);
  b->turns[turn].t_send = g_get_monotonic_time ();
  /* A few hundred bytes always fit in an empty loopback socket buffer. */
  while (off < len)
    {
      ssize_t n = write (c->fd, req + off, len - off);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          fail (b, "send turn %zu: %s", turn, g_strerror (errno));
          return;
        }
      off += (size_t)n;
    }
}

static void
raw_consume (RawConn *c, size_t n)
{
  memmove (c->buf, c->buf + n, c->len - n);
  c->len -= n;
}

/* Decode what is in c->buf; returns FALSE when more bytes are needed or
 * the run failed. */
static gboolean
raw_step (Bench *b, RawConn *c, int64_t now)
{
  Turn *t = &b->turns[c->turn];
  const char *end;
  guint64 size;
  char *e = NULL;

  switch (c->state)
    {
    case RAW_IDLE:
      fail (b, "%zu unexpected bytes from the daemon on an idle connection", c->len);
      return FALSE;
    case RAW_HEAD:
      end = memmem (c->buf, c->len, "\r\n\r\n", 4);
      if (end == NULL)
        {
          if (c->len == sizeof c->buf)
            fail (b, "response head of turn %zu too long", c->turn);
          return FALSE;
        }
      if (c->len < 12 || memcmp (c->buf, "HTTP/1.1 200", 12) != 0)
        {
          fail (b, "turn %zu (%u in flight): %.*s", c->turn, b->in_flight,
                (int)MIN ((size_t)(end - c->buf), 300), c->buf);
          return FALSE;
        }
      c->close_after = g_strstr_len (c->buf, end - c->buf, "Connection: close") != NULL;
      if (g_strstr_len (c->buf, end - c->buf, "chunked") != NULL)
        c->state = RAW_SIZE;
      else if (c->close_after && g_strstr_len (c->buf, end - c->buf, "Content-Length") == NULL)
        c->state = RAW_UNTIL_EOF;
      else
        {
          fail (b, "turn %zu: the stream is neither chunked nor ended by the connection", c->turn);
          return FALSE;
        }
      raw_consume (c, (size_t)(end + 4 - c->buf));
      return TRUE;
    case RAW_UNTIL_EOF:
      if (c->len == 0)
        return FALSE;
      sse_feed (&c->sse, t, c->buf, c->len, now);
      c->len = 0;
      return FALSE;
    case RAW_SIZE:
      end = memmem (c->buf, c->len, "\r\n", 2);
      if (end == NULL)
        return FALSE;
      size = g_ascii_strtoull (c->buf, &e, 16);
      if (e == c->buf)
        {
          fail (b, "turn %zu: bad chunk size line", c->turn);
          return FALSE;
        }
      raw_consume (c, (size_t)(end + 2 - c->buf));
      c->chunk_left = (size_t)size;
      c->state = size == 0 ? RAW_END : RAW_DATA;
      return TRUE;
    case RAW_DATA:
      if (c->len == 0)
        return FALSE;
      size = MIN (c->chunk_left, c->len);
      sse_feed (&c->sse, t, c->buf, (size_t)size, now);
      raw_consume (c, (size_t)size);
      c->chunk_left -= (size_t)size;
      if (c->chunk_left == 0)
        c->state = RAW_DATA_CRLF;
      return TRUE;
    case RAW_DATA_CRLF:
    case RAW_END:
      if (c->len < 2)
        return FALSE;
      if (memcmp (c->buf, "\r\n", 2) != 0)
        {
          fail (b, "turn %zu: bad chunk framing", c->turn);
          return FALSE;
        }
      raw_consume (c, 2);
      if (c->state == RAW_DATA_CRLF)
        {
          c->state = RAW_SIZE;
          return TRUE;
        }
      c->state = RAW_IDLE;
      if (c->len != 0)
        {
          fail (b, "turn %zu: bytes after the end of the response", c->turn);
          return FALSE;
        }
      /* The daemon closes after each response (docs/internals/http.md):
       * the next turn connects anew, as any HTTP client would. */
      if (c->close_after)
        raw_close (c);
      turn_ended (b, c->slot, c->turn);
      return FALSE;
    }
  return FALSE;
}

static void
raw_readable (Bench *b, RawConn *c)
{
  for (;;)
    {
      int64_t arrived;
      ssize_t n = lares_recv_stamped (c->fd, c->buf + c->len, sizeof c->buf - c->len, &arrived);
      int64_t now = g_get_monotonic_time ();

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n == 0 && c->state == RAW_UNTIL_EOF)
        {
          size_t turn = c->turn;
          raw_close (c);
          turn_ended (b, c->slot, turn);
          return;
        }
      if (n <= 0)
        {
          if (c->state != RAW_IDLE)
            fail (b, "turn %zu: the daemon closed the connection (%s)", c->turn,
                  n == 0 ? "EOF" : g_strerror (errno));
          raw_close (c); /* an idle keep-alive connection closed: reopen on next use */
          return;
        }
      c->len += (size_t)n;
      c->sse.arrived = arrived ? arrived : now;
      while (b->error == NULL && raw_step (b, c, now))
        ;
      if (b->error || c->fd < 0)
        return;
    }
}

static void
raw_run (Bench *b)
{
  struct epoll_event events[128];

  while (b->error == NULL && (b->in_flight > 0 || b->next < b->end))
    {
      int64_t now = g_get_monotonic_time ();
      int64_t wake = b->deadline_us;
      struct timespec ts;
      int n;

      if (now >= b->deadline_us)
        {
          fail (b, "timed out with %u turns in flight after %d s; %zu turns not sent", b->in_flight,
                (int)((b->deadline_us - b->started_us) / G_USEC_PER_SEC), b->end - b->next);
          return;
        }
      if (b->mode == MODE_OPEN)
        {
          open_arrivals (b, now);
          if (b->error)
            return;
          if (b->next < b->end)
            wake = MIN (wake, b->next_arrival_us);
        }
      /* epoll_pwait2: arrivals fall due at microsecond, not millisecond, times */
      ts.tv_sec = (time_t)(MAX (wake - now, 0) / G_USEC_PER_SEC);
      ts.tv_nsec = (long)(MAX (wake - now, 0) % G_USEC_PER_SEC) * 1000;
      n = epoll_pwait2 (b->epfd, events, G_N_ELEMENTS (events), &ts, NULL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          fail (b, "epoll_wait: %s", g_strerror (errno));
          return;
        }
      for (int i = 0; i < n && b->error == NULL; i++)
        raw_readable (b, events[i].data.ptr);
    }
}

/* ---- libsoup client ------------------------------------------------------ */

static void
soup_turn_free (SoupTurn *st)
{
  g_clear_object (&st->msg);
  g_clear_object (&st->in);
  g_string_free (st->sse.line, TRUE);
  g_free (st);
}

static void
on_soup_read (GObject *source, GAsyncResult *result, gpointer data)
{
  SoupTurn *st = data;
  Bench *b = st->b;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  int64_t now = g_get_monotonic_time ();

  if (n < 0)
    {
      fail (b, "turn %zu: read: %s", st->turn, error->message);
      soup_turn_free (st);
      return;
    }
  if (n > 0)
    {
      st->sse.arrived = now; /* libsoup hides the socket */
      sse_feed (&st->sse, &b->turns[st->turn], st->buf, (size_t)n, now);
      g_input_stream_read_async (st->in, st->buf, sizeof st->buf, G_PRIORITY_DEFAULT, NULL,
                                 on_soup_read, st);
      return;
    }
  {
    unsigned slot = st->slot;
    size_t turn = st->turn;

    soup_turn_free (st);
    turn_ended (b, slot, turn);
  }
}

static void
on_soup_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  SoupTurn *st = data;
  Bench *b = st->b;
  g_autoptr (GError) error = NULL;
  unsigned status;

  st->in = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (st->in == NULL)
    {
      fail (b, "turn %zu: %s", st->turn, error->message);
      soup_turn_free (st);
      return;
    }
  status = soup_message_get_status (st->msg);
  if (status != SOUP_STATUS_OK)
    {
      fail (b, "turn %zu: HTTP %u", st->turn, status);
      soup_turn_free (st);
      return;
    }
  g_input_stream_read_async (st->in, st->buf, sizeof st->buf, G_PRIORITY_DEFAULT, NULL,
                             on_soup_read, st);
}

static void
soup_start (Bench *b, unsigned slot, size_t turn)
{
  SoupTurn *st = g_new0 (SoupTurn, 1);
  char *body = request_body (turn);
  g_autoptr (GBytes) bytes = g_bytes_new_take (body, strlen (body));
  SoupMessageHeaders *h;

  st->b = b;
  st->slot = slot;
  st->turn = turn;
  st->sse.line = g_string_new (NULL);
  st->msg = soup_message_new ("POST", b->url);
  h = soup_message_get_request_headers (st->msg);
  soup_message_headers_replace (h, "Authorization", b->auth);
  soup_message_headers_replace (h, "Accept", "text/event-stream");
  soup_message_set_request_body_from_bytes (st->msg, "application/json", bytes);
  b->turns[turn].t_send = g_get_monotonic_time ();
  soup_session_send_async (b->session, st->msg, G_PRIORITY_DEFAULT, NULL, on_soup_sent, st);
}

static void
soup_run (Bench *b)
{
  while (b->error == NULL && (b->in_flight > 0 || b->next < b->end))
    {
      if (g_get_monotonic_time () > b->deadline_us)
        {
          fail (b, "timed out with %u turns in flight", b->in_flight);
          return;
        }
      g_main_context_iteration (NULL, TRUE);
    }
}

static gboolean
on_tick (gpointer data)
{
  return G_SOURCE_CONTINUE; /* wakes soup_run to check the deadline */
}

/* ---- batches ----------------------------------------------------------- */

static void
start_turn (Bench *b, unsigned slot)
{
  size_t turn = b->next++;

  in_flight_add (b, +1);
  if (b->raw)
    raw_start (b, slot, turn);
  else
    soup_start (b, slot, turn);
}

/* Run turns [first, first + n) over CONC connections, as MODE says. */
static gboolean
run_batch (Bench *b, size_t first, size_t n, unsigned conc, Mode mode)
{
  g_assert (first + n <= b->cap_turns && conc <= b->max_conc);
  g_assert (mode != MODE_OPEN || b->raw);
  b->next = first;
  b->end = first + n;
  b->conc = conc;
  b->mode = mode;
  b->in_flight = 0;
  b->started_us = b->area_last_us = g_get_monotonic_time ();
  b->in_flight_area_us = 0;
  b->send_late_max_us = 0;
  /* A paced turn lasts 20 × token_delay: allow every turn that long, one
   * after another, on top of the fixed bound. */
  b->deadline_us = b->started_us + (int64_t)PHASE_TIMEOUT_MS * 1000 +
                   (int64_t)n * atoi (FAKE_TOKENS) * b->token_delay_ms * 1000;
  start_round (b);
  if (b->raw)
    raw_run (b);
  else
    soup_run (b);
  return b->error == NULL;
}

/* ---- the fake's record --------------------------------------------------- */

/* "...[bench:123]..." in the last message of the request body -> 123 */
static gboolean
record_turn (JsonObject *body, size_t *turn)
{
  JsonArray *msgs;
  JsonObject *last;
  const char *content, *tag;
  guint64 v;
  char *end = NULL;

  if (body == NULL || !json_object_has_member (body, "messages"))
    return FALSE;
  msgs = json_object_get_array_member (body, "messages");
  for (unsigned i = json_array_get_length (msgs); i-- > 0;)
    {
      last = json_array_get_object_element (msgs, i);
      if (last == NULL ||
          g_strcmp0 (json_object_get_string_member_with_default (last, "role", ""), "user") != 0)
        continue;
      content = json_object_get_string_member_with_default (last, "content", "");
      tag = content ? strstr (content, "[bench:") : NULL;
      if (tag == NULL)
        return FALSE;
      v = g_ascii_strtoull (tag + 7, &end, 10);
      if (end == tag + 7 || *end != ']')
        return FALSE;
      *turn = (size_t)v;
      return TRUE;
    }
  return FALSE;
}

static void
record_line (Bench *b, const char *line, size_t len)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  JsonObject *o, *body;
  JsonNode *first;
  size_t turn;
  Turn *t;
  int64_t recv;

  if (!json_parser_load_from_data (parser, line, (gssize)len, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      b->unmatched_records++;
      return;
    }
  o = json_node_get_object (json_parser_get_root (parser));
  body = json_object_get_object_member (o, "body");
  if (!record_turn (body, &turn) || turn >= b->cap_turns)
    {
      b->unmatched_records++;
      return;
    }
  t = &b->turns[turn];
  t->llm_calls++;
  recv = json_object_get_int_member_with_default (o, "t_recv_us", 0);
  if (t->f_recv != 0 && t->f_recv <= recv)
    return; /* keep the turn's first LLM call */
  t->f_recv = recv;
  first = json_object_get_member (o, "t_first_us");
  t->f_first = first && JSON_NODE_HOLDS_VALUE (first) ? json_node_get_int (first) : 0;
  t->f_arrived = json_object_get_int_member_with_default (o, "t_arrived_us", 0);
  t->bytes = json_object_get_int_member_with_default (o, "bytes", 0);
}

/* Read the record lines written since the last call. */
static gboolean
read_records (Bench *b, GError **error)
{
  g_autofree char *text = NULL;
  size_t len = 0;
  const char *p, *end;

  if (!g_file_get_contents (b->record_path, &text, &len, error))
    return FALSE;
  p = text + MIN ((size_t)b->record_offset, len);
  end = text + len;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (size_t)(end - p));

      if (nl == NULL)
        break; /* a line still being written */
      record_line (b, p, (size_t)(nl - p));
      p = nl + 1;
    }
  b->record_offset = p - text;
  return TRUE;
}

/* ---- figures ------------------------------------------------------------- */

typedef struct
{
  const char *name;
  unsigned conc; /* connections */
  Mode mode;
  size_t warmup, turns;
} Phase;

static const char *const mode_names[] = { "closed-loop", "burst", "open-loop" };

static void
put_dist (const char *phase, const char *what, double *v, size_t n)
{
  bench_sort (v, n);
  printf ("chat.%s.%s_p50_ms=%.3f\n", phase, what, bench_percentile (v, n, 50));
  printf ("chat.%s.%s_p90_ms=%.3f\n", phase, what, bench_percentile (v, n, 90));
  printf ("chat.%s.%s_p99_ms=%.3f\n", phase, what, bench_percentile (v, n, 99));
  printf ("chat.%s.%s_max_ms=%.3f\n", phase, what, n ? v[n - 1] : 0.0);
}

static int64_t
self_cpu_us (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return (int64_t)ru.ru_utime.tv_sec * G_USEC_PER_SEC + ru.ru_utime.tv_usec +
         (int64_t)ru.ru_stime.tv_sec * G_USEC_PER_SEC + ru.ru_stime.tv_usec;
}

/* Busy, stolen and total jiffies over all CPUs from /proc/stat.  Busy
 * counts steal: time the hypervisor gave another guest is time this
 * machine could not run.  Steal on its own says how much of a phase's
 * tail the host, not the daemon, may account for. */
static void
machine_ticks (guint64 *busy, guint64 *steal, guint64 *total)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) f = NULL;

  *busy = *steal = *total = 0;
  if (!g_file_get_contents ("/proc/stat", &text, NULL, NULL))
    return;
  *strchr (text, '\n') = '\0';
  f = g_strsplit_set (text, " ", -1);
  for (unsigned i = 1, k = 0; f[i]; i++)
    {
      guint64 v;

      if (*f[i] == '\0')
        continue;
      v = g_ascii_strtoull (f[i], NULL, 10);
      *total += v;
      if (k != 3 && k != 4) /* idle, iowait */
        *busy += v;
      if (k == 7)
        *steal = v;
      k++;
    }
}

typedef struct
{
  int64_t daemon_us, fake_us, self_us;
  guint64 busy, steal, total;
} CpuMark;

static void
cpu_mark (CpuMark *m, GPid daemon, GPid fake)
{
  m->daemon_us = bench_proc_cpu_us (daemon);
  m->fake_us = bench_proc_cpu_us (fake);
  m->self_us = self_cpu_us ();
  machine_ticks (&m->busy, &m->steal, &m->total);
}

static gboolean
take_error (Bench *b, GError **error)
{
  g_propagate_error (error, g_steal_pointer (&b->error));
  return FALSE;
}

static gboolean
run_phase (Bench *b, const Phase *ph, size_t *next_turn, GPid daemon, GPid fake, GError **error)
{
  size_t first = *next_turn + ph->warmup, n = ph->turns, n_ok = 0;
  g_autofree double *over = g_new (double, n);
  g_autofree double *in = g_new (double, n);
  g_autofree double *out = g_new (double, n);
  g_autofree double *ttft = g_new (double, n);
  g_autofree double *whole = g_new (double, n);
  g_autofree double *fttft = g_new (double, n);
  g_autofree double *bytes = g_new (double, n);
  g_autofree double *over_sock = g_new (double, n);
  g_autofree double *in_sock = g_new (double, n);
  g_autofree double *out_sock = g_new (double, n);
  int64_t t0, t1, min_send = G_MAXINT64, max_done = 0;
  unsigned calls_min = G_MAXUINT, calls_max = 0;
  CpuMark m0, m1;

  if (ph->mode == MODE_OPEN)
    fprintf (stderr,
             "bench-chat: %s: open loop, %.0f turns/s (%d turns running on average), "
             "%zu warm-up + %zu turns\n",
             ph->name, b->open_rate, OPEN_TARGET, ph->warmup, n);
  else
    fprintf (stderr, "bench-chat: %s: %u connection%s%s, %zu warm-up + %zu turns\n", ph->name,
             ph->conc, ph->conc == 1 ? "" : "s", ph->mode == MODE_BURST ? " in bursts" : "",
             ph->warmup, n);
  if (ph->warmup && !run_batch (b, *next_turn, ph->warmup, ph->conc, ph->mode))
    return take_error (b, error);
  cpu_mark (&m0, daemon, fake);
  t0 = g_get_monotonic_time ();
  if (!run_batch (b, first, n, ph->conc, ph->mode))
    return take_error (b, error);
  t1 = g_get_monotonic_time ();
  in_flight_add (b, 0); /* close the integral at t1 */
  cpu_mark (&m1, daemon, fake);
  *next_turn = first + n;
  if (!read_records (b, error))
    return FALSE;

  for (size_t i = first; i < first + n; i++)
    {
      Turn *t = &b->turns[i];

      if (t->llm_calls == 0 || t->f_first == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "%s: turn %zu did not reach the fake LLM (or it sent no token)", ph->name,
                       i);
          return FALSE;
        }
      calls_min = MIN (calls_min, t->llm_calls);
      calls_max = MAX (calls_max, t->llm_calls);
      over[n_ok] = (double)((t->t_first - t->t_send) - (t->f_first - t->f_recv)) / 1000.0;
      in[n_ok] = (double)(t->f_recv - t->t_send) / 1000.0;
      out[n_ok] = (double)(t->t_first - t->f_first) / 1000.0;
      ttft[n_ok] = (double)(t->t_first - t->t_send) / 1000.0;
      whole[n_ok] = (double)(t->t_done - t->t_send) / 1000.0;
      fttft[n_ok] = (double)(t->f_first - t->f_recv) / 1000.0;
      bytes[n_ok] = (double)t->bytes;
      /* The same, from when the bytes reached each socket (see DESIGN). */
      in_sock[n_ok] = (double)((t->f_arrived ? t->f_arrived : t->f_recv) - t->t_send) / 1000.0;
      out_sock[n_ok] = (double)(t->t_first_arrived - t->f_first) / 1000.0;
      over_sock[n_ok] = in_sock[n_ok] + out_sock[n_ok];
      if (b->samples)
        fprintf (b->samples, "%s %.3f %.3f %.3f %.3f %.3f %.3f %.3f\n", ph->name,
                 (double)(t->t_send - t0) / 1000.0, over[n_ok], in[n_ok], out[n_ok],
                 over_sock[n_ok], in_sock[n_ok], out_sock[n_ok]);
      min_send = MIN (min_send, t->t_send);
      max_done = MAX (max_done, t->t_done);
      n_ok++;
    }
  printf ("chat.%s.concurrency=%u\n", ph->name, ph->mode == MODE_OPEN ? OPEN_TARGET : ph->conc);
  printf ("chat.%s.connections=%u\n", ph->name, ph->conc);
  printf ("chat.%s.mode=%s\n", ph->name, mode_names[ph->mode]);
  printf ("chat.%s.mean_in_flight=%.1f\n", ph->name, b->in_flight_area_us / (double)(t1 - t0));
  if (ph->mode == MODE_OPEN)
    {
      printf ("chat.%s.arrival_rate=%.1f\n", ph->name, b->open_rate);
      printf ("chat.%s.send_late_max_ms=%.3f\n", ph->name, (double)b->send_late_max_us / 1000.0);
    }
  printf ("chat.%s.warmup=%zu\n", ph->name, ph->warmup);
  printf ("chat.%s.turns=%zu\n", ph->name, n_ok);
  put_dist (ph->name, "overhead", over, n_ok);
  put_dist (ph->name, "inbound", in, n_ok);
  put_dist (ph->name, "outbound", out, n_ok);
  put_dist (ph->name, "overhead_sock", over_sock, n_ok);
  put_dist (ph->name, "inbound_sock", in_sock, n_ok);
  put_dist (ph->name, "outbound_sock", out_sock, n_ok);
  put_dist (ph->name, "ttft", ttft, n_ok);
  put_dist (ph->name, "turn", whole, n_ok);
  put_dist (ph->name, "fake_ttft", fttft, n_ok);
  bench_sort (bytes, n_ok);
  printf ("chat.%s.llm_bytes_p50=%.0f\n", ph->name, bench_percentile (bytes, n_ok, 50));
  printf ("chat.%s.llm_bytes_max=%.0f\n", ph->name, n_ok ? bytes[n_ok - 1] : 0.0);
  printf ("chat.%s.llm_calls_min=%u\n", ph->name, calls_min);
  printf ("chat.%s.llm_calls_max=%u\n", ph->name, calls_max);
  printf ("chat.%s.wall_s=%.3f\n", ph->name, (double)(t1 - t0) / 1e6);
  printf ("chat.%s.turns_per_s=%.0f\n", ph->name,
          (double)n_ok / ((double)(max_done - min_send) / 1e6));
  printf ("chat.%s.daemon_cpu_us_per_turn=%.0f\n", ph->name,
          (double)(m1.daemon_us - m0.daemon_us) / (double)n_ok);
  printf ("chat.%s.fake_cpu_us_per_turn=%.0f\n", ph->name,
          (double)(m1.fake_us - m0.fake_us) / (double)n_ok);
  printf ("chat.%s.bench_cpu_us_per_turn=%.0f\n", ph->name,
          (double)(m1.self_us - m0.self_us) / (double)n_ok);
  printf ("chat.%s.daemon_cores=%.2f\n", ph->name,
          (double)(m1.daemon_us - m0.daemon_us) / (double)(t1 - t0));
  printf ("chat.%s.machine_busy_pct=%.0f\n", ph->name,
          m1.total > m0.total ? 100.0 * (double)(m1.busy - m0.busy) / (double)(m1.total - m0.total)
                              : 0.0);
  printf ("chat.%s.steal_pct=%.1f\n", ph->name,
          m1.total > m0.total
              ? 100.0 * (double)(m1.steal - m0.steal) / (double)(m1.total - m0.total)
              : 0.0);
  fflush (stdout);
  fprintf (stderr, "bench-chat: %s: overhead p50 %.3f ms, p99 %.3f ms; %.0f turns/s\n", ph->name,
           bench_percentile (over, n_ok, 50), bench_percentile (over, n_ok, 99),
           (double)n_ok / ((double)(max_done - min_send) / 1e6));
  return TRUE;
}

/* ---- the fake LLM process ------------------------------------------------ */

static gboolean
fake_spawn (const char *fake, const char *record, int delay_ms, GPid *pid, unsigned *port,
            GError **error)
{
  g_autofree char *delay = g_strdup_printf ("%d", delay_ms);
  const char *argv[] = { fake,  "--port",        "0",   "--tokens", FAKE_TOKENS, "--first-delay",
                         delay, "--token-delay", delay, "--record", record,      NULL };

  return bench_fake_spawn (argv, START_TIMEOUT_MS, pid, port, error);
}

/* ---- main ------------------------------------------------------------------ */

static gboolean
phase_selected (const char *list, const char *name)
{
  g_auto (GStrv) names = NULL;

  if (list == NULL)
    return TRUE;
  names = g_strsplit (list, ",", -1);
  return g_strv_contains ((const char *const *)names, name);
}

int
main (int argc, char **argv)
{
  int turns1 = 1000, turns10 = 2000, turns100 = 3000, bursts = 20, tput_turns = 6000,
      tput_conc = 32, delay_ms = 0, open_turns = 3000;
  g_autofree char *client = NULL;
  g_autofree char *phases = NULL;
  g_autofree char *samples = NULL;
  GOptionEntry entries[] = {
    { "client", 0, 0, G_OPTION_ARG_STRING, &client,
      "raw (epoll, hand-written HTTP/1.1; default) or soup (SoupSession)", "KIND" },
    { "turns1", 0, 0, G_OPTION_ARG_INT, &turns1, "Turns with 1 connection (default 1000)", "N" },
    { "turns10", 0, 0, G_OPTION_ARG_INT, &turns10, "Turns over 10 connections (default 2000)",
      "N" },
    { "turns100", 0, 0, G_OPTION_ARG_INT, &turns100, "Turns over 100 connections (default 3000)",
      "N" },
    { "bursts", 0, 0, G_OPTION_ARG_INT, &bursts, "Bursts of 100 turns (default 20)", "R" },
    { "tput-turns", 0, 0, G_OPTION_ARG_INT, &tput_turns,
      "Turns of the throughput phase (default 6000)", "N" },
    { "tput-conc", 0, 0, G_OPTION_ARG_INT, &tput_conc,
      "Connections of the throughput phase (default 32)", "C" },
    { "token-delay", 0, 0, G_OPTION_ARG_INT, &delay_ms,
      "The fake LLM waits MS before each token, the first included (default 0)", "MS" },
    { "open-turns", 0, 0, G_OPTION_ARG_INT, &open_turns,
      "Turns of the open-loop phase (default 3000)", "N" },
    { "phases", 0, 0, G_OPTION_ARG_STRING, &phases,
      "Comma-separated subset of c1,c10,c100,b100,tput,o100 (default all; o100 only with "
      "--token-delay)",
      "LIST" },
    { "samples", 0, 0, G_OPTION_ARG_FILENAME, &samples,
      "Write each recorded turn to FILE: phase, send time after the phase began, overhead, "
      "inbound, outbound, then the same three at the sockets (ms)",
      "FILE" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("LARES_BINARY FAKE_LLM");
  g_autoptr (GError) error = NULL;
  g_autofree char *root = NULL, *data = NULL, *log = NULL;
  g_autofree char *set_url = NULL;
  BenchDaemon d = { .stdout_fd = -1 };
  Bench b = { .epfd = -1 };
  GPid fake_pid = 0;
  unsigned fake_port = 0;
  int64_t spawned;
  size_t next_turn = 0;
  int rc = 1, code = -1;
  Phase all[6];
  size_t n_phases = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 3 || turns1 < 1 ||
      turns10 < 1 || turns100 < 1 || bursts < 1 || tput_turns < 1 || tput_conc < 1 ||
      tput_conc > 120 || delay_ms < 0 || delay_ms > 1000 || open_turns < 1 ||
      (client && g_strcmp0 (client, "raw") != 0 && g_strcmp0 (client, "soup") != 0))
    {
      fprintf (stderr,
               "usage: bench-chat [--client raw|soup] [--turns1 N] [--turns10 N] [--turns100 N] "
               "[--bursts R] [--tput-turns N] [--tput-conc C] [--token-delay MS] [--open-turns N] "
               "[--phases LIST] [--samples FILE] "
               "LARES_BINARY "
               "FAKE_LLM%s%s\n",
               error ? ": " : "", error ? error->message : "");
      return 2;
    }
  b.raw = g_strcmp0 (client, "soup") != 0;
  if (phases && phase_selected (phases, "o100") && (delay_ms == 0 || !b.raw))
    {
      fprintf (stderr, "bench-chat: o100 needs --token-delay MS > 0 and the raw client: with a "
                       "zero-delay fake, 100 turns run at once only at saturation (c100, tput)\n");
      return 2;
    }
  b.token_delay_ms = delay_ms;
  if (samples && (b.samples = fopen (samples, "w")) == NULL)
    {
      fprintf (stderr, "bench-chat: %s: %s\n", samples, g_strerror (errno));
      return 2;
    }
  /* Warm-up: enough turns for the connection pools and caches to settle. */
  all[n_phases++] = (Phase){ "c1", 1, MODE_CLOSED, 50, (size_t)turns1 };
  all[n_phases++] = (Phase){ "c10", 10, MODE_CLOSED, 100, (size_t)turns10 };
  all[n_phases++] = (Phase){ "c100", 100, MODE_CLOSED, 300, (size_t)turns100 };
  all[n_phases++] = (Phase){ "b100", 100, MODE_BURST, 100, (size_t)bursts * 100 };
  all[n_phases++] = (Phase){ "tput", (unsigned)tput_conc, MODE_CLOSED, 300, (size_t)tput_turns };
  if (delay_ms > 0 && b.raw)
    all[n_phases++] = (Phase){ "o100", OPEN_CONNS, MODE_OPEN, 300, (size_t)open_turns };
  /* Little's law: OPEN_TARGET turns of 20 × delay_ms each running at once. */
  b.open_rate = delay_ms > 0 ? OPEN_TARGET / (atoi (FAKE_TOKENS) * delay_ms / 1000.0) : 0;
  b.rand = g_rand_new_with_seed (20261121);
  for (size_t i = 0; i < n_phases; i++)
    if (phase_selected (phases, all[i].name))
      {
        b.cap_turns += all[i].warmup + all[i].turns;
        b.max_conc = MAX (b.max_conc, all[i].conc);
      }
  b.turns = g_new0 (Turn, b.cap_turns);

  root = bench_make_tmp_dir (&error);
  if (root == NULL)
    goto out;
  data = g_build_filename (root, "data", NULL);
  log = g_build_filename (root, "stderr.log", NULL);
  b.record_path = g_build_filename (root, "record.jsonl", NULL);
  if (!fake_spawn (argv[2], b.record_path, delay_ms, &fake_pid, &fake_port, &error))
    goto out;
  set_url = g_strdup_printf ("llm.base_url=http://127.0.0.1:%u/v1", fake_port);
  {
    const char *extra[] = { "--set", "llm.provider=openai",
                            "--set", set_url,
                            "--set", "llm.model=fake",
                            "--set", "llm.max_concurrent=" MAX_CONCURRENT,
                            NULL };

    if (!bench_daemon_spawn_args (&d, argv[1], data, root, log, extra, &spawned, &error) ||
        !bench_daemon_wait_listening (&d, START_TIMEOUT_MS, &error))
      goto out;
  }
  b.port = d.port;
  b.url = g_strdup_printf ("http://127.0.0.1:%u/v1/chat/completions", d.port);
  b.auth = bench_make_token (argv[1], data, &error);
  if (b.auth == NULL || !bench_wait_ready (d.port, START_TIMEOUT_MS, &error))
    goto out;
  /* A user may have 128 turns running; o100's count varies around 100. */
  for (unsigned i = 0; i < OPEN_USERS && phase_selected (phases, "o100") && b.open_rate > 0; i++)
    {
      g_autofree char *name = g_strdup_printf ("bench%u", i + 1);

      b.open_auth[i] = bench_make_user_token (argv[1], data, name, &error);
      if (b.open_auth[i] == NULL)
        goto out;
    }
  if (b.raw)
    {
      b.epfd = epoll_create1 (EPOLL_CLOEXEC);
      b.conns = g_new0 (RawConn *, b.max_conc);
      b.free_slots = g_new (unsigned, b.max_conc);
      for (unsigned i = 0; i < b.max_conc; i++)
        {
          b.conns[i] = g_new0 (RawConn, 1);
          b.conns[i]->b = &b;
          b.conns[i]->slot = i;
          b.conns[i]->fd = -1;
          b.conns[i]->sse.line = g_string_new (NULL);
        }
    }
  else
    {
      /* max-conns is construct-only: sized for the largest phase; a phase
       * with fewer turns in flight keeps using the connections it has. */
      b.session = soup_session_new_with_options ("timeout", 60, "max-conns", (int)b.max_conc + 8,
                                                 "max-conns-per-host", (int)b.max_conc + 8, NULL);
      /* Loopback only: no system proxy lookups. */
      soup_session_set_proxy_resolver (b.session, NULL);
      g_timeout_add (100, on_tick, NULL);
    }
  g_usleep (IDLE_WAIT_MS * 1000);
  printf ("chat.client=%s\n", b.raw ? "raw" : "soup");
  printf ("chat.tokens=%s\n", FAKE_TOKENS);
  printf ("chat.token_delay_ms=%d\n", delay_ms);
  printf ("chat.max_concurrent=%s\n", MAX_CONCURRENT);
  printf ("chat.idle_wait_ms=%d\n", IDLE_WAIT_MS);
  printf ("chat.idle_rss_kib=%" G_GUINT64_FORMAT "\n", bench_proc_status_kib (d.pid, "VmRSS"));
  fflush (stdout);

  for (size_t i = 0; i < n_phases; i++)
    {
      if (!phase_selected (phases, all[i].name))
        continue;
      if (!run_phase (&b, &all[i], &next_turn, d.pid, fake_pid, &error))
        goto out;
      if (all[i].conc >= 100)
        {
          printf ("chat.%s.rss_after_kib=%" G_GUINT64_FORMAT "\n", all[i].name,
                  bench_proc_status_kib (d.pid, "VmRSS"));
          printf ("chat.%s.hwm_after_kib=%" G_GUINT64_FORMAT "\n", all[i].name,
                  bench_proc_status_kib (d.pid, "VmHWM"));
        }
    }
  printf ("chat.unmatched_records=%u\n", b.unmatched_records);
  printf ("chat.rss_end_kib=%" G_GUINT64_FORMAT "\n", bench_proc_status_kib (d.pid, "VmRSS"));
  printf ("chat.hwm_end_kib=%" G_GUINT64_FORMAT "\n", bench_proc_status_kib (d.pid, "VmHWM"));
  if (!bench_daemon_stop (&d, STOP_TIMEOUT_MS, &code, NULL, &error))
    goto out;
  printf ("chat.daemon_exit=%d\n", code);
  if (code != 0)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "the daemon exited with %d", code);
      goto out;
    }
  rc = 0;

out:
  if (error)
    {
      fprintf (stderr, "bench-chat: error: %s\n", error->message);
      bench_daemon_dump_log (&d);
    }
  fflush (stdout);
  bench_daemon_clear (&d);
  bench_fake_stop (&fake_pid);
  if (b.conns)
    for (unsigned i = 0; i < b.max_conc; i++)
      {
        raw_close (b.conns[i]);
        g_string_free (b.conns[i]->sse.line, TRUE);
        g_free (b.conns[i]);
      }
  g_free (b.conns);
  g_free (b.free_slots);
  g_rand_free (b.rand);
  if (b.epfd >= 0)
    close (b.epfd);
  g_clear_object (&b.session);
  g_clear_error (&b.error);
  g_free (b.turns);
  g_free (b.auth);
  for (unsigned i = 0; i < OPEN_USERS; i++)
    g_free (b.open_auth[i]);
  g_free (b.url);
  g_free (b.record_path);
  if (b.samples && fclose (b.samples) != 0 && rc == 0)
    {
      fprintf (stderr, "bench-chat: %s: %s\n", samples, g_strerror (errno));
      rc = 1;
    }
  if (root)
    bench_rm_rf (root);
  return rc;
}
