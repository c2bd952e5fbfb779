/* fuzz-tasks-import.c — Taskwarrior import: the body of
 * POST /api/v1/tasks/import through lares_json_value_parse() and
 * lares_tasks_parse_tw(), then every parsed task back out through
 * lares_task_to_tw_json() and lares_task_to_json().
 *
 * Checks beyond "no crash": a failure names an error with a message; each
 * parsed task keeps the invariants lares-tasks.h states (non-empty
 * description, a 36-character lower-case uuid, priority "", H, M or L,
 * non-NULL tags and depends); and a task's export parses back to the same
 * uuid, description and times.
 */
#include "config.h"

#include "lares-fuzz.h"
#include "lares-http-parse.h"
#include "lares-tasks.h"

#include <string.h>

#define MAX_BODY (16 * 1024 * 1024)

static void
check_task (const LaresTask *t)
{
  g_autoptr (JsonNode) tw = lares_task_to_tw_json (t);
  g_autoptr (JsonNode) rest = lares_task_to_json (t);
  g_autoptr (JsonArray) one = json_array_new ();
  g_autoptr (JsonNode) arr = json_node_new (JSON_NODE_ARRAY);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) back = NULL;
  const LaresTask *b;

  g_assert_true (t->description[0] != '\0');
  g_assert_cmpuint (strlen (t->uuid), ==, 36);
  for (const char *p = t->uuid; *p; p++)
    g_assert_false (g_ascii_isupper (*p));
  g_assert_true (t->priority[0] == '\0' || strchr ("HML", t->priority[0]) != NULL);
  g_assert_nonnull (t->tags);
  g_assert_nonnull (t->depends);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (rest));

  json_array_add_element (one, json_node_copy (tw));
  json_node_set_array (arr, one);
  back = lares_tasks_parse_tw (arr, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->len, ==, 1);
  b = back->pdata[0];
  g_assert_cmpstr (b->uuid, ==, t->uuid);
  g_assert_cmpstr (b->description, ==, t->description);
  /* Taskwarrior's format has whole seconds. */
  g_assert_cmpint (b->entry / 1000, ==, t->entry / 1000);
  g_assert_cmpint (b->due / 1000, ==, t->due / 1000);
  g_assert_cmpuint (g_strv_length (b->tags), ==, g_strv_length (t->tags));
  g_assert_cmpuint (b->annotations->len, ==, t->annotations->len);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *code = NULL;
  g_autofree char *message = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GPtrArray) tasks = NULL;
  g_autoptr (GError) error = NULL;

  lares_fuzz_init ();

  root = lares_json_value_parse ((const char *)data, size, MAX_BODY, &code, &message);
  if (root == NULL)
    {
      g_assert_nonnull (code);
      g_assert_nonnull (message);
      return 0;
    }
  tasks = lares_tasks_parse_tw (root, INT64_C (1795254223000), &error);
  if (tasks == NULL)
    {
      g_assert_error (error, LARES_TASK_ERROR, LARES_TASK_ERROR_INVALID);
      return 0;
    }
  g_assert_no_error (error);
  for (unsigned i = 0; i < tasks->len; i++)
    check_task (tasks->pdata[i]);
  return 0;
}
