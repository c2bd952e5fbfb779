/* test-http-route.c — the route index against a scan of every route.
 *
 * lares_route_find() looks only at the routes a path could match
 * (lares-http-route.c, DESIGN).  Here every answer it gives — route, id,
 * whether the id was valid, the Allow list — is compared with the plain
 * scan it replaced, for every method on paths made from every pattern
 * (good, bad, empty and huge ids and names, one byte more or less, a
 * trailing slash) and on random paths built from the patterns' pieces.
 */
#include "config.h"

#include "lares-http-parse.h"
#include "lares-http-private.h"

/* The scan every request used to make: each route of each table in order. */
static const LaresRoute *
scan_routes (const char *method, const char *path, int64_t *id, gboolean *id_ok, GString *allow)
{
  size_t n_tables = 0;
  const LaresRoute *const *tables = lares_route_tables (&n_tables);
  gboolean is_head = g_strcmp0 (method, "HEAD") == 0;
  const LaresRoute *bad_id = NULL;

  for (size_t t = 0; t < n_tables; t++)
    for (const LaresRoute *r = tables[t]; r->pattern != NULL; r++)
      {
        gboolean ok;
        gboolean same_method;
        int64_t v = 0;

        if (!lares_route_match (r->pattern, path, &v, &ok))
          continue;
        same_method =
            g_strcmp0 (r->method, method) == 0 || (is_head && g_strcmp0 (r->method, "GET") == 0);
        if (!ok)
          {
            if (same_method && bad_id == NULL)
              bad_id = r;
            continue;
          }
        if (same_method)
          {
            *id = v;
            *id_ok = TRUE;
            return r;
          }
        if (allow->len)
          g_string_append (allow, ", ");
        g_string_append (allow, r->method);
        if (g_strcmp0 (r->method, "GET") == 0)
          g_string_append (allow, ", HEAD");
      }
  if (allow->len == 0 && bad_id != NULL)
    {
      *id = 0;
      *id_ok = FALSE;
      return bad_id;
    }
  if (g_str_has_prefix (path, lares_web_static_route.pattern))
    {
      if (g_strcmp0 (method, "GET") == 0 || is_head)
        return &lares_web_static_route;
      g_string_assign (allow, "GET, HEAD");
    }
  return NULL;
}

static const char *const methods[] = { "GET", "HEAD", "POST", "DELETE", "PUT", "OPTIONS", "PATCH" };

static unsigned n_checked, n_found, n_405, n_bad_id;

static void
check_path (const char *path)
{
  for (size_t m = 0; m < G_N_ELEMENTS (methods); m++)
    {
      g_autoptr (GString) allow_a = g_string_new (NULL);
      g_autoptr (GString) allow_b = g_string_new (NULL);
      int64_t id_a = -7, id_b = -7;
      gboolean ok_a = TRUE, ok_b = TRUE;
      const LaresRoute *a = lares_route_find (methods[m], path, &id_a, &ok_a, allow_a);
      const LaresRoute *b = scan_routes (methods[m], path, &id_b, &ok_b, allow_b);

      if (a != b || id_a != id_b || ok_a != ok_b || !g_str_equal (allow_a->str, allow_b->str))
        g_error ("%s %s: index says %s %s id=%" G_GINT64_FORMAT " ok=%d allow='%s', "
                 "the scan %s %s id=%" G_GINT64_FORMAT " ok=%d allow='%s'",
                 methods[m], path, a ? a->method : "-", a ? a->pattern : "-", id_a, ok_a,
                 allow_a->str, b ? b->method : "-", b ? b->pattern : "-", id_b, ok_b, allow_b->str);
      n_checked++;
      n_found += a != NULL && ok_a;
      n_405 += a == NULL && allow_a->len > 0;
      n_bad_id += a != NULL && !ok_a;
    }
}

