/* lares-policy.c — risk, approvals, expiry and the tool audit.
 *
 * DESIGN
 * - Threads: main context only; store work runs on the store's threads
 *   through LaresStoreFunc jobs that own their data (an Op).  Every Op in
 *   flight is counted in p->inflight, and lares_policy_free() runs the
 *   main context until it is zero, since their callbacks point at us.
 * - Ordering: a caller hears the outcome only after the write holding the
 *   audit record (and, for a high-risk call, the new approval) has
 *   committed.  A decision is two writes around the tool run: the claim
 *   (pending -> approved, with its audit record, in one transaction) and
 *   the outcome (approved -> executed | failed, with the tool's audit
 *   record).  The writer serializes them with the expiry writes, so a
 *   decision and an expiry of the same row can never both win: each
 *   changes the row only from 'pending'.
 * - The expiry index mirrors the pending rows: entries are added when an
 *   insert commits and removed when a decision or expiry commits.  A failed
 *   expiry write puts its entries back a few seconds later.
 * - Audit details never hold a secret: tool arguments and results are the
 *   user's own data, and long strings in them are cut to keep rows small.
 */
#include "config.h"

#include "lares-policy.h"

#include "lares-chat-store.h"
#include "lares-credentials.h"

#include <string.h>

G_DEFINE_QUARK (lares - policy - error - quark, lares_policy_error)

#define EXPIRE_BATCH     256
#define EXPIRE_RETRY_MS  5000
#define AUDIT_STRING_MAX 200 /* characters of one string in audited arguments */
#define AUDIT_TEXT_MAX   500 /* characters of an audited result or error */
#define AUDIT_ARGS_DEPTH 8

typedef struct
{
  int64_t id; /* first: the hash key */
  int64_t user_id;
  int64_t at_ms; /* when to expire it: expires_at, or later after a failed write */
  GSequenceIter *iter;
} Entry;

struct _LaresPolicy
{
  LaresStore *store;
  LaresBus *bus;
  LaresToolRegistry *tools;
  LaresScheduler *scheduler; /* nullable, not owned */
  LaresClock *clock;
  int64_t ttl_ms;
  GSequence *queue;  /* Entry* by (at_ms, id), owning */
  GHashTable *by_id; /* id -> Entry* */
  int64_t armed_at;  /* -1: disarmed */
  unsigned inflight; /* Ops not yet finished */
  gboolean expiring; /* an expiry write is in flight */
  LaresPolicyChangedFunc changed;
  gpointer changed_data;
};

/* ---- audit details -------------------------------------------------------------------------- */

static char *
cut_text (const char *text, long max)
{
  if (text == NULL)
    return NULL;
  if (g_utf8_strlen (text, -1) <= max)
    return g_strdup (text);
  {
    g_autofree char *head = g_utf8_substring (text, 0, max);
    return g_strconcat (head, "…", NULL);
  }
}

/* A copy of @node with every long string cut. */
static JsonNode *
audit_copy (JsonNode *node, unsigned depth)
{
  if (depth > AUDIT_ARGS_DEPTH)
    return json_node_init_string (json_node_alloc (), "…");
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *in = json_node_get_object (node);
      JsonObject *out = json_object_new ();
      g_autoptr (GList) members = json_object_get_members (in);

      for (GList *l = members; l; l = l->next)
        json_object_set_member (out, l->data,
                                audit_copy (json_object_get_member (in, l->data), depth + 1));
      JsonNode *copy = json_node_new (JSON_NODE_OBJECT);

      json_node_take_object (copy, out);
      return copy;
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *in = json_node_get_array (node);
      JsonArray *out = json_array_new ();

      for (unsigned i = 0; i < json_array_get_length (in); i++)
        json_array_add_element (out, audit_copy (json_array_get_element (in, i), depth + 1));
      JsonNode *copy = json_node_new (JSON_NODE_ARRAY);

      json_node_take_array (copy, out);
      return copy;
    }
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      g_autofree char *cut = cut_text (json_node_get_string (node), AUDIT_STRING_MAX);
      return json_node_init_string (json_node_alloc (), cut);
    }
  return json_node_copy (node);
}

