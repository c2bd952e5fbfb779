/* test-policy.c — the policy on a real store, driven by a test clock: risk,
 * approvals (approve, reject, expire, restart), non-owner denial, the
 * audit records, and one validation message for every path.
 *
 * No test sleeps: expiry is a clock alarm the test fires by moving time.
 */
#include "config.h"

#include "lares-approvals.h"
#include "lares-bus.h"
#include "lares-policy.h"
#include "lares-store.h"
#include "lares-tasks.h"
#include "lares-test.h"
#include "lares-tools.h"
#include "lares-users.h"

#include <string.h>

#define TTL_MS G_GINT64_CONSTANT (600000)
/* 2026-01-05T12:00:00Z */
#define T0 G_GINT64_CONSTANT (1767614400000)

/* ---- a clock the test moves ----------------------------------------------------------------- */

typedef struct
{
  LaresClock base;
  int64_t now;
  int64_t armed; /* -1: disarmed */
} TestClock;

static int64_t
test_now (LaresClock *c)
{
  return ((TestClock *)c)->now;
}

static void
test_arm (LaresClock *c, int64_t due)
{
  ((TestClock *)c)->armed = due;
}

static void
test_free (LaresClock *c)
{
  g_free (c);
}

/* ---- fixture -------------------------------------------------------------------------------- */

typedef struct
{
  char *dir;
  LaresStore *store;
  LaresBus *bus;
  LaresToolRegistry *tools;
  LaresPolicy *policy;
  TestClock *clock; /* owned by the policy */
  int64_t alice, bob;
  GPtrArray *events; /* JsonNode*: what alice's connections heard */
  GDateTime *now;
  LaresToolContext ctx;
} Fixture;

static gboolean
add_users (sqlite3 *db, gpointer data, GError **error)
{
  Fixture *fx = data;

  return lares_users_insert (db, "alice", "user", NULL, 1, &fx->alice, error) &&
         lares_users_insert (db, "bob", "user", NULL, 1, &fx->bob, error);
}

static void
on_event (GBytes *payload, gpointer data)
{
  Fixture *fx = data;
  g_autoptr (JsonParser) p = json_parser_new ();

  g_assert_true (json_parser_load_from_data (p, g_bytes_get_data (payload, NULL),
                                             (gssize)g_bytes_get_size (payload), NULL));
  g_ptr_array_add (fx->events, json_node_copy (json_parser_get_root (p)));
}

static void
start_policy (Fixture *fx, int64_t now)
{
  g_autoptr (GError) error = NULL;

  fx->clock = g_new0 (TestClock, 1);
  fx->clock->base.now_ms = test_now;
  fx->clock->base.arm = test_arm;
  fx->clock->base.free = test_free;
  fx->clock->now = now;
  fx->clock->armed = -1;
  fx->policy = lares_policy_new (fx->store, fx->bus, fx->tools, TTL_MS, &fx->clock->base);
  g_assert_true (lares_policy_start (fx->policy, &error));
  g_assert_no_error (error);
}

static void
setup (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  g_autoptr (GError) error = NULL;

  fx->dir = lares_test_tmpdir ();
  fx->store = lares_store_open (fx->dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (lares_store_write_sync (fx->store, add_users, fx, &error));
  fx->bus = lares_bus_new ();
  fx->events = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);
  lares_bus_subscribe (fx->bus, fx->alice, on_event, fx);
  fx->tools = lares_tool_registry_new ();
  lares_tool_registry_add_builtin (fx->tools);
  fx->now = g_date_time_new_from_unix_utc (T0 / 1000);
  fx->ctx.store = fx->store;
  fx->ctx.user_id = fx->alice;
  fx->ctx.now = fx->now;
  fx->ctx.capabilities = "I can help.";
  fx->ctx.bus = fx->bus;
  start_policy (fx, T0);
}

