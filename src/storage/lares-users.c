/* lares-users.c — SQL for users.
 *
 * DESIGN: called on store threads (or at start-up); no state of its own.
 */
#include "config.h"

#include "lares-users.h"

#include "lares-store.h"

gboolean
lares_users_ensure_admin (sqlite3 *db, int64_t now_ms, int64_t *out_id, gboolean *created,
                          GError **error)
{
  g_autoptr (sqlite3_stmt) find = lares_sql_prepare (
      db, "SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1", error);
  g_autoptr (sqlite3_stmt) insert = NULL;
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
  insert = lares_sql_prepare (
      db, "INSERT INTO users (name, role, created_at) VALUES ('admin', 'admin', ?1)", error);
  if (insert == NULL)
    return FALSE;
  sqlite3_bind_int64 (insert, 1, now_ms);
  rc = sqlite3_step (insert);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  *out_id = sqlite3_last_insert_rowid (db);
  *created = TRUE;
  return TRUE;
}
