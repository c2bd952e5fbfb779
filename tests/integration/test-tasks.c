/* test-tasks.c — /api/v1/tasks over real HTTP: CRUD, filters, urgency
 * order, users kept apart, bad input changing nothing, Taskwarrior import
 * and export; the round trip through the real `task` program; `lares task`;
 * and the chat path with no LLM.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>

#include "lares-test.h"

static LaresTestDaemon *daemon_;

static JsonNode *
call (const char *method, const char *path, const char *body, unsigned *status)
{
  g_autoptr (GBytes) resp =
      lares_test_http (daemon_, method, path, body ? "application/json" : NULL, body,
                       body ? strlen (body) : 0, status, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  size_t len;
  const char *data = g_bytes_get_data (resp, &len);

  if (len == 0 || !json_parser_load_from_data (parser, data, (gssize)len, NULL))
    return NULL;
  return json_parser_steal_root (parser);
}

static int64_t
add (const char *json)
{
  unsigned status;
  g_autoptr (JsonNode) t = call ("POST", "/api/v1/tasks", json, &status);

  g_assert_cmpuint (status, ==, 201);
  return json_object_get_int_member (json_node_get_object (t), "id");
}

static JsonArray *
list (const char *query, JsonNode **keep)
{
  unsigned status;
  g_autofree char *path = g_strconcat ("/api/v1/tasks", query, NULL);

  *keep = call ("GET", path, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  return json_object_get_array_member (json_node_get_object (*keep), "tasks");
}

static gboolean
listed (JsonArray *a, int64_t id)
{
  for (unsigned i = 0; i < json_array_get_length (a); i++)
    if (json_object_get_int_member (json_array_get_object_element (a, i), "id") == id)
      return TRUE;
  return FALSE;
}

static void
test_crud (void)
{
  unsigned status;
  int64_t id = add ("{\"description\":\"paint the fence\",\"project\":\"house\",\"tags\":[\"diy\","
                    "\"outside\"],\"priority\":\"M\",\"due\":\"2030-05-01T10:00:00Z\"}");
  g_autofree char *path = g_strdup_printf ("/api/v1/tasks/%" G_GINT64_FORMAT, id);
  g_autofree char *done = g_strdup_printf ("%s/done", path);
  g_autoptr (JsonNode) got = call ("GET", path, NULL, &status);
  g_autoptr (JsonNode) upd = NULL, fin = NULL, gone = NULL;
  JsonObject *o = json_node_get_object (got);

  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (o, "description"), ==, "paint the fence");
  g_assert_cmpstr (json_object_get_string_member (o, "project"), ==, "house");
  g_assert_cmpstr (json_object_get_string_member (o, "priority"), ==, "M");
  g_assert_cmpint (json_object_get_int_member (o, "due"), ==, INT64_C (1903860000000));
  g_assert_cmpuint (strlen (json_object_get_string_member (o, "uuid")), ==, 36);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "pending");

  upd =
      call ("POST", path, "{\"priority\":\"H\",\"annotate\":\"buy paint\",\"due\":null}", &status);
  g_assert_cmpuint (status, ==, 200);
  o = json_node_get_object (upd);
  g_assert_cmpstr (json_object_get_string_member (o, "priority"), ==, "H");
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (o, "due")));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "annotations")), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (o, "project"), ==, "house"); /* untouched */

  fin = call ("POST", done, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  o = json_node_get_object (fin);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "completed");
  g_assert_cmpint (json_object_get_int_member (o, "end"), >, 0);

  g_assert_cmpuint (lares_test_status (daemon_, "DELETE", path, NULL, NULL, 0), ==, 204);
  gone = call ("GET", path, NULL, &status);
  g_assert_cmpuint (status, ==, 404);
}

