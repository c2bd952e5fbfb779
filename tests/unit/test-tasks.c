/* test-tasks.c — urgency against values the real Taskwarrior 2.6 printed
 * (`task _get N.urgency`), its date format, and parsing its JSON.
 */
#include "config.h"

#include "lares-tasks.h"

#include <string.h>

#define DAY (INT64_C (86400000))

/* 2026-11-21T09:43:43Z, when the reference values were taken. */
static const int64_t now_ms = INT64_C (1795254223000);

static void
test_urgency (void)
{
  /* Taskwarrior: buy milk project:home +shop +errand due:2026-11-25T09:30 priority:H,
   * annotated once, blocking another task → 23.6758. */
  g_autoptr (LaresTask) t = lares_task_new ();
  g_autoptr (LaresTask) r = lares_task_new ();
  g_autoptr (LaresTask) b = lares_task_new ();
  g_autoptr (LaresTask) w = lares_task_new ();
  char *tags[] = { (char *)"errand", (char *)"shop", NULL };

  g_free (t->project);
  t->project = g_strdup ("home");
  g_strfreev (t->tags);
  t->tags = g_strdupv (tags);
  t->priority[0] = 'H';
  g_assert_true (lares_task_date_parse ("20261125T093000Z", &t->due));
  t->entry = now_ms;
  t->blocking = TRUE;
  g_ptr_array_add (t->annotations, g_new0 (LaresTaskAnnotation, 1));
  ((LaresTaskAnnotation *)t->annotations->pdata[0])->description = g_strdup ("semi-skimmed");
  g_assert_cmpfloat_with_epsilon (lares_task_urgency (t, now_ms), 23.6758, 0.0005);

  /* pay rent project:home.bills due:2026-11-19, started → 14.8996. */
  g_free (r->project);
  r->project = g_strdup ("home.bills");
  g_assert_true (lares_task_date_parse ("20261119T000000Z", &r->due));
  r->start = r->entry = now_ms;
  g_assert_cmpfloat_with_epsilon (lares_task_urgency (r, now_ms), 14.8996, 0.0005);

  /* blocked, scheduled in the past, entered 2026-06-01 → 0.947945 (age in whole days). */
  g_assert_true (lares_task_date_parse ("20261101T000000Z", &b->scheduled));
  g_assert_true (lares_task_date_parse ("20260601T000000Z", &b->entry));
  b->blocked = TRUE;
  g_assert_cmpfloat_with_epsilon (lares_task_urgency (b, now_ms), 0.947945, 0.000005);

  /* waiting until December → -3. */
  g_assert_true (lares_task_date_parse ("20261201T000000Z", &w->wait));
  w->entry = now_ms;
  g_assert_cmpfloat_with_epsilon (lares_task_urgency (w, now_ms), -3.0, 1e-9);
  /* Age is capped at a year; due clamps at 0.2 and 1.0. */
  w->wait = 0;
  w->entry = now_ms - 1000 * DAY;
  g_assert_cmpfloat_with_epsilon (lares_task_urgency (w, now_ms), 2.0, 1e-9);
  w->due = now_ms + 100 * DAY;
  g_assert_cmpfloat_with_epsilon (lares_task_urgency (w, now_ms), 2.0 + 12 * 0.2, 1e-9);
  w->due = now_ms - 30 * DAY;
  g_assert_cmpfloat_with_epsilon (lares_task_urgency (w, now_ms), 2.0 + 12.0, 1e-9);
}

static void
test_dates (void)
{
  static const struct
  {
    const char *text;
    int64_t ms; /* 0: invalid */
  } cases[] = {
    { "20261121T093000Z", INT64_C (1795253400000) },
    { "2026-11-21T09:30:00Z", INT64_C (1795253400000) },
    { "2026-11-21T10:30:00+01:00", INT64_C (1795253400000) },
    { "2026-11-21T09:30:00", INT64_C (1795253400000) },
    { "2026-11-21", INT64_C (1795219200000) },
    { "20261321T093000Z", 0 },
    { "20261121T253000Z", 0 },
    { "20261121T0930000", 0 },
    { "2026-02-30", 0 },
    { "19691231T235959Z", 0 },
    { "tomorrow", 0 },
    { "", 0 },
    { "2026-11-21Tgarbage and more", 0 },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      int64_t ms = -1;
      gboolean ok = lares_task_date_parse (cases[i].text, &ms);
      if (ok != (cases[i].ms != 0) || (ok && ms != cases[i].ms))
        g_error ("case %zu '%s': ok=%d ms=%" G_GINT64_FORMAT, i, cases[i].text, ok, ms);
    }
  {
    g_autofree char *s = lares_task_date_format (INT64_C (1795253400000));
    g_assert_cmpstr (s, ==, "20261121T093000Z");
  }
}

