/* cmd-chat.c — `lares ask "…"` (one turn, pipe-friendly) and `lares chat`
 * (interactive, with line editing from libedit).
 *
 * Both are clients of the running daemon: POST /api/v1/chat with
 * "Accept: text/event-stream", printing tokens as they arrive.  The reply
 * goes to stdout and everything else (tool calls, errors) to stderr, so
 * `lares ask "…" > file` keeps only the answer.  Ctrl-C during a reply
 * stops that turn (the daemon cancels it when the connection closes); in
 * `lares chat` it returns to the prompt.
 */
#include "config.h"

#include "lares-cli.h"
#include "lares-util.h"

#include <editline/readline.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  SoupSession *session;
  char *base; /* http://host:port */
  char *token;
  gboolean json;    /* print the finished turn as JSON instead of streaming */
  gboolean verbose; /* tool calls and emotions on stderr */
  int64_t conversation_id;

  /* One turn. */
  GMainLoop *loop;
  GCancellable *cancel;
  GInputStream *in;
  char chunk[8192];
  GString *line;
  GString *data;
  char event[32];
  JsonNode *end; /* the turn_end event */
  gboolean printed;
  gboolean interrupted;
  int rc;
} Client;

static void
client_clear (Client *c)
{
  g_clear_object (&c->session);
  g_free (c->base);
  if (c->token)
    memset (c->token, 0, strlen (c->token));
  g_free (c->token);
}

/* ---- one turn over SSE ---------------------------------------------------------------------- */

static void turn_read (Client *c);

static void
turn_done (Client *c, int rc)
{
  c->rc = rc;
  g_main_loop_quit (c->loop);
}

static void
handle_event (Client *c, const char *type, const char *data)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  JsonObject *o;

  if (!json_parser_load_from_data (parser, data, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  o = json_node_get_object (json_parser_get_root (parser));
  if (strcmp (type, "turn_start") == 0)
    c->conversation_id = json_object_get_int_member_with_default (o, "conversation_id", 0);
  else if (strcmp (type, "token") == 0 && !c->json)
    {
      fputs (json_object_get_string_member_with_default (o, "text", ""), stdout);
      fflush (stdout);
      c->printed = TRUE;
    }
  else if (strcmp (type, "tool_call") == 0 && c->verbose)
    fprintf (stderr, "[%s: %s]\n", json_object_get_string_member_with_default (o, "tool", "?"),
             json_object_get_string_member_with_default (o, "status", "?"));
  else if (strcmp (type, "approval_required") == 0)
    fprintf (stderr,
             "[approval %" G_GINT64_FORMAT
             " waits: say yes or no, or run `lares approve %" G_GINT64_FORMAT "`]\n",
             json_object_get_int_member_with_default (o, "id", 0),
             json_object_get_int_member_with_default (o, "id", 0));
  else if (strcmp (type, "emotion") == 0 && c->verbose)
    fprintf (stderr, "[%s]\n", json_object_get_string_member_with_default (o, "name", "?"));
  else if (strcmp (type, "error") == 0)
    {
      if (c->printed)
        fputc ('\n', stdout), c->printed = FALSE;
      fprintf (stderr, "lares: %s\n",
               json_object_get_string_member_with_default (o, "message", "error"));
    }
  else if (strcmp (type, "turn_end") == 0)
    {
      g_clear_pointer (&c->end, json_node_unref);
      c->end = json_node_copy (json_parser_get_root (parser));
    }
}

/* SSE: "event:" and "data:" lines, an event per blank line, ":" comments. */
static void
feed_line (Client *c, const char *line)
{
  if (*line == '\0')
    {
      if (c->data->len > 0)
        handle_event (c, *c->event ? c->event : "message", c->data->str);
      g_string_truncate (c->data, 0);
      c->event[0] = '\0';
    }
  else if (g_str_has_prefix (line, "event:"))
    g_strlcpy (c->event, line + 6 + (line[6] == ' '), sizeof c->event);
  else if (g_str_has_prefix (line, "data:"))
    {
      if (c->data->len)
        g_string_append_c (c->data, '\n');
      g_string_append (c->data, line + 5 + (line[5] == ' '));
    }
}

static void
on_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Client *c = user_data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);
  const char *status;

  if (n > 0)
    {
      for (gssize i = 0; i < n; i++)
        {
          char ch = c->chunk[i];
          if (ch == '\n')
            {
              if (c->line->len && c->line->str[c->line->len - 1] == '\r')
                g_string_truncate (c->line, c->line->len - 1);
              feed_line (c, c->line->str);
              g_string_truncate (c->line, 0);
            }
          else
            g_string_append_c (c->line, ch);
        }
      turn_read (c);
      return;
    }
  if (c->printed)
    fputc ('\n', stdout);
  if (n < 0 && c->interrupted)
    {
      fprintf (stderr, "(stopped)\n");
      turn_done (c, LARES_EXIT_FAILURE);
      return;
    }
  if (n < 0 || c->end == NULL)
    {
      fprintf (stderr, "lares: the daemon closed the stream early%s%s\n", error ? ": " : "",
               error ? error->message : "");
      turn_done (c, LARES_EXIT_FAILURE);
      return;
    }
  if (c->json)
    {
      g_autofree char *text = json_to_string (c->end, TRUE);
      printf ("%s\n", text);
    }
  status =
      json_object_get_string_member_with_default (json_node_get_object (c->end), "status", "error");
  turn_done (c, strcmp (status, "done") == 0 ? LARES_EXIT_OK : LARES_EXIT_FAILURE);
}

