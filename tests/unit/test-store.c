/* test-store.c — open and migrate, async writes and reads, user scoping,
 * refusing a newer schema, the data-directory lock and online backup. */
#include "config.h"

#include <glib/gstdio.h>

#include "lares-datadir.h"
#include "lares-notes.h"
#include "lares-store.h"
#include "lares-test.h"
#include "lares-users.h"

static int
read_user_version (const char *dir)
{
  sqlite3 *db = lares_test_db_open (dir);
  sqlite3_stmt *stmt = NULL;
  int v;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  v = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return v;
}

static void
test_open_migrates (void)
{
  g_autofree char *dir = lares_test_tmpdir ();
  g_autoptr (GError) error = NULL;
  LaresStore *store = lares_store_open (dir, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  lares_store_close (store);
  g_assert_cmpint (read_user_version (dir), ==, lares_store_schema_head ());
  g_assert_cmpint (lares_store_schema_head (), >=, 1);
  /* Reopening an up-to-date store runs no migration and changes nothing. */
  store = lares_store_open (dir, NULL, &error);
  g_assert_no_error (error);
  lares_store_close (store);
  g_assert_cmpint (read_user_version (dir), ==, lares_store_schema_head ());
  lares_test_rmdir (dir);
}

static void
test_newer_schema_refused (void)
{
  g_autofree char *dir = lares_test_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "lares.db", NULL);
  g_autoptr (GError) error = NULL;
  sqlite3 *db = NULL;
  g_autofree char *sql = g_strdup_printf ("PRAGMA user_version=%d", lares_store_schema_head () + 1);

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  g_assert_null (lares_store_open (dir, NULL, &error));
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_MIGRATE);
  g_assert_nonnull (strstr (error->message, "newer"));
  lares_test_rmdir (dir);
}

typedef struct
{
  int64_t user_id;
  int64_t other_user;
  LaresNote *note;
  LaresNote *fetched;
  GError *fetch_error;
  gboolean done;
  gboolean ok;
} Op;

static gboolean
insert_two_users (sqlite3 *db, gpointer data, GError **error)
{
  Op *op = data;
  gboolean created;

  if (!lares_users_ensure_admin (db, 1, &op->user_id, &created, error))
    return FALSE;
  if (!lares_sql_exec (db, "INSERT INTO users (name, role, created_at) VALUES ('bob','user',1)",
                       error))
    return FALSE;
  op->other_user = sqlite3_last_insert_rowid (db);
  return lares_notes_insert (db, op->user_id, "t", "body one", 1000, &op->note, error);
}

static gboolean
fetch_as_other (sqlite3 *db, gpointer data, GError **error)
{
  Op *op = data;

  op->fetched = lares_notes_get (db, op->other_user, op->note->id, &op->fetch_error);
  return TRUE;
}

static void
op_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Op *op = data;
  g_autoptr (GError) error = NULL;

  /* Both finish functions share one implementation; write_finish is fine. */
  op->ok = lares_store_write_finish (NULL, result, &error);
  g_assert_no_error (error);
  op->done = TRUE;
}

static void
test_async_and_scoping (void)
{
  g_autofree char *dir = lares_test_tmpdir ();
  g_autoptr (GError) error = NULL;
  LaresStore *store = lares_store_open (dir, NULL, &error);
  Op op = { 0 };
  LaresStoreStats st;

  lares_store_write_async (store, insert_two_users, &op, NULL, op_done, &op);
  lares_test_wait_flag (&op.done, 10000);
  g_assert_true (op.ok);
  g_assert_cmpint (op.note->id, >, 0);
  g_assert_cmpstr (op.note->body, ==, "body one");

  /* Another user's note looks exactly like a missing one. */
  op.done = FALSE;
  lares_store_read_async (store, fetch_as_other, &op, NULL, op_done, &op);
  lares_test_wait_flag (&op.done, 10000);
  g_assert_null (op.fetched);
  g_assert_error (op.fetch_error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND);
  g_clear_error (&op.fetch_error);

  lares_store_get_stats (store, &st);
  g_assert_cmpuint (st.writes, ==, 1);
  g_assert_cmpuint (st.reads, ==, 1);
  g_assert_cmpuint (st.queued, ==, 0);
  lares_store_close (store);
  lares_note_free (op.note);
  g_assert_cmpint (lares_test_db_count (dir, "notes"), ==, 1);
  lares_test_rmdir (dir);
}

static gboolean
failing_write (sqlite3 *db, gpointer data, GError **error)
{
  Op *op = data;

  if (!lares_notes_insert (db, op->user_id, "", "will roll back", 1, NULL, error))
    return FALSE;
  /* A later failure in the same transaction undoes the insert. */
  return lares_sql_exec (db, "INSERT INTO nonexistent VALUES (1)", error);
}

