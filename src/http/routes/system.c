/* routes/system.c — /healthz, /readyz, /metrics.
 *
 * /healthz answers from the main loop alone: the process is alive and
 * serving.  /readyz also asks the store for a read, through the reader pool,
 * so it turns 503 when the database cannot be reached.  /metrics is
 * Prometheus text, from loopback only until admin sessions exist.
 */
#include "config.h"

#include "lares-http-private.h"

static void
healthz (LaresRequest *req)
{
  lares_request_respond_text (req, 200, "application/json", g_strdup ("{\"status\":\"ok\"}"),
                              strlen ("{\"status\":\"ok\"}"));
}

static gboolean
ready_probe (sqlite3 *db, gpointer data, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (db, "SELECT count(*) FROM users", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    return lares_sql_throw (db, rc, error);
  return TRUE;
}

static void
ready_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LaresRequest *req = user_data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_read_finish (req->server->store, result, &error))
    {
      lares_log_req (G_LOG_LEVEL_WARNING, req->id, "not ready: %s", error->message);
      lares_request_respond_error (req, 503, "unavailable", "the store is not reachable");
      return;
    }
  if (req->server->draining)
    {
      lares_request_respond_error (req, 503, "unavailable", "the server is shutting down");
      return;
    }
  lares_request_respond_text (req, 200, "application/json", g_strdup ("{\"status\":\"ready\"}"),
                              strlen ("{\"status\":\"ready\"}"));
}

static void
readyz (LaresRequest *req)
{
  lares_store_read_async (req->server->store, ready_probe, NULL, NULL, ready_done, req);
}

static void
metrics (LaresRequest *req)
{
  char *text = lares_server_render_metrics (req->server);

  lares_request_respond_text (req, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                              strlen (text));
}

const LaresRoute lares_system_routes[] = {
  { "GET", "/healthz", healthz, LARES_ROUTE_PUBLIC, "healthz" },
  { "GET", "/readyz", readyz, LARES_ROUTE_PUBLIC, "readyz" },
  { "GET", "/metrics", metrics, LARES_ROUTE_LOCAL_OR_ADMIN, "metrics" },
  { NULL },
};