/* {"tool","args","via","status","result_text"|"error","approval_id"?} */
static char *
tool_audit_detail (const char *tool, JsonNode *args, const char *via, const char *status,
                   JsonNode *result, const char *error_text, int64_t approval_id)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "tool");
  json_builder_add_string_value (b, tool);
  json_builder_set_member_name (b, "args");
  if (args)
    json_builder_add_value (b, audit_copy (args, 0));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "via");
  json_builder_add_string_value (b, via);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, status);
  if (error_text)
    {
      g_autofree char *cut = cut_text (error_text, AUDIT_TEXT_MAX);
      json_builder_set_member_name (b, "error");
      json_builder_add_string_value (b, cut);
    }
  else if (result && JSON_NODE_HOLDS_OBJECT (result))
    {
      g_autofree char *cut = cut_text (
          json_object_get_string_member_with_default (json_node_get_object (result), "text", ""),
          AUDIT_TEXT_MAX);
      json_builder_set_member_name (b, "result_text");
      json_builder_add_string_value (b, cut);
    }
  if (approval_id > 0)
    {
      json_builder_set_member_name (b, "approval_id");
      json_builder_add_int_value (b, approval_id);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* {"approval_id","tool","summary","via"?,"reason"?} for approval_* events. */
static char *
approval_audit_detail (const LaresApproval *a, const char *via, const char *reason)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *summary = cut_text (a->summary, AUDIT_TEXT_MAX);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "approval_id");
  json_builder_add_int_value (b, a->id);
  json_builder_set_member_name (b, "tool");
  json_builder_add_string_value (b, a->tool);
  json_builder_set_member_name (b, "summary");
  json_builder_add_string_value (b, summary);
  if (via)
    {
      json_builder_set_member_name (b, "via");
      json_builder_add_string_value (b, via);
    }
  if (reason)
    {
      json_builder_set_member_name (b, "reason");
      json_builder_add_string_value (b, reason);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* ---- set-up --------------------------------------------------------------------------------- */

static int
entry_cmp (gconstpointer a, gconstpointer b, gpointer data G_GNUC_UNUSED)
{
  const Entry *x = a, *y = b;

  if (x->at_ms != y->at_ms)
    return x->at_ms < y->at_ms ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static void
rearm (LaresPolicy *p)
{
  GSequenceIter *first = g_sequence_get_begin_iter (p->queue);
  int64_t at = g_sequence_iter_is_end (first) ? -1 : ((Entry *)g_sequence_get (first))->at_ms;

  if (p->expiring)
    at = -1; /* re-armed when the write in flight ends */
  if (at == p->armed_at)
    return;
  p->armed_at = at;
  p->clock->arm (p->clock, at);
}

static void
index_add (LaresPolicy *p, int64_t id, int64_t user_id, int64_t at_ms)
{
  Entry *e = g_hash_table_lookup (p->by_id, &id);

  if (e != NULL)
    {
      g_hash_table_remove (p->by_id, &id);
      g_sequence_remove (e->iter); /* frees it */
    }
  e = g_new0 (Entry, 1);
  e->id = id;
  e->user_id = user_id;
  e->at_ms = at_ms;
  e->iter = g_sequence_insert_sorted (p->queue, e, entry_cmp, NULL);
  g_hash_table_insert (p->by_id, &e->id, e);
}

static void
index_remove (LaresPolicy *p, int64_t id)
{
  Entry *e = g_hash_table_lookup (p->by_id, &id);

  if (e == NULL)
    return;
  g_hash_table_remove (p->by_id, &id);
  g_sequence_remove (e->iter);
}

static void on_clock (gpointer data);

LaresPolicy *
lares_policy_new (LaresStore *store, LaresBus *bus, LaresToolRegistry *tools, int64_t ttl_ms,
                  LaresClock *clock)
{
  LaresPolicy *p = g_new0 (LaresPolicy, 1);

  p->store = store;
  p->bus = bus;
  p->tools = tools;
  p->ttl_ms = ttl_ms;
  p->clock = clock ? clock : lares_clock_new_real ();
  p->clock->fire = on_clock;
  p->clock->fire_data = p;
  p->queue = g_sequence_new (g_free);
  p->by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  p->armed_at = -1;
  return p;
}

void
lares_policy_free (LaresPolicy *p)
{
  if (p == NULL)
    return;
  p->clock->arm (p->clock, -1);
  while (p->inflight > 0)
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
  p->clock->free (p->clock);
  g_hash_table_unref (p->by_id);
  g_sequence_free (p->queue);
  g_free (p);
}

void
lares_policy_set_scheduler (LaresPolicy *p, LaresScheduler *scheduler)
{
  p->scheduler = scheduler;
}

void
lares_policy_set_changed_func (LaresPolicy *p, LaresPolicyChangedFunc func, gpointer user_data)
{
  p->changed = func;
  p->changed_data = user_data;
}

int64_t
lares_policy_now_ms (LaresPolicy *p)
{
  return p->clock->now_ms (p->clock);
}

unsigned
lares_policy_n_pending (LaresPolicy *p)
{
  return g_hash_table_size (p->by_id);
}

typedef struct
{
  int64_t now_ms;
  GPtrArray *failed;
} StartOp;

#define INTERRUPTED_REASON "lares stopped while it ran; it was not run again"

static gboolean
start_in_store (sqlite3 *db, gpointer data, GError **error)
{
  StartOp *op = data;

  op->failed = lares_approvals_fail_interrupted (db, op->now_ms, INTERRUPTED_REASON, error);
  if (op->failed == NULL)
    return FALSE;
  for (unsigned i = 0; i < op->failed->len; i++)
    {
      const LaresApproval *a = op->failed->pdata[i];
      g_autofree char *detail = approval_audit_detail (a, "restart", INTERRUPTED_REASON);
      if (!lares_audit_append (db, op->now_ms, a->user_id, "approval_failed", NULL, detail, error))
        return FALSE;
    }
  return TRUE;
}

static void
scan_pending (int64_t id, int64_t user_id, int64_t expires_at, gpointer data)
{
  index_add (data, id, user_id, expires_at);
}

gboolean
lares_policy_start (LaresPolicy *p, GError **error)
{
  StartOp op = { .now_ms = lares_policy_now_ms (p) };
  sqlite3 *db;
  gboolean ok;

  if (!lares_store_write_sync (p->store, start_in_store, &op, error))
    {
      g_clear_pointer (&op.failed, g_ptr_array_unref);
      return FALSE;
    }
  if (op.failed->len > 0)
    g_warning ("%u approved action(s) were cut off by a stop; marked failed", op.failed->len);
  g_ptr_array_unref (op.failed);
  db = lares_store_open_reader (p->store, error);
  if (db == NULL)
    return FALSE;
  ok = lares_approvals_scan_pending (db, scan_pending, p, error);
  sqlite3_close (db);
  if (ok)
    rearm (p);
  return ok;
}

/* ---- notifications -------------------------------------------------------------------------- */

static void
notify_resolved (LaresPolicy *p, const LaresApproval *a)
{
  g_autoptr (JsonNode) event = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o;

  if (lares_bus_count (p->bus, a->user_id) == 0)
    return;
  o = json_object_new ();
  json_object_set_string_member (o, "type", "notification");
  json_object_set_string_member (o, "kind", "approval");
  json_object_set_member (o, "approval", lares_approval_to_json (a));
  json_node_take_object (event, o);
  /* After the answer of the request that decided it. */
  lares_bus_publish_later (p->bus, a->user_id, event);
}

JsonObject *
lares_approval_required_members (const LaresApproval *a)
{
  g_autoptr (JsonNode) full = lares_approval_to_json (a);
  JsonObject *f = json_node_get_object (full);
  JsonObject *o = json_object_new ();
  static const char *const keep[] = { "id",      "tool",       "args",           "risk",
                                      "summary", "expires_at", "conversation_id" };

  for (size_t i = 0; i < G_N_ELEMENTS (keep); i++)
    json_object_set_member (o, keep[i], json_node_copy (json_object_get_member (f, keep[i])));
  return o;
}

/* ---- running a tool ------------------------------------------------------------------------- */

typedef struct
{
  LaresPolicy *p;
  const LaresTool *tool;
  const LaresToolContext *ctx;
  int64_t user_id;
  gboolean is_owner;
  char *via, *ip;
  int64_t conversation_id;
  JsonNode *args;
  LaresPolicyDone done;
  gpointer user_data;
  /* results */
  LaresPolicyVerdict verdict;
  JsonNode *result;
  GError *error;
  char *audit; /* the tool audit record to write */
  LaresApproval *approval;
} RunOp;

static void
run_op_free (RunOp *op)
{
  g_free (op->via);
  g_free (op->ip);
  json_node_unref (op->args);
  g_clear_pointer (&op->result, json_node_unref);
  g_clear_error (&op->error);
  g_free (op->audit);
  lares_approval_free (op->approval);
  g_free (op);
}

static void
run_op_finish (RunOp *op)
{
  LaresPolicy *p = op->p;
  LaresPolicyOutcome out = {
    .verdict = op->verdict,
    .result = op->result,
    .error = op->error,
    .approval = op->approval,
  };

  if (op->verdict == LARES_POLICY_RAN && p->changed)
    p->changed (op->user_id, lares_tool_get_name (op->tool), p->changed_data);
  op->done (&out, op->user_data);
  run_op_free (op);
  p->inflight--;
}

static gboolean
audit_in_store (sqlite3 *db, gpointer data, GError **error)
{
  RunOp *op = data;

  return lares_audit_append (db, lares_policy_now_ms (op->p), op->user_id, "tool", op->ip,
                             op->audit, error);
}

static void
audit_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  RunOp *op = data;
  g_autoptr (GError) error = NULL;

  /* The action has happened (or been refused) whatever the log says. */
  if (!lares_store_write_finish (op->p->store, res, &error))
    g_warning ("audit: cannot record a run of %s: %s", lares_tool_get_name (op->tool),
               error->message);
  run_op_finish (op);
}

/* Record op->audit, then tell the caller. */
static void
audit_then_finish (RunOp *op, const char *status)
{
  op->audit = tool_audit_detail (lares_tool_get_name (op->tool), op->args, op->via, status,
                                 op->result, op->error ? op->error->message : NULL, 0);
  lares_store_write_async (op->p->store, audit_in_store, op, NULL, audit_done, op);
}

static void
ran (JsonNode *result, const GError *error, gpointer data)
{
  RunOp *op = data;

  if (error)
    {
      op->verdict = LARES_POLICY_FAILED;
      op->error = g_error_copy (error);
    }
  else
    {
      op->verdict = LARES_POLICY_RAN;
      op->result = json_node_ref (result);
    }
  audit_then_finish (op, error ? "failed" : "ok");
}

static gboolean
ask_in_store (sqlite3 *db, gpointer data, GError **error)
{
  RunOp *op = data;
  LaresApproval *a = op->approval;
  g_autofree char *detail = NULL;
  g_autofree char *created = NULL;

  if (!lares_approvals_insert (db, a, error))
    return FALSE;
  detail = tool_audit_detail (a->tool, op->args, op->via, "needs_approval", NULL, NULL, a->id);
  created = approval_audit_detail (a, op->via, NULL);
  return lares_audit_append (db, a->created_at, op->user_id, "tool", op->ip, detail, error) &&
         lares_audit_append (db, a->created_at, op->user_id, "approval_created", op->ip, created,
                             error);
}

static void
asked (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  RunOp *op = data;
  LaresPolicy *p = op->p;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (p->store, res, &error))
    {
      /* Nothing was asked, and nothing runs. */
      op->verdict = LARES_POLICY_FAILED;
      op->error = g_error_new (LARES_TOOL_ERROR, LARES_TOOL_ERROR_FAILED,
                               "could not ask for approval: %s", error->message);
      g_clear_pointer (&op->approval, lares_approval_free);
      run_op_finish (op);
      return;
    }
  index_add (p, op->approval->id, op->user_id, op->approval->expires_at);
  rearm (p);
  op->verdict = LARES_POLICY_PENDING;
  run_op_finish (op);
}

