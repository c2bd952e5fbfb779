/* fuzz-route.c — lares_route_match(), request paths against route patterns.
 *
 * The input is a path, matched against every real route.  When it contains
 * a newline or NUL, the part before it is also tried as a pattern against
 * the part after it, so odd patterns ("{id", "{id}{id}") get covered too.
 *
 * Checks: a pattern without a slot matches exactly the identical path; a
 * valid id is positive and matches again when printed back into the pattern;
 * a name that matched is 1 to 64 characters of [A-Za-z0-9._-].
 */
#include "config.h"

#include <string.h>

#include "lares-fuzz.h"
#include "lares-http-parse.h"

/* The real routes (src/http/routes), plus shapes the matcher allows but no
 * route uses yet. */
static const char *const patterns[] = {
  "/api/v1/notes/{id}",
  "/api/v1/notes",
  "/healthz",
  "/readyz",
  "/metrics",
  "/api/v1/notes/{id}/tags/{id}",
  "{id}",
  "/api/v1/tools/{name}",
  "/api/v1/approvals/{id}/approve",
};

static void
check_name (const char *path)
{
  const char *prefix = "/api/v1/tools/";
  int64_t id = -1;
  gboolean id_ok = FALSE;

  if (!lares_route_match ("/api/v1/tools/{name}", path, &id, &id_ok))
    return;
  g_assert_true (g_str_has_prefix (path, prefix));
  g_assert_cmpuint (strlen (path + strlen (prefix)), >=, 1);
  g_assert_cmpuint (strlen (path + strlen (prefix)), <=, LARES_ROUTE_NAME_MAX);
  for (const char *p = path + strlen (prefix); *p; p++)
    g_assert_true (g_ascii_isalnum (*p) || *p == '.' || *p == '_' || *p == '-');
}

static void
check_match (const char *pattern, const char *path)
{
  int64_t id = -1, id2 = -1;
  gboolean id_ok = FALSE, id2_ok = FALSE;
  gboolean matched = lares_route_match (pattern, path, &id, &id_ok);
  const char *slot = strstr (pattern, "{id}");

  /* Names are checked by check_name. */
  if (strstr (pattern, "{name}") != NULL)
    return;
  if (slot == NULL)
    {
      g_assert_true (matched == (strcmp (pattern, path) == 0));
      return;
    }
  if (!matched || !id_ok)
    return;
  g_assert_cmpint (id, >, 0);
  /* Only single-slot patterns can be rebuilt from the one id reported. */
  if (strstr (slot + 4, "{id}") == NULL)
    {
      g_autofree char *prefix = g_strndup (pattern, (gsize)(slot - pattern));
      g_autofree char *rebuilt = g_strdup_printf ("%s%" G_GINT64_FORMAT "%s", prefix, id, slot + 4);

      g_assert_true (lares_route_match (pattern, rebuilt, &id2, &id2_ok));
      g_assert_true (id2_ok);
      g_assert_cmpint (id2, ==, id);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *sep = memchr (data, '\n', size);
  const uint8_t *nul = memchr (data, '\0', size);
  g_autofree char *path = lares_fuzz_strndup (data, size);

  lares_fuzz_init ();

  for (size_t i = 0; i < G_N_ELEMENTS (patterns); i++)
    check_match (patterns[i], path);
  check_name (path);

  if (nul != NULL && (sep == NULL || nul < sep))
    sep = nul;
  if (sep != NULL)
    {
      size_t at = (size_t)(sep - data);
      g_autofree char *pattern = lares_fuzz_strndup (data, at);
      g_autofree char *rest = lares_fuzz_strndup (sep + 1, size - at - 1);

      check_match (pattern, rest);
    }
  return 0;
}
