/* lares-notes.c — SQL for notes, their tags and full-text search; the
 * search-text sanitizer and the snippet converter.
 *
 * DESIGN: the SQL functions are called on store threads only; nothing here
 * has state of its own.  The FTS index and note_tags follow the notes table
 * through triggers (migrations/0004-notes-search.sql), so these functions
 * only ever write notes.
 */
#include "config.h"

#include "lares-notes.h"

#include <string.h>

#include "lares-store.h"
#include "lares-util.h"

void
lares_note_free (LaresNote *note)
{
  if (note == NULL)
    return;
  g_free (note->title);
  g_free (note->body);
  g_strfreev (note->tags);
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
  json_builder_set_member_name (b, "tags");
  json_builder_begin_array (b);
  for (char **t = note->tags; t && *t; t++)
    json_builder_add_string_value (b, *t);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "created_at");
  json_builder_add_int_value (b, note->created_at);
  json_builder_set_member_name (b, "updated_at");
  json_builder_add_int_value (b, note->updated_at);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* notes.tags: a JSON array of strings, as written by tags_to_json. */
static char **
tags_from_json (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  JsonNode *root;

  if (text != NULL && json_parser_load_from_data (parser, text, -1, NULL) &&
      JSON_NODE_HOLDS_ARRAY (root = json_parser_get_root (parser)))
    {
      JsonArray *a = json_node_get_array (root);
      for (unsigned i = 0; i < json_array_get_length (a); i++)
        {
          const char *tag = json_array_get_string_element (a, i);
          if (tag)
            g_strv_builder_add (b, tag);
        }
    }
  return g_strv_builder_end (b);
}

static int
compare_tags (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, without duplicates: the one stored form of a tag set. */
static char *
tags_to_json (const char *const *tags)
{
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();
  GString *out = g_string_new ("[");

  for (size_t i = 0; tags && tags[i]; i++)
    g_ptr_array_add (sorted, (gpointer)tags[i]);
  g_ptr_array_sort (sorted, compare_tags);
  for (unsigned i = 0; i < sorted->len; i++)
    {
      if (i > 0 && strcmp (sorted->pdata[i], sorted->pdata[i - 1]) == 0)
        continue;
      if (out->len > 1)
        g_string_append_c (out, ',');
      lares_json_append_string (out, sorted->pdata[i], -1);
    }
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
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
  note->tags = tags_from_json ((const char *)sqlite3_column_text (stmt, 6));
  return note;
}

#define NOTE_COLUMNS "id, user_id, title, body, created_at, updated_at, tags"

gboolean
lares_notes_insert (sqlite3 *db, int64_t user_id, const char *title, const char *body,
                    int64_t now_ms, LaresNote **out, GError **error)
{
  return lares_notes_insert_tagged (db, user_id, title, body, NULL, now_ms, out, error);
}

gboolean
lares_notes_insert_tagged (sqlite3 *db, int64_t user_id, const char *title, const char *body,
                           const char *const *tags, int64_t now_ms, LaresNote **out, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db,
                        "INSERT INTO notes (user_id, title, body, created_at, updated_at, tags) "
                        "VALUES (?1, ?2, ?3, ?4, ?4, ?5) RETURNING " NOTE_COLUMNS,
                        error);
  g_autofree char *tags_json = tags_to_json (tags);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_text (stmt, 2, title ? title : "", -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, body, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, now_ms);
  sqlite3_bind_text (stmt, 5, tags_json, -1, SQLITE_STATIC);
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
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
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

static GPtrArray *
list_notes (sqlite3_stmt *stmt, sqlite3 *db, GError **error)
{
  g_autoptr (GPtrArray) notes = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_note_free);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (notes, note_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  return g_steal_pointer (&notes);
}

GPtrArray *
lares_notes_list (sqlite3 *db, int64_t user_id, int64_t before_id, unsigned limit, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db,
                        "SELECT " NOTE_COLUMNS " FROM notes WHERE user_id = ?1 AND id < ?2 "
                        "ORDER BY id DESC LIMIT ?3",
                        error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, before_id > 0 ? before_id : INT64_MAX);
  sqlite3_bind_int (stmt, 3, (int)limit);
  return list_notes (stmt, db, error);
}

