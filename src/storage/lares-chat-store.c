/* lares-chat-store.c — SQL for conversations, turns, messages, LLM spend,
 * facts and per-user settings.
 *
 * DESIGN
 * - Threads: called on store threads only (or at start-up, or by the CLI on
 *   its own connection); no state of its own.
 * - Transactions: functions that write several rows (turn begin and finish,
 *   forgetting facts by text) rely on the store's write transaction, so a
 *   failure half way is rolled back with the rest of the job.  They still
 *   check everything they can before the first write, so a refused call
 *   writes nothing even inside a transaction the caller goes on with.
 * - Scoping: every statement filters by user_id, except marking running
 *   turns interrupted at start-up, which is for all users by design.
 * - Ordering: ids grow with time within a conversation, so "oldest first"
 *   is ORDER BY id, which the (conversation_id, id) indexes serve.
 */
#include "config.h"

#include "lares-chat-store.h"

#include "lares-store.h"

/* Shared helpers. */

static gboolean
throw_not_found (GError **error, const char *what, int64_t id)
{
  g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND, "no %s %" G_GINT64_FORMAT,
               what, id);
  return FALSE;
}

static char *
column_strdup (sqlite3_stmt *stmt, int col)
{
  return g_strdup ((const char *)sqlite3_column_text (stmt, col));
}

static void
bind_text_or_null (sqlite3_stmt *stmt, int idx, const char *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, idx, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, idx);
}

/* Step a statement that returns no rows (or whose rows are not wanted). */
static gboolean
step_done (sqlite3 *db, sqlite3_stmt *stmt, GError **error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    ;
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  return TRUE;
}

/* @text with runs of Unicode white space made one space and both ends
 * trimmed; invalid UTF-8 is replaced first.  (transfer full) */
static char *
collapse_whitespace (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  GString *out = g_string_sized_new (strlen (valid));
  gboolean pending_space = FALSE;

  for (const char *p = valid; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isspace (c))
        {
          pending_space = out->len > 0;
          continue;
        }
      if (pending_space)
        g_string_append_c (out, ' ');
      pending_space = FALSE;
      g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

char *
lares_conversation_title_make (const char *text)
{
  g_autofree char *title = NULL;
  g_autofree char *head = NULL;
  const char *cut;

  g_return_val_if_fail (text != NULL, NULL);
  title = collapse_whitespace (text);
  if (g_utf8_strlen (title, -1) <= LARES_CONVERSATION_TITLE_MAX)
    return g_steal_pointer (&title);
  /* Keep MAX - 1 characters and the ellipsis, without a space before it. */
  cut = g_utf8_offset_to_pointer (title, LARES_CONVERSATION_TITLE_MAX - 1);
  while (cut > title && cut[-1] == ' ')
    cut--;
  head = g_strndup (title, (size_t)(cut - title));
  return g_strconcat (head, "…", NULL);
}

/* Conversations. */

void
lares_conversation_free (LaresConversation *conv)
{
  if (conv == NULL)
    return;
  g_free (conv->title);
  g_free (conv);
}

JsonNode *
lares_conversation_to_json (const LaresConversation *conv)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, conv->id);
  json_builder_set_member_name (b, "title");
  json_builder_add_string_value (b, conv->title);
  json_builder_set_member_name (b, "created_at");
  json_builder_add_int_value (b, conv->created_at);
  json_builder_set_member_name (b, "updated_at");
  json_builder_add_int_value (b, conv->updated_at);
  json_builder_set_member_name (b, "turns");
  json_builder_add_int_value (b, conv->n_turns);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

#define CONVERSATION_COLUMNS                                                                       \
  "c.id, c.user_id, c.title, c.created_at, c.updated_at, "                                         \
  "(SELECT count(*) FROM turns t WHERE t.conversation_id = c.id)"

static LaresConversation *
conversation_from_row (sqlite3_stmt *stmt)
{
  LaresConversation *conv = g_new0 (LaresConversation, 1);

  conv->id = sqlite3_column_int64 (stmt, 0);
  conv->user_id = sqlite3_column_int64 (stmt, 1);
  conv->title = column_strdup (stmt, 2);
  conv->created_at = sqlite3_column_int64 (stmt, 3);
  conv->updated_at = sqlite3_column_int64 (stmt, 4);
  conv->n_turns = sqlite3_column_int64 (stmt, 5);
  return conv;
}

