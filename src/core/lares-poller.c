/* lares-poller.c — many file descriptors behind one GSource (see lares-poller.h).
 *
 * DESIGN
 * - The GSource polls the epoll fd for G_IO_IN; dispatch takes one batch of
 *   ready events with epoll_wait(…, 0) and calls their watches in order.
 *   Level-triggered, so a watch that leaves input unread is called again on
 *   the next pass, and a batch bounded by POLLER_BATCH leaves the others
 *   for the next pass rather than starving the rest of the main loop.
 * - The source may recurse, which spares GLib's eventfd write per dispatch;
 *   a nested dispatch returns at once.
 * - Removal during a dispatch: the batch being worked on is kept in the
 *   poller, and lares_poller_remove clears the removed watch's entries in
 *   it, so a callback may remove (and free) any watch, its own included.
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
};

static gboolean
poller_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  LaresPoller *poller = ((PollerSource *)source)->poller;
  int n;

  /* A callback ran a nested main loop: the outer dispatch owns the batch,
   * and what is ready stays ready (level-triggered) until it returns. */
  if (poller->dispatching)
    return G_SOURCE_CONTINUE;
  n = epoll_wait (poller->epfd, poller->batch, POLLER_BATCH, 0);

  if (n < 0)
    {
      /* Only EINTR can happen to a valid set: try again next pass. */
      g_assert (errno == EINTR);
      return G_SOURCE_CONTINUE;
    }
  poller->n_batch = n;
  poller->dispatching = TRUE;
  for (int i = 0; i < n; i++)
    {
      LaresPollerWatch *w = poller->batch[i].data.ptr;

      if (w == NULL)
        continue; /* removed by an earlier callback of this batch */
      w->func (w, poller->batch[i].events, w->data);
    }
  poller->n_batch = 0;
  poller->dispatching = FALSE;
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
  g_source_unref (poller->source);
  close (poller->epfd);
  g_free (poller);
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
