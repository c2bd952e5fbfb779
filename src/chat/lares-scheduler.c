/* lares-scheduler.c — one timer for every pending job (see lares-scheduler.h).
 *
 * DESIGN
 * - Index: a GSequence of Entry ordered by (at, id), where at is when to
 *   try firing (the job's due time, or later while a failed write backs
 *   off), plus a hash id -> Entry.  Only ids and times live here; the row
 *   is read when the job fires.  ~130 bytes a pending job.
 * - One alarm on the LaresClock, armed for the first entry.  Its callback
 *   takes every entry due now (FIRE_BATCH at a time) out of the index and
 *   records the firings in ONE store write: per job, re-read the row, check
 *   it is still pending at that due time (a cancel or snooze that committed
 *   first wins), compute a recurring job's next occurrence and update the
 *   row.  Only when that write has committed are the notifications
 *   published, so a crash loses nothing: at worst a firing that committed
 *   is not delivered live, and is sent again when the user connects.
 * - A failed firing write (busy, disk full) puts its jobs back with a
 *   backoff of 1 s, 2 s, 4 s ... up to a minute, and tries again.
 * - A notification that reached no connection leaves delivered_at NULL;
 *   the user's next connection gets it (lares_scheduler_user_connected).
 *   Marks of delivery are gathered and written once per main-loop pass.
 * - Ownership: store callbacks hold a pointer to the scheduler, so free
 *   runs the main context until the scheduler's own writes have finished;
 *   the store is still open then (the server frees the scheduler first).
 */
#include "config.h"

#include "lares-scheduler.h"

#include "lares-events.h"
#include <errno.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lares-recur.h"

#define FIRE_BATCH        256
#define CLOCK_MAX_WAIT_MS 60000
#define RETRY_MAX_MS      60000
#define REDELIVER_MAX     50

/* ---- the real clock ------------------------------------------------------------------------- */

/* The main loop's timeouts follow the monotonic clock, which does not move
 * with wall-clock steps (NTP, `date -s`, a VM resumed) and stops during
 * suspend.  So the real clock also compares the wall clock with the armed
 * instant at every main-loop wake-up (prepare/check: one clock_gettime),
 * and holds a CLOCK_REALTIME timerfd with TFD_TIMER_CANCEL_ON_SET, which
 * the kernel makes readable when the wall clock is set: a step forward
 * fires what became due at once, a step back re-arms for the new distance.
 * The monotonic wait is still capped at CLOCK_MAX_WAIT_MS, for systems
 * without that timerfd flag. */

typedef struct
{
  GSource source;
  LaresClock *clock;
} ClockSource;

typedef struct
{
  LaresClock base;
  GSource *source;
  int64_t due_ms; /* the armed wall time (Unix ms), -1 when disarmed */
  int step_fd;    /* the clock-set timerfd, -1 if the kernel has none */
  gpointer step_tag;
} RealClock;

static int64_t
real_now_ms (LaresClock *clock G_GNUC_UNUSED)
{
  return g_get_real_time () / 1000;
}

/* Ask the kernel to tell us when the wall clock is set: an absolute timer
 * far in the future that is cancelled by any clock step. */
static gboolean
step_fd_arm (int fd)
{
  struct itimerspec its = { 0 };
  struct timespec now;

  if (clock_gettime (CLOCK_REALTIME, &now) != 0)
    return FALSE;
  its.it_value.tv_sec = now.tv_sec + 10 * 365 * 86400;
  return timerfd_settime (fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) == 0;
}

static gboolean
real_due (RealClock *rc)
{
  return rc->due_ms >= 0 && real_now_ms (&rc->base) >= rc->due_ms;
}

static gboolean
clock_prepare (GSource *source, int *timeout)
{
  *timeout = -1; /* the ready time bounds the wait */
  return real_due ((RealClock *)((ClockSource *)source)->clock);
}