LaresConversation *
lares_conversations_get (sqlite3 *db, int64_t user_id, int64_t id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db, "SELECT " CONVERSATION_COLUMNS " FROM conversations c WHERE c.user_id = ?1 AND c.id = ?2",
      error);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return conversation_from_row (stmt);
  if (rc == SQLITE_DONE)
    throw_not_found (error, "conversation", id);
  else
    lares_sql_throw (db, rc, error);
  return NULL;
}

GPtrArray *
lares_conversations_list (sqlite3 *db, int64_t user_id, int64_t before_updated, unsigned limit,
                          GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "SELECT " CONVERSATION_COLUMNS " FROM conversations c "
      "WHERE c.user_id = ?1 AND c.updated_at < ?2 ORDER BY c.updated_at DESC, c.id DESC LIMIT ?3",
      error);
  g_autoptr (GPtrArray) convs =
      g_ptr_array_new_with_free_func ((GDestroyNotify)lares_conversation_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, before_updated > 0 ? before_updated : INT64_MAX);
  sqlite3_bind_int64 (stmt, 3, limit);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (convs, conversation_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  return g_steal_pointer (&convs);
}

gboolean
lares_conversations_rename (sqlite3 *db, int64_t user_id, int64_t id, const char *title,
                            int64_t now_ms, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autofree char *clean = NULL;

  g_return_val_if_fail (title != NULL, FALSE);
  clean = lares_conversation_title_make (title);
  if (*clean == '\0')
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT,
                   "empty conversation title");
      return FALSE;
    }
  stmt = lares_sql_cached (db,
                           "UPDATE conversations SET title = ?3, updated_at = max(updated_at, ?4) "
                           "WHERE user_id = ?1 AND id = ?2",
                           error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  sqlite3_bind_text (stmt, 3, clean, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, now_ms);
  if (!step_done (db, stmt, error))
    return FALSE;
  if (sqlite3_changes (db) == 0)
    return throw_not_found (error, "conversation", id);
  return TRUE;
}

gboolean
lares_conversations_delete (sqlite3 *db, int64_t user_id, int64_t id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db, "DELETE FROM conversations WHERE user_id = ?1 AND id = ?2", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  if (!step_done (db, stmt, error))
    return FALSE;
  if (sqlite3_changes (db) == 0)
    return throw_not_found (error, "conversation", id);
  return TRUE;
}

/* Turns. */

static gboolean
conversation_create (sqlite3 *db, int64_t user_id, const char *text, int64_t now_ms,
                     int64_t *conversation_id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db,
                        "INSERT INTO conversations (id, user_id, title, created_at, updated_at) "
                        "VALUES (?4, ?1, ?2, ?3, ?3)",
                        error);
  g_autofree char *title = lares_conversation_title_make (text);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_text (stmt, 2, title, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, now_ms);
  if (*conversation_id > 0) /* else NULL: SQLite picks the id */
    sqlite3_bind_int64 (stmt, 4, *conversation_id);
  if (!step_done (db, stmt, error))
    return FALSE;
  *conversation_id = sqlite3_last_insert_rowid (db);
  return TRUE;
}

/* Touch the user's conversation; NOT_FOUND when it is not theirs.  This is
 * the ownership check for everything written into the conversation. */
static gboolean
conversation_touch (sqlite3 *db, int64_t user_id, int64_t conversation_id, int64_t now_ms,
                    GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db,
                        "UPDATE conversations SET updated_at = max(updated_at, ?3) "
                        "WHERE user_id = ?1 AND id = ?2",
                        error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, conversation_id);
  sqlite3_bind_int64 (stmt, 3, now_ms);
  if (!step_done (db, stmt, error))
    return FALSE;
  if (sqlite3_changes (db) == 0)
    return throw_not_found (error, "conversation", conversation_id);
  return TRUE;
}

static gboolean
message_insert (sqlite3 *db, int64_t user_id, int64_t conversation_id, int64_t turn_id,
                const char *role, const char *content, const char *tool_calls,
                const char *tool_call_id, const char *tool_name, int64_t now_ms, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "INSERT INTO messages (conversation_id, turn_id, user_id, role, content, tool_calls, "
      "tool_call_id, tool_name, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
      error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, conversation_id);
  sqlite3_bind_int64 (stmt, 2, turn_id);
  sqlite3_bind_int64 (stmt, 3, user_id);
  sqlite3_bind_text (stmt, 4, role, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 5, content ? content : "", -1, SQLITE_STATIC);
  bind_text_or_null (stmt, 6, tool_calls);
  bind_text_or_null (stmt, 7, tool_call_id);
  bind_text_or_null (stmt, 8, tool_name);
  sqlite3_bind_int64 (stmt, 9, now_ms);
  return step_done (db, stmt, error);
}

