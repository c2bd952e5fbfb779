/* fake-http.c — the fake LLM's HTTP/1.1 server (fake-http.h).
 *
 * DESIGN
 * - One epoll set holds the listener and every connection; the default
 *   GMainContext watches the epoll descriptor, so the fake's timers and
 *   signal handlers keep running on the same loop and one wakeup serves
 *   every ready socket.  Level-triggered; a connection asks for EPOLLOUT
 *   only while it has bytes queued.
 * - A connection reads whatever arrives into one buffer (capped), also
 *   while a response is in progress: that is how a client that goes away
 *   during a delay or a hang is noticed (EOF or an error), and how
 *   pipelined requests wait their turn.  Requests are parsed from the
 *   buffer one at a time and only when the connection is not busy.
 * - Output is queued in one buffer per connection and written with one
 *   send(2) per fake_conn_send; what the socket does not take waits for
 *   EPOLLOUT.  A failed write shuts the socket down, which epoll reports as
 *   a hang-up, so the gone callback always runs from the epoll dispatch,
 *   never under a caller's feet.
 * - conn_settle is the only place that answers the next request, reports a
 *   client gone, or frees a connection.  It does not nest: fake_conn_end
 *   called from inside the handler leaves the work to the settle that
 *   called the handler.
 * - Limits: 64 KiB of request line and headers (431), 64 MiB of body
 *   (413); a request the parser cannot read gets 400, a transfer coding
 *   other than chunked 501, and the connection is closed after the answer.
 *   An HTTP/1.0 client gets its answer without chunked framing and the
 *   connection closed after it.
 */
#include "config.h"

#include "fake-http.h"
#include "lares-recv-stamped.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD   (64 * 1024)
#define MAX_BODY   (64 * 1024 * 1024)
#define MAX_BUFFER (MAX_HEAD + MAX_BODY + 64 * 1024) /* chunk framing included */
#define READ_MIN   4096  /* grow the input buffer below this much room */
#define IN_INITIAL 16384 /* a typical chat request fits in one read */
#define MAX_EVENTS 64

struct _FakeHttp
{
  int listen_fd, epfd;
  uint16_t port;
  GSource *watch; /* the epoll descriptor's (owned) */
  FakeHttpHandler handler;
  void *data;
  GQueue conns; /* FakeConn.link */
  char date[40];
  time_t date_sec;
};

struct _FakeConn
{
  FakeHttp *http;
  GList link; /* in http->conns */
  int fd;
  uint32_t events; /* epoll events asked for */

  char *in; /* received bytes; the current request starts at 0 */
  size_t in_len, in_cap;
  int64_t arrived; /* when the last bytes read reached the socket (monotonic µs; 0 unknown) */
  size_t req_len;  /* bytes of `in` the request being answered took */
  GString *body;   /* a chunked request body, joined */
  GString *method, *path, *auth;

  GString *out; /* queued output; out_pos bytes of it already written */
  size_t out_pos;

  gboolean busy;        /* a request is being answered */
  gboolean http10;      /* the current request is HTTP/1.0 */
  gboolean chunked;     /* the response has chunked framing */
  gboolean no_body;     /* HEAD, 204, 304: no body bytes at all */
  gboolean close_after; /* close once this response is written */
  gboolean closing;     /* answer no more requests; free once drained */
  gboolean cutting;     /* closing without the response's end */
  gboolean eof;         /* the client closed its side (or reset) */
  gboolean broken;      /* a write failed */
  gboolean settling;    /* inside conn_settle */
  gboolean continued;   /* "100 Continue" sent for the current request */

  FakeConnGone gone;
  void *gone_data;
};

/* ---- connections ------------------------------------------------------------ */

static void
conn_free (FakeConn *c)
{
  if (c->cutting)
    shutdown (c->fd, SHUT_RDWR);
  close (c->fd);
  g_queue_unlink (&c->http->conns, &c->link);
  g_free (c->in);
  g_string_free (c->body, TRUE);
  g_string_free (c->method, TRUE);
  g_string_free (c->path, TRUE);
  g_string_free (c->auth, TRUE);
  g_string_free (c->out, TRUE);
  g_free (c);
}

static gboolean
conn_drained (const FakeConn *c)
{
  return c->out_pos == c->out->len;
}

