/* routes/calendar.c — /api/v1/events and the iCalendar feed and import.
 *
 *   GET    /api/v1/events?from=&to=          occurrences in [from, to) (at most a year)
 *   POST   /api/v1/events                    create → 201 {"event"}
 *   GET    /api/v1/events/{id}               {"event"} with its overrides
 *   POST   /api/v1/events/{id}               change the given fields → {"event"}
 *   DELETE /api/v1/events?from=&to=&title=&ids=  calendar.delete_many → 202 {"approval"}
 *   DELETE /api/v1/events/{id}               {"deleted": true}
 *   POST   /api/v1/events/{id}/occurrences   change or cancel one occurrence
 *   POST   /api/v1/calendar/feed             make (or replace) the feed key → {"url"}
 *   GET    /api/v1/calendar.ics[?key=]       the whole calendar as text/calendar
 *   POST   /api/v1/calendar/import           text/calendar body → {imported, updated, skipped}
 *
 * Like tasks.c: one store call per request, the answer from its callback,
 * writes acknowledged after COMMIT.  A change is applied to the stored
 * event inside the write (so two changes never lose each other's fields)
 * and checked there; a refused change rolls back and is a 400.  Writes
 * keep the event's reminder job in step in the same transaction; the
 * scheduler hears of it from the callback (lares_scheduler_track).
 *
 * The feed key (?key=) is the one credential that travels in a URL: the
 * route carries LARES_ROUTE_FEED_KEY, lares-http-auth.c checks the key's
 * digest instead of a token or cookie for it, and the request log never
 * prints query strings.
 */
#include "config.h"

#include "lares-chat-store.h"
#include "lares-events.h"
#include "lares-http-private.h"
#include "lares-ical.h"
#include "lares-recur.h"
#include "lares-util.h"

#define IMPORT_MAX (8 * 1024 * 1024) /* bytes of iCalendar */

typedef struct
{
  LaresRequest *req;
  LaresServer *server;
  int64_t user_id;
  int64_t id;
  int64_t now_ms;
  JsonObject *change;     /* request body (ref) */
  LaresEvent *event;      /* result (owned) */
  LaresJob *job;          /* the event's reminder job after a write (owned) */
  GArray *job_ids;        /* pending reminder jobs that went with a deleted event */
  GPtrArray *events;      /* range: the events occurrences borrow from */
  GPtrArray *occurrences; /* range result */
  gboolean truncated;
  int64_t from, to;
  GBytes *body;       /* import input */
  char *text;         /* feed output (owned) */
  GPtrArray *jobs;    /* import: reminder jobs touched */
  JsonArray *skipped; /* import */
  unsigned added, updated;
  uint8_t digest[LARES_DIGEST_LEN];
} CalOp;

static CalOp *
op_new (LaresRequest *req)
{
  CalOp *op = g_new0 (CalOp, 1);

  op->req = req;
  op->server = req->server;
  op->user_id = req->user_id;
  op->id = req->path_id;
  op->now_ms = lares_scheduler_now_ms (req->server->scheduler);
  if (req->body && JSON_NODE_HOLDS_OBJECT (req->body))
    op->change = json_object_ref (json_node_get_object (req->body));
  return op;
}

static void
op_free (CalOp *op)
{
  if (op->change)
    json_object_unref (op->change);
  lares_event_free (op->event);
  lares_job_free (op->job);
  if (op->job_ids)
    g_array_unref (op->job_ids);
  if (op->occurrences)
    g_ptr_array_unref (op->occurrences);
  if (op->events)
    g_ptr_array_unref (op->events);
  if (op->body)
    g_bytes_unref (op->body);
  g_free (op->text);
  if (op->jobs)
    g_ptr_array_unref (op->jobs);
  if (op->skipped)
    json_array_unref (op->skipped);
  g_free (op);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CalOp, op_free)

static void
respond_error (LaresRequest *req, const GError *error)
{
  if (error->domain == LARES_EVENT_ERROR || error->domain == LARES_RECUR_ERROR)
    lares_request_respond_error (req, 400, "invalid_argument", "%s", error->message);
  else
    lares_request_respond_gerror (req, error);
}

/* The zone for times without one: the user's setting, else the daemon's. */
static char *
user_tzid (sqlite3 *db, int64_t user_id)
{
  g_autofree char *setting = lares_user_setting_get (db, user_id, "timezone", NULL);

  return lares_event_default_tzid (setting);
}

