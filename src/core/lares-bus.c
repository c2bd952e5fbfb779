/* lares-bus.c — per-user fan-out.
 *
 * DESIGN: subscribers live in a hash table user_id -> GPtrArray of Sub.
 * A publish takes a snapshot of the user's array (refs on each Sub) so a
 * callback may change the set freely; a removed Sub is flagged dead and
 * skipped.  Everything runs on the main context, so there are no locks.
 */
#include "config.h"

#include "lares-bus.h"

typedef struct
{
  gatomicrefcount ref;
  unsigned id;
  int64_t user_id;
  gboolean dead;
  LaresBusFunc func;
  gpointer user_data;
} Sub;

typedef struct
{
  int64_t user_id;
  GBytes *payload; /* (owned) */
} Pending;

struct _LaresBus
{
  GHashTable *by_user; /* int64 user id -> GPtrArray<Sub> (owned) */
  GHashTable *by_id;   /* subscription id -> Sub (borrowed from by_user) */
  unsigned next_id;
  unsigned total;
  GQueue pending;       /* Pending* for lares_bus_publish_later, FIFO */
  unsigned idle_id;     /* idle source flushing @pending, 0 if none */
  unsigned backstop_id; /* the same at the default priority, LATER_MAX_MS on */
};

static Sub *
sub_ref (Sub *s)
{
  g_atomic_ref_count_inc (&s->ref);
  return s;
}

static void
sub_unref (gpointer p)
{
  Sub *s = p;

  if (g_atomic_ref_count_dec (&s->ref))
    g_free (s);
}

LaresBus *
lares_bus_new (void)
{
  LaresBus *bus = g_new0 (LaresBus, 1);

  bus->by_user = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                        (GDestroyNotify)g_ptr_array_unref);
  bus->by_id = g_hash_table_new (g_direct_hash, g_direct_equal);
  bus->next_id = 1;
  return bus;
}

static void
pending_free (gpointer p)
{
  Pending *pe = p;

  g_bytes_unref (pe->payload);
  g_free (pe);
}

void
lares_bus_free (LaresBus *bus)
{
  if (bus == NULL)
    return;
  g_clear_handle_id (&bus->idle_id, g_source_remove);
  g_clear_handle_id (&bus->backstop_id, g_source_remove);
  g_queue_clear_full (&bus->pending, pending_free);
  g_hash_table_destroy (bus->by_id);
  g_hash_table_destroy (bus->by_user);
  g_free (bus);
}

unsigned
lares_bus_subscribe (LaresBus *bus, int64_t user_id, LaresBusFunc func, gpointer user_data)
{
  GPtrArray *subs = g_hash_table_lookup (bus->by_user, &user_id);
  Sub *s = g_new0 (Sub, 1);

  g_return_val_if_fail (func != NULL, 0);

  g_atomic_ref_count_init (&s->ref);
  s->id = bus->next_id++;
  if (bus->next_id == 0)
    bus->next_id = 1;
  s->user_id = user_id;
  s->func = func;
  s->user_data = user_data;
  if (subs == NULL)
    {
      int64_t *key = g_new (int64_t, 1);
      *key = user_id;
      subs = g_ptr_array_new_with_free_func (sub_unref);
      g_hash_table_insert (bus->by_user, key, subs);
    }
  g_ptr_array_add (subs, s);
  g_hash_table_insert (bus->by_id, GUINT_TO_POINTER (s->id), s);
  bus->total++;
  return s->id;
}

void
lares_bus_unsubscribe (LaresBus *bus, unsigned id)
{
  Sub *s = g_hash_table_lookup (bus->by_id, GUINT_TO_POINTER (id));
  GPtrArray *subs;
  int64_t user_id;

  if (s == NULL)
    return;
  g_hash_table_remove (bus->by_id, GUINT_TO_POINTER (id));
  s->dead = TRUE;
  bus->total--;
  user_id = s->user_id;
  subs = g_hash_table_lookup (bus->by_user, &user_id);
  g_ptr_array_remove_fast (subs, s); /* may free s: do not touch it below */
  if (subs->len == 0)
    g_hash_table_remove (bus->by_user, &user_id);
}

