/* test-chat-store.c — the chat store on a real store in a temporary
 * directory: titles, the turn lifecycle, context selection, history, spend,
 * facts, settings, the JSON converters, isolation between two users, query
 * plans and the upgrade from schema 2.
 *
 * Scenarios run as LaresStoreFunc bodies through lares_store_write_sync, so
 * they see exactly the connection set-up the daemon uses (foreign keys on);
 * what must have been committed is checked on a separate reader. */
#include "config.h"

#include <time.h>

#include "lares-chat-store.h"
#include "lares-storage-resources.h"
#include "lares-store.h"
#include "lares-test.h"
#include "lares-users.h"

/* 2024-01-01T00:00:00Z in Unix ms. */
#define JAN1 G_GINT64_CONSTANT (1704067200000)
#define HOUR G_GINT64_CONSTANT (3600000)

typedef struct
{
  char *dir;
  LaresStore *store;
  int64_t a;        /* alice */
  int64_t b;        /* bob */
  GHashTable *seen; /* SQL text of every statement run by the scenarios */
} Fixture;

static gboolean
add_users (sqlite3 *db, gpointer data, GError **error)
{
  Fixture *fx = data;

  return lares_users_insert (db, "alice", "user", NULL, 1, &fx->a, error) &&
         lares_users_insert (db, "bob", "user", NULL, 1, &fx->b, error);
}

/* Every statement the chat store runs is served by an index: the
 * scenarios record their statements, and the tear-down explains each one.
 * The chat store's statements are the ones with parameters; the test's
 * own whole-table counts have none. */

static int
trace_statement (unsigned type, void *ctx, void *p, void *x)
{
  GHashTable *seen = ctx;
  const char *sql = sqlite3_sql (p);

  if (type == SQLITE_TRACE_STMT && sql != NULL && strchr (sql, '?') != NULL)
    g_hash_table_add (seen, g_strdup (sql));
  return 0;
}

static void
assert_plan_indexed (sqlite3 *db, const char *sql)
{
  g_autofree char *explain = g_strconcat ("EXPLAIN QUERY PLAN ", sql, NULL);
  g_autoptr (sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, explain, -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *detail = (const char *)sqlite3_column_text (stmt, 3);

      if (g_str_has_prefix (detail, "SCAN "))
        g_test_message ("full scan (%s) in: %s", detail, sql);
      g_assert_false (g_str_has_prefix (detail, "SCAN "));
    }
}

static void
fixture_set_up (Fixture *fx, gconstpointer unused)
{
  g_autoptr (GError) error = NULL;

  fx->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  fx->dir = lares_test_tmpdir ();
  fx->store = lares_store_open (fx->dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (lares_store_write_sync (fx->store, add_users, fx, &error));
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer unused)
{
  g_autoptr (GError) error = NULL;
  sqlite3 *db = lares_store_open_reader (fx->store, &error);
  GHashTableIter iter;
  gpointer sql;

  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (fx->seen), >, 0);
  g_hash_table_iter_init (&iter, fx->seen);
  while (g_hash_table_iter_next (&iter, &sql, NULL))
    assert_plan_indexed (db, sql);
  sqlite3_close (db);
  g_hash_table_unref (fx->seen);
  lares_store_close (fx->store);
  lares_test_rmdir (fx->dir);
  g_free (fx->dir);
}

typedef struct
{
  Fixture *fx;
  LaresStoreFunc func;
} Traced;

static gboolean
traced_write (sqlite3 *db, gpointer data, GError **error)
{
  Traced *t = data;
  gboolean ok;

  sqlite3_trace_v2 (db, SQLITE_TRACE_STMT, trace_statement, t->fx->seen);
  ok = t->func (db, t->fx, error);
  sqlite3_trace_v2 (db, 0, NULL, NULL);
  return ok;
}

static void
run_write (Fixture *fx, LaresStoreFunc func)
{
  g_autoptr (GError) error = NULL;
  Traced t = { fx, func };

  g_assert_true (lares_store_write_sync (fx->store, traced_write, &t, &error));
  g_assert_no_error (error);
}

static int64_t
query_int (sqlite3 *db, const char *sql)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  int64_t v;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  v = sqlite3_column_int64 (stmt, 0);
  return v;
}

static char *
query_text (sqlite3 *db, const char *sql)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return g_strdup ((const char *)sqlite3_column_text (stmt, 0));
}

/* Rows in every chat table, as one string, to compare before and after. */
static char *
chat_counts (sqlite3 *db)
{
  return g_strdup_printf ("c%" G_GINT64_FORMAT " t%" G_GINT64_FORMAT " m%" G_GINT64_FORMAT
                          " l%" G_GINT64_FORMAT " f%" G_GINT64_FORMAT " s%" G_GINT64_FORMAT,
                          query_int (db, "SELECT count(*) FROM conversations"),
                          query_int (db, "SELECT count(*) FROM turns"),
                          query_int (db, "SELECT count(*) FROM messages"),
                          query_int (db, "SELECT count(*) FROM llm_calls"),
                          query_int (db, "SELECT count(*) FROM facts"),
                          query_int (db, "SELECT count(*) FROM user_settings"));
}

static char *
reader_counts (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  sqlite3 *db = lares_store_open_reader (fx->store, &error);
  char *counts;

  g_assert_no_error (error);
  counts = chat_counts (db);
  sqlite3_close (db);
  return counts;
}

static char *
node_to_string (JsonNode *node)
{
  return json_to_string (node, FALSE);
}

/* One finished turn: @text from the user, @reply from the assistant. */
static int64_t
turn_done (sqlite3 *db, int64_t user, int64_t *conv, const char *text, const char *status,
           const char *reply, int64_t now)
{
  g_autoptr (GError) error = NULL;
  int64_t turn = 0;

  g_assert_true (lares_turn_begin (db, user, conv, "ws", text, now, &turn, &error));
  g_assert_no_error (error);
  if (status != NULL)
    {
      g_assert_true (lares_turn_finish (db, user, turn, status, "llm", NULL, NULL, NULL, reply,
                                        now + 1, &error));
      g_assert_no_error (error);
    }
  return turn;
}

