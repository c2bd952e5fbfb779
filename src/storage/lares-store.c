/* lares-store.c — connections, migrations, the writer and reader threads.
 *
 * DESIGN
 * - Threads: the writer pool has exactly one exclusive thread and one
 *   connection (store->writer), touched only by that thread (and by
 *   lares_store_close after the pool has stopped).  Readers are an exclusive
 *   pool of n threads sharing a GAsyncQueue of n read-only connections: a job
 *   pops one, runs, pushes it back.
 * - Ownership: a job holds a ref on its GTask; the task holds the caller's
 *   callback.  g_task_return_* may be called from the worker; GTask
 *   dispatches the callback to the caller's context.  A detached write
 *   (lares_store_write_detached) has no task: nothing is dispatched back,
 *   which saves the caller's loop a wake-up per write; the writer frees it.
 * - Ordering: writes run in submission order (single thread, FIFO queue).
 * - Group commit: the writer takes every write queued when it wakes (up to
 *   WRITE_BATCH_MAX) into one transaction, each job inside its own
 *   SAVEPOINT, and commits once: one fsync for the batch instead of one
 *   per write.  A job that fails is rolled back to its savepoint alone; a
 *   failed COMMIT (or an error that ends the transaction) fails every job
 *   of the batch that was not yet reported.  Each job's callback still
 *   reports success only after the COMMIT that made it durable.
 * - Kept statements: the writer, the readers and long-lived readers of
 *   lares_store_open_reader_cached have a StmtCache, found by connection
 *   in a small registry (a mutex guards the registry only: a connection is
 *   used by one thread at a time, so its cache needs no lock).  Entries are
 *   keyed by the SQL constant's address and checked against a copy of the
 *   text, so a misused non-constant costs a new statement, never a wrong
 *   one.  Parsing and planning a statement costs more than running most of
 *   ours (measured: sqlite3_prepare_v2 was a quarter of the daemon's
 *   instructions per chat turn).
 * - A lock held by another process: BEGIN IMMEDIATE waits for it up to
 *   store.busy_timeout (SQLite's busy handler retries meanwhile).  If it
 *   is still held, the whole batch fails with LARES_STORE_ERROR_BUSY (HTTP
 *   503): a queued write waits at most about one busy timeout, not one per
 *   write queued ahead of it.
 */
#include "config.h"

#include "lares-store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "lares-storage-resources.h"

G_DEFINE_QUARK (lares - store - error - quark, lares_store_error)

struct _LaresStore
{
  char *path;
  uint64_t busy_timeout_ms;
  sqlite3 *writer;
  GThread *write_thread;
  GAsyncQueue *write_queue; /* Job*, then STOP_WRITER */
  GThreadPool *read_pool;
  GAsyncQueue *readers; /* sqlite3* read-only connections */
  unsigned n_readers;

  /* Stats, updated from worker threads. */
  _Atomic uint64_t writes, commits, write_errors, reads, read_errors, write_us_total;
  _Atomic int queued;
};

typedef struct
{
  LaresStore *store;
  LaresStoreFunc func;
  gpointer data;
  /* A write job: the task to report to (owned), or none for a detached
   * write, whose data the writer then releases with destroy. */
  GTask *task;
  GDestroyNotify destroy;
} Job;

#define WRITE_BATCH_MAX 64
/* Queued after the last write by lares_store_close. */
static char stop_writer_mark;
#define STOP_WRITER ((gpointer)&stop_writer_mark)

/* ---- kept statements -------------------------------------------------- */

/* A connection keeps at most this many statements; SQL beyond that is
 * prepared per use.  Our SQL constants number about a hundred. */
#define KEPT_MAX 256

typedef struct
{
  const char *key; /* the caller's constant */
  char *text;      /* (owned) a copy, to catch a key reused for other SQL */
  sqlite3_stmt *stmt;
  gboolean out; /* handed out, not yet released */
} Kept;

typedef struct
{
  sqlite3 *db;
  GHashTable *by_sql;  /* const char* key -> Kept* (owned) */
  GHashTable *by_stmt; /* sqlite3_stmt* -> Kept* */
} StmtCache;

static GMutex caches_lock;
static GHashTable *caches; /* sqlite3* -> StmtCache* */

