/* test-notes.c — the notes store: tags, update, list by tag, the search
 * text sanitizer, ranked search with marked snippets, user scoping and the
 * FTS index following every write (docs/internals/notes.md). */
#include "config.h"

#include <string.h>

#include "lares-notes.h"
#include "lares-store.h"
#include "lares-test.h"

typedef struct
{
  int64_t alice, bob;
} Users;

static gboolean
add_users (sqlite3 *db, gpointer data, GError **error)
{
  Users *u = data;

  if (!lares_sql_exec (db,
                       "INSERT INTO users (name, role, created_at) VALUES ('alice','admin',1);"
                       "INSERT INTO users (name, role, created_at) VALUES ('bob','user',1);",
                       error))
    return FALSE;
  u->alice = 1;
  u->bob = 2;
  return TRUE;
}

static GPtrArray *
search (sqlite3 *db, int64_t user, const char *text)
{
  const char *why = NULL;
  g_autofree char *q = lares_notes_query_build (text, &why);
  g_autoptr (GError) error = NULL;
  GPtrArray *hits;

  g_assert_nonnull (q);
  hits = lares_notes_search (db, user, q, 0, 0, 50, &error);
  g_assert_no_error (error);
  return hits;
}

static int64_t
add (sqlite3 *db, int64_t user, const char *title, const char *body, const char *const *tags)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LaresNote) note = NULL;

  g_assert_true (lares_notes_insert_tagged (db, user, title, body, tags, 1000, &note, &error));
  g_assert_no_error (error);
  return note->id;
}

static gboolean
scenario (sqlite3 *db, gpointer data, GError **error)
{
  Users *u = data;
  const char *const tags[] = { "home", "net", "home", NULL };
  const char *const new_tags[] = { "work", NULL };
  g_autoptr (GError) err = NULL;
  g_autoptr (LaresNote) got = NULL;
  g_autoptr (LaresNote) updated = NULL;
  g_autoptr (GPtrArray) hits = NULL;
  g_autoptr (GPtrArray) tagged = NULL;
  g_autoptr (JsonNode) segs = NULL;
  g_autofree char *segs_text = NULL;
  g_autofree char *plain = NULL;
  int64_t wifi, boiler, other;

  wifi = add (db, u->alice, "wifi", "the wifi password is hunter2 at the café", tags);
  boiler = add (db, u->alice, "", "boiler service due; ask about wifi later", NULL);
  other = add (db, u->bob, "wifi", "bob's wifi secret", NULL);

  /* Tags: normalized, sorted, without duplicates. */
  got = lares_notes_get (db, u->alice, wifi, &err);
  g_assert_no_error (err);
  g_assert_cmpuint (g_strv_length (got->tags), ==, 2);
  g_assert_cmpstr (got->tags[0], ==, "home");
  g_assert_cmpstr (got->tags[1], ==, "net");

  /* Ranking: a title hit beats a body hit; bob's note is never found. */
  hits = search (db, u->alice, "wifi");
  g_assert_cmpuint (hits->len, ==, 2);
  g_assert_cmpint (((LaresNoteHit *)hits->pdata[0])->note->id, ==, wifi);
  g_assert_cmpint (((LaresNoteHit *)hits->pdata[1])->note->id, ==, boiler);
  g_assert_cmpuint (((LaresNoteHit *)hits->pdata[0])->rank, ==, 1);
  g_assert_cmpfloat (((LaresNoteHit *)hits->pdata[0])->score, >,
                     ((LaresNoteHit *)hits->pdata[1])->score);
  segs = lares_notes_marked_to_json (((LaresNoteHit *)hits->pdata[0])->snippet);
  segs_text = json_to_string (segs, FALSE);
  g_assert_cmpstr (segs_text, ==,
                   "[{\"text\":\"the \"},{\"text\":\"wifi\",\"match\":true},"
                   "{\"text\":\" password is hunter2 at the café\"}]");
  plain = lares_notes_marked_to_text (((LaresNoteHit *)hits->pdata[0])->snippet, "[", "]");
  g_assert_cmpstr (plain, ==, "the [wifi] password is hunter2 at the café");
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* Diacritics, prefixes, AND, tags. */
  hits = search (db, u->alice, "cafe hun*");
  g_assert_cmpuint (hits->len, ==, 1);
  g_clear_pointer (&hits, g_ptr_array_unref);
  hits = search (db, u->alice, "wifi boiler");
  g_assert_cmpuint (hits->len, ==, 1);
  g_clear_pointer (&hits, g_ptr_array_unref);
  hits = search (db, u->alice, "net");
  g_assert_cmpuint (hits->len, ==, 1);
  g_clear_pointer (&hits, g_ptr_array_unref);
  hits = search (db, u->bob, "hunter2");
  g_assert_cmpuint (hits->len, ==, 0);
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* Update: only the fields given; the index and tags follow. */
  g_assert_true (
      lares_notes_update (db, u->alice, wifi, LARES_NOTE_FIELD_BODY | LARES_NOTE_FIELD_TAGS, NULL,
                          "the router sits in the hall", new_tags, 2000, &updated, &err));
  g_assert_no_error (err);
  g_assert_cmpstr (updated->title, ==, "wifi");
  g_assert_cmpint (updated->updated_at, ==, 2000);
  g_assert_cmpint (updated->created_at, ==, 1000);
  hits = search (db, u->alice, "hunter2");
  g_assert_cmpuint (hits->len, ==, 0);
  g_clear_pointer (&hits, g_ptr_array_unref);
  hits = search (db, u->alice, "router");
  g_assert_cmpuint (hits->len, ==, 1);
  g_clear_pointer (&hits, g_ptr_array_unref);
  tagged = lares_notes_list_tagged (db, u->alice, "home", 0, 10, &err);
  g_assert_cmpuint (tagged->len, ==, 0);
  g_clear_pointer (&tagged, g_ptr_array_unref);
  tagged = lares_notes_list_tagged (db, u->alice, "work", 0, 10, &err);
  g_assert_cmpuint (tagged->len, ==, 1);
  g_clear_pointer (&tagged, g_ptr_array_unref);

  /* Another user's note cannot be updated or listed by tag. */
  g_assert_false (lares_notes_update (db, u->bob, wifi, LARES_NOTE_FIELD_TITLE, "x", NULL, NULL,
                                      3000, NULL, &err));
  g_assert_error (err, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND);
  g_clear_error (&err);
  tagged = lares_notes_list_tagged (db, u->bob, "work", 0, 10, &err);
  g_assert_cmpuint (tagged->len, ==, 0);

  /* Delete leaves nothing in the index or the tags. */
  g_assert_true (lares_notes_delete (db, u->alice, wifi, &err));
  hits = search (db, u->alice, "router");
  g_assert_cmpuint (hits->len, ==, 0);
  g_assert_true (lares_notes_delete (db, u->bob, other, &err));
  g_assert_no_error (err);
  return TRUE;
}

