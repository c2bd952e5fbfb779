/* routes/reminders.c — /api/v1/reminders: reminders, and timers and alarms
 * through ?kind=.
 *
 *   GET    /api/v1/reminders?status=pending|fired|dismissed|cancelled|all
 *                           &kind=reminder|timer|alarm|all&limit=
 *   POST   /api/v1/reminders {text, at} | {text, rrule, dtstart?|at?, tz?}
 *                            (kind "timer" takes {seconds, text?}; "alarm" like a reminder)
 *   DELETE /api/v1/reminders/{id}                 cancel
 *   POST   /api/v1/reminders/{id}/snooze {minutes} due again in that many minutes
 *   POST   /api/v1/reminders/{id}/dismiss         acknowledge a firing
 *
 * Input is checked on the main loop (dates and RRULEs through the
 * scheduler's own parser) before anything is written: a bad date or rule
 * is a 400 and changes nothing.  Writes go through the scheduler, which
 * indexes the job once the write has committed; the answer comes after
 * COMMIT, and the change is published to the user's connections.
 */
#include "config.h"

#include "lares-http-private.h"
#include "lares-recur.h"

#define LIST_DEFAULT 100
#define LIST_MAX     1000
#define SNOOZE_MAX   (7 * 24 * 60)   /* minutes */
#define TIMER_MAX    (7 * 24 * 3600) /* seconds */

typedef struct
{
  LaresRequest *req;
  LaresServer *server;
  int64_t user_id;
  unsigned kinds, statuses, limit;
  GPtrArray *jobs;
  const char *event; /* what to publish after a change */
} RemOp;

static void
op_free (RemOp *op)
{
  if (op->jobs)
    g_ptr_array_unref (op->jobs);
  g_free (op);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RemOp, op_free)

static RemOp *
op_new (LaresRequest *req)
{
  RemOp *op = g_new0 (RemOp, 1);

  op->req = req;
  op->server = req->server;
  op->user_id = req->user_id;
  return op;
}

/* Every write answers with the job as stored. */
static void
job_done (const LaresJob *job, const GError *error, gpointer data)
{
  g_autoptr (RemOp) op = data;
  g_autoptr (JsonNode) node = NULL;
  int status = g_strcmp0 (op->event, "job_created") == 0 ? 201 : 200;

  if (error != NULL)
    {
      lares_request_respond_gerror (op->req, error);
      return;
    }
  node = lares_job_to_json (job);
  lares_request_respond_json (op->req, status, node);
  lares_server_publish_change (op->server, op->user_id, op->event, "job", node, 0);
}

/* An optional string member.  Responds and returns FALSE on a wrong type. */
static gboolean
get_string (LaresRequest *req, JsonObject *obj, const char *name, size_t max_chars,
            const char **out)
{
  JsonNode *node = json_object_get_member (obj, name);

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      lares_request_respond_error (req, 400, "invalid_argument", "'%s' must be a string", name);
      return FALSE;
    }
  *out = json_node_get_string (node);
  if (g_utf8_strlen (*out, -1) > (glong)max_chars)
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "'%s' is longer than %zu characters", name, max_chars);
      return FALSE;
    }
  return TRUE;
}

/* An optional integer member in [min, max]; @out is left alone if absent. */
static gboolean
get_int (LaresRequest *req, JsonObject *obj, const char *name, int64_t min, int64_t max,
         int64_t *out)
{
  JsonNode *node = json_object_get_member (obj, name);
  int64_t v;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 ||
      (v = json_node_get_int (node)) < min || v > max)
    {
      lares_request_respond_error (
          req, 400, "invalid_argument",
          "'%s' must be an integer from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT, name, min, max);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

static gboolean
only_members (LaresRequest *req, JsonObject *obj, const char *const *allowed)
{
  g_autoptr (GList) members = json_object_get_members (obj);

  for (GList *l = members; l; l = l->next)
    if (!g_strv_contains (allowed, l->data))
      {
        lares_request_respond_error (req, 400, "invalid_argument", "unknown field '%s'",
                                     (const char *)l->data);
        return FALSE;
      }
  return TRUE;
}

/* POST /api/v1/reminders */
static void
reminders_create (LaresRequest *req)
{
  static const char *const allowed[] = { "kind",    "text", "at",      "rrule",
                                         "dtstart", "tz",   "seconds", NULL };
  JsonObject *obj = json_node_get_object (req->body);
  const char *kind_s, *text, *at, *rrule, *dtstart, *tz;
  int64_t seconds = 0, now;
  g_autoptr (LaresJob) job = g_new0 (LaresJob, 1);
  g_autoptr (GError) error = NULL;
  RemOp *op;

  if (!only_members (req, obj, allowed) || !get_string (req, obj, "kind", 16, &kind_s) ||
      !get_string (req, obj, "text", LARES_JOB_TEXT_MAX, &text) ||
      !get_string (req, obj, "at", 64, &at) ||
      !get_string (req, obj, "rrule", LARES_RECUR_RULE_MAX, &rrule) ||
      !get_string (req, obj, "dtstart", 32, &dtstart) ||
      !get_string (req, obj, "tz", LARES_RECUR_TZID_MAX, &tz) ||
      !get_int (req, obj, "seconds", 1, TIMER_MAX, &seconds))
    return;
  job->kind = LARES_JOB_REMINDER;
  if (kind_s && !lares_job_kind_parse (kind_s, &job->kind))
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "'kind' must be reminder, timer or alarm");
      return;
    }
  job->user_id = req->user_id;
  job->text = g_strstrip (g_strdup (text ? text : ""));
  now = lares_scheduler_now_ms (req->server->scheduler);
  if (job->kind == LARES_JOB_REMINDER && *job->text == '\0')
    {
      lares_request_respond_error (req, 400, "invalid_argument", "'text' is required");
      return;
    }
  if (job->kind == LARES_JOB_TIMER)
    {
      if (seconds == 0 || at || rrule || dtstart || tz)
        {
          lares_request_respond_error (req, 400, "invalid_argument",
                                       "a timer takes 'seconds' (and an optional 'text') only");
          return;
        }
      job->seconds = seconds;
      job->due_at = now + seconds * 1000;
    }
  else
    {
      LaresJobWhen when = { at, rrule, dtstart, tz, NULL };

      if (seconds != 0)
        {
          lares_request_respond_error (req, 400, "invalid_argument", "'seconds' is for timers");
          return;
        }
      if (!lares_job_set_when (job, &when, now, &error))
        {
          lares_request_respond_error (req, 400, "invalid_argument", "%s", error->message);
          return;
        }
    }
  op = op_new (req);
  op->event = "job_created";
  lares_scheduler_create (req->server->scheduler, job, job_done, op);
}

