/* lares-ical.c — iCalendar import and export (see lares-ical.h).
 *
 * DESIGN
 * - Before libical sees a byte, the text must be UTF-8 without NULs, start
 *   with BEGIN:VCALENDAR, nest components at most LARES_ICAL_DEPTH_MAX
 *   deep (libical frees components recursively) and hold at most
 *   LARES_ICAL_EVENTS_MAX events: a few cheap checks that keep hostile
 *   files from costing more than their size.
 * - libical's parser never fails outright; it records what it could not
 *   read as X-LIC-ERROR properties.  Any of them fails the import.
 * - Times are decoded by hand from libical's broken-down values so that
 *   IANA zones go through the same GLib tzdata code as the rest of lares
 *   (lares-recur.c); libical's own zone code is used only for VTIMEZONEs
 *   that name no IANA zone.
 * - Export builds a component tree and lets libical serialize it.
 *   libical's error state and its zone cache are per process but locked
 *   (and the error number per thread), so this runs on store threads.
 */
#include "config.h"

#include "lares-ical.h"

#include "lares-recur.h"

#include <libical/ical.h>
#include <string.h>

#define DAY_MS G_GINT64_CONSTANT (86400000)

void
lares_ical_import_free (LaresIcalImport *imp)
{
  if (imp == NULL)
    return;
  g_ptr_array_unref (imp->events);
  g_ptr_array_unref (imp->orphans);
  json_array_unref (imp->skipped);
  g_free (imp);
}

static gboolean bad (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
bad (GError **error, const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  /* Quoted text from the file may be cut in the middle of a character. */
  if (!g_utf8_validate (msg, -1, NULL))
    {
      g_autofree char *fixed = g_utf8_make_valid (msg, -1);
      g_set_error_literal (error, LARES_EVENT_ERROR, LARES_EVENT_ERROR_INVALID, fixed);
    }
  else
    g_set_error_literal (error, LARES_EVENT_ERROR, LARES_EVENT_ERROR_INVALID, msg);
  return FALSE;
}

/* ---- cheap checks before libical ------------------------------------------------------------ */

static gboolean
prescan (const char *data, size_t len, GError **error)
{
  const char *p = data, *end = data + len;
  int depth = 0;
  unsigned events = 0;
  gboolean first = TRUE;

  if (!g_utf8_validate (data, (gssize)len, NULL))
    return bad (error, "the file is not UTF-8 text");
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (size_t)(end - p));
      const char *line_end = nl ? nl : end;
      size_t n = (size_t)(line_end - p);

      if (n > 0 && p[n - 1] == '\r')
        n--;
      if (first && n > 0)
        {
          if (n < 15 || g_ascii_strncasecmp (p, "BEGIN:VCALENDAR", 15) != 0)
            return bad (error, "the file is not iCalendar (it must begin with BEGIN:VCALENDAR)");
          first = FALSE;
        }
      if (n >= 6 && g_ascii_strncasecmp (p, "BEGIN:", 6) == 0)
        {
          if (++depth > LARES_ICAL_DEPTH_MAX)
            return bad (error, "components are nested more than %d deep", LARES_ICAL_DEPTH_MAX);
          if (n == 12 && g_ascii_strncasecmp (p + 6, "VEVENT", 6) == 0 &&
              ++events > LARES_ICAL_EVENTS_MAX)
            return bad (error, "more than %d events in one file", LARES_ICAL_EVENTS_MAX);
        }
      else if (n >= 4 && g_ascii_strncasecmp (p, "END:", 4) == 0)
        {
          if (--depth < 0)
            return bad (error, "an END without its BEGIN");
        }
      p = nl ? nl + 1 : end;
    }
  if (first)
    return bad (error, "the file is empty");
  if (depth != 0)
    return bad (error, "the file ends inside a component (a missing END)");
  return TRUE;
}

/* The first X-LIC-ERROR anywhere under @c. */
static const char *
find_error (icalcomponent *c, unsigned depth)
{
  icalproperty *p;
  icalcomponent *sub;

  if (depth > LARES_ICAL_DEPTH_MAX + 1)
    return "components are nested too deep";
  for (p = icalcomponent_get_first_property (c, ICAL_XLICERROR_PROPERTY); p;
       p = icalcomponent_get_next_property (c, ICAL_XLICERROR_PROPERTY))
    {
      const char *msg = icalproperty_get_xlicerror (p);
      return msg && *msg ? msg : "unreadable content";
    }
  for (sub = icalcomponent_get_first_component (c, ICAL_ANY_COMPONENT); sub;
       sub = icalcomponent_get_next_component (c, ICAL_ANY_COMPONENT))
    {
      const char *msg = find_error (sub, depth + 1);
      if (msg)
        return msg;
    }
  return NULL;
}