/* @pattern with each placeholder replaced by @id / @name. */
static char *
instantiate (const char *pattern, const char *id, const char *name)
{
  g_autoptr (GString) out = g_string_new (NULL);

  for (const char *p = pattern; *p;)
    {
      if (g_str_has_prefix (p, "{id}"))
        {
          g_string_append (out, id);
          p += 4;
        }
      else if (g_str_has_prefix (p, "{name}"))
        {
          g_string_append (out, name);
          p += 6;
        }
      else
        g_string_append_c (out, *p++);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
test_every_pattern (void)
{
  static const char *const ids[] = {
    "1",      "42", "9223372036854775807", "9223372036854775808", "0", "007", "-1", "x", "",
    "import", "1a"
  };
  static const char *const names[] = { "notes.search", "a", "a-b_c.d", "bad!", "", "x/y" };
  g_autofree char *long_name = g_strnfill (LARES_ROUTE_NAME_MAX + 1, 'n');
  size_t n_tables = 0;
  const LaresRoute *const *tables = lares_route_tables (&n_tables);
  static const char *const extra[] = { "/",        "",     "/static/",   "/static/x.js",
                                       "/static",  "/api", "/api/",      "/api/v1",
                                       "/api/v1/", "//",   "/healthz/x", "/v1/chat/completions/",
                                       "/ws" };

  for (size_t i = 0; i < G_N_ELEMENTS (extra); i++)
    check_path (extra[i]);
  for (size_t t = 0; t < n_tables; t++)
    for (const LaresRoute *r = tables[t]; r->pattern != NULL; r++)
      for (size_t i = 0; i < (strstr (r->pattern, "{id}") ? G_N_ELEMENTS (ids) : 1); i++)
        for (size_t j = 0; j <= (strstr (r->pattern, "{name}") ? G_N_ELEMENTS (names) : 0); j++)
          {
            g_autofree char *path =
                instantiate (r->pattern, ids[i], j < G_N_ELEMENTS (names) ? names[j] : long_name);
            g_autofree char *slash = g_strconcat (path, "/", NULL);
            g_autofree char *more = g_strconcat (path, "x", NULL);
            g_autofree char *less = g_strndup (path, strlen (path) ? strlen (path) - 1 : 0);

            check_path (path);
            check_path (slash);
            check_path (more);
            check_path (less);
          }
  /* Each answer kind happened, so the comparison covered them all. */
  g_assert_cmpuint (n_found, >, 0);
  g_assert_cmpuint (n_405, >, 0);
  g_assert_cmpuint (n_bad_id, >, 0);
}

static void
test_random_paths (void)
{
  g_autoptr (GPtrArray) pieces = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GRand) rand = g_rand_new_with_seed (1);
  size_t n_tables = 0;
  const LaresRoute *const *tables = lares_route_tables (&n_tables);
  static const char *const fill[] = { "1", "0", "x", "", "12345", "static", "a.b", "{id}" };

  for (size_t t = 0; t < n_tables; t++)
    for (const LaresRoute *r = tables[t]; r->pattern != NULL; r++)
      {
        g_auto (GStrv) parts = g_strsplit (r->pattern, "/", -1);

        for (size_t i = 0; parts[i]; i++)
          if (parts[i][0] != '{')
            g_ptr_array_add (pieces, g_strdup (parts[i]));
      }
  for (size_t i = 0; i < G_N_ELEMENTS (fill); i++)
    g_ptr_array_add (pieces, g_strdup (fill[i]));

  for (unsigned n = 0; n < 20000; n++)
    {
      g_autoptr (GString) path = g_string_new (NULL);
      int segments = g_rand_int_range (rand, 0, 8);

      for (int s = 0; s < segments; s++)
        {
          g_string_append_c (path, '/');
          g_string_append (
              path, g_ptr_array_index (pieces, g_rand_int_range (rand, 0, (int)pieces->len)));
        }
      if (g_rand_int_range (rand, 0, 8) == 0)
        g_string_append_c (path, '/');
      check_path (path->str);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/http-route/every-pattern", test_every_pattern);
  g_test_add_func ("/http-route/random-paths", test_random_paths);
  return g_test_run ();
}
