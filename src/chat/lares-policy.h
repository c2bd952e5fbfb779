/* lares-policy.h — who may run which tool, approvals and the tool audit
 * (SPEC §5, docs/internals/policy.md).
 *
 * Every tool call of every path (the intent engine, the LLM agent, the
 * REST API) goes through lares_policy_run(), the one place that decides:
 *
 * - low risk: the tool runs;
 * - high risk asked by the owner: nothing runs; the tool's planner says
 *   what a run would do, and that becomes a pending approval which
 *   expires after policy.approval_ttl;
 * - high risk asked by anyone else: denied, with no approval to grant.
 *
 * An approval runs only after lares_policy_decide() approves it (REST,
 * WebSocket, CLI or "yes" in chat, all of them the owner); a rejected or
 * expired one never runs, and one runs at most once: the write that
 * claims it moves it out of 'pending' before the tool starts.  Every run,
 * refusal and approval transition is appended to the audit log, and every
 * resolution is announced to all the user's connections as
 * {"type":"notification","kind":"approval","approval":{...}}.
 *
 * Expiry: pending approvals are indexed by expiry in memory (read from the
 * store at start-up, so they keep their expiry across a restart) and ONE
 * clock alarm is armed for the earliest; nothing polls.
 *
 * Main-context only.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdint.h>

#include "lares-approvals.h"
#include "lares-bus.h"
#include "lares-scheduler.h"
#include "lares-store.h"
#include "lares-tools.h"

G_BEGIN_DECLS

#define LARES_POLICY_ERROR (lares_policy_error_quark ())
GQuark lares_policy_error_quark (void);

typedef enum
{
  LARES_POLICY_ERROR_CONFLICT, /* the approval was already decided */
  LARES_POLICY_ERROR_EXPIRED,  /* the approval expired before the decision */
  LARES_POLICY_ERROR_DENIED,   /* the actor may not decide it */
} LaresPolicyError;

/* Who asks.  Strings are borrowed for the duration of the call. */
typedef struct
{
  int64_t user_id;
  gboolean is_owner; /* the authenticated owner of @user_id's data (web, REST, WS, CLI) */
  const char *via;   /* intent, llm, rest (runs); rest, ws, cli, chat (decisions) */
  const char *ip;    /* nullable: for the audit log */
} LaresActor;

typedef enum
{
  LARES_POLICY_RAN,     /* result: the tool ran (or its plan found nothing to do) */
  LARES_POLICY_FAILED,  /* error: invalid arguments (LARES_TOOL_ERROR_INVALID_ARGS) or it failed */
  LARES_POLICY_PENDING, /* approval: waiting for the owner */
  LARES_POLICY_DENIED,  /* error (LARES_TOOL_ERROR_DENIED): high risk, not the owner */
} LaresPolicyVerdict;

/* Everything is (transfer none), valid during the callback. */
typedef struct
{
  LaresPolicyVerdict verdict;
  JsonNode *result;
  const GError *error;
  const LaresApproval *approval;
} LaresPolicyOutcome;

typedef void (*LaresPolicyDone) (const LaresPolicyOutcome *outcome, gpointer user_data);
/* @approval: (nullable) the row as it now is; @error: NOT_FOUND (store),
 * or a LARES_POLICY_ERROR. */
typedef void (*LaresApprovalDone) (const LaresApproval *approval, const GError *error,
                                   gpointer user_data);
/* A tool run changed @user_id's data (the chat drops what it cached). */
typedef void (*LaresPolicyChangedFunc) (int64_t user_id, const char *tool, gpointer user_data);

typedef struct _LaresPolicy LaresPolicy;

/* @tools: (transfer none) must outlive the policy.  @ttl_ms: how long an
 * approval waits.  @clock: (transfer full) (nullable): NULL for the real
 * clock. */
LaresPolicy *lares_policy_new (LaresStore *store, LaresBus *bus, LaresToolRegistry *tools,
                               int64_t ttl_ms, LaresClock *clock);
/* Waits for the policy's own store work and tool runs to finish. */
void lares_policy_free (LaresPolicy *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresPolicy, lares_policy_free)

/* Start-up (synchronous): approvals a crash left running become failed
 * (they may have run; they never run twice), pending ones are indexed and
 * the expiry alarm armed; those already past their time expire from the
 * main loop. */
gboolean lares_policy_start (LaresPolicy *p, GError **error);

void lares_policy_set_scheduler (LaresPolicy *p, LaresScheduler *scheduler);
void lares_policy_set_changed_func (LaresPolicy *p, LaresPolicyChangedFunc func,
                                    gpointer user_data);
int64_t lares_policy_now_ms (LaresPolicy *p);
unsigned lares_policy_n_pending (LaresPolicy *p);

/* Decide and, when allowed, run @tool with @args (transfer none) for
 * @actor; @ctx (transfer none) must stay valid until @done, which is
 * called exactly once, possibly before this returns, and only after the
 * audit record (and a new approval) has committed.  @conversation_id (0:
 * none) is where an approval was asked, so "yes" there decides it. */
void lares_policy_run (LaresPolicy *p, const LaresTool *tool, const LaresToolContext *ctx,
                       const LaresActor *actor, int64_t conversation_id, JsonNode *args,
                       LaresPolicyDone done, gpointer user_data);

/* Approve (run the tool, then record executed or failed) or reject
 * approval @id of @actor->user_id.  @done gets the approval as it ended.
 * Not pending: CONFLICT, or EXPIRED (also when its time passed but the
 * alarm has not yet gone off: it is marked expired then). */
void lares_policy_decide (LaresPolicy *p, const LaresActor *actor, int64_t id, gboolean approve,
                          LaresApprovalDone done, gpointer user_data);

/* The members of an {"type":"approval_required"} event: id, tool, args,
 * risk, summary, expires_at, conversation_id.  (transfer full) */
JsonObject *lares_approval_required_members (const LaresApproval *approval);

G_END_DECLS