/* Tell the scheduler what the write did to reminder jobs. */
static void
track_jobs (CalOp *op)
{
  LaresScheduler *sched = op->server->scheduler;

  if (sched == NULL)
    return;
  if (op->job)
    lares_scheduler_track (sched, op->job);
  for (unsigned i = 0; op->jobs && i < op->jobs->len; i++)
    lares_scheduler_track (sched, op->jobs->pdata[i]);
  for (unsigned i = 0; op->job_ids && i < op->job_ids->len; i++)
    {
      LaresJob gone = { 0 };

      gone.id = g_array_index (op->job_ids, int64_t, i);
      gone.user_id = op->user_id;
      gone.status = LARES_JOB_CANCELLED;
      lares_scheduler_track (sched, &gone);
    }
}

static void
respond_event (CalOp *op, unsigned status, const char *change)
{
  g_autoptr (JsonNode) node = lares_event_to_json (op->event, TRUE);
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o = json_object_new ();
  LaresServer *server = op->server;

  json_object_set_member (o, "event", json_node_copy (node));
  json_node_take_object (root, o);
  lares_request_respond_json (op->req, status, root);
  if (change)
    lares_server_publish_change (server, op->user_id, change, "event", node, 0);
}

static void
write_done (GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer data)
{
  g_autoptr (CalOp) op = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (op->server->store, result, &error))
    {
      respond_error (op->req, error);
      return;
    }
  track_jobs (op);
  respond_event (op, op->id ? 200 : 201, op->id ? "event_updated" : "event_created");
}

/* POST /api/v1/events */

static gboolean
create_run (sqlite3 *db, gpointer data, GError **error)
{
  CalOp *op = data;
  LaresEvent *ev = lares_event_new ();

  op->event = ev;
  ev->user_id = op->user_id;
  g_free (ev->tzid);
  ev->tzid = user_tzid (db, op->user_id);
  return lares_event_apply_json (ev, op->change, TRUE, error) &&
         lares_events_insert (db, ev, op->now_ms, &op->job, error);
}

static void
events_create (LaresRequest *req)
{
  CalOp *op = op_new (req);

  op->id = 0;
  lares_store_write_async (req->server->store, create_run, op, NULL, write_done, op);
}

/* POST /api/v1/events/{id} */

static gboolean
update_run (sqlite3 *db, gpointer data, GError **error)
{
  CalOp *op = data;

  op->event = lares_events_get (db, op->user_id, op->id, error);
  return op->event != NULL && lares_event_apply_json (op->event, op->change, FALSE, error) &&
         lares_events_update (db, op->event, op->now_ms, FALSE, &op->job, error);
}

static void
events_update (LaresRequest *req)
{
  CalOp *op = op_new (req);

  lares_store_write_async (req->server->store, update_run, op, NULL, write_done, op);
}

/* POST /api/v1/events/{id}/occurrences */

static gboolean
occ_time (CalOp *op, JsonObject *o, const char *name, GTimeZone *tz, int64_t *out, GError **error)
{
  JsonNode *n = json_object_get_member (o, name);
  gboolean is_date;

  if (n == NULL || json_node_get_value_type (n) != G_TYPE_STRING ||
      !lares_event_parse_time (json_node_get_string (n), tz, out, &is_date) ||
      is_date != op->event->all_day)
    {
      g_set_error (error, LARES_EVENT_ERROR, LARES_EVENT_ERROR_INVALID,
                   "'%s' must be a %s like the event's start", name,
                   op->event->all_day ? "date" : "date and time");
      return FALSE;
    }
  return TRUE;
}

static gboolean
occ_text (JsonObject *o, const char *name, char **field, GError **error)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_NULL (n))
    {
      g_clear_pointer (field, g_free);
      return TRUE;
    }
  if (json_node_get_value_type (n) != G_TYPE_STRING)
    {
      g_set_error (error, LARES_EVENT_ERROR, LARES_EVENT_ERROR_INVALID,
                   "'%s' must be a string or null", name);
      return FALSE;
    }
  g_free (*field);
  *field = g_strdup (json_node_get_string (n));
  return TRUE;
}

