/* test-scheduler.c — the scheduler on a real store, driven by a test clock.
 *
 * No test sleeps: time is a number the test moves, and the scheduler's one
 * alarm is a number the test reads.  Moving time past the alarm calls the
 * scheduler as the real clock's GSource would; the test then runs the main
 * context until the firing write has committed and its notifications are
 * published on the bus.
 */
#include "config.h"

#include "lares-bus.h"
#include "lares-intent.h"
#include "lares-tools.h"
#include "lares-jobs.h"
#include "lares-recur.h"
#include "lares-scheduler.h"
#include "lares-store.h"
#include "lares-test.h"
#include "lares-users.h"

#include <string.h>

#define MIN_MS G_GINT64_CONSTANT (60000)
#define H_MS   G_GINT64_CONSTANT (3600000)

/* ---- a clock the test moves ----------------------------------------------------------------- */

typedef struct
{
  LaresClock base;
  int64_t now;
  int64_t armed; /* -1: disarmed */
  unsigned arms; /* arm() calls */
} TestClock;

static int64_t
test_now (LaresClock *c)
{
  return ((TestClock *)c)->now;
}

static void
test_arm (LaresClock *c, int64_t due)
{
  ((TestClock *)c)->armed = due;
  ((TestClock *)c)->arms++;
}

static void
test_free (LaresClock *c)
{
  g_free (c);
}

static TestClock *
test_clock_new (int64_t now)
{
  TestClock *c = g_new0 (TestClock, 1);

  c->base.now_ms = test_now;
  c->base.arm = test_arm;
  c->base.free = test_free;
  c->now = now;
  c->armed = -1;
  return c;
}

/* ---- fixture -------------------------------------------------------------------------------- */

typedef struct
{
  char *dir;
  LaresStore *store;
  LaresBus *bus;
  LaresScheduler *sched;
  TestClock *clock; /* owned by sched */
  int64_t alice, bob;
  GPtrArray *events; /* JsonNode* notifications received by alice */
  unsigned sub;
  /* The row as the store had it when the notification was published. */
  char *status_at_publish;
} Fixture;

static gboolean
add_users (sqlite3 *db, gpointer data, GError **error)
{
  Fixture *fx = data;

  return lares_users_insert (db, "alice", "user", NULL, 1, &fx->alice, error) &&
         lares_users_insert (db, "bob", "user", NULL, 1, &fx->bob, error);
}

static void
on_event (GBytes *payload, gpointer data)
{
  Fixture *fx = data;
  g_autoptr (JsonParser) p = json_parser_new ();
  JsonObject *o, *job;
  g_autoptr (GError) error = NULL;
  sqlite3 *db;
  g_autoptr (sqlite3_stmt) stmt = NULL;

  g_assert_true (json_parser_load_from_data (p, g_bytes_get_data (payload, NULL),
                                             (gssize)g_bytes_get_size (payload), NULL));
  o = json_node_get_object (json_parser_get_root (p));
  g_assert_cmpstr (json_object_get_string_member (o, "type"), ==, "notification");
  job = json_object_get_object_member (o, "job");
  /* The firing is in the store before anyone hears of it. */
  db = lares_store_open_reader (fx->store, &error);
  g_assert_no_error (error);
  g_assert_cmpint (
      sqlite3_prepare_v2 (db, "SELECT status, fire_count FROM jobs WHERE id = ?1", -1, &stmt, NULL),
      ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, json_object_get_int_member (job, "id"));
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int64 (stmt, 1), ==,
                   json_object_get_int_member (job, "fire_count"));
  g_free (fx->status_at_publish);
  fx->status_at_publish = g_strdup ((const char *)sqlite3_column_text (stmt, 0));
  g_clear_pointer (&stmt, sqlite3_finalize);
  sqlite3_close (db);
  g_ptr_array_add (fx->events, json_node_copy (json_parser_get_root (p)));
}

static void
start_scheduler (Fixture *fx, int64_t now)
{
  g_autoptr (GError) error = NULL;

  fx->clock = test_clock_new (now);
  fx->sched = lares_scheduler_new (fx->store, fx->bus, &fx->clock->base);
  g_assert_true (lares_scheduler_start (fx->sched, &error));
  g_assert_no_error (error);
}

