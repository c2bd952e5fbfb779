/* routes/tasks.c — /api/v1/tasks: CRUD, filters, urgency order, and
 * Taskwarrior JSON import and export.
 *
 * Like notes.c: input is validated on the main loop (a request that would
 * fail validation never reaches the store), one store call runs on a store
 * thread, and the answer comes from its callback; writes are acknowledged
 * after COMMIT.  An update re-applies the validated change to the stored
 * task inside the write, so two updates never lose each other's fields.
 * An import is one transaction: a bad task anywhere writes nothing.
 */
#include "config.h"

#include "lares-http-private.h"
#include "lares-tasks.h"
#include "lares-util.h"

#define LIST_DEFAULT 1000
#define LIST_MAX     10000
#define IMPORT_MAX   (16 * 1024 * 1024) /* bytes of `task export` output */

typedef struct
{
  LaresRequest *req;
  int64_t user_id;
  int64_t id;
  int64_t now_ms;
  JsonObject *change; /* validated update (owned) */
  LaresTaskFilter filter;
  char *project, *tag;
  LaresTask *task;  /* result (owned) */
  GPtrArray *tasks; /* result or import input (owned) */
  unsigned added, updated;
} TasksOp;

static TasksOp *
op_new (LaresRequest *req)
{
  TasksOp *op = g_new0 (TasksOp, 1);

  op->req = req;
  op->user_id = req->user_id;
  op->id = req->path_id;
  op->now_ms = g_get_real_time () / 1000;
  return op;
}

static void
op_free (TasksOp *op)
{
  if (op->change)
    json_object_unref (op->change);
  g_free (op->project);
  g_free (op->tag);
  lares_task_free (op->task);
  if (op->tasks)
    g_ptr_array_unref (op->tasks);
  g_free (op);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TasksOp, op_free)

static void
respond_error (LaresRequest *req, const GError *error)
{
  if (error->domain == LARES_TASK_ERROR)
    lares_request_respond_error (req, 400, "invalid_argument", "%s", error->message);
  else
    lares_request_respond_gerror (req, error);
}

static void
publish (LaresServer *server, int64_t user_id, const char *type, JsonNode *task, int64_t id)
{
  /* The project names the intent engine matches may have changed. */
  lares_chat_forget_user (server->chat, user_id);
  lares_server_publish_change (server, user_id, type, "task", task, id);
}

/* Answer with op->task, re-read in the same job so urgency is current. */
static void
task_done (TasksOp *op, unsigned status, const char *event)
{
  g_autoptr (JsonNode) node = lares_task_to_json (op->task);
  LaresServer *server = op->req->server;

  lares_request_respond_json (op->req, status, node);
  if (event)
    publish (server, op->user_id, event, node, 0);
}

/* POST /api/v1/tasks */

static gboolean
create_run (sqlite3 *db, gpointer data, GError **error)
{
  TasksOp *op = data;
  LaresTask *t;

  if (!lares_tasks_insert (db, op->user_id, op->task, error))
    return FALSE;
  t = lares_tasks_get (db, op->user_id, op->task->id, op->now_ms, error);
  if (t == NULL)
    return FALSE;
  lares_task_free (op->task);
  op->task = t;
  return TRUE;
}

static void
create_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TasksOp) op = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (op->req->server->store, result, &error))
    respond_error (op->req, error);
  else
    task_done (op, 201, "task_created");
}

static void
tasks_create (LaresRequest *req)
{
  g_autoptr (TasksOp) op = op_new (req);
  g_autoptr (GError) error = NULL;

  op->task = lares_task_new ();
  if (!lares_task_apply_json (op->task, json_node_get_object (req->body), op->now_ms, TRUE, &error))
    {
      respond_error (req, error);
      return;
    }
  lares_store_write_async (req->server->store, create_run, op, NULL, create_done, op);
  g_steal_pointer (&op);
}

/* POST /api/v1/tasks/{id} (update) and /api/v1/tasks/{id}/done */

static gboolean
update_run (sqlite3 *db, gpointer data, GError **error)
{
  TasksOp *op = data;
  g_autoptr (LaresTask) t = lares_tasks_get (db, op->user_id, op->id, op->now_ms, error);

  if (t == NULL || !lares_task_apply_json (t, op->change, op->now_ms, FALSE, error) ||
      !lares_tasks_update (db, op->user_id, t, error))
    return FALSE;
  op->task = lares_tasks_get (db, op->user_id, op->id, op->now_ms, error);
  return op->task != NULL;
}

