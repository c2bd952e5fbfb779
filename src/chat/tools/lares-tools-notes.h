/* lares-tools-notes.h — the note tools: note.add and note.search.
 *
 * Both are low risk (the user's own data).  note.add stores a note with
 * optional title and tags; note.search runs the same sanitized full-text
 * search as GET /api/v1/search and answers with the best few hits.
 */
#pragma once

#include "lares-tools.h"

G_BEGIN_DECLS

/* Register note.add and note.search in @reg. */
void lares_tools_notes_register (LaresToolRegistry *reg);

G_END_DECLS
