-- 0003: conversations and everything a turn leaves behind.
--
-- A turn is one user message and the work done to answer it.  It is
-- inserted as 'running' with the user's message before understanding starts,
-- and finished (done, error, cancelled) with the assistant's message in one
-- transaction, so after a crash a turn is either finished or still
-- 'running'; start-up marks those 'interrupted'.  Tool calls and their
-- results are stored as they happen, attached to the turn.

CREATE TABLE conversations (
  id          INTEGER PRIMARY KEY,
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title       TEXT    NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX conversations_by_user ON conversations (user_id, updated_at);

CREATE TABLE turns (
  id              INTEGER PRIMARY KEY,
  conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  channel         TEXT    NOT NULL,   -- ws, rest, openai, cli
  status          TEXT    NOT NULL
                  CHECK (status IN ('running', 'done', 'error', 'cancelled', 'interrupted')),
  path            TEXT,               -- intent, clarify, llm, fallback, budget, command
  why             TEXT,
  error_code      TEXT,
  timings         TEXT,               -- JSON object
  started_at      INTEGER NOT NULL,
  finished_at     INTEGER
);
CREATE INDEX turns_by_conversation ON turns (conversation_id, id);
CREATE INDEX turns_running ON turns (status) WHERE status = 'running';

CREATE TABLE messages (
  id              INTEGER PRIMARY KEY,
  conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  turn_id         INTEGER NOT NULL REFERENCES turns (id) ON DELETE CASCADE,
  user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role            TEXT    NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
  content         TEXT    NOT NULL DEFAULT '',
  tool_calls      TEXT,               -- assistant: JSON array of {id, name, arguments}
  tool_call_id    TEXT,               -- tool: the call this message answers
  tool_name       TEXT,
  created_at      INTEGER NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
-- Context selection reads the messages of chosen turns, and deleting a turn
-- cascades here by turn_id: without it each deleted turn scans the table.
CREATE INDEX messages_by_turn ON messages (turn_id, id);

-- Spend survives clearing the history: turn_id is only a back reference.
CREATE TABLE llm_calls (
  id                INTEGER PRIMARY KEY,
  user_id           INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  turn_id           INTEGER REFERENCES turns (id) ON DELETE SET NULL,
  provider          TEXT    NOT NULL,
  model             TEXT    NOT NULL,
  status            TEXT    NOT NULL,   -- ok, error, cancelled, timeout
  prompt_tokens     INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  estimated         INTEGER NOT NULL DEFAULT 0,  -- 1: counted by lares, not the server
  cost_micros       INTEGER NOT NULL DEFAULT 0,  -- micro-USD
  bytes_sent        INTEGER NOT NULL DEFAULT 0,
  duration_ms       INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL
);
CREATE INDEX llm_calls_by_user ON llm_calls (user_id, created_at);
-- ON DELETE SET NULL looks calls up by turn_id for every deleted turn.
CREATE INDEX llm_calls_by_turn ON llm_calls (turn_id);

-- What the user asked lares to remember; all of it goes into LLM context.
CREATE TABLE facts (
  id          INTEGER PRIMARY KEY,
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  text        TEXT    NOT NULL CHECK (length(text) BETWEEN 1 AND 500),
  created_at  INTEGER NOT NULL,
  UNIQUE (user_id, text)
);

-- Small per-user preferences (the persona mode, …).
CREATE TABLE user_settings (
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  key         TEXT    NOT NULL,
  value       TEXT    NOT NULL,
  PRIMARY KEY (user_id, key)
) WITHOUT ROWID;
