/* lares-ws-io.c — the WebSocket I/O thread (see lares-ws-io.h).
 *
 * DESIGN
 * - One thread, one epoll set: every open /ws socket (level-triggered
 *   EPOLLIN, EPOLLOUT only while its output queue is not empty) and an
 *   eventfd the main thread writes when it queues commands.  The main loop
 *   never polls these sockets, so its wakeups cost the same with 0 or
 *   10,000 WebSockets open.
 * - Threads and ownership.  A LaresWsConn is allocated by the main thread
 *   (lares_ws_io_add fills its read-only part: stream, fd, ids) and from
 *   then on only this thread changes its state, buffers and queue (a
 *   stream's direct writes, below, only read them, under its lock).  It is
 *   freed here when the main thread releases it after the CLOSED notice,
 *   so every command naming it (they are handled in order) finds it alive.
 *   Events of one epoll batch are handled before the commands, so a
 *   release never frees a connection that an event of that batch names.
 * - Commands: the main thread appends to an array under a mutex and writes
 *   the eventfd only when the array was empty since the thread last took
 *   it; the thread swaps the array for an empty one and works outside the
 *   lock.  A fan-out of one event to N connections is N appends, one
 *   wakeup.  Notices back go the same way into an array that one GSource
 *   on the main context drains (g_source_set_ready_time wakes it), so they
 *   arrive in order.
 * - Sending: the frame comes built (lares_ws_io_send_text builds it once
 *   for all the connections of a fan-out; they share the GBytes).  A
 *   connection with nothing queued gets one non-blocking write; what the
 *   kernel did not take is queued as (GBytes, offset) and flushed on
 *   EPOLLOUT.  Past WS_BACKLOG_MAX queued the client is dropped: it is not
 *   reading, and its memory would grow with every event.
 * - I/O goes through the stolen GIOStream's pollable streams, so TLS works
 *   unchanged and bytes libsoup read ahead are not lost; epoll watches the
 *   socket under them.  (Plain TCP written straight to the fd with send(2)
 *   measured no cheaper: the system call is nearly all of a delivery.)
 * - Stream connections (lares_ws_io_add_stream) are streamed HTTP
 *   responses: their bytes go out as given, their input is read and
 *   dropped, they get no pings, and their close is a half-close once the
 *   queue is out, then the same wait for the client's EOF.
 * - Direct writes.  A stream has one writer, the main thread, and its
 *   sends are small and spaced out (a token or a few), so handing each to
 *   this thread cost a wake-up of it per token, more than the send(2)
 *   itself.  lares_ws_io_send_bytes therefore writes on the main thread
 *   when it may: the connection's lock is free (trylock: the main thread
 *   never waits for this one), no command for it is still in the queue
 *   (`pending`, so nothing overtakes the head or an earlier send), it is
 *   open and nothing waits in its output queue.  What the kernel does not
 *   take goes through the queue as before.  This thread holds the lock
 *   whenever it works on a connection, so a direct write never meets a
 *   write, a close or a queue change of its own.  A WebSocket message is
 *   written the same way when it goes to that connection alone (a chat
 *   reply to a user with one tab open); an event that fans out to many
 *   connections goes through the queue, which is this thread's job.
 * - Closing (RFC 6455 §7): a close from the client is answered with the
 *   same code, then the socket is closed once the answer is out.  A close
 *   started here (shutdown, or a protocol error) sends the close frame,
 *   half-closes once it is out and waits up to WS_CLOSE_WAIT_MS for the
 *   client's close frame or EOF.  After a protocol error the rest of the
 *   input is read and dropped, so a client still sending does not get a
 *   reset before it reads the close frame.
 */
#include "config.h"

#include "lares-ws-io.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lares-log.h"
#include "lares-ws-frame.h"

#define WS_BACKLOG_MAX      (4 * 1024 * 1024) /* bytes queued for one client before it is dropped */
#define WS_CLOSE_WAIT_MS    5000              /* for the client's close frame after ours */
#define WS_READ_CHUNK       (64 * 1024)
#define WS_READS_PER_WAKEUP 16 /* then the other sockets get their turn */
#define WS_EVENTS           256

typedef enum
{
  CONN_OPEN,
  CONN_CLOSE_SENT, /* our close frame is queued or out; waiting for the client's */
  CONN_ECHOING,    /* answering the client's close frame; then the socket closes */
  CONN_DEAD,       /* socket closed; waiting for the main thread's release */
} ConnState;

typedef struct
{
  GBytes *bytes; /* (owned) */
  size_t off;    /* bytes of it already written */
} OutChunk;

