-- 0008: the calendar — events, their exceptions, the feed key, and the
-- reminders that fire before events (docs/internals/calendar.md).
--
-- An event's start and end are Unix ms.  A timed event keeps the instant
-- (UTC) and the IANA zone its wall time belongs to, so a weekly 09:00
-- stays 09:00 local across DST: occurrences are computed from the wall
-- time of start_at in tzid.  An all-day event keeps its dates as midnight
-- UTC of each date (end exclusive); tzid then only says where its days
-- begin.  span_start/span_end bound every occurrence (overrides
-- included) as real instants, for range queries; span_end is NULL when
-- the rule never ends.

CREATE TABLE events (
  id             INTEGER PRIMARY KEY,
  user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  uid            TEXT    NOT NULL CHECK (length(uid) BETWEEN 1 AND 255),
  title          TEXT    NOT NULL,
  start_at       INTEGER NOT NULL,
  end_at         INTEGER NOT NULL CHECK (end_at >= start_at),
  tzid           TEXT    NOT NULL,
  all_day        INTEGER NOT NULL DEFAULT 0 CHECK (all_day IN (0, 1)),
  location       TEXT    NOT NULL DEFAULT '',
  description    TEXT    NOT NULL DEFAULT '',
  rrule          TEXT,                          -- RFC 5545 RRULE value, NULL: one occurrence
  remind_minutes INTEGER CHECK (remind_minutes BETWEEN 0 AND 40320),
  span_start     INTEGER NOT NULL,
  span_end       INTEGER,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
-- Imports match by UID.
CREATE UNIQUE INDEX events_by_uid ON events (user_id, uid);
-- Range queries: events that may have an occurrence before the range ends.
CREATE INDEX events_by_span ON events (user_id, span_start);

-- Occurrences removed from a series (EXDATE), by their original start.
CREATE TABLE event_exdates (
  event_id       INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  recurrence_id  INTEGER NOT NULL,              -- original start, as start_at is stored
  PRIMARY KEY (event_id, recurrence_id)
) WITHOUT ROWID;

-- Occurrences changed on their own (a VEVENT with RECURRENCE-ID).  NULL
-- fields are the series' own.
CREATE TABLE event_overrides (
  event_id       INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  recurrence_id  INTEGER NOT NULL,
  start_at       INTEGER NOT NULL,
  end_at         INTEGER NOT NULL CHECK (end_at >= start_at),
  title          TEXT,
  location       TEXT,
  description    TEXT,
  PRIMARY KEY (event_id, recurrence_id)
) WITHOUT ROWID;

-- The secret of each user's subscription URL, as a SHA-256 digest like API
-- tokens (0002): the key itself is shown once.
CREATE TABLE calendar_feeds (
  user_id        INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  digest         BLOB    NOT NULL UNIQUE,
  created_at     INTEGER NOT NULL
);

-- A reminder before an event is a job whose next due time is the next
-- occurrence's start minus the event's remind_minutes; the scheduler asks
-- the calendar for the one after it when it fires.
ALTER TABLE jobs ADD COLUMN event_id INTEGER REFERENCES events (id) ON DELETE CASCADE;
CREATE INDEX jobs_by_event ON jobs (event_id) WHERE event_id IS NOT NULL;
