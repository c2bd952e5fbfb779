/* lares-http-auth.c — who is asking, and may they.
 *
 * DESIGN
 * - Credentials are a bearer token (Authorization) or the session cookie.
 *   Their SHA-256 digest is looked up with one indexed point query on a
 *   read-only connection owned by the main thread.  In WAL mode a reader
 *   never waits for the writer, and the connection has no busy timeout, so
 *   the lookup cannot stall the loop; doing it inline also lets the
 *   WebSocket handshake (which libsoup completes synchronously) be
 *   authenticated like any request.  Whatever the store says is current:
 *   a revoked token or ended session fails on its next request.
 * - Sessions end after auth.session_idle without use; last_seen_at is
 *   written at most once a minute per session, off the main loop.
 * - Cookie requests with an unsafe method must come from our own origin
 *   (Fetch Metadata, else Origin), PROTOCOLS.md §6.  Bearer requests cannot
 *   be forged cross-site, so they skip that check.
 */
#include "config.h"

#include "lares-events.h"
#include "lares-http-private.h"

#define TOUCH_EVERY_MS (60 * 1000)

int64_t
lares_now_ms (void)
{
  return g_get_real_time () / 1000;
}

typedef struct
{
  int64_t user_id;
  char *event;
  char *ip;
  char *detail;
} AuditJob;

static gboolean
audit_run (sqlite3 *db, gpointer data, GError **error)
{
  AuditJob *job = data;

  return lares_audit_append (db, lares_now_ms (), job->user_id, job->event, job->ip, job->detail,
                             error);
}

static void
audit_done (GObject *source, GAsyncResult *result, gpointer data)
{
  AuditJob *job = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (NULL, result, &error))
    g_warning ("audit: cannot record '%s': %s", job->event, error->message);
  g_free (job->event);
  g_free (job->ip);
  g_free (job->detail);
  g_free (job);
}

void
lares_server_audit (LaresServer *server, int64_t user_id, const char *event, const char *ip,
                    const char *detail)
{
  AuditJob *job = g_new0 (AuditJob, 1);

  job->user_id = user_id;
  job->event = g_strdup (event);
  job->ip = g_strdup (ip);
  job->detail = g_strdup (detail);
  lares_store_write_async (server->store, audit_run, job, NULL, audit_done, job);
}

typedef struct
{
  LaresCredentialKind kind;
  int64_t id;
} TouchJob;

static gboolean
touch_run (sqlite3 *db, gpointer data, GError **error)
{
  TouchJob *job = data;
  g_autoptr (sqlite3_stmt) stmt = NULL;
  int rc;

  if (job->kind == LARES_CREDENTIAL_SESSION)
    return lares_sessions_touch (db, job->id, lares_now_ms (), error);
  stmt = lares_sql_cached (db, "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, job->id);
  sqlite3_bind_int64 (stmt, 2, lares_now_ms ());
  rc = sqlite3_step (stmt);
  return rc == SQLITE_DONE || lares_sql_throw (db, rc, error);
}

static void
touch_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (NULL, result, &error))
    g_debug ("could not record credential use: %s", error->message);
  g_free (data);
}

static gboolean
is_safe_method (const char *method)
{
  return g_str_equal (method, "GET") || g_str_equal (method, "HEAD") ||
         g_str_equal (method, "OPTIONS");
}

/* Same origin per Fetch Metadata, else per Origin; absent both, the client
 * is not a browser and cross-site forgery does not apply. */
gboolean
lares_request_same_origin (LaresRequest *req)
{
  SoupMessageHeaders *in = soup_server_message_get_request_headers (req->msg);
  const char *site = soup_message_headers_get_one (in, "Sec-Fetch-Site");
  const char *origin = soup_message_headers_get_one (in, "Origin");
  const char *host = soup_message_headers_get_one (in, "Host");
  g_autofree char *expected = NULL;

  if (site != NULL)
    return g_str_equal (site, "same-origin") || g_str_equal (site, "none");
  if (origin == NULL)
    return TRUE;
  expected = g_strconcat (req->server->tls ? "https://" : "http://", host ? host : "", NULL);
  return g_ascii_strcasecmp (origin, expected) == 0;
}

/* Check the request's credentials.  With @quiet, a request without valid
 * credentials is not answered (FALSE, req->user_id stays 0); store errors
 * are answered either way. */