static void
test_store (void)
{
  g_autofree char *dir = lares_test_tmpdir ();
  g_autoptr (GError) error = NULL;
  LaresStore *store = lares_store_open (dir, NULL, &error);
  Users u = { 0 };

  g_assert_no_error (error);
  g_assert_true (lares_store_write_sync (store, add_users, &u, &error));
  g_assert_true (lares_store_write_sync (store, scenario, &u, &error));
  g_assert_no_error (error);
  lares_store_close (store);
  g_assert_cmpint (lares_test_db_count (dir, "note_tags"), ==, 0);
  lares_test_rmdir (dir);
}

static void
test_tags (void)
{
  static const struct
  {
    const char *in, *out;
  } cases[] = {
    { "Home", "home" },
    { " #Work ", "work" },
    { "net_stuff", "net_stuff" },
    { "Ünïcode", "ünïcode" },
    { "x-y", "x-y" },
    { "", NULL },
    { "#", NULL },
    { "two words", NULL },
    { "a\"b", NULL },
    { "<b>", NULL },
    { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *why = NULL;
      g_autofree char *tag = lares_note_tag_normalize (cases[i].in, &why);

      g_assert_cmpstr (tag, ==, cases[i].out);
      if (tag == NULL)
        g_assert_nonnull (why);
    }
}

static void
test_query_build (void)
{
  static const struct
  {
    const char *in, *out; /* NULL: refused */
  } cases[] = {
    { "wifi", "\"wifi\"" },
    { "  wifi   password ", "\"wifi\" AND \"password\"" },
    { "hun*", "\"hun\"*" },
    { "hun**", "\"hun\"*" },
    { "AND OR NOT", "\"AND\" AND \"OR\" AND \"NOT\"" },
    { "NEAR(a b", "\"NEAR(a\" AND \"b\"" },
    { "say \"hi\"", "\"say\" AND \"\"\"hi\"\"\"" },
    { "title:x", "\"title:x\"" },
    { "^start", "\"^start\"" },
    { "café", "\"café\"" },
    { "\"", NULL },
    { "*", NULL },
    { "-- !! 😀", NULL },
    { "", NULL },
    { "a b c d e f g h i j k l m n o p q", NULL },
    { "\xff\xfe", NULL },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *why = NULL;
      g_autofree char *q = lares_notes_query_build (cases[i].in, &why);

      g_assert_cmpstr (q, ==, cases[i].out);
      if (q == NULL)
        g_assert_nonnull (why);
    }
  {
    g_autofree char *long_text = g_strnfill (LARES_NOTES_QUERY_MAX + 1, 'a');
    const char *why = NULL;
    g_assert_null (lares_notes_query_build (long_text, &why));
    g_assert_nonnull (strstr (why, "longer"));
  }
}

static void
test_marked (void)
{
  g_autoptr (JsonNode) a = lares_notes_marked_to_json ("x\x01y\x02z");
  g_autoptr (JsonNode) b = lares_notes_marked_to_json ("\x02\x01\x01<b>\x02");
  g_autoptr (JsonNode) c = lares_notes_marked_to_json ("");
  g_autofree char *ta = json_to_string (a, FALSE);
  g_autofree char *tb = json_to_string (b, FALSE);
  g_autofree char *tc = json_to_string (c, FALSE);

  g_assert_cmpstr (ta, ==, "[{\"text\":\"x\"},{\"text\":\"y\",\"match\":true},{\"text\":\"z\"}]");
  /* Stray markers never reach the output; markup stays text. */
  g_assert_cmpstr (tb, ==, "[{\"text\":\"<b>\",\"match\":true}]");
  g_assert_cmpstr (tc, ==, "[]");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/notes/store", test_store);
  g_test_add_func ("/notes/tags", test_tags);
  g_test_add_func ("/notes/query-build", test_query_build);
  g_test_add_func ("/notes/marked", test_marked);
  return g_test_run ();
}