/* ---- zones ---------------------------------------------------------------------------------- */

/* An IANA name for @tzid: itself, its last one to three path segments, or
 * the X-LIC-LOCATION of its VTIMEZONE in @cal.  (transfer full) (nullable) */
static char *
iana_name (icalcomponent *cal, const char *tzid)
{
  g_autoptr (GTimeZone) tz = NULL;
  g_auto (GStrv) parts = NULL;
  unsigned n;
  icalcomponent *vtz;

  if ((tz = lares_recur_zone (tzid)) != NULL)
    return g_strdup (tzid);
  parts = g_strsplit (tzid, "/", -1);
  n = g_strv_length (parts);
  for (unsigned k = 3; k >= 1; k--)
    if (n >= k)
      {
        g_autofree char *tail = g_strjoinv ("/", parts + (n - k));
        g_autoptr (GTimeZone) t = lares_recur_zone (tail);
        if (t && strchr (tail, '/'))
          return g_steal_pointer (&tail);
      }
  for (vtz = icalcomponent_get_first_component (cal, ICAL_VTIMEZONE_COMPONENT); vtz;
       vtz = icalcomponent_get_next_component (cal, ICAL_VTIMEZONE_COMPONENT))
    {
      icalproperty *id = icalcomponent_get_first_property (vtz, ICAL_TZID_PROPERTY);
      const char *where = NULL;

      for (icalproperty *x = icalcomponent_get_first_property (vtz, ICAL_X_PROPERTY); x;
           x = icalcomponent_get_next_property (vtz, ICAL_X_PROPERTY))
        if (g_strcmp0 (icalproperty_get_x_name (x), "X-LIC-LOCATION") == 0)
          where = icalproperty_get_x (x);

      if (id && g_strcmp0 (icalproperty_get_tzid (id), tzid) == 0 && where)
        {
          g_autoptr (GTimeZone) t = lares_recur_zone (where);
          if (t)
            return g_strdup (where);
        }
    }
  return NULL;
}

/* A time as the file gives it, decoded. */
typedef struct
{
  gboolean is_date;
  int64_t at;       /* date: midnight UTC of it; else the instant */
  char *zone;       /* the IANA zone of a zoned wall time, "UTC", or NULL (floating or date) */
  gboolean foreign; /* converted through a VTIMEZONE lares cannot name */
} Time;

static void
time_clear (Time *t)
{
  g_clear_pointer (&t->zone, g_free);
}

static int64_t
encode_date (int y, int m, int d)
{
  g_autoptr (GDateTime) t = g_date_time_new_utc (y, m, d, 0, 0, 0);

  return t ? g_date_time_to_unix (t) * 1000 : -1;
}

