/* fuzz-login-body.c — a login request body, as the login route reads it:
 * lares_json_body_parse() then lares_json_get_strings() with the login
 * fields.
 *
 * Checks: on success both fields are valid UTF-8 strings; on failure there
 * is a reason, and it is valid UTF-8 (it is sent back to the client).
 */
#include "config.h"

#include "lares-fuzz.h"
#include "lares-http-parse.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const fields[] = { "username", "password", NULL };
  g_autofree char *message = NULL;
  g_autofree char *why = NULL;
  const char *code = NULL;
  const char *values[2] = { NULL, NULL };
  JsonNode *root;

  lares_fuzz_init ();
  root = lares_json_body_parse ((const char *)data, size, 1024 * 1024, &code, &message);
  if (root == NULL)
    {
      g_assert_nonnull (message);
      return 0;
    }
  if (lares_json_get_strings (json_node_get_object (root), fields, fields, values, &why))
    {
      g_assert_nonnull (values[0]);
      g_assert_nonnull (values[1]);
      g_assert_true (g_utf8_validate (values[0], -1, NULL));
      g_assert_true (g_utf8_validate (values[1], -1, NULL));
    }
  else
    {
      g_assert_nonnull (why);
      g_assert_true (g_utf8_validate (why, -1, NULL));
    }
  json_node_unref (root);
  return 0;
}
