/* fuzz-rrule.c — repeating reminders as a person or a model sends them:
 * the RRULE / DTSTART / zone checker and the next-occurrence search
 * (lares-recur.h), the calendar's walk over a series (lares_recur_iter,
 * from a wall time and from a date), and the whole "when" of a job
 * (lares_job_set_when).
 *
 * Input: "RRULE\nDTSTART\nTZID\nAT" (missing fields are NULL); the search
 * starts at an instant derived from the data.
 *
 * Checks: a refusal is LARES_RECUR_ERROR_INVALID with a UTF-8 message; an
 * occurrence is strictly after the instant asked for and the next one after
 * it is later still; a rule the checker accepts has an occurrence; an
 * accepted job is due and keeps a rule only with its start and zone.
 */
#include "config.h"

#include "lares-fuzz.h"
#include "lares-recur.h"
#include "lares-scheduler.h"

#include <string.h>

/* 2026-03-08T06:00:00Z: hours before New York springs forward. */
#define BASE_MS G_GINT64_CONSTANT (1772949600000)

static void
check_error (const GError *error)
{
  g_assert_true (error != NULL);
  g_assert_true (error->domain == LARES_RECUR_ERROR);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = lares_fuzz_strndup (data, size);
  g_auto (GStrv) f = NULL;
  const char *rrule, *dtstart, *tzid, *at;
  int64_t after = BASE_MS;
  g_autoptr (GError) error = NULL;
  gboolean ok;

  lares_fuzz_init ();
  f = g_strsplit (text, "\n", 4);
  rrule = f[0];
  dtstart = rrule && f[1] ? f[1] : NULL;
  tzid = dtstart && f[2] ? f[2] : NULL;
  at = tzid && f[3] ? f[3] : NULL;
  for (size_t i = 0; i < size && i < 8; i++)
    after += (int64_t)data[i] * 3600 * 1000 * (i % 2 ? 24 : 1);

  ok =
      lares_recur_check (rrule, dtstart ? dtstart : "20260101T090000", tzid ? tzid : "UTC", &error);
  if (!ok)
    check_error (error);
  g_clear_error (&error);
  {
    int64_t next = lares_recur_next (rrule, dtstart ? dtstart : "20260101T090000",
                                     tzid ? tzid : "UTC", after, &error);
    if (next < 0)
      {
        check_error (error);
        g_assert_false (ok);
      }
    else if (next > 0)
      {
        int64_t again;

        g_assert_cmpint (next, >, after);
        again = lares_recur_next (rrule, dtstart ? dtstart : "20260101T090000", tzid ? tzid : "UTC",
                                  next, NULL);
        g_assert_true (again == 0 || again > next);
      }
  }
  g_clear_error (&error);

  {
    /* The calendar's walk over a series, from a wall time and from a date
     * alone (all-day events): wall times strictly increase. */
    g_autofree char *date = g_strndup (dtstart && strlen (dtstart) >= 8 ? dtstart : "20260101", 8);
    const char *starts[2] = { dtstart ? dtstart : "20260101T090000", date };

    /* Only rules the checker accepts reach a calendar's walk (and a rule
     * with no occurrence at all costs libical a search to its year limit
     * per call, which ASan makes slow). */
    for (int k = 0; ok && k < 2; k++)
      {
        g_autoptr (LaresRecurIter) it =
            lares_recur_iter_new (rrule, starts[k], tzid ? tzid : "UTC", after, NULL);
        LaresRecurTime t;
        int64_t last = -1;

        for (int n = 0; it && n < 64 && lares_recur_iter_next (it, &t); n++)
          {
            int64_t wall = ((((int64_t)t.year * 13 + t.month) * 32 + t.day) * 24 + t.hour) * 3600 +
                           t.minute * 60 + t.second;

            g_assert_cmpint (wall, >, last);
            g_assert_true (k == 0 || (t.hour == 0 && t.minute == 0 && t.second == 0));
            last = wall;
          }
      }
  }

  {
    g_autoptr (LaresJob) job = g_new0 (LaresJob, 1);
    g_autoptr (GTimeZone) tz = g_time_zone_new_identifier ("America/New_York");
    LaresJobWhen when = { at, rrule && *rrule ? rrule : NULL, dtstart && *dtstart ? dtstart : NULL,
                          tzid && *tzid ? tzid : NULL, tz };

    if (lares_job_set_when (job, &when, BASE_MS, &error))
      {
        g_assert_cmpint (job->due_at, >, 0);
        g_assert_true ((job->rrule == NULL) == (job->dtstart == NULL));
        g_assert_true ((job->rrule == NULL) == (job->tzid == NULL));
        if (job->rrule)
          g_assert_cmpint (job->due_at, >=, BASE_MS);
      }
    else
      check_error (error);
  }
  return 0;
}
