/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cloche-egress-relay SOCKET
 *
 * QEMU's user network starts one of these for each connection the guest
 * makes to its proxy address (guestfwd=…-cmd:), with the connection as
 * stdin and stdout — and stderr too, so this program never writes there:
 * it would go to the guest. It connects to the daemon's egress proxy on the
 * Unix socket SOCKET and copies bytes both ways until both directions have
 * ended, passing an end of file on as a half-close, so that a client that
 * shuts down its sending side still gets its answer.
 *
 * It first tries to hand the connection over instead: one NUL byte with the
 * guest's socket attached (SCM_RIGHTS), after which the proxy reads and
 * writes that socket itself and this process exits. That takes a process
 * and two copies of every byte out of the path (tools/bench/egress).
 * Copying is the fallback, for a connection that is not one socket.
 *
 * No GLib: it is started per connection, so it should start fast.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define BUFFER_SIZE (256 * 1024)

typedef struct
{
  int     in;
  int     out;
  int     ended;
  size_t  length;    /* bytes in buffer not yet written */
  size_t  offset;
  char    buffer[BUFFER_SIZE];
} Direction;

static int
cloche_egress_relay_connect_proxy (const char *path)
{
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  int fd;

  if (strlen (path) >= sizeof address.sun_path)
    return -1;
  strcpy (address.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect (fd, (struct sockaddr *) &address, sizeof address) != 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* What the guest's client sees when the daemon is not there: an HTTP
 * answer it can show, rather than a connection that just closes. */
static void
cloche_egress_relay_answer_unavailable (void)
{
  static const char body[] =
    "Cloche's egress proxy is not running: the daemon that started this VM is gone.\n";
  char answer[512];
  int length = snprintf (answer, sizeof answer,
                         "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         sizeof body - 1, body);

  if (write (STDOUT_FILENO, answer, (size_t) length) < 0)
    return;
}

/* The guest side is a socket from QEMU; if it ever is not, closing our
 * copy of the descriptor is the nearest thing to a half-close. */
static void
cloche_egress_relay_shut_down_writing (int fd)
{
  if (shutdown (fd, SHUT_WR) != 0 && errno == ENOTSOCK)
    close (fd);
}

static void
cloche_egress_relay_end_direction (Direction *direction)
{
  direction->ended = 1;
  direction->length = 0;
  cloche_egress_relay_shut_down_writing (direction->out);
}

/* One step of one direction: write what is buffered, or read more. */
static void
cloche_egress_relay_step (Direction *direction,
                          short      in_events,
                          short      out_events)
{
  ssize_t n;

  if (direction->length > 0 && (out_events & (POLLOUT | POLLERR | POLLHUP)))
    {
      n = write (direction->out, direction->buffer + direction->offset, direction->length);
      if (n < 0 && errno != EINTR && errno != EAGAIN)
        cloche_egress_relay_end_direction (direction);
      else if (n > 0)
        {
          direction->offset += (size_t) n;
          direction->length -= (size_t) n;
        }
    }
  else if (direction->length == 0 && (in_events & (POLLIN | POLLERR | POLLHUP)))
    {
      n = read (direction->in, direction->buffer, sizeof direction->buffer);
      /* A reset is an end too: whatever arrived before it was passed on. */
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
        cloche_egress_relay_end_direction (direction);
      else if (n > 0)
        {
          direction->offset = 0;
          direction->length = (size_t) n;
        }
    }
}

static void
cloche_egress_relay_relay (int guest_in,
                           int guest_out,
                           int proxy)
{
  static Direction out, in;

  out.in = guest_in;
  out.out = proxy;
  in.in = proxy;
  in.out = guest_out;
  while (!out.ended || !in.ended)
    {
      struct pollfd fds[4] = {
        { .fd = out.ended || out.length > 0 ? -1 : guest_in, .events = POLLIN },
        { .fd = out.ended || out.length == 0 ? -1 : proxy, .events = POLLOUT },
        { .fd = in.ended || in.length > 0 ? -1 : proxy, .events = POLLIN },
        { .fd = in.ended || in.length == 0 ? -1 : guest_out, .events = POLLOUT },
      };

      if (poll (fds, 4, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return;
        }
      if (!out.ended)
        cloche_egress_relay_step (&out, fds[0].revents, fds[1].revents);
      if (!in.ended)
        cloche_egress_relay_step (&in, fds[2].revents, fds[3].revents);
    }
}

/* stdin and stdout are one socket, as QEMU gives them. */
static int
cloche_egress_relay_is_one_socket (void)
{
  struct stat in, out;

  return fstat (STDIN_FILENO, &in) == 0 && fstat (STDOUT_FILENO, &out) == 0
         && S_ISSOCK (in.st_mode) && in.st_dev == out.st_dev && in.st_ino == out.st_ino;
}

static int
cloche_egress_relay_hand_over (int proxy)
{
  char nul = '\0';
  struct iovec vector = { &nul, 1 };
  union {
    struct cmsghdr header;
    char           space[CMSG_SPACE (sizeof (int))];
  } control;
  struct msghdr message = {
    .msg_iov = &vector, .msg_iovlen = 1,
    .msg_control = control.space, .msg_controllen = sizeof control.space,
  };
  struct cmsghdr *header = CMSG_FIRSTHDR (&message);
  int fd = STDIN_FILENO;

  memset (&control, 0, sizeof control);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (header), &fd, sizeof fd);
  return sendmsg (proxy, &message, MSG_NOSIGNAL) == 1;
}

int
main (int   argc,
      char *argv[])
{
  int proxy;

  if (argc != 2)
    return 2;
  /* A peer that goes away is an error from write(), not a signal. */
  signal (SIGPIPE, SIG_IGN);
  proxy = cloche_egress_relay_connect_proxy (argv[1]);
  if (proxy < 0)
    {
      cloche_egress_relay_answer_unavailable ();
      return 1;
    }
  /* The descriptor in flight stays open after this process exits. */
  if (cloche_egress_relay_is_one_socket () && cloche_egress_relay_hand_over (proxy))
    return 0;
  cloche_egress_relay_relay (STDIN_FILENO, STDOUT_FILENO, proxy);
  return 0;
}