struct _LaresWsConn
{
  /* Set by lares_ws_io_add, read-only afterwards. */
  LaresWsIo *io;
  gpointer data;      /* the main thread's */
  LaresWsIoFunc func; /* (nullable) where its notices go instead of io->func */
  gboolean raw;       /* a streamed HTTP response: bytes as given, input dropped */
  char id[20];        /* request id of the handshake, for log lines */
  GIOStream *stream;
  GSocket *socket;            /* (owned) (nullable) under stream */
  GPollableInputStream *in;   /* (nullable) stream's input, when pollable */
  GPollableOutputStream *out; /* (nullable) stream's output, when pollable */
  int fd;                     /* socket's, -1 if none was found */
  gboolean tls;               /* TLS under the stream: write through it */

  /* Shared with the main thread's direct writes (streams): the I/O thread
   * holds @lock whenever it works on the connection; the main thread
   * only tries it, around a direct write.  @state and @outq are read
   * there under it. */
  GMutex lock;
  int pending; /* (atomic) commands pushed for it and not yet run */

  /* I/O thread only, but for the reads above. */
  ConnState state;
  gboolean registered; /* in the epoll set */
  gboolean want_out;   /* EPOLLOUT requested */
  gboolean discard;    /* a protocol error: drop further input */
  gboolean half_closed;
  gboolean ready; /* in io->ready: input may be left in the stream (TLS) */
  unsigned short close_code;
  int64_t deadline; /* CONN_CLOSE_SENT: give up waiting (monotonic µs) */
  LaresWsReader reader;
  GByteArray *rbuf; /* (owned) (nullable) a partial frame */
  GQueue outq;      /* OutChunk* (owned) */
  size_t queued;    /* bytes in outq not yet written */
};

typedef enum
{
  CMD_ADD,
  CMD_SEND,
  CMD_CLOSE,
  CMD_RELEASE,
  CMD_STOP,
} CmdKind;

typedef struct
{
  CmdKind kind;
  LaresWsConn *conn;
  GBytes *frame; /* (owned) (nullable) SEND, CLOSE */
} Cmd;

typedef struct
{
  LaresWsIoNotice what;
  LaresWsConn *conn;
  GBytes *data; /* (owned) (nullable) */
  unsigned short code;
} Notice;

typedef struct
{
  GSource base;
  LaresWsIo *io;
} NoticeSource;

struct _LaresWsIo
{
  uint64_t max_message;
  int64_t ping_interval_us;
  LaresWsIoFunc func;
  gpointer user_data;
  GThread *thread;
  int epfd;
  int wakefd;

  /* main -> I/O */
  GMutex lock;
  GArray *cmds;      /* Cmd, under lock */
  gboolean signaled; /* under lock: the eventfd was written since the last take */

  /* I/O -> main */
  GMutex nlock;
  GArray *notices;       /* Notice, under nlock */
  gboolean notified;     /* under nlock: the source was made ready since the last take */
  GSource *source;       /* (owned) on the main context */
  GArray *spare_notices; /* main thread only: the drained array, reused */

  /* Main thread only. */
  GBytes *last_payload; /* (owned) (nullable) the payload last_frame was built from */
  GBytes *last_frame;   /* (owned) (nullable) */

  /* I/O thread only (and lares_ws_io_free once the thread has ended). */
  GHashTable *conns;  /* LaresWsConn* (owned): added and not yet released */
  GPtrArray *closing; /* LaresWsConn* in CONN_CLOSE_SENT */
  GPtrArray *ready;   /* LaresWsConn* with possibly more input */
  GArray *batch;      /* Cmd: the commands being worked on */
  uint8_t *scratch;   /* WS_READ_CHUNK bytes */
  GBytes *ping_frame; /* (owned) */
  int64_t next_ping;  /* monotonic µs */
  gboolean stop;
};

/* ---- main thread -> I/O thread --------------------------------------------------------------- */

static void
push (LaresWsIo *io, CmdKind kind, LaresWsConn *conn, GBytes *frame)
{
  Cmd cmd = { .kind = kind, .conn = conn, .frame = frame };
  gboolean wake;

  if (conn != NULL)
    g_atomic_int_inc (&conn->pending);
  g_mutex_lock (&io->lock);
  g_array_append_val (io->cmds, cmd);
  wake = !io->signaled;
  io->signaled = TRUE;
  g_mutex_unlock (&io->lock);
  if (wake)
    {
      uint64_t one = 1;
      while (write (io->wakefd, &one, sizeof one) < 0 && errno == EINTR)
        ;
    }
}

/* ---- I/O thread -> main thread --------------------------------------------------------------- */

static void
notify (LaresWsIo *io, LaresWsIoNotice what, LaresWsConn *conn, GBytes *data, unsigned short code)
{
  Notice n = { .what = what, .conn = conn, .data = data, .code = code };
  gboolean wake;

  g_mutex_lock (&io->nlock);
  g_array_append_val (io->notices, n);
  wake = !io->notified;
  io->notified = TRUE;
  g_mutex_unlock (&io->nlock);
  if (wake)
    g_source_set_ready_time (io->source, 0);
}