static gboolean
occurrence_run (sqlite3 *db, gpointer data, GError **error)
{
  static const char *const allowed[] = { "recurrence_id", "start",       "end",       "title",
                                         "location",      "description", "cancelled", NULL };
  CalOp *op = data;
  g_autoptr (GList) members = json_object_get_members (op->change);
  g_autoptr (GTimeZone) tz = NULL;
  LaresEvent *ev;
  int64_t rid;
  JsonNode *cancel = json_object_get_member (op->change, "cancelled");
  gboolean changes = FALSE;

  for (GList *l = members; l; l = l->next)
    {
      if (!g_strv_contains (allowed, l->data))
        {
          g_set_error (error, LARES_EVENT_ERROR, LARES_EVENT_ERROR_INVALID,
                       "'%s' is not a field of an occurrence", (const char *)l->data);
          return FALSE;
        }
      changes |= strcmp (l->data, "recurrence_id") != 0 && strcmp (l->data, "cancelled") != 0;
    }
  op->event = ev = lares_events_get (db, op->user_id, op->id, error);
  if (ev == NULL)
    return FALSE;
  if (ev->rrule == NULL)
    {
      g_set_error (error, LARES_EVENT_ERROR, LARES_EVENT_ERROR_INVALID,
                   "the event does not repeat; change the event itself");
      return FALSE;
    }
  tz = lares_recur_zone (ev->tzid);
  if (!occ_time (op, op->change, "recurrence_id", tz, &rid, error))
    return FALSE;
  if (!lares_event_is_occurrence (ev, rid) && lares_event_find_override (ev, rid) == NULL)
    {
      g_set_error (error, LARES_EVENT_ERROR, LARES_EVENT_ERROR_INVALID,
                   "'recurrence_id' is not an occurrence of the event");
      return FALSE;
    }
  if (cancel && json_node_get_value_type (cancel) != G_TYPE_BOOLEAN)
    {
      g_set_error (error, LARES_EVENT_ERROR, LARES_EVENT_ERROR_INVALID,
                   "'cancelled' must be true or false");
      return FALSE;
    }
  if (cancel && json_node_get_boolean (cancel))
    {
      if (changes)
        {
          g_set_error (error, LARES_EVENT_ERROR, LARES_EVENT_ERROR_INVALID,
                       "a cancelled occurrence takes no other changes");
          return FALSE;
        }
      lares_event_remove_override (ev, rid);
      lares_event_add_exdate (ev, rid);
    }
  else
    {
      if (cancel)
        lares_event_remove_exdate (ev, rid);
      if (changes)
        {
          LaresEventOverride *old = lares_event_find_override (ev, rid);
          LaresEventOverride *o = g_new0 (LaresEventOverride, 1);
          int64_t dur;

          o->recurrence_id = rid;
          o->start_at = old ? old->start_at : rid;
          o->end_at = old ? old->end_at : rid + (ev->end_at - ev->start_at);
          o->title = old ? g_strdup (old->title) : NULL;
          o->location = old ? g_strdup (old->location) : NULL;
          o->description = old ? g_strdup (old->description) : NULL;
          dur = o->end_at - o->start_at;
          lares_event_put_override (ev, o); /* takes o; frees old */
          if (json_object_has_member (op->change, "start"))
            {
              if (!occ_time (op, op->change, "start", tz, &o->start_at, error))
                return FALSE;
              o->end_at = o->start_at + dur;
            }
          if (json_object_has_member (op->change, "end") &&
              !occ_time (op, op->change, "end", tz, &o->end_at, error))
            return FALSE;
          if (!occ_text (op->change, "title", &o->title, error) ||
              !occ_text (op->change, "location", &o->location, error) ||
              !occ_text (op->change, "description", &o->description, error))
            return FALSE;
          if (o->title)
            g_strstrip (o->title);
          lares_event_remove_exdate (ev, rid);
        }
    }
  return lares_events_update (db, ev, op->now_ms, FALSE, &op->job, error);
}

static void
events_occurrence (LaresRequest *req)
{
  CalOp *op = op_new (req);

  lares_store_write_async (req->server->store, occurrence_run, op, NULL, write_done, op);
}

/* GET /api/v1/events/{id} */

static gboolean
get_run (sqlite3 *db, gpointer data, GError **error)
{
  CalOp *op = data;

  op->event = lares_events_get (db, op->user_id, op->id, error);
  return op->event != NULL;
}

