/* lares-events.h — calendar events: the model, its JSON, recurrence
 * expansion, and the store.
 *
 * An event has a start and an end (end exclusive), a title, location and
 * description, an IANA zone, optionally an RFC 5545 RRULE with EXDATEs
 * and per-occurrence overrides, and optionally a reminder some minutes
 * before each occurrence (a job in the jobs table, see lares-jobs.h).
 *
 * Times.  A timed event keeps instants (Unix ms, UTC) plus the zone its
 * wall time belongs to; a series repeats that wall time in that zone, so
 * 09:00 stays 09:00 local across DST (lares-recur.h).  An all-day event
 * keeps dates, encoded as midnight UTC of the date; its occurrences begin
 * at 00:00 in its zone.  A recurrence id (the original start of an
 * occurrence) uses the same encoding as start_at.
 *
 * Expansion over [from, to) walks the rule from close to @from, skips
 * EXDATEs, replaces overridden occurrences by their override (which may
 * move anywhere), and stops at @to, at LARES_EVENTS_EXPAND_MAX occurrences
 * in all, or when lares-recur's bounds stop the walk.
 *
 * Store functions run inside a LaresStoreFunc on a store thread; every one
 * takes the owner's user id and filters by it (another user's event is
 * NOT_FOUND).  Writes also keep the event's reminder job in step and
 * return it, so the caller can tell the scheduler after COMMIT.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <stdint.h>

#include "lares-credentials.h"
#include "lares-jobs.h"

G_BEGIN_DECLS

#define LARES_EVENT_ERROR (lares_event_error_quark ())
GQuark lares_event_error_quark (void);

typedef enum
{
  LARES_EVENT_ERROR_INVALID, /* a field or file that cannot be used; the message says why */
} LaresEventError;

#define LARES_EVENT_TITLE_MAX       1000  /* characters */
#define LARES_EVENT_LOCATION_MAX    1000  /* characters */
#define LARES_EVENT_DESCRIPTION_MAX 20000 /* characters */
#define LARES_EVENT_UID_MAX         255   /* bytes */
#define LARES_EVENT_EXDATES_MAX     1000
#define LARES_EVENT_OVERRIDES_MAX   1000
#define LARES_EVENT_REMIND_MAX      40320 /* minutes: four weeks */
#define LARES_EVENTS_EXPAND_MAX     10000 /* occurrences in one answer */
#define LARES_EVENTS_RANGE_MAX_MS   (G_GINT64_CONSTANT (367) * 86400 * 1000)
#define LARES_EVENT_MIN_MS          G_GINT64_CONSTANT (0)             /* 1970-01-01 */
#define LARES_EVENT_MAX_MS          G_GINT64_CONSTANT (7258118400000) /* 2200-01-01 */

typedef struct
{
  int64_t recurrence_id;    /* the original start it replaces */
  int64_t start_at, end_at; /* its own times (same encoding) */
  char *title;              /* owned, nullable: the series' own */
  char *location;           /* owned, nullable */
  char *description;        /* owned, nullable */
} LaresEventOverride;

typedef struct
{
  int64_t id; /* 0 until stored */
  int64_t user_id;
  char *uid;   /* owned; "<random>@lares" when made here */
  char *title; /* owned, non-empty */
  int64_t start_at, end_at;
  char *tzid; /* owned: IANA zone name or "UTC" */
  gboolean all_day;
  char *location;       /* owned, "" when none */
  char *description;    /* owned, "" when none */
  char *rrule;          /* owned, nullable: without "RRULE:" */
  int remind_minutes;   /* -1: no reminder */
  GArray *exdates;      /* int64_t recurrence ids, sorted, unique */
  GPtrArray *overrides; /* LaresEventOverride* (owned), by recurrence id */
  int64_t created_at, updated_at;
} LaresEvent;

LaresEvent *lares_event_new (void);
void lares_event_free (LaresEvent *ev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresEvent, lares_event_free)
LaresEvent *lares_event_copy (const LaresEvent *ev);
void lares_event_override_free (LaresEventOverride *o);
/* The override of @recurrence_id, or NULL.  (transfer none) */
LaresEventOverride *lares_event_find_override (const LaresEvent *ev, int64_t recurrence_id);
gboolean lares_event_has_exdate (const LaresEvent *ev, int64_t recurrence_id);
void lares_event_add_exdate (LaresEvent *ev, int64_t recurrence_id);
void lares_event_remove_exdate (LaresEvent *ev, int64_t recurrence_id);
/* Insert or replace (by recurrence id); takes @o. */
void lares_event_put_override (LaresEvent *ev, LaresEventOverride *o);
void lares_event_remove_override (LaresEvent *ev, int64_t recurrence_id);

