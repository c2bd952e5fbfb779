/* lares-tools.h — the tool registry: one list of what lares can do, shared by
 * the intent engine, the LLM agent and the REST API, so every path gets the
 * same argument validation, policy and audit (lares-policy.h decides and
 * audits; this file validates and runs).
 *
 * A tool is {name, description, JSON schema of its arguments, risk,
 * handler}.  Names use dots ("memory.remember"); the LLM sees them with '_'
 * for '.' because OpenAI function names allow only [a-zA-Z0-9_-].
 *
 * A handler gets a LaresToolCall whose arguments are already validated and
 * must finish it exactly once with lares_tool_call_return() or
 * lares_tool_call_fail(), now or later on the main context.  Its result is a
 * JSON object with a "text" member: the sentence a person would want to
 * hear; the rest is data for the LLM and the UI.
 *
 * A high-risk tool also has a planner: the same kind of handler, asked
 * before anything runs, that finishes with {"text": summary, ...} saying
 * what a run would do ("Delete 12 pending tasks in project groceries")
 * and the data the run will act on (e.g. the ids); the approved run gets
 * that object back in call->plan, so what runs is what was approved.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdint.h>

#include "lares-bus.h"
#include "lares-scheduler.h"
#include "lares-store.h"

G_BEGIN_DECLS

#define LARES_TOOL_ERROR (lares_tool_error_quark ())
GQuark lares_tool_error_quark (void);

typedef enum
{
  LARES_TOOL_ERROR_UNKNOWN,        /* no tool of that name */
  LARES_TOOL_ERROR_INVALID_ARGS,   /* arguments are not JSON or do not fit the schema */
  LARES_TOOL_ERROR_FAILED,         /* the tool ran and failed */
  LARES_TOOL_ERROR_NEEDS_APPROVAL, /* high risk: not run without the owner's approval */
  LARES_TOOL_ERROR_DENIED,         /* high risk asked by someone who is not the owner */
} LaresToolError;

typedef enum
{
  LARES_TOOL_RISK_LOW,
  LARES_TOOL_RISK_HIGH,
} LaresToolRisk;

typedef struct _LaresTool LaresTool;
typedef struct _LaresToolCall LaresToolCall;
typedef struct _LaresToolRegistry LaresToolRegistry;
typedef void (*LaresToolHandler) (LaresToolCall *call);

typedef struct
{
  const char *name;        /* "memory.remember" */
  const char *description; /* one line, for the LLM and "what can you do" */
  const char *parameters;  /* JSON schema of the arguments (an object schema) */
  LaresToolRisk risk;
  LaresToolHandler handler;
  /* High risk, nullable: plan a run without acting (see above).  Without
   * one the summary is the tool's name and arguments.  A plan with
   * "nothing": true means there is nothing to do: no approval is asked
   * and its text is the answer. */
  LaresToolHandler plan;
} LaresToolSpec;

/* What a handler may use.  Owned by the caller; valid until the call ends. */
typedef struct
{
  LaresStore *store;
  int64_t user_id;
  GDateTime *now;            /* in the user's zone */
  const char *capabilities;  /* the "what can you do" answer */
  LaresScheduler *scheduler; /* nullable: reminders, timers, alarms */
  LaresBus *bus;             /* nullable: where a tool tells the user's clients what changed */
} LaresToolContext;

struct _LaresToolCall
{
  const LaresTool *tool;
  const LaresToolContext *ctx;
  JsonObject *args; /* validated (owned by the call) */
  JsonObject *plan; /* nullable: the approved plan of a high-risk run (owned by the call) */
};

