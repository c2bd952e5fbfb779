/* lares-jobs.c — SQL for scheduled jobs.
 *
 * DESIGN: called on store threads only; no state of its own.  Every change
 * returns the row as it now is (RETURNING), so callers can update the
 * scheduler's index and answer without a second read.
 */
#include "config.h"

#include "lares-jobs.h"

#include "lares-store.h"
#include "lares-util.h"

#include <string.h>
#include <time.h>

static const char *const kind_names[] = { "reminder", "timer", "alarm" };
static const char *const status_names[] = { "pending", "fired", "dismissed", "cancelled" };

#define JOB_COLUMNS                                                                                \
  "id, user_id, kind, status, text, due_at, rrule, dtstart, tzid, seconds, created_at, "           \
  "updated_at, fired_at, fired_due, fire_count, delivered_at, snoozes, event_id"

void
lares_job_free (LaresJob *job)
{
  if (job == NULL)
    return;
  g_free (job->text);
  g_free (job->rrule);
  g_free (job->dtstart);
  g_free (job->tzid);
  g_free (job);
}

LaresJob *
lares_job_copy (const LaresJob *job)
{
  LaresJob *copy = g_memdup2 (job, sizeof *job);

  copy->text = g_strdup (job->text);
  copy->rrule = g_strdup (job->rrule);
  copy->dtstart = g_strdup (job->dtstart);
  copy->tzid = g_strdup (job->tzid);
  return copy;
}

const char *
lares_job_kind_name (LaresJobKind kind)
{
  g_return_val_if_fail ((unsigned)kind < G_N_ELEMENTS (kind_names), "reminder");
  return kind_names[kind];
}

const char *
lares_job_status_name (LaresJobStatus status)
{
  g_return_val_if_fail ((unsigned)status < G_N_ELEMENTS (status_names), "pending");
  return status_names[status];
}

static gboolean
parse_name (const char *const *names, size_t n, const char *name, int *out)
{
  for (size_t i = 0; name && i < n; i++)
    if (strcmp (names[i], name) == 0)
      {
        *out = (int)i;
        return TRUE;
      }
  return FALSE;
}

gboolean
lares_job_kind_parse (const char *name, LaresJobKind *out)
{
  int v;

  if (!parse_name (kind_names, G_N_ELEMENTS (kind_names), name, &v))
    return FALSE;
  *out = (LaresJobKind)v;
  return TRUE;
}

gboolean
lares_job_status_parse (const char *name, LaresJobStatus *out)
{
  int v;

  if (!parse_name (status_names, G_N_ELEMENTS (status_names), name, &v))
    return FALSE;
  *out = (LaresJobStatus)v;
  return TRUE;
}

static void
add_time (JsonBuilder *b, const char *name, int64_t ms)
{
  g_autoptr (GDateTime) t = NULL;
  g_autofree char *iso = NULL;

  json_builder_set_member_name (b, name);
  if (ms <= 0)
    {
      json_builder_add_null_value (b);
      return;
    }
  t = g_date_time_new_from_unix_utc (ms / 1000);
  iso = t ? g_date_time_format (t, "%Y-%m-%dT%H:%M:%SZ") : NULL;
  if (iso)
    json_builder_add_string_value (b, iso);
  else
    json_builder_add_null_value (b);
}

JsonNode *
lares_job_to_json (const LaresJob *job)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, job->id);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, lares_job_kind_name (job->kind));
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, lares_job_status_name (job->status));
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, job->text ? job->text : "");
  add_time (b, "due", job->due_at);
  json_builder_set_member_name (b, "due_ms");
  json_builder_add_int_value (b, job->due_at);
  if (job->rrule)
    {
      json_builder_set_member_name (b, "rrule");
      json_builder_add_string_value (b, job->rrule);
      json_builder_set_member_name (b, "dtstart");
      json_builder_add_string_value (b, job->dtstart);
      json_builder_set_member_name (b, "tz");
      json_builder_add_string_value (b, job->tzid);
    }
  if (job->kind == LARES_JOB_TIMER)
    {
      json_builder_set_member_name (b, "seconds");
      json_builder_add_int_value (b, job->seconds);
    }
  if (job->event_id > 0)
    {
      json_builder_set_member_name (b, "event_id");
      json_builder_add_int_value (b, job->event_id);
      json_builder_set_member_name (b, "remind_minutes");
      json_builder_add_int_value (b, job->seconds / 60);
      add_time (b, "event_start", job->due_at + job->seconds * 1000);
      add_time (b, "fired_event_start",
                job->fired_due > 0 ? job->fired_due + job->seconds * 1000 : 0);
    }
  add_time (b, "created_at", job->created_at);
  add_time (b, "fired_at", job->fired_at);
  add_time (b, "fired_due", job->fired_due);
  json_builder_set_member_name (b, "fire_count");
  json_builder_add_int_value (b, job->fire_count);
  json_builder_set_member_name (b, "snoozes");
  json_builder_add_int_value (b, job->snoozes);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
