/* lares-http-parse.c — body, message and path parsers.
 *
 * DESIGN: json-glib parses recursively, so a hostile body of a million '['
 * could exhaust the stack; and it expands \u escapes without checking them,
 * so valid UTF-8 in can become invalid UTF-8 out (a lone surrogate, a short
 * escape, an octal escape such as \603, which JSON does not even have) or a
 * string cut short (\u0000).  lares_json_prescan() refuses all of these in
 * one linear pass before the parser sees the text, after UTF-8 has been
 * checked, so every string the parser returns is valid UTF-8.
 *
 * Most bodies never reach json-glib: lares_json_parse_fast
 * (lares-http-json.c) reads plainly valid JSON into the same tree at a
 * fraction of the cost and leaves everything else, errors included, to the
 * path above.
 */
#include "config.h"

#include "lares-http-parse.h"

#include <arpa/inet.h>

int
lares_json_hex4 (const char *p, const char *end)
{
  int v = 0;

  if (end - p < 4)
    return -1;
  for (int k = 0; k < 4; k++)
    {
      int h = g_ascii_xdigit_value (p[k]);
      if (h < 0)
        return -1;
      v = v * 16 + h;
    }
  return v;
}

gboolean
lares_json_prescan (const char *data, size_t len, unsigned max_depth, const char **why)
{
  const char *p = data, *end = data + len;
  unsigned depth = 0;
  gboolean in_string = FALSE, seen_value = FALSE;

  while (p < end)
    {
      char c = *p++;

      if (!in_string)
        {
          /* A second top-level value that is a container makes json-glib
           * 1.6 leak the first one (and is never valid): refuse it here. */
          if (depth == 0 && !g_ascii_isspace (c))
            {
              if ((c == '[' || c == '{') && seen_value)
                {
                  *why = "more than one JSON value";
                  return FALSE;
                }
              seen_value = TRUE;
            }
          if (c == '"')
            in_string = TRUE;
          else if (c == '[' || c == '{')
            {
              if (++depth > max_depth)
                {
                  *why = "the JSON nests too deeply";
                  return FALSE;
                }
            }
          else if ((c == ']' || c == '}') && depth > 0)
            depth--;
          continue;
        }
      if (c == '"')
        in_string = FALSE;
      else if (c != '\\')
        continue;
      else if (p == end)
        break; /* truncated: the parser reports it */
      else if (*p != 'u')
        {
          /* RFC 8259 §7 has these escapes only; json-glib 1.6 also reads
           * octal ones (\603) into bytes that are not UTF-8. */
          if (strchr ("\"\\/bfnrt", *p) == NULL || *p == '\0')
            {
              *why = "a string has an escape JSON does not have";
              return FALSE;
            }
          p++;
        }
      else
        {
          /* json-glib turns bad \u escapes into invalid UTF-8 or cuts the
           * string at \u0000 (RFC 8259 §7 allows the code points, but we
           * store and forward text, so they are refused). */
          int u = lares_json_hex4 (p + 1, end);
          if (u < 0)
            {
              *why = "a \\u escape needs four hex digits";
              return FALSE;
            }
          p += 5;
          if (u == 0)
            {
              *why = "a string holds \\u0000";
              return FALSE;
            }
          if (u >= 0xDC00 && u <= 0xDFFF)
            {
              *why = "a string holds a lone low surrogate";
              return FALSE;
            }
          if (u >= 0xD800 && u <= 0xDBFF)
            {
              int low =
                  (end - p >= 2 && p[0] == '\\' && p[1] == 'u') ? lares_json_hex4 (p + 2, end) : -1;
              if (low < 0xDC00 || low > 0xDFFF)
                {
                  *why = "a string holds a lone high surrogate";
                  return FALSE;
                }
              p += 6;
            }
        }
    }
  return TRUE;
}

JsonNode *
lares_json_parse_general (const char *data, size_t len, const char **code, char **message)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) error = NULL;
  const char *why = NULL;

  if (!g_utf8_validate_len (data, len, NULL))
    {
      *code = "invalid_utf8";
      *message = g_strdup ("the text is not valid UTF-8");
      return NULL;
    }
  if (!lares_json_prescan (data, len, LARES_JSON_MAX_DEPTH, &why))
    {
      *code = "invalid_json";
      *message = g_strdup (why);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data, (gssize)len, &error))
    {
      *code = "invalid_json";
      *message = g_strdup_printf ("not valid JSON: %s", error->message);
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL)
    {
      *code = "invalid_json";
      *message = g_strdup ("no JSON value");
      return NULL;
    }
  return json_parser_steal_root (parser);
}

/* Plainly valid text takes the strict reader (lares-http-json.c); the rest,
 * and with it every error message, the general path. */
static JsonNode *
parse_json (const char *data, size_t len, const char **code, char **message)
{
  JsonNode *root = lares_json_parse_fast (data, len);

  if (root != NULL)
    return root;
  return lares_json_parse_general (data, len, code, message);
}

