/* lares-recur.c — occurrences of recurring jobs and events (see lares-recur.h).
 *
 * DESIGN: libical iterates floating wall times only; it never sees a zone.
 * Its own zone handling would need VTIMEZONE data or its built-in copy of
 * tzdata, and its answers for times in a DST gap differ between versions;
 * GLib reads the system's tzdata, which is what the rest of lares uses.
 *
 * Cost: a search starts from DTSTART, or, for rules without COUNT, from a
 * day before @after (icalrecur_iterator_set_start), so a daily rule that
 * has been firing for years costs a few iterator steps, not thousands.  A
 * rule with COUNT has at most that many occurrences to walk.  Every search
 * is bounded by RECUR_MAX_STEPS and by the year 2200, so a rule that never
 * matches (February 30th) ends with "no occurrence" instead of spinning.
 */
#include "config.h"

#include "lares-recur.h"

#include <libical/ical.h>
#include <string.h>

G_DEFINE_QUARK (lares - recur - error - quark, lares_recur_error)

#define RECUR_MAX_STEPS 20000
#define RECUR_MAX_YEAR  2200
#define RECUR_MIN_YEAR  1970

static gboolean invalid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError **error, const char *format, ...)
{
  va_list ap;

  va_start (ap, format);
  if (error)
    *error = g_error_new_valist (LARES_RECUR_ERROR, LARES_RECUR_ERROR_INVALID, format, ap);
  va_end (ap);
  return FALSE;
}