static void
update_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TasksOp) op = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (op->req->server->store, result, &error))
    respond_error (op->req, error);
  else
    task_done (op, 200, "task_updated");
}

static void
start_update (LaresRequest *req, JsonObject *change)
{
  g_autoptr (TasksOp) op = op_new (req);
  g_autoptr (LaresTask) scratch = lares_task_new ();
  g_autoptr (GError) error = NULL;

  /* Validate now, so a bad change is a 400 before any store work. */
  if (!lares_task_apply_json (scratch, change, op->now_ms, FALSE, &error))
    {
      respond_error (req, error);
      return;
    }
  op->change = json_object_ref (change);
  lares_store_write_async (req->server->store, update_run, op, NULL, update_done, op);
  g_steal_pointer (&op);
}

static void
tasks_update (LaresRequest *req)
{
  start_update (req, json_node_get_object (req->body));
}

static void
tasks_complete (LaresRequest *req)
{
  g_autoptr (JsonObject) change = json_object_new ();

  json_object_set_string_member (change, "status", "completed");
  start_update (req, change);
}

/* GET /api/v1/tasks/{id} */

static gboolean
get_run (sqlite3 *db, gpointer data, GError **error)
{
  TasksOp *op = data;

  op->task = lares_tasks_get (db, op->user_id, op->id, op->now_ms, error);
  return op->task != NULL;
}

static void
get_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TasksOp) op = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_read_finish (op->req->server->store, result, &error))
    respond_error (op->req, error);
  else
    task_done (op, 200, NULL);
}

static void
tasks_get (LaresRequest *req)
{
  TasksOp *op = op_new (req);

  lares_store_read_async (req->server->store, get_run, op, NULL, get_done, op);
}

/* DELETE /api/v1/tasks/{id} */

static gboolean
delete_run (sqlite3 *db, gpointer data, GError **error)
{
  TasksOp *op = data;

  return lares_tasks_delete (db, op->user_id, op->id, error);
}

static void
delete_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TasksOp) op = data;
  g_autoptr (GError) error = NULL;
  LaresServer *server;

  if (!lares_store_write_finish (op->req->server->store, result, &error))
    {
      respond_error (op->req, error);
      return;
    }
  server = op->req->server;
  lares_request_respond_empty (op->req, 204);
  publish (server, op->user_id, "task_deleted", NULL, op->id);
}

static void
tasks_delete (LaresRequest *req)
{
  TasksOp *op = op_new (req);

  lares_store_write_async (req->server->store, delete_run, op, NULL, delete_done, op);
}

/* GET /api/v1/tasks?project=&tag=&status=&due_before=&due_after=&sort=&limit= */

static gboolean
list_run (sqlite3 *db, gpointer data, GError **error)
{
  TasksOp *op = data;

  op->tasks = lares_tasks_list (db, op->user_id, &op->filter, op->now_ms, error);
  return op->tasks != NULL;
}

static void
list_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TasksOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  if (!lares_store_read_finish (op->req->server->store, result, &error))
    {
      respond_error (op->req, error);
      return;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "tasks");
  json_builder_begin_array (b);
  for (unsigned i = 0; i < op->tasks->len; i++)
    json_builder_add_value (b, lares_task_to_json (op->tasks->pdata[i]));
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  lares_request_respond_json (op->req, 200, root);
}

static gboolean
query_date (LaresRequest *req, const char *name, int64_t *out)
{
  const char *text = lares_request_query (req, name);

  if (text == NULL || *text == '\0')
    return TRUE;
  if (lares_task_date_parse (text, out) || (lares_parse_int64 (text, out) && *out > 0))
    return TRUE;
  lares_request_respond_error (req, 400, "invalid_argument",
                               "'%s' must be a date (2026-11-21T09:30:00Z) or Unix ms", name);
  return FALSE;
}

