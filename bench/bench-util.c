/* bench-util.c — spawning the daemon, /proc readings and percentiles.
 *
 * DESIGN
 * - The daemon is started with posix_spawn (vfork-style in glibc), so the
 *   time from "spawn" to the child's first instruction is as small as the
 *   kernel allows and does not grow with the size of the bench process.
 * - The child's stdout is a pipe we read for the one "listening on" line;
 *   its stderr goes to a log file that is printed when something fails.
 * - Everything is single-threaded and blocking with poll(2) timeouts: the
 *   benches call these helpers outside their main loops, or from a main loop
 *   that has nothing else to do at that moment.
 */
#include "config.h"

#include "bench-util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>

static gboolean
throw_errno (GError **error, int saved_errno, const char *what)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s: %s", what,
               g_strerror (saved_errno));
  return FALSE;
}

static int
remaining_ms (int64_t deadline_us)
{
  int64_t left = deadline_us - g_get_monotonic_time ();

  if (left <= 0)
    return 0;
  return (int)((left + 999) / 1000);
}

/* The environment minus LARES_*: the daemon must run on its defaults. */
static char **
scrubbed_environ (void)
{
  char **env = g_get_environ ();
  g_autoptr (GPtrArray) keep = g_ptr_array_new ();

  for (char **e = env; *e; e++)
    if (!g_str_has_prefix (*e, "LARES_"))
      g_ptr_array_add (keep, g_strdup (*e));
  g_ptr_array_add (keep, NULL);
  g_strfreev (env);
  return (char **)g_ptr_array_free (g_steal_pointer (&keep), FALSE);
}

static int
spawn_child (BenchDaemon *d, const char *lares, const char *data_dir, const char *cwd,
             const char *const *extra_args, int out_fd, int log_fd, char **envp,
             int64_t *spawned_us)
{
  const char *base[] = { lares, "serve", "-d", data_dir, "-p", "0" };
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  posix_spawn_file_actions_t fa;
  pid_t pid = 0;
  int rc;

  for (size_t i = 0; i < G_N_ELEMENTS (base); i++)
    g_ptr_array_add (argv, (gpointer)base[i]);
  for (const char *const *a = extra_args; a && *a; a++)
    g_ptr_array_add (argv, (gpointer)*a);
  g_ptr_array_add (argv, NULL);
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2 (&fa, log_fd, 2);
  posix_spawn_file_actions_addchdir_np (&fa, cwd);
  *spawned_us = g_get_monotonic_time ();
  rc = posix_spawn (&pid, lares, &fa, NULL, (char *const *)argv->pdata, envp);
  posix_spawn_file_actions_destroy (&fa);
  if (rc == 0)
    d->pid = pid;
  return rc;
}

gboolean
bench_daemon_spawn (BenchDaemon *d, const char *lares, const char *data_dir, const char *cwd,
                    const char *log_path, int64_t *spawned_us, GError **error)
{
  return bench_daemon_spawn_args (d, lares, data_dir, cwd, log_path, NULL, spawned_us, error);
}

gboolean
bench_daemon_spawn_args (BenchDaemon *d, const char *lares, const char *data_dir, const char *cwd,
                         const char *log_path, const char *const *extra_args, int64_t *spawned_us,
                         GError **error)
{
  g_auto (GStrv) envp = scrubbed_environ ();
  /* The child changes directory before exec: make the path absolute. */
  g_autofree char *exe = g_canonicalize_filename (lares, NULL);
  g_autofree char *abs_data = g_canonicalize_filename (data_dir, NULL);
  int fds[2], log_fd, rc;

  memset (d, 0, sizeof *d);
  d->stdout_fd = -1;
  log_fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0)
    return throw_errno (error, errno, log_path);
  if (pipe2 (fds, O_CLOEXEC) != 0)
    {
      int saved = errno;
      close (log_fd);
      return throw_errno (error, saved, "pipe");
    }
  rc = spawn_child (d, exe, abs_data, cwd, extra_args, fds[1], log_fd, envp, spawned_us);
  close (fds[1]);
  close (log_fd);
  if (rc != 0)
    {
      close (fds[0]);
      return throw_errno (error, rc, exe);
    }
  d->stdout_fd = fds[0];
  d->log_path = g_strdup (log_path);
  d->cwd = g_strdup (cwd);
  return TRUE;
}

