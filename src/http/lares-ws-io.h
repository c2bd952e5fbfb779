/* lares-ws-io.h — the WebSocket I/O thread: sockets, frames and buffers of
 * every open /ws connection, and of every streamed HTTP response on a plain
 * connection (lares_ws_io_add_stream), off the main loop.
 *
 * The main thread owns all lares state (bus, chat, policy) and decides what
 * is sent; this thread owns only the connections' streams, read buffers and
 * output queues.  They talk through two queues:
 * - main -> I/O: commands (add a connection, send a frame, close, release),
 *   in order, with an eventfd to wake the thread;
 * - I/O -> main: notices (a whole text message, a protocol error, a client
 *   dropped for not reading, a connection gone), dispatched in order on the
 *   main context by one GSource.
 * Every function here is for the main thread only.  Streams are the one
 * exception to "this thread writes": see lares_ws_io_send_bytes.
 */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct _LaresWsIo LaresWsIo;
typedef struct _LaresWsConn LaresWsConn;

typedef enum
{
  LARES_WS_IO_MESSAGE,  /* a text message (data: its bytes, valid UTF-8) */
  LARES_WS_IO_REJECTED, /* the client broke the protocol; closing with code */
  LARES_WS_IO_DROPPED,  /* the client stopped reading; cut off */
  LARES_WS_IO_CLOSED,   /* the connection is gone (code: the close code, 1006 without one);
                           call lares_ws_io_release once done with it */
} LaresWsIoNotice;

/* On the main context, in order for each connection.  @conn_data: as given
 * to lares_ws_io_add.  @data: (nullable) (transfer none). */
typedef void (*LaresWsIoFunc) (LaresWsConn *conn, gpointer conn_data, LaresWsIoNotice what,
                               GBytes *data, unsigned short code, gpointer user_data);

/* Start the thread.  @max_message: cap on an incoming message (1009 past
 * it); @ping_interval_ms: a ping to every connection this often (0: none).
 * Notices go to @func on @main_context.  NULL with @error set when the
 * thread's epoll or eventfd cannot be made. */
LaresWsIo *lares_ws_io_new (GMainContext *main_context, uint64_t max_message,
                            uint64_t ping_interval_ms, LaresWsIoFunc func, gpointer user_data,
                            GError **error);

/* Stop the thread and drop every connection still open without a closing
 * handshake.  Notices not yet dispatched are dropped. */
void lares_ws_io_free (LaresWsIo *io);

/* Hand over @stream (a connection stolen from libsoup after its 101;
 * transfer none, a reference is taken).  @log_id: the request id for log
 * lines.  The connection lives until lares_ws_io_release after its CLOSED
 * notice.  (transfer none) */
LaresWsConn *lares_ws_io_add (LaresWsIo *io, GIOStream *stream, gpointer conn_data,
                              const char *log_id);

/* Send @payload (transfer none) as a text message.  The frame is built once
 * for a run of calls with the same @payload (a bus event going to every
 * connection of a user) and shared between them.  @alone: @conn is the
 * only connection it goes to, so it may be written at once on this
 * thread, as a stream's bytes are (lares_ws_io_send_bytes); a fan-out is
 * left to the I/O thread. */
void lares_ws_io_send_text (LaresWsIo *io, LaresWsConn *conn, GBytes *payload, gboolean alone);

/* Start the closing handshake (RFC 6455 §7.1.2).  Nothing more is sent;
 * CLOSED follows once the client answers, or after a timeout. */
void lares_ws_io_close (LaresWsIo *io, LaresWsConn *conn, unsigned short code, const char *reason);

/* A streamed HTTP response (SSE) on a connection stolen from libsoup once
 * the request was read: @head (status line, headers and the first bytes;
 * transfer none) goes out first, then what lares_ws_io_send_bytes queues,
 * as given.  Whatever the client sends is read and dropped.  Its notices
 * go to @func instead of the thread's function: DROPPED if the client stops
 * reading, CLOSED when the client goes or, after lares_ws_io_end_stream,
 * once everything is out and the client has closed its side (or after the
 * close timeout).  (transfer none) */
LaresWsConn *lares_ws_io_add_stream (LaresWsIo *io, GIOStream *stream, GBytes *head,
                                     LaresWsIoFunc func, gpointer conn_data, const char *log_id);
/* Send @len bytes of @data (copied if they must wait).  Written at once
 * on the calling thread when nothing is queued before them and the
 * kernel takes them; otherwise queued for the I/O thread. */
void lares_ws_io_send_bytes (LaresWsIo *io, LaresWsConn *conn, const void *data, size_t len);
/* The response is complete: half-close once it is all out (the end of a
 * close-delimited body). */
void lares_ws_io_end_stream (LaresWsIo *io, LaresWsConn *conn);
/* The main thread is done with @conn (after CLOSED): free it. */
void lares_ws_io_release (LaresWsIo *io, LaresWsConn *conn);

G_END_DECLS
