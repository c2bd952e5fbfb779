/* lares-credentials.c — SQL for sessions, tokens and the audit log.
 *
 * DESIGN: no state; called on store threads, on the gateway's read-only
 * lookup connection (lookups only) or by the CLI on its own connection.
 */
#include "config.h"

#include "lares-credentials.h"

#include "lares-store.h"

static gboolean
step_done (sqlite3 *db, sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  return TRUE;
}

gboolean
lares_credentials_lookup (sqlite3 *db, LaresCredentialKind kind,
                          const uint8_t digest[LARES_DIGEST_LEN], int64_t now_ms, int64_t idle_ms,
                          LaresCredential *out, GError **error)
{
  const char *sql =
      kind == LARES_CREDENTIAL_SESSION
          ? "SELECT s.id, s.user_id, u.role, s.last_seen_at FROM sessions s "
            "JOIN users u ON u.id = s.user_id "
            "WHERE s.digest = ?1 AND s.expires_at > ?2 AND s.last_seen_at > ?2 - ?3"
          : "SELECT t.id, t.user_id, u.role, coalesce(t.last_used_at, 0) FROM tokens t "
            "JOIN users u ON u.id = t.user_id "
            "WHERE t.digest = ?1 AND t.revoked_at IS NULL "
            "AND (t.expires_at IS NULL OR t.expires_at > ?2)";
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (db, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, digest, LARES_DIGEST_LEN, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, now_ms);
  if (kind == LARES_CREDENTIAL_SESSION)
    sqlite3_bind_int64 (stmt, 3, idle_ms);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND,
                   "unknown or expired credential");
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    return lares_sql_throw (db, rc, error);
  out->kind = kind;
  out->id = sqlite3_column_int64 (stmt, 0);
  out->user_id = sqlite3_column_int64 (stmt, 1);
  g_strlcpy (out->role, (const char *)sqlite3_column_text (stmt, 2), sizeof out->role);
  out->last_seen_at = sqlite3_column_int64 (stmt, 3);
  return TRUE;
}

gboolean
lares_sessions_insert (sqlite3 *db, int64_t user_id, const uint8_t digest[LARES_DIGEST_LEN],
                       int64_t now_ms, int64_t expires_at, int64_t *out_id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "INSERT INTO sessions (user_id, digest, created_at, last_seen_at, expires_at) "
      "VALUES (?1, ?2, ?3, ?3, ?4)",
      error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_blob (stmt, 2, digest, LARES_DIGEST_LEN, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, now_ms);
  sqlite3_bind_int64 (stmt, 4, expires_at);
  if (!step_done (db, stmt, error))
    return FALSE;
  if (out_id)
    *out_id = sqlite3_last_insert_rowid (db);
  return TRUE;
}

gboolean
lares_sessions_touch (sqlite3 *db, int64_t id, int64_t now_ms, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db, "UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_int64 (stmt, 2, now_ms);
  return step_done (db, stmt, error);
}

gboolean
lares_sessions_delete (sqlite3 *db, int64_t id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db, "DELETE FROM sessions WHERE id = ?1", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  return step_done (db, stmt, error);
}

gboolean
lares_tokens_insert (sqlite3 *db, int64_t user_id, const char *name,
                     const uint8_t digest[LARES_DIGEST_LEN], int64_t now_ms, int64_t expires_at,
                     int64_t *out_id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db,
                        "INSERT INTO tokens (user_id, name, digest, created_at, expires_at) "
                        "VALUES (?1, ?2, ?3, ?4, ?5)",
                        error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_text (stmt, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_blob (stmt, 3, digest, LARES_DIGEST_LEN, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, now_ms);
  if (expires_at > 0)
    sqlite3_bind_int64 (stmt, 5, expires_at);
  else
    sqlite3_bind_null (stmt, 5);
  if (!step_done (db, stmt, error))
    return FALSE;
  if (out_id)
    *out_id = sqlite3_last_insert_rowid (db);
  return TRUE;
}

static void
add_nullable_int (JsonBuilder *b, const char *name, sqlite3_stmt *stmt, int col)
{
  json_builder_set_member_name (b, name);
  if (sqlite3_column_type (stmt, col) == SQLITE_NULL)
    json_builder_add_null_value (b);
  else
    json_builder_add_int_value (b, sqlite3_column_int64 (stmt, col));
}

JsonNode *
lares_tokens_list (sqlite3 *db, int64_t user_id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "SELECT id, name, created_at, expires_at, revoked_at, last_used_at FROM tokens "
      "WHERE user_id = ?1 ORDER BY id",
      error);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  json_builder_begin_array (b);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_int_value (b, sqlite3_column_int64 (stmt, 0));
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, (const char *)sqlite3_column_text (stmt, 1));
      json_builder_set_member_name (b, "created_at");
      json_builder_add_int_value (b, sqlite3_column_int64 (stmt, 2));
      add_nullable_int (b, "expires_at", stmt, 3);
      add_nullable_int (b, "revoked_at", stmt, 4);
      add_nullable_int (b, "last_used_at", stmt, 5);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  return json_builder_get_root (b);
}

