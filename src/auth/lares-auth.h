/* lares-auth.h — passwords, secrets, credential parsing, login throttling
 * and the network allowlist (SPEC §8, PROTOCOLS.md §6).
 *
 * - Passwords: Argon2id through libsodium, m=19 MiB, t=2, p=1 (OWASP's
 *   minimum), verified in constant time.  Hashing takes tens of ms of CPU:
 *   never call it on the main loop (lares_password_*_async run on a worker).
 * - Session ids and API tokens: 256 random bits, shown once as URL-safe
 *   base64 (tokens with an "lrs_" prefix so they are recognisable in a
 *   leaked file), stored as SHA-256 digests.
 * - Header parsers take outside input and never read past the string.
 */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

#include "lares-credentials.h"

G_BEGIN_DECLS

#define LARES_AUTH_ERROR (lares_auth_error_quark ())
GQuark lares_auth_error_quark (void);

typedef enum
{
  LARES_AUTH_ERROR_FAILED,
  LARES_AUTH_ERROR_WEAK_PASSWORD,
} LaresAuthError;

#define LARES_PASSWORD_MIN   8
#define LARES_PASSWORD_MAX   1024 /* bytes; longer inputs are refused, not truncated */
#define LARES_SECRET_TEXT    48   /* room for "lrs_" + 43 base64url chars + NUL */
#define LARES_SESSION_COOKIE "lares_session"

/* Must be called once before anything else here (initializes libsodium). */
gboolean lares_auth_init (GError **error);

/* Blocking: run on a worker thread. */
char *lares_password_hash (const char *password, GError **error);
gboolean lares_password_verify (const char *hash, const char *password);
/* A password for a new account: 20 characters from an unambiguous
 * alphabet (~110 bits).  (transfer full) */
char *lares_password_generate (void);
/* NULL if acceptable, else why not (static string). */
const char *lares_password_check_policy (const char *password);

/* Hash @password on a worker thread.  Finish returns the hash (transfer full). */
void lares_password_hash_async (const char *password, GAsyncReadyCallback callback,
                                gpointer user_data);
char *lares_password_hash_finish (GAsyncResult *result, GError **error);
/* Verify on a worker thread.  A NULL @hash still spends the same time, so a
 * missing user cannot be told from a wrong password by timing. */
void lares_password_verify_async (const char *hash, const char *password,
                                  GAsyncReadyCallback callback, gpointer user_data);
gboolean lares_password_verify_finish (GAsyncResult *result);

/* A new random secret: @text gets its printable form (with "lrs_" when
 * @token), @digest its SHA-256. */
void lares_secret_new (gboolean token, char text[LARES_SECRET_TEXT],
                       uint8_t digest[LARES_DIGEST_LEN]);
void lares_secret_digest (const char *text, size_t len, uint8_t digest[LARES_DIGEST_LEN]);

/* "Bearer <token>" -> the token (pointer into @header, length in @len), or
 * NULL.  The scheme is case-insensitive; the token must be 1..256 visible
 * ASCII characters. */
const char *lares_auth_parse_bearer (const char *header, size_t *len);
/* The value of cookie @name in a Cookie header, or NULL.  (transfer full) */
char *lares_auth_cookie_value (const char *header, const char *name);

/* Login throttling: failures per key (an IP, a user name) in a window; past
 * @max_failures the key is locked out for @lockout_ms. */
typedef struct _LaresRateLimit LaresRateLimit;
LaresRateLimit *lares_rate_limit_new (unsigned max_failures, int64_t window_ms, int64_t lockout_ms);
void lares_rate_limit_free (LaresRateLimit *rl);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresRateLimit, lares_rate_limit_free)
/* Milliseconds until @key may try again, 0 if it may now. */
int64_t lares_rate_limit_check (LaresRateLimit *rl, const char *key, int64_t now_ms);
/* Record a failure; returns TRUE when this one started a lockout. */
gboolean lares_rate_limit_fail (LaresRateLimit *rl, const char *key, int64_t now_ms);
void lares_rate_limit_reset (LaresRateLimit *rl, const char *key);

/* The network allowlist: comma-separated CIDRs ("192.168.1.0/24, ::1").
 * Loopback is always allowed. */
typedef struct _LaresAllowList LaresAllowList;
LaresAllowList *lares_allow_list_parse (const char *text, GError **error);
void lares_allow_list_free (LaresAllowList *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresAllowList, lares_allow_list_free)
gboolean lares_allow_list_is_empty (LaresAllowList *list);
gboolean lares_allow_list_allows (LaresAllowList *list, GInetAddress *addr);

G_END_DECLS