/* Begin with ids chosen by the caller, or by SQLite where they are 0. */
static gboolean
turn_begin (sqlite3 *db, int64_t user_id, int64_t *conversation_id, gboolean create,
            const char *channel, const char *text, int64_t now_ms, int64_t *turn_id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  int64_t conv_id;

  g_return_val_if_fail (conversation_id != NULL && turn_id != NULL, FALSE);
  g_return_val_if_fail (channel != NULL && text != NULL, FALSE);

  conv_id = *conversation_id;
  if (create)
    {
      if (!conversation_create (db, user_id, text, now_ms, &conv_id, error))
        return FALSE;
    }
  else if (!conversation_touch (db, user_id, conv_id, now_ms, error))
    return FALSE;

  stmt = lares_sql_cached (db,
                           "INSERT INTO turns (id, conversation_id, user_id, channel, status, "
                           "started_at) VALUES (?5, ?1, ?2, ?3, 'running', ?4)",
                           error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, conv_id);
  sqlite3_bind_int64 (stmt, 2, user_id);
  sqlite3_bind_text (stmt, 3, channel, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, now_ms);
  if (*turn_id > 0)
    sqlite3_bind_int64 (stmt, 5, *turn_id);
  if (!step_done (db, stmt, error))
    return FALSE;
  *turn_id = sqlite3_last_insert_rowid (db);
  if (!message_insert (db, user_id, conv_id, *turn_id, "user", text, NULL, NULL, NULL, now_ms,
                       error))
    return FALSE;
  *conversation_id = conv_id;
  return TRUE;
}

gboolean
lares_turn_begin (sqlite3 *db, int64_t user_id, int64_t *conversation_id, const char *channel,
                  const char *text, int64_t now_ms, int64_t *turn_id, GError **error)
{
  int64_t conv = conversation_id ? *conversation_id : 0;
  int64_t turn = 0;

  if (conversation_id == NULL || turn_id == NULL)
    return turn_begin (db, user_id, conversation_id, FALSE, channel, text, now_ms, turn_id, error);
  if (!turn_begin (db, user_id, &conv, conv == 0, channel, text, now_ms, &turn, error))
    return FALSE;
  *conversation_id = conv;
  *turn_id = turn;
  return TRUE;
}

gboolean
lares_turn_begin_at (sqlite3 *db, int64_t user_id, int64_t conversation_id, gboolean create,
                     int64_t turn_id, const char *channel, const char *text, int64_t now_ms,
                     GError **error)
{
  g_return_val_if_fail (conversation_id > 0 && turn_id > 0, FALSE);
  return turn_begin (db, user_id, &conversation_id, create, channel, text, now_ms, &turn_id, error);
}

/* The conversation of the user's turn @turn_id, which must be 'running':
 * NOT_FOUND when the turn is not the user's, CONSTRAINT when it has
 * finished. */
static gboolean
running_turn_conversation (sqlite3 *db, int64_t user_id, int64_t turn_id, int64_t *conversation_id,
                           GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db, "SELECT conversation_id, status FROM turns WHERE user_id = ?1 AND id = ?2", error);
  const char *status;
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, turn_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return throw_not_found (error, "turn", turn_id);
  if (rc != SQLITE_ROW)
    return lares_sql_throw (db, rc, error);
  status = (const char *)sqlite3_column_text (stmt, 1);
  if (g_strcmp0 (status, "running") != 0)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT,
                   "turn %" G_GINT64_FORMAT " is '%s', not running", turn_id, status);
      return FALSE;
    }
  *conversation_id = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

/* Tool calls are replayed to LLM providers as part of later context, so
 * only a JSON array is stored: garbage would break every later request of
 * the conversation. */
static gboolean
check_tool_calls (const char *tool_calls, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;

  if (tool_calls == NULL)
    return TRUE;
  if (json_parser_load_from_data (parser, tool_calls, -1, NULL) &&
      (root = json_parser_get_root (parser)) != NULL && JSON_NODE_HOLDS_ARRAY (root))
    return TRUE;
  g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT,
               "tool calls are not a JSON array");
  return FALSE;
}

