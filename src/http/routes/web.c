/* routes/web.c — the web dashboard: static files embedded in the binary.
 *
 *   GET /                      index.html (Cache-Control: no-cache, ETag)
 *   GET /static/<V>/<path>     a file of data/web (immutable for a year)
 *
 * DESIGN
 * - The files come from a GResource compiled into the binary
 *   (data/web/lares-web.gresource.xml, prefix /lares/web); nothing is read
 *   from disk and nothing runs at build time but glib-compile-resources.
 * - <V> is a digest of every embedded file, computed once on first use.
 *   index.html names its assets as /static/@V@/…, and the ES modules import
 *   each other by relative paths, so one version segment covers the whole
 *   tree: a new build changes <V>, and every asset URL with it.  Assets can
 *   therefore be cached as immutable; only index.html is revalidated
 *   (ETag: the same digest).  A request for another version is 404: its
 *   content is not here any more, and serving the current files under the
 *   old name would pin them in caches as that name's.
 * - Resource data lives in the binary's read-only data for the life of the
 *   process, so responses reference it without a copy.
 * - Every page response carries a strict Content-Security-Policy: scripts,
 *   styles, images and connections (WebSocket included) from this origin
 *   only, no inline script or style, no framing, and Trusted Types with no
 *   policy, so no string can ever become HTML through innerHTML and the
 *   like; the pages build DOM nodes.
 */
#include "config.h"

#include "lares-http-private.h"
#include "lares-web-resources.h"

#define WEB_PREFIX "/lares/web/"

static const char csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; media-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "require-trusted-types-for 'script'; trusted-types 'none'";

typedef struct
{
  char version[17]; /* the first 16 hex digits of the digest */
  char etag[20];    /* "\"<version>\"" */
  GBytes *index;    /* index.html with @V@ replaced (owned, never freed) */
} WebInfo;

static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

static void
digest_tree (GChecksum *sum, const char *dir)
{
  g_auto (GStrv) names = g_resource_enumerate_children (lares_web_get_resource (), dir,
                                                        G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);

  if (names == NULL)
    return;
  /* Enumeration order is the hash table's: sort for a stable digest. */
  qsort (names, g_strv_length (names), sizeof (char *), compare_strings);
  for (char **n = names; *n; n++)
    {
      g_autofree char *path = g_strconcat (dir, *n, NULL);
      g_autoptr (GBytes) data = NULL;

      if (g_str_has_suffix (*n, "/"))
        {
          digest_tree (sum, path);
          continue;
        }
      data = g_resource_lookup_data (lares_web_get_resource (), path, G_RESOURCE_LOOKUP_FLAGS_NONE,
                                     NULL);
      if (data == NULL)
        continue;
      g_checksum_update (sum, (const guchar *)path, (gssize)strlen (path) + 1);
      g_checksum_update (sum, g_bytes_get_data (data, NULL), (gssize)g_bytes_get_size (data));
    }
}

static const WebInfo *
web_info (void)
{
  static WebInfo info;
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
      g_autoptr (GBytes) raw = NULL;
      g_auto (GStrv) parts = NULL;
      g_autofree char *text = NULL;

      digest_tree (sum, WEB_PREFIX);
      g_strlcpy (info.version, g_checksum_get_string (sum), sizeof info.version);
      g_snprintf (info.etag, sizeof info.etag, "\"%s\"", info.version);
      raw = g_resource_lookup_data (lares_web_get_resource (), WEB_PREFIX "index.html",
                                    G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
      g_assert (raw != NULL);
      text = g_strndup (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
      parts = g_strsplit (text, "@V@", -1);
      g_clear_pointer (&text, g_free);
      text = g_strjoinv (info.version, parts);
      {
        size_t len = strlen (text);
        info.index = g_bytes_new_take (g_steal_pointer (&text), len);
      }
      g_once_init_leave (&done, 1);
    }
  return &info;
}

const char *
lares_web_version (void)
{
  return web_info ()->version;
}

static const char *
content_type (const char *path)
{
  static const struct
  {
    const char *ext, *type;
  } types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".json", "application/json" },
    { ".webmanifest", "application/manifest+json" },
    { ".txt", "text/plain; charset=utf-8" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (types); i++)
    if (g_str_has_suffix (path, types[i].ext))
      return types[i].type;
  return "application/octet-stream";
}

