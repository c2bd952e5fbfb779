/* lares-datadir.c — creating and locking the data directory.
 *
 * DESIGN: flock on a separate lock file rather than on lares.db, because
 * SQLite uses POSIX record locks on the database and mixing the two on one
 * file is asking for trouble.  The pid written into the lock file is only
 * for the error message; the lock itself is the flock.
 */
#include "config.h"

#include "lares-datadir.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "lares-store.h"

struct _LaresDataDir
{
  char *path;
  int lock_fd;
};

LaresDataDir *
lares_data_dir_acquire (const char *path, GError **error)
{
  g_autofree char *lock_path = g_build_filename (path, "lares.lock", NULL);
  char pid[32];
  int fd, n;

  if (g_mkdir_with_parents (path, 0700) != 0)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_OPEN,
                   "cannot create data directory '%s': %s", path, g_strerror (errno));
      return NULL;
    }
  fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_OPEN, "cannot open '%s': %s",
                   lock_path, g_strerror (errno));
      return NULL;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved = errno;
      ssize_t got = read (fd, pid, sizeof pid - 1);
      pid[got > 0 ? got : 0] = '\0';
      g_strstrip (pid);
      close (fd);
      if (saved == EWOULDBLOCK)
        g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_LOCKED,
                     "data directory '%s' is in use by another lares (pid %s)", path,
                     *pid ? pid : "unknown");
      else
        g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_OPEN, "cannot lock '%s': %s",
                     lock_path, g_strerror (saved));
      return NULL;
    }
  n = snprintf (pid, sizeof pid, "%ld\n", (long)getpid ());
  if (ftruncate (fd, 0) != 0 || pwrite (fd, pid, (size_t)n, 0) != n)
    g_warning ("cannot record pid in '%s': %s", lock_path, g_strerror (errno));

  LaresDataDir *dir = g_new0 (LaresDataDir, 1);
  dir->path = g_strdup (path);
  dir->lock_fd = fd;
  return dir;
}

void
lares_data_dir_release (LaresDataDir *dir)
{
  if (dir == NULL)
    return;
  /* Leave the file: unlinking it would race a daemon that just opened it. */
  close (dir->lock_fd);
  g_free (dir->path);
  g_free (dir);
}

const char *
lares_data_dir_get_path (LaresDataDir *dir)
{
  return dir->path;
}
