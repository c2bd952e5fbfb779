/* tools/reminders.c — reminder.*, timer.* and alarm.* tools.
 *
 * DESIGN: creating goes through lares_scheduler_create (the job is indexed
 * once its write commits); listing is one store read; cancelling is one
 * store write that finds the user's matching pending jobs and cancels them
 * in the same transaction, then tells the scheduler.  Without a filter,
 * "cancel my reminder" cancels the only one there is and asks which one
 * when there are several — cancelling everything at once is not a guess
 * to make for the user.  Times in replies are in the user's zone.
 */
#include "config.h"

#include "lares-tools-reminders.h"

#include "lares-recur.h"
#include "lares-scheduler.h"

#include <string.h>

#define LIST_MAX   100
#define CANCEL_MAX 1000
#define TIMER_MAX  (7 * 24 * 3600)

typedef struct
{
  LaresToolCall *call;
  LaresScheduler *sched;
  LaresStore *store;
  int64_t user_id;
  GDateTime *now; /* user's zone (ref) */
  int64_t now_ms;
  LaresJobKind kind;
  /* cancel / list filters */
  int64_t id;
  char *text; /* case-folded */
  int64_t seconds;
  int64_t at_ms;
  gboolean filtered;
  int64_t from_ms, to_ms;
  /* results */
  GPtrArray *jobs;
  unsigned ambiguous;
} Op;

static void
op_free (Op *op)
{
  g_date_time_unref (op->now);
  g_free (op->text);
  if (op->jobs)
    g_ptr_array_unref (op->jobs);
  g_free (op);
}

static Op *
op_new (LaresToolCall *call, LaresJobKind kind)
{
  Op *op = g_new0 (Op, 1);

  op->call = call;
  op->sched = call->ctx->scheduler;
  op->store = call->ctx->store;
  op->user_id = call->ctx->user_id;
  op->now = g_date_time_ref (call->ctx->now);
  op->now_ms =
      op->sched ? lares_scheduler_now_ms (op->sched) : g_date_time_to_unix (op->now) * 1000;
  op->kind = kind;
  return op;
}

static JsonNode *
result (JsonObject *o, const char *text)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  if (o == NULL)
    o = json_object_new ();
  json_object_set_string_member (o, "text", text);
  json_node_take_object (node, o);
  return node;
}

static gboolean
need_scheduler (LaresToolCall *call)
{
  if (call->ctx->scheduler != NULL)
    return TRUE;
  lares_tool_call_fail (call, "reminders, timers and alarms are not available here");
  return FALSE;
}

static const char *
arg (LaresToolCall *call, const char *name)
{
  const char *s = json_object_get_string_member_with_default (call->args, name, NULL);
  return s && *s ? s : NULL;
}

/* "today at 17:00", "tomorrow at 07:00", "on Friday at 09:00",
 * "on Monday 23 November at 09:00".  (transfer full) */
static char *
when_phrase (int64_t ms, GDateTime *now)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (ms / 1000);
  g_autoptr (GDateTime) t = g_date_time_to_timezone (utc, g_date_time_get_timezone (now));
  g_autoptr (GDateTime) today =
      g_date_time_new (g_date_time_get_timezone (now), g_date_time_get_year (now),
                       g_date_time_get_month (now), g_date_time_get_day_of_month (now), 0, 0, 0);
  GTimeSpan ahead = g_date_time_difference (t, today);
  int days = (int)(ahead / G_TIME_SPAN_DAY);

  if (ahead >= 0 && days == 0)
    return g_date_time_format (t, "today at %H:%M");
  if (ahead >= 0 && days == 1)
    return g_date_time_format (t, "tomorrow at %H:%M");
  if (ahead >= 0 && days < 7)
    return g_date_time_format (t, "on %A at %H:%M");
  if (g_date_time_get_year (t) == g_date_time_get_year (now))
    return g_date_time_format (t, "on %A %-d %B at %H:%M");
  return g_date_time_format (t, "on %A %-d %B %Y at %H:%M");
}