/* Decode @v, the value of @prop (DTSTART, DTEND, EXDATE, RECURRENCE-ID). */
static gboolean
decode_time (icalcomponent *cal, icalproperty *prop, struct icaltimetype v,
             const char *default_tzid, Time *out, const char *what, const char *uid, GError **error)
{
  icalparameter *param = icalproperty_get_first_parameter (prop, ICAL_TZID_PARAMETER);
  const char *tzid = param ? icalparameter_get_tzid (param) : NULL;

  memset (out, 0, sizeof *out);
  if (icaltime_is_null_time (v) || v.year < 1970 || v.year >= 2200 || v.month < 1 || v.month > 12 ||
      v.day < 1 || !g_date_valid_dmy ((GDateDay)v.day, (GDateMonth)v.month, (GDateYear)v.year) ||
      v.hour < 0 || v.hour > 23 || v.minute < 0 || v.minute > 59 || v.second < 0 || v.second > 60)
    return bad (error, "event '%s': %s is not a date or time from 1970 to 2199", uid, what);
  if (v.is_date)
    {
      out->is_date = TRUE;
      out->at = encode_date (v.year, v.month, v.day);
      return TRUE;
    }
  if (v.second == 60)
    v.second = 59; /* a leap second: lares has none */
  if (tzid == NULL && icaltime_is_utc (v))
    {
      g_autoptr (GDateTime) t =
          g_date_time_new_utc (v.year, v.month, v.day, v.hour, v.minute, v.second);
      out->at = g_date_time_to_unix (t) * 1000;
      out->zone = g_strdup ("UTC");
      return TRUE;
    }
  if (tzid != NULL)
    {
      g_autofree char *name = iana_name (cal, tzid);

      if (name == NULL)
        {
          icaltimezone *zone = icalcomponent_get_timezone (cal, tzid);
          struct icaltimetype wall = v;

          if (zone == NULL)
            return bad (error, "event '%s': unknown time zone '%s' (no VTIMEZONE for it)", uid,
                        tzid);
          wall.zone = NULL;
          out->at = (int64_t)icaltime_as_timet_with_zone (wall, zone) * 1000;
          out->zone = g_strdup ("UTC");
          out->foreign = TRUE;
          icalerror_clear_errno ();
          return TRUE;
        }
      {
        g_autoptr (GTimeZone) tz = lares_recur_zone (name);
        out->at = lares_recur_wall_to_ms (tz, v.year, v.month, v.day, v.hour, v.minute, v.second);
        out->zone = g_steal_pointer (&name);
      }
      return TRUE;
    }
  {
    /* Floating: the wall time in the user's zone. */
    g_autoptr (GTimeZone) tz = lares_recur_zone (default_tzid);

    if (tz == NULL)
      tz = g_time_zone_new_utc ();
    out->at = lares_recur_wall_to_ms (tz, v.year, v.month, v.day, v.hour, v.minute, v.second);
  }
  return TRUE;
}

/* ---- events --------------------------------------------------------------------------------- */

static void
skip (LaresIcalImport *imp, const char *uid, const char *reason)
{
  JsonObject *o = json_object_new ();

  if (uid)
    json_object_set_string_member (o, "uid", uid);
  else
    json_object_set_null_member (o, "uid");
  json_object_set_string_member (o, "reason", reason);
  json_array_add_object_element (imp->skipped, o);
}

static int
count_props (icalcomponent *c, icalproperty_kind kind)
{
  int n = 0;

  for (icalproperty *p = icalcomponent_get_first_property (c, kind); p;
       p = icalcomponent_get_next_property (c, kind))
    n++;
  return n;
}

static int64_t
stamp_ms (struct icaltimetype t)
{
  if (icaltime_is_null_time (t) || t.year < 1970 || t.year >= 2200 || t.is_date)
    return 0;
  t.zone = icaltimezone_get_utc_timezone ();
  return (int64_t)icaltime_as_timet (t) * 1000;
}

/* The text of the first @kind property, or NULL. */
static const char *
text_of (icalcomponent *c, icalproperty_kind kind)
{
  icalproperty *p = icalcomponent_get_first_property (c, kind);
  icalvalue *v = p ? icalproperty_get_value (p) : NULL;

  return v ? icalvalue_get_text (v) : NULL;
}

/* Minutes before the start of the first display-able VALARM, or -1. */
static int
alarm_minutes (icalcomponent *vevent)
{
  for (icalcomponent *a = icalcomponent_get_first_component (vevent, ICAL_VALARM_COMPONENT); a;
       a = icalcomponent_get_next_component (vevent, ICAL_VALARM_COMPONENT))
    {
      icalproperty *p = icalcomponent_get_first_property (a, ICAL_TRIGGER_PROPERTY);
      icalparameter *rel = p ? icalproperty_get_first_parameter (p, ICAL_RELATED_PARAMETER) : NULL;
      struct icaltriggertype trig;
      int secs;

      if (p == NULL || (rel && icalparameter_get_related (rel) == ICAL_RELATED_END))
        continue;
      trig = icalproperty_get_trigger (p);
      if (!icaltime_is_null_time (trig.time))
        continue; /* an absolute time: not "before each occurrence" */
      secs = icaldurationtype_as_int (trig.duration);
      if (secs > 0 || -secs / 60 > LARES_EVENT_REMIND_MAX)
        continue;
      return -secs / 60;
    }
  return -1;
}

/* Fill the times of @ev from @c.  Returns FALSE with @error on a bad
 * file; sets *@why (static) when the event is to be skipped. */
