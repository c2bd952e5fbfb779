/* tools/tasks.c — task.add, task.list, task.done and task.delete_many over
 * the tasks store.
 *
 * DESIGN: each handler runs one store job and finishes its call from the
 * job's callback on the main context.  task.done reads the pending tasks,
 * picks the match and completes it in the same write transaction, so the
 * task it names is the one it completed.  task.delete_many is high risk:
 * its planner resolves the filter to the ids it names (the approval shows
 * how many), and the approved run deletes those of them that still match,
 * in one write, so a task added after the approval was asked is never
 * deleted by it.  Changes are announced on the bus like the REST routes do.
 */
#include "config.h"

#include "lares-tools-tasks.h"

#include "lares-tasks.h"

#include <string.h>

#define LIST_SHOWN 20

typedef struct
{
  LaresToolCall *call;
  LaresStore *store;
  int64_t user_id;
  int64_t now_ms;
  GTimeZone *tz;
  LaresTask *task;  /* task.add input, task.done's result */
  GPtrArray *tasks; /* task.list result, task.done's candidates */
  LaresTaskFilter filter;
  char *project;
  char *tag;
  char *title;
  int64_t id;
  GHashTable *ids;  /* delete_many: the ids asked for (nullable) */
  GHashTable *plan; /* delete_many: the planned ids (run) */
  GArray *deleted;  /* delete_many: int64_t */
  gboolean filtered;
} TaskOp;

static TaskOp *
op_new (LaresToolCall *call)
{
  TaskOp *op = g_new0 (TaskOp, 1);

  op->call = call;
  op->store = call->ctx->store;
  op->user_id = call->ctx->user_id;
  op->now_ms = g_date_time_to_unix (call->ctx->now) * 1000;
  op->tz = g_time_zone_ref (g_date_time_get_timezone (call->ctx->now));
  return op;
}

static void
op_free (TaskOp *op)
{
  lares_task_free (op->task);
  if (op->tasks)
    g_ptr_array_unref (op->tasks);
  g_time_zone_unref (op->tz);
  g_free (op->project);
  g_free (op->tag);
  g_free (op->title);
  g_clear_pointer (&op->ids, g_hash_table_unref);
  g_clear_pointer (&op->plan, g_hash_table_unref);
  g_clear_pointer (&op->deleted, g_array_unref);
  g_free (op);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TaskOp, op_free)

/* "Sun 22 Nov 17:00" in the user's zone; the time only when not midnight. */
static char *
when_text (TaskOp *op, int64_t ms)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (ms / 1000);
  g_autoptr (GDateTime) local = utc ? g_date_time_to_timezone (utc, op->tz) : NULL;

  if (local == NULL)
    return g_strdup ("?");
  if (g_date_time_get_hour (local) == 0 && g_date_time_get_minute (local) == 0)
    return g_date_time_format (local, "%a %-d %b");
  return g_date_time_format (local, "%a %-d %b %H:%M");
}

static void
describe (TaskOp *op, GString *s, const LaresTask *t)
{
  g_string_append (s, t->description);
  if (t->project[0])
    g_string_append_printf (s, " [%s]", t->project);
  if (t->due)
    {
      g_autofree char *when = when_text (op, t->due);
      g_string_append_printf (s, " (due %s)", when);
    }
}

/* ---- task.add ------------------------------------------------------------------------------- */

static gboolean
add_run (sqlite3 *db, gpointer data, GError **error)
{
  TaskOp *op = data;

  return lares_tasks_insert (db, op->user_id, op->task, error);
}

static void
add_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (TaskOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new ("Added \"");
  JsonObject *o;

  if (!lares_store_write_finish (op->store, res, &error))
    {
      lares_tool_call_fail (op->call, "could not add the task: %s", error->message);
      return;
    }
  g_string_append (text, op->task->description);
  g_string_append (text, "\"");
  if (op->task->project[0])
    g_string_append_printf (text, " to %s", op->task->project);
  else
    g_string_append (text, " to your tasks");
  if (op->task->due)
    {
      g_autofree char *when = when_text (op, op->task->due);
      g_string_append_printf (text, ", due %s", when);
    }
  g_string_append_c (text, '.');
  o = json_object_new ();
  json_object_set_member (o, "task", lares_task_to_json (op->task));
  lares_bus_publish_change (op->call->ctx->bus, op->user_id, "task_created", "task",
                            json_object_get_member (o, "task"), 0);
  lares_tool_call_return (op->call, lares_tool_result (o, text->str));
}

