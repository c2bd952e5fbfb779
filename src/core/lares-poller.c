/* lares-poller.c — many file descriptors and deadlines behind one GSource
 * (see lares-poller.h).
 *
 * DESIGN
 * - The GSource polls the epoll fd for G_IO_IN; when the poll found it
 *   readable, dispatch takes one batch of ready events with
 *   epoll_wait(…, 0) and calls their watches in order (a dispatch for a
 *   timer alone makes no system call).  Level-triggered, so a watch that
 *   leaves input unread is called again on the next pass, and a batch
 *   bounded by POLLER_BATCH leaves the others for the next pass rather
 *   than starving the rest of the main loop.
 * - Timers: a min-heap of pointers on `when`, each timer holding its slot,
 *   so any one is found, moved or taken out in O(log n).  The source's
 *   ready time is at or before the earliest deadline, never after.  GLib
 *   2.74 writes the context's wakeup eventfd on every
 *   g_source_set_ready_time() that changes it, so it is called only when a
 *   deadline comes in earlier than the one set; a timer disarmed or moved
 *   later leaves it, and the dispatch it then causes finds nothing due and
 *   sets the next one.  Callbacks do not set it at all: the dispatch sets
 *   it once at its end, when what it set has passed or something earlier
 *   was armed.
 * - Firing: the heap top is taken out while its deadline is not after the
 *   pass's time, then called.  Arming from a timer callback moves a
 *   deadline not after that time to just past it, which ends the loop
 *   however callbacks re-arm.
 * - The source may recurse, which spares GLib's eventfd write per dispatch;
 *   a nested dispatch returns at once.
 * - Removal during a dispatch: the batch being worked on is kept in the
 *   poller, and lares_poller_remove clears the removed watch's entries in
 *   it, so a callback may remove (and free) any watch, its own included.
 *   A disarmed timer is simply out of the heap.  The poller freed from a
 *   callback (the last request holding an LLM pool, say) stays allocated,
 *   with its source destroyed, until the dispatch is back at its top.
 */
#include "config.h"

#include "lares-poller.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define POLLER_BATCH 64

typedef struct
{
  GSource base;
  LaresPoller *poller;
} PollerSource;

struct _LaresPoller
{
  int epfd;
  GSource *source; /* (owned) */
  gpointer tag;    /* the epoll fd in the source */
  struct epoll_event batch[POLLER_BATCH];
  int n_batch; /* entries of batch still to be called; 0 outside dispatch */
  gboolean dispatching;
  gboolean freed; /* lares_poller_free() ran during the dispatch: free at its end */
  /* Timers */
  LaresPollerTimer **heap; /* (owned array) min-heap on ->when */
  unsigned n_timers;
  unsigned heap_size;  /* entries allocated */
  int64_t ready_time;  /* last given to g_source_set_ready_time(); -1: none */
  gboolean firing;     /* calling timers */
  int64_t firing_time; /* while @firing: the pass's time */
};

/* ---- the timer heap ---------------------------------------------------- */

static inline void
heap_put (LaresPoller *poller, unsigned i, LaresPollerTimer *timer)
{
  poller->heap[i] = timer;
  timer->slot = i + 1;
}

static void
heap_sift_up (LaresPoller *poller, unsigned i)
{
  LaresPollerTimer *timer = poller->heap[i];

  while (i > 0)
    {
      unsigned parent = (i - 1) / 2;

      if (poller->heap[parent]->when <= timer->when)
        break;
      heap_put (poller, i, poller->heap[parent]);
      i = parent;
    }
  heap_put (poller, i, timer);
}

static void
heap_sift_down (LaresPoller *poller, unsigned i)
{
  LaresPollerTimer *timer = poller->heap[i];

  for (;;)
    {
      unsigned child = 2 * i + 1;

      if (child >= poller->n_timers)
        break;
      if (child + 1 < poller->n_timers && poller->heap[child + 1]->when < poller->heap[child]->when)
        child++;
      if (timer->when <= poller->heap[child]->when)
        break;
      heap_put (poller, i, poller->heap[child]);
      i = child;
    }
  heap_put (poller, i, timer);
}