static gboolean
read_times (icalcomponent *cal, icalcomponent *c, const char *uid, const char *default_tzid,
            LaresEvent *ev, const char **why, GError **error)
{
  icalproperty *ps = icalcomponent_get_first_property (c, ICAL_DTSTART_PROPERTY);
  icalproperty *pe = icalcomponent_get_first_property (c, ICAL_DTEND_PROPERTY);
  icalproperty *pd = icalcomponent_get_first_property (c, ICAL_DURATION_PROPERTY);
  Time s = { 0 }, e = { 0 };
  gboolean ok = FALSE;

  if (ps == NULL)
    return bad (error, "event '%s' has no DTSTART", uid);
  if (!decode_time (cal, ps, icalproperty_get_dtstart (ps), default_tzid, &s, "DTSTART", uid,
                    error))
    goto out;
  ev->all_day = s.is_date;
  ev->start_at = s.at;
  g_free (ev->tzid);
  ev->tzid = g_strdup (s.zone ? s.zone : default_tzid);
  if (s.foreign && why)
    *why = "a time zone lares cannot name";
  if (pe && pd)
    {
      bad (error, "event '%s' has both DTEND and DURATION", uid);
      goto out;
    }
  if (pe)
    {
      if (!decode_time (cal, pe, icalproperty_get_dtend (pe), default_tzid, &e, "DTEND", uid,
                        error))
        goto out;
      if (e.is_date != s.is_date)
        {
          bad (error, "event '%s': DTSTART and DTEND must both be dates or both times", uid);
          goto out;
        }
      ev->end_at = e.at;
    }
  else if (pd)
    {
      struct icaldurationtype d = icalproperty_get_duration (pd);
      int64_t secs = icaldurationtype_as_int (d);

      if (secs < 0 || secs > 366 * 86400)
        {
          bad (error, "event '%s': DURATION must be positive and at most a year", uid);
          goto out;
        }
      ev->end_at = s.is_date ? s.at + MAX (1, (secs + 86399) / 86400) * DAY_MS : s.at + secs * 1000;
    }
  else
    ev->end_at = s.is_date ? s.at + DAY_MS : s.at; /* RFC 5545 §3.6.1 */
  if (ev->end_at < ev->start_at || (ev->all_day && ev->end_at == ev->start_at))
    {
      bad (error, "event '%s' ends before it starts", uid);
      goto out;
    }
  ok = TRUE;
out:
  time_clear (&s);
  time_clear (&e);
  return ok;
}

/* A recurrence id (RECURRENCE-ID or EXDATE value) in @ev's encoding. */
static gboolean
read_rid (icalcomponent *cal, icalproperty *p, struct icaltimetype v, const LaresEvent *ev,
          const char *default_tzid, const char *what, int64_t *out, GError **error)
{
  Time t = { 0 };
  gboolean ok = decode_time (cal, p, v, default_tzid, &t, what, ev->uid, error);

  if (ok && t.is_date != ev->all_day)
    ok = bad (error, "event '%s': %s must be a %s like DTSTART", ev->uid, what,
              ev->all_day ? "date" : "date and time");
  *out = t.at;
  time_clear (&t);
  return ok;
}

static char *
dup_text (const char *s)
{
  return g_strdup (s ? s : "");
}

