/* lares-http-parse.c — body, message and path parsers.
 *
 * DESIGN: json-glib parses recursively, so a hostile body of a million '['
 * could exhaust the stack; lares_json_depth() refuses deep nesting in one
 * linear pass before the parser sees it.  UTF-8 is checked up front too, so
 * the parser only ever sees valid text.
 */
#include "config.h"

#include "lares-http-parse.h"

unsigned
lares_json_depth (const char *data, size_t len, unsigned limit)
{
  unsigned depth = 0, max = 0;
  gboolean in_string = FALSE;

  for (size_t i = 0; i < len; i++)
    {
      char c = data[i];
      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        {
          if (++depth > max)
            max = depth;
          if (max > limit)
            return max;
        }
      else if ((c == ']' || c == '}') && depth > 0)
        depth--;
    }
  return max;
}

/* Parse @data as JSON after the UTF-8 and depth checks. */
static JsonNode *
parse_json (const char *data, size_t len, const char **code, char **message)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) error = NULL;

  if (!g_utf8_validate_len (data, len, NULL))
    {
      *code = "invalid_utf8";
      *message = g_strdup ("the text is not valid UTF-8");
      return NULL;
    }
  if (lares_json_depth (data, len, LARES_JSON_MAX_DEPTH) > LARES_JSON_MAX_DEPTH)
    {
      *code = "invalid_json";
      *message = g_strdup_printf ("the JSON nests deeper than %d levels", LARES_JSON_MAX_DEPTH);
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

JsonNode *
lares_json_body_parse (const char *data, size_t len, uint64_t max_len, const char **code,
                       char **message)
{
  JsonNode *root;

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
  root = parse_json (data, len, code, message);
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
              if (!g_ascii_isdigit (*p) || v > (uint64_t)(INT64_MAX - 9) / 10)
                {
                  *id_ok = FALSE;
                  break;
                }
              v = v * 10 + (uint64_t)(*p - '0');
            }
          if (end == path || v == 0)
            *id_ok = FALSE;
          *id = *id_ok ? (int64_t)v : 0;
          pattern += 4;
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
