/* routes/openai.c — the OpenAI-compatible façade: POST /v1/chat/completions
 * and GET /v1/models, so any OpenAI client can talk to lares as if it were
 * a model and be answered with lares's tools and memory (SPEC §3).
 *
 * The last user message of the request is the turn; earlier messages are
 * the client's copy of the conversation, which lares keeps itself.  The
 * conversation is picked by the X-Lares-Conversation header (an id), else
 * by the "user" field (one conversation per distinct value), else a new one
 * per request.  Streaming answers use PROTOCOLS.md §3.1's chunk format.
 */
#include "config.h"

#include "lares-http-private.h"
#include "lares-util.h"

#include <string.h>

#define MODEL_ID "lares"

typedef struct
{
  LaresRequest *req; /* NULL once answered or gone */
  LaresTurn *turn;
  gboolean stream;
  gboolean usage; /* stream_options.include_usage */
  char *model;
  char *id;
  int64_t created;
  GString *head; /* chunk prefix up to "choices" */
  /* The chunk being written, reused: "data: " head up to the delta stays,
   * the rest is rewritten for each chunk. */
  GString *chunk;
  size_t chunk_prefix; /* bytes of @chunk that stay */
  char *error_code, *error_message;
} Completion;

static void
completion_free (Completion *c)
{
  g_free (c->model);
  g_free (c->id);
  g_string_free (c->head, TRUE);
  if (c->chunk != NULL)
    g_string_free (c->chunk, TRUE);
  g_free (c->error_code);
  g_free (c->error_message);
  g_free (c);
}

static void
completion_gone (gpointer data)
{
  Completion *c = data;

  c->req = NULL;
  /* Detached, the turn calls nothing back: this is the last use of @c. */
  if (c->turn)
    lares_turn_detach (c->turn);
  completion_free (c);
}

/* The chunk buffer, holding "data: {head,"choices":[{"index":0,"delta":"
 * (made once, kept across chunks); the caller appends the delta. */
static GString *
chunk_begin (Completion *c)
{
  if (c->chunk == NULL)
    {
      c->chunk = g_string_sized_new (c->head->len + 128);
      g_string_append (c->chunk, "data: ");
      g_string_append_len (c->chunk, c->head->str, c->head->len);
      g_string_append (c->chunk, ",\"choices\":[{\"index\":0,\"delta\":");
      c->chunk_prefix = c->chunk->len;
    }
  g_string_truncate (c->chunk, c->chunk_prefix);
  return c->chunk;
}

/* The rest of the chunk after its delta, then send it. */
static void
chunk_end (Completion *c, const char *finish)
{
  GString *s = c->chunk;

  g_string_append (s, ",\"logprobs\":null,\"finish_reason\":");
  if (finish)
    lares_json_append_string (s, finish, -1);
  else
    g_string_append (s, "null");
  g_string_append (s, "}]}\n\n");
  lares_request_stream_write (c->req, s->str, s->len);
}

/* "data: {head"choices":[{"index":0,"delta":DELTA,"logprobs":null,"finish_reason":FR}]}\n\n" */
static void
write_chunk (Completion *c, const char *delta, const char *finish)
{
  g_string_append (chunk_begin (c), delta);
  chunk_end (c, finish);
}

/* write_chunk (c, {"content":TEXT}, NULL), the text escaped straight into
 * the reused buffer. */
static void
write_token (Completion *c, const char *text, size_t len)
{
  GString *s = chunk_begin (c);

  g_string_append (s, "{\"content\":");
  lares_json_append_string (s, text, (gssize)len);
  g_string_append_c (s, '}');
  chunk_end (c, NULL);
}

static void
write_usage (Completion *c, const LaresTurnResult *r)
{
  g_autoptr (GString) s = g_string_new ("data: ");

  g_string_append_len (s, c->head->str, c->head->len);
  g_string_append_printf (
      s,
      ",\"choices\":[],\"usage\":{\"prompt_tokens\":%" G_GINT64_FORMAT
      ",\"completion_tokens\":%" G_GINT64_FORMAT ",\"total_tokens\":%" G_GINT64_FORMAT "}}\n\n",
      r->prompt_tokens, r->completion_tokens, r->prompt_tokens + r->completion_tokens);
  lares_request_stream_write (c->req, s->str, s->len);
}

