/* lares-jobs.h — the jobs table: reminders, timers and alarms.
 *
 * Plain functions over a connection, meant to run inside a LaresStoreFunc on
 * a store thread.  Every call takes the owner's user id and filters by it
 * (a job of another user is NOT_FOUND), except lares_jobs_scan_pending(),
 * the scheduler's start-up scan of every user's pending jobs.
 *
 * Times are Unix milliseconds (UTC).  A recurring job carries its RRULE,
 * DTSTART as a local wall time ("20261123T090000") and the IANA zone of
 * that wall time; the scheduler (lares-recur.h) computes its
 * occurrences.  This layer does not interpret them.  A reminder before a
 * calendar event has no rule of its own: it carries the event's id, and
 * its next due time comes from the event (lares_events_next_reminder).
 */
#pragma once

#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <stdint.h>

G_BEGIN_DECLS

#define LARES_JOB_TEXT_MAX 500 /* characters */

typedef enum
{
  LARES_JOB_REMINDER,
  LARES_JOB_TIMER,
  LARES_JOB_ALARM,
} LaresJobKind;

typedef enum
{
  LARES_JOB_PENDING,
  LARES_JOB_FIRED,
  LARES_JOB_DISMISSED,
  LARES_JOB_CANCELLED,
} LaresJobStatus;

typedef struct
{
  int64_t id;
  int64_t user_id;
  LaresJobKind kind;
  LaresJobStatus status;
  char *text;         /* owned; reminder text or timer/alarm label, may be empty */
  int64_t due_at;     /* next firing; for a fired one-off job, the one that fired */
  char *rrule;        /* owned, nullable: RRULE value without "RRULE:" */
  char *dtstart;      /* owned, nullable: local wall time YYYYMMDDTHHMMSS */
  char *tzid;         /* owned, nullable: IANA zone name */
  int64_t seconds;    /* timer length; for an event reminder, how long before the start */
  int64_t event_id;   /* 0, or the calendar event this reminds of (lares-events.h) */
  int64_t created_at; /* Unix ms */
  int64_t updated_at;
  int64_t fired_at;     /* 0: never fired */
  int64_t fired_due;    /* the due time of the last firing, 0: never */
  int64_t fire_count;   /* firings so far */
  int64_t delivered_at; /* 0: the last firing reached no connection yet */
  int64_t snoozes;
} LaresJob;

void lares_job_free (LaresJob *job);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresJob, lares_job_free)
LaresJob *lares_job_copy (const LaresJob *job);

const char *lares_job_kind_name (LaresJobKind kind);
const char *lares_job_status_name (LaresJobStatus status);
/* FALSE for an unknown name. */
gboolean lares_job_kind_parse (const char *name, LaresJobKind *out);
gboolean lares_job_status_parse (const char *name, LaresJobStatus *out);

/* The job as the API shows it: ids, kind, status, text, due (ISO 8601 UTC)
 * and due_ms, rrule/dtstart/tz when recurring, seconds for timers, fired_at,
 * fire_count, snoozes; for an event reminder event_id, remind_minutes,
 * event_start (the occurrence it is due for) and fired_event_start (the
 * one it last fired for).  (transfer full) */
JsonNode *lares_job_to_json (const LaresJob *job);
/* The same object appended to @out as JSON text, without building nodes:
 * for notifications, which fire by the hundred. */
void lares_job_append_json (GString *out, const LaresJob *job);

/* Insert @job (its id, status and bookkeeping fields are ignored: the row
 * starts pending).  @out: OUT (transfer full), nullable. */
gboolean lares_jobs_insert (sqlite3 *db, const LaresJob *job, int64_t now_ms, LaresJob **out,
                            GError **error);

/* (transfer full) or NULL with NOT_FOUND. */
LaresJob *lares_jobs_get (sqlite3 *db, int64_t user_id, int64_t id, GError **error);

/* A user's jobs, soonest due first.  @kinds: a bit set of 1 << LaresJobKind
 * (0: all); @statuses likewise of 1 << LaresJobStatus (0: all).  (transfer
 * full) GPtrArray of LaresJob. */
GPtrArray *lares_jobs_list (sqlite3 *db, int64_t user_id, unsigned kinds, unsigned statuses,
                            unsigned limit, GError **error);

/* Set a final status: CANCELLED (from pending only) or DISMISSED (from
 * pending or fired; it acknowledges a firing, so a recurring job that is
 * pending its next occurrence stays pending — cancel ends a series).  Another status, or one the
 * job cannot move to, is CONSTRAINT.  @out: OUT (transfer full), nullable. */
gboolean lares_jobs_finish (sqlite3 *db, int64_t user_id, int64_t id, LaresJobStatus status,
                            int64_t now_ms, LaresJob **out, GError **error);

/* Make a pending or fired job pending again at @due_at (snooze).  A
 * recurring job keeps its rule: the snoozed firing is one more occurrence,
 * after which the rule goes on.  @out: OUT (transfer full), nullable. */
gboolean lares_jobs_snooze (sqlite3 *db, int64_t user_id, int64_t id, int64_t due_at,
                            int64_t now_ms, LaresJob **out, GError **error);

/* Record a firing of a pending job due at @due_at.  With @next_due > 0 the
 * job stays pending, due then; otherwise it becomes fired.  @out is set to
 * the updated job, or to NULL when the job is no longer pending at @due_at
 * (cancelled, snoozed or already fired meanwhile: nothing changes).
 * OUT (transfer full). */
gboolean lares_jobs_fire (sqlite3 *db, int64_t user_id, int64_t id, int64_t due_at,
                          int64_t next_due, int64_t now_ms, LaresJob **out, GError **error);

/* Record a firing of @job, a row just read in the same write transaction
 * and found pending (the scheduler reads each job before firing it, to
 * compute a recurring job's next occurrence).  The same change as
 * lares_jobs_fire, without reading the row back: @job is updated in place
 * to what was written.  @fired is FALSE when the row had changed after all
 * (nothing was written then). */
gboolean lares_jobs_fire_read (sqlite3 *db, LaresJob *job, int64_t next_due, int64_t now_ms,
                               gboolean *fired, GError **error);

/* Keep the reminder job of calendar event @event_id in step: with
 * @due_at > 0, its pending job (made if there is none) is due then, with
 * @text and @seconds (how long before the event); with @due_at 0, a
 * pending one is cancelled.  @out: OUT (transfer full) (nullable) the job
 * as it now is, NULL when there is none. */
gboolean lares_jobs_event_reminder (sqlite3 *db, int64_t user_id, int64_t event_id,
                                    const char *text, int64_t due_at, int64_t seconds,
                                    int64_t now_ms, LaresJob **out, GError **error);

/* The last firing of the job reached a connection. */
gboolean lares_jobs_mark_delivered (sqlite3 *db, int64_t user_id, int64_t id, int64_t now_ms,
                                    GError **error);

/* Jobs of @user_id that fired at or after @since_ms and reached nobody,
 * oldest first.  (transfer full) GPtrArray of LaresJob. */
GPtrArray *lares_jobs_undelivered (sqlite3 *db, int64_t user_id, int64_t since_ms, unsigned limit,
                                   GError **error);

/* Every user's pending jobs (the scheduler's start-up scan, the one query
 * not filtered by user).  @func is called per row. */
typedef void (*LaresJobScanFunc) (int64_t id, int64_t user_id, int64_t due_at, gpointer data);
gboolean lares_jobs_scan_pending (sqlite3 *db, LaresJobScanFunc func, gpointer data,
                                  GError **error);

G_END_DECLS
