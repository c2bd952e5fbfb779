/* lares-llm-http.h — an incremental HTTP/1.1 response reader, without I/O.
 *
 * lares-llm.c's own transport (plain HTTP to a loopback LLM server) feeds
 * it the bytes of one response exactly as recv() returned them.  It reads
 * the status line and headers (RFC 9112 §4, §5), skips interim 1xx
 * responses (RFC 9110 §15.2), then hands the body bytes to a callback
 * straight from the caller's buffer: chunked (RFC 9112 §7.1; extensions
 * and trailers are read and dropped), Content-Length (§6.3 rule 6), or
 * close-delimited until the end of input (§6.3 rule 8, which is also what
 * an HTTP/1.0 answer without a length gets).  The same bytes give the same
 * callbacks and the same outcome however they are split.
 *
 * Strict where a mistake would desynchronise the connection: a response
 * with two Content-Length headers, Content-Length together with chunked, a
 * transfer coding other than chunked, a folded header line (obs-fold), a
 * bad hex size, a missing CRLF after chunk data, a head over
 * LARES_LLM_HTTP_HEAD_MAX or a chunk-size line over
 * LARES_LLM_HTTP_CHUNK_LINE_MAX are LARES_LLM_ERROR_PROTOCOL errors naming
 * what was wrong.  Lines may end in CRLF or a bare LF (§2.2).  After an
 * error the reader must not be fed again.
 */
#pragma once

#include "lares-llm-stream.h"

G_BEGIN_DECLS

/* Status line and headers, interim responses included, in bytes. */
#define LARES_LLM_HTTP_HEAD_MAX (64 * 1024)
/* One chunk-size line with its extensions, without the line end. */
#define LARES_LLM_HTTP_CHUNK_LINE_MAX 1024

typedef enum
{
  LARES_LLM_HTTP_HEAD,          /* reading a status line and headers */
  LARES_LLM_HTTP_BODY_LENGTH,   /* Content-Length body: `remaining` bytes to go */
  LARES_LLM_HTTP_BODY_EOF,      /* close-delimited body */
  LARES_LLM_HTTP_CHUNK_SIZE,    /* hex digits of a chunk size */
  LARES_LLM_HTTP_CHUNK_EXT,     /* the rest of a chunk-size line */
  LARES_LLM_HTTP_CHUNK_SIZE_LF, /* the LF after a chunk-size line's CR */
  LARES_LLM_HTTP_CHUNK_DATA,    /* `remaining` bytes of chunk data to go */
  LARES_LLM_HTTP_CHUNK_DATA_CR, /* the CRLF after chunk data */
  LARES_LLM_HTTP_CHUNK_DATA_LF,
  LARES_LLM_HTTP_TRAILER,      /* at the start of a trailer line (or the final CRLF) */
  LARES_LLM_HTTP_TRAILER_LINE, /* inside a trailer field line */
  LARES_LLM_HTTP_TRAILER_LF,   /* after a CR in the trailer section */
  LARES_LLM_HTTP_DONE,         /* the response is complete */
  LARES_LLM_HTTP_FAILED,
} LaresLlmHttpState;

typedef struct _LaresLlmHttp LaresLlmHttp;

/* The final (non-1xx) head was read; status, reason and framing are set.
 * Return FALSE and set @error to stop the feed. */
typedef gboolean (*LaresLlmHttpHeadFunc) (const LaresLlmHttp *http, gpointer user_data,
                                          GError **error);

struct _LaresLlmHttp
{
  LaresLlmHttpState state;
  GString *head;        /* the head being read, line ends included (owned) */
  size_t head_line;     /* offset in @head where the current line starts */
  size_t head_total;    /* head bytes seen so far, interim heads included */
  size_t line_len;      /* bytes of the current chunk-size line */
  size_t trailer_total; /* trailer bytes seen (capped like the head) */
  uint64_t remaining;   /* BODY_LENGTH, CHUNK_DATA: body bytes still to come */
  gboolean have_digit;  /* CHUNK_SIZE: a hex digit was seen */
  gboolean trailing;    /* bytes arrived after the end of the response */
  gboolean have_head;   /* the final head was read */

  /* The final head; valid once the head callback ran. */
  unsigned status;        /* 100..999 */
  unsigned minor_version; /* HTTP/1.<minor>: 0 or 1 */
  char *reason;           /* the reason phrase, valid UTF-8 without controls (owned) */
  int64_t content_length; /* -1 when absent */
  gboolean chunked;       /* Transfer-Encoding: chunked */
  gboolean conn_close;    /* Connection: close */
  gboolean conn_keep;     /* Connection: keep-alive (matters for HTTP/1.0) */

  LaresLlmHttpHeadFunc head_func;
  LaresLlmChunkFunc body_func; /* body bytes, never empty, valid during the call */
  gpointer user_data;
};

void lares_llm_http_init (LaresLlmHttp *http, LaresLlmHttpHeadFunc head_func,
                          LaresLlmChunkFunc body_func, gpointer user_data);
void lares_llm_http_clear (LaresLlmHttp *http);

/* Read @len more bytes of the response.  Bytes after the end of the
 * response are dropped (and make the connection unfit for reuse). */
gboolean lares_llm_http_feed (LaresLlmHttp *http, const char *data, size_t len, GError **error);

/* The input ended (the peer closed).  TRUE when the response is complete:
 * it already was, or its body was close-delimited and ends here; FALSE with
 * a PROTOCOL error naming what was missing otherwise. */
gboolean lares_llm_http_finish (LaresLlmHttp *http, GError **error);

/* The final head was read. */
gboolean lares_llm_http_head_done (const LaresLlmHttp *http);
/* The whole response was read. */
gboolean lares_llm_http_done (const LaresLlmHttp *http);
/* The response is complete and the connection may carry the next request:
 * HTTP/1.1 without "Connection: close" (or HTTP/1.0 with "keep-alive"), a
 * body delimited by its length or chunked framing, nothing after it. */
gboolean lares_llm_http_keep_alive (const LaresLlmHttp *http);

G_END_DECLS