static gboolean
notice_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  LaresWsIo *io = ((NoticeSource *)source)->io;
  GArray *batch;

  /* Not ready again until the I/O thread has something new: it sets the
   * ready time only after it sees notified cleared below. */
  g_source_set_ready_time (source, -1);
  g_mutex_lock (&io->nlock);
  batch = io->notices;
  io->notices = io->spare_notices;
  io->notified = FALSE;
  g_mutex_unlock (&io->nlock);
  io->spare_notices = NULL;

  for (unsigned i = 0; i < batch->len; i++)
    {
      Notice *n = &g_array_index (batch, Notice, i);
      LaresWsIoFunc func = n->conn->func ? n->conn->func : io->func;
      func (n->conn, n->conn->data, n->what, n->data, n->code, io->user_data);
      g_clear_pointer (&n->data, g_bytes_unref);
    }
  g_array_set_size (batch, 0);
  io->spare_notices = batch;
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs notice_source_funcs = {
  .dispatch = notice_dispatch,
};

/* ---- connections (I/O thread) ---------------------------------------------------------------- */

static void conn_die (LaresWsConn *conn, unsigned short code);

static void
epoll_update (LaresWsConn *conn, gboolean want_out)
{
  struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = conn };

  conn->want_out = want_out;
  if (epoll_ctl (conn->io->epfd, EPOLL_CTL_MOD, conn->fd, &ev) < 0)
    conn_die (conn, LARES_WS_CLOSE_ABNORMAL);
}

static void
conn_free_output (LaresWsConn *conn)
{
  OutChunk *c;

  while ((c = g_queue_pop_head (&conn->outq)) != NULL)
    {
      g_bytes_unref (c->bytes);
      g_free (c);
    }
  conn->queued = 0;
}

/* Close the stream and forget the buffers; no notice. */
static void
conn_shut (LaresWsConn *conn)
{
  if (conn->registered)
    {
      (void)epoll_ctl (conn->io->epfd, EPOLL_CTL_DEL, conn->fd, NULL);
      conn->registered = FALSE;
    }
  /* shutdown(2) first: a TLS close would otherwise try to write its
   * close_notify to a client that may not be reading. */
  if (conn->fd >= 0)
    (void)shutdown (conn->fd, SHUT_RDWR);
  (void)g_io_stream_close (conn->stream, NULL, NULL);
  conn_free_output (conn);
  g_clear_pointer (&conn->rbuf, g_byte_array_unref);
  lares_ws_reader_clear (&conn->reader);
  conn->state = CONN_DEAD;
}

static void
conn_die (LaresWsConn *conn, unsigned short code)
{
  if (conn->state == CONN_DEAD)
    return;
  if (conn->state == CONN_CLOSE_SENT)
    g_ptr_array_remove_fast (conn->io->closing, conn);
  if (code != 0)
    conn->close_code = code;
  conn_shut (conn);
  notify (conn->io, LARES_WS_IO_CLOSED, conn, NULL, conn->close_code);
}

/* Write what the kernel takes now: >= 0 bytes written, -1 when the
 * connection failed.  Through the stream, TLS or not: writing plain TCP
 * straight to the fd with send(2) measured no cheaper (the system call is
 * nearly all of it). */
static gssize
conn_write (LaresWsConn *conn, const uint8_t *data, size_t len)
{
  g_autoptr (GError) error = NULL;
  gssize n;

  if (conn->out == NULL)
    return -1;
  n = g_pollable_output_stream_write_nonblocking (conn->out, data, len, NULL, &error);
  if (n >= 0)
    return n;
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) ? 0 : -1;
}

/* The output queue just ran empty. */
static void
conn_flushed (LaresWsConn *conn)
{
  if (conn->state == CONN_ECHOING)
    conn_die (conn, 0);
  else if (conn->state == CONN_CLOSE_SENT && !conn->half_closed && conn->fd >= 0)
    {
      /* Our close frame is out: the client sees EOF after it. */
      conn->half_closed = TRUE;
      (void)shutdown (conn->fd, SHUT_WR);
    }
}

static void
conn_drop (LaresWsConn *conn)
{
  lares_log_req (G_LOG_LEVEL_WARNING, conn->id,
                 "%s: the client stopped reading (over %u KiB waiting); dropping it",
                 conn->raw ? "stream" : "websocket", WS_BACKLOG_MAX / 1024);
  notify (conn->io, LARES_WS_IO_DROPPED, conn, NULL, 0);
  conn_die (conn, LARES_WS_CLOSE_ABNORMAL);
}

