/* lares-store.h — the SQLite store: open, migrate, run work off the main loop.
 *
 * The database is <data_dir>/lares.db in WAL mode with synchronous=FULL (an
 * acknowledged write survives power loss), foreign keys on and a busy
 * timeout.  Migrations are numbered SQL files embedded in the binary
 * (GResource /lares/migrations/NNNN-slug.sql); the schema version is
 * PRAGMA user_version.
 *
 * Threads: one writer thread owns the only writing connection, so writes are
 * serialized in submission order and never contend inside the process; a
 * small pool of reader threads each borrow one of the read-only connections.
 * Work is a LaresStoreFunc run on those threads; its result comes back on the
 * caller's thread-default main context through GAsyncReadyCallback.  Each
 * write runs inside BEGIN IMMEDIATE ... COMMIT: when the callback reports
 * success the transaction is durable.
 *
 * Invariant: every user-owned table has a user_id column and every query on
 * it filters by user_id.
 */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>
#include <stdint.h>

G_BEGIN_DECLS

#define LARES_STORE_ERROR (lares_store_error_quark ())
GQuark lares_store_error_quark (void);

typedef enum
{
  LARES_STORE_ERROR_FAILED,
  LARES_STORE_ERROR_OPEN,
  LARES_STORE_ERROR_LOCKED, /* the data directory belongs to another daemon */
  LARES_STORE_ERROR_BUSY,   /* a lock held elsewhere outlived the busy timeout */
  LARES_STORE_ERROR_FULL,   /* disk or quota full */
  LARES_STORE_ERROR_CORRUPT,
  LARES_STORE_ERROR_MIGRATE,
  LARES_STORE_ERROR_NOT_FOUND, /* no row (also for rows of other users) */
  LARES_STORE_ERROR_CONSTRAINT,
  LARES_STORE_ERROR_CLOSED,
} LaresStoreError;

/* Gives a statement back: a kept one (lares_sql_cached) is reset for its
 * next use, any other is finalized. */
void lares_sql_release (sqlite3_stmt *stmt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, lares_sql_release)

typedef struct _LaresStore LaresStore;

/* Work run on a store thread.  @db is the thread's connection; @data is the
 * caller's (transfer none).  Return FALSE with @error set to fail. */
typedef gboolean (*LaresStoreFunc) (sqlite3 *db, gpointer data, GError **error);

typedef struct
{
  uint64_t busy_timeout_ms;
  unsigned n_readers; /* 0 means the default (2) */
} LaresStoreOptions;

/* Open (creating if needed) <data_dir>/lares.db and migrate it to the newest
 * schema.  Synchronous: call it at start-up, before serving. */
LaresStore *lares_store_open (const char *data_dir, const LaresStoreOptions *options,
                              GError **error);

/* Wait for queued work, checkpoint the WAL (TRUNCATE) and close.  Callbacks
 * of work still queued are dispatched to their contexts later; the daemon
 * drains requests first. */
void lares_store_close (LaresStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresStore, lares_store_close)

const char *lares_store_get_path (LaresStore *store);

void lares_store_write_async (LaresStore *store, LaresStoreFunc func, gpointer data,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean lares_store_write_finish (LaresStore *store, GAsyncResult *result, GError **error);
/* Queue a write that nobody waits for: it runs in order with the others,
 * a failure is logged, and @destroy (nullable) releases @data on the writer
 * thread afterwards.  No callback, so no wake-up of the caller's loop. */
void lares_store_write_detached (LaresStore *store, LaresStoreFunc func, gpointer data,
                                 GDestroyNotify destroy);

void lares_store_read_async (LaresStore *store, LaresStoreFunc func, gpointer data,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data);
gboolean lares_store_read_finish (LaresStore *store, GAsyncResult *result, GError **error);

/* Run a write synchronously on the calling thread's own short-lived
 * connection.  Start-up and the CLI only; never on the main loop of a
 * running daemon. */
gboolean lares_store_write_sync (LaresStore *store, LaresStoreFunc func, gpointer data,
                                 GError **error);

/* A read-only connection to the store for the calling thread's own use,
 * with no busy timeout: for short point queries that must never wait.
 * Close with lares_sql_close (or sqlite3_close).  (transfer full) */
sqlite3 *lares_store_open_reader (LaresStore *store, GError **error);
/* The same, keeping the statements of lares_sql_cached, for a connection
 * that lives long (the server's credential lookups).  Close it with
 * lares_sql_close.  (transfer full) */
sqlite3 *lares_store_open_reader_cached (LaresStore *store, GError **error);

/* Counters for /metrics.  Safe from any thread. */
typedef struct
{
  uint64_t writes;       /* committed writes */
  uint64_t commits;      /* transactions that committed them (several writes each) */
  uint64_t write_errors; /* failed ones */
  uint64_t reads;
  uint64_t read_errors;
  uint64_t write_us_total; /* time spent in write transactions */
  unsigned queued;         /* submitted, not yet finished */
} LaresStoreStats;

void lares_store_get_stats (LaresStore *store, LaresStoreStats *out);

/* The schema version this binary migrates to. */
int lares_store_schema_head (void);

/* Helpers for LaresStoreFunc bodies. */

/* Run @sql (one or more statements, no rows wanted). */
gboolean lares_sql_exec (sqlite3 *db, const char *sql, GError **error);
/* A new statement for @sql, which may be built at run time.  Release it
 * with lares_sql_release (the g_autoptr cleanup).  (transfer full) */
sqlite3_stmt *lares_sql_prepare (sqlite3 *db, const char *sql, GError **error);
/* The same for @sql that is a string constant (static storage, never
 * freed or changed): on the store's connections (the writer, the readers,
 * a lares_store_open_reader one that keeps statements) the statement is
 * prepared once per connection, keyed by @sql's address, and handed out
 * again reset, with its bindings cleared.  Preparing SQL costs more than
 * running most of ours.  Never sqlite3_finalize what this returns: give it
 * back with lares_sql_release.  A statement still out when the same SQL is
 * asked for again (a nested use) is not shared: the second caller gets a
 * new one.  Elsewhere it is lares_sql_prepare.  (transfer full) */
sqlite3_stmt *lares_sql_cached (sqlite3 *db, const char *sql, GError **error);
/* Close a connection from lares_store_open_reader, with its kept
 * statements.  NULL is ignored. */
void lares_sql_close (sqlite3 *db);
/* Turn @rc (and sqlite3_errmsg) into a GError; returns FALSE. */
gboolean lares_sql_throw (sqlite3 *db, int rc, GError **error);
/* Run @sql, a DELETE with ?1 the user id and ?2 a row id, once for each of
 * @ids; @deleted (nullable) gets the ids a row was deleted for. */
gboolean lares_sql_delete_ids (sqlite3 *db, const char *sql, int64_t user_id, const int64_t *ids,
                               unsigned n, GArray **deleted, GError **error);

/* Open @db_path read-only and copy it with the online backup API to @dest
 * (written to a temporary name, fsynced, then renamed).  Safe while a daemon
 * is writing. */
gboolean lares_store_backup (const char *db_path, const char *dest, GError **error);

/* Quick health facts for `lares doctor`: schema version and integrity. */
gboolean lares_store_check (const char *db_path, int *schema_version, GError **error);

/* The path of the database inside @data_dir.  (transfer full) */
char *lares_store_db_path (const char *data_dir);

G_END_DECLS