GPtrArray *
lares_notes_list_tagged (sqlite3 *db, int64_t user_id, const char *tag, int64_t before_id,
                         unsigned limit, GError **error)
{
  /* note_tags (user_id, tag, note_id) gives the order; notes by rowid. */
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "SELECT n.id, n.user_id, n.title, n.body, n.created_at, n.updated_at, n.tags "
      "FROM note_tags t CROSS JOIN notes n ON n.id = t.note_id "
      "WHERE t.user_id = ?1 AND t.tag = ?2 AND t.note_id < ?3 AND n.user_id = ?1 "
      "ORDER BY t.note_id DESC LIMIT ?4",
      error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_text (stmt, 2, tag, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, before_id > 0 ? before_id : INT64_MAX);
  sqlite3_bind_int (stmt, 4, (int)limit);
  return list_notes (stmt, db, error);
}

gboolean
lares_notes_update (sqlite3 *db, int64_t user_id, int64_t id, LaresNoteFields fields,
                    const char *title, const char *body, const char *const *tags, int64_t now_ms,
                    LaresNote **out, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db,
                        "UPDATE notes SET title = CASE WHEN ?3 THEN ?4 ELSE title END, "
                        "body = CASE WHEN ?5 THEN ?6 ELSE body END, "
                        "tags = CASE WHEN ?7 THEN ?8 ELSE tags END, updated_at = ?9 "
                        "WHERE user_id = ?1 AND id = ?2 RETURNING " NOTE_COLUMNS,
                        error);
  g_autofree char *tags_json = tags_to_json (tags);
  int rc;

  g_return_val_if_fail (!(fields & LARES_NOTE_FIELD_BODY) || body != NULL, FALSE);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  sqlite3_bind_int (stmt, 3, (fields & LARES_NOTE_FIELD_TITLE) != 0);
  sqlite3_bind_text (stmt, 4, title ? title : "", -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 5, (fields & LARES_NOTE_FIELD_BODY) != 0);
  sqlite3_bind_text (stmt, 6, body ? body : "", -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 7, (fields & LARES_NOTE_FIELD_TAGS) != 0);
  sqlite3_bind_text (stmt, 8, tags_json, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 9, now_ms);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND,
                   "no note %" G_GINT64_FORMAT, id);
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    return lares_sql_throw (db, rc, error);
  if (out)
    *out = note_from_row (stmt);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  return TRUE;
}

gboolean
lares_notes_delete (sqlite3 *db, int64_t user_id, int64_t id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db, "DELETE FROM notes WHERE user_id = ?1 AND id = ?2", error);
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

gboolean
lares_notes_delete_many (sqlite3 *db, int64_t user_id, const int64_t *ids, unsigned n,
                         GArray **deleted, GError **error)
{
  return lares_sql_delete_ids (db, "DELETE FROM notes WHERE user_id = ?1 AND id = ?2", user_id, ids,
                               n, deleted, error);
}

/* ---- tags ------------------------------------------------------------------------------------ */

char *
lares_note_tag_normalize (const char *tag, const char **why)
{
  g_autofree char *nfc = NULL;
  g_autofree char *lower = NULL;
  const char *p;
  size_t n = 0;

  if (why)
    *why = NULL;
  if (tag == NULL || !g_utf8_validate (tag, -1, NULL))
    {
      if (why)
        *why = "a tag must be UTF-8 text";
      return NULL;
    }
  while (g_ascii_isspace (*tag))
    tag++;
  if (*tag == '#')
    tag++;
  nfc = g_utf8_normalize (tag, -1, G_NORMALIZE_NFC);
  g_strchomp (nfc);
  lower = g_utf8_strdown (nfc, -1);
  for (p = lower; *p; p = g_utf8_next_char (p), n++)
    {
      gunichar c = g_utf8_get_char (p);
      if (!g_unichar_isalnum (c) && !g_unichar_ismark (c) && c != '-' && c != '_')
        {
          if (why)
            *why = "a tag may contain only letters, digits, '-' and '_'";
          return NULL;
        }
    }
  if (n == 0 || n > LARES_NOTE_TAG_MAX)
    {
      if (why)
        *why = "a tag must have 1 to 32 characters";
      return NULL;
    }
  return g_steal_pointer (&lower);
}

