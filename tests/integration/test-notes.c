/* test-notes.c — notes over real HTTP: tags, update, search ranking and
 * snippets, hostile search text (never a 500, nothing changed), other users'
 * notes never found, `lares note`, and the note tools through a chat turn
 * with no LLM configured (the intent path). */
#include "config.h"

#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>

#include "lares-test.h"

static LaresTestDaemon *daemon_;

static JsonNode *
call (const char *method, const char *path, const char *json, unsigned expect)
{
  unsigned status;
  g_autoptr (GBytes) body =
      lares_test_http (daemon_, method, path, json ? "application/json" : NULL, json,
                       json ? strlen (json) : 0, &status, NULL);

  if (status != expect)
    g_error ("%s %s: %u, expected %u: %.*s", method, path, status, expect,
             (int)g_bytes_get_size (body), (const char *)g_bytes_get_data (body, NULL));
  return g_bytes_get_size (body) ? lares_test_json (body) : NULL;
}

static int64_t
id_of (JsonNode *n)
{
  return json_object_get_int_member (json_node_get_object (n), "id");
}

static JsonArray *
hits_of (JsonNode *n)
{
  return json_object_get_array_member (json_node_get_object (n), "hits");
}

static int64_t
hit_id (JsonArray *hits, unsigned i)
{
  return json_object_get_int_member (
      json_object_get_object_member (json_array_get_object_element (hits, i), "note"), "id");
}

static void
test_tags_and_update (void)
{
  g_autoptr (JsonNode) a = call ("POST", "/api/v1/notes",
                                 "{\"title\":\"garden\",\"body\":\"plant tulips in october\","
                                 "\"tags\":[\"#Garden\",\"todo\",\"garden\"]}",
                                 201);
  g_autoptr (JsonNode) listed = NULL, updated = NULL, again = NULL, cleared = NULL;
  g_autofree char *path = g_strdup_printf ("/api/v1/notes/%" G_GINT64_FORMAT, id_of (a));
  JsonArray *tags = json_object_get_array_member (json_node_get_object (a), "tags");
  JsonArray *notes;

  g_assert_cmpuint (json_array_get_length (tags), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (tags, 0), ==, "garden");
  g_assert_cmpstr (json_array_get_string_element (tags, 1), ==, "todo");

  listed = call ("GET", "/api/v1/notes?tag=GARDEN", NULL, 200);
  notes = json_object_get_array_member (json_node_get_object (listed), "notes");
  g_assert_cmpuint (json_array_get_length (notes), ==, 1);
  g_assert_cmpint (id_of (json_array_get_element (notes, 0)), ==, id_of (a));

  /* Only what is given changes. */
  updated =
      call ("POST", path, "{\"body\":\"plant tulips in november\",\"tags\":[\"bulbs\"]}", 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (updated), "title"), ==,
                   "garden");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (updated), "body"), ==,
                   "plant tulips in november");
  again = call ("GET", "/api/v1/notes?tag=garden", NULL, 200);
  g_assert_cmpuint (
      json_array_get_length (json_object_get_array_member (json_node_get_object (again), "notes")),
      ==, 0);
  cleared = call ("POST", path, "{\"tags\":[]}", 200);
  g_assert_cmpuint (
      json_array_get_length (json_object_get_array_member (json_node_get_object (cleared), "tags")),
      ==, 0);

  /* Refusals change nothing. */
  g_clear_pointer (&again, json_node_unref);
  again = call ("POST", path, "{}", 400);
  g_clear_pointer (&again, json_node_unref);
  again = call ("POST", path, "{\"colour\":\"red\"}", 400);
  g_clear_pointer (&again, json_node_unref);
  again = call ("POST", path, "{\"body\":\"\"}", 400);
  g_clear_pointer (&again, json_node_unref);
  again = call ("POST", path, "{\"tags\":[\"two words\"]}", 400);
  g_clear_pointer (&again, json_node_unref);
  again = call ("POST", path, "{\"tags\":\"x\"}", 400);
  g_clear_pointer (&again, json_node_unref);
  again = call ("POST", path,
                "{\"tags\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\","
                "\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}",
                400);
  g_clear_pointer (&again, json_node_unref);
  again = call ("GET", "/api/v1/notes?tag=a%20b", NULL, 400);
  g_clear_pointer (&again, json_node_unref);
  again = call ("POST", "/api/v1/notes/999999", "{\"title\":\"x\"}", 404);
  g_clear_pointer (&again, json_node_unref);
  again = call ("GET", path, NULL, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (again), "body"), ==,
                   "plant tulips in november");
}

