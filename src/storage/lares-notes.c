/* lares-notes.c — SQL for notes.
 *
 * DESIGN: called on store threads only; no state of its own.
 */
#include "config.h"

#include "lares-notes.h"

#include "lares-store.h"

void
lares_note_free (LaresNote *note)
{
  if (note == NULL)
    return;
  g_free (note->title);
  g_free (note->body);
  g_free (note);
}

JsonNode *
lares_note_to_json (const LaresNote *note)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, note->id);
  json_builder_set_member_name (b, "title");
  json_builder_add_string_value (b, note->title);
  json_builder_set_member_name (b, "body");
  json_builder_add_string_value (b, note->body);
  json_builder_set_member_name (b, "created_at");
  json_builder_add_int_value (b, note->created_at);
  json_builder_set_member_name (b, "updated_at");
  json_builder_add_int_value (b, note->updated_at);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static LaresNote *
note_from_row (sqlite3_stmt *stmt)
{
  LaresNote *note = g_new0 (LaresNote, 1);

  note->id = sqlite3_column_int64 (stmt, 0);
  note->user_id = sqlite3_column_int64 (stmt, 1);
  note->title = g_strdup ((const char *)sqlite3_column_text (stmt, 2));
  note->body = g_strdup ((const char *)sqlite3_column_text (stmt, 3));
  note->created_at = sqlite3_column_int64 (stmt, 4);
  note->updated_at = sqlite3_column_int64 (stmt, 5);
  return note;
}

#define NOTE_COLUMNS "id, user_id, title, body, created_at, updated_at"

gboolean
lares_notes_insert (sqlite3 *db, int64_t user_id, const char *title, const char *body,
                    int64_t now_ms, LaresNote **out, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_prepare (db,
                         "INSERT INTO notes (user_id, title, body, created_at, updated_at) "
                         "VALUES (?1, ?2, ?3, ?4, ?4) RETURNING " NOTE_COLUMNS,
                         error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_text (stmt, 2, title ? title : "", -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, body, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, now_ms);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    return lares_sql_throw (db, rc, error);
  if (out)
    *out = note_from_row (stmt);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  return TRUE;
}

LaresNote *
lares_notes_get (sqlite3 *db, int64_t user_id, int64_t id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_prepare (
      db, "SELECT " NOTE_COLUMNS " FROM notes WHERE user_id = ?1 AND id = ?2", error);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return note_from_row (stmt);
  if (rc == SQLITE_DONE)
    g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND, "no note %" G_GINT64_FORMAT,
                 id);
  else
    lares_sql_throw (db, rc, error);
  return NULL;
}

GPtrArray *
lares_notes_list (sqlite3 *db, int64_t user_id, int64_t before_id, unsigned limit, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_prepare (db,
                         "SELECT " NOTE_COLUMNS " FROM notes WHERE user_id = ?1 AND id < ?2 "
                         "ORDER BY id DESC LIMIT ?3",
                         error);
  g_autoptr (GPtrArray) notes = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_note_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, before_id > 0 ? before_id : INT64_MAX);
  sqlite3_bind_int (stmt, 3, (int)limit);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (notes, note_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  return g_steal_pointer (&notes);
}

gboolean
lares_notes_delete (sqlite3 *db, int64_t user_id, int64_t id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_prepare (db, "DELETE FROM notes WHERE user_id = ?1 AND id = ?2", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  if (sqlite3_changes (db) == 0)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND,
                   "no note %" G_GINT64_FORMAT, id);
      return FALSE;
    }
  return TRUE;
}