static void
turn_read (Client *c)
{
  g_input_stream_read_async (c->in, c->chunk, sizeof c->chunk, G_PRIORITY_DEFAULT, c->cancel,
                             on_read, c);
}

static void
report_http_error (SoupMessage *msg, GInputStream *in)
{
  g_autoptr (GBytes) body = g_input_stream_read_bytes (in, 64 * 1024, NULL, NULL);
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  unsigned status = soup_message_get_status (msg);
  const char *message = soup_message_get_reason_phrase (msg);

  if (body && json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                                          (gssize)g_bytes_get_size (body), NULL))
    {
      JsonNode *root = json_parser_get_root (parser);
      JsonObject *e = JSON_NODE_HOLDS_OBJECT (root)
                          ? json_object_get_object_member (json_node_get_object (root), "error")
                          : NULL;
      if (e)
        message = json_object_get_string_member_with_default (e, "message", message);
    }
  fprintf (stderr, "lares: the daemon answered %u: %s\n", status, message);
  if (status == 401)
    fprintf (stderr, "lares: create a token with `lares token create` and put it in "
                     "LARES_TOKEN or ~/.config/lares/token\n");
}

static void
on_sent (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Client *c = user_data;
  g_autoptr (GError) error = NULL;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), res);

  c->in = soup_session_send_finish (SOUP_SESSION (source), res, &error);
  if (c->in == NULL)
    {
      if (c->interrupted)
        fprintf (stderr, "(stopped)\n");
      else
        fprintf (stderr, "lares: cannot reach the daemon at %s: %s\n", c->base, error->message);
      turn_done (c, LARES_EXIT_FAILURE);
      return;
    }
  if (soup_message_get_status (msg) != 200)
    {
      report_http_error (msg, c->in);
      turn_done (c, LARES_EXIT_FAILURE);
      return;
    }
  turn_read (c);
}

static gboolean
on_interrupt (gpointer user_data)
{
  Client *c = user_data;

  c->interrupted = TRUE;
  g_cancellable_cancel (c->cancel);
  return G_SOURCE_CONTINUE;
}

static int
run_turn (Client *c, const char *text)
{
  g_autofree char *url = g_strconcat (c->base, "/api/v1/chat", NULL);
  g_autofree char *auth = g_strconcat ("Bearer ", c->token, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr (GString) body = g_string_new ("{\"text\":");
  g_autoptr (GBytes) bytes = NULL;
  unsigned sigint;

  if (msg == NULL)
    {
      fprintf (stderr, "lares: bad daemon URL '%s'\n", c->base);
      return LARES_EXIT_USAGE;
    }
  lares_json_append_string (body, text, -1);
  if (c->conversation_id > 0)
    g_string_append_printf (body, ",\"conversation_id\":%" G_GINT64_FORMAT, c->conversation_id);
  g_string_append_c (body, '}');
  bytes = g_bytes_new (body->str, body->len);
  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept",
                                "text/event-stream");

  c->loop = g_main_loop_new (NULL, FALSE);
  c->cancel = g_cancellable_new ();
  c->line = g_string_new (NULL);
  c->data = g_string_new (NULL);
  c->event[0] = '\0';
  c->printed = FALSE;
  c->interrupted = FALSE;
  c->rc = LARES_EXIT_FAILURE;
  sigint = g_unix_signal_add (SIGINT, on_interrupt, c);
  soup_session_send_async (c->session, msg, G_PRIORITY_DEFAULT, c->cancel, on_sent, c);
  g_main_loop_run (c->loop);
  g_source_remove (sigint);

  g_clear_object (&c->in);
  g_clear_object (&c->cancel);
  g_clear_pointer (&c->loop, g_main_loop_unref);
  g_string_free (c->line, TRUE);
  g_string_free (c->data, TRUE);
  g_clear_pointer (&c->end, json_node_unref);
  return c->rc;
}