static void
heap_remove (LaresPoller *poller, LaresPollerTimer *timer)
{
  unsigned i = timer->slot - 1;
  LaresPollerTimer *last;

  g_assert (i < poller->n_timers && poller->heap[i] == timer);
  timer->slot = 0;
  last = poller->heap[--poller->n_timers];
  if (i == poller->n_timers)
    return;
  heap_put (poller, i, last);
  if (last->when < timer->when)
    heap_sift_up (poller, i);
  else
    heap_sift_down (poller, i);
}

/* Fire the timers due at @now, earliest first. */
static void
fire_timers (LaresPoller *poller, int64_t now)
{
  poller->firing = TRUE;
  poller->firing_time = now;
  while (!poller->freed && poller->n_timers > 0 && poller->heap[0]->when <= now)
    {
      LaresPollerTimer *timer = poller->heap[0];

      heap_remove (poller, timer);
      timer->func (timer, timer->data);
    }
  poller->firing = FALSE;
}

/* ---- the source -------------------------------------------------------- */

static void
run_batch (LaresPoller *poller)
{
  int n = epoll_wait (poller->epfd, poller->batch, POLLER_BATCH, 0);

  if (n < 0)
    {
      /* Only EINTR can happen to a valid set: try again next pass. */
      g_assert (errno == EINTR);
      return;
    }
  poller->n_batch = n;
  for (int i = 0; i < n; i++)
    {
      LaresPollerWatch *w = poller->batch[i].data.ptr;

      if (poller->freed)
        break;
      if (w == NULL)
        continue; /* removed by an earlier callback of this batch */
      w->func (w, poller->batch[i].events, w->data);
    }
  poller->n_batch = 0;
}

static void
poller_finalize (LaresPoller *poller)
{
  g_source_unref (poller->source);
  close (poller->epfd);
  g_free (poller->heap);
  g_free (poller);
}

static gboolean
poller_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  LaresPoller *poller = ((PollerSource *)source)->poller;
  int64_t now, next;

  /* A callback ran a nested main loop: the outer dispatch owns the batch,
   * and what is ready stays ready (level-triggered) until it returns. */
  if (poller->dispatching)
    return G_SOURCE_CONTINUE;
  poller->dispatching = TRUE;
  if (g_source_query_unix_fd (source, poller->tag) != 0)
    run_batch (poller);
  now = g_source_get_time (source);
  if (!poller->freed && poller->n_timers > 0 && poller->heap[0]->when <= now)
    fire_timers (poller, now);
  poller->dispatching = FALSE;
  if (poller->freed)
    {
      poller_finalize (poller);
      return G_SOURCE_REMOVE;
    }

  /* What was set has passed (or a callback armed something earlier):
   * set the earliest deadline left.  A ready time still ahead of every
   * deadline stays; its dispatch will set the next one. */
  next = poller->n_timers > 0 ? poller->heap[0]->when : -1;
  if (next != poller->ready_time &&
      (poller->ready_time <= now || (next >= 0 && next < poller->ready_time)))
    {
      poller->ready_time = next;
      g_source_set_ready_time (source, next);
    }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs poller_funcs = {
  .dispatch = poller_dispatch,
};

LaresPoller *
lares_poller_new (GMainContext *context, GError **error)
{
  LaresPoller *poller;
  int epfd = epoll_create1 (EPOLL_CLOEXEC);

  if (epfd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "epoll_create1: %s",
                   g_strerror (saved));
      return NULL;
    }
  poller = g_new0 (LaresPoller, 1);
  poller->epfd = epfd;
  poller->ready_time = -1;
  poller->source = g_source_new (&poller_funcs, sizeof (PollerSource));
  ((PollerSource *)poller->source)->poller = poller;
  g_source_set_name (poller->source, "lares poller");
  poller->tag = g_source_add_unix_fd (poller->source, epfd, G_IO_IN);
  /* GLib 2.74 takes a source's fds out of the poll set while it dispatches
   * and puts them back after, and each put-back writes the context's
   * wake-up eventfd: a system call and one more loop pass per dispatch.  A
   * source that may recurse keeps its fds (see the guard above). */
  g_source_set_can_recurse (poller->source, TRUE);
  g_source_attach (poller->source, context);
  return poller;
}

