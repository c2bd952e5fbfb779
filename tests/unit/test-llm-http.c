/* test-llm-http.c — the HTTP/1.1 response reader (lares-llm-http.h).
 *
 * Each vector is fed whole, split in two at every offset, and byte by byte,
 * from exact-length copies (never NUL-terminated); every way must give the
 * same heads, body, outcome and keep-alive decision, and body bytes must
 * come straight from the buffer being fed.
 */
#include "config.h"

#include "lares-llm-http.h"

#include <string.h>

typedef struct
{
  const char *name;
  const char *input; /* a literal; its length is strlen unless @len is set */
  size_t len;
  gboolean eof;        /* the peer closes after the input */
  const char *outcome; /* "ok", or a piece of the error message */
  unsigned status;     /* of the final head; 0 when none was read */
  const char *reason;
  const char *body;
  gboolean done;
  gboolean keep_alive;
} Vector;

typedef struct
{
  unsigned heads;
  unsigned status;
  char *reason;
  GString *body;
  gboolean done;
  gboolean keep_alive;
  char *error;
  /* the buffer being fed, to check that body bytes are not copied */
  const char *feed_start, *feed_end;
  gboolean fail_body; /* the body callback refuses */
} Seen;

static gboolean
head_cb (const LaresLlmHttp *http, gpointer user_data, GError **error)
{
  Seen *seen = user_data;

  seen->heads++;
  seen->status = http->status;
  g_free (seen->reason);
  seen->reason = g_strdup (http->reason);
  g_assert_true (lares_llm_http_head_done (http));
  return TRUE;
}

static gboolean
body_cb (const char *data, size_t len, gpointer user_data, GError **error)
{
  Seen *seen = user_data;

  g_assert_cmpuint (len, >, 0);
  g_assert_true (data >= seen->feed_start && data + len <= seen->feed_end);
  g_string_append_len (seen->body, data, (gssize)len);
  if (seen->fail_body)
    {
      g_set_error_literal (error, LARES_LLM_ERROR, LARES_LLM_ERROR_HTTP, "refused");
      return FALSE;
    }
  return TRUE;
}

static void
seen_clear (Seen *seen)
{
  g_free (seen->reason);
  g_string_free (seen->body, TRUE);
  g_free (seen->error);
}

/* Feed @input in pieces of the sizes in @cuts (the rest as a last piece),
 * each from its own exact-length copy; then EOF if @eof. */
static void
run (const char *input, size_t len, const size_t *cuts, size_t n_cuts, gboolean eof, Seen *seen)
{
  g_autoptr (GError) error = NULL;
  LaresLlmHttp http;
  size_t at = 0;
  gboolean ok = TRUE;

  memset (seen, 0, sizeof *seen);
  seen->body = g_string_new (NULL);
  lares_llm_http_init (&http, head_cb, body_cb, seen);
  for (size_t i = 0; i <= n_cuts && ok; i++)
    {
      size_t n = i < n_cuts ? MIN (cuts[i], len - at) : len - at;
      g_autofree char *piece = g_memdup2 (input + at, MAX (n, 1));

      if (n == 0 && i < n_cuts)
        continue;
      seen->feed_start = piece;
      seen->feed_end = piece + n;
      ok = lares_llm_http_feed (&http, piece, n, &error);
      at += n;
    }
  if (ok && eof)
    ok = lares_llm_http_finish (&http, &error);
  g_assert_true (ok == (error == NULL));
  if (error != NULL)
    {
      g_assert_true (error->domain == LARES_LLM_ERROR);
      seen->error = g_strdup (error->message);
    }
  seen->done = lares_llm_http_done (&http);
  seen->keep_alive = lares_llm_http_keep_alive (&http);
  g_assert_true (!seen->keep_alive || seen->done);
  lares_llm_http_clear (&http);
}