append_time (GString *out, const char *name, int64_t ms)
{
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;

  g_string_append_printf (out, ",\"%s\":", name);
  /* As add_time: GDateTime has no year past 9999. */
  if (ms <= 0 || gmtime_r (&secs, &tm) == NULL || tm.tm_year + 1900 > 9999)
    {
      g_string_append (out, "null");
      return;
    }
  g_string_append_printf (out, "\"%04d-%02d-%02dT%02d:%02d:%02dZ\"", tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void
lares_job_append_json (GString *out, const LaresJob *job)
{
  g_string_append_printf (
      out, "{\"id\":%" G_GINT64_FORMAT ",\"kind\":\"%s\",\"status\":\"%s\",\"text\":", job->id,
      lares_job_kind_name (job->kind), lares_job_status_name (job->status));
  lares_json_append_string (out, job->text ? job->text : "", -1);
  append_time (out, "due", job->due_at);
  g_string_append_printf (out, ",\"due_ms\":%" G_GINT64_FORMAT, job->due_at);
  if (job->rrule)
    {
      g_string_append (out, ",\"rrule\":");
      lares_json_append_string (out, job->rrule, -1);
      g_string_append (out, ",\"dtstart\":");
      lares_json_append_string (out, job->dtstart, -1);
      g_string_append (out, ",\"tz\":");
      lares_json_append_string (out, job->tzid, -1);
    }
  if (job->kind == LARES_JOB_TIMER)
    g_string_append_printf (out, ",\"seconds\":%" G_GINT64_FORMAT, job->seconds);
  if (job->event_id > 0)
    {
      g_string_append_printf (
          out, ",\"event_id\":%" G_GINT64_FORMAT ",\"remind_minutes\":%" G_GINT64_FORMAT,
          job->event_id, job->seconds / 60);
      append_time (out, "event_start", job->due_at + job->seconds * 1000);
      append_time (out, "fired_event_start",
                   job->fired_due > 0 ? job->fired_due + job->seconds * 1000 : 0);
    }
  append_time (out, "created_at", job->created_at);
  append_time (out, "fired_at", job->fired_at);
  append_time (out, "fired_due", job->fired_due);
  g_string_append_printf (out,
                          ",\"fire_count\":%" G_GINT64_FORMAT ",\"snoozes\":%" G_GINT64_FORMAT "}",
                          job->fire_count, job->snoozes);
}

static char *
column_dup (sqlite3_stmt *stmt, int i)
{
  const unsigned char *s = sqlite3_column_text (stmt, i);
  return s ? g_strdup ((const char *)s) : NULL;
}

static LaresJob *
job_from_row (sqlite3_stmt *stmt)
{
  LaresJob *job = g_new0 (LaresJob, 1);
  LaresJobKind kind = LARES_JOB_REMINDER;
  LaresJobStatus status = LARES_JOB_PENDING;

  job->id = sqlite3_column_int64 (stmt, 0);
  job->user_id = sqlite3_column_int64 (stmt, 1);
  /* The table's CHECK constraints keep both names known. */
  (void)lares_job_kind_parse ((const char *)sqlite3_column_text (stmt, 2), &kind);
  (void)lares_job_status_parse ((const char *)sqlite3_column_text (stmt, 3), &status);
  job->kind = kind;
  job->status = status;
  job->text = column_dup (stmt, 4);
  job->due_at = sqlite3_column_int64 (stmt, 5);
  job->rrule = column_dup (stmt, 6);
  job->dtstart = column_dup (stmt, 7);
  job->tzid = column_dup (stmt, 8);
  job->seconds = sqlite3_column_int64 (stmt, 9);
  job->created_at = sqlite3_column_int64 (stmt, 10);
  job->updated_at = sqlite3_column_int64 (stmt, 11);
  job->fired_at = sqlite3_column_int64 (stmt, 12);
  job->fired_due = sqlite3_column_int64 (stmt, 13);
  job->fire_count = sqlite3_column_int64 (stmt, 14);
  job->delivered_at = sqlite3_column_int64 (stmt, 15);
  job->snoozes = sqlite3_column_int64 (stmt, 16);
  job->event_id = sqlite3_column_int64 (stmt, 17);
  return job;
}

static gboolean
not_found (GError **error, int64_t id)
{
  g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND, "no job %" G_GINT64_FORMAT,
               id);
  return FALSE;
}

/* Step a statement that RETURNs at most one row.  *@out gets the row or
 * NULL; TRUE unless SQLite failed. */
static gboolean
step_returning (sqlite3 *db, sqlite3_stmt *stmt, LaresJob **out, GError **error)
{
  int rc = sqlite3_step (stmt);

  *out = NULL;
  if (rc == SQLITE_ROW)
    {
      *out = job_from_row (stmt);
      rc = sqlite3_step (stmt);
    }
  if (rc != SQLITE_DONE)
    {
      g_clear_pointer (out, lares_job_free);
      return lares_sql_throw (db, rc, error);
    }
  return TRUE;
}

static void
give (LaresJob **out, LaresJob *job)
{
  if (out)
    *out = job;
  else
    lares_job_free (job);
}

gboolean
lares_jobs_insert (sqlite3 *db, const LaresJob *job, int64_t now_ms, LaresJob **out, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "INSERT INTO jobs (user_id, kind, text, due_at, rrule, dtstart, tzid, seconds, "
      "created_at, updated_at, event_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10) "
      "RETURNING " JOB_COLUMNS,
      error);
  LaresJob *row = NULL;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, job->user_id);
  sqlite3_bind_text (stmt, 2, lares_job_kind_name (job->kind), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, job->text ? job->text : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, job->due_at);
  sqlite3_bind_text (stmt, 5, job->rrule, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 6, job->dtstart, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 7, job->tzid, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 8, job->seconds);
  sqlite3_bind_int64 (stmt, 9, now_ms);
  if (job->event_id > 0)
    sqlite3_bind_int64 (stmt, 10, job->event_id);
  if (!step_returning (db, stmt, &row, error))
    return FALSE;
  give (out, row);
  return TRUE;
}

