/* lares-server.h — the HTTP and WebSocket gateway.
 *
 * One SoupServer on the main context serves the JSON API, /healthz,
 * /readyz, /metrics and /ws.  Every response carries X-Request-Id and every
 * failure is the JSON error model {"error":{"code","message"}} (SPEC §3).
 * Store work runs on the store's threads; handlers pause their message
 * meanwhile, so the main loop never waits on SQLite.
 *
 * Shutdown (lares_server_shutdown_async): stop accepting, tell keep-alive
 * clients to close, close WebSockets with 1001, wait (bounded by
 * server.shutdown_timeout) for in-flight requests to finish.
 */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

#include "lares-bus.h"
#include "lares-config.h"
#include "lares-store.h"

G_BEGIN_DECLS

typedef struct _LaresServer LaresServer;

/* @cfg, @store and @bus are borrowed and must outlive the server.  Fails
 * when the allowlist or TLS files cannot be used. */
LaresServer *lares_server_new (const LaresConfig *cfg, LaresStore *store, LaresBus *bus,
                               GError **error);
void lares_server_free (LaresServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresServer, lares_server_free)

/* Bind server.listen:server.port and start accepting on the thread-default
 * main context. */
gboolean lares_server_listen (LaresServer *server, GError **error);

/* The bound port (useful with server.port=0). */
uint16_t lares_server_get_port (LaresServer *server);

void lares_server_shutdown_async (LaresServer *server, GAsyncReadyCallback callback,
                                  gpointer user_data);
/* FALSE when the timeout cut in-flight work short. */
gboolean lares_server_shutdown_finish (LaresServer *server, GAsyncResult *result, GError **error);

G_END_DECLS
