/* lares-http-json.c — a strict JSON reader for request bodies and
 * WebSocket messages.
 *
 * DESIGN
 * - The general path (lares-http-parse.c: UTF-8 check, lares_json_prescan,
 *   json-glib's JsonParser) costs ~40,000 instructions for a 120-byte chat
 *   request: a GObject, a scanner, a signal emission per member.  This
 *   reader builds the same JsonNode tree directly, in one pass, for the
 *   inputs that are plainly valid, and answers NULL for everything else;
 *   the caller then runs the general path, which gives the same answer as
 *   before, errors and messages included.  So the reader never has to say
 *   why it refused, and it may refuse more than it must.
 * - What it accepts, it must accept exactly as the general path would:
 *   valid UTF-8 throughout, and nothing lares_json_prescan refuses (nesting
 *   deeper than LARES_JSON_MAX_DEPTH, \u0000, lone surrogates, escapes JSON
 *   does not have, a second top-level value); and json-glib must build the
 *   same tree from it.  It therefore takes only RFC 8259 text (json-glib
 *   also reads comments, leading zeros, "- 1", ".5", a BOM…) and, within
 *   that, refuses what it would have to imitate json-glib to get right:
 *   integers of more than 18 digits (json-glib wraps them around), numbers
 *   strtod reports out of range, and a member name given twice.
 * - The tree is what json_parser_new_immutable() returns: integers are
 *   gint64 and numbers with a fraction or exponent are doubles (from
 *   g_ascii_strtod, as json-glib's scanner does; the sign is applied after,
 *   as json-glib does, so "-0" is the integer 0 and "-0.0" is -0.0),
 *   children point to their parent node, members keep their order, and the
 *   whole tree is sealed.
 * - Both claims are checked by comparing the two paths: on tables and
 *   random documents in tests/unit/test-http-json.c, and on every input
 *   of the json-body and ws-message fuzz targets.
 * - Recursion is bounded by LARES_JSON_MAX_DEPTH; no global state.
 */
#include "config.h"

#include <errno.h>
#include <math.h>

#include "lares-http-parse.h"

typedef struct
{
  const char *p;   /* next byte to read */
  const char *end; /* one past the last byte */
  unsigned depth;  /* containers open */
  GString *text;   /* a string value, unescaped */
  GString *name;   /* a member name, unescaped; a container value reads its own */
} Reader;

static JsonNode *read_value (Reader *r);

static void
skip_space (Reader *r)
{
  /* RFC 8259 §2: the only four whitespace bytes. */
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
    r->p++;
}

/* Read the string at r->p (its opening quote) into @out.  RFC 8259 §7,
 * less what lares_json_prescan refuses: \u0000 and unpaired surrogates. */