/* ---- set-up --------------------------------------------------------------------------------- */

static gboolean
client_init (Client *c, LaresCliConfigOptions *copts)
{
  if (!lares_cli_daemon_target (copts, &c->base, &c->token))
    return FALSE;
  /* Replies stream for as long as the model talks: no session timeout. */
  c->session = soup_session_new_with_options ("timeout", 0, "proxy-resolver", NULL, NULL);
  return TRUE;
}

int
lares_cmd_ask (int argc, char **argv)
{
  LaresCliConfigOptions copts = { 0 };
  Client c = { 0 };
  gint64 conversation = 0;
  GOptionEntry entries[] = {
    { "conversation", 'C', 0, G_OPTION_ARG_INT64, &conversation,
      "continue this conversation (default: a new one)", "ID" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &c.json, "print the finished turn as JSON", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &c.verbose, "show tool calls and emotions on stderr",
      NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx =
      g_option_context_new ("TEXT - ask the running daemon once and print the answer");
  g_autofree char *text = NULL;
  int rc;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx, "TEXT may be '-' to read it from standard input.\n"
                                         "The daemon's address comes from the configuration "
                                         "or LARES_URL.");
  lares_cli_add_config_options (ctx, &copts);
  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    goto out;
  rc = LARES_EXIT_USAGE;
  if (argc < 2)
    {
      fprintf (stderr, "lares ask: give the question (quote it), or - to read stdin\n");
      goto out;
    }
  if (strcmp (argv[1], "-") == 0)
    {
      g_autoptr (GIOChannel) ch = g_io_channel_unix_new (STDIN_FILENO);
      gsize len = 0;
      if (g_io_channel_read_to_end (ch, &text, &len, NULL) != G_IO_STATUS_NORMAL)
        {
          fprintf (stderr, "lares ask: cannot read standard input\n");
          goto out;
        }
    }
  else
    text = g_strjoinv (" ", argv + 1);
  rc = LARES_EXIT_FAILURE;
  if (!client_init (&c, &copts))
    goto out;
  c.conversation_id = conversation;
  rc = run_turn (&c, text);
out:
  client_clear (&c);
  lares_cli_config_options_clear (&copts);
  return rc;
}

static void
chat_help (void)
{
  printf ("Type a message and press Enter.  Ctrl-C stops a reply; Ctrl-D leaves.\n"
          "  /new        start a new conversation\n"
          "  /mode NAME  switch the assistant's mode (/mode alone lists them)\n"
          "  /quit       leave\n");
}

int
lares_cmd_chat (int argc, char **argv)
{
  LaresCliConfigOptions copts = { 0 };
  Client c = { 0 };
  gint64 conversation = 0;
  GOptionEntry entries[] = {
    { "conversation", 'C', 0, G_OPTION_ARG_INT64, &conversation,
      "continue this conversation (default: a new one)", "ID" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &c.verbose, "show tool calls and emotions", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- talk with the running daemon");
  gboolean tty = isatty (STDIN_FILENO);
  int rc;

  g_option_context_add_main_entries (ctx, entries, NULL);
  lares_cli_add_config_options (ctx, &copts);
  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    goto out;
  rc = LARES_EXIT_FAILURE;
  if (!client_init (&c, &copts))
    goto out;
  c.conversation_id = conversation;
  if (tty)
    printf ("lares chat — /help for commands, Ctrl-D to leave\n");
  rc = LARES_EXIT_OK;
  for (;;)
    {
      g_autofree char *line = readline (tty ? "you> " : "");
      char *text;

      if (line == NULL)
        break;
      text = g_strstrip (line);
      if (*text == '\0')
        continue;
      add_history (text);
      if (strcmp (text, "/quit") == 0 || strcmp (text, "/exit") == 0)
        break;
      if (strcmp (text, "/help") == 0)
        {
          chat_help ();
          continue;
        }
      if (strcmp (text, "/new") == 0)
        {
          c.conversation_id = 0;
          printf ("(a new conversation)\n");
          continue;
        }
      if (run_turn (&c, text) != LARES_EXIT_OK)
        rc = LARES_EXIT_FAILURE;
    }
  if (tty)
    printf ("\n");
out:
  client_clear (&c);
  lares_cli_config_options_clear (&copts);
  return rc;
}
