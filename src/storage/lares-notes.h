/* lares-notes.h — the notes table, its tags and full-text search.
 *
 * Plain functions over a connection, meant to run inside a LaresStoreFunc on
 * a store thread.  Every call takes the owner's user id and filters by it: a
 * note of another user is indistinguishable from a missing one
 * (LARES_STORE_ERROR_NOT_FOUND).
 *
 * Tags are normalized before they are stored (lares_note_tag_normalize) and
 * kept sorted without duplicates.  Search text from a person never reaches
 * FTS5 as syntax: lares_notes_query_build() turns it into a query of quoted
 * terms, and lares_notes_search() accepts only what that built.  Pure
 * functions (tags, queries, marked snippets) are safe on any thread.
 * See docs/internals/notes.md.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <stdint.h>

G_BEGIN_DECLS

#define LARES_NOTE_TITLE_MAX        200   /* characters */
#define LARES_NOTE_BODY_MAX         65536 /* characters */
#define LARES_NOTE_TAG_MAX          32    /* characters per tag */
#define LARES_NOTE_TAGS_MAX         16    /* tags per note */
#define LARES_NOTES_QUERY_MAX       500   /* characters of search text */
#define LARES_NOTES_QUERY_TERMS_MAX 16    /* words of search text */

/* Around each hit in LaresNoteHit's marked texts.  Control characters, so
 * they cannot be confused with markup; lares_notes_marked_to_json() turns a
 * marked text into segments and drops any that were in the note itself. */
#define LARES_NOTES_MARK_OPEN  "\x01"
#define LARES_NOTES_MARK_CLOSE "\x02"

typedef struct
{
  int64_t id;
  int64_t user_id;
  char *title;        /* owned, UTF-8, may be empty */
  char *body;         /* owned, UTF-8 */
  char **tags;        /* owned, NULL-terminated, normalized and sorted; never NULL */
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
/* The same with @tags (nullable, NULL-terminated, each already normalized
 * by lares_note_tag_normalize; duplicates are dropped). */
gboolean lares_notes_insert_tagged (sqlite3 *db, int64_t user_id, const char *title,
                                    const char *body, const char *const *tags, int64_t now_ms,
                                    LaresNote **out, GError **error);

/* Which fields lares_notes_update() replaces. */
typedef enum
{
  LARES_NOTE_FIELD_TITLE = 1 << 0,
  LARES_NOTE_FIELD_BODY = 1 << 1,
  LARES_NOTE_FIELD_TAGS = 1 << 2,
} LaresNoteFields;

/* Replace the @fields of note @id (others are kept) and set updated_at.
 * @tags as for insert (NULL: none).  NOT_FOUND for a missing note or
 * another user's.  @out: OUT (transfer full), nullable. */
gboolean lares_notes_update (sqlite3 *db, int64_t user_id, int64_t id, LaresNoteFields fields,
                             const char *title, const char *body, const char *const *tags,
                             int64_t now_ms, LaresNote **out, GError **error);

/* (transfer full) or NULL with NOT_FOUND. */
LaresNote *lares_notes_get (sqlite3 *db, int64_t user_id, int64_t id, GError **error);

/* Newest first; @before_id 0 starts at the newest.  (transfer full)
 * GPtrArray of LaresNote. */
GPtrArray *lares_notes_list (sqlite3 *db, int64_t user_id, int64_t before_id, unsigned limit,
                             GError **error);

/* Notes tagged @tag (normalized), newest first, paged like
 * lares_notes_list().  (transfer full) GPtrArray of LaresNote. */
GPtrArray *lares_notes_list_tagged (sqlite3 *db, int64_t user_id, const char *tag,
                                    int64_t before_id, unsigned limit, GError **error);

gboolean lares_notes_delete (sqlite3 *db, int64_t user_id, int64_t id, GError **error);
/* Delete those of @ids (@n of them) that are notes of @user_id; the others
 * are skipped.  OUT @deleted (nullable): the ids deleted, in @ids' order
 * (transfer full, a GArray of int64_t). */
gboolean lares_notes_delete_many (sqlite3 *db, int64_t user_id, const int64_t *ids, unsigned n,
                                  GArray **deleted, GError **error);

/* ---- tags ---- */

/* @tag as it is stored: surrounding space and one leading '#' removed,
 * NFC, lower case; 1..LARES_NOTE_TAG_MAX letters, digits, '-' or '_'.
 * NULL when it is not a valid tag, with *@why (static, nullable) saying
 * why.  (transfer full) */
char *lares_note_tag_normalize (const char *tag, const char **why);

/* ---- search ---- */

/* Turn what a person typed into an FTS5 query that cannot be a syntax
 * error: each whitespace-separated word becomes a quoted phrase (so AND,
 * OR, NEAR, ':' and '"' are plain text), a word ending in '*' a prefix
 * phrase, and all words must match (AND).  Words with no letter or digit
 * are skipped.  NULL when nothing is left to search for, the text is not
 * UTF-8, or it is over LARES_NOTES_QUERY_MAX characters or
 * LARES_NOTES_QUERY_TERMS_MAX words, with *@why (static) a message for the
 * person.  (transfer full) */
char *lares_notes_query_build (const char *text, const char **why);

typedef struct
{
  LaresNote *note; /* owned */
  unsigned rank;   /* place in the ranking: 1 is the best hit */
  double score;    /* relevance: -bm25 with title 10, body 1, tags 5; higher is better */
  char *title;     /* owned: the whole title with hits marked */
  char *snippet;   /* owned: up to 16 words of the body around the hits, marked */
} LaresNoteHit;

void lares_note_hit_free (LaresNoteHit *hit);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresNoteHit, lares_note_hit_free)

/* Ranking scores every candidate, so only the newest this many matches
 * of the user (or twice offset + limit, if more) are candidates: a word in
 * most notes costs a bounded time, and the best of the recent ones comes
 * first.  Fewer matches than this are all ranked. */
#define LARES_NOTES_RANK_WINDOW 1000

/* Search the user's notes with @fts_query, which must come from
 * lares_notes_query_build().  Best first among the candidates (see
 * LARES_NOTES_RANK_WINDOW); @offset hits are skipped (paging through a
 * ranking); @before_id > 0 keeps notes older than that id.
 * (transfer full) GPtrArray of LaresNoteHit. */
GPtrArray *lares_notes_search (sqlite3 *db, int64_t user_id, const char *fts_query,
                               int64_t before_id, unsigned offset, unsigned limit, GError **error);

/* A marked text as a JSON array of segments [{"text": "..."}, {"text":
 * "...", "match": true}, ...] that a page can render as text nodes; empty
 * segments are left out.  (transfer full) */
JsonNode *lares_notes_marked_to_json (const char *marked);
/* The same text with each hit wrapped in @open and @close (for a terminal
 * or a sentence).  (transfer full) */
char *lares_notes_marked_to_text (const char *marked, const char *open, const char *close);

/* {"note": {...}, "score": N, "title": [segments], "snippet": [segments]}
 * (transfer full) */
JsonNode *lares_note_hit_to_json (const LaresNoteHit *hit);

G_END_DECLS
