/* test-crash.c — nothing acknowledged is lost (SPEC §12).
 *
 * Four writer threads post notes, tasks and reminders in turn as fast as
 * the daemon acknowledges them.  Once enough are acknowledged the daemon is
 * killed with SIGKILL while the writers are still mid-request.  A new
 * daemon on the same data directory must return every acknowledged note,
 * task and reminder with its exact text; requests that were in flight at
 * the kill may or may not be there, but nothing else.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>

#include "lares-test.h"

#define WRITERS    4
#define KILL_AFTER 300
#define ROUNDS     2

typedef struct
{
  LaresTestDaemon *d;
  GMutex lock;
  GHashTable *acked; /* "KIND:ID" -> text (owned), KIND note, task or reminder */
  gboolean stop;
  int acked_count;
  int writers_gone;
  GCond enough;
} CrashState;

typedef struct
{
  CrashState *st;
  int writer;
} Writer;

static gpointer
writer_thread (gpointer data)
{
  Writer *w = data;
  CrashState *st = w->st;
  g_autoptr (SoupSession) session = lares_test_session_new (10);
  g_autofree char *bearer = g_strconcat ("Bearer ", st->d->token, NULL);

  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) tomorrow = g_date_time_add_days (now, 1);
  g_autofree char *at = g_date_time_format (tomorrow, "%Y-%m-%dT%H:%M:%SZ");

  for (int i = 0;; i++)
    {
      /* Each writer starts at another kind, so all three are in flight. */
      static const char *const kinds[] = { "note", "task", "reminder" };
      static const char *const paths[] = { "notes", "tasks", "reminders" };
      int k = (i + w->writer) % 3;
      g_autofree char *url = g_strdup_printf ("%s/api/v1/%s", st->d->base, paths[k]);
      g_autofree char *text =
          g_strdup_printf ("writer %d %s %d %08x", w->writer, kinds[k], i, g_random_int ());
      g_autofree char *json = k == 0 ? g_strdup_printf ("{\"body\":\"%s\"}", text)
                              : k == 1
                                  ? g_strdup_printf ("{\"description\":\"%s\"}", text)
                                  : g_strdup_printf ("{\"text\":\"%s\",\"at\":\"%s\"}", text, at);
      g_autoptr (SoupMessage) msg = soup_message_new ("POST", url);
      g_autoptr (GBytes) req = g_bytes_new (json, strlen (json));
      g_autoptr (GBytes) resp = NULL;
      g_autoptr (JsonParser) parser = json_parser_new ();
      int64_t id;

      g_mutex_lock (&st->lock);
      if (st->stop)
        {
          g_mutex_unlock (&st->lock);
          break;
        }
      g_mutex_unlock (&st->lock);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    bearer);
      soup_message_set_request_body_from_bytes (msg, "application/json", req);
      resp = soup_session_send_and_read (session, msg, NULL, NULL);
      if (resp == NULL || soup_message_get_status (msg) != 201)
        {
          /* The daemon is gone (this write was never acknowledged), or it
           * refused the write, which the main thread then reports. */
          if (resp != NULL)
            g_test_message ("writer %d: unexpected status %u", w->writer,
                            soup_message_get_status (msg));
          break;
        }
      /* Killed between the status line and the body: the client never
       * learned the id, so the write was not acknowledged to it. */
      if (g_bytes_get_size (resp) == 0)
        break;
      g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (resp, NULL),
                                                 (gssize)g_bytes_get_size (resp), NULL));
      id = json_object_get_int_member (json_node_get_object (json_parser_get_root (parser)), "id");
      g_mutex_lock (&st->lock);
      g_hash_table_insert (st->acked, g_strdup_printf ("%s:%" G_GINT64_FORMAT, kinds[k], id),
                           g_steal_pointer (&text));
      if (++st->acked_count >= KILL_AFTER)
        g_cond_signal (&st->enough);
      g_mutex_unlock (&st->lock);
    }
  g_mutex_lock (&st->lock);
  st->writers_gone++;
  g_cond_signal (&st->enough);
  g_mutex_unlock (&st->lock);
  return NULL;
}

/* The text of reminder @id in the daemon's list of all reminders. */
static const char *
reminder_text (JsonArray *list, int64_t id)
{
  for (unsigned i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *job = json_array_get_object_element (list, i);
      if (json_object_get_int_member (job, "id") == id)
        return json_object_get_string_member (job, "text");
    }
  return NULL;
}

