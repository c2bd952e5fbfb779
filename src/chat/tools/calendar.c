/* tools/calendar.c — calendar.create, calendar.list, calendar.delete and
 * calendar.delete_many.
 *
 * DESIGN: like tools/tasks.c, each handler runs one store job and finishes
 * its call from the job's callback on the main context.  Writes keep the
 * event's reminder job in step in the same transaction; the scheduler
 * hears of it, and the user's connections of the change, after COMMIT.
 * calendar.delete removes ONE event (low risk).  calendar.delete_many is
 * high risk: its planner resolves the filter (ids, title, range) to the
 * event ids it names, and the approved run deletes those of them that
 * still match, with lares_events_delete_many() in one write, so an event
 * added or moved after the approval was asked is never deleted by it.
 */
#include "config.h"

#include "lares-tools-calendar.h"

#include "lares-events.h"

#include <string.h>

#define LIST_SHOWN        20
#define LIST_DEFAULT_DAYS 7

typedef struct
{
  LaresToolCall *call;
  LaresStore *store;
  LaresScheduler *scheduler;
  int64_t user_id;
  int64_t now_ms;
  GTimeZone *tz;
  char *tzid;
  JsonObject *fields;     /* calendar.create: the event, REST shape (owned) */
  LaresEvent *event;      /* created or deleted (owned) */
  LaresJob *job;          /* its reminder job after the write (owned) */
  GArray *job_ids;        /* pending jobs that went with a deleted event */
  GPtrArray *events;      /* list: what occurrences borrow from; delete: candidates */
  GPtrArray *occurrences; /* list */
  gboolean truncated;
  int64_t from, to, id;
  char *title;
  GArray *ids;             /* delete_many: the ids asked for (int64_t), nullable */
  GArray *deleted;         /* delete_many: ids deleted (int64_t) */
  LaresEventFilter filter; /* delete_many: borrows ids, title */
} CalOp;

static CalOp *
op_new (LaresToolCall *call)
{
  CalOp *op = g_new0 (CalOp, 1);
  const char *name;

  op->call = call;
  op->store = call->ctx->store;
  op->scheduler = call->ctx->scheduler;
  op->user_id = call->ctx->user_id;
  op->now_ms = g_date_time_to_unix (call->ctx->now) * 1000;
  op->tz = g_time_zone_ref (g_date_time_get_timezone (call->ctx->now));
  name = g_time_zone_get_identifier (op->tz);
  op->tzid = lares_event_default_tzid (name);
  return op;
}

static void
op_free (CalOp *op)
{
  g_time_zone_unref (op->tz);
  g_free (op->tzid);
  if (op->fields)
    json_object_unref (op->fields);
  lares_event_free (op->event);
  lares_job_free (op->job);
  if (op->job_ids)
    g_array_unref (op->job_ids);
  if (op->occurrences)
    g_ptr_array_unref (op->occurrences);
  if (op->events)
    g_ptr_array_unref (op->events);
  g_free (op->title);
  if (op->ids)
    g_array_unref (op->ids);
  if (op->deleted)
    g_array_unref (op->deleted);
  g_free (op);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CalOp, op_free)

static void
track (CalOp *op)
{
  if (op->scheduler == NULL)
    return;
  if (op->job)
    lares_scheduler_track (op->scheduler, op->job);
  for (unsigned i = 0; op->job_ids && i < op->job_ids->len; i++)
    {
      LaresJob gone = { 0 };

      gone.id = g_array_index (op->job_ids, int64_t, i);
      gone.user_id = op->user_id;
      gone.status = LARES_JOB_CANCELLED;
      lares_scheduler_track (op->scheduler, &gone);
    }
}