static void
test_filters_and_sort (void)
{
  g_autoptr (JsonNode) k1 = NULL, k2 = NULL, k3 = NULL, k4 = NULL, k5 = NULL, k6 = NULL;
  int64_t low = add ("{\"description\":\"f-low\",\"project\":\"filt\"}");
  int64_t high = add ("{\"description\":\"f-high\",\"project\":\"filt.sub\",\"priority\":\"H\","
                      "\"tags\":[\"ftag\"],\"due\":\"2020-01-01T00:00:00Z\"}");
  int64_t mid = add ("{\"description\":\"f-mid\",\"project\":\"filt\",\"due\":"
                     "\"2040-01-01T00:00:00Z\"}");
  int64_t other = add ("{\"description\":\"f-other\",\"project\":\"filter\"}");
  int64_t fin = add ("{\"description\":\"f-done\",\"project\":\"filt\",\"status\":\"completed\"}");
  JsonArray *a;

  a = list ("?project=filt&sort=urgency", &k1);
  g_assert_cmpuint (json_array_get_length (a), ==, 3); /* not "filter", not the completed one */
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (a, 0), "id"), ==,
                   high);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (a, 1), "id"), ==,
                   mid);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (a, 2), "id"), ==,
                   low);
  for (unsigned i = 1; i < json_array_get_length (a); i++)
    g_assert_cmpfloat (
        json_object_get_double_member (json_array_get_object_element (a, i - 1), "urgency"), >=,
        json_object_get_double_member (json_array_get_object_element (a, i), "urgency"));

  a = list ("?tag=ftag", &k2);
  g_assert_cmpuint (json_array_get_length (a), ==, 1);
  g_assert_true (listed (a, high));
  a = list ("?project=filt&due_before=2030-01-01T00:00:00Z", &k3);
  g_assert_cmpuint (json_array_get_length (a), ==, 1);
  g_assert_true (listed (a, high));
  a = list ("?project=filt&due_after=2030-01-01", &k4);
  g_assert_cmpuint (json_array_get_length (a), ==, 1);
  g_assert_true (listed (a, mid));
  a = list ("?project=filt&status=completed", &k5);
  g_assert_cmpuint (json_array_get_length (a), ==, 1);
  g_assert_true (listed (a, fin));
  a = list ("?project=filt&status=all", &k6);
  g_assert_cmpuint (json_array_get_length (a), ==, 4);
  g_assert_false (listed (a, other));
}

