/* lares-ical.h — iCalendar (RFC 5545) import and export of calendar events.
 *
 * Both sides go through libical: its parser reads a file (unfolding lines,
 * unescaping text, reporting errors as X-LIC-ERROR properties) and its
 * serializer writes one (escaping, folding at 75 octets, CRLF).  This file
 * maps between its components and LaresEvent.
 *
 * Import is all or nothing: anything libical reports as an error, a
 * VEVENT without a usable DTSTART, an end before its start, a rule
 * lares-recur refuses, or text over the event limits fails the whole file
 * with a message naming the event.  What is valid iCalendar but cannot be
 * kept is skipped and reported ({uid, reason}): events without a UID,
 * RDATE, several RRULEs, THISANDFUTURE ranges, a UID given twice, and a
 * repeating event in a zone lares cannot name.
 *
 * Zones: a TZID that is an IANA name (or ends in one, as
 * "/mozilla.org/20050126_1/America/New_York" does, or names one in its
 * VTIMEZONE's X-LIC-LOCATION) is read with the system's tzdata, like
 * every other time in lares.  Another TZID with a VTIMEZONE in the file is
 * converted through that VTIMEZONE (single events only; they are kept in
 * UTC).  Floating times are read in the importing user's zone.
 *
 * Export writes one VCALENDAR: a VTIMEZONE (from the system tzdata,
 * through libical) for each zone a timed event uses, then each event as a
 * VEVENT with RRULE, EXDATE and a VALARM for its reminder, followed by one
 * VEVENT with RECURRENCE-ID per changed occurrence.
 *
 * Pure functions, safe on any thread; the parser takes outside input and
 * is fuzzed (fuzz/fuzz-ical-import.c).
 */
#pragma once

#include <json-glib/json-glib.h>

#include "lares-events.h"

G_BEGIN_DECLS

#define LARES_ICAL_EVENTS_MAX 10000 /* VEVENTs in one file */
#define LARES_ICAL_DEPTH_MAX  4     /* VCALENDAR > VEVENT > VALARM, VTIMEZONE > STANDARD */

typedef struct
{
  GPtrArray *events;  /* LaresEvent*: single events and series, with their overrides */
  GPtrArray *orphans; /* LaresEvent*: uid and overrides only, for series not in the file */
  JsonArray *skipped; /* {"uid": string|null, "reason": string} */
} LaresIcalImport;

void lares_ical_import_free (LaresIcalImport *imp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresIcalImport, lares_ical_import_free)

/* Parse @len bytes of iCalendar text (not NUL-terminated).  @default_tzid:
 * the zone of floating times.  Events get created_at/updated_at from
 * CREATED/LAST-MODIFIED, else @now_ms.  NULL with LARES_EVENT_ERROR_INVALID
 * on a bad file.  (transfer full) */
LaresIcalImport *lares_ical_parse (const char *data, size_t len, const char *default_tzid,
                                   int64_t now_ms, GError **error);

/* @events (LaresEvent*) as one VCALENDAR named @name.  (transfer full) */
char *lares_ical_export (GPtrArray *events, const char *name);

G_END_DECLS