static gboolean
conn_in_full (const FakeConn *c)
{
  return c->in_cap >= MAX_BUFFER && c->in_cap - c->in_len < READ_MIN;
}

static void
conn_update_events (FakeConn *c)
{
  uint32_t want = 0;

  if (!c->eof && !c->broken && !conn_in_full (c))
    want |= EPOLLIN;
  if (!c->broken && !conn_drained (c))
    want |= EPOLLOUT;
  if (want != c->events)
    {
      struct epoll_event ev = { .events = want, .data.ptr = c };

      epoll_ctl (c->http->epfd, EPOLL_CTL_MOD, c->fd, &ev);
      c->events = want;
    }
}

void
fake_conn_send (FakeConn *c)
{
  while (!c->broken && !conn_drained (c))
    {
      ssize_t n = send (c->fd, c->out->str + c->out_pos, c->out->len - c->out_pos, MSG_NOSIGNAL);

      if (n > 0)
        c->out_pos += (size_t)n;
      else if (n < 0 && errno == EINTR)
        continue;
      else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      else
        {
          /* Reported as a hang-up by the next epoll round. */
          c->broken = TRUE;
          shutdown (c->fd, SHUT_RDWR);
        }
    }
  if (conn_drained (c) && c->out_pos > 0)
    {
      g_string_truncate (c->out, 0);
      c->out_pos = 0;
    }
  if (!c->settling)
    conn_update_events (c);
}