static void
planned (JsonNode *plan, const GError *error, gpointer data)
{
  RunOp *op = data;
  LaresPolicy *p = op->p;
  JsonObject *o;
  LaresApproval *a;

  if (error)
    {
      op->verdict = LARES_POLICY_FAILED;
      op->error = g_error_copy (error);
      audit_then_finish (op, "failed");
      return;
    }
  o = json_node_get_object (plan);
  if (json_object_get_boolean_member_with_default (o, "nothing", FALSE))
    {
      /* Nothing to approve: the plan's text is the answer. */
      op->verdict = LARES_POLICY_RAN;
      op->result = json_node_ref (plan);
      audit_then_finish (op, "ok");
      return;
    }
  a = g_new0 (LaresApproval, 1);
  a->user_id = op->user_id;
  a->conversation_id = op->conversation_id;
  a->tool = g_strdup (lares_tool_get_name (op->tool));
  a->args = json_to_string (op->args, FALSE);
  a->plan = json_to_string (plan, FALSE);
  a->summary = g_strdup (json_object_get_string_member_with_default (o, "text", a->tool));
  a->via = g_strdup (op->via);
  a->created_at = lares_policy_now_ms (p);
  a->expires_at = a->created_at + p->ttl_ms;
  op->approval = a;
  lares_store_write_async (p->store, ask_in_store, op, NULL, asked, op);
}