/* A new UID: 128 random bits in hex, "@lares".  (transfer full) */
char *lares_event_make_uid (void);

/* Check the invariants above (title, times in range and in order, zone,
 * rule, sizes).  The message names the field. */
gboolean lares_event_check (const LaresEvent *ev, GError **error);

/* The instant an occurrence time of @ev begins: itself for timed events,
 * 00:00 of that date in the event's zone for all-day ones. */
int64_t lares_event_instant (const LaresEvent *ev, int64_t at);

/* Text forms.  A time of a timed event is "2026-11-21T08:00:00Z"; of an
 * all-day event "2026-11-21".  (transfer full) */
char *lares_event_format_time (const LaresEvent *ev, int64_t at);
/* Read a time as a client sends it: ISO 8601 with a zone offset or "Z";
 * without one, a wall time in @tz; or a date alone (2026-11-21), which
 * @out_is_date reports and which is encoded as its midnight UTC.  FALSE
 * for anything else or out of range. */
gboolean lares_event_parse_time (const char *text, GTimeZone *tz, int64_t *out,
                                 gboolean *out_is_date);
/* The zone to use for a user without one given: @name if lares-recur
 * knows it, else the daemon's own zone if it has an IANA name, else UTC.
 * (transfer full) */
char *lares_event_default_tzid (const char *name);

/* Apply the members of @o, the REST shape: title, start, end, duration
 * (seconds), all_day, tz, location, description, rrule, exdates,
 * remind_minutes, uid (on create only).  null clears rrule,
 * remind_minutes, location and description.  @creating requires title and
 * start.  Unknown members fail.  @ev is checked (lares_event_check) and
 * may be half-changed on failure. */
gboolean lares_event_apply_json (LaresEvent *ev, JsonObject *o, gboolean creating, GError **error);

/* One occurrence of an event, as expansion yields it. */
typedef struct
{
  const LaresEvent *event;                    /* borrowed */
  int64_t recurrence_id;                      /* original start; = start for a single event */
  int64_t start_at, end_at;                   /* this occurrence, in the event's encoding */
  int64_t start_ms, end_ms;                   /* the same as instants (sorting, ranges) */
  const char *title, *location, *description; /* borrowed */
  gboolean recurring;
  gboolean overridden;
} LaresOccurrence;

/* Append to @out (LaresOccurrence*, owned by @out) the occurrences of @ev
 * that overlap [@from_ms, @to_ms) (an occurrence of zero length counts
 * when it starts in the range), at most @max - out->len of them.  Returns
 * FALSE when it stopped at @max (the answer is cut). */
gboolean lares_event_expand (const LaresEvent *ev, int64_t from_ms, int64_t to_ms, GPtrArray *out,
                             unsigned max);
/* The original starts of @ev's series, looking for @recurrence_id: TRUE
 * when it is one (not counting EXDATEs). */
gboolean lares_event_is_occurrence (const LaresEvent *ev, int64_t recurrence_id);
/* The first occurrence (not removed) starting after @after_ms as an
 * instant; 0 when none.  OUT @occ (nullable) gets it. */
int64_t lares_event_next_start (const LaresEvent *ev, int64_t after_ms, LaresOccurrence *occ);
/* The bounds of every occurrence, as instants: span_end -1 when the rule
 * has no end (or one too far away to compute). */
void lares_event_span (const LaresEvent *ev, int64_t *span_start, int64_t *span_end);

/* JSON.  The event object (with "overrides" when @with_overrides) and an
 * occurrence object, as docs/internals/calendar.md shows.  (transfer full) */
JsonNode *lares_event_to_json (const LaresEvent *ev, gboolean with_overrides);
JsonNode *lares_occurrence_to_json (const LaresOccurrence *occ);
/* The same object as text, appended to @out: a long list is written
 * without building a tree of nodes first. */
void lares_occurrence_append_json (GString *out, const LaresOccurrence *occ);

/* ---- store ---------------------------------------------------------------------------------- */

/* Insert @ev (checked; uid made when empty) and set ev->id, created_at,
 * updated_at (@now_ms unless set).  An event with the same uid is
 * CONSTRAINT.  @job: OUT (transfer full) (nullable) the event's reminder
 * job as it now is, or NULL when it has none. */