/* "1 hour 5 minutes", "10 minutes", "30 seconds".  (transfer full) */
static char *
duration_phrase (int64_t seconds)
{
  GString *s = g_string_new (NULL);
  int64_t h = seconds / 3600, m = seconds % 3600 / 60, sec = seconds % 60;

  if (h)
    g_string_append_printf (s, "%" G_GINT64_FORMAT " hour%s", h, h == 1 ? "" : "s");
  if (m)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT " minute%s", s->len ? " " : "", m,
                            m == 1 ? "" : "s");
  if (sec || s->len == 0)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT " second%s", s->len ? " " : "", sec,
                            sec == 1 ? "" : "s");
  return g_string_free (s, FALSE);
}

/* ---- create --------------------------------------------------------------------------------- */

static void
created (const LaresJob *job, const GError *error, gpointer data)
{
  Op *op = data;
  g_autofree char *when = NULL;
  g_autofree char *text = NULL;
  JsonObject *o;

  if (error != NULL)
    {
      lares_tool_call_fail (op->call, "could not save that: %s", error->message);
      op_free (op);
      return;
    }
  when = when_phrase (job->due_at, op->now);
  switch (job->kind)
    {
    case LARES_JOB_REMINDER:
      text = job->rrule ? g_strdup_printf ("OK, I'll remind you to %s, repeating; the first time "
                                           "is %s.",
                                           job->text, when)
                        : g_strdup_printf ("OK, I'll remind you to %s %s.", job->text, when);
      break;
    case LARES_JOB_ALARM:
      text = job->rrule ? g_strdup_printf ("Repeating alarm set; the first one is %s.", when)
                        : g_strdup_printf ("Alarm set for %s.", when);
      break;
    case LARES_JOB_TIMER:
      {
        g_autofree char *d = duration_phrase (job->seconds);
        text = *job->text ? g_strdup_printf ("The %s timer is set for %s.", job->text, d)
                          : g_strdup_printf ("Timer set for %s.", d);
        break;
      }
    }
  o = json_object_new ();
  json_object_set_member (o, "job", lares_job_to_json (job));
  lares_tool_call_return (op->call, result (o, text));
  op_free (op);
}

static void
create_job (LaresToolCall *call, LaresJobKind kind, const char *text_member)
{
  Op *op;
  g_autoptr (LaresJob) job = g_new0 (LaresJob, 1);
  g_autoptr (GError) error = NULL;

  if (!need_scheduler (call))
    return;
  op = op_new (call, kind);
  job->user_id = op->user_id;
  job->kind = kind;
  job->text = g_strstrip (g_strdup (arg (call, text_member) ? arg (call, text_member) : ""));
  if (kind == LARES_JOB_TIMER)
    {
      job->seconds = json_object_get_int_member_with_default (call->args, "seconds", 0);
      job->due_at = op->now_ms + job->seconds * 1000;
    }
  else
    {
      LaresJobWhen when = { arg (call, "at"), arg (call, "rrule"), NULL, arg (call, "tz"),
                            g_date_time_get_timezone (op->now) };

      if (!lares_job_set_when (job, &when, op->now_ms, &error))
        {
          lares_tool_call_fail (call, "%s", error->message);
          op_free (op);
          return;
        }
    }
  lares_scheduler_create (op->sched, job, created, op);
}

static void
tool_reminder_create (LaresToolCall *call)
{
  create_job (call, LARES_JOB_REMINDER, "text");
}

static void
tool_alarm_set (LaresToolCall *call)
{
  create_job (call, LARES_JOB_ALARM, "label");
}

static void
tool_timer_start (LaresToolCall *call)
{
  create_job (call, LARES_JOB_TIMER, "name");
}

/* ---- list ----------------------------------------------------------------------------------- */

