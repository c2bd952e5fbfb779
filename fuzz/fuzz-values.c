/* fuzz-values.c — the value parsers behind config and environment:
 * lares_parse_size(), lares_parse_duration_ms(), lares_parse_bool() and
 * lares_parse_int64().
 *
 * Checks: OUT parameters are untouched on failure (lares-util.h promises
 * it), and every accepted number reads back the same when printed in its
 * canonical form.
 */
#include "config.h"

#include <inttypes.h>

#include "lares-fuzz.h"
#include "lares-util.h"

#define SENTINEL_U ((uint64_t)0xdeadbeefcafef00dULL)
#define SENTINEL_I ((int64_t)-0x2152411035014ff3LL)

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = lares_fuzz_strndup (data, size);
  uint64_t u = SENTINEL_U, again_u = 0;
  int64_t i = SENTINEL_I, again_i = 0;
  gboolean b = 42;

  lares_fuzz_init ();

  if (lares_parse_size (text, &u))
    {
      g_autofree char *canon = g_strdup_printf ("%" PRIu64 " B", u);
      g_assert_true (lares_parse_size (canon, &again_u));
      g_assert_cmpuint (again_u, ==, u);
    }
  else
    g_assert_cmpuint (u, ==, SENTINEL_U);

  u = SENTINEL_U;
  if (lares_parse_duration_ms (text, &u))
    {
      g_autofree char *canon = g_strdup_printf ("%" PRIu64 "ms", u);
      g_assert_true (lares_parse_duration_ms (canon, &again_u));
      g_assert_cmpuint (again_u, ==, u);
    }
  else
    g_assert_cmpuint (u, ==, SENTINEL_U);

  if (lares_parse_bool (text, &b))
    g_assert_true (b == TRUE || b == FALSE);
  else
    g_assert_cmpint (b, ==, 42);

  if (lares_parse_int64 (text, &i))
    {
      g_autofree char *canon = g_strdup_printf ("%" PRId64, i);
      g_assert_true (lares_parse_int64 (canon, &again_i));
      g_assert_cmpint (again_i, ==, i);
    }
  else
    g_assert_cmpint (i, ==, SENTINEL_I);
  return 0;
}