char *
lares_recur_normalize (const char *rrule)
{
  const char *p = rrule;
  size_t len;

  if (p == NULL)
    return NULL;
  while (*p == ' ' || *p == '\t')
    p++;
  if (g_ascii_strncasecmp (p, "RRULE:", 6) == 0)
    p += 6;
  len = strlen (p);
  while (len > 0 &&
         (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r' || p[len - 1] == '\n'))
    len--;
  if (len == 0 || len > LARES_RECUR_RULE_MAX)
    return NULL;
  for (size_t i = 0; i < len; i++)
    if (p[i] < 0x21 || p[i] > 0x7e)
      return NULL;
  return g_strndup (p, len);
}

/* Loading a zone costs GLib a parse of its tzdata file and of every
 * transition to 2037 (~0.1 ms, most of a calendar query that touches a
 * few hundred events), so zones are kept for a while: long enough to
 * serve a query, short enough that a tzdata update is seen within
 * ZONE_CACHE_US.  Only names that loaded are kept, and there are a few
 * hundred of those at most. */
#define ZONE_CACHE_US (10 * G_USEC_PER_SEC * 60)

typedef struct
{
  GTimeZone *tz;
  int64_t loaded_us; /* monotonic */
} CachedZone;

static void
cached_zone_free (gpointer p)
{
  CachedZone *c = p;

  g_time_zone_unref (c->tz);
  g_free (c);
}

static GMutex zone_lock;
static GHashTable *zone_cache; /* name -> CachedZone* */

static GTimeZone *
zone_cached (const char *tzid)
{
  int64_t now = g_get_monotonic_time ();
  CachedZone *c;
  GTimeZone *tz;

  g_mutex_lock (&zone_lock);
  if (zone_cache == NULL)
    zone_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, cached_zone_free);
  c = g_hash_table_lookup (zone_cache, tzid);
  if (c != NULL && now - c->loaded_us < ZONE_CACHE_US)
    {
      tz = g_time_zone_ref (c->tz);
      g_mutex_unlock (&zone_lock);
      return tz;
    }
  g_mutex_unlock (&zone_lock);
  tz = g_time_zone_new_identifier (tzid);
  if (tz == NULL)
    return NULL;
  c = g_new0 (CachedZone, 1);
  c->tz = g_time_zone_ref (tz);
  c->loaded_us = now;
  g_mutex_lock (&zone_lock);
  g_hash_table_replace (zone_cache, g_strdup (tzid), c);
  g_mutex_unlock (&zone_lock);
  return tz;
}

GTimeZone *
lares_recur_zone (const char *tzid)
{
  GTimeZone *tz;

  if (tzid == NULL || *tzid == '\0' || strlen (tzid) > LARES_RECUR_TZID_MAX ||
      !g_utf8_validate (tzid, -1, NULL))
    return NULL;
  /* Only names: a path or a POSIX TZ string would read files or mean
   * something else on another machine. */
  for (const char *p = tzid; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("/_-+", *p) == NULL)
      return NULL;
  if (tzid[0] == '/' || strstr (tzid, "..") != NULL)
    return NULL;
  if (strcmp (tzid, "UTC") == 0)
    return g_time_zone_new_utc ();
  tz = zone_cached (tzid);
  return tz;
}

gboolean
lares_recur_parse_wall (const char *text, int *year, int *month, int *day, int *hour, int *minute,
                        int *second)
{
  int v[6] = { 0 };
  static const int width[6] = { 4, 2, 2, 2, 2, 2 };
  const char *p = text;

  if (text == NULL || strlen (text) != 15 || text[8] != 'T')
    return FALSE;
  for (int i = 0; i < 6; i++)
    {
      if (i == 3)
        p++; /* the 'T' */
      for (int k = 0; k < width[i]; k++, p++)
        {
          if (!g_ascii_isdigit (*p))
            return FALSE;
          v[i] = v[i] * 10 + (*p - '0');
        }
    }
  if (v[0] < RECUR_MIN_YEAR || v[0] >= RECUR_MAX_YEAR || v[1] < 1 || v[1] > 12 || v[3] > 23 ||
      v[4] > 59 || v[5] > 59 ||
      !g_date_valid_dmy ((GDateDay)v[2], (GDateMonth)v[1], (GDateYear)v[0]))
    return FALSE;
  *year = v[0], *month = v[1], *day = v[2], *hour = v[3], *minute = v[4], *second = v[5];
  return TRUE;
}

static int32_t
offset_at (GTimeZone *tz, int64_t utc_s)
{
  int i = g_time_zone_find_interval (tz, G_TIME_TYPE_UNIVERSAL, utc_s);
  return i < 0 ? 0 : g_time_zone_get_offset (tz, i);
}

int64_t
lares_recur_wall_to_ms (GTimeZone *tz, int year, int month, int day, int hour, int minute,
                        int second)
{
  g_autoptr (GDateTime) as_utc = g_date_time_new_utc (year, month, day, hour, minute, second);
  int64_t local, u1, u2;
  int32_t before, after;

  g_return_val_if_fail (as_utc != NULL, 0);
  local = g_date_time_to_unix (as_utc);
  /* The offsets a day either side: no zone changes twice within two days. */
  before = offset_at (tz, local - 86400);
  after = offset_at (tz, local + 86400);
  u1 = local - before;
  if (offset_at (tz, u1) == before)
    return u1 * 1000; /* exists, or the first of two */
  u2 = local - after;
  if (offset_at (tz, u2) == after)
    return u2 * 1000;
  return u1 * 1000; /* in a gap: the offset before it (RFC 5545 §3.3.5) */
}

char *
lares_recur_wall_from_ms (int64_t ms, GTimeZone *tz)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (ms / 1000);
  g_autoptr (GDateTime) local = NULL;

  if (utc == NULL)
    return NULL;
  local = g_date_time_to_timezone (utc, tz);
  return g_strdup_printf ("%04d%02d%02dT%02d%02d%02d", g_date_time_get_year (local),
                          g_date_time_get_month (local), g_date_time_get_day_of_month (local),
                          g_date_time_get_hour (local), g_date_time_get_minute (local),
                          g_date_time_get_second (local));
}

/* A parsed rule with its zone and start, ready to iterate. */
typedef struct
{
  struct icalrecurrencetype rt;
  struct icaltimetype start; /* floating */
  GTimeZone *tz;
} Recur;

static void
recur_clear (Recur *r)
{
  if (r->rt.rscale)
    icalmemory_free_buffer (r->rt.rscale);
  r->rt.rscale = NULL;
  g_clear_pointer (&r->tz, g_time_zone_unref);
}

