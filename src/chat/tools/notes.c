/* tools/notes.c — note.add, note.search and note.delete_many over the
 * notes store.
 *
 * DESIGN: each handler validates what the schema cannot (tags, the search
 * text), then runs one store function on a store thread and finishes the
 * call from its callback on the main context, exactly once.  The data the
 * store job needs is copied into a NoteOp it owns; nothing is shared.
 * Changes are announced on the bus as the REST routes announce theirs.
 * note.delete_many is high risk: its planner resolves the ids and tag to
 * the notes they name, and the approved run deletes those of the planned
 * notes that still match.
 */
#include "config.h"

#include "lares-tools-notes.h"

#include <string.h>

#include "lares-notes.h"

#define SEARCH_HITS 5

typedef struct
{
  LaresToolCall *call;
  LaresStore *store;
  int64_t user_id;
  int64_t now_ms;
  char *title;
  char *body;
  char **tags;
  char *text;  /* what to search for, as the person said it */
  char *query; /* its FTS5 form */
  LaresNote *note;
  GPtrArray *hits;
  char *tag;        /* delete_many: normalized, nullable */
  GArray *ids;      /* delete_many: the ids asked for (int64_t), nullable */
  GHashTable *plan; /* delete_many: the planned ids (run) */
  GPtrArray *notes; /* delete_many: the notes named */
  GArray *deleted;  /* delete_many: int64_t */
} NoteOp;

static void
note_op_free (NoteOp *op)
{
  g_free (op->title);
  g_free (op->body);
  g_strfreev (op->tags);
  g_free (op->text);
  g_free (op->query);
  lares_note_free (op->note);
  if (op->hits)
    g_ptr_array_unref (op->hits);
  g_free (op->tag);
  g_clear_pointer (&op->ids, g_array_unref);
  g_clear_pointer (&op->plan, g_hash_table_unref);
  g_clear_pointer (&op->notes, g_ptr_array_unref);
  g_clear_pointer (&op->deleted, g_array_unref);
  g_free (op);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NoteOp, note_op_free)

static NoteOp *
note_op_new (LaresToolCall *call)
{
  NoteOp *op = g_new0 (NoteOp, 1);

  op->call = call;
  op->store = call->ctx->store;
  op->user_id = call->ctx->user_id;
  op->now_ms = g_date_time_to_unix (call->ctx->now) * 1000;
  return op;
}

/* ---- note.add ------------------------------------------------------------------------------- */

static gboolean
add_in_store (sqlite3 *db, gpointer data, GError **error)
{
  NoteOp *op = data;

  return lares_notes_insert_tagged (db, op->user_id, op->title, op->body,
                                    (const char *const *)op->tags, op->now_ms, &op->note, error);
}

static void
add_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (NoteOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  JsonObject *o;

  if (!lares_store_write_finish (op->store, res, &error))
    {
      lares_tool_call_fail (op->call, "could not save the note: %s", error->message);
      return;
    }
  text = g_strdup_printf ("Noted: %s", op->note->body);
  o = json_object_new ();
  json_object_set_member (o, "note", lares_note_to_json (op->note));
  /* The same event the REST route sends, so every open page shows it. */
  lares_bus_publish_change (op->call->ctx->bus, op->user_id, "note_created", "note",
                            json_object_get_member (o, "note"), 0);
  lares_tool_call_return (op->call, lares_tool_result (o, text));
}