static void
test_users_isolated (void)
{
  g_autofree char *tok = lares_test_add_user (daemon_, "tess", "tess-password-1");
  g_autofree char *auth = g_strconcat ("Bearer ", tok, NULL);
  const char *as_tess[] = { "Authorization", auth, NULL };
  int64_t mine = add ("{\"description\":\"admin only\"}");
  g_autofree char *path = g_strdup_printf ("/api/v1/tasks/%" G_GINT64_FORMAT, mine);
  g_autofree char *done = g_strdup_printf ("%s/done", path);
  unsigned status;
  g_autoptr (GBytes) b1 = NULL, b2 = NULL, b3 = NULL, b4 = NULL, b5 = NULL;
  g_autoptr (JsonNode) l = NULL, after = NULL;

  b1 = lares_test_http_as (daemon_, as_tess, "GET", path, NULL, NULL, 0, &status, NULL);
  g_assert_cmpuint (status, ==, 404);
  b2 = lares_test_http_as (daemon_, as_tess, "POST", done, NULL, NULL, 0, &status, NULL);
  g_assert_cmpuint (status, ==, 404);
  b3 = lares_test_http_as (daemon_, as_tess, "DELETE", path, NULL, NULL, 0, &status, NULL);
  g_assert_cmpuint (status, ==, 404);
  b4 = lares_test_http_as (daemon_, as_tess, "GET", "/api/v1/tasks?status=all", NULL, NULL, 0,
                           &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  l = lares_test_json (b4);
  g_assert_cmpuint (
      json_array_get_length (json_object_get_array_member (json_node_get_object (l), "tasks")), ==,
      0);
  b5 = lares_test_http_as (daemon_, as_tess, "GET", "/api/v1/tasks/export", NULL, NULL, 0, &status,
                           NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpmem (g_bytes_get_data (b5, NULL), g_bytes_get_size (b5), "[\n]\n", 4);
  after = call ("GET", path, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (after), "status"), ==,
                   "pending");
}

static void
test_bad_input (void)
{
  static const struct
  {
    const char *method, *path, *body;
  } cases[] = {
    { "POST", "/api/v1/tasks", "{}" },
    { "POST", "/api/v1/tasks", "{\"description\":\"\"}" },
    { "POST", "/api/v1/tasks", "{\"description\":\"x\",\"user_id\":2}" },
    { "POST", "/api/v1/tasks", "{\"description\":\"x\",\"priority\":\"X\"}" },
    { "POST", "/api/v1/tasks", "{\"description\":\"x\",\"due\":\"next blursday\"}" },
    { "POST", "/api/v1/tasks", "{\"description\":\"x\",\"due\":\"2026-02-30T00:00:00Z\"}" },
    { "POST", "/api/v1/tasks", "{\"description\":\"x\",\"tags\":[\"two words\"]}" },
    { "POST", "/api/v1/tasks", "{\"description\":\"x\",\"tags\":\"a\"}" },
    { "POST", "/api/v1/tasks", "{\"description\":\"x\",\"depends\":[\"nope\"]}" },
    { "POST", "/api/v1/tasks", "{\"description\":\"x\",\"status\":\"frozen\"}" },
    { "POST", "/api/v1/tasks", "{\"description\":5}" },
    { "GET", "/api/v1/tasks?due_before=soon", NULL },
    { "GET", "/api/v1/tasks?status=frozen", NULL },
    { "GET", "/api/v1/tasks?sort=size", NULL },
    { "POST", "/api/v1/tasks/import", "{\"description\":\"not an array\"}" },
    { "POST", "/api/v1/tasks/import", "[{\"description\":\"ok\"},{\"description\":\"\"}]" },
    { "POST", "/api/v1/tasks/import",
      "[{\"description\":\"ok\"},{\"description\":\"b\",\"due\":\"2026-11-21\"}, 5]" },
    { "POST", "/api/v1/tasks/import", "[{\"description\":\"ok\",\"entry\":\"20261399T000000Z\"}]" },
    { "POST", "/api/v1/tasks/import", "[{\"description\":\"ok\",\"priority\":\"urgent\"}]" },
    { "POST", "/api/v1/tasks/import", "[{\"description\":\"ok\",\"uuid\":\"x\"}]" },
    { "POST", "/api/v1/tasks/import", "[{\"description\":\"ok\"}" },
  };
  int64_t before = lares_test_db_count (daemon_->data_dir, "tasks");
  int64_t id = add ("{\"description\":\"stays\"}");
  g_autofree char *path = g_strdup_printf ("/api/v1/tasks/%" G_GINT64_FORMAT, id);
  unsigned status;
  g_autoptr (JsonNode) again = NULL;

  before++;
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GBytes) b = lares_test_http (
          daemon_, cases[i].method, cases[i].path, cases[i].body ? "application/json" : NULL,
          cases[i].body, cases[i].body ? strlen (cases[i].body) : 0, &status, NULL);
      g_assert_nonnull (
          g_strstr_len (g_bytes_get_data (b, NULL), g_bytes_get_size (b), "\"error\""));
      if (status != 400)
        g_error ("case %zu: %s %s %s -> %u", i, cases[i].method, cases[i].path,
                 cases[i].body ? cases[i].body : "", status);
    }
  g_assert_cmpuint (
      lares_test_status (daemon_, "POST", path, "application/json", "{\"priority\":\"Q\"}", 16), ==,
      400);
  g_assert_cmpint (lares_test_db_count (daemon_->data_dir, "tasks"), ==, before);
  /* A literal path with the wrong method is 405 even where a {id} route
   * has the same shape ("import" is not an id); a bad id stays 404. */
  {
    SoupMessageHeaders *h = NULL;
    g_autoptr (GBytes) b =
        lares_test_http (daemon_, "GET", "/api/v1/tasks/import", NULL, NULL, 0, &status, &h);
    lares_test_assert_error (b, "method_not_allowed");
    g_assert_cmpuint (status, ==, 405);
    g_assert_cmpstr (soup_message_headers_get_one (h, "Allow"), ==, "POST");
    soup_message_headers_unref (h);
  }
  g_assert_cmpuint (lares_test_status (daemon_, "POST", "/api/v1/tasks/export", NULL, NULL, 0), ==,
                    405);
  g_assert_cmpuint (lares_test_status (daemon_, "GET", "/api/v1/tasks/abc", NULL, NULL, 0), ==,
                    404);
  g_assert_cmpuint (lares_test_status (daemon_, "DELETE", "/api/v1/tasks/abc", NULL, NULL, 0), ==,
                    404);
  again = call ("GET", path, NULL, &status);
  g_assert_true (
      JSON_NODE_HOLDS_NULL (json_object_get_member (json_node_get_object (again), "priority")));
}