static gboolean
authenticate (LaresRequest *req, gboolean quiet)
{
  LaresServer *server = req->server;
  SoupMessageHeaders *in = soup_server_message_get_request_headers (req->msg);
  const char *authz = soup_message_headers_get_one (in, "Authorization");
  g_autofree char *cookie = NULL;
  g_autoptr (GError) error = NULL;
  uint8_t digest[LARES_DIGEST_LEN];
  LaresCredentialKind kind;
  int64_t now = lares_now_ms ();

  if (authz != NULL)
    {
      size_t len = 0;
      const char *token = lares_auth_parse_bearer (authz, &len);
      if (token == NULL)
        {
          if (!quiet)
            lares_request_respond_error (req, 401, "unauthorized",
                                         "the Authorization header must be 'Bearer <token>'");
          return FALSE;
        }
      lares_secret_digest (token, len, digest);
      kind = LARES_CREDENTIAL_TOKEN;
    }
  else if ((cookie = lares_auth_cookie_value (soup_message_headers_get_one (in, "Cookie"),
                                              LARES_SESSION_COOKIE)) != NULL)
    {
      lares_secret_digest (cookie, strlen (cookie), digest);
      kind = LARES_CREDENTIAL_SESSION;
    }
  else
    {
      if (!quiet)
        lares_request_respond_error (req, 401, "unauthorized",
                                     "log in, or send 'Authorization: Bearer <token>'");
      return FALSE;
    }

  if (!lares_credentials_lookup (server->auth_db, kind, digest, now,
                                 (int64_t)server->cfg->session_idle_ms, &req->cred, &error))
    {
      if (g_error_matches (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND))
        {
          if (quiet)
            return FALSE;
          lares_request_respond_error (req, 401, "unauthorized",
                                       kind == LARES_CREDENTIAL_TOKEN
                                           ? "the token is not valid (revoked or expired?)"
                                           : "the session has ended; log in again");
        }
      else
        lares_request_respond_gerror (req, error);
      return FALSE;
    }
  if (kind == LARES_CREDENTIAL_SESSION &&
      !is_safe_method (soup_server_message_get_method (req->msg)) &&
      !lares_request_same_origin (req))
    {
      lares_request_respond_error (req, 403, "cross_site", "cross-site requests are refused");
      return FALSE;
    }
  req->user_id = req->cred.user_id;
  if (now - req->cred.last_seen_at > TOUCH_EVERY_MS)
    {
      TouchJob *job = g_new0 (TouchJob, 1);
      job->kind = kind;
      job->id = req->cred.id;
      lares_store_write_async (server->store, touch_run, job, NULL, touch_done, job);
    }
  return TRUE;
}

gboolean
lares_request_authenticate (LaresRequest *req)
{
  return authenticate (req, FALSE);
}

int
lares_request_identify (LaresRequest *req)
{
  if (authenticate (req, TRUE))
    return 1;
  return req->done ? -1 : 0;
}

static gboolean
from_loopback (LaresRequest *req)
{
  GSocketAddress *addr = soup_server_message_get_remote_address (req->msg);

  return addr != NULL && G_IS_INET_SOCKET_ADDRESS (addr) &&
         g_inet_address_get_is_loopback (
             g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (addr)));
}

/* A calendar feed key (routes/calendar.c): the digest of ?key= names the
 * user, and nothing else is needed.  A key that names nobody is 404, the
 * same answer as for a feed that does not exist, and says nothing more. */
static gboolean
check_feed_key (LaresRequest *req, const char *key)
{
  g_autoptr (GError) error = NULL;
  uint8_t digest[LARES_DIGEST_LEN];
  size_t len = strlen (key);
  int64_t user_id = 0;
  gboolean found = FALSE;

  if (len > 0 && len <= 256)
    {
      lares_secret_digest (key, len, digest);
      found = lares_calendar_feed_lookup (req->server->auth_db, digest, &user_id, &error);
    }
  if (!found)
    {
      if (error == NULL || g_error_matches (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND))
        lares_request_respond_error (req, 404, "not_found", "no such calendar feed");
      else
        lares_request_respond_gerror (req, error);
      return FALSE;
    }
  req->user_id = user_id;
  req->cred.user_id = user_id;
  g_strlcpy (req->cred.role, "user", sizeof req->cred.role);
  return TRUE;
}

gboolean
lares_request_check_access (LaresRequest *req)
{
  LaresRouteFlags flags = req->route->flags;
  const char *key;

  if (flags & LARES_ROUTE_PUBLIC)
    return TRUE;
  if ((flags & LARES_ROUTE_FEED_KEY) && (key = lares_request_query (req, "key")) != NULL)
    return check_feed_key (req, key);
  if ((flags & LARES_ROUTE_LOCAL_OR_ADMIN) && from_loopback (req))
    return TRUE;
  if (!lares_request_authenticate (req))
    return FALSE;
  if ((flags & (LARES_ROUTE_ADMIN | LARES_ROUTE_LOCAL_OR_ADMIN)) &&
      !g_str_equal (req->cred.role, "admin"))
    {
      lares_request_respond_error (req, 403, "forbidden", "only an admin may do this");
      return FALSE;
    }
  return TRUE;
}