static void
kept_free (gpointer p)
{
  Kept *k = p;

  sqlite3_finalize (k->stmt);
  g_free (k->text);
  g_free (k);
}

static void
cache_attach (sqlite3 *db)
{
  StmtCache *c = g_new0 (StmtCache, 1);

  c->db = db;
  c->by_sql = g_hash_table_new_full (NULL, NULL, NULL, kept_free);
  c->by_stmt = g_hash_table_new (NULL, NULL);
  g_mutex_lock (&caches_lock);
  if (caches == NULL)
    caches = g_hash_table_new (NULL, NULL);
  g_hash_table_insert (caches, db, c);
  g_mutex_unlock (&caches_lock);
}

static StmtCache *
cache_find (sqlite3 *db)
{
  StmtCache *c;

  g_mutex_lock (&caches_lock);
  c = caches ? g_hash_table_lookup (caches, db) : NULL;
  g_mutex_unlock (&caches_lock);
  return c;
}

/* Finalize the kept statements of @db (none may be out) and forget it. */
static void
cache_detach (sqlite3 *db)
{
  StmtCache *c = NULL;

  g_mutex_lock (&caches_lock);
  if (caches != NULL && g_hash_table_steal_extended (caches, db, NULL, (gpointer *)&c) &&
      g_hash_table_size (caches) == 0)
    g_clear_pointer (&caches, g_hash_table_destroy);
  g_mutex_unlock (&caches_lock);
  if (c == NULL)
    return;
  g_hash_table_destroy (c->by_stmt);
  g_hash_table_destroy (c->by_sql);
  g_free (c);
}

void
lares_sql_close (sqlite3 *db)
{
  if (db == NULL)
    return;
  cache_detach (db);
  sqlite3_close (db);
}

void
lares_sql_release (sqlite3_stmt *stmt)
{
  StmtCache *c;
  Kept *k;

  if (stmt == NULL)
    return;
  c = cache_find (sqlite3_db_handle (stmt));
  k = c ? g_hash_table_lookup (c->by_stmt, stmt) : NULL;
  if (k == NULL)
    {
      sqlite3_finalize (stmt);
      return;
    }
  g_assert (k->out);
  /* Ends the statement's read, if it was stepped but not to the end. */
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  k->out = FALSE;
}

