/* routes/notes.c — /api/v1/notes CRUD with tags, and /api/v1/search.
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

#define LIST_DEFAULT      50
#define LIST_MAX          500
#define SEARCH_DEFAULT    20
#define SEARCH_MAX        100
#define SEARCH_OFFSET_MAX 10000

typedef struct
{
  LaresRequest *req;
  int64_t user_id;
  int64_t id;
  char *title;
  char *body;
  char **tags; /* normalized (owned), NULL-terminated */
  char *tag;   /* list filter (owned) */
  char *query; /* FTS5 query from lares_notes_query_build (owned) */
  LaresNoteFields fields;
  int64_t before;
  unsigned offset;
  unsigned limit;
  LaresNote *note;  /* result (owned) */
  GPtrArray *notes; /* result (owned): LaresNote, or LaresNoteHit for search */
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
  g_strfreev (op->tags);
  g_free (op->tag);
  g_free (op->query);
  lares_note_free (op->note);
  if (op->notes)
    g_ptr_array_unref (op->notes);
  g_free (op);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NotesOp, op_free)

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

/* Read an optional "tags" member: an array of at most LARES_NOTE_TAGS_MAX
 * strings, each a valid tag.  @out: OUT (transfer full), NULL when absent
 * or null.  Responds and returns FALSE on anything else. */
static gboolean
get_tags (LaresRequest *req, JsonObject *obj, char ***out)
{
  JsonNode *node = json_object_get_member (obj, "tags");
  g_autoptr (GStrvBuilder) b = NULL;
  JsonArray *a;

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "'tags' must be an array of strings");
      return FALSE;
    }
  a = json_node_get_array (node);
  if (json_array_get_length (a) > LARES_NOTE_TAGS_MAX)
    {
      lares_request_respond_error (req, 400, "invalid_argument", "'tags' has more than %d tags",
                                   LARES_NOTE_TAGS_MAX);
      return FALSE;
    }
  b = g_strv_builder_new ();
  for (unsigned i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *el = json_array_get_element (a, i);
      g_autofree char *tag = NULL;
      const char *why = NULL;

      if (!JSON_NODE_HOLDS_VALUE (el) || json_node_get_value_type (el) != G_TYPE_STRING)
        {
          lares_request_respond_error (req, 400, "invalid_argument",
                                       "'tags' must be an array of strings");
          return FALSE;
        }
      tag = lares_note_tag_normalize (json_node_get_string (el), &why);
      if (tag == NULL)
        {
          g_autofree char *valid = g_utf8_make_valid (json_node_get_string (el), -1);
          g_autofree char *shown = g_utf8_substring (valid, 0, MIN (g_utf8_strlen (valid, -1), 40));
          lares_request_respond_error (req, 400, "invalid_argument", "tag '%s': %s", shown, why);
          return FALSE;
        }
      g_strv_builder_add (b, tag);
    }
  *out = g_strv_builder_end (b);
  return TRUE;
}

/* FALSE (after a 400) when @obj has a member not in @allowed. */
static gboolean
check_fields (LaresRequest *req, JsonObject *obj, const char *const *allowed)
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

static const char *const note_fields[] = { "title", "body", "tags", NULL };

/* POST /api/v1/notes {"title"?: string, "body": string, "tags"?: [string]} */

static gboolean
create_run (sqlite3 *db, gpointer data, GError **error)
{
  NotesOp *op = data;

  return lares_notes_insert_tagged (db, op->user_id, op->title, op->body,
                                    (const char *const *)op->tags, g_get_real_time () / 1000,
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
  lares_server_publish_change (server, op->user_id, "note_created", "note", node, 0);
}

static void
notes_create (LaresRequest *req)
{
  JsonObject *obj = json_node_get_object (req->body);
  g_auto (GStrv) tags = NULL;
  const char *title, *body;
  NotesOp *op;

  if (!check_fields (req, obj, note_fields) ||
      !get_string (req, obj, "title", FALSE, LARES_NOTE_TITLE_MAX, &title) ||
      !get_string (req, obj, "body", TRUE, LARES_NOTE_BODY_MAX, &body) ||
      !get_tags (req, obj, &tags))
    return;
  if (*body == '\0')
    {
      lares_request_respond_error (req, 400, "invalid_argument", "'body' must not be empty");
      return;
    }
  op = op_new (req);
  op->title = g_strdup (title ? title : "");
  op->body = g_strdup (body);
  op->tags = g_steal_pointer (&tags);
  lares_store_write_async (req->server->store, create_run, op, NULL, create_done, op);
}

/* POST /api/v1/notes/{id} {"title"?, "body"?, "tags"?}: replace what is given. */

static gboolean
update_run (sqlite3 *db, gpointer data, GError **error)
{
  NotesOp *op = data;

  return lares_notes_update (db, op->user_id, op->id, op->fields, op->title, op->body,
                             (const char *const *)op->tags, g_get_real_time () / 1000, &op->note,
                             error);
}

static void
update_done (GObject *source, GAsyncResult *result, gpointer data)
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
  lares_request_respond_json (op->req, 200, node);
  lares_server_publish_change (server, op->user_id, "note_updated", "note", node, 0);
}

