/* bench-util.h — what the benches share: starting and stopping a `lares
 * serve` child, reading its /proc figures, and percentiles.
 *
 * Every wait here is bounded: a bench that cannot reach the daemon fails
 * with a GError instead of hanging.  The daemon runs with a scrubbed
 * environment (no LARES_* variables) in a working directory of its own, so
 * a stray lares.conf or variable on the machine cannot change what is
 * measured.
 */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <sys/types.h>

G_BEGIN_DECLS

typedef struct
{
  GPid pid;       /* 0 once reaped */
  int stdout_fd;  /* (owned) read end of the child's stdout, -1 when closed */
  unsigned port;  /* from the "listening on" line */
  char *log_path; /* (owned) the child's stderr goes here */
  char *cwd;      /* (owned) working directory of the child */
} BenchDaemon;

/* Spawn `LARES serve -d DATA_DIR -p 0` with stderr appended to LOG_PATH and
 * the working directory CWD.  Returns at once; @spawned_us: OUT, monotonic
 * time taken just before the spawn. */
gboolean bench_daemon_spawn (BenchDaemon *d, const char *lares, const char *data_dir,
                             const char *cwd, const char *log_path, int64_t *spawned_us,
                             GError **error);

/* The same with EXTRA_ARGS (NULL-terminated, nullable) after `-p 0`, e.g.
 * { "--set", "llm.provider=openai", NULL }. */
gboolean bench_daemon_spawn_args (BenchDaemon *d, const char *lares, const char *data_dir,
                                  const char *cwd, const char *log_path,
                                  const char *const *extra_args, int64_t *spawned_us,
                                  GError **error);

/* Wait up to TIMEOUT_MS for the "lares: listening on http://127.0.0.1:PORT/"
 * line and fill d->port. */
gboolean bench_daemon_wait_listening (BenchDaemon *d, int timeout_ms, GError **error);

/* One blocking "GET PATH" over a fresh loopback TCP connection to d->port.
 * @status: OUT, the HTTP status code.  Waits at most TIMEOUT_MS. */
gboolean bench_http_get_status (unsigned port, const char *path, int timeout_ms, int *status,
                                GError **error);

/* Wait at most TIMEOUT_MS for the child to exit and reap it.  @exit_code:
 * OUT, the exit status, or 128 + signal when killed by one.  On timeout the
 * child is sent SIGKILL and reaped, and FALSE is returned. */
gboolean bench_daemon_reap (BenchDaemon *d, int timeout_ms, int *exit_code, GError **error);

/* Send SIGTERM and reap the child, waiting at most TIMEOUT_MS.
 * @exit_code: OUT, the exit status, or 128 + signal when killed by one.
 * @elapsed_us: OUT (nullable), SIGTERM -> reaped.  On timeout the child is
 * sent SIGKILL and reaped, and FALSE is returned. */
gboolean bench_daemon_stop (BenchDaemon *d, int timeout_ms, int *exit_code, int64_t *elapsed_us,
                            GError **error);

/* Kill (SIGKILL) and reap the child if it is still there, close the pipe and
 * free the strings.  Safe to call twice. */
void bench_daemon_clear (BenchDaemon *d);

/* Print the last lines of the daemon's stderr log to our stderr (for errors). */
void bench_daemon_dump_log (const BenchDaemon *d);

/* VmRSS / VmHWM of PID in KiB from /proc/PID/status; 0 when unknown. */
uint64_t bench_proc_status_kib (GPid pid, const char *field);

/* user + system CPU time of PID in microseconds, from /proc/PID/stat (clock
 * tick resolution, usually 10 ms; includes exited threads); -1 when unknown. */
int64_t bench_proc_cpu_us (GPid pid);

/* CPU time of PID's live threads in microseconds, with nanosecond
 * resolution, from /proc/PID/task/TID/schedstat; threads that already
 * exited are not counted.  -1 when unknown. */
int64_t bench_proc_threads_cpu_us (GPid pid);

/* Number of entries in /proc/PID/fd, or -1. */
int bench_proc_fd_count (GPid pid);

/* Nearest-rank percentile P (0..100) of N values already sorted ascending. */
double bench_percentile (const double *sorted, size_t n, double p);

/* Sort ascending in place. */
void bench_sort (double *values, size_t n);

/* A fresh private directory under $TMPDIR (or /tmp), like mkdtemp. */
char *bench_make_tmp_dir (GError **error);

/* Remove PATH and everything under it (does not follow symlinks). */
void bench_rm_rf (const char *path);

/* An admin API token for the daemon on @data_dir, as "Bearer <token>"
 * (`lares token create`).  (transfer full) */
char *bench_make_token (const char *lares, const char *data_dir, GError **error);
/* A new user @user (not an admin) and a token of theirs, as above; NULL:
 * as bench_make_token().  (transfer full) */
char *bench_make_user_token (const char *lares, const char *data_dir, const char *user,
                             GError **error);

/* Start tests/fake-llm with @argv (it must ask for "--port 0") and read the
 * "port N" line it prints, within @timeout_ms.  The child is not reaped:
 * stop it with bench_fake_stop. */
gboolean bench_fake_spawn (const char *const *argv, int timeout_ms, GPid *pid, unsigned *port,
                           GError **error);
/* SIGTERM, up to 2 s to exit, then SIGKILL; *@pid becomes 0.  No-op on 0. */
void bench_fake_stop (GPid *pid);
/* Ask GET /readyz until it answers 200, for at most @timeout_ms. */
gboolean bench_wait_ready (unsigned port, int timeout_ms, GError **error);

G_END_DECLS