void
lares_policy_run (LaresPolicy *p, const LaresTool *tool, const LaresToolContext *ctx,
                  const LaresActor *actor, int64_t conversation_id, JsonNode *args,
                  LaresPolicyDone done, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  RunOp *op;

  g_return_if_fail (actor->user_id == ctx->user_id);
  /* Bad arguments are refused before anything is decided or logged: the
   * same message on every path. */
  if (!lares_tool_validate (tool, args, &error))
    {
      LaresPolicyOutcome out = { .verdict = LARES_POLICY_FAILED, .error = error };
      done (&out, user_data);
      return;
    }
  op = g_new0 (RunOp, 1);
  op->p = p;
  op->tool = tool;
  op->ctx = ctx;
  op->user_id = actor->user_id;
  op->is_owner = actor->is_owner;
  op->via = g_strdup (actor->via ? actor->via : "rest");
  op->ip = g_strdup (actor->ip);
  op->conversation_id = conversation_id;
  op->args = json_node_copy (args);
  op->done = done;
  op->user_data = user_data;
  p->inflight++;
  if (lares_tool_get_risk (tool) == LARES_TOOL_RISK_LOW)
    {
      lares_tool_run (tool, ctx, op->args, ran, op);
      return;
    }
  if (!actor->is_owner)
    {
      op->verdict = LARES_POLICY_DENIED;
      op->error = g_error_new (LARES_TOOL_ERROR, LARES_TOOL_ERROR_DENIED,
                               "%s is high risk: only the owner can ask for it",
                               lares_tool_get_name (tool));
      audit_then_finish (op, "denied");
      return;
    }
  lares_tool_plan (tool, ctx, op->args, planned, op);
}

