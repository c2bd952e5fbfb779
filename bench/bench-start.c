/* bench-start.c — start-up time, idle memory and clean shutdown of `lares serve`.
 *
 * Usage: bench-start [--runs N] [--idle-wait MS] LARES_BINARY
 *
 * For each run: spawn `lares serve -d DIR -p 0`, read the port from its one
 * stdout line, then ask GET /readyz over a fresh raw loopback TCP connection
 * again and again, with no pause, until one answers 200.  The time from
 * just before posix_spawn to that 200 is the start time.  Then SIGTERM, and
 * the exit status must be 0.
 *
 * - cold: a new, empty data directory per run (schema created, first user
 *   inserted);
 * - warm: one data directory reused (after one uncounted priming run).
 *
 * Then one more warm start is left idle for --idle-wait ms and its VmRSS is
 * read from /proc/PID/status.
 *
 * Results go to stdout as key=value lines (run-bench.sh parses them);
 * progress and errors go to stderr.  Exit status 0 only when every run
 * became ready and exited 0 on SIGTERM.
 *
 * DESIGN: one thread, blocking sockets with poll(2) timeouts; nothing else
 * runs while a start is being timed.  The binary and its libraries are in
 * the page cache after the first run, so "cold" means a cold data
 * directory, not a cold machine.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "bench-util.h"

#define LISTEN_TIMEOUT_MS 10000
#define READY_TIMEOUT_MS  10000
#define STOP_TIMEOUT_MS   15000

typedef struct
{
  double listen_ms; /* spawn -> "listening on" line read */
  double ready_ms;  /* spawn -> first /readyz 200 */
  double cpu_ms;    /* daemon CPU time (all live threads) at the moment of readiness */
  double stop_ms;   /* SIGTERM -> reaped */
  int probes;       /* /readyz requests sent */
} StartRun;

typedef struct
{
  const char *lares;
  int idle_wait_ms;
  int failures;
} Bench;

static gboolean
wait_ready (BenchDaemon *d, int64_t spawned_us, StartRun *run, GError **error)
{
  int64_t deadline = spawned_us + (int64_t)READY_TIMEOUT_MS * 1000;
  int status = 0;

  if (!bench_daemon_wait_listening (d, LISTEN_TIMEOUT_MS, error))
    return FALSE;
  run->listen_ms = (double)(g_get_monotonic_time () - spawned_us) / 1000.0;
  for (;;)
    {
      g_autoptr (GError) local = NULL;
      int64_t now;

      run->probes++;
      if (bench_http_get_status (d->port, "/readyz", READY_TIMEOUT_MS, &status, &local) &&
          status == 200)
        break;
      now = g_get_monotonic_time ();
      if (now >= deadline)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "/readyz not 200 within %d ms (last: %s)", READY_TIMEOUT_MS,
                       local ? local->message : "non-200 status");
          return FALSE;
        }
    }
  run->ready_ms = (double)(g_get_monotonic_time () - spawned_us) / 1000.0;
  run->cpu_ms = (double)bench_proc_threads_cpu_us (d->pid) / 1000.0;
  return TRUE;
}

static gboolean
stop_checked (BenchDaemon *d, StartRun *run, GError **error)
{
  int64_t elapsed = 0;
  int code = -1;

  if (!bench_daemon_stop (d, STOP_TIMEOUT_MS, &code, &elapsed, error))
    return FALSE;
  if (run)
    run->stop_ms = (double)elapsed / 1000.0;
  if (code != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the daemon exited with status %d", code);
      return FALSE;
    }
  return TRUE;
}

/* One start: spawn, wait for 200, optionally idle and sample, stop. */
static gboolean
one_start (Bench *b, const char *dir, StartRun *run, gboolean idle, GError **error)
{
  g_autofree char *data = g_build_filename (dir, "data", NULL);
  g_autofree char *log = g_build_filename (dir, "stderr.log", NULL);
  BenchDaemon d;
  int64_t spawned = 0;
  gboolean ok;

  if (!bench_daemon_spawn (&d, b->lares, data, dir, log, &spawned, error))
    return FALSE;
  ok = wait_ready (&d, spawned, run, error);
  if (ok && idle)
    {
      g_usleep ((gulong)b->idle_wait_ms * 1000);
      printf ("idle.wait_ms=%d\n", b->idle_wait_ms);
      printf ("idle.rss_kib=%" G_GUINT64_FORMAT "\n", bench_proc_status_kib (d.pid, "VmRSS"));
      printf ("idle.hwm_kib=%" G_GUINT64_FORMAT "\n", bench_proc_status_kib (d.pid, "VmHWM"));
      printf ("idle.rss_anon_kib=%" G_GUINT64_FORMAT "\n",
              bench_proc_status_kib (d.pid, "RssAnon"));
      printf ("idle.rss_file_kib=%" G_GUINT64_FORMAT "\n",
              bench_proc_status_kib (d.pid, "RssFile"));
      printf ("idle.threads=%" G_GUINT64_FORMAT "\n", bench_proc_status_kib (d.pid, "Threads"));
      printf ("idle.fds=%d\n", bench_proc_fd_count (d.pid));
      printf ("idle.cpu_ms=%.2f\n", (double)bench_proc_threads_cpu_us (d.pid) / 1000.0);
    }
  if (ok)
    ok = stop_checked (&d, run, error);
  if (!ok)
    bench_daemon_dump_log (&d);
  bench_daemon_clear (&d);
  return ok;
}