/* Parse one master VEVENT. NULL with *@why set to skip it, or with @error. */
static LaresEvent *
read_event (icalcomponent *cal, icalcomponent *c, const char *uid, const char *default_tzid,
            int64_t now_ms, const char **why, GError **error)
{
  g_autoptr (LaresEvent) ev = lares_event_new ();
  const char *summary = text_of (c, ICAL_SUMMARY_PROPERTY);
  icalproperty *p;
  int rrules = count_props (c, ICAL_RRULE_PROPERTY);

  *why = NULL;
  g_free (ev->uid);
  ev->uid = g_strdup (uid);
  if (count_props (c, ICAL_RDATE_PROPERTY) > 0)
    {
      *why = "RDATE is not supported";
      return NULL;
    }
  if (rrules > 1)
    {
      *why = "more than one RRULE";
      return NULL;
    }
  if (!read_times (cal, c, uid, default_tzid, ev, why, error))
    {
      *why = NULL; /* a bad file, not a skip */
      return NULL;
    }
  if (*why && rrules)
    return NULL; /* a series in a zone lares cannot name */
  *why = NULL;
  g_free (ev->title);
  ev->title = g_strstrip (g_strdup (summary && *summary ? summary : "(no title)"));
  if (*ev->title == '\0')
    {
      g_free (ev->title);
      ev->title = g_strdup ("(no title)");
    }
  g_free (ev->location);
  ev->location = dup_text (text_of (c, ICAL_LOCATION_PROPERTY));
  g_free (ev->description);
  ev->description = dup_text (text_of (c, ICAL_DESCRIPTION_PROPERTY));
  if (rrules == 1)
    {
      struct icalrecurrencetype r =
          icalproperty_get_rrule (icalcomponent_get_first_property (c, ICAL_RRULE_PROPERTY));
      char *text = icalrecurrencetype_as_string_r (&r);

      ev->rrule = lares_recur_normalize (text);
      icalmemory_free_buffer (text);
      if (ev->rrule == NULL)
        {
          bad (error, "event '%s' has an RRULE that cannot be used", uid);
          return NULL;
        }
    }
  for (p = icalcomponent_get_first_property (c, ICAL_EXDATE_PROPERTY); p;
       p = icalcomponent_get_next_property (c, ICAL_EXDATE_PROPERTY))
    {
      int64_t rid;

      if (!read_rid (cal, p, icalproperty_get_exdate (p), ev, default_tzid, "EXDATE", &rid, error))
        return NULL;
      if (ev->rrule == NULL)
        continue; /* an EXDATE without a rule removes nothing */
      lares_event_add_exdate (ev, rid);
    }
  ev->remind_minutes = alarm_minutes (c);
  p = icalcomponent_get_first_property (c, ICAL_CREATED_PROPERTY);
  ev->created_at = p ? stamp_ms (icalproperty_get_created (p)) : 0;
  p = icalcomponent_get_first_property (c, ICAL_LASTMODIFIED_PROPERTY);
  ev->updated_at = p ? stamp_ms (icalproperty_get_lastmodified (p)) : 0;
  if (ev->created_at <= 0)
    ev->created_at = now_ms;
  if (ev->updated_at <= 0)
    ev->updated_at = now_ms;
  return g_steal_pointer (&ev);
}

/* A VEVENT with RECURRENCE-ID into @series (a master of the file, or an
 * orphan holding overrides).  FALSE with @error on a bad file; *@why to
 * skip it. */
static gboolean
read_override (icalcomponent *cal, icalcomponent *c, LaresEvent *series, const char *default_tzid,
               const char **why, GError **error)
{
  icalproperty *p = icalcomponent_get_first_property (c, ICAL_RECURRENCEID_PROPERTY);
  icalparameter *range = icalproperty_get_first_parameter (p, ICAL_RANGE_PARAMETER);
  g_autoptr (LaresEvent) own = lares_event_new ();
  LaresEventOverride *o;
  int64_t rid;
  const char *s;

  *why = NULL;
  if (range && icalparameter_get_range (range) == ICAL_RANGE_THISANDFUTURE)
    {
      *why = "RANGE=THISANDFUTURE is not supported";
      return TRUE;
    }
  if (!read_rid (cal, p, icalproperty_get_recurrenceid (p), series, default_tzid, "RECURRENCE-ID",
                 &rid, error))
    return FALSE;
  if (icalcomponent_get_status (c) == ICAL_STATUS_CANCELLED)
    {
      lares_event_remove_override (series, rid);
      lares_event_add_exdate (series, rid);
      return TRUE;
    }
  if (icalcomponent_get_first_property (c, ICAL_DTSTART_PROPERTY) == NULL)
    {
      own->all_day = series->all_day;
      own->start_at = rid;
      own->end_at = rid + (series->end_at - series->start_at);
    }
  else if (!read_times (cal, c, series->uid, default_tzid, own, NULL, error))
    return FALSE;
  if (own->all_day != series->all_day)
    return bad (error, "event '%s': a changed occurrence must be all-day like its series",
                series->uid);
  o = g_new0 (LaresEventOverride, 1);
  o->recurrence_id = rid;
  o->start_at = own->start_at;
  o->end_at = own->end_at;
  if ((s = text_of (c, ICAL_SUMMARY_PROPERTY)) != NULL && *s)
    o->title = g_strdup (s);
  if ((s = text_of (c, ICAL_LOCATION_PROPERTY)) != NULL)
    o->location = g_strdup (s);
  if ((s = text_of (c, ICAL_DESCRIPTION_PROPERTY)) != NULL)
    o->description = g_strdup (s);
  lares_event_remove_exdate (series, rid);
  lares_event_put_override (series, o);
  return TRUE;
}

static LaresEvent *
find_uid (GPtrArray *list, const char *uid)
{
  for (unsigned i = 0; i < list->len; i++)
    {
      LaresEvent *ev = list->pdata[i];
      if (strcmp (ev->uid, uid) == 0)
        return ev;
    }
  return NULL;
}

