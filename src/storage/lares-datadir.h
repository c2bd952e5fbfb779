/* lares-datadir.h — the data directory and the lock that makes it ours.
 *
 * The data directory holds lares.db (and its WAL), secrets and the lock file
 * "lares.lock".  A daemon holds an exclusive flock(2) on the lock for its
 * whole life, so two daemons never share one store; the kernel drops the lock
 * when the process dies, even by SIGKILL, so a crash never leaves it stale.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _LaresDataDir LaresDataDir;

/* Create @path (mode 0700) if missing and take the lock.  Fails with
 * LARES_STORE_ERROR_LOCKED, naming the holder's pid, when another daemon
 * has it. */
LaresDataDir *lares_data_dir_acquire (const char *path, GError **error);
void lares_data_dir_release (LaresDataDir *dir);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresDataDir, lares_data_dir_release)

const char *lares_data_dir_get_path (LaresDataDir *dir);

G_END_DECLS