/* "lares: listening on http://127.0.0.1:PORT/" -> PORT */
static gboolean
parse_listening (const char *line, unsigned *port)
{
  const char *p = strstr (line, "http://127.0.0.1:");
  char *end = NULL;
  guint64 v;

  if (!g_str_has_prefix (line, "lares: listening on ") || p == NULL)
    return FALSE;
  p += strlen ("http://127.0.0.1:");
  v = g_ascii_strtoull (p, &end, 10);
  if (end == p || *end != '/' || v == 0 || v > 65535)
    return FALSE;
  *port = (unsigned)v;
  return TRUE;
}

gboolean
bench_daemon_wait_listening (BenchDaemon *d, int timeout_ms, GError **error)
{
  int64_t deadline = g_get_monotonic_time () + (int64_t)timeout_ms * 1000;
  char buf[512];
  size_t len = 0;

  for (;;)
    {
      struct pollfd pfd = { d->stdout_fd, POLLIN, 0 };
      char *nl;
      ssize_t n;
      int rc = poll (&pfd, 1, remaining_ms (deadline));

      if (rc < 0 && errno == EINTR)
        continue;
      if (rc < 0)
        return throw_errno (error, errno, "poll");
      if (rc == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "no 'listening on' line from the daemon within %d ms", timeout_ms);
          return FALSE;
        }
      n = read (d->stdout_fd, buf + len, sizeof buf - 1 - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return throw_errno (error, errno, "read daemon stdout");
      if (n == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                       "the daemon closed stdout (exited?) before it was listening");
          return FALSE;
        }
      len += (size_t)n;
      buf[len] = '\0';
      /* A first start prints the admin's password before the listening
       * line: skip whole lines until that one. */
      while ((nl = strchr (buf, '\n')) != NULL)
        {
          *nl = '\0';
          if (parse_listening (buf, &d->port))
            return TRUE;
          len -= (size_t)(nl + 1 - buf);
          memmove (buf, nl + 1, len + 1);
        }
      if (len >= sizeof buf - 1)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "unexpected stdout from the daemon: '%.80s'", buf);
          return FALSE;
        }
    }
}

static gboolean
write_all (int fd, const char *data, size_t len, GError **error)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return throw_errno (error, errno, "send request");
      data += n;
      len -= (size_t)n;
    }
  return TRUE;
}

/* Read until the peer closes (we sent "Connection: close"), keeping the
 * first bytes for the status line. */
static gboolean
read_response (int fd, int64_t deadline, char *head, size_t head_size, GError **error)
{
  size_t len = 0;
  char sink[4096];

  for (;;)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      int rc = poll (&pfd, 1, remaining_ms (deadline));
      ssize_t n;

      if (rc < 0 && errno == EINTR)
        continue;
      if (rc < 0)
        return throw_errno (error, errno, "poll");
      if (rc == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no HTTP response in time");
          return FALSE;
        }
      n = read (fd, sink, sizeof sink);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return throw_errno (error, errno, "read response");
      if (n == 0)
        break;
      if (len < head_size - 1)
        {
          size_t take = MIN ((size_t)n, head_size - 1 - len);
          memcpy (head + len, sink, take);
          len += take;
        }
    }
  head[len] = '\0';
  return TRUE;
}

gboolean
bench_http_get_status (unsigned port, const char *path, int timeout_ms, int *status, GError **error)
{
  int64_t deadline = g_get_monotonic_time () + (int64_t)timeout_ms * 1000;
  struct sockaddr_in sa = { 0 };
  g_autofree char *request = g_strdup_printf (
      "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n\r\n", path, port);
  char head[64];
  const char *sp;
  int fd, one = 1;
  gboolean ok;

  sa.sin_family = AF_INET;
  sa.sin_port = htons ((uint16_t)port);
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return throw_errno (error, errno, "socket");
  (void)setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  /* A loopback connect completes (or is refused) at once. */
  if (connect (fd, (struct sockaddr *)&sa, sizeof sa) != 0)
    {
      int saved = errno;
      close (fd);
      return throw_errno (error, saved, "connect");
    }
  ok = write_all (fd, request, strlen (request), error) &&
       read_response (fd, deadline, head, sizeof head, error);
  close (fd);
  if (!ok)
    return FALSE;
  sp = strchr (head, ' ');
  if (!g_str_has_prefix (head, "HTTP/1.") || sp == NULL || !g_ascii_isdigit (sp[1]))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not an HTTP response: '%.20s'",
                   head);
      return FALSE;
    }
  *status = (int)g_ascii_strtoull (sp + 1, NULL, 10);
  return TRUE;
}

static int
decode_status (int wstatus)
{
  if (WIFEXITED (wstatus))
    return WEXITSTATUS (wstatus);
  if (WIFSIGNALED (wstatus))
    return 128 + WTERMSIG (wstatus);
  return -1;
}

