/* lares-users.h — the users table (the security layer adds credentials).
 *
 * Plain functions over a connection, for store threads.
 */
#pragma once

#include <sqlite3.h>
#include <stdint.h>

#include <glib.h>

G_BEGIN_DECLS

/* Make sure a first admin user exists.  @out_id: OUT its id; @created: OUT
 * TRUE when this call made it. */
gboolean lares_users_ensure_admin (sqlite3 *db, int64_t now_ms, int64_t *out_id, gboolean *created,
                                   GError **error);

G_END_DECLS
