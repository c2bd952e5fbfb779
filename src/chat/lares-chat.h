/* lares-chat.h — the orchestrator: conversations and turns (SPEC §2, §4).
 *
 * A LaresChat owns understanding (intent engine, LLM client, tool registry,
 * persona) and runs turns.  A turn takes a user's text from any channel,
 * records it, answers it through a command, the intent engine or the LLM
 * agent, and reports its events — to every connection of the user over the
 * bus and to the optional sink of the caller (an SSE response, a JSON
 * answer being collected, the OpenAI façade).  docs/internals/chat.md has
 * the flow and the event formats.
 *
 * Main-context only.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdint.h>

#include "lares-bus.h"
#include "lares-config.h"
#include "lares-llm.h"
#include "lares-policy.h"
#include "lares-scheduler.h"
#include "lares-store.h"

G_BEGIN_DECLS

#define LARES_CHAT_ERROR (lares_chat_error_quark ())
GQuark lares_chat_error_quark (void);

typedef enum
{
  LARES_CHAT_ERROR_INVALID, /* empty, too long or not UTF-8 */
  LARES_CHAT_ERROR_BUSY,    /* too many turns running for this user */
} LaresChatError;

typedef struct _LaresChat LaresChat;
typedef struct _LaresTurn LaresTurn;

typedef enum
{
  LARES_TURN_EVENT_START,
  LARES_TURN_EVENT_TOKEN,
  LARES_TURN_EVENT_EMOTION,
  LARES_TURN_EVENT_TOOL_CALL,
  LARES_TURN_EVENT_ERROR,
  LARES_TURN_EVENT_END,
  LARES_TURN_EVENT_APPROVAL, /* approval_required: a high-risk call waits for the owner */
} LaresTurnEventType;

typedef struct
{
  LaresTurnEventType type;
  const char *text;    /* TOKEN: the piece; EMOTION: the name; ERROR: the code */
  size_t len;          /* of text */
  const char *message; /* ERROR: the message */
  GBytes *json;        /* the event as a JSON object text (what /ws and SSE send) */
} LaresTurnEvent;

/* What a finished turn produced (valid from the END event on). */
typedef struct
{
  int64_t turn_id; /* 0 when the turn never started (conversation not found) */
  int64_t conversation_id;
  const char *status; /* done, error, cancelled */
  const char *path;   /* command, intent, clarify, llm, fallback, budget */
  const char *why;
  const char *error_code; /* NULL unless status is error */
  const char *reply;
  const char *emotion; /* the last one, or NULL */
  int64_t prompt_tokens;
  int64_t completion_tokens;
  int64_t cost_micros;
  unsigned llm_calls;
} LaresTurnResult;

typedef struct
{
  void (*on_event) (LaresTurn *turn, const LaresTurnEvent *event, gpointer user_data);
  gpointer user_data;
  gboolean wants_json; /* build event->json even when no connection listens */
} LaresTurnSink;

typedef struct
{
  int64_t user_id;
  int64_t conversation_id; /* 0: a new conversation */
  const char *channel;     /* ws, rest, openai, cli */
  const char *text;
  const char *conversation_key; /* nullable: picks (or starts) a conversation by name */
  gboolean untrusted; /* not the authenticated owner (e.g. an unknown sender): high-risk tools
                         are denied and approvals cannot be decided */
} LaresTurnRequest;

/* Builds the intent engine (built-in templates), the LLM client when
 * llm.provider is set, the tools and the persona; marks turns left running
 * by a crash 'interrupted'.  Start-up only (it touches the store
 * synchronously). */
LaresChat *lares_chat_new (const LaresConfig *cfg, LaresStore *store, LaresBus *bus,
                           GError **error);
void lares_chat_free (LaresChat *chat);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresChat, lares_chat_free)

gboolean lares_chat_has_llm (const LaresChat *chat);
const char *lares_chat_get_model (const LaresChat *chat);
/* The LLM client, for a connection test; NULL without llm.provider.
 * (transfer none) */
LaresLlm *lares_chat_get_llm (LaresChat *chat);
unsigned lares_chat_n_running (const LaresChat *chat);
/* Counters for /metrics. */
typedef struct
{
  uint64_t turns;       /* ended, any way */
  uint64_t turns_error; /* ended with status error */
  uint64_t turns_cancelled;
  uint64_t by_path[6]; /* command, intent, clarify, llm, fallback, budget */
  uint64_t llm_calls;
  uint64_t llm_failures; /* calls that ended with an error or timeout */
  uint64_t prompt_tokens, completion_tokens;
  unsigned running;
} LaresChatStats;

extern const char *const lares_chat_paths[6];
void lares_chat_get_stats (const LaresChat *chat, LaresChatStats *out);

/* Called whenever the last running turn has ended (shutdown waits on it). */
void lares_chat_set_idle_func (LaresChat *chat, void (*func) (gpointer), gpointer user_data);

/* The scheduler the reminder, timer and alarm tools use (transfer none;
 * it must outlive the chat's turns).  Without one those tools fail. */
void lares_chat_set_scheduler (LaresChat *chat, LaresScheduler *scheduler);

/* The tool registry (transfer none). */
const LaresToolRegistry *lares_chat_get_tools (const LaresChat *chat);
/* The policy: approvals and their decisions (transfer none). */
LaresPolicy *lares_chat_get_policy (LaresChat *chat);

/* Run tool @name with @args (transfer none) for @actor outside a turn (the
 * REST API): the same validation, policy and audit as in a turn, with the
 * user's time zone.  An unknown tool fails with LARES_TOOL_ERROR_UNKNOWN.
 * A new approval is not announced here: the caller does that. */
void lares_chat_run_tool (LaresChat *chat, const LaresActor *actor, const char *name,
                          JsonNode *args, LaresPolicyDone done, gpointer user_data);

/* Start a turn.  Input that cannot make a turn fails here (INVALID, BUSY);
 * everything after is reported as events, ending with exactly one END.
 * (transfer none): the turn lives until its END event has been delivered. */
LaresTurn *lares_chat_turn (LaresChat *chat, const LaresTurnRequest *request,
                            const LaresTurnSink *sink, GError **error);
/* Something a turn reads before it starts (facts, mode, task projects)
 * changed for @user_id outside a turn (e.g. over REST). */
void lares_chat_forget_user (LaresChat *chat, int64_t user_id);

/* Stop turns of @user_id (all of them when @turn_id is 0).  Returns how many. */
unsigned lares_chat_cancel (LaresChat *chat, int64_t user_id, int64_t turn_id);
/* Cancel every running turn (shutdown). */
void lares_chat_cancel_all (LaresChat *chat);

/* The caller's sink goes away (its client disconnected): no more sink
 * events; the turn is cancelled. */
void lares_turn_detach (LaresTurn *turn);
const LaresTurnResult *lares_turn_get_result (const LaresTurn *turn);
int64_t lares_turn_get_id (const LaresTurn *turn);
/* The turn_end object plus "tool_calls" (the finished tool_call events)
 * and "emotion": the answer of a non-streaming request.  (transfer full) */
JsonNode *lares_turn_to_json (const LaresTurn *turn);

G_END_DECLS
