/* lares-fuzz-json.h — checks on the JSON trees the gateway parsers return. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Abort, naming @what, unless every string in the tree under @node (member
 * names included) is valid UTF-8.  lares-http-parse.c validates the raw
 * text so that handlers, SQLite and WebSocket text frames only ever see
 * UTF-8; this checks the promise holds after unescaping too. */
void lares_fuzz_assert_json_utf8 (JsonNode *node, const char *what);

/* Abort, naming @what, unless @a and @b are the same tree: node types,
 * value types and values (doubles bit for bit), member names and their
 * order, element order, parent links and sealing. */
void lares_fuzz_assert_json_same (JsonNode *a, JsonNode *b, const char *what);

/* The strict reader's promise on @data (lares-http-json.c): whenever
 * lares_json_parse_fast returns a tree, lares_json_parse_general accepts
 * the same text and returns the same tree.  Aborts otherwise.  Returns
 * whether the strict reader took the text. */
gboolean lares_fuzz_check_json_fast (const char *data, size_t len);

G_END_DECLS