#define SQL_GET "SELECT " JOB_COLUMNS " FROM jobs WHERE user_id = ?1 AND id = ?2"

static LaresJob *
run_get (sqlite3 *db, sqlite3_stmt *stmt, int64_t user_id, int64_t id, GError **error)
{
  LaresJob *job = NULL;

  sqlite3_reset (stmt);
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  if (!step_returning (db, stmt, &job, error))
    return NULL;
  if (job == NULL)
    not_found (error, id);
  return job;
}

LaresJob *
lares_jobs_get (sqlite3 *db, int64_t user_id, int64_t id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (db, SQL_GET, error);

  return stmt ? run_get (db, stmt, user_id, id, error) : NULL;
}

static void
append_in (GString *sql, const char *column, unsigned set, const char *const *names, size_t n)
{
  gboolean first = TRUE;

  if (set == 0)
    return;
  g_string_append_printf (sql, " AND %s IN (", column);
  for (size_t i = 0; i < n; i++)
    if (set & (1u << i))
      {
        g_string_append_printf (sql, "%s'%s'", first ? "" : ", ", names[i]);
        first = FALSE;
      }
  g_string_append_c (sql, ')');
}

GPtrArray *
lares_jobs_list (sqlite3 *db, int64_t user_id, unsigned kinds, unsigned statuses, unsigned limit,
                 GError **error)
{
  g_autoptr (GString) sql = g_string_new ("SELECT " JOB_COLUMNS " FROM jobs WHERE user_id = ?1");
  g_autoptr (GPtrArray) jobs = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_job_free);
  g_autoptr (sqlite3_stmt) stmt = NULL;
  int rc;

  /* Only names from our own tables go into the text; values are bound. */
  append_in (sql, "kind", kinds, kind_names, G_N_ELEMENTS (kind_names));
  append_in (sql, "status", statuses, status_names, G_N_ELEMENTS (status_names));
  g_string_append (sql, " ORDER BY due_at, id LIMIT ?2");
  stmt = lares_sql_prepare (db, sql->str, error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int (stmt, 2, (int)MIN (limit, (unsigned)G_MAXINT));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (jobs, job_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  return g_steal_pointer (&jobs);
}

/* A change that matched no row: NOT_FOUND when the job is not the user's,
 * CONSTRAINT when it is but cannot make that move. */
static gboolean
refused (sqlite3 *db, int64_t user_id, int64_t id, const char *what, GError **error)
{
  g_autoptr (LaresJob) job = lares_jobs_get (db, user_id, id, error);

  if (job == NULL)
    return FALSE;
  g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT,
               "job %" G_GINT64_FORMAT " is %s and cannot be %s", id,
               lares_job_status_name (job->status), what);
  return FALSE;
}