gboolean
lares_tokens_revoke (sqlite3 *db, int64_t user_id, int64_t id, int64_t now_ms, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db, "UPDATE tokens SET revoked_at = ?3 WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
      error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_int64 (stmt, 2, user_id);
  sqlite3_bind_int64 (stmt, 3, now_ms);
  if (!step_done (db, stmt, error))
    return FALSE;
  if (sqlite3_changes (db) == 0)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND, "no such token");
      return FALSE;
    }
  return TRUE;
}

gboolean
lares_audit_append (sqlite3 *db, int64_t now_ms, int64_t user_id, const char *event, const char *ip,
                    const char *detail, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db, "INSERT INTO audit (at, user_id, event, ip, detail) VALUES (?1, ?2, ?3, ?4, ?5)", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, now_ms);
  if (user_id > 0)
    sqlite3_bind_int64 (stmt, 2, user_id);
  else
    sqlite3_bind_null (stmt, 2);
  sqlite3_bind_text (stmt, 3, event, -1, SQLITE_STATIC);
  if (ip)
    sqlite3_bind_text (stmt, 4, ip, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, 4);
  sqlite3_bind_text (stmt, 5, detail ? detail : "{}", -1, SQLITE_STATIC);
  return step_done (db, stmt, error);
}

JsonNode *
lares_audit_list (sqlite3 *db, int64_t before_id, unsigned limit, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "SELECT a.id, a.at, a.user_id, u.name, a.event, a.ip, a.detail FROM audit a "
      "LEFT JOIN users u ON u.id = a.user_id WHERE a.id < ?1 ORDER BY a.id DESC LIMIT ?2",
      error);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, before_id > 0 ? before_id : INT64_MAX);
  sqlite3_bind_int (stmt, 2, (int)limit);
  json_builder_begin_array (b);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autoptr (JsonParser) p = json_parser_new ();
      const char *detail = (const char *)sqlite3_column_text (stmt, 6);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_int_value (b, sqlite3_column_int64 (stmt, 0));
      json_builder_set_member_name (b, "at");
      json_builder_add_int_value (b, sqlite3_column_int64 (stmt, 1));
      add_nullable_int (b, "user_id", stmt, 2);
      json_builder_set_member_name (b, "user");
      if (sqlite3_column_type (stmt, 3) == SQLITE_NULL)
        json_builder_add_null_value (b);
      else
        json_builder_add_string_value (b, (const char *)sqlite3_column_text (stmt, 3));
      json_builder_set_member_name (b, "event");
      json_builder_add_string_value (b, (const char *)sqlite3_column_text (stmt, 4));
      json_builder_set_member_name (b, "ip");
      if (sqlite3_column_type (stmt, 5) == SQLITE_NULL)
        json_builder_add_null_value (b);
      else
        json_builder_add_string_value (b, (const char *)sqlite3_column_text (stmt, 5));
      json_builder_set_member_name (b, "detail");
      if (detail && json_parser_load_from_data (p, detail, -1, NULL) && json_parser_get_root (p))
        json_builder_add_value (b, json_node_copy (json_parser_get_root (p)));
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  return json_builder_get_root (b);
}
