/* test-auth.c — passwords, secrets, header parsing, throttling, allowlist. */
#include "config.h"

#include "lares-auth.h"

static void
test_password_vector (void)
{
  /* PROTOCOLS.md §6 [V]: Debian's argon2 CLI, password "password", salt
   * "somesaltsalt", m=19456, t=2, p=1. */
  const char *vector = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzYWx0$"
                       "k39qfyL/GTXyek3gSQkXOnKqiWZD9A5UsqAyIG8UFIQ";

  g_assert_true (lares_password_verify (vector, "password"));
  g_assert_false (lares_password_verify (vector, "Password"));
  g_assert_false (lares_password_verify (vector, ""));
  g_assert_false (lares_password_verify (NULL, "password"));
}

static void
test_password_hash (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *a = lares_password_hash ("correct horse", &error);
  g_autofree char *b = lares_password_hash ("correct horse", &error);

  g_assert_no_error (error);
  /* OWASP's minimum parameters, and a fresh salt each time. */
  g_assert_true (g_str_has_prefix (a, "$argon2id$v=19$m=19456,t=2,p=1$"));
  g_assert_cmpstr (a, !=, b);
  g_assert_true (lares_password_verify (a, "correct horse"));
  g_assert_false (lares_password_verify (a, "correct horsE"));
}

static void
test_password_policy (void)
{
  g_autofree char *gen = lares_password_generate ();
  g_autofree char *huge = g_strnfill (LARES_PASSWORD_MAX + 1, 'x');

  g_assert_nonnull (lares_password_check_policy ("short"));
  g_assert_nonnull (lares_password_check_policy ("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8"));
  g_assert_nonnull (lares_password_check_policy (huge));
  g_assert_null (lares_password_check_policy ("eight ch"));
  g_assert_null (lares_password_check_policy ("pässwörd"));
  g_assert_cmpuint (strlen (gen), ==, 20);
  g_assert_null (lares_password_check_policy (gen));
}

static void
test_secrets (void)
{
  char t1[LARES_SECRET_TEXT], t2[LARES_SECRET_TEXT];
  uint8_t d1[LARES_DIGEST_LEN], d2[LARES_DIGEST_LEN], again[LARES_DIGEST_LEN];

  lares_secret_new (TRUE, t1, d1);
  lares_secret_new (FALSE, t2, d2);
  g_assert_true (g_str_has_prefix (t1, "lrs_"));
  g_assert_cmpuint (strlen (t1), ==, 4 + 43); /* 256 bits, base64url without padding */
  g_assert_cmpuint (strlen (t2), ==, 43);
  for (const char *p = t2; *p; p++)
    g_assert_true (g_ascii_isalnum (*p) || *p == '-' || *p == '_');
  lares_secret_digest (t1, strlen (t1), again);
  g_assert_cmpmem (d1, sizeof d1, again, sizeof again);
  g_assert_true (memcmp (d1, d2, sizeof d1) != 0);
}

typedef struct
{
  const char *header;
  const char *token; /* NULL: refused */
} BearerCase;

static void
test_bearer (void)
{
  static const BearerCase cases[] = {
    { "Bearer abc", "abc" },     { "bearer abc", "abc" },
    { "BEARER   abc  ", "abc" }, { "Bearer", NULL },
    { "Bearer ", NULL },         { "Bearer a b", NULL },
    { "Basic abc", NULL },       { "Bearerabc", NULL },
    { "Bearer \xc3\xa9", NULL }, { "", NULL },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      size_t len = 0;
      const char *t = lares_auth_parse_bearer (cases[i].header, &len);
      g_test_message ("'%s'", cases[i].header);
      if (cases[i].token == NULL)
        g_assert_null (t);
      else
        {
          g_assert_nonnull (t);
          g_assert_cmpmem (t, len, cases[i].token, strlen (cases[i].token));
        }
    }
  g_assert_null (lares_auth_parse_bearer (NULL, NULL));
  {
    g_autofree char *big = g_strnfill (300, 'a');
    g_autofree char *header = g_strconcat ("Bearer ", big, NULL);
    size_t len;
    g_assert_null (lares_auth_parse_bearer (header, &len));
  }
}

