/* lares-tasks.c — tasks: SQL, urgency, the REST and Taskwarrior JSON shapes.
 *
 * DESIGN: the store functions are called on store threads only and keep no
 * state.  tags, annotations and depends are stored as JSON text and parsed
 * per row; "[]" (the common case) is recognised without a parser.  Urgency
 * needs to know which tasks block which: list and get read the set of
 * uuids that pending tasks depend on with one query, and check a task's
 * own dependencies with point lookups on tasks_by_uuid.
 *
 * "waiting" follows Taskwarrior 2.6: a pending task whose wait date is in
 * the future is waiting; a stored status 'waiting' (from older exports)
 * means the same, and becomes pending once the wait date has passed.
 */
#include "config.h"

#include "lares-tasks.h"

#include "lares-store.h"
#include "lares-util.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK (lares - task - error - quark, lares_task_error)

static const char *const status_names[] = { "pending", "completed", "deleted", "waiting",
                                            "recurring" };

#define MS_PER_DAY (86400.0 * 1000.0)

const char *
lares_task_status_to_string (LaresTaskStatus status)
{
  g_return_val_if_fail ((unsigned)status < G_N_ELEMENTS (status_names), "pending");
  return status_names[status];
}

gboolean
lares_task_status_from_string (const char *text, LaresTaskStatus *out)
{
  for (unsigned i = 0; text && i < G_N_ELEMENTS (status_names); i++)
    if (strcmp (text, status_names[i]) == 0)
      {
        *out = (LaresTaskStatus)i;
        return TRUE;
      }
  return FALSE;
}

static void
annotation_free (LaresTaskAnnotation *a)
{
  g_free (a->description);
  g_free (a);
}

LaresTask *
lares_task_new (void)
{
  LaresTask *t = g_new0 (LaresTask, 1);

  t->description = g_strdup ("");
  t->project = g_strdup ("");
  t->tags = g_new0 (char *, 1);
  t->depends = g_new0 (char *, 1);
  t->annotations = g_ptr_array_new_with_free_func ((GDestroyNotify)annotation_free);
  return t;
}

void
lares_task_free (LaresTask *task)
{
  if (task == NULL)
    return;
  g_free (task->description);
  g_free (task->project);
  g_strfreev (task->tags);
  g_strfreev (task->depends);
  g_ptr_array_unref (task->annotations);
  if (task->extra)
    json_object_unref (task->extra);
  g_free (task);
}

static void
add_annotation (LaresTask *t, int64_t entry, const char *text)
{
  LaresTaskAnnotation *a = g_new0 (LaresTaskAnnotation, 1);

  a->entry = entry;
  a->description = g_strdup (text);
  g_ptr_array_add (t->annotations, a);
}

static gboolean
is_waiting (const LaresTask *t, int64_t now_ms)
{
  return (t->status == LARES_TASK_PENDING || t->status == LARES_TASK_WAITING) && t->wait > now_ms;
}

/* ---- urgency -------------------------------------------------------------------------------- */

/* Taskwarrior 2.6's defaults (`task show urgency`). */
#define U_NEXT       15.0
#define U_DUE        12.0
#define U_BLOCKING   8.0
#define U_PRIO_H     6.0
#define U_PRIO_M     3.9
#define U_PRIO_L     1.8
#define U_SCHEDULED  5.0
#define U_ACTIVE     4.0
#define U_AGE        2.0
#define U_AGE_MAX    365
#define U_ANNOTATION 1.0
#define U_TAGS       1.0
#define U_PROJECT    1.0
#define U_WAITING    (-3.0)
#define U_BLOCKED    (-5.0)

/* 0.8, 0.9, 1.0 for one, two, three or more. */
static double
count_factor (size_t n)
{
  return n == 0 ? 0.0 : n == 1 ? 0.8 : n == 2 ? 0.9 : 1.0;
}

/* Due: 1.0 from 7 days overdue, 0.2 from 14 days ahead, linear between. */
static double
due_factor (int64_t due, int64_t now_ms)
{
  double days_overdue = (double)(now_ms - due) / MS_PER_DAY;

  if (days_overdue >= 7.0)
    return 1.0;
  if (days_overdue >= -14.0)
    return (days_overdue + 14.0) * 0.8 / 21.0 + 0.2;
  return 0.2;
}

double
lares_task_urgency (const LaresTask *t, int64_t now_ms)
{
  double u = 0.0;

  if (t->project[0])
    u += U_PROJECT;
  if (t->start)
    u += U_ACTIVE;
  if (t->scheduled && t->scheduled < now_ms)
    u += U_SCHEDULED;
  if (is_waiting (t, now_ms))
    u += U_WAITING;
  if (t->blocked)
    u += U_BLOCKED;
  u += U_ANNOTATION * count_factor (t->annotations->len);
  u += U_TAGS * count_factor (g_strv_length (t->tags));
  if (t->blocking)
    u += U_BLOCKING;
  if (t->due)
    u += U_DUE * due_factor (t->due, now_ms);
  if (t->entry)
    {
      /* Whole days, as Taskwarrior counts them. */
      int64_t age = (now_ms - t->entry) / (int64_t)MS_PER_DAY;
      u += U_AGE * (age > U_AGE_MAX ? 1.0 : (double)age / U_AGE_MAX);
    }
  if (t->priority[0] == 'H')
    u += U_PRIO_H;
  else if (t->priority[0] == 'M')
    u += U_PRIO_M;
  else if (t->priority[0] == 'L')
    u += U_PRIO_L;
  if (g_strv_contains ((const char *const *)t->tags, "next"))
    u += U_NEXT;
  return u;
}

