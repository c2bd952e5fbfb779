/* fuzz-json-body.c — lares_json_body_parse(), the HTTP request body parser.
 *
 * Checks beyond "no crash": a failure always names a code and a message, a
 * success is always an object whose strings are valid UTF-8, a second
 * call with a cap below the length is always payload_too_large, and the
 * strict reader (lares_json_parse_fast) only ever takes text that
 * json-glib reads into the very same tree.
 */
#include "config.h"

#include "lares-fuzz.h"
#include "lares-fuzz-json.h"
#include "lares-http-parse.h"

#define MAX_BODY (1024 * 1024)

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *code = NULL;
  g_autofree char *message = NULL;
  g_autoptr (JsonNode) root = NULL;

  lares_fuzz_init ();

  /* The strict reader never disagrees with json-glib. */
  (void)lares_fuzz_check_json_fast ((const char *)data, size);

  root = lares_json_body_parse ((const char *)data, size, MAX_BODY, &code, &message);
  if (root == NULL)
    {
      g_assert_nonnull (code);
      g_assert_nonnull (message);
    }
  else
    {
      g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
      g_assert_null (message);
      lares_fuzz_assert_json_utf8 (root, "lares_json_body_parse");
    }

  if (size > 1)
    {
      const char *small_code = NULL;
      g_autofree char *small_message = NULL;
      JsonNode *small =
          lares_json_body_parse ((const char *)data, size, size - 1, &small_code, &small_message);

      g_assert_null (small);
      g_assert_cmpstr (small_code, ==, "payload_too_large");
      g_assert_nonnull (small_message);
    }
  return 0;
}
