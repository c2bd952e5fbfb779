/* lares-notes.h — the notes table.
 *
 * Plain functions over a connection, meant to run inside a LaresStoreFunc on
 * a store thread.  Every call takes the owner's user id and filters by it: a
 * note of another user is indistinguishable from a missing one
 * (LARES_STORE_ERROR_NOT_FOUND).
 */
#pragma once

#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <stdint.h>

G_BEGIN_DECLS

#define LARES_NOTE_TITLE_MAX 200   /* characters */
#define LARES_NOTE_BODY_MAX  65536 /* characters */

typedef struct
{
  int64_t id;
  int64_t user_id;
  char *title;        /* owned, UTF-8, may be empty */
  char *body;         /* owned, UTF-8 */
  int64_t created_at; /* Unix ms */
  int64_t updated_at; /* Unix ms */
} LaresNote;

void lares_note_free (LaresNote *note);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresNote, lares_note_free)

/* (transfer full) */
JsonNode *lares_note_to_json (const LaresNote *note);

/* Insert; @out: OUT (transfer full), nullable. */
gboolean lares_notes_insert (sqlite3 *db, int64_t user_id, const char *title, const char *body,
                             int64_t now_ms, LaresNote **out, GError **error);

/* (transfer full) or NULL with NOT_FOUND. */
LaresNote *lares_notes_get (sqlite3 *db, int64_t user_id, int64_t id, GError **error);

/* Newest first; @before_id 0 starts at the newest.  (transfer full)
 * GPtrArray of LaresNote. */
GPtrArray *lares_notes_list (sqlite3 *db, int64_t user_id, int64_t before_id, unsigned limit,
                             GError **error);

gboolean lares_notes_delete (sqlite3 *db, int64_t user_id, int64_t id, GError **error);

G_END_DECLS
