/* lares-chat-store.h — conversations, turns, messages, LLM spend, facts.
 *
 * Plain functions over a connection, run inside a LaresStoreFunc on a store
 * thread (schema: migrations/0003-chat.sql).  Every call takes the owner's
 * user id and filters by it; rows of another user are NOT_FOUND.  Functions
 * that write more than one row expect to run inside the store's write
 * transaction and do no BEGIN of their own.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <stdint.h>

G_BEGIN_DECLS

#define LARES_CONVERSATION_TITLE_MAX 80 /* characters; longer titles are cut */
#define LARES_FACT_MAX               500

/* A conversation title from @text: runs of white space become one space,
 * both ends are trimmed, invalid UTF-8 is replaced, and a title longer than
 * LARES_CONVERSATION_TITLE_MAX characters is cut to one less and ends in
 * "…".  (transfer full) */
char *lares_conversation_title_make (const char *text);

typedef struct
{
  int64_t id;
  int64_t user_id;
  char *title; /* (owned) */
  int64_t created_at;
  int64_t updated_at;
  int64_t n_turns;
} LaresConversation;

void lares_conversation_free (LaresConversation *conv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresConversation, lares_conversation_free)
/* {id, title, created_at, updated_at, turns}  (transfer full) */
JsonNode *lares_conversation_to_json (const LaresConversation *conv);

typedef struct
{
  int64_t id;
  int64_t conversation_id;
  int64_t turn_id;
  char *role;         /* user | assistant | tool (owned) */
  char *content;      /* (owned) */
  char *tool_calls;   /* assistant: JSON array text, or NULL (owned) */
  char *tool_call_id; /* tool: or NULL (owned) */
  char *tool_name;    /* tool: or NULL (owned) */
  int64_t created_at;
} LaresMessage;

void lares_message_free (LaresMessage *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresMessage, lares_message_free)
/* {id, turn_id, role, content, tool_calls?: [..] (parsed), tool_call_id?,
 * tool_name?, created_at}  (transfer full) */
JsonNode *lares_message_to_json (const LaresMessage *msg);

/* Conversations.  Get: (transfer full) or NULL with NOT_FOUND. */
LaresConversation *lares_conversations_get (sqlite3 *db, int64_t user_id, int64_t id,
                                            GError **error);
/* Most recently updated first (ties: higher id first), at most @limit;
 * @before_updated 0 starts at the newest, else lists those updated
 * strictly before it.  (transfer full) GPtrArray of LaresConversation. */
GPtrArray *lares_conversations_list (sqlite3 *db, int64_t user_id, int64_t before_updated,
                                     unsigned limit, GError **error);
/* The title is cleaned as by lares_conversation_title_make; one that is
 * empty after that fails with CONSTRAINT. */
gboolean lares_conversations_rename (sqlite3 *db, int64_t user_id, int64_t id, const char *title,
                                     int64_t now_ms, GError **error);
/* Deletes its turns and messages too (LLM spend stays). */
gboolean lares_conversations_delete (sqlite3 *db, int64_t user_id, int64_t id, GError **error);

/* Turns.  Begin: in the caller's transaction, create the conversation when
 * *@conversation_id is 0 (titled from @text) or check it belongs to the
 * user (NOT_FOUND, nothing written) and touch its updated_at, insert the
 * turn as 'running' and the user's message.  @conversation_id: IN/OUT,
 * set only on success; @turn_id: OUT. */
gboolean lares_turn_begin (sqlite3 *db, int64_t user_id, int64_t *conversation_id,
                           const char *channel, const char *text, int64_t now_ms, int64_t *turn_id,
                           GError **error);
/* The same with ids chosen by the caller (the daemon hands them out so a
 * turn can start before this commits): create conversation
 * @conversation_id when @create, else check it is the user's. */
gboolean lares_turn_begin_at (sqlite3 *db, int64_t user_id, int64_t conversation_id,
                              gboolean create, int64_t turn_id, const char *channel,
                              const char *text, int64_t now_ms, GError **error);
/* Append a message to a running turn: an assistant message carrying
 * @tool_calls (JSON array text) or a tool result (@tool_call_id,
 * @tool_name).  @role: "assistant" or "tool".  Errors: NOT_FOUND when the
 * turn is not the user's; CONSTRAINT when it is no longer running, for
 * another role, tool_calls that are not a JSON array, a tool message
 * without @tool_call_id or with @tool_calls, or an assistant message with
 * @tool_call_id or @tool_name. */
gboolean lares_turn_add_message (sqlite3 *db, int64_t user_id, int64_t turn_id, const char *role,
                                 const char *content, const char *tool_calls,
                                 const char *tool_call_id, const char *tool_name, int64_t now_ms,
                                 GError **error);
/* Finish a running turn: store @reply (nullable: no assistant message) as
 * the assistant's message, set status/path/why/error_code/timings (JSON
 * object text; all nullable) and touch the conversation's updated_at.
 * @status: done, error or cancelled, else CONSTRAINT.  A turn that is not
 * the user's is NOT_FOUND; one of theirs that is no longer running (already
 * finished, or interrupted by a restart) is CONSTRAINT. */
