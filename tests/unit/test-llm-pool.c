/* test-llm-pool.c — the kept-alive connections of lares's own LLM
 * transport against a listening socket on 127.0.0.1: most recent first,
 * the cap on idle ones, closing them when idle too long (the pool's one
 * poller timer) and on shutdown.  The server side sees each close as EOF
 * on its accepted socket.  No test waits on the clock: "too long" is 0
 * (due at the next dispatch) or an hour. */
#include "config.h"

#include "lares-llm-pool.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct
{
  GSocketListener *listener;
  uint16_t port;
  LaresLlmPool *pool;
  LaresPoller *poller;
  GPtrArray *accepted; /* GSocketConnection*, the server side, in connect order */
} Fx;

static void
fx_setup (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fx->listener = g_socket_listener_new ();
  fx->port = g_socket_listener_add_any_inet_port (fx->listener, NULL, &error);
  g_assert_no_error (error);
  fx->pool = lares_llm_pool_new ("127.0.0.1", fx->port, GPOINTER_TO_UINT (data));
  fx->poller = lares_llm_pool_poller (fx->pool, g_main_context_default (), &error);
  g_assert_no_error (error);
  fx->accepted = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
fx_teardown (Fx *fx, gconstpointer data)
{
  lares_llm_pool_unref (fx->pool);
  g_ptr_array_unref (fx->accepted);
  g_socket_listener_close (fx->listener);
  g_object_unref (fx->listener);
}

typedef struct
{
  LaresLlmPool *pool;
  LaresLlmConn *conn;
} Connect;

static void
connected_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Connect *c = user_data;
  g_autoptr (GError) error = NULL;

  c->conn = lares_llm_pool_connect_finish (c->pool, res, &error);
  g_assert_no_error (error);
}

/* A new connection, and its server side accepted. */
static LaresLlmConn *
open_conn (Fx *fx)
{
  g_autoptr (GError) error = NULL;
  Connect c = { fx->pool, NULL };
  GSocketConnection *server;

  lares_llm_pool_connect_async (fx->pool, NULL, connected_cb, &c);
  while (c.conn == NULL)
    g_main_context_iteration (NULL, TRUE);
  server = g_socket_listener_accept (fx->listener, NULL, NULL, &error);
  g_assert_no_error (error);
  g_ptr_array_add (fx->accepted, server);
  return c.conn;
}

/* Has the client closed the connection accepted @i-th? */
static gboolean
closed (Fx *fx, unsigned i)
{
  GSocket *socket = g_socket_connection_get_socket (g_ptr_array_index (fx->accepted, i));
  struct pollfd pfd = { .fd = g_socket_get_fd (socket), .events = POLLIN };
  char c;

  return poll (&pfd, 1, 0) == 1 && recv (pfd.fd, &c, 1, MSG_DONTWAIT) == 0;
}

static void
settle (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_take_order (Fx *fx, gconstpointer data)
{
  LaresLlmConn *a = open_conn (fx), *b = open_conn (fx), *c = open_conn (fx);
  int fd_a = a->fd, fd_b = b->fd;

  lares_llm_pool_set_idle_us (fx->pool, (int64_t)3600 * G_USEC_PER_SEC);
  lares_llm_pool_put (fx->pool, a, fx->poller);
  lares_llm_pool_put (fx->pool, b, fx->poller);
  /* Over the cap of 2: the oldest goes. */
  lares_llm_pool_put (fx->pool, c, fx->poller);
  settle ();
  g_assert_true (closed (fx, 0));
  g_assert_false (closed (fx, 1));
  g_assert_false (closed (fx, 2));

  c = lares_llm_pool_take (fx->pool);
  g_assert_nonnull (c);
  g_assert_true (c->reused);
  b = lares_llm_pool_take (fx->pool);
  g_assert_nonnull (b);
  g_assert_cmpint (b->fd, ==, fd_b);
  g_assert_cmpint (c->fd, !=, fd_a);
  g_assert_null (lares_llm_pool_take (fx->pool));

  /* One the server closed while idle is skipped. */
  lares_llm_pool_put (fx->pool, b, fx->poller);
  lares_llm_pool_put (fx->pool, c, fx->poller);
  g_io_stream_close (g_ptr_array_index (fx->accepted, 2), NULL, NULL);
  b = lares_llm_pool_take (fx->pool);
  g_assert_cmpint (b->fd, ==, fd_b);
  g_assert_null (lares_llm_pool_take (fx->pool));

  /* Shut down: the idle ones close, later puts close theirs. */
  lares_llm_pool_put (fx->pool, b, fx->poller);
  lares_llm_pool_shutdown (fx->pool);
  g_assert_true (closed (fx, 1));
  c = open_conn (fx);
  lares_llm_pool_put (fx->pool, c, fx->poller);
  g_assert_true (closed (fx, 3));
}

static void
test_idle_expiry (Fx *fx, gconstpointer data)
{
  LaresLlmConn *a = open_conn (fx), *b = open_conn (fx);

  /* Due at the next dispatch: both close, from the pool's one timer. */
  lares_llm_pool_set_idle_us (fx->pool, 0);
  lares_llm_pool_put (fx->pool, a, fx->poller);
  lares_llm_pool_put (fx->pool, b, fx->poller);
  settle ();
  g_assert_true (closed (fx, 0));
  g_assert_true (closed (fx, 1));
  g_assert_null (lares_llm_pool_take (fx->pool));

  /* An hour: they stay; emptied by takes and filled again, the timer
   * still closes at the new expiry. */
  lares_llm_pool_set_idle_us (fx->pool, (int64_t)3600 * G_USEC_PER_SEC);
  a = open_conn (fx);
  lares_llm_pool_put (fx->pool, a, fx->poller);
  settle ();
  g_assert_false (closed (fx, 2));
  a = lares_llm_pool_take (fx->pool);
  g_assert_nonnull (a);
  lares_llm_pool_set_idle_us (fx->pool, 0);
  lares_llm_pool_put (fx->pool, a, fx->poller);
  settle ();
  g_assert_true (closed (fx, 2));
  g_assert_null (lares_llm_pool_take (fx->pool));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/llm-pool/take-order", Fx, GUINT_TO_POINTER (2), fx_setup, test_take_order,
              fx_teardown);
  g_test_add ("/llm-pool/idle-expiry", Fx, GUINT_TO_POINTER (4), fx_setup, test_idle_expiry,
              fx_teardown);
  return g_test_run ();
}
