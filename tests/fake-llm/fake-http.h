/* fake-http.h — the fake LLM's own small HTTP/1.1 server on 127.0.0.1.
 *
 * Just what an LLM client needs from a server, at a few syscalls per
 * request: persistent connections (keep-alive, pipelined requests answered
 * in order), request bodies with Content-Length or chunked, `Expect:
 * 100-continue`, responses with Content-Length or chunked (streamed), and
 * the misbehaviours of the fake: cutting a connection mid-body, keeping it
 * open without a word.  libsoup's server cost the fake several times the
 * CPU of this per request.
 *
 * Contract: the handler is called once per complete request, on the
 * default main context, with the connection busy.  It answers through the
 * fake_conn_* calls, at once or later (from timers), and ends the exchange
 * with fake_conn_end (the connection then serves the next request) or
 * fake_conn_cut (it is dropped).  After either, the FakeConn must not be
 * used again.  If the client goes away before that, the gone callback set
 * with fake_conn_on_gone runs (never from inside a fake_conn_* call) and
 * the connection is freed after it.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

typedef struct _FakeHttp FakeHttp;
typedef struct _FakeConn FakeConn;

typedef struct
{
  const char *method;        /* as sent */
  const char *path;          /* the request target without its query */
  const char *authorization; /* nullable */
  const char *body;          /* body_len bytes, not NUL-terminated; chunks joined */
  size_t body_len;
  int64_t t_read;    /* g_get_monotonic_time() when the request was complete */
  int64_t t_arrived; /* when its last bytes reached the socket, on the same clock */
} FakeRequest;

/* @req and its strings live until the handler returns. */
typedef void (*FakeHttpHandler) (FakeConn *conn, const FakeRequest *req, void *data);
typedef void (*FakeConnGone) (void *data);

/* Listen on 127.0.0.1:@port (0: any free one) with a backlog of @backlog. */
FakeHttp *fake_http_new (uint16_t port, int backlog, FakeHttpHandler handler, void *data,
                         GError **error);
uint16_t fake_http_port (FakeHttp *http);
/* Close every connection (no gone callbacks) and the listener. */
void fake_http_free (FakeHttp *http);

/* Queue the status line and headers: Server, Date, framing (Content-Length
 * when @content_length ≥ 0, else chunked), then @headers (name, value, …,
 * NULL; nullable).  Nothing is sent before fake_conn_send or the end. */
void fake_conn_head (FakeConn *conn, unsigned status, const char *phrase,
                     const char *const *headers, int64_t content_length);
/* Queue body bytes: one chunk when the response is chunked. */
void fake_conn_body (FakeConn *conn, const char *data, size_t len);
/* Write what is queued, as far as the socket takes it now. */
void fake_conn_send (FakeConn *conn);
/* The response is complete: write the rest (and the last chunk). */
void fake_conn_end (FakeConn *conn);
/* Drop the connection once what is queued is written: no last chunk. */
void fake_conn_cut (FakeConn *conn);
/* Call @gone if the client closes or resets the connection before the
 * response ends. */
void fake_conn_on_gone (FakeConn *conn, FakeConnGone gone, void *data);