/* Read what the socket has.  @hup: epoll reported a hang-up or error. */
static void
conn_read (FakeConn *c, gboolean hup)
{
  for (;;)
    {
      size_t room;
      ssize_t n;
      int64_t arrived;

      if (c->in_cap - c->in_len < READ_MIN)
        {
          if (conn_in_full (c))
            {
              /* Busy with a client that sends too much: stop reading it,
               * but a hang-up still ends it. */
              if (hup)
                c->eof = TRUE;
              return;
            }
          c->in_cap = MIN (MAX (c->in_cap * 2, IN_INITIAL), MAX_BUFFER);
          c->in = g_realloc (c->in, c->in_cap);
        }
      room = c->in_cap - c->in_len;
      /* The kernel's receive stamp of the last bytes read: a request's
       * t_arrived is then free of the time this process waited for a CPU
       * before reading. */
      n = lares_recv_stamped (c->fd, c->in + c->in_len, room, &arrived);
      if (arrived != 0)
        c->arrived = arrived;
      if (n > 0)
        {
          c->in_len += (size_t)n;
          if ((size_t)n < room)
            return; /* most likely all there is; epoll says if not */
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
      c->eof = TRUE; /* closed, or reset */
      return;
    }
}

static void
conn_consume (FakeConn *c, size_t n)
{
  memmove (c->in, c->in + n, c->in_len - n);
  c->in_len -= n;
}

/* ---- request parsing -------------------------------------------------------- */

typedef enum
{
  PARSE_MORE, /* not complete yet */
  PARSE_OK,
  PARSE_BAD, /* answer *status and close */
} Parse;

static gboolean
token_eq (const char *s, size_t len, const char *word)
{
  return strlen (word) == len && g_ascii_strncasecmp (s, word, len) == 0;
}

/* Does the comma-separated list @v (@len bytes) hold @word? */
static gboolean
list_has (const char *v, size_t len, const char *word)
{
  const char *end = v + len;

  while (v < end)
    {
      const char *comma = memchr (v, ',', (size_t)(end - v));
      const char *e = comma ? comma : end;
      const char *a = v, *b = e;

      while (a < b && (*a == ' ' || *a == '\t'))
        a++;
      while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
      if (token_eq (a, (size_t)(b - a), word))
        return TRUE;
      v = comma ? comma + 1 : end;
    }
  return FALSE;
}

/* The end of the line starting at @p (at its '\n'), or NULL. */
static const char *
line_end (const char *p, const char *end)
{
  return memchr (p, '\n', (size_t)(end - p));
}

/* Decode the chunked body at @p into c->body.  Returns the end of the
 * message, NULL if incomplete; sets *bad on a framing error. */
static const char *
parse_chunked (FakeConn *c, const char *p, const char *end, unsigned *bad)
{
  g_string_truncate (c->body, 0);
  for (;;)
    {
      const char *nl = line_end (p, end), *q = p;
      guint64 size = 0;

      if (nl == NULL)
        return NULL;
      if (q == nl || g_ascii_xdigit_value (*q) < 0)
        return *bad = 400, NULL;
      for (; q < nl && g_ascii_xdigit_value (*q) >= 0; q++)
        {
          size = size * 16 + (guint64)g_ascii_xdigit_value (*q);
          if (size > MAX_BODY)
            return *bad = 413, NULL;
        }
      if (q < nl && *q != ';' && *q != '\r' && *q != ' ' && *q != '\t')
        return *bad = 400, NULL;
      p = nl + 1;
      if (size == 0)
        break;
      if ((guint64)(end - p) < size + 1)
        return NULL;
      if (c->body->len + size > MAX_BODY)
        return *bad = 413, NULL;
      g_string_append_len (c->body, p, (gssize)size);
      p += size;
      if (*p == '\r')
        {
          if (end - p < 2)
            return NULL;
          p++;
        }
      if (*p != '\n')
        return *bad = 400, NULL;
      p++;
    }
  /* Trailers, ignored, up to an empty line. */
  for (;;)
    {
      const char *nl = line_end (p, end);

      if (nl == NULL)
        return NULL;
      if (nl == p || (nl == p + 1 && *p == '\r'))
        return nl + 1;
      p = nl + 1;
    }
}

static Parse
parse_request (FakeConn *c, FakeRequest *req, unsigned *bad)
{
  const char *buf, *end, *p, *q, *head_end = NULL, *nl, *sp1, *sp2, *msg_end;
  const char *te = NULL, *auth = NULL;
  size_t te_len = 0, auth_len = 0;
  gboolean have_cl = FALSE, expect = FALSE;
  guint64 cl = 0;

  /* Empty lines before a request are allowed (RFC 9112 §2.2). */
  {
    size_t skip = 0;

    while (skip < c->in_len && (c->in[skip] == '\r' || c->in[skip] == '\n'))
      skip++;
    if (skip)
      conn_consume (c, skip);
  }
  buf = c->in;
  end = buf + c->in_len;
  for (q = buf; (q = line_end (q, end)) != NULL; q++)
    {
      if (q + 1 < end && q[1] == '\n')
        {
          head_end = q + 2;
          break;
        }
      if (q + 2 < end && q[1] == '\r' && q[2] == '\n')
        {
          head_end = q + 3;
          break;
        }
    }
  if (head_end == NULL)
    return c->in_len > MAX_HEAD ? (*bad = 431, PARSE_BAD) : PARSE_MORE;
  if (head_end - buf > MAX_HEAD)
    return *bad = 431, PARSE_BAD;

  /* The request line: METHOD SP TARGET SP HTTP/1.x */
  nl = line_end (buf, end);
  q = nl > buf && nl[-1] == '\r' ? nl - 1 : nl;
  sp1 = memchr (buf, ' ', (size_t)(q - buf));
  sp2 = sp1 ? memchr (sp1 + 1, ' ', (size_t)(q - sp1 - 1)) : NULL;
  if (sp1 == NULL || sp2 == NULL || sp1 == buf || sp2 == sp1 + 1 || q - sp2 - 1 != 8 ||
      memcmp (sp2 + 1, "HTTP/1.", 7) != 0 || (sp2[8] != '0' && sp2[8] != '1'))
    return *bad = 400, PARSE_BAD;
  c->http10 = sp2[8] == '0';
  c->close_after = c->http10;
  g_string_truncate (c->method, 0);
  g_string_append_len (c->method, buf, sp1 - buf);
  {
    const char *t = sp1 + 1, *tend = sp2;

    /* The absolute form (RFC 9112 §3.2.2) has the path after the host. */
    if (sp2 - t > 8 &&
        (g_ascii_strncasecmp (t, "http://", 7) == 0 || g_ascii_strncasecmp (t, "https://", 8) == 0))
      {
        const char *host = t + (t[4] == ':' ? 7 : 8);
        const char *slash = memchr (host, '/', (size_t)(sp2 - host));

        t = slash ? slash : sp2;
      }
    for (tend = t; tend < sp2 && *tend != '?' && *tend != '#'; tend++)
      ;
    g_string_truncate (c->path, 0);
    if (tend == t)
      g_string_append_c (c->path, '/');
    else
      g_string_append_len (c->path, t, tend - t);
  }

  /* Header fields (RFC 9112 §5). */
  for (p = nl + 1; p < head_end;)
    {
      const char *colon, *v, *ve;

      nl = line_end (p, end);
      ve = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
      if (ve == p)
        break; /* the empty line */
      if (*p == ' ' || *p == '\t')
        return *bad = 400, PARSE_BAD; /* obsolete line folding */
      colon = memchr (p, ':', (size_t)(ve - p));
      if (colon == NULL || colon == p || memchr (p, ' ', (size_t)(colon - p)) ||
          memchr (p, '\t', (size_t)(colon - p)))
        return *bad = 400, PARSE_BAD;
      for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++)
        ;
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
      if (token_eq (p, (size_t)(colon - p), "content-length"))
        {
          guint64 n = 0;

          if (v == ve)
            return *bad = 400, PARSE_BAD;
          for (q = v; q < ve; q++)
            {
              if (*q < '0' || *q > '9')
                return *bad = 400, PARSE_BAD;
              n = n * 10 + (guint64)(*q - '0');
              if (n > MAX_BODY)
                return *bad = 413, PARSE_BAD;
            }
          if (have_cl && n != cl)
            return *bad = 400, PARSE_BAD;
          have_cl = TRUE;
          cl = n;
        }
      else if (token_eq (p, (size_t)(colon - p), "transfer-encoding"))
        {
          te = v;
          te_len = (size_t)(ve - v);
        }
      else if (token_eq (p, (size_t)(colon - p), "connection"))
        {
          if (list_has (v, (size_t)(ve - v), "close"))
            c->close_after = TRUE;
        }
      else if (token_eq (p, (size_t)(colon - p), "authorization"))
        {
          auth = v;
          auth_len = (size_t)(ve - v);
        }
      else if (token_eq (p, (size_t)(colon - p), "expect"))
        expect = token_eq (v, (size_t)(ve - v), "100-continue");
      p = nl + 1;
    }

  /* The body: chunked wins over Content-Length (RFC 9112 §6.3). */
  if (te != NULL)
    {
      const char *last = te + te_len;
      const char *comma = g_strrstr_len (te, (gssize)te_len, ",");
      const char *word = comma ? comma + 1 : te;

      while (word < last && (*word == ' ' || *word == '\t'))
        word++;
      if (!token_eq (word, (size_t)(last - word), "chunked"))
        return *bad = 501, PARSE_BAD;
      msg_end = parse_chunked (c, head_end, end, bad);
      if (*bad)
        return PARSE_BAD;
      req->body = c->body->str;
      req->body_len = c->body->len;
    }
  else
    {
      msg_end = (guint64)(end - head_end) >= cl ? head_end + cl : NULL;
      req->body = head_end;
      req->body_len = (size_t)cl;
    }
  if (msg_end == NULL)
    {
      /* RFC 9110 §10.1.1: tell a client that waits that it may send. */
      if (expect && !c->continued && !c->http10)
        {
          g_string_append (c->out, "HTTP/1.1 100 Continue\r\n\r\n");
          c->continued = TRUE;
          fake_conn_send (c);
        }
      return PARSE_MORE;
    }

  g_string_truncate (c->auth, 0);
  if (auth)
    g_string_append_len (c->auth, auth, (gssize)auth_len);
  req->method = c->method->str;
  req->path = c->path->str;
  req->authorization = auth ? c->auth->str : NULL;
  req->t_read = g_get_monotonic_time ();
  req->t_arrived = c->arrived ? c->arrived : req->t_read;
  c->req_len = (size_t)(msg_end - buf);
  return PARSE_OK;
}