static void
tool_task_add (LaresToolCall *call)
{
  g_autoptr (TaskOp) op = op_new (call);
  g_autoptr (JsonObject) fields = json_object_new ();
  g_autoptr (GError) error = NULL;
  JsonObject *a = call->args;
  const char *project = json_object_get_string_member_with_default (a, "project", NULL);
  g_autofree char *title =
      g_strstrip (g_strdup (json_object_get_string_member_with_default (a, "title", "")));

  if (project == NULL || *project == '\0')
    project = json_object_get_string_member_with_default (a, "list", NULL);
  json_object_set_string_member (fields, "description", title);
  if (project && *project)
    json_object_set_string_member (fields, "project", project);
  if (json_object_has_member (a, "due"))
    json_object_set_member (fields, "due", json_node_copy (json_object_get_member (a, "due")));
  if (json_object_has_member (a, "priority"))
    json_object_set_member (fields, "priority",
                            json_node_copy (json_object_get_member (a, "priority")));
  if (json_object_has_member (a, "tags"))
    json_object_set_member (fields, "tags", json_node_copy (json_object_get_member (a, "tags")));
  op->task = lares_task_new ();
  if (!lares_task_apply_json (op->task, fields, op->now_ms, TRUE, &error))
    {
      lares_tool_call_fail (call, "%s", error->message);
      return;
    }
  lares_store_write_async (op->store, add_run, op, NULL, add_done, op);
  g_steal_pointer (&op);
}

/* ---- task.list ------------------------------------------------------------------------------ */

static gboolean
list_run (sqlite3 *db, gpointer data, GError **error)
{
  TaskOp *op = data;

  op->tasks = lares_tasks_list (db, op->user_id, &op->filter, op->now_ms, error);
  return op->tasks != NULL;
}

static void
list_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (TaskOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  JsonArray *list = json_array_new ();
  JsonObject *o = json_object_new ();

  if (!lares_store_read_finish (op->store, res, &error))
    {
      json_array_unref (list);
      json_object_unref (o);
      lares_tool_call_fail (op->call, "could not read your tasks: %s", error->message);
      return;
    }
  if (op->tasks->len == 0)
    g_string_append (text, op->filter.due_before || op->project ? "You have no tasks due then."
                                                                : "You have no pending tasks.");
  else
    g_string_append_printf (text, "You have %u task%s:", op->tasks->len,
                            op->tasks->len == 1 ? "" : "s");
  for (unsigned i = 0; i < op->tasks->len; i++)
    {
      const LaresTask *t = op->tasks->pdata[i];
      if (i < LIST_SHOWN)
        {
          g_string_append (text, "\n- ");
          describe (op, text, t);
        }
      json_array_add_element (list, lares_task_to_json (t));
    }
  if (op->tasks->len > LIST_SHOWN)
    g_string_append_printf (text, "\n… and %u more.", op->tasks->len - LIST_SHOWN);
  json_object_set_array_member (o, "tasks", list);
  lares_tool_call_return (op->call, lares_tool_result (o, text->str));
}

static gboolean
arg_date (LaresToolCall *call, const char *name, int64_t *out)
{
  const char *s = json_object_get_string_member_with_default (call->args, name, NULL);

  if (s == NULL || *s == '\0')
    return TRUE;
  if (lares_task_date_parse (s, out))
    return TRUE;
  lares_tool_call_fail (call, "%s: not a date", name);
  return FALSE;
}