static struct icaltimetype
floating (int y, int mo, int d, int h, int mi, int s)
{
  struct icaltimetype t = icaltime_null_time ();

  t.year = y, t.month = mo, t.day = d, t.hour = h, t.minute = mi, t.second = s;
  t.is_date = 0;
  t.zone = NULL;
  return t;
}

/* Whether some BYMONTH month has some BYMONTHDAY day (February 30th never
 * comes).  Other parts only take occurrences away, so when no pair fits
 * the rule has none; saying so here spares libical a search to its year
 * limit on every iterator it builds for such a rule. */
static gboolean
month_days_possible (const struct icalrecurrencetype *rt)
{
  static const int max_days[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

  if (rt->by_month[0] == ICAL_RECURRENCE_ARRAY_MAX ||
      rt->by_month_day[0] == ICAL_RECURRENCE_ARRAY_MAX)
    return TRUE;
  for (int m = 0; m < ICAL_BY_MONTH_SIZE && rt->by_month[m] != ICAL_RECURRENCE_ARRAY_MAX; m++)
    {
      int month = rt->by_month[m];

      if (month < 1 || month > 12)
        return TRUE; /* leap months and the like: libical decides */
      for (int d = 0; d < ICAL_BY_MONTHDAY_SIZE && rt->by_month_day[d] != ICAL_RECURRENCE_ARRAY_MAX;
           d++)
        if (ABS (rt->by_month_day[d]) <= max_days[month])
          return TRUE;
    }
  return FALSE;
}

/* A DTSTART: a wall time, or a date alone ("20260101", all-day). */
static gboolean
parse_start (const char *text, int *y, int *mo, int *d, int *h, int *mi, int *s, gboolean *is_date)
{
  if (text != NULL && strlen (text) == 8)
    {
      g_autofree char *wall = g_strconcat (text, "T000000", NULL);

      *is_date = TRUE;
      return lares_recur_parse_wall (wall, y, mo, d, h, mi, s);
    }
  *is_date = FALSE;
  return lares_recur_parse_wall (text, y, mo, d, h, mi, s);
}

static gboolean
recur_init (Recur *r, const char *rrule, const char *dtstart, const char *tzid, GError **error)
{
  g_autofree char *rule = lares_recur_normalize (rrule);
  int y, mo, d, h, mi, s;
  gboolean is_date;

  memset (r, 0, sizeof *r);
  if (rule == NULL)
    return invalid (error, "the repeat rule is empty, too long or not plain text");
  if (!parse_start (dtstart, &y, &mo, &d, &h, &mi, &s, &is_date))
    return invalid (error, "the start is not a wall time like 20260101T090000");
  r->tz = lares_recur_zone (tzid);
  if (r->tz == NULL)
    /* Echo the name only when it is text a client can show. */
    return tzid && strlen (tzid) <= LARES_RECUR_TZID_MAX && g_utf8_validate (tzid, -1, NULL)
               ? invalid (error, "unknown time zone '%s'", tzid)
               : invalid (error, "unknown time zone");
  /* Each FREQ= must be counted: libical keeps the last of several. */
  {
    unsigned n = 0;
    for (const char *p = rule; (p = strstr (p, "FREQ=")) != NULL; p += 5)
      if (p == rule || p[-1] == ';')
        n++;
    if (n != 1)
      return invalid (error, n ? "FREQ appears more than once" : "the repeat rule has no FREQ");
  }
  icalerror_clear_errno ();
  r->rt = icalrecurrencetype_from_string (rule);
  if (r->rt.freq == ICAL_NO_RECURRENCE || icalerrno != ICAL_NO_ERROR)
    {
      icalerror_clear_errno ();
      return invalid (error, "the repeat rule is not a valid RRULE");
    }
  if (r->rt.rscale != NULL)
    return invalid (error, "RSCALE is not supported");
  if (r->rt.freq == ICAL_SECONDLY_RECURRENCE)
    return invalid (error, "a reminder cannot repeat more often than once a minute");
  if (r->rt.by_second[0] != ICAL_RECURRENCE_ARRAY_MAX &&
      (r->rt.by_second[1] != ICAL_RECURRENCE_ARRAY_MAX || r->rt.by_second[0] > 59))
    return invalid (error, "a reminder cannot repeat more often than once a minute");
  if (r->rt.count != 0 && !icaltime_is_null_time (r->rt.until))
    return invalid (error, "COUNT and UNTIL cannot both be given");
  if (r->rt.count < 0)
    return invalid (error, "COUNT must be positive");
  if (r->rt.interval < 1)
    return invalid (error, "INTERVAL must be positive");
  if (r->rt.freq != ICAL_MONTHLY_RECURRENCE && r->rt.freq != ICAL_YEARLY_RECURRENCE)
    for (int i = 0; i < ICAL_BY_DAY_SIZE && r->rt.by_day[i] != ICAL_RECURRENCE_ARRAY_MAX; i++)
      if (icalrecurrencetype_day_position (r->rt.by_day[i]) != 0)
        return invalid (error, "BYDAY with a number (like 1MO) needs FREQ=MONTHLY or YEARLY");
  if (!icaltime_is_null_time (r->rt.until))
    {
      struct icaltimetype u = r->rt.until;

      if (u.year < RECUR_MIN_YEAR || u.year >= RECUR_MAX_YEAR)
        return invalid (error, "UNTIL is out of range");
      if (!u.is_date && icaltime_is_utc (u))
        {
          /* Compare as the wall time of that instant in the job's zone. */
          g_autoptr (GDateTime) at =
              g_date_time_new_utc (u.year, u.month, u.day, u.hour, u.minute, u.second);
          g_autoptr (GDateTime) local = at ? g_date_time_to_timezone (at, r->tz) : NULL;

          if (local == NULL)
            return invalid (error, "UNTIL is not a valid time");
          r->rt.until =
              floating (g_date_time_get_year (local), g_date_time_get_month (local),
                        g_date_time_get_day_of_month (local), g_date_time_get_hour (local),
                        g_date_time_get_minute (local), g_date_time_get_second (local));
        }
    }
  if (!month_days_possible (&r->rt))
    return invalid (error, "the repeat rule has no occurrence (no such day in those months)");
  if (is_date && (r->rt.freq == ICAL_MINUTELY_RECURRENCE || r->rt.freq == ICAL_HOURLY_RECURRENCE ||
                  r->rt.by_hour[0] != ICAL_RECURRENCE_ARRAY_MAX ||
                  r->rt.by_minute[0] != ICAL_RECURRENCE_ARRAY_MAX ||
                  r->rt.by_second[0] != ICAL_RECURRENCE_ARRAY_MAX))
    return invalid (error, "an all-day event repeats by days, not hours or minutes");
  r->start = floating (y, mo, d, h, mi, s);
  r->start.is_date = is_date;
  if (is_date && !icaltime_is_null_time (r->rt.until) && !r->rt.until.is_date)
    {
      /* A date series ends on the date of its UNTIL (RFC 5545 wants a
       * DATE there; a DATE-TIME is read as its day). */
      r->rt.until.hour = r->rt.until.minute = r->rt.until.second = 0;
      r->rt.until.is_date = 1;
    }
  return TRUE;
}

static int64_t
occurrence_ms (const Recur *r, struct icaltimetype t)
{
  return lares_recur_wall_to_ms (r->tz, t.year, t.month, t.day, t.is_date ? 0 : t.hour,
                                 t.is_date ? 0 : t.minute, t.is_date ? 0 : t.second);
}

/* An iterator over @r's occurrences, started close to @skip_to_ms when
 * the rule allows it (no COUNT: with COUNT every occurrence from DTSTART
 * counts).  NULL when libical refuses the rule. */
static icalrecur_iterator *
recur_iterator (Recur *r, int64_t skip_to_ms)
{
  icalrecur_iterator *it = icalrecur_iterator_new (r->rt, r->start);

  if (it == NULL)
    {
      icalerror_clear_errno ();
      return NULL;
    }
  if (r->rt.count == 0 && skip_to_ms > G_MININT64 / 2)
    {
      /* Jump close to @skip_to: a day early covers any zone offset. */
      g_autofree char *wall = lares_recur_wall_from_ms (skip_to_ms - 86400 * 1000, r->tz);
      int y, mo, d, h, mi, s;

      if (wall && lares_recur_parse_wall (wall, &y, &mo, &d, &h, &mi, &s))
        {
          struct icaltimetype from = floating (y, mo, d, r->start.is_date ? 0 : h,
                                               r->start.is_date ? 0 : mi, r->start.is_date ? 0 : s);

          from.is_date = r->start.is_date;
          if (icaltime_compare (from, r->start) > 0 && !icalrecur_iterator_set_start (it, from))
            icalerror_clear_errno ();
        }
    }
  return it;
}

/* The first occurrence after @after_ms: > 0, 0 for none. */
static int64_t
recur_next (Recur *r, int64_t after_ms)
{
  icalrecur_iterator *it = recur_iterator (r, after_ms);
  int64_t found = 0;

  if (it == NULL)
    return 0;
  for (int step = 0; step < RECUR_MAX_STEPS; step++)
    {
      struct icaltimetype t = icalrecur_iterator_next (it);
      int64_t ms;

      if (icaltime_is_null_time (t) || t.year >= RECUR_MAX_YEAR)
        break;
      ms = occurrence_ms (r, t);
      if (ms > after_ms)
        {
          found = ms;
          break;
        }
    }
  icalrecur_iterator_free (it);
  icalerror_clear_errno ();
  return found;
}

struct _LaresRecurIter
{
  Recur r;
  icalrecur_iterator *it;
  unsigned steps;
};

LaresRecurIter *
lares_recur_iter_new (const char *rrule, const char *dtstart, const char *tzid, int64_t skip_to_ms,
                      GError **error)
{
  LaresRecurIter *iter = g_new0 (LaresRecurIter, 1);

  if (!recur_init (&iter->r, rrule, dtstart, tzid, error))
    {
      lares_recur_iter_free (iter);
      return NULL;
    }
  iter->it = recur_iterator (&iter->r, skip_to_ms);
  return iter;
}

gboolean
lares_recur_iter_next (LaresRecurIter *iter, LaresRecurTime *out)
{
  struct icaltimetype t;

  if (iter->it == NULL || iter->steps >= LARES_RECUR_ITER_MAX_STEPS)
    return FALSE;
  iter->steps++;
  t = icalrecur_iterator_next (iter->it);
  if (icaltime_is_null_time (t) || t.year >= RECUR_MAX_YEAR)
    {
      icalerror_clear_errno ();
      icalrecur_iterator_free (iter->it);
      iter->it = NULL;
      return FALSE;
    }
  out->year = t.year, out->month = t.month, out->day = t.day;
  out->hour = t.is_date ? 0 : t.hour;
  out->minute = t.is_date ? 0 : t.minute;
  out->second = t.is_date ? 0 : t.second;
  out->ms = occurrence_ms (&iter->r, t);
  return TRUE;
}

void
lares_recur_iter_free (LaresRecurIter *iter)
{
  if (iter == NULL)
    return;
  if (iter->it)
    icalrecur_iterator_free (iter->it);
  icalerror_clear_errno ();
  recur_clear (&iter->r);
  g_free (iter);
}

int64_t
lares_recur_next (const char *rrule, const char *dtstart, const char *tzid, int64_t after_ms,
                  GError **error)
{
  Recur r;
  int64_t next;

  if (!recur_init (&r, rrule, dtstart, tzid, error))
    {
      recur_clear (&r);
      return -1;
    }
  next = recur_next (&r, after_ms);
  recur_clear (&r);
  return next;
}

gboolean
lares_recur_check (const char *rrule, const char *dtstart, const char *tzid, GError **error)
{
  Recur r;
  gboolean ok;

  if (!recur_init (&r, rrule, dtstart, tzid, error))
    {
      recur_clear (&r);
      return FALSE;
    }
  ok = recur_next (&r, G_MININT64 / 2) > 0;
  recur_clear (&r);
  if (!ok)
    return invalid (error, "the repeat rule has no occurrence");
  return TRUE;
}