static void
settle (void)
{
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

static void
teardown (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  g_clear_pointer (&fx->policy, lares_policy_free);
  settle ();
  lares_tool_registry_free (fx->tools);
  lares_bus_free (fx->bus);
  lares_store_close (fx->store);
  g_ptr_array_unref (fx->events);
  g_date_time_unref (fx->now);
  lares_test_rmdir (fx->dir);
  g_free (fx->dir);
}

/* ---- running and deciding, waited for ---------------------------------------------------------
 */

typedef struct
{
  gboolean done;
  LaresPolicyVerdict verdict;
  JsonNode *result;
  GError *error;
  LaresApproval *approval;
} Outcome;

static void
outcome_clear (Outcome *o)
{
  g_clear_pointer (&o->result, json_node_unref);
  g_clear_error (&o->error);
  g_clear_pointer (&o->approval, lares_approval_free);
}

static void
on_outcome (const LaresPolicyOutcome *out, gpointer data)
{
  Outcome *o = data;

  o->done = TRUE;
  o->verdict = out->verdict;
  o->result = out->result ? json_node_ref (out->result) : NULL;
  o->error = out->error ? g_error_copy (out->error) : NULL;
  o->approval = out->approval ? lares_approval_copy (out->approval) : NULL;
}

static void
on_decided (const LaresApproval *a, const GError *error, gpointer data)
{
  Outcome *o = data;

  o->done = TRUE;
  o->approval = a ? lares_approval_copy (a) : NULL;
  o->error = error ? g_error_copy (error) : NULL;
}

static void
wait_done (Outcome *o)
{
  while (!o->done)
    g_main_context_iteration (NULL, TRUE);
  settle ();
}

static void
run_as (Fixture *fx, const char *tool, const char *args, gboolean owner, const char *via,
        Outcome *o)
{
  const LaresTool *t = lares_tool_registry_lookup (fx->tools, tool);
  g_autoptr (JsonNode) node = json_from_string (args, NULL);
  LaresActor actor = { .user_id = fx->alice, .is_owner = owner, .via = via };

  g_assert_nonnull (t);
  g_assert_nonnull (node);
  memset (o, 0, sizeof *o);
  lares_policy_run (fx->policy, t, &fx->ctx, &actor, 0, node, on_outcome, o);
  wait_done (o);
}

static void
decide (Fixture *fx, int64_t user_id, int64_t id, gboolean approve, Outcome *o)
{
  LaresActor actor = { .user_id = user_id, .is_owner = TRUE, .via = "rest" };

  memset (o, 0, sizeof *o);
  lares_policy_decide (fx->policy, &actor, id, approve, on_decided, o);
  wait_done (o);
}

/* Move time to @to, firing the alarm when it is due, and wait until
 * alice's connections have heard @heard more events. */
static void
advance (Fixture *fx, int64_t to, unsigned heard)
{
  unsigned want = fx->events->len + heard;

  fx->clock->now = to;
  if (fx->clock->armed >= 0 && fx->clock->armed <= to)
    {
      fx->clock->armed = -1;
      fx->clock->base.fire (fx->clock->base.fire_data);
    }
  while (fx->events->len < want)
    g_main_context_iteration (NULL, TRUE);
  settle ();
}

/* ---- store helpers -------------------------------------------------------------------------- */

typedef struct
{
  int64_t user_id;
  const char *description, *project;
} AddTask;

static gboolean
add_task_in_store (sqlite3 *db, gpointer data, GError **error)
{
  AddTask *a = data;
  g_autoptr (LaresTask) t = lares_task_new ();
  g_autoptr (JsonObject) o = json_object_new ();

  json_object_set_string_member (o, "description", a->description);
  if (a->project)
    json_object_set_string_member (o, "project", a->project);
  return lares_task_apply_json (t, o, T0, TRUE, error) &&
         lares_tasks_insert (db, a->user_id, t, error);
}

static void
add_task (Fixture *fx, int64_t user_id, const char *description, const char *project)
{
  AddTask a = { user_id, description, project };
  g_autoptr (GError) error = NULL;

  g_assert_true (lares_store_write_sync (fx->store, add_task_in_store, &a, &error));
  g_assert_no_error (error);
}

static int64_t
count (Fixture *fx, const char *sql)
{
  sqlite3 *db = lares_test_db_open (fx->dir);
  sqlite3_stmt *st = NULL;
  int64_t n;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  sqlite3_close (db);
  return n;
}

/* The events of the audit log in order, joined with ',' (with the tool
 * record's status as "tool:STATUS"). */
static char *
audit_trail (Fixture *fx)
{
  sqlite3 *db = lares_test_db_open (fx->dir);
  sqlite3_stmt *st = NULL;
  g_autoptr (GString) s = g_string_new (NULL);

  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "SELECT event, json_extract(detail, '$.status') FROM audit "
                                       "ORDER BY id",
                                       -1, &st, NULL),
                   ==, SQLITE_OK);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      if (s->len)
        g_string_append_c (s, ',');
      g_string_append (s, (const char *)sqlite3_column_text (st, 0));
      if (sqlite3_column_type (st, 1) != SQLITE_NULL)
        g_string_append_printf (s, ":%s", sqlite3_column_text (st, 1));
    }
  sqlite3_finalize (st);
  sqlite3_close (db);
  return g_strdup (s->str);
}