/* "Fri 27 Nov 15:00–16:00", "Fri 27 Nov (all day)" in the user's zone. */
static void
describe_when (CalOp *op, GString *s, const LaresEvent *ev, int64_t start, int64_t end)
{
  g_autoptr (GDateTime) u1 = NULL, u2 = NULL, l1 = NULL, l2 = NULL;
  g_autofree char *a = NULL, *b = NULL;

  if (ev->all_day)
    {
      u1 = g_date_time_new_from_unix_utc (start / 1000);
      a = u1 ? g_date_time_format (u1, "%a %-d %b") : g_strdup ("?");
      if (end - start > 86400000)
        {
          u2 = g_date_time_new_from_unix_utc ((end - 86400000) / 1000);
          b = u2 ? g_date_time_format (u2, "%a %-d %b") : g_strdup ("?");
          g_string_append_printf (s, "%s to %s (all day)", a, b);
        }
      else
        g_string_append_printf (s, "%s (all day)", a);
      return;
    }
  u1 = g_date_time_new_from_unix_utc (start / 1000);
  u2 = g_date_time_new_from_unix_utc (end / 1000);
  l1 = u1 ? g_date_time_to_timezone (u1, op->tz) : NULL;
  l2 = u2 ? g_date_time_to_timezone (u2, op->tz) : NULL;
  if (l1 == NULL || l2 == NULL)
    {
      g_string_append (s, "?");
      return;
    }
  a = g_date_time_format (l1, "%a %-d %b %H:%M");
  if (end == start)
    g_string_append (s, a);
  else if (g_date_time_get_year (l1) == g_date_time_get_year (l2) &&
           g_date_time_get_day_of_year (l1) == g_date_time_get_day_of_year (l2))
    {
      b = g_date_time_format (l2, "%H:%M");
      g_string_append_printf (s, "%s–%s", a, b);
    }
  else
    {
      b = g_date_time_format (l2, "%a %-d %b %H:%M");
      g_string_append_printf (s, "%s to %s", a, b);
    }
}

/* ---- calendar.create ------------------------------------------------------------------------ */

static gboolean
create_run (sqlite3 *db, gpointer data, GError **error)
{
  CalOp *op = data;
  LaresEvent *ev = lares_event_new ();

  op->event = ev;
  ev->user_id = op->user_id;
  g_free (ev->tzid);
  ev->tzid = g_strdup (op->tzid);
  return lares_event_apply_json (ev, op->fields, TRUE, error) &&
         lares_events_insert (db, ev, op->now_ms, &op->job, error);
}

static void
create_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (CalOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new ("Added \"");
  JsonObject *o;

  if (!lares_store_write_finish (op->store, res, &error))
    {
      lares_tool_call_fail (op->call, "could not add the event: %s", error->message);
      return;
    }
  track (op);
  {
    /* The same change the REST route announces. */
    g_autoptr (JsonNode) row = lares_event_to_json (op->event, TRUE);
    lares_bus_publish_change (op->call->ctx->bus, op->user_id, "event_created", "event", row, 0);
  }
  g_string_append (text, op->event->title);
  g_string_append (text, "\" to your calendar: ");
  describe_when (op, text, op->event, op->event->start_at, op->event->end_at);
  if (op->event->rrule)
    g_string_append (text, ", repeating");
  if (op->event->remind_minutes >= 0)
    g_string_append_printf (text, "; I'll remind you %d minute%s before", op->event->remind_minutes,
                            op->event->remind_minutes == 1 ? "" : "s");
  g_string_append_c (text, '.');
  o = json_object_new ();
  json_object_set_member (o, "event", lares_event_to_json (op->event, FALSE));
  lares_tool_call_return (op->call, lares_tool_result (o, text->str));
}

static void
copy_member (JsonObject *to, JsonObject *from, const char *name, const char *as)
{
  if (json_object_has_member (from, name) &&
      !JSON_NODE_HOLDS_NULL (json_object_get_member (from, name)))
    json_object_set_member (to, as, json_node_copy (json_object_get_member (from, name)));
}