static gboolean
list_run (sqlite3 *db, gpointer data, GError **error)
{
  Op *op = data;

  op->jobs =
      lares_jobs_list (db, op->user_id, 1u << op->kind, 1u << LARES_JOB_PENDING, LIST_MAX, error);
  return op->jobs != NULL;
}

static void
list_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  Op *op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  JsonArray *a = json_array_new ();
  JsonObject *o = json_object_new ();
  const char *noun = lares_job_kind_name (op->kind);

  if (!lares_store_read_finish (op->store, res, &error))
    {
      json_array_unref (a);
      json_object_unref (o);
      lares_tool_call_fail (op->call, "could not read your %ss: %s", noun, error->message);
      op_free (op);
      return;
    }
  for (unsigned i = 0; i < op->jobs->len; i++)
    {
      const LaresJob *job = op->jobs->pdata[i];
      g_autofree char *when = NULL;

      if ((op->from_ms && job->due_at < op->from_ms) || (op->to_ms && job->due_at >= op->to_ms))
        continue;
      json_array_add_element (a, lares_job_to_json (job));
      if (job->kind == LARES_JOB_TIMER)
        {
          g_autofree char *left = duration_phrase (MAX (0, job->due_at - op->now_ms + 999) / 1000);
          g_autofree char *len = duration_phrase (job->seconds);
          g_string_append_printf (text, "\n- %s left on the %s timer", left,
                                  *job->text ? job->text : len);
          continue;
        }
      when = when_phrase (job->due_at, op->now);
      g_string_append_printf (text, "\n- %s%s%s%s", *job->text ? job->text : "",
                              *job->text ? ", " : "", when, job->rrule ? " (repeating)" : "");
    }
  if (json_array_get_length (a) == 0)
    g_string_prepend (text, op->kind == LARES_JOB_TIMER   ? "No timer is running."
                            : op->kind == LARES_JOB_ALARM ? "You have no alarms set."
                                                          : "You have no reminders.");
  else
    {
      g_autofree char *head = g_strdup_printf ("You have %u %s%s:", json_array_get_length (a),
                                               op->kind == LARES_JOB_TIMER ? "running timer" : noun,
                                               json_array_get_length (a) == 1 ? "" : "s");
      g_string_prepend (text, head);
    }
  json_object_set_array_member (o, lares_job_kind_name (op->kind), a);
  lares_tool_call_return (op->call, result (o, text->str));
  op_free (op);
}

static gboolean
parse_bound (LaresToolCall *call, Op *op, const char *name, int64_t *out)
{
  const char *s = arg (call, name);
  g_autoptr (GDateTime) t = NULL;

  if (s == NULL)
    return TRUE;
  t = g_date_time_new_from_iso8601 (s, g_date_time_get_timezone (op->now));
  if (t == NULL)
    {
      lares_tool_call_fail (call, "'%s' is not a date and time", name);
      return FALSE;
    }
  *out = g_date_time_to_unix (t) * 1000;
  return TRUE;
}

static void
list_jobs (LaresToolCall *call, LaresJobKind kind)
{
  Op *op = op_new (call, kind);

  if (!parse_bound (call, op, "from", &op->from_ms) || !parse_bound (call, op, "to", &op->to_ms))
    {
      op_free (op);
      return;
    }
  lares_store_read_async (op->store, list_run, op, NULL, list_done, op);
}

static void
tool_reminder_list (LaresToolCall *call)
{
  list_jobs (call, LARES_JOB_REMINDER);
}

static void
tool_timer_query (LaresToolCall *call)
{
  list_jobs (call, LARES_JOB_TIMER);
}

/* ---- cancel --------------------------------------------------------------------------------- */

static gboolean
matches (const Op *op, const LaresJob *job)
{
  if (op->id && job->id != op->id)
    return FALSE;
  if (op->seconds && job->seconds != op->seconds)
    return FALSE;
  if (op->at_ms && ABS (job->due_at - op->at_ms) > 60000)
    return FALSE;
  if (op->text)
    {
      g_autofree char *norm = g_utf8_normalize (job->text, -1, G_NORMALIZE_ALL);
      g_autofree char *folded = norm ? g_utf8_casefold (norm, -1) : NULL;
      if (folded == NULL || strstr (folded, op->text) == NULL)
        return FALSE;
    }
  return TRUE;
}

