/* lares-events.c — calendar events (see lares-events.h).
 *
 * DESIGN
 * - One struct, LaresEvent, is the event as stored, as JSON gives it and as
 *   iCalendar gives it (lares-ical.c); every path ends in
 *   lares_event_check(), so the store only ever holds checked events.
 * - Recurrence comes from lares-recur.c (libical's iterator over wall
 *   times, placed in the event's zone with GLib's tzdata).  This file adds
 *   the calendar's parts: EXDATEs, overrides, durations, all-day dates and
 *   ranges.
 * - span_start/span_end (instants) are written with every event so a range
 *   query reads only the events that can have an occurrence in the range;
 *   expansion happens in C on the reader thread.
 * - The reminder job of an event is kept in step in the same transaction
 *   as the event (lares_events_sync_reminder), so the scheduler's index can
 *   be updated from the commit's callback.
 */
#include "config.h"

#include "lares-events.h"

#include "lares-recur.h"
#include "lares-store.h"
#include "lares-util.h"

#include <string.h>

G_DEFINE_QUARK (lares - event - error - quark, lares_event_error)

#define DAY_MS         G_GINT64_CONSTANT (86400000)
#define SPAN_MAX_STEPS 20000 /* occurrences walked to find where a finite series ends */
#define SELECT_IDS_MAX 1000

static gboolean invalid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError **error, const char *format, ...)
{
  va_list ap;

  va_start (ap, format);
  if (error)
    *error = g_error_new_valist (LARES_EVENT_ERROR, LARES_EVENT_ERROR_INVALID, format, ap);
  va_end (ap);
  return FALSE;
}

/* ---- the struct ----------------------------------------------------------------------------- */

LaresEvent *
lares_event_new (void)
{
  LaresEvent *ev = g_new0 (LaresEvent, 1);

  ev->uid = g_strdup ("");
  ev->title = g_strdup ("");
  ev->tzid = g_strdup ("UTC");
  ev->location = g_strdup ("");
  ev->description = g_strdup ("");
  ev->remind_minutes = -1;
  ev->exdates = g_array_new (FALSE, FALSE, sizeof (int64_t));
  ev->overrides = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_event_override_free);
  return ev;
}

void
lares_event_override_free (LaresEventOverride *o)
{
  if (o == NULL)
    return;
  g_free (o->title);
  g_free (o->location);
  g_free (o->description);
  g_free (o);
}

static LaresEventOverride *
override_copy (const LaresEventOverride *o)
{
  LaresEventOverride *c = g_memdup2 (o, sizeof *o);

  c->title = g_strdup (o->title);
  c->location = g_strdup (o->location);
  c->description = g_strdup (o->description);
  return c;
}

void
lares_event_free (LaresEvent *ev)
{
  if (ev == NULL)
    return;
  g_free (ev->uid);
  g_free (ev->title);
  g_free (ev->tzid);
  g_free (ev->location);
  g_free (ev->description);
  g_free (ev->rrule);
  g_array_unref (ev->exdates);
  g_ptr_array_unref (ev->overrides);
  g_free (ev);
}

LaresEvent *
lares_event_copy (const LaresEvent *ev)
{
  LaresEvent *c = g_memdup2 (ev, sizeof *ev);

  c->uid = g_strdup (ev->uid);
  c->title = g_strdup (ev->title);
  c->tzid = g_strdup (ev->tzid);
  c->location = g_strdup (ev->location);
  c->description = g_strdup (ev->description);
  c->rrule = g_strdup (ev->rrule);
  c->exdates = g_array_copy (ev->exdates);
  c->overrides = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_event_override_free);
  for (unsigned i = 0; i < ev->overrides->len; i++)
    g_ptr_array_add (c->overrides, override_copy (ev->overrides->pdata[i]));
  return c;
}

static int
cmp_int64 (gconstpointer a, gconstpointer b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

gboolean
lares_event_has_exdate (const LaresEvent *ev, int64_t rid)
{
  unsigned idx;

  return g_array_binary_search (ev->exdates, &rid, cmp_int64, &idx);
}

void
lares_event_add_exdate (LaresEvent *ev, int64_t rid)
{
  if (lares_event_has_exdate (ev, rid))
    return;
  g_array_append_val (ev->exdates, rid);
  g_array_sort (ev->exdates, cmp_int64);
}

void
lares_event_remove_exdate (LaresEvent *ev, int64_t rid)
{
  unsigned idx;

  if (g_array_binary_search (ev->exdates, &rid, cmp_int64, &idx))
    g_array_remove_index (ev->exdates, idx);
}

LaresEventOverride *
lares_event_find_override (const LaresEvent *ev, int64_t rid)
{
  for (unsigned i = 0; i < ev->overrides->len; i++)
    {
      LaresEventOverride *o = ev->overrides->pdata[i];
      if (o->recurrence_id == rid)
        return o;
    }
  return NULL;
}

static int
cmp_override (gconstpointer a, gconstpointer b)
{
  const LaresEventOverride *x = *(LaresEventOverride *const *)a;
  const LaresEventOverride *y = *(LaresEventOverride *const *)b;

  return x->recurrence_id < y->recurrence_id ? -1 : x->recurrence_id > y->recurrence_id;
}

void
lares_event_put_override (LaresEvent *ev, LaresEventOverride *o)
{
  lares_event_remove_override (ev, o->recurrence_id);
  g_ptr_array_add (ev->overrides, o);
  g_ptr_array_sort (ev->overrides, cmp_override);
}

void
lares_event_remove_override (LaresEvent *ev, int64_t rid)
{
  LaresEventOverride *o = lares_event_find_override (ev, rid);

  if (o)
    g_ptr_array_remove (ev->overrides, o);
}

char *
lares_event_make_uid (void)
{
  g_autofree char *uuid = g_uuid_string_random ();

  return g_strconcat (uuid, "@lares", NULL);
}

/* ---- times ---------------------------------------------------------------------------------- */

static GTimeZone *
event_zone (const LaresEvent *ev)
{
  GTimeZone *tz = lares_recur_zone (ev->tzid);

  return tz ? tz : g_time_zone_new_utc ();
}

/* The date of a date-encoded time. */
static void
date_of (int64_t at, int *y, int *m, int *d)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (at / 1000);

  *y = t ? g_date_time_get_year (t) : 1970;
  *m = t ? g_date_time_get_month (t) : 1;
  *d = t ? g_date_time_get_day_of_month (t) : 1;
}

static int64_t
date_encode (int y, int m, int d)
{
  g_autoptr (GDateTime) t = g_date_time_new_utc (y, m, d, 0, 0, 0);

  return t ? g_date_time_to_unix (t) * 1000 : 0;
}

static int64_t
instant_in (const LaresEvent *ev, GTimeZone *tz, int64_t at)
{
  int y, m, d;

  if (!ev->all_day)
    return at;
  date_of (at, &y, &m, &d);
  return lares_recur_wall_to_ms (tz, y, m, d, 0, 0, 0);
}

int64_t
lares_event_instant (const LaresEvent *ev, int64_t at)
{
  g_autoptr (GTimeZone) tz = event_zone (ev);

  return instant_in (ev, tz, at);
}

static char *
format_utc (int64_t ms, const char *format)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (ms / 1000);

  return t ? g_date_time_format (t, format) : g_strdup ("");
}

