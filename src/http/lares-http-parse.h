/* lares-http-parse.h — parsers of outside input used by the gateway.
 *
 * Pure functions with no server state, so unit tests and fuzz targets call
 * them directly.  Each takes a pointer and a length (the input need not be
 * NUL-terminated) and never reads past it.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define LARES_JSON_MAX_DEPTH 64

/* Parse a request body that must be one JSON object.  On failure returns
 * NULL, sets *@code to a stable error code ("invalid_json", "invalid_utf8",
 * "payload_too_large") and *@message to a sentence for the client
 * (transfer full).  (transfer full) */
JsonNode *lares_json_body_parse (const char *data, size_t len, uint64_t max_len, const char **code,
                                 char **message);

/* The same for a body that may be any JSON value (an array, for
 * imports).  (transfer full) */
JsonNode *lares_json_value_parse (const char *data, size_t len, uint64_t max_len, const char **code,
                                  char **message);

/* One linear pass over JSON text that refuses, with a reason in *@why,
 * what json-glib would mishandle: nesting deeper than @max_depth, \u
 * escapes that are malformed, lone surrogates or \u0000, and a second
 * top-level value.  Other syntax errors are left to the parser. */
gboolean lares_json_prescan (const char *data, size_t len, unsigned max_depth, const char **why);

/* The general path of the two parsers above: check UTF-8, run
 * lares_json_prescan, then json-glib's JsonParser (immutable).  Any JSON
 * value; NULL with *@code ("invalid_utf8", "invalid_json") and *@message
 * (transfer full) on failure.  (transfer full) */
JsonNode *lares_json_parse_general (const char *data, size_t len, const char **code,
                                    char **message);

/* The 4 hex digits of a JSON \u escape at @p (before @end) as a number, or -1. */
int lares_json_hex4 (const char *p, const char *end);

/* A strict RFC 8259 reader for the common case (lares-http-json.c): the
 * tree lares_json_parse_general would return, sealed, or NULL for anything
 * it does not take — every invalid input, and valid ones it leaves to
 * json-glib (integers over 18 digits, numbers out of double range, a
 * repeated member name, nesting deeper than LARES_JSON_MAX_DEPTH).  It
 * never accepts what lares_json_parse_general refuses.  (transfer full) */
JsonNode *lares_json_parse_fast (const char *data, size_t len);

/* Parse one WebSocket text message: a JSON object with a string "type".
 * Returns the object's root node (transfer full) and *@type points into it;
 * on failure NULL with *@code ("invalid_json", "invalid_message"). */
JsonNode *lares_ws_message_parse (const char *data, size_t len, const char **type,
                                  const char **code);

/* Room for an address in text, IPv6 included (INET6_ADDRSTRLEN is 46). */
#define LARES_ADDRESS_TEXT_MAX 48

/* Write @addr into @out as g_inet_address_to_string() would (that is,
 * inet_ntop), without allocating: the daemon does it for every request. */
void lares_inet_address_format (GInetAddress *addr, char out[LARES_ADDRESS_TEXT_MAX]);

#define LARES_ROUTE_NAME_MAX 64

/* Match @path against a route @pattern where "{id}" takes a positive
 * decimal int64 and "{name}" a segment of 1 to LARES_ROUTE_NAME_MAX
 * letters, digits, '.', '_' or '-' (a tool name).  Returns FALSE on a
 * shape mismatch (a bad name is one); *@id_ok is FALSE when the shape
 * matched but the id segment was not a valid id. */
gboolean lares_route_match (const char *pattern, const char *path, int64_t *id, gboolean *id_ok);

/* Read string members of a request object: every member must be in
 * @allowed, each of @required must be present and non-null, and each
 * present one must be a string.  @out[i] gets allowed[i]'s value (or NULL);
 * the strings point into @obj.  On failure returns FALSE and *@why says
 * what is wrong (transfer full). */
gboolean lares_json_get_strings (JsonObject *obj, const char *const *allowed,
                                 const char *const *required, const char **out, char **why);

G_END_DECLS
