/* test-http-parse.c — body, WebSocket message and route parsers.
 * Inputs are passed with explicit lengths and are not NUL-terminated. */
#include "config.h"

#include "lares-http-parse.h"

typedef struct
{
  const char *in;
  ssize_t len;      /* -1: strlen */
  const char *code; /* NULL: accepted */
} BodyCase;

static void
test_body (void)
{
  static const BodyCase cases[] = {
    { "{\"a\":1}", -1, NULL },
    { " {\"a\":[1,{\"b\":null}]} ", -1, NULL },
    { "{}", -1, NULL },
    { "", 0, "invalid_json" },
    { "{", -1, "invalid_json" },
    { "[]", -1, "invalid_json" },
    { "\"str\"", -1, "invalid_json" },
    { "null", -1, "invalid_json" },
    { "{\"a\":1}{", -1, "invalid_json" },
    { "{\"a\":\"\xed\xa0\x80\"}", -1, "invalid_utf8" }, /* UTF-16 surrogate */
    { "{\"a\":\"x\0y\"}", 11, "invalid_utf8" },
    { "{\"a\":\"\\\"[[[[\"}", -1, NULL }, /* brackets in strings do not nest */
    /* \u escapes json-glib would turn into invalid UTF-8 or cut short. */
    { "{\"a\":\"\\ud83d\\ude00\"}", -1, NULL }, /* a valid pair */
    { "{\"a\":\"\\u00e9\"}", -1, NULL },
    { "{\"a\":\"\\ud800x\"}", -1, "invalid_json" },
    { "{\"a\":\"\\udc00\"}", -1, "invalid_json" },
    { "{\"a\":\"\\ud800\\u0041\"}", -1, "invalid_json" },
    { "{\"\\ud800\":1}", -1, "invalid_json" },
    { "{\"a\":\"\\ufff\xc3\xa9\"}", -1, "invalid_json" },
    { "{\"a\":\"\\uzzzz\"}", -1, "invalid_json" },
    { "{\"a\":\"x\\u0000y\"}", -1, "invalid_json" },
    { "{\"a\":\"\\u", -1, "invalid_json" },
    /* Two top-level values (json-glib 1.6 leaks the first). */
    { "{\"a\":1} {\"b\":2}", -1, "invalid_json" },
    { "[1] [2]", -1, "invalid_json" },
    { "null {}", -1, "invalid_json" },
    { "1 {\"a\":1}", -1, "invalid_json" },
    { " \n {\"a\":1} \n", -1, NULL },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      size_t len = cases[i].len < 0 ? strlen (cases[i].in) : (size_t)cases[i].len;
      g_autofree char *copy = g_memdup2 (cases[i].in, len ? len : 1); /* not NUL-terminated */
      g_autofree char *message = NULL;
      const char *code = NULL;
      JsonNode *node = lares_json_body_parse (copy, len, 1024, &code, &message);

      g_test_message ("case %zu", i);
      if (cases[i].code == NULL)
        {
          g_assert_nonnull (node);
          g_assert_null (message);
          json_node_unref (node);
        }
      else
        {
          g_assert_null (node);
          g_assert_cmpstr (code, ==, cases[i].code);
          g_assert_nonnull (message);
        }
    }
}

static void
test_body_limits (void)
{
  GString *deep = g_string_new ("{\"a\":");
  g_autofree char *message = NULL, *message2 = NULL;
  const char *code = NULL;

  for (int i = 0; i < LARES_JSON_MAX_DEPTH + 1; i++)
    g_string_append_c (deep, '[');
  g_assert_null (lares_json_body_parse (deep->str, deep->len, 1 << 20, &code, &message));
  g_assert_cmpstr (code, ==, "invalid_json");
  g_assert_nonnull (strstr (message, "deeply"));
  g_string_free (deep, TRUE);

  g_assert_null (lares_json_body_parse ("{\"a\":12345}", 11, 10, &code, &message2));
  g_assert_cmpstr (code, ==, "payload_too_large");
}

static void
test_ws_message (void)
{
  const char *type = NULL, *code = NULL;
  JsonNode *n;

  n = lares_ws_message_parse ("{\"type\":\"ping\"}", 15, &type, &code);
  g_assert_nonnull (n);
  g_assert_cmpstr (type, ==, "ping");
  json_node_unref (n);
  g_assert_null (lares_ws_message_parse ("{\"type\":\"ping\"", 14, &type, &code));
  g_assert_cmpstr (code, ==, "invalid_json");
  g_assert_null (lares_ws_message_parse ("{\"kind\":\"ping\"}", 15, &type, &code));
  g_assert_cmpstr (code, ==, "invalid_message");
  g_assert_null (lares_ws_message_parse ("{\"type\":null}", 13, &type, &code));
  g_assert_cmpstr (code, ==, "invalid_message");
  g_assert_null (lares_ws_message_parse ("7", 1, &type, &code));
  g_assert_cmpstr (code, ==, "invalid_message");
  g_assert_null (lares_ws_message_parse ("", 0, &type, &code));
}