sqlite3_stmt *
lares_sql_cached (sqlite3 *db, const char *sql, GError **error)
{
  StmtCache *c = cache_find (db);
  sqlite3_stmt *stmt = NULL;
  Kept *k;
  int rc;

  if (c == NULL)
    return lares_sql_prepare (db, sql, error);
  k = g_hash_table_lookup (c->by_sql, sql);
  if (k != NULL && !k->out && G_LIKELY (strcmp (k->text, sql) == 0))
    {
      k->out = TRUE;
      return k->stmt;
    }
  if (k != NULL && !k->out)
    {
      /* The same address now holds other SQL: not a constant after all. */
      g_hash_table_remove (c->by_stmt, k->stmt);
      g_hash_table_remove (c->by_sql, sql);
      k = NULL;
    }
  if (k != NULL || g_hash_table_size (c->by_sql) >= KEPT_MAX)
    return lares_sql_prepare (db, sql, error); /* a nested use, or full */
  rc = sqlite3_prepare_v3 (db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  k = g_new0 (Kept, 1);
  k->key = sql;
  k->text = g_strdup (sql);
  k->stmt = stmt;
  k->out = TRUE;
  g_hash_table_insert (c->by_sql, (gpointer)sql, k);
  g_hash_table_insert (c->by_stmt, stmt, k);
  return stmt;
}

/* lares_sql_exec for one statement given as a constant, kept. */
static gboolean
exec_kept (sqlite3 *db, const char *sql, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_cached (db, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    ;
  return rc == SQLITE_DONE || lares_sql_throw (db, rc, error);
}

gboolean
lares_sql_throw (sqlite3 *db, int rc, GError **error)
{
  int code;
  const char *msg = db ? sqlite3_errmsg (db) : sqlite3_errstr (rc);

  switch (rc & 0xff)
    {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = LARES_STORE_ERROR_BUSY;
      break;
    case SQLITE_FULL:
      code = LARES_STORE_ERROR_FULL;
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      code = LARES_STORE_ERROR_CORRUPT;
      break;
    case SQLITE_CONSTRAINT:
      code = LARES_STORE_ERROR_CONSTRAINT;
      break;
    case SQLITE_CANTOPEN:
      code = LARES_STORE_ERROR_OPEN;
      break;
    case SQLITE_IOERR:
      /* ENOSPC while writing the WAL surfaces as an I/O error. */
      code =
          (errno == ENOSPC || errno == EDQUOT) ? LARES_STORE_ERROR_FULL : LARES_STORE_ERROR_FAILED;
      break;
    default:
      code = LARES_STORE_ERROR_FAILED;
    }
  g_set_error (error, LARES_STORE_ERROR, code, "sqlite: %s (%d)", msg, rc);
  return FALSE;
}

gboolean
lares_sql_delete_ids (sqlite3 *db, const char *sql, int64_t user_id, const int64_t *ids, unsigned n,
                      GArray **deleted, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_prepare (db, sql, error);
  g_autoptr (GArray) done = g_array_new (FALSE, FALSE, sizeof (int64_t));

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  for (unsigned i = 0; i < n; i++)
    {
      int rc;

      sqlite3_bind_int64 (stmt, 2, ids[i]);
      rc = sqlite3_step (stmt);
      if (rc != SQLITE_DONE)
        return lares_sql_throw (db, rc, error);
      if (sqlite3_changes (db) > 0)
        g_array_append_val (done, ids[i]);
      sqlite3_reset (stmt);
    }
  if (deleted)
    *deleted = g_steal_pointer (&done);
  return TRUE;
}

gboolean
lares_sql_exec (sqlite3 *db, const char *sql, GError **error)
{
  int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return lares_sql_throw (db, rc, error);
  return TRUE;
}

sqlite3_stmt *
lares_sql_prepare (sqlite3 *db, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);

  if (rc != SQLITE_OK)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  return stmt;
}

char *
lares_store_db_path (const char *data_dir)
{
  return g_build_filename (data_dir, "lares.db", NULL);
}

static sqlite3 *
open_connection (const char *path, gboolean readonly, uint64_t busy_timeout_ms, GError **error)
{
  sqlite3 *db = NULL;
  int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
              SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2 (path, &db, flags, NULL);
  const char *pragmas = readonly ? "PRAGMA foreign_keys=ON;"
                                 : "PRAGMA journal_mode=WAL;"
                                   "PRAGMA synchronous=FULL;"
                                   "PRAGMA foreign_keys=ON;";

  if (rc != SQLITE_OK)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_OPEN, "cannot open '%s': %s", path,
                   db ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_extended_result_codes (db, 1);
  sqlite3_busy_timeout (db, (int)MIN (busy_timeout_ms, (uint64_t)G_MAXINT));
  if (!lares_sql_exec (db, pragmas, error))
    {
      g_prefix_error (error, "'%s': ", path);
      sqlite3_close (db);
      return NULL;
    }
  return db;
}

static int
user_version (sqlite3 *db)
{
  g_autoptr (sqlite3_stmt) stmt = lares_sql_prepare (db, "PRAGMA user_version", NULL);

  if (stmt == NULL || sqlite3_step (stmt) != SQLITE_ROW)
    return -1;
  return sqlite3_column_int (stmt, 0);
}

/* Migration files are "NNNN-slug.sql"; returns NNNN or -1. */
static int
migration_number (const char *name)
{
  int n = 0;

  for (int i = 0; i < 4; i++)
    {
      if (!g_ascii_isdigit (name[i]))
        return -1;
      n = n * 10 + (name[i] - '0');
    }
  return name[4] == '-' && g_str_has_suffix (name, ".sql") ? n : -1;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

static char **
migration_names (void)
{
  GResource *res = lares_storage_get_resource ();
  char **names =
      g_resource_enumerate_children (res, "/lares/migrations", G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);

  if (names != NULL)
    qsort (names, g_strv_length (names), sizeof (char *), compare_names);
  return names;
}

int
lares_store_schema_head (void)
{
  g_auto (GStrv) names = migration_names ();
  int head = 0;

  for (size_t i = 0; names && names[i]; i++)
    head = MAX (head, migration_number (names[i]));
  return head;
}

static gboolean
migrate (sqlite3 *db, GError **error)
{
  g_auto (GStrv) names = migration_names ();
  int version = user_version (db);
  int head = lares_store_schema_head ();
  GError *local = NULL;

  if (version < 0)
    return lares_sql_throw (db, sqlite3_errcode (db), error);
  if (version > head)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_MIGRATE,
                   "database schema version %d is newer than this lares knows (%d); "
                   "upgrade lares or restore a backup",
                   version, head);
      return FALSE;
    }
  if (version == head)
    return TRUE;
  /* Every pending migration and the version bump commit together or not at
   * all: one fsync for a new database instead of one per file. */
  if (!lares_sql_exec (db, "BEGIN IMMEDIATE", error))
    return FALSE;
  for (size_t i = 0; names && names[i]; i++)
    {
      int n = migration_number (names[i]);
      g_autofree char *path = NULL;
      g_autoptr (GBytes) sql = NULL;

      if (n < 0)
        {
          g_set_error (&local, LARES_STORE_ERROR, LARES_STORE_ERROR_MIGRATE,
                       "bad migration name '%s'", names[i]);
          break;
        }
      if (n <= version)
        continue;
      path = g_strconcat ("/lares/migrations/", names[i], NULL);
      sql = g_resource_lookup_data (lares_storage_get_resource (), path,
                                    G_RESOURCE_LOOKUP_FLAGS_NONE, &local);
      if (sql == NULL)
        break;
      if (!lares_sql_exec (db, g_bytes_get_data (sql, NULL), &local))
        {
          g_prefix_error (&local, "migration %s: ", names[i]);
          break;
        }
    }
  if (local == NULL)
    {
      g_autofree char *set_version = g_strdup_printf ("PRAGMA user_version=%d;", head);
      if (lares_sql_exec (db, set_version, &local) && lares_sql_exec (db, "COMMIT", &local))
        {
          g_info ("store: migrated from schema %d to %d", version, head);
          return TRUE;
        }
    }
  sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  g_propagate_error (error, local);
  return FALSE;
}

