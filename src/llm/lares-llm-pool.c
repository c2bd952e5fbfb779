/* lares-llm-pool.c — kept-alive connections to a loopback LLM server (see
 * lares-llm-pool.h).
 *
 * DESIGN: the pool only connects, keeps and hands out sockets; reading and
 * writing them is the request's business (lares-llm.c).  Idle connections
 * sit in a GQueue, most recent at the head: taking from the head reuses
 * the connection most likely still open, and trimming from the tail drops
 * the one nearest its idle timeout.  An idle connection is not watched:
 * the server closing it is noticed when it is next taken, by a
 * non-blocking MSG_PEEK (EOF, an error, or bytes nobody asked for all mean
 * it is unfit), and the idle timer closes it if it is never taken.
 */
#include "config.h"

#include "lares-llm-pool.h"

#include <errno.h>
#include <sys/socket.h>

struct _LaresLlmPool
{
  unsigned refs;              /* main context only */
  GSocketClient *client;      /* (owned) */
  GSocketConnectable *target; /* (owned) */
  GQueue idle;                /* LaresLlmConn* (owned), most recent first */
  unsigned max_idle;
  gboolean shut;
  /* Requests run on their thread-default context: one poller for each
   * context seen, in practice one (the daemon's main context). */
  GPtrArray *contexts; /* GMainContext* (owned refs) */
  GPtrArray *pollers;  /* LaresPoller* (owned), same index */
};

LaresLlmPool *
lares_llm_pool_new (const char *host, uint16_t port, unsigned max_idle)
{
  LaresLlmPool *pool = g_new0 (LaresLlmPool, 1);

  pool->refs = 1;
  pool->client = g_socket_client_new ();
  /* A loopback server needs no proxy, and looking one up would start
   * libproxy (see lares_llm_new). */
  g_socket_client_set_enable_proxy (pool->client, FALSE);
  pool->target = g_network_address_new (host, port);
  g_queue_init (&pool->idle);
  pool->max_idle = MAX (max_idle, 1u);
  return pool;
}

LaresLlmPool *
lares_llm_pool_ref (LaresLlmPool *pool)
{
  pool->refs++;
  return pool;
}

void
lares_llm_pool_shutdown (LaresLlmPool *pool)
{
  LaresLlmConn *conn;

  pool->shut = TRUE;
  while ((conn = g_queue_pop_head (&pool->idle)) != NULL)
    lares_llm_conn_close (conn);
}

void
lares_llm_pool_unref (LaresLlmPool *pool)
{
  g_assert (pool->refs > 0);
  if (--pool->refs > 0)
    return;
  lares_llm_pool_shutdown (pool);
  if (pool->pollers)
    for (unsigned i = 0; i < pool->pollers->len; i++)
      {
        lares_poller_free (pool->pollers->pdata[i]);
        g_main_context_unref (pool->contexts->pdata[i]);
      }
  g_clear_pointer (&pool->pollers, g_ptr_array_unref);
  g_clear_pointer (&pool->contexts, g_ptr_array_unref);
  g_clear_object (&pool->client);
  g_clear_object (&pool->target);
  g_free (pool);
}

LaresPoller *
lares_llm_pool_poller (LaresLlmPool *pool, GMainContext *context, GError **error)
{
  LaresPoller *poller;

  if (pool->pollers == NULL)
    {
      pool->pollers = g_ptr_array_new ();
      pool->contexts = g_ptr_array_new ();
    }
  for (unsigned i = 0; i < pool->contexts->len; i++)
    if (pool->contexts->pdata[i] == context)
      return pool->pollers->pdata[i];
  poller = lares_poller_new (context, error);
  if (poller == NULL)
    return NULL;
  g_ptr_array_add (pool->pollers, poller);
  g_ptr_array_add (pool->contexts, g_main_context_ref (context));
  return poller;
}

void
lares_llm_conn_close (LaresLlmConn *conn)
{
  if (conn == NULL)
    return;
  if (conn->idle_timer != NULL)
    {
      g_source_destroy (conn->idle_timer);
      g_clear_pointer (&conn->idle_timer, g_source_unref);
    }
  /* close(2) at once: a peer still sending sees the connection go. */
  g_socket_close (conn->socket, NULL);
  g_clear_object (&conn->stream);
  g_free (conn);
}

/* Is @conn still open, with nothing unread? */
static gboolean
conn_fit (LaresLlmConn *conn)
{
  char c;
  ssize_t n;

  do
    n = recv (conn->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

LaresLlmConn *
lares_llm_pool_take (LaresLlmPool *pool)
{
  LaresLlmConn *conn;

  while ((conn = g_queue_pop_head (&pool->idle)) != NULL)
    {
      g_source_destroy (conn->idle_timer);
      g_clear_pointer (&conn->idle_timer, g_source_unref);
      conn->pool = NULL;
      if (conn_fit (conn))
        {
          conn->reused = TRUE;
          return conn;
        }
      g_debug ("LLM connection closed while idle");
      lares_llm_conn_close (conn);
    }
  return NULL;
}

static gboolean
idle_timeout_cb (gpointer user_data)
{
  LaresLlmConn *conn = user_data;

  g_queue_remove (&conn->pool->idle, conn);
  g_clear_pointer (&conn->idle_timer, g_source_unref);
  lares_llm_conn_close (conn);
  return G_SOURCE_REMOVE;
}

void
lares_llm_pool_put (LaresLlmPool *pool, LaresLlmConn *conn, GMainContext *context)
{
  if (pool->shut)
    {
      lares_llm_conn_close (conn);
      return;
    }
  conn->pool = pool;
  conn->idle_timer = g_timeout_source_new_seconds (LARES_LLM_POOL_IDLE_S);
  g_source_set_callback (conn->idle_timer, idle_timeout_cb, conn, NULL);
  g_source_attach (conn->idle_timer, context);
  g_queue_push_head (&pool->idle, conn);
  while (pool->idle.length > pool->max_idle)
    lares_llm_conn_close (g_queue_pop_tail (&pool->idle));
}

void
lares_llm_pool_connect_async (LaresLlmPool *pool, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  g_socket_client_connect_async (pool->client, pool->target, cancellable, callback, user_data);
}

LaresLlmConn *
lares_llm_pool_connect_finish (LaresLlmPool *pool, GAsyncResult *result, GError **error)
{
  GSocketConnection *stream = g_socket_client_connect_finish (pool->client, result, error);
  LaresLlmConn *conn;

  if (stream == NULL)
    return NULL;
  conn = g_new0 (LaresLlmConn, 1);
  conn->stream = stream;
  conn->socket = g_socket_connection_get_socket (stream);
  conn->fd = g_socket_get_fd (conn->socket);
  return conn;
}