static void
tool_task_list (LaresToolCall *call)
{
  g_autoptr (TaskOp) op = op_new (call);
  const char *project = json_object_get_string_member_with_default (call->args, "project", NULL);
  const char *status = json_object_get_string_member_with_default (call->args, "status", "pending");
  LaresTaskStatus st = LARES_TASK_PENDING;

  if (project == NULL || *project == '\0')
    project = json_object_get_string_member_with_default (call->args, "list", NULL);
  if (!arg_date (call, "due_from", &op->filter.due_after) ||
      !arg_date (call, "due_to", &op->filter.due_before))
    return;
  lares_task_status_from_string (status, &st);
  op->filter.status = strcmp (status, "all") == 0 ? -1 : (int)st;
  op->filter.by_urgency = TRUE;
  op->filter.project = op->project = project && *project ? g_strdup (project) : NULL;
  lares_store_read_async (op->store, list_run, op, NULL, list_done, op);
  g_steal_pointer (&op);
}

/* ---- task.done ------------------------------------------------------------------------------ */

static char *
fold (const char *s)
{
  g_autofree char *norm = g_utf8_normalize (s, -1, G_NORMALIZE_ALL);
  g_autofree char *folded = g_utf8_casefold (norm ? norm : "", -1);

  return g_strdup (g_strstrip (folded));
}

/* The pending tasks @title names: those equal to it when there are any,
 * else those containing it. */
static GPtrArray *
find_matches (GPtrArray *pending, const char *title)
{
  g_autofree char *want = fold (title);
  GPtrArray *exact = g_ptr_array_new ();
  g_autoptr (GPtrArray) partial = g_ptr_array_new ();

  for (unsigned i = 0; i < pending->len; i++)
    {
      LaresTask *t = pending->pdata[i];
      g_autofree char *have = fold (t->description);

      if (strcmp (have, want) == 0)
        g_ptr_array_add (exact, t);
      else if (*want && strstr (have, want))
        g_ptr_array_add (partial, t);
    }
  if (exact->len == 0)
    for (unsigned i = 0; i < partial->len; i++)
      g_ptr_array_add (exact, partial->pdata[i]);
  return exact;
}

/* Take @t out of @from (which owns it) without freeing it. */
static LaresTask *
steal (GPtrArray *from, LaresTask *t)
{
  unsigned idx = 0;
  gboolean found = g_ptr_array_find (from, t, &idx);

  g_assert (found);
  return g_ptr_array_steal_index (from, idx);
}

static gboolean
done_run (sqlite3 *db, gpointer data, GError **error)
{
  TaskOp *op = data;
  g_autoptr (JsonObject) change = json_object_new ();
  g_autoptr (GPtrArray) pending = NULL;
  g_autoptr (GPtrArray) matches = NULL;
  LaresTask *t;

  if (op->id > 0)
    t = lares_tasks_get (db, op->user_id, op->id, op->now_ms, error);
  else
    {
      op->filter.status = LARES_TASK_PENDING;
      op->filter.by_urgency = TRUE;
      pending = lares_tasks_list (db, op->user_id, &op->filter, op->now_ms, error);
      if (pending == NULL)
        return FALSE;
      matches = find_matches (pending, op->title);
      if (matches->len != 1)
        {
          /* None, or several: the candidates go back, to ask which. */
          op->tasks = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_task_free);
          for (unsigned i = 0; i < matches->len; i++)
            g_ptr_array_add (op->tasks, steal (pending, matches->pdata[i]));
          return TRUE;
        }
      t = steal (pending, matches->pdata[0]);
    }
  if (t == NULL)
    return FALSE;
  op->task = t;
  json_object_set_string_member (change, "status", "completed");
  return lares_task_apply_json (t, change, op->now_ms, FALSE, error) &&
         lares_tasks_update (db, op->user_id, t, error);
}