static void
tasks_list (LaresRequest *req)
{
  g_autoptr (TasksOp) op = op_new (req);
  const char *status = lares_request_query (req, "status");
  const char *sort = lares_request_query (req, "sort");
  const char *project = lares_request_query (req, "project");
  const char *tag = lares_request_query (req, "tag");
  int64_t limit = LIST_DEFAULT;
  LaresTaskStatus st = LARES_TASK_PENDING;

  if (!lares_request_query_int (req, "limit", 1, LIST_MAX, &limit) ||
      !query_date (req, "due_before", &op->filter.due_before) ||
      !query_date (req, "due_after", &op->filter.due_after))
    return;
  if (status && g_strcmp0 (status, "all") != 0 && !lares_task_status_from_string (status, &st))
    {
      lares_request_respond_error (
          req, 400, "invalid_argument",
          "'status' must be pending, waiting, completed, deleted, recurring or all");
      return;
    }
  if (sort && g_strcmp0 (sort, "urgency") != 0 && g_strcmp0 (sort, "id") != 0)
    {
      lares_request_respond_error (req, 400, "invalid_argument", "'sort' must be urgency or id");
      return;
    }
  op->filter.status = g_strcmp0 (status, "all") == 0 ? -1 : (int)st;
  op->filter.by_urgency = g_strcmp0 (sort, "urgency") == 0;
  op->filter.limit = (unsigned)limit;
  op->filter.project = op->project = project && *project ? g_strdup (project) : NULL;
  op->filter.tag = op->tag = tag && *tag ? g_strdup (tag) : NULL;
  lares_store_read_async (req->server->store, list_run, op, NULL, list_done, op);
  g_steal_pointer (&op);
}

/* POST /api/v1/tasks/import: the body is `task export` output. */

static gboolean
import_run (sqlite3 *db, gpointer data, GError **error)
{
  TasksOp *op = data;

  return lares_tasks_import (db, op->user_id, op->tasks, &op->added, &op->updated, error);
}

static void
import_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TasksOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  LaresServer *server;

  if (!lares_store_write_finish (op->req->server->store, result, &error))
    {
      respond_error (op->req, error);
      return;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "imported");
  json_builder_add_int_value (b, op->tasks->len);
  json_builder_set_member_name (b, "added");
  json_builder_add_int_value (b, op->added);
  json_builder_set_member_name (b, "updated");
  json_builder_add_int_value (b, op->updated);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  server = op->req->server;
  lares_request_respond_json (op->req, 200, root);
  if (op->tasks->len)
    publish (server, op->user_id, "task_updated", NULL, 0);
}

static void
tasks_import (LaresRequest *req)
{
  g_autoptr (TasksOp) op = op_new (req);
  g_autoptr (GError) error = NULL;

  op->tasks = lares_tasks_parse_tw (req->body, op->now_ms, &error);
  if (op->tasks == NULL)
    {
      respond_error (req, error);
      return;
    }
  lares_store_write_async (req->server->store, import_run, op, NULL, import_done, op);
  g_steal_pointer (&op);
}

/* GET /api/v1/tasks/export: every task, in `task export`'s format. */

static void
export_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TasksOp) op = data;
  g_autoptr (GError) error = NULL;
  GString *out;

  if (!lares_store_read_finish (op->req->server->store, result, &error))
    {
      respond_error (op->req, error);
      return;
    }
  /* One task a line, as `task export` writes it. */
  out = g_string_new ("[\n");
  for (unsigned i = 0; i < op->tasks->len; i++)
    {
      g_autoptr (JsonNode) node = lares_task_to_tw_json (op->tasks->pdata[i]);
      g_autofree char *text = json_to_string (node, FALSE);
      g_string_append (out, text);
      g_string_append (out, i + 1 < op->tasks->len ? ",\n" : "\n");
    }
  g_string_append (out, "]\n");
  {
    size_t len = out->len;
    lares_request_respond_text (op->req, 200, "application/json", g_string_free (out, FALSE), len);
  }
}

static void
tasks_export (LaresRequest *req)
{
  TasksOp *op = op_new (req);

  op->filter.status = -1;
  lares_store_read_async (req->server->store, list_run, op, NULL, export_done, op);
}

const LaresRoute lares_tasks_routes[] = {
  { "POST", "/api/v1/tasks", tasks_create, LARES_ROUTE_JSON_BODY, "tasks.create" },
  { "GET", "/api/v1/tasks", tasks_list, 0, "tasks.list" },
  { "POST", "/api/v1/tasks/import", tasks_import, LARES_ROUTE_JSON_BODY | LARES_ROUTE_JSON_ANY,
    "tasks.import", IMPORT_MAX },
  { "GET", "/api/v1/tasks/export", tasks_export, 0, "tasks.export" },
  { "GET", "/api/v1/tasks/{id}", tasks_get, 0, "tasks.get" },
  { "POST", "/api/v1/tasks/{id}", tasks_update, LARES_ROUTE_JSON_BODY, "tasks.update" },
  { "DELETE", "/api/v1/tasks/{id}", tasks_delete, 0, "tasks.delete" },
  { "POST", "/api/v1/tasks/{id}/done", tasks_complete, 0, "tasks.done" },
  { NULL },
};