static void
report (const char *name, StartRun *runs, int n)
{
  g_autofree double *ready = g_new (double, n);
  g_autofree double *listen = g_new (double, n);
  g_autofree double *cpu = g_new (double, n);
  g_autofree double *stop = g_new (double, n);
  int probes = 0;

  for (int i = 0; i < n; i++)
    {
      ready[i] = runs[i].ready_ms;
      listen[i] = runs[i].listen_ms;
      cpu[i] = runs[i].cpu_ms;
      stop[i] = runs[i].stop_ms;
      probes = MAX (probes, runs[i].probes);
    }
  bench_sort (ready, n);
  bench_sort (listen, n);
  bench_sort (cpu, n);
  bench_sort (stop, n);
  printf ("start.%s.runs=%d\n", name, n);
  printf ("start.%s.ready_min_ms=%.2f\n", name, ready[0]);
  printf ("start.%s.ready_p50_ms=%.2f\n", name, bench_percentile (ready, n, 50));
  printf ("start.%s.ready_p90_ms=%.2f\n", name, bench_percentile (ready, n, 90));
  printf ("start.%s.ready_max_ms=%.2f\n", name, ready[n - 1]);
  printf ("start.%s.listen_p50_ms=%.2f\n", name, bench_percentile (listen, n, 50));
  printf ("start.%s.cpu_p50_ms=%.2f\n", name, bench_percentile (cpu, n, 50));
  printf ("start.%s.stop_p50_ms=%.2f\n", name, bench_percentile (stop, n, 50));
  printf ("start.%s.stop_max_ms=%.2f\n", name, stop[n - 1]);
  printf ("start.%s.max_probes=%d\n", name, probes);
  fprintf (stderr,
           "bench-start: %s: spawn->/readyz 200 min %.2f / p50 %.2f / p90 %.2f / max %.2f ms "
           "(spawn->listening p50 %.2f ms), SIGTERM->exit p50 %.2f ms\n",
           name, ready[0], bench_percentile (ready, n, 50), bench_percentile (ready, n, 90),
           ready[n - 1], bench_percentile (listen, n, 50), bench_percentile (stop, n, 50));
}

int
main (int argc, char **argv)
{
  int runs = 20, idle_wait_ms = 2000;
  GOptionEntry entries[] = { { "runs", 'n', 0, G_OPTION_ARG_INT, &runs,
                               "Starts per mode (default 20)", "N" },
                             { "idle-wait", 0, 0, G_OPTION_ARG_INT, &idle_wait_ms,
                               "Idle time before reading RSS, ms (default 2000)", "MS" },
                             G_OPTION_ENTRY_NULL };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("LARES_BINARY");
  g_autoptr (GError) error = NULL;
  g_autofree char *root = NULL;
  g_autofree char *warm = NULL;
  g_autofree StartRun *cold_runs = NULL;
  g_autofree StartRun *warm_runs = NULL;
  StartRun scratch = { 0 };
  Bench b = { 0 };
  int rc = 1;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2 || runs < 1 ||
      idle_wait_ms < 0)
    {
      fprintf (stderr, "usage: bench-start [--runs N] [--idle-wait MS] LARES_BINARY%s%s\n",
               error ? ": " : "", error ? error->message : "");
      return 2;
    }
  b.lares = argv[1];
  b.idle_wait_ms = idle_wait_ms;
  root = bench_make_tmp_dir (&error);
  if (root == NULL)
    goto fail;
  cold_runs = g_new0 (StartRun, runs);
  warm_runs = g_new0 (StartRun, runs);

  for (int i = 0; i < runs; i++)
    {
      g_autofree char *name = g_strdup_printf ("cold-%d", i);
      g_autofree char *dir = g_build_filename (root, name, NULL);

      if (g_mkdir (dir, 0700) != 0 || !one_start (&b, dir, &cold_runs[i], FALSE, &error))
        {
          g_prefix_error (&error, "cold start %d: ", i);
          goto fail;
        }
      bench_rm_rf (dir);
    }
  report ("cold", cold_runs, runs);

  warm = g_build_filename (root, "warm", NULL);
  if (g_mkdir (warm, 0700) != 0 || !one_start (&b, warm, &scratch, FALSE, &error))
    {
      g_prefix_error (&error, "priming warm start: ");
      goto fail;
    }
  for (int i = 0; i < runs; i++)
    if (!one_start (&b, warm, &warm_runs[i], FALSE, &error))
      {
        g_prefix_error (&error, "warm start %d: ", i);
        goto fail;
      }
  report ("warm", warm_runs, runs);

  memset (&scratch, 0, sizeof scratch);
  if (!one_start (&b, warm, &scratch, TRUE, &error))
    {
      g_prefix_error (&error, "idle run: ");
      goto fail;
    }
  printf ("start.exit_codes_nonzero=0\n");
  rc = 0;
fail:
  if (error)
    fprintf (stderr, "bench-start: error: %s\n", error->message);
  fflush (stdout);
  if (root)
    bench_rm_rf (root);
  return rc;
}