static JsonObject *
last_event (Fixture *fx, const char *type)
{
  for (unsigned i = fx->events->len; i > 0; i--)
    {
      JsonObject *o = json_node_get_object (fx->events->pdata[i - 1]);
      if (g_strcmp0 (json_object_get_string_member (o, "type"), type) == 0)
        return o;
    }
  return NULL;
}

static const char *
approval_status_heard (Fixture *fx)
{
  JsonObject *n = last_event (fx, "notification");

  g_assert_nonnull (n);
  g_assert_cmpstr (json_object_get_string_member (n, "kind"), ==, "approval");
  return json_object_get_string_member (json_object_get_object_member (n, "approval"), "status");
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void
test_low_risk_runs (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  Outcome o;
  g_autofree char *trail = NULL;

  run_as (fx, "memory.remember", "{\"fact\":\"my sister is Ana\"}", TRUE, "llm", &o);
  g_assert_cmpint (o.verdict, ==, LARES_POLICY_RAN);
  g_assert_no_error (o.error);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM facts"), ==, 1);
  trail = audit_trail (fx);
  g_assert_cmpstr (trail, ==, "tool:ok");
  g_assert_cmpint (count (fx, "SELECT count(*) FROM audit WHERE json_extract(detail, '$.via') = "
                              "'llm' AND json_extract(detail, '$.tool') = 'memory.remember' AND "
                              "json_extract(detail, '$.result_text') LIKE 'I''ll remember%'"),
                   ==, 1);
  outcome_clear (&o);

  /* A low-risk tool is the same for someone who is not the owner. */
  run_as (fx, "time.now", "{}", FALSE, "intent", &o);
  g_assert_cmpint (o.verdict, ==, LARES_POLICY_RAN);
  outcome_clear (&o);
}

static void
test_approve (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  Outcome o, d;
  int64_t id;
  g_autofree char *trail = NULL;
  JsonObject *req;

  add_task (fx, fx->alice, "milk", "groceries");
  add_task (fx, fx->alice, "eggs", "groceries");
  add_task (fx, fx->alice, "bread", "groceries");
  add_task (fx, fx->alice, "paint", "home");
  add_task (fx, fx->bob, "bob's milk", "groceries");

  run_as (fx, "task.delete_many", "{\"project\":\"groceries\"}", TRUE, "llm", &o);
  g_assert_cmpint (o.verdict, ==, LARES_POLICY_PENDING);
  g_assert_nonnull (o.approval);
  g_assert_cmpstr (o.approval->summary, ==, "Delete 3 pending tasks in project groceries");
  g_assert_cmpint (o.approval->expires_at, ==, T0 + TTL_MS);
  g_assert_cmpint (o.approval->status, ==, LARES_APPROVAL_PENDING);
  id = o.approval->id;
  /* Nothing ran; the alarm is armed for the expiry. */
  g_assert_cmpint (count (fx, "SELECT count(*) FROM tasks"), ==, 5);
  g_assert_cmpint (fx->clock->armed, ==, T0 + TTL_MS);
  g_assert_cmpuint (lares_policy_n_pending (fx->policy), ==, 1);
  req = lares_approval_required_members (o.approval);
  g_assert_cmpstr (json_object_get_string_member (req, "risk"), ==, "high");
  g_assert_cmpstr (json_object_get_string_member (req, "tool"), ==, "task.delete_many");
  json_object_unref (req);
  outcome_clear (&o);

  /* A task added after the plan is not part of what was approved. */
  add_task (fx, fx->alice, "butter", "groceries");
  fx->clock->now += 1000;
  decide (fx, fx->alice, id, TRUE, &d);
  g_assert_no_error (d.error);
  g_assert_cmpint (d.approval->status, ==, LARES_APPROVAL_EXECUTED);
  g_assert_cmpint (d.approval->decided_at, ==, T0 + 1000);
  g_assert_nonnull (strstr (d.approval->result, "Deleted 3 tasks."));
  g_assert_cmpint (count (fx, "SELECT count(*) FROM tasks"), ==, 3);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM tasks WHERE description = 'butter'"), ==, 1);
  g_assert_cmpstr (approval_status_heard (fx), ==, "executed");
  g_assert_cmpuint (lares_policy_n_pending (fx->policy), ==, 0);
  g_assert_cmpint (fx->clock->armed, ==, -1);
  outcome_clear (&d);

  /* Once only. */
  decide (fx, fx->alice, id, TRUE, &d);
  g_assert_error (d.error, LARES_POLICY_ERROR, LARES_POLICY_ERROR_CONFLICT);
  outcome_clear (&d);
  decide (fx, fx->alice, id, FALSE, &d);
  g_assert_error (d.error, LARES_POLICY_ERROR, LARES_POLICY_ERROR_CONFLICT);
  outcome_clear (&d);
  /* Another user's approval does not exist for them. */
  decide (fx, fx->bob, id, TRUE, &d);
  g_assert_error (d.error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND);
  outcome_clear (&d);

  trail = audit_trail (fx);
  g_assert_cmpstr (trail, ==, "tool:needs_approval,approval_created,approval_approved,tool:ok");
  g_assert_cmpint (count (fx, "SELECT count(*) FROM audit WHERE event = 'tool' AND "
                              "json_extract(detail, '$.via') = 'approval' AND "
                              "json_extract(detail, '$.approval_id') IS NOT NULL"),
                   ==, 1);
}

static void
test_reject_and_expire (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  Outcome a, b, c, d;
  g_autofree char *trail = NULL;

  add_task (fx, fx->alice, "milk", "groceries");
  run_as (fx, "task.delete_many", "{\"project\":\"groceries\"}", TRUE, "rest", &a);
  fx->clock->now += 60000;
  run_as (fx, "task.delete_many", "{\"ids\":[1]}", TRUE, "intent", &b);
  g_assert_cmpint (b.verdict, ==, LARES_POLICY_PENDING);
  g_assert_cmpstr (b.approval->summary, ==, "Delete 1 task: \"milk\"");
  g_assert_cmpint (fx->clock->armed, ==, T0 + TTL_MS);

  decide (fx, fx->alice, a.approval->id, FALSE, &d);
  g_assert_no_error (d.error);
  g_assert_cmpint (d.approval->status, ==, LARES_APPROVAL_REJECTED);
  g_assert_cmpstr (approval_status_heard (fx), ==, "rejected");
  /* The alarm moves on to the other one. */
  g_assert_cmpint (fx->clock->armed, ==, T0 + 60000 + TTL_MS);
  outcome_clear (&d);

  advance (fx, T0 + 60000 + TTL_MS, 1);
  g_assert_cmpstr (approval_status_heard (fx), ==, "expired");
  g_assert_cmpint (fx->clock->armed, ==, -1);
  decide (fx, fx->alice, b.approval->id, TRUE, &d);
  g_assert_error (d.error, LARES_POLICY_ERROR, LARES_POLICY_ERROR_EXPIRED);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM tasks"), ==, 1);
  outcome_clear (&d);

  /* Past its time with the alarm not yet run: a decision expires it. */
  run_as (fx, "task.delete_many", "{\"ids\":[1]}", TRUE, "intent", &c);
  fx->clock->now += TTL_MS + 1;
  decide (fx, fx->alice, c.approval->id, TRUE, &d);
  g_assert_error (d.error, LARES_POLICY_ERROR, LARES_POLICY_ERROR_EXPIRED);
  g_assert_cmpint (d.approval->status, ==, LARES_APPROVAL_EXPIRED);
  g_assert_cmpstr (approval_status_heard (fx), ==, "expired");
  g_assert_cmpint (count (fx, "SELECT count(*) FROM tasks"), ==, 1);
  g_assert_cmpuint (lares_policy_n_pending (fx->policy), ==, 0);
  outcome_clear (&d);

  trail = audit_trail (fx);
  g_assert_cmpstr (trail, ==,
                   "tool:needs_approval,approval_created,tool:needs_approval,approval_created,"
                   "approval_rejected,approval_expired,tool:needs_approval,approval_created,"
                   "approval_expired");
  outcome_clear (&a);
  outcome_clear (&b);
  outcome_clear (&c);
}

static void
test_not_owner_denied (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  Outcome o, d;
  g_autofree char *trail = NULL;
  LaresActor stranger = { .user_id = fx->alice, .is_owner = FALSE, .via = "intent" };

  add_task (fx, fx->alice, "milk", "groceries");
  run_as (fx, "task.delete_many", "{\"project\":\"groceries\"}", FALSE, "intent", &o);
  g_assert_cmpint (o.verdict, ==, LARES_POLICY_DENIED);
  g_assert_error (o.error, LARES_TOOL_ERROR, LARES_TOOL_ERROR_DENIED);
  g_assert_null (o.approval);
  /* No approval to grant, nothing deleted, the refusal is on record. */
  g_assert_cmpint (count (fx, "SELECT count(*) FROM approvals"), ==, 0);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM tasks"), ==, 1);
  trail = audit_trail (fx);
  g_assert_cmpstr (trail, ==, "tool:denied");
  outcome_clear (&o);

  /* Nor can they decide the owner's. */
  run_as (fx, "note.delete_many", "{\"tag\":\"old\"}", TRUE, "rest", &o);
  g_assert_cmpint (o.verdict, ==, LARES_POLICY_RAN); /* no notes tagged old: nothing to do */
  g_assert_cmpint (count (fx, "SELECT count(*) FROM approvals"), ==, 0);
  outcome_clear (&o);
  run_as (fx, "task.delete_many", "{\"project\":\"groceries\"}", TRUE, "rest", &o);
  memset (&d, 0, sizeof d);
  lares_policy_decide (fx->policy, &stranger, o.approval->id, TRUE, on_decided, &d);
  wait_done (&d);
  g_assert_error (d.error, LARES_POLICY_ERROR, LARES_POLICY_ERROR_DENIED);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM approvals WHERE status = 'pending'"), ==, 1);
  outcome_clear (&d);
  outcome_clear (&o);
}

static void
test_nothing_to_do (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  Outcome o;

  run_as (fx, "task.delete_many", "{\"project\":\"nowhere\"}", TRUE, "llm", &o);
  g_assert_cmpint (o.verdict, ==, LARES_POLICY_RAN);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (o.result), "text"), ==,
                   "There are no pending tasks in project nowhere to delete.");
  g_assert_cmpint (count (fx, "SELECT count(*) FROM approvals"), ==, 0);
  outcome_clear (&o);
  run_as (fx, "task.delete_many", "{}", TRUE, "llm", &o);
  g_assert_cmpint (o.verdict, ==, LARES_POLICY_FAILED);
  g_assert_error (o.error, LARES_TOOL_ERROR, LARES_TOOL_ERROR_FAILED);
  outcome_clear (&o);
}