/* ---- dates ---------------------------------------------------------------------------------- */

static int
digits (const char *p, int n)
{
  int v = 0;

  for (int i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit (p[i]))
        return -1;
      v = v * 10 + (p[i] - '0');
    }
  return v;
}

static gboolean
date_from (GDateTime *dt, int64_t *out_ms)
{
  int year;
  int64_t ms;

  if (dt == NULL)
    return FALSE;
  year = g_date_time_get_year (dt);
  ms = g_date_time_to_unix (dt) * 1000 + g_date_time_get_microsecond (dt) / 1000;
  g_date_time_unref (dt);
  if (year < 1970 || year > 9999 || ms <= 0)
    return FALSE;
  *out_ms = ms;
  return TRUE;
}

gboolean
lares_task_date_parse (const char *text, int64_t *out_ms)
{
  size_t len;

  if (text == NULL)
    return FALSE;
  len = strlen (text);
  /* Taskwarrior: 20261121T093000Z */
  if (len == 16 && text[8] == 'T' && text[15] == 'Z')
    {
      int y = digits (text, 4), mo = digits (text + 4, 2), d = digits (text + 6, 2);
      int h = digits (text + 9, 2), mi = digits (text + 11, 2), s = digits (text + 13, 2);
      if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0 || s > 59)
        return FALSE;
      return date_from (g_date_time_new_utc (y, mo, d, h, mi, s), out_ms);
    }
  if (len == 10 && text[4] == '-' && text[7] == '-')
    {
      int y = digits (text, 4), mo = digits (text + 5, 2), d = digits (text + 8, 2);
      if (y < 0 || mo < 0 || d < 0)
        return FALSE;
      return date_from (g_date_time_new_utc (y, mo, d, 0, 0, 0), out_ms);
    }
  if (len < 16 || len > 40 || text[10] != 'T')
    return FALSE;
  {
    g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
    return date_from (g_date_time_new_from_iso8601 (text, utc), out_ms);
  }
}

char *
lares_task_date_format (int64_t ms)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (ms / 1000);

  return dt ? g_date_time_format (dt, "%Y%m%dT%H%M%SZ") : g_strdup ("19700101T000000Z");
}

/* ---- validation helpers -----------------------------------------------------------------------
 */

static gboolean
invalid (GError **error, const char *field, const char *what)
{
  g_set_error (error, LARES_TASK_ERROR, LARES_TASK_ERROR_INVALID, "'%s' %s", field, what);
  return FALSE;
}

static const char *
node_string (JsonNode *n)
{
  if (n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
    return json_node_get_string (n);
  return NULL;
}

static gboolean
uuid_normalize (const char *in, char out[37])
{
  if (in == NULL || strlen (in) != 36)
    return FALSE;
  for (int i = 0; i < 36; i++)
    {
      char c = in[i];
      if (i == 8 || i == 13 || i == 18 || i == 23)
        {
          if (c != '-')
            return FALSE;
        }
      else if (!g_ascii_isxdigit (c))
        return FALSE;
      out[i] = g_ascii_tolower (c);
    }
  out[36] = '\0';
  return TRUE;
}

/* A name (project or tag): non-empty, bounded, no control characters;
 * tags also no spaces (Taskwarrior splits on them). */
static gboolean
check_name (const char *s, gboolean tag)
{
  if (s == NULL || *s == '\0' || g_utf8_strlen (s, -1) > LARES_TASK_NAME_MAX)
    return FALSE;
  for (const char *p = s; *p; p++)
    if ((unsigned char)*p < 0x20 || (tag && *p == ' '))
      return FALSE;
  return TRUE;
}

static gboolean
check_text (const char *s, size_t max)
{
  const char *p = s;

  if (s == NULL)
    return FALSE;
  while (g_ascii_isspace (*p))
    p++;
  return *p != '\0' && g_utf8_strlen (s, -1) <= (glong)max;
}

/* @n: a date node.  Integers are Unix ms; null clears. */
static gboolean
get_date (JsonNode *n, const char *field, int64_t *out, GError **error)
{
  if (JSON_NODE_HOLDS_NULL (n))
    {
      *out = 0;
      return TRUE;
    }
  if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64)
    {
      int64_t v = json_node_get_int (n);
      if (v <= 0 || v > INT64_C (253402300799999))
        return invalid (error, field, "is not a valid time");
      *out = v;
      return TRUE;
    }
  if (!lares_task_date_parse (node_string (n), out))
    return invalid (error, field, "is not a valid date (use 2026-11-21T09:30:00Z)");
  return TRUE;
}

static gboolean
get_tags (JsonNode *n, const char *field, char ***out, GError **error)
{
  g_autoptr (GPtrArray) tags = g_ptr_array_new_with_free_func (g_free);
  JsonArray *a;

  if (JSON_NODE_HOLDS_NULL (n))
    {
      g_strfreev (*out);
      *out = g_new0 (char *, 1);
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (n))
    return invalid (error, field, "must be an array of strings");
  a = json_node_get_array (n);
  if (json_array_get_length (a) > LARES_TASK_TAGS_MAX)
    return invalid (error, field, "has too many tags");
  for (unsigned i = 0; i < json_array_get_length (a); i++)
    {
      const char *s = node_string (json_array_get_element (a, i));
      if (!check_name (s, TRUE))
        return invalid (error, field, "must hold non-empty words without spaces");
      if (!g_ptr_array_find_with_equal_func (tags, s, g_str_equal, NULL))
        g_ptr_array_add (tags, g_strdup (s));
    }
  g_ptr_array_add (tags, NULL);
  g_strfreev (*out);
  *out = (char **)g_ptr_array_free (g_steal_pointer (&tags), FALSE);
  return TRUE;
}