static void
get_done (GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer data)
{
  g_autoptr (CalOp) op = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_read_finish (op->server->store, result, &error))
    respond_error (op->req, error);
  else
    respond_event (op, 200, NULL);
}

static void
events_get (LaresRequest *req)
{
  CalOp *op = op_new (req);

  lares_store_read_async (req->server->store, get_run, op, NULL, get_done, op);
}

/* DELETE /api/v1/events/{id} */

static gboolean
delete_run (sqlite3 *db, gpointer data, GError **error)
{
  CalOp *op = data;

  op->job_ids = g_array_new (FALSE, FALSE, sizeof (int64_t));
  return lares_events_delete (db, op->user_id, op->id, op->job_ids, error);
}

static void
delete_done (GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer data)
{
  g_autoptr (CalOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o;

  if (!lares_store_write_finish (op->server->store, result, &error))
    {
      respond_error (op->req, error);
      return;
    }
  track_jobs (op);
  o = json_object_new ();
  json_object_set_boolean_member (o, "deleted", TRUE);
  json_node_take_object (root, o);
  lares_request_respond_json (op->req, 200, root);
  lares_server_publish_change (op->server, op->user_id, "event_deleted", NULL, NULL, op->id);
}

static void
events_delete (LaresRequest *req)
{
  CalOp *op = op_new (req);

  lares_store_write_async (req->server->store, delete_run, op, NULL, delete_done, op);
}

/* GET /api/v1/events?from=&to= */

static gboolean
range_run (sqlite3 *db, gpointer data, GError **error)
{
  CalOp *op = data;

  op->occurrences =
      lares_events_between (db, op->user_id, op->from, op->to, &op->events, &op->truncated, error);
  return op->occurrences != NULL;
}

static void
range_done (GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer data)
{
  g_autoptr (CalOp) op = data;
  g_autoptr (GError) error = NULL;
  GString *out;
  size_t len;

  if (!lares_store_read_finish (op->server->store, result, &error))
    {
      respond_error (op->req, error);
      return;
    }
  /* Up to LARES_EVENTS_EXPAND_MAX objects: written as text directly. */
  out = g_string_sized_new (256 + 256 * (size_t)op->occurrences->len);
  g_string_append (out, "{\"occurrences\":[");
  for (unsigned i = 0; i < op->occurrences->len; i++)
    {
      if (i)
        g_string_append_c (out, ',');
      lares_occurrence_append_json (out, op->occurrences->pdata[i]);
    }
  g_string_append_c (out, ']');
  if (op->truncated)
    g_string_append (out, ",\"truncated\":true");
  g_string_append_c (out, '}');
  len = out->len;
  lares_request_respond_text (op->req, 200, "application/json; charset=utf-8",
                              g_string_free (out, FALSE), len);
}

static gboolean
query_time (LaresRequest *req, const char *name, int64_t *out)
{
  const char *text = lares_request_query (req, name);
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  gboolean is_date;

  if (text == NULL || *text == '\0')
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "'from' and 'to' are required (the range to show)");
      return FALSE;
    }
  if (!lares_event_parse_time (text, utc, out, &is_date))
    {
      lares_request_respond_error (
          req, 400, "invalid_argument",
          "'%s' must be a date and time like 2026-11-21T00:00:00Z (or a date, 2026-11-21)", name);
      return FALSE;
    }
  return TRUE;
}

static void
events_range (LaresRequest *req)
{
  g_autoptr (CalOp) op = op_new (req);

  if (!query_time (req, "from", &op->from) || !query_time (req, "to", &op->to))
    return;
  if (op->to <= op->from)
    {
      lares_request_respond_error (req, 400, "invalid_argument", "'to' must be after 'from'");
      return;
    }
  if (op->to - op->from > LARES_EVENTS_RANGE_MAX_MS)
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "the range is longer than a year; ask for less");
      return;
    }
  lares_store_read_async (req->server->store, range_run, op, NULL, range_done, op);
  g_steal_pointer (&op);
}

/* DELETE /api/v1/events?from=&to=&title=&ids= : calendar.delete_many, as
 * POST /api/v1/tools/calendar.delete_many would run it (202 and an
 * approval, or 200 when nothing matches).  Times are read as GET reads
 * them and handed on as instants, so the same query names the same range
 * in both. */

