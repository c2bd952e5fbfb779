/* lares-llm-pool.h — kept-alive plain-HTTP connections to one loopback LLM
 * server, for lares-llm.c's own transport (docs/internals/llm.md).
 *
 * A pool belongs to one LaresLlm and is reference counted: each request
 * using it holds a reference, so it outlives a LaresLlm freed with requests
 * in flight; lares_llm_pool_shutdown() (from lares_llm_free) closes the
 * idle connections and makes every later put close its connection instead.
 *
 * A connection is either in use (owned by exactly one request, which
 * drives its non-blocking fd itself) or idle in the pool.  Idle ones are
 * kept most recent first, at most `max_idle`, each closed after
 * LARES_LLM_POOL_IDLE_S seconds by one poller timer for the whole pool.
 * lares_llm_pool_take() checks that the connection it hands out is
 * neither closed by the server nor carrying unexpected bytes (recv
 * MSG_PEEK).  Main context only.
 */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

#include "lares-poller.h"

G_BEGIN_DECLS

#define LARES_LLM_POOL_IDLE_S 300

typedef struct _LaresLlmPool LaresLlmPool;

typedef struct
{
  GSocketConnection *stream; /* (owned) */
  GSocket *socket;           /* the stream's (unowned) */
  int fd;                    /* non-blocking (GSocket sets O_NONBLOCK) */
  gboolean reused;           /* handed out from the idle list */
  int64_t idle_since;        /* while idle: when it went idle (monotonic µs) */
} LaresLlmConn;

/* @host: a name or address literal (no brackets); @port: TCP port. */
LaresLlmPool *lares_llm_pool_new (const char *host, uint16_t port, unsigned max_idle);
LaresLlmPool *lares_llm_pool_ref (LaresLlmPool *pool);
void lares_llm_pool_unref (LaresLlmPool *pool);
/* Close the idle connections; later puts close theirs. */
void lares_llm_pool_shutdown (LaresLlmPool *pool);

/* The most recently idle connection still fit for a request, or NULL.
 * (transfer full) */
LaresLlmConn *lares_llm_pool_take (LaresLlmPool *pool);
/* Keep @conn (transfer full), whose last response was read to its end and
 * may be followed by another request.  The pool's idle timer runs on
 * @poller (one of lares_llm_pool_poller()'s), the one of the last put. */
void lares_llm_pool_put (LaresLlmPool *pool, LaresLlmConn *conn, LaresPoller *poller);
/* For tests: close idle connections after @idle_us instead of
 * LARES_LLM_POOL_IDLE_S (0: at the next dispatch). */
void lares_llm_pool_set_idle_us (LaresLlmPool *pool, int64_t idle_us);

/* Open a new connection (GSocketClient: names resolve without blocking;
 * no proxy, the server is local). */
void lares_llm_pool_connect_async (LaresLlmPool *pool, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
/* (transfer full) */
LaresLlmConn *lares_llm_pool_connect_finish (LaresLlmPool *pool, GAsyncResult *result,
                                             GError **error);

/* The poller that watches this pool's connections for requests running on
 * @context, made on first use and kept as long as the pool.  NULL with
 * @error set when it cannot be made (out of descriptors). */
LaresPoller *lares_llm_pool_poller (LaresLlmPool *pool, GMainContext *context, GError **error);

/* Close and free @conn (nullable). */
void lares_llm_conn_close (LaresLlmConn *conn);

G_END_DECLS