gboolean
lares_turn_add_message (sqlite3 *db, int64_t user_id, int64_t turn_id, const char *role,
                        const char *content, const char *tool_calls, const char *tool_call_id,
                        const char *tool_name, int64_t now_ms, GError **error)
{
  int64_t conv_id;

  g_return_val_if_fail (role != NULL, FALSE);

  if (g_str_equal (role, "assistant"))
    {
      if (tool_call_id != NULL || tool_name != NULL)
        {
          g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT,
                       "an assistant message answers no tool call");
          return FALSE;
        }
      if (!check_tool_calls (tool_calls, error))
        return FALSE;
    }
  else if (g_str_equal (role, "tool"))
    {
      if (tool_call_id == NULL || tool_calls != NULL)
        {
          g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT,
                       "a tool message needs the id of the call it answers and carries no calls");
          return FALSE;
        }
    }
  else
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT,
                   "cannot add a '%s' message to a turn", role);
      return FALSE;
    }
  if (!running_turn_conversation (db, user_id, turn_id, &conv_id, error))
    return FALSE;
  return message_insert (db, user_id, conv_id, turn_id, role, content, tool_calls, tool_call_id,
                         tool_name, now_ms, error);
}

gboolean
lares_turn_finish (sqlite3 *db, int64_t user_id, int64_t turn_id, const char *status,
                   const char *path, const char *why, const char *error_code, const char *timings,
                   const char *reply, int64_t now_ms, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  int64_t conv_id;

  g_return_val_if_fail (status != NULL, FALSE);

  if (!g_str_equal (status, "done") && !g_str_equal (status, "error") &&
      !g_str_equal (status, "cancelled"))
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT,
                   "a turn cannot finish as '%s'", status);
      return FALSE;
    }
  if (!running_turn_conversation (db, user_id, turn_id, &conv_id, error))
    return FALSE;
  stmt = lares_sql_cached (db,
                           "UPDATE turns SET status = ?3, path = ?4, why = ?5, error_code = ?6, "
                           "timings = ?7, finished_at = ?8 "
                           "WHERE user_id = ?1 AND id = ?2 AND status = 'running'",
                           error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, turn_id);
  sqlite3_bind_text (stmt, 3, status, -1, SQLITE_STATIC);
  bind_text_or_null (stmt, 4, path);
  bind_text_or_null (stmt, 5, why);
  bind_text_or_null (stmt, 6, error_code);
  bind_text_or_null (stmt, 7, timings);
  sqlite3_bind_int64 (stmt, 8, now_ms);
  if (!step_done (db, stmt, error))
    return FALSE;
  if (reply != NULL && !message_insert (db, user_id, conv_id, turn_id, "assistant", reply, NULL,
                                        NULL, NULL, now_ms, error))
    return FALSE;
  return conversation_touch (db, user_id, conv_id, now_ms, error);
}

int64_t
lares_turns_interrupt_running (sqlite3 *db, int64_t now_ms, GError **error)
{
  /* The one statement not scoped to a user: at start-up no turn of anyone
   * can still be running. */
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db, "UPDATE turns SET status = 'interrupted', finished_at = ?1 WHERE status = 'running'",
      error);

  if (stmt == NULL)
    return -1;
  sqlite3_bind_int64 (stmt, 1, now_ms);
  if (!step_done (db, stmt, error))
    return -1;
  return sqlite3_changes64 (db);
}

/* Messages. */

void
lares_message_free (LaresMessage *msg)
{
  if (msg == NULL)
    return;
  g_free (msg->role);
  g_free (msg->content);
  g_free (msg->tool_calls);
  g_free (msg->tool_call_id);
  g_free (msg->tool_name);
  g_free (msg);
}

/* The stored tool_calls text as a JSON array node, or NULL when it is not
 * one (rows written before validation, or by hand).  (transfer full) */
static JsonNode *
tool_calls_parse (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) error = NULL;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, text, -1, &error))
    {
      g_debug ("chat: stored tool calls are not JSON: %s", error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      g_debug ("chat: stored tool calls are not an array");
      return NULL;
    }
  return json_node_copy (root);
}

JsonNode *
lares_message_to_json (const LaresMessage *msg)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, msg->id);
  json_builder_set_member_name (b, "turn_id");
  json_builder_add_int_value (b, msg->turn_id);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, msg->role);
  json_builder_set_member_name (b, "content");
  json_builder_add_string_value (b, msg->content);
  if (msg->tool_calls != NULL)
    {
      JsonNode *calls = tool_calls_parse (msg->tool_calls);

      if (calls != NULL)
        {
          json_builder_set_member_name (b, "tool_calls");
          json_builder_add_value (b, calls);
        }
    }
  if (msg->tool_call_id != NULL)
    {
      json_builder_set_member_name (b, "tool_call_id");
      json_builder_add_string_value (b, msg->tool_call_id);
    }
  if (msg->tool_name != NULL)
    {
      json_builder_set_member_name (b, "tool_name");
      json_builder_add_string_value (b, msg->tool_name);
    }
  json_builder_set_member_name (b, "created_at");
  json_builder_add_int_value (b, msg->created_at);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