/* An array of uuids, or (Taskwarrior before 2.5) a comma-separated string. */
static gboolean
get_depends (JsonNode *n, const char *field, char ***out, GError **error)
{
  g_autoptr (GPtrArray) deps = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) split = NULL;
  const char *s = node_string (n);
  unsigned count;

  if (JSON_NODE_HOLDS_NULL (n))
    count = 0;
  else if (s)
    {
      split = g_strsplit (s, ",", LARES_TASK_DEPENDS_MAX + 1);
      count = *s ? g_strv_length (split) : 0;
    }
  else if (JSON_NODE_HOLDS_ARRAY (n))
    count = json_array_get_length (json_node_get_array (n));
  else
    return invalid (error, field, "must be an array of uuids");
  if (count > LARES_TASK_DEPENDS_MAX)
    return invalid (error, field, "has too many dependencies");
  for (unsigned i = 0; i < count; i++)
    {
      char uuid[37];
      const char *u =
          split ? split[i] : node_string (json_array_get_element (json_node_get_array (n), i));
      if (!uuid_normalize (u, uuid))
        return invalid (error, field, "must hold task uuids");
      if (!g_ptr_array_find_with_equal_func (deps, uuid, g_str_equal, NULL))
        g_ptr_array_add (deps, g_strdup (uuid));
    }
  g_ptr_array_add (deps, NULL);
  g_strfreev (*out);
  *out = (char **)g_ptr_array_free (g_steal_pointer (&deps), FALSE);
  return TRUE;
}

static gboolean
get_priority (JsonNode *n, const char *field, char out[2], GError **error)
{
  const char *s = node_string (n);

  if (JSON_NODE_HOLDS_NULL (n) || (s && *s == '\0'))
    {
      out[0] = '\0';
      return TRUE;
    }
  if (s == NULL || strlen (s) != 1 || strchr ("HML", s[0]) == NULL)
    return invalid (error, field, "must be H, M or L");
  out[0] = s[0];
  out[1] = '\0';
  return TRUE;
}

static void
set_status (LaresTask *t, LaresTaskStatus status, int64_t now_ms)
{
  gboolean closed = status == LARES_TASK_COMPLETED || status == LARES_TASK_DELETED;

  if (closed && t->end == 0)
    t->end = now_ms;
  else if (!closed)
    t->end = 0;
  if (closed)
    t->start = 0;
  t->status = status;
}

/* ---- the REST shape ------------------------------------------------------------------------- */

gboolean
lares_task_apply_json (LaresTask *t, JsonObject *o, int64_t now_ms, gboolean creating,
                       GError **error)
{
  g_autoptr (GList) members = json_object_get_members (o);

  if (creating && json_object_get_member (o, "description") == NULL)
    return invalid (error, "description", "is required");
  for (GList *l = members; l; l = l->next)
    {
      const char *k = l->data;
      JsonNode *n = json_object_get_member (o, k);
      const char *s = node_string (n);

      if (strcmp (k, "description") == 0)
        {
          if (!check_text (s, LARES_TASK_DESCRIPTION_MAX))
            return invalid (error, k, "must be a non-empty string");
          g_free (t->description);
          t->description = g_strdup (s);
        }
      else if (strcmp (k, "project") == 0)
        {
          if (!JSON_NODE_HOLDS_NULL (n) && (s == NULL || (*s && !check_name (s, FALSE))))
            return invalid (error, k, "must be a short string");
          g_free (t->project);
          t->project = g_strdup (s ? s : "");
        }
      else if (strcmp (k, "tags") == 0)
        {
          if (!get_tags (n, k, &t->tags, error))
            return FALSE;
        }
      else if (strcmp (k, "priority") == 0)
        {
          if (!get_priority (n, k, t->priority, error))
            return FALSE;
        }
      else if (strcmp (k, "due") == 0)
        {
          if (!get_date (n, k, &t->due, error))
            return FALSE;
        }
      else if (strcmp (k, "scheduled") == 0)
        {
          if (!get_date (n, k, &t->scheduled, error))
            return FALSE;
        }
      else if (strcmp (k, "wait") == 0)
        {
          if (!get_date (n, k, &t->wait, error))
            return FALSE;
        }
      else if (strcmp (k, "until") == 0)
        {
          if (!get_date (n, k, &t->until, error))
            return FALSE;
        }
      else if (strcmp (k, "depends") == 0)
        {
          if (!get_depends (n, k, &t->depends, error))
            return FALSE;
        }
      else if (strcmp (k, "status") == 0)
        {
          LaresTaskStatus st;
          if (!lares_task_status_from_string (s, &st) || st == LARES_TASK_RECURRING)
            return invalid (error, k, "must be pending, completed, deleted or waiting");
          /* Waiting is a pending task with a wait date ahead. */
          set_status (t, st == LARES_TASK_WAITING ? LARES_TASK_PENDING : st, now_ms);
        }
      else if (strcmp (k, "annotate") == 0)
        {
          if (!check_text (s, LARES_TASK_DESCRIPTION_MAX))
            return invalid (error, k, "must be a non-empty string");
          if (t->annotations->len >= LARES_TASK_ANNOTATIONS_MAX)
            return invalid (error, k, "would be one annotation too many");
          add_annotation (t, now_ms, s);
        }
      else if (strcmp (k, "active") == 0)
        {
          if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
            return invalid (error, k, "must be true or false");
          if (!json_node_get_boolean (n))
            t->start = 0;
          else if (t->start == 0)
            t->start = now_ms;
        }
      else
        {
          g_set_error (error, LARES_TASK_ERROR, LARES_TASK_ERROR_INVALID, "unknown field '%s'", k);
          return FALSE;
        }
    }
  if (t->status == LARES_TASK_WAITING && t->wait == 0)
    t->status = LARES_TASK_PENDING;
  if (creating)
    t->entry = now_ms;
  t->modified = now_ms;
  return TRUE;
}