static void
fail_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Op *op = data;
  g_autoptr (GError) error = NULL;

  op->ok = lares_store_write_finish (NULL, result, &error);
  g_assert_nonnull (error);
  op->done = TRUE;
}

static void
test_failed_write_rolls_back (void)
{
  g_autofree char *dir = lares_test_tmpdir ();
  g_autoptr (GError) error = NULL;
  LaresStore *store = lares_store_open (dir, NULL, &error);
  Op op = { 0 };

  lares_store_write_async (store, insert_two_users, &op, NULL, op_done, &op);
  lares_test_wait_flag (&op.done, 10000);
  op.done = FALSE;
  lares_store_write_async (store, failing_write, &op, NULL, fail_done, &op);
  lares_test_wait_flag (&op.done, 10000);
  g_assert_false (op.ok);
  lares_store_close (store);
  lares_note_free (op.note);
  g_assert_cmpint (lares_test_db_count (dir, "notes"), ==, 1);
  lares_test_rmdir (dir);
}

/* Group commit: writes queued together share a transaction, a failing one
 * is rolled back alone, and each is reported in submission order. */
typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean open;
  gboolean entered;
} Gate;

static gboolean
gate_write (sqlite3 *db, gpointer data, GError **error)
{
  Gate *gate = data;

  g_mutex_lock (&gate->lock);
  gate->entered = TRUE;
  g_cond_broadcast (&gate->cond);
  while (!gate->open)
    g_cond_wait (&gate->cond, &gate->lock);
  g_mutex_unlock (&gate->lock);
  return TRUE;
}

static gboolean
insert_note (sqlite3 *db, gpointer data, GError **error)
{
  Op *op = data;
  return lares_notes_insert (db, op->user_id, "", "grouped", 1, NULL, error);
}

typedef struct
{
  GString *order;
  unsigned pending;
} Batch;

static void
batch_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Batch *b = data;
  g_autoptr (GError) error = NULL;
  gboolean ok = lares_store_write_finish (NULL, result, &error);

  g_string_append_c (b->order, ok ? 'y' : 'n');
  b->pending--;
}

static void
test_group_commit (void)
{
  g_autofree char *dir = lares_test_tmpdir ();
  g_autoptr (GError) error = NULL;
  LaresStore *store = lares_store_open (dir, NULL, &error);
  Op op = { 0 };
  Gate gate = { 0 };
  Batch b = { g_string_new (NULL), 0 };
  LaresStoreStats before, after;
  static const char plan[] = "yynyy";

  lares_store_write_async (store, insert_two_users, &op, NULL, op_done, &op);
  lares_test_wait_flag (&op.done, 10000);
  /* Hold the writer inside a write so the next ones queue up behind it. */
  g_mutex_init (&gate.lock);
  g_cond_init (&gate.cond);
  b.pending = 1 + strlen (plan);
  lares_store_write_async (store, gate_write, &gate, NULL, batch_done, &b);
  g_mutex_lock (&gate.lock);
  while (!gate.entered)
    g_cond_wait (&gate.cond, &gate.lock);
  g_mutex_unlock (&gate.lock);
  lares_store_get_stats (store, &before);
  for (const char *p = plan; *p; p++)
    lares_store_write_async (store, *p == 'y' ? insert_note : failing_write, &op, NULL, batch_done,
                             &b);
  g_mutex_lock (&gate.lock);
  gate.open = TRUE;
  g_cond_broadcast (&gate.cond);
  g_mutex_unlock (&gate.lock);
  while (b.pending > 0)
    g_main_context_iteration (NULL, TRUE);
  lares_store_get_stats (store, &after);

  g_assert_cmpstr (b.order->str, ==, "yyynyy");
  /* The gate's own commit, then the five queued writes in one more
   * transaction (one at a time would make six). */
  g_assert_cmpuint (after.writes - before.writes, ==, 5);
  g_assert_cmpuint (after.commits - before.commits, ==, 2);
  g_assert_cmpuint (after.write_errors - before.write_errors, ==, 1);
  lares_store_close (store);
  lares_note_free (op.note);
  /* The first note, four grouped ones; the failed one left nothing. */
  g_assert_cmpint (lares_test_db_count (dir, "notes"), ==, 5);
  g_string_free (b.order, TRUE);
  g_mutex_clear (&gate.lock);
  g_cond_clear (&gate.cond);
  lares_test_rmdir (dir);
}

/* Detached writes: run in order with the others, report nothing back, log
 * a failure, and release their data once run. */
typedef struct
{
  Op *op;
  gboolean fail;
  int *released; /* read after lares_store_close joined the writer */
} Detached;

