/* test-poller.c — LaresPoller: readiness through one GSource, modify,
 * removal from inside a dispatch; timers: order, re-arming, disarming and
 * freeing from callbacks, arming for "now" from a callback, a random run
 * against an oracle, and how often GLib's wakeup is written.
 *
 * Deadlines are either long past (1 µs .. 1 s after boot: due at the next
 * dispatch) or an hour ahead (never due while a test runs), so no test
 * depends on how fast it runs. */
#include "config.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <poll.h>
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
  LaresPollerTimer *arm;    /* arm this one for "now" when called */
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
  if (p->arm != NULL)
    lares_poller_timer_arm (p->poller, p->arm, 0);
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

/* ---- timers ----------------------------------------------------------- */

#define HOUR_US ((int64_t)3600 * G_USEC_PER_SEC)

static int64_t
later (int64_t offset)
{
  return g_get_monotonic_time () + HOUR_US + offset;
}

typedef struct _Tm Tm;
struct _Tm
{
  LaresPollerTimer timer;
  LaresPoller *poller;
  GArray *log; /* ids in firing order (shared) */
  int id;
  Tm *disarm;     /* disarm this one when fired */
  unsigned rearm; /* times left to re-arm itself for "now" */
  gboolean free_self;
  unsigned calls;
};

static void
on_timer (LaresPollerTimer *timer, gpointer data)
{
  Tm *t = data;

  g_assert_true (timer == &t->timer);
  g_assert_false (lares_poller_timer_armed (timer));
  t->calls++;
  if (t->log != NULL)
    g_array_append_val (t->log, t->id);
  if (t->disarm != NULL)
    lares_poller_timer_disarm (t->poller, &t->disarm->timer);
  if (t->rearm > 0)
    {
      t->rearm--;
      lares_poller_timer_arm (t->poller, timer, 0);
    }
  if (t->free_self)
    g_free (t);
}

static Tm *
tm_new (LaresPoller *poller, GArray *log, int id)
{
  Tm *t = g_new0 (Tm, 1);

  t->poller = poller;
  t->log = log;
  t->id = id;
  lares_poller_timer_init (&t->timer, on_timer, t);
  return t;
}

static void
assert_log (GArray *log, const int *want, unsigned n)
{
  g_assert_cmpuint (log->len, ==, n);
  for (unsigned i = 0; i < n; i++)
    g_assert_cmpint (g_array_index (log, int, i), ==, want[i]);
  g_array_set_size (log, 0);
}

/* Due timers fire in deadline order, in one dispatch; re-arming earlier or
 * later moves a timer; one an hour ahead stays armed. */
static void
test_timer_order (void)
{
  g_autoptr (GError) error = NULL;
  LaresPoller *poller = lares_poller_new (NULL, &error);
  g_autoptr (GArray) log = g_array_new (FALSE, FALSE, sizeof (int));
  static const int when[] = { 50, 10, 40, 30, 20 };
  static const int order[] = { 1, 4, 3, 2, 0 };
  static const int moved[] = { 2, 0 };
  Tm *t[5];

  g_assert_no_error (error);
  for (int i = 0; i < 5; i++)
    {
      t[i] = tm_new (poller, log, i);
      lares_poller_timer_arm (poller, &t[i]->timer, when[i]);
      g_assert_true (lares_poller_timer_armed (&t[i]->timer));
    }
  g_assert_true (g_main_context_iteration (NULL, FALSE));
  assert_log (log, order, 5);
  settle ();
  g_assert_cmpuint (log->len, ==, 0);

  /* Armed late, then moved earlier than another; one moved later. */
  lares_poller_timer_arm (poller, &t[0]->timer, later (0));
  lares_poller_timer_arm (poller, &t[1]->timer, 20);
  lares_poller_timer_arm (poller, &t[2]->timer, 30);
  lares_poller_timer_arm (poller, &t[0]->timer, 25);
  lares_poller_timer_arm (poller, &t[2]->timer, 5);
  lares_poller_timer_arm (poller, &t[1]->timer, later (1));
  settle ();
  assert_log (log, moved, 2);
  g_assert_true (lares_poller_timer_armed (&t[1]->timer));
  lares_poller_timer_disarm (poller, &t[1]->timer);
  g_assert_false (lares_poller_timer_armed (&t[1]->timer));
  lares_poller_timer_disarm (poller, &t[1]->timer); /* again is harmless */
  settle ();
  g_assert_cmpuint (t[1]->calls, ==, 1);

  /* Freed with a timer armed: forgotten, not called. */
  lares_poller_timer_arm (poller, &t[3]->timer, 1);
  lares_poller_timer_arm (poller, &t[4]->timer, later (0));
  lares_poller_free (poller);
  settle ();
  g_assert_cmpuint (t[3]->calls, ==, 1);
  for (int i = 0; i < 5; i++)
    g_free (t[i]);
}