static JsonNode *
parse (const char *text)
{
  g_autoptr (JsonParser) p = json_parser_new ();

  g_assert_true (json_parser_load_from_data (p, text, -1, NULL));
  return json_parser_steal_root (p);
}

static void
test_tw_json (void)
{
  g_autoptr (JsonNode) root = parse (
      "[{\"id\":3,\"description\":\"x\",\"entry\":\"20261121T094343Z\",\"status\":\"recurring\","
      "\"uuid\":\"C8EB43CB-951B-494B-92A9-1ED074482B6A\",\"recur\":\"weekly\",\"imask\":0,"
      "\"depends\":\"7743df27-cce3-481b-837e-468d6c10e486,da77ad0c-67c0-4215-83b4-4b2fd2de2610\","
      "\"annotations\":[{\"description\":\"n\"}],\"urgency\":1.5}]");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) tasks = lares_tasks_parse_tw (root, now_ms, &error);
  g_autoptr (JsonNode) back = NULL;
  LaresTask *t;
  JsonObject *o;

  g_assert_no_error (error);
  g_assert_cmpuint (tasks->len, ==, 1);
  t = tasks->pdata[0];
  g_assert_cmpstr (t->uuid, ==, "c8eb43cb-951b-494b-92a9-1ed074482b6a");
  g_assert_cmpint (t->status, ==, LARES_TASK_RECURRING);
  g_assert_cmpuint (g_strv_length (t->depends), ==, 2);
  g_assert_cmpint (t->modified, ==, t->entry);
  g_assert_cmpint (((LaresTaskAnnotation *)t->annotations->pdata[0])->entry, ==, t->entry);
  g_assert_true (json_object_has_member (t->extra, "recur"));
  g_assert_false (json_object_has_member (t->extra, "id"));
  g_assert_false (json_object_has_member (t->extra, "urgency"));

  back = lares_task_to_tw_json (t);
  o = json_node_get_object (back);
  g_assert_cmpstr (json_object_get_string_member (o, "entry"), ==, "20261121T094343Z");
  g_assert_cmpstr (json_object_get_string_member (o, "recur"), ==, "weekly");
  g_assert_cmpint (json_object_get_int_member (o, "imask"), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "depends")), ==, 2);

  /* Bad ones name the task and the field. */
  {
    static const char *const bad[] = {
      "{}",
      "[1]",
      "[{\"status\":\"pending\"}]",
      "[{\"description\":\"a\",\"status\":\"open\"}]",
      "[{\"description\":\"a\",\"due\":5}]",
      "[{\"description\":\"a\",\"tags\":[1]}]",
      "[{\"description\":\"a\",\"annotations\":[{}]}]",
      ("[{\"description\":\"a\",\"uuid\":\"c8eb43cb-951b-494b-92a9-1ed074482b6a\"},"
       "{\"description\":\"b\",\"uuid\":\"c8eb43cb-951b-494b-92a9-1ed074482b6a\"}]"),
    };
    for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr (JsonNode) n = parse (bad[i]);
        g_autoptr (GError) e = NULL;
        g_autoptr (GPtrArray) none = lares_tasks_parse_tw (n, now_ms, &e);
        if (none != NULL)
          g_error ("bad case %zu parsed", i);
        g_assert_error (e, LARES_TASK_ERROR, LARES_TASK_ERROR_INVALID);
      }
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tasks/urgency", test_urgency);
  g_test_add_func ("/tasks/dates", test_dates);
  g_test_add_func ("/tasks/tw-json", test_tw_json);
  return g_test_run ();
}
