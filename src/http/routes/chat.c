/* routes/chat.c — chat over REST (JSON or SSE) and WebSocket, conversations,
 * the history endpoints of seed 001 and LLM spend.
 *
 * The turn itself lives in src/chat; these handlers translate transports.
 * POST /api/v1/chat answers the finished turn as JSON, or, with
 * "Accept: text/event-stream", streams the same events as /ws.  A client
 * that goes away mid-turn cancels it (the turn still records how it ended).
 */
#include "config.h"

#include "lares-chat-store.h"
#include "lares-http-parse.h"
#include "lares-http-private.h"
#include "lares-util.h"

#include <string.h>

#define LIST_DEFAULT 50
#define LIST_MAX     500

/* ---- POST /api/v1/chat ---------------------------------------------------------------------- */

typedef struct
{
  LaresRequest *req; /* NULL once answered or gone */
  LaresTurn *turn;
  gboolean sse;
  char *error_code; /* an error before the turn started */
  char *error_message;
} ChatCall;

static void
chat_call_free (ChatCall *c)
{
  g_free (c->error_code);
  g_free (c->error_message);
  g_free (c);
}

static void
chat_gone (gpointer data)
{
  ChatCall *c = data;

  c->req = NULL;
  /* Detached, the turn calls nothing back: this is the last use of @c. */
  if (c->turn)
    lares_turn_detach (c->turn);
  chat_call_free (c);
}

static void
sse_write_event (LaresRequest *req, const char *type, GBytes *json)
{
  size_t len = 0;
  const char *data = g_bytes_get_data (json, &len);
  g_autoptr (GString) s = g_string_sized_new (len + 32);

  g_string_append_printf (s, "event: %s\ndata: ", type);
  g_string_append_len (s, data, len);
  g_string_append (s, "\n\n");
  lares_request_stream_write (req, s->str, s->len);
}

static const char *const event_names[] = { "turn_start",       "token", "emotion",
                                           "tool_call",        "error", "turn_end",
                                           "approval_required" };
G_STATIC_ASSERT (G_N_ELEMENTS (event_names) == LARES_TURN_EVENT_APPROVAL + 1);

static void
chat_on_event (LaresTurn *turn, const LaresTurnEvent *ev, gpointer data)
{
  ChatCall *c = data;
  const LaresTurnResult *r;

  if (c->req == NULL)
    {
      if (ev->type == LARES_TURN_EVENT_END)
        chat_call_free (c);
      return;
    }
  if (c->sse)
    {
      sse_write_event (c->req, event_names[ev->type], ev->json);
      if (ev->type == LARES_TURN_EVENT_END)
        {
          lares_request_stream_end (c->req);
          chat_call_free (c);
        }
      return;
    }
  if (ev->type == LARES_TURN_EVENT_ERROR && c->error_code == NULL)
    {
      c->error_code = g_strndup (ev->text, ev->len);
      c->error_message = g_strdup (ev->message);
    }
  if (ev->type != LARES_TURN_EVENT_END)
    return;
  r = lares_turn_get_result (turn);
  if (r->turn_id == 0)
    {
      /* The turn never started: no such conversation, or the store failed. */
      if (g_strcmp0 (c->error_code, "not_found") == 0)
        lares_request_respond_error (c->req, 404, "not_found", "no such conversation");
      else
        lares_request_respond_error (c->req, 503, "unavailable", "%s",
                                     c->error_message ? c->error_message : "try again");
    }
  else
    {
      g_autoptr (JsonNode) node = lares_turn_to_json (turn);
      lares_request_respond_json (c->req, 200, node);
    }
  chat_call_free (c);
}

static gboolean
wants_sse (LaresRequest *req)
{
  const char *accept =
      soup_message_headers_get_one (soup_server_message_get_request_headers (req->msg), "Accept");
  return accept != NULL && strstr (accept, "text/event-stream") != NULL;
}