static void
done_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (TaskOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  JsonObject *o;

  if (!lares_store_write_finish (op->store, res, &error))
    {
      lares_tool_call_fail (op->call, "could not complete the task: %s", error->message);
      return;
    }
  o = json_object_new ();
  if (op->task)
    {
      g_string_append_printf (text, "Done: \"%s\".", op->task->description);
      json_object_set_member (o, "task", lares_task_to_json (op->task));
      lares_bus_publish_change (op->call->ctx->bus, op->user_id, "task_updated", "task",
                                json_object_get_member (o, "task"), 0);
    }
  else if (op->tasks->len == 0)
    g_string_append_printf (text, "I couldn't find a pending task called \"%s\".", op->title);
  else
    {
      JsonArray *list = json_array_new ();
      g_string_append_printf (text, "%u pending tasks match \"%s\"; which one?", op->tasks->len,
                              op->title);
      for (unsigned i = 0; i < op->tasks->len; i++)
        {
          const LaresTask *t = op->tasks->pdata[i];
          g_string_append_printf (text, "\n%u. ", i + 1);
          describe (op, text, t);
          g_string_append_printf (text, " (#%" G_GINT64_FORMAT ")", t->id);
          json_array_add_element (list, lares_task_to_json (t));
        }
      json_object_set_array_member (o, "matches", list);
    }
  json_object_set_boolean_member (o, "done", op->task != NULL);
  lares_tool_call_return (op->call, lares_tool_result (o, text->str));
}

static void
tool_task_done (LaresToolCall *call)
{
  g_autoptr (TaskOp) op = op_new (call);

  op->id = json_object_get_int_member_with_default (call->args, "id", 0);
  op->title =
      g_strstrip (g_strdup (json_object_get_string_member_with_default (call->args, "title", "")));
  if (op->id <= 0 && *op->title == '\0')
    {
      lares_tool_call_fail (call, "say which task is done");
      return;
    }
  lares_store_write_async (op->store, done_run, op, NULL, done_done, op);
  g_steal_pointer (&op);
}

/* ---- task.delete_many (high risk) ----------------------------------------------------------- */

#define DELETE_MAX 1000

static GHashTable *
id_set (void)
{
  return g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
}

static void
id_set_add (GHashTable *set, int64_t id)
{
  g_hash_table_add (set, g_memdup2 (&id, sizeof id));
}

/* The ids of a JSON array of integers (validated by the schema). */
static GHashTable *
ids_from_array (JsonArray *a)
{
  GHashTable *set = id_set ();

  for (unsigned i = 0; a && i < json_array_get_length (a); i++)
    id_set_add (set, json_array_get_int_element (a, i));
  return set;
}

/* Read the filter from the arguments; FALSE after failing the call. */
static gboolean
delete_filter (TaskOp *op)
{
  JsonObject *a = op->call->args;
  const char *status = json_object_get_string_member_with_default (a, "status", NULL);
  LaresTaskStatus st = LARES_TASK_PENDING;

  if (json_object_has_member (a, "ids") &&
      !JSON_NODE_HOLDS_NULL (json_object_get_member (a, "ids")))
    op->ids = ids_from_array (json_object_get_array_member (a, "ids"));
  op->project = g_strdup (json_object_get_string_member_with_default (a, "project", NULL));
  op->tag = g_strdup (json_object_get_string_member_with_default (a, "tag", NULL));
  op->filtered = op->project || op->tag || status;
  if (op->ids == NULL && !op->filtered)
    {
      lares_tool_call_fail (op->call,
                            "say which tasks to delete: their ids, a project, a tag or a status");
      return FALSE;
    }
  if (status && strcmp (status, "all") != 0)
    lares_task_status_from_string (status, &st);
  /* Ids alone name tasks whatever their status; a filter means pending ones
   * unless it says otherwise. */
  op->filter.status =
      (status && strcmp (status, "all") == 0) || (status == NULL && op->ids) ? -1 : (int)st;
  op->filter.project = op->project;
  op->filter.tag = op->tag;
  return TRUE;
}