static void
assert_same (const Seen *a, const Seen *b)
{
  g_assert_cmpuint (a->heads, ==, b->heads);
  g_assert_cmpuint (a->status, ==, b->status);
  g_assert_cmpstr (a->reason, ==, b->reason);
  g_assert_cmpuint (a->body->len, ==, b->body->len);
  g_assert_true (memcmp (a->body->str, b->body->str, a->body->len) == 0);
  g_assert_cmpint (a->done, ==, b->done);
  g_assert_cmpint (a->keep_alive, ==, b->keep_alive);
  g_assert_cmpstr (a->error, ==, b->error);
}

static void
check_vector (const Vector *v)
{
  size_t len = v->len ? v->len : strlen (v->input);
  Seen whole, other;
  size_t one = 1;
  g_autofree size_t *ones = g_new (size_t, len + 1);

  g_test_message ("vector: %s", v->name);
  run (v->input, len, NULL, 0, v->eof, &whole);
  g_test_message ("error: %s", whole.error ? whole.error : "(none)");
  if (strcmp (v->outcome, "ok") == 0)
    g_assert_null (whole.error);
  else
    {
      g_assert_nonnull (whole.error);
      g_assert_nonnull (strstr (whole.error, v->outcome));
    }
  g_assert_cmpuint (whole.status, ==, v->status);
  g_assert_cmpuint (whole.heads, ==, v->status != 0 ? 1 : 0);
  if (v->reason != NULL)
    g_assert_cmpstr (whole.reason, ==, v->reason);
  if (v->body != NULL)
    g_assert_cmpstr (whole.body->str, ==, v->body);
  else
    g_assert_cmpuint (whole.body->len, ==, v->status == 200 ? 3 : 0); /* "a\0b" */
  g_assert_cmpint (whole.done, ==, v->done);
  g_assert_cmpint (whole.keep_alive, ==, v->keep_alive);

  /* Cut in two at every offset. */
  for (size_t i = 1; i < len; i++)
    {
      run (v->input, len, &i, 1, v->eof, &other);
      assert_same (&whole, &other);
      seen_clear (&other);
    }
  /* Byte by byte. */
  for (size_t i = 0; i < len; i++)
    ones[i] = one;
  run (v->input, len, ones, len, v->eof, &other);
  assert_same (&whole, &other);
  seen_clear (&other);
  seen_clear (&whole);
}

#define OK200      "HTTP/1.1 200 OK\r\n"
#define CHUNKED    "Transfer-Encoding: chunked\r\n"
#define NUL_BODY   OK200 "Content-Length: 3\r\n\r\na\0b"
#define NUL_HEADER OK200 "X-A: a\0b\r\n\r\n"