static void
add_time (JsonBuilder *b, const char *name, int64_t ms)
{
  json_builder_set_member_name (b, name);
  if (ms)
    json_builder_add_int_value (b, ms);
  else
    json_builder_add_null_value (b);
}

static void
add_strv (JsonBuilder *b, const char *name, char **v)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (char **p = v; *p; p++)
    json_builder_add_string_value (b, *p);
  json_builder_end_array (b);
}

JsonNode *
lares_task_to_json (const LaresTask *t)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  int64_t now_ms = g_get_real_time () / 1000;
  const char *status = is_waiting (t, now_ms)            ? "waiting"
                       : t->status == LARES_TASK_WAITING ? "pending"
                                                         : lares_task_status_to_string (t->status);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, t->id);
  json_builder_set_member_name (b, "uuid");
  json_builder_add_string_value (b, t->uuid);
  json_builder_set_member_name (b, "description");
  json_builder_add_string_value (b, t->description);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, status);
  json_builder_set_member_name (b, "project");
  if (t->project[0])
    json_builder_add_string_value (b, t->project);
  else
    json_builder_add_null_value (b);
  add_strv (b, "tags", t->tags);
  json_builder_set_member_name (b, "priority");
  if (t->priority[0])
    json_builder_add_string_value (b, t->priority);
  else
    json_builder_add_null_value (b);
  add_time (b, "due", t->due);
  add_time (b, "scheduled", t->scheduled);
  add_time (b, "wait", t->wait);
  add_time (b, "until", t->until);
  add_time (b, "start", t->start);
  add_time (b, "end", t->end);
  add_time (b, "entry", t->entry);
  add_time (b, "modified", t->modified);
  json_builder_set_member_name (b, "active");
  json_builder_add_boolean_value (b, t->start != 0);
  json_builder_set_member_name (b, "annotations");
  json_builder_begin_array (b);
  for (unsigned i = 0; i < t->annotations->len; i++)
    {
      const LaresTaskAnnotation *a = t->annotations->pdata[i];
      json_builder_begin_object (b);
      add_time (b, "entry", a->entry);
      json_builder_set_member_name (b, "description");
      json_builder_add_string_value (b, a->description);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  add_strv (b, "depends", t->depends);
  json_builder_set_member_name (b, "blocked");
  json_builder_add_boolean_value (b, t->blocked);
  json_builder_set_member_name (b, "blocking");
  json_builder_add_boolean_value (b, t->blocking);
  json_builder_set_member_name (b, "urgency");
  json_builder_add_double_value (b, round (t->urgency * 1e4) / 1e4);
  if (t->extra)
    {
      JsonNode *extra = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (extra, t->extra);
      json_builder_set_member_name (b, "extra");
      json_builder_add_value (b, extra);
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* ---- Taskwarrior's JSON -----------------------------------------------------------------------
 */

static void
tw_set_date (JsonObject *o, const char *name, int64_t ms)
{
  if (ms)
    {
      char *s = lares_task_date_format (ms);
      json_object_set_string_member (o, name, s);
      g_free (s);
    }
}

JsonNode *
lares_task_to_tw_json (const LaresTask *t)
{
  JsonObject *o = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  /* Taskwarrior 2.6 writes waiting tasks as pending with a wait date. */
  LaresTaskStatus st = t->status == LARES_TASK_WAITING ? LARES_TASK_PENDING : t->status;

  json_object_set_string_member (o, "description", t->description);
  tw_set_date (o, "due", t->due);
  tw_set_date (o, "end", t->end);
  tw_set_date (o, "entry", t->entry);
  tw_set_date (o, "modified", t->modified);
  if (t->priority[0])
    json_object_set_string_member (o, "priority", t->priority);
  if (t->project[0])
    json_object_set_string_member (o, "project", t->project);
  tw_set_date (o, "scheduled", t->scheduled);
  tw_set_date (o, "start", t->start);
  json_object_set_string_member (o, "status", lares_task_status_to_string (st));
  tw_set_date (o, "until", t->until);
  json_object_set_string_member (o, "uuid", t->uuid);
  tw_set_date (o, "wait", t->wait);
  if (t->annotations->len)
    {
      JsonArray *a = json_array_new ();
      for (unsigned i = 0; i < t->annotations->len; i++)
        {
          const LaresTaskAnnotation *an = t->annotations->pdata[i];
          JsonObject *ao = json_object_new ();
          tw_set_date (ao, "entry", an->entry);
          json_object_set_string_member (ao, "description", an->description);
          json_array_add_object_element (a, ao);
        }
      json_object_set_array_member (o, "annotations", a);
    }
  if (t->depends[0])
    {
      JsonArray *a = json_array_new ();
      for (char **p = t->depends; *p; p++)
        json_array_add_string_element (a, *p);
      json_object_set_array_member (o, "depends", a);
    }
  if (t->tags[0])
    {
      JsonArray *a = json_array_new ();
      for (char **p = t->tags; *p; p++)
        json_array_add_string_element (a, *p);
      json_object_set_array_member (o, "tags", a);
    }
  if (t->extra)
    {
      g_autoptr (GList) members = json_object_get_members (t->extra);
      for (GList *l = members; l; l = l->next)
        if (!json_object_has_member (o, l->data))
          json_object_set_member (o, l->data,
                                  json_node_copy (json_object_get_member (t->extra, l->data)));
    }
  json_object_set_double_member (o, "urgency", round (t->urgency * 1e4) / 1e4);
  json_node_take_object (node, o);
  return node;
}

static gboolean
tw_date_member (JsonNode *n, const char *field, int64_t *out, GError **error)
{
  if (!lares_task_date_parse (node_string (n), out))
    return invalid (error, field, "is not a Taskwarrior date (20261121T093000Z)");
  return TRUE;
}

static gboolean
tw_annotations (JsonNode *n, LaresTask *t, GError **error)
{
  JsonArray *a;

  if (!JSON_NODE_HOLDS_ARRAY (n))
    return invalid (error, "annotations", "must be an array");
  a = json_node_get_array (n);
  if (json_array_get_length (a) > LARES_TASK_ANNOTATIONS_MAX)
    return invalid (error, "annotations", "has too many items");
  for (unsigned i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      JsonObject *ao = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      JsonNode *d = ao ? json_object_get_member (ao, "description") : NULL;
      JsonNode *en = ao ? json_object_get_member (ao, "entry") : NULL;
      int64_t entry = t->entry;

      if (!check_text (node_string (d), LARES_TASK_DESCRIPTION_MAX))
        return invalid (error, "annotations", "must be objects with a description");
      if (en && !tw_date_member (en, "annotations.entry", &entry, error))
        return FALSE;
      add_annotation (t, entry, node_string (d));
    }
  return TRUE;
}

static LaresTask *
tw_task (JsonObject *o, int64_t now_ms, GError **error)
{
  g_autoptr (LaresTask) t = lares_task_new ();
  g_autoptr (GList) members = json_object_get_members (o);
  JsonNode *annotations = NULL;
  struct
  {
    const char *name;
    int64_t *field;
  } dates[] = {
    { "entry", &t->entry }, { "modified", &t->modified }, { "end", &t->end },
    { "start", &t->start }, { "due", &t->due },           { "scheduled", &t->scheduled },
    { "wait", &t->wait },   { "until", &t->until },
  };

  for (GList *l = members; l; l = l->next)
    {
      const char *k = l->data;
      JsonNode *n = json_object_get_member (o, k);
      const char *s = node_string (n);
      gboolean known = FALSE;

      for (size_t i = 0; i < G_N_ELEMENTS (dates) && !known; i++)
        if (strcmp (k, dates[i].name) == 0)
          {
            if (!tw_date_member (n, k, dates[i].field, error))
              return NULL;
            known = TRUE;
          }
      if (known || strcmp (k, "id") == 0 || strcmp (k, "urgency") == 0)
        continue;
      if (strcmp (k, "uuid") == 0)
        {
          if (!uuid_normalize (s, t->uuid))
            return invalid (error, k, "is not a uuid"), NULL;
        }
      else if (strcmp (k, "description") == 0)
        {
          if (!check_text (s, LARES_TASK_DESCRIPTION_MAX))
            return invalid (error, k, "must be a non-empty string"), NULL;
          g_free (t->description);
          t->description = g_strdup (s);
        }
      else if (strcmp (k, "status") == 0)
        {
          if (!lares_task_status_from_string (s, &t->status))
            return invalid (error, k, "is not a Taskwarrior status"), NULL;
        }
      else if (strcmp (k, "project") == 0)
        {
          if (!check_name (s, FALSE))
            return invalid (error, k, "must be a short string"), NULL;
          g_free (t->project);
          t->project = g_strdup (s);
        }
      else if (strcmp (k, "priority") == 0)
        {
          if (!get_priority (n, k, t->priority, error))
            return NULL;
        }
      else if (strcmp (k, "tags") == 0)
        {
          if (JSON_NODE_HOLDS_NULL (n))
            return invalid (error, k, "must be an array of words"), NULL;
          if (!get_tags (n, k, &t->tags, error))
            return NULL;
        }
      else if (strcmp (k, "depends") == 0)
        {
          if (JSON_NODE_HOLDS_NULL (n))
            return invalid (error, k, "must hold task uuids"), NULL;
          if (!get_depends (n, k, &t->depends, error))
            return NULL;
        }
      else if (strcmp (k, "annotations") == 0)
        annotations = n; /* after entry, their default time */
      else
        {
          if (*k == '\0' || strlen (k) > LARES_TASK_NAME_MAX)
            return invalid (error, k, "is not a field name"), NULL;
          if (t->extra == NULL)
            t->extra = json_object_new ();
          json_object_set_member (t->extra, k, json_node_copy (n));
        }
    }
  if (t->description[0] == '\0')
    return invalid (error, "description", "is required"), NULL;
  if (t->entry == 0)
    t->entry = now_ms;
  if (t->modified == 0)
    t->modified = t->entry;
  if (annotations && !tw_annotations (annotations, t, error))
    return NULL;
  if (t->uuid[0] == '\0')
    {
      g_autofree char *u = g_uuid_string_random ();
      g_strlcpy (t->uuid, u, sizeof t->uuid);
    }
  return g_steal_pointer (&t);
}

GPtrArray *
lares_tasks_parse_tw (JsonNode *root, int64_t now_ms, GError **error)
{
  g_autoptr (GPtrArray) tasks = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_task_free);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  JsonArray *a;

  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      g_set_error (error, LARES_TASK_ERROR, LARES_TASK_ERROR_INVALID,
                   "expected a JSON array of tasks (the output of `task export`)");
      return NULL;
    }
  a = json_node_get_array (root);
  for (unsigned i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      g_autoptr (GError) local = NULL;
      LaresTask *t = JSON_NODE_HOLDS_OBJECT (e)
                         ? tw_task (json_node_get_object (e), now_ms, &local)
                         : (invalid (&local, "task", "must be an object"), NULL);

      if (t == NULL)
        {
          g_set_error (error, LARES_TASK_ERROR, LARES_TASK_ERROR_INVALID, "task %u: %s", i + 1,
                       local->message);
          return NULL;
        }
      g_ptr_array_add (tasks, t);
      if (!g_hash_table_add (seen, t->uuid))
        {
          g_set_error (error, LARES_TASK_ERROR, LARES_TASK_ERROR_INVALID,
                       "task %u: uuid %s appears twice", i + 1, t->uuid);
          return NULL;
        }
    }
  return g_steal_pointer (&tasks);
}