static void
respond_whole (Completion *c, const LaresTurnResult *r)
{
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o = json_object_new ();
  JsonObject *choice = json_object_new ();
  JsonObject *message = json_object_new ();
  JsonObject *usage = json_object_new ();
  JsonObject *lares = json_object_new ();
  JsonArray *choices = json_array_new ();

  json_object_set_string_member (o, "id", c->id);
  json_object_set_string_member (o, "object", "chat.completion");
  json_object_set_int_member (o, "created", c->created);
  json_object_set_string_member (o, "model", c->model);
  json_object_set_string_member (message, "role", "assistant");
  json_object_set_string_member (message, "content", r->reply);
  json_object_set_int_member (choice, "index", 0);
  json_object_set_object_member (choice, "message", message);
  json_object_set_string_member (choice, "finish_reason", "stop");
  json_array_add_object_element (choices, choice);
  json_object_set_array_member (o, "choices", choices);
  json_object_set_int_member (usage, "prompt_tokens", r->prompt_tokens);
  json_object_set_int_member (usage, "completion_tokens", r->completion_tokens);
  json_object_set_int_member (usage, "total_tokens", r->prompt_tokens + r->completion_tokens);
  json_object_set_object_member (o, "usage", usage);
  /* What the turn was, for clients that care (others ignore extra members). */
  json_object_set_int_member (lares, "conversation_id", r->conversation_id);
  json_object_set_int_member (lares, "turn_id", r->turn_id);
  json_object_set_string_member (lares, "status", r->status);
  json_object_set_string_member (lares, "path", r->path);
  json_object_set_object_member (o, "lares", lares);
  json_node_take_object (root, o);
  lares_request_respond_json (c->req, 200, root);
}

static void
on_event (LaresTurn *turn, const LaresTurnEvent *ev, gpointer data)
{
  Completion *c = data;
  const LaresTurnResult *r;

  if (c->req == NULL)
    {
      if (ev->type == LARES_TURN_EVENT_END)
        completion_free (c);
      return;
    }
  if (ev->type == LARES_TURN_EVENT_ERROR && c->error_code == NULL)
    {
      c->error_code = g_strndup (ev->text, ev->len);
      c->error_message = g_strdup (ev->message);
    }
  if (c->stream && ev->type == LARES_TURN_EVENT_TOKEN)
    {
      write_token (c, ev->text, ev->len);
      return;
    }
  if (ev->type != LARES_TURN_EVENT_END)
    return;
  r = lares_turn_get_result (turn);
  if (c->stream)
    {
      write_chunk (c, "{}", "stop");
      if (c->usage)
        write_usage (c, r);
      lares_request_stream_write (c->req, "data: [DONE]\n\n", 14);
      lares_request_stream_end (c->req);
    }
  else if (r->turn_id == 0)
    {
      if (g_strcmp0 (c->error_code, "not_found") == 0)
        lares_request_respond_error (c->req, 404, "not_found", "no such conversation");
      else
        lares_request_respond_error (c->req, 503, "unavailable", "%s",
                                     c->error_message ? c->error_message : "try again");
    }
  else
    respond_whole (c, r);
  completion_free (c);
}

/* The text of the last user message: a string, or text parts. */
static char *
last_user_text (JsonArray *messages, char **why)
{
  for (unsigned i = json_array_get_length (messages); i-- > 0;)
    {
      JsonNode *n = json_array_get_element (messages, i);
      JsonObject *m = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
      JsonNode *content;
      GString *text;

      if (m == NULL)
        break;
      if (g_strcmp0 (json_object_get_string_member_with_default (m, "role", ""), "user") != 0)
        continue;
      content = json_object_get_member (m, "content");
      if (content && JSON_NODE_HOLDS_VALUE (content) &&
          json_node_get_value_type (content) == G_TYPE_STRING)
        return g_strdup (json_node_get_string (content));
      if (content == NULL || !JSON_NODE_HOLDS_ARRAY (content))
        break;
      text = g_string_new (NULL);
      for (unsigned j = 0; j < json_array_get_length (json_node_get_array (content)); j++)
        {
          JsonNode *part = json_array_get_element (json_node_get_array (content), j);
          JsonObject *p = JSON_NODE_HOLDS_OBJECT (part) ? json_node_get_object (part) : NULL;
          if (p &&
              g_strcmp0 (json_object_get_string_member_with_default (p, "type", ""), "text") == 0)
            {
              const char *t = json_object_get_string_member_with_default (p, "text", "");
              if (text->len)
                g_string_append_c (text, '\n');
              g_string_append (text, t);
            }
        }
      return g_string_free (text, FALSE);
    }
  *why = g_strdup ("'messages' must end with a user message whose content is text");
  return NULL;
}

static const char *
member_string (JsonObject *o, const char *name, gboolean *bad)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    {
      *bad = TRUE;
      return NULL;
    }
  return json_node_get_string (n);
}