/* {conversation_id?: int|null, text: string}; FALSE after answering 400. */
static gboolean
read_chat_body (LaresRequest *req, JsonObject *obj, int64_t *conversation_id, const char **text)
{
  g_autoptr (GList) members = json_object_get_members (obj);
  JsonNode *conv, *t;

  for (GList *l = members; l; l = l->next)
    if (g_strcmp0 (l->data, "text") != 0 && g_strcmp0 (l->data, "conversation_id") != 0)
      {
        lares_request_respond_error (req, 400, "invalid_argument", "unknown field '%s'",
                                     (const char *)l->data);
        return FALSE;
      }
  t = json_object_get_member (obj, "text");
  if (t == NULL || !JSON_NODE_HOLDS_VALUE (t) || json_node_get_value_type (t) != G_TYPE_STRING)
    {
      lares_request_respond_error (req, 400, "invalid_argument", "'text' must be a string");
      return FALSE;
    }
  *text = json_node_get_string (t);
  conv = json_object_get_member (obj, "conversation_id");
  *conversation_id = 0;
  if (conv != NULL && !JSON_NODE_HOLDS_NULL (conv))
    {
      if (!JSON_NODE_HOLDS_VALUE (conv) || json_node_get_value_type (conv) != G_TYPE_INT64 ||
          json_node_get_int (conv) <= 0)
        {
          lares_request_respond_error (req, 400, "invalid_argument",
                                       "'conversation_id' must be a positive integer or null");
          return FALSE;
        }
      *conversation_id = json_node_get_int (conv);
    }
  return TRUE;
}

static void
respond_chat_error (LaresRequest *req, const GError *error)
{
  if (g_error_matches (error, LARES_CHAT_ERROR, LARES_CHAT_ERROR_BUSY))
    lares_request_respond_error (req, 429, "busy", "%s", error->message);
  else
    lares_request_respond_error (req, 400, "invalid_argument", "%s", error->message);
}

static void
chat_post (LaresRequest *req)
{
  LaresTurnRequest tr = { .user_id = req->user_id, .channel = "rest" };
  ChatCall *c;
  LaresTurnSink sink;
  g_autoptr (GError) error = NULL;

  if (!read_chat_body (req, json_node_get_object (req->body), &tr.conversation_id, &tr.text))
    return;
  c = g_new0 (ChatCall, 1);
  c->req = req;
  c->sse = wants_sse (req);
  sink = (LaresTurnSink){ .on_event = chat_on_event, .user_data = c, .wants_json = c->sse };
  c->turn = lares_chat_turn (req->server->chat, &tr, &sink, &error);
  if (c->turn == NULL)
    {
      chat_call_free (c);
      respond_chat_error (req, error);
      return;
    }
  if (c->sse)
    lares_request_stream_begin (req, "text/event-stream", ": ok\n\n");
  lares_request_watch_gone (req, chat_gone, c);
}

/* POST /api/v1/chat/cancel {turn_id?} */
static void
chat_cancel (LaresRequest *req)
{
  JsonObject *obj = json_node_get_object (req->body);
  JsonNode *id = json_object_get_member (obj, "turn_id");
  int64_t turn_id = 0;
  g_autoptr (JsonNode) out = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o = json_object_new ();

  if (id != NULL && !JSON_NODE_HOLDS_NULL (id))
    {
      if (!JSON_NODE_HOLDS_VALUE (id) || json_node_get_value_type (id) != G_TYPE_INT64 ||
          json_node_get_int (id) <= 0)
        {
          json_object_unref (o);
          lares_request_respond_error (req, 400, "invalid_argument",
                                       "'turn_id' must be a positive integer");
          return;
        }
      turn_id = json_node_get_int (id);
    }
  json_object_set_int_member (o, "cancelled",
                              lares_chat_cancel (req->server->chat, req->user_id, turn_id));
  json_node_take_object (out, o);
  lares_request_respond_json (req, 200, out);
}

