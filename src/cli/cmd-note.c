/* cmd-note.c — `lares note add|search|list`: the user's notes through the
 * running daemon's REST API (POST /api/v1/notes, GET /api/v1/search, GET
 * /api/v1/notes), with the CLI's API token.
 *
 * Output is for people: one note or hit per paragraph, hits in bold on a
 * terminal; --json prints the daemon's answer as it came.  A request the
 * daemon refuses as invalid (400) exits 2 like any usage error, other
 * failures exit 1.
 *
 * DESIGN: one blocking request per command; there is nothing else to do
 * meanwhile.
 */
#include "config.h"

#include "lares-cli.h"
#include "lares-util.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RESPONSE_MAX (4 * 1024 * 1024)

typedef struct
{
  LaresCliConfigOptions copts;
  gboolean json;
  char *base;
  char *token;
} NoteCli;

static void
note_cli_clear (NoteCli *c)
{
  lares_cli_config_options_clear (&c->copts);
  g_free (c->base);
  if (c->token)
    memset (c->token, 0, strlen (c->token));
  g_free (c->token);
}

/* One request; @body JSON text or NULL.  Returns the parsed answer of a
 * 2xx, else prints the daemon's message and sets *@rc.  (transfer full) */
static JsonNode *
request (NoteCli *c, const char *method, const char *path, const char *body, int *rc)
{
  g_autofree char *url = g_strconcat (c->base, path, NULL);
  g_autofree char *auth = g_strconcat ("Bearer ", c->token, NULL);
  g_autoptr (SoupSession) session =
      soup_session_new_with_options ("timeout", 30, "proxy-resolver", NULL, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GBytes) answer = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonNode *root = NULL;
  unsigned status;

  *rc = LARES_EXIT_FAILURE;
  if (msg == NULL)
    {
      fprintf (stderr, "lares: bad daemon URL '%s'\n", c->base);
      *rc = LARES_EXIT_USAGE;
      return NULL;
    }
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
  if (body)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  answer = soup_session_send_and_read (session, msg, NULL, &error);
  if (answer == NULL)
    {
      fprintf (stderr, "lares: cannot reach the daemon at %s: %s\n", c->base, error->message);
      return NULL;
    }
  status = soup_message_get_status (msg);
  if (g_bytes_get_size (answer) <= RESPONSE_MAX &&
      json_parser_load_from_data (parser, g_bytes_get_data (answer, NULL),
                                  (gssize)g_bytes_get_size (answer), NULL))
    root = json_parser_get_root (parser);
  if (status >= 200 && status < 300 && root && JSON_NODE_HOLDS_OBJECT (root))
    {
      *rc = LARES_EXIT_OK;
      return json_node_copy (root);
    }
  {
    const char *message = soup_message_get_reason_phrase (msg);
    JsonObject *e = root && JSON_NODE_HOLDS_OBJECT (root)
                        ? json_object_get_object_member (json_node_get_object (root), "error")
                        : NULL;
    if (e)
      message = json_object_get_string_member_with_default (e, "message", message);
    fprintf (stderr, "lares: the daemon answered %u: %s\n", status, message);
    if (status == 401)
      fprintf (stderr, "lares: create a token with `lares token create` and put it in "
                       "LARES_TOKEN or ~/.config/lares/token\n");
    if (status == 400)
      *rc = LARES_EXIT_USAGE;
  }
  return NULL;
}

static void
print_json (JsonNode *node)
{
  g_autofree char *text = json_to_string (node, TRUE);
  printf ("%s\n", text);
}

static void
print_note (JsonObject *note)
{
  JsonArray *tags = json_object_get_array_member (note, "tags");
  const char *title = json_object_get_string_member_with_default (note, "title", "");

  printf ("#%" G_GINT64_FORMAT "%s%s", json_object_get_int_member (note, "id"), *title ? " " : "",
          title);
  for (unsigned i = 0; tags && i < json_array_get_length (tags); i++)
    printf (" #%s", json_array_get_string_element (tags, i));
  printf ("\n%s\n", json_object_get_string_member_with_default (note, "body", ""));
}

/* Segments [{"text", "match"?}] with the matches in bold on a terminal. */
static void
print_segments (JsonArray *segments)
{
  gboolean tty = isatty (STDOUT_FILENO);

  for (unsigned i = 0; segments && i < json_array_get_length (segments); i++)
    {
      JsonObject *s = json_array_get_object_element (segments, i);
      gboolean hit = json_object_get_boolean_member_with_default (s, "match", FALSE);

      printf ("%s%s%s", hit && tty ? "\033[1m" : "",
              json_object_get_string_member_with_default (s, "text", ""),
              hit && tty ? "\033[0m" : "");
    }
}