static void
test_search_ranking (void)
{
  g_autoptr (JsonNode) body_hit =
      call ("POST", "/api/v1/notes", "{\"body\":\"remember the zeppelin tickets\"}", 201);
  g_autoptr (JsonNode) title_hit =
      call ("POST", "/api/v1/notes", "{\"title\":\"zeppelin\",\"body\":\"flight at noon\"}", 201);
  g_autoptr (JsonNode) res = call ("GET", "/api/v1/search?q=zeppelin", NULL, 200);
  g_autoptr (JsonNode) page = NULL, prefix = NULL, none = NULL;
  JsonArray *hits = hits_of (res);
  JsonObject *second;
  JsonArray *snippet;
  gboolean marked = FALSE;

  g_assert_cmpuint (json_array_get_length (hits), ==, 2);
  g_assert_cmpint (hit_id (hits, 0), ==, id_of (title_hit));
  g_assert_cmpint (hit_id (hits, 1), ==, id_of (body_hit));
  second = json_array_get_object_element (hits, 1);
  g_assert_cmpint (json_object_get_int_member (second, "rank"), ==, 2);
  snippet = json_object_get_array_member (second, "snippet");
  for (unsigned i = 0; i < json_array_get_length (snippet); i++)
    {
      JsonObject *s = json_array_get_object_element (snippet, i);
      if (json_object_get_boolean_member_with_default (s, "match", FALSE))
        {
          g_assert_cmpstr (json_object_get_string_member (s, "text"), ==, "zeppelin");
          marked = TRUE;
        }
      g_assert_null (strchr (json_object_get_string_member (s, "text"), '\x01'));
    }
  g_assert_true (marked);

  /* Paging through the ranking. */
  page = call ("GET", "/api/v1/search?q=zeppelin&limit=1&offset=1", NULL, 200);
  g_assert_cmpuint (json_array_get_length (hits_of (page)), ==, 1);
  g_assert_cmpint (hit_id (hits_of (page), 0), ==, id_of (body_hit));
  prefix = call ("GET", "/api/v1/search?q=zepp*%20TICK*", NULL, 200);
  g_assert_cmpuint (json_array_get_length (hits_of (prefix)), ==, 1);
  none = call ("GET", "/api/v1/search?q=zeppelin%20submarine", NULL, 200);
  g_assert_cmpuint (json_array_get_length (hits_of (none)), ==, 0);
}

static void
test_search_hostile (void)
{
  static const char *const queries[] = {
    "%22",
    "%22%22%22",
    "AND%20OR",
    "*",
    "NEAR(",
    "NEAR(a%20b,%205)",
    "title:x",
    "body%3A%20%2A",
    "-x",
    "(",
    ")",
    "%5E",
    "a%20OR%20b",
    "%F0%9F%98%80",
    "%E2%80%AE%E2%80%8B",
    "%FF%FE",
    "%00",
    "caf%C3%A9",
    "x%0Ay",
    "%2B%2B%2B",
  };
  int64_t before = lares_test_db_count (daemon_->data_dir, "notes");
  g_autofree char *huge = NULL;
  g_autofree char *huge_path = NULL;
  GString *s = g_string_new (NULL);

  for (size_t i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      g_autofree char *path = g_strconcat ("/api/v1/search?q=", queries[i], NULL);
      unsigned status;
      g_autoptr (GBytes) body =
          lares_test_http (daemon_, "GET", path, NULL, NULL, 0, &status, NULL);

      if (status != 200 && status != 400)
        g_error ("%s: %u", path, status);
      if (status == 400)
        lares_test_assert_error (body, "invalid_argument");
    }
  for (int i = 0; i < 10000; i++)
    g_string_append_c (s, "ab \"*("[i % 6]);
  huge = g_string_free (s, FALSE);
  {
    g_autofree char *escaped = g_uri_escape_string (huge, NULL, FALSE);
    unsigned status;
    g_autoptr (GBytes) body = NULL;

    huge_path = g_strconcat ("/api/v1/search?q=", escaped, NULL);
    body = lares_test_http (daemon_, "GET", huge_path, NULL, NULL, 0, &status, NULL);
    g_assert_cmpuint (status, ==, 400);
    lares_test_assert_error (body, "invalid_argument");
  }
  g_assert_cmpuint (lares_test_status (daemon_, "GET", "/api/v1/search", NULL, NULL, 0), ==, 400);
  g_assert_cmpuint (lares_test_status (daemon_, "GET", "/api/v1/search?q=x&limit=0", NULL, NULL, 0),
                    ==, 400);
  g_assert_cmpuint (
      lares_test_status (daemon_, "GET", "/api/v1/search?q=x&offset=-1", NULL, NULL, 0), ==, 400);
  g_assert_cmpint (lares_test_db_count (daemon_->data_dir, "notes"), ==, before);
}