static gboolean
clock_check (GSource *source)
{
  RealClock *rc = (RealClock *)((ClockSource *)source)->clock;

  if (rc->step_tag && (g_source_query_unix_fd (source, rc->step_tag) & G_IO_IN))
    return TRUE;
  return real_due (rc);
}

static gboolean
clock_dispatch (GSource *source, GSourceFunc callback G_GNUC_UNUSED, gpointer data G_GNUC_UNUSED)
{
  RealClock *rc = (RealClock *)((ClockSource *)source)->clock;

  if (rc->step_tag && (g_source_query_unix_fd (source, rc->step_tag) & G_IO_IN))
    {
      uint64_t expirations;

      /* ECANCELED: the clock was set.  Drain, and ask again. */
      if (read (rc->step_fd, &expirations, sizeof expirations) < 0 && errno != ECANCELED &&
          errno != EAGAIN)
        g_debug ("scheduler: reading the clock-step timer: %s", g_strerror (errno));
      g_debug ("scheduler: the wall clock was set; re-checking due jobs");
      if (!step_fd_arm (rc->step_fd))
        {
          g_source_remove_unix_fd (source, rc->step_tag);
          rc->step_tag = NULL;
        }
    }
  /* Fire even when nothing is due yet (a step back): the scheduler fires
   * what is due and arms again from the new wall time. */
  rc->due_ms = -1;
  g_source_set_ready_time (source, -1);
  if (rc->base.fire)
    rc->base.fire (rc->base.fire_data);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs clock_funcs = { clock_prepare, clock_check, clock_dispatch, NULL, NULL, NULL };

static void
real_arm (LaresClock *clock, int64_t due_ms)
{
  RealClock *rc = (RealClock *)clock;
  int64_t wait;

  rc->due_ms = due_ms;
  if (due_ms < 0)
    {
      g_source_set_ready_time (rc->source, -1);
      return;
    }
  wait = CLAMP (due_ms - real_now_ms (clock), 0, CLOCK_MAX_WAIT_MS);
  g_source_set_ready_time (rc->source, g_get_monotonic_time () + wait * 1000);
}

static void
real_free (LaresClock *clock)
{
  RealClock *rc = (RealClock *)clock;

  g_source_destroy (rc->source);
  g_source_unref (rc->source);
  if (rc->step_fd >= 0)
    close (rc->step_fd);
  g_free (rc);
}

LaresClock *
lares_clock_new_real (void)
{
  RealClock *rc = g_new0 (RealClock, 1);

  rc->base.now_ms = real_now_ms;
  rc->base.arm = real_arm;
  rc->base.free = real_free;
  rc->due_ms = -1;
  rc->source = g_source_new (&clock_funcs, sizeof (ClockSource));
  ((ClockSource *)rc->source)->clock = &rc->base;
  g_source_set_name (rc->source, "lares-scheduler");
  g_source_set_ready_time (rc->source, -1);
  rc->step_fd = timerfd_create (CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  if (rc->step_fd >= 0 && step_fd_arm (rc->step_fd))
    rc->step_tag = g_source_add_unix_fd (rc->source, rc->step_fd, G_IO_IN);
  else
    {
      g_debug ("scheduler: no clock-step notifications (%s); the wall clock is re-read at every "
               "wake-up and at least once a minute",
               g_strerror (errno));
      if (rc->step_fd >= 0)
        close (rc->step_fd);
      rc->step_fd = -1;
    }
  g_source_attach (rc->source, g_main_context_get_thread_default ());
  return &rc->base;
}

/* ---- the index ------------------------------------------------------------------------------ */

typedef struct
{
  int64_t id; /* first: the hash key */
  int64_t user_id;
  int64_t due_ms;    /* the row's due_at */
  int64_t at_ms;     /* when to try: due_ms, or later while backing off */
  unsigned attempts; /* failed firing writes so far */
  GSequenceIter *iter;
} Entry;

struct _LaresScheduler
{
  LaresStore *store;
  LaresBus *bus;
  LaresClock *clock;
  GSequence *queue;        /* Entry*, by (at_ms, id); owns the entries */
  GHashTable *by_id;       /* &Entry.id -> Entry* */
  GHashTable *undelivered; /* user ids with firings that reached nobody */
  GArray *to_mark;         /* MarkItem: deliveries not yet written */
  unsigned mark_idle;
  int64_t armed_at; /* what the clock is armed for, -1 if nothing */
  int64_t started_ms;
  unsigned inflight; /* store operations holding a pointer to us */
  gboolean closing;
  LaresSchedulerStats stats;
};

static int
entry_cmp (gconstpointer a, gconstpointer b, gpointer data G_GNUC_UNUSED)
{
  const Entry *x = a, *y = b;

  if (x->at_ms != y->at_ms)
    return x->at_ms < y->at_ms ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static void
rearm (LaresScheduler *s)
{
  GSequenceIter *first = g_sequence_get_begin_iter (s->queue);
  int64_t at = g_sequence_iter_is_end (first) ? -1 : ((Entry *)g_sequence_get (first))->at_ms;

  if (at == s->armed_at || s->closing)
    return;
  s->armed_at = at;
  s->clock->arm (s->clock, at);
}

static void
index_remove (LaresScheduler *s, int64_t id)
{
  Entry *e = g_hash_table_lookup (s->by_id, &id);

  if (e == NULL)
    return;
  g_hash_table_remove (s->by_id, &id);
  g_sequence_remove (e->iter); /* frees e */
}

static void
index_put (LaresScheduler *s, int64_t id, int64_t user_id, int64_t due_ms, int64_t at_ms,
           unsigned attempts)
{
  Entry *e;

  index_remove (s, id);
  e = g_new (Entry, 1);
  e->id = id;
  e->user_id = user_id;
  e->due_ms = due_ms;
  e->at_ms = at_ms;
  e->attempts = attempts;
  e->iter = g_sequence_insert_sorted (s->queue, e, entry_cmp, NULL);
  g_hash_table_insert (s->by_id, &e->id, e);
}

void
lares_scheduler_track (LaresScheduler *s, const LaresJob *job)
{
  g_return_if_fail (s != NULL && job != NULL);
  if (job->status == LARES_JOB_PENDING)
    index_put (s, job->id, job->user_id, job->due_at, job->due_at, 0);
  else
    index_remove (s, job->id);
  rearm (s);
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static void on_clock (gpointer data);

LaresScheduler *
lares_scheduler_new (LaresStore *store, LaresBus *bus, LaresClock *clock)
{
  LaresScheduler *s = g_new0 (LaresScheduler, 1);

  s->store = store;
  s->bus = bus;
  s->clock = clock ? clock : lares_clock_new_real ();
  s->clock->fire = on_clock;
  s->clock->fire_data = s;
  s->queue = g_sequence_new (g_free);
  s->by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  s->undelivered = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  s->to_mark = g_array_new (FALSE, FALSE, sizeof (int64_t) * 2);
  s->armed_at = -1;
  return s;
}

static void flush_marks (LaresScheduler *s);

void
lares_scheduler_free (LaresScheduler *s)
{
  if (s == NULL)
    return;
  s->clock->arm (s->clock, -1);
  s->closing = TRUE;
  /* Deliveries seen so far are worth recording; then let our own writes
   * finish, since their callbacks point at us. */
  g_clear_handle_id (&s->mark_idle, g_source_remove);
  flush_marks (s);
  while (s->inflight > 0)
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
  s->clock->free (s->clock);
  g_hash_table_unref (s->by_id);
  g_sequence_free (s->queue);
  g_hash_table_unref (s->undelivered);
  g_array_unref (s->to_mark);
  g_free (s);
}

int64_t
lares_scheduler_now_ms (LaresScheduler *s)
{
  return s->clock->now_ms (s->clock);
}

static void
scan_pending (int64_t id, int64_t user_id, int64_t due_at, gpointer data)
{
  LaresScheduler *s = data;
  Entry *e = g_new (Entry, 1);

  e->id = id;
  e->user_id = user_id;
  e->due_ms = e->at_ms = due_at;
  e->attempts = 0;
  /* The scan comes sorted by due time: appending keeps (at, id) order
   * except among equal times, which insert_sorted would fix; appending
   * is O(1) and equal due times may fire in any order. */
  e->iter = g_sequence_append (s->queue, e);
  g_hash_table_insert (s->by_id, &e->id, e);
}

static gboolean
scan_undelivered (sqlite3 *db, LaresScheduler *s, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_prepare (db,
                         "SELECT DISTINCT user_id FROM jobs WHERE fired_at >= ?1 "
                         "AND fired_at IS NOT NULL AND delivered_at IS NULL",
                         error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, s->started_ms - LARES_SCHEDULER_REDELIVER_MS);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      int64_t user = sqlite3_column_int64 (stmt, 0);
      g_hash_table_add (s->undelivered, g_memdup2 (&user, sizeof user));
    }
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  return TRUE;
}

gboolean
lares_scheduler_start (LaresScheduler *s, GError **error)
{
  sqlite3 *db = lares_store_open_reader (s->store, error);
  gboolean ok;

  if (db == NULL)
    return FALSE;
  s->started_ms = lares_scheduler_now_ms (s);
  ok = lares_jobs_scan_pending (db, scan_pending, s, error) && scan_undelivered (db, s, error);
  sqlite3_close (db);
  if (!ok)
    {
      g_prefix_error (error, "reading pending jobs: ");
      return FALSE;
    }
  g_info ("scheduler: %u pending job(s)", g_hash_table_size (s->by_id));
  rearm (s);
  return TRUE;
}

void
lares_scheduler_get_stats (LaresScheduler *s, LaresSchedulerStats *out)
{
  GSequenceIter *first = g_sequence_get_begin_iter (s->queue);

  *out = s->stats;
  out->pending = g_hash_table_size (s->by_id);
  out->next_due = g_sequence_iter_is_end (first) ? -1 : ((Entry *)g_sequence_get (first))->at_ms;
  out->writes_queued = s->inflight;
}

/* ---- delivery ------------------------------------------------------------------------------- */

typedef struct
{
  LaresScheduler *sched;
  GArray *marks; /* int64_t[2] {user_id, id} */
  int64_t now_ms;
} MarkOp;

static gboolean
mark_run (sqlite3 *db, gpointer data, GError **error)
{
  MarkOp *op = data;

  for (unsigned i = 0; i < op->marks->len; i++)
    {
      const int64_t *m = &g_array_index (op->marks, int64_t, 2 * i);
      if (!lares_jobs_mark_delivered (db, m[0], m[1], op->now_ms, error))
        return FALSE;
    }
  return TRUE;
}

static void
mark_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  MarkOp *op = data;
  g_autoptr (GError) error = NULL;

  /* A lost mark only means the notification may be sent once more. */
  if (!lares_store_write_finish (op->sched->store, res, &error))
    g_warning ("scheduler: recording deliveries: %s", error->message);
  op->sched->inflight--;
  g_array_unref (op->marks);
  g_free (op);
}

static void
flush_marks (LaresScheduler *s)
{
  MarkOp *op;

  if (s->to_mark->len == 0)
    return;
  op = g_new0 (MarkOp, 1);
  op->sched = s;
  op->marks = s->to_mark;
  op->now_ms = lares_scheduler_now_ms (s);
  s->to_mark = g_array_new (FALSE, FALSE, sizeof (int64_t) * 2);
  s->inflight++;
  lares_store_write_async (s->store, mark_run, op, NULL, mark_done, op);
}

static gboolean
mark_idle_cb (gpointer data)
{
  LaresScheduler *s = data;

  s->mark_idle = 0;
  flush_marks (s);
  return G_SOURCE_REMOVE;
}

/* Publish a firing of @job to every connection of its user.  The event is
 * written as text in one pass: a burst fires hundreds of jobs at once, and
 * building and serializing JSON nodes for each was most of the main
 * thread's share of it. */
static void
notify (LaresScheduler *s, const LaresJob *job, gboolean late, gboolean again)
{
  g_autoptr (GBytes) event = NULL;
  GString *text;
  int64_t pair[2] = { job->user_id, job->id };

  if (lares_bus_count (s->bus, job->user_id) == 0)
    {
      int64_t user = job->user_id;
      if (!g_hash_table_contains (s->undelivered, &user))
        g_hash_table_add (s->undelivered, g_memdup2 (&user, sizeof user));
      return;
    }
  text = g_string_sized_new (512);
  g_string_append_printf (
      text, "{\"type\":\"notification\",\"kind\":\"%s\",\"job\":", lares_job_kind_name (job->kind));
  lares_job_append_json (text, job);
  g_string_append (text, late ? ",\"late\":true" : ",\"late\":false");
  if (again)
    g_string_append (text, ",\"redelivered\":true");
  g_string_append_c (text, '}');
  event = g_string_free_to_bytes (text);
  if (lares_bus_publish_bytes (s->bus, job->user_id, event) == 0)
    return;
  s->stats.delivered++;
  g_array_append_vals (s->to_mark, pair, 1);
  /* Marks of one burst are written together, on the next pass: at the
   * default priority, since an idle one waits as long as the loop stays
   * busy (lares_bus_publish_later). */
  if (s->mark_idle == 0 && !s->closing)
    s->mark_idle = g_idle_add_full (G_PRIORITY_DEFAULT, mark_idle_cb, s, NULL);
}

typedef struct
{
  LaresScheduler *sched;
  int64_t user_id;
  int64_t since_ms;
  GPtrArray *jobs;
} RedeliverOp;

static gboolean
redeliver_run (sqlite3 *db, gpointer data, GError **error)
{
  RedeliverOp *op = data;

  op->jobs = lares_jobs_undelivered (db, op->user_id, op->since_ms, REDELIVER_MAX, error);
  return op->jobs != NULL;
}

static void
redeliver_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  RedeliverOp *op = data;
  LaresScheduler *s = op->sched;
  g_autoptr (GError) error = NULL;

  s->inflight--;
  if (!lares_store_read_finish (s->store, res, &error))
    g_warning ("scheduler: reading undelivered notifications: %s", error->message);
  else if (!s->closing)
    {
      gboolean all = op->jobs->len < REDELIVER_MAX;

      if (lares_bus_count (s->bus, op->user_id) > 0 && all)
        g_hash_table_remove (s->undelivered, &op->user_id);
      for (unsigned i = 0; i < op->jobs->len; i++)
        notify (s, op->jobs->pdata[i], TRUE, TRUE);
    }
  if (op->jobs)
    g_ptr_array_unref (op->jobs);
  g_free (op);
}

void
lares_scheduler_user_connected (LaresScheduler *s, int64_t user_id)
{
  RedeliverOp *op;

  if (s == NULL || s->closing || !g_hash_table_contains (s->undelivered, &user_id))
    return;
  op = g_new0 (RedeliverOp, 1);
  op->sched = s;
  op->user_id = user_id;
  op->since_ms = lares_scheduler_now_ms (s) - LARES_SCHEDULER_REDELIVER_MS;
  s->inflight++;
  lares_store_read_async (s->store, redeliver_run, op, NULL, redeliver_done, op);
}

/* ---- firing --------------------------------------------------------------------------------- */

typedef struct
{
  int64_t id, user_id, due_ms;
  unsigned attempts;
  LaresJob *job; /* the row after firing; NULL when it changed meanwhile */
} FireItem;

typedef struct
{
  LaresScheduler *sched;
  GArray *items; /* FireItem */
  int64_t now_ms;
} FireOp;

static void
fire_op_free (FireOp *op)
{
  for (unsigned i = 0; i < op->items->len; i++)
    lares_job_free (g_array_index (op->items, FireItem, i).job);
  g_array_unref (op->items);
  g_free (op);
}

/* Writer thread. */
static gboolean
fire_run (sqlite3 *db, gpointer data, GError **error)
{
  FireOp *op = data;

  for (unsigned i = 0; i < op->items->len; i++)
    {
      FireItem *it = &g_array_index (op->items, FireItem, i);
      g_autoptr (GError) local = NULL;
      g_autoptr (LaresJob) job = lares_jobs_get (db, it->user_id, it->id, &local);
      int64_t next = 0;
      gboolean fired = FALSE;

      g_clear_pointer (&it->job, lares_job_free); /* from an earlier, rolled-back try */
      if (job == NULL)
        {
          if (!g_error_matches (local, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          continue; /* deleted with its user */
        }
      if (job->status != LARES_JOB_PENDING || job->due_at != it->due_ms)
        continue; /* cancelled, snoozed or fired meanwhile: that write won */
      if (job->event_id > 0)
        {
          /* A reminder before an event: the event says when the next one
           * is (its rule, exceptions and overrides).  Missed occurrences
           * fire once, as for recurring jobs. */
          next = lares_events_next_reminder (db, it->user_id, job->event_id,
                                             MAX (it->due_ms, op->now_ms), &local);
          if (next < 0)
            {
              g_warning ("job %" G_GINT64_FORMAT ": %s; firing it once", job->id, local->message);
              next = 0;
            }
        }
      else if (job->rrule)
        {
          /* Occurrences missed while down fire once (late); the series
           * goes on from the first occurrence after now. */
          next = lares_recur_next (job->rrule, job->dtstart, job->tzid,
                                   MAX (it->due_ms, op->now_ms), &local);
          if (next < 0)
            {
              g_warning ("job %" G_GINT64_FORMAT ": %s; firing it once", job->id, local->message);
              next = 0;
            }
        }
      if (!lares_jobs_fire_read (db, job, next, op->now_ms, &fired, error))
        return FALSE;
      if (fired)
        it->job = g_steal_pointer (&job);
    }
  return TRUE;
}

static void
fire_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  FireOp *op = data;
  LaresScheduler *s = op->sched;
  g_autoptr (GError) error = NULL;

  s->inflight--;
  if (!lares_store_write_finish (s->store, res, &error))
    {
      if (!s->closing)
        {
          int64_t now = lares_scheduler_now_ms (s);

          g_warning ("scheduler: recording %u firing(s) failed, retrying: %s", op->items->len,
                     error->message);
          for (unsigned i = 0; i < op->items->len; i++)
            {
              FireItem *it = &g_array_index (op->items, FireItem, i);
              int64_t wait = MIN ((int64_t)1000 << MIN (it->attempts, 6u), RETRY_MAX_MS);

              /* A change that committed meanwhile has re-indexed the job. */
              if (!g_hash_table_contains (s->by_id, &it->id))
                index_put (s, it->id, it->user_id, it->due_ms, now + wait, it->attempts + 1);
            }
          s->stats.retries++;
          rearm (s);
        }
      fire_op_free (op);
      return;
    }
  for (unsigned i = 0; i < op->items->len; i++)
    {
      FireItem *it = &g_array_index (op->items, FireItem, i);
      gboolean late;

      if (it->job == NULL)
        continue;
      late = it->due_ms < s->started_ms || op->now_ms - it->due_ms > LARES_SCHEDULER_LATE_MS;
      s->stats.fired++;
      s->stats.late += late;
      if (!s->closing)
        {
          /* A recurring job is pending again, at its next occurrence. */
          if (it->job->status == LARES_JOB_PENDING && !g_hash_table_contains (s->by_id, &it->id))
            index_put (s, it->id, it->user_id, it->job->due_at, it->job->due_at, 0);
          notify (s, it->job, late, FALSE);
        }
    }
  rearm (s);
  fire_op_free (op);
}

static void
on_clock (gpointer data)
{
  LaresScheduler *s = data;
  int64_t now = lares_scheduler_now_ms (s);
  FireOp *op = NULL;
  GSequenceIter *iter;

  s->armed_at = -1;
  if (s->closing)
    return;
  while (!g_sequence_iter_is_end (iter = g_sequence_get_begin_iter (s->queue)))
    {
      Entry *e = g_sequence_get (iter);
      FireItem it = { 0 };

      if (e->at_ms > now || (op && op->items->len >= FIRE_BATCH))
        break;
      if (op == NULL)
        {
          op = g_new0 (FireOp, 1);
          op->sched = s;
          op->items = g_array_sized_new (FALSE, TRUE, sizeof (FireItem), 16);
          op->now_ms = now;
        }
      it.id = e->id;
      it.user_id = e->user_id;
      it.due_ms = e->due_ms;
      it.attempts = e->attempts;
      g_array_append_val (op->items, it);
      index_remove (s, e->id);
    }
  if (op)
    {
      s->inflight++;
      lares_store_write_async (s->store, fire_run, op, NULL, fire_done, op);
    }
  /* More due than one batch: the clock is armed for "now" and comes back
   * at once, letting other sources run in between. */
  rearm (s);
}

/* ---- changes from REST and tools ------------------------------------------------------------ */

typedef struct
{
  LaresScheduler *sched;
  LaresJob *job; /* create: the template (owned) */
  int64_t user_id, id;
  LaresJobChange change;
  int minutes;
  int64_t now_ms;
  LaresJob *out;
  LaresJobDone done;
  gpointer user_data;
} ChangeOp;

static gboolean
create_run (sqlite3 *db, gpointer data, GError **error)
{
  ChangeOp *op = data;

  return lares_jobs_insert (db, op->job, op->now_ms, &op->out, error);
}

static gboolean
change_run (sqlite3 *db, gpointer data, GError **error)
{
  ChangeOp *op = data;

  switch (op->change)
    {
    case LARES_JOB_CHANGE_CANCEL:
      return lares_jobs_finish (db, op->user_id, op->id, LARES_JOB_CANCELLED, op->now_ms, &op->out,
                                error);
    case LARES_JOB_CHANGE_DISMISS:
      return lares_jobs_finish (db, op->user_id, op->id, LARES_JOB_DISMISSED, op->now_ms, &op->out,
                                error);
    case LARES_JOB_CHANGE_SNOOZE:
      return lares_jobs_snooze (db, op->user_id, op->id, op->now_ms + (int64_t)op->minutes * 60000,
                                op->now_ms, &op->out, error);
    }
  g_assert_not_reached ();
}

static void
change_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  ChangeOp *op = data;
  g_autoptr (GError) error = NULL;

  op->sched->inflight--;
  if (!lares_store_write_finish (op->sched->store, res, &error))
    op->done (NULL, error, op->user_data);
  else
    {
      if (!op->sched->closing)
        lares_scheduler_track (op->sched, op->out);
      op->done (op->out, NULL, op->user_data);
    }
  lares_job_free (op->job);
  lares_job_free (op->out);
  g_free (op);
}

void
lares_scheduler_create (LaresScheduler *s, const LaresJob *job, LaresJobDone done,
                        gpointer user_data)
{
  ChangeOp *op = g_new0 (ChangeOp, 1);

  op->sched = s;
  op->job = lares_job_copy (job);
  op->now_ms = lares_scheduler_now_ms (s);
  op->done = done;
  op->user_data = user_data;
  s->inflight++;
  lares_store_write_async (s->store, create_run, op, NULL, change_done, op);
}

void
lares_scheduler_change (LaresScheduler *s, int64_t user_id, int64_t id, LaresJobChange change,
                        int minutes, LaresJobDone done, gpointer user_data)
{
  ChangeOp *op = g_new0 (ChangeOp, 1);

  op->sched = s;
  op->user_id = user_id;
  op->id = id;
  op->change = change;
  op->minutes = minutes;
  op->now_ms = lares_scheduler_now_ms (s);
  op->done = done;
  op->user_data = user_data;
  s->inflight++;
  lares_store_write_async (s->store, change_run, op, NULL, change_done, op);
}

/* ---- reading "when" ---------------------------------------------------------------------------
 */

#define WHEN_MAX_MS G_GINT64_CONSTANT (7258118400000) /* 2200-01-01 */

static gboolean
when_invalid (GError **error, const char *message)
{
  g_set_error_literal (error, LARES_RECUR_ERROR, LARES_RECUR_ERROR_INVALID, message);
  return FALSE;
}

gboolean
lares_job_set_when (LaresJob *job, const LaresJobWhen *when, int64_t now_ms, GError **error)
{
  g_autoptr (GTimeZone) tz = NULL;
  g_autofree char *tzid = NULL;
  int64_t at_ms = 0;

  if (when->tzid != NULL)
    {
      tz = lares_recur_zone (when->tzid);
      if (tz == NULL)
        return when_invalid (error, "'tz' is not a known time zone");
      tzid = g_strdup (when->tzid);
    }
  else
    {
      const char *name = when->default_tz ? g_time_zone_get_identifier (when->default_tz) : "UTC";

      /* A zone GLib cannot name again (a POSIX TZ string) is stored as
       * UTC: the first occurrence is right, later ones ignore its DST. */
      tz = lares_recur_zone (name);
      tzid = g_strdup (tz ? name : "UTC");
      if (tz == NULL)
        tz = g_time_zone_new_utc ();
    }
  if (when->at != NULL)
    {
      g_autoptr (GDateTime) at = g_date_time_new_from_iso8601 (when->at, tz);

      if (at == NULL)
        return when_invalid (error, "'at' is not a date and time like 2026-01-31T09:00:00+01:00");
      at_ms = g_date_time_to_unix (at) * 1000 + g_date_time_get_microsecond (at) / 1000;
      if (at_ms <= 0 || at_ms >= WHEN_MAX_MS)
        return when_invalid (error, "'at' is out of range");
    }
  if (when->rrule == NULL)
    {
      if (when->at == NULL)
        return when_invalid (error, "say when: 'at' is required");
      if (when->dtstart != NULL)
        return when_invalid (error, "'dtstart' goes with 'rrule'");
      if (at_ms < now_ms - LARES_SCHEDULER_LATE_MS)
        return when_invalid (error, "'at' is in the past");
      job->due_at = at_ms;
      return TRUE;
    }
  {
    g_autofree char *rule = lares_recur_normalize (when->rrule);
    g_autofree char *start = NULL;
    int y, mo, d, h, mi, sec;
    int64_t start_ms, due;

    if (rule == NULL)
      return when_invalid (error, "'rrule' is empty, too long or not plain text");
    if (when->dtstart != NULL)
      {
        if (!lares_recur_parse_wall (when->dtstart, &y, &mo, &d, &h, &mi, &sec))
          return when_invalid (error, "'dtstart' is not a wall time like 20260131T090000");
        start = g_strdup (when->dtstart);
      }
    else
      start = lares_recur_wall_from_ms (when->at ? at_ms : now_ms, tz);
    if (start == NULL || !lares_recur_parse_wall (start, &y, &mo, &d, &h, &mi, &sec))
      return when_invalid (error, "the start is out of range");
    if (!lares_recur_check (rule, start, tzid, error))
      return FALSE;
    start_ms = lares_recur_wall_to_ms (tz, y, mo, d, h, mi, sec);
    due = lares_recur_next (rule, start, tzid, MAX (now_ms, start_ms) - 1, error);
    if (due < 0)
      return FALSE;
    if (due == 0)
      return when_invalid (error, "the repeat rule has no occurrence from now on");
    g_free (job->rrule);
    g_free (job->dtstart);
    g_free (job->tzid);
    job->rrule = g_steal_pointer (&rule);
    job->dtstart = g_steal_pointer (&start);
    job->tzid = g_steal_pointer (&tzid);
    job->due_at = due;
  }
  return TRUE;
}