gboolean
bench_daemon_reap (BenchDaemon *d, int timeout_ms, int *exit_code, GError **error)
{
  int64_t deadline = g_get_monotonic_time () + (int64_t)timeout_ms * 1000;
  int wstatus = 0;

  g_return_val_if_fail (d->pid > 0, FALSE);
  for (;;)
    {
      pid_t r = waitpid (d->pid, &wstatus, WNOHANG);

      if (r == d->pid)
        break;
      if (r < 0 && errno != EINTR)
        return throw_errno (error, errno, "waitpid");
      if (g_get_monotonic_time () >= deadline)
        {
          kill (d->pid, SIGKILL);
          waitpid (d->pid, &wstatus, 0);
          d->pid = 0;
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "the daemon did not exit within %d ms (killed)", timeout_ms);
          return FALSE;
        }
      g_usleep (500);
    }
  d->pid = 0;
  *exit_code = decode_status (wstatus);
  return TRUE;
}

gboolean
bench_daemon_stop (BenchDaemon *d, int timeout_ms, int *exit_code, int64_t *elapsed_us,
                   GError **error)
{
  int64_t t0 = g_get_monotonic_time ();

  g_return_val_if_fail (d->pid > 0, FALSE);
  if (kill (d->pid, SIGTERM) != 0)
    return throw_errno (error, errno, "kill(SIGTERM)");
  if (!bench_daemon_reap (d, timeout_ms, exit_code, error))
    {
      g_prefix_error (error, "after SIGTERM: ");
      return FALSE;
    }
  if (elapsed_us)
    *elapsed_us = g_get_monotonic_time () - t0;
  return TRUE;
}

void
bench_daemon_clear (BenchDaemon *d)
{
  if (d->pid > 0)
    {
      int wstatus;
      kill (d->pid, SIGKILL);
      waitpid (d->pid, &wstatus, 0);
      d->pid = 0;
    }
  if (d->stdout_fd >= 0)
    close (d->stdout_fd);
  d->stdout_fd = -1;
  g_clear_pointer (&d->log_path, g_free);
  g_clear_pointer (&d->cwd, g_free);
}

void
bench_daemon_dump_log (const BenchDaemon *d)
{
  g_autofree char *text = NULL;
  size_t len = 0;
  const char *start;

  if (d->log_path == NULL || !g_file_get_contents (d->log_path, &text, &len, NULL))
    return;
  start = len > 4000 ? text + len - 4000 : text;
  fprintf (stderr, "--- daemon log (%s, last %zu bytes) ---\n%s--- end of daemon log ---\n",
           d->log_path, strlen (start), start);
}

static char *
read_proc_file (GPid pid, const char *name)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/%s", (int)pid, name);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return text;
}

uint64_t
bench_proc_status_kib (GPid pid, const char *field)
{
  g_autofree char *text = read_proc_file (pid, "status");
  size_t flen = strlen (field);

  if (text == NULL)
    return 0;
  for (const char *line = text; *line != '\0';)
    {
      const char *nl;

      if (strncmp (line, field, flen) == 0 && line[flen] == ':')
        return g_ascii_strtoull (line + flen + 1, NULL, 10);
      if ((nl = strchr (line, '\n')) == NULL)
        break;
      line = nl + 1;
    }
  return 0;
}

int64_t
bench_proc_cpu_us (GPid pid)
{
  g_autofree char *text = read_proc_file (pid, "stat");
  g_auto (GStrv) fields = NULL;
  const char *rp;
  long ticks = sysconf (_SC_CLK_TCK);
  guint64 utime, stime;

  /* The command name may contain spaces: the fields we want follow the
   * last ')'.  After it come field 3 (state) onwards; utime is field 14. */
  if (text == NULL || (rp = strrchr (text, ')')) == NULL || ticks <= 0)
    return -1;
  fields = g_strsplit (rp + 2, " ", 16);
  if (g_strv_length (fields) < 14)
    return -1;
  utime = g_ascii_strtoull (fields[11], NULL, 10);
  stime = g_ascii_strtoull (fields[12], NULL, 10);
  return (int64_t)((utime + stime) * G_USEC_PER_SEC / (guint64)ticks);
}

int64_t
bench_proc_threads_cpu_us (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/task", (int)pid);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  guint64 ns = 0;

  if (dir == NULL)
    return -1;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, "schedstat", NULL);
      g_autofree char *text = NULL;

      /* First field: nanoseconds spent on a CPU (Documentation/scheduler/sched-stats). */
      if (!g_file_get_contents (file, &text, NULL, NULL))
        return -1;
      ns += g_ascii_strtoull (text, NULL, 10);
    }
  return (int64_t)(ns / 1000);
}