/* Import Taskwarrior JSON, export it back: same uuids and fields. */
static void
test_import_export (void)
{
  const char *tw =
      "[\n"
      "{\"id\":1,\"description\":\"ie one\",\"due\":\"20301125T093000Z\",\"entry\":"
      "\"20261121T094343Z\",\"modified\":\"20261121T094343Z\",\"priority\":\"H\",\"project\":"
      "\"ie\",\"status\":\"pending\",\"uuid\":\"7743df27-cce3-481b-837e-468d6c10e486\","
      "\"annotations\":[{\"entry\":\"20261121T094343Z\",\"description\":\"note\"}],\"tags\":"
      "[\"a\",\"b\"],\"myuda\":\"kept\",\"urgency\":23.6}," /* a UDA */
      "{\"id\":0,\"description\":\"ie two\",\"end\":\"20261121T100000Z\",\"entry\":"
      "\"20261120T000000Z\",\"modified\":\"20261121T100000Z\",\"status\":\"completed\",\"uuid\":"
      "\"da77ad0c-67c0-4215-83b4-4b2fd2de2610\",\"depends\":"
      "\"7743df27-cce3-481b-837e-468d6c10e486\"}\n]";
  unsigned status;
  g_autoptr (JsonNode) res = call ("POST", "/api/v1/tasks/import", tw, &status);
  g_autoptr (JsonNode) res2 = NULL;
  g_autoptr (GBytes) exp = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonArray *a;
  gboolean seen_one = FALSE, seen_two = FALSE;

  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (res), "added"), ==, 2);
  /* Importing again updates, by uuid. */
  res2 = call ("POST", "/api/v1/tasks/import", tw, &status);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (res2), "updated"), ==, 2);

  exp = lares_test_http (daemon_, "GET", "/api/v1/tasks/export", NULL, NULL, 0, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (exp, NULL),
                                             (gssize)g_bytes_get_size (exp), NULL));
  a = json_node_get_array (json_parser_get_root (parser));
  for (unsigned i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      const char *uuid = json_object_get_string_member (o, "uuid");
      if (g_strcmp0 (uuid, "7743df27-cce3-481b-837e-468d6c10e486") == 0)
        {
          seen_one = TRUE;
          g_assert_cmpstr (json_object_get_string_member (o, "due"), ==, "20301125T093000Z");
          g_assert_cmpstr (json_object_get_string_member (o, "entry"), ==, "20261121T094343Z");
          g_assert_cmpstr (json_object_get_string_member (o, "project"), ==, "ie");
          g_assert_cmpstr (json_object_get_string_member (o, "myuda"), ==, "kept");
          g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "tags")), ==,
                            2);
          g_assert_cmpstr (json_object_get_string_member (
                               json_array_get_object_element (
                                   json_object_get_array_member (o, "annotations"), 0),
                               "description"),
                           ==, "note");
        }
      else if (g_strcmp0 (uuid, "da77ad0c-67c0-4215-83b4-4b2fd2de2610") == 0)
        {
          seen_two = TRUE;
          g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "completed");
          g_assert_cmpstr (json_object_get_string_member (o, "end"), ==, "20261121T100000Z");
          g_assert_cmpstr (
              json_array_get_string_element (json_object_get_array_member (o, "depends"), 0), ==,
              "7743df27-cce3-481b-837e-468d6c10e486");
        }
    }
  g_assert_true (seen_one && seen_two);
}

/* ---- the real Taskwarrior ----------------------------------------------------------------------
 */

