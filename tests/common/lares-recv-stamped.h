/* lares-recv-stamped.h — when bytes reached a socket, by the kernel's
 * receive stamp, for the fake LLM and the chat bench: their figures must
 * not include the time they waited for a CPU before reading. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* Ask the kernel to stamp when bytes reach socket @fd (SO_TIMESTAMPNS). */
void lares_stamp_arrivals (int fd);

/* recv(2) into @buf; @arrived_us: OUT, when the last of the bytes read
 * reached the socket, on g_get_monotonic_time()'s clock, or 0 when the
 * kernel gave no stamp (lares_stamp_arrivals not called, nothing read). */
ssize_t lares_recv_stamped (int fd, void *buf, size_t len, int64_t *arrived_us);