/* ---- WebSocket ------------------------------------------------------------------------------ */

const char *
lares_chat_ws_message (LaresServer *server, int64_t user_id, JsonObject *msg, char **message)
{
  LaresTurnRequest tr = { .user_id = user_id, .channel = "ws" };
  JsonNode *text = json_object_get_member (msg, "text");
  JsonNode *conv = json_object_get_member (msg, "conversation_id");
  g_autoptr (GError) error = NULL;

  if (text == NULL || !JSON_NODE_HOLDS_VALUE (text) ||
      json_node_get_value_type (text) != G_TYPE_STRING)
    {
      *message = g_strdup ("'text' must be a string");
      return "invalid_argument";
    }
  if (conv != NULL && !JSON_NODE_HOLDS_NULL (conv))
    {
      if (!JSON_NODE_HOLDS_VALUE (conv) || json_node_get_value_type (conv) != G_TYPE_INT64 ||
          json_node_get_int (conv) <= 0)
        {
          *message = g_strdup ("'conversation_id' must be a positive integer or null");
          return "invalid_argument";
        }
      tr.conversation_id = json_node_get_int (conv);
    }
  tr.text = json_node_get_string (text);
  /* Events reach every connection of the user through the bus. */
  if (lares_chat_turn (server->chat, &tr, NULL, &error) == NULL)
    {
      *message = g_strdup (error->message);
      return g_error_matches (error, LARES_CHAT_ERROR, LARES_CHAT_ERROR_BUSY) ? "busy"
                                                                              : "invalid_argument";
    }
  return NULL;
}

void
lares_chat_ws_cancel (LaresServer *server, int64_t user_id, JsonObject *msg)
{
  int64_t turn_id = 0;
  JsonNode *id = json_object_get_member (msg, "turn_id");

  if (id != NULL && JSON_NODE_HOLDS_VALUE (id) && json_node_get_value_type (id) == G_TYPE_INT64)
    turn_id = json_node_get_int (id);
  lares_chat_cancel (server->chat, user_id, turn_id);
}

/* ---- conversations and history -------------------------------------------------------------- */

typedef struct
{
  LaresRequest *req;
  int64_t user_id;
  int64_t id;
  int64_t limit, cursor;
  int64_t count;
  char *title;
  GPtrArray *rows;
  JsonNode *json;
  LaresHistorySummary summary;
  LaresCostTotals totals;
  int64_t since_ms;
} ConvOp;

static ConvOp *
conv_op_new (LaresRequest *req)
{
  ConvOp *op = g_new0 (ConvOp, 1);

  op->req = req;
  op->user_id = req->user_id;
  op->id = req->path_id;
  op->limit = LIST_DEFAULT;
  return op;
}

static void
conv_op_free (ConvOp *op)
{
  g_free (op->title);
  if (op->rows)
    g_ptr_array_unref (op->rows);
  g_clear_pointer (&op->json, json_node_unref);
  g_free (op);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvOp, conv_op_free)

static void
respond_rows (ConvOp *op, const char *member, JsonNode *(*to_json) (gconstpointer), int64_t next)
{
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o = json_object_new ();
  JsonArray *a = json_array_new ();

  for (unsigned i = 0; i < op->rows->len; i++)
    json_array_add_element (a, to_json (op->rows->pdata[i]));
  json_object_set_array_member (o, member, a);
  if (next > 0)
    json_object_set_int_member (o, "next", next);
  else
    json_object_set_null_member (o, "next");
  json_node_take_object (root, o);
  lares_request_respond_json (op->req, 200, root);
}

static gboolean
list_convs_run (sqlite3 *db, gpointer data, GError **error)
{
  ConvOp *op = data;
  op->rows = lares_conversations_list (db, op->user_id, op->cursor, (unsigned)op->limit, error);
  return op->rows != NULL;
}

static JsonNode *
conv_to_json (gconstpointer p)
{
  return lares_conversation_to_json (p);
}