/* Write @frame now if nothing is queued before it, and queue the rest. */
static void
conn_queue (LaresWsConn *conn, GBytes *frame)
{
  size_t size = 0;
  const uint8_t *data = g_bytes_get_data (frame, &size);
  size_t off = 0;
  OutChunk *c;

  if (g_queue_is_empty (&conn->outq))
    {
      gssize n = conn_write (conn, data, size);
      if (n < 0)
        {
          conn_die (conn, LARES_WS_CLOSE_ABNORMAL);
          return;
        }
      if ((size_t)n == size)
        {
          conn_flushed (conn);
          return;
        }
      off = (size_t)n;
    }
  c = g_new (OutChunk, 1);
  c->bytes = g_bytes_ref (frame);
  c->off = off;
  g_queue_push_tail (&conn->outq, c);
  conn->queued += size - off;
  if (conn->queued > WS_BACKLOG_MAX)
    {
      conn_drop (conn);
      return;
    }
  if (!conn->want_out)
    epoll_update (conn, TRUE);
}

/* EPOLLOUT: write the queue until the kernel stops taking it. */
static void
conn_flush (LaresWsConn *conn)
{
  OutChunk *c;

  while ((c = g_queue_peek_head (&conn->outq)) != NULL)
    {
      size_t size = 0;
      const uint8_t *data = g_bytes_get_data (c->bytes, &size);
      gssize n = conn_write (conn, data + c->off, size - c->off);

      if (n < 0)
        {
          conn_die (conn, LARES_WS_CLOSE_ABNORMAL);
          return;
        }
      c->off += (size_t)n;
      conn->queued -= (size_t)n;
      if (c->off < size)
        return; /* the kernel is full again: wait for the next EPOLLOUT */
      g_queue_pop_head (&conn->outq);
      g_bytes_unref (c->bytes);
      g_free (c);
    }
  epoll_update (conn, FALSE);
  if (conn->state != CONN_DEAD)
    conn_flushed (conn);
}

/* Send our close frame and wait for the client's (RFC 6455 §7.1.2).  A
 * stream has no frame: once its queue is out it half-closes, which ends a
 * close-delimited body, and waits for the client's EOF the same way. */
static void
conn_start_close (LaresWsConn *conn, GBytes *frame, unsigned short code)
{
  conn->state = CONN_CLOSE_SENT;
  conn->close_code = code;
  conn->deadline = g_get_monotonic_time () + (int64_t)WS_CLOSE_WAIT_MS * 1000;
  g_ptr_array_add (conn->io->closing, conn);
  if (frame != NULL)
    conn_queue (conn, frame);
  else if (g_queue_is_empty (&conn->outq))
    conn_flushed (conn);
}

static void
conn_fail (LaresWsConn *conn, const LaresWsEvent *ev)
{
  g_autoptr (GBytes) frame = NULL;

  lares_log_req (G_LOG_LEVEL_DEBUG, conn->id, "websocket: %s; closing with %u", ev->why, ev->code);
  conn->discard = TRUE;
  g_clear_pointer (&conn->rbuf, g_byte_array_unref);
  if (conn->state != CONN_OPEN)
    {
      conn_die (conn, 0);
      return;
    }
  notify (conn->io, LARES_WS_IO_REJECTED, conn, NULL, ev->code);
  frame = lares_ws_frame_close (ev->code, ev->why);
  conn_start_close (conn, frame, ev->code);
}

/* Take the frames in @data (@len bytes; modified: unmasked in place). */
static void
conn_input (LaresWsConn *conn, uint8_t *data, size_t len)
{
  uint8_t *buf = data;
  size_t pos = 0;

  if (conn->rbuf != NULL && conn->rbuf->len > 0)
    {
      g_byte_array_append (conn->rbuf, data, (unsigned)len);
      buf = conn->rbuf->data;
      len = conn->rbuf->len;
    }
  for (;;)
    {
      LaresWsEvent ev;
      size_t used = lares_ws_reader_next (&conn->reader, buf + pos, len - pos, &ev);

      pos += used;
      switch (ev.kind)
        {
        case LARES_WS_NEED_MORE:
          goto keep;
        case LARES_WS_CONSUMED:
        case LARES_WS_PONG:
          break;
        case LARES_WS_TEXT:
          if (conn->state == CONN_OPEN)
            notify (conn->io, LARES_WS_IO_MESSAGE, conn, g_bytes_new (ev.data, ev.len), 0);
          break;
        case LARES_WS_PING:
          if (conn->state == CONN_OPEN)
            {
              g_autoptr (GBytes) pong = lares_ws_frame_new (LARES_WS_OP_PONG, ev.data, ev.len);
              conn_queue (conn, pong);
            }
          break;
        case LARES_WS_CLOSE:
          g_clear_pointer (&conn->rbuf, g_byte_array_unref);
          conn->discard = TRUE;
          if (conn->state == CONN_OPEN)
            {
              /* Answer with the same code (§5.5.1), none if it gave none. */
              g_autoptr (GBytes) echo =
                  lares_ws_frame_close (ev.code == LARES_WS_CLOSE_NO_STATUS ? 0 : ev.code, NULL);
              conn->state = CONN_ECHOING;
              conn->close_code = ev.code;
              conn_queue (conn, echo);
            }
          else
            conn_die (conn, 0);
          return;
        case LARES_WS_FAIL:
          conn_fail (conn, &ev);
          return;
        }
      if (conn->state == CONN_DEAD)
        return;
    }
keep:
  if (buf == data)
    {
      if (pos < len)
        {
          if (conn->rbuf == NULL)
            conn->rbuf = g_byte_array_new ();
          g_byte_array_append (conn->rbuf, buf + pos, (unsigned)(len - pos));
        }
    }
  else
    {
      g_byte_array_remove_range (conn->rbuf, 0, (unsigned)pos);
      /* An idle connection keeps no buffer. */
      if (conn->rbuf->len == 0)
        g_clear_pointer (&conn->rbuf, g_byte_array_unref);
    }
}

