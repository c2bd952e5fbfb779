/* test-web.c — the dashboard's side of the daemon over real HTTP: the
 * embedded files (headers, caching, versions, hostile paths) and the
 * settings routes (session, settings without secrets, mode, LLM test).
 * The pages themselves are tested in Chromium (tests/web). */
#include "config.h"

#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>

#include "lares-fake-llm.h"
#include "lares-test.h"

static const char *const no_credentials[] = { NULL };

static void
daemon_done (LaresTestDaemon *d)
{
  g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
  lares_test_daemon_free (d, TRUE);
}

static char *
asset_prefix (const char *html)
{
  const char *p = strstr (html, "/static/");
  const char *end;

  g_assert_nonnull (p);
  end = strchr (p + strlen ("/static/"), '/');
  g_assert_nonnull (end);
  g_assert_cmpint (end - p, ==, (int)strlen ("/static/") + 16);
  return g_strndup (p, (gsize)(end - p + 1));
}

static void
test_static_files (void)
{
  LaresTestDaemon *d = lares_test_daemon_start (NULL, NULL);
  g_autoptr (SoupMessageHeaders) h = NULL, h2 = NULL, h3 = NULL;
  g_autoptr (GBytes) index = NULL, css = NULL, again = NULL;
  g_autofree char *html = NULL, *prefix = NULL, *path = NULL;
  const char *csp, *etag;
  unsigned status;
  static const char *const bad[] = {
    "/static/0123456789abcdef/app.css", /* another version */
    "/static/",
    "/static/x",
  };

  index = lares_test_http_as (d, no_credentials, "GET", "/", NULL, NULL, 0, &status, &h);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_content_type (h, NULL), ==, "text/html");
  g_assert_cmpstr (soup_message_headers_get_one (h, "Cache-Control"), ==, "no-cache");
  g_assert_cmpstr (soup_message_headers_get_one (h, "X-Content-Type-Options"), ==, "nosniff");
  g_assert_cmpstr (soup_message_headers_get_one (h, "X-Frame-Options"), ==, "DENY");
  csp = soup_message_headers_get_one (h, "Content-Security-Policy");
  g_assert_nonnull (strstr (csp, "default-src 'self'"));
  g_assert_nonnull (strstr (csp, "frame-ancestors 'none'"));
  g_assert_nonnull (strstr (csp, "require-trusted-types-for 'script'"));
  g_assert_null (strstr (csp, "unsafe"));
  html = g_strndup (g_bytes_get_data (index, NULL), g_bytes_get_size (index));
  g_assert_null (strstr (html, "@V@"));
  prefix = asset_prefix (html);
  etag = soup_message_headers_get_one (h, "ETag");
  g_assert_nonnull (etag);

  /* Revalidation. */
  {
    const char *const inm[] = { "If-None-Match", etag, NULL };
    g_autoptr (GBytes) b = lares_test_http_as (d, inm, "GET", "/", NULL, NULL, 0, &status, NULL);
    g_assert_cmpuint (status, ==, 304);
    g_assert_cmpuint (g_bytes_get_size (b), ==, 0);
  }

  /* An asset: immutable, with its type. */
  path = g_strconcat (prefix, "js/markdown.js", NULL);
  css = lares_test_http_as (d, no_credentials, "GET", path, NULL, NULL, 0, &status, &h2);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_content_type (h2, NULL), ==, "text/javascript");
  g_assert_nonnull (strstr (soup_message_headers_get_one (h2, "Cache-Control"), "immutable"));
  g_assert_cmpuint (g_bytes_get_size (css), >, 1000);
  again = lares_test_http_as (d, no_credentials, "HEAD", path, NULL, NULL, 0, &status, &h3);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpuint (g_bytes_get_size (again), ==, 0);

  /* Wrong versions, names and methods: JSON errors, never a file. */
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GBytes) b =
          lares_test_http_as (d, no_credentials, "GET", bad[i], NULL, NULL, 0, &status, NULL);
      g_assert_cmpuint (status, ==, 404);
      lares_test_assert_error (b, "not_found");
    }
  {
    static const char *const names[] = { ".hidden",  "js//app.js", "js/.x",
                                         "app.css/", "a b.css",    "app.css%00" };
    for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
      {
        g_autofree char *p = g_strconcat (prefix, names[i], NULL);
        g_autofree char *req =
            g_strdup_printf ("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", p);
        g_autofree char *resp = lares_test_raw (d, req, strlen (req));
        /* libsoup refuses some request lines itself, with HTTP/1.0 400. */
        if (!g_str_has_prefix (resp, "HTTP/1.1 404") && !g_str_has_prefix (resp + 8, " 400"))
          g_error ("%s: %.40s", names[i], resp);
        g_assert_null (strstr (resp, "immutable"));
      }
  }
  {
    g_autoptr (SoupMessageHeaders) hp = NULL;
    g_autoptr (GBytes) b = lares_test_http_as (d, no_credentials, "POST", path, "application/json",
                                               "{}", 2, &status, &hp);
    g_assert_cmpuint (status, ==, 405);
    lares_test_assert_error (b, "method_not_allowed");
    g_assert_cmpstr (soup_message_headers_get_one (hp, "Allow"), ==, "GET, HEAD");
  }
  daemon_done (d);
}