static const Vector good[] = {
  { "chunked with extensions and trailers",
    OK200 "Content-Type: text/event-stream\r\n" CHUNKED "\r\n"
          "5;foo=bar\r\nhello\r\n6 ; name=\"quoted; value\"\r\n world\r\n"
          "0;last\r\nX-Trailer: 1\r\nX-Other: two\r\n\r\n",
    0, FALSE, "ok", 200, "OK", "hello world", TRUE, TRUE },
  { "chunked, upper and lower case hex, leading zeros",
    OK200 CHUNKED "\r\n"
                  "A\r\n0123456789\r\n00b\r\nabcdefghijk\r\n000\r\n\r\n",
    0, FALSE, "ok", 200, "OK", "0123456789abcdefghijk", TRUE, TRUE },
  { "chunked, SSE events as a server streams them",
    OK200 "Content-Type: text/event-stream\r\n" CHUNKED "\r\n"
          "f\r\ndata: {\"a\":1}\n\n\r\ne\r\ndata: [DONE]\n\n\r\n0\r\n\r\n",
    0, FALSE, "ok", 200, "OK", "data: {\"a\":1}\n\ndata: [DONE]\n\n", TRUE, TRUE },
  { "chunked, still streaming", OK200 CHUNKED "\r\n5\r\nhel", 0, FALSE, "ok", 200, "OK", "hel",
    FALSE, FALSE },
  { "content-length", OK200 "Content-Length: 5\r\n\r\nhello", 0, FALSE, "ok", 200, "OK", "hello",
    TRUE, TRUE },
  { "content-length with whitespace around", OK200 "content-length: \t 5 \r\n\r\nhello", 0, FALSE,
    "ok", 200, "OK", "hello", TRUE, TRUE },
  { "content-length 0", OK200 "Content-Length: 0\r\n\r\n", 0, FALSE, "ok", 200, "OK", "", TRUE,
    TRUE },
  { "content-length, EOF after the body", OK200 "Content-Length: 2\r\n\r\nok", 0, TRUE, "ok", 200,
    "OK", "ok", TRUE, TRUE },
  { "close-delimited HTTP/1.1", OK200 "Content-Type: text/event-stream\r\n\r\ndata: x\n\n", 0, TRUE,
    "ok", 200, "OK", "data: x\n\n", TRUE, FALSE },
  { "close-delimited, not ended yet", OK200 "\r\nsome", 0, FALSE, "ok", 200, "OK", "some", FALSE,
    FALSE },
  { "HTTP/1.0 close-delimited", "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of it", 0, TRUE, "ok", 200,
    "OK", "all of it", TRUE, FALSE },
  { "HTTP/1.0 with a length is not kept", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 0, FALSE,
    "ok", 200, "OK", "x", TRUE, FALSE },
  { "HTTP/1.0 keep-alive with a length",
    "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", 0, FALSE, "ok", 200,
    "OK", "x", TRUE, TRUE },
  { "100-continue then 200", "HTTP/1.1 100 Continue\r\n\r\n" OK200 "Content-Length: 2\r\n\r\nok", 0,
    FALSE, "ok", 200, "OK", "ok", TRUE, TRUE },
  { "103 with headers, then 100, then 200 chunked",
    "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n" OK200 CHUNKED
    "\r\n1\r\nz\r\n0\r\n\r\n",
    0, FALSE, "ok", 200, "OK", "z", TRUE, TRUE },
  { "Connection: close with chunked", OK200 "Connection: close\r\n" CHUNKED "\r\n0\r\n\r\n", 0,
    FALSE, "ok", 200, "OK", "", TRUE, FALSE },
  { "Connection list with close",
    OK200 "Connection: keep-alive, CLOSE\r\nContent-Length: 0\r\n\r\n", 0, FALSE, "ok", 200, "OK",
    "", TRUE, FALSE },
  { "bare LF line ends", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n", 0, FALSE,
    "ok", 200, "OK", "abc", TRUE, TRUE },
  { "status without a reason", "HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n", 0, FALSE, "ok", 503, "",
    "", TRUE, TRUE },
  { "error status with a JSON body",
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 42\r\n"
    "\r\n{\"error\":{\"code\":503,\"message\":\"Loading\"}}",
    0, FALSE, "ok", 503, "Service Unavailable",
    "{\"error\":{\"code\":503,\"message\":\"Loading\"}}", TRUE, TRUE },
  { "204 has no body", "HTTP/1.1 204 No Content\r\n\r\n", 0, FALSE, "ok", 204, "No Content", "",
    TRUE, TRUE },
  { "bytes after the response", OK200 "Content-Length: 2\r\n\r\nokEXTRA", 0, FALSE, "ok", 200, "OK",
    "ok", TRUE, FALSE },
  { "chunked spelled in capitals", OK200 "Transfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n", 0, FALSE,
    "ok", 200, "OK", "", TRUE, TRUE },
  { "a reason that is not UTF-8", "HTTP/1.1 500 Bad \xff\x01thing\r\nContent-Length: 0\r\n\r\n", 0,
    FALSE, "ok", 500, "Bad \xef\xbf\xbdthing", "", TRUE, TRUE },
  { "16 hex digits of chunk size", OK200 CHUNKED "\r\n0000000000000003\r\nabc\r\n0\r\n\r\n", 0,
    FALSE, "ok", 200, "OK", "abc", TRUE, TRUE },
  { "NUL bytes in the body", NUL_BODY, sizeof NUL_BODY - 1, FALSE, "ok", 200, "OK", NULL, TRUE,
    TRUE },
};

