/* lares-tools-notes.h — the note tools: note.add, note.search and
 * note.delete_many.
 *
 * note.add and note.search are low risk (the user's own data).  note.add
 * stores a note with optional title and tags (and announces note_created
 * like the REST route); note.search runs the same sanitized full-text
 * search as GET /api/v1/search and answers with the best few hits.
 * note.delete_many (by ids or tag) is high risk: it runs only as an
 * approved plan (docs/internals/policy.md).
 */
#pragma once

#include "lares-tools.h"

G_BEGIN_DECLS

/* Register the note tools in @reg. */
void lares_tools_notes_register (LaresToolRegistry *reg);

G_END_DECLS
