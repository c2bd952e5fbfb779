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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bus/fanout-per-user", test_fanout_per_user);
  g_test_add_func ("/bus/unsubscribe-in-callback", test_unsubscribe_in_callback);
  g_test_add_func ("/bus/publish-later", test_publish_later);
  return g_test_run ();
}