static void
tool_calendar_create (LaresToolCall *call)
{
  g_autoptr (CalOp) op = op_new (call);
  JsonObject *a = call->args;
  static const char *const same[] = { "title",          "start",    "end",         "duration",
                                      "all_day",        "location", "description", "rrule",
                                      "remind_minutes", "tz",       NULL };

  op->fields = json_object_new ();
  for (unsigned i = 0; same[i]; i++)
    copy_member (op->fields, a, same[i], same[i]);
  lares_store_write_async (op->store, create_run, op, NULL, create_done, op);
  g_steal_pointer (&op);
}

/* ---- calendar.list -------------------------------------------------------------------------- */

static gboolean
list_run (sqlite3 *db, gpointer data, GError **error)
{
  CalOp *op = data;

  op->occurrences =
      lares_events_between (db, op->user_id, op->from, op->to, &op->events, &op->truncated, error);
  return op->occurrences != NULL;
}

static void
list_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (CalOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  JsonArray *list;
  JsonObject *o;
  unsigned n;

  if (!lares_store_read_finish (op->store, res, &error))
    {
      lares_tool_call_fail (op->call, "could not read your calendar: %s", error->message);
      return;
    }
  n = op->occurrences->len;
  if (n == 0)
    g_string_append (text, "Nothing on your calendar then.");
  else
    g_string_append_printf (text, "You have %u event%s%s:", n, n == 1 ? "" : "s",
                            op->truncated ? " (at least)" : "");
  list = json_array_new ();
  for (unsigned i = 0; i < n; i++)
    {
      const LaresOccurrence *occ = op->occurrences->pdata[i];

      if (i < LIST_SHOWN)
        {
          g_string_append (text, "\n- ");
          describe_when (op, text, occ->event, occ->start_at, occ->end_at);
          g_string_append_printf (text, " %s", occ->title);
          if (occ->location && *occ->location)
            g_string_append_printf (text, " (%s)", occ->location);
        }
      json_array_add_element (list, lares_occurrence_to_json (occ));
    }
  if (n > LIST_SHOWN)
    g_string_append_printf (text, "\n… and %u more.", n - LIST_SHOWN);
  o = json_object_new ();
  json_object_set_array_member (o, "occurrences", list);
  lares_tool_call_return (op->call, lares_tool_result (o, text->str));
}

static gboolean
arg_time (CalOp *op, const char *name, int64_t *out)
{
  const char *s = json_object_get_string_member_with_default (op->call->args, name, NULL);
  gboolean is_date;

  if (s == NULL || *s == '\0')
    return TRUE;
  if (lares_event_parse_time (s, op->tz, out, &is_date))
    {
      if (is_date)
        {
          /* A day: from its midnight in the user's zone. */
          g_autoptr (GDateTime) u = g_date_time_new_from_unix_utc (*out / 1000);
          g_autoptr (GDateTime) l =
              g_date_time_new (op->tz, g_date_time_get_year (u), g_date_time_get_month (u),
                               g_date_time_get_day_of_month (u), 0, 0, 0);
          *out = g_date_time_to_unix (l) * 1000;
        }
      return TRUE;
    }
  lares_tool_call_fail (op->call, "%s: not a date and time", name);
  return FALSE;
}

static void
tool_calendar_list (LaresToolCall *call)
{
  g_autoptr (CalOp) op = op_new (call);

  op->from = op->now_ms;
  op->to = 0;
  if (!arg_time (op, "from", &op->from) || !arg_time (op, "to", &op->to))
    {
      op->call = NULL;
      return;
    }
  if (op->to == 0)
    op->to = op->from + (int64_t)LIST_DEFAULT_DAYS * 86400000;
  if (op->to <= op->from || op->to - op->from > LARES_EVENTS_RANGE_MAX_MS)
    {
      lares_tool_call_fail (call, "the range must be forward and at most a year long");
      return;
    }
  lares_store_read_async (op->store, list_run, op, NULL, list_done, op);
  g_steal_pointer (&op);
}

