/* bench-ws-raw.h — a minimal RFC 6455 client for benchmarks: blocking
 * handshake, then non-blocking reads driven by the caller's epoll loop.
 *
 * It exists so the fan-out bench can also measure with a receiver whose
 * per-message cost is one read(2), next to the libsoup client whose GLib
 * main loop scans every socket on every wakeup.  Scope: unfragmented text
 * frames from the server, pings (answered), close (answered); anything else
 * is a protocol error.  Not for untrusted peers: it trusts the daemon.
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct
{
  int fd;       /* -1 when closed */
  uint8_t *buf; /* (owned) received bytes not yet parsed */
  size_t len, cap;
} BenchWsRaw;

/* Called with each complete text frame's payload (not NUL-terminated). */
typedef void (*BenchWsTextFunc) (gpointer user_data, const char *data, size_t len);

/* Connect to 127.0.0.1:PORT, do the opening handshake for PATH (checking
 * Sec-WebSocket-Accept) within TIMEOUT_MS, then make the socket
 * non-blocking.  No extensions are offered. */
gboolean bench_ws_raw_open (BenchWsRaw *ws, unsigned port, const char *path, const char *auth,
                            int timeout_ms, GError **error);

/* Read everything available and hand each text frame to FUNC; answer
 * pings.  Returns 1 while open, 0 once closed (a close frame was answered,
 * or EOF; the fd is then closed and @close_code, OUT, is the peer's code,
 * 1005 if it gave none, 1006 on EOF without one), -1 on error. */
int bench_ws_raw_read (BenchWsRaw *ws, BenchWsTextFunc func, gpointer user_data,
                       unsigned short *close_code, GError **error);

/* Close the fd (if open) and free the buffer. */
void bench_ws_raw_clear (BenchWsRaw *ws);

G_END_DECLS
