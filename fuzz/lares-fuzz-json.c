/* lares-fuzz-json.c — checks on the JSON trees the gateway parsers return. */
#include "config.h"

#include "lares-fuzz-json.h"

#include <string.h>

#include "lares-http-parse.h"

static void
check_string (const char *s, const char *what)
{
  if (!g_utf8_validate (s, -1, NULL))
    {
      g_autofree char *hex = NULL;
      GString *buf = g_string_new (NULL);

      for (const char *p = s; *p != '\0' && buf->len < 96; p++)
        g_string_append_printf (buf, "%02x ", (unsigned)(unsigned char)*p);
      hex = g_string_free (buf, FALSE);
      g_error ("%s returned a string that is not valid UTF-8: %s", what, hex);
    }
}

void
lares_fuzz_assert_json_utf8 (JsonNode *node, const char *what)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *obj = json_node_get_object (node);
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        json_object_iter_init (&iter, obj);
        while (json_object_iter_next (&iter, &name, &member))
          {
            check_string (name, what);
            lares_fuzz_assert_json_utf8 (member, what);
          }
        break;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *arr = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (arr); i++)
          lares_fuzz_assert_json_utf8 (json_array_get_element (arr, i), what);
        break;
      }
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        check_string (json_node_get_string (node), what);
      break;
    case JSON_NODE_NULL:
      break;
    }
}

static void G_GNUC_NORETURN
differ (const char *what, const char *why)
{
  g_error ("%s: the trees differ: %s", what, why);
}

static void
assert_same (JsonNode *a, JsonNode *b, JsonNode *parent_a, JsonNode *parent_b, const char *what)
{
  if (JSON_NODE_TYPE (a) != JSON_NODE_TYPE (b))
    differ (what, "node type");
  if (json_node_get_parent (a) != parent_a || json_node_get_parent (b) != parent_b)
    differ (what, "parent");
  if (!json_node_is_immutable (a) != !json_node_is_immutable (b))
    differ (what, "sealed");
  switch (JSON_NODE_TYPE (a))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *oa = json_node_get_object (a), *ob = json_node_get_object (b);
        g_autoptr (GList) ma = json_object_get_members (oa);
        g_autoptr (GList) mb = json_object_get_members (ob);
        GList *la = ma, *lb = mb;

        if (!json_object_is_immutable (oa) != !json_object_is_immutable (ob))
          differ (what, "object sealed");
        if (json_object_get_size (oa) != json_object_get_size (ob))
          differ (what, "object size");
        for (; la != NULL && lb != NULL; la = la->next, lb = lb->next)
          {
            if (strcmp (la->data, lb->data) != 0)
              differ (what, "member names or order");
            assert_same (json_object_get_member (oa, la->data),
                         json_object_get_member (ob, lb->data), a, b, what);
          }
        if (la != NULL || lb != NULL)
          differ (what, "member count");
        break;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *aa = json_node_get_array (a), *ab = json_node_get_array (b);

        if (!json_array_is_immutable (aa) != !json_array_is_immutable (ab))
          differ (what, "array sealed");
        if (json_array_get_length (aa) != json_array_get_length (ab))
          differ (what, "array length");
        for (guint i = 0; i < json_array_get_length (aa); i++)
          assert_same (json_array_get_element (aa, i), json_array_get_element (ab, i), a, b, what);
        break;
      }
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (a) != json_node_get_value_type (b))
        differ (what, "value type");
      switch (json_node_get_value_type (a))
        {
        case G_TYPE_INT64:
          if (json_node_get_int (a) != json_node_get_int (b))
            differ (what, "integer");
          break;
        case G_TYPE_DOUBLE:
          {
            double da = json_node_get_double (a), db = json_node_get_double (b);

            if (memcmp (&da, &db, sizeof da) != 0)
              differ (what, "double");
            break;
          }
        case G_TYPE_BOOLEAN:
          if (json_node_get_boolean (a) != json_node_get_boolean (b))
            differ (what, "boolean");
          break;
        case G_TYPE_STRING:
          if (strcmp (json_node_get_string (a), json_node_get_string (b)) != 0)
            differ (what, "string");
          break;
        default:
          differ (what, "unexpected value type");
        }
      break;
    case JSON_NODE_NULL:
      break;
    }
}

void
lares_fuzz_assert_json_same (JsonNode *a, JsonNode *b, const char *what)
{
  assert_same (a, b, NULL, NULL, what);
}

gboolean
lares_fuzz_check_json_fast (const char *data, size_t len)
{
  g_autoptr (JsonNode) fast = lares_json_parse_fast (data, len);
  g_autoptr (JsonNode) general = NULL;
  g_autofree char *message = NULL;
  const char *code = NULL;

  if (fast == NULL)
    return FALSE;
  general = lares_json_parse_general (data, len, &code, &message);
  if (general == NULL)
    g_error ("lares_json_parse_fast took text the general path refuses (%s: %s)", code, message);
  lares_fuzz_assert_json_same (fast, general, "lares_json_parse_fast");
  return TRUE;
}
