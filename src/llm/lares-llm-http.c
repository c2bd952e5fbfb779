/* lares-llm-http.c — the HTTP/1.1 response reader (see lares-llm-http.h).
 *
 * DESIGN: pure and incremental; lares-llm.c owns the socket.  The head is
 * copied into one GString until its blank line (it is small and read once
 * a response), then parsed as a whole.  Everything after it is a state
 * machine over the bytes as they come: chunk-size lines, CRLFs and
 * trailers are consumed byte by byte without being kept (a running hex
 * value and a line length are all the state), and body bytes — chunk data,
 * a Content-Length body or a close-delimited one — go to the body callback
 * as runs straight from the caller's buffer, so the common case copies
 * nothing.  Every state change depends only on bytes already seen, which
 * is what makes any split of the input give the same result.
 */
#include "config.h"

#include "lares-llm-http.h"

#include <string.h>

static gboolean fail (LaresLlmHttp *http, GError **error, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static gboolean
fail (LaresLlmHttp *http, GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  http->state = LARES_LLM_HTTP_FAILED;
  g_set_error_literal (error, LARES_LLM_ERROR, LARES_LLM_ERROR_PROTOCOL, message);
  return FALSE;
}

void
lares_llm_http_init (LaresLlmHttp *http, LaresLlmHttpHeadFunc head_func,
                     LaresLlmChunkFunc body_func, gpointer user_data)
{
  memset (http, 0, sizeof *http);
  http->state = LARES_LLM_HTTP_HEAD;
  http->head = g_string_sized_new (512);
  http->content_length = -1;
  http->head_func = head_func;
  http->body_func = body_func;
  http->user_data = user_data;
}

void
lares_llm_http_clear (LaresLlmHttp *http)
{
  if (http->head != NULL)
    g_string_free (g_steal_pointer (&http->head), TRUE);
  g_clear_pointer (&http->reason, g_free);
}

gboolean
lares_llm_http_head_done (const LaresLlmHttp *http)
{
  return http->have_head;
}

gboolean
lares_llm_http_done (const LaresLlmHttp *http)
{
  return http->state == LARES_LLM_HTTP_DONE;
}

gboolean
lares_llm_http_keep_alive (const LaresLlmHttp *http)
{
  gboolean persistent =
      http->minor_version >= 1 ? !http->conn_close : http->conn_keep && !http->conn_close;

  /* A close-delimited body ends only when the connection does. */
  return http->state == LARES_LLM_HTTP_DONE && persistent && !http->trailing &&
         (http->chunked || http->content_length >= 0 || http->status == 204 || http->status == 304);
}

/* ---- the head ------------------------------------------------------- */

/* RFC 9110 §5.6.2 tchar. */
static gboolean
is_tchar (unsigned char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

static gboolean
is_ows (char c)
{
  return c == ' ' || c == '\t';
}

/* The next element of a comma-separated header list at *@p (up to @end),
 * optional whitespace trimmed, as [*@start, *@stop); *@p moves past it.
 * FALSE once the list is used up.  Elements may be empty. */
static gboolean
list_next (const char **p, const char *end, const char **start, const char **stop)
{
  const char *b = *p, *comma, *e;

  if (b >= end)
    return FALSE;
  comma = memchr (b, ',', (size_t)(end - b));
  e = comma != NULL ? comma : end;
  while (b < e && is_ows (*b))
    b++;
  while (e > b && is_ows (e[-1]))
    e--;
  *start = b;
  *stop = e;
  *p = comma != NULL ? comma + 1 : end;
  return TRUE;
}

/* Does the comma-separated list @value (len bytes) hold @token, ignoring
 * case and optional whitespace? */
static gboolean
list_has (const char *value, size_t len, const char *token)
{
  size_t tlen = strlen (token);
  const char *p = value, *b, *e;

  while (list_next (&p, value + len, &b, &e))
    if ((size_t)(e - b) == tlen && g_ascii_strncasecmp (b, token, tlen) == 0)
      return TRUE;
  return FALSE;
}

/* At most @max bytes of @s for a message: printable ASCII, others as '?'. */
static char *
printable (const char *s, size_t len, size_t max)
{
  char *out = g_strndup (s, MIN (len, max));

  for (char *c = out; *c != '\0'; c++)
    if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
      *c = '?';
  return out;
}

static gboolean
parse_status_line (LaresLlmHttp *http, const char *line, size_t len, GError **error)
{
  const char *reason;
  size_t reason_len;
  GString *clean;

  /* HTTP-version SP 3DIGIT SP reason-phrase (RFC 9112 §4); a missing SP
   * before an empty reason is accepted, as most clients do. */
  if (len < 12 || memcmp (line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') ||
      line[8] != ' ' || !g_ascii_isdigit (line[9]) || !g_ascii_isdigit (line[10]) ||
      !g_ascii_isdigit (line[11]) || line[9] == '0' || (len > 12 && line[12] != ' '))
    {
      g_autofree char *shown = printable (line, len, 40);
      return fail (http, error, "the LLM server's answer has a bad status line \"%s\"", shown);
    }
  http->minor_version = (unsigned)(line[7] - '0');
  http->status = (unsigned)((line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0'));
  reason = len > 13 ? line + 13 : line + len;
  reason_len = len > 13 ? len - 13 : 0;
  /* Kept for error messages: valid UTF-8, no control characters. */
  g_clear_pointer (&http->reason, g_free);
  clean = g_string_new (NULL);
  {
    g_autofree char *valid = g_utf8_make_valid (reason, (gssize)reason_len);

    for (const char *c = valid; *c != '\0'; c++)
      if ((unsigned char)*c >= 0x20 && *c != 0x7f)
        g_string_append_c (clean, *c);
  }
  http->reason = g_string_free (clean, FALSE);
  return TRUE;
}

static gboolean
parse_content_length (LaresLlmHttp *http, const char *value, size_t len, GError **error)
{
  uint64_t n = 0;

  if (http->content_length >= 0)
    return fail (http, error, "the LLM server's answer has more than one Content-Length");
  if (len == 0)
    return fail (http, error, "the LLM server's answer has an empty Content-Length");
  for (size_t i = 0; i < len; i++)
    {
      if (!g_ascii_isdigit (value[i]))
        return fail (http, error, "the LLM server's answer has a bad Content-Length");
      if (n > ((uint64_t)G_MAXINT64 - 9) / 10)
        return fail (http, error, "the LLM server's answer has a Content-Length too large");
      n = n * 10 + (uint64_t)(value[i] - '0');
    }
  http->content_length = (int64_t)n;
  return TRUE;
}

/* Transfer-Encoding (RFC 9112 §6.1): only chunked is understood, and it
 * must come last, once. */
static gboolean
parse_transfer_encoding (LaresLlmHttp *http, const char *value, size_t len, GError **error)
{
  const char *p = value, *b, *e;

  while (list_next (&p, value + len, &b, &e))
    {
      if (e == b)
        continue;
      if (http->chunked)
        return fail (http, error, "the LLM server's answer has a transfer coding after chunked");
      if ((size_t)(e - b) != 7 || g_ascii_strncasecmp (b, "chunked", 7) != 0)
        {
          g_autofree char *name = printable (b, (size_t)(e - b), 40);
          return fail (http, error,
                       "the LLM server's answer uses the transfer coding \"%s\", which lares "
                       "does not read",
                       name);
        }
      http->chunked = TRUE;
    }
  return TRUE;
}

static gboolean
parse_field (LaresLlmHttp *http, const char *line, size_t len, GError **error)
{
  const char *colon = memchr (line, ':', len);
  const char *value, *vend;
  size_t name_len;

  if (is_ows (line[0]))
    return fail (http, error, "the LLM server's answer has a folded header line (obs-fold)");
  if (colon == NULL || colon == line)
    return fail (http, error, "the LLM server's answer has a header line without a name");
  name_len = (size_t)(colon - line);
  for (size_t i = 0; i < name_len; i++)
    if (!is_tchar ((unsigned char)line[i]))
      return fail (http, error, "the LLM server's answer has a bad header name");
  value = colon + 1;
  vend = line + len;
  while (value < vend && is_ows (*value))
    value++;
  while (vend > value && is_ows (vend[-1]))
    vend--;

#define NAME_IS(lit) (name_len == sizeof lit - 1 && g_ascii_strncasecmp (line, lit, name_len) == 0)
  if (NAME_IS ("Content-Length"))
    return parse_content_length (http, value, (size_t)(vend - value), error);
  if (NAME_IS ("Transfer-Encoding"))
    return parse_transfer_encoding (http, value, (size_t)(vend - value), error);
  if (NAME_IS ("Connection"))
    {
      if (list_has (value, (size_t)(vend - value), "close"))
        http->conn_close = TRUE;
      if (list_has (value, (size_t)(vend - value), "keep-alive"))
        http->conn_keep = TRUE;
    }
#undef NAME_IS
  return TRUE;
}

/* Parse the complete head in http->head (ending with its blank line). */
static gboolean
parse_head (LaresLlmHttp *http, GError **error)
{
  const char *p = http->head->str, *end = p + http->head->len;
  gboolean first = TRUE;

  http->content_length = -1;
  http->chunked = http->conn_close = http->conn_keep = FALSE;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (size_t)(end - p));
      size_t len;

      g_assert (nl != NULL); /* the head ends with a line end */
      len = (size_t)(nl - p);
      if (len > 0 && p[len - 1] == '\r')
        len--;
      if (memchr (p, '\r', len) != NULL || memchr (p, '\0', len) != NULL)
        return fail (http, error, "the LLM server's answer has a stray CR or NUL in its head");
      if (first)
        {
          if (!parse_status_line (http, p, len, error))
            return FALSE;
          first = FALSE;
        }
      else if (len > 0 && !parse_field (http, p, len, error))
        return FALSE;
      p = nl + 1;
    }
  return TRUE;
}

/* The head in http->head is complete: parse it and choose the framing. */
static gboolean
end_of_head (LaresLlmHttp *http, GError **error)
{
  if (!parse_head (http, error))
    return FALSE;
  g_string_truncate (http->head, 0);
  http->head_line = 0;
  if (http->status < 200)
    {
      /* An interim response (100 Continue, 103 Early Hints): the real one
       * follows.  101 would switch protocols, which was never asked for. */
      if (http->status == 101)
        return fail (http, error, "the LLM server switched protocols (101) unasked");
      http->status = 0;
      g_clear_pointer (&http->reason, g_free);
      return TRUE;
    }
  if (http->chunked && http->content_length >= 0)
    return fail (http, error,
                 "the LLM server's answer has both Content-Length and chunked framing");
  if (http->status == 204 || http->status == 304)
    http->state = LARES_LLM_HTTP_DONE;
  else if (http->chunked)
    {
      http->remaining = 0;
      http->state = LARES_LLM_HTTP_CHUNK_SIZE;
    }
  else if (http->content_length >= 0)
    {
      http->remaining = (uint64_t)http->content_length;
      http->state = http->remaining > 0 ? LARES_LLM_HTTP_BODY_LENGTH : LARES_LLM_HTTP_DONE;
    }
  else
    http->state = LARES_LLM_HTTP_BODY_EOF;
  http->have_digit = FALSE;
  http->have_head = TRUE;
  if (http->head_func != NULL && !http->head_func (http, http->user_data, error))
    {
      http->state = LARES_LLM_HTTP_FAILED;
      return FALSE;
    }
  return TRUE;
}

/* Take head bytes from @p; returns how many were used (the rest belongs
 * to the body), or -1 on error. */
static gssize
feed_head (LaresLlmHttp *http, const char *p, size_t len, GError **error)
{
  size_t used = 0;

  while (used < len && http->state == LARES_LLM_HTTP_HEAD)
    {
      const char *nl = memchr (p + used, '\n', len - used);
      size_t take = nl != NULL ? (size_t)(nl - (p + used)) + 1 : len - used;
      size_t line_len;

      if (http->head_total + take > LARES_LLM_HTTP_HEAD_MAX)
        {
          fail (http, error, "the LLM server's answer has a head longer than %d bytes",
                LARES_LLM_HTTP_HEAD_MAX);
          return -1;
        }
      g_string_append_len (http->head, p + used, (gssize)take);
      http->head_total += take;
      used += take;
      if (nl == NULL)
        break;
      /* A line ended: an empty one ("\n" or "\r\n") ends the head. */
      line_len = http->head->len - http->head_line;
      if (line_len > 2 || (line_len == 2 && http->head->str[http->head_line] != '\r'))
        http->head_line = http->head->len;
      else if (http->head_line == 0)
        {
          fail (http, error, "the LLM server's answer starts with an empty line");
          return -1;
        }
      else if (!end_of_head (http, error))
        return -1;
    }
  return (gssize)used;
}

/* ---- the body ------------------------------------------------------- */

static gboolean
deliver (LaresLlmHttp *http, const char *data, size_t len, GError **error)
{
  if (len == 0)
    return TRUE;
  if (!http->body_func (data, len, http->user_data, error))
    {
      http->state = LARES_LLM_HTTP_FAILED;
      return FALSE;
    }
  return TRUE;
}

/* The chunk-size line ended (RFC 9112 §7.1). */
static void
end_of_size_line (LaresLlmHttp *http)
{
  http->line_len = 0;
  http->have_digit = FALSE;
  http->state = http->remaining > 0 ? LARES_LLM_HTTP_CHUNK_DATA : LARES_LLM_HTTP_TRAILER;
}

/* One byte of chunked framing (not chunk data). */
static gboolean
feed_framing_byte (LaresLlmHttp *http, char c, GError **error)
{
  switch (http->state)
    {
    case LARES_LLM_HTTP_CHUNK_SIZE:
      {
        int v = g_ascii_xdigit_value (c);

        if (v >= 0)
          {
            if (http->remaining > (G_MAXUINT64 >> 4) || ++http->line_len > 16)
              return fail (http, error, "the LLM server sent a chunk size too large");
            http->remaining = (http->remaining << 4) | (uint64_t)v;
            http->have_digit = TRUE;
            return TRUE;
          }
        if (!http->have_digit)
          return fail (http, error, "the LLM server sent a bad chunk size");
        if (c == '\r')
          http->state = LARES_LLM_HTTP_CHUNK_SIZE_LF;
        else if (c == '\n')
          end_of_size_line (http);
        else if (c == ';' || is_ows (c))
          {
            http->state = LARES_LLM_HTTP_CHUNK_EXT;
            http->line_len++;
          }
        else
          return fail (http, error, "the LLM server sent a bad chunk size");
        return TRUE;
      }
    case LARES_LLM_HTTP_CHUNK_EXT:
      /* chunk extensions: read and ignored */
      if (c == '\r')
        http->state = LARES_LLM_HTTP_CHUNK_SIZE_LF;
      else if (c == '\n')
        end_of_size_line (http);
      else if (++http->line_len > LARES_LLM_HTTP_CHUNK_LINE_MAX)
        return fail (http, error, "the LLM server sent a chunk-size line longer than %d bytes",
                     LARES_LLM_HTTP_CHUNK_LINE_MAX);
      return TRUE;
    case LARES_LLM_HTTP_CHUNK_SIZE_LF:
      if (c != '\n')
        return fail (http, error, "the LLM server sent a chunk-size line with a stray CR");
      end_of_size_line (http);
      return TRUE;
    case LARES_LLM_HTTP_CHUNK_DATA_CR:
      if (c == '\r')
        http->state = LARES_LLM_HTTP_CHUNK_DATA_LF;
      else if (c == '\n')
        http->state = LARES_LLM_HTTP_CHUNK_SIZE;
      else
        return fail (http, error, "the LLM server sent no CRLF after a chunk's data");
      return TRUE;
    case LARES_LLM_HTTP_CHUNK_DATA_LF:
      if (c != '\n')
        return fail (http, error, "the LLM server sent no CRLF after a chunk's data");
      http->state = LARES_LLM_HTTP_CHUNK_SIZE;
      return TRUE;
    case LARES_LLM_HTTP_TRAILER:
    case LARES_LLM_HTTP_TRAILER_LINE:
    case LARES_LLM_HTTP_TRAILER_LF:
      /* Trailer fields (RFC 9112 §7.1.2) are dropped; an empty line ends
       * the body. */
      if (++http->trailer_total > LARES_LLM_HTTP_HEAD_MAX)
        return fail (http, error, "the LLM server sent trailers longer than %d bytes",
                     LARES_LLM_HTTP_HEAD_MAX);
      if (http->state == LARES_LLM_HTTP_TRAILER_LF)
        {
          if (c != '\n')
            return fail (http, error, "the LLM server sent a trailer with a stray CR");
          http->state = LARES_LLM_HTTP_DONE;
        }
      else if (c == '\n')
        http->state =
            http->state == LARES_LLM_HTTP_TRAILER ? LARES_LLM_HTTP_DONE : LARES_LLM_HTTP_TRAILER;
      else if (c == '\r' && http->state == LARES_LLM_HTTP_TRAILER)
        http->state = LARES_LLM_HTTP_TRAILER_LF;
      else
        http->state = LARES_LLM_HTTP_TRAILER_LINE;
      return TRUE;
    default:
      g_assert_not_reached ();
    }
}

gboolean
lares_llm_http_feed (LaresLlmHttp *http, const char *data, size_t len, GError **error)
{
  const char *p, *end;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (http->state == LARES_LLM_HTTP_FAILED)
    {
      g_set_error_literal (error, LARES_LLM_ERROR, LARES_LLM_ERROR_PROTOCOL,
                           "the LLM server's answer could not be read");
      return FALSE;
    }
  if (len == 0)
    return TRUE;
  p = data;
  end = data + len;

  while (p < end)
    {
      switch (http->state)
        {
        case LARES_LLM_HTTP_HEAD:
          {
            gssize used = feed_head (http, p, (size_t)(end - p), error);

            if (used < 0)
              return FALSE;
            p += used;
            break;
          }
        case LARES_LLM_HTTP_BODY_LENGTH:
        case LARES_LLM_HTTP_CHUNK_DATA:
          {
            size_t n = (size_t)MIN (http->remaining, (uint64_t)(end - p));
            LaresLlmHttpState next = http->state == LARES_LLM_HTTP_BODY_LENGTH
                                         ? LARES_LLM_HTTP_DONE
                                         : LARES_LLM_HTTP_CHUNK_DATA_CR;

            http->remaining -= n;
            if (http->remaining == 0)
              http->state = next;
            if (!deliver (http, p, n, error))
              return FALSE;
            p += n;
            break;
          }
        case LARES_LLM_HTTP_BODY_EOF:
          if (!deliver (http, p, (size_t)(end - p), error))
            return FALSE;
          p = end;
          break;
        case LARES_LLM_HTTP_DONE:
          http->trailing = TRUE;
          p = end;
          break;
        default:
          if (!feed_framing_byte (http, *p++, error))
            return FALSE;
          break;
        }
    }
  return TRUE;
}

gboolean
lares_llm_http_finish (LaresLlmHttp *http, GError **error)
{
  switch (http->state)
    {
    case LARES_LLM_HTTP_DONE:
      return TRUE;
    case LARES_LLM_HTTP_BODY_EOF:
      http->state = LARES_LLM_HTTP_DONE;
      return TRUE;
    case LARES_LLM_HTTP_HEAD:
      return fail (http, error, "the connection closed before the LLM server's answer was read");
    case LARES_LLM_HTTP_BODY_LENGTH:
      return fail (http, error,
                   "the connection closed %" G_GUINT64_FORMAT " bytes before the end of the body",
                   http->remaining);
    case LARES_LLM_HTTP_FAILED:
      g_set_error_literal (error, LARES_LLM_ERROR, LARES_LLM_ERROR_PROTOCOL,
                           "the LLM server's answer could not be read");
      return FALSE;
    default:
      return fail (http, error, "the connection closed in the middle of a chunked body");
    }
}