void
lares_poller_free (LaresPoller *poller)
{
  if (poller == NULL)
    return;
  g_source_destroy (poller->source);
  /* From a callback: the dispatch calls nothing more and frees it. */
  if (poller->dispatching)
    poller->freed = TRUE;
  else
    poller_finalize (poller);
}

gboolean
lares_poller_add (LaresPoller *poller, LaresPollerWatch *watch, int fd, uint32_t events,
                  LaresPollerFunc func, gpointer data, GError **error)
{
  struct epoll_event ev = { .events = events, .data.ptr = watch };

  g_return_val_if_fail (!watch->added, FALSE);
  watch->fd = fd;
  watch->events = events;
  watch->func = func;
  watch->data = data;
  if (epoll_ctl (poller->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "epoll_ctl: %s",
                   g_strerror (saved));
      return FALSE;
    }
  watch->added = TRUE;
  return TRUE;
}

gboolean
lares_poller_modify (LaresPoller *poller, LaresPollerWatch *watch, uint32_t events)
{
  struct epoll_event ev = { .events = events, .data.ptr = watch };

  g_return_val_if_fail (watch->added, FALSE);
  if (watch->events == events)
    return TRUE;
  if (epoll_ctl (poller->epfd, EPOLL_CTL_MOD, watch->fd, &ev) < 0)
    return FALSE;
  watch->events = events;
  return TRUE;
}

void
lares_poller_remove (LaresPoller *poller, LaresPollerWatch *watch)
{
  if (!watch->added)
    return;
  (void)epoll_ctl (poller->epfd, EPOLL_CTL_DEL, watch->fd, NULL);
  for (int i = 0; i < poller->n_batch; i++)
    if (poller->batch[i].data.ptr == watch)
      poller->batch[i].data.ptr = NULL;
  watch->added = FALSE;
}

void
lares_poller_timer_init (LaresPollerTimer *timer, LaresPollerTimerFunc func, gpointer data)
{
  timer->when = 0;
  timer->func = func;
  timer->data = data;
  timer->slot = 0;
}

void
lares_poller_timer_arm (LaresPoller *poller, LaresPollerTimer *timer, int64_t when_us)
{
  int64_t when = MAX (when_us, 0);

  /* Not again in the pass that is firing it (lares-poller.h). */
  if (poller->firing && when <= poller->firing_time)
    when = poller->firing_time + 1;
  if (timer->slot != 0)
    {
      int64_t old = timer->when;

      g_assert (poller->heap[timer->slot - 1] == timer);
      timer->when = when;
      if (when < old)
        heap_sift_up (poller, timer->slot - 1);
      else
        heap_sift_down (poller, timer->slot - 1);
    }
  else
    {
      if (poller->n_timers == poller->heap_size)
        {
          poller->heap_size = MAX (16u, poller->heap_size * 2);
          poller->heap = g_renew (LaresPollerTimer *, poller->heap, poller->heap_size);
        }
      timer->when = when;
      heap_put (poller, poller->n_timers++, timer);
      heap_sift_up (poller, poller->n_timers - 1);
    }
  /* Each change of the ready time writes GLib's wakeup eventfd: only when
   * the next deadline came in earlier, and once at the end of a dispatch
   * for what its callbacks armed. */
  if (!poller->dispatching && (poller->ready_time < 0 || when < poller->ready_time))
    {
      poller->ready_time = when;
      g_source_set_ready_time (poller->source, when);
    }
}

void
lares_poller_timer_disarm (LaresPoller *poller, LaresPollerTimer *timer)
{
  /* The ready time stays: the dispatch it causes sets the next one. */
  if (timer->slot != 0)
    heap_remove (poller, timer);
}

gboolean
lares_poller_timer_armed (const LaresPollerTimer *timer)
{
  return timer->slot != 0;
}