/* ---- deciding ------------------------------------------------------------------------------- */

typedef struct
{
  LaresPolicy *p;
  int64_t user_id;
  int64_t id;
  gboolean approve;
  char *via, *ip;
  int64_t now_ms;
  LaresApprovalDone done;
  gpointer user_data;
  /* claim */
  LaresApproval *row;
  GError *refusal; /* not pending: CONFLICT or EXPIRED (the claim still commits) */
  gboolean expired_now;
  char *zone;
  /* run */
  const LaresTool *tool;
  LaresToolContext ctx;
  GDateTime *now;
  JsonNode *args;
  JsonObject *plan;
  JsonNode *result;
  GError *error;
  char *result_text, *audit;
} DecideOp;

static void
decide_op_free (DecideOp *op)
{
  g_free (op->via);
  g_free (op->ip);
  lares_approval_free (op->row);
  g_clear_error (&op->refusal);
  g_free (op->zone);
  g_clear_pointer (&op->now, g_date_time_unref);
  g_clear_pointer (&op->args, json_node_unref);
  g_clear_pointer (&op->plan, json_object_unref);
  g_clear_pointer (&op->result, json_node_unref);
  g_clear_error (&op->error);
  g_free (op->result_text);
  g_free (op->audit);
  g_free (op);
}

