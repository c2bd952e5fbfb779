/* lares-http-route.c — which route a request is for.
 *
 * DESIGN
 * - The route tables (routes/<group>.c) are searched in the order listed
 *   in route_tables[]; the first route whose pattern and method match wins.
 *   The rules (405 with Allow, a literal path beating a {id} route of the
 *   same shape, the /static/ prefix) are those of docs/internals/http.md.
 * - An index, built once from the static tables, keeps the search from
 *   pattern-matching every route: a placeholder ({id}, {name}) never
 *   consumes a '/', so a pattern only matches paths with as many '/' as
 *   its literal text; and every byte before the pattern's first '{' must
 *   appear as is.  Each route is filed under its slash count with the
 *   length of that literal prefix, in table order, so a request looks at
 *   the routes of its own slash count only, skips those whose prefix
 *   differs with one memcmp, and gives each remaining one the same
 *   lares_route_match() test as before, in the same order.  The result
 *   is therefore the one a scan of every route gives (test-http-route
 *   checks this against such a scan).
 * - Main thread only in the daemon; the index is built under g_once so
 *   tests may call it from anywhere.
 */
#include "config.h"

#include "lares-http-parse.h"
#include "lares-http-private.h"

/* Precedence order: earlier tables win. */
static const LaresRoute *const route_tables[] = {
  lares_system_routes,   lares_auth_routes,     lares_chat_routes,      lares_openai_routes,
  lares_notes_routes,    lares_tasks_routes,    lares_reminders_routes, lares_approvals_routes,
  lares_calendar_routes, lares_settings_routes, lares_web_routes,
};

/* Paths with more '/' than this match no pattern (ours have at most 6). */
#define MAX_SLASHES 15

typedef struct
{
  const LaresRoute *route;
  size_t prefix_len; /* bytes before the first '{' (the whole pattern when none) */
  gboolean literal;  /* no '{' at all: the path must equal the pattern */
} RouteEntry;

/* bucket[n]: the routes whose patterns hold n '/', in precedence order. */
static GArray *bucket[MAX_SLASHES + 1];

static gsize
index_build (void)
{
  for (size_t n = 0; n <= MAX_SLASHES; n++)
    bucket[n] = g_array_new (FALSE, FALSE, sizeof (RouteEntry));
  for (size_t t = 0; t < G_N_ELEMENTS (route_tables); t++)
    for (const LaresRoute *r = route_tables[t]; r->pattern != NULL; r++)
      {
        const char *brace = strchr (r->pattern, '{');
        RouteEntry e = { r, brace ? (size_t)(brace - r->pattern) : strlen (r->pattern),
                         brace == NULL };
        size_t slashes = 0;

        for (const char *p = r->pattern; *p; p++)
          slashes += *p == '/';
        g_assert (slashes <= MAX_SLASHES);
        g_array_append_val (bucket[slashes], e);
      }
  return 1;
}

const LaresRoute *const *
lares_route_tables (size_t *n_tables)
{
  *n_tables = G_N_ELEMENTS (route_tables);
  return route_tables;
}

const LaresRoute *
lares_route_find (const char *method, const char *path, int64_t *id, gboolean *id_ok,
                  GString *allow)
{
  static gsize built = 0;
  gboolean is_head = g_str_equal (method, "HEAD");
  const LaresRoute *bad_id = NULL;
  size_t path_len = 0, slashes = 0;

  if (g_once_init_enter (&built))
    g_once_init_leave (&built, index_build ());

  for (const char *p = path; *p; p++)
    slashes += *p == '/';
  path_len = strlen (path);

  for (guint i = 0; slashes <= MAX_SLASHES && i < bucket[slashes]->len; i++)
    {
      const RouteEntry *e = &g_array_index (bucket[slashes], RouteEntry, i);
      const LaresRoute *r = e->route;
      gboolean ok = TRUE;
      gboolean same_method;
      int64_t v = 0;

      if (e->literal)
        {
          if (path_len != e->prefix_len || memcmp (path, r->pattern, path_len) != 0)
            continue;
        }
      else if (path_len < e->prefix_len || memcmp (path, r->pattern, e->prefix_len) != 0 ||
               !lares_route_match (r->pattern, path, &v, &ok))
        continue;
      same_method = g_str_equal (r->method, method) || (is_head && g_str_equal (r->method, "GET"));
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
      if (g_str_equal (r->method, "GET"))
        g_string_append (allow, ", HEAD");
    }
  if (allow->len == 0 && bad_id != NULL)
    {
      *id = 0;
      *id_ok = FALSE;
      return bad_id;
    }
  /* The dashboard's files: a prefix, the one route that is not a pattern. */
  if (g_str_has_prefix (path, lares_web_static_route.pattern))
    {
      if (g_str_equal (method, "GET") || is_head)
        return &lares_web_static_route;
      g_string_assign (allow, "GET, HEAD");
    }
  return NULL;
}