static void
test_cookie (void)
{
  struct
  {
    const char *header, *value;
  } cases[] = {
    { "lares_session=abc", "abc" },
    { "theme=dark; lares_session=abc", "abc" },
    { "lares_session=abc; theme=dark", "abc" },
    { "lares_sessionX=1; lares_session=2", "2" },
    { "xlares_session=1", NULL },
    { "lares_session=", NULL },
    { "lares_session", NULL },
    { "", NULL },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *v = lares_auth_cookie_value (cases[i].header, LARES_SESSION_COOKIE);
      g_assert_cmpstr (v, ==, cases[i].value);
    }
  g_assert_null (lares_auth_cookie_value (NULL, LARES_SESSION_COOKIE));
}

static void
test_rate_limit (void)
{
  g_autoptr (LaresRateLimit) rl = lares_rate_limit_new (3, 60000, 900000);
  int64_t t = 1000000;

  g_assert_cmpint (lares_rate_limit_check (rl, "ip", t), ==, 0);
  g_assert_false (lares_rate_limit_fail (rl, "ip", t));
  g_assert_false (lares_rate_limit_fail (rl, "ip", t + 1));
  g_assert_true (lares_rate_limit_fail (rl, "ip", t + 2)); /* the third starts a lockout */
  g_assert_cmpint (lares_rate_limit_check (rl, "ip", t + 2), ==, 900000);
  g_assert_cmpint (lares_rate_limit_check (rl, "other", t + 2), ==, 0);
  g_assert_cmpint (lares_rate_limit_check (rl, "ip", t + 2 + 900000), ==, 0);
  /* Failures spread beyond the window never add up to a lockout. */
  for (int i = 0; i < 10; i++)
    g_assert_false (lares_rate_limit_fail (rl, "slow", t + i * 61000));
  lares_rate_limit_fail (rl, "reset-me", t);
  lares_rate_limit_fail (rl, "reset-me", t);
  lares_rate_limit_reset (rl, "reset-me");
  g_assert_false (lares_rate_limit_fail (rl, "reset-me", t));
}

static void
test_allow_list (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LaresAllowList) list = lares_allow_list_parse ("192.168.1.0/24, 10.0.0.7", &error);
  g_autoptr (LaresAllowList) empty = lares_allow_list_parse ("", &error);
  g_autoptr (LaresAllowList) bad = NULL;
  struct
  {
    const char *addr;
    gboolean ok;
  } cases[] = {
    { "192.168.1.20", TRUE }, { "192.168.2.20", FALSE }, { "10.0.0.7", TRUE },
    { "10.0.0.8", FALSE },    { "127.0.0.1", TRUE },     { "::1", TRUE },
    { "fe80::1", FALSE },
  };

  g_assert_no_error (error);
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GInetAddress) a = g_inet_address_new_from_string (cases[i].addr);
      g_assert_cmpint (lares_allow_list_allows (list, a), ==, cases[i].ok);
    }
  g_assert_true (lares_allow_list_is_empty (empty));
  bad = lares_allow_list_parse ("192.168.1.0/33", &error);
  g_assert_null (bad);
  g_assert_nonnull (strstr (error->message, "192.168.1.0/33"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (lares_auth_init (NULL));
  g_test_add_func ("/auth/password-vector", test_password_vector);
  g_test_add_func ("/auth/password-hash", test_password_hash);
  g_test_add_func ("/auth/password-policy", test_password_policy);
  g_test_add_func ("/auth/secrets", test_secrets);
  g_test_add_func ("/auth/bearer", test_bearer);
  g_test_add_func ("/auth/cookie", test_cookie);
  g_test_add_func ("/auth/rate-limit", test_rate_limit);
  g_test_add_func ("/auth/allow-list", test_allow_list);
  return g_test_run ();
}