/* ---- calendar.delete ------------------------------------------------------------------------ */

static char *
fold (const char *s)
{
  g_autofree char *norm = g_utf8_normalize (s, -1, G_NORMALIZE_ALL);
  g_autofree char *folded = g_utf8_casefold (norm ? norm : "", -1);

  return g_strdup (g_strstrip (folded));
}

static gboolean
delete_run (sqlite3 *db, gpointer data, GError **error)
{
  CalOp *op = data;
  LaresEvent *target = NULL;

  op->job_ids = g_array_new (FALSE, FALSE, sizeof (int64_t));
  if (op->id > 0)
    {
      op->event = lares_events_get (db, op->user_id, op->id, error);
      if (op->event == NULL)
        return FALSE;
      return lares_events_delete (db, op->user_id, op->id, op->job_ids, error);
    }
  {
    LaresEventFilter f = { 0 };
    g_autofree char *want = fold (op->title);
    unsigned exact = 0;

    f.title_contains = op->title;
    op->events = lares_events_select (db, op->user_id, &f, error);
    if (op->events == NULL)
      return FALSE;
    for (unsigned i = 0; i < op->events->len; i++)
      {
        LaresEvent *ev = op->events->pdata[i];
        g_autofree char *have = fold (ev->title);

        if (strcmp (have, want) == 0)
          exact++, target = ev;
      }
    if (exact != 1)
      target = op->events->len == 1 ? op->events->pdata[0] : NULL;
    if (target == NULL)
      return TRUE; /* none, or several: ask */
    op->event = lares_event_copy (target);
  }
  return lares_events_delete (db, op->user_id, op->event->id, op->job_ids, error);
}

static void
delete_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (CalOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  JsonObject *o;

  if (!lares_store_write_finish (op->store, res, &error))
    {
      lares_tool_call_fail (op->call, "could not delete the event: %s", error->message);
      return;
    }
  track (op);
  o = json_object_new ();
  if (op->event)
    {
      lares_bus_publish_change (op->call->ctx->bus, op->user_id, "event_deleted", NULL, NULL,
                                op->event->id);
      g_string_append_printf (text, "Deleted \"%s\" (", op->event->title);
      describe_when (op, text, op->event, op->event->start_at, op->event->end_at);
      g_string_append (text, op->event->rrule ? ", and every repeat) from your calendar."
                                              : ") from your calendar.");
      json_object_set_member (o, "event", lares_event_to_json (op->event, FALSE));
    }
  else if (op->events->len == 0)
    g_string_append_printf (text, "I couldn't find an event called \"%s\".", op->title);
  else
    {
      JsonArray *list = json_array_new ();

      g_string_append_printf (text, "%u events match \"%s\"; which one?", op->events->len,
                              op->title);
      for (unsigned i = 0; i < op->events->len; i++)
        {
          const LaresEvent *ev = op->events->pdata[i];

          if (i < LIST_SHOWN)
            {
              g_string_append_printf (text, "\n%u. %s, ", i + 1, ev->title);
              describe_when (op, text, ev, ev->start_at, ev->end_at);
              g_string_append_printf (text, " (#%" G_GINT64_FORMAT ")", ev->id);
            }
          json_array_add_element (list, lares_event_to_json (ev, FALSE));
        }
      json_object_set_array_member (o, "matches", list);
    }
  json_object_set_boolean_member (o, "deleted", op->event != NULL);
  lares_tool_call_return (op->call, lares_tool_result (o, text->str));
}

static void
tool_calendar_delete (LaresToolCall *call)
{
  g_autoptr (CalOp) op = op_new (call);

  op->id = json_object_get_int_member_with_default (call->args, "id", 0);
  op->title =
      g_strstrip (g_strdup (json_object_get_string_member_with_default (call->args, "title", "")));
  if (op->id <= 0 && *op->title == '\0')
    {
      lares_tool_call_fail (call, "say which event to delete");
      return;
    }
  lares_store_write_async (op->store, delete_run, op, NULL, delete_done, op);
  g_steal_pointer (&op);
}