static void
list_convs_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (ConvOp) op = data;
  g_autoptr (GError) error = NULL;
  int64_t next = 0;

  if (!lares_store_read_finish (op->req->server->store, res, &error))
    {
      lares_request_respond_gerror (op->req, error);
      return;
    }
  if (op->rows->len == (unsigned)op->limit && op->rows->len > 0)
    next = ((LaresConversation *)op->rows->pdata[op->rows->len - 1])->updated_at;
  respond_rows (op, "conversations", conv_to_json, next);
}

/* GET /api/v1/conversations?limit=&before= (before: an updated_at cursor) */
static void
conversations_list (LaresRequest *req)
{
  g_autoptr (ConvOp) op = conv_op_new (req);

  if (!lares_request_query_int (req, "limit", 1, LIST_MAX, &op->limit) ||
      !lares_request_query_int (req, "before", 1, INT64_MAX, &op->cursor))
    return;
  {
    ConvOp *owned = g_steal_pointer (&op);
    lares_store_read_async (req->server->store, list_convs_run, owned, NULL, list_convs_done,
                            owned);
  }
}

static gboolean
messages_run (sqlite3 *db, gpointer data, GError **error)
{
  ConvOp *op = data;
  g_autoptr (LaresConversation) conv = lares_conversations_get (db, op->user_id, op->id, error);

  if (conv == NULL)
    return FALSE;
  op->rows = lares_messages_list (db, op->user_id, op->id, op->cursor, (unsigned)op->limit, error);
  return op->rows != NULL;
}

static JsonNode *
message_to_json (gconstpointer p)
{
  return lares_message_to_json (p);
}

static void
messages_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (ConvOp) op = data;
  g_autoptr (GError) error = NULL;
  int64_t next = 0;

  if (!lares_store_read_finish (op->req->server->store, res, &error))
    {
      lares_request_respond_gerror (op->req, error);
      return;
    }
  if (op->rows->len == (unsigned)op->limit && op->rows->len > 0)
    next = ((LaresMessage *)op->rows->pdata[op->rows->len - 1])->id;
  respond_rows (op, "messages", message_to_json, next);
}

/* GET /api/v1/conversations/{id}/messages?after=&limit= (oldest first) */
static void
conversations_messages (LaresRequest *req)
{
  g_autoptr (ConvOp) op = conv_op_new (req);

  op->limit = LIST_MAX;
  if (!lares_request_query_int (req, "limit", 1, 5000, &op->limit) ||
      !lares_request_query_int (req, "after", 1, INT64_MAX, &op->cursor))
    return;
  {
    ConvOp *owned = g_steal_pointer (&op);
    lares_store_read_async (req->server->store, messages_run, owned, NULL, messages_done, owned);
  }
}

static gboolean
rename_run (sqlite3 *db, gpointer data, GError **error)
{
  ConvOp *op = data;
  g_autoptr (LaresConversation) conv = NULL;

  if (!lares_conversations_rename (db, op->user_id, op->id, op->title, g_get_real_time () / 1000,
                                   error))
    return FALSE;
  conv = lares_conversations_get (db, op->user_id, op->id, error);
  if (conv == NULL)
    return FALSE;
  op->json = lares_conversation_to_json (conv);
  return TRUE;
}

static void
write_json_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (ConvOp) op = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (op->req->server->store, res, &error))
    {
      lares_request_respond_gerror (op->req, error);
      return;
    }
  if (op->json)
    lares_request_respond_json (op->req, 200, op->json);
  else
    lares_request_respond_empty (op->req, 204);
}