static gboolean
cancel_run (sqlite3 *db, gpointer data, GError **error)
{
  Op *op = data;
  g_autoptr (GPtrArray) pending =
      lares_jobs_list (db, op->user_id, 1u << op->kind, 1u << LARES_JOB_PENDING, CANCEL_MAX, error);
  g_autoptr (GPtrArray) hit = g_ptr_array_new ();

  if (pending == NULL)
    return FALSE;
  for (unsigned i = 0; i < pending->len; i++)
    if (matches (op, pending->pdata[i]))
      g_ptr_array_add (hit, pending->pdata[i]);
  op->jobs = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_job_free);
  if (!op->filtered && hit->len > 1)
    {
      op->ambiguous = hit->len;
      return TRUE;
    }
  for (unsigned i = 0; i < hit->len; i++)
    {
      const LaresJob *job = hit->pdata[i];
      LaresJob *out = NULL;

      if (!lares_jobs_finish (db, op->user_id, job->id, LARES_JOB_CANCELLED, op->now_ms, &out,
                              error))
        return FALSE;
      g_ptr_array_add (op->jobs, out);
    }
  return TRUE;
}

static void
cancel_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  Op *op = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  const char *noun = lares_job_kind_name (op->kind);
  JsonObject *o;
  JsonArray *a;

  if (!lares_store_write_finish (op->store, res, &error))
    {
      lares_tool_call_fail (op->call, "could not cancel that: %s", error->message);
      op_free (op);
      return;
    }
  o = json_object_new ();
  a = json_array_new ();
  for (unsigned i = 0; i < op->jobs->len; i++)
    {
      lares_scheduler_track (op->sched, op->jobs->pdata[i]);
      json_array_add_element (a, lares_job_to_json (op->jobs->pdata[i]));
    }
  json_object_set_array_member (o, "cancelled", a);
  if (op->ambiguous)
    {
      json_object_set_int_member (o, "candidates", op->ambiguous);
      text = g_strdup_printf ("You have %u %ss; which one should I cancel?", op->ambiguous, noun);
    }
  else if (op->jobs->len == 0)
    text = g_strdup_printf ("You have no %s like that.", noun);
  else if (op->jobs->len == 1)
    {
      const LaresJob *job = op->jobs->pdata[0];
      text = op->kind == LARES_JOB_REMINDER
                 ? g_strdup_printf ("Cancelled your reminder to %s.", job->text)
                 : g_strdup_printf ("Cancelled your %s.", noun);
    }
  else
    text = g_strdup_printf ("Cancelled %u %ss.", op->jobs->len, noun);
  lares_tool_call_return (op->call, result (o, text));
  op_free (op);
}

static void
cancel_jobs (LaresToolCall *call, LaresJobKind kind, const char *text_member)
{
  Op *op;
  const char *text = text_member ? arg (call, text_member) : NULL;

  if (!need_scheduler (call))
    return;
  op = op_new (call, kind);
  op->id = json_object_get_int_member_with_default (call->args, "id", 0);
  op->seconds = json_object_get_int_member_with_default (call->args, "seconds", 0);
  if (text)
    {
      g_autofree char *norm = g_utf8_normalize (text, -1, G_NORMALIZE_ALL);
      op->text = norm ? g_utf8_casefold (norm, -1) : g_strdup (text);
      g_strstrip (op->text);
    }
  if (!parse_bound (call, op, "at", &op->at_ms))
    {
      op_free (op);
      return;
    }
  op->filtered = op->id || op->seconds || op->at_ms || (op->text && *op->text);
  lares_store_write_async (op->store, cancel_run, op, NULL, cancel_done, op);
}