/* ---- SQL ------------------------------------------------------------------------------------ */

#define TASK_COLUMNS                                                                               \
  "id, user_id, uuid, description, project, priority, status, entry, modified, ended, start, "     \
  "due, scheduled, wait, until, tags, annotations, depends, extra"

static char *
strv_to_json (char **v)
{
  GString *s = g_string_new ("[");

  for (char **p = v; *p; p++)
    {
      if (p != v)
        g_string_append_c (s, ',');
      lares_json_append_string (s, *p, -1);
    }
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static char *
annotations_to_json (GPtrArray *annotations)
{
  GString *s = g_string_new ("[");

  for (unsigned i = 0; i < annotations->len; i++)
    {
      const LaresTaskAnnotation *a = annotations->pdata[i];
      g_string_append_printf (s, "%s{\"entry\":%" G_GINT64_FORMAT ",\"description\":", i ? "," : "",
                              a->entry);
      lares_json_append_string (s, a->description, -1);
      g_string_append_c (s, '}');
    }
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static JsonNode *
column_json (sqlite3_stmt *stmt, int col)
{
  g_autoptr (JsonParser) parser = NULL;
  const char *text = (const char *)sqlite3_column_text (stmt, col);

  if (text == NULL || strcmp (text, "[]") == 0)
    return NULL;
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, -1, NULL))
    return NULL;
  return json_parser_steal_root (parser);
}