static const Vector bad[] = {
  { "HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n", 0, FALSE, "bad status line", 0 },
  { "two-digit status", "HTTP/1.1 20 OK\r\n\r\n", 0, FALSE, "bad status line", 0 },
  { "status below 100", "HTTP/1.1 099 Odd\r\n\r\n", 0, FALSE, "bad status line", 0 },
  { "no space after the status", "HTTP/1.1 200OK\r\n\r\n", 0, FALSE, "bad status line", 0 },
  { "not HTTP at all", "ICY 200 OK\r\n\r\n", 0, FALSE, "bad status line", 0 },
  { "an HTML page", "<html><body>hi</body></html>\n\n", 0, FALSE, "bad status line", 0 },
  { "empty first line", "\r\nHTTP/1.1 200 OK\r\n\r\n", 0, FALSE, "starts with an empty line", 0 },
  { "101 unasked", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", 0, FALSE,
    "switched protocols", 0 },
  { "bad hex", OK200 CHUNKED "\r\nzz\r\n", 0, FALSE, "bad chunk size", 200, "OK", "", FALSE,
    FALSE },
  { "negative chunk size", OK200 CHUNKED "\r\n-1\r\n", 0, FALSE, "bad chunk size", 200, "OK", "",
    FALSE, FALSE },
  { "empty chunk size", OK200 CHUNKED "\r\n\r\n", 0, FALSE, "bad chunk size", 200, "OK", "", FALSE,
    FALSE },
  { "space before the chunk size", OK200 CHUNKED "\r\n 5\r\nhello\r\n", 0, FALSE, "bad chunk size",
    200, "OK", "", FALSE, FALSE },
  { "overflowing chunk size", OK200 CHUNKED "\r\n10000000000000000\r\n", 0, FALSE, "too large", 200,
    "OK", "", FALSE, FALSE },
  { "missing CRLF after chunk data", OK200 CHUNKED "\r\n3\r\nabcX\r\n0\r\n\r\n", 0, FALSE,
    "no CRLF after a chunk", 200, "OK", "abc", FALSE, FALSE },
  { "CR then not LF after chunk data", OK200 CHUNKED "\r\n3\r\nabc\rX", 0, FALSE,
    "no CRLF after a chunk", 200, "OK", "abc", FALSE, FALSE },
  { "stray CR in a chunk-size line", OK200 CHUNKED "\r\n3\rabc", 0, FALSE, "stray CR", 200, "OK",
    "", FALSE, FALSE },
  { "stray CR in the trailers", OK200 CHUNKED "\r\n0\r\n\rX", 0, FALSE, "stray CR", 200, "OK", "",
    FALSE, FALSE },
  { "Content-Length with chunked", OK200 "Content-Length: 5\r\n" CHUNKED "\r\n5\r\nhello\r\n", 0,
    FALSE, "both Content-Length and chunked", 0 },
  { "two different Content-Lengths", OK200 "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 0,
    FALSE, "more than one Content-Length", 0 },
  { "the same Content-Length twice", OK200 "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 0,
    FALSE, "more than one Content-Length", 0 },
  { "a Content-Length list", OK200 "Content-Length: 5, 5\r\n\r\nhello", 0, FALSE,
    "bad Content-Length", 0 },
  { "negative Content-Length", OK200 "Content-Length: -5\r\n\r\n", 0, FALSE, "bad Content-Length",
    0 },
  { "empty Content-Length", OK200 "Content-Length:\r\n\r\n", 0, FALSE, "empty Content-Length", 0 },
  { "overflowing Content-Length", OK200 "Content-Length: 99999999999999999999\r\n\r\n", 0, FALSE,
    "too large", 0 },
  { "obs-fold", OK200 "X-A: 1\r\n continued\r\nContent-Length: 0\r\n\r\n", 0, FALSE, "obs-fold",
    0 },
  { "header line without a colon", OK200 "Just words\r\n\r\n", 0, FALSE, "without a name", 0 },
  { "space before the colon", OK200 "Content-Length : 5\r\n\r\nhello", 0, FALSE, "bad header name",
    0 },
  { "stray CR in a header", OK200 "X-A: a\rb\r\n\r\n", 0, FALSE, "stray CR", 0 },
  { "NUL in a header", NUL_HEADER, sizeof NUL_HEADER - 1, FALSE, "NUL", 0 },
  { "gzip transfer coding", OK200 "Transfer-Encoding: gzip, chunked\r\n\r\n", 0, FALSE,
    "transfer coding \"gzip\"", 0 },
  { "a coding after chunked", OK200 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
    0, FALSE, "after chunked", 0 },
  { "EOF before anything", "", 0, TRUE, "closed before", 0 },
  { "EOF in the head", OK200 "Content-Le", 0, TRUE, "closed before", 0 },
  { "EOF in a Content-Length body", OK200 "Content-Length: 10\r\n\r\nhello", 0, TRUE,
    "5 bytes before the end", 200, "OK", "hello", FALSE, FALSE },
  { "EOF in a chunked body", OK200 CHUNKED "\r\n5\r\nhello\r\n", 0, TRUE, "middle of a chunked",
    200, "OK", "hello", FALSE, FALSE },
  { "EOF before the last CRLF", OK200 CHUNKED "\r\n0\r\n", 0, TRUE, "middle of a chunked", 200,
    "OK", "", FALSE, FALSE },
};