/* POST /api/v1/conversations/{id} {title} */
static void
conversations_rename (LaresRequest *req)
{
  JsonObject *obj = json_node_get_object (req->body);
  static const char *const allowed[] = { "title", NULL };
  const char *title = NULL;
  g_autofree char *why = NULL;
  g_autoptr (ConvOp) op = NULL;

  if (!lares_json_get_strings (obj, allowed, allowed, &title, &why))
    {
      lares_request_respond_error (req, 400, "invalid_argument", "%s", why);
      return;
    }
  if (g_utf8_strlen (title, -1) > LARES_CONVERSATION_TITLE_MAX)
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "'title' is longer than %d characters",
                                   LARES_CONVERSATION_TITLE_MAX);
      return;
    }
  op = conv_op_new (req);
  op->title = g_strstrip (g_strdup (title));
  {
    ConvOp *owned = g_steal_pointer (&op);
    lares_store_write_async (req->server->store, rename_run, owned, NULL, write_json_done, owned);
  }
}

static gboolean
delete_run (sqlite3 *db, gpointer data, GError **error)
{
  ConvOp *op = data;
  return lares_conversations_delete (db, op->user_id, op->id, error);
}

/* DELETE /api/v1/conversations/{id} */
static void
conversations_delete (LaresRequest *req)
{
  ConvOp *op = conv_op_new (req);

  lares_store_write_async (req->server->store, delete_run, op, NULL, write_json_done, op);
}

static gboolean
summary_run (sqlite3 *db, gpointer data, GError **error)
{
  ConvOp *op = data;
  return lares_history_summary (db, op->user_id, &op->summary, error);
}

static void
summary_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (ConvOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  const LaresConfig *cfg = op->req->server->cfg;
  JsonObject *o = json_object_new ();
  JsonObject *window = json_object_new ();

  if (!lares_store_read_finish (op->req->server->store, res, &error))
    {
      json_object_unref (o);
      json_object_unref (window);
      lares_request_respond_gerror (op->req, error);
      return;
    }
  json_object_set_int_member (o, "conversations", op->summary.conversations);
  json_object_set_int_member (o, "turns", op->summary.turns);
  json_object_set_int_member (o, "messages", op->summary.messages);
  json_object_set_int_member (o, "characters", op->summary.chars);
  json_object_set_int_member (o, "estimated_tokens", (op->summary.chars + 3) / 4);
  if (op->summary.first_at)
    json_object_set_int_member (o, "first_at", op->summary.first_at);
  else
    json_object_set_null_member (o, "first_at");
  if (op->summary.last_at)
    json_object_set_int_member (o, "last_at", op->summary.last_at);
  else
    json_object_set_null_member (o, "last_at");
  /* The short-term memory: what each LLM call may carry of a conversation. */
  json_object_set_int_member (window, "turns", cfg->chat_history_turns);
  json_object_set_int_member (window, "tokens", cfg->chat_history_tokens);
  json_object_set_object_member (o, "context_window", window);
  json_node_take_object (root, o);
  lares_request_respond_json (op->req, 200, root);
}

/* GET /api/v1/history/summary */
static void
history_summary (LaresRequest *req)
{
  ConvOp *op = conv_op_new (req);

  lares_store_read_async (req->server->store, summary_run, op, NULL, summary_done, op);
}

static gboolean
clear_run (sqlite3 *db, gpointer data, GError **error)
{
  ConvOp *op = data;
  return lares_history_clear (db, op->user_id, &op->count, error);
}

static void
clear_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (ConvOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o;

  if (!lares_store_write_finish (op->req->server->store, res, &error))
    {
      lares_request_respond_gerror (op->req, error);
      return;
    }
  o = json_object_new ();
  json_object_set_int_member (o, "deleted_conversations", op->count);
  json_node_take_object (root, o);
  lares_server_audit (op->req->server, op->user_id, "history.clear", op->req->ip, NULL);
  lares_request_respond_json (op->req, 200, root);
}

/* POST /api/v1/history/clear — every conversation of the user (spend stays). */
static void
history_clear (LaresRequest *req)
{
  ConvOp *op = conv_op_new (req);

  lares_store_write_async (req->server->store, clear_run, op, NULL, clear_done, op);
}