static gboolean
detached_write (sqlite3 *db, gpointer data, GError **error)
{
  Detached *d = data;
  return d->fail ? failing_write (db, d->op, error) : insert_note (db, d->op, error);
}

static void
detached_release (gpointer data)
{
  Detached *d = data;
  (*d->released)++;
  g_free (d);
}

static void
test_detached_writes (void)
{
  g_autofree char *dir = lares_test_tmpdir ();
  g_autoptr (GError) error = NULL;
  LaresStore *store = lares_store_open (dir, NULL, &error);
  Op op = { 0 };
  int released = 0;
  LaresStoreStats before, after;

  lares_store_write_async (store, insert_two_users, &op, NULL, op_done, &op);
  lares_test_wait_flag (&op.done, 10000);
  lares_store_get_stats (store, &before);
  g_test_expect_message ("lares-store", G_LOG_LEVEL_WARNING, "store: a write failed: *");
  for (int i = 0; i < 3; i++)
    {
      Detached *d = g_new0 (Detached, 1);
      d->op = &op;
      d->fail = i == 1;
      d->released = &released;
      lares_store_write_detached (store, detached_write, d, detached_release);
    }
  /* A write queued after them is reported after they ran. */
  op.done = FALSE;
  lares_store_write_async (store, insert_note, &op, NULL, op_done, &op);
  lares_test_wait_flag (&op.done, 10000);
  g_assert_true (op.ok);
  lares_store_get_stats (store, &after);
  g_assert_cmpuint (after.writes - before.writes, ==, 3);
  g_assert_cmpuint (after.write_errors - before.write_errors, ==, 1);
  lares_store_close (store);
  g_test_assert_expected_messages ();
  g_assert_cmpint (released, ==, 3);
  lares_note_free (op.note);
  /* The first note, two detached ones and the last; the failed one left nothing. */
  g_assert_cmpint (lares_test_db_count (dir, "notes"), ==, 4);
  lares_test_rmdir (dir);
}

static void
test_data_dir_lock (void)
{
  g_autofree char *dir = lares_test_tmpdir ();
  g_autofree char *sub = g_build_filename (dir, "a", "b", NULL);
  g_autoptr (GError) error = NULL;
  LaresDataDir *one = lares_data_dir_acquire (sub, &error);
  LaresDataDir *two;
  GStatBuf st;

  g_assert_no_error (error);
  g_assert_cmpint (g_stat (sub, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  /* flock is per open file description, so a second acquire in the same
   * process conflicts just like a second daemon would. */
  two = lares_data_dir_acquire (sub, &error);
  g_assert_null (two);
  g_assert_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_LOCKED);
  lares_data_dir_release (one);
  g_clear_error (&error);
  two = lares_data_dir_acquire (sub, &error);
  g_assert_no_error (error);
  lares_data_dir_release (two);
  lares_test_rmdir (dir);
}

static void
test_backup_errors (void)
{
  g_autofree char *dir = lares_test_tmpdir ();
  g_autofree char *missing = g_build_filename (dir, "nope", "lares.db", NULL);
  g_autofree char *dest = g_build_filename (dir, "out.db", NULL);
  g_autofree char *bad_dest = g_build_filename (dir, "no-such-dir", "out.db", NULL);
  g_autofree char *db = lares_store_db_path (dir);
  g_autoptr (GError) error = NULL;
  LaresStore *store;

  g_assert_false (lares_store_backup (missing, dest, &error));
  g_assert_nonnull (strstr (error->message, "no database"));
  g_clear_error (&error);
  store = lares_store_open (dir, NULL, &error);
  lares_store_close (store);
  g_assert_false (lares_store_backup (db, bad_dest, &error));
  g_assert_false (g_file_test (bad_dest, G_FILE_TEST_EXISTS));
  g_clear_error (&error);
  g_assert_true (lares_store_backup (db, dest, &error));
  g_assert_no_error (error);
  g_assert_cmpint (read_user_version (dir), ==, lares_store_schema_head ());
  lares_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/store/open-migrates", test_open_migrates);
  g_test_add_func ("/store/newer-schema-refused", test_newer_schema_refused);
  g_test_add_func ("/store/async-and-scoping", test_async_and_scoping);
  g_test_add_func ("/store/failed-write-rolls-back", test_failed_write_rolls_back);
  g_test_add_func ("/store/group-commit", test_group_commit);
  g_test_add_func ("/store/detached-writes", test_detached_writes);
  g_test_add_func ("/store/data-dir-lock", test_data_dir_lock);
  g_test_add_func ("/store/backup-errors", test_backup_errors);
  return g_test_run ();
}