char *
lares_event_format_time (const LaresEvent *ev, int64_t at)
{
  return format_utc (at, ev->all_day ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ");
}

gboolean
lares_event_parse_time (const char *text, GTimeZone *tz, int64_t *out, gboolean *out_is_date)
{
  g_autoptr (GDateTime) t = NULL;
  size_t len;
  int64_t ms;

  if (text == NULL)
    return FALSE;
  len = strlen (text);
  if (len == 10 && text[4] == '-' && text[7] == '-')
    {
      int y, m, d;

      for (size_t i = 0; i < len; i++)
        if (i != 4 && i != 7 && !g_ascii_isdigit (text[i]))
          return FALSE;
      y = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
      m = (text[5] - '0') * 10 + (text[6] - '0');
      d = (text[8] - '0') * 10 + (text[9] - '0');
      if (y < 1970 || y >= 2200 || m < 1 || m > 12 ||
          !g_date_valid_dmy ((GDateDay)d, (GDateMonth)m, (GDateYear)y))
        return FALSE;
      *out = date_encode (y, m, d);
      *out_is_date = TRUE;
      return TRUE;
    }
  if (len < 16 || len > 40 || text[10] != 'T')
    return FALSE;
  t = g_date_time_new_from_iso8601 (text, tz);
  if (t == NULL)
    return FALSE;
  ms = g_date_time_to_unix (t) * 1000 + g_date_time_get_microsecond (t) / 1000;
  if (ms < LARES_EVENT_MIN_MS || ms >= LARES_EVENT_MAX_MS)
    return FALSE;
  *out = ms;
  *out_is_date = FALSE;
  return TRUE;
}

char *
lares_event_default_tzid (const char *name)
{
  g_autoptr (GTimeZone) tz = NULL;
  g_autoptr (GTimeZone) local = NULL;
  const char *id;

  if (name && *name && (tz = lares_recur_zone (name)) != NULL)
    return g_strdup (name);
  local = g_time_zone_new_local ();
  id = g_time_zone_get_identifier (local);
  if (id && (tz = lares_recur_zone (id)) != NULL)
    return g_strdup (id);
  return g_strdup ("UTC");
}

/* DTSTART for lares-recur: the wall time of a timed start in its zone, or
 * the date of an all-day start. */
static char *
recur_start (const LaresEvent *ev, GTimeZone *tz)
{
  if (ev->all_day)
    return format_utc (ev->start_at, "%Y%m%d");
  return lares_recur_wall_from_ms (ev->start_at, tz);
}

/* ---- checks --------------------------------------------------------------------------------- */

static gboolean
text_ok (const char *s, long max)
{
  return s != NULL && g_utf8_validate (s, -1, NULL) && g_utf8_strlen (s, -1) <= max;
}

static gboolean
uid_ok (const char *uid)
{
  size_t len = uid ? strlen (uid) : 0;

  if (len == 0 || len > LARES_EVENT_UID_MAX || !g_utf8_validate (uid, -1, NULL))
    return FALSE;
  for (const char *p = uid; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      return FALSE;
  return TRUE;
}

static gboolean
time_ok (const LaresEvent *ev, int64_t at)
{
  if (at < LARES_EVENT_MIN_MS || at >= LARES_EVENT_MAX_MS)
    return FALSE;
  return !ev->all_day || at % DAY_MS == 0;
}

gboolean
lares_event_check (const LaresEvent *ev, GError **error)
{
  g_autoptr (GTimeZone) tz = NULL;

  if (!uid_ok (ev->uid))
    return invalid (error, "'uid' must be 1 to %d bytes of text", LARES_EVENT_UID_MAX);
  if (ev->title == NULL || *ev->title == '\0' || !text_ok (ev->title, LARES_EVENT_TITLE_MAX))
    return invalid (error, "'title' must be 1 to %d characters", LARES_EVENT_TITLE_MAX);
  if (!text_ok (ev->location, LARES_EVENT_LOCATION_MAX))
    return invalid (error, "'location' is longer than %d characters", LARES_EVENT_LOCATION_MAX);
  if (!text_ok (ev->description, LARES_EVENT_DESCRIPTION_MAX))
    return invalid (error, "'description' is longer than %d characters",
                    LARES_EVENT_DESCRIPTION_MAX);
  tz = lares_recur_zone (ev->tzid);
  if (tz == NULL)
    return invalid (error, "'tz' is not a known time zone");
  if (!time_ok (ev, ev->start_at))
    return invalid (error, ev->all_day ? "'start' must be a date from 1970 to 2199"
                                       : "'start' must be a time from 1970 to 2199");
  if (!time_ok (ev, ev->end_at))
    return invalid (error, ev->all_day ? "'end' must be a date from 1970 to 2199"
                                       : "'end' must be a time from 1970 to 2199");
  if (ev->end_at < ev->start_at || (ev->all_day && ev->end_at == ev->start_at))
    return invalid (error, "'end' is before 'start'");
  if (ev->remind_minutes < -1 || ev->remind_minutes > LARES_EVENT_REMIND_MAX)
    return invalid (error, "'remind_minutes' must be from 0 to %d", LARES_EVENT_REMIND_MAX);
  if (ev->exdates->len > LARES_EVENT_EXDATES_MAX)
    return invalid (error, "more than %d excluded dates", LARES_EVENT_EXDATES_MAX);
  if (ev->overrides->len > LARES_EVENT_OVERRIDES_MAX)
    return invalid (error, "more than %d changed occurrences", LARES_EVENT_OVERRIDES_MAX);
  for (unsigned i = 0; i < ev->exdates->len; i++)
    if (!time_ok (ev, g_array_index (ev->exdates, int64_t, i)))
      return invalid (error, ev->all_day ? "an excluded date is not a date from 1970 to 2199"
                                         : "an excluded date is not a time from 1970 to 2199");
  for (unsigned i = 0; i < ev->overrides->len; i++)
    {
      const LaresEventOverride *o = ev->overrides->pdata[i];

      if (!time_ok (ev, o->recurrence_id) || !time_ok (ev, o->start_at) ||
          !time_ok (ev, o->end_at) || o->end_at < o->start_at ||
          (ev->all_day && o->end_at == o->start_at))
        return invalid (error, "a changed occurrence has bad times");
      if ((o->title && (*o->title == '\0' || !text_ok (o->title, LARES_EVENT_TITLE_MAX))) ||
          (o->location && !text_ok (o->location, LARES_EVENT_LOCATION_MAX)) ||
          (o->description && !text_ok (o->description, LARES_EVENT_DESCRIPTION_MAX)))
        return invalid (error, "a changed occurrence has a bad title, location or description");
    }
  if (ev->rrule)
    {
      g_autofree char *start = recur_start (ev, tz);
      g_autoptr (GError) local = NULL;

      if (!lares_recur_check (ev->rrule, start, ev->tzid, &local))
        return invalid (error, "'rrule': %s", local->message);
    }
  else if (ev->exdates->len || ev->overrides->len)
    return invalid (error, "only a repeating event has excluded or changed occurrences");
  return TRUE;
}

/* ---- expansion ------------------------------------------------------------------------------ */

static gboolean
overlaps (int64_t start, int64_t end, int64_t from, int64_t to)
{
  if (start >= to)
    return FALSE;
  return end > from || (end == start && start >= from);
}

static LaresOccurrence *
occurrence_new (const LaresEvent *ev, GTimeZone *tz, int64_t rid, int64_t start, int64_t end,
                const LaresEventOverride *o)
{
  LaresOccurrence *occ = g_new0 (LaresOccurrence, 1);

  occ->event = ev;
  occ->recurrence_id = rid;
  occ->start_at = start;
  occ->end_at = end;
  occ->start_ms = instant_in (ev, tz, start);
  occ->end_ms = ev->all_day ? instant_in (ev, tz, end) : end;
  occ->title = o && o->title ? o->title : ev->title;
  occ->location = o && o->location ? o->location : ev->location;
  occ->description = o && o->description ? o->description : ev->description;
  occ->recurring = ev->rrule != NULL;
  occ->overridden = o != NULL;
  return occ;
}

static int64_t
rid_of (const LaresEvent *ev, const LaresRecurTime *t)
{
  return ev->all_day ? date_encode (t->year, t->month, t->day) : t->ms;
}

static LaresRecurIter *
event_iter (const LaresEvent *ev, GTimeZone *tz, int64_t skip_to_ms)
{
  g_autofree char *start = recur_start (ev, tz);

  return lares_recur_iter_new (ev->rrule, start, ev->tzid, skip_to_ms, NULL);
}

gboolean
lares_event_expand (const LaresEvent *ev, int64_t from, int64_t to, GPtrArray *out, unsigned max)
{
  g_autoptr (GTimeZone) tz = event_zone (ev);
  g_autoptr (LaresRecurIter) it = NULL;
  int64_t dur = ev->end_at - ev->start_at;
  LaresRecurTime t;

  if (ev->rrule == NULL)
    {
      LaresOccurrence *occ = occurrence_new (ev, tz, ev->start_at, ev->start_at, ev->end_at, NULL);

      if (!overlaps (occ->start_ms, occ->end_ms, from, to))
        {
          g_free (occ);
          return TRUE;
        }
      if (out->len >= max)
        {
          g_free (occ);
          return FALSE;
        }
      g_ptr_array_add (out, occ);
      return TRUE;
    }
  /* Start early enough for an occurrence that began before @from and is
   * still going on (all-day dates may begin up to a day apart from their
   * UTC encoding). */
  it = event_iter (ev, tz, from - dur - (ev->all_day ? 2 * DAY_MS : 0));
  while (it && lares_recur_iter_next (it, &t))
    {
      int64_t rid = rid_of (ev, &t);
      int64_t end_ms;

      if (t.ms >= to)
        break;
      if (lares_event_has_exdate (ev, rid) || lares_event_find_override (ev, rid))
        continue;
      end_ms = ev->all_day ? instant_in (ev, tz, rid + dur) : t.ms + dur;
      if (!overlaps (t.ms, end_ms, from, to))
        continue;
      if (out->len >= max)
        return FALSE;
      g_ptr_array_add (out, occurrence_new (ev, tz, rid, rid, rid + dur, NULL));
    }
  for (unsigned i = 0; i < ev->overrides->len; i++)
    {
      const LaresEventOverride *o = ev->overrides->pdata[i];
      LaresOccurrence *occ;

      if (lares_event_has_exdate (ev, o->recurrence_id))
        continue;
      occ = occurrence_new (ev, tz, o->recurrence_id, o->start_at, o->end_at, o);
      if (!overlaps (occ->start_ms, occ->end_ms, from, to))
        {
          g_free (occ);
          continue;
        }
      if (out->len >= max)
        {
          g_free (occ);
          return FALSE;
        }
      g_ptr_array_add (out, occ);
    }
  return TRUE;
}

gboolean
lares_event_is_occurrence (const LaresEvent *ev, int64_t rid)
{
  g_autoptr (GTimeZone) tz = event_zone (ev);
  g_autoptr (LaresRecurIter) it = NULL;
  int64_t at = instant_in (ev, tz, rid);
  LaresRecurTime t;

  if (ev->rrule == NULL)
    return rid == ev->start_at;
  it = event_iter (ev, tz, at - DAY_MS);
  while (it && lares_recur_iter_next (it, &t))
    {
      int64_t r = rid_of (ev, &t);

      if (r == rid)
        return TRUE;
      if (t.ms > at + 2 * DAY_MS)
        break;
    }
  return FALSE;
}

int64_t
lares_event_next_start (const LaresEvent *ev, int64_t after, LaresOccurrence *occ)
{
  g_autoptr (GTimeZone) tz = event_zone (ev);
  g_autoptr (LaresRecurIter) it = NULL;
  int64_t best = 0, best_rid = 0;
  const LaresEventOverride *best_o = NULL;
  LaresRecurTime t;

  if (ev->rrule == NULL)
    {
      int64_t s = instant_in (ev, tz, ev->start_at);

      if (s <= after)
        return 0;
      best = s, best_rid = ev->start_at;
    }
  else
    {
      it = event_iter (ev, tz, after - (ev->all_day ? 2 * DAY_MS : 0));
      while (it && lares_recur_iter_next (it, &t))
        {
          int64_t rid = rid_of (ev, &t);

          if (t.ms <= after || lares_event_has_exdate (ev, rid) ||
              lares_event_find_override (ev, rid))
            continue;
          best = t.ms, best_rid = rid;
          break;
        }
      for (unsigned i = 0; i < ev->overrides->len; i++)
        {
          const LaresEventOverride *o = ev->overrides->pdata[i];
          int64_t s = instant_in (ev, tz, o->start_at);

          if (s > after && !lares_event_has_exdate (ev, o->recurrence_id) &&
              (best == 0 || s < best))
            best = s, best_rid = o->recurrence_id, best_o = o;
        }
    }
  if (best > 0 && occ)
    {
      int64_t start = best_o ? best_o->start_at : best_rid;
      int64_t end = best_o ? best_o->end_at : best_rid + (ev->end_at - ev->start_at);
      g_autofree LaresOccurrence *o = occurrence_new (ev, tz, best_rid, start, end, best_o);

      *occ = *o;
    }
  return best;
}

/* Whether the rule names COUNT or UNTIL (else it never ends). */
static gboolean
rule_ends (const char *rrule)
{
  g_autofree char *up = g_ascii_strup (rrule, -1);

  for (const char *p = up; p && *p; p = strchr (p, ';') ? strchr (p, ';') + 1 : NULL)
    {
      while (*p == ' ')
        p++;
      if (g_str_has_prefix (p, "COUNT=") || g_str_has_prefix (p, "UNTIL="))
        return TRUE;
    }
  return FALSE;
}

void
lares_event_span (const LaresEvent *ev, int64_t *span_start, int64_t *span_end)
{
  g_autoptr (GTimeZone) tz = event_zone (ev);
  int64_t dur = ev->end_at - ev->start_at;
  int64_t lo = instant_in (ev, tz, ev->start_at);
  int64_t hi = ev->all_day ? instant_in (ev, tz, ev->end_at) : ev->end_at;

  if (ev->rrule)
    {
      if (!rule_ends (ev->rrule))
        hi = -1;
      else
        {
          g_autoptr (LaresRecurIter) it = event_iter (ev, tz, G_MININT64);
          LaresRecurTime t;
          unsigned steps = 0;

          while (it && steps < SPAN_MAX_STEPS && lares_recur_iter_next (it, &t))
            {
              int64_t rid = rid_of (ev, &t);
              int64_t e = ev->all_day ? instant_in (ev, tz, rid + dur) : t.ms + dur;

              steps++;
              hi = MAX (hi, e);
            }
          if (steps >= SPAN_MAX_STEPS)
            hi = -1; /* too far to walk: treat it as endless */
        }
    }
  for (unsigned i = 0; i < ev->overrides->len; i++)
    {
      const LaresEventOverride *o = ev->overrides->pdata[i];
      int64_t s = instant_in (ev, tz, o->start_at);
      int64_t e = ev->all_day ? instant_in (ev, tz, o->end_at) : o->end_at;

      lo = MIN (lo, s);
      if (hi >= 0)
        hi = MAX (hi, e);
    }
  *span_start = lo;
  *span_end = hi;
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static void
add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_time (JsonBuilder *b, const LaresEvent *ev, const char *name, int64_t at)
{
  g_autofree char *text = lares_event_format_time (ev, at);

  add_string (b, name, text);
}

static void
add_stamp (JsonBuilder *b, const char *name, int64_t ms)
{
  g_autofree char *text = format_utc (ms, "%Y-%m-%dT%H:%M:%SZ");

  add_string (b, name, text);
}

JsonNode *
lares_event_to_json (const LaresEvent *ev, gboolean with_overrides)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, ev->id);
  add_string (b, "uid", ev->uid);
  add_string (b, "title", ev->title);
  add_time (b, ev, "start", ev->start_at);
  add_time (b, ev, "end", ev->end_at);
  json_builder_set_member_name (b, "all_day");
  json_builder_add_boolean_value (b, ev->all_day);
  add_string (b, "tz", ev->tzid);
  add_string (b, "location", ev->location);
  add_string (b, "description", ev->description);
  add_string (b, "rrule", ev->rrule);
  json_builder_set_member_name (b, "exdates");
  json_builder_begin_array (b);
  for (unsigned i = 0; i < ev->exdates->len; i++)
    {
      g_autofree char *text = lares_event_format_time (ev, g_array_index (ev->exdates, int64_t, i));
      json_builder_add_string_value (b, text);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "remind_minutes");
  if (ev->remind_minutes >= 0)
    json_builder_add_int_value (b, ev->remind_minutes);
  else
    json_builder_add_null_value (b);
  add_stamp (b, "created_at", ev->created_at);
  add_stamp (b, "updated_at", ev->updated_at);
  if (with_overrides)
    {
      json_builder_set_member_name (b, "overrides");
      json_builder_begin_array (b);
      for (unsigned i = 0; i < ev->overrides->len; i++)
        {
          const LaresEventOverride *o = ev->overrides->pdata[i];

          json_builder_begin_object (b);
          add_time (b, ev, "recurrence_id", o->recurrence_id);
          add_time (b, ev, "start", o->start_at);
          add_time (b, ev, "end", o->end_at);
          add_string (b, "title", o->title);
          add_string (b, "location", o->location);
          add_string (b, "description", o->description);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

JsonNode *
lares_occurrence_to_json (const LaresOccurrence *occ)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  const LaresEvent *ev = occ->event;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "event_id");
  json_builder_add_int_value (b, ev->id);
  add_string (b, "title", occ->title);
  add_time (b, ev, "start", occ->start_at);
  add_time (b, ev, "end", occ->end_at);
  json_builder_set_member_name (b, "all_day");
  json_builder_add_boolean_value (b, ev->all_day);
  add_string (b, "tz", ev->tzid);
  add_string (b, "location", occ->location);
  add_string (b, "description", occ->description);
  json_builder_set_member_name (b, "recurring");
  json_builder_add_boolean_value (b, occ->recurring);
  if (occ->recurring)
    add_time (b, ev, "recurrence_id", occ->recurrence_id);
  else
    add_string (b, "recurrence_id", NULL);
  json_builder_set_member_name (b, "overridden");
  json_builder_add_boolean_value (b, occ->overridden);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
append_member (GString *out, const char *name, const char *value)
{
  g_string_append_printf (out, ",\"%s\":", name);
  if (value)
    lares_json_append_string (out, value, -1);
  else
    g_string_append (out, "null");
}

void
lares_occurrence_append_json (GString *out, const LaresOccurrence *occ)
{
  const LaresEvent *ev = occ->event;
  g_autofree char *start = lares_event_format_time (ev, occ->start_at);
  g_autofree char *end = lares_event_format_time (ev, occ->end_at);
  g_autofree char *rid = occ->recurring ? lares_event_format_time (ev, occ->recurrence_id) : NULL;

  g_string_append_printf (out, "{\"event_id\":%" G_GINT64_FORMAT, ev->id);
  append_member (out, "title", occ->title);
  append_member (out, "start", start);
  append_member (out, "end", end);
  g_string_append_printf (out, ",\"all_day\":%s", ev->all_day ? "true" : "false");
  append_member (out, "tz", ev->tzid);
  append_member (out, "location", occ->location);
  append_member (out, "description", occ->description);
  g_string_append_printf (out, ",\"recurring\":%s", occ->recurring ? "true" : "false");
  append_member (out, "recurrence_id", rid);
  g_string_append_printf (out, ",\"overridden\":%s}", occ->overridden ? "true" : "false");
}

/* ---- applying JSON -------------------------------------------------------------------------- */

static const char *const known_members[] = {
  "title",       "start", "end",     "duration",       "all_day", "tz", "location",
  "description", "rrule", "exdates", "remind_minutes", "uid",     NULL,
};

/* A string member, or NULL for null; FALSE when it is neither. */
static gboolean
member_string (JsonObject *o, const char *name, const char **out, gboolean nullable, GError **error)
{
  JsonNode *n = json_object_get_member (o, name);

  if (JSON_NODE_HOLDS_NULL (n) && nullable)
    {
      *out = NULL;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return invalid (error, nullable ? "'%s' must be a string or null" : "'%s' must be a string",
                    name);
  *out = json_node_get_string (n);
  return TRUE;
}

static gboolean
member_time (JsonObject *o, const char *name, GTimeZone *tz, int64_t *out, gboolean *is_date,
             GError **error)
{
  const char *text = NULL;

  if (!member_string (o, name, &text, FALSE, error))
    return FALSE;
  if (!lares_event_parse_time (text, tz, out, is_date))
    return invalid (error,
                    "'%s' must be a date and time like 2026-11-21T09:00:00+01:00 (or a date "
                    "like 2026-11-21 for all-day events), from 1970 to 2199",
                    name);
  return TRUE;
}

gboolean
lares_event_apply_json (LaresEvent *ev, JsonObject *o, gboolean creating, GError **error)
{
  g_autoptr (GList) members = json_object_get_members (o);
  g_autoptr (GTimeZone) tz = NULL;
  const char *s = NULL;
  int64_t old_dur = ev->end_at - ev->start_at;
  gboolean was_all_day = ev->all_day;
  gboolean have_start = json_object_has_member (o, "start");
  gboolean have_end = json_object_has_member (o, "end");
  gboolean have_all_day = json_object_has_member (o, "all_day");
  int64_t start = ev->start_at, end = ev->end_at;
  gboolean start_date = ev->all_day, end_date = ev->all_day;

  for (GList *l = members; l; l = l->next)
    if (!g_strv_contains (known_members, l->data))
      return invalid (error, "'%s' is not a field of an event", (const char *)l->data);
  if (creating && (!json_object_has_member (o, "title") || !have_start))
    return invalid (error, "an event needs 'title' and 'start'");

  if (json_object_has_member (o, "tz"))
    {
      if (!member_string (o, "tz", &s, FALSE, error))
        return FALSE;
      if ((tz = lares_recur_zone (s)) == NULL)
        return invalid (error, "'tz' is not a known time zone (an IANA name like Europe/Paris)");
      g_free (ev->tzid);
      ev->tzid = g_strdup (s);
    }
  if (tz == NULL)
    tz = event_zone (ev);
  if (have_all_day)
    {
      JsonNode *n = json_object_get_member (o, "all_day");

      if (json_node_get_value_type (n) != G_TYPE_BOOLEAN)
        return invalid (error, "'all_day' must be true or false");
      ev->all_day = json_node_get_boolean (n);
    }
  if (have_start && !member_time (o, "start", tz, &start, &start_date, error))
    return FALSE;
  if (have_end && !member_time (o, "end", tz, &end, &end_date, error))
    return FALSE;
  if (have_start && !have_all_day)
    ev->all_day = start_date;
  if (have_start && start_date != ev->all_day)
    return invalid (error, ev->all_day ? "an all-day event starts on a date like 2026-11-21"
                                       : "'start' must be a date and time");
  if (!have_start && ev->all_day != was_all_day)
    {
      /* all_day changed alone: the day of the start, or 09:00 on it. */
      int y, m, d;

      if (ev->all_day)
        {
          g_autofree char *wall = lares_recur_wall_from_ms (start, tz);
          int h, mi, sec;

          if (wall == NULL || !lares_recur_parse_wall (wall, &y, &m, &d, &h, &mi, &sec))
            return invalid (error, "'start' is out of range");
          start = date_encode (y, m, d);
        }
      else
        {
          date_of (start, &y, &m, &d);
          start = lares_recur_wall_to_ms (tz, y, m, d, 9, 0, 0);
        }
    }
  if (have_end && end_date != ev->all_day)
    return invalid (error, ev->all_day ? "an all-day event ends on a date (the day after)"
                                       : "'end' must be a date and time");
  if (json_object_has_member (o, "duration"))
    {
      JsonNode *n = json_object_get_member (o, "duration");
      int64_t secs;

      if (have_end)
        return invalid (error, "give 'end' or 'duration', not both");
      if (json_node_get_value_type (n) != G_TYPE_INT64 || (secs = json_node_get_int (n)) < 0 ||
          secs > 366 * 86400)
        return invalid (error, "'duration' must be a number of seconds, at most a year");
      if (ev->all_day)
        end = start + MAX (1, (secs + 86399) / 86400) * DAY_MS;
      else
        end = start + secs * 1000;
      have_end = TRUE;
    }
  if (!have_end && (creating || have_start || ev->all_day != was_all_day))
    {
      /* No end: an hour, a day, or the length the event had. */
      if (ev->all_day != was_all_day || creating)
        end = start + (ev->all_day ? DAY_MS : 3600 * 1000);
      else
        end = start + old_dur;
    }
  ev->start_at = start;
  ev->end_at = end;

  if (json_object_has_member (o, "title"))
    {
      if (!member_string (o, "title", &s, FALSE, error))
        return FALSE;
      g_free (ev->title);
      ev->title = g_strstrip (g_strdup (s));
    }
  if (json_object_has_member (o, "location"))
    {
      if (!member_string (o, "location", &s, TRUE, error))
        return FALSE;
      g_free (ev->location);
      ev->location = g_strdup (s ? s : "");
    }
  if (json_object_has_member (o, "description"))
    {
      if (!member_string (o, "description", &s, TRUE, error))
        return FALSE;
      g_free (ev->description);
      ev->description = g_strdup (s ? s : "");
    }
  if (json_object_has_member (o, "uid"))
    {
      if (!creating)
        return invalid (error, "'uid' cannot change");
      if (!member_string (o, "uid", &s, FALSE, error))
        return FALSE;
      g_free (ev->uid);
      ev->uid = g_strdup (s);
    }
  if (json_object_has_member (o, "rrule"))
    {
      if (!member_string (o, "rrule", &s, TRUE, error))
        return FALSE;
      g_clear_pointer (&ev->rrule, g_free);
      if (s)
        {
          ev->rrule = lares_recur_normalize (s);
          if (ev->rrule == NULL)
            return invalid (error, "'rrule' is empty, too long or not plain text");
        }
      else
        {
          g_array_set_size (ev->exdates, 0);
          g_ptr_array_set_size (ev->overrides, 0);
        }
    }
  if (json_object_has_member (o, "remind_minutes"))
    {
      JsonNode *n = json_object_get_member (o, "remind_minutes");

      if (JSON_NODE_HOLDS_NULL (n))
        ev->remind_minutes = -1;
      else if (json_node_get_value_type (n) != G_TYPE_INT64 || json_node_get_int (n) < 0 ||
               json_node_get_int (n) > LARES_EVENT_REMIND_MAX)
        return invalid (error, "'remind_minutes' must be a number from 0 to %d, or null",
                        LARES_EVENT_REMIND_MAX);
      else
        ev->remind_minutes = (int)json_node_get_int (n);
    }
  if (json_object_has_member (o, "exdates"))
    {
      JsonNode *n = json_object_get_member (o, "exdates");
      JsonArray *a;

      if (!JSON_NODE_HOLDS_ARRAY (n))
        return invalid (error, "'exdates' must be an array of dates");
      a = json_node_get_array (n);
      if (json_array_get_length (a) > LARES_EVENT_EXDATES_MAX)
        return invalid (error, "more than %d excluded dates", LARES_EVENT_EXDATES_MAX);
      g_array_set_size (ev->exdates, 0);
      for (unsigned i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *e = json_array_get_element (a, i);
          int64_t at;
          gboolean is_date;

          if (json_node_get_value_type (e) != G_TYPE_STRING ||
              !lares_event_parse_time (json_node_get_string (e), tz, &at, &is_date) ||
              is_date != ev->all_day)
            return invalid (error, "'exdates[%u]' is not a %s like the start", i,
                            ev->all_day ? "date" : "date and time");
          lares_event_add_exdate (ev, at);
        }
    }
  if (creating && *ev->uid == '\0')
    {
      g_free (ev->uid);
      ev->uid = lares_event_make_uid ();
    }
  return lares_event_check (ev, error);
}

/* ---- store ---------------------------------------------------------------------------------- */

#define EVENT_COLUMNS                                                                              \
  "id, user_id, uid, title, start_at, end_at, tzid, all_day, location, description, rrule, "       \
  "remind_minutes, created_at, updated_at"

static char *
column_dup (sqlite3_stmt *stmt, int i)
{
  const unsigned char *s = sqlite3_column_text (stmt, i);
  return s ? g_strdup ((const char *)s) : NULL;
}

static LaresEvent *
event_from_row (sqlite3_stmt *stmt)
{
  LaresEvent *ev = lares_event_new ();

  ev->id = sqlite3_column_int64 (stmt, 0);
  ev->user_id = sqlite3_column_int64 (stmt, 1);
  g_free (ev->uid);
  ev->uid = column_dup (stmt, 2);
  g_free (ev->title);
  ev->title = column_dup (stmt, 3);
  ev->start_at = sqlite3_column_int64 (stmt, 4);
  ev->end_at = sqlite3_column_int64 (stmt, 5);
  g_free (ev->tzid);
  ev->tzid = column_dup (stmt, 6);
  ev->all_day = sqlite3_column_int (stmt, 7) != 0;
  g_free (ev->location);
  ev->location = column_dup (stmt, 8);
  g_free (ev->description);
  ev->description = column_dup (stmt, 9);
  ev->rrule = column_dup (stmt, 10);
  ev->remind_minutes =
      sqlite3_column_type (stmt, 11) == SQLITE_NULL ? -1 : sqlite3_column_int (stmt, 11);
  ev->created_at = sqlite3_column_int64 (stmt, 12);
  ev->updated_at = sqlite3_column_int64 (stmt, 13);
  return ev;
}

/* Statements to read an event's exceptions, prepared once per call. */
typedef struct
{
  sqlite3 *db;
  sqlite3_stmt *exdates;
  sqlite3_stmt *overrides;
} Details;

static void
details_clear (Details *d)
{
  g_clear_pointer (&d->exdates, sqlite3_finalize);
  g_clear_pointer (&d->overrides, sqlite3_finalize);
}

static gboolean
details_load (Details *d, LaresEvent *ev, GError **error)
{
  int rc;

  if (ev->rrule == NULL)
    return TRUE; /* only series have them */
  if (d->exdates == NULL)
    {
      d->exdates = lares_sql_prepare (
          d->db, "SELECT recurrence_id FROM event_exdates WHERE event_id = ?1 ORDER BY 1", error);
      if (d->exdates == NULL)
        return FALSE;
      d->overrides =
          lares_sql_prepare (d->db,
                             "SELECT recurrence_id, start_at, end_at, title, location, "
                             "description FROM event_overrides WHERE event_id = ?1 ORDER BY 1",
                             error);
      if (d->overrides == NULL)
        return FALSE;
    }
  sqlite3_reset (d->exdates);
  sqlite3_bind_int64 (d->exdates, 1, ev->id);
  while ((rc = sqlite3_step (d->exdates)) == SQLITE_ROW)
    {
      int64_t rid = sqlite3_column_int64 (d->exdates, 0);
      g_array_append_val (ev->exdates, rid);
    }
  if (rc != SQLITE_DONE)
    return lares_sql_throw (d->db, rc, error);
  sqlite3_reset (d->overrides);
  sqlite3_bind_int64 (d->overrides, 1, ev->id);
  while ((rc = sqlite3_step (d->overrides)) == SQLITE_ROW)
    {
      LaresEventOverride *o = g_new0 (LaresEventOverride, 1);

      o->recurrence_id = sqlite3_column_int64 (d->overrides, 0);
      o->start_at = sqlite3_column_int64 (d->overrides, 1);
      o->end_at = sqlite3_column_int64 (d->overrides, 2);
      o->title = column_dup (d->overrides, 3);
      o->location = column_dup (d->overrides, 4);
      o->description = column_dup (d->overrides, 5);
      g_ptr_array_add (ev->overrides, o);
    }
  if (rc != SQLITE_DONE)
    return lares_sql_throw (d->db, rc, error);
  return TRUE;
}

static gboolean
not_found (GError **error, const char *what)
{
  g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND, "no event %s", what);
  return FALSE;
}

/* Run @stmt, whose first columns are EVENT_COLUMNS, into @out with details. */
static gboolean
read_events (sqlite3 *db, sqlite3_stmt *stmt, GPtrArray *out, GError **error)
{
  Details d = { db, NULL, NULL };
  gboolean ok = TRUE;
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (out, event_from_row (stmt));
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  for (unsigned i = 0; ok && i < out->len; i++)
    ok = details_load (&d, out->pdata[i], error);
  details_clear (&d);
  return ok;
}

static LaresEvent *
get_one (sqlite3 *db, const char *where, int64_t user_id, int64_t id, const char *uid,
         GError **error)
{
  g_autofree char *sql = g_strdup_printf ("SELECT " EVENT_COLUMNS " FROM events WHERE %s", where);
  g_autoptr (sqlite3_stmt) stmt = lares_sql_prepare (db, sql, error);
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_event_free);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  if (uid)
    sqlite3_bind_text (stmt, 2, uid, -1, SQLITE_STATIC);
  else
    sqlite3_bind_int64 (stmt, 2, id);
  if (!read_events (db, stmt, found, error))
    return NULL;
  if (found->len == 0)
    {
      g_autofree char *what =
          uid ? g_strdup_printf ("with that uid") : g_strdup_printf ("%" G_GINT64_FORMAT, id);
      not_found (error, what);
      return NULL;
    }
  return g_ptr_array_steal_index (found, 0);
}

LaresEvent *
lares_events_get (sqlite3 *db, int64_t user_id, int64_t id, GError **error)
{
  return get_one (db, "user_id = ?1 AND id = ?2", user_id, id, NULL, error);
}

LaresEvent *
lares_events_get_by_uid (sqlite3 *db, int64_t user_id, const char *uid, GError **error)
{
  return get_one (db, "user_id = ?1 AND uid = ?2", user_id, 0, uid, error);
}

static gboolean
step_done (sqlite3 *db, sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt);

  return rc == SQLITE_DONE || rc == SQLITE_ROW || lares_sql_throw (db, rc, error);
}

static void
bind_text_or_null (sqlite3_stmt *stmt, int i, const char *s)
{
  if (s)
    sqlite3_bind_text (stmt, i, s, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, i);
}

/* Replace the stored exdates and overrides of ev->id with @ev's. */
static gboolean
write_details (sqlite3 *db, const LaresEvent *ev, GError **error)
{
  g_autoptr (sqlite3_stmt) del1 =
      lares_sql_prepare (db, "DELETE FROM event_exdates WHERE event_id = ?1", error);
  g_autoptr (sqlite3_stmt) del2 =
      del1 ? lares_sql_prepare (db, "DELETE FROM event_overrides WHERE event_id = ?1", error)
           : NULL;
  g_autoptr (sqlite3_stmt) ins1 = NULL, ins2 = NULL;

  if (del2 == NULL)
    return FALSE;
  sqlite3_bind_int64 (del1, 1, ev->id);
  sqlite3_bind_int64 (del2, 1, ev->id);
  if (!step_done (db, del1, error) || !step_done (db, del2, error))
    return FALSE;
  if (ev->exdates->len)
    {
      ins1 = lares_sql_prepare (
          db, "INSERT INTO event_exdates (event_id, recurrence_id) VALUES (?1, ?2)", error);
      if (ins1 == NULL)
        return FALSE;
      for (unsigned i = 0; i < ev->exdates->len; i++)
        {
          sqlite3_reset (ins1);
          sqlite3_bind_int64 (ins1, 1, ev->id);
          sqlite3_bind_int64 (ins1, 2, g_array_index (ev->exdates, int64_t, i));
          if (!step_done (db, ins1, error))
            return FALSE;
        }
    }
  if (ev->overrides->len)
    {
      ins2 = lares_sql_prepare (db,
                                "INSERT INTO event_overrides (event_id, recurrence_id, start_at, "
                                "end_at, title, location, description) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                error);
      if (ins2 == NULL)
        return FALSE;
      for (unsigned i = 0; i < ev->overrides->len; i++)
        {
          const LaresEventOverride *o = ev->overrides->pdata[i];

          sqlite3_reset (ins2);
          sqlite3_bind_int64 (ins2, 1, ev->id);
          sqlite3_bind_int64 (ins2, 2, o->recurrence_id);
          sqlite3_bind_int64 (ins2, 3, o->start_at);
          sqlite3_bind_int64 (ins2, 4, o->end_at);
          bind_text_or_null (ins2, 5, o->title);
          bind_text_or_null (ins2, 6, o->location);
          bind_text_or_null (ins2, 7, o->description);
          if (!step_done (db, ins2, error))
            return FALSE;
        }
    }
  return TRUE;
}

static void
bind_fields (sqlite3_stmt *stmt, const LaresEvent *ev)
{
  int64_t span_start, span_end;

  lares_event_span (ev, &span_start, &span_end);
  sqlite3_bind_int64 (stmt, 1, ev->user_id);
  sqlite3_bind_text (stmt, 2, ev->uid, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, ev->title, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, ev->start_at);
  sqlite3_bind_int64 (stmt, 5, ev->end_at);
  sqlite3_bind_text (stmt, 6, ev->tzid, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 7, ev->all_day);
  sqlite3_bind_text (stmt, 8, ev->location, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 9, ev->description, -1, SQLITE_STATIC);
  bind_text_or_null (stmt, 10, ev->rrule);
  if (ev->remind_minutes >= 0)
    sqlite3_bind_int (stmt, 11, ev->remind_minutes);
  else
    sqlite3_bind_null (stmt, 11);
  sqlite3_bind_int64 (stmt, 12, span_start);
  if (span_end >= 0)
    sqlite3_bind_int64 (stmt, 13, span_end);
  else
    sqlite3_bind_null (stmt, 13);
  sqlite3_bind_int64 (stmt, 14, ev->created_at);
  sqlite3_bind_int64 (stmt, 15, ev->updated_at);
  sqlite3_bind_int64 (stmt, 16, ev->id);
}

gboolean
lares_events_sync_reminder (sqlite3 *db, const LaresEvent *ev, int64_t now_ms, LaresJob **job,
                            GError **error)
{
  int64_t due = 0;

  if (ev->remind_minutes >= 0)
    {
      int64_t before = (int64_t)ev->remind_minutes * 60000;
      int64_t start = lares_event_next_start (ev, now_ms + before, NULL);

      if (start > 0)
        due = start - before;
    }
  return lares_jobs_event_reminder (db, ev->user_id, ev->id, ev->title, due,
                                    ev->remind_minutes >= 0 ? ev->remind_minutes * 60 : 0, now_ms,
                                    job, error);
}

gboolean
lares_events_insert (sqlite3 *db, LaresEvent *ev, int64_t now_ms, LaresJob **job, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  int rc;

  if (job)
    *job = NULL;
  if (ev->uid == NULL || *ev->uid == '\0')
    {
      g_free (ev->uid);
      ev->uid = lares_event_make_uid ();
    }
  if (ev->created_at <= 0)
    ev->created_at = now_ms;
  if (ev->updated_at <= 0)
    ev->updated_at = now_ms;
  if (!lares_event_check (ev, error))
    return FALSE;
  stmt = lares_sql_prepare (
      db,
      "INSERT INTO events (user_id, uid, title, start_at, end_at, tzid, all_day, location, "
      "description, rrule, remind_minutes, span_start, span_end, created_at, updated_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) RETURNING id",
      error);
  if (stmt == NULL)
    return FALSE;
  bind_fields (stmt, ev);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    return lares_sql_throw (db, rc, error);
  ev->id = sqlite3_column_int64 (stmt, 0);
  g_clear_pointer (&stmt, sqlite3_finalize);
  return write_details (db, ev, error) && lares_events_sync_reminder (db, ev, now_ms, job, error);
}

gboolean
lares_events_update (sqlite3 *db, LaresEvent *ev, int64_t now_ms, gboolean keep_updated,
                     LaresJob **job, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  int rc;

  if (job)
    *job = NULL;
  if (!keep_updated || ev->updated_at <= 0)
    ev->updated_at = now_ms;
  if (!lares_event_check (ev, error))
    return FALSE;
  stmt = lares_sql_prepare (db,
                            "UPDATE events SET uid = ?2, title = ?3, start_at = ?4, end_at = ?5, "
                            "tzid = ?6, all_day = ?7, location = ?8, description = ?9, "
                            "rrule = ?10, remind_minutes = ?11, span_start = ?12, span_end = ?13, "
                            "created_at = ?14, updated_at = ?15 "
                            "WHERE user_id = ?1 AND id = ?16 RETURNING id",
                            error);
  if (stmt == NULL)
    return FALSE;
  bind_fields (stmt, ev);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_autofree char *what = g_strdup_printf ("%" G_GINT64_FORMAT, ev->id);
      return not_found (error, what);
    }
  if (rc != SQLITE_ROW)
    return lares_sql_throw (db, rc, error);
  g_clear_pointer (&stmt, sqlite3_finalize);
  return write_details (db, ev, error) && lares_events_sync_reminder (db, ev, now_ms, job, error);
}

/* The pending reminder jobs of event @id, into @job_ids. */
static gboolean
pending_jobs (sqlite3 *db, int64_t user_id, int64_t id, GArray *job_ids, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  int rc;

  if (job_ids == NULL)
    return TRUE;
  stmt = lares_sql_prepare (db,
                            "SELECT id FROM jobs WHERE event_id = ?2 AND user_id = ?1 "
                            "AND status = 'pending'",
                            error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      int64_t job = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (job_ids, job);
    }
  return rc == SQLITE_DONE || lares_sql_throw (db, rc, error);
}

gboolean
lares_events_delete (sqlite3 *db, int64_t user_id, int64_t id, GArray *job_ids, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_prepare (db, "DELETE FROM events WHERE user_id = ?1 AND id = ?2", error);

  if (stmt == NULL || !pending_jobs (db, user_id, id, job_ids, error))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, id);
  if (!step_done (db, stmt, error))
    return FALSE;
  if (sqlite3_changes (db) == 0)
    {
      g_autofree char *what = g_strdup_printf ("%" G_GINT64_FORMAT, id);
      return not_found (error, what);
    }
  return TRUE;
}

