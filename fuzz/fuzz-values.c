/* fuzz-values.c — the value parsers behind config, environment and query
 * strings: lares_parse_size(), lares_parse_duration_ms(),
 * lares_parse_bool(), lares_parse_int64() and lares_parse_id_list()
 * (DELETE /api/v1/events?ids=).
 *
 * Checks: OUT parameters are untouched on failure (lares-util.h promises
 * it), and every accepted number (or id list) reads back the same when
 * printed in its canonical form.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

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

  {
    GArray *ids = NULL;

    if (lares_parse_id_list (text, 8, &ids))
      {
        g_autoptr (GArray) again = NULL;
        g_autoptr (GString) canon = g_string_new (NULL);

        g_assert_true (ids->len >= 1 && ids->len <= 8);
        for (unsigned k = 0; k < ids->len; k++)
          {
            g_assert_cmpint (g_array_index (ids, int64_t, k), >, 0);
            g_string_append_printf (canon, "%s%" PRId64, k ? "," : "",
                                    g_array_index (ids, int64_t, k));
          }
        g_assert_true (lares_parse_id_list (canon->str, 8, &again));
        g_assert_cmpuint (again->len, ==, ids->len);
        g_assert_true (memcmp (again->data, ids->data, ids->len * sizeof (int64_t)) == 0);
        g_array_unref (ids);
      }
    else
      g_assert_null (ids);
  }
  return 0;
}