static void
test_good (void)
{
  for (size_t i = 0; i < G_N_ELEMENTS (good); i++)
    check_vector (&good[i]);
}

static void
test_bad (void)
{
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    check_vector (&bad[i]);
}

/* Feed @input whole; return the error message (or NULL). */
static char *
error_of (const char *input, size_t len, gboolean eof)
{
  Seen seen;
  char *error;

  run (input, len, NULL, 0, eof, &seen);
  error = g_strdup (seen.error);
  seen_clear (&seen);
  return error;
}

/* The head cap holds before the head ends, also over interim heads; the
 * chunk-size line cap holds before the line ends. */
static void
test_caps (void)
{
  GString *in = g_string_new (OK200 "X-Big: ");
  g_autofree char *error = NULL;
  Seen seen;
  size_t cut;

  /* A header that never ends: an error once the bytes pass the cap. */
  while (in->len <= LARES_LLM_HTTP_HEAD_MAX)
    g_string_append_c (in, 'x');
  error = error_of (in->str, in->len, FALSE);
  g_assert_nonnull (strstr (error, "head longer than 65536 bytes"));
  g_clear_pointer (&error, g_free);
  /* Exactly at the cap is fine. */
  g_string_truncate (in, 0);
  g_string_append (in, OK200 "X-Big: ");
  while (in->len < LARES_LLM_HTTP_HEAD_MAX - strlen ("\r\n\r\n"))
    g_string_append_c (in, 'x');
  g_string_append (in, "\r\n\r\n");
  g_assert_cmpuint (in->len, ==, LARES_LLM_HTTP_HEAD_MAX);
  run (in->str, in->len, NULL, 0, TRUE, &seen);
  g_assert_null (seen.error);
  g_assert_cmpuint (seen.status, ==, 200);
  seen_clear (&seen);
  /* Many interim heads add up. */
  g_string_truncate (in, 0);
  while (in->len <= LARES_LLM_HTTP_HEAD_MAX)
    g_string_append (in, "HTTP/1.1 100 Continue\r\n\r\n");
  error = error_of (in->str, in->len, FALSE);
  g_assert_nonnull (strstr (error, "head longer than"));
  g_clear_pointer (&error, g_free);

  /* A chunk-size line of 1 KiB is fine, one byte more is not, whether
   * or not its end has arrived. */
  g_string_truncate (in, 0);
  g_string_append (in, OK200 CHUNKED "\r\n1;");
  cut = in->len;
  while (in->len - cut + 2 < LARES_LLM_HTTP_CHUNK_LINE_MAX)
    g_string_append_c (in, 'e');
  g_string_append (in, "\r\nz\r\n0\r\n\r\n");
  run (in->str, in->len, NULL, 0, FALSE, &seen);
  g_assert_null (seen.error);
  g_assert_cmpstr (seen.body->str, ==, "z");
  g_assert_true (seen.keep_alive);
  seen_clear (&seen);
  g_string_truncate (in, 0);
  g_string_append (in, OK200 CHUNKED "\r\n1;");
  for (size_t i = 0; i < LARES_LLM_HTTP_CHUNK_LINE_MAX; i++)
    g_string_append_c (in, 'e');
  error = error_of (in->str, in->len, FALSE);
  g_assert_nonnull (strstr (error, "chunk-size line longer than 1024 bytes"));
  g_clear_pointer (&error, g_free);

  /* Trailers are capped like a head. */
  g_string_truncate (in, 0);
  g_string_append (in, OK200 CHUNKED "\r\n0\r\nX-T: ");
  while (in->len <= 2 * LARES_LLM_HTTP_HEAD_MAX)
    g_string_append_c (in, 't');
  error = error_of (in->str, in->len, FALSE);
  g_assert_nonnull (strstr (error, "trailers longer than"));
  g_string_free (in, TRUE);
}

