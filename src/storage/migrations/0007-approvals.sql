-- 0007: approvals — high-risk tool calls waiting for the owner (docs/internals/policy.md).
--
-- A high-risk tool call by the owner is not run: it becomes a row here,
-- 'pending' until expires_at.  Approving moves it to 'approved' in the
-- write that claims it (so it can run only once), and the write after the
-- tool ran records 'executed' or 'failed' with the result or the error.
-- Rejecting makes it 'rejected'; the expiry timer (or a late decision)
-- 'expired'.  A row left 'approved' by a crash is marked 'failed' at
-- start-up: whether the tool ran is not known, and it never runs twice.
--
-- args is the validated arguments object as JSON; plan is what the tool
-- planned when asked (JSON object, e.g. the ids a bulk delete will
-- remove), so the action approved is the one that runs.  Times are Unix ms.

CREATE TABLE approvals (
  id               INTEGER PRIMARY KEY,
  user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  conversation_id  INTEGER REFERENCES conversations (id) ON DELETE SET NULL,
  tool             TEXT    NOT NULL,
  args             TEXT    NOT NULL DEFAULT '{}',
  plan             TEXT,
  summary          TEXT    NOT NULL,
  via              TEXT    NOT NULL,               -- who asked: intent, llm, rest
  status           TEXT    NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'approved', 'executed', 'failed', 'rejected',
                                     'expired')),
  created_at       INTEGER NOT NULL,
  expires_at       INTEGER NOT NULL,
  decided_at       INTEGER,
  decided_via      TEXT,                           -- rest, ws, cli, chat, expiry
  result           TEXT,                           -- JSON object, when executed
  error            TEXT                            -- when failed
);
-- A user's approvals, newest first, by status.
CREATE INDEX approvals_by_user ON approvals (user_id, status, id);
-- "yes" in a conversation decides its latest pending approval; deleting a
-- conversation finds its approvals (ON DELETE SET NULL) through it too.
CREATE INDEX approvals_by_conversation ON approvals (conversation_id, id);
-- The start-up scan of every pending approval for the expiry index.
CREATE INDEX approvals_pending ON approvals (expires_at) WHERE status = 'pending';
-- Start-up: rows a crash left running.
CREATE INDEX approvals_running ON approvals (id) WHERE status = 'approved';