/* ---- calendar.delete_many (high risk) ------------------------------------------------------- */

#define DELETE_MAX   1000 /* events one approval may delete */
#define DELETE_NAMED 3    /* titles a summary names */

static const char *
arg_string (JsonObject *a, const char *name)
{
  JsonNode *n = json_object_get_member (a, name);

  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
             ? json_node_get_string (n)
             : NULL;
}

/* Read the filter from the arguments; FALSE after failing the call. */
static gboolean
delete_many_filter (CalOp *op)
{
  JsonObject *a = op->call->args;
  JsonNode *ids = json_object_get_member (a, "ids");
  const char *from = arg_string (a, "from"), *to = arg_string (a, "to");
  gboolean has_from = from && *from, has_to = to && *to;

  if (ids && JSON_NODE_HOLDS_ARRAY (ids))
    {
      JsonArray *arr = json_node_get_array (ids);

      if (json_array_get_length (arr) == 0)
        {
          lares_tool_call_fail (op->call, "ids: give at least one event id");
          return FALSE;
        }
      op->ids = g_array_new (FALSE, FALSE, sizeof (int64_t));
      for (unsigned i = 0; i < json_array_get_length (arr); i++)
        {
          int64_t id = json_array_get_int_element (arr, i);
          g_array_append_val (op->ids, id);
        }
    }
  op->title = g_strstrip (g_strdup (arg_string (a, "title") ? arg_string (a, "title") : ""));
  if (has_from != has_to)
    {
      lares_tool_call_fail (op->call, "give both from and to for a range, or neither");
      return FALSE;
    }
  if (has_from)
    {
      if (!arg_time (op, "from", &op->from) || !arg_time (op, "to", &op->to))
        return FALSE;
      if (op->to <= op->from || op->to - op->from > LARES_EVENTS_RANGE_MAX_MS)
        {
          lares_tool_call_fail (op->call, "the range must be forward and at most a year long");
          return FALSE;
        }
    }
  if (op->ids == NULL && *op->title == '\0' && !has_from)
    {
      lares_tool_call_fail (op->call, "say which events to delete: a day or a time range (from "
                                      "and to), words in their title, or their ids");
      return FALSE;
    }
  if (op->ids)
    {
      op->filter.ids = (const int64_t *)(void *)op->ids->data;
      op->filter.n_ids = op->ids->len;
    }
  op->filter.title_contains = *op->title ? op->title : NULL;
  op->filter.from_ms = has_from ? op->from : 0;
  op->filter.to_ms = has_from ? op->to : 0;
  return TRUE;
}

static gboolean
delete_many_plan_run (sqlite3 *db, gpointer data, GError **error)
{
  CalOp *op = data;

  op->events = lares_events_select (db, op->user_id, &op->filter, error);
  return op->events != NULL;
}

static gboolean
same_day (GDateTime *a, GDateTime *b)
{
  return g_date_time_get_year (a) == g_date_time_get_year (b) &&
         g_date_time_get_day_of_year (a) == g_date_time_get_day_of_year (b);
}

static gboolean
is_midnight (GDateTime *t)
{
  return g_date_time_get_hour (t) == 0 && g_date_time_get_minute (t) == 0 &&
         g_date_time_get_second (t) == 0;
}

/* "on Fri 27 Nov", "between Mon 23 Nov and Sun 29 Nov" (the range ends at
 * the midnight after the last day), "on Fri 27 Nov between 14:00 and
 * 18:00", in the user's zone. */