static void
test_other_users (void)
{
  g_autofree char *token = lares_test_add_user (daemon_, "nora", "correct horse battery");
  g_autofree char *auth = g_strconcat ("Bearer ", token, NULL);
  const char *const headers[] = { "Authorization", auth, NULL };
  g_autoptr (JsonNode) mine =
      call ("POST", "/api/v1/notes", "{\"body\":\"quokka sightings\",\"tags\":[\"zoo\"]}", 201);
  g_autofree char *path = g_strdup_printf ("/api/v1/notes/%" G_GINT64_FORMAT, id_of (mine));
  unsigned status;
  g_autoptr (GBytes) found = lares_test_http_as (daemon_, headers, "GET", "/api/v1/search?q=quokka",
                                                 NULL, NULL, 0, &status, NULL);
  g_autoptr (JsonNode) res = lares_test_json (found);
  g_autoptr (GBytes) tagged = lares_test_http_as (daemon_, headers, "GET", "/api/v1/notes?tag=zoo",
                                                  NULL, NULL, 0, &status, NULL);
  g_autoptr (JsonNode) tres = lares_test_json (tagged);
  g_autoptr (GBytes) upd = NULL;
  g_autoptr (JsonNode) still = NULL;

  g_assert_cmpuint (json_array_get_length (hits_of (res)), ==, 0);
  g_assert_cmpuint (
      json_array_get_length (json_object_get_array_member (json_node_get_object (tres), "notes")),
      ==, 0);
  upd = lares_test_http_as (daemon_, headers, "POST", path, "application/json",
                            "{\"body\":\"mine now\"}", 19, &status, NULL);
  g_assert_cmpuint (status, ==, 404);
  lares_test_assert_error (upd, "not_found");
  still = call ("GET", path, NULL, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (still), "body"), ==,
                   "quokka sightings");
}

static void
on_ws_message (SoupWebsocketConnection *conn, int type, GBytes *message, gpointer data)
{
  g_ptr_array_add (data, g_bytes_ref (message));
}

static void
test_ws_note_updated (void)
{
  SoupWebsocketConnection *ws = lares_test_ws_connect (daemon_);
  g_autoptr (JsonNode) n = call ("POST", "/api/v1/notes", "{\"body\":\"for the bus\"}", 201);
  g_autofree char *path = g_strdup_printf ("/api/v1/notes/%" G_GINT64_FORMAT, id_of (n));
  g_autoptr (JsonNode) u = NULL;
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  gboolean seen = FALSE;
  int64_t deadline;

  g_signal_connect (ws, "message", G_CALLBACK (on_ws_message), got);
  /* The bus only fans out to users with a connection: wait for it. */
  g_usleep (100 * 1000);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  u = call ("POST", path, "{\"title\":\"renamed\"}", 200);
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!seen && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
      for (unsigned i = 0; i < got->len; i++)
        if (g_strstr_len (g_bytes_get_data (got->pdata[i], NULL), g_bytes_get_size (got->pdata[i]),
                          "\"note_updated\""))
          seen = TRUE;
    }
  g_assert_true (seen);
  g_signal_handlers_disconnect_by_data (ws, got);
  soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_object_unref (ws);
}

static int
run_cli (const char *const *args, char **out, char **err)
{
  g_autoptr (GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;

  g_subprocess_launcher_setenv (launcher, "LARES_URL", daemon_->base, TRUE);
  g_subprocess_launcher_setenv (launcher, "LARES_TOKEN", daemon_->token, TRUE);
  g_ptr_array_add (argv, (gpointer)g_getenv ("LARES_BIN"));
  for (size_t i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer)args[i]);
  g_ptr_array_add (argv, NULL);
  p = g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, out, err, &error);
  g_assert_no_error (error);
  return g_subprocess_get_exit_status (p);
}