/* Titles. */

static void
test_title (void)
{
  struct
  {
    const char *in;
    const char *out; /* NULL: check length and ending only */
  } cases[] = {
    { "  hello \n\t world  ", "hello world" },
    { "", "" },
    { " \u00a0\n ", "" },
    { "ab\xff"
      "cd",
      "ab\xef\xbf\xbd"
      "cd" },
  };
  g_autoptr (GString) exact = g_string_new (NULL);
  g_autoptr (GString) accents = g_string_new (NULL);
  g_autoptr (GString) emoji = g_string_new (NULL);
  g_autoptr (GString) spaced = g_string_new (NULL);
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;
  g_autofree char *want = NULL;

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *t = lares_conversation_title_make (cases[i].in);
      g_assert_cmpstr (t, ==, cases[i].out);
    }

  /* Exactly the maximum is kept whole. */
  for (int i = 0; i < LARES_CONVERSATION_TITLE_MAX; i++)
    g_string_append (exact, "ü");
  t1 = lares_conversation_title_make (exact->str);
  g_assert_cmpstr (t1, ==, exact->str);

  /* Two-byte characters: cut on a character boundary, with the ellipsis
   * counted in the maximum. */
  for (int i = 0; i < 100; i++)
    g_string_append (accents, "é");
  t2 = lares_conversation_title_make (accents->str);
  g_assert_true (g_utf8_validate (t2, -1, NULL));
  g_assert_cmpint (g_utf8_strlen (t2, -1), ==, LARES_CONVERSATION_TITLE_MAX);
  g_assert_true (g_str_has_suffix (t2, "é…"));

  /* Four-byte characters and collapsed runs of white space. */
  for (int i = 0; i < 90; i++)
    g_string_append (emoji, "😀 \n ");
  t3 = lares_conversation_title_make (emoji->str);
  g_assert_true (g_utf8_validate (t3, -1, NULL));
  g_assert_cmpint (g_utf8_strlen (t3, -1), ==, LARES_CONVERSATION_TITLE_MAX);
  g_assert_true (g_str_has_prefix (t3, "😀 😀 😀"));
  g_assert_true (g_str_has_suffix (t3, "😀…"));

  /* No space is left before the ellipsis. */
  g_string_append (spaced, "0123456789012345678901234567890123456789");
  g_string_append (spaced, "01234567890123456789012345678901234567 tail of the text");
  t4 = lares_conversation_title_make (spaced->str);
  want = g_strconcat ("0123456789012345678901234567890123456789",
                      "01234567890123456789012345678901234567…", NULL);
  g_assert_cmpstr (t4, ==, want);
}

/* The turn lifecycle. */