static gboolean
read_calendar (LaresIcalImport *imp, icalcomponent *cal, const char *default_tzid, int64_t now_ms,
               GError **error)
{
  g_autoptr (GPtrArray) overrides = g_ptr_array_new (); /* icalcomponent* (borrowed) */
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  icalcomponent *c;

  for (c = icalcomponent_get_first_component (cal, ICAL_VEVENT_COMPONENT); c;
       c = icalcomponent_get_next_component (cal, ICAL_VEVENT_COMPONENT))
    {
      const char *uid = icalcomponent_get_uid (c);
      const char *why = NULL;
      LaresEvent *ev;

      if (uid == NULL || *uid == '\0')
        {
          skip (imp, NULL, "no UID");
          continue;
        }
      if (strlen (uid) > LARES_EVENT_UID_MAX)
        return bad (error, "an event's UID is longer than %d bytes", LARES_EVENT_UID_MAX);
      if (icalcomponent_get_first_property (c, ICAL_RECURRENCEID_PROPERTY))
        {
          g_ptr_array_add (overrides, c);
          continue;
        }
      if (g_hash_table_contains (seen, uid))
        {
          skip (imp, uid, "the UID appears twice in the file");
          continue;
        }
      g_hash_table_add (seen, (char *)uid);
      ev = read_event (cal, c, uid, default_tzid, now_ms, &why, error);
      if (ev == NULL && why == NULL)
        return FALSE;
      if (ev == NULL)
        {
          skip (imp, uid, why);
          g_hash_table_add (seen, (char *)uid);
          continue;
        }
      g_ptr_array_add (imp->events, ev);
    }
  for (unsigned i = 0; i < overrides->len; i++)
    {
      const char *uid = icalcomponent_get_uid (overrides->pdata[i]);
      LaresEvent *series = find_uid (imp->events, uid);
      const char *why = NULL;

      if (series == NULL && g_hash_table_contains (seen, uid))
        continue; /* its series was skipped, and said so */
      if (series != NULL && series->rrule == NULL)
        {
          skip (imp, uid, "a changed occurrence of an event that does not repeat");
          continue;
        }
      if (series == NULL && (series = find_uid (imp->orphans, uid)) == NULL)
        {
          /* The series may be stored already: keep the override aside. */
          Time t = { 0 };
          icalproperty *p =
              icalcomponent_get_first_property (overrides->pdata[i], ICAL_RECURRENCEID_PROPERTY);

          if (!decode_time (cal, p, icalproperty_get_recurrenceid (p), default_tzid, &t,
                            "RECURRENCE-ID", uid, error))
            return FALSE;
          series = lares_event_new ();
          g_free (series->uid);
          series->uid = g_strdup (uid);
          series->all_day = t.is_date;
          time_clear (&t);
          g_ptr_array_add (imp->orphans, series);
        }
      if (!read_override (cal, overrides->pdata[i], series, default_tzid, &why, error))
        return FALSE;
      if (why)
        skip (imp, uid, why);
    }
  for (unsigned i = 0; i < imp->events->len; i++)
    {
      LaresEvent *ev = imp->events->pdata[i];
      g_autoptr (GError) local = NULL;

      if (!lares_event_check (ev, &local))
        return bad (error, "event '%s': %s", ev->uid, local->message);
    }
  return TRUE;
}

LaresIcalImport *
lares_ical_parse (const char *data, size_t len, const char *default_tzid, int64_t now_ms,
                  GError **error)
{
  g_autoptr (LaresIcalImport) imp = g_new0 (LaresIcalImport, 1);
  g_autofree char *text = NULL;
  icalcomponent *root;
  const char *msg;
  gboolean ok;

  imp->events = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_event_free);
  imp->orphans = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_event_free);
  imp->skipped = json_array_new ();
  if (memchr (data, '\0', len) != NULL)
    {
      bad (error, "the file is not text (it holds a NUL byte)");
      return NULL;
    }
  if (!prescan (data, len, error))
    return NULL;
  text = g_strndup (data, len);
  icalerror_clear_errno ();
  root = icalparser_parse_string (text);
  icalerror_clear_errno ();
  if (root == NULL)
    {
      bad (error, "the file is not iCalendar");
      return NULL;
    }
  if (icalcomponent_isa (root) != ICAL_VCALENDAR_COMPONENT)
    {
      icalcomponent_free (root);
      bad (error, "the file must hold exactly one VCALENDAR");
      return NULL;
    }
  if ((msg = find_error (root, 0)) != NULL)
    {
      bad (error, "the file is not valid iCalendar: %s", msg);
      icalcomponent_free (root);
      return NULL;
    }
  ok = read_calendar (imp, root, default_tzid, now_ms, error);
  icalcomponent_free (root);
  icalerror_clear_errno ();
  return ok ? g_steal_pointer (&imp) : NULL;
}