static JsonObject *
object_of (GBytes *b, JsonNode **keep)
{
  *keep = lares_test_json (b);
  return json_node_get_object (*keep);
}

static void
test_settings_routes (void)
{
  const char *const extra[] = { "--set", "persona.modes=concise: be brief; playful: be playful",
                                NULL };
  LaresTestDaemon *d = NULL;
  g_autoptr (JsonNode) n1 = NULL, n2 = NULL, n3 = NULL, n4 = NULL;
  unsigned status;
  JsonObject *o;

  g_setenv ("LARES_LLM_API_KEY", "sk-secret-never-shown", TRUE);
  d = lares_test_daemon_start (NULL, extra);
  g_unsetenv ("LARES_LLM_API_KEY");

  /* Without credentials: 200 and null, not 401. */
  {
    g_autoptr (GBytes) b = lares_test_http_as (d, no_credentials, "GET", "/api/v1/auth/session",
                                               NULL, NULL, 0, &status, NULL);
    g_assert_cmpuint (status, ==, 200);
    o = object_of (b, &n1);
    g_assert_true (json_object_get_null_member (o, "user"));
  }
  {
    const char *const bogus[] = { "Cookie", "lares_session=bogus", NULL };
    g_autoptr (GBytes) b =
        lares_test_http_as (d, bogus, "GET", "/api/v1/auth/session", NULL, NULL, 0, &status, NULL);
    g_autoptr (JsonNode) n = lares_test_json (b);
    g_assert_cmpuint (status, ==, 200);
    g_assert_true (json_object_get_null_member (json_node_get_object (n), "user"));
  }
  {
    g_autoptr (GBytes) b =
        lares_test_http (d, "GET", "/api/v1/auth/session", NULL, NULL, 0, &status, NULL);
    g_assert_cmpuint (status, ==, 200);
    o = object_of (b, &n2);
    g_assert_cmpstr (
        json_object_get_string_member (json_object_get_object_member (o, "user"), "name"), ==,
        "admin");
  }

  /* Settings: no secret, the modes, the default mode. */
  {
    g_autoptr (GBytes) b =
        lares_test_http (d, "GET", "/api/v1/settings", NULL, NULL, 0, &status, NULL);
    g_autofree char *text = g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
    JsonObject *p;

    g_assert_cmpuint (status, ==, 200);
    g_assert_null (strstr (text, "sk-secret"));
    o = object_of (b, &n3);
    p = json_object_get_object_member (o, "persona");
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (p, "modes")), ==, 2);
    g_assert_true (json_object_get_null_member (p, "mode"));
    g_assert_false (
        json_object_get_boolean_member (json_object_get_object_member (o, "llm"), "configured"));
    g_assert_true (
        json_object_get_boolean_member (json_object_get_object_member (o, "llm"), "api_key_set"));
  }
  g_assert_cmpuint (lares_test_status (d, "GET", "/api/v1/settings", NULL, NULL, 0), ==, 200);
  {
    const char *const none[] = { NULL };
    g_autoptr (GBytes) b =
        lares_test_http_as (d, none, "GET", "/api/v1/settings", NULL, NULL, 0, &status, NULL);
    g_assert_cmpuint (status, ==, 401);
    lares_test_assert_error (b, "unauthorized");
  }

  /* Mode: set, read back, reset; bad input changes nothing. */
  {
    static const struct
    {
      const char *body;
      unsigned status;
    } cases[] = {
      { "{\"mode\":\"Concise\"}", 200 },
      { "{\"mode\":\"grumpy\"}", 400 },
      { "{\"mode\":7}", 400 },
      { "{}", 400 },
      { "{\"mode\":null,\"x\":1}", 400 },
      { "[]", 400 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
      g_assert_cmpuint (lares_test_status (d, "POST", "/api/v1/settings/mode", "application/json",
                                           cases[i].body, strlen (cases[i].body)),
                        ==, cases[i].status);
  }
  {
    g_autoptr (GBytes) b =
        lares_test_http (d, "GET", "/api/v1/settings", NULL, NULL, 0, &status, NULL);
    o = object_of (b, &n4);
    g_assert_cmpstr (
        json_object_get_string_member (json_object_get_object_member (o, "persona"), "mode"), ==,
        "concise");
  }
  g_assert_cmpuint (lares_test_status (d, "POST", "/api/v1/settings/mode", "application/json",
                                       "{\"mode\":null}", 13),
                    ==, 200);

  /* No LLM configured: the test says so. */
  {
    g_autoptr (GBytes) b =
        lares_test_http (d, "POST", "/api/v1/llm/test", NULL, NULL, 0, &status, NULL);
    g_assert_cmpuint (status, ==, 409);
    lares_test_assert_error (b, "not_configured");
  }
  /* Only admins may probe. */
  {
    g_autofree char *bob = lares_test_add_user (d, "bob", "bob-password-1");
    g_autofree char *auth = g_strconcat ("Bearer ", bob, NULL);
    const char *const as_bob[] = { "Authorization", auth, NULL };
    g_autoptr (GBytes) b =
        lares_test_http_as (d, as_bob, "POST", "/api/v1/llm/test", NULL, NULL, 0, &status, NULL);
    g_assert_cmpuint (status, ==, 403);
    lares_test_assert_error (b, "forbidden");
  }
  daemon_done (d);
}

static void
test_llm_probe (void)
{
  g_autoptr (LaresFakeLlm) fake = lares_fake_llm_start ("token ok\n", NULL);
  g_autofree char *url = g_strdup_printf ("llm.base_url=%s", lares_fake_llm_url (fake));
  const char *const extra[] = { "--set", "llm.provider=openai", "--set", url,
                                "--set", "llm.model=fake",      NULL };
  LaresTestDaemon *d = lares_test_daemon_start (NULL, extra);
  g_autoptr (JsonNode) n = NULL;
  unsigned status;
  g_autoptr (GBytes) b =
      lares_test_http (d, "POST", "/api/v1/llm/test", NULL, NULL, 0, &status, NULL);
  JsonObject *o;

  g_assert_cmpuint (status, ==, 200);
  o = object_of (b, &n);
  g_assert_true (json_object_get_boolean_member (o, "ok"));
  g_assert_cmpstr (json_object_get_string_member (o, "model"), ==, "fake");
  daemon_done (d);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/web/static-files", test_static_files);
  g_test_add_func ("/web/settings-routes", test_settings_routes);
  g_test_add_func ("/web/llm-probe", test_llm_probe);
  return g_test_run ();
}
