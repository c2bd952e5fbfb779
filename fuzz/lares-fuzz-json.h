/* lares-fuzz-json.h — checks on the JSON trees the gateway parsers return. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Abort, naming @what, unless every string in the tree under @node (member
 * names included) is valid UTF-8.  lares-http-parse.c validates the raw
 * text so that handlers, SQLite and WebSocket text frames only ever see
 * UTF-8; this checks the promise holds after unescaping too. */
void lares_fuzz_assert_json_utf8 (JsonNode *node, const char *what);

G_END_DECLS