static char *
task_run (const char *taskdata, const char *const *args, const char *input)
{
  g_autoptr (GSubprocessLauncher) l =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE |
                                 (input ? G_SUBPROCESS_FLAGS_STDIN_PIPE : 0));
  g_autofree char *rc = g_build_filename (taskdata, "taskrc", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;
  char *out = NULL;
  g_autofree char *err = NULL;

  g_file_set_contents (rc, "", 0, NULL);
  g_subprocess_launcher_setenv (l, "TASKDATA", taskdata, TRUE);
  g_subprocess_launcher_setenv (l, "TASKRC", rc, TRUE);
  g_ptr_array_add (argv, (gpointer) "task");
  g_ptr_array_add (argv, (gpointer) "rc.confirmation=off");
  g_ptr_array_add (argv, (gpointer) "rc.verbose=nothing");
  g_ptr_array_add (argv, (gpointer) "rc.json.array=on");
  for (size_t i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer)args[i]);
  g_ptr_array_add (argv, NULL);
  p = g_subprocess_launcher_spawnv (l, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, input, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (p) != 0)
    g_error ("task %s failed: %s", args[0], err);
  return out;
}

static JsonArray *
parse_array (const char *text, JsonParser *parser)
{
  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)));
  return json_node_get_array (json_parser_get_root (parser));
}

static JsonObject *
by_uuid (JsonArray *a, const char *uuid)
{
  for (unsigned i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (o, "uuid", ""), uuid) == 0)
        return o;
    }
  return NULL;
}