/* Arguments every tool's schema refuses: its first argument (by name) with
 * a value of the wrong type, or not an object at all when it takes none.
 * (transfer full) */
static char *
bad_args_for (const LaresTool *tool)
{
  JsonObject *schema = json_node_get_object (lares_tool_get_parameters (tool));
  JsonObject *props = json_object_has_member (schema, "properties")
                          ? json_object_get_object_member (schema, "properties")
                          : NULL;
  g_autoptr (GList) names = props ? json_object_get_members (props) : NULL;
  const char *first = NULL, *type;

  for (GList *l = names; l; l = l->next)
    if (first == NULL || strcmp (l->data, first) < 0)
      first = l->data;
  if (first == NULL)
    return g_strdup ("[]");
  type = json_object_get_string_member (json_object_get_object_member (props, first), "type");
  return g_strdup_printf ("{\"%s\":%s}", first, g_strcmp0 (type, "string") == 0 ? "42" : "\"x\"");
}

static void
test_same_message_every_path (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  static const char *const vias[] = { "intent", "llm", "rest" };

  for (unsigned i = 0; i < lares_tool_registry_n_tools (fx->tools); i++)
    {
      const LaresTool *tool = lares_tool_registry_nth (fx->tools, i);
      g_autofree char *bad = bad_args_for (tool);
      g_autoptr (GError) parsed = NULL;
      g_autoptr (JsonNode) none = lares_tool_parse_args (tool, bad, &parsed);

      /* What the LLM path reads from the model's arguments text. */
      g_assert_null (none);
      g_assert_error (parsed, LARES_TOOL_ERROR, LARES_TOOL_ERROR_INVALID_ARGS);
      g_test_message ("%s %s: %s", lares_tool_get_name (tool), bad, parsed->message);
      for (size_t v = 0; v < G_N_ELEMENTS (vias); v++)
        {
          Outcome o;
          run_as (fx, lares_tool_get_name (tool), bad, TRUE, vias[v], &o);
          g_assert_cmpint (o.verdict, ==, LARES_POLICY_FAILED);
          g_assert_error (o.error, LARES_TOOL_ERROR, LARES_TOOL_ERROR_INVALID_ARGS);
          g_assert_cmpstr (o.error->message, ==, parsed->message);
          outcome_clear (&o);
        }
    }
  /* Refused before anything runs or is recorded. */
  g_assert_cmpint (count (fx, "SELECT count(*) FROM audit"), ==, 0);
}

