-- 0005: tasks, in Taskwarrior's model (docs/internals/tasks.md).
--
-- Times are Unix milliseconds (UTC), NULL when unset.  uuid is the task's
-- identity across Taskwarrior exports and imports (unique per user).  tags,
-- annotations and depends are JSON arrays; extra is a JSON object holding
-- the members of an imported task lares does not model (recur, UDAs, ...),
-- given back on export.  'ended' is Taskwarrior's "end".

CREATE TABLE tasks (
  id           INTEGER PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  uuid         TEXT    NOT NULL,
  description  TEXT    NOT NULL CHECK (length(description) > 0),
  project      TEXT    NOT NULL DEFAULT '',
  priority     TEXT    NOT NULL DEFAULT '' CHECK (priority IN ('', 'H', 'M', 'L')),
  status       TEXT    NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'completed', 'deleted', 'waiting',
                                         'recurring')),
  entry        INTEGER NOT NULL,
  modified     INTEGER NOT NULL,
  ended        INTEGER,
  start        INTEGER,
  due          INTEGER,
  scheduled    INTEGER,
  wait         INTEGER,
  until        INTEGER,
  tags         TEXT    NOT NULL DEFAULT '[]',
  annotations  TEXT    NOT NULL DEFAULT '[]',
  depends      TEXT    NOT NULL DEFAULT '[]',
  extra        TEXT
);

CREATE UNIQUE INDEX tasks_by_uuid ON tasks (user_id, uuid);
CREATE INDEX tasks_by_status ON tasks (user_id, status, due);