gboolean lares_events_insert (sqlite3 *db, LaresEvent *ev, int64_t now_ms, LaresJob **job,
                              GError **error);
/* Write every field of the stored event ev->id, its exdates and overrides
 * (updated_at = @now_ms unless @keep_updated).  @job as for insert; a
 * reminder that ends comes back cancelled. */
gboolean lares_events_update (sqlite3 *db, LaresEvent *ev, int64_t now_ms, gboolean keep_updated,
                              LaresJob **job, GError **error);
/* (transfer full) or NULL with NOT_FOUND. */
LaresEvent *lares_events_get (sqlite3 *db, int64_t user_id, int64_t id, GError **error);
LaresEvent *lares_events_get_by_uid (sqlite3 *db, int64_t user_id, const char *uid, GError **error);
/* Delete one event.  @job_ids: (nullable) gets the ids of its pending
 * reminder jobs, which went with it. */
gboolean lares_events_delete (sqlite3 *db, int64_t user_id, int64_t id, GArray *job_ids,
                              GError **error);

/* Which events a bulk delete takes: the given ids, or those matching a
 * title (case-insensitive substring) and/or having an occurrence in a
 * range.  Every condition given must hold; at least one is required. */
typedef struct
{
  const int64_t *ids; /* nullable */
  unsigned n_ids;
  const char *title_contains; /* nullable */
  int64_t from_ms, to_ms;     /* 0, 0: any time */
} LaresEventFilter;

/* The events @filter selects, in start order.  (transfer full) GPtrArray
 * of LaresEvent. */
GPtrArray *lares_events_select (sqlite3 *db, int64_t user_id, const LaresEventFilter *filter,
                                GError **error);
/* Delete every event @filter selects, in the caller's transaction (all or
 * nothing).  OUT @deleted: their ids; @job_ids as for delete.  For the
 * high-risk calendar.delete_many tool. */
gboolean lares_events_delete_many (sqlite3 *db, int64_t user_id, const LaresEventFilter *filter,
                                   GArray *deleted, GArray *job_ids, GError **error);

/* Every event of the user, by id.  (transfer full) GPtrArray of LaresEvent */
GPtrArray *lares_events_list (sqlite3 *db, int64_t user_id, GError **error);
/* The occurrences overlapping [@from_ms, @to_ms), sorted by start, then
 * event id.  OUT @events (transfer full): the events they borrow from;
 * @truncated: more occurrences than LARES_EVENTS_EXPAND_MAX.  (transfer
 * full) GPtrArray of LaresOccurrence */
GPtrArray *lares_events_between (sqlite3 *db, int64_t user_id, int64_t from_ms, int64_t to_ms,
                                 GPtrArray **events, gboolean *truncated, GError **error);

/* The reminder time after @after_ms of event @event_id (its next
 * occurrence's start minus remind_minutes), 0 when none; -1 on error.
 * The scheduler calls this when an event reminder fires. */
int64_t lares_events_next_reminder (sqlite3 *db, int64_t user_id, int64_t event_id,
                                    int64_t after_ms, GError **error);

/* Bring the event's pending reminder job in line with the event, as of
 * @now_ms.  @job: OUT (transfer full) (nullable). */
gboolean lares_events_sync_reminder (sqlite3 *db, const LaresEvent *ev, int64_t now_ms,
                                     LaresJob **job, GError **error);

/* Insert or replace (by uid) each of @events, and attach @orphans (events
 * holding only overrides, for series already stored).  The caller's
 * transaction makes it all or nothing.  OUT @added, @updated; @skipped
 * (JSON array, nullable) gets {uid, reason} of orphans with no series;
 * @jobs (nullable) the reminder jobs touched (LaresJob*). */
gboolean lares_events_import (sqlite3 *db, int64_t user_id, GPtrArray *events, GPtrArray *orphans,
                              int64_t now_ms, unsigned *added, unsigned *updated,
                              JsonArray *skipped, GPtrArray *jobs, GError **error);

/* The calendar feed key: store the digest of a new key (replacing the old
 * one), and find whose it is (NOT_FOUND when nobody's). */
gboolean lares_calendar_feed_set (sqlite3 *db, int64_t user_id,
                                  const uint8_t digest[LARES_DIGEST_LEN], int64_t now_ms,
                                  GError **error);
gboolean lares_calendar_feed_lookup (sqlite3 *db, const uint8_t digest[LARES_DIGEST_LEN],
                                     int64_t *user_id, GError **error);

G_END_DECLS