static void
test_taskwarrior_round_trip (void)
{
  static const char *const shared[] = { "description", "due",    "entry", "modified",  "priority",
                                        "project",     "start",  "end",   "scheduled", "wait",
                                        "until",       "status", "recur", "mask",      "parent",
                                        "myuda",       NULL };
  g_autofree char *task_bin = g_find_program_in_path ("task");
  g_autofree char *tmp = NULL, *first = NULL, *second = NULL;
  g_autofree char *a_dir = NULL, *b_dir = NULL, *lares_out = NULL, *lfile = NULL;
  g_autoptr (JsonParser) p1 = json_parser_new (), p2 = json_parser_new ();
  g_autoptr (GBytes) body = NULL;
  JsonArray *orig, *back;
  unsigned status;

  if (task_bin == NULL)
    {
      g_test_skip ("Taskwarrior's `task` is not installed (apt-get install taskwarrior)");
      return;
    }
  tmp = lares_test_tmpdir ();
  a_dir = g_build_filename (tmp, "a", NULL);
  b_dir = g_build_filename (tmp, "b", NULL);
  g_mkdir (a_dir, 0700);
  g_mkdir (b_dir, 0700);
  {
    const char *add1[] = { "add",     "tw buy milk",          "project:tw.home", "+shop",
                           "+errand", "due:2030-11-25T09:30", "priority:H",      NULL };
    const char *add2[] = { "add",
                           "tw pay rent",
                           "project:tw",
                           "due:2020-11-19",
                           "scheduled:2020-11-01",
                           "until:2031-01-01",
                           NULL };
    const char *add3[] = { "add", "tw later", "wait:2031-12-01", "priority:L", NULL };
    const char *add4[] = { "add", "tw blocked", "depends:1", "entry:2026-06-01", NULL };
    const char *add5[] = { "add", "tw weekly", "due:2030-11-30", "recur:weekly", NULL };
    const char *add6[] = { "add", "tw finished", NULL };
    const char *ann[] = { "1", "annotate", "semi-skimmed, two litres", NULL };
    const char *start[] = { "2", "start", NULL };
    const char *done[] = { "6", "done", NULL };
    const char *exp[] = { "export", NULL };
    const char *const *steps[] = { add1, add2, add3, add4, add5, add6, ann, start, done };
    for (size_t i = 0; i < G_N_ELEMENTS (steps); i++)
      g_free (task_run (a_dir, steps[i], NULL));
    first = task_run (a_dir, exp, NULL);
  }
  orig = parse_array (first, p1);
  g_assert_cmpuint (json_array_get_length (orig), >=, 6);
  /* A UDA lares does not know travels too. */
  json_object_set_string_member (json_array_get_object_element (orig, 0), "myuda", "kept");
  {
    g_autoptr (JsonGenerator) gen = json_generator_new ();
    json_generator_set_root (gen, json_parser_get_root (p1));
    g_free (first);
    first = json_generator_to_data (gen, NULL);
  }

  body = lares_test_http (daemon_, "POST", "/api/v1/tasks/import", "application/json", first,
                          strlen (first), &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_bytes_unref (body);
  body = lares_test_http (daemon_, "GET", "/api/v1/tasks/export", NULL, NULL, 0, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  lares_out = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  lfile = g_build_filename (tmp, "lares.json", NULL);
  g_assert_true (g_file_set_contents (lfile, lares_out, -1, NULL));
  {
    const char *imp[] = { "import", lfile, NULL };
    const char *exp[] = { "export", NULL };
    g_free (task_run (b_dir, imp, NULL));
    second = task_run (b_dir, exp, NULL);
  }
  back = parse_array (second, p2);
  for (unsigned i = 0; i < json_array_get_length (orig); i++)
    {
      JsonObject *o = json_array_get_object_element (orig, i);
      const char *uuid = json_object_get_string_member (o, "uuid");
      JsonObject *b = by_uuid (back, uuid);

      if (b == NULL)
        g_error ("task %s (%s) did not come back", uuid,
                 json_object_get_string_member (o, "description"));
      for (size_t f = 0; shared[f]; f++)
        {
          JsonNode *x = json_object_get_member (o, shared[f]);
          JsonNode *y = json_object_get_member (b, shared[f]);
          if (x == NULL)
            continue;
          if (y == NULL || g_strcmp0 (json_node_get_string (x), json_node_get_string (y)) != 0)
            g_error ("%s: %s was '%s', came back '%s'", uuid, shared[f], json_node_get_string (x),
                     y ? json_node_get_string (y) : "(missing)");
        }
      /* Tags, annotations, dependencies and urgency too. */
      {
        g_autoptr (JsonGenerator) gen = json_generator_new ();
        const char *arrays[] = { "tags", "annotations", "depends" };
        for (size_t f = 0; f < G_N_ELEMENTS (arrays); f++)
          {
            JsonNode *x = json_object_get_member (o, arrays[f]);
            JsonNode *y = json_object_get_member (b, arrays[f]);
            g_autofree char *xs = NULL, *ys = NULL;
            if (x == NULL)
              continue;
            g_assert_nonnull (y);
            json_generator_set_root (gen, x);
            xs = json_generator_to_data (gen, NULL);
            json_generator_set_root (gen, y);
            ys = json_generator_to_data (gen, NULL);
            g_assert_cmpstr (xs, ==, ys);
          }
      }
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "urgency"),
                                      json_object_get_double_member (b, "urgency"), 0.01);
    }

  /* lares's own urgency agrees with Taskwarrior's. */
  {
    g_autoptr (JsonNode) k = NULL;
    JsonArray *mine = list ("?status=all&limit=10000", &k);
    unsigned compared = 0;
    for (unsigned i = 0; i < json_array_get_length (mine); i++)
      {
        JsonObject *m = json_array_get_object_element (mine, i);
        JsonObject *t = by_uuid (orig, json_object_get_string_member (m, "uuid"));
        if (t == NULL || g_strcmp0 (json_object_get_string_member (t, "status"), "pending") != 0)
          continue;
        if (fabs (json_object_get_double_member (m, "urgency") -
                  json_object_get_double_member (t, "urgency")) > 0.01)
          g_error ("%s: lares urgency %f, Taskwarrior %f",
                   json_object_get_string_member (t, "description"),
                   json_object_get_double_member (m, "urgency"),
                   json_object_get_double_member (t, "urgency"));
        compared++;
      }
    g_assert_cmpuint (compared, >=, 4);
  }
  lares_test_rmdir (tmp);
}

/* ---- lares task -------------------------------------------------------------------------------
 */

