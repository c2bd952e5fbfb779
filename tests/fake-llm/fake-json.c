/* fake-json.c — a one-pass JSON checker for the fake LLM's request bodies
 * (fake-json.h).
 *
 * DESIGN
 * - Recursive descent over the bytes, no allocation: strings are checked
 *   (escapes, no control characters, valid UTF-8) but not decoded; only a
 *   member name holding an escape is decoded, to compare it.  Nesting
 *   deeper than MAX_DEPTH is refused rather than risking the stack.
 * - The facts are taken while scanning: "model", "stream" and
 *   "stream_options" at depth 1, "include_usage" inside that object.  A
 *   later duplicate overwrites an earlier one, as json-glib's objects do.
 */
#include "config.h"

#include "fake-json.h"

#include <string.h>

#define MAX_DEPTH 512

typedef enum
{
  ROLE_NONE, /* nothing to take from this object */
  ROLE_TOP,  /* the request object */
  ROLE_OPTS, /* its "stream_options" */
} Role;

typedef enum
{
  V_FAIL = 0,
  V_OBJECT,
  V_ARRAY,
  V_STRING,
  V_NUMBER,
  V_TRUE,
  V_FALSE,
  V_NULL,
} Value;

typedef struct
{
  const unsigned char *p, *end;
  unsigned depth;
  FakeJsonFacts *facts; /* nullable */
  /* The last string scanned: its bytes between the quotes. */
  const char *str;
  size_t str_len;
  gboolean str_escaped;
} Scan;

static Value scan_value (Scan *s, Role role);