static void
describe_range (CalOp *op, GString *s)
{
  g_autoptr (GDateTime) u1 = g_date_time_new_from_unix_utc (op->from / 1000);
  g_autoptr (GDateTime) u2 = g_date_time_new_from_unix_utc (op->to / 1000);
  g_autoptr (GDateTime) l1 = u1 ? g_date_time_to_timezone (u1, op->tz) : NULL;
  g_autoptr (GDateTime) l2 = u2 ? g_date_time_to_timezone (u2, op->tz) : NULL;
  g_autoptr (GDateTime) last = NULL;
  g_autofree char *a = NULL, *b = NULL;
  const char *day;

  if (l1 == NULL || l2 == NULL)
    {
      g_string_append (s, "in that time");
      return;
    }
  if (is_midnight (l1) && is_midnight (l2))
    {
      last = g_date_time_add_days (l2, -1);
      day = g_date_time_get_year (l1) == g_date_time_get_year (last) ? "%a %-d %b" : "%a %-d %b %Y";
      a = g_date_time_format (l1, day);
      if (same_day (l1, last))
        g_string_append_printf (s, "on %s", a);
      else
        {
          b = g_date_time_format (last, day);
          g_string_append_printf (s, "between %s and %s", a, b);
        }
      return;
    }
  if (same_day (l1, l2))
    {
      a = g_date_time_format (l1, "%a %-d %b");
      b = g_date_time_format (l1, "%H:%M");
      g_string_append_printf (s, "on %s between %s and ", a, b);
      g_free (b);
      b = g_date_time_format (l2, "%H:%M");
      g_string_append (s, b);
      return;
    }
  a = g_date_time_format (l1, "%a %-d %b %H:%M");
  b = g_date_time_format (l2, "%a %-d %b %H:%M");
  g_string_append_printf (s, "between %s and %s", a, b);
}

/* TRUE when every event's title is @title (case-insensitive): "called X"
 * is then the whole truth, else "with X in the title". */
static gboolean
all_called (GPtrArray *events, const char *title)
{
  g_autofree char *want = fold (title);

  for (unsigned i = 0; i < events->len; i++)
    {
      g_autofree char *have = fold (((LaresEvent *)events->pdata[i])->title);
      if (strcmp (have, want) != 0)
        return FALSE;
    }
  return TRUE;
}

static void
delete_many_plan_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (CalOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  gboolean ranged = op->filter.to_ms > op->filter.from_ms;
  gboolean called;
  unsigned n, repeating = 0;
  JsonArray *ids;
  JsonObject *o;

  if (!lares_store_read_finish (op->store, res, &error))
    {
      lares_tool_call_fail (op->call, "could not read your calendar: %s", error->message);
      return;
    }
  n = op->events->len;
  if (n > DELETE_MAX)
    {
      lares_tool_call_fail (op->call, "that is %u events; I delete at most %u at once", n,
                            DELETE_MAX);
      return;
    }
  o = json_object_new ();
  ids = json_array_new ();
  for (unsigned i = 0; i < n; i++)
    {
      const LaresEvent *ev = op->events->pdata[i];

      json_array_add_int_element (ids, ev->id);
      repeating += ev->rrule != NULL;
    }
  json_object_set_array_member (o, "ids", ids);
  json_object_set_int_member (o, "count", n);
  json_object_set_int_member (o, "repeating", repeating);
  called = op->filter.title_contains && all_called (op->events, op->title);
  if (n == 0 && op->filter.title_contains == NULL && !ranged)
    g_string_append (text, "None of those events exist, so there is nothing to delete.");
  else
    {
      if (n == 0)
        g_string_append (text, "There are no events");
      else
        g_string_append_printf (text, "Delete %u %s", n, n == 1 ? "event" : "events");
      if (op->filter.title_contains)
        g_string_append_printf (text, called ? " called \"%s\"" : " with \"%s\" in the title",
                                op->title);
      if (ranged)
        {
          g_string_append_c (text, ' ');
          describe_range (op, text);
        }
      if (n == 0)
        g_string_append (text, " to delete.");
    }
  if (n == 0)
    json_object_set_boolean_member (o, "nothing", TRUE);
  else
    {
      /* Name them, unless they all have the name already given. */
      if (!called)
        {
          g_string_append_c (text, ':');
          for (unsigned i = 0; i < n && i < DELETE_NAMED; i++)
            g_string_append_printf (text, "%s \"%s\"", i ? "," : "",
                                    ((LaresEvent *)op->events->pdata[i])->title);
          if (n > DELETE_NAMED)
            g_string_append_printf (text, " and %u more", n - DELETE_NAMED);
        }
      if (repeating)
        g_string_append (text, " (a repeating event counts once; all its repeats go)");
    }
  lares_tool_call_return (op->call, lares_tool_result (o, text->str));
}