/* ---- GET /api/v1/costs?period=day|month ----------------------------------------------------- */

static gboolean
costs_run (sqlite3 *db, gpointer data, GError **error)
{
  ConvOp *op = data;

  if (!lares_costs_total (db, op->user_id, op->since_ms, &op->totals, error))
    return FALSE;
  op->json = lares_costs_by_day (db, op->user_id, op->since_ms, error);
  return op->json != NULL;
}

static void
costs_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (ConvOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  const LaresConfig *cfg = op->req->server->cfg;
  const char *budget_text = op->title[0] == 'd' ? cfg->budget_daily : cfg->budget_monthly;
  double budget = g_ascii_strtod (budget_text, NULL);
  double spent = op->totals.cost_micros / 1e6;
  JsonObject *o;

  if (!lares_store_read_finish (op->req->server->store, res, &error))
    {
      lares_request_respond_gerror (op->req, error);
      return;
    }
  o = json_object_new ();
  json_object_set_string_member (o, "period", op->title);
  json_object_set_int_member (o, "since", op->since_ms);
  json_object_set_int_member (o, "llm_calls", op->totals.calls);
  json_object_set_int_member (o, "prompt_tokens", op->totals.prompt_tokens);
  json_object_set_int_member (o, "completion_tokens", op->totals.completion_tokens);
  json_object_set_double_member (o, "cost_usd", spent);
  if (budget > 0)
    {
      json_object_set_double_member (o, "budget_usd", budget);
      json_object_set_double_member (o, "remaining_usd", MAX (0.0, budget - spent));
    }
  else
    {
      json_object_set_null_member (o, "budget_usd");
      json_object_set_null_member (o, "remaining_usd");
    }
  json_object_set_member (o, "days", g_steal_pointer (&op->json));
  json_node_take_object (root, o);
  lares_request_respond_json (op->req, 200, root);
}

static void
costs_get (LaresRequest *req)
{
  const char *period = lares_request_query (req, "period");
  g_autoptr (GTimeZone) tz = g_time_zone_new_local ();
  g_autoptr (GDateTime) now = g_date_time_new_now (tz);
  g_autoptr (GDateTime) since = NULL;
  ConvOp *op;

  if (period == NULL)
    period = "day";
  if (strcmp (period, "day") != 0 && strcmp (period, "month") != 0)
    {
      lares_request_respond_error (req, 400, "invalid_argument", "'period' is day or month");
      return;
    }
  since = g_date_time_new (tz, g_date_time_get_year (now), g_date_time_get_month (now),
                           period[0] == 'd' ? g_date_time_get_day_of_month (now) : 1, 0, 0, 0);
  op = conv_op_new (req);
  op->title = g_strdup (period);
  op->since_ms = g_date_time_to_unix (since) * 1000;
  lares_store_read_async (req->server->store, costs_run, op, NULL, costs_done, op);
}

const LaresRoute lares_chat_routes[] = {
  { "POST", "/api/v1/chat", chat_post, LARES_ROUTE_JSON_BODY, "chat" },
  { "POST", "/api/v1/chat/cancel", chat_cancel, LARES_ROUTE_JSON_BODY, "chat.cancel" },
  { "GET", "/api/v1/conversations", conversations_list, 0, "conversations.list" },
  { "GET", "/api/v1/conversations/{id}/messages", conversations_messages, 0,
    "conversations.messages" },
  { "POST", "/api/v1/conversations/{id}", conversations_rename, LARES_ROUTE_JSON_BODY,
    "conversations.rename" },
  { "DELETE", "/api/v1/conversations/{id}", conversations_delete, 0, "conversations.delete" },
  { "GET", "/api/v1/history/summary", history_summary, 0, "history.summary" },
  { "POST", "/api/v1/history/clear", history_clear, 0, "history.clear" },
  { "GET", "/api/v1/costs", costs_get, 0, "costs" },
  { NULL },
};