/* 2026-01-05T12:00:00Z, a Monday. */
#define T0 G_GINT64_CONSTANT (1767614400000)

static void
setup (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  g_autoptr (GError) error = NULL;

  fx->dir = lares_test_tmpdir ();
  fx->store = lares_store_open (fx->dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (lares_store_write_sync (fx->store, add_users, fx, &error));
  fx->bus = lares_bus_new ();
  fx->events = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);
  fx->sub = lares_bus_subscribe (fx->bus, fx->alice, on_event, fx);
  start_scheduler (fx, T0);
}

static void
teardown (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  g_clear_pointer (&fx->sched, lares_scheduler_free);
  lares_bus_free (fx->bus);
  lares_store_close (fx->store);
  g_ptr_array_unref (fx->events);
  g_free (fx->status_at_publish);
  lares_test_rmdir (fx->dir);
  g_free (fx->dir);
}

/* Run the main context until the scheduler's writes are done. */
static void
settle (Fixture *fx)
{
  LaresSchedulerStats st;

  for (int i = 0; i < 10000; i++)
    {
      lares_scheduler_get_stats (fx->sched, &st);
      if (st.writes_queued == 0 && !g_main_context_pending (NULL))
        return;
      g_main_context_iteration (NULL, st.writes_queued > 0);
    }
  g_assert_not_reached ();
}

/* Move time to @to, firing the alarm when it is due. */
static void
advance (Fixture *fx, int64_t to)
{
  fx->clock->now = to;
  if (fx->clock->armed >= 0 && fx->clock->armed <= to)
    {
      fx->clock->armed = -1;
      fx->clock->base.fire (fx->clock->base.fire_data);
    }
  settle (fx);
}

/* Move to the armed instant and fire (asserting something is armed). */
static void
fire_next (Fixture *fx)
{
  g_assert_cmpint (fx->clock->armed, >=, 0);
  advance (fx, MAX (fx->clock->armed, fx->clock->now));
}

typedef struct
{
  gboolean done;
  LaresJob *job;
  GError *error;
} Result;

static void
on_job (const LaresJob *job, const GError *error, gpointer data)
{
  Result *r = data;

  r->done = TRUE;
  r->job = job ? lares_job_copy (job) : NULL;
  r->error = error ? g_error_copy (error) : NULL;
}

static LaresJob *
create (Fixture *fx, int64_t user, LaresJobKind kind, const char *text, const LaresJobWhen *when)
{
  g_autoptr (LaresJob) job = g_new0 (LaresJob, 1);
  g_autoptr (GError) error = NULL;
  Result r = { 0 };

  job->user_id = user;
  job->kind = kind;
  job->text = g_strdup (text);
  g_assert_true (lares_job_set_when (job, when, fx->clock->now, &error));
  g_assert_no_error (error);
  lares_scheduler_create (fx->sched, job, on_job, &r);
  lares_test_wait_flag (&r.done, 5000);
  g_assert_no_error (r.error);
  return r.job;
}

static LaresJob *
create_at (Fixture *fx, int64_t at_ms, const char *text)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (at_ms / 1000);
  g_autofree char *iso = g_date_time_format_iso8601 (t);
  LaresJobWhen when = { .at = iso };

  return create (fx, fx->alice, LARES_JOB_REMINDER, text, &when);
}

static LaresJob *
change (Fixture *fx, int64_t user, int64_t id, LaresJobChange what, int minutes, GError **error)
{
  Result r = { 0 };

  lares_scheduler_change (fx->sched, user, id, what, minutes, on_job, &r);
  lares_test_wait_flag (&r.done, 5000);
  if (r.error)
    g_propagate_error (error, r.error);
  return r.job;
}

static JsonObject *
event (Fixture *fx, unsigned i)
{
  g_assert_cmpuint (i, <, fx->events->len);
  return json_node_get_object (fx->events->pdata[i]);
}