static void
page_headers (LaresRequest *req, const char *cache_control, const char *etag)
{
  SoupMessageHeaders *out = soup_server_message_get_response_headers (req->msg);

  soup_message_headers_replace (out, "Cache-Control", cache_control);
  soup_message_headers_replace (out, "ETag", etag);
  soup_message_headers_replace (out, "Content-Security-Policy", csp);
  soup_message_headers_replace (out, "Referrer-Policy", "no-referrer");
  soup_message_headers_replace (out, "X-Frame-Options", "DENY");
  soup_message_headers_replace (out, "Cross-Origin-Opener-Policy", "same-origin");
  soup_message_headers_replace (out, "Cross-Origin-Resource-Policy", "same-origin");
  soup_message_headers_replace (out, "Permissions-Policy",
                                "camera=(), microphone=(), geolocation=(), payment=()");
}

/* 304 when the client holds this version already. */
static gboolean
not_modified (LaresRequest *req, const char *etag)
{
  const char *inm = soup_message_headers_get_one (
      soup_server_message_get_request_headers (req->msg), "If-None-Match");
  g_auto (GStrv) tags = NULL;

  if (inm == NULL)
    return FALSE;
  tags = g_strsplit (inm, ",", -1);
  for (char **t = tags; *t; t++)
    {
      const char *tag = g_strstrip (*t);
      if (g_str_has_prefix (tag, "W/"))
        tag += 2;
      if (g_str_equal (tag, etag) || g_str_equal (tag, "*"))
        return TRUE;
    }
  return FALSE;
}

static void
respond_bytes (LaresRequest *req, const char *type, GBytes *data)
{
  SoupServerMessage *msg = req->msg;

  soup_message_headers_set_content_type (soup_server_message_get_response_headers (msg), type,
                                         NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg), data);
  lares_request_respond_empty (req, 200);
}

static void
web_index (LaresRequest *req)
{
  const WebInfo *info = web_info ();

  page_headers (req, "no-cache", info->etag);
  if (not_modified (req, info->etag))
    {
      lares_request_respond_empty (req, 304);
      return;
    }
  respond_bytes (req, "text/html; charset=utf-8", info->index);
}

/* A file name under the version: letters, digits, '-', '_', '.' and '/'
 * between non-empty segments that do not start with a dot. */
static gboolean
valid_asset_path (const char *p)
{
  gboolean segment_start = TRUE;

  if (*p == '\0' || strlen (p) > 200)
    return FALSE;
  for (; *p; p++)
    {
      if (segment_start && (*p == '.' || *p == '/'))
        return FALSE;
      segment_start = *p == '/';
      if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.' && *p != '/')
        return FALSE;
    }
  return !segment_start;
}

static void
web_static (LaresRequest *req)
{
  const WebInfo *info = web_info ();
  const char *path = g_uri_get_path (soup_server_message_get_uri (req->msg));
  const char *rest = path + strlen ("/static/");
  size_t vlen = strlen (info->version);
  g_autofree char *name = NULL;
  g_autoptr (GBytes) data = NULL;

  if (strncmp (rest, info->version, vlen) != 0 || rest[vlen] != '/' ||
      !valid_asset_path (rest + vlen + 1))
    {
      lares_request_respond_error (req, 404, "not_found", "no such file: %s", path);
      return;
    }
  name = g_strconcat (WEB_PREFIX, rest + vlen + 1, NULL);
  data =
      g_resource_lookup_data (lares_web_get_resource (), name, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  if (data == NULL)
    {
      lares_request_respond_error (req, 404, "not_found", "no such file: %s", path);
      return;
    }
  page_headers (req, "public, max-age=31536000, immutable", info->etag);
  if (not_modified (req, info->etag))
    {
      lares_request_respond_empty (req, 304);
      return;
    }
  respond_bytes (req, content_type (name), data);
}

const LaresRoute lares_web_routes[] = {
  { "GET", "/", web_index, LARES_ROUTE_PUBLIC, "web.index" },
  { NULL },
};

/* Everything under /static/ (matched by prefix in the server's router). */
const LaresRoute lares_web_static_route = {
  "GET", "/static/", web_static, LARES_ROUTE_PUBLIC, "web.static",
};