/* EPOLLIN: read a bounded number of chunks, then let the others run. */
static void
conn_read (LaresWsConn *conn)
{
  LaresWsIo *io = conn->io;

  for (int i = 0; i < WS_READS_PER_WAKEUP; i++)
    {
      g_autoptr (GError) error = NULL;
      gssize n;

      if (conn->in == NULL)
        {
          conn_die (conn, LARES_WS_CLOSE_ABNORMAL);
          return;
        }
      n = g_pollable_input_stream_read_nonblocking (conn->in, io->scratch, WS_READ_CHUNK, NULL,
                                                    &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return;
      if (n <= 0)
        {
          /* EOF or an error: over, whatever the state. */
          conn_die (conn, conn->state == CONN_OPEN ? LARES_WS_CLOSE_ABNORMAL : 0);
          return;
        }
      /* A stream's client has nothing more to say: what it sends is dropped. */
      if (conn->discard || conn->raw)
        continue;
      conn_input (conn, io->scratch, (size_t)n);
      if (conn->state == CONN_DEAD)
        return;
    }
  /* Plain sockets come back through epoll (level-triggered); TLS may hold
   * decrypted bytes the socket no longer shows. */
  if (conn->tls && !conn->ready)
    {
      conn->ready = TRUE;
      g_ptr_array_add (io->ready, conn);
    }
}

static void
conn_free (LaresWsConn *conn)
{
  if (conn->state != CONN_DEAD)
    conn_shut (conn);
  g_clear_object (&conn->socket);
  g_clear_object (&conn->stream);
  g_mutex_clear (&conn->lock);
  g_free (conn);
}

/* ---- the thread ------------------------------------------------------------------------------ */

static void
run_command (LaresWsIo *io, Cmd *cmd)
{
  LaresWsConn *conn = cmd->conn;
  g_autoptr (GBytes) frame = g_steal_pointer (&cmd->frame);

  if (cmd->kind == CMD_RELEASE || cmd->kind == CMD_STOP)
    {
      if (cmd->kind == CMD_RELEASE)
        {
          g_assert (conn->state == CONN_DEAD);
          g_hash_table_remove (io->conns, conn);
          conn_free (conn);
        }
      else
        io->stop = TRUE;
      return;
    }
  /* Done with it before `pending` says so: a direct write that sees 0
   * comes after this command's bytes. */
  g_mutex_lock (&conn->lock);
  switch (cmd->kind)
    {
    case CMD_ADD:
      {
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = conn };

        g_hash_table_add (io->conns, conn);
        conn->state = CONN_OPEN;
        if (conn->fd < 0 || epoll_ctl (io->epfd, EPOLL_CTL_ADD, conn->fd, &ev) < 0)
          {
            conn_die (conn, LARES_WS_CLOSE_ABNORMAL);
            break;
          }
        conn->registered = TRUE;
        /* Whatever came with or right after the handshake. */
        conn_read (conn);
        break;
      }
    case CMD_SEND:
      if (conn->state == CONN_OPEN)
        conn_queue (conn, frame);
      break;
    case CMD_CLOSE:
      if (conn->state == CONN_OPEN && conn->raw)
        conn_start_close (conn, NULL, 0);
      else if (conn->state == CONN_OPEN)
        {
          size_t size = 0;
          const uint8_t *f = g_bytes_get_data (frame, &size);
          conn_start_close (conn, frame, size >= 4 ? (unsigned short)((f[2] << 8) | f[3]) : 0);
        }
      break;
    case CMD_RELEASE:
    case CMD_STOP:
      g_assert_not_reached ();
    }
  g_atomic_int_add (&conn->pending, -1);
  g_mutex_unlock (&conn->lock);
}