int
bench_proc_fd_count (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", (int)pid);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  int n = 0;

  if (dir == NULL)
    return -1;
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

void
bench_sort (double *values, size_t n)
{
  qsort (values, n, sizeof *values, cmp_double);
}

double
bench_percentile (const double *sorted, size_t n, double p)
{
  size_t rank;

  if (n == 0)
    return 0;
  rank = (size_t)((p / 100.0) * (double)n + 0.999999999);
  rank = CLAMP (rank, 1, n);
  return sorted[rank - 1];
}

char *
bench_make_tmp_dir (GError **error)
{
  return g_dir_make_tmp ("lares-bench-XXXXXX", error);
}

static int
rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)remove (path);
  return 0;
}

void
bench_rm_rf (const char *path)
{
  if (path && *path)
    (void)nftw (path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Run `lares ARGS... -d DATA_DIR` to its end; its stdout in *out if OUT. */
static gboolean
run_cli (const char *const *args, const char *data_dir, char **out, GError **error)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  int status = 0;

  for (size_t i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *)args[i]);
  g_ptr_array_add (argv, (char *)"-d");
  g_ptr_array_add (argv, (char *)data_dir);
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **)argv->pdata, NULL,
                     G_SPAWN_STDERR_TO_DEV_NULL | (out ? 0 : G_SPAWN_STDOUT_TO_DEV_NULL), NULL,
                     NULL, out, NULL, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, error))
    {
      g_prefix_error (error, "lares %s %s: ", args[1], args[2]);
      return FALSE;
    }
  return TRUE;
}

char *
bench_make_token (const char *lares, const char *data_dir, GError **error)
{
  return bench_make_user_token (lares, data_dir, NULL, error);
}

char *
bench_make_user_token (const char *lares, const char *data_dir, const char *user, GError **error)
{
  const char *add[] = { lares, "user", "add", user, NULL };
  const char *create[] = { lares, "token", "create", "--name", "bench", "-u", user, NULL };
  g_autofree char *out = NULL;

  if (user == NULL)
    create[5] = NULL; /* no -u: the first admin's */
  else if (!run_cli (add, data_dir, NULL, error))
    return NULL;
  if (!run_cli (create, data_dir, &out, error))
    return NULL;
  return g_strconcat ("Bearer ", g_strstrip (out), NULL);
}

gboolean
bench_fake_spawn (const char *const *argv, int timeout_ms, GPid *pid, unsigned *port,
                  GError **error)
{
  int64_t deadline = g_get_monotonic_time () + (int64_t)timeout_ms * 1000;
  int out_fd = -1;
  char buf[128];
  size_t len = 0;

  if (!g_spawn_async_with_pipes (NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                 pid, NULL, &out_fd, NULL, error))
    return FALSE;
  while (len < sizeof buf - 1)
    {
      struct pollfd pfd = { out_fd, POLLIN, 0 };
      ssize_t n;

      if (poll (&pfd, 1, remaining_ms (deadline)) <= 0)
        break;
      n = read (out_fd, buf + len, sizeof buf - 1 - len);
      if (n <= 0)
        break;
      len += (size_t)n;
      buf[len] = '\0';
      if (strchr (buf, '\n') != NULL && g_str_has_prefix (buf, "port "))
        {
          *port = (unsigned)g_ascii_strtoull (buf + 5, NULL, 10);
          close (out_fd);
          return *port > 0;
        }
    }
  close (out_fd);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the fake LLM did not print its port");
  return FALSE;
}

void
bench_fake_stop (GPid *pid)
{
  int status;

  if (*pid <= 0)
    return;
  kill (*pid, SIGTERM);
  for (int i = 0; i < 2000 && waitpid (*pid, &status, WNOHANG) == 0; i++)
    g_usleep (1000);
  if (waitpid (*pid, &status, WNOHANG) == 0)
    {
      kill (*pid, SIGKILL);
      waitpid (*pid, &status, 0);
    }
  *pid = 0;
}

gboolean
bench_wait_ready (unsigned port, int timeout_ms, GError **error)
{
  int64_t deadline = g_get_monotonic_time () + (int64_t)timeout_ms * 1000;
  int status = 0;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (GError) local = NULL;

      if (bench_http_get_status (port, "/readyz", 2000, &status, &local) && status == 200)
        return TRUE;
      g_usleep (5000);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "/readyz did not answer 200 (last %d)",
               status);
  return FALSE;
}