/* The user's tasks the arguments name, by id.  (transfer full) */
static GPtrArray *
delete_matches (sqlite3 *db, TaskOp *op, GError **error)
{
  g_autoptr (GPtrArray) all = lares_tasks_list (db, op->user_id, &op->filter, op->now_ms, error);
  GPtrArray *out;

  if (all == NULL)
    return NULL;
  out = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_task_free);
  for (unsigned i = 0; i < all->len; i++)
    {
      LaresTask *t = all->pdata[i];
      if ((op->ids == NULL || g_hash_table_contains (op->ids, &t->id)) &&
          (op->plan == NULL || g_hash_table_contains (op->plan, &t->id)))
        g_ptr_array_add (out, g_steal_pointer (&all->pdata[i]));
    }
  return out;
}

static gboolean
delete_plan_run (sqlite3 *db, gpointer data, GError **error)
{
  TaskOp *op = data;

  op->tasks = delete_matches (db, op, error);
  return op->tasks != NULL;
}

/* "12 pending tasks in project groceries tagged x" (without the count
 * when @count is FALSE). */
static void
describe_set (TaskOp *op, GString *s, unsigned n, gboolean count)
{
  if (count)
    g_string_append_printf (s, "%u ", n);
  if (op->filter.status >= 0)
    g_string_append_printf (s, "%s ", lares_task_status_to_string (op->filter.status));
  g_string_append (s, n == 1 ? "task" : "tasks");
  if (op->project)
    g_string_append_printf (s, " in project %s", op->project);
  if (op->tag)
    g_string_append_printf (s, " tagged %s", op->tag);
}

static void
delete_plan_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (TaskOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  JsonArray *ids;
  JsonObject *o;

  if (!lares_store_read_finish (op->store, res, &error))
    {
      lares_tool_call_fail (op->call, "could not read your tasks: %s", error->message);
      return;
    }
  if (op->tasks->len > DELETE_MAX)
    {
      lares_tool_call_fail (op->call, "that is %u tasks; I delete at most %u at once",
                            op->tasks->len, DELETE_MAX);
      return;
    }
  o = json_object_new ();
  ids = json_array_new ();
  for (unsigned i = 0; i < op->tasks->len; i++)
    json_array_add_int_element (ids, ((LaresTask *)op->tasks->pdata[i])->id);
  json_object_set_array_member (o, "ids", ids);
  json_object_set_int_member (o, "count", op->tasks->len);
  if (op->tasks->len == 0)
    {
      if (op->filtered)
        {
          g_string_append (text, "There are no ");
          describe_set (op, text, 0, FALSE);
          g_string_append (text, " to delete.");
        }
      else
        g_string_append (text, "None of those tasks exist, so there is nothing to delete.");
      json_object_set_boolean_member (o, "nothing", TRUE);
    }
  else if (op->ids && !op->filtered)
    {
      g_string_append_printf (text, "Delete %u %s:", op->tasks->len,
                              op->tasks->len == 1 ? "task" : "tasks");
      for (unsigned i = 0; i < op->tasks->len && i < 3; i++)
        g_string_append_printf (text, "%s \"%s\"", i ? "," : "",
                                ((LaresTask *)op->tasks->pdata[i])->description);
      if (op->tasks->len > 3)
        g_string_append_printf (text, " and %u more", op->tasks->len - 3);
    }
  else
    {
      g_string_append (text, "Delete ");
      describe_set (op, text, op->tasks->len, TRUE);
    }
  lares_tool_call_return (op->call, lares_tool_result (o, text->str));
}

static void
plan_task_delete_many (LaresToolCall *call)
{
  g_autoptr (TaskOp) op = op_new (call);

  if (!delete_filter (op))
    return;
  lares_store_read_async (op->store, delete_plan_run, op, NULL, delete_plan_done, op);
  g_steal_pointer (&op);
}

static gboolean
delete_run (sqlite3 *db, gpointer data, GError **error)
{
  TaskOp *op = data;
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (int64_t));

  op->tasks = delete_matches (db, op, error);
  if (op->tasks == NULL)
    return FALSE;
  for (unsigned i = 0; i < op->tasks->len; i++)
    g_array_append_val (ids, ((LaresTask *)op->tasks->pdata[i])->id);
  return lares_tasks_delete_many (db, op->user_id, (const int64_t *)(void *)ids->data, ids->len,
                                  &op->deleted, error);
}