static void
run_commands (LaresWsIo *io)
{
  uint64_t count;
  GArray *batch;

  while (read (io->wakefd, &count, sizeof count) < 0 && errno == EINTR)
    ;
  g_mutex_lock (&io->lock);
  batch = io->cmds;
  io->cmds = io->batch;
  io->signaled = FALSE;
  g_mutex_unlock (&io->lock);
  io->batch = batch;
  for (unsigned i = 0; i < batch->len; i++)
    run_command (io, &g_array_index (batch, Cmd, i));
  g_array_set_size (batch, 0);
}

static int
next_timeout_ms (LaresWsIo *io)
{
  int64_t now, next = G_MAXINT64;

  if (io->ready->len > 0)
    return 0;
  if (io->ping_interval_us > 0)
    next = io->next_ping;
  for (unsigned i = 0; i < io->closing->len; i++)
    next = MIN (next, ((LaresWsConn *)io->closing->pdata[i])->deadline);
  if (next == G_MAXINT64)
    return -1;
  now = g_get_monotonic_time ();
  if (next <= now)
    return 0;
  return (int)MIN ((next - now + 999) / 1000, G_MAXINT);
}

static void
run_timers (LaresWsIo *io)
{
  int64_t now = g_get_monotonic_time ();

  if (io->ping_interval_us > 0 && now >= io->next_ping)
    {
      GHashTableIter iter;
      gpointer key;

      g_hash_table_iter_init (&iter, io->conns);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        {
          LaresWsConn *conn = key;
          if (conn->raw)
            continue;
          g_mutex_lock (&conn->lock);
          if (conn->state == CONN_OPEN)
            conn_queue (conn, io->ping_frame);
          g_mutex_unlock (&conn->lock);
        }
      io->next_ping = now + io->ping_interval_us;
    }
  /* Backwards: a connection that dies leaves the array (remove_fast moves
   * the last one, already seen, into its place). */
  for (unsigned i = io->closing->len; i > 0; i--)
    {
      LaresWsConn *conn = io->closing->pdata[i - 1];
      if (now >= conn->deadline)
        {
          lares_log_req (G_LOG_LEVEL_DEBUG, conn->id,
                         "websocket: no close frame from the client; closing the socket");
          g_mutex_lock (&conn->lock);
          conn_die (conn, 0);
          g_mutex_unlock (&conn->lock);
        }
    }
}

static void
run_ready (LaresWsIo *io)
{
  g_autoptr (GPtrArray) ready = NULL;

  if (io->ready->len == 0)
    return;
  ready = io->ready;
  io->ready = g_ptr_array_new ();
  for (unsigned i = 0; i < ready->len; i++)
    {
      LaresWsConn *conn = ready->pdata[i];
      conn->ready = FALSE;
      g_mutex_lock (&conn->lock);
      if (conn->state != CONN_DEAD)
        conn_read (conn);
      g_mutex_unlock (&conn->lock);
    }
}

static gpointer
io_thread (gpointer data)
{
  LaresWsIo *io = data;
  struct epoll_event events[WS_EVENTS];

  io->next_ping = g_get_monotonic_time () + io->ping_interval_us;
  while (!io->stop)
    {
      gboolean woken = FALSE;
      int n = epoll_wait (io->epfd, events, WS_EVENTS, next_timeout_ms (io));

      if (n < 0)
        {
          /* Only a signal: the set and the buffer are ours and valid. */
          g_assert (errno == EINTR);
          n = 0;
        }
      for (int i = 0; i < n; i++)
        {
          LaresWsConn *conn = events[i].data.ptr;

          if (conn == NULL)
            {
              woken = TRUE;
              continue;
            }
          g_mutex_lock (&conn->lock);
          if (conn->state != CONN_DEAD && (events[i].events & EPOLLOUT))
            conn_flush (conn);
          if (conn->state != CONN_DEAD && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
            conn_read (conn);
          g_mutex_unlock (&conn->lock);
        }
      run_ready (io);
      /* After the events: a release in here may free a connection that
       * one of them named. */
      if (woken)
        run_commands (io);
      run_timers (io);
    }
  return NULL;
}

/* ---- public (main thread) -------------------------------------------------------------------- */

LaresWsIo *
lares_ws_io_new (GMainContext *main_context, uint64_t max_message, uint64_t ping_interval_ms,
                 LaresWsIoFunc func, gpointer user_data, GError **error)
{
  LaresWsIo *io = g_new0 (LaresWsIo, 1);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

  io->max_message = max_message;
  io->ping_interval_us = (int64_t)ping_interval_ms * 1000;
  io->func = func;
  io->user_data = user_data;
  g_mutex_init (&io->lock);
  g_mutex_init (&io->nlock);
  io->cmds = g_array_new (FALSE, FALSE, sizeof (Cmd));
  io->batch = g_array_new (FALSE, FALSE, sizeof (Cmd));
  io->notices = g_array_new (FALSE, FALSE, sizeof (Notice));
  io->spare_notices = g_array_new (FALSE, FALSE, sizeof (Notice));
  io->conns = g_hash_table_new (NULL, NULL);
  io->closing = g_ptr_array_new ();
  io->ready = g_ptr_array_new ();
  io->scratch = g_malloc (WS_READ_CHUNK);
  io->ping_frame = lares_ws_frame_new (LARES_WS_OP_PING, NULL, 0);
  io->epfd = epoll_create1 (EPOLL_CLOEXEC);
  io->wakefd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (io->epfd < 0 || io->wakefd < 0 || epoll_ctl (io->epfd, EPOLL_CTL_ADD, io->wakefd, &ev) < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "websocket thread: epoll/eventfd: %s", g_strerror (saved));
      lares_ws_io_free (io);
      return NULL;
    }
  io->source = g_source_new (&notice_source_funcs, sizeof (NoticeSource));
  ((NoticeSource *)io->source)->io = io;
  g_source_set_name (io->source, "lares websocket notices");
  g_source_attach (io->source, main_context);
  io->thread = g_thread_try_new ("lares-ws", io_thread, io, error);
  if (io->thread == NULL)
    {
      lares_ws_io_free (io);
      return NULL;
    }
  return io;
}

