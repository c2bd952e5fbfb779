/* lares-poller.h — many file descriptors behind one GSource.
 *
 * GLib's main loop scans every source it holds on every wakeup (prepare,
 * poll(2) over all their fds, check), so with 100 upstream connections open
 * each token read paid for all 100.  A LaresPoller is one GSource whose
 * single fd is an epoll set: a wakeup costs the same with 1 or 1,000
 * descriptors in it, and only the ready ones are touched.
 *
 * Watches are level-triggered, owned by the caller (usually embedded in the
 * object the fd belongs to) and called on the poller's context.  A watch
 * may be modified or removed at any time, including from any callback of
 * the same dispatch: a removed watch is never called again, so its memory
 * may be freed right after lares_poller_remove().
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct _LaresPoller LaresPoller;
typedef struct _LaresPollerWatch LaresPollerWatch;

/* @events: what is ready, EPOLLIN / EPOLLOUT / EPOLLHUP / EPOLLERR. */
typedef void (*LaresPollerFunc) (LaresPollerWatch *watch, uint32_t events, gpointer data);

struct _LaresPollerWatch
{
  int fd;
  uint32_t events; /* asked for: EPOLLIN and/or EPOLLOUT */
  LaresPollerFunc func;
  gpointer data;
  gboolean added;
};

/* Attach a poller to @context (NULL: the thread-default one).  NULL with
 * @error set when the epoll set cannot be made. */
LaresPoller *lares_poller_new (GMainContext *context, GError **error);
/* Detach and free.  Watches still added are forgotten, not called. */
void lares_poller_free (LaresPoller *poller);

/* Start watching @watch->fd for @events.  FALSE with @error set when epoll
 * refuses the fd. */
gboolean lares_poller_add (LaresPoller *poller, LaresPollerWatch *watch, int fd, uint32_t events,
                           LaresPollerFunc func, gpointer data, GError **error);
/* Watch for @events instead (0: nothing but errors and hang-ups). */
gboolean lares_poller_modify (LaresPoller *poller, LaresPollerWatch *watch, uint32_t events);
/* Stop watching; a no-op for a watch not added.  Call it before closing
 * the fd.  Not for the poller itself to be freed from a callback. */
void lares_poller_remove (LaresPoller *poller, LaresPollerWatch *watch);

G_END_DECLS