static void
notes_update (LaresRequest *req)
{
  JsonObject *obj = json_node_get_object (req->body);
  g_auto (GStrv) tags = NULL;
  const char *title, *body;
  LaresNoteFields fields = 0;
  NotesOp *op;

  if (!check_fields (req, obj, note_fields) ||
      !get_string (req, obj, "title", FALSE, LARES_NOTE_TITLE_MAX, &title) ||
      !get_string (req, obj, "body", FALSE, LARES_NOTE_BODY_MAX, &body) ||
      !get_tags (req, obj, &tags))
    return;
  /* null means "leave it", like an absent member; tags: [] clears them. */
  if (title)
    fields |= LARES_NOTE_FIELD_TITLE;
  if (body)
    fields |= LARES_NOTE_FIELD_BODY;
  if (tags)
    fields |= LARES_NOTE_FIELD_TAGS;
  if (fields == 0)
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "give at least one of 'title', 'body' and 'tags'");
      return;
    }
  if (body && *body == '\0')
    {
      lares_request_respond_error (req, 400, "invalid_argument", "'body' must not be empty");
      return;
    }
  op = op_new (req);
  op->fields = fields;
  op->title = g_strdup (title);
  op->body = g_strdup (body);
  op->tags = g_steal_pointer (&tags);
  lares_store_write_async (req->server->store, update_run, op, NULL, update_done, op);
}

/* GET /api/v1/notes?limit=&before=&tag= */

static gboolean
list_run (sqlite3 *db, gpointer data, GError **error)
{
  NotesOp *op = data;

  op->notes = op->tag
                  ? lares_notes_list_tagged (db, op->user_id, op->tag, op->before, op->limit, error)
                  : lares_notes_list (db, op->user_id, op->before, op->limit, error);
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
  const char *tag_text = lares_request_query (req, "tag");
  g_autofree char *tag = NULL;
  NotesOp *op;

  if (!lares_request_query_int (req, "limit", 1, LIST_MAX, &limit) ||
      !lares_request_query_int (req, "before", 1, INT64_MAX, &before))
    return;
  if (tag_text)
    {
      const char *why = NULL;
      if ((tag = lares_note_tag_normalize (tag_text, &why)) == NULL)
        {
          lares_request_respond_error (req, 400, "invalid_argument", "'tag': %s", why);
          return;
        }
    }
  op = op_new (req);
  op->tag = g_steal_pointer (&tag);
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
  lares_server_publish_change (server, op->user_id, "note_deleted", "note", NULL, op->id);
}

static void
notes_delete (LaresRequest *req)
{
  NotesOp *op = op_new (req);

  lares_store_write_async (req->server->store, delete_run, op, NULL, delete_done, op);
}

/* GET /api/v1/search?q=&limit=&offset=&before= */

static gboolean
search_run (sqlite3 *db, gpointer data, GError **error)
{
  NotesOp *op = data;

  op->notes =
      lares_notes_search (db, op->user_id, op->query, op->before, op->offset, op->limit, error);
  return op->notes != NULL;
}

static void
search_done (GObject *source, GAsyncResult *result, gpointer data)
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
  json_builder_set_member_name (b, "hits");
  json_builder_begin_array (b);
  for (unsigned i = 0; i < op->notes->len; i++)
    json_builder_add_value (b, lares_note_hit_to_json (op->notes->pdata[i]));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "next_offset");
  if (op->notes->len == op->limit && op->offset + op->limit <= SEARCH_OFFSET_MAX)
    json_builder_add_int_value (b, op->offset + op->limit);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  lares_request_respond_json (op->req, 200, root);
}

static void
notes_search (LaresRequest *req)
{
  int64_t limit = SEARCH_DEFAULT, offset = 0, before = 0;
  const char *q = lares_request_query (req, "q");
  const char *why = NULL;
  g_autofree char *query = NULL;
  NotesOp *op;

  if (!lares_request_query_int (req, "limit", 1, SEARCH_MAX, &limit) ||
      !lares_request_query_int (req, "offset", 0, SEARCH_OFFSET_MAX, &offset) ||
      !lares_request_query_int (req, "before", 1, INT64_MAX, &before))
    return;
  if (q == NULL)
    {
      lares_request_respond_error (req, 400, "invalid_argument", "'q' is required");
      return;
    }
  query = lares_notes_query_build (q, &why);
  if (query == NULL)
    {
      lares_request_respond_error (req, 400, "invalid_argument", "'q': %s", why);
      return;
    }
  op = op_new (req);
  op->query = g_steal_pointer (&query);
  op->limit = (unsigned)limit;
  op->offset = (unsigned)offset;
  op->before = before;
  lares_store_read_async (req->server->store, search_run, op, NULL, search_done, op);
}

const LaresRoute lares_notes_routes[] = {
  { "POST", "/api/v1/notes", notes_create, LARES_ROUTE_JSON_BODY, "notes.create" },
  { "GET", "/api/v1/notes", notes_list, 0, "notes.list" },
  { "GET", "/api/v1/notes/{id}", notes_get, 0, "notes.get" },
  { "POST", "/api/v1/notes/{id}", notes_update, LARES_ROUTE_JSON_BODY, "notes.update" },
  { "GET", "/api/v1/search", notes_search, 0, "notes.search" },
  { "DELETE", "/api/v1/notes/{id}", notes_delete, 0, "notes.delete" },
  { NULL },
};
