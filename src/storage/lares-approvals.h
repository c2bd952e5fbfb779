/* lares-approvals.h — the approvals table: high-risk tool calls waiting for
 * the owner's decision (docs/internals/policy.md).
 *
 * Plain functions over a connection, meant to run inside a LaresStoreFunc on
 * a store thread.  Every call takes the owner's user id and filters by it
 * (another user's approval is NOT_FOUND), except the two start-up passes
 * over every user's rows: lares_approvals_scan_pending() (the expiry
 * index) and lares_approvals_fail_interrupted().
 *
 * Life of a row: pending -> approved -> executed | failed, or pending ->
 * rejected | expired.  A status change that does not start from the
 * expected status is CONSTRAINT, so two decisions can never both win.
 * Times are Unix ms (UTC).
 */
#pragma once

#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum
{
  LARES_APPROVAL_PENDING,
  LARES_APPROVAL_APPROVED, /* claimed by an approve; the tool is running */
  LARES_APPROVAL_EXECUTED,
  LARES_APPROVAL_FAILED,
  LARES_APPROVAL_REJECTED,
  LARES_APPROVAL_EXPIRED,
} LaresApprovalStatus;

#define LARES_APPROVAL_N_STATUS 6

typedef struct
{
  int64_t id;
  int64_t user_id;
  int64_t conversation_id; /* 0: none (asked over REST) */
  char *tool;              /* owned: registry name */
  char *args;              /* owned: the validated arguments, a JSON object text */
  char *plan;              /* owned, nullable: the tool's plan, a JSON object text */
  char *summary;           /* owned: what running it will do, for a person */
  char *via;               /* owned: who asked (intent, llm, rest) */
  LaresApprovalStatus status;
  int64_t created_at;
  int64_t expires_at;
  int64_t decided_at; /* 0: not decided */
  char *decided_via;  /* owned, nullable: rest, ws, cli, chat, expiry, restart */
  char *result;       /* owned, nullable: the tool's result, a JSON object text */
  char *error;        /* owned, nullable: why it failed */
} LaresApproval;

void lares_approval_free (LaresApproval *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresApproval, lares_approval_free)
LaresApproval *lares_approval_copy (const LaresApproval *a);

const char *lares_approval_status_name (LaresApprovalStatus status);
/* FALSE for an unknown name. */
gboolean lares_approval_status_parse (const char *name, LaresApprovalStatus *out);

/* The approval as the API shows it: {"id", "tool", "args", "risk", "summary",
 * "status", "conversation_id"|null, "created_at", "expires_at",
 * "decided_at"|null, "result"|null, "error"|null}, times as ISO 8601 UTC.
 * (transfer full) */
JsonNode *lares_approval_to_json (const LaresApproval *a);

/* Insert @a as pending (its id, status and decision fields are ignored);
 * sets a->id and a->status. */
gboolean lares_approvals_insert (sqlite3 *db, LaresApproval *a, GError **error);

/* (transfer full) or NULL with NOT_FOUND. */
LaresApproval *lares_approvals_get (sqlite3 *db, int64_t user_id, int64_t id, GError **error);

/* A user's approvals, newest first; @status < 0 for all.  (transfer full)
 * GPtrArray of LaresApproval. */
GPtrArray *lares_approvals_list (sqlite3 *db, int64_t user_id, int status, unsigned limit,
                                 GError **error);

/* The newest pending approval asked in @conversation_id, or NULL (with
 * @error unset) when there is none.  (transfer full) */
LaresApproval *lares_approvals_latest_pending (sqlite3 *db, int64_t user_id,
                                               int64_t conversation_id, GError **error);

/* Move approval @id from @from to @to at @now_ms.  Leaving pending sets
 * decided_at and decided_via (@via); @result and @error (nullable) are
 * stored as given.  NOT_FOUND for a missing row or another user's;
 * CONSTRAINT when the row is not in @from.  @out: OUT (transfer full),
 * nullable: the row as it now is. */
gboolean lares_approvals_transition (sqlite3 *db, int64_t user_id, int64_t id,
                                     LaresApprovalStatus from, LaresApprovalStatus to,
                                     int64_t now_ms, const char *via, const char *result,
                                     const char *error_text, LaresApproval **out, GError **error);

/* Every user's pending approvals (the start-up scan of the expiry index).
 * @func is called per row. */
typedef void (*LaresApprovalScanFunc) (int64_t id, int64_t user_id, int64_t expires_at,
                                       gpointer data);
gboolean lares_approvals_scan_pending (sqlite3 *db, LaresApprovalScanFunc func, gpointer data,
                                       GError **error);

/* Start-up: every approval left 'approved' by a crash becomes 'failed'
 * with @reason.  (transfer full) GPtrArray of the changed LaresApproval. */
GPtrArray *lares_approvals_fail_interrupted (sqlite3 *db, int64_t now_ms, const char *reason,
                                             GError **error);

G_END_DECLS