unsigned
lares_bus_publish_bytes (LaresBus *bus, int64_t user_id, GBytes *payload)
{
  GPtrArray *subs = g_hash_table_lookup (bus->by_user, &user_id);
  g_autoptr (GPtrArray) snapshot = NULL;
  unsigned delivered = 0;

  if (subs == NULL || subs->len == 0)
    return 0;
  snapshot = g_ptr_array_new_full (subs->len, sub_unref);
  for (unsigned i = 0; i < subs->len; i++)
    g_ptr_array_add (snapshot, sub_ref (subs->pdata[i]));
  for (unsigned i = 0; i < snapshot->len; i++)
    {
      Sub *s = snapshot->pdata[i];
      if (s->dead)
        continue;
      s->func (payload, s->user_data);
      delivered++;
    }
  return delivered;
}

static GBytes *
serialize (JsonNode *event)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  size_t len = 0;
  char *text;

  json_generator_set_root (gen, event);
  text = json_generator_to_data (gen, &len);
  return g_bytes_new_take (text, len);
}

unsigned
lares_bus_publish (LaresBus *bus, int64_t user_id, JsonNode *event)
{
  g_autoptr (GBytes) payload = NULL;

  g_return_val_if_fail (event != NULL, 0);
  if (lares_bus_count (bus, user_id) == 0)
    return 0;
  payload = serialize (event);
  return lares_bus_publish_bytes (bus, user_id, payload);
}

/* How long steady load may hold deferred events back (see
 * lares_bus_publish_later). */
#define LATER_MAX_MS 2

/* From either source: removing both (the one running included) leaves
 * nothing to fire with an empty queue. */
static gboolean
flush_pending (gpointer data)
{
  LaresBus *bus = data;
  Pending *pe;

  g_clear_handle_id (&bus->idle_id, g_source_remove);
  g_clear_handle_id (&bus->backstop_id, g_source_remove);
  while ((pe = g_queue_pop_head (&bus->pending)) != NULL)
    {
      lares_bus_publish_bytes (bus, pe->user_id, pe->payload);
      pending_free (pe);
    }
  return G_SOURCE_REMOVE;
}

void
lares_bus_publish_later (LaresBus *bus, int64_t user_id, JsonNode *event)
{
  Pending *pe;

  g_return_if_fail (event != NULL);
  if (lares_bus_count (bus, user_id) == 0)
    return;
  pe = g_new0 (Pending, 1);
  pe->user_id = user_id;
  pe->payload = serialize (event);
  g_queue_push_tail (&bus->pending, pe);
  if (bus->idle_id != 0)
    return;
  /* An idle source, so the caller's reply goes out first: libsoup resumes
   * a paused message from a default-priority source, and that one only
   * makes its I/O source ready for the pass after, so anything of default
   * priority would run before the write.  But GLib dispatches only the
   * highest priority ready on a pass, and under steady load (token
   * streams, requests) some default-priority source is ready on every
   * pass: an idle source alone would wait as long as the load lasts.  The
   * backstop, at the default priority, bounds that wait. */
  bus->idle_id = g_idle_add (flush_pending, bus);
  bus->backstop_id = g_timeout_add (LATER_MAX_MS, flush_pending, bus);
}

void
lares_bus_publish_change (LaresBus *bus, int64_t user_id, const char *type, const char *member,
                          JsonNode *row, int64_t id)
{
  g_autoptr (JsonNode) event = NULL;
  JsonObject *o;

  if (bus == NULL || lares_bus_count (bus, user_id) == 0)
    return;
  o = json_object_new ();
  json_object_set_string_member (o, "type", type);
  if (row)
    json_object_set_member (o, member, json_node_copy (row));
  else
    json_object_set_int_member (o, "id", id);
  event = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (event, o);
  /* After the caller's own answer: the writer should not wait for the fan-out. */
  lares_bus_publish_later (bus, user_id, event);
}

unsigned
lares_bus_count (LaresBus *bus, int64_t user_id)
{
  GPtrArray *subs = g_hash_table_lookup (bus->by_user, &user_id);

  return subs ? subs->len : 0;
}

unsigned
lares_bus_total (LaresBus *bus)
{
  return bus->total;
}