/* A callback disarms another due timer, which then is not called; a
 * callback frees its own timer; arming for "now" from a callback fires on
 * the next pass, once a pass. */
static void
test_timer_callbacks (void)
{
  g_autoptr (GError) error = NULL;
  LaresPoller *poller = lares_poller_new (NULL, &error);
  g_autoptr (GArray) log = g_array_new (FALSE, FALSE, sizeof (int));
  static const int first[] = { 0, 2 };
  Tm *a = tm_new (poller, log, 0), *b = tm_new (poller, log, 1), *c = tm_new (poller, log, 2);
  Tm *self;

  g_assert_no_error (error);
  a->disarm = b;
  lares_poller_timer_arm (poller, &a->timer, 1);
  lares_poller_timer_arm (poller, &b->timer, 2);
  lares_poller_timer_arm (poller, &c->timer, 3);
  settle ();
  assert_log (log, first, 2);
  g_assert_false (lares_poller_timer_armed (&b->timer));
  a->disarm = NULL;

  /* Freed from its own callback (ASan sees any later use), with others
   * due around it. */
  self = tm_new (poller, log, 3);
  self->free_self = TRUE;
  lares_poller_timer_arm (poller, &a->timer, 1);
  lares_poller_timer_arm (poller, &self->timer, 2);
  lares_poller_timer_arm (poller, &c->timer, 3);
  settle ();
  g_assert_cmpuint (log->len, ==, 3);
  g_array_set_size (log, 0);

  /* Re-armed for "now" from its own callback, five times: one call per
   * pass, the dispatch does not spin. */
  a->rearm = 5;
  a->calls = 0;
  lares_poller_timer_arm (poller, &a->timer, 0);
  for (unsigned i = 1; i <= 6; i++)
    {
      /* A pass may come without a dispatch (the ready time just past
       * the loop's clock): iterate until this one fires. */
      while (a->calls < i)
        g_main_context_iteration (NULL, TRUE);
      g_assert_cmpuint (a->calls, ==, i);
    }
  settle ();
  g_assert_cmpuint (a->calls, ==, 6);
  g_assert_false (lares_poller_timer_armed (&a->timer));

  /* Armed for "now" from a watch callback: fires in the same dispatch. */
  {
    Pipe p;

    pipe_open (&p, poller);
    p.arm = &b->timer;
    b->calls = 0;
    g_assert_cmpint (write (p.fds[1], "x", 1), ==, 1);
    g_assert_true (g_main_context_iteration (NULL, FALSE));
    g_assert_cmpuint (p.calls, ==, 1);
    g_assert_cmpuint (b->calls, ==, 1);
    pipe_close (&p);
  }
  lares_poller_free (poller);
  g_free (a);
  g_free (b);
  g_free (c);
}

/* Random arming, re-arming and disarming (also from callbacks) of many
 * timers against an oracle: every due timer fires once, in deadline
 * order, and no other. */
#define N_RANDOM 300

typedef struct
{
  LaresPoller *poller;
  GRand *rand;
  LaresPollerTimer timers[N_RANDOM];
  gboolean armed[N_RANDOM]; /* the oracle */
  int64_t when[N_RANDOM];
  int64_t last;   /* deadline of the last timer fired in this pass */
  unsigned fired; /* in this round */
} Random;

static void
random_arm (Random *r, unsigned i, gboolean due)
{
  int64_t when = due ? g_rand_int_range (r->rand, 1, G_USEC_PER_SEC) : later (g_rand_int (r->rand));

  lares_poller_timer_arm (r->poller, &r->timers[i], when);
  r->armed[i] = TRUE;
  r->when[i] = when;
}

static void
random_disarm (Random *r, unsigned i)
{
  lares_poller_timer_disarm (r->poller, &r->timers[i]);
  r->armed[i] = FALSE;
}