#define MESSAGE_COLUMNS                                                                            \
  "m.id, m.conversation_id, m.turn_id, m.role, m.content, m.tool_calls, m.tool_call_id, "          \
  "m.tool_name, m.created_at"

static LaresMessage *
message_from_row (sqlite3_stmt *stmt)
{
  LaresMessage *msg = g_new0 (LaresMessage, 1);

  msg->id = sqlite3_column_int64 (stmt, 0);
  msg->conversation_id = sqlite3_column_int64 (stmt, 1);
  msg->turn_id = sqlite3_column_int64 (stmt, 2);
  msg->role = column_strdup (stmt, 3);
  msg->content = column_strdup (stmt, 4);
  msg->tool_calls = column_strdup (stmt, 5);
  msg->tool_call_id = column_strdup (stmt, 6);
  msg->tool_name = column_strdup (stmt, 7);
  msg->created_at = sqlite3_column_int64 (stmt, 8);
  return msg;
}

static GPtrArray *
messages_collect (sqlite3 *db, sqlite3_stmt *stmt, GError **error)
{
  g_autoptr (GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_message_free);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (msgs, message_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  return g_steal_pointer (&msgs);
}

static gboolean
conversation_exists (sqlite3 *db, int64_t user_id, int64_t id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db, "SELECT 1 FROM conversations WHERE user_id = ?1 AND id = ?2", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return throw_not_found (error, "conversation", id);
  if (rc != SQLITE_ROW)
    return lares_sql_throw (db, rc, error);
  return TRUE;
}

GPtrArray *
lares_messages_list (sqlite3 *db, int64_t user_id, int64_t conversation_id, int64_t after_id,
                     unsigned limit, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;

  /* An empty page and another user's conversation must not look alike to
   * the caller: the second is a 404. */
  if (!conversation_exists (db, user_id, conversation_id, error))
    return NULL;
  stmt = lares_sql_cached (db,
                           "SELECT " MESSAGE_COLUMNS " FROM messages m "
                           "WHERE m.conversation_id = ?2 AND m.user_id = ?1 AND m.id > ?3 "
                           "ORDER BY m.id LIMIT ?4",
                           error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, conversation_id);
  sqlite3_bind_int64 (stmt, 3, after_id);
  sqlite3_bind_int64 (stmt, 4, limit);
  return messages_collect (db, stmt, error);
}

GPtrArray *
lares_messages_recent (sqlite3 *db, int64_t user_id, int64_t conversation_id, unsigned max_turns,
                       int64_t exclude_turn_id, GError **error)
{
  /* The subquery walks turns_by_conversation backwards and stops after
   * @max_turns finished turns; the outer one reads their messages through
   * messages_by_turn.  Cost grows with the context, not the history. */
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "SELECT " MESSAGE_COLUMNS " FROM messages m "
      "WHERE m.user_id = ?1 AND m.turn_id IN ("
      "  SELECT t.id FROM turns t"
      "  WHERE t.conversation_id = ?2 AND t.user_id = ?1 AND t.status = 'done' AND t.id <> ?4"
      "  ORDER BY t.id DESC LIMIT ?3) "
      "ORDER BY m.id",
      error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, conversation_id);
  sqlite3_bind_int64 (stmt, 3, max_turns);
  sqlite3_bind_int64 (stmt, 4, exclude_turn_id);
  return messages_collect (db, stmt, error);
}

/* History. */