static int64_t
event_job_id (Fixture *fx, unsigned i)
{
  return json_object_get_int_member (json_object_get_object_member (event (fx, i), "job"), "id");
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void
test_one_alarm_for_the_earliest (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  g_autoptr (LaresJob) a = create_at (fx, T0 + 30 * MIN_MS, "thirty");
  g_autoptr (LaresJob) b = create_at (fx, T0 + 10 * MIN_MS, "ten");
  g_autoptr (LaresJob) c = create_at (fx, T0 + 20 * MIN_MS, "twenty");
  g_autoptr (LaresJob) gone = NULL;
  g_autoptr (GError) error = NULL;
  LaresSchedulerStats st;

  g_assert_cmpint (fx->clock->armed, ==, T0 + 10 * MIN_MS);
  lares_scheduler_get_stats (fx->sched, &st);
  g_assert_cmpuint (st.pending, ==, 3);

  /* Cancelling the earliest re-arms for the next one. */
  gone = change (fx, fx->alice, b->id, LARES_JOB_CHANGE_CANCEL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gone->status, ==, LARES_JOB_CANCELLED);
  g_assert_cmpint (fx->clock->armed, ==, T0 + 20 * MIN_MS);

  /* Nothing fires early. */
  advance (fx, T0 + 20 * MIN_MS - 1);
  g_assert_cmpuint (fx->events->len, ==, 0);
  fire_next (fx);
  g_assert_cmpuint (fx->events->len, ==, 1);
  g_assert_cmpint (event_job_id (fx, 0), ==, c->id);
  g_assert_cmpstr (json_object_get_string_member (event (fx, 0), "kind"), ==, "reminder");
  g_assert_false (json_object_get_boolean_member (event (fx, 0), "late"));
  g_assert_cmpstr (fx->status_at_publish, ==, "fired");
  g_assert_cmpint (fx->clock->armed, ==, T0 + 30 * MIN_MS);
  fire_next (fx);
  g_assert_cmpuint (fx->events->len, ==, 2);
  g_assert_cmpint (event_job_id (fx, 1), ==, a->id);
  g_assert_cmpint (fx->clock->armed, ==, -1);
  /* The cancelled one never fires. */
  advance (fx, T0 + 2 * H_MS);
  g_assert_cmpuint (fx->events->len, ==, 2);
}

static void
test_many_due_at_once (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  LaresSchedulerStats st;

  /* More than one firing batch due at the same instant, in creation order
   * reversed: they fire soonest-first, all of them. */
  for (int i = 600; i > 0; i--)
    {
      g_autoptr (LaresJob) j = create_at (fx, T0 + MIN_MS + i, "many");
      (void)j;
    }
  advance (fx, T0 + 2 * MIN_MS);
  /* One batch per alarm: keep firing what is armed. */
  while (fx->clock->armed >= 0)
    fire_next (fx);
  g_assert_cmpuint (fx->events->len, ==, 600);
  for (unsigned i = 1; i < fx->events->len; i++)
    g_assert_cmpint (json_object_get_int_member (
                         json_object_get_object_member (event (fx, i - 1), "job"), "due_ms"),
                     <=,
                     json_object_get_int_member (
                         json_object_get_object_member (event (fx, i), "job"), "due_ms"));
  lares_scheduler_get_stats (fx->sched, &st);
  g_assert_cmpuint (st.pending, ==, 0);
  g_assert_cmpuint (st.fired, ==, 600);
  g_assert_cmpuint (st.delivered, ==, 600);
}

/* A daily 09:00 rule in @tz, from @dtstart; the UTC hours of firings
 * [0..n) must be @utc_hours. */
static void
check_daily (Fixture *fx, const char *rrule, const char *dtstart, const char *tz, int64_t from,
             const int *utc_hours, const int *local_hours, unsigned n)
{
  LaresJobWhen when = { .rrule = rrule, .dtstart = dtstart, .tzid = tz };
  g_autoptr (LaresJob) job = NULL;
  g_autoptr (GTimeZone) zone = g_time_zone_new_identifier (tz);

  fx->clock->now = from;
  job = create (fx, fx->alice, LARES_JOB_REMINDER, "daily", &when);
  for (unsigned i = 0; i < n; i++)
    {
      g_autoptr (GDateTime) utc = NULL;
      g_autoptr (GDateTime) local = NULL;
      JsonObject *j;

      fire_next (fx);
      g_assert_cmpuint (fx->events->len, ==, i + 1);
      j = json_object_get_object_member (event (fx, i), "job");
      utc = g_date_time_new_from_unix_utc (json_object_get_int_member (j, "due_ms") / 1000);
      /* The event carries the row after firing: its due is the next
       * occurrence; the one that fired is fired_due. */
      g_clear_pointer (&utc, g_date_time_unref);
      utc = g_date_time_new_from_iso8601 (json_object_get_string_member (j, "fired_due"), NULL);
      local = g_date_time_to_timezone (utc, zone);
      g_test_message ("%s firing %u: %s UTC, %02d:%02d local", tz, i,
                      json_object_get_string_member (j, "fired_due"), g_date_time_get_hour (local),
                      g_date_time_get_minute (local));
      g_assert_cmpint (g_date_time_get_hour (utc), ==, utc_hours[i]);
      g_assert_cmpint (g_date_time_get_hour (local), ==, local_hours[i]);
      g_assert_cmpstr (json_object_get_string_member (j, "status"), ==, "pending");
    }
}

static void
test_dst_paris (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  /* Europe/Paris springs forward on Sunday 2026-03-29 (CET+1 -> CEST+2). */
  static const int utc[] = { 8, 8, 7, 7 }, local[] = { 9, 9, 9, 9 };

  check_daily (fx, "FREQ=DAILY;BYHOUR=9;BYMINUTE=0", "20260327T090000", "Europe/Paris",
               G_GINT64_CONSTANT (1774594800000) /* 2026-03-27T07:00Z */, utc, local, 4);
}

static void
test_dst_paris_autumn (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  /* ... and falls back on Sunday 2026-10-25: 09:00 is 07:00Z, then 08:00Z. */
  static const int utc[] = { 7, 7, 8, 8 }, local[] = { 9, 9, 9, 9 };

  check_daily (fx, "FREQ=DAILY", "20261023T090000", "Europe/Paris",
               G_GINT64_CONSTANT (1792648800000) /* 2026-10-23T06:00Z */, utc, local, 4);
}

static void
test_dst_new_york (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  /* America/New_York falls back on Sunday 2026-11-01 (EDT-4 -> EST-5). */
  static const int utc[] = { 13, 13, 14, 14 }, local[] = { 9, 9, 9, 9 };

  check_daily (fx, "FREQ=WEEKLY;BYDAY=FR,SA,SU,MO", "20261030T090000", "America/New_York",
               G_GINT64_CONSTANT (1793365200000) /* 2026-10-30T11:00Z */, utc, local, 4);
}

static void
test_spring_forward_gap (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  /* 02:30 does not exist in New York on 2026-03-08: RFC 5545 §3.3.5 reads
   * it with the offset before the gap, 07:30Z = 03:30 EDT; the day after
   * it is 02:30 EDT again. */
  static const int utc[] = { 7, 7, 6 }, local[] = { 2, 3, 2 };

  check_daily (fx, "FREQ=DAILY", "20260307T023000", "America/New_York",
               G_GINT64_CONSTANT (1772852400000) /* 2026-03-07T03:00Z */, utc, local, 3);
}

static void
test_snooze_and_dismiss (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  g_autoptr (LaresJob) job = create_at (fx, T0 + MIN_MS, "stretch");
  g_autoptr (LaresJob) snoozed = NULL;
  g_autoptr (LaresJob) dismissed = NULL;
  g_autoptr (LaresJob) again = NULL;
  g_autoptr (GError) error = NULL;

  fire_next (fx);
  g_assert_cmpuint (fx->events->len, ==, 1);
  snoozed = change (fx, fx->alice, job->id, LARES_JOB_CHANGE_SNOOZE, 5, &error);
  g_assert_no_error (error);
  g_assert_cmpint (snoozed->status, ==, LARES_JOB_PENDING);
  g_assert_cmpint (snoozed->due_at, ==, T0 + 6 * MIN_MS);
  g_assert_cmpint (snoozed->snoozes, ==, 1);
  g_assert_cmpint (fx->clock->armed, ==, T0 + 6 * MIN_MS);
  fire_next (fx);
  g_assert_cmpuint (fx->events->len, ==, 2);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (event (fx, 1), "job"),
                                               "fire_count"),
                   ==, 2);
  dismissed = change (fx, fx->alice, job->id, LARES_JOB_CHANGE_DISMISS, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dismissed->status, ==, LARES_JOB_DISMISSED);
  /* Final: no more snoozing or cancelling. */
  again = change (fx, fx->alice, job->id, LARES_JOB_CHANGE_SNOOZE, 5, &error);
  g_assert_null (again);
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT);
}