static void
completions_post (LaresRequest *req)
{
  JsonObject *body = json_node_get_object (req->body);
  JsonNode *messages = json_object_get_member (body, "messages");
  JsonNode *stream = json_object_get_member (body, "stream");
  JsonNode *opts_node = json_object_get_member (body, "stream_options");
  JsonObject *opts =
      opts_node && JSON_NODE_HOLDS_OBJECT (opts_node) ? json_node_get_object (opts_node) : NULL;
  const char *conv_header = soup_message_headers_get_one (
      soup_server_message_get_request_headers (req->msg), "X-Lares-Conversation");
  LaresTurnRequest tr = { .user_id = req->user_id, .channel = "openai" };
  g_autofree char *text = NULL;
  g_autofree char *why = NULL;
  g_autofree char *key = NULL;
  g_autoptr (GError) error = NULL;
  gboolean bad = FALSE;
  const char *model, *user;
  LaresTurnSink sink;
  Completion *c;

  if (messages == NULL || !JSON_NODE_HOLDS_ARRAY (messages))
    {
      lares_request_respond_error (req, 400, "invalid_argument", "'messages' must be an array");
      return;
    }
  if (stream != NULL && !JSON_NODE_HOLDS_NULL (stream) &&
      (!JSON_NODE_HOLDS_VALUE (stream) || json_node_get_value_type (stream) != G_TYPE_BOOLEAN))
    {
      lares_request_respond_error (req, 400, "invalid_argument", "'stream' must be a boolean");
      return;
    }
  model = member_string (body, "model", &bad);
  user = member_string (body, "user", &bad);
  if (bad)
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "'model' and 'user' must be strings");
      return;
    }
  text = last_user_text (json_node_get_array (messages), &why);
  if (text == NULL)
    {
      lares_request_respond_error (req, 400, "invalid_argument", "%s", why);
      return;
    }
  if (conv_header != NULL)
    {
      if (!lares_parse_int64 (conv_header, &tr.conversation_id) || tr.conversation_id <= 0)
        {
          lares_request_respond_error (req, 400, "invalid_argument",
                                       "X-Lares-Conversation must be a conversation id");
          return;
        }
    }
  else if (user != NULL && *user != '\0')
    {
      if (strlen (user) > 200)
        {
          lares_request_respond_error (req, 400, "invalid_argument", "'user' is too long");
          return;
        }
      tr.conversation_key = key = g_strconcat ("openai:", user, NULL);
    }
  tr.text = text;

  c = g_new0 (Completion, 1);
  c->req = req;
  c->stream = stream != NULL && JSON_NODE_HOLDS_VALUE (stream) && json_node_get_boolean (stream);
  c->usage =
      opts != NULL && json_object_get_boolean_member_with_default (opts, "include_usage", FALSE);
  c->model = g_strdup (model && *model ? model : MODEL_ID);
  c->id = g_strdup_printf ("chatcmpl-lares-%s", req->id);
  c->created = g_get_real_time () / G_USEC_PER_SEC;
  c->head = g_string_new ("{\"id\":");
  lares_json_append_string (c->head, c->id, -1);
  g_string_append_printf (
      c->head, ",\"object\":\"chat.completion.chunk\",\"created\":%" G_GINT64_FORMAT ",\"model\":",
      c->created);
  lares_json_append_string (c->head, c->model, -1);
  sink = (LaresTurnSink){ .on_event = on_event, .user_data = c };
  c->turn = lares_chat_turn (req->server->chat, &tr, &sink, &error);
  if (c->turn == NULL)
    {
      completion_free (c);
      if (g_error_matches (error, LARES_CHAT_ERROR, LARES_CHAT_ERROR_BUSY))
        lares_request_respond_error (req, 429, "busy", "%s", error->message);
      else
        lares_request_respond_error (req, 400, "invalid_argument", "%s", error->message);
      return;
    }
  if (c->stream)
    {
      /* The role chunk goes first: it also sends the headers at once. */
      g_autoptr (GString) first = g_string_new ("data: ");
      g_string_append_len (first, c->head->str, c->head->len);
      g_string_append (first, ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                              "\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
      lares_request_stream_begin (req, "text/event-stream", first->str);
    }
  lares_request_watch_gone (req, completion_gone, c);
}

static void
models_get (LaresRequest *req)
{
  static const char body[] = "{\"object\":\"list\",\"data\":[{\"id\":\"" MODEL_ID
                             "\",\"object\":\"model\",\"created\":0,\"owned_by\":\"lares\"}]}";

  lares_request_respond_text (req, 200, "application/json; charset=utf-8",
                              g_strndup (body, sizeof body - 1), sizeof body - 1);
}

const LaresRoute lares_openai_routes[] = {
  { "POST", "/v1/chat/completions", completions_post, LARES_ROUTE_JSON_BODY, "openai.chat" },
  { "GET", "/v1/models", models_get, 0, "openai.models" },
  { NULL },
};