/* ---- search text -> FTS5 query ------------------------------------------------------------ */

static gboolean
has_word_char (const char *s, const char *end)
{
  for (const char *p = s; p < end; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_isalnum (c))
        return TRUE;
    }
  return FALSE;
}

char *
lares_notes_query_build (const char *text, const char **why)
{
  g_autoptr (GString) q = g_string_new (NULL);
  unsigned terms = 0;
  const char *p;

  *why = NULL;
  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    {
      *why = "the search text is not valid UTF-8";
      return NULL;
    }
  if (g_utf8_strlen (text, -1) > LARES_NOTES_QUERY_MAX)
    {
      *why = "the search text is longer than 500 characters";
      return NULL;
    }
  p = text;
  for (;;)
    {
      const char *start, *end, *stem_end;
      gboolean prefix = FALSE;

      while (*p && g_unichar_isspace (g_utf8_get_char (p)))
        p = g_utf8_next_char (p);
      if (*p == '\0')
        break;
      start = p;
      while (*p && !g_unichar_isspace (g_utf8_get_char (p)))
        p = g_utf8_next_char (p);
      end = p;
      stem_end = end;
      while (stem_end > start && stem_end[-1] == '*')
        stem_end--, prefix = TRUE;
      /* "--", "*" or an emoji: nothing FTS5 would index. */
      if (!has_word_char (start, stem_end))
        continue;
      if (++terms > LARES_NOTES_QUERY_TERMS_MAX)
        {
          *why = "the search text has more than 16 words";
          return NULL;
        }
      if (q->len)
        g_string_append (q, " AND ");
      /* An FTS5 string: '"' doubled inside, nothing else is special. */
      g_string_append_c (q, '"');
      for (const char *c = start; c < stem_end; c++)
        {
          if (*c == '"')
            g_string_append_c (q, '"');
          g_string_append_c (q, *c);
        }
      g_string_append_c (q, '"');
      if (prefix)
        g_string_append_c (q, '*');
    }
  if (terms == 0)
    {
      *why = "the search text has no words to look for";
      return NULL;
    }
  return g_string_free (g_steal_pointer (&q), FALSE);
}

/* ---- search -----------------------------------------------------------------------------------
 */

void
lares_note_hit_free (LaresNoteHit *hit)
{
  if (hit == NULL)
    return;
  lares_note_free (hit->note);
  g_free (hit->title);
  g_free (hit->snippet);
  g_free (hit);
}

/* The id of the @window-th newest note of @user_id matching @fts_query
 * (below @before_id), or 0 when fewer match.  FTS5 walks its doclist
 * newest first here without scoring anything. */
static gboolean
rank_floor (sqlite3 *db, int64_t user_id, const char *fts_query, int64_t before_id, unsigned window,
            int64_t *floor_id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "SELECT notes_fts.rowid FROM notes_fts CROSS JOIN notes n ON n.id = notes_fts.rowid "
      "WHERE notes_fts MATCH ?1 AND notes_fts.rowid < ?3 AND n.user_id = ?2 "
      "ORDER BY notes_fts.rowid DESC LIMIT 1 OFFSET ?4",
      error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, fts_query, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, user_id);
  sqlite3_bind_int64 (stmt, 3, before_id);
  sqlite3_bind_int (stmt, 4, (int)window - 1);
  rc = sqlite3_step (stmt);
  *floor_id = rc == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  return TRUE;
}