/* Finish a call.  @result: a JSON object with "text" (transfer full). */
void lares_tool_call_return (LaresToolCall *call, JsonNode *result);
void lares_tool_call_fail (LaresToolCall *call, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* A handler's result: @o (transfer full, nullable: a new object) with
 * "text" set to @text.  (transfer full) */
JsonNode *lares_tool_result (JsonObject *o, const char *text);
/* Finish an approved bulk delete: publish @change for each id in @deleted
 * (int64_t) and answer "Deleted N notes.", saying how many of the @planned
 * had changed or gone since the owner was asked. */
void lares_tool_call_return_deleted (LaresToolCall *call, int64_t user_id, const GArray *deleted,
                                     unsigned planned, const char *one, const char *many,
                                     const char *change);

/* @result: (nullable) (transfer none) */
typedef void (*LaresToolDone) (JsonNode *result, const GError *error, gpointer user_data);

LaresToolRegistry *lares_tool_registry_new (void);
void lares_tool_registry_free (LaresToolRegistry *reg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresToolRegistry, lares_tool_registry_free)

/* Register @spec (kept by pointer: give it static storage).  A schema that
 * does not parse or uses what the validator does not know fails. */
gboolean lares_tool_registry_add (LaresToolRegistry *reg, const LaresToolSpec *spec,
                                  GError **error);
/* The tools of this release: time.now, memory.remember/recall/forget, help,
 * note.add/search/delete_many (lares-tools-notes.h), task.add/list/done/
 * delete_many (lares-tools-tasks.h), reminder.create/list/cancel,
 * timer.start/query/cancel, alarm.set/cancel (lares-tools-reminders.h),
 * calendar.create/list/delete (lares-tools-calendar.h). */
void lares_tool_registry_add_builtin (LaresToolRegistry *reg);

/* By registry name or LLM name.  (transfer none) (nullable) */
const LaresTool *lares_tool_registry_lookup (const LaresToolRegistry *reg, const char *name);
/* The OpenAI "tools" array.  (transfer none) */
JsonNode *lares_tool_registry_get_llm_tools (const LaresToolRegistry *reg);
/* A plain-text list of tools with their argument schemas, for models
 * without native tool calls.  (transfer none) */
const char *lares_tool_registry_get_catalog (const LaresToolRegistry *reg);

/* Every tool, in registration order. */
unsigned lares_tool_registry_n_tools (const LaresToolRegistry *reg);
const LaresTool *lares_tool_registry_nth (const LaresToolRegistry *reg, unsigned i);

const char *lares_tool_get_name (const LaresTool *tool);
const char *lares_tool_get_llm_name (const LaresTool *tool);
const char *lares_tool_get_description (const LaresTool *tool);
/* The JSON schema of the arguments.  (transfer none) */
JsonNode *lares_tool_get_parameters (const LaresTool *tool);
LaresToolRisk lares_tool_get_risk (const LaresTool *tool);

/* Check @args (a JSON node; must be an object) against the tool's schema.
 * The message names the field: "fact: expected a string". */
gboolean lares_tool_validate (const LaresTool *tool, JsonNode *args, GError **error);
/* Parse @text (arguments as the LLM sent them) and validate.  "" means {}.
 * (transfer full) */
JsonNode *lares_tool_parse_args (const LaresTool *tool, const char *text, GError **error);

/* Validate, then run the handler; @done is called exactly once, possibly
 * before this returns.  High-risk tools fail with NEEDS_APPROVAL: callers
 * go through lares_policy_run(), which decides and audits. */
void lares_tool_run (const LaresTool *tool, const LaresToolContext *ctx, JsonNode *args,
                     LaresToolDone done, gpointer user_data);

/* For the policy only.  Validate, then ask the tool's planner (a high-risk
 * tool without one gets {"text": "Run NAME with ARGS"}); nothing is done.
 * @done gets the plan object. */
void lares_tool_plan (const LaresTool *tool, const LaresToolContext *ctx, JsonNode *args,
                      LaresToolDone done, gpointer user_data);
/* For the policy only: validate and run, whatever the risk, once the owner
 * approved.  @plan (nullable, transfer none) is what lares_tool_plan
 * returned when the approval was asked. */
void lares_tool_run_approved (const LaresTool *tool, const LaresToolContext *ctx, JsonNode *args,
                              JsonObject *plan, LaresToolDone done, gpointer user_data);

G_END_DECLS