/* A body callback that fails stops the feed with its error; so does a
 * head callback. */
static gboolean
refuse_head_cb (const LaresLlmHttp *http, gpointer user_data, GError **error)
{
  g_set_error_literal (error, LARES_LLM_ERROR, LARES_LLM_ERROR_HTTP, "no thanks");
  return FALSE;
}

static void
test_callback_errors (void)
{
  static const char in[] = OK200 "Content-Length: 5\r\n\r\nhello";
  g_autoptr (GError) error = NULL;
  LaresLlmHttp http;
  Seen seen = { 0 };

  seen.body = g_string_new (NULL);
  seen.fail_body = TRUE;
  seen.feed_start = in;
  seen.feed_end = in + sizeof in - 1;
  lares_llm_http_init (&http, head_cb, body_cb, &seen);
  g_assert_false (lares_llm_http_feed (&http, in, sizeof in - 1, &error));
  g_assert_error (error, LARES_LLM_ERROR, LARES_LLM_ERROR_HTTP);
  g_assert_cmpstr (error->message, ==, "refused");
  g_assert_false (lares_llm_http_keep_alive (&http));
  g_clear_error (&error);
  /* Fed again after the error: refused, not crashed. */
  g_assert_false (lares_llm_http_feed (&http, "x", 1, &error));
  g_assert_error (error, LARES_LLM_ERROR, LARES_LLM_ERROR_PROTOCOL);
  g_clear_error (&error);
  lares_llm_http_clear (&http);
  seen_clear (&seen);

  lares_llm_http_init (&http, refuse_head_cb, body_cb, NULL);
  g_assert_false (lares_llm_http_feed (&http, in, sizeof in - 1, &error));
  g_assert_error (error, LARES_LLM_ERROR, LARES_LLM_ERROR_HTTP);
  lares_llm_http_clear (&http);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/llm-http/good", test_good);
  g_test_add_func ("/llm-http/bad", test_bad);
  g_test_add_func ("/llm-http/caps", test_caps);
  g_test_add_func ("/llm-http/callback-errors", test_callback_errors);
  return g_test_run ();
}
