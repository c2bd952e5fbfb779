/* lares-fuzz-json.c — checks on the JSON trees the gateway parsers return. */
#include "config.h"

#include "lares-fuzz-json.h"

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
