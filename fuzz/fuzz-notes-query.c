/* fuzz-notes-query.c — search text as a person (or a model, through
 * note.search) types it: lares_notes_query_build(), then the built query
 * run against a real FTS5 table shaped like notes_fts, and the input read as
 * a marked snippet by lares_notes_marked_to_json/_text().
 *
 * Checks: a refusal has a reason; a built query is valid UTF-8 and FTS5
 * accepts it (any SQLITE_ERROR is a query that would have been a 500);
 * segments never carry a marker character.
 */
#include "config.h"

#include "lares-fuzz.h"
#include "lares-notes.h"

#include <string.h>

static sqlite3 *db;
static sqlite3_stmt *match;

static void
setup (void)
{
  const char *sql =
      "CREATE VIRTUAL TABLE f USING fts5 (title, body, tags, "
      "tokenize = 'unicode61 remove_diacritics 2');"
      "INSERT INTO f VALUES ('wifi', 'the wifi password is hunter2 at the café', '[\"home\"]');"
      "INSERT INTO f VALUES ('', 'near and or not: \"quoted\" ^start * (x)', '[]');"
      "INSERT INTO f VALUES ('日本語', 'ünïcode ﬁ Straße 😀', '[\"net_stuff\"]');";

  g_assert_cmpint (sqlite3_open (":memory:", &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "SELECT rowid, snippet (f, 1, char (1), char (2), '…', 16) "
                                       "FROM f WHERE f MATCH ?1 ORDER BY rank",
                                       -1, &match, NULL),
                   ==, SQLITE_OK);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = lares_fuzz_strndup (data, size);
  const char *why = NULL;
  g_autofree char *query = NULL;
  g_autoptr (JsonNode) segments = NULL;
  g_autofree char *plain = NULL;
  int rc;

  lares_fuzz_init ();
  if (db == NULL)
    setup ();
  query = lares_notes_query_build (text, &why);
  if (query == NULL)
    g_assert_true (why != NULL && *why != '\0');
  else
    {
      g_assert_true (g_utf8_validate (query, -1, NULL));
      sqlite3_bind_text (match, 1, query, -1, SQLITE_STATIC);
      while ((rc = sqlite3_step (match)) == SQLITE_ROW)
        {
          g_autoptr (JsonNode) snippet =
              lares_notes_marked_to_json ((const char *)sqlite3_column_text (match, 1));
          g_assert_true (JSON_NODE_HOLDS_ARRAY (snippet));
        }
      if (rc != SQLITE_DONE)
        g_error ("FTS5 refused the built query %s: %s", query, sqlite3_errmsg (db));
      sqlite3_reset (match);
      sqlite3_clear_bindings (match);
    }

  /* The same bytes as a marked snippet (note text can hold anything). */
  segments = lares_notes_marked_to_json (text);
  for (unsigned i = 0; i < json_array_get_length (json_node_get_array (segments)); i++)
    {
      const char *piece = json_object_get_string_member (
          json_array_get_object_element (json_node_get_array (segments), i), "text");
      g_assert_true (*piece != '\0' && strpbrk (piece, "\x01\x02") == NULL);
    }
  plain = lares_notes_marked_to_text (text, "[", "]");
  g_assert_true (strpbrk (plain, "\x01\x02") == NULL);
  return 0;
}
