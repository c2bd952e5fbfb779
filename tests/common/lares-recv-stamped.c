/* lares-recv-stamped.c — see lares-recv-stamped.h. */
#include "config.h"

#include "lares-recv-stamped.h"

#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <glib.h>

void
lares_stamp_arrivals (int fd)
{
  int one = 1;

  (void)setsockopt (fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
}

ssize_t
lares_recv_stamped (int fd, void *buf, size_t len, int64_t *arrived_us)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (struct timespec))];
    struct cmsghdr align;
  } control;
  struct iovec iov = { .iov_base = buf, .iov_len = len };
  struct msghdr mh = { .msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = control.buf,
                       .msg_controllen = sizeof control.buf };
  ssize_t n = recvmsg (fd, &mh, 0);

  *arrived_us = 0;
  for (struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR (&mh) : NULL; cm; cm = CMSG_NXTHDR (&mh, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS)
      {
        struct timespec stamp, real;
        int64_t mono = g_get_monotonic_time ();

        /* The stamp is on CLOCK_REALTIME: move it by how far that clock is
         * from the monotonic one now. */
        memcpy (&stamp, CMSG_DATA (cm), sizeof stamp);
        clock_gettime (CLOCK_REALTIME, &real);
        *arrived_us = mono - ((int64_t)real.tv_sec - (int64_t)stamp.tv_sec) * G_USEC_PER_SEC -
                      ((int64_t)real.tv_nsec - (int64_t)stamp.tv_nsec) / 1000;
      }
  return n;
}