static void
test_dismiss_recurring_goes_on (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  LaresJobWhen when = { .rrule = "FREQ=DAILY", .dtstart = "20260105T130000", .tzid = "UTC" };
  g_autoptr (LaresJob) job = create (fx, fx->alice, LARES_JOB_REMINDER, "pills", &when);
  g_autoptr (LaresJob) after = NULL;
  g_autoptr (LaresJob) cancelled = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (job->due_at, ==, T0 + H_MS);
  fire_next (fx);
  after = change (fx, fx->alice, job->id, LARES_JOB_CHANGE_DISMISS, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (after->status, ==, LARES_JOB_PENDING);
  g_assert_cmpint (after->due_at, ==, T0 + 25 * H_MS);
  g_assert_cmpint (fx->clock->armed, ==, T0 + 25 * H_MS);
  cancelled = change (fx, fx->alice, job->id, LARES_JOB_CHANGE_CANCEL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (fx->clock->armed, ==, -1);
}

static void
test_other_users_jobs (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  g_autoptr (LaresJob) job = create_at (fx, T0 + MIN_MS, "mine");
  g_autoptr (LaresJob) r = NULL;
  g_autoptr (GError) error = NULL;
  LaresJobWhen when = { .at = "2026-01-05T12:02:00Z" };
  g_autoptr (LaresJob) bobs = create (fx, fx->bob, LARES_JOB_ALARM, "", &when);

  g_assert_cmpint (bobs->user_id, ==, fx->bob);
  r = change (fx, fx->bob, job->id, LARES_JOB_CHANGE_CANCEL, 0, &error);
  g_assert_null (r);
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND);
  /* Bob's alarm fires for bob only; alice hears nothing of it. */
  advance (fx, T0 + 5 * MIN_MS);
  while (fx->clock->armed >= 0)
    fire_next (fx);
  g_assert_cmpuint (fx->events->len, ==, 1);
  g_assert_cmpint (event_job_id (fx, 0), ==, job->id);
}

static void
test_late_after_downtime (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  g_autoptr (LaresJob) job = create_at (fx, T0 + MIN_MS, "while down");
  LaresJobWhen when = { .rrule = "FREQ=DAILY", .dtstart = "20260105T120200", .tzid = "UTC" };
  g_autoptr (LaresJob) daily = create (fx, fx->alice, LARES_JOB_REMINDER, "daily", &when);

  g_assert_cmpint (daily->due_at, ==, T0 + 2 * MIN_MS);
  g_assert_cmpint (job->due_at, ==, T0 + MIN_MS);
  /* The daemon stops before either is due and comes back three days on. */
  lares_scheduler_free (g_steal_pointer (&fx->sched));
  start_scheduler (fx, T0 + 72 * H_MS);
  g_assert_cmpint (fx->clock->armed, ==, T0 + MIN_MS);
  fire_next (fx);
  g_assert_cmpuint (fx->events->len, ==, 2);
  for (unsigned i = 0; i < 2; i++)
    g_assert_true (json_object_get_boolean_member (event (fx, i), "late"));
  /* Missed occurrences fire once; the series goes on from now. */
  g_assert_cmpint (fx->clock->armed, ==, T0 + 72 * H_MS + 2 * MIN_MS);
  fire_next (fx);
  g_assert_cmpuint (fx->events->len, ==, 3);
  g_assert_false (json_object_get_boolean_member (event (fx, 2), "late"));
}

/* The job's delivered_at as committed, 0 when not yet written. */
static int64_t
delivered_at (Fixture *fx, int64_t id)
{
  g_autoptr (GError) error = NULL;
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db = lares_store_open_reader (fx->store, &error);
  int64_t at;

  g_assert_no_error (error);
  g_assert_cmpint (
      sqlite3_prepare_v2 (db, "SELECT delivered_at FROM jobs WHERE id = ?1", -1, &stmt, NULL), ==,
      SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, id);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  at = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return at;
}

static void
test_redelivery_on_connect (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  g_autoptr (LaresJob) job = create_at (fx, T0 + MIN_MS, "nobody listens");

  lares_bus_unsubscribe (fx->bus, fx->sub);
  fire_next (fx);
  g_assert_cmpuint (fx->events->len, ==, 0);
  /* A restart in between must not forget it either. */
  lares_scheduler_free (g_steal_pointer (&fx->sched));
  start_scheduler (fx, T0 + 2 * MIN_MS);
  fx->sub = lares_bus_subscribe (fx->bus, fx->alice, on_event, fx);
  lares_scheduler_user_connected (fx->sched, fx->alice);
  settle (fx);
  g_assert_cmpuint (fx->events->len, ==, 1);
  g_assert_true (json_object_get_boolean_member (event (fx, 0), "redelivered"));
  settle (fx);
  /* Delivered once is enough. */
  lares_scheduler_user_connected (fx->sched, fx->alice);
  settle (fx);
  g_assert_cmpuint (fx->events->len, ==, 1);
  g_assert_cmpint (delivered_at (fx, job->id), >, 0);
}

static gboolean
always_ready (gpointer data)
{
  (*(unsigned *)data)++;
  return G_SOURCE_CONTINUE;
}

/* Under steady load (a default-priority source ready on every pass, as
 * token streams and requests are) a delivery is still written down soon,
 * not once the load stops: else a crash after it would deliver it again. */
static void
test_delivery_marked_under_load (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  g_autoptr (LaresJob) job = create_at (fx, T0 + MIN_MS, "under load");
  int64_t deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  unsigned busy = 0, busy_id = g_idle_add_full (G_PRIORITY_DEFAULT, always_ready, &busy, NULL);

  /* What fire_next does, without its settle (which waits for an idle
   * loop). */
  g_assert_cmpint (fx->clock->armed, ==, T0 + MIN_MS);
  fx->clock->now = fx->clock->armed;
  fx->clock->armed = -1;
  fx->clock->base.fire (fx->clock->base.fire_data);
  while (delivered_at (fx, job->id) == 0)
    {
      /* Waits only for the store's writer thread, which wakes this
       * context when a write is done. */
      if (g_get_monotonic_time () > deadline)
        g_error ("the delivery was not written while the loop stayed busy (%u passes)", busy);
      for (int i = 0; i < 100; i++)
        g_main_context_iteration (NULL, FALSE);
    }
  g_assert_cmpuint (fx->events->len, ==, 1);
  g_source_remove (busy_id);
}

static void
test_when_refused (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  static const LaresJobWhen bad[] = {
    { .at = NULL },
    { .at = "tomorrow" },
    { .at = "2026-01-05T11:00:00Z" }, /* in the past */
    { .at = "2026-02-30T09:00:00Z" },
    { .at = "2026-01-06T09:00:00Z", .tzid = "Mars/Olympus" },
    { .at = "2026-01-06T09:00:00Z", .tzid = "../../etc/passwd" },
    { .rrule = "FREQ=SECONDLY" },
    { .rrule = "FREQ=DAILY;COUNT=2;UNTIL=20260110T000000Z" },
    { .rrule = "FREQ=WEEKLY;BYDAY=1MO" },
    { .rrule = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30" },
    { .rrule = "FREQ=DAILY", .dtstart = "2026-01-05" },
    { .rrule = "FREQ=DAILY;COUNT=1", .dtstart = "20250101T090000" }, /* over */
    { .rrule = "NOT A RULE" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (LaresJob) job = g_new0 (LaresJob, 1);
      g_autoptr (GError) error = NULL;

      g_assert_false (lares_job_set_when (job, &bad[i], fx->clock->now, &error));
      g_assert_error (error, LARES_RECUR_ERROR, LARES_RECUR_ERROR_INVALID);
      g_test_message ("refused %zu: %s", i, error->message);
      g_assert_null (job->rrule);
    }
}

/* ---- tools: what the intent engine sends, run for real ----------------------------------------
 */

typedef struct
{
  gboolean done;
  JsonNode *result;
  GError *error;
} ToolResult;

static void
on_tool (JsonNode *res, const GError *error, gpointer data)
{
  ToolResult *r = data;

  r->done = TRUE;
  r->result = res ? json_node_copy (res) : NULL;
  r->error = error ? g_error_copy (error) : NULL;
}

static void
test_tools_take_intent_args (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  static const struct
  {
    const char *text, *tool, *reply_has;
  } cases[] = {
    { "remind me to call mom tomorrow at 5pm", "reminder.create", "call mom tomorrow at 17:00" },
    { "set a timer for 10 minutes", "timer.start", "10 minutes" },
    { "set a pasta timer for 8 minutes", "timer.start", "pasta timer is set for 8 minutes" },
    { "wake me up at 7am", "alarm.set", "tomorrow at 07:00" },
    { "remind me to water the plants every monday at 9", "reminder.create", "repeating" },
    { "set an alarm every weekday at 6:30", "alarm.set", "Repeating alarm" },
    { "what reminders do I have", "reminder.list", "You have 2 reminders" },
    { "how much time is left on my timer", "timer.query", "You have 2 running timers" },
    { "cancel my reminder about mom", "reminder.cancel", "Cancelled your reminder to call mom" },
    { "cancel the timer", "timer.cancel", "which one" },
    { "cancel my pasta timer", "timer.cancel", "Cancelled your timer" },
    { "cancel my alarm", "alarm.cancel", "which one" },
    { "cancel my alarm for 7am", "alarm.cancel", "Cancelled your alarm" },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (LaresIntentEngine) engine = lares_intent_engine_new_builtin ("en", &error);
  g_autoptr (LaresToolRegistry) reg = lares_tool_registry_new ();
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier ("Europe/Paris");
  /* Monday 2026-01-05 13:00 in Paris. */
  g_autoptr (GDateTime) now = g_date_time_new (tz, 2026, 1, 5, 13, 0, 0);
  LaresToolContext ctx = { fx->store, fx->alice, now, "", fx->sched };

  g_assert_no_error (error);
  lares_tool_registry_add_builtin (reg);
  fx->clock->now = g_date_time_to_unix (now) * 1000;
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (LaresIntentMatch) m =
          lares_intent_engine_match (engine, cases[i].text, now, tz, NULL);
      const LaresTool *tool = lares_tool_registry_lookup (reg, cases[i].tool);
      ToolResult r = { 0 };
      const char *reply;

      g_assert_cmpstr (lares_intent_match_get_tool (m), ==, cases[i].tool);
      g_assert_nonnull (tool);
      lares_tool_run (tool, &ctx, lares_intent_match_get_args (m), on_tool, &r);
      lares_test_wait_flag (&r.done, 5000);
      g_assert_no_error (r.error);
      reply = json_object_get_string_member (json_node_get_object (r.result), "text");
      g_test_message ("%s -> %s", cases[i].text, reply);
      g_assert_nonnull (strstr (reply, cases[i].reply_has));
      json_node_unref (r.result);
    }
  /* The timer and the alarm left fire on time. */
  fire_next (fx);
  g_assert_cmpuint (fx->events->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (event (fx, 0), "kind"), ==, "timer");
}

static void
test_tools_without_scheduler (Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
  g_autoptr (LaresToolRegistry) reg = lares_tool_registry_new ();
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (JsonNode) args = json_from_string ("{\"seconds\":5}", NULL);
  LaresToolContext ctx = { fx->store, fx->alice, now, "", NULL };
  ToolResult r = { 0 };

  lares_tool_registry_add_builtin (reg);
  lares_tool_run (lares_tool_registry_lookup (reg, "timer.start"), &ctx, args, on_tool, &r);
  g_assert_true (r.done);
  g_assert_error (r.error, LARES_TOOL_ERROR, LARES_TOOL_ERROR_FAILED);
  g_clear_error (&r.error);
}

/* Notifications write a job's JSON as text; it must say what the REST
 * form (lares_job_to_json) says. */
static void
test_job_json_text (void)
{
  LaresJob jobs[4] = {
    { .id = 7,
      .user_id = 2,
      .kind = LARES_JOB_REMINDER,
      .status = LARES_JOB_FIRED,
      .text = (char *)"call \"Bob\" \\ caf\u00e9\n\t\x01",
      .due_at = 1767225600123,
      .created_at = 1767225000000,
      .fired_at = 1767225600500,
      .fired_due = 1767225600123,
      .fire_count = 1 },
    { .id = 8,
      .user_id = 2,
      .kind = LARES_JOB_TIMER,
      .status = LARES_JOB_PENDING,
      .text = NULL,
      .due_at = 1,
      .seconds = 300,
      .created_at = 0 },
    { .id = 9,
      .user_id = 3,
      .kind = LARES_JOB_ALARM,
      .status = LARES_JOB_PENDING,
      .text = (char *)"",
      .due_at = 253402300800000 /* year 10000 */,
      .rrule = (char *)"FREQ=DAILY",
      .dtstart = (char *)"20260101T070000",
      .tzid = (char *)"Europe/Paris",
      .created_at = 1767225000000,
      .fire_count = 3,
      .snoozes = 2 },
    /* A reminder before a calendar event carries the event's times. */
    { .id = 10,
      .user_id = 2,
      .kind = LARES_JOB_REMINDER,
      .status = LARES_JOB_FIRED,
      .text = (char *)"dentist",
      .due_at = 1767225600000,
      .seconds = 900,
      .event_id = 4,
      .created_at = 1767225000000,
      .fired_at = 1767225600200,
      .fired_due = 1767225600000,
      .fire_count = 1 },
  };

  for (unsigned i = 0; i < G_N_ELEMENTS (jobs); i++)
    {
      g_autoptr (GString) text = g_string_new (NULL);
      g_autoptr (JsonNode) want = lares_job_to_json (&jobs[i]);
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autofree char *want_text = json_to_string (want, FALSE);

      lares_job_append_json (text, &jobs[i]);
      g_assert_true (json_parser_load_from_data (parser, text->str, (gssize)text->len, NULL));
      if (!json_node_equal (json_parser_get_root (parser), want))
        g_error ("job %u: %s != %s", i, text->str, want_text);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add ("/scheduler/" path, Fixture, NULL, setup, fn, teardown)
  ADD ("one-alarm-for-the-earliest", test_one_alarm_for_the_earliest);
  ADD ("many-due-at-once", test_many_due_at_once);
  ADD ("dst/paris-spring", test_dst_paris);
  ADD ("dst/paris-autumn", test_dst_paris_autumn);
  ADD ("dst/new-york-autumn", test_dst_new_york);
  ADD ("dst/spring-forward-gap", test_spring_forward_gap);
  ADD ("snooze-and-dismiss", test_snooze_and_dismiss);
  ADD ("dismiss-recurring-goes-on", test_dismiss_recurring_goes_on);
  ADD ("other-users-jobs", test_other_users_jobs);
  ADD ("late-after-downtime", test_late_after_downtime);
  ADD ("redelivery-on-connect", test_redelivery_on_connect);
  ADD ("delivery-marked-under-load", test_delivery_marked_under_load);
  ADD ("when-refused", test_when_refused);
  ADD ("tools/intent-args", test_tools_take_intent_args);
  ADD ("tools/without-scheduler", test_tools_without_scheduler);
  g_test_add_func ("/scheduler/job-json-text", test_job_json_text);
  return g_test_run ();
}
