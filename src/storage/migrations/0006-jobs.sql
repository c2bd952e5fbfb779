-- 0006: scheduled jobs — reminders, timers and alarms (docs/internals/scheduler.md).
--
-- One row per job.  A pending job fires at due_at; a one-off job then
-- becomes 'fired', a recurring one stays 'pending' with due_at moved to its
-- next occurrence.  Snoozing sets a new due_at on a pending or fired job;
-- 'dismissed' and 'cancelled' are final.  The scheduler keeps only
-- (id, user_id, due_at) of pending jobs in memory; this table is the truth.
--
-- Recurring jobs store the RRULE with DTSTART as a local wall time
-- (YYYYMMDDTHHMMSS) and the IANA zone it belongs to, so an occurrence at
-- 09:00 stays at 09:00 local across DST changes.

CREATE TABLE jobs (
  id            INTEGER PRIMARY KEY,
  user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind          TEXT    NOT NULL CHECK (kind IN ('reminder', 'timer', 'alarm')),
  status        TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'fired', 'dismissed', 'cancelled')),
  text          TEXT    NOT NULL DEFAULT '',  -- reminder text, or timer/alarm label
  due_at        INTEGER NOT NULL,             -- Unix ms: next firing (the last one once fired)
  rrule         TEXT,                         -- RFC 5545 RRULE value, NULL for one-off jobs
  dtstart       TEXT,                         -- local wall time of the first occurrence
  tzid          TEXT,                         -- IANA zone of dtstart
  seconds       INTEGER NOT NULL DEFAULT 0,   -- timer length
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  fired_at      INTEGER,                      -- when it last fired
  fired_due     INTEGER,                      -- which due time that firing was for
  fire_count    INTEGER NOT NULL DEFAULT 0,
  delivered_at  INTEGER,                      -- the last firing reached a connection
  snoozes       INTEGER NOT NULL DEFAULT 0,
  CHECK ((rrule IS NULL) = (dtstart IS NULL) AND (rrule IS NULL) = (tzid IS NULL))
);
-- The start-up scan and the scheduler's index: pending jobs by due time.
CREATE INDEX jobs_pending ON jobs (due_at) WHERE status = 'pending';
-- Listing a user's jobs, by kind and status, soonest first.
CREATE INDEX jobs_by_user ON jobs (user_id, kind, status, due_at);
-- Re-sending firings nobody heard when the user connects again.
CREATE INDEX jobs_undelivered ON jobs (user_id, fired_at)
  WHERE delivered_at IS NULL AND fired_at IS NOT NULL;