static char **
json_strv (JsonNode *n)
{
  GPtrArray *out = g_ptr_array_new ();

  if (n && JSON_NODE_HOLDS_ARRAY (n))
    for (unsigned i = 0; i < json_array_get_length (json_node_get_array (n)); i++)
      {
        const char *s = node_string (json_array_get_element (json_node_get_array (n), i));
        if (s)
          g_ptr_array_add (out, g_strdup (s));
      }
  g_ptr_array_add (out, NULL);
  return (char **)g_ptr_array_free (out, FALSE);
}

static LaresTask *
task_from_row (sqlite3_stmt *stmt)
{
  LaresTask *t = lares_task_new ();
  g_autoptr (JsonNode) tags = column_json (stmt, 15);
  g_autoptr (JsonNode) annotations = column_json (stmt, 16);
  g_autoptr (JsonNode) depends = column_json (stmt, 17);
  const char *extra = (const char *)sqlite3_column_text (stmt, 18);
  int64_t *times[] = { &t->entry, &t->modified,  &t->end,  &t->start,
                       &t->due,   &t->scheduled, &t->wait, &t->until };

  t->id = sqlite3_column_int64 (stmt, 0);
  t->user_id = sqlite3_column_int64 (stmt, 1);
  g_strlcpy (t->uuid, (const char *)sqlite3_column_text (stmt, 2), sizeof t->uuid);
  g_free (t->description);
  t->description = g_strdup ((const char *)sqlite3_column_text (stmt, 3));
  g_free (t->project);
  t->project = g_strdup ((const char *)sqlite3_column_text (stmt, 4));
  g_strlcpy (t->priority, (const char *)sqlite3_column_text (stmt, 5), sizeof t->priority);
  lares_task_status_from_string ((const char *)sqlite3_column_text (stmt, 6), &t->status);
  for (size_t i = 0; i < G_N_ELEMENTS (times); i++)
    *times[i] = sqlite3_column_int64 (stmt, 7 + (int)i);
  if (tags)
    {
      g_strfreev (t->tags);
      t->tags = json_strv (tags);
    }
  if (depends)
    {
      g_strfreev (t->depends);
      t->depends = json_strv (depends);
    }
  if (annotations && JSON_NODE_HOLDS_ARRAY (annotations))
    {
      JsonArray *a = json_node_get_array (annotations);
      for (unsigned i = 0; i < json_array_get_length (a); i++)
        {
          JsonObject *o = json_array_get_object_element (a, i);
          add_annotation (t, json_object_get_int_member_with_default (o, "entry", 0),
                          json_object_get_string_member_with_default (o, "description", ""));
        }
    }
  if (extra)
    {
      g_autoptr (JsonParser) parser = json_parser_new_immutable ();
      if (json_parser_load_from_data (parser, extra, -1, NULL) &&
          JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        t->extra = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
    }
  return t;
}

static void
bind_time (sqlite3_stmt *stmt, int i, int64_t ms)
{
  if (ms)
    sqlite3_bind_int64 (stmt, i, ms);
  else
    sqlite3_bind_null (stmt, i);
}

/* Bind the task's fields to ?2..?19 (?1 is the user, ?20 the id). */
static void
bind_task (sqlite3_stmt *stmt, const LaresTask *t, char **tags, char **annotations, char **depends,
           char **extra)
{
  *tags = strv_to_json (t->tags);
  *annotations = annotations_to_json (t->annotations);
  *depends = strv_to_json (t->depends);
  if (t->extra)
    {
      JsonNode *n = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (n, t->extra);
      *extra = json_to_string (n, FALSE);
      json_node_unref (n);
    }
  sqlite3_bind_text (stmt, 2, t->uuid, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, t->description, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, t->project, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 5, t->priority, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 6, lares_task_status_to_string (t->status), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 7, t->entry);
  sqlite3_bind_int64 (stmt, 8, t->modified);
  bind_time (stmt, 9, t->end);
  bind_time (stmt, 10, t->start);
  bind_time (stmt, 11, t->due);
  bind_time (stmt, 12, t->scheduled);
  bind_time (stmt, 13, t->wait);
  bind_time (stmt, 14, t->until);
  sqlite3_bind_text (stmt, 15, *tags, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 16, *annotations, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 17, *depends, -1, SQLITE_STATIC);
  if (*extra)
    sqlite3_bind_text (stmt, 18, *extra, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, 18);
}

gboolean
lares_tasks_insert (sqlite3 *db, int64_t user_id, LaresTask *task, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "INSERT INTO tasks (user_id, uuid, description, project, priority, status, entry, "
      "modified, ended, start, due, scheduled, wait, until, tags, annotations, depends, extra) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
      error);
  g_autofree char *tags = NULL, *annotations = NULL, *depends = NULL, *extra = NULL;
  int rc;

  if (stmt == NULL)
    return FALSE;
  if (task->uuid[0] == '\0')
    {
      g_autofree char *u = g_uuid_string_random ();
      g_strlcpy (task->uuid, u, sizeof task->uuid);
    }
  sqlite3_bind_int64 (stmt, 1, user_id);
  bind_task (stmt, task, &tags, &annotations, &depends, &extra);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  task->id = sqlite3_last_insert_rowid (db);
  task->user_id = user_id;
  return TRUE;
}