GPtrArray *
lares_events_list (sqlite3 *db, int64_t user_id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_prepare (
      db, "SELECT " EVENT_COLUMNS " FROM events WHERE user_id = ?1 ORDER BY id", error);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_event_free);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  if (!read_events (db, stmt, out, error))
    return NULL;
  return g_steal_pointer (&out);
}

/* The events whose span meets [from, to). */
static GPtrArray *
events_in_span (sqlite3 *db, int64_t user_id, int64_t from, int64_t to, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_prepare (db,
                         "SELECT " EVENT_COLUMNS " FROM events WHERE user_id = ?1 "
                         "AND span_start < ?3 AND (span_end IS NULL OR span_end >= ?2) "
                         "ORDER BY span_start, id",
                         error);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_event_free);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, from);
  sqlite3_bind_int64 (stmt, 3, to);
  if (!read_events (db, stmt, out, error))
    return NULL;
  return g_steal_pointer (&out);
}

static int
cmp_occurrence (gconstpointer a, gconstpointer b)
{
  const LaresOccurrence *x = *(LaresOccurrence *const *)a;
  const LaresOccurrence *y = *(LaresOccurrence *const *)b;

  if (x->start_ms != y->start_ms)
    return x->start_ms < y->start_ms ? -1 : 1;
  if (x->event->id != y->event->id)
    return x->event->id < y->event->id ? -1 : 1;
  return x->recurrence_id < y->recurrence_id ? -1 : x->recurrence_id > y->recurrence_id;
}

