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
 * - One idle timer for the pool, not one per connection: each connection
 *   records when it went idle, so the oldest (the tail) expires first, and
 *   the pool's LaresPollerTimer is armed at the tail's expiry.  Firing, it
 *   closes every expired one from the tail and re-arms for the next.  A
 *   put leaves it alone unless the tail changed; a take can only empty
 *   the queue (then the timer is disarmed).  It lives in the poller of the
 *   last put, which the pool keeps.
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
  int64_t idle_us;             /* how long a connection may stay idle */
  LaresPollerTimer idle_timer; /* at the tail's expiry; armed while @idle is not empty */
  LaresPoller *idle_poller;    /* where @idle_timer is armed (one of @pollers) */
  gboolean shut;
  /* Requests run on their thread-default context: one poller for each
   * context seen, in practice one (the daemon's main context). */
  GPtrArray *contexts; /* GMainContext* (owned refs) */
  GPtrArray *pollers;  /* LaresPoller* (owned), same index */
};

static void idle_expired (LaresPollerTimer *timer, gpointer user_data);

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
  pool->idle_us = (int64_t)LARES_LLM_POOL_IDLE_S * G_USEC_PER_SEC;
  lares_poller_timer_init (&pool->idle_timer, idle_expired, pool);
  return pool;
}

void
lares_llm_pool_set_idle_us (LaresLlmPool *pool, int64_t idle_us)
{
  pool->idle_us = idle_us;
}

/* Arm the idle timer for the oldest idle connection, or disarm it. */
static void
idle_arm (LaresLlmPool *pool)
{
  LaresLlmConn *oldest = g_queue_peek_tail (&pool->idle);

  if (oldest != NULL)
    lares_poller_timer_arm (pool->idle_poller, &pool->idle_timer,
                            oldest->idle_since + pool->idle_us);
  else if (pool->idle_poller != NULL)
    lares_poller_timer_disarm (pool->idle_poller, &pool->idle_timer);
}

static void
idle_expired (LaresPollerTimer *timer, gpointer user_data)
{
  LaresLlmPool *pool = user_data;
  int64_t now = g_get_monotonic_time ();
  LaresLlmConn *oldest;

  while ((oldest = g_queue_peek_tail (&pool->idle)) != NULL &&
         oldest->idle_since + pool->idle_us <= now)
    lares_llm_conn_close (g_queue_pop_tail (&pool->idle));
  idle_arm (pool);
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
  idle_arm (pool);
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
      if (conn_fit (conn))
        {
          conn->reused = TRUE;
          break;
        }
      g_debug ("LLM connection closed while idle");
      lares_llm_conn_close (conn);
    }
  /* Taking from the head moves the tail only by emptying the queue. */
  if (pool->idle.length == 0)
    idle_arm (pool);
  return conn;
}

void
lares_llm_pool_put (LaresLlmPool *pool, LaresLlmConn *conn, LaresPoller *poller)
{
  gboolean tail_moved = pool->idle.length == 0;

  if (pool->shut)
    {
      lares_llm_conn_close (conn);
      return;
    }
  conn->idle_since = g_get_monotonic_time ();
  g_queue_push_head (&pool->idle, conn);
  while (pool->idle.length > pool->max_idle)
    {
      lares_llm_conn_close (g_queue_pop_tail (&pool->idle));
      tail_moved = TRUE;
    }
  if (poller != pool->idle_poller)
    {
      if (pool->idle_poller != NULL)
        lares_poller_timer_disarm (pool->idle_poller, &pool->idle_timer);
      pool->idle_poller = poller;
      tail_moved = TRUE;
    }
  if (tail_moved)
    idle_arm (pool);
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
