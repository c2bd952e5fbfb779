/* fuzz-ws-message.c — lares_ws_message_parse(), one WebSocket text message.
 *
 * Checks beyond "no crash": a success has a string "type" that points into
 * the returned tree and valid UTF-8 throughout; a failure names a code and
 * leaves *type NULL.
 */
#include "config.h"

#include "lares-fuzz.h"
#include "lares-fuzz-json.h"
#include "lares-http-parse.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *type = "unset", *code = NULL;
  g_autoptr (JsonNode) root = NULL;

  lares_fuzz_init ();

  /* The strict reader never disagrees with json-glib. */
  (void)lares_fuzz_check_json_fast ((const char *)data, size);

  root = lares_ws_message_parse ((const char *)data, size, &type, &code);
  if (root == NULL)
    {
      g_assert_null (type);
      g_assert_true (g_strcmp0 (code, "invalid_json") == 0 ||
                     g_strcmp0 (code, "invalid_message") == 0);
      return 0;
    }
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  g_assert_nonnull (type);
  g_assert_true (type == json_object_get_string_member (json_node_get_object (root), "type"));
  lares_fuzz_assert_json_utf8 (root, "lares_ws_message_parse");
  return 0;
}