/* Run @func inside BEGIN IMMEDIATE ... COMMIT on @db. */
static gboolean
run_write (sqlite3 *db, LaresStoreFunc func, gpointer data, GError **error)
{
  if (!lares_sql_exec (db, "BEGIN IMMEDIATE", error))
    return FALSE;
  if (!func (db, data, error))
    {
      sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  if (!lares_sql_exec (db, "COMMIT", error))
    {
      sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

/* Settle the bookkeeping, then hand the result back.  The order matters:
 * once g_task_return_* runs, the caller's callback may already be running
 * on the main thread and may look at the stats or queue more work. */
static void
finish_job (LaresStore *store, GTask *task, gboolean ok, GError *error)
{
  store->queued--;
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* Report a write job's outcome and free it (writer thread). */
static void
finish_write (LaresStore *store, Job *job, GError *error)
{
  if (job->task != NULL)
    {
      finish_job (store, job->task, error == NULL, error);
      g_object_unref (job->task);
      g_free (job);
      return;
    }
  store->queued--;
  if (error != NULL)
    {
      g_warning ("store: a write failed: %s", error->message);
      g_error_free (error);
    }
  if (job->destroy)
    job->destroy (job->data);
  g_free (job);
}

/* Run one batch of write jobs in one transaction (see DESIGN). */
static void
run_batch (LaresStore *store, GPtrArray *tasks)
{
  sqlite3 *db = store->writer;
  g_autofree GError **errors = g_new0 (GError *, tasks->len);
  int64_t start = g_get_monotonic_time ();
  gboolean open = FALSE;
  unsigned ok_count = 0;

  for (unsigned i = 0; i < tasks->len; i++)
    {
      Job *job = tasks->pdata[i];

      if (job->task != NULL &&
          g_cancellable_set_error_if_cancelled (g_task_get_cancellable (job->task), &errors[i]))
        continue;
      if (!open)
        {
          if (!exec_kept (db, "BEGIN IMMEDIATE", &errors[i]))
            {
              /* The write lock stayed with another process for the whole
               * busy timeout (or BEGIN failed otherwise): every job behind
               * this one would wait for it again, one timeout each, so
               * they fail together now. */
              for (unsigned j = i + 1; j < tasks->len; j++)
                if (errors[j] == NULL)
                  errors[j] = g_error_copy (errors[i]);
              break;
            }
          open = TRUE;
        }
      if (!exec_kept (db, "SAVEPOINT lares_job", &errors[i]))
        continue;
      if (job->func (db, job->data, &errors[i]))
        {
          exec_kept (db, "RELEASE lares_job", NULL);
          continue;
        }
      if (!sqlite3_get_autocommit (db))
        {
          sqlite3_exec (db, "ROLLBACK TO lares_job", NULL, NULL, NULL);
          sqlite3_exec (db, "RELEASE lares_job", NULL, NULL, NULL);
          continue;
        }
      /* The error ended the whole transaction (disk full, I/O error): the
       * jobs before this one in it are lost too. */
      open = FALSE;
      for (unsigned j = 0; j < i; j++)
        if (errors[j] == NULL)
          errors[j] = g_error_copy (errors[i]);
    }
  if (open)
    {
      GError *commit_error = NULL;
      if (!exec_kept (db, "COMMIT", &commit_error))
        {
          sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
          for (unsigned i = 0; i < tasks->len; i++)
            if (errors[i] == NULL)
              errors[i] = g_error_copy (commit_error);
          g_error_free (commit_error);
        }
    }
  for (unsigned i = 0; i < tasks->len; i++)
    if (errors[i] == NULL)
      ok_count++;
  store->writes += ok_count;
  if (ok_count)
    store->commits++;
  store->write_errors += tasks->len - ok_count;
  if (ok_count)
    store->write_us_total += (uint64_t)(g_get_monotonic_time () - start);
  for (unsigned i = 0; i < tasks->len; i++)
    finish_write (store, tasks->pdata[i], errors[i]);
}

static gpointer
writer_main (gpointer data)
{
  LaresStore *store = data;
  g_autoptr (GPtrArray) batch = g_ptr_array_sized_new (WRITE_BATCH_MAX);
  gboolean stop = FALSE;

  while (!stop)
    {
      gpointer item = g_async_queue_pop (store->write_queue);

      if (item == STOP_WRITER)
        break;
      g_ptr_array_add (batch, item);
      while (batch->len < WRITE_BATCH_MAX &&
             (item = g_async_queue_try_pop (store->write_queue)) != NULL)
        {
          if (item == STOP_WRITER)
            {
              stop = TRUE;
              break;
            }
          g_ptr_array_add (batch, item);
        }
      run_batch (store, batch);
      g_ptr_array_set_size (batch, 0);
    }
  return NULL;
}

static void
read_thread (gpointer task_ptr, gpointer pool_data)
{
  g_autoptr (GTask) task = task_ptr;
  LaresStore *store = pool_data;
  Job *job = g_task_get_task_data (task);
  GError *error = NULL;
  sqlite3 *db;
  gboolean ok;

  if (g_cancellable_set_error_if_cancelled (g_task_get_cancellable (task), &error))
    {
      finish_job (store, task, FALSE, error);
      return;
    }
  db = g_async_queue_pop (store->readers);
  ok = job->func (db, job->data, &error);
  /* A read never leaves a transaction open: reset in case func forgot. */
  if (!sqlite3_get_autocommit (db))
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  g_async_queue_push (store->readers, db);
  if (ok)
    store->reads++;
  else
    store->read_errors++;
  finish_job (store, task, ok, error);
}

/* Process-wide SQLite settings, before the library initializes (a later
 * call changes nothing: SQLITE_MISUSE, ignored). */
static void
configure_sqlite (void)
{
  static gsize done;

  if (!g_once_init_enter (&done))
    return;
  /* The writer runs each job inside a SAVEPOINT, whose journal (the copy of
   * every page the job changes) went to a temporary file past 64 KiB:
   * firing a few hundred reminders in one write spent more in those file
   * writes than in its updates.  Keep up to 8 MiB of it in memory. */
  (void)sqlite3_config (SQLITE_CONFIG_STMTJRNL_SPILL, 8 * 1024 * 1024);
  g_once_init_leave (&done, 1);
}

LaresStore *
lares_store_open (const char *data_dir, const LaresStoreOptions *options, GError **error)
{
  g_autoptr (LaresStore) store = g_new0 (LaresStore, 1);
  LaresStoreOptions defaults = { 5000, 2 };

  configure_sqlite ();
  if (options == NULL)
    options = &defaults;
  store->path = lares_store_db_path (data_dir);
  store->busy_timeout_ms = options->busy_timeout_ms;
  store->n_readers = options->n_readers ? options->n_readers : 2;
  store->readers = g_async_queue_new ();

  store->writer = open_connection (store->path, FALSE, store->busy_timeout_ms, error);
  if (store->writer == NULL)
    return NULL;
  cache_attach (store->writer);
  if (!migrate (store->writer, error))
    return NULL;
  for (unsigned i = 0; i < store->n_readers; i++)
    {
      sqlite3 *db = open_connection (store->path, TRUE, store->busy_timeout_ms, error);
      if (db == NULL)
        return NULL;
      cache_attach (db);
      g_async_queue_push (store->readers, db);
    }
  store->write_queue = g_async_queue_new ();
  store->write_thread = g_thread_new ("lares-store-w", writer_main, store);
  store->read_pool = g_thread_pool_new (read_thread, store, (int)store->n_readers, TRUE, error);
  if (store->read_pool == NULL)
    return NULL;
  return g_steal_pointer (&store);
}

void
lares_store_close (LaresStore *store)
{
  sqlite3 *db;

  if (store == NULL)
    return;
  /* Finish queued work first: every accepted write must commit. */
  if (store->write_thread)
    {
      g_async_queue_push (store->write_queue, STOP_WRITER);
      g_thread_join (store->write_thread);
    }
  if (store->write_queue)
    g_async_queue_unref (store->write_queue);
  if (store->read_pool)
    g_thread_pool_free (store->read_pool, FALSE, TRUE);
  while ((db = g_async_queue_try_pop (store->readers)) != NULL)
    lares_sql_close (db);
  g_async_queue_unref (store->readers);
  if (store->writer)
    {
      int rc = sqlite3_exec (store->writer, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
      if (rc != SQLITE_OK)
        g_warning ("store: WAL checkpoint failed: %s", sqlite3_errmsg (store->writer));
      lares_sql_close (store->writer);
    }
  g_free (store->path);
  g_free (store);
}

const char *
lares_store_get_path (LaresStore *store)
{
  return store->path;
}

static void
submit (LaresStore *store, GThreadPool *pool, LaresStoreFunc func, gpointer data,
        GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  /* LaresStore is not a GObject, so the task has no source object. */
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Job *job = g_new0 (Job, 1);
  GError *error = NULL;

  g_task_set_source_tag (task, tag);
  job->store = store;
  job->func = func;
  job->data = data;
  store->queued++;
  if (pool == NULL)
    {
      /* The writer owns the job, and the task's ref through it. */
      job->task = task;
      g_async_queue_push (store->write_queue, job);
      return;
    }
  g_task_set_task_data (task, job, g_free);
  if (!g_thread_pool_push (pool, task, &error))
    {
      store->queued--;
      g_task_return_error (task, error);
      g_object_unref (task);
    }
}

void
lares_store_write_async (LaresStore *store, LaresStoreFunc func, gpointer data,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_return_if_fail (store != NULL && func != NULL);
  submit (store, NULL, func, data, cancellable, callback, user_data, lares_store_write_async);
}

void
lares_store_write_detached (LaresStore *store, LaresStoreFunc func, gpointer data,
                            GDestroyNotify destroy)
{
  Job *job;

  g_return_if_fail (store != NULL && func != NULL);
  job = g_new0 (Job, 1);
  job->store = store;
  job->func = func;
  job->data = data;
  job->destroy = destroy;
  store->queued++;
  g_async_queue_push (store->write_queue, job);
}

gboolean
lares_store_write_finish (LaresStore *store, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
lares_store_read_async (LaresStore *store, LaresStoreFunc func, gpointer data,
                        GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (store != NULL && func != NULL);
  submit (store, store->read_pool, func, data, cancellable, callback, user_data,
          lares_store_read_async);
}

gboolean
lares_store_read_finish (LaresStore *store, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
lares_store_write_sync (LaresStore *store, LaresStoreFunc func, gpointer data, GError **error)
{
  sqlite3 *db = open_connection (store->path, FALSE, store->busy_timeout_ms, error);
  gboolean ok;

  if (db == NULL)
    return FALSE;
  ok = run_write (db, func, data, error);
  sqlite3_close (db);
  return ok;
}

sqlite3 *
lares_store_open_reader (LaresStore *store, GError **error)
{
  return open_connection (store->path, TRUE, 0, error);
}

sqlite3 *
lares_store_open_reader_cached (LaresStore *store, GError **error)
{
  sqlite3 *db = open_connection (store->path, TRUE, 0, error);

  if (db != NULL)
    cache_attach (db);
  return db;
}

void
lares_store_get_stats (LaresStore *store, LaresStoreStats *out)
{
  int queued = store->queued;

  out->writes = store->writes;
  out->commits = store->commits;
  out->write_errors = store->write_errors;
  out->reads = store->reads;
  out->read_errors = store->read_errors;
  out->write_us_total = store->write_us_total;
  out->queued = (unsigned)MAX (0, queued);
}

gboolean
lares_store_backup (const char *db_path, const char *dest, GError **error)
{
  g_autofree char *tmp = g_strconcat (dest, ".partial", NULL);
  sqlite3 *src = NULL, *dst = NULL;
  sqlite3_backup *bk;
  gboolean ok = FALSE;
  int rc, fd;

  if (!g_file_test (db_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_OPEN,
                   "no database at '%s' (is store.data_dir right?)", db_path);
      return FALSE;
    }
  src = open_connection (db_path, TRUE, 5000, error);
  if (src == NULL)
    return FALSE;
  (void)unlink (tmp);
  rc = sqlite3_open_v2 (tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_OPEN, "cannot create '%s': %s", tmp,
                   dst ? sqlite3_errmsg (dst) : sqlite3_errstr (rc));
      goto out;
    }
  bk = sqlite3_backup_init (dst, "main", src, "main");
  if (bk == NULL)
    {
      lares_sql_throw (dst, sqlite3_errcode (dst), error);
      goto out;
    }
  /* Copy in steps so a busy writer gets the lock between them. */
  do
    {
      rc = sqlite3_backup_step (bk, 256);
      if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        g_usleep (10 * 1000);
    }
  while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  sqlite3_backup_finish (bk);
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (dst, rc, error);
      goto out;
    }
  /* The copy is a plain rollback-journal database any sqlite3 can open. */
  if (!lares_sql_exec (dst, "PRAGMA journal_mode=DELETE", error))
    goto out;
  sqlite3_close (dst);
  dst = NULL;
  fd = open (tmp, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fsync (fd) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "cannot sync '%s': %s", tmp,
                   g_strerror (errno));
      if (fd >= 0)
        close (fd);
      goto out;
    }
  close (fd);
  if (rename (tmp, dest) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "cannot rename to '%s': %s",
                   dest, g_strerror (errno));
      goto out;
    }
  ok = TRUE;
out:
  if (dst)
    sqlite3_close (dst);
  sqlite3_close (src);
  if (!ok)
    (void)unlink (tmp);
  return ok;
}

gboolean
lares_store_check (const char *db_path, int *schema_version, GError **error)
{
  sqlite3 *db;
  g_autoptr (sqlite3_stmt) stmt = NULL;
  gboolean ok = FALSE;
  int rc;

  if (!g_file_test (db_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_OPEN, "no database at '%s'",
                   db_path);
      return FALSE;
    }
  db = open_connection (db_path, TRUE, 2000, error);
  if (db == NULL)
    return FALSE;
  *schema_version = user_version (db);
  stmt = lares_sql_prepare (db, "PRAGMA quick_check", error);
  if (stmt == NULL)
    goto out;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      lares_sql_throw (db, rc, error);
      goto out;
    }
  if (g_strcmp0 ((const char *)sqlite3_column_text (stmt, 0), "ok") != 0)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CORRUPT, "quick_check: %s",
                   sqlite3_column_text (stmt, 0));
      goto out;
    }
  ok = TRUE;
out:
  g_clear_pointer (&stmt, sqlite3_finalize);
  sqlite3_close (db);
  return ok;
}