static void
decide_op_finish (DecideOp *op, const GError *error)
{
  LaresPolicy *p = op->p;

  op->done (op->row, error, op->user_data);
  decide_op_free (op);
  p->inflight--;
}

static gboolean
claim_in_store (sqlite3 *db, gpointer data, GError **error)
{
  DecideOp *op = data;
  g_autoptr (LaresApproval) a = lares_approvals_get (db, op->user_id, op->id, error);
  LaresApprovalStatus to;
  g_autofree char *detail = NULL;

  if (a == NULL)
    return FALSE;
  if (a->status != LARES_APPROVAL_PENDING)
    {
      gboolean expired = a->status == LARES_APPROVAL_EXPIRED;
      op->refusal = g_error_new (LARES_POLICY_ERROR,
                                 expired ? LARES_POLICY_ERROR_EXPIRED : LARES_POLICY_ERROR_CONFLICT,
                                 "approval %" G_GINT64_FORMAT " is already %s", op->id,
                                 lares_approval_status_name (a->status));
      op->row = g_steal_pointer (&a);
      return TRUE;
    }
  if (a->expires_at <= op->now_ms)
    {
      /* Its time passed before the alarm went off: it expires now. */
      if (!lares_approvals_transition (db, op->user_id, op->id, LARES_APPROVAL_PENDING,
                                       LARES_APPROVAL_EXPIRED, op->now_ms, "expiry", NULL, NULL,
                                       &op->row, error))
        return FALSE;
      detail = approval_audit_detail (op->row, "expiry", NULL);
      op->expired_now = TRUE;
      op->refusal = g_error_new (LARES_POLICY_ERROR, LARES_POLICY_ERROR_EXPIRED,
                                 "approval %" G_GINT64_FORMAT " has expired", op->id);
      return lares_audit_append (db, op->now_ms, op->user_id, "approval_expired", NULL, detail,
                                 error);
    }
  to = op->approve ? LARES_APPROVAL_APPROVED : LARES_APPROVAL_REJECTED;
  if (!lares_approvals_transition (db, op->user_id, op->id, LARES_APPROVAL_PENDING, to, op->now_ms,
                                   op->via, NULL, NULL, &op->row, error))
    return FALSE;
  detail = approval_audit_detail (op->row, op->via, NULL);
  if (!lares_audit_append (db, op->now_ms, op->user_id,
                           op->approve ? "approval_approved" : "approval_rejected", op->ip, detail,
                           error))
    return FALSE;
  if (op->approve)
    op->zone = lares_user_setting_get (db, op->user_id, "timezone", NULL);
  return TRUE;
}

static gboolean
outcome_in_store (sqlite3 *db, gpointer data, GError **error)
{
  DecideOp *op = data;
  g_autoptr (LaresApproval) row = NULL;

  if (!lares_approvals_transition (db, op->user_id, op->id, LARES_APPROVAL_APPROVED,
                                   op->error ? LARES_APPROVAL_FAILED : LARES_APPROVAL_EXECUTED,
                                   op->now_ms, NULL, op->result_text,
                                   op->error ? op->error->message : NULL, &row, error) ||
      !lares_audit_append (db, lares_policy_now_ms (op->p), op->user_id, "tool", op->ip, op->audit,
                           error))
    return FALSE;
  lares_approval_free (op->row);
  op->row = g_steal_pointer (&row);
  return TRUE;
}