/* ---- export --------------------------------------------------------------------------------- */

static struct icaltimetype
utc_time (int64_t ms)
{
  return icaltime_from_timet_with_zone ((time_t)(ms / 1000), 0, icaltimezone_get_utc_timezone ());
}

static struct icaltimetype
wall_time (int64_t ms, GTimeZone *tz, gboolean is_date)
{
  struct icaltimetype t = icaltime_null_time ();
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (ms / 1000);
  g_autoptr (GDateTime) local = utc ? g_date_time_to_timezone (utc, tz) : NULL;

  if (local == NULL)
    return t;
  t.year = g_date_time_get_year (local);
  t.month = g_date_time_get_month (local);
  t.day = g_date_time_get_day_of_month (local);
  if (is_date)
    t.is_date = 1;
  else
    {
      t.hour = g_date_time_get_hour (local);
      t.minute = g_date_time_get_minute (local);
      t.second = g_date_time_get_second (local);
    }
  return t;
}

typedef struct
{
  GTimeZone *tz;    /* the event's zone, or UTC for all-day dates */
  const char *tzid; /* TZID to write, NULL for UTC ("Z") and dates */
  gboolean is_date;
} TimeForm;

/* How the times of @ev are written: dates, UTC, or wall times with a TZID
 * that @zones (TZIDs with a VTIMEZONE in the file) holds. */
static void
time_form (const LaresEvent *ev, GHashTable *zones, TimeForm *f)
{
  f->is_date = ev->all_day;
  f->tzid = NULL;
  if (!ev->all_day && strcmp (ev->tzid, "UTC") != 0 && g_hash_table_contains (zones, ev->tzid))
    {
      f->tz = lares_recur_zone (ev->tzid);
      f->tzid = ev->tzid;
    }
  if (f->tzid == NULL)
    f->tz = g_time_zone_new_utc ();
}

static icalproperty *
time_prop (icalproperty *p, const TimeForm *f)
{
  if (f->tzid)
    icalproperty_add_parameter (p, icalparameter_new_tzid (f->tzid));
  return p;
}

static struct icaltimetype
form_time (const TimeForm *f, int64_t at)
{
  if (f->is_date || f->tzid)
    return wall_time (at, f->tz, f->is_date);
  return utc_time (at);
}

static void
add_texts (icalcomponent *c, const char *title, const char *location, const char *description)
{
  icalcomponent_add_property (c, icalproperty_new_summary (title));
  if (location && *location)
    icalcomponent_add_property (c, icalproperty_new_location (location));
  if (description && *description)
    icalcomponent_add_property (c, icalproperty_new_description (description));
}