static void
tool_note_add (LaresToolCall *call)
{
  g_autoptr (NoteOp) op = note_op_new (call);
  JsonArray *tags = json_object_has_member (call->args, "tags")
                        ? json_object_get_array_member (call->args, "tags")
                        : NULL;
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  const char *title = json_object_get_string_member_with_default (call->args, "title", "");

  op->body = g_strstrip (g_strdup (json_object_get_string_member (call->args, "text")));
  op->title = g_strstrip (g_strdup (title ? title : ""));
  if (*op->body == '\0')
    {
      lares_tool_call_fail (call, "say what to note");
      return;
    }
  for (unsigned i = 0; tags && i < json_array_get_length (tags); i++)
    {
      const char *why = NULL;
      g_autofree char *tag =
          lares_note_tag_normalize (json_array_get_string_element (tags, i), &why);
      if (tag == NULL)
        {
          lares_tool_call_fail (call, "tag '%s': %s", json_array_get_string_element (tags, i), why);
          return;
        }
      g_strv_builder_add (b, tag);
    }
  op->tags = g_strv_builder_end (b);
  lares_store_write_async (call->ctx->store, add_in_store, op, NULL, add_done, op);
  op = NULL; /* add_done owns it now */
}

/* ---- note.search ---------------------------------------------------------------------------- */

static gboolean
search_in_store (sqlite3 *db, gpointer data, GError **error)
{
  NoteOp *op = data;

  op->hits = lares_notes_search (db, op->user_id, op->query, 0, 0, SEARCH_HITS, error);
  return op->hits != NULL;
}

static void
search_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (NoteOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  JsonArray *hits;
  JsonObject *o;

  if (!lares_store_read_finish (op->store, res, &error))
    {
      lares_tool_call_fail (op->call, "could not search your notes: %s", error->message);
      return;
    }
  hits = json_array_new ();
  if (op->hits->len == 0)
    g_string_printf (text, "I found nothing about \"%s\" in your notes.", op->text);
  else
    g_string_printf (text, "Here is what I found in your notes:");
  for (unsigned i = 0; i < op->hits->len; i++)
    {
      LaresNoteHit *hit = op->hits->pdata[i];
      g_autofree char *snippet = lares_notes_marked_to_text (hit->snippet, "", "");

      g_string_append (text, "\n- ");
      if (*hit->note->title)
        g_string_append_printf (text, "%s: ", hit->note->title);
      g_string_append (text, snippet);
      json_array_add_element (hits, lares_note_hit_to_json (hit));
    }
  o = json_object_new ();
  json_object_set_array_member (o, "hits", hits);
  lares_tool_call_return (op->call, lares_tool_result (o, text->str));
}

static void
tool_note_search (LaresToolCall *call)
{
  g_autoptr (NoteOp) op = note_op_new (call);
  const char *why = NULL;

  op->text = g_strstrip (g_strdup (json_object_get_string_member (call->args, "query")));
  op->query = lares_notes_query_build (op->text, &why);
  if (op->query == NULL)
    {
      lares_tool_call_fail (call, "cannot search for that: %s", why);
      return;
    }
  lares_store_read_async (call->ctx->store, search_in_store, op, NULL, search_done, op);
  op = NULL; /* search_done owns it now */
}

/* ---- note.delete_many (high risk) ----------------------------------------------------------- */

#define DELETE_MAX 1000

/* Read ids and tag; FALSE after failing the call. */
static gboolean
delete_args (NoteOp *op)
{
  JsonObject *a = op->call->args;
  JsonArray *ids =
      json_object_has_member (a, "ids") && !JSON_NODE_HOLDS_NULL (json_object_get_member (a, "ids"))
          ? json_object_get_array_member (a, "ids")
          : NULL;
  const char *tag = json_object_get_string_member_with_default (a, "tag", NULL);

  if (ids == NULL && tag == NULL)
    {
      lares_tool_call_fail (op->call, "say which notes to delete: their ids or a tag");
      return FALSE;
    }
  if (tag)
    {
      const char *why = NULL;
      op->tag = lares_note_tag_normalize (tag, &why);
      if (op->tag == NULL)
        {
          lares_tool_call_fail (op->call, "tag '%s': %s", tag, why);
          return FALSE;
        }
    }
  if (ids)
    {
      op->ids = g_array_new (FALSE, FALSE, sizeof (int64_t));
      for (unsigned i = 0; i < json_array_get_length (ids); i++)
        {
          int64_t id = json_array_get_int_element (ids, i);
          g_array_append_val (op->ids, id);
        }
    }
  return TRUE;
}