static gboolean
count_one (sqlite3 *db, const char *sql, int64_t user_id, int64_t *out, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (db, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    return lares_sql_throw (db, rc, error);
  *out = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

gboolean
lares_history_summary (sqlite3 *db, int64_t user_id, LaresHistorySummary *out, GError **error)
{
  /* Turns and messages are reached through the user's conversations, so
   * each count walks indexes instead of the whole table. */
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "SELECT count(*), coalesce(sum(length(m.content)), 0), coalesce(min(m.created_at), 0), "
      "coalesce(max(m.created_at), 0) "
      "FROM conversations c JOIN messages m ON m.conversation_id = c.id "
      "WHERE c.user_id = ?1 AND m.user_id = ?1",
      error);
  LaresHistorySummary sum = { 0 };
  int rc;

  g_return_val_if_fail (out != NULL, FALSE);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    return lares_sql_throw (db, rc, error);
  sum.messages = sqlite3_column_int64 (stmt, 0);
  sum.chars = sqlite3_column_int64 (stmt, 1);
  sum.first_at = sqlite3_column_int64 (stmt, 2);
  sum.last_at = sqlite3_column_int64 (stmt, 3);
  if (!count_one (db, "SELECT count(*) FROM conversations WHERE user_id = ?1", user_id,
                  &sum.conversations, error) ||
      !count_one (db,
                  "SELECT count(*) FROM conversations c JOIN turns t ON t.conversation_id = c.id "
                  "WHERE c.user_id = ?1 AND t.user_id = ?1",
                  user_id, &sum.turns, error))
    return FALSE;
  *out = sum;
  return TRUE;
}

gboolean
lares_history_clear (sqlite3 *db, int64_t user_id, int64_t *deleted, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db, "DELETE FROM conversations WHERE user_id = ?1", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  if (!step_done (db, stmt, error))
    return FALSE;
  if (deleted)
    *deleted = sqlite3_changes64 (db);
  return TRUE;
}

/* LLM spend. */

gboolean
lares_llm_calls_insert (sqlite3 *db, const LaresLlmCall *call, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (call != NULL, FALSE);
  g_return_val_if_fail (call->provider != NULL && call->model != NULL && call->status != NULL,
                        FALSE);

  if (call->prompt_tokens < 0 || call->completion_tokens < 0 || call->cost_micros < 0 ||
      call->bytes_sent < 0 || call->duration_ms < 0)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT,
                   "negative count in an LLM call record");
      return FALSE;
    }
  /* The turn is only a back reference: when it is gone (history cleared
   * while the call ran) or not the user's, the spend is still recorded,
   * without it. */
  stmt = lares_sql_cached (
      db,
      "INSERT INTO llm_calls (user_id, turn_id, provider, model, status, prompt_tokens, "
      "completion_tokens, estimated, cost_micros, bytes_sent, duration_ms, created_at) "
      "VALUES (?1, (SELECT id FROM turns WHERE user_id = ?1 AND id = ?2), ?3, ?4, ?5, ?6, ?7, ?8, "
      "?9, ?10, ?11, ?12)",
      error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, call->user_id);
  sqlite3_bind_int64 (stmt, 2, call->turn_id);
  sqlite3_bind_text (stmt, 3, call->provider, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, call->model, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 5, call->status, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 6, call->prompt_tokens);
  sqlite3_bind_int64 (stmt, 7, call->completion_tokens);
  sqlite3_bind_int (stmt, 8, call->estimated ? 1 : 0);
  sqlite3_bind_int64 (stmt, 9, call->cost_micros);
  sqlite3_bind_int64 (stmt, 10, call->bytes_sent);
  sqlite3_bind_int64 (stmt, 11, call->duration_ms);
  sqlite3_bind_int64 (stmt, 12, call->created_at);
  return step_done (db, stmt, error);
}

gboolean
lares_costs_total (sqlite3 *db, int64_t user_id, int64_t since_ms, LaresCostTotals *out,
                   GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "SELECT count(*), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), "
      "coalesce(sum(cost_micros), 0) FROM llm_calls WHERE user_id = ?1 AND created_at >= ?2",
      error);
  int rc;

  g_return_val_if_fail (out != NULL, FALSE);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, since_ms);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    return lares_sql_throw (db, rc, error);
  out->calls = sqlite3_column_int64 (stmt, 0);
  out->prompt_tokens = sqlite3_column_int64 (stmt, 1);
  out->completion_tokens = sqlite3_column_int64 (stmt, 2);
  out->cost_micros = sqlite3_column_int64 (stmt, 3);
  return TRUE;
}

