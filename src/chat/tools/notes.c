/* tools/notes.c — note.add and note.search over the notes store.
 *
 * DESIGN: each handler validates what the schema cannot (tags, the search
 * text), then runs one store function on a store thread and finishes the
 * call from its callback on the main context, exactly once.  The data the
 * store job needs is copied into a NoteOp it owns; nothing is shared.
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

static JsonNode *
result_text (JsonObject *o, const char *text)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_object_set_string_member (o, "text", text);
  json_node_take_object (node, o);
  return node;
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
  lares_tool_call_return (op->call, result_text (o, text));
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
  lares_tool_call_return (op->call, result_text (o, text->str));
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