static inline gboolean
is_space (unsigned char c)
{
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static void
skip_space (Scan *s)
{
  if (s->p < s->end && is_space (*s->p))
    {
      if (s->facts)
        s->facts->spaced = TRUE;
      do
        s->p++;
      while (s->p < s->end && is_space (*s->p));
    }
}

static inline int
hex_value (unsigned char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20;
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The length of the UTF-8 sequence at @p (its lead byte ≥ 0x80), or 0 if
 * it is not a valid one (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
static size_t
utf8_sequence (const unsigned char *p, const unsigned char *end)
{
  unsigned char c = *p, lo = 0x80, hi = 0xbf;
  size_t n;

  if (c >= 0xc2 && c <= 0xdf)
    n = 2;
  else if (c >= 0xe0 && c <= 0xef)
    {
      n = 3;
      if (c == 0xe0)
        lo = 0xa0;
      else if (c == 0xed)
        hi = 0x9f;
    }
  else if (c >= 0xf0 && c <= 0xf4)
    {
      n = 4;
      if (c == 0xf0)
        lo = 0x90;
      else if (c == 0xf4)
        hi = 0x8f;
    }
  else
    return 0;
  if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xbf)
      return 0;
  return n;
}

/* Bytes that stand for themselves in a JSON string: printable ASCII but
 * the quote and the backslash. */
static const unsigned char plain[256] = {
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */
  1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 20 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 30 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 40 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 50 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 60 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 70 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 80 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 90 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* a0 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* b0 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* c0 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* d0 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* e0 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* f0 */
};

/* At an opening quote: check the string, remember its span in @s. */
static gboolean
scan_string (Scan *s)
{
  const unsigned char *p = s->p + 1, *end = s->end;
  gboolean escaped = FALSE;

  for (;;)
    {
      /* The common run: printable ASCII that needs no second look. */
      while (p < end && plain[*p])
        p++;
      if (p >= end || *p < 0x20)
        return FALSE;
      if (*p == '"')
        break;
      if (*p == '\\')
        {
          escaped = TRUE;
          if (++p >= end)
            return FALSE;
          switch (*p)
            {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
              p++;
              break;
            case 'u':
              if (end - p < 5 || hex_value (p[1]) < 0 || hex_value (p[2]) < 0 ||
                  hex_value (p[3]) < 0 || hex_value (p[4]) < 0)
                return FALSE;
              p += 5;
              break;
            default:
              return FALSE;
            }
          continue;
        }
      {
        size_t n = utf8_sequence (p, end);

        if (n == 0)
          return FALSE;
        p += n;
      }
    }
  s->str = (const char *)s->p + 1;
  s->str_len = (size_t)(p - s->p - 1);
  s->str_escaped = escaped;
  s->p = p + 1;
  return TRUE;
}

static gboolean
scan_number (Scan *s)
{
  const unsigned char *p = s->p, *end = s->end;

#define DIGIT(q) ((q) < end && *(q) >= '0' && *(q) <= '9')
  if (p < end && *p == '-')
    p++;
  if (p < end && *p == '0')
    p++;
  else if (DIGIT (p))
    while (DIGIT (p))
      p++;
  else
    return FALSE;
  if (p < end && *p == '.')
    {
      p++;
      if (!DIGIT (p))
        return FALSE;
      while (DIGIT (p))
        p++;
    }
  if (p < end && (*p == 'e' || *p == 'E'))
    {
      p++;
      if (p < end && (*p == '+' || *p == '-'))
        p++;
      if (!DIGIT (p))
        return FALSE;
      while (DIGIT (p))
        p++;
    }
#undef DIGIT
  s->p = p;
  return TRUE;
}

static gboolean
scan_literal (Scan *s, const char *word, size_t len)
{
  if ((size_t)(s->end - s->p) < len || memcmp (s->p, word, len) != 0)
    return FALSE;
  s->p += len;
  return TRUE;
}

/* Does the member name the last scan_string saw equal @name? */
static gboolean
key_is (const Scan *s, const char *name)
{
  size_t len = strlen (name);
  g_autoptr (GString) decoded = NULL;

  if (!s->str_escaped)
    return s->str_len == len && memcmp (s->str, name, len) == 0;
  decoded = g_string_new (NULL);
  /* fake_json_append_span quotes and re-escapes; compare against that. */
  fake_json_append_span (decoded, s->str, s->str_len, TRUE);
  return decoded->len == len + 2 && memcmp (decoded->str + 1, name, len) == 0;
}

typedef enum
{
  KEY_OTHER,
  KEY_MODEL,
  KEY_STREAM,
  KEY_OPTIONS,
  KEY_INCLUDE_USAGE,
} Key;

static Value
scan_object (Scan *s, Role role)
{
  s->p++; /* { */
  skip_space (s);
  if (s->p < s->end && *s->p == '}')
    {
      s->p++;
      return V_OBJECT;
    }
  for (;;)
    {
      Key key = KEY_OTHER;
      Role inner = ROLE_NONE;
      Value v;

      if (s->p >= s->end || *s->p != '"' || !scan_string (s))
        return V_FAIL;
      if (role == ROLE_TOP)
        {
          if (key_is (s, "model"))
            key = KEY_MODEL;
          else if (key_is (s, "stream"))
            key = KEY_STREAM;
          else if (key_is (s, "stream_options"))
            {
              key = KEY_OPTIONS;
              inner = ROLE_OPTS;
              s->facts->include_usage = FALSE;
            }
        }
      else if (role == ROLE_OPTS && key_is (s, "include_usage"))
        key = KEY_INCLUDE_USAGE;
      skip_space (s);
      if (s->p >= s->end || *s->p != ':')
        return V_FAIL;
      s->p++;
      skip_space (s);
      v = scan_value (s, inner);
      if (v == V_FAIL)
        return V_FAIL;
      switch (key)
        {
        case KEY_MODEL:
          s->facts->model = v == V_STRING ? s->str : NULL;
          s->facts->model_len = v == V_STRING ? s->str_len : 0;
          s->facts->model_escaped = v == V_STRING && s->str_escaped;
          break;
        case KEY_STREAM:
          s->facts->stream = v == V_TRUE ? 1 : v == V_FALSE ? 0 : -1;
          break;
        case KEY_INCLUDE_USAGE:
          s->facts->include_usage = v == V_TRUE;
          break;
        case KEY_OPTIONS:
          if (v != V_OBJECT)
            s->facts->include_usage = FALSE;
          break;
        case KEY_OTHER:
          break;
        }
      skip_space (s);
      if (s->p >= s->end)
        return V_FAIL;
      if (*s->p == '}')
        {
          s->p++;
          return V_OBJECT;
        }
      if (*s->p != ',')
        return V_FAIL;
      s->p++;
      skip_space (s);
    }
}

static Value
scan_array (Scan *s)
{
  s->p++; /* [ */
  skip_space (s);
  if (s->p < s->end && *s->p == ']')
    {
      s->p++;
      return V_ARRAY;
    }
  for (;;)
    {
      if (scan_value (s, ROLE_NONE) == V_FAIL)
        return V_FAIL;
      skip_space (s);
      if (s->p >= s->end)
        return V_FAIL;
      if (*s->p == ']')
        {
          s->p++;
          return V_ARRAY;
        }
      if (*s->p != ',')
        return V_FAIL;
      s->p++;
      skip_space (s);
    }
}

/* At the first byte of a value (no whitespace before it). */
static Value
scan_value (Scan *s, Role role)
{
  Value v;

  if (s->p >= s->end)
    return V_FAIL;
  switch (*s->p)
    {
    case '{':
    case '[':
      if (++s->depth > MAX_DEPTH)
        return V_FAIL;
      v = *s->p == '{' ? scan_object (s, role) : scan_array (s);
      s->depth--;
      return v;
    case '"':
      return scan_string (s) ? V_STRING : V_FAIL;
    case 't':
      return scan_literal (s, "true", 4) ? V_TRUE : V_FAIL;
    case 'f':
      return scan_literal (s, "false", 5) ? V_FALSE : V_FAIL;
    case 'n':
      return scan_literal (s, "null", 4) ? V_NULL : V_FAIL;
    default:
      return scan_number (s) ? V_NUMBER : V_FAIL;
    }
}

gboolean
fake_json_scan_object (const char *data, size_t len, FakeJsonFacts *facts)
{
  Scan s = {
    (const unsigned char *)data, (const unsigned char *)data + len, 0, facts, NULL, 0, FALSE
  };
  Value v;

  memset (facts, 0, sizeof *facts);
  facts->stream = -1;
  skip_space (&s);
  if (s.p >= s.end || *s.p != '{')
    return FALSE;
  v = scan_value (&s, ROLE_TOP);
  skip_space (&s);
  return v == V_OBJECT && s.p == s.end;
}

gboolean
fake_json_valid (const char *str)
{
  Scan s = {
    (const unsigned char *)str, (const unsigned char *)str + strlen (str), 0, NULL, NULL, 0, FALSE
  };
  Value v;

  skip_space (&s);
  v = scan_value (&s, ROLE_NONE);
  skip_space (&s);
  return v != V_FAIL && s.p == s.end;
}

void
fake_json_append_minified (GString *out, const char *data, size_t len)
{
  const char *p = data, *end = data + len, *run = data;

  while (p < end)
    {
      if (*p == '"')
        {
          for (p++; p < end && *p != '"'; p++)
            if (*p == '\\')
              p++;
          p++;
          continue;
        }
      if (!is_space ((unsigned char)*p))
        {
          p++;
          continue;
        }
      g_string_append_len (out, run, p - run);
      while (p < end && is_space ((unsigned char)*p))
        p++;
      run = p;
    }
  if (end > run)
    g_string_append_len (out, run, end - run);
}

void
fake_json_append_string (GString *out, const char *s)
{
  const char *run = s;

  g_string_append_c (out, '"');
  for (; *s; s++)
    {
      unsigned char c = (unsigned char)*s;
      const char *esc;

      if (c >= 0x20 && c != '"' && c != '\\')
        continue;
      g_string_append_len (out, run, s - run);
      run = s + 1;
      switch (c)
        {
        case '"':
          esc = "\\\"";
          break;
        case '\\':
          esc = "\\\\";
          break;
        case '\n':
          esc = "\\n";
          break;
        case '\r':
          esc = "\\r";
          break;
        case '\t':
          esc = "\\t";
          break;
        default:
          g_string_append_printf (out, "\\u%04x", c);
          continue;
        }
      g_string_append (out, esc);
    }
  g_string_append_len (out, run, s - run);
  g_string_append_c (out, '"');
}

static unsigned
hex4 (const char *p)
{
  return (unsigned)(hex_value ((unsigned char)p[0]) << 12 | hex_value ((unsigned char)p[1]) << 8 |
                    hex_value ((unsigned char)p[2]) << 4 | hex_value ((unsigned char)p[3]));
}

void
fake_json_append_span (GString *out, const char *span, size_t len, gboolean escaped)
{
  g_autoptr (GString) text = NULL;
  const char *p = span, *end = span + len;

  if (!escaped)
    {
      /* A checked string without escapes holds nothing to escape. */
      g_string_append_c (out, '"');
      g_string_append_len (out, span, len);
      g_string_append_c (out, '"');
      return;
    }
  text = g_string_sized_new (len);
  while (p < end)
    {
      gunichar u;

      if (*p != '\\')
        {
          g_string_append_c (text, *p++);
          continue;
        }
      p++;
      switch (*p++)
        {
        case 'b':
          g_string_append_c (text, '\b');
          continue;
        case 'f':
          g_string_append_c (text, '\f');
          continue;
        case 'n':
          g_string_append_c (text, '\n');
          continue;
        case 'r':
          g_string_append_c (text, '\r');
          continue;
        case 't':
          g_string_append_c (text, '\t');
          continue;
        case 'u':
          break;
        default: /* " \ / */
          g_string_append_c (text, p[-1]);
          continue;
        }
      u = hex4 (p);
      p += 4;
      if (u >= 0xd800 && u <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u')
        {
          unsigned lo = hex4 (p + 2);

          if (lo >= 0xdc00 && lo <= 0xdfff)
            {
              u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
              p += 6;
            }
        }
      if (u >= 0xd800 && u <= 0xdfff)
        u = 0xfffd; /* a lone surrogate */
      if (u == 0)
        break; /* a C string ends here */
      g_string_append_unichar (text, u);
    }
  fake_json_append_string (out, text->str);
}