static void
tool_reminder_cancel (LaresToolCall *call)
{
  cancel_jobs (call, LARES_JOB_REMINDER, "text");
}

static void
tool_timer_cancel (LaresToolCall *call)
{
  cancel_jobs (call, LARES_JOB_TIMER, "name");
}

static void
tool_alarm_cancel (LaresToolCall *call)
{
  cancel_jobs (call, LARES_JOB_ALARM, NULL);
}

/* ---- the table ------------------------------------------------------------------------------ */

#define WHEN_PROPS                                                                                 \
  "\"at\":{\"type\":\"string\",\"maxLength\":64,\"description\":\"when, ISO 8601 with the UTC "    \
  "offset; for a repeating one, its first occurrence\"},"                                          \
  "\"rrule\":{\"type\":\"string\",\"maxLength\":512,\"description\":\"to repeat: an RFC 5545 "     \
  "RRULE such as FREQ=WEEKLY;BYDAY=MO\"},"                                                         \
  "\"tz\":{\"type\":\"string\",\"maxLength\":64,\"description\":\"IANA time zone; default: "       \
  "the user's\"}"
#define ID_PROP "\"id\":{\"type\":\"integer\",\"minimum\":1}"

static const LaresToolSpec reminder_tools[] = {
  { "reminder.create",
    "Remind the user of something at a time, once or repeating (give 'at', and 'rrule' to "
    "repeat).",
    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\",\"minLength\":1,"
    "\"maxLength\":500,\"description\":\"what to remind about, e.g. 'call mom'\"}," WHEN_PROPS
    "},\"required\":[\"text\"],\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_reminder_create },
  { "reminder.list", "List the user's pending reminders, optionally due within [from, to).",
    "{\"type\":\"object\",\"properties\":{\"from\":{\"type\":\"string\",\"maxLength\":64},"
    "\"to\":{\"type\":\"string\",\"maxLength\":64}},\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_reminder_list },
  { "reminder.cancel",
    "Cancel a pending reminder: the one with this id, or those whose text contains 'text'.",
    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\",\"maxLength\":500}," ID_PROP
    "},\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_reminder_cancel },
  { "timer.start", "Start a countdown timer.",
    "{\"type\":\"object\",\"properties\":{\"seconds\":{\"type\":\"integer\",\"minimum\":1,"
    "\"maximum\":604800},\"name\":{\"type\":\"string\",\"maxLength\":100,\"description\":"
    "\"optional label, e.g. 'pasta'\"}},\"required\":[\"seconds\"],\"additionalProperties\":"
    "false}",
    LARES_TOOL_RISK_LOW, tool_timer_start },
  { "timer.query", "Tell how much time is left on the user's running timers.",
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":100}},"
    "\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_timer_query },
  { "timer.cancel", "Cancel a running timer, by id, label or length.",
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":100},"
    "\"seconds\":{\"type\":\"integer\",\"minimum\":1}," ID_PROP "},\"additionalProperties\":"
    "false}",
    LARES_TOOL_RISK_LOW, tool_timer_cancel },
  { "alarm.set", "Set an alarm (a wake-up), once or repeating.",
    "{\"type\":\"object\",\"properties\":{\"label\":{\"type\":\"string\",\"maxLength\":100}"
    "," WHEN_PROPS "},\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_alarm_set },
  { "alarm.cancel", "Cancel an alarm: by id, or the one at a given time.",
    "{\"type\":\"object\",\"properties\":{\"at\":{\"type\":\"string\",\"maxLength\":64}," ID_PROP
    "},\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_alarm_cancel },
};

void
lares_tools_reminders_register (LaresToolRegistry *reg)
{
  for (size_t i = 0; i < G_N_ELEMENTS (reminder_tools); i++)
    {
      g_autoptr (GError) error = NULL;
      if (!lares_tool_registry_add (reg, &reminder_tools[i], &error))
        g_error ("built-in tool %s: %s", reminder_tools[i].name, error->message);
    }
}
