/* test-poller.c — LaresPoller: readiness through one GSource, modify,
 * removal from inside a dispatch. */
#include "config.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lares-poller.h"

typedef struct
{
  LaresPollerWatch watch;
  int fds[2]; /* a pipe: we watch [0] */
  unsigned calls;
  uint32_t last;
  gboolean drain;           /* read what is there */
  LaresPollerWatch *remove; /* remove this one when called */
  LaresPoller *poller;
} Pipe;

static void
on_ready (LaresPollerWatch *watch, uint32_t events, gpointer data)
{
  Pipe *p = data;
  char buf[64];

  g_assert_true (watch == &p->watch);
  p->calls++;
  p->last = events;
  if (p->drain)
    while (read (p->fds[0], buf, sizeof buf) > 0)
      ;
  if (p->remove != NULL)
    lares_poller_remove (p->poller, p->remove);
}

static void
pipe_open (Pipe *p, LaresPoller *poller)
{
  g_autoptr (GError) error = NULL;

  memset (p, 0, sizeof *p);
  g_assert_cmpint (pipe2 (p->fds, O_NONBLOCK | O_CLOEXEC), ==, 0);
  p->poller = poller;
  p->drain = TRUE;
  g_assert_true (lares_poller_add (poller, &p->watch, p->fds[0], EPOLLIN, on_ready, p, &error));
  g_assert_no_error (error);
}

static void
pipe_close (Pipe *p)
{
  lares_poller_remove (p->poller, &p->watch);
  close (p->fds[0]);
  close (p->fds[1]);
}

/* Run the loop until nothing is ready. */
static void
settle (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_ready (void)
{
  g_autoptr (GError) error = NULL;
  LaresPoller *poller = lares_poller_new (NULL, &error);
  Pipe a, b;

  g_assert_no_error (error);
  pipe_open (&a, poller);
  pipe_open (&b, poller);
  settle ();
  g_assert_cmpuint (a.calls + b.calls, ==, 0);

  g_assert_cmpint (write (b.fds[1], "x", 1), ==, 1);
  settle ();
  g_assert_cmpuint (a.calls, ==, 0);
  g_assert_cmpuint (b.calls, ==, 1);
  g_assert_true (b.last & EPOLLIN);

  /* Level-triggered: input left unread is reported again. */
  a.drain = FALSE;
  g_assert_cmpint (write (a.fds[1], "y", 1), ==, 1);
  g_assert_true (g_main_context_iteration (NULL, FALSE));
  g_assert_true (g_main_context_iteration (NULL, FALSE));
  g_assert_cmpuint (a.calls, ==, 2);
  a.drain = TRUE;
  settle ();

  /* Modified to nothing but errors: quiet while input waits. */
  g_assert_true (lares_poller_modify (poller, &a.watch, 0));
  g_assert_cmpint (write (a.fds[1], "z", 1), ==, 1);
  settle ();
  g_assert_cmpuint (a.calls, ==, 3);
  g_assert_true (lares_poller_modify (poller, &a.watch, EPOLLIN));
  settle ();
  g_assert_cmpuint (a.calls, ==, 4);

  /* The write end closed: a hang-up, reported until the watch goes. */
  b.remove = &b.watch;
  close (b.fds[1]);
  b.fds[1] = dup (b.fds[0]); /* something to close later */
  settle ();
  g_assert_cmpuint (b.calls, ==, 2);
  g_assert_true (b.last & EPOLLHUP);
  lares_poller_remove (poller, &b.watch); /* again is harmless */

  pipe_close (&a);
  close (b.fds[0]);
  close (b.fds[1]);
  lares_poller_free (poller);
}

/* Two watches ready in the same batch; the first removes the second, which
 * then must not be called. */
static void
test_remove_in_dispatch (void)
{
  g_autoptr (GError) error = NULL;
  LaresPoller *poller = lares_poller_new (NULL, &error);
  Pipe a, b;

  g_assert_no_error (error);
  pipe_open (&a, poller);
  pipe_open (&b, poller);
  a.remove = &b.watch;
  b.remove = &a.watch;
  g_assert_cmpint (write (a.fds[1], "1", 1), ==, 1);
  g_assert_cmpint (write (b.fds[1], "2", 1), ==, 1);
  settle ();
  /* Whichever came first removed the other before its turn. */
  g_assert_cmpuint (a.calls + b.calls, ==, 1);
  g_assert_false (a.watch.added && b.watch.added);
  pipe_close (&a);
  pipe_close (&b);
  lares_poller_free (poller);
}

/* A watch removing itself, and a fd epoll refuses. */
static void
test_self_and_errors (void)
{
  g_autoptr (GError) error = NULL;
  LaresPoller *poller = lares_poller_new (NULL, &error);
  LaresPollerWatch bad = { 0 };
  Pipe a;

  g_assert_no_error (error);
  pipe_open (&a, poller);
  a.remove = &a.watch;
  g_assert_cmpint (write (a.fds[1], "1", 1), ==, 1);
  settle ();
  g_assert_cmpuint (a.calls, ==, 1);
  g_assert_false (a.watch.added);
  g_assert_cmpint (write (a.fds[1], "2", 1), ==, 1);
  settle ();
  g_assert_cmpuint (a.calls, ==, 1);

  g_assert_false (lares_poller_add (poller, &bad, -1, EPOLLIN, on_ready, NULL, &error));
  g_assert_nonnull (error);
  g_assert_false (bad.added);
  pipe_close (&a);
  lares_poller_free (poller);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/poller/ready", test_ready);
  g_test_add_func ("/poller/remove-in-dispatch", test_remove_in_dispatch);
  g_test_add_func ("/poller/self-and-errors", test_self_and_errors);
  return g_test_run ();
}
