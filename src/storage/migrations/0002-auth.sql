-- 0002: credentials, sessions, API tokens and the audit log.
-- Secrets are never stored: passwords as Argon2id strings, session ids and
-- API tokens as SHA-256 digests of their 256 random bits.

ALTER TABLE users ADD COLUMN password_hash TEXT;         -- NULL: cannot log in
ALTER TABLE users ADD COLUMN password_changed_at INTEGER NOT NULL DEFAULT 0;

CREATE TABLE sessions (
  id            INTEGER PRIMARY KEY,
  user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  digest        BLOB    NOT NULL UNIQUE,
  created_at    INTEGER NOT NULL,
  last_seen_at  INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL                         -- absolute expiry
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE tokens (
  id            INTEGER PRIMARY KEY,
  user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name          TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  digest        BLOB    NOT NULL UNIQUE,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER,                                 -- NULL: no expiry
  revoked_at    INTEGER,
  last_used_at  INTEGER
);
CREATE INDEX tokens_by_user ON tokens (user_id, id);

-- Append-only: security events (and, later, tool executions).
CREATE TABLE audit (
  id       INTEGER PRIMARY KEY,
  at       INTEGER NOT NULL,
  user_id  INTEGER,             -- the acting or affected user, if known
  event    TEXT    NOT NULL,    -- login, login_failed, lockout, logout, ...
  ip       TEXT,
  detail   TEXT    NOT NULL DEFAULT '{}'   -- JSON; never a secret
);
CREATE INDEX audit_by_time ON audit (at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE (ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE (ABORT, 'audit is append-only'); END;
