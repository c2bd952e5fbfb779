/* lares-recur.h — recurrence of scheduled jobs and calendar events:
 * RRULE + DTSTART + zone.
 *
 * A recurring job (or event) is an RFC 5545 RRULE, a DTSTART given as a local wall
 * time ("20261123T090000", no zone suffix) and the IANA zone that wall time
 * belongs to.  libical expands the rule over floating (zone-less) wall
 * times; each occurrence is then placed in the job's zone with GLib's
 * zone data.  So a 09:00 rule stays at 09:00 local on both sides of a DST
 * change, and a change of the zone's rules (tzdata) applies to future
 * occurrences once the daemon reads the zone again (loaded zones are kept
 * for ten minutes: loading one is the costly part of a calendar query).
 *
 * Local times that do not exist or exist twice follow RFC 5545 §3.3.5: a
 * time in a spring-forward gap is read with the offset before the gap
 * (02:30 on the day New York springs forward is 03:30 EDT); a time that
 * occurs twice is the first of the two.  An UNTIL in UTC is compared as the
 * wall time of that instant in the job's zone.
 *
 * Pure functions, safe from any thread (libical's error state is
 * per-thread).  Rules are checked against PROTOCOLS.md §7.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define LARES_RECUR_ERROR (lares_recur_error_quark ())
GQuark lares_recur_error_quark (void);

typedef enum
{
  LARES_RECUR_ERROR_INVALID, /* a rule, wall time or zone that cannot be used */
} LaresRecurError;

#define LARES_RECUR_RULE_MAX 512 /* bytes of RRULE text */
#define LARES_RECUR_TZID_MAX 64

/* Check a rule, a DTSTART wall time and a zone: the rule parses, follows
 * RFC 5545 (FREQ once, not both COUNT and UNTIL, ±n BYDAY only when monthly
 * or yearly), recurs at most once a minute, and has at least one
 * occurrence.  An "RRULE:" prefix is accepted.  The message names what is
 * wrong, in words a user can act on. */
gboolean lares_recur_check (const char *rrule, const char *dtstart, const char *tzid,
                            GError **error);

/* The first occurrence strictly after @after_ms, in Unix ms; 0 when the
 * rule has ended (COUNT or UNTIL), -1 with @error set when the input is
 * not valid. */
int64_t lares_recur_next (const char *rrule, const char *dtstart, const char *tzid,
                          int64_t after_ms, GError **error);

/* The rule text without an "RRULE:" prefix or surrounding blanks, or NULL
 * when it is not plain printable ASCII within LARES_RECUR_RULE_MAX.
 * (transfer full) */
char *lares_recur_normalize (const char *rrule);

/* The zone named @tzid (an IANA name GLib knows, or "UTC"), else NULL.
 * (transfer full) */
GTimeZone *lares_recur_zone (const char *tzid);

/* Parse a DTSTART wall time "YYYYMMDDTHHMMSS" (years 1970-2199). */
gboolean lares_recur_parse_wall (const char *text, int *year, int *month, int *day, int *hour,
                                 int *minute, int *second);

/* The instant of a local wall time in @tz, per RFC 5545 §3.3.5 (see
 * above), in Unix ms. */
int64_t lares_recur_wall_to_ms (GTimeZone *tz, int year, int month, int day, int hour, int minute,
                                int second);

/* The wall time of @ms in @tz as "YYYYMMDDTHHMMSS".  (transfer full) */
char *lares_recur_wall_from_ms (int64_t ms, GTimeZone *tz);

/* Walking a rule's occurrences in order (calendar expansion).  @dtstart is
 * a wall time, or a date alone ("20261123": an all-day series, whose
 * occurrences are dates; each comes at 00:00 in @tzid).  The walk may
 * begin close to @skip_to_ms instead of at DTSTART (rules without COUNT;
 * pass G_MININT64 to start at DTSTART), so earlier occurrences may or may
 * not come; later ones all do, in order, until the rule ends, the year
 * 2200, or LARES_RECUR_ITER_MAX_STEPS occurrences: a hostile rule cannot
 * keep a caller busy for long. */
#define LARES_RECUR_ITER_MAX_STEPS 100000

typedef struct
{
  int64_t ms;                                 /* the instant, Unix ms */
  int year, month, day, hour, minute, second; /* the wall time in the zone */
} LaresRecurTime;

typedef struct _LaresRecurIter LaresRecurIter;

/* NULL with LARES_RECUR_ERROR_INVALID when the rule, start or zone cannot
 * be used (lares_recur_check's first checks; not "has an occurrence"). */
LaresRecurIter *lares_recur_iter_new (const char *rrule, const char *dtstart, const char *tzid,
                                      int64_t skip_to_ms, GError **error);
/* The next occurrence; FALSE at the end. */
gboolean lares_recur_iter_next (LaresRecurIter *iter, LaresRecurTime *out);
void lares_recur_iter_free (LaresRecurIter *iter);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresRecurIter, lares_recur_iter_free)

G_END_DECLS