static void
plan_calendar_delete_many (LaresToolCall *call)
{
  g_autoptr (CalOp) op = op_new (call);

  if (!delete_many_filter (op))
    return;
  lares_store_read_async (op->store, delete_many_plan_run, op, NULL, delete_many_plan_done, op);
  g_steal_pointer (&op);
}

static gboolean
delete_many_run (sqlite3 *db, gpointer data, GError **error)
{
  CalOp *op = data;

  op->deleted = g_array_new (FALSE, FALSE, sizeof (int64_t));
  op->job_ids = g_array_new (FALSE, FALSE, sizeof (int64_t));
  /* Nothing planned is still there to delete (the store wants ids). */
  if (op->filter.n_ids == 0)
    return TRUE;
  return lares_events_delete_many (db, op->user_id, &op->filter, op->deleted, op->job_ids, error);
}

static void
delete_many_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (CalOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  unsigned planned = op->ids->len, n, jobs;
  JsonArray *ids;
  JsonObject *o;

  if (!lares_store_write_finish (op->store, res, &error))
    {
      lares_tool_call_fail (op->call, "could not delete the events: %s", error->message);
      return;
    }
  track (op);
  n = op->deleted->len;
  jobs = op->job_ids->len;
  ids = json_array_new ();
  for (unsigned i = 0; i < n; i++)
    {
      int64_t id = g_array_index (op->deleted, int64_t, i);

      json_array_add_int_element (ids, id);
      lares_bus_publish_change (op->call->ctx->bus, op->user_id, "event_deleted", NULL, NULL, id);
    }
  g_string_printf (text, "Deleted %u %s from your calendar.", n, n == 1 ? "event" : "events");
  if (jobs)
    g_string_append_printf (text, " %u pending reminder%s went with %s.", jobs,
                            jobs == 1 ? "" : "s", n == 1 ? "it" : "them");
  if (n < planned)
    g_string_append_printf (text, " %u had changed or gone since you were asked, and %s kept.",
                            planned - n, planned - n == 1 ? "was" : "were");
  o = json_object_new ();
  json_object_set_int_member (o, "deleted", n);
  json_object_set_array_member (o, "ids", ids);
  json_object_set_int_member (o, "reminders_cancelled", jobs);
  lares_tool_call_return (op->call, lares_tool_result (o, text->str));
}

static void
tool_calendar_delete_many (LaresToolCall *call)
{
  g_autoptr (CalOp) op = op_new (call);
  g_autoptr (GArray) asked = NULL;
  JsonArray *planned = call->plan && json_object_has_member (call->plan, "ids")
                           ? json_object_get_array_member (call->plan, "ids")
                           : NULL;

  /* Only what the owner approved runs: the planned ids, if they still
   * match what was asked (title, range). */
  if (planned == NULL)
    {
      lares_tool_call_fail (call, "calendar.delete_many runs only as an approved plan");
      return;
    }
  if (!delete_many_filter (op))
    return;
  asked = g_steal_pointer (&op->ids);
  op->ids = g_array_new (FALSE, FALSE, sizeof (int64_t));
  for (unsigned i = 0; i < json_array_get_length (planned); i++)
    {
      int64_t id = json_array_get_int_element (planned, i);
      gboolean wanted = asked == NULL;

      for (unsigned k = 0; !wanted && k < asked->len; k++)
        wanted = g_array_index (asked, int64_t, k) == id;
      if (wanted)
        g_array_append_val (op->ids, id);
    }
  op->filter.ids = (const int64_t *)(void *)op->ids->data;
  op->filter.n_ids = op->ids->len;
  lares_store_write_async (op->store, delete_many_run, op, NULL, delete_many_done, op);
  g_steal_pointer (&op);
}