static void
on_random (LaresPollerTimer *timer, gpointer data)
{
  Random *r = data;
  unsigned i = (unsigned)(timer - r->timers);

  g_assert_true (r->armed[i]);
  g_assert_cmpint (r->when[i], >=, r->last);
  g_assert_cmpint (r->when[i], <, G_USEC_PER_SEC);
  r->last = r->when[i];
  r->armed[i] = FALSE;
  r->fired++;
  /* Now and then disarm or push back another, due or not. */
  switch (g_rand_int_range (r->rand, 0, 4))
    {
    case 0:
      random_disarm (r, (unsigned)g_rand_int_range (r->rand, 0, N_RANDOM));
      break;
    case 1:
      random_arm (r, (unsigned)g_rand_int_range (r->rand, 0, N_RANDOM), FALSE);
      break;
    default:
      break;
    }
}

static void
test_timer_random (void)
{
  g_autoptr (GError) error = NULL;
  Random *r = g_new0 (Random, 1);
  unsigned total = 0;

  r->poller = lares_poller_new (NULL, &error);
  g_assert_no_error (error);
  r->rand = g_rand_new_with_seed (g_test_rand_int ());
  for (unsigned i = 0; i < N_RANDOM; i++)
    lares_poller_timer_init (&r->timers[i], on_random, r);
  for (unsigned round = 0; round < 50; round++)
    {
      unsigned due = 0;

      for (unsigned k = 0; k < N_RANDOM; k++)
        {
          unsigned i = (unsigned)g_rand_int_range (r->rand, 0, N_RANDOM);

          if (g_rand_int_range (r->rand, 0, 3) == 0)
            random_disarm (r, i);
          else
            random_arm (r, i, g_rand_boolean (r->rand));
        }
      for (unsigned i = 0; i < N_RANDOM; i++)
        {
          g_assert_cmpint (lares_poller_timer_armed (&r->timers[i]), ==, r->armed[i]);
          due += r->armed[i] && r->when[i] < G_USEC_PER_SEC;
        }
      r->last = 0;
      r->fired = 0;
      g_assert_true (g_main_context_iteration (NULL, FALSE));
      settle ();
      /* Callbacks only take timers away or push them back. */
      g_assert_cmpuint (r->fired, <=, due);
      g_assert_cmpuint (r->fired, >, 0);
      total += r->fired;
      for (unsigned i = 0; i < N_RANDOM; i++)
        {
          g_assert_cmpint (lares_poller_timer_armed (&r->timers[i]), ==, r->armed[i]);
          g_assert_true (!r->armed[i] || r->when[i] > G_USEC_PER_SEC);
        }
    }
  g_test_message ("%u timers fired", total);
  lares_poller_free (r->poller);
  g_rand_free (r->rand);
  g_free (r);
}

/* How many times GLib's wakeup eventfd of @context was written since it
 * was last read: one loop pass by hand, reading the counter of every
 * readable fd the pass would poll (the poller's epoll fd is never
 * readable here: no watch is added). */
static unsigned
wakeups (GMainContext *context)
{
  GPollFD fds[16];
  int priority, timeout, n;
  unsigned count = 0;

  g_assert_true (g_main_context_acquire (context));
  g_main_context_prepare (context, &priority);
  n = g_main_context_query (context, priority, &timeout, fds, G_N_ELEMENTS (fds));
  g_assert_cmpint (n, <=, (int)G_N_ELEMENTS (fds));
  for (int i = 0; i < n; i++)
    {
      struct pollfd pfd = { .fd = fds[i].fd, .events = POLLIN };
      uint64_t v;

      if (poll (&pfd, 1, 0) == 1 && read (fds[i].fd, &v, sizeof v) == sizeof v)
        count += (unsigned)v;
      fds[i].revents = 0;
    }
  g_main_context_check (context, priority, fds, n);
  g_main_context_dispatch (context);
  g_main_context_release (context);
  return count;
}

typedef struct
{
  LaresPoller *poller;
  LaresPollerTimer *others;
  unsigned n_others;
} Fanout;

/* Arms the others, each later than the one before. */
static void
on_fanout (LaresPollerTimer *timer, gpointer data)
{
  Fanout *f = data;

  for (unsigned i = 0; i < f->n_others; i++)
    lares_poller_timer_arm (f->poller, &f->others[i], later (1000 + i));
}

static void
on_nothing (LaresPollerTimer *timer, gpointer data)
{
}

/* The ready time is set (and GLib's wakeup written) only when the next
 * deadline comes in earlier, and once per dispatch whatever its callbacks
 * arm. */
