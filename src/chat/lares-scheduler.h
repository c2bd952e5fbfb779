/* lares-scheduler.h — reminders, timers and alarms fire on time (SPEC §6).
 *
 * The jobs table is the truth (lares-jobs.h); the scheduler keeps an index
 * of pending jobs (id, user, due time) ordered by due time and arms ONE
 * timer for the earliest.  When it goes off, the due jobs are recorded as
 * fired (or moved to their next occurrence) in one store write, and only
 * after that commits is a {"type":"notification"} event published to every
 * connection of the user.  docs/internals/scheduler.md has the design.
 *
 * Time comes from a LaresClock, so tests drive it instead of sleeping.
 *
 * Main-context only.  Changes made to jobs elsewhere (REST, tools) go
 * through lares_scheduler_create/change, or are reported with
 * lares_scheduler_track() after their write commits.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "lares-bus.h"
#include "lares-jobs.h"
#include "lares-store.h"

G_BEGIN_DECLS

/* Jobs due this long before they fired are late even if the daemon was up
 * (a long stall); anything due before start-up is late anyway. */
#define LARES_SCHEDULER_LATE_MS 60000
/* Fired jobs whose notification reached nobody are sent again when the
 * user connects, for this long after they fired. */
#define LARES_SCHEDULER_REDELIVER_MS (24 * 3600 * 1000)

typedef struct _LaresClock LaresClock;

/* A clock: wall time in Unix ms, and one alarm.  arm() replaces any earlier
 * arming; when the alarm is due the clock calls fire(fire_data) once from
 * the main context.  @due_ms < 0 disarms.  A test clock embeds this struct
 * first and calls fire itself when it moves time past the armed instant. */
struct _LaresClock
{
  int64_t (*now_ms) (LaresClock *clock);
  void (*arm) (LaresClock *clock, int64_t due_ms);
  void (*free) (LaresClock *clock);
  void (*fire) (gpointer data); /* set by the scheduler */
  gpointer fire_data;
};

/* The real clock: g_get_real_time() and one GSource with a ready time on
 * the thread-default main context.  A wall-clock step (NTP, `date -s`,
 * resume from suspend) is noticed at once: the kernel reports it through a
 * CLOCK_REALTIME timerfd (TFD_TIMER_CANCEL_ON_SET), and the wall clock is
 * compared with the armed instant at every main-loop wake-up.  It never
 * sleeps longer than a minute at once either.  (transfer full) */
LaresClock *lares_clock_new_real (void);

typedef struct _LaresScheduler LaresScheduler;

/* @clock: (transfer full) (nullable): NULL for the real clock. */
LaresScheduler *lares_scheduler_new (LaresStore *store, LaresBus *bus, LaresClock *clock);
void lares_scheduler_free (LaresScheduler *sched);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresScheduler, lares_scheduler_free)

/* Read every pending job (synchronously: start-up only) and arm the timer.
 * Jobs already due fire from the main loop, marked late. */
gboolean lares_scheduler_start (LaresScheduler *sched, GError **error);

int64_t lares_scheduler_now_ms (LaresScheduler *sched);

/* A job changed in the store (the write has committed): index it if it is
 * pending, forget it otherwise. */
void lares_scheduler_track (LaresScheduler *sched, const LaresJob *job);

/* @job: (nullable) (transfer none) the job as stored; @error set on failure. */
typedef void (*LaresJobDone) (const LaresJob *job, const GError *error, gpointer user_data);

/* Store @job (user_id, kind, text, due_at, and rrule/dtstart/tzid or
 * seconds) and index it; @done gets the stored row. */
void lares_scheduler_create (LaresScheduler *sched, const LaresJob *job, LaresJobDone done,
                             gpointer user_data);

typedef enum
{
  LARES_JOB_CHANGE_CANCEL,  /* pending -> cancelled */
  LARES_JOB_CHANGE_DISMISS, /* pending or fired -> dismissed */
  LARES_JOB_CHANGE_SNOOZE,  /* pending or fired -> pending, due now + @minutes */
} LaresJobChange;

void lares_scheduler_change (LaresScheduler *sched, int64_t user_id, int64_t id,
                             LaresJobChange change, int minutes, LaresJobDone done,
                             gpointer user_data);

/* When a job fires, as a person or a model gives it. */
typedef struct
{
  const char *at;        /* nullable: ISO 8601; without an offset it is in @tz */
  const char *rrule;     /* nullable: RFC 5545 RRULE (repeating) */
  const char *dtstart;   /* nullable: wall time YYYYMMDDTHHMMSS of the first occurrence */
  const char *tzid;      /* nullable: IANA zone; NULL means @default_tz */
  GTimeZone *default_tz; /* nullable: the user's zone (UTC when NULL) */
} LaresJobWhen;

/* Fill @job's due_at (and rrule/dtstart/tzid when repeating) from @when:
 * a one-off job needs @at, not more than a minute in the past; a
 * repeating one needs @rrule and takes its first occurrence from @dtstart,
 * else the wall time of @at, else now, and is due at its first occurrence
 * from now on.  Fails with LARES_RECUR_ERROR_INVALID and a message for the
 * user; @job is then unchanged. */
gboolean lares_job_set_when (LaresJob *job, const LaresJobWhen *when, int64_t now_ms,
                             GError **error);

/* A connection of @user_id opened: send again what fired for them in the
 * last LARES_SCHEDULER_REDELIVER_MS and reached nobody. */
void lares_scheduler_user_connected (LaresScheduler *sched, int64_t user_id);

typedef struct
{
  unsigned pending;       /* jobs in the index */
  uint64_t fired;         /* firings recorded */
  uint64_t late;          /* of which late */
  uint64_t delivered;     /* firings that reached at least one connection */
  uint64_t retries;       /* store writes of firings that failed and were retried */
  int64_t next_due;       /* earliest due time in the index, -1 when empty */
  unsigned writes_queued; /* firing writes in flight */
} LaresSchedulerStats;

void lares_scheduler_get_stats (LaresScheduler *sched, LaresSchedulerStats *out);

G_END_DECLS