static void
outcome_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  DecideOp *op = data;
  LaresPolicy *p = op->p;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (p->store, res, &error))
    {
      /* The tool ran; its record did not commit.  The row stays
       * 'approved' and start-up marks it failed: it never runs again. */
      g_warning ("approval %" G_GINT64_FORMAT ": cannot record the outcome: %s", op->id,
                 error->message);
      decide_op_finish (op, error);
      return;
    }
  if (p->changed && op->error == NULL)
    p->changed (op->user_id, op->row->tool, p->changed_data);
  notify_resolved (p, op->row);
  decide_op_finish (op, NULL);
}

static void
approved_ran (JsonNode *result, const GError *error, gpointer data)
{
  DecideOp *op = data;
  LaresPolicy *p = op->p;

  if (error)
    op->error = g_error_copy (error);
  else
    {
      op->result = json_node_ref (result);
      op->result_text = json_to_string (result, FALSE);
    }
  op->audit = tool_audit_detail (op->row->tool, op->args, "approval", error ? "failed" : "ok",
                                 op->result, error ? error->message : NULL, op->id);
  op->now_ms = lares_policy_now_ms (p);
  lares_store_write_async (p->store, outcome_in_store, op, NULL, outcome_done, op);
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();

  if (text == NULL || !json_parser_load_from_data (parser, text, -1, NULL) ||
      json_parser_get_root (parser) == NULL)
    return NULL;
  return json_node_copy (json_parser_get_root (parser));
}

static void
run_approved (DecideOp *op)
{
  LaresPolicy *p = op->p;
  g_autoptr (GTimeZone) tz = NULL;
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (lares_policy_now_ms (p) / 1000);
  g_autoptr (JsonNode) plan = parse_json (op->row->plan);
  g_autoptr (GError) error = NULL;

  op->tool = lares_tool_registry_lookup (p->tools, op->row->tool);
  op->args = parse_json (op->row->args);
  if (op->zone && *op->zone)
    tz = g_time_zone_new_identifier (op->zone);
  if (tz == NULL)
    tz = g_time_zone_new_local ();
  op->now = g_date_time_to_timezone (utc, tz);
  if (plan && JSON_NODE_HOLDS_OBJECT (plan))
    op->plan = json_object_ref (json_node_get_object (plan));
  op->ctx.store = p->store;
  op->ctx.user_id = op->user_id;
  op->ctx.now = op->now;
  op->ctx.scheduler = p->scheduler;
  op->ctx.bus = p->bus;
  if (op->tool == NULL || op->args == NULL)
    {
      g_set_error (&error, LARES_TOOL_ERROR, LARES_TOOL_ERROR_UNKNOWN,
                   "%s is not available any more", op->row->tool);
      approved_ran (NULL, error, op);
      return;
    }
  lares_tool_run_approved (op->tool, &op->ctx, op->args, op->plan, approved_ran, op);
}

static void
claimed (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  DecideOp *op = data;
  LaresPolicy *p = op->p;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (p->store, res, &error))
    {
      decide_op_finish (op, error);
      return;
    }
  if (op->refusal)
    {
      if (op->expired_now)
        {
          index_remove (p, op->id);
          rearm (p);
          notify_resolved (p, op->row);
        }
      decide_op_finish (op, op->refusal);
      return;
    }
  index_remove (p, op->id);
  rearm (p);
  if (!op->approve)
    {
      notify_resolved (p, op->row);
      decide_op_finish (op, NULL);
      return;
    }
  run_approved (op);
}

