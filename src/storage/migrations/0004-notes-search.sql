-- 0004: note tags and full-text search over notes.
--
-- notes.tags is the one stored copy of a note's tags: a JSON array of
-- normalized tags (lower case, letters, digits, '-' and '_'; sorted, no
-- duplicates), written only by lares-notes.c.  note_tags is an index of it
-- that triggers maintain, so "notes tagged X" is a range scan on
-- (user_id, tag, note_id) and can never disagree with the note itself.
--
-- notes_fts is an FTS5 external-content table over notes (title, body,
-- tags): it stores only the index, reads text from notes, and the triggers
-- below keep it in step inside the same transaction as every write.  FTS5
-- has no user_id: searches join back to notes and filter by it there.

ALTER TABLE notes ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'
  CHECK (json_valid (tags) AND json_type (tags) = 'array');

CREATE TABLE note_tags (
  user_id  INTEGER NOT NULL,
  tag      TEXT    NOT NULL,
  note_id  INTEGER NOT NULL,
  PRIMARY KEY (user_id, tag, note_id)
) WITHOUT ROWID;

CREATE TRIGGER notes_tags_ai AFTER INSERT ON notes BEGIN
  INSERT INTO note_tags (user_id, tag, note_id)
    SELECT new.user_id, value, new.id FROM json_each (new.tags);
END;

-- Also fires for the cascade from a deleted user.
CREATE TRIGGER notes_tags_ad AFTER DELETE ON notes BEGIN
  DELETE FROM note_tags WHERE user_id = old.user_id AND note_id = old.id
    AND tag IN (SELECT value FROM json_each (old.tags));
END;

CREATE TRIGGER notes_tags_au AFTER UPDATE OF tags ON notes
  WHEN old.tags IS NOT new.tags BEGIN
  DELETE FROM note_tags WHERE user_id = old.user_id AND note_id = old.id
    AND tag IN (SELECT value FROM json_each (old.tags));
  INSERT INTO note_tags (user_id, tag, note_id)
    SELECT new.user_id, value, new.id FROM json_each (new.tags);
END;

-- unicode61 with diacritics removed: "cafe" finds "café".
CREATE VIRTUAL TABLE notes_fts USING fts5 (
  title, body, tags,
  content = 'notes', content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2'
);

-- ORDER BY rank: a hit in the title counts ten times one in the body, a
-- tag five times.
INSERT INTO notes_fts (notes_fts, rank) VALUES ('rank', 'bm25(10.0, 1.0, 5.0)');

CREATE TRIGGER notes_fts_ai AFTER INSERT ON notes BEGIN
  INSERT INTO notes_fts (rowid, title, body, tags)
    VALUES (new.id, new.title, new.body, new.tags);
END;

CREATE TRIGGER notes_fts_ad AFTER DELETE ON notes BEGIN
  INSERT INTO notes_fts (notes_fts, rowid, title, body, tags)
    VALUES ('delete', old.id, old.title, old.body, old.tags);
END;

CREATE TRIGGER notes_fts_au AFTER UPDATE OF title, body, tags ON notes
  WHEN old.title IS NOT new.title OR old.body IS NOT new.body OR old.tags IS NOT new.tags BEGIN
  INSERT INTO notes_fts (notes_fts, rowid, title, body, tags)
    VALUES ('delete', old.id, old.title, old.body, old.tags);
  INSERT INTO notes_fts (rowid, title, body, tags)
    VALUES (new.id, new.title, new.body, new.tags);
END;

-- Notes written before this migration.
INSERT INTO notes_fts (notes_fts) VALUES ('rebuild');