static gboolean
fake_running (sqlite3 *db, gpointer data, GError **error)
{
  Fixture *fx = data;

  return lares_sql_exec (
             db, "UPDATE approvals SET status = 'approved', decided_at = 1 WHERE id = 1", error) &&
         fx != NULL;
}

static void
test_restart (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  Outcome a, b, d;
  g_autoptr (GError) error = NULL;
  g_autofree char *trail = NULL;

  add_task (fx, fx->alice, "milk", "groceries");
  run_as (fx, "task.delete_many", "{\"ids\":[1]}", TRUE, "rest", &a);
  fx->clock->now += 1000;
  run_as (fx, "task.delete_many", "{\"project\":\"groceries\"}", TRUE, "rest", &b);
  g_assert_cmpint (b.approval->id, ==, 2);
  /* The first one was approved and running when lares stopped. */
  g_assert_true (lares_store_write_sync (fx->store, fake_running, fx, &error));
  g_clear_pointer (&fx->policy, lares_policy_free);

  g_test_expect_message ("lares-chat", G_LOG_LEVEL_WARNING, "1 approved action(s) were cut off*");
  start_policy (fx, T0 + 5000);
  g_test_assert_expected_messages ();
  /* The running one failed, and never runs again; the pending one kept its expiry. */
  g_assert_cmpint (count (fx, "SELECT count(*) FROM approvals WHERE id = 1 AND status = 'failed' "
                              "AND error LIKE 'lares stopped%'"),
                   ==, 1);
  g_assert_cmpuint (lares_policy_n_pending (fx->policy), ==, 1);
  g_assert_cmpint (fx->clock->armed, ==, T0 + 1000 + TTL_MS);
  decide (fx, fx->alice, 1, TRUE, &d);
  g_assert_error (d.error, LARES_POLICY_ERROR, LARES_POLICY_ERROR_CONFLICT);
  outcome_clear (&d);
  decide (fx, fx->alice, 2, TRUE, &d);
  g_assert_no_error (d.error);
  g_assert_cmpint (d.approval->status, ==, LARES_APPROVAL_EXECUTED);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM tasks"), ==, 0);
  outcome_clear (&d);
  trail = audit_trail (fx);
  g_assert_cmpstr (trail, ==,
                   "tool:needs_approval,approval_created,tool:needs_approval,approval_created,"
                   "approval_failed,approval_approved,tool:ok");
  outcome_clear (&a);
  outcome_clear (&b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/policy/low-risk-runs", Fixture, NULL, setup, test_low_risk_runs, teardown);
  g_test_add ("/policy/approve", Fixture, NULL, setup, test_approve, teardown);
  g_test_add ("/policy/reject-and-expire", Fixture, NULL, setup, test_reject_and_expire, teardown);
  g_test_add ("/policy/not-owner-denied", Fixture, NULL, setup, test_not_owner_denied, teardown);
  g_test_add ("/policy/nothing-to-do", Fixture, NULL, setup, test_nothing_to_do, teardown);
  g_test_add ("/policy/same-message-every-path", Fixture, NULL, setup, test_same_message_every_path,
              teardown);
  g_test_add ("/policy/restart", Fixture, NULL, setup, test_restart, teardown);
  return g_test_run ();
}