/* ---- answering ---------------------------------------------------------------- */

static const char *
http_date (FakeHttp *h)
{
  static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
  static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  time_t now = time (NULL);

  if (now != h->date_sec)
    {
      struct tm tm;

      gmtime_r (&now, &tm);
      snprintf (h->date, sizeof h->date, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
      h->date_sec = now;
    }
  return h->date;
}

void
fake_conn_head (FakeConn *c, unsigned status, const char *phrase, const char *const *headers,
                int64_t content_length)
{
  GString *o = c->out;

  g_string_append_printf (o, "HTTP/1.1 %u %s\r\nServer: fake-llm\r\nDate: %s\r\n", status, phrase,
                          http_date (c->http));
  c->chunked = FALSE;
  if (status < 200 || status == 204 || status == 304)
    c->no_body = TRUE; /* RFC 9110 §6.4.1: no content, no framing */
  else if (content_length >= 0)
    g_string_append_printf (o, "Content-Length: %" G_GINT64_FORMAT "\r\n", content_length);
  else if (c->http10)
    c->close_after = TRUE; /* the body ends when the connection does */
  else
    {
      g_string_append (o, "Transfer-Encoding: chunked\r\n");
      c->chunked = TRUE;
    }
  for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
    {
      g_string_append (o, headers[i]);
      g_string_append (o, ": ");
      g_string_append (o, headers[i + 1]);
      g_string_append (o, "\r\n");
    }
  if (c->close_after)
    g_string_append (o, "Connection: close\r\n");
  g_string_append (o, "\r\n");
  if (strcmp (c->method->str, "HEAD") == 0)
    c->no_body = TRUE;
}

void
fake_conn_body (FakeConn *c, const char *data, size_t len)
{
  if (c->no_body || len == 0)
    return;
  if (c->chunked)
    g_string_append_printf (c->out, "%zx\r\n", len);
  g_string_append_len (c->out, data, (gssize)len);
  if (c->chunked)
    g_string_append (c->out, "\r\n");
}

void
fake_conn_on_gone (FakeConn *c, FakeConnGone gone, void *data)
{
  c->gone = gone;
  c->gone_data = data;
}

static void conn_settle (FakeConn *c);

/* The exchange is over, one way or the other. */
static void
conn_done (FakeConn *c)
{
  c->busy = FALSE;
  c->gone = NULL;
  c->gone_data = NULL;
  c->continued = FALSE;
  c->chunked = c->no_body = FALSE;
  conn_consume (c, c->req_len);
  c->req_len = 0;
  if (c->close_after)
    c->closing = TRUE;
}

void
fake_conn_end (FakeConn *c)
{
  if (c->chunked && !c->no_body)
    g_string_append (c->out, "0\r\n\r\n");
  conn_done (c);
  fake_conn_send (c);
  conn_settle (c);
}

void
fake_conn_cut (FakeConn *c)
{
  conn_done (c);
  c->closing = c->cutting = TRUE;
  fake_conn_send (c);
  conn_settle (c);
}

/* A request the parser refused: answer and close. */
static void
conn_refuse (FakeConn *c, unsigned status)
{
  static const char body[] = "{\"error\":{\"message\":\"bad request\",\"type\":"
                             "\"invalid_request_error\",\"param\":null,\"code\":null}}";
  const char *headers[] = { "Content-Type", "application/json", NULL };
  const char *phrase = status == 413   ? "Request Entity Too Large"
                       : status == 431 ? "Request Header Fields Too Large"
                       : status == 501 ? "Not Implemented"
                                       : "Bad Request";

  g_string_truncate (c->method, 0);
  c->close_after = TRUE;
  fake_conn_head (c, status, phrase, headers, (int64_t)sizeof body - 1);
  fake_conn_body (c, body, sizeof body - 1);
  c->closing = TRUE;
  fake_conn_send (c);
}

/* Answer what can be answered, then decide the connection's fate: a client
 * gone while busy is reported; a closing or closed connection with nothing
 * left to write is freed. */
static void
conn_settle (FakeConn *c)
{
  FakeHttp *h = c->http;

  if (c->settling)
    return;
  c->settling = TRUE;
  while (!c->busy && !c->closing && !c->broken)
    {
      FakeRequest req = { 0 };
      unsigned bad = 0;
      Parse r = parse_request (c, &req, &bad);

      if (r == PARSE_MORE)
        break;
      if (r == PARSE_BAD)
        {
          conn_refuse (c, bad);
          break;
        }
      c->busy = TRUE;
      h->handler (c, &req, h->data);
    }
  c->settling = FALSE;
  if (c->busy && (c->eof || c->broken))
    {
      FakeConnGone gone = c->gone;
      void *data = c->gone_data;

      c->busy = FALSE;
      if (gone)
        gone (data);
      conn_free (c);
      return;
    }
  if (c->broken || ((c->closing || c->eof) && !c->busy && conn_drained (c)))
    {
      conn_free (c);
      return;
    }
  conn_update_events (c);
}

/* ---- the server ----------------------------------------------------------------- */

static void
http_accept (FakeHttp *h)
{
  for (;;)
    {
      int fd = accept4 (h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      int one = 1;
      FakeConn *c;
      struct epoll_event ev;

      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          return; /* EAGAIN, or out of descriptors: try on the next wakeup */
        }
      /* Each step of a stream is one write; do not let Nagle hold it. */
      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      lares_stamp_arrivals (fd);
      c = g_new0 (FakeConn, 1);
      c->http = h;
      c->fd = fd;
      c->link.data = c;
      c->body = g_string_new (NULL);
      c->method = g_string_new (NULL);
      c->path = g_string_new (NULL);
      c->auth = g_string_new (NULL);
      c->out = g_string_sized_new (8192);
      c->events = EPOLLIN;
      ev.events = EPOLLIN;
      ev.data.ptr = c;
      if (epoll_ctl (h->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        {
          close (fd);
          g_string_free (c->body, TRUE);
          g_string_free (c->method, TRUE);
          g_string_free (c->path, TRUE);
          g_string_free (c->auth, TRUE);
          g_string_free (c->out, TRUE);
          g_free (c);
          continue;
        }
      g_queue_push_tail_link (&h->conns, &c->link);
    }
}

static gboolean
http_dispatch (int epfd, GIOCondition cond, void *data)
{
  FakeHttp *h = data;
  struct epoll_event evs[MAX_EVENTS];
  int n = epoll_wait (epfd, evs, MAX_EVENTS, 0);

  for (int i = 0; i < n; i++)
    {
      FakeConn *c = evs[i].data.ptr;
      uint32_t e = evs[i].events;

      if (c == NULL)
        {
          http_accept (h);
          continue;
        }
      /* Only this connection's own handling can free it, so the rest of
       * the batch stays valid. */
      if (e & EPOLLOUT)
        fake_conn_send (c);
      if (e & (EPOLLIN | EPOLLHUP | EPOLLERR))
        conn_read (c, (e & (EPOLLHUP | EPOLLERR)) != 0);
      conn_settle (c);
    }
  return G_SOURCE_CONTINUE;
}

FakeHttp *
fake_http_new (uint16_t port, int backlog, FakeHttpHandler handler, void *data, GError **error)
{
  FakeHttp *h = g_new0 (FakeHttp, 1);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port) };
  socklen_t sa_len = sizeof sa;
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
  int one = 1;

  h->handler = handler;
  h->data = data;
  h->epfd = -1;
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  h->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (h->listen_fd < 0 ||
      setsockopt (h->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind (h->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      listen (h->listen_fd, backlog) < 0 ||
      getsockname (h->listen_fd, (struct sockaddr *)&sa, &sa_len) < 0 ||
      (h->epfd = epoll_create1 (EPOLL_CLOEXEC)) < 0 ||
      epoll_ctl (h->epfd, EPOLL_CTL_ADD, h->listen_fd, &ev) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s", g_strerror (saved));
      if (h->listen_fd >= 0)
        close (h->listen_fd);
      if (h->epfd >= 0)
        close (h->epfd);
      g_free (h);
      return NULL;
    }
  h->port = ntohs (sa.sin_port);
  /* GLib takes a source's descriptors out of the poll set while it is
   * dispatched, and puts them back after, waking its own loop up twice per
   * dispatch; a source that may recurse is left alone (this one never
   * iterates the context itself). */
  h->watch = g_unix_fd_source_new (h->epfd, G_IO_IN);
  g_source_set_callback (h->watch, G_SOURCE_FUNC (http_dispatch), h, NULL);
  g_source_set_can_recurse (h->watch, TRUE);
  g_source_attach (h->watch, NULL);
  return h;
}

uint16_t
fake_http_port (FakeHttp *h)
{
  return h->port;
}

void
fake_http_free (FakeHttp *h)
{
  while (h->conns.head)
    conn_free (h->conns.head->data);
  g_source_destroy (h->watch);
  g_source_unref (h->watch);
  close (h->epfd);
  close (h->listen_fd);
  g_free (h);
}