static void
verify (LaresTestDaemon *d, GHashTable *acked)
{
  GHashTableIter it;
  gpointer key, value;
  unsigned checked[3] = { 0 };
  unsigned status;
  g_autoptr (GBytes) all = lares_test_http (
      d, "GET", "/api/v1/reminders?status=all&kind=all&limit=1000", NULL, NULL, 0, &status, NULL);
  g_autoptr (JsonNode) reminders = NULL;
  JsonArray *list;

  g_assert_cmpuint (status, ==, 200);
  reminders = lares_test_json (all);
  list = json_object_get_array_member (json_node_get_object (reminders), "reminders");
  g_hash_table_iter_init (&it, acked);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      const char *colon = strchr (key, ':');
      int64_t id = g_ascii_strtoll (colon + 1, NULL, 10);
      g_autofree char *path = NULL;
      g_autoptr (GBytes) body = NULL;
      g_autoptr (JsonNode) root = NULL;

      if (g_str_has_prefix (key, "reminder:"))
        {
          g_assert_cmpstr (reminder_text (list, id), ==, value);
          checked[2]++;
          continue;
        }
      path = g_strdup_printf ("/api/v1/%s/%" G_GINT64_FORMAT,
                              g_str_has_prefix (key, "note:") ? "notes" : "tasks", id);
      body = lares_test_http (d, "GET", path, NULL, NULL, 0, &status, NULL);
      g_assert_cmpuint (status, ==, 200);
      root = lares_test_json (body);
      if (g_str_has_prefix (key, "note:"))
        {
          g_assert_cmpstr (json_object_get_string_member (json_node_get_object (root), "body"), ==,
                           value);
          checked[0]++;
        }
      else
        {
          g_assert_cmpstr (
              json_object_get_string_member (json_node_get_object (root), "description"), ==,
              value);
          checked[1]++;
        }
    }
  g_test_message ("all acknowledged writes survived: %u notes, %u tasks, %u reminders", checked[0],
                  checked[1], checked[2]);
}

static void
test_sigkill_during_writes (void)
{
  g_autofree char *dir = lares_test_tmpdir ();
  g_autoptr (GHashTable) acked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (int round = 0; round < ROUNDS; round++)
    {
      LaresTestDaemon *d = lares_test_daemon_start (dir, NULL);
      CrashState st = { 0 };
      GThread *threads[WRITERS];
      Writer writers[WRITERS];
      int64_t total_before_restart;

      st.d = d;
      st.acked = acked;
      g_mutex_init (&st.lock);
      g_cond_init (&st.enough);
      /* Earlier rounds' notes must still be there before adding more. */
      verify (d, acked);
      st.acked_count = 0;
      for (int i = 0; i < WRITERS; i++)
        {
          writers[i] = (Writer){ &st, i };
          threads[i] = g_thread_new ("writer", writer_thread, &writers[i]);
        }
      g_mutex_lock (&st.lock);
      while (st.acked_count < KILL_AFTER && st.writers_gone < WRITERS)
        g_cond_wait (&st.enough, &st.lock);
      /* Every writer must still be writing when the kill comes. */
      g_assert_cmpint (st.writers_gone, ==, 0);
      g_mutex_unlock (&st.lock);

      /* Kill while the writers are still sending. */
      g_assert_cmpint (lares_test_daemon_stop (d, SIGKILL), ==, 128 + SIGKILL);
      g_mutex_lock (&st.lock);
      st.stop = TRUE;
      g_mutex_unlock (&st.lock);
      for (int i = 0; i < WRITERS; i++)
        g_thread_join (threads[i]);
      total_before_restart = lares_test_db_count (dir, "notes") +
                             lares_test_db_count (dir, "tasks") + lares_test_db_count (dir, "jobs");
      g_assert_cmpint (total_before_restart, >=, g_hash_table_size (acked));
      g_mutex_clear (&st.lock);
      g_cond_clear (&st.enough);
      lares_test_daemon_free (d, FALSE);
    }

  {
    LaresTestDaemon *d = lares_test_daemon_start (dir, NULL);
    verify (d, acked);
    g_assert_cmpint (lares_test_daemon_stop (d, SIGTERM), ==, 0);
    lares_test_daemon_free (d, TRUE);
  }
  g_free (g_steal_pointer (&dir));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/crash/sigkill-during-writes", test_sigkill_during_writes);
  return g_test_run ();
}