static gboolean
has_tag (const LaresNote *n, const char *tag)
{
  return g_strv_contains ((const char *const *)n->tags, tag);
}

/* The user's notes the arguments (and the plan, when running) name. */
static gboolean
delete_matches (sqlite3 *db, NoteOp *op, GError **error)
{
  op->notes = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_note_free);
  if (op->ids)
    {
      g_autoptr (GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
      for (unsigned i = 0; i < op->ids->len; i++)
        {
          int64_t *id = &g_array_index (op->ids, int64_t, i);
          g_autoptr (GError) local = NULL;
          LaresNote *n;

          if (!g_hash_table_add (seen, id))
            continue;
          n = lares_notes_get (db, op->user_id, *id, &local);
          if (n == NULL)
            {
              if (g_error_matches (local, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND))
                continue;
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          if ((op->tag && !has_tag (n, op->tag)) ||
              (op->plan && !g_hash_table_contains (op->plan, &n->id)))
            lares_note_free (n);
          else
            g_ptr_array_add (op->notes, n);
        }
      return TRUE;
    }
  {
    /* One more than the most we delete, to say when there are too many. */
    g_autoptr (GPtrArray) tagged =
        lares_notes_list_tagged (db, op->user_id, op->tag, 0, DELETE_MAX + 1, error);
    if (tagged == NULL)
      return FALSE;
    for (unsigned i = 0; i < tagged->len; i++)
      {
        LaresNote *n = tagged->pdata[i];
        if (op->plan == NULL || g_hash_table_contains (op->plan, &n->id))
          g_ptr_array_add (op->notes, g_steal_pointer (&tagged->pdata[i]));
      }
  }
  return TRUE;
}

static gboolean
delete_plan_run (sqlite3 *db, gpointer data, GError **error)
{
  return delete_matches (db, data, error);
}

/* A note as a person would name it: its title, else its first words. */
static char *
note_label (const LaresNote *n)
{
  const char *s = *n->title ? n->title : n->body;

  if (g_utf8_strlen (s, -1) <= 40)
    return g_strdup (s);
  {
    g_autofree char *head = g_utf8_substring (s, 0, 40);
    return g_strconcat (head, "…", NULL);
  }
}

static void
delete_plan_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (NoteOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  unsigned n;
  JsonArray *ids;
  JsonObject *o;

  if (!lares_store_read_finish (op->store, res, &error))
    {
      lares_tool_call_fail (op->call, "could not read your notes: %s", error->message);
      return;
    }
  n = op->notes->len;
  if (n > DELETE_MAX)
    {
      lares_tool_call_fail (op->call, "that is more than %u notes; I delete at most %u at once",
                            DELETE_MAX, DELETE_MAX);
      return;
    }
  o = json_object_new ();
  ids = json_array_new ();
  for (unsigned i = 0; i < n; i++)
    json_array_add_int_element (ids, ((LaresNote *)op->notes->pdata[i])->id);
  json_object_set_array_member (o, "ids", ids);
  json_object_set_int_member (o, "count", n);
  if (n == 0)
    {
      if (op->ids)
        g_string_append (text, "None of those notes exist, so there is nothing to delete.");
      else
        g_string_printf (text, "There are no notes tagged %s to delete.", op->tag);
      json_object_set_boolean_member (o, "nothing", TRUE);
    }
  else if (op->ids)
    {
      g_string_printf (text, "Delete %u %s:", n, n == 1 ? "note" : "notes");
      for (unsigned i = 0; i < n && i < 3; i++)
        {
          g_autofree char *label = note_label (op->notes->pdata[i]);
          g_string_append_printf (text, "%s \"%s\"", i ? "," : "", label);
        }
      if (n > 3)
        g_string_append_printf (text, " and %u more", n - 3);
    }
  else
    g_string_printf (text, "Delete %u %s tagged %s", n, n == 1 ? "note" : "notes", op->tag);
  lares_tool_call_return (op->call, lares_tool_result (o, text->str));
}

static void
plan_note_delete_many (LaresToolCall *call)
{
  g_autoptr (NoteOp) op = note_op_new (call);

  if (!delete_args (op))
    return;
  lares_store_read_async (call->ctx->store, delete_plan_run, op, NULL, delete_plan_done, op);
  op = NULL; /* delete_plan_done owns it now */
}

static gboolean
delete_run (sqlite3 *db, gpointer data, GError **error)
{
  NoteOp *op = data;
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (int64_t));

  if (!delete_matches (db, op, error))
    return FALSE;
  for (unsigned i = 0; i < op->notes->len; i++)
    g_array_append_val (ids, ((LaresNote *)op->notes->pdata[i])->id);
  return lares_notes_delete_many (db, op->user_id, (const int64_t *)(void *)ids->data, ids->len,
                                  &op->deleted, error);
}

