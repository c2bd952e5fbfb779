/* test-bus.c — per-user fan-out, isolation between users, and changing the
 * subscriber set from inside a callback. */
#include "config.h"

#include "lares-bus.h"

typedef struct
{
  LaresBus *bus;
  unsigned got;
  unsigned unsubscribe; /* id to drop when called, 0: none */
  char *last;
} Sink;

static void
sink_cb (GBytes *payload, gpointer data)
{
  Sink *s = data;

  s->got++;
  g_free (s->last);
  s->last = g_strndup (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
  if (s->unsubscribe)
    {
      lares_bus_unsubscribe (s->bus, s->unsubscribe);
      s->unsubscribe = 0;
    }
}

static JsonNode *
event (const char *type)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
test_fanout_per_user (void)
{
  g_autoptr (LaresBus) bus = lares_bus_new ();
  Sink a1 = { bus }, a2 = { bus }, b1 = { bus };
  g_autoptr (JsonNode) ev = event ("hello");

  lares_bus_subscribe (bus, 1, sink_cb, &a1);
  lares_bus_subscribe (bus, 1, sink_cb, &a2);
  lares_bus_subscribe (bus, 2, sink_cb, &b1);
  g_assert_cmpuint (lares_bus_count (bus, 1), ==, 2);
  g_assert_cmpuint (lares_bus_total (bus), ==, 3);

  g_assert_cmpuint (lares_bus_publish (bus, 1, ev), ==, 2);
  g_assert_cmpuint (a1.got, ==, 1);
  g_assert_cmpuint (a2.got, ==, 1);
  g_assert_cmpuint (b1.got, ==, 0); /* another user's event never arrives */
  g_assert_cmpstr (a1.last, ==, "{\"type\":\"hello\"}");
  g_assert_cmpuint (lares_bus_publish (bus, 3, ev), ==, 0);
  g_free (a1.last);
  g_free (a2.last);
}

static void
test_unsubscribe_in_callback (void)
{
  g_autoptr (LaresBus) bus = lares_bus_new ();
  Sink a = { bus }, b = { bus };
  g_autoptr (JsonNode) ev = event ("x");
  unsigned ida, idb;

  ida = lares_bus_subscribe (bus, 1, sink_cb, &a);
  idb = lares_bus_subscribe (bus, 1, sink_cb, &b);
  /* a's callback removes b: b must not be called with a freed record. */
  a.unsubscribe = idb;
  b.unsubscribe = 0;
  lares_bus_publish (bus, 1, ev);
  g_assert_cmpuint (a.got, ==, 1);
  g_assert_cmpuint (lares_bus_count (bus, 1), ==, 1);
  /* Self-removal. */
  a.unsubscribe = ida;
  lares_bus_publish (bus, 1, ev);
  g_assert_cmpuint (lares_bus_count (bus, 1), ==, 0);
  g_assert_cmpuint (lares_bus_total (bus), ==, 0);
  lares_bus_unsubscribe (bus, 12345); /* unknown ids are ignored */
  g_free (a.last);
  g_free (b.last);
  g_assert_cmpuint (b.got, ==, 0);
}

static void
test_publish_later (void)
{
  g_autoptr (LaresBus) bus = lares_bus_new ();
  Sink a = { bus };
  g_autoptr (JsonNode) first = event ("first");
  g_autoptr (JsonNode) second = event ("second");

  lares_bus_subscribe (bus, 1, sink_cb, &a);
  lares_bus_publish_later (bus, 1, first);
  lares_bus_publish_later (bus, 1, second);
  lares_bus_publish_later (bus, 2, first); /* nobody listens: dropped */
  g_assert_cmpuint (a.got, ==, 0);         /* not delivered synchronously */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (a.got, ==, 2);
  g_assert_cmpstr (a.last, ==, "{\"type\":\"second\"}"); /* in order */
  g_free (a.last);
  /* Freeing the bus with events still queued drops them cleanly. */
  lares_bus_publish_later (bus, 1, first);
}

static gboolean
always_ready (gpointer data)
{
  (*(unsigned *)data)++;
  return G_SOURCE_CONTINUE;
}

/* Iterate until @sink has @n events, failing after 10 s. */
static void
wait_for (Sink *sink, unsigned n)
{
  int64_t deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (sink->got < n)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("%u of %u events after 10 s", sink->got, n);
      g_main_context_iteration (NULL, FALSE);
    }
}

/* A default-priority source ready on every pass stands for steady load
 * (token streams, requests): a deferred event must not wait for the load
 * to stop, and goes out once. */
static void
test_publish_later_under_load (void)
{
  g_autoptr (LaresBus) bus = lares_bus_new ();
  Sink a = { bus };
  g_autoptr (JsonNode) ev = event ("note_created");
  unsigned busy = 0, busy_id;

  lares_bus_subscribe (bus, 1, sink_cb, &a);
  busy_id = g_idle_add_full (G_PRIORITY_DEFAULT, always_ready, &busy, NULL);
  lares_bus_publish_later (bus, 1, ev);
  wait_for (&a, 1);
  g_assert_cmpuint (busy, >, 0);
  for (int i = 0; i < 100; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (a.got, ==, 1);
  g_source_remove (busy_id);
  g_free (a.last);
}

typedef struct
{
  Sink *sink;
  gboolean wrote;
  unsigned got_at_write; /* events the sink had when the answer went out */
} Reply;

static gboolean
reply_write (gpointer data)
{
  Reply *r = data;

  r->wrote = TRUE;
  r->got_at_write = r->sink->got;
  return G_SOURCE_REMOVE;
}

/* libsoup's unpause: a default-priority source whose only work is to make
 * the message's I/O source ready, which writes the answer a pass later. */
static gboolean
reply_unpause (gpointer data)
{
  g_idle_add_full (G_PRIORITY_DEFAULT, reply_write, data, NULL);
  return G_SOURCE_REMOVE;
}

/* A route answers (unpause), then publishes the change: on a quiet loop the
 * answer is written before the event goes out. */
static void
test_publish_later_after_reply (void)
{
  g_autoptr (LaresBus) bus = lares_bus_new ();
  Sink a = { bus };
  g_autoptr (JsonNode) ev = event ("note_created");
  Reply r = { &a, FALSE, G_MAXUINT };

  lares_bus_subscribe (bus, 1, sink_cb, &a);
  g_idle_add_full (G_PRIORITY_DEFAULT, reply_unpause, &r, NULL);
  lares_bus_publish_later (bus, 1, ev);
  wait_for (&a, 1);
  g_assert_true (r.wrote);
  g_assert_cmpuint (r.got_at_write, ==, 0);
  g_free (a.last);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bus/fanout-per-user", test_fanout_per_user);
  g_test_add_func ("/bus/unsubscribe-in-callback", test_unsubscribe_in_callback);
  g_test_add_func ("/bus/publish-later", test_publish_later);
  g_test_add_func ("/bus/publish-later/under-load", test_publish_later_under_load);
  g_test_add_func ("/bus/publish-later/after-reply", test_publish_later_after_reply);
  return g_test_run ();
}
