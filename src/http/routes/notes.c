/* routes/notes.c — /api/v1/notes CRUD.
 *
 * Every handler validates its input on the main loop, then runs one store
 * call on a store thread and answers from the callback.  Writes are
 * acknowledged (2xx) only after COMMIT, so an acknowledged note survives a
 * crash.  Each change is published on the bus to all of the user's
 * connections.
 */
#include "config.h"

#include "lares-http-private.h"
#include "lares-notes.h"
#include "lares-util.h"

#define LIST_DEFAULT 50
#define LIST_MAX     500

typedef struct
{
  LaresRequest *req;
  int64_t user_id;
  int64_t id;
  char *title;
  char *body;
  int64_t before;
  unsigned limit;
  LaresNote *note;  /* result (owned) */
  GPtrArray *notes; /* result (owned) */
} NotesOp;

static NotesOp *
op_new (LaresRequest *req)
{
  NotesOp *op = g_new0 (NotesOp, 1);

  op->req = req;
  op->user_id = req->user_id;
  op->id = req->path_id;
  return op;
}

static void
op_free (NotesOp *op)
{
  g_free (op->title);
  g_free (op->body);
  lares_note_free (op->note);
  if (op->notes)
    g_ptr_array_unref (op->notes);
  g_free (op);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NotesOp, op_free)

static void
publish (LaresServer *server, int64_t user_id, const char *type, JsonNode *note, int64_t id)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) event = NULL;

  if (lares_bus_count (server->bus, user_id) == 0)
    return;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  if (note)
    {
      json_builder_set_member_name (b, "note");
      json_builder_add_value (b, json_node_copy (note));
    }
  else
    {
      json_builder_set_member_name (b, "id");
      json_builder_add_int_value (b, id);
    }
  json_builder_end_object (b);
  event = json_builder_get_root (b);
  /* After the response: the writer should not wait for the fan-out. */
  lares_bus_publish_later (server->bus, user_id, event);
}

/* Read an optional string member with a character limit.  Responds and
 * returns FALSE on a wrong type or length. */
static gboolean
get_string (LaresRequest *req, JsonObject *obj, const char *name, gboolean required,
            size_t max_chars, const char **out)
{
  JsonNode *node = json_object_get_member (obj, name);

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (required)
        {
          lares_request_respond_error (req, 400, "invalid_argument", "'%s' is required", name);
          return FALSE;
        }
      return TRUE;
    }
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

/* POST /api/v1/notes {"title"?: string, "body": string} */

static gboolean
create_run (sqlite3 *db, gpointer data, GError **error)
{
  NotesOp *op = data;

  return lares_notes_insert (db, op->user_id, op->title, op->body, g_get_real_time () / 1000,
                             &op->note, error);
}

static void
create_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (NotesOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;
  LaresServer *server;

  if (!lares_store_write_finish (op->req->server->store, result, &error))
    {
      lares_request_respond_gerror (op->req, error);
      return;
    }
  node = lares_note_to_json (op->note);
  server = op->req->server;
  lares_request_respond_json (op->req, 201, node);
  publish (server, op->user_id, "note_created", node, 0);
}

static void
notes_create (LaresRequest *req)
{
  JsonObject *obj = json_node_get_object (req->body);
  g_autoptr (GList) members = json_object_get_members (obj);
  const char *title, *body;
  NotesOp *op;

  for (GList *l = members; l; l = l->next)
    if (g_strcmp0 (l->data, "title") != 0 && g_strcmp0 (l->data, "body") != 0)
      {
        lares_request_respond_error (req, 400, "invalid_argument", "unknown field '%s'",
                                     (const char *)l->data);
        return;
      }
  if (!get_string (req, obj, "title", FALSE, LARES_NOTE_TITLE_MAX, &title) ||
      !get_string (req, obj, "body", TRUE, LARES_NOTE_BODY_MAX, &body))
    return;
  if (*body == '\0')
    {
      lares_request_respond_error (req, 400, "invalid_argument", "'body' must not be empty");
      return;
    }
  op = op_new (req);
  op->title = g_strdup (title ? title : "");
  op->body = g_strdup (body);
  lares_store_write_async (req->server->store, create_run, op, NULL, create_done, op);
}

/* GET /api/v1/notes?limit=&before= */

static gboolean
list_run (sqlite3 *db, gpointer data, GError **error)
{
  NotesOp *op = data;

  op->notes = lares_notes_list (db, op->user_id, op->before, op->limit, error);
  return op->notes != NULL;
}

static void
list_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (NotesOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  if (!lares_store_read_finish (op->req->server->store, result, &error))
    {
      lares_request_respond_gerror (op->req, error);
      return;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "notes");
  json_builder_begin_array (b);
  for (unsigned i = 0; i < op->notes->len; i++)
    json_builder_add_value (b, lares_note_to_json (op->notes->pdata[i]));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "next_before");
  if (op->notes->len == op->limit && op->notes->len > 0)
    json_builder_add_int_value (b, ((LaresNote *)op->notes->pdata[op->notes->len - 1])->id);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  lares_request_respond_json (op->req, 200, root);
}

static void
notes_list (LaresRequest *req)
{
  int64_t limit = LIST_DEFAULT, before = 0;
  NotesOp *op;

  if (!lares_request_query_int (req, "limit", 1, LIST_MAX, &limit) ||
      !lares_request_query_int (req, "before", 1, INT64_MAX, &before))
    return;
  op = op_new (req);
  op->limit = (unsigned)limit;
  op->before = before;
  lares_store_read_async (req->server->store, list_run, op, NULL, list_done, op);
}

/* GET /api/v1/notes/{id} */

static gboolean
get_run (sqlite3 *db, gpointer data, GError **error)
{
  NotesOp *op = data;

  op->note = lares_notes_get (db, op->user_id, op->id, error);
  return op->note != NULL;
}

static void
get_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (NotesOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;

  if (!lares_store_read_finish (op->req->server->store, result, &error))
    {
      lares_request_respond_gerror (op->req, error);
      return;
    }
  node = lares_note_to_json (op->note);
  lares_request_respond_json (op->req, 200, node);
}

static void
notes_get (LaresRequest *req)
{
  NotesOp *op = op_new (req);

  lares_store_read_async (req->server->store, get_run, op, NULL, get_done, op);
}

/* DELETE /api/v1/notes/{id} */

static gboolean
delete_run (sqlite3 *db, gpointer data, GError **error)
{
  NotesOp *op = data;

  return lares_notes_delete (db, op->user_id, op->id, error);
}

static void
delete_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (NotesOp) op = data;
  g_autoptr (GError) error = NULL;
  LaresServer *server;

  if (!lares_store_write_finish (op->req->server->store, result, &error))
    {
      lares_request_respond_gerror (op->req, error);
      return;
    }
  server = op->req->server;
  lares_request_respond_empty (op->req, 204);
  publish (server, op->user_id, "note_deleted", NULL, op->id);
}

static void
notes_delete (LaresRequest *req)
{
  NotesOp *op = op_new (req);

  lares_store_write_async (req->server->store, delete_run, op, NULL, delete_done, op);
}

const LaresRoute lares_notes_routes[] = {
  { "POST", "/api/v1/notes", notes_create, LARES_ROUTE_JSON_BODY, "notes.create" },
  { "GET", "/api/v1/notes", notes_list, 0, "notes.list" },
  { "GET", "/api/v1/notes/{id}", notes_get, 0, "notes.get" },
  { "DELETE", "/api/v1/notes/{id}", notes_delete, 0, "notes.delete" },
  { NULL },
};