GPtrArray *
lares_notes_search (sqlite3 *db, int64_t user_id, const char *fts_query, int64_t before_id,
                    unsigned offset, unsigned limit, GError **error)
{
  /* FTS5 first (CROSS JOIN keeps that order) so it can hand rows over in
   * rank order; the join back to notes filters by owner.  Only matches at
   * or above the floor are scored (see rank_floor and notes.md, Cost). */
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "SELECT n.id, n.user_id, n.title, n.body, n.created_at, n.updated_at, n.tags, "
      "rank, highlight (notes_fts, 0, char (1), char (2)), "
      "snippet (notes_fts, 1, char (1), char (2), '…', 16) "
      "FROM notes_fts CROSS JOIN notes n ON n.id = notes_fts.rowid "
      "WHERE notes_fts MATCH ?1 AND notes_fts.rowid >= ?6 AND notes_fts.rowid < ?3 "
      "AND n.user_id = ?2 "
      "ORDER BY rank LIMIT ?4 OFFSET ?5",
      error);
  g_autoptr (GPtrArray) hits = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_note_hit_free);
  unsigned window = MAX (LARES_NOTES_RANK_WINDOW, 2 * (offset + limit));
  int64_t before = before_id > 0 ? before_id : INT64_MAX;
  int64_t floor_id = 0;
  int rc;

  if (stmt == NULL || !rank_floor (db, user_id, fts_query, before, window, &floor_id, error))
    return NULL;
  sqlite3_bind_text (stmt, 1, fts_query, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, user_id);
  sqlite3_bind_int64 (stmt, 3, before);
  sqlite3_bind_int (stmt, 4, (int)limit);
  sqlite3_bind_int (stmt, 5, (int)offset);
  sqlite3_bind_int64 (stmt, 6, floor_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      LaresNoteHit *hit = g_new0 (LaresNoteHit, 1);

      hit->note = note_from_row (stmt);
      hit->rank = offset + hits->len + 1;
      hit->score = -sqlite3_column_double (stmt, 7);
      hit->title = g_strdup ((const char *)sqlite3_column_text (stmt, 8));
      hit->snippet = g_strdup ((const char *)sqlite3_column_text (stmt, 9));
      g_ptr_array_add (hits, hit);
    }
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  return g_steal_pointer (&hits);
}

/* Call @emit for each non-empty run of @marked between markers, with
 * whether it is a hit.  A marker inside the note's own text can only move
 * where a highlight starts or ends; markers are never passed on. */
typedef void (*SegmentFunc) (const char *text, size_t len, gboolean hit, gpointer data);

static void
split_marked (const char *marked, SegmentFunc emit, gpointer data)
{
  gboolean hit = FALSE;
  const char *run = marked;

  if (marked == NULL)
    return;
  for (const char *p = marked;; p++)
    {
      if (*p == '\x01' || *p == '\x02' || *p == '\0')
        {
          if (p > run)
            emit (run, (size_t)(p - run), hit, data);
          if (*p == '\0')
            break;
          hit = *p == '\x01';
          run = p + 1;
        }
    }
}

static void
segment_to_json (const char *text, size_t len, gboolean hit, gpointer data)
{
  JsonBuilder *b = data;
  g_autofree char *piece = g_strndup (text, len);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, piece);
  if (hit)
    {
      json_builder_set_member_name (b, "match");
      json_builder_add_boolean_value (b, TRUE);
    }
  json_builder_end_object (b);
}

JsonNode *
lares_notes_marked_to_json (const char *marked)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_array (b);
  split_marked (marked, segment_to_json, b);
  json_builder_end_array (b);
  return json_builder_get_root (b);
}

typedef struct
{
  GString *out;
  const char *open, *close;
} TextSegments;

static void
segment_to_text (const char *text, size_t len, gboolean hit, gpointer data)
{
  TextSegments *t = data;

  if (hit)
    g_string_append (t->out, t->open);
  g_string_append_len (t->out, text, (gssize)len);
  if (hit)
    g_string_append (t->out, t->close);
}

char *
lares_notes_marked_to_text (const char *marked, const char *open, const char *close)
{
  TextSegments t = { g_string_new (NULL), open, close };

  split_marked (marked, segment_to_text, &t);
  return g_string_free (t.out, FALSE);
}

JsonNode *
lares_note_hit_to_json (const LaresNoteHit *hit)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "note");
  json_builder_add_value (b, lares_note_to_json (hit->note));
  json_builder_set_member_name (b, "rank");
  json_builder_add_int_value (b, hit->rank);
  json_builder_set_member_name (b, "score");
  json_builder_add_double_value (b, hit->score);
  json_builder_set_member_name (b, "title");
  json_builder_add_value (b, lares_notes_marked_to_json (hit->title));
  json_builder_set_member_name (b, "snippet");
  json_builder_add_value (b, lares_notes_marked_to_json (hit->snippet));
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
