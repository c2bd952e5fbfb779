/* lares-users.c — SQL for users.
 *
 * DESIGN: called on store threads (or at start-up, or by the CLI on its own
 * connection); no state of its own.
 */
#include "config.h"

#include "lares-users.h"

#include "lares-store.h"

#define USER_COLUMNS "id, name, role, password_hash, created_at"

void
lares_user_free (LaresUser *user)
{
  if (user == NULL)
    return;
  g_free (user->name);
  g_free (user->role);
  if (user->password_hash)
    memset (user->password_hash, 0, strlen (user->password_hash));
  g_free (user->password_hash);
  g_free (user);
}

JsonNode *
lares_user_to_json (const LaresUser *user)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, user->id);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, user->name);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, user->role);
  json_builder_set_member_name (b, "created_at");
  json_builder_add_int_value (b, user->created_at);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static LaresUser *
user_from_row (sqlite3_stmt *stmt)
{
  LaresUser *u = g_new0 (LaresUser, 1);

  u->id = sqlite3_column_int64 (stmt, 0);
  u->name = g_strdup ((const char *)sqlite3_column_text (stmt, 1));
  u->role = g_strdup ((const char *)sqlite3_column_text (stmt, 2));
  u->password_hash = g_strdup ((const char *)sqlite3_column_text (stmt, 3));
  u->created_at = sqlite3_column_int64 (stmt, 4);
  return u;
}

static LaresUser *
one_user (sqlite3 *db, sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW)
    return user_from_row (stmt);
  if (rc == SQLITE_DONE)
    g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND, "no such user");
  else
    lares_sql_throw (db, rc, error);
  return NULL;
}

gboolean
lares_users_ensure_admin (sqlite3 *db, int64_t now_ms, int64_t *out_id, gboolean *created,
                          GError **error)
{
  g_autoptr (sqlite3_stmt) find =
      lares_sql_cached (db, "SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1", error);
  int rc;

  if (find == NULL)
    return FALSE;
  rc = sqlite3_step (find);
  if (rc == SQLITE_ROW)
    {
      *out_id = sqlite3_column_int64 (find, 0);
      *created = FALSE;
      return TRUE;
    }
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  if (!lares_users_insert (db, "admin", "admin", NULL, now_ms, out_id, error))
    return FALSE;
  *created = TRUE;
  return TRUE;
}

LaresUser *
lares_users_get (sqlite3 *db, int64_t id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db, "SELECT " USER_COLUMNS " FROM users WHERE id = ?1", error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, id);
  return one_user (db, stmt, error);
}

LaresUser *
lares_users_find (sqlite3 *db, const char *name, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db, "SELECT " USER_COLUMNS " FROM users WHERE name = ?1", error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  return one_user (db, stmt, error);
}

GPtrArray *
lares_users_list (sqlite3 *db, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db, "SELECT " USER_COLUMNS " FROM users ORDER BY id", error);
  g_autoptr (GPtrArray) users = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_user_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (users, user_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  return g_steal_pointer (&users);
}

gboolean
lares_users_insert (sqlite3 *db, const char *name, const char *role, const char *password_hash,
                    int64_t now_ms, int64_t *out_id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "INSERT INTO users (name, role, password_hash, password_changed_at, created_at) "
      "VALUES (?1, ?2, ?3, ?4, ?4)",
      error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, role, -1, SQLITE_STATIC);
  if (password_hash)
    sqlite3_bind_text (stmt, 3, password_hash, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, 3);
  sqlite3_bind_int64 (stmt, 4, now_ms);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  if (out_id)
    *out_id = sqlite3_last_insert_rowid (db);
  return TRUE;
}

gboolean
lares_users_set_password (sqlite3 *db, int64_t id, const char *password_hash, int64_t now_ms,
                          int64_t keep_session_id, GError **error)
{
  g_autoptr (sqlite3_stmt) upd = lares_sql_cached (
      db, "UPDATE users SET password_hash = ?2, password_changed_at = ?3 WHERE id = ?1", error);
  g_autoptr (sqlite3_stmt) end = NULL;
  int rc;

  if (upd == NULL)
    return FALSE;
  sqlite3_bind_int64 (upd, 1, id);
  sqlite3_bind_text (upd, 2, password_hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (upd, 3, now_ms);
  rc = sqlite3_step (upd);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  if (sqlite3_changes (db) == 0)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND, "no such user");
      return FALSE;
    }
  end = lares_sql_cached (db, "DELETE FROM sessions WHERE user_id = ?1 AND id != ?2", error);
  if (end == NULL)
    return FALSE;
  sqlite3_bind_int64 (end, 1, id);
  sqlite3_bind_int64 (end, 2, keep_session_id);
  rc = sqlite3_step (end);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  return TRUE;
}

gboolean
lares_users_delete (sqlite3 *db, int64_t id, GError **error)
{
  g_autoptr (sqlite3_stmt) del =
      lares_sql_cached (db,
                        "DELETE FROM users WHERE id = ?1 AND (role != 'admin' OR "
                        "(SELECT count(*) FROM users WHERE role = 'admin') > 1)",
                        error);
  g_autoptr (LaresUser) existing = NULL;
  int rc;

  if (del == NULL)
    return FALSE;
  existing = lares_users_get (db, id, error);
  if (existing == NULL)
    return FALSE;
  sqlite3_bind_int64 (del, 1, id);
  rc = sqlite3_step (del);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  if (sqlite3_changes (db) == 0)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT, "'%s' is the last admin",
                   existing->name);
      return FALSE;
    }
  return TRUE;
}
