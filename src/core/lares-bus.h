/* lares-bus.h — the per-user event bus.
 *
 * Producers (stores, the scheduler, turns) publish a JSON event for a user;
 * every subscriber of that user (each WebSocket of each open tab, overlay or
 * satellite) receives the same serialized bytes.  The event is serialized
 * once per publish, however many subscribers there are.
 *
 * Main-context only: publish, subscribe and unsubscribe must all run on the
 * thread that owns the main context.  A subscriber may unsubscribe itself or
 * others from inside its callback; the current publish still finishes over
 * the subscribers that existed when it started, skipping removed ones.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct _LaresBus LaresBus;

/* @payload: the event as UTF-8 JSON text (transfer none). */
typedef void (*LaresBusFunc) (GBytes *payload, gpointer user_data);

LaresBus *lares_bus_new (void);
void lares_bus_free (LaresBus *bus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresBus, lares_bus_free)

/* Returns a subscription id (never 0) for lares_bus_unsubscribe(). */
unsigned lares_bus_subscribe (LaresBus *bus, int64_t user_id, LaresBusFunc func,
                              gpointer user_data);
void lares_bus_unsubscribe (LaresBus *bus, unsigned id);

/* Deliver @event (transfer none; an object with a "type" member) to every
 * subscriber of @user_id.  Returns how many received it. */
unsigned lares_bus_publish (LaresBus *bus, int64_t user_id, JsonNode *event);

/* Same, with an already-serialized payload. */
unsigned lares_bus_publish_bytes (LaresBus *bus, int64_t user_id, GBytes *payload);

/* Deliver @event once the main loop is idle instead of now, so the
 * caller's own reply (an HTTP response resumed just before) goes out
 * first; under steady load, after at most ~2 ms.  Events queued this way
 * keep their order.  Serializes @event at once (transfer none). */
void lares_bus_publish_later (LaresBus *bus, int64_t user_id, JsonNode *event);

/* Tell every connection of @user_id that a row changed, after the current
 * main-loop pass (publish_later): {"type": @type, @member: @row} or, with
 * @row NULL, {"type": @type, "id": @id}.  Nothing is built when nobody
 * listens.  @bus may be NULL (nothing to tell).  @row: (transfer none). */
void lares_bus_publish_change (LaresBus *bus, int64_t user_id, const char *type, const char *member,
                               JsonNode *row, int64_t id);

unsigned lares_bus_count (LaresBus *bus, int64_t user_id);
unsigned lares_bus_total (LaresBus *bus);

G_END_DECLS