JsonNode *
lares_json_value_parse (const char *data, size_t len, uint64_t max_len, const char **code,
                        char **message)
{
  *message = NULL;
  if (len == 0)
    {
      *code = "invalid_json";
      *message = g_strdup ("the request body is empty");
      return NULL;
    }
  if (len > max_len)
    {
      *code = "payload_too_large";
      *message =
          g_strdup_printf ("the request body is larger than %" G_GUINT64_FORMAT " bytes", max_len);
      return NULL;
    }
  return parse_json (data, len, code, message);
}

JsonNode *
lares_json_body_parse (const char *data, size_t len, uint64_t max_len, const char **code,
                       char **message)
{
  JsonNode *root = lares_json_value_parse (data, len, max_len, code, message);

  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      json_node_unref (root);
      *code = "invalid_json";
      *message = g_strdup ("the body must be a JSON object");
      return NULL;
    }
  return root;
}

JsonNode *
lares_ws_message_parse (const char *data, size_t len, const char **type, const char **code)
{
  g_autofree char *message = NULL;
  JsonNode *root, *member;
  JsonObject *obj;

  *type = NULL;
  if (len == 0 || (root = parse_json (data, len, code, &message)) == NULL)
    {
      *code = "invalid_json";
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      json_node_unref (root);
      *code = "invalid_message";
      return NULL;
    }
  obj = json_node_get_object (root);
  member = json_object_get_member (obj, "type");
  if (member == NULL || !JSON_NODE_HOLDS_VALUE (member) ||
      json_node_get_value_type (member) != G_TYPE_STRING)
    {
      json_node_unref (root);
      *code = "invalid_message";
      return NULL;
    }
  *type = json_node_get_string (member);
  return root;
}

gboolean
lares_route_match (const char *pattern, const char *path, int64_t *id, gboolean *id_ok)
{
  *id_ok = TRUE;
  while (*pattern && *path)
    {
      if (g_str_has_prefix (pattern, "{id}"))
        {
          const char *end = path;
          uint64_t v = 0;

          while (*end && *end != '/')
            end++;
          for (const char *p = path; p < end; p++)
            {
              uint64_t d = (uint64_t)(*p - '0');
              if (!g_ascii_isdigit (*p) || v > ((uint64_t)INT64_MAX - d) / 10)
                {
                  *id_ok = FALSE;
                  break;
                }
              v = v * 10 + d;
            }
          if (end == path || v == 0)
            *id_ok = FALSE;
          *id = *id_ok ? (int64_t)v : 0;
          pattern += 4;
          path = end;
          continue;
        }
      if (g_str_has_prefix (pattern, "{name}"))
        {
          const char *end = path;

          while (*end && *end != '/' &&
                 (g_ascii_isalnum (*end) || *end == '.' || *end == '_' || *end == '-'))
            end++;
          if (end == path || end - path > LARES_ROUTE_NAME_MAX || (*end && *end != '/'))
            return FALSE;
          pattern += 6;
          path = end;
          continue;
        }
      if (*pattern != *path)
        return FALSE;
      pattern++;
      path++;
    }
  return *pattern == '\0' && *path == '\0';
}

gboolean
lares_json_get_strings (JsonObject *obj, const char *const *allowed, const char *const *required,
                        const char **out, char **why)
{
  g_autoptr (GList) members = json_object_get_members (obj);

  for (GList *l = members; l; l = l->next)
    if (!g_strv_contains (allowed, l->data))
      {
        g_autofree char *shown = g_strescape (l->data, NULL);
        *why = g_strdup_printf ("unknown field '%s'", shown);
        return FALSE;
      }
  for (size_t i = 0; allowed[i]; i++)
    {
      JsonNode *node = json_object_get_member (obj, allowed[i]);

      out[i] = NULL;
      if (node == NULL || JSON_NODE_HOLDS_NULL (node))
        {
          if (required && g_strv_contains (required, allowed[i]))
            {
              *why = g_strdup_printf ("'%s' is required", allowed[i]);
              return FALSE;
            }
          continue;
        }
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        {
          *why = g_strdup_printf ("'%s' must be a string", allowed[i]);
          return FALSE;
        }
      out[i] = json_node_get_string (node);
    }
  return TRUE;
}

void
lares_inet_address_format (GInetAddress *addr, char out[LARES_ADDRESS_TEXT_MAX])
{
  const uint8_t *b = g_inet_address_to_bytes (addr);
  char *p = out;

  if (g_inet_address_get_family (addr) != G_SOCKET_FAMILY_IPV4)
    {
      if (inet_ntop (AF_INET6, b, out, LARES_ADDRESS_TEXT_MAX) == NULL)
        out[0] = '\0';
      return;
    }
  /* A dotted quad by hand: glibc's inet_ntop formats it with sprintf. */
  for (int i = 0; i < 4; i++)
    {
      unsigned v = b[i];

      if (i > 0)
        *p++ = '.';
      if (v >= 100)
        *p++ = (char)('0' + v / 100);
      if (v >= 10)
        *p++ = (char)('0' + v / 10 % 10);
      *p++ = (char)('0' + v % 10);
    }
  *p = '\0';
}