static gboolean
lifecycle_body (sqlite3 *db, gpointer data, GError **unused)
{
  Fixture *fx = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) msgs = NULL;
  g_autoptr (LaresConversation) conv = NULL;
  g_autoptr (JsonNode) json = NULL;
  g_autofree char *title = NULL, *status = NULL, *s = NULL;
  const char *calls = "[{\"id\":\"c1\",\"name\":\"clock\",\"arguments\":\"{}\"}]";
  int64_t conv_id = 0, turn = 0, turn2 = 0, next = 0, last_id;
  LaresMessage *m;

  g_assert_true (lares_turn_begin (db, fx->a, &conv_id, "ws", "  Wie spät   ist es\nin Zürich? ",
                                   1000, &turn, &error));
  g_assert_no_error (error);
  g_assert_cmpint (conv_id, >, 0);
  g_assert_cmpint (turn, >, 0);
  conv = lares_conversations_get (db, fx->a, conv_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (conv->title, ==, "Wie spät ist es in Zürich?");
  g_assert_cmpint (conv->n_turns, ==, 1);
  g_assert_cmpint (conv->created_at, ==, 1000);
  g_assert_cmpint (conv->updated_at, ==, 1000);
  g_clear_pointer (&conv, lares_conversation_free);

  /* Tool round trip while running. */
  g_assert_true (
      lares_turn_add_message (db, fx->a, turn, "assistant", "", calls, NULL, NULL, 1001, &error));
  g_assert_no_error (error);
  g_assert_true (
      lares_turn_add_message (db, fx->a, turn, "tool", "12:00", NULL, "c1", "clock", 1002, &error));
  g_assert_no_error (error);

  /* Malformed additions are refused and leave nothing behind. */
  g_assert_false (lares_turn_add_message (db, fx->a, turn, "assistant", "", "{\"id\":1}", NULL,
                                          NULL, 1003, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);
  g_assert_false (lares_turn_add_message (db, fx->a, turn, "assistant", "", "not json", NULL, NULL,
                                          1003, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);
  g_assert_false (
      lares_turn_add_message (db, fx->a, turn, "tool", "x", NULL, NULL, "clock", 1003, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);
  g_assert_false (
      lares_turn_add_message (db, fx->a, turn, "user", "x", NULL, NULL, NULL, 1003, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);
  g_assert_false (
      lares_turn_add_message (db, fx->a, turn + 100, "tool", "x", NULL, "c1", NULL, 1003, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM messages"), ==, 3);

  /* Finishing as running or interrupted is not finishing. */
  g_assert_false (
      lares_turn_finish (db, fx->a, turn, "running", NULL, NULL, NULL, NULL, NULL, 1004, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);

  g_assert_true (lares_turn_finish (db, fx->a, turn, "done", "llm", "tool answered", NULL,
                                    "{\"llm_ms\":12}", "Es ist 12 Uhr.", 2000, &error));
  g_assert_no_error (error);
  status = query_text (db, "SELECT status || '|' || path || '|' || why || '|' || timings || '|' "
                           "|| finished_at || '|' || (error_code IS NULL) FROM turns");
  g_assert_cmpstr (status, ==, "done|llm|tool answered|{\"llm_ms\":12}|2000|1");

  /* A finished turn takes nothing more. */
  g_assert_false (
      lares_turn_finish (db, fx->a, turn, "done", NULL, NULL, NULL, NULL, "again", 2001, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);
  g_assert_false (
      lares_turn_add_message (db, fx->a, turn, "tool", "x", NULL, "c1", NULL, 2001, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);
  g_assert_false (lares_turn_finish (db, fx->a, turn + 100, "done", NULL, NULL, NULL, NULL, NULL,
                                     2001, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  msgs = lares_messages_list (db, fx->a, conv_id, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msgs->len, ==, 4);
  m = msgs->pdata[0];
  g_assert_cmpstr (m->role, ==, "user");
  g_assert_cmpstr (m->content, ==, "  Wie spät   ist es\nin Zürich? ");
  g_assert_cmpint (m->turn_id, ==, turn);
  g_assert_cmpint (m->conversation_id, ==, conv_id);
  m = msgs->pdata[1];
  g_assert_cmpstr (m->role, ==, "assistant");
  g_assert_cmpstr (m->tool_calls, ==, calls);
  json = lares_message_to_json (m);
  s = node_to_string (json);
  g_assert_nonnull (strstr (s, "\"tool_calls\":[{\"id\":\"c1\",\"name\":\"clock\""));
  m = msgs->pdata[2];
  g_assert_cmpstr (m->role, ==, "tool");
  g_assert_cmpstr (m->tool_call_id, ==, "c1");
  g_assert_cmpstr (m->tool_name, ==, "clock");
  m = msgs->pdata[3];
  g_assert_cmpstr (m->role, ==, "assistant");
  g_assert_cmpstr (m->content, ==, "Es ist 12 Uhr.");
  g_assert_null (m->tool_calls);
  g_assert_cmpint (m->created_at, ==, 2000);

  /* Paging by id. */
  last_id = m->id;
  g_clear_pointer (&msgs, g_ptr_array_unref);
  msgs = lares_messages_list (db, fx->a, conv_id, last_id - 2, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msgs->len, ==, 1);
  g_assert_cmpstr (((LaresMessage *)msgs->pdata[0])->role, ==, "tool");

  /* A second turn in the same conversation: no new conversation, touched,
   * and the title stays the first message's.  A reply is optional. */
  next = conv_id;
  turn2 = turn_done (db, fx->a, &next, "und in Tokio?", "error", NULL, 3000);
  g_assert_cmpint (next, ==, conv_id);
  g_assert_cmpint (turn2, >, turn);
  conv = lares_conversations_get (db, fx->a, conv_id, &error);
  g_assert_cmpint (conv->n_turns, ==, 2);
  g_assert_cmpint (conv->updated_at, ==, 3001);
  g_assert_cmpstr (conv->title, ==, "Wie spät ist es in Zürich?");
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM conversations"), ==, 1);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM messages"), ==, 5);
  title = query_text (db, "SELECT status FROM turns ORDER BY id DESC LIMIT 1");
  g_assert_cmpstr (title, ==, "error");
  return TRUE;
}

static void
test_lifecycle (Fixture *fx, gconstpointer unused)
{
  g_autofree char *counts = NULL;

  run_write (fx, lifecycle_body);
  counts = reader_counts (fx);
  g_assert_cmpstr (counts, ==, "c1 t2 m5 l0 f0 s0");
}

static gboolean
interrupt_begin_body (sqlite3 *db, gpointer data, GError **unused)
{
  Fixture *fx = data;
  int64_t conv = 0;

  turn_done (db, fx->a, &conv, "one", NULL, NULL, 10);
  turn_done (db, fx->a, &conv, "two", "done", "ok", 20);
  conv = 0;
  turn_done (db, fx->b, &conv, "three", NULL, NULL, 30);
  return TRUE;
}

static gboolean
interrupt_body (sqlite3 *db, gpointer data, GError **unused)
{
  Fixture *fx = data;
  g_autoptr (GError) error = NULL;
  int64_t first = query_int (db, "SELECT min(id) FROM turns");

  g_assert_cmpint (lares_turns_interrupt_running (db, 500, &error), ==, 2);
  g_assert_no_error (error);
  g_assert_cmpint (
      query_int (db,
                 "SELECT count(*) FROM turns WHERE status = 'interrupted' AND finished_at = 500"),
      ==, 2);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM turns WHERE status = 'done'"), ==, 1);
  /* An interrupted turn cannot be finished any more. */
  g_assert_false (
      lares_turn_finish (db, fx->a, first, "done", NULL, NULL, NULL, NULL, "late", 600, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);
  g_assert_cmpint (lares_turns_interrupt_running (db, 700, &error), ==, 0);
  g_assert_no_error (error);
  return TRUE;
}

static void
test_interrupt_running (Fixture *fx, gconstpointer unused)
{
  run_write (fx, interrupt_begin_body);
  run_write (fx, interrupt_body);
}

/* Context selection. */

static void
assert_contents (GPtrArray *msgs, const char *const *want)
{
  g_autoptr (GString) got = g_string_new (NULL);
  g_autofree char *joined = g_strjoinv (",", (char **)want);

  for (unsigned i = 0; i < msgs->len; i++)
    g_string_append_printf (got, "%s%s", i ? "," : "", ((LaresMessage *)msgs->pdata[i])->content);
  g_assert_cmpstr (got->str, ==, joined);
  for (unsigned i = 1; i < msgs->len; i++)
    g_assert_cmpint (((LaresMessage *)msgs->pdata[i - 1])->id, <,
                     ((LaresMessage *)msgs->pdata[i])->id);
}

static gboolean
recent_body (sqlite3 *db, gpointer data, GError **unused)
{
  Fixture *fx = data;
  g_autoptr (GError) error = NULL;
  int64_t conv = 0, other = 0, t5, t6;
  GPtrArray *msgs;

  turn_done (db, fx->a, &conv, "q1", "done", "a1", 100);
  turn_done (db, fx->a, &other, "elsewhere", "done", "not here", 150);
  turn_done (db, fx->a, &conv, "q2", "error", "a2", 200);
  turn_done (db, fx->a, &conv, "q3", "done", "a3", 300);
  turn_done (db, fx->a, &conv, "q4", "cancelled", NULL, 400);
  t5 = turn_done (db, fx->a, &conv, "q5", "done", "a5", 500);
  t6 = turn_done (db, fx->a, &conv, "q6", NULL, NULL, 600); /* the current turn */

  msgs = lares_messages_recent (db, fx->a, conv, 2, t6, &error);
  g_assert_no_error (error);
  assert_contents (msgs, (const char *const[]){ "q3", "a3", "q5", "a5", NULL });
  g_ptr_array_unref (msgs);

  msgs = lares_messages_recent (db, fx->a, conv, 10, t5, &error);
  g_assert_no_error (error);
  assert_contents (msgs, (const char *const[]){ "q1", "a1", "q3", "a3", NULL });
  g_ptr_array_unref (msgs);

  msgs = lares_messages_recent (db, fx->a, conv, 1, 0, &error);
  g_assert_no_error (error);
  assert_contents (msgs, (const char *const[]){ "q5", "a5", NULL });
  g_ptr_array_unref (msgs);

  msgs = lares_messages_recent (db, fx->a, conv, 0, t6, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msgs->len, ==, 0);
  g_ptr_array_unref (msgs);

  /* Tool messages of a done turn are part of its context. */
  msgs = lares_messages_recent (db, fx->a, other, 5, 0, &error);
  g_assert_no_error (error);
  assert_contents (msgs, (const char *const[]){ "elsewhere", "not here", NULL });
  g_ptr_array_unref (msgs);

  /* Another user gets nothing from it. */
  msgs = lares_messages_recent (db, fx->b, conv, 10, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msgs->len, ==, 0);
  g_ptr_array_unref (msgs);
  return TRUE;
}

static void
test_recent (Fixture *fx, gconstpointer unused)
{
  run_write (fx, recent_body);
}

/* Conversations: list, rename, delete. */

static gboolean
conversations_body (sqlite3 *db, gpointer data, GError **unused)
{
  Fixture *fx = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (LaresConversation) conv = NULL;
  g_autoptr (JsonNode) json = NULL;
  g_autofree char *s = NULL;
  int64_t c1 = 0, c2 = 0, c3 = 0, t1;
  LaresLlmCall call = { .user_id = fx->a,
                        .provider = "openai",
                        .model = "m",
                        .status = "ok",
                        .prompt_tokens = 1,
                        .created_at = 1 };

  t1 = turn_done (db, fx->a, &c1, "first", "done", "r", 100);
  turn_done (db, fx->a, &c2, "second", "done", "r", 200);
  turn_done (db, fx->a, &c3, "third", "done", "r", 300);

  list = lares_conversations_list (db, fx->a, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 3);
  g_assert_cmpint (((LaresConversation *)list->pdata[0])->id, ==, c3);
  g_assert_cmpint (((LaresConversation *)list->pdata[2])->id, ==, c1);
  g_clear_pointer (&list, g_ptr_array_unref);
  /* The page after the newest. */
  list = lares_conversations_list (db, fx->a, 301, 1, &error);
  g_assert_cmpuint (list->len, ==, 1);
  g_assert_cmpint (((LaresConversation *)list->pdata[0])->id, ==, c2);
  g_clear_pointer (&list, g_ptr_array_unref);

  /* A new turn moves a conversation to the top. */
  turn_done (db, fx->a, &c1, "again", "done", "r", 400);
  list = lares_conversations_list (db, fx->a, 0, 10, &error);
  g_assert_cmpint (((LaresConversation *)list->pdata[0])->id, ==, c1);
  g_clear_pointer (&list, g_ptr_array_unref);

  g_assert_true (lares_conversations_rename (db, fx->a, c2, "  new\tname ", 500, &error));
  g_assert_no_error (error);
  conv = lares_conversations_get (db, fx->a, c2, &error);
  g_assert_cmpstr (conv->title, ==, "new name");
  g_assert_cmpint (conv->updated_at, ==, 500);
  json = lares_conversation_to_json (conv);
  s = node_to_string (json);
  g_assert_cmpstr (s, ==,
                   "{\"id\":2,\"title\":\"new name\",\"created_at\":200,\"updated_at\":500,"
                   "\"turns\":1}");
  g_assert_false (lares_conversations_rename (db, fx->a, c2, " \n ", 600, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);
  g_assert_false (lares_conversations_rename (db, fx->a, 999, "x", 600, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Deleting takes turns and messages along; spend stays, unlinked. */
  call.turn_id = t1;
  g_assert_true (lares_llm_calls_insert (db, &call, &error));
  g_assert_no_error (error);
  g_assert_cmpint (query_int (db, "SELECT turn_id FROM llm_calls"), ==, t1);
  g_assert_true (lares_conversations_delete (db, fx->a, c1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM turns"), ==, 2);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM messages"), ==, 4);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM llm_calls WHERE turn_id IS NULL"), ==, 1);
  g_assert_null (lares_conversations_get (db, fx->a, c1, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (lares_conversations_delete (db, fx->a, c1, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (lares_messages_list (db, fx->a, c1, 0, 10, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  return TRUE;
}

static void
test_conversations (Fixture *fx, gconstpointer unused)
{
  run_write (fx, conversations_body);
}

/* History. */

static gboolean
history_body (sqlite3 *db, gpointer data, GError **unused)
{
  Fixture *fx = data;
  g_autoptr (GError) error = NULL;
  LaresHistorySummary sum;
  int64_t c1 = 0, c2 = 0, bc = 0, deleted = -1, t;
  LaresLlmCall call = { .user_id = fx->a, .provider = "p", .model = "m", .status = "ok" };

  g_assert_true (lares_history_summary (db, fx->a, &sum, &error));
  g_assert_cmpint (sum.conversations + sum.turns + sum.messages + sum.chars, ==, 0);
  g_assert_cmpint (sum.first_at, ==, 0);
  g_assert_cmpint (sum.last_at, ==, 0);

  t = turn_done (db, fx->a, &c1, "héllo", "done", "hi", 100);  /* 5 + 2 */
  turn_done (db, fx->a, &c1, "more", "error", NULL, 200);      /* 4 */
  turn_done (db, fx->a, &c2, "other", "done", "ok", 300);      /* 5 + 2 */
  turn_done (db, fx->b, &bc, "bob's own", "done", "yes", 900); /* not counted */
  call.turn_id = t;
  g_assert_true (lares_llm_calls_insert (db, &call, &error));

  g_assert_true (lares_history_summary (db, fx->a, &sum, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sum.conversations, ==, 2);
  g_assert_cmpint (sum.turns, ==, 3);
  g_assert_cmpint (sum.messages, ==, 5);
  g_assert_cmpint (sum.chars, ==, 18);
  g_assert_cmpint (sum.first_at, ==, 100);
  g_assert_cmpint (sum.last_at, ==, 301);

  g_assert_true (lares_history_clear (db, fx->a, &deleted, &error));
  g_assert_no_error (error);
  g_assert_cmpint (deleted, ==, 2);
  g_assert_true (lares_history_summary (db, fx->a, &sum, &error));
  g_assert_cmpint (sum.conversations + sum.turns + sum.messages + sum.chars, ==, 0);
  /* Bob's history and Alice's spend are untouched. */
  g_assert_true (lares_history_summary (db, fx->b, &sum, &error));
  g_assert_cmpint (sum.messages, ==, 2);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM llm_calls WHERE turn_id IS NULL"), ==, 1);
  g_assert_true (lares_history_clear (db, fx->a, NULL, &error));
  g_assert_no_error (error);
  return TRUE;
}

static void
test_history (Fixture *fx, gconstpointer unused)
{
  g_autofree char *counts = NULL;

  run_write (fx, history_body);
  counts = reader_counts (fx);
  g_assert_cmpstr (counts, ==, "c1 t1 m2 l1 f0 s0");
}

/* Spend. */

static void
add_call (sqlite3 *db, int64_t user, int64_t at, int64_t prompt, int64_t completion, int64_t micros)
{
  g_autoptr (GError) error = NULL;
  LaresLlmCall call = { .user_id = user,
                        .provider = "anthropic",
                        .model = "m",
                        .status = "ok",
                        .prompt_tokens = prompt,
                        .completion_tokens = completion,
                        .cost_micros = micros,
                        .created_at = at };

  g_assert_true (lares_llm_calls_insert (db, &call, &error));
  g_assert_no_error (error);
}

static void
assert_day (JsonNode *days, unsigned i, const char *day, int64_t calls, int64_t prompt,
            int64_t completion, double usd)
{
  JsonObject *o = json_array_get_object_element (json_node_get_array (days), i);

  g_assert_cmpstr (json_object_get_string_member (o, "day"), ==, day);
  g_assert_cmpint (json_object_get_int_member (o, "calls"), ==, calls);
  g_assert_cmpint (json_object_get_int_member (o, "prompt_tokens"), ==, prompt);
  g_assert_cmpint (json_object_get_int_member (o, "completion_tokens"), ==, completion);
  g_assert_true (JSON_NODE_HOLDS_VALUE (json_object_get_member (o, "cost_usd")));
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "cost_usd"), usd, 1e-12);
}

static gboolean
costs_body (sqlite3 *db, gpointer data, GError **unused)
{
  Fixture *fx = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) days = NULL;
  g_autoptr (JsonNode) none = NULL;
  LaresCostTotals tot;
  LaresLlmCall bad = {
    .user_id = fx->a, .provider = "p", .model = "m", .status = "ok", .prompt_tokens = -1
  };

  /* TZ is EST5 (see main): 03:00Z on the 2nd is still the 1st locally. */
  add_call (db, fx->a, JAN1 - 31 * 24 * HOUR, 1000, 1000, 99000000); /* before @since */
  add_call (db, fx->a, JAN1 + 12 * HOUR, 100, 20, 1500000);
  add_call (db, fx->a, JAN1 + 27 * HOUR, 10, 5, 250000);
  add_call (db, fx->a, JAN1 + 36 * HOUR, 1, 1, 1);
  add_call (db, fx->b, JAN1 + 12 * HOUR, 7, 7, 7000000);

  g_assert_true (lares_costs_total (db, fx->a, JAN1, &tot, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tot.calls, ==, 3);
  g_assert_cmpint (tot.prompt_tokens, ==, 111);
  g_assert_cmpint (tot.completion_tokens, ==, 26);
  g_assert_cmpint (tot.cost_micros, ==, 1750001);
  g_assert_true (lares_costs_total (db, fx->a, 0, &tot, &error));
  g_assert_cmpint (tot.calls, ==, 4);

  days = lares_costs_by_day (db, fx->a, JAN1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (days)), ==, 2);
  assert_day (days, 0, "2024-01-01", 2, 110, 25, 1.75);
  assert_day (days, 1, "2024-01-02", 1, 1, 1, 0.000001);

  /* No calls: zeros and an empty array. */
  g_assert_true (lares_costs_total (db, fx->b, JAN1 + 13 * HOUR, &tot, &error));
  g_assert_cmpint (tot.calls + tot.prompt_tokens + tot.completion_tokens + tot.cost_micros, ==, 0);
  none = lares_costs_by_day (db, fx->b, JAN1 + 13 * HOUR, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (none)), ==, 0);

  g_assert_false (lares_llm_calls_insert (db, &bad, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM llm_calls"), ==, 5);
  return TRUE;
}

static void
test_costs (Fixture *fx, gconstpointer unused)
{
  run_write (fx, costs_body);
}

/* Facts. */

static char *
facts_texts (JsonNode *array)
{
  JsonArray *arr = json_node_get_array (array);
  g_autoptr (GString) out = g_string_new (NULL);

  for (unsigned i = 0; i < json_array_get_length (arr); i++)
    g_string_append_printf (
        out, "%s%s", i ? "|" : "",
        json_object_get_string_member (json_array_get_object_element (arr, i), "text"));
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
assert_search (sqlite3 *db, int64_t user, const char *query, const char *want)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) found = lares_facts_search (db, user, query, &error);
  g_autofree char *got = NULL;

  g_assert_no_error (error);
  got = facts_texts (found);
  g_assert_cmpstr (got, ==, want);
}

static gboolean
facts_body (sqlite3 *db, gpointer data, GError **unused)
{
  Fixture *fx = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) list = NULL;
  g_autoptr (GString) longest = g_string_new (NULL);
  g_autofree char *texts = NULL, *s = NULL;
  int64_t id1 = 0, id2 = 0, again = 0, removed = -1;

  g_assert_true (lares_facts_add (db, fx->a, "  Likes green tea\n", 10, &id1, &error));
  g_assert_no_error (error);
  g_assert_true (lares_facts_add (db, fx->a, "Likes green tea", 20, &again, &error));
  g_assert_cmpint (again, ==, id1);
  g_assert_true (lares_facts_add (db, fx->a, "battery at 100% is fine", 30, &id2, &error));
  g_assert_true (lares_facts_add (db, fx->a, "100 percent sure", 40, NULL, &error));
  g_assert_true (lares_facts_add (db, fx->a, "key a_b", 50, NULL, &error));
  g_assert_true (lares_facts_add (db, fx->a, "key axb", 60, NULL, &error));
  g_assert_true (lares_facts_add (db, fx->a, "ÄPFEL mag sie", 70, NULL, &error));
  g_assert_no_error (error);

  for (int i = 0; i < LARES_FACT_MAX; i++)
    g_string_append (longest, "ß");
  g_assert_true (lares_facts_add (db, fx->b, longest->str, 1, NULL, &error));
  g_assert_no_error (error);
  g_string_append (longest, "ß");
  g_assert_false (lares_facts_add (db, fx->b, longest->str, 1, NULL, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);
  g_assert_false (lares_facts_add (db, fx->a, " \t\n", 1, NULL, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);

  list = lares_facts_list (db, fx->a, &error);
  g_assert_no_error (error);
  texts = facts_texts (list);
  g_assert_cmpstr (texts, ==,
                   "Likes green tea|battery at 100% is fine|100 percent sure|key a_b|key axb|"
                   "ÄPFEL mag sie");
  s = node_to_string (json_array_get_element (json_node_get_array (list), 0));
  g_assert_cmpstr (s, ==, "{\"id\":1,\"text\":\"Likes green tea\",\"created_at\":10}");

  /* Case-insensitive for any script, and '%' and '_' are plain text. */
  assert_search (db, fx->a, "GREEN TEA", "Likes green tea");
  assert_search (db, fx->a, "äpfel", "ÄPFEL mag sie");
  assert_search (db, fx->a, "100%", "battery at 100% is fine");
  assert_search (db, fx->a, "a_b", "key a_b");
  assert_search (db, fx->a, "%", "battery at 100% is fine");
  assert_search (db, fx->a, "nothing like it", "");
  assert_search (db, fx->b, "tea", "");

  g_assert_true (lares_facts_forget (db, fx->a, 0, "100%", &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpint (removed, ==, 1);
  assert_search (db, fx->a, "100", "100 percent sure");
  g_assert_true (lares_facts_forget (db, fx->a, 0, "_", &removed, &error));
  g_assert_cmpint (removed, ==, 1);
  g_assert_true (lares_facts_forget (db, fx->a, 0, "no match", &removed, &error));
  g_assert_cmpint (removed, ==, 0);
  g_assert_false (lares_facts_forget (db, fx->a, 0, "  ", &removed, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);

  g_assert_true (lares_facts_forget (db, fx->a, id1, NULL, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpint (removed, ==, 1);
  g_assert_false (lares_facts_forget (db, fx->a, id1, NULL, &removed, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  assert_search (db, fx->a, "", "100 percent sure|key axb|ÄPFEL mag sie");
  return TRUE;
}

static void
test_facts (Fixture *fx, gconstpointer unused)
{
  run_write (fx, facts_body);
}

/* Settings. */

static gboolean
settings_body (sqlite3 *db, gpointer data, GError **unused)
{
  Fixture *fx = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *v1 = NULL, *v2 = NULL, *v3 = NULL, *v4 = NULL;

  g_assert_null (lares_user_setting_get (db, fx->a, "persona", &error));
  g_assert_no_error (error);
  g_assert_true (lares_user_setting_set (db, fx->a, "persona", "brief", &error));
  g_assert_no_error (error);
  v1 = lares_user_setting_get (db, fx->a, "persona", &error);
  g_assert_cmpstr (v1, ==, "brief");
  g_assert_true (lares_user_setting_set (db, fx->a, "persona", "chatty", &error));
  v2 = lares_user_setting_get (db, fx->a, "persona", &error);
  g_assert_cmpstr (v2, ==, "chatty");
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM user_settings"), ==, 1);

  g_assert_true (lares_user_setting_set (db, fx->a, "units", "metric", &error));
  g_assert_true (lares_user_setting_set (db, fx->a, "units", NULL, &error));
  g_assert_no_error (error);
  g_assert_null (lares_user_setting_get (db, fx->a, "units", &error));
  g_assert_no_error (error);

  g_assert_false (lares_user_setting_set (db, fx->a, "", "x", &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);

  /* Bob has his own. */
  g_assert_null (lares_user_setting_get (db, fx->b, "persona", &error));
  g_assert_true (lares_user_setting_set (db, fx->b, "persona", "formal", &error));
  v3 = lares_user_setting_get (db, fx->a, "persona", &error);
  v4 = lares_user_setting_get (db, fx->b, "persona", &error);
  g_assert_cmpstr (v3, ==, "chatty");
  g_assert_cmpstr (v4, ==, "formal");
  g_assert_no_error (error);
  return TRUE;
}

static void
test_settings (Fixture *fx, gconstpointer unused)
{
  run_write (fx, settings_body);
}

/* JSON converters take stored text as it is. */

static void
test_message_json (void)
{
  LaresMessage msg = {
    .id = 7, .turn_id = 3, .role = (char *)"assistant", .content = (char *)"x", .created_at = 9
  };
  struct
  {
    const char *tool_calls;
    const char *want;
  } cases[] = {
    { NULL, "{\"id\":7,\"turn_id\":3,\"role\":\"assistant\",\"content\":\"x\",\"created_at\":9}" },
    { "not json", "{\"id\":7,\"turn_id\":3,\"role\":\"assistant\",\"content\":\"x\","
                  "\"created_at\":9}" },
    { "{\"id\":\"c\"}", "{\"id\":7,\"turn_id\":3,\"role\":\"assistant\",\"content\":\"x\","
                        "\"created_at\":9}" },
    { "[1", "{\"id\":7,\"turn_id\":3,\"role\":\"assistant\",\"content\":\"x\",\"created_at\":9}" },
    { "[]", "{\"id\":7,\"turn_id\":3,\"role\":\"assistant\",\"content\":\"x\",\"tool_calls\":[],"
            "\"created_at\":9}" },
    { "[{\"id\":\"c\",\"name\":\"n\",\"arguments\":\"{}\"}]",
      "{\"id\":7,\"turn_id\":3,\"role\":\"assistant\",\"content\":\"x\",\"tool_calls\":[{\"id\":"
      "\"c\",\"name\":\"n\",\"arguments\":\"{}\"}],\"created_at\":9}" },
  };
  LaresMessage tool = { .id = 8,
                        .turn_id = 3,
                        .role = (char *)"tool",
                        .content = (char *)"12:00",
                        .tool_call_id = (char *)"c",
                        .tool_name = (char *)"clock",
                        .created_at = 10 };
  g_autoptr (JsonNode) tool_json = lares_message_to_json (&tool);
  g_autofree char *tool_s = node_to_string (tool_json);

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (JsonNode) json = NULL;
      g_autofree char *s = NULL;

      msg.tool_calls = (char *)cases[i].tool_calls;
      json = lares_message_to_json (&msg);
      s = node_to_string (json);
      g_assert_cmpstr (s, ==, cases[i].want);
    }
  g_assert_cmpstr (tool_s, ==,
                   "{\"id\":8,\"turn_id\":3,\"role\":\"tool\",\"content\":\"12:00\","
                   "\"tool_call_id\":\"c\",\"tool_name\":\"clock\",\"created_at\":10}");
}

/* Isolation: Bob never sees or changes Alice's rows. */

typedef struct
{
  int64_t conv, turn, running, fact;
} AliceRows;

static AliceRows alice;

static gboolean
alice_body (sqlite3 *db, gpointer data, GError **error)
{
  Fixture *fx = data;
  LaresLlmCall call = { .user_id = fx->a, .provider = "p", .model = "m", .status = "ok" };

  alice.turn = turn_done (db, fx->a, &alice.conv, "alice's secret", "done", "noted", 100);
  alice.running = turn_done (db, fx->a, &alice.conv, "still thinking", NULL, NULL, 200);
  call.turn_id = alice.turn;
  return lares_llm_calls_insert (db, &call, error) &&
         lares_facts_add (db, fx->a, "alice fact", 1, &alice.fact, error) &&
         lares_user_setting_set (db, fx->a, "persona", "alice", error);
}

#define ASSERT_NOT_FOUND(expr)                                                                     \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_assert_false (expr);                                                                         \
    g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND);                        \
    g_clear_error (&error);                                                                        \
  }                                                                                                \
  G_STMT_END

static gboolean
bob_body (sqlite3 *db, gpointer data, GError **unused)
{
  Fixture *fx = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GPtrArray) recent = NULL;
  g_autoptr (JsonNode) facts = NULL;
  g_autoptr (JsonNode) found = NULL;
  g_autoptr (JsonNode) days = NULL;
  g_autofree char *before = chat_counts (db);
  g_autofree char *after = NULL, *setting = NULL;
  LaresHistorySummary sum;
  LaresCostTotals tot;
  LaresLlmCall call = { .user_id = fx->b, .provider = "p", .model = "m", .status = "ok" };
  int64_t n = -1, conv = alice.conv, turn = 0;

  ASSERT_NOT_FOUND (lares_conversations_get (db, fx->b, alice.conv, &error) != NULL);
  list = lares_conversations_list (db, fx->b, 0, 100, &error);
  g_assert_cmpuint (list->len, ==, 0);
  ASSERT_NOT_FOUND (lares_conversations_rename (db, fx->b, alice.conv, "mine", 1, &error));
  ASSERT_NOT_FOUND (lares_conversations_delete (db, fx->b, alice.conv, &error));
  ASSERT_NOT_FOUND (lares_messages_list (db, fx->b, alice.conv, 0, 100, &error) != NULL);
  recent = lares_messages_recent (db, fx->b, alice.conv, 10, 0, &error);
  g_assert_cmpuint (recent->len, ==, 0);
  ASSERT_NOT_FOUND (
      lares_turn_add_message (db, fx->b, alice.running, "tool", "x", NULL, "c", NULL, 1, &error));
  ASSERT_NOT_FOUND (lares_turn_finish (db, fx->b, alice.running, "done", NULL, NULL, NULL, NULL,
                                       "hijack", 1, &error));
  ASSERT_NOT_FOUND (lares_turn_begin (db, fx->b, &conv, "ws", "let me in", 1, &turn, &error));
  g_assert_cmpint (conv, ==, alice.conv);
  g_assert_cmpint (turn, ==, 0);

  g_assert_true (lares_history_summary (db, fx->b, &sum, &error));
  g_assert_cmpint (sum.conversations + sum.turns + sum.messages + sum.chars + sum.last_at, ==, 0);
  g_assert_true (lares_costs_total (db, fx->b, 0, &tot, &error));
  g_assert_cmpint (tot.calls, ==, 0);
  days = lares_costs_by_day (db, fx->b, 0, &error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (days)), ==, 0);

  facts = lares_facts_list (db, fx->b, &error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (facts)), ==, 0);
  found = lares_facts_search (db, fx->b, "alice", &error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (found)), ==, 0);
  ASSERT_NOT_FOUND (lares_facts_forget (db, fx->b, alice.fact, NULL, &n, &error));
  g_assert_true (lares_facts_forget (db, fx->b, 0, "alice", &n, &error));
  g_assert_cmpint (n, ==, 0);
  g_assert_null (lares_user_setting_get (db, fx->b, "persona", &error));
  g_assert_true (lares_history_clear (db, fx->b, &n, &error));
  g_assert_cmpint (n, ==, 0);
  g_assert_no_error (error);

  /* Nothing of Alice's moved. */
  after = chat_counts (db);
  g_assert_cmpstr (after, ==, before);
  setting = query_text (db, "SELECT status FROM turns WHERE status = 'running'");
  g_assert_cmpstr (setting, ==, "running");

  /* Spend recorded against Alice's turn is Bob's, without the link. */
  call.turn_id = alice.turn;
  g_assert_true (lares_llm_calls_insert (db, &call, &error));
  g_assert_no_error (error);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM llm_calls WHERE turn_id IS NULL"), ==, 1);
  return TRUE;
}

static void
test_isolation (Fixture *fx, gconstpointer unused)
{
  g_autofree char *counts = NULL;

  memset (&alice, 0, sizeof alice);
  run_write (fx, alice_body);
  run_write (fx, bob_body);
  counts = reader_counts (fx);
  g_assert_cmpstr (counts, ==, "c1 t2 m3 l2 f1 s1");
}

/* A refused begin in its own write job: the job fails and the store has
 * exactly the rows it had. */

static gboolean
foreign_begin (sqlite3 *db, gpointer data, GError **error)
{
  Fixture *fx = data;
  int64_t conv = alice.conv, turn = 0;

  return lares_turn_begin (db, fx->b, &conv, "rest", "hello?", 5, &turn, error);
}

static void
test_foreign_begin (Fixture *fx, gconstpointer unused)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL;

  memset (&alice, 0, sizeof alice);
  run_write (fx, alice_body);
  before = reader_counts (fx);
  g_assert_false (lares_store_write_sync (fx->store, foreign_begin, fx, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND);
  after = reader_counts (fx);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpstr (after, ==, "c1 t2 m3 l1 f1 s1");
}

/* Upgrading a database at schema 2. */

static void
exec_resource (sqlite3 *db, const char *name)
{
  g_autofree char *path = g_strconcat ("/lares/migrations/", name, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) sql = g_resource_lookup_data (lares_storage_get_resource (), path,
                                                   G_RESOURCE_LOOKUP_FLAGS_NONE, &error);

  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_exec (db, g_bytes_get_data (sql, NULL), NULL, NULL, NULL), ==,
                   SQLITE_OK);
}

static gboolean
begin_for_old_user (sqlite3 *db, gpointer data, GError **error)
{
  int64_t conv = 0, turn = 0;

  return lares_turn_begin (db, 1, &conv, "cli", "after the upgrade", 10, &turn, error);
}

static void
test_migrate_from_2 (void)
{
  g_autofree char *dir = lares_test_tmpdir ();
  g_autofree char *path = lares_store_db_path (dir);
  g_autoptr (GError) error = NULL;
  sqlite3 *db = NULL;
  LaresStore *store;

  g_assert_cmpint (lares_store_schema_head (), >=, 3);
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  exec_resource (db, "0001-init.sql");
  exec_resource (db, "0002-auth.sql");
  g_assert_cmpint (sqlite3_exec (db,
                                 "PRAGMA user_version=2;"
                                 "INSERT INTO users (name, role, created_at) VALUES ('old', "
                                 "'admin', 1);"
                                 "INSERT INTO notes (user_id, body, created_at, updated_at) "
                                 "VALUES (1, 'kept', 1, 1);",
                                 NULL, NULL, NULL),
                   ==, SQLITE_OK);
  sqlite3_close (db);

  store = lares_store_open (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (lares_store_write_sync (store, begin_for_old_user, NULL, &error));
  g_assert_no_error (error);
  lares_store_close (store);

  db = lares_test_db_open (dir);
  g_assert_cmpint (query_int (db, "PRAGMA user_version"), ==, lares_store_schema_head ());
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM notes WHERE body = 'kept'"), ==, 1);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM messages WHERE user_id = 1"), ==, 1);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM sqlite_schema WHERE name IN "
                                  "('messages_by_turn', 'llm_calls_by_turn', 'user_settings')"),
                   ==, 3);
  sqlite3_close (db);
  lares_test_rmdir (dir);
}

#define ADD(path, func)                                                                            \
  g_test_add ("/chat/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int argc, char **argv)
{
  /* A fixed zone west of UTC, so per-day grouping shows it is local; the
   * POSIX form needs no tzdata. */
  g_setenv ("TZ", "EST5", TRUE);
  tzset ();
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/chat/title", test_title);
  g_test_add_func ("/chat/message-json", test_message_json);
  ADD ("lifecycle", test_lifecycle);
  ADD ("interrupt-running", test_interrupt_running);
  ADD ("recent-context", test_recent);
  ADD ("conversations", test_conversations);
  ADD ("history", test_history);
  ADD ("costs", test_costs);
  ADD ("facts", test_facts);
  ADD ("settings", test_settings);
  ADD ("isolation", test_isolation);
  ADD ("foreign-begin-writes-nothing", test_foreign_begin);
  g_test_add_func ("/chat/migrate-from-2", test_migrate_from_2);
  return g_test_run ();
}