typedef struct
{
  const char *pattern, *path;
  gboolean match, id_ok;
  int64_t id;
} RouteCase;

/* The request's peer address in text, as g_inet_address_to_string says. */
static void
test_address_format (void)
{
  static const char *const fixed[] = { "0.0.0.0",
                                       "255.255.255.255",
                                       "127.0.0.1",
                                       "10.0.0.1",
                                       "1.20.199.9",
                                       "::1",
                                       "::",
                                       "fe80::1",
                                       "::ffff:1.2.3.4",
                                       "2001:db8::8a2e:370:7334",
                                       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" };
  g_autoptr (GRand) rand = g_rand_new_with_seed (4);

  for (size_t i = 0; i < G_N_ELEMENTS (fixed) + 20000; i++)
    {
      g_autoptr (GInetAddress) addr = NULL;
      g_autofree char *expected = NULL;
      char out[LARES_ADDRESS_TEXT_MAX];

      if (i < G_N_ELEMENTS (fixed))
        addr = g_inet_address_new_from_string (fixed[i]);
      else
        {
          uint8_t bytes[16];

          for (size_t k = 0; k < sizeof bytes; k++)
            bytes[k] = (uint8_t)g_rand_int_range (rand, 0, i % 3 ? 256 : 3);
          addr = g_inet_address_new_from_bytes (bytes, i % 2 ? G_SOCKET_FAMILY_IPV4
                                                             : G_SOCKET_FAMILY_IPV6);
        }
      expected = g_inet_address_to_string (addr);
      lares_inet_address_format (addr, out);
      g_assert_cmpstr (out, ==, expected);
    }
}

static void
test_route_match (void)
{
  static const RouteCase cases[] = {
    { "/healthz", "/healthz", TRUE, TRUE, 0 },
    { "/healthz", "/healthz/", FALSE, TRUE, 0 },
    { "/healthz", "/health", FALSE, TRUE, 0 },
    { "/api/v1/notes/{id}", "/api/v1/notes/42", TRUE, TRUE, 42 },
    { "/api/v1/notes/{id}", "/api/v1/notes/042", TRUE, TRUE, 42 },
    { "/api/v1/notes/{id}", "/api/v1/notes/0", TRUE, FALSE, 0 },
    { "/api/v1/notes/{id}", "/api/v1/notes/-1", TRUE, FALSE, 0 },
    { "/api/v1/notes/{id}", "/api/v1/notes/1e3", TRUE, FALSE, 0 },
    { "/api/v1/notes/{id}", "/api/v1/notes/9223372036854775807", TRUE, TRUE, INT64_MAX },
    { "/api/v1/notes/{id}", "/api/v1/notes/9223372036854775808", TRUE, FALSE, 0 },
    { "/api/v1/notes/{id}", "/api/v1/notes/", FALSE, FALSE, 0 },
    { "/api/v1/notes/{id}", "/api/v1/notes/5/x", FALSE, TRUE, 5 },
    { "/api/v1/notes/{id}/x", "/api/v1/notes/5/x", TRUE, TRUE, 5 },
    { "/api/v1/tools/{name}", "/api/v1/tools/task.delete_many", TRUE, TRUE, 0 },
    { "/api/v1/tools/{name}", "/api/v1/tools/time_now-2", TRUE, TRUE, 0 },
    { "/api/v1/tools/{name}", "/api/v1/tools/", FALSE, TRUE, 0 },
    { "/api/v1/tools/{name}", "/api/v1/tools/a b", FALSE, TRUE, 0 },
    { "/api/v1/tools/{name}", "/api/v1/tools/a/b", FALSE, TRUE, 0 },
    { "/api/v1/tools/{name}", "/api/v1/tools/%2e", FALSE, TRUE, 0 },
    { "/api/v1/tools/{name}/x", "/api/v1/tools/a/x", TRUE, TRUE, 0 },
    { "/api/v1/tools/{name}",
      "/api/v1/tools/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", TRUE, TRUE,
      0 },
    { "/api/v1/tools/{name}",
      "/api/v1/tools/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", FALSE,
      TRUE, 0 },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      int64_t id = -7;
      gboolean ok = TRUE;
      gboolean m = lares_route_match (cases[i].pattern, cases[i].path, &id, &ok);

      g_test_message ("%s vs %s", cases[i].pattern, cases[i].path);
      g_assert_cmpint (m, ==, cases[i].match);
      if (m)
        {
          g_assert_cmpint (ok, ==, cases[i].id_ok);
          if (ok && strstr (cases[i].pattern, "{id}"))
            g_assert_cmpint (id, ==, cases[i].id);
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/http-parse/body", test_body);
  g_test_add_func ("/http-parse/body-limits", test_body_limits);
  g_test_add_func ("/http-parse/ws-message", test_ws_message);
  g_test_add_func ("/http-parse/route-match", test_route_match);
  g_test_add_func ("/http-parse/address-format", test_address_format);
  return g_test_run ();
}