JsonNode *
lares_costs_by_day (sqlite3 *db, int64_t user_id, int64_t since_ms, GError **error)
{
  /* SQLite's 'localtime' modifier follows the process time zone (TZ). */
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "SELECT date(created_at / 1000, 'unixepoch', 'localtime') AS day, count(*), "
      "sum(prompt_tokens), sum(completion_tokens), sum(cost_micros) "
      "FROM llm_calls WHERE user_id = ?1 AND created_at >= ?2 GROUP BY day ORDER BY day",
      error);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, since_ms);
  json_builder_begin_array (b);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "day");
      json_builder_add_string_value (b, (const char *)sqlite3_column_text (stmt, 0));
      json_builder_set_member_name (b, "calls");
      json_builder_add_int_value (b, sqlite3_column_int64 (stmt, 1));
      json_builder_set_member_name (b, "prompt_tokens");
      json_builder_add_int_value (b, sqlite3_column_int64 (stmt, 2));
      json_builder_set_member_name (b, "completion_tokens");
      json_builder_add_int_value (b, sqlite3_column_int64 (stmt, 3));
      json_builder_set_member_name (b, "cost_usd");
      json_builder_add_double_value (b, (double)sqlite3_column_int64 (stmt, 4) / 1e6);
      json_builder_end_object (b);
    }
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  json_builder_end_array (b);
  return json_builder_get_root (b);
}

/* Facts. */

/* @text without white space at either end, or NULL with CONSTRAINT when
 * that leaves nothing, too much or invalid UTF-8.  (transfer full) */
static char *
fact_clean (const char *text, GError **error)
{
  const char *start = text, *end = text + strlen (text);
  long len;

  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT,
                   "fact is not valid UTF-8");
      return NULL;
    }
  while (*start && g_unichar_isspace (g_utf8_get_char (start)))
    start = g_utf8_next_char (start);
  while (end > start)
    {
      const char *prev = g_utf8_find_prev_char (start, end);

      if (prev == NULL || !g_unichar_isspace (g_utf8_get_char (prev)))
        break;
      end = prev;
    }
  len = g_utf8_strlen (start, end - start);
  if (len == 0 || len > LARES_FACT_MAX)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT,
                   "a fact is 1 to %d characters, not %ld", LARES_FACT_MAX, len);
      return NULL;
    }
  return g_strndup (start, (size_t)(end - start));
}

static gboolean
fact_find (sqlite3 *db, int64_t user_id, const char *text, int64_t *id, gboolean *found,
           GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db, "SELECT id FROM facts WHERE user_id = ?1 AND text = ?2", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_text (stmt, 2, text, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  *found = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW)
    *id = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  return TRUE;
}

gboolean
lares_facts_add (sqlite3 *db, int64_t user_id, const char *text, int64_t now_ms, int64_t *id,
                 GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autofree char *clean = NULL;
  int64_t fact_id = 0;
  gboolean found;

  g_return_val_if_fail (text != NULL, FALSE);

  clean = fact_clean (text, error);
  if (clean == NULL)
    return FALSE;
  if (!fact_find (db, user_id, clean, &fact_id, &found, error))
    return FALSE;
  if (!found)
    {
      stmt = lares_sql_cached (
          db, "INSERT INTO facts (user_id, text, created_at) VALUES (?1, ?2, ?3)", error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, user_id);
      sqlite3_bind_text (stmt, 2, clean, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 3, now_ms);
      if (!step_done (db, stmt, error))
        return FALSE;
      fact_id = sqlite3_last_insert_rowid (db);
    }
  if (id)
    *id = fact_id;
  return TRUE;
}

/* Case-insensitive containment for any script.  SQLite's lower() and LIKE
 * fold ASCII only, and LIKE would read '%' and '_' in the query as
 * wildcards; the user's facts are few (all of them go into LLM context), so
 * they are matched here.  @needle is already folded. */
static gboolean
fact_matches (const char *text, const char *needle)
{
  g_autofree char *folded = g_utf8_casefold (text, -1);

  return strstr (folded, needle) != NULL;
}

static char *
fold_query (const char *query)
{
  g_autofree char *norm = g_utf8_normalize (query, -1, G_NORMALIZE_ALL);

  return norm ? g_utf8_casefold (norm, -1) : NULL;
}

/* Call @func for each of the user's facts, oldest first, whose text
 * contains @query (every fact when @query is NULL). */
typedef void (*FactFunc) (sqlite3_stmt *row, gpointer data);

static gboolean
facts_each (sqlite3 *db, int64_t user_id, const char *query, FactFunc func, gpointer data,
            GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db, "SELECT id, text, created_at FROM facts WHERE user_id = ?1 ORDER BY id", error);
  g_autofree char *needle = NULL;
  int rc;

  if (stmt == NULL)
    return FALSE;
  if (query != NULL && (needle = fold_query (query)) == NULL)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT,
                   "query is not valid UTF-8");
      return FALSE;
    }
  sqlite3_bind_int64 (stmt, 1, user_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autofree char *norm = NULL;

      if (needle != NULL)
        {
          norm =
              g_utf8_normalize ((const char *)sqlite3_column_text (stmt, 1), -1, G_NORMALIZE_ALL);
          if (norm == NULL || !fact_matches (norm, needle))
            continue;
        }
      func (stmt, data);
    }
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  return TRUE;
}