static const LaresToolSpec calendar_tools[] = {
  { "calendar.create",
    "Add an event to the user's calendar: a title and a start, optionally a duration or end, "
    "a place, a repeat rule and a reminder.",
    "{\"type\":\"object\",\"properties\":{"
    "\"title\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":1000},"
    "\"start\":{\"type\":\"string\",\"minLength\":10,\"maxLength\":40,"
    "\"description\":\"ISO 8601 date and time with offset, or a date for an all-day event\"},"
    "\"end\":{\"type\":\"string\",\"minLength\":10,\"maxLength\":40},"
    "\"duration\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":31622400,"
    "\"description\":\"seconds; one hour when neither end nor duration is given\"},"
    "\"all_day\":{\"type\":\"boolean\"},"
    "\"location\":{\"type\":\"string\",\"maxLength\":1000},"
    "\"description\":{\"type\":\"string\",\"maxLength\":20000},"
    "\"rrule\":{\"type\":\"string\",\"maxLength\":512,\"description\":\"RFC 5545 RRULE, e.g. "
    "FREQ=WEEKLY;BYDAY=MO\"},"
    "\"remind_minutes\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":40320},"
    "\"tz\":{\"type\":\"string\",\"maxLength\":64,\"description\":\"IANA time zone\"}},"
    "\"required\":[\"title\",\"start\"],\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_calendar_create },
  { "calendar.list",
    "List the user's calendar between two times (default: the next 7 days), repeats expanded.",
    "{\"type\":\"object\",\"properties\":{"
    "\"from\":{\"type\":\"string\",\"maxLength\":40,\"description\":\"ISO 8601, inclusive\"},"
    "\"to\":{\"type\":\"string\",\"maxLength\":40,\"description\":\"ISO 8601, exclusive\"}},"
    "\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_calendar_list },
  { "calendar.delete",
    "Delete one event from the user's calendar (every repeat of it), named by its title or id.",
    "{\"type\":\"object\",\"properties\":{"
    "\"title\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":1000},"
    "\"id\":{\"type\":\"integer\",\"minimum\":1}},\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_calendar_delete },
  { "calendar.delete_many",
    "Delete several calendar events at once: those with the given ids, with the given words in "
    "their title, and/or with an occurrence between from and to (a repeating event goes with "
    "all its repeats). Needs the user's approval.",
    "{\"type\":\"object\",\"properties\":{"
    "\"ids\":{\"type\":\"array\",\"maxLength\":1000,\"items\":{\"type\":\"integer\","
    "\"minimum\":1}},"
    "\"title\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":1000,"
    "\"description\":\"words in the title, any case\"},"
    "\"from\":{\"type\":\"string\",\"maxLength\":40,\"description\":\"ISO 8601, inclusive\"},"
    "\"to\":{\"type\":\"string\",\"maxLength\":40,\"description\":\"ISO 8601, exclusive\"}},"
    "\"additionalProperties\":false}",
    LARES_TOOL_RISK_HIGH, tool_calendar_delete_many, plan_calendar_delete_many },
};

void
lares_tools_calendar_register (LaresToolRegistry *reg)
{
  for (size_t i = 0; i < G_N_ELEMENTS (calendar_tools); i++)
    {
      g_autoptr (GError) error = NULL;
      if (!lares_tool_registry_add (reg, &calendar_tools[i], &error))
        g_error ("built-in tool %s: %s", calendar_tools[i].name, error->message);
    }
}