void
lares_ws_io_free (LaresWsIo *io)
{
  GHashTableIter iter;
  gpointer key;

  if (io == NULL)
    return;
  if (io->thread)
    {
      push (io, CMD_STOP, NULL, NULL);
      g_thread_join (io->thread);
    }
  /* What the thread did not get to: connections are added so they are
   * freed below; frames are dropped. */
  for (unsigned i = 0; i < io->cmds->len; i++)
    {
      Cmd *cmd = &g_array_index (io->cmds, Cmd, i);
      g_clear_pointer (&cmd->frame, g_bytes_unref);
      if (cmd->kind == CMD_ADD)
        g_hash_table_add (io->conns, cmd->conn);
      else if (cmd->kind == CMD_RELEASE && g_hash_table_remove (io->conns, cmd->conn))
        conn_free (cmd->conn);
    }
  g_hash_table_iter_init (&iter, io->conns);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    conn_free (key);
  for (unsigned i = 0; i < io->notices->len; i++)
    g_clear_pointer (&g_array_index (io->notices, Notice, i).data, g_bytes_unref);
  if (io->source)
    {
      g_source_destroy (io->source);
      g_source_unref (io->source);
    }
  if (io->epfd >= 0)
    close (io->epfd);
  if (io->wakefd >= 0)
    close (io->wakefd);
  g_hash_table_unref (io->conns);
  g_ptr_array_unref (io->closing);
  g_ptr_array_unref (io->ready);
  g_array_unref (io->cmds);
  g_array_unref (io->batch);
  g_array_unref (io->notices);
  if (io->spare_notices)
    g_array_unref (io->spare_notices);
  g_clear_pointer (&io->last_payload, g_bytes_unref);
  g_clear_pointer (&io->last_frame, g_bytes_unref);
  g_clear_pointer (&io->ping_frame, g_bytes_unref);
  g_free (io->scratch);
  g_mutex_clear (&io->lock);
  g_mutex_clear (&io->nlock);
  g_free (io);
}

/* The socket under a stolen stream: libsoup wraps ours in its own stream
 * ("base-iostream"), and TLS wraps the TCP one ("base-io-stream").
 * (transfer full) (nullable) */
static GSocket *
stream_socket (GIOStream *io, gboolean *tls)
{
  g_autoptr (GIOStream) cur = io ? g_object_ref (io) : NULL;

  *tls = FALSE;
  for (int depth = 0; cur != NULL && depth < 4; depth++)
    {
      const char *prop = G_IS_TLS_CONNECTION (cur) ? "base-io-stream" : "base-iostream";
      GParamSpec *spec = g_object_class_find_property (G_OBJECT_GET_CLASS (cur), prop);
      GIOStream *base = NULL;

      if (G_IS_TLS_CONNECTION (cur))
        *tls = TRUE;
      if (G_IS_SOCKET_CONNECTION (cur))
        return g_object_ref (g_socket_connection_get_socket (G_SOCKET_CONNECTION (cur)));
      if (spec == NULL || !(spec->flags & G_PARAM_READABLE))
        return NULL;
      g_object_get (cur, prop, &base, NULL);
      g_object_unref (cur);
      cur = base;
    }
  return NULL;
}