gboolean
lares_jobs_finish (sqlite3 *db, int64_t user_id, int64_t id, LaresJobStatus status, int64_t now_ms,
                   LaresJob **out, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  const char *from;
  LaresJob *row = NULL;

  if (status == LARES_JOB_CANCELLED)
    from = "status = ?3 WHERE status = 'pending'";
  else if (status == LARES_JOB_DISMISSED)
    /* Dismissing acknowledges a firing: a recurring job goes on. */
    from = "status = CASE WHEN rrule IS NOT NULL AND status = 'pending' THEN 'pending' "
           "ELSE ?3 END, delivered_at = COALESCE (delivered_at, ?4) "
           "WHERE status IN ('pending', 'fired')";
  else
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT,
                   "'%s' is not a final status", lares_job_status_name (status));
      return FALSE;
    }
  {
    g_autofree char *sql =
        g_strdup_printf ("UPDATE jobs SET updated_at = ?4, %s AND user_id = ?1 AND id = ?2 "
                         "RETURNING " JOB_COLUMNS,
                         from);
    stmt = lares_sql_prepare (db, sql, error);
  }
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  sqlite3_bind_text (stmt, 3, lares_job_status_name (status), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, now_ms);
  if (!step_returning (db, stmt, &row, error))
    return FALSE;
  if (row == NULL)
    return refused (db, user_id, id, status == LARES_JOB_CANCELLED ? "cancelled" : "dismissed",
                    error);
  give (out, row);
  return TRUE;
}

gboolean
lares_jobs_snooze (sqlite3 *db, int64_t user_id, int64_t id, int64_t due_at, int64_t now_ms,
                   LaresJob **out, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db,
      "UPDATE jobs SET status = 'pending', due_at = ?3, snoozes = snoozes + 1, updated_at = ?4 "
      "WHERE user_id = ?1 AND id = ?2 AND status IN ('pending', 'fired') RETURNING " JOB_COLUMNS,
      error);
  LaresJob *row = NULL;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  sqlite3_bind_int64 (stmt, 3, due_at);
  sqlite3_bind_int64 (stmt, 4, now_ms);
  if (!step_returning (db, stmt, &row, error))
    return FALSE;
  if (row == NULL)
    return refused (db, user_id, id, "snoozed", error);
  give (out, row);
  return TRUE;
}

#define SQL_FIRE                                                                                   \
  "UPDATE jobs SET status = CASE WHEN ?4 > 0 THEN 'pending' ELSE 'fired' END, "                    \
  "due_at = CASE WHEN ?4 > 0 THEN ?4 ELSE due_at END, fired_at = ?5, fired_due = ?3, "             \
  "fire_count = fire_count + 1, delivered_at = NULL, updated_at = ?5 "                             \
  "WHERE user_id = ?1 AND id = ?2 AND status = 'pending' AND due_at = ?3 "                         \
  "RETURNING " JOB_COLUMNS

static gboolean
run_fire (sqlite3 *db, sqlite3_stmt *stmt, int64_t user_id, int64_t id, int64_t due_at,
          int64_t next_due, int64_t now_ms, LaresJob **out, GError **error)
{
  sqlite3_reset (stmt);
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  sqlite3_bind_int64 (stmt, 3, due_at);
  sqlite3_bind_int64 (stmt, 4, next_due);
  sqlite3_bind_int64 (stmt, 5, now_ms);
  return step_returning (db, stmt, out, error);
}

gboolean
lares_jobs_fire (sqlite3 *db, int64_t user_id, int64_t id, int64_t due_at, int64_t next_due,
                 int64_t now_ms, LaresJob **out, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (db, SQL_FIRE, error);

  return stmt && run_fire (db, stmt, user_id, id, due_at, next_due, now_ms, out, error);
}

/* SQL_FIRE without RETURNING: reading the row back through RETURNING cost
 * more than the update itself (measured: 27 -> 10 us of CPU a firing). */
#define SQL_FIRE_READ                                                                              \
  "UPDATE jobs SET status = CASE WHEN ?4 > 0 THEN 'pending' ELSE 'fired' END, "                    \
  "due_at = CASE WHEN ?4 > 0 THEN ?4 ELSE due_at END, fired_at = ?5, fired_due = ?3, "             \
  "fire_count = fire_count + 1, delivered_at = NULL, updated_at = ?5 "                             \
  "WHERE user_id = ?1 AND id = ?2 AND status = 'pending' AND due_at = ?3"

