-- 0001: users and notes, the first user-owned table.
-- Times are Unix milliseconds (UTC).  Every user-owned table carries user_id
-- and is indexed by it first: every query filters by it.

CREATE TABLE users (
  id          INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL UNIQUE COLLATE NOCASE
                      CHECK (length(name) BETWEEN 1 AND 64),
  role        TEXT    NOT NULL CHECK (role IN ('admin', 'user')),
  created_at  INTEGER NOT NULL
);

CREATE TABLE notes (
  id          INTEGER PRIMARY KEY,
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title       TEXT    NOT NULL DEFAULT '',
  body        TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE INDEX notes_by_user ON notes (user_id, id);