static int
setup (NoteCli *c, GOptionContext *ctx, GOptionEntry *entries, int *argc, char ***argv)
{
  GOptionEntry common[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &c->json, "print the daemon's JSON answer", NULL },
    { NULL },
  };
  int rc;

  if (entries)
    g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_main_entries (ctx, common, NULL);
  g_option_context_set_description (ctx, "The daemon's address comes from the configuration or "
                                         "LARES_URL, the token from LARES_TOKEN or "
                                         "~/.config/lares/token.\n"
                                         "Exit status: 0 ok, 1 failure, 2 usage or invalid input.");
  lares_cli_add_config_options (ctx, &c->copts);
  if ((rc = lares_cli_parse (ctx, argc, argv)) >= 0)
    return rc;
  return -1;
}

static int
note_add (int argc, char **argv)
{
  NoteCli c = { 0 };
  char *title = NULL;
  char **tags = NULL;
  GOptionEntry entries[] = {
    { "title", 't', 0, G_OPTION_ARG_STRING, &title, "the note's title", "TITLE" },
    { "tag", 0, 0, G_OPTION_ARG_STRING_ARRAY, &tags, "a tag (repeat for more)", "TAG" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("TEXT|- - add a note");
  g_autoptr (GString) body = g_string_new ("{\"body\":");
  g_autoptr (JsonNode) answer = NULL;
  g_autofree char *text = NULL;
  int rc;

  if ((rc = setup (&c, ctx, entries, &argc, &argv)) >= 0)
    goto out;
  rc = LARES_EXIT_USAGE;
  if (argc < 2)
    {
      fprintf (stderr, "lares note add: give the text (quote it), or - to read stdin\n");
      goto out;
    }
  if (strcmp (argv[1], "-") == 0)
    {
      g_autoptr (GIOChannel) ch = g_io_channel_unix_new (STDIN_FILENO);
      gsize len = 0;
      if (g_io_channel_read_to_end (ch, &text, &len, NULL) != G_IO_STATUS_NORMAL)
        {
          fprintf (stderr, "lares note add: cannot read standard input\n");
          goto out;
        }
    }
  else
    text = g_strjoinv (" ", argv + 1);
  g_strstrip (text);
  if (*text == '\0')
    {
      fprintf (stderr, "lares note add: the note is empty\n");
      goto out;
    }
  lares_json_append_string (body, text, -1);
  if (title)
    {
      g_string_append (body, ",\"title\":");
      lares_json_append_string (body, title, -1);
    }
  if (tags)
    {
      g_string_append (body, ",\"tags\":[");
      for (size_t i = 0; tags[i]; i++)
        {
          if (i)
            g_string_append_c (body, ',');
          lares_json_append_string (body, tags[i], -1);
        }
      g_string_append_c (body, ']');
    }
  g_string_append_c (body, '}');
  rc = LARES_EXIT_FAILURE;
  if (!lares_cli_daemon_target (&c.copts, &c.base, &c.token))
    goto out;
  answer = request (&c, "POST", "/api/v1/notes", body->str, &rc);
  if (answer == NULL)
    goto out;
  if (c.json)
    print_json (answer);
  else
    printf ("note %" G_GINT64_FORMAT " saved\n",
            json_object_get_int_member (json_node_get_object (answer), "id"));
out:
  g_free (title);
  g_strfreev (tags);
  note_cli_clear (&c);
  return rc;
}

static int
note_search (int argc, char **argv)
{
  NoteCli c = { 0 };
  gint64 limit = 10;
  GOptionEntry entries[] = {
    { "limit", 'n', 0, G_OPTION_ARG_INT64, &limit, "at most N hits (1-100, default 10)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (
      "QUERY... - search notes (all words must match; end a word with * for a prefix)");
  g_autoptr (JsonNode) answer = NULL;
  g_autofree char *text = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *path = NULL;
  JsonArray *hits;
  int rc;

  if ((rc = setup (&c, ctx, entries, &argc, &argv)) >= 0)
    goto out;
  rc = LARES_EXIT_USAGE;
  if (argc < 2)
    {
      fprintf (stderr, "lares note search: give the words to look for\n");
      goto out;
    }
  if (limit < 1 || limit > 100)
    {
      fprintf (stderr, "lares note search: --limit must be between 1 and 100\n");
      goto out;
    }
  text = g_strjoinv (" ", argv + 1);
  escaped = g_uri_escape_string (text, NULL, FALSE);
  path = g_strdup_printf ("/api/v1/search?limit=%" G_GINT64_FORMAT "&q=%s", limit, escaped);
  rc = LARES_EXIT_FAILURE;
  if (!lares_cli_daemon_target (&c.copts, &c.base, &c.token))
    goto out;
  answer = request (&c, "GET", path, NULL, &rc);
  if (answer == NULL)
    goto out;
  if (c.json)
    {
      print_json (answer);
      goto out;
    }
  hits = json_object_get_array_member (json_node_get_object (answer), "hits");
  if (hits == NULL || json_array_get_length (hits) == 0)
    fprintf (stderr, "no notes match\n");
  for (unsigned i = 0; hits && i < json_array_get_length (hits); i++)
    {
      JsonObject *hit = json_array_get_object_element (hits, i);
      JsonObject *note = json_object_get_object_member (hit, "note");
      JsonArray *title = json_object_get_array_member (hit, "title");

      if (i)
        printf ("\n");
      printf ("#%" G_GINT64_FORMAT, json_object_get_int_member (note, "id"));
      if (title && json_array_get_length (title))
        {
          printf (" ");
          print_segments (title);
        }
      printf ("\n");
      print_segments (json_object_get_array_member (hit, "snippet"));
      printf ("\n");
    }
out:
  note_cli_clear (&c);
  return rc;
}

static int
note_list (int argc, char **argv)
{
  NoteCli c = { 0 };
  gint64 limit = 20;
  char *tag = NULL;
  GOptionEntry entries[] = {
    { "tag", 0, 0, G_OPTION_ARG_STRING, &tag, "only notes with this tag", "TAG" },
    { "limit", 'n', 0, G_OPTION_ARG_INT64, &limit, "at most N notes (1-500, default 20)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- list notes, newest first");
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (GString) path = g_string_new ("/api/v1/notes?limit=");
  JsonArray *notes;
  int rc;

  if ((rc = setup (&c, ctx, entries, &argc, &argv)) >= 0)
    goto out;
  rc = LARES_EXIT_USAGE;
  if (argc > 1)
    {
      fprintf (stderr, "lares note list: unexpected argument '%s'\n", argv[1]);
      goto out;
    }
  if (limit < 1 || limit > 500)
    {
      fprintf (stderr, "lares note list: --limit must be between 1 and 500\n");
      goto out;
    }
  g_string_append_printf (path, "%" G_GINT64_FORMAT, limit);
  if (tag)
    {
      g_autofree char *escaped = g_uri_escape_string (tag, NULL, FALSE);
      g_string_append_printf (path, "&tag=%s", escaped);
    }
  rc = LARES_EXIT_FAILURE;
  if (!lares_cli_daemon_target (&c.copts, &c.base, &c.token))
    goto out;
  answer = request (&c, "GET", path->str, NULL, &rc);
  if (answer == NULL)
    goto out;
  if (c.json)
    {
      print_json (answer);
      goto out;
    }
  notes = json_object_get_array_member (json_node_get_object (answer), "notes");
  for (unsigned i = 0; notes && i < json_array_get_length (notes); i++)
    {
      if (i)
        printf ("\n");
      print_note (json_array_get_object_element (notes, i));
    }
out:
  g_free (tag);
  note_cli_clear (&c);
  return rc;
}

static void
usage (FILE *out)
{
  fprintf (out, "Usage: lares note COMMAND [OPTIONS]\n\n"
                "Commands:\n"
                "  add [--title T] [--tag X]... TEXT|-   add a note\n"
                "  search QUERY...                      full-text search, best first\n"
                "  list [--tag X]                       newest first\n\n"
                "Run 'lares note COMMAND --help' for the options of a command.\n");
}

int
lares_cmd_note (int argc, char **argv)
{
  if (argc < 2)
    {
      usage (stderr);
      return LARES_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 ||
      strcmp (argv[1], "help") == 0)
    {
      usage (stdout);
      return LARES_EXIT_OK;
    }
  if (strcmp (argv[1], "add") == 0)
    return note_add (argc - 1, argv + 1);
  if (strcmp (argv[1], "search") == 0)
    return note_search (argc - 1, argv + 1);
  if (strcmp (argv[1], "list") == 0)
    return note_list (argc - 1, argv + 1);
  fprintf (stderr, "lares note: unknown command '%s'\n\n", argv[1]);
  usage (stderr);
  return LARES_EXIT_USAGE;
}