gboolean lares_turn_finish (sqlite3 *db, int64_t user_id, int64_t turn_id, const char *status,
                            const char *path, const char *why, const char *error_code,
                            const char *timings, const char *reply, int64_t now_ms, GError **error);
/* Start-up: mark every 'running' turn 'interrupted', for all users (the
 * one call without a user id).  Returns how many, or -1 on error. */
int64_t lares_turns_interrupt_running (sqlite3 *db, int64_t now_ms, GError **error);

/* Messages of a conversation, oldest first, with id > @after_id, at most
 * @limit.  NOT_FOUND when the conversation is not the user's.
 * (transfer full) GPtrArray of LaresMessage. */
GPtrArray *lares_messages_list (sqlite3 *db, int64_t user_id, int64_t conversation_id,
                                int64_t after_id, unsigned limit, GError **error);
/* Context for the next turn: the messages of the last @max_turns turns of
 * the conversation whose status is 'done', oldest first, excluding
 * @exclude_turn_id (0: none).  Another user's conversation gives an empty
 * array.  (transfer full) GPtrArray of LaresMessage. */
GPtrArray *lares_messages_recent (sqlite3 *db, int64_t user_id, int64_t conversation_id,
                                  unsigned max_turns, int64_t exclude_turn_id, GError **error);

/* History (seed 001's memory endpoints). */
typedef struct
{
  int64_t conversations;
  int64_t turns;
  int64_t messages;
  int64_t chars;    /* total characters of message content */
  int64_t first_at; /* Unix ms of the first message; 0 when empty */
  int64_t last_at;  /* Unix ms of the last message; 0 when empty */
} LaresHistorySummary;

gboolean lares_history_summary (sqlite3 *db, int64_t user_id, LaresHistorySummary *out,
                                GError **error);
/* Delete all of the user's conversations (and their turns and messages).
 * @deleted: OUT, nullable: conversations removed. */
gboolean lares_history_clear (sqlite3 *db, int64_t user_id, int64_t *deleted, GError **error);

/* LLM spend. */
typedef struct
{
  int64_t user_id;
  int64_t turn_id; /* 0: none */
  const char *provider;
  const char *model;
  const char *status; /* ok, error, cancelled, timeout */
  int64_t prompt_tokens;
  int64_t completion_tokens;
  gboolean estimated;
  int64_t cost_micros;
  int64_t bytes_sent;
  int64_t duration_ms;
  int64_t created_at;
} LaresLlmCall;

/* @call->turn_id is stored only when that turn exists and is the user's;
 * otherwise (the history was cleared while the call ran) the spend is
 * still recorded, without the back reference.  Negative counts fail with
 * CONSTRAINT. */
gboolean lares_llm_calls_insert (sqlite3 *db, const LaresLlmCall *call, GError **error);

typedef struct
{
  int64_t calls;
  int64_t prompt_tokens;
  int64_t completion_tokens;
  int64_t cost_micros;
} LaresCostTotals;

/* Totals of the user's calls with created_at >= @since_ms. */
gboolean lares_costs_total (sqlite3 *db, int64_t user_id, int64_t since_ms, LaresCostTotals *out,
                            GError **error);
/* Per local day since @since_ms, oldest first: a JSON array of {day:
 * "YYYY-MM-DD", calls, prompt_tokens, completion_tokens, cost_usd}.
 * (transfer full) */
JsonNode *lares_costs_by_day (sqlite3 *db, int64_t user_id, int64_t since_ms, GError **error);

/* Facts.  Remembering a fact already known is not an error: @id gets the
 * existing row.  Text is trimmed; empty, over LARES_FACT_MAX characters or
 * not UTF-8 fails with CONSTRAINT. */
gboolean lares_facts_add (sqlite3 *db, int64_t user_id, const char *text, int64_t now_ms,
                          int64_t *id, GError **error);
/* Oldest first: a JSON array of {id, text, created_at}.  (transfer full) */
JsonNode *lares_facts_list (sqlite3 *db, int64_t user_id, GError **error);
/* Facts whose text contains @query (case-insensitive for any script,
 * literal: no wildcards), as _list.  An empty @query matches all. */
JsonNode *lares_facts_search (sqlite3 *db, int64_t user_id, const char *query, GError **error);
/* Forget by id (@id > 0; NOT_FOUND when not the user's) or every fact
 * containing @query as _search matches it (none is not an error; an empty
 * @query is CONSTRAINT).  @removed: OUT, nullable. */
gboolean lares_facts_forget (sqlite3 *db, int64_t user_id, int64_t id, const char *query,
                             int64_t *removed, GError **error);

/* Per-user settings.  Get returns NULL (no error) when unset.  (transfer
 * full)  Set overwrites; @value NULL removes the setting. */
char *lares_user_setting_get (sqlite3 *db, int64_t user_id, const char *key, GError **error);
gboolean lares_user_setting_set (sqlite3 *db, int64_t user_id, const char *key, const char *value,
                                 GError **error);

G_END_DECLS