static LaresWsConn *
conn_new (LaresWsIo *io, GIOStream *stream, gpointer conn_data, const char *log_id)
{
  LaresWsConn *conn = g_new0 (LaresWsConn, 1);
  GInputStream *in = g_io_stream_get_input_stream (stream);
  GOutputStream *out = g_io_stream_get_output_stream (stream);

  conn->io = io;
  conn->data = conn_data;
  g_strlcpy (conn->id, log_id ? log_id : "", sizeof conn->id);
  conn->stream = g_object_ref (stream);
  conn->socket = stream_socket (stream, &conn->tls);
  conn->fd = conn->socket ? g_socket_get_fd (conn->socket) : -1;
  if (G_IS_POLLABLE_INPUT_STREAM (in) &&
      g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (in)))
    conn->in = G_POLLABLE_INPUT_STREAM (in);
  if (G_IS_POLLABLE_OUTPUT_STREAM (out) &&
      g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (out)))
    conn->out = G_POLLABLE_OUTPUT_STREAM (out);
  if (conn->in == NULL || conn->fd < 0)
    g_warning ("websocket: the connection's stream cannot be polled; it will be closed");
  lares_ws_reader_init (&conn->reader, io->max_message);
  g_queue_init (&conn->outq);
  g_mutex_init (&conn->lock);
  return conn;
}

LaresWsConn *
lares_ws_io_add (LaresWsIo *io, GIOStream *stream, gpointer conn_data, const char *log_id)
{
  LaresWsConn *conn = conn_new (io, stream, conn_data, log_id);

  push (io, CMD_ADD, conn, NULL);
  return conn;
}

LaresWsConn *
lares_ws_io_add_stream (LaresWsIo *io, GIOStream *stream, GBytes *head, LaresWsIoFunc func,
                        gpointer conn_data, const char *log_id)
{
  LaresWsConn *conn = conn_new (io, stream, conn_data, log_id);

  conn->raw = TRUE;
  conn->func = func;
  push (io, CMD_ADD, conn, NULL);
  push (io, CMD_SEND, conn, g_bytes_ref (head));
  return conn;
}

/* Write @data on the calling (main) thread if nothing waits before it:
 * the connection's lock is free, no command for it is queued, it is open
 * and its output queue is empty.  Returns the bytes the kernel took (0
 * if it could not, or must not, write); the rest goes through the queue.
 * Plain TCP only: the fd is then the whole stream, no layer above it
 * holds bytes back. */
static size_t
write_direct (LaresWsConn *conn, const void *data, size_t len)
{
  size_t off = 0;

  if (conn->tls || conn->fd < 0 || !g_mutex_trylock (&conn->lock))
    return 0;
  if (g_atomic_int_get (&conn->pending) == 0 && conn->state == CONN_OPEN &&
      g_queue_is_empty (&conn->outq))
    {
      ssize_t n;

      do
        n = send (conn->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
      while (n < 0 && errno == EINTR);
      /* A failure is the I/O thread's to report: the same write fails
       * there, and it closes the connection. */
      if (n > 0)
        off = (size_t)n;
    }
  g_mutex_unlock (&conn->lock);
  return off;
}

void
lares_ws_io_send_bytes (LaresWsIo *io, LaresWsConn *conn, const void *data, size_t len)
{
  size_t off;

  g_assert (conn->raw);
  off = write_direct (conn, data, len);
  if (off < len)
    push (io, CMD_SEND, conn, g_bytes_new ((const uint8_t *)data + off, len - off));
}

void
lares_ws_io_end_stream (LaresWsIo *io, LaresWsConn *conn)
{
  g_assert (conn->raw);
  push (io, CMD_CLOSE, conn, NULL);
}

void
lares_ws_io_send_text (LaresWsIo *io, LaresWsConn *conn, GBytes *payload, gboolean alone)
{
  size_t frame_len = 0, off = 0;
  const uint8_t *frame;

  /* Holding last_payload keeps its address from being reused, so the same
   * pointer is the same event. */
  if (payload != io->last_payload)
    {
      size_t len = 0;
      const void *data = g_bytes_get_data (payload, &len);

      g_clear_pointer (&io->last_payload, g_bytes_unref);
      g_clear_pointer (&io->last_frame, g_bytes_unref);
      io->last_payload = g_bytes_ref (payload);
      io->last_frame = lares_ws_frame_new (LARES_WS_OP_TEXT, data, len);
    }
  frame = g_bytes_get_data (io->last_frame, &frame_len);
  if (alone)
    off = write_direct (conn, frame, frame_len);
  if (off == 0)
    push (io, CMD_SEND, conn, g_bytes_ref (io->last_frame));
  else if (off < frame_len)
    push (io, CMD_SEND, conn, g_bytes_new_from_bytes (io->last_frame, off, frame_len - off));
}

void
lares_ws_io_close (LaresWsIo *io, LaresWsConn *conn, unsigned short code, const char *reason)
{
  push (io, CMD_CLOSE, conn, lares_ws_frame_close (code, reason));
}

void
lares_ws_io_release (LaresWsIo *io, LaresWsConn *conn)
{
  push (io, CMD_RELEASE, conn, NULL);
}
