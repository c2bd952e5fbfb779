/* lares-credentials.h — sessions and API tokens as stored.
 *
 * Only SHA-256 digests of the secrets are stored (LARES_DIGEST_LEN bytes);
 * the secrets themselves are shown once and never written anywhere.
 * Lookups return the owner and role so one point query authenticates a
 * request.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <stdint.h>

G_BEGIN_DECLS

#define LARES_DIGEST_LEN 32

typedef enum
{
  LARES_CREDENTIAL_SESSION,
  LARES_CREDENTIAL_TOKEN,
} LaresCredentialKind;

typedef struct
{
  LaresCredentialKind kind;
  int64_t id; /* session or token id */
  int64_t user_id;
  char role[8];         /* "admin" or "user" */
  int64_t last_seen_at; /* sessions: for the idle timeout and throttled touches */
} LaresCredential;

/* Find a live credential by digest.  Sessions expire @idle_ms after their
 * last use and at their absolute expiry; tokens when revoked or expired.
 * NOT_FOUND for anything else. */
gboolean lares_credentials_lookup (sqlite3 *db, LaresCredentialKind kind,
                                   const uint8_t digest[LARES_DIGEST_LEN], int64_t now_ms,
                                   int64_t idle_ms, LaresCredential *out, GError **error);

gboolean lares_sessions_insert (sqlite3 *db, int64_t user_id,
                                const uint8_t digest[LARES_DIGEST_LEN], int64_t now_ms,
                                int64_t expires_at, int64_t *out_id, GError **error);
gboolean lares_sessions_touch (sqlite3 *db, int64_t id, int64_t now_ms, GError **error);
gboolean lares_sessions_delete (sqlite3 *db, int64_t id, GError **error);

gboolean lares_tokens_insert (sqlite3 *db, int64_t user_id, const char *name,
                              const uint8_t digest[LARES_DIGEST_LEN], int64_t now_ms,
                              int64_t expires_at, int64_t *out_id, GError **error);
/* The user's tokens, without digests.  (transfer full) JSON array */
JsonNode *lares_tokens_list (sqlite3 *db, int64_t user_id, GError **error);
/* NOT_FOUND unless @id is a live token of @user_id. */
gboolean lares_tokens_revoke (sqlite3 *db, int64_t user_id, int64_t id, int64_t now_ms,
                              GError **error);

/* Append one audit event.  @user_id 0: none.  @detail: a JSON object text
 * (nullable), never holding a secret. */
gboolean lares_audit_append (sqlite3 *db, int64_t now_ms, int64_t user_id, const char *event,
                             const char *ip, const char *detail, GError **error);
/* Newest first.  (transfer full) JSON array */
JsonNode *lares_audit_list (sqlite3 *db, int64_t before_id, unsigned limit, GError **error);

G_END_DECLS