gboolean
lares_tasks_update (sqlite3 *db, int64_t user_id, LaresTask *task, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db,
                        "UPDATE tasks SET uuid = ?2, description = ?3, project = ?4, "
                        "priority = ?5, status = ?6, entry = ?7, modified = ?8, ended = ?9, "
                        "start = ?10, due = ?11, scheduled = ?12, wait = ?13, until = ?14, "
                        "tags = ?15, annotations = ?16, depends = ?17, extra = ?18 "
                        "WHERE user_id = ?1 AND id = ?19",
                        error);
  g_autofree char *tags = NULL, *annotations = NULL, *depends = NULL, *extra = NULL;
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  bind_task (stmt, task, &tags, &annotations, &depends, &extra);
  sqlite3_bind_int64 (stmt, 19, task->id);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  if (sqlite3_changes (db) == 0)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND,
                   "no task %" G_GINT64_FORMAT, task->id);
      return FALSE;
    }
  return TRUE;
}

gboolean
lares_tasks_delete (sqlite3 *db, int64_t user_id, int64_t id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db, "DELETE FROM tasks WHERE user_id = ?1 AND id = ?2", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  if (sqlite3_changes (db) == 0)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND,
                   "no task %" G_GINT64_FORMAT, id);
      return FALSE;
    }
  return TRUE;
}

gboolean
lares_tasks_delete_many (sqlite3 *db, int64_t user_id, const int64_t *ids, unsigned n,
                         GArray **deleted, GError **error)
{
  return lares_sql_delete_ids (db, "DELETE FROM tasks WHERE user_id = ?1 AND id = ?2", user_id, ids,
                               n, deleted, error);
}

#define OPEN_STATUS "status IN ('pending', 'waiting')"

/* The uuids that open tasks depend on.  (transfer full) */
static GHashTable *
blocking_set (sqlite3 *db, int64_t user_id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db, "SELECT depends FROM tasks WHERE user_id = ?1 AND " OPEN_STATUS " AND depends <> '[]'",
      error);
  g_autoptr (GHashTable) set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autoptr (JsonNode) deps = column_json (stmt, 0);
      g_auto (GStrv) v = json_strv (deps);
      for (char **p = v; *p; p++)
        g_hash_table_add (set, g_steal_pointer (p));
    }
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  return g_steal_pointer (&set);
}

static gboolean
is_open (LaresTaskStatus s)
{
  return s == LARES_TASK_PENDING || s == LARES_TASK_WAITING;
}

/* Fill blocked, blocking and urgency of @tasks. */
static gboolean
compute_urgency (sqlite3 *db, int64_t user_id, GPtrArray *tasks, int64_t now_ms, GError **error)
{
  g_autoptr (GHashTable) blocking = blocking_set (db, user_id, error);
  g_autoptr (sqlite3_stmt) open_dep = NULL;

  if (blocking == NULL)
    return FALSE;
  for (unsigned i = 0; i < tasks->len; i++)
    {
      LaresTask *t = tasks->pdata[i];

      t->blocking = is_open (t->status) && g_hash_table_contains (blocking, t->uuid);
      t->blocked = FALSE;
      for (char **d = t->depends; *d && !t->blocked; d++)
        {
          int rc;
          if (open_dep == NULL)
            {
              open_dep = lares_sql_cached (db,
                                           "SELECT 1 FROM tasks WHERE user_id = ?1 AND uuid = ?2 "
                                           "AND " OPEN_STATUS,
                                           error);
              if (open_dep == NULL)
                return FALSE;
            }
          sqlite3_reset (open_dep);
          sqlite3_bind_int64 (open_dep, 1, user_id);
          sqlite3_bind_text (open_dep, 2, *d, -1, SQLITE_TRANSIENT);
          rc = sqlite3_step (open_dep);
          if (rc == SQLITE_ROW)
            t->blocked = TRUE;
          else if (rc != SQLITE_DONE)
            return lares_sql_throw (db, rc, error);
        }
      t->urgency = lares_task_urgency (t, now_ms);
    }
  return TRUE;
}

