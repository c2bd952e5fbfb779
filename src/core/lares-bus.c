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

struct _LaresBus
{
  GHashTable *by_user; /* int64 user id -> GPtrArray<Sub> (owned) */
  GHashTable *by_id;   /* subscription id -> Sub (borrowed from by_user) */
  unsigned next_id;
  unsigned total;
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

void
lares_bus_free (LaresBus *bus)
{
  if (bus == NULL)
    return;
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

unsigned
lares_bus_publish (LaresBus *bus, int64_t user_id, JsonNode *event)
{
  g_autoptr (JsonGenerator) gen = NULL;
  g_autoptr (GBytes) payload = NULL;
  size_t len = 0;
  char *text;

  g_return_val_if_fail (event != NULL, 0);
  if (lares_bus_count (bus, user_id) == 0)
    return 0;
  gen = json_generator_new ();
  json_generator_set_root (gen, event);
  text = json_generator_to_data (gen, &len);
  payload = g_bytes_new_take (text, len);
  return lares_bus_publish_bytes (bus, user_id, payload);
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