GPtrArray *
lares_events_between (sqlite3 *db, int64_t user_id, int64_t from, int64_t to, GPtrArray **events,
                      gboolean *truncated, GError **error)
{
  g_autoptr (GPtrArray) evs = events_in_span (db, user_id, from, to, error);
  g_autoptr (GPtrArray) occ = g_ptr_array_new_with_free_func (g_free);
  gboolean cut = FALSE;

  if (evs == NULL)
    return NULL;
  for (unsigned i = 0; i < evs->len && !cut; i++)
    cut = !lares_event_expand (evs->pdata[i], from, to, occ, LARES_EVENTS_EXPAND_MAX);
  g_ptr_array_sort (occ, cmp_occurrence);
  if (truncated)
    *truncated = cut;
  *events = g_steal_pointer (&evs);
  return g_steal_pointer (&occ);
}

int64_t
lares_events_next_reminder (sqlite3 *db, int64_t user_id, int64_t event_id, int64_t after_ms,
                            GError **error)
{
  g_autoptr (LaresEvent) ev = lares_events_get (db, user_id, event_id, error);
  int64_t before, start;

  if (ev == NULL)
    {
      /* Deleted meanwhile: no more reminders. */
      if (error && g_error_matches (*error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND))
        {
          g_clear_error (error);
          return 0;
        }
      return -1;
    }
  if (ev->remind_minutes < 0)
    return 0;
  before = (int64_t)ev->remind_minutes * 60000;
  start = lares_event_next_start (ev, after_ms + before, NULL);
  return start > 0 ? start - before : 0;
}