LaresTask *
lares_tasks_get (sqlite3 *db, int64_t user_id, int64_t id, int64_t now_ms, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db, "SELECT " TASK_COLUMNS " FROM tasks WHERE user_id = ?1 AND id = ?2", error);
  g_autoptr (GPtrArray) one = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_task_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      if (rc == SQLITE_DONE)
        g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND,
                     "no task %" G_GINT64_FORMAT, id);
      else
        lares_sql_throw (db, rc, error);
      return NULL;
    }
  g_ptr_array_add (one, task_from_row (stmt));
  if (!compute_urgency (db, user_id, one, now_ms, error))
    return NULL;
  return g_ptr_array_steal_index (one, 0);
}

static int
by_urgency (gconstpointer a, gconstpointer b)
{
  const LaresTask *x = *(LaresTask *const *)a, *y = *(LaresTask *const *)b;

  if (x->urgency != y->urgency)
    return x->urgency > y->urgency ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

GPtrArray *
lares_tasks_list (sqlite3 *db, int64_t user_id, const LaresTaskFilter *f, int64_t now_ms,
                  GError **error)
{
  g_autoptr (GString) sql = g_string_new ("SELECT " TASK_COLUMNS " FROM tasks WHERE user_id = ?1");
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autoptr (GPtrArray) tasks = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_task_free);
  int rc;

  switch (f->status)
    {
    case -1:
      break;
    case LARES_TASK_PENDING:
      g_string_append (sql, " AND " OPEN_STATUS " AND (wait IS NULL OR wait <= ?2)");
      break;
    case LARES_TASK_WAITING:
      g_string_append (sql, " AND " OPEN_STATUS " AND wait > ?2");
      break;
    default:
      g_string_append (sql, " AND status = ?3");
      break;
    }
  if (f->project)
    g_string_append (sql, " AND (project = ?4 OR substr(project, 1, length(?4) + 1) = ?4 || '.')");
  if (f->tag)
    g_string_append (sql, " AND EXISTS (SELECT 1 FROM json_each(tasks.tags) WHERE value = ?5)");
  if (f->due_before)
    g_string_append (sql, " AND due < ?6");
  if (f->due_after)
    g_string_append (sql, " AND due >= ?7");
  g_string_append (sql, " ORDER BY id");
  if (f->limit && !f->by_urgency)
    g_string_append (sql, " LIMIT ?8");
  stmt = lares_sql_prepare (db, sql->str, error);
  if (stmt == NULL)
    return NULL;
  /* Parameters a query does not use are out of range: harmless. */
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, now_ms);
  if (f->status >= 0)
    sqlite3_bind_text (stmt, 3, lares_task_status_to_string (f->status), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, f->project, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 5, f->tag, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 6, f->due_before);
  sqlite3_bind_int64 (stmt, 7, f->due_after);
  sqlite3_bind_int64 (stmt, 8, f->limit);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (tasks, task_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  if (!compute_urgency (db, user_id, tasks, now_ms, error))
    return NULL;
  if (f->by_urgency)
    {
      g_ptr_array_sort (tasks, by_urgency);
      if (f->limit && tasks->len > f->limit)
        g_ptr_array_set_size (tasks, f->limit);
    }
  return g_steal_pointer (&tasks);
}

gboolean
lares_tasks_import (sqlite3 *db, int64_t user_id, GPtrArray *tasks, unsigned *added,
                    unsigned *updated, GError **error)
{
  g_autoptr (sqlite3_stmt) find =
      lares_sql_cached (db, "SELECT id FROM tasks WHERE user_id = ?1 AND uuid = ?2", error);
  unsigned n_added = 0, n_updated = 0;

  if (find == NULL)
    return FALSE;
  for (unsigned i = 0; i < tasks->len; i++)
    {
      LaresTask *t = tasks->pdata[i];
      int rc;

      sqlite3_reset (find);
      sqlite3_bind_int64 (find, 1, user_id);
      sqlite3_bind_text (find, 2, t->uuid, -1, SQLITE_STATIC);
      rc = sqlite3_step (find);
      if (rc == SQLITE_ROW)
        {
          t->id = sqlite3_column_int64 (find, 0);
          if (!lares_tasks_update (db, user_id, t, error))
            return FALSE;
          n_updated++;
        }
      else if (rc == SQLITE_DONE)
        {
          if (!lares_tasks_insert (db, user_id, t, error))
            return FALSE;
          n_added++;
        }
      else
        return lares_sql_throw (db, rc, error);
    }
  if (added)
    *added = n_added;
  if (updated)
    *updated = n_updated;
  return TRUE;
}

char **
lares_tasks_project_names (sqlite3 *db, int64_t user_id, GError **error)
{
  g_autoptr (sqlite3_stmt) st =
      lares_sql_cached (db,
                        "SELECT DISTINCT project FROM tasks WHERE user_id = ?1 AND project != '' "
                        "AND status IN ('pending', 'waiting') ORDER BY project LIMIT 1000",
                        error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  int rc;

  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, user_id);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (names, g_strdup ((const char *)sqlite3_column_text (st, 0)));
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  g_ptr_array_add (names, NULL);
  return (char **)g_ptr_array_free (g_steal_pointer (&names), FALSE);
}