void
lares_policy_decide (LaresPolicy *p, const LaresActor *actor, int64_t id, gboolean approve,
                     LaresApprovalDone done, gpointer user_data)
{
  DecideOp *op;

  if (!actor->is_owner)
    {
      g_autoptr (GError) error = g_error_new (LARES_POLICY_ERROR, LARES_POLICY_ERROR_DENIED,
                                              "only the owner can decide an approval");
      done (NULL, error, user_data);
      return;
    }
  op = g_new0 (DecideOp, 1);
  op->p = p;
  op->user_id = actor->user_id;
  op->id = id;
  op->approve = approve;
  op->via = g_strdup (actor->via ? actor->via : "rest");
  op->ip = g_strdup (actor->ip);
  op->now_ms = lares_policy_now_ms (p);
  op->done = done;
  op->user_data = user_data;
  p->inflight++;
  lares_store_write_async (p->store, claim_in_store, op, NULL, claimed, op);
}

/* ---- expiry --------------------------------------------------------------------------------- */

typedef struct
{
  LaresPolicy *p;
  int64_t now_ms;
  GArray *due;        /* Entry (copies) */
  GPtrArray *expired; /* LaresApproval* */
} ExpireOp;

static gboolean
expire_in_store (sqlite3 *db, gpointer data, GError **error)
{
  ExpireOp *op = data;

  for (unsigned i = 0; i < op->due->len; i++)
    {
      const Entry *e = &g_array_index (op->due, Entry, i);
      g_autoptr (GError) local = NULL;
      LaresApproval *a = NULL;
      g_autofree char *detail = NULL;

      /* A decision that committed first wins: then this changes nothing. */
      if (!lares_approvals_transition (db, e->user_id, e->id, LARES_APPROVAL_PENDING,
                                       LARES_APPROVAL_EXPIRED, op->now_ms, "expiry", NULL, NULL, &a,
                                       &local))
        {
          if (g_error_matches (local, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT) ||
              g_error_matches (local, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND))
            continue;
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      g_ptr_array_add (op->expired, a);
      detail = approval_audit_detail (a, "expiry", NULL);
      if (!lares_audit_append (db, op->now_ms, a->user_id, "approval_expired", NULL, detail, error))
        return FALSE;
    }
  return TRUE;
}

static void
expired (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  ExpireOp *op = data;
  LaresPolicy *p = op->p;
  g_autoptr (GError) error = NULL;

  p->expiring = FALSE;
  if (!lares_store_write_finish (p->store, res, &error))
    {
      g_warning ("cannot expire %u approval(s): %s; trying again", op->due->len, error->message);
      for (unsigned i = 0; i < op->due->len; i++)
        {
          const Entry *e = &g_array_index (op->due, Entry, i);
          /* Unless a decision took it meanwhile (it would be gone from the store's pending). */
          index_add (p, e->id, e->user_id, lares_policy_now_ms (p) + EXPIRE_RETRY_MS);
        }
    }
  else
    for (unsigned i = 0; i < op->expired->len; i++)
      notify_resolved (p, op->expired->pdata[i]);
  g_array_unref (op->due);
  g_ptr_array_unref (op->expired);
  g_free (op);
  p->inflight--;
  rearm (p);
}

static void
on_clock (gpointer data)
{
  LaresPolicy *p = data;
  int64_t now = lares_policy_now_ms (p);
  ExpireOp *op;
  GSequenceIter *it;

  p->armed_at = -1;
  if (p->expiring)
    return;
  op = g_new0 (ExpireOp, 1);
  op->p = p;
  op->now_ms = now;
  op->due = g_array_new (FALSE, FALSE, sizeof (Entry));
  op->expired = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_approval_free);
  while (op->due->len < EXPIRE_BATCH &&
         !g_sequence_iter_is_end (it = g_sequence_get_begin_iter (p->queue)))
    {
      Entry *e = g_sequence_get (it);
      if (e->at_ms > now)
        break;
      g_array_append_val (op->due, *e);
      index_remove (p, e->id);
    }
  if (op->due->len == 0)
    {
      g_array_unref (op->due);
      g_ptr_array_unref (op->expired);
      g_free (op);
      rearm (p);
      return;
    }
  p->expiring = TRUE;
  p->inflight++;
  lares_store_write_async (p->store, expire_in_store, op, NULL, expired, op);
}
