/* lares-poller.h — many file descriptors and deadlines behind one GSource.
 *
 * GLib's main loop scans every source it holds on every wakeup (prepare,
 * poll(2) over all their fds, check, each with a ref and an unref), so
 * with 100 upstream connections open each token read paid for all 100,
 * and for their timers too.  A LaresPoller is one GSource whose single fd
 * is an epoll set and whose ready time is the earliest of its timers: a
 * wakeup costs the same with 1 or 1,000 descriptors and deadlines in it,
 * and only the ready ones are touched.
 *
 * Watches are level-triggered, owned by the caller (usually embedded in the
 * object the fd belongs to) and called on the poller's context.  A watch
 * may be modified or removed at any time, including from any callback of
 * the same dispatch: a removed watch is never called again, so its memory
 * may be freed right after lares_poller_remove().
 *
 * Timers are one-shot deadlines on the monotonic clock
 * (g_get_monotonic_time(), µs), also owned by the caller and kept in a
 * binary min-heap: arming, re-arming and disarming are O(log n).  A timer
 * is disarmed before its callback runs; the callback may arm it again.
 * Rules for a dispatch, which first calls the ready watches and then the
 * due timers:
 * - The timers whose deadline is not after the loop's time for this pass
 *   (g_source_get_time()) fire in deadline order (equal deadlines in no
 *   particular order), each once.
 * - Any callback may arm, disarm or free any timer, its own included, and
 *   add, modify or remove watches.  A disarmed timer is never called
 *   again, so its memory may be freed right after disarming it.
 * - A timer armed from a timer callback for a time not after the pass's
 *   time fires on the next pass, not this one: a callback re-arming itself
 *   for "now" cannot keep the dispatch going for ever.  One armed for "now"
 *   from a watch callback fires in the same pass.
 * - A dispatch nested inside a callback (a callback running a main loop of
 *   its own) returns at once: what is ready and due stays so until the
 *   outer one is back.
 * - A callback may free the poller: nothing more is called.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct _LaresPoller LaresPoller;
typedef struct _LaresPollerWatch LaresPollerWatch;
typedef struct _LaresPollerTimer LaresPollerTimer;

/* @events: what is ready, EPOLLIN / EPOLLOUT / EPOLLHUP / EPOLLERR. */
typedef void (*LaresPollerFunc) (LaresPollerWatch *watch, uint32_t events, gpointer data);
typedef void (*LaresPollerTimerFunc) (LaresPollerTimer *timer, gpointer data);

struct _LaresPollerWatch
{
  int fd;
  uint32_t events; /* asked for: EPOLLIN and/or EPOLLOUT */
  LaresPollerFunc func;
  gpointer data;
  gboolean added;
};

struct _LaresPollerTimer
{
  int64_t when; /* monotonic µs, while armed */
  LaresPollerTimerFunc func;
  gpointer data;
  unsigned slot; /* heap index + 1; 0: not armed */
};

/* Attach a poller to @context (NULL: the thread-default one).  NULL with
 * @error set when the epoll set cannot be made. */
LaresPoller *lares_poller_new (GMainContext *context, GError **error);
/* Detach and free, also from one of its callbacks.  Watches still added
 * and timers still armed are forgotten, not called (and not touched: they
 * may already be freed; such a timer needs lares_poller_timer_init()
 * again before it is armed on another poller). */
void lares_poller_free (LaresPoller *poller);

/* Start watching @watch->fd for @events.  FALSE with @error set when epoll
 * refuses the fd. */
gboolean lares_poller_add (LaresPoller *poller, LaresPollerWatch *watch, int fd, uint32_t events,
                           LaresPollerFunc func, gpointer data, GError **error);
/* Watch for @events instead (0: nothing but errors and hang-ups). */
gboolean lares_poller_modify (LaresPoller *poller, LaresPollerWatch *watch, uint32_t events);
/* Stop watching; a no-op for a watch not added.  Call it before closing
 * the fd. */
void lares_poller_remove (LaresPoller *poller, LaresPollerWatch *watch);

/* Make @timer (caller-allocated, not armed) call @func with @data. */
void lares_poller_timer_init (LaresPollerTimer *timer, LaresPollerTimerFunc func, gpointer data);
/* Fire @timer at @when_us (monotonic µs; 0 or a time past: on the next
 * dispatch, see the rules above), re-arming it if it is armed.  A timer is
 * armed on one poller at a time.  GLib's wakeup is written only when this
 * makes the poller's next deadline earlier. */
void lares_poller_timer_arm (LaresPoller *poller, LaresPollerTimer *timer, int64_t when_us);
/* A no-op for a timer not armed. */
void lares_poller_timer_disarm (LaresPoller *poller, LaresPollerTimer *timer);
gboolean lares_poller_timer_armed (const LaresPollerTimer *timer);

G_END_DECLS