static void
test_cli (void)
{
  const char *const add[] = {
    "note", "add", "--title", "keys", "--tag", "home", "the spare key is under the blue pot", NULL
  };
  const char *const search[] = { "note", "search", "blue", "pot", NULL };
  const char *const list[] = { "note", "list", "--tag", "home", NULL };
  const char *const bad_query[] = { "note", "search", "\"", NULL };
  const char *const bad_tag[] = { "note", "add", "--tag", "a b", "text", NULL };
  const char *const no_text[] = { "note", "add", NULL };
  const char *const unknown[] = { "note", "frobnicate", NULL };
  const char *const help[] = { "note", "search", "--help", NULL };
  g_autofree char *o1 = NULL, *e1 = NULL, *o2 = NULL, *e2 = NULL, *o3 = NULL, *e3 = NULL;
  g_autofree char *o4 = NULL, *e4 = NULL, *o5 = NULL, *e5 = NULL, *o6 = NULL, *e6 = NULL;
  g_autofree char *o7 = NULL, *e7 = NULL, *o8 = NULL, *e8 = NULL;

  g_assert_cmpint (run_cli (add, &o1, &e1), ==, 0);
  g_assert_true (g_str_has_prefix (o1, "note "));
  g_assert_cmpint (run_cli (search, &o2, &e2), ==, 0);
  g_assert_nonnull (strstr (o2, "the spare key is under the blue pot"));
  g_assert_nonnull (strstr (o2, "keys"));
  g_assert_cmpint (run_cli (list, &o3, &e3), ==, 0);
  g_assert_nonnull (strstr (o3, "#home"));
  g_assert_cmpint (run_cli (bad_query, &o4, &e4), ==, 2);
  g_assert_nonnull (strstr (e4, "no words"));
  g_assert_cmpint (run_cli (bad_tag, &o5, &e5), ==, 2);
  g_assert_cmpint (run_cli (no_text, &o6, &e6), ==, 2);
  g_assert_cmpint (run_cli (unknown, &o7, &e7), ==, 2);
  g_assert_cmpint (run_cli (help, &o8, &e8), ==, 0);
  g_assert_nonnull (strstr (o8, "QUERY"));
}

static JsonNode *
chat (const char *text)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) req = NULL;
  g_autofree char *json = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, text);
  json_builder_end_object (b);
  req = json_builder_get_root (b);
  json = json_to_string (req, FALSE);
  return call ("POST", "/api/v1/chat", json, 200);
}

static const char *
first_tool (JsonNode *turn)
{
  JsonArray *calls = json_object_get_array_member (json_node_get_object (turn), "tool_calls");

  g_assert_cmpuint (json_array_get_length (calls), ==, 1);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (calls, 0), "status"), ==,
      "done");
  return json_object_get_string_member (json_array_get_object_element (calls, 0), "tool");
}

static void
test_chat_tools (void)
{
  g_autoptr (JsonNode) t1 = chat ("take a note that the wifi password is hunter2");
  g_autoptr (JsonNode) t2 = chat ("search my notes for wifi password");
  g_autoptr (JsonNode) t3 = chat ("search my notes for xylophone");
  g_autoptr (JsonNode) found = call ("GET", "/api/v1/search?q=hunter2", NULL, 200);

  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (t1), "path"), ==, "intent");
  g_assert_cmpstr (first_tool (t1), ==, "note.add");
  g_assert_cmpuint (json_array_get_length (hits_of (found)), ==, 1);
  g_assert_cmpstr (first_tool (t2), ==, "note.search");
  g_assert_nonnull (
      strstr (json_object_get_string_member (json_node_get_object (t2), "reply"), "hunter2"));
  g_assert_cmpstr (first_tool (t3), ==, "note.search");
  g_assert_nonnull (
      strstr (json_object_get_string_member (json_node_get_object (t3), "reply"), "nothing"));
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  daemon_ = lares_test_daemon_start (NULL, NULL);
  g_test_add_func ("/notes/tags-and-update", test_tags_and_update);
  g_test_add_func ("/notes/search-ranking", test_search_ranking);
  g_test_add_func ("/notes/search-hostile", test_search_hostile);
  g_test_add_func ("/notes/other-users", test_other_users);
  g_test_add_func ("/notes/ws-note-updated", test_ws_note_updated);
  g_test_add_func ("/notes/cli", test_cli);
  g_test_add_func ("/notes/chat-tools", test_chat_tools);
  rc = g_test_run ();
  g_assert_cmpint (lares_test_daemon_stop (daemon_, SIGTERM), ==, 0);
  lares_test_daemon_free (daemon_, TRUE);
  return rc;
}