static gboolean
read_string (Reader *r, GString *out)
{
  const char *p = r->p + 1;

  g_string_truncate (out, 0);
  for (;;)
    {
      const char *run = p;
      unsigned char high = 0;
      int u;

      while (p < r->end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
        high |= (unsigned char)*p++;
      /* A run ends only at ASCII bytes, so a UTF-8 sequence is never split. */
      if ((high & 0x80) && !g_utf8_validate_len (run, (size_t)(p - run), NULL))
        return FALSE;
      g_string_append_len (out, run, p - run);
      if (p == r->end || (unsigned char)*p < 0x20)
        return FALSE; /* unterminated, or a raw control character */
      if (*p == '"')
        {
          r->p = p + 1;
          return TRUE;
        }
      if (++p == r->end)
        return FALSE;
      switch (*p++)
        {
        case '"':
          g_string_append_c (out, '"');
          continue;
        case '\\':
          g_string_append_c (out, '\\');
          continue;
        case '/':
          g_string_append_c (out, '/');
          continue;
        case 'b':
          g_string_append_c (out, '\b');
          continue;
        case 'f':
          g_string_append_c (out, '\f');
          continue;
        case 'n':
          g_string_append_c (out, '\n');
          continue;
        case 'r':
          g_string_append_c (out, '\r');
          continue;
        case 't':
          g_string_append_c (out, '\t');
          continue;
        case 'u':
          break;
        default:
          return FALSE;
        }
      u = lares_json_hex4 (p, r->end);
      if (u <= 0 || (u >= 0xDC00 && u <= 0xDFFF))
        return FALSE; /* malformed, \u0000, or a lone low surrogate */
      p += 4;
      if (u >= 0xD800 && u <= 0xDBFF)
        {
          int low = (r->end - p >= 6 && p[0] == '\\' && p[1] == 'u')
                        ? lares_json_hex4 (p + 2, r->end)
                        : -1;

          if (low < 0xDC00 || low > 0xDFFF)
            return FALSE;
          p += 6;
          u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
        }
      g_string_append_unichar (out, (gunichar)u);
    }
}

/* RFC 8259 §6. */
static JsonNode *
read_number (Reader *r)
{
  const char *p = r->p, *digits, *frac;
  gboolean negative = FALSE, is_double = FALSE;
  JsonNode *node;

  if (*p == '-')
    {
      negative = TRUE;
      p++;
    }
  digits = p;
  if (p < r->end && *p == '0')
    p++;
  else if (p < r->end && *p >= '1' && *p <= '9')
    while (p < r->end && g_ascii_isdigit (*p))
      p++;
  else
    return NULL;
  if (p < r->end && *p == '.')
    {
      is_double = TRUE;
      frac = ++p;
      while (p < r->end && g_ascii_isdigit (*p))
        p++;
      if (p == frac)
        return NULL;
    }
  if (p < r->end && (*p == 'e' || *p == 'E'))
    {
      is_double = TRUE;
      p++;
      if (p < r->end && (*p == '+' || *p == '-'))
        p++;
      frac = p;
      while (p < r->end && g_ascii_isdigit (*p))
        p++;
      if (p == frac)
        return NULL;
    }

  if (!is_double)
    {
      int64_t v = 0;

      /* 18 digits cannot overflow; json-glib wraps longer ones around. */
      if (p - digits > 18)
        return NULL;
      for (const char *d = digits; d < p; d++)
        v = v * 10 + (*d - '0');
      node = json_node_alloc ();
      json_node_init_int (node, negative ? -v : v);
    }
  else
    {
      char text[64];
      char *text_end = NULL;
      size_t n = (size_t)(p - digits);
      double v;

      if (n >= sizeof text)
        return NULL;
      memcpy (text, digits, n);
      text[n] = '\0';
      errno = 0;
      v = g_ascii_strtod (text, &text_end);
      if (text_end != text + n || errno == ERANGE || !isfinite (v))
        return NULL;
      node = json_node_alloc ();
      json_node_init_double (node, negative ? -v : v);
    }
  r->p = p;
  return node;
}

/* Just inside a container: TRUE, and past it, when @close follows (an
 * empty array or object). */
static gboolean
container_end (Reader *r, char close)
{
  skip_space (r);
  if (r->p < r->end && *r->p == close)
    {
      r->p++;
      r->depth--;
      return TRUE;
    }
  return FALSE;
}

/* After an element or member: 1 past a ',' (another follows), 0 past
 * @close (the container ended), -1 for anything else. */
static int
container_next (Reader *r, char close)
{
  skip_space (r);
  if (r->p == r->end)
    return -1;
  if (*r->p == ',')
    {
      r->p++;
      return 1;
    }
  if (*r->p != close)
    return -1;
  r->p++;
  r->depth--;
  return 0;
}

static JsonNode *
read_array (Reader *r)
{
  JsonNode *node;
  JsonArray *array;

  if (++r->depth > LARES_JSON_MAX_DEPTH)
    return NULL;
  r->p++; /* [ */
  array = json_array_new ();
  node = json_node_alloc ();
  json_node_init_array (node, array);
  json_array_unref (array);
  if (container_end (r, ']'))
    return node;
  for (;;)
    {
      JsonNode *element;
      int next;

      skip_space (r);
      element = read_value (r);
      if (element == NULL)
        break;
      json_array_add_element (array, element);
      json_node_set_parent (element, node);
      next = container_next (r, ']');
      if (next > 0)
        continue;
      if (next == 0)
        return node;
      break;
    }
  json_node_unref (node);
  return NULL;
}

static JsonNode *
read_object (Reader *r)
{
  JsonNode *node;
  JsonObject *object;

  if (++r->depth > LARES_JSON_MAX_DEPTH)
    return NULL;
  r->p++; /* { */
  object = json_object_new ();
  node = json_node_alloc ();
  json_node_init_object (node, object);
  json_object_unref (object);
  if (container_end (r, '}'))
    return node;
  for (;;)
    {
      g_autofree char *nested_name = NULL;
      const char *name;
      JsonNode *member;
      int next;

      skip_space (r);
      if (r->p == r->end || *r->p != '"' || !read_string (r, r->name))
        break;
      /* A second member of the same name: left to json-glib's rules. */
      if (json_object_has_member (object, r->name->str))
        break;
      skip_space (r);
      if (r->p == r->end || *r->p != ':')
        break;
      r->p++;
      skip_space (r);
      /* A container value reads names of its own into r->name. */
      if (r->p < r->end && (*r->p == '{' || *r->p == '['))
        name = nested_name = g_strdup (r->name->str);
      else
        name = r->name->str;
      member = read_value (r);
      if (member == NULL)
        break;
      json_object_set_member (object, name, member);
      json_node_set_parent (member, node);
      next = container_next (r, '}');
      if (next > 0)
        continue;
      if (next == 0)
        return node;
      break;
    }
  json_node_unref (node);
  return NULL;
}

/* The value at r->p (no space before it). */
static JsonNode *
read_value (Reader *r)
{
  JsonNode *node;
  size_t left = (size_t)(r->end - r->p);

  if (left == 0)
    return NULL;
  switch (*r->p)
    {
    case '{':
      return read_object (r);
    case '[':
      return read_array (r);
    case '"':
      if (!read_string (r, r->text))
        return NULL;
      node = json_node_alloc ();
      return json_node_init_string (node, r->text->str);
    case 't':
      if (left < 4 || memcmp (r->p, "true", 4) != 0)
        return NULL;
      r->p += 4;
      node = json_node_alloc ();
      return json_node_init_boolean (node, TRUE);
    case 'f':
      if (left < 5 || memcmp (r->p, "false", 5) != 0)
        return NULL;
      r->p += 5;
      node = json_node_alloc ();
      return json_node_init_boolean (node, FALSE);
    case 'n':
      if (left < 4 || memcmp (r->p, "null", 4) != 0)
        return NULL;
      r->p += 4;
      node = json_node_alloc ();
      return json_node_init_null (node);
    default:
      return read_number (r);
    }
}

JsonNode *
lares_json_parse_fast (const char *data, size_t len)
{
  g_autoptr (GString) text = g_string_sized_new (128);
  g_autoptr (GString) name = g_string_sized_new (32);
  Reader r = { data, data + len, 0, text, name };
  JsonNode *root;

  skip_space (&r);
  root = read_value (&r);
  if (root == NULL)
    return NULL;
  skip_space (&r);
  if (r.p != r.end)
    {
      json_node_unref (root);
      return NULL;
    }
  json_node_seal (root);
  return root;
}