#define DELETE_IDS_MAX 1000

static char *
instant_text (int64_t ms)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (ms / 1000);
  g_autofree char *base = t ? g_date_time_format (t, "%Y-%m-%dT%H:%M:%S") : NULL;

  if (base == NULL)
    return NULL;
  return ms % 1000 ? g_strdup_printf ("%s.%03dZ", base, (int)(ms % 1000))
                   : g_strconcat (base, "Z", NULL);
}

static void
events_delete_many (LaresRequest *req)
{
  const char *from = lares_request_query (req, "from");
  const char *to = lares_request_query (req, "to");
  const char *title = lares_request_query (req, "title");
  const char *ids_text = lares_request_query (req, "ids");
  g_autoptr (GArray) ids = NULL;
  g_autoptr (JsonNode) args = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o = json_object_new ();

  json_node_take_object (args, o);
  if (ids_text && !lares_parse_id_list (ids_text, DELETE_IDS_MAX, &ids))
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "'ids' must be 1 to %d event ids, separated by commas",
                                   DELETE_IDS_MAX);
      return;
    }
  if (from || to)
    {
      int64_t f, t;
      g_autofree char *ft = NULL, *tt = NULL;

      if (from == NULL || to == NULL)
        {
          lares_request_respond_error (req, 400, "invalid_argument",
                                       "give both 'from' and 'to', or neither");
          return;
        }
      if (!query_time (req, "from", &f) || !query_time (req, "to", &t))
        return;
      if (t <= f || t - f > LARES_EVENTS_RANGE_MAX_MS)
        {
          lares_request_respond_error (req, 400, "invalid_argument",
                                       "'to' must be after 'from', and at most a year later");
          return;
        }
      ft = instant_text (f);
      tt = instant_text (t);
      if (ft == NULL || tt == NULL)
        {
          lares_request_respond_error (req, 400, "invalid_argument", "the range is out of range");
          return;
        }
      json_object_set_string_member (o, "from", ft);
      json_object_set_string_member (o, "to", tt);
    }
  if (ids == NULL && title == NULL && from == NULL)
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "say which events to delete: 'from' and 'to', 'title' or "
                                   "'ids'");
      return;
    }
  if (ids)
    {
      JsonArray *a = json_array_new ();

      for (unsigned i = 0; i < ids->len; i++)
        json_array_add_int_element (a, g_array_index (ids, int64_t, i));
      json_object_set_array_member (o, "ids", a);
    }
  if (title)
    json_object_set_string_member (o, "title", title);
  lares_request_run_tool (req, "calendar.delete_many", args);
}

/* POST /api/v1/calendar/feed */

static gboolean
feed_run (sqlite3 *db, gpointer data, GError **error)
{
  CalOp *op = data;

  return lares_calendar_feed_set (db, op->user_id, op->digest, op->now_ms, error);
}