static char *
fold (const char *s)
{
  g_autofree char *norm = g_utf8_normalize (s ? s : "", -1, G_NORMALIZE_ALL);
  return g_utf8_casefold (norm ? norm : "", -1);
}

GPtrArray *
lares_events_select (sqlite3 *db, int64_t user_id, const LaresEventFilter *f, GError **error)
{
  g_autoptr (GString) sql =
      g_string_new ("SELECT " EVENT_COLUMNS " FROM events WHERE user_id = ?1");
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_event_free);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_event_free);
  g_autofree char *want = f->title_contains ? fold (f->title_contains) : NULL;
  gboolean ranged = f->to_ms > f->from_ms;

  if (f->ids == NULL && want == NULL && !ranged)
    {
      invalid (error, "say which events: ids, a title or a time range");
      return NULL;
    }
  if (f->ids)
    {
      if (f->n_ids == 0 || f->n_ids > SELECT_IDS_MAX)
        {
          invalid (error, "give 1 to %d event ids", SELECT_IDS_MAX);
          return NULL;
        }
      g_string_append (sql, " AND id IN (");
      for (unsigned i = 0; i < f->n_ids; i++)
        g_string_append_printf (sql, "%s?%u", i ? ", " : "", i + 2);
      g_string_append_c (sql, ')');
    }
  if (ranged)
    g_string_append_printf (sql, " AND span_start < ?%u AND (span_end IS NULL OR span_end >= ?%u)",
                            (f->ids ? f->n_ids : 0) + 3, (f->ids ? f->n_ids : 0) + 2);
  g_string_append (sql, " ORDER BY span_start, id");
  stmt = lares_sql_prepare (db, sql->str, error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  for (unsigned i = 0; f->ids && i < f->n_ids; i++)
    sqlite3_bind_int64 (stmt, (int)i + 2, f->ids[i]);
  if (ranged)
    {
      sqlite3_bind_int64 (stmt, (int)(f->ids ? f->n_ids : 0) + 2, f->from_ms);
      sqlite3_bind_int64 (stmt, (int)(f->ids ? f->n_ids : 0) + 3, f->to_ms);
    }
  if (!read_events (db, stmt, all, error))
    return NULL;
  for (unsigned i = 0; i < all->len; i++)
    {
      LaresEvent *ev = all->pdata[i];

      if (want)
        {
          g_autofree char *have = fold (ev->title);
          if (strstr (have, want) == NULL)
            continue;
        }
      if (ranged)
        {
          g_autoptr (GPtrArray) occ = g_ptr_array_new_with_free_func (g_free);
          lares_event_expand (ev, f->from_ms, f->to_ms, occ, 1);
          if (occ->len == 0)
            continue;
        }
      g_ptr_array_add (out, g_steal_pointer (&all->pdata[i]));
    }
  return g_steal_pointer (&out);
}