static void
test_cli (void)
{
  const char *add[] = { "task",       "add",        "--project", "clip", "--tag", "x", "--due",
                        "2031-01-02", "--priority", "L",         "cli",  "task",  NULL };
  const char *bad[] = { "task", "add", "--priority", "Q", "nope", NULL };
  const char *lst[] = { "task", "list", "--project", "clip", NULL };
  const char *help[] = { "task", "--help", NULL };
  const char *nothing[] = { "task", "frob", NULL };
  g_autofree char *o1 = NULL, *e1 = NULL, *o2 = NULL, *e2 = NULL, *o3 = NULL, *e3 = NULL;
  g_autofree char *o4 = NULL, *e4 = NULL, *o5 = NULL, *e5 = NULL, *o6 = NULL, *e6 = NULL;
  g_autofree char *o7 = NULL, *e7 = NULL, *id = NULL;
  const char *done[] = { "task", "done", NULL, NULL };

  g_setenv ("LARES_TOKEN", daemon_->token, TRUE);
  g_setenv ("LARES_URL", daemon_->base, TRUE);
  g_assert_cmpint (lares_test_run (add, &o1, &e1), ==, 0);
  g_assert_true (g_str_has_prefix (o1, "Added task "));
  id = g_strndup (o1 + 11, strcspn (o1 + 11, ":"));
  g_assert_cmpint (lares_test_run (bad, &o2, &e2), ==, 2);
  g_assert_nonnull (strstr (e2, "H, M or L"));
  g_assert_cmpint (lares_test_run (lst, &o3, &e3), ==, 0);
  g_assert_nonnull (strstr (o3, "cli task"));
  done[2] = id;
  g_assert_cmpint (lares_test_run (done, &o4, &e4), ==, 0);
  g_assert_nonnull (strstr (o4, "Completed"));
  g_assert_cmpint (lares_test_run (lst, &o5, &e5), ==, 0);
  g_assert_null (strstr (o5, "cli task"));
  g_assert_cmpint (lares_test_run (help, &o6, &e6), ==, 0);
  g_assert_nonnull (strstr (o6, "Usage:"));
  g_assert_cmpint (lares_test_run (nothing, &o7, &e7), ==, 2);
}

/* ---- the chat path, no LLM --------------------------------------------------------------------
 */

static char *
chat (const char *text)
{
  g_autofree char *body = g_strdup_printf ("{\"text\":\"%s\"}", text);
  unsigned status;
  g_autoptr (JsonNode) turn = call ("POST", "/api/v1/chat", body, &status);

  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (turn), "path"), ==,
                   "intent");
  return g_strdup (json_object_get_string_member (json_node_get_object (turn), "reply"));
}

static void
test_chat (void)
{
  g_autofree char *r1 = chat ("add oat milk to my tasks");
  g_autofree char *r2 = NULL, *r3 = NULL, *r4 = NULL, *r5 = NULL;
  g_autoptr (JsonNode) k = NULL;
  JsonArray *a;
  gboolean found = FALSE;

  g_assert_nonnull (strstr (r1, "oat milk"));
  a = list ("", &k);
  for (unsigned i = 0; i < json_array_get_length (a); i++)
    found |= g_strcmp0 (json_object_get_string_member (json_array_get_object_element (a, i),
                                                       "description"),
                        "oat milk") == 0;
  g_assert_true (found);
  r2 = chat ("show my tasks");
  g_assert_nonnull (strstr (r2, "oat milk"));
  r3 = chat ("mark Oat Milk as done");
  g_assert_nonnull (strstr (r3, "Done"));
  r4 = chat ("mark oat milk as done");
  g_assert_nonnull (strstr (r4, "couldn't find"));
  /* Two that match: it asks which. */
  g_free (chat ("add call the bank to my tasks"));
  g_free (chat ("add call the bank about the loan to my tasks"));
  r5 = chat ("mark bank as done");
  g_assert_nonnull (strstr (r5, "which one"));
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  daemon_ = lares_test_daemon_start (NULL, NULL);
  g_test_add_func ("/tasks/crud", test_crud);
  g_test_add_func ("/tasks/filters-and-sort", test_filters_and_sort);
  g_test_add_func ("/tasks/users-isolated", test_users_isolated);
  g_test_add_func ("/tasks/bad-input", test_bad_input);
  g_test_add_func ("/tasks/import-export", test_import_export);
  g_test_add_func ("/tasks/taskwarrior-round-trip", test_taskwarrior_round_trip);
  g_test_add_func ("/tasks/cli", test_cli);
  g_test_add_func ("/tasks/chat", test_chat);
  rc = g_test_run ();
  g_assert_cmpint (lares_test_daemon_stop (daemon_, SIGTERM), ==, 0);
  lares_test_daemon_free (daemon_, TRUE);
  return rc;
}