static void
feed_done (GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer data)
{
  g_autoptr (CalOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  SoupMessageHeaders *in = soup_server_message_get_request_headers (op->req->msg);
  const char *host = soup_message_headers_get_one (in, "Host");
  g_autofree char *fallback = NULL;
  g_autofree char *url = NULL;
  JsonObject *o;

  if (!lares_store_write_finish (op->server->store, result, &error))
    {
      respond_error (op->req, error);
      return;
    }
  if (host == NULL || *host == '\0' || strpbrk (host, "/?#@ \"<>\\") != NULL)
    host = fallback = g_strdup_printf ("%s:%u", op->server->cfg->listen, op->server->port);
  url = g_strdup_printf ("%s://%s/api/v1/calendar.ics?key=%s", op->server->tls ? "https" : "http",
                         host, op->text);
  o = json_object_new ();
  json_object_set_string_member (o, "url", url);
  json_node_take_object (root, o);
  lares_server_audit (op->server, op->user_id, "calendar_feed_key", op->req->ip, NULL);
  lares_request_respond_json (op->req, 200, root);
}

static void
calendar_feed (LaresRequest *req)
{
  CalOp *op = op_new (req);
  char key[LARES_SECRET_TEXT];

  lares_secret_new (FALSE, key, op->digest);
  op->text = g_strdup (key);
  memset (key, 0, sizeof key);
  lares_store_write_async (req->server->store, feed_run, op, NULL, feed_done, op);
}

/* GET /api/v1/calendar.ics */

static gboolean
ics_run (sqlite3 *db, gpointer data, GError **error)
{
  CalOp *op = data;

  op->events = lares_events_list (db, op->user_id, error);
  if (op->events == NULL)
    return FALSE;
  op->text = lares_ical_export (op->events, "lares");
  return TRUE;
}

static void
ics_done (GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer data)
{
  g_autoptr (CalOp) op = data;
  g_autoptr (GError) error = NULL;
  size_t len;

  if (!lares_store_read_finish (op->server->store, result, &error))
    {
      respond_error (op->req, error);
      return;
    }
  len = strlen (op->text);
  lares_request_respond_text (op->req, 200, "text/calendar; charset=utf-8",
                              g_steal_pointer (&op->text), len);
}

static void
calendar_ics (LaresRequest *req)
{
  CalOp *op = op_new (req);

  lares_store_read_async (req->server->store, ics_run, op, NULL, ics_done, op);
}

/* POST /api/v1/calendar/import: parsing and writing in one write job, so
 * a file that fails anywhere writes nothing. */

static gboolean
import_run (sqlite3 *db, gpointer data, GError **error)
{
  CalOp *op = data;
  g_autofree char *tzid = user_tzid (db, op->user_id);
  size_t len = 0;
  const char *text = g_bytes_get_data (op->body, &len);
  g_autoptr (LaresIcalImport) imp =
      lares_ical_parse (text ? text : "", len, tzid, op->now_ms, error);

  if (imp == NULL)
    return FALSE;
  op->jobs = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_job_free);
  op->skipped = json_array_ref (imp->skipped);
  return lares_events_import (db, op->user_id, imp->events, imp->orphans, op->now_ms, &op->added,
                              &op->updated, op->skipped, op->jobs, error);
}

static void
import_done (GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer data)
{
  g_autoptr (CalOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o;
  LaresServer *server = op->server;

  if (!lares_store_write_finish (op->server->store, result, &error))
    {
      respond_error (op->req, error);
      return;
    }
  track_jobs (op);
  o = json_object_new ();
  json_object_set_int_member (o, "imported", op->added + op->updated);
  json_object_set_int_member (o, "updated", op->updated);
  json_object_set_array_member (o, "skipped", json_array_ref (op->skipped));
  json_node_take_object (root, o);
  lares_request_respond_json (op->req, 200, root);
  if (op->added + op->updated)
    lares_server_publish_change (server, op->user_id, "event_updated", NULL, NULL, 0);
}

static void
calendar_import (LaresRequest *req)
{
  SoupMessageHeaders *in = soup_server_message_get_request_headers (req->msg);
  const char *ctype = soup_message_headers_get_content_type (in, NULL);
  CalOp *op;

  if (g_strcmp0 (ctype, "text/calendar") != 0)
    {
      lares_request_respond_error (req, 415, "unsupported_media_type",
                                   "send the file as text/calendar");
      return;
    }
  op = op_new (req);
  op->body = soup_message_body_flatten (soup_server_message_get_request_body (req->msg));
  lares_store_write_async (req->server->store, import_run, op, NULL, import_done, op);
}

const LaresRoute lares_calendar_routes[] = {
  { "GET", "/api/v1/events", events_range, 0, "events.range" },
  { "POST", "/api/v1/events", events_create, LARES_ROUTE_JSON_BODY, "events.create" },
  { "GET", "/api/v1/events/{id}", events_get, 0, "events.get" },
  { "POST", "/api/v1/events/{id}", events_update, LARES_ROUTE_JSON_BODY, "events.update" },
  { "DELETE", "/api/v1/events", events_delete_many, 0, "events.delete_many" },
  { "DELETE", "/api/v1/events/{id}", events_delete, 0, "events.delete" },
  { "POST", "/api/v1/events/{id}/occurrences", events_occurrence, LARES_ROUTE_JSON_BODY,
    "events.occurrence" },
  { "POST", "/api/v1/calendar/feed", calendar_feed, 0, "calendar.feed" },
  { "GET", "/api/v1/calendar.ics", calendar_ics, LARES_ROUTE_FEED_KEY, "calendar.ics" },
  { "POST", "/api/v1/calendar/import", calendar_import, 0, "calendar.import", IMPORT_MAX },
  { NULL },
};