static void
fact_to_builder (sqlite3_stmt *row, gpointer data)
{
  JsonBuilder *b = data;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, sqlite3_column_int64 (row, 0));
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, (const char *)sqlite3_column_text (row, 1));
  json_builder_set_member_name (b, "created_at");
  json_builder_add_int_value (b, sqlite3_column_int64 (row, 2));
  json_builder_end_object (b);
}

static JsonNode *
facts_json (sqlite3 *db, int64_t user_id, const char *query, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_array (b);
  if (!facts_each (db, user_id, query, fact_to_builder, b, error))
    return NULL;
  json_builder_end_array (b);
  return json_builder_get_root (b);
}

JsonNode *
lares_facts_list (sqlite3 *db, int64_t user_id, GError **error)
{
  return facts_json (db, user_id, NULL, error);
}

JsonNode *
lares_facts_search (sqlite3 *db, int64_t user_id, const char *query, GError **error)
{
  g_return_val_if_fail (query != NULL, NULL);
  return facts_json (db, user_id, query, error);
}

static void
fact_collect_id (sqlite3_stmt *row, gpointer data)
{
  int64_t id = sqlite3_column_int64 (row, 0);

  g_array_append_val ((GArray *)data, id);
}

static gboolean
fact_delete (sqlite3 *db, int64_t user_id, int64_t id, int64_t *removed, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db, "DELETE FROM facts WHERE user_id = ?1 AND id = ?2", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  if (!step_done (db, stmt, error))
    return FALSE;
  *removed += sqlite3_changes (db);
  return TRUE;
}

gboolean
lares_facts_forget (sqlite3 *db, int64_t user_id, int64_t id, const char *query, int64_t *removed,
                    GError **error)
{
  g_autoptr (GArray) ids = NULL;
  g_autofree char *trimmed = NULL;
  int64_t n = 0;

  g_return_val_if_fail (id > 0 || query != NULL, FALSE);

  if (id > 0)
    {
      if (!fact_delete (db, user_id, id, &n, error))
        return FALSE;
      if (n == 0)
        return throw_not_found (error, "fact", id);
    }
  else
    {
      trimmed = g_strstrip (g_strdup (query));
      /* An empty query matches everything: forgetting all facts is not
       * something to do by accident. */
      if (*trimmed == '\0')
        {
          g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT,
                       "empty query would forget every fact");
          return FALSE;
        }
      ids = g_array_new (FALSE, FALSE, sizeof (int64_t));
      if (!facts_each (db, user_id, trimmed, fact_collect_id, ids, error))
        return FALSE;
      for (unsigned i = 0; i < ids->len; i++)
        if (!fact_delete (db, user_id, g_array_index (ids, int64_t, i), &n, error))
          return FALSE;
    }
  if (removed)
    *removed = n;
  return TRUE;
}

/* Settings. */

char *
lares_user_setting_get (sqlite3 *db, int64_t user_id, const char *key, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db, "SELECT value FROM user_settings WHERE user_id = ?1 AND key = ?2", error);
  int rc;

  g_return_val_if_fail (key != NULL, NULL);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_text (stmt, 2, key, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return column_strdup (stmt, 0);
  if (rc != SQLITE_DONE)
    lares_sql_throw (db, rc, error);
  return NULL;
}

gboolean
lares_user_setting_set (sqlite3 *db, int64_t user_id, const char *key, const char *value,
                        GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (key != NULL, FALSE);

  if (*key == '\0')
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT, "empty setting name");
      return FALSE;
    }
  if (value != NULL)
    stmt = lares_sql_cached (db,
                             "INSERT INTO user_settings (user_id, key, value) VALUES (?1, ?2, ?3) "
                             "ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value",
                             error);
  else
    stmt =
        lares_sql_cached (db, "DELETE FROM user_settings WHERE user_id = ?1 AND key = ?2", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_text (stmt, 2, key, -1, SQLITE_STATIC);
  if (value != NULL)
    sqlite3_bind_text (stmt, 3, value, -1, SQLITE_STATIC);
  return step_done (db, stmt, error);
}