static void
add_event (icalcomponent *cal, const LaresEvent *ev, GHashTable *zones)
{
  icalcomponent *c = icalcomponent_new_vevent ();
  TimeForm f;

  time_form (ev, zones, &f);
  icalcomponent_add_property (c, icalproperty_new_uid (ev->uid));
  icalcomponent_add_property (c, icalproperty_new_dtstamp (utc_time (ev->updated_at)));
  icalcomponent_add_property (c, icalproperty_new_created (utc_time (ev->created_at)));
  icalcomponent_add_property (c, icalproperty_new_lastmodified (utc_time (ev->updated_at)));
  icalcomponent_add_property (
      c, time_prop (icalproperty_new_dtstart (form_time (&f, ev->start_at)), &f));
  icalcomponent_add_property (c,
                              time_prop (icalproperty_new_dtend (form_time (&f, ev->end_at)), &f));
  add_texts (c, ev->title, ev->location, ev->description);
  if (ev->rrule)
    {
      struct icalrecurrencetype r = icalrecurrencetype_from_string (ev->rrule);

      icalcomponent_add_property (c, icalproperty_new_rrule (r));
      if (r.rscale)
        icalmemory_free_buffer (r.rscale);
      for (unsigned i = 0; i < ev->exdates->len; i++)
        icalcomponent_add_property (c, time_prop (icalproperty_new_exdate (form_time (
                                                      &f, g_array_index (ev->exdates, int64_t, i))),
                                                  &f));
    }
  if (ev->remind_minutes >= 0)
    {
      icalcomponent *a = icalcomponent_new_valarm ();
      struct icaltriggertype trig;

      trig.time = icaltime_null_time ();
      trig.duration = icaldurationtype_from_int (-ev->remind_minutes * 60);
      icalcomponent_add_property (a, icalproperty_new_action (ICAL_ACTION_DISPLAY));
      icalcomponent_add_property (a, icalproperty_new_trigger (trig));
      icalcomponent_add_property (a, icalproperty_new_description (ev->title));
      icalcomponent_add_component (c, a);
    }
  icalcomponent_add_component (cal, c);
  for (unsigned i = 0; i < ev->overrides->len; i++)
    {
      const LaresEventOverride *o = ev->overrides->pdata[i];
      icalcomponent *oc = icalcomponent_new_vevent ();

      icalcomponent_add_property (oc, icalproperty_new_uid (ev->uid));
      icalcomponent_add_property (oc, icalproperty_new_dtstamp (utc_time (ev->updated_at)));
      icalcomponent_add_property (
          oc, time_prop (icalproperty_new_recurrenceid (form_time (&f, o->recurrence_id)), &f));
      icalcomponent_add_property (
          oc, time_prop (icalproperty_new_dtstart (form_time (&f, o->start_at)), &f));
      icalcomponent_add_property (
          oc, time_prop (icalproperty_new_dtend (form_time (&f, o->end_at)), &f));
      add_texts (oc, o->title ? o->title : ev->title, o->location ? o->location : ev->location,
                 o->description ? o->description : ev->description);
      icalcomponent_add_component (cal, oc);
    }
  g_time_zone_unref (f.tz);
}

/* A VTIMEZONE for @tzid from the system's tzdata, with TZID = @tzid, or
 * NULL when libical does not know it.  (transfer full) */
static icalcomponent *
vtimezone (const char *tzid)
{
  icaltimezone *zone = icaltimezone_get_builtin_timezone (tzid);
  icalcomponent *c;
  icalproperty *p;

  if (zone == NULL || icaltimezone_get_component (zone) == NULL)
    {
      icalerror_clear_errno ();
      return NULL;
    }
  c = icalcomponent_new_clone (icaltimezone_get_component (zone));
  p = icalcomponent_get_first_property (c, ICAL_TZID_PROPERTY);
  if (p)
    icalproperty_set_tzid (p, tzid);
  else
    icalcomponent_add_property (c, icalproperty_new_tzid (tzid));
  return c;
}

char *
lares_ical_export (GPtrArray *events, const char *name)
{
  icalcomponent *cal = icalcomponent_new_vcalendar ();
  g_autoptr (GHashTable) zones = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) order = g_ptr_array_new_with_free_func (g_free);
  icalproperty *xname;
  char *text;
  char *out;

  icalcomponent_add_property (cal, icalproperty_new_version ("2.0"));
  icalcomponent_add_property (cal, icalproperty_new_prodid ("-//lares//calendar//EN"));
  icalcomponent_add_property (cal, icalproperty_new_calscale ("GREGORIAN"));
  xname = icalproperty_new_x (name ? name : "lares");
  icalproperty_set_x_name (xname, "X-WR-CALNAME");
  icalcomponent_add_property (cal, xname);
  /* One VTIMEZONE per zone in use, in the order first used. */
  for (unsigned i = 0; i < events->len; i++)
    {
      const LaresEvent *ev = events->pdata[i];
      icalcomponent *vtz;

      if (ev->all_day || strcmp (ev->tzid, "UTC") == 0 || g_hash_table_contains (zones, ev->tzid) ||
          g_ptr_array_find_with_equal_func (order, ev->tzid, g_str_equal, NULL))
        continue;
      g_ptr_array_add (order, g_strdup (ev->tzid));
      vtz = vtimezone (ev->tzid);
      if (vtz == NULL)
        continue; /* written in UTC instead */
      icalcomponent_add_component (cal, vtz);
      g_hash_table_add (zones, g_strdup (ev->tzid));
    }
  for (unsigned i = 0; i < events->len; i++)
    add_event (cal, events->pdata[i], zones);
  text = icalcomponent_as_ical_string_r (cal);
  out = g_strdup (text ? text : "");
  icalmemory_free_buffer (text);
  icalcomponent_free (cal);
  icalerror_clear_errno ();
  return out;
}