gboolean
lares_events_delete_many (sqlite3 *db, int64_t user_id, const LaresEventFilter *filter,
                          GArray *deleted, GArray *job_ids, GError **error)
{
  g_autoptr (GPtrArray) evs = lares_events_select (db, user_id, filter, error);

  if (evs == NULL)
    return FALSE;
  for (unsigned i = 0; i < evs->len; i++)
    {
      const LaresEvent *ev = evs->pdata[i];

      if (!lares_events_delete (db, user_id, ev->id, job_ids, error))
        return FALSE;
      if (deleted)
        g_array_append_val (deleted, ev->id);
    }
  return TRUE;
}

gboolean
lares_events_import (sqlite3 *db, int64_t user_id, GPtrArray *events, GPtrArray *orphans,
                     int64_t now_ms, unsigned *added, unsigned *updated, JsonArray *skipped,
                     GPtrArray *jobs, GError **error)
{
  *added = *updated = 0;
  for (unsigned i = 0; i < events->len; i++)
    {
      LaresEvent *ev = events->pdata[i];
      g_autoptr (GError) local = NULL;
      g_autoptr (LaresEvent) old = lares_events_get_by_uid (db, user_id, ev->uid, &local);
      LaresJob *job = NULL;
      gboolean ok;

      if (old == NULL && !g_error_matches (local, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      ev->user_id = user_id;
      if (old)
        {
          ev->id = old->id;
          if (ev->created_at <= 0)
            ev->created_at = old->created_at;
          ok = lares_events_update (db, ev, now_ms, TRUE, &job, error);
          (*updated)++;
        }
      else
        {
          ok = lares_events_insert (db, ev, now_ms, &job, error);
          (*added)++;
        }
      if (!ok)
        {
          g_prefix_error (error, "event '%s': ", ev->uid);
          return FALSE;
        }
      if (job && jobs)
        g_ptr_array_add (jobs, job);
      else
        lares_job_free (job);
    }
  for (unsigned i = 0; orphans && i < orphans->len; i++)
    {
      LaresEvent *part = orphans->pdata[i];
      g_autoptr (GError) local = NULL;
      g_autoptr (LaresEvent) series = lares_events_get_by_uid (db, user_id, part->uid, &local);
      LaresJob *job = NULL;

      if (series == NULL || series->rrule == NULL)
        {
          if (series == NULL &&
              !g_error_matches (local, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          if (skipped)
            {
              JsonObject *o = json_object_new ();
              json_object_set_string_member (o, "uid", part->uid);
              json_object_set_string_member (o, "reason",
                                             "a changed occurrence of a repeating event that is "
                                             "neither in the file nor stored");
              json_array_add_object_element (skipped, o);
            }
          continue;
        }
      if (series->all_day != part->all_day)
        {
          g_set_error (error, LARES_EVENT_ERROR, LARES_EVENT_ERROR_INVALID,
                       "event '%s': a changed occurrence does not match its series (all-day)",
                       part->uid);
          return FALSE;
        }
      for (unsigned k = 0; k < part->overrides->len; k++)
        lares_event_put_override (series, override_copy (part->overrides->pdata[k]));
      if (!lares_events_update (db, series, now_ms, FALSE, &job, error))
        {
          g_prefix_error (error, "event '%s': ", part->uid);
          return FALSE;
        }
      (*updated)++;
      if (job && jobs)
        g_ptr_array_add (jobs, job);
      else
        lares_job_free (job);
    }
  return TRUE;
}

gboolean
lares_calendar_feed_set (sqlite3 *db, int64_t user_id, const uint8_t digest[LARES_DIGEST_LEN],
                         int64_t now_ms, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_prepare (db,
                         "INSERT INTO calendar_feeds (user_id, digest, created_at) "
                         "VALUES (?1, ?2, ?3) ON CONFLICT (user_id) DO UPDATE SET "
                         "digest = excluded.digest, created_at = excluded.created_at",
                         error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_blob (stmt, 2, digest, LARES_DIGEST_LEN, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, now_ms);
  return step_done (db, stmt, error);
}

gboolean
lares_calendar_feed_lookup (sqlite3 *db, const uint8_t digest[LARES_DIGEST_LEN], int64_t *user_id,
                            GError **error)
{
  g_autoptr (sqlite3_stmt) stmt =
      lares_sql_prepare (db, "SELECT user_id FROM calendar_feeds WHERE digest = ?1", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, digest, LARES_DIGEST_LEN, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *user_id = sqlite3_column_int64 (stmt, 0);
      return TRUE;
    }
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND, "no such calendar feed");
  return FALSE;
}