static void
delete_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (TaskOp) op = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (op->store, res, &error))
    {
      lares_tool_call_fail (op->call, "could not delete the tasks: %s", error->message);
      return;
    }
  lares_tool_call_return_deleted (op->call, op->user_id, op->deleted, g_hash_table_size (op->plan),
                                  "task", "tasks", "task_deleted");
}

static void
tool_task_delete_many (LaresToolCall *call)
{
  g_autoptr (TaskOp) op = op_new (call);
  JsonArray *planned = call->plan && json_object_has_member (call->plan, "ids")
                           ? json_object_get_array_member (call->plan, "ids")
                           : NULL;

  /* Only what the owner approved runs: the planned ids. */
  if (planned == NULL)
    {
      lares_tool_call_fail (call, "task.delete_many runs only as an approved plan");
      return;
    }
  if (!delete_filter (op))
    return;
  op->plan = ids_from_array (planned);
  lares_store_write_async (op->store, delete_run, op, NULL, delete_done, op);
  g_steal_pointer (&op);
}

static const LaresToolSpec task_tools[] = {
  { "task.add", "Add a task to the user's task list, optionally in a project, with a due date.",
    "{\"type\":\"object\",\"properties\":{"
    "\"title\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":1000,"
    "\"description\":\"what to do\"},"
    "\"project\":{\"type\":\"string\",\"maxLength\":200},"
    "\"list\":{\"type\":\"string\",\"maxLength\":200,\"description\":\"same as project\"},"
    "\"due\":{\"type\":\"string\",\"maxLength\":40,\"description\":\"ISO 8601 date and time\"},"
    "\"priority\":{\"type\":\"string\",\"enum\":[\"H\",\"M\",\"L\"]},"
    "\"tags\":{\"type\":\"array\",\"maxLength\":64,\"items\":{\"type\":\"string\","
    "\"minLength\":1,\"maxLength\":200}}},"
    "\"required\":[\"title\"],\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_task_add },
  { "task.list",
    "List the user's tasks, most urgent first; optionally due in a time range or in "
    "a project.",
    "{\"type\":\"object\",\"properties\":{"
    "\"due_from\":{\"type\":\"string\",\"maxLength\":40,\"description\":\"ISO 8601, inclusive\"},"
    "\"due_to\":{\"type\":\"string\",\"maxLength\":40,\"description\":\"ISO 8601, exclusive\"},"
    "\"project\":{\"type\":\"string\",\"maxLength\":200},"
    "\"list\":{\"type\":\"string\",\"maxLength\":200},"
    "\"status\":{\"type\":\"string\",\"enum\":[\"pending\",\"waiting\",\"completed\",\"all\"]}},"
    "\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_task_list },
  { "task.done", "Mark a pending task as done, named by its description (or its id).",
    "{\"type\":\"object\",\"properties\":{"
    "\"title\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":1000},"
    "\"id\":{\"type\":\"integer\",\"minimum\":1}},\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_task_done },
  { "task.delete_many",
    "Delete several tasks at once: those with the given ids, or every task in a project, "
    "with a tag or a status (pending unless given). Needs the user's approval.",
    "{\"type\":\"object\",\"properties\":{"
    "\"ids\":{\"type\":\"array\",\"maxLength\":1000,\"items\":{\"type\":\"integer\","
    "\"minimum\":1}},"
    "\"project\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200},"
    "\"tag\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200},"
    "\"status\":{\"type\":\"string\",\"enum\":[\"pending\",\"waiting\",\"completed\","
    "\"deleted\",\"all\"]}},\"additionalProperties\":false}",
    LARES_TOOL_RISK_HIGH, tool_task_delete_many, plan_task_delete_many },
};

void
lares_tools_tasks_register (LaresToolRegistry *reg)
{
  for (size_t i = 0; i < G_N_ELEMENTS (task_tools); i++)
    {
      g_autoptr (GError) error = NULL;
      if (!lares_tool_registry_add (reg, &task_tools[i], &error))
        g_error ("built-in tool %s: %s", task_tools[i].name, error->message);
    }
}