static void
delete_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (NoteOp) op = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (op->store, res, &error))
    {
      lares_tool_call_fail (op->call, "could not delete the notes: %s", error->message);
      return;
    }
  lares_tool_call_return_deleted (op->call, op->user_id, op->deleted, g_hash_table_size (op->plan),
                                  "note", "notes", "note_deleted");
}

static void
tool_note_delete_many (LaresToolCall *call)
{
  g_autoptr (NoteOp) op = note_op_new (call);
  JsonArray *planned = call->plan && json_object_has_member (call->plan, "ids")
                           ? json_object_get_array_member (call->plan, "ids")
                           : NULL;

  /* Only what the owner approved runs: the planned ids. */
  if (planned == NULL)
    {
      lares_tool_call_fail (call, "note.delete_many runs only as an approved plan");
      return;
    }
  if (!delete_args (op))
    return;
  op->plan = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  for (unsigned i = 0; i < json_array_get_length (planned); i++)
    {
      int64_t id = json_array_get_int_element (planned, i);
      g_hash_table_add (op->plan, g_memdup2 (&id, sizeof id));
    }
  lares_store_write_async (call->ctx->store, delete_run, op, NULL, delete_done, op);
  op = NULL; /* delete_done owns it now */
}

static const LaresToolSpec note_tools[] = {
  { "note.add", "Save a note for the user (text, with an optional title and tags).",
    "{\"type\":\"object\",\"properties\":{"
    "\"text\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":65536,"
    "\"description\":\"what to note\"},"
    "\"title\":{\"type\":\"string\",\"maxLength\":200},"
    "\"tags\":{\"type\":\"array\",\"maxLength\":16,\"items\":{\"type\":\"string\","
    "\"minLength\":1,\"maxLength\":33}}},"
    "\"required\":[\"text\"],\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_note_add },
  { "note.search",
    "Search the user's notes by words (all must match; end a word with * for a prefix).",
    "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\",\"minLength\":1,"
    "\"maxLength\":500,\"description\":\"words to look for\"}},"
    "\"required\":[\"query\"],\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_note_search },
  { "note.delete_many",
    "Delete several notes at once: those with the given ids, or every note with a tag. Needs "
    "the user's approval.",
    "{\"type\":\"object\",\"properties\":{"
    "\"ids\":{\"type\":\"array\",\"maxLength\":1000,\"items\":{\"type\":\"integer\","
    "\"minimum\":1}},"
    "\"tag\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":33}},"
    "\"additionalProperties\":false}",
    LARES_TOOL_RISK_HIGH, tool_note_delete_many, plan_note_delete_many },
};

void
lares_tools_notes_register (LaresToolRegistry *reg)
{
  for (size_t i = 0; i < G_N_ELEMENTS (note_tools); i++)
    {
      g_autoptr (GError) error = NULL;
      if (!lares_tool_registry_add (reg, &note_tools[i], &error))
        g_error ("built-in tool %s: %s", note_tools[i].name, error->message);
    }
}