/* GET /api/v1/reminders */

static gboolean
list_run (sqlite3 *db, gpointer data, GError **error)
{
  RemOp *op = data;

  op->jobs = lares_jobs_list (db, op->user_id, op->kinds, op->statuses, op->limit, error);
  return op->jobs != NULL;
}

static void
list_done (GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer data)
{
  g_autoptr (RemOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  if (!lares_store_read_finish (op->server->store, result, &error))
    {
      lares_request_respond_gerror (op->req, error);
      return;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "reminders");
  json_builder_begin_array (b);
  for (unsigned i = 0; i < op->jobs->len; i++)
    json_builder_add_value (b, lares_job_to_json (op->jobs->pdata[i]));
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  lares_request_respond_json (op->req, 200, root);
}

static void
reminders_list (LaresRequest *req)
{
  const char *status = lares_request_query (req, "status");
  const char *kind = lares_request_query (req, "kind");
  int64_t limit = LIST_DEFAULT;
  LaresJobStatus st;
  LaresJobKind k;
  RemOp *op;

  if (!lares_request_query_int (req, "limit", 1, LIST_MAX, &limit))
    return;
  op = op_new (req);
  op->limit = (unsigned)limit;
  if (status == NULL)
    op->statuses = 1u << LARES_JOB_PENDING;
  else if (g_strcmp0 (status, "all") == 0)
    op->statuses = 0;
  else if (lares_job_status_parse (status, &st))
    op->statuses = 1u << st;
  else
    {
      op_free (op);
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "'status' must be pending, fired, dismissed, cancelled or all");
      return;
    }
  if (kind == NULL)
    op->kinds = 1u << LARES_JOB_REMINDER;
  else if (g_strcmp0 (kind, "all") == 0)
    op->kinds = 0;
  else if (lares_job_kind_parse (kind, &k))
    op->kinds = 1u << k;
  else
    {
      op_free (op);
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "'kind' must be reminder, timer, alarm or all");
      return;
    }
  lares_store_read_async (req->server->store, list_run, op, NULL, list_done, op);
}

/* DELETE /api/v1/reminders/{id}, POST …/{id}/snooze, POST …/{id}/dismiss */

static void
reminders_cancel (LaresRequest *req)
{
  RemOp *op = op_new (req);

  op->event = "job_cancelled";
  lares_scheduler_change (req->server->scheduler, req->user_id, req->path_id,
                          LARES_JOB_CHANGE_CANCEL, 0, job_done, op);
}

static void
reminders_snooze (LaresRequest *req)
{
  static const char *const allowed[] = { "minutes", NULL };
  JsonObject *obj = req->body ? json_node_get_object (req->body) : NULL;
  int64_t minutes = 10;
  RemOp *op;

  if (obj && (!only_members (req, obj, allowed) ||
              !get_int (req, obj, "minutes", 1, SNOOZE_MAX, &minutes)))
    return;
  op = op_new (req);
  op->event = "job_snoozed";
  lares_scheduler_change (req->server->scheduler, req->user_id, req->path_id,
                          LARES_JOB_CHANGE_SNOOZE, (int)minutes, job_done, op);
}

static void
reminders_dismiss (LaresRequest *req)
{
  RemOp *op = op_new (req);

  op->event = "job_dismissed";
  lares_scheduler_change (req->server->scheduler, req->user_id, req->path_id,
                          LARES_JOB_CHANGE_DISMISS, 0, job_done, op);
}

const LaresRoute lares_reminders_routes[] = {
  { "GET", "/api/v1/reminders", reminders_list, 0, "reminders.list" },
  { "POST", "/api/v1/reminders", reminders_create, LARES_ROUTE_JSON_BODY, "reminders.create" },
  { "DELETE", "/api/v1/reminders/{id}", reminders_cancel, 0, "reminders.cancel" },
  { "POST", "/api/v1/reminders/{id}/snooze", reminders_snooze, LARES_ROUTE_JSON_BODY,
    "reminders.snooze" },
  { "POST", "/api/v1/reminders/{id}/dismiss", reminders_dismiss, 0, "reminders.dismiss" },
  { NULL },
};