static void
test_timer_wakeups (void)
{
  g_autoptr (GError) error = NULL;
  GMainContext *context = g_main_context_new ();
  LaresPoller *poller = lares_poller_new (context, &error);
  LaresPollerTimer t[10];
  Fanout fan = { poller, t + 2, 7 };

  g_assert_no_error (error);
  for (unsigned i = 0; i < G_N_ELEMENTS (t); i++)
    lares_poller_timer_init (&t[i], on_nothing, NULL);
  while (wakeups (context) > 0) /* attaching wrote it */
    ;

  lares_poller_timer_arm (poller, &t[0], later (500));
  g_assert_cmpuint (wakeups (context), ==, 1);
  /* Later than what is set: nothing to tell GLib. */
  lares_poller_timer_arm (poller, &t[1], later (600));
  lares_poller_timer_arm (poller, &t[1], later (700));
  lares_poller_timer_arm (poller, &t[0], later (800));
  lares_poller_timer_disarm (poller, &t[1]);
  g_assert_cmpuint (wakeups (context), ==, 0);
  /* Earlier: once. */
  lares_poller_timer_arm (poller, &t[1], later (100));
  g_assert_cmpuint (wakeups (context), ==, 1);

  /* A due timer arming eight others: the pass sets the ready time once,
   * after its callbacks. */
  lares_poller_timer_init (&t[9], on_fanout, &fan);
  lares_poller_timer_arm (poller, &t[9], 1);
  g_assert_cmpuint (wakeups (context), ==, 1); /* the arm; this pass fired it */
  g_assert_cmpuint (wakeups (context), ==, 1); /* the dispatch's one */
  g_assert_cmpuint (wakeups (context), ==, 0);
  for (unsigned i = 0; i < 9; i++)
    g_assert_true (lares_poller_timer_armed (&t[i]));
  lares_poller_free (poller);
  g_main_context_unref (context);
}

static void
on_free_poller (LaresPollerTimer *timer, gpointer data)
{
  LaresPoller **poller = data;

  lares_poller_free (*poller);
  *poller = NULL;
}

static void
on_ready_free_poller (LaresPollerWatch *watch, uint32_t events, gpointer data)
{
  LaresPoller **poller = data;

  lares_poller_free (*poller);
  *poller = NULL;
}

/* The poller freed from one of its callbacks (the last LLM request
 * dropping its pool, say): nothing more is called, nothing is touched
 * after (ASan). */
static void
test_free_in_dispatch (void)
{
  g_autoptr (GError) error = NULL;
  LaresPoller *poller = lares_poller_new (NULL, &error);
  g_autoptr (GArray) log = g_array_new (FALSE, FALSE, sizeof (int));
  LaresPollerTimer killer;
  Tm *after = tm_new (poller, log, 1);
  LaresPollerWatch watch = { 0 };
  Pipe a, b;

  g_assert_no_error (error);
  lares_poller_timer_init (&killer, on_free_poller, &poller);
  lares_poller_timer_arm (poller, &killer, 1);
  lares_poller_timer_arm (poller, &after->timer, 2);
  settle ();
  g_assert_null (poller);
  g_assert_cmpuint (after->calls, ==, 0);

  /* From a watch, with a timer due and another watch ready. */
  poller = lares_poller_new (NULL, &error);
  g_assert_no_error (error);
  after->poller = poller;
  lares_poller_timer_init (&after->timer, on_timer, after); /* forgotten, still marked armed */
  pipe_open (&a, poller);
  pipe_open (&b, poller);
  a.drain = b.drain = FALSE;
  lares_poller_remove (poller, &a.watch);
  g_assert_true (
      lares_poller_add (poller, &watch, a.fds[0], EPOLLIN, on_ready_free_poller, &poller, &error));
  lares_poller_timer_arm (poller, &after->timer, 1);
  g_assert_cmpint (write (a.fds[1], "1", 1), ==, 1);
  g_assert_cmpint (write (b.fds[1], "2", 1), ==, 1);
  settle ();
  g_assert_null (poller);
  g_assert_cmpuint (after->calls, ==, 0);
  g_assert_cmpuint (b.calls, <=, 1); /* whichever came first in the batch */
  for (int i = 0; i < 2; i++)
    {
      close (a.fds[i]);
      close (b.fds[i]);
    }
  g_free (after);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/poller/ready", test_ready);
  g_test_add_func ("/poller/remove-in-dispatch", test_remove_in_dispatch);
  g_test_add_func ("/poller/self-and-errors", test_self_and_errors);
  g_test_add_func ("/poller/timer/order", test_timer_order);
  g_test_add_func ("/poller/timer/callbacks", test_timer_callbacks);
  g_test_add_func ("/poller/timer/random", test_timer_random);
  g_test_add_func ("/poller/timer/wakeups", test_timer_wakeups);
  g_test_add_func ("/poller/free-in-dispatch", test_free_in_dispatch);
  return g_test_run ();
}