gboolean
lares_jobs_fire_read (sqlite3 *db, LaresJob *job, int64_t next_due, int64_t now_ms, gboolean *fired,
                      GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (db, SQL_FIRE_READ, error);
  int rc;

  *fired = FALSE;
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, job->user_id);
  sqlite3_bind_int64 (stmt, 2, job->id);
  sqlite3_bind_int64 (stmt, 3, job->due_at);
  sqlite3_bind_int64 (stmt, 4, next_due);
  sqlite3_bind_int64 (stmt, 5, now_ms);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  if (sqlite3_changes (db) != 1)
    return TRUE;
  /* What the statement wrote, column by column. */
  *fired = TRUE;
  job->fired_due = job->due_at;
  if (next_due > 0)
    {
      job->status = LARES_JOB_PENDING;
      job->due_at = next_due;
    }
  else
    job->status = LARES_JOB_FIRED;
  job->fired_at = now_ms;
  job->fire_count++;
  job->delivered_at = 0;
  job->updated_at = now_ms;
  return TRUE;
}

gboolean
lares_jobs_event_reminder (sqlite3 *db, int64_t user_id, int64_t event_id, const char *text,
                           int64_t due_at, int64_t seconds, int64_t now_ms, LaresJob **out,
                           GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  LaresJob *row = NULL;

  if (out)
    *out = NULL;
  if (due_at > 0)
    stmt =
        lares_sql_prepare (db,
                           "UPDATE jobs SET text = ?3, due_at = ?4, seconds = ?5, updated_at = ?6 "
                           "WHERE id = (SELECT id FROM jobs WHERE event_id = ?2 AND user_id = ?1 "
                           "AND status = 'pending' ORDER BY id LIMIT 1) RETURNING " JOB_COLUMNS,
                           error);
  else
    stmt =
        lares_sql_prepare (db,
                           "UPDATE jobs SET status = 'cancelled', updated_at = ?6 "
                           "WHERE id = (SELECT id FROM jobs WHERE event_id = ?2 AND user_id = ?1 "
                           "AND status = 'pending' ORDER BY id LIMIT 1) RETURNING " JOB_COLUMNS,
                           error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, event_id);
  sqlite3_bind_text (stmt, 3, text ? text : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, due_at);
  sqlite3_bind_int64 (stmt, 5, seconds);
  sqlite3_bind_int64 (stmt, 6, now_ms);
  if (!step_returning (db, stmt, &row, error))
    return FALSE;
  if (row == NULL && due_at > 0)
    {
      LaresJob job = { 0 };

      job.user_id = user_id;
      job.kind = LARES_JOB_REMINDER;
      job.text = (char *)(text ? text : "");
      job.due_at = due_at;
      job.seconds = seconds;
      job.event_id = event_id;
      return lares_jobs_insert (db, &job, now_ms, out, error);
    }
  give (out, row);
  return TRUE;
}

gboolean
lares_jobs_mark_delivered (sqlite3 *db, int64_t user_id, int64_t id, int64_t now_ms, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db, "UPDATE jobs SET delivered_at = ?3 WHERE user_id = ?1 AND id = ?2", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  sqlite3_bind_int64 (stmt, 3, now_ms);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  return TRUE;
}

GPtrArray *
lares_jobs_undelivered (sqlite3 *db, int64_t user_id, int64_t since_ms, unsigned limit,
                        GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_cached (db,
                        "SELECT " JOB_COLUMNS " FROM jobs WHERE user_id = ?1 AND fired_at >= ?2 "
                        "AND fired_at IS NOT NULL AND delivered_at IS NULL "
                        "ORDER BY fired_at, id LIMIT ?3",
                        error);
  g_autoptr (GPtrArray) jobs = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_job_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, since_ms);
  sqlite3_bind_int (stmt, 3, (int)MIN (limit, (unsigned)G_MAXINT));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (jobs, job_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  return g_steal_pointer (&jobs);
}

gboolean
lares_jobs_scan_pending (sqlite3 *db, LaresJobScanFunc func, gpointer data, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (
      db, "SELECT id, user_id, due_at FROM jobs WHERE status = 'pending' ORDER BY due_at", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    func (sqlite3_column_int64 (stmt, 0), sqlite3_column_int64 (stmt, 1),
          sqlite3_column_int64 (stmt, 2), data);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  return TRUE;
}
