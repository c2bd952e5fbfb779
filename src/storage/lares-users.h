/* lares-users.h — the users table.
 *
 * Plain functions over a connection, for store threads (and for the CLI's
 * own connection).  Passwords arrive already hashed: hashing is the auth
 * layer's job and too slow for a store thread.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <stdint.h>

G_BEGIN_DECLS

#define LARES_USER_NAME_MAX 64

typedef struct
{
  int64_t id;
  char *name;          /* owned */
  char *role;          /* "admin" or "user" (owned) */
  char *password_hash; /* Argon2id string, nullable (owned) */
  int64_t created_at;  /* Unix ms */
} LaresUser;

void lares_user_free (LaresUser *user);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresUser, lares_user_free)

/* Public fields only: never the hash.  (transfer full) */
JsonNode *lares_user_to_json (const LaresUser *user);

/* Make sure a first admin user exists.  @out_id: OUT its id; @created: OUT
 * TRUE when this call made it (it then has no password yet). */
gboolean lares_users_ensure_admin (sqlite3 *db, int64_t now_ms, int64_t *out_id, gboolean *created,
                                   GError **error);

/* NOT_FOUND when missing. */
LaresUser *lares_users_get (sqlite3 *db, int64_t id, GError **error);
LaresUser *lares_users_find (sqlite3 *db, const char *name, GError **error);
/* GPtrArray of LaresUser, by id. */
GPtrArray *lares_users_list (sqlite3 *db, GError **error);

/* CONSTRAINT when the name is taken (names compare case-insensitively). */
gboolean lares_users_insert (sqlite3 *db, const char *name, const char *role,
                             const char *password_hash, int64_t now_ms, int64_t *out_id,
                             GError **error);

/* Set the hash and end every session of the user except @keep_session_id
 * (0: end them all). */
gboolean lares_users_set_password (sqlite3 *db, int64_t id, const char *password_hash,
                                   int64_t now_ms, int64_t keep_session_id, GError **error);

/* Refuses (CONSTRAINT) to delete the last admin. */
gboolean lares_users_delete (sqlite3 *db, int64_t id, GError **error);

G_END_DECLS
