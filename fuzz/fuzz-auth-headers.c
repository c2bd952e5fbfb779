/* fuzz-auth-headers.c — the Authorization and Cookie header parsers.
 *
 * The input is a header value.  Checks: a parsed bearer token is a
 * non-empty run of visible ASCII inside the input, at most 256 bytes; a
 * cookie value is non-empty, at most 256 bytes, and free of ';'.
 */
#include "config.h"

#include <string.h>

#include "lares-auth.h"
#include "lares-fuzz.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = NULL;
  g_autofree char *cookie = NULL;
  g_autofree char *other = NULL;
  const char *token;
  size_t len = 0;

  lares_fuzz_init ();
  text = lares_fuzz_strndup (data, size);

  token = lares_auth_parse_bearer (text, &len);
  if (token != NULL)
    {
      g_assert_true (token >= text && token + len <= text + strlen (text));
      g_assert_cmpuint (len, >, 0);
      g_assert_cmpuint (len, <=, 256);
      for (size_t i = 0; i < len; i++)
        g_assert_true (token[i] > ' ' && token[i] < 0x7f);
    }
  cookie = lares_auth_cookie_value (text, LARES_SESSION_COOKIE);
  if (cookie != NULL)
    {
      g_assert_cmpuint (strlen (cookie), >, 0);
      g_assert_cmpuint (strlen (cookie), <=, 256);
      g_assert_null (strchr (cookie, ';'));
    }
  other = lares_auth_cookie_value (text, "a");
  return 0;
}
