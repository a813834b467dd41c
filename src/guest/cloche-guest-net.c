/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A session's only way out: its network namespace has a loopback device
 * and nothing else, with the proxy's address (10.0.2.100) on it, where the
 * session's keeper listens on the proxy's port. So http_proxy keeps its
 * one value in every session and in the full bundle's configuration.
 *
 * For each connection the keeper forks a forwarder, in the guest's own
 * network namespace, which connects to the real 10.0.2.100:3128 (QEMU's
 * guestfwd to the daemon's proxy), sends "CLOCHE-SESSION <id>\n" first,
 * then copies both ways, passing an end of file on as a half-close. No
 * process of the session can reach the guest's namespace, so none can send
 * that line for another session: the proxy names the session from it,
 * never from what the client says (Proxy-Authorization).
 *
 * The forwarders die with the keeper (PR_SET_PDEATHSIG), the keeper when
 * the session's init is gone (its pidfd becomes readable).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cloche-guest.h"

#define BUFFER_SIZE (64 * 1024)
#define MAX_FORWARDERS 64

typedef struct
{
  int    in;
  int    out;
  bool   ended;
  size_t length;
  size_t offset;
  char   buffer[BUFFER_SIZE];
} Direction;

static struct sockaddr_in
cg_net_proxy_address (void)
{
  struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons (CG_PROXY_PORT) };

  inet_pton (AF_INET, CG_PROXY_ADDRESS, &address.sin_addr);
  return address;
}

/* lo up (the kernel gives it 127.0.0.1 and ::1), and the proxy's address
 * as a second one, host-only. */
static bool
cg_net_loopback_up (int fd)
{
  struct ifreq request = { 0 };
  struct sockaddr_in address = cg_net_proxy_address ();
  struct sockaddr_in mask = { .sin_family = AF_INET, .sin_addr.s_addr = 0xffffffff };

  strcpy (request.ifr_name, "lo");
  if (ioctl (fd, SIOCGIFFLAGS, &request) != 0)
    return false;
  request.ifr_flags |= IFF_UP;
  if (ioctl (fd, SIOCSIFFLAGS, &request) != 0)
    return false;
  strcpy (request.ifr_name, "lo:proxy");
  address.sin_port = 0;
  memcpy (&request.ifr_addr, &address, sizeof address);
  if (ioctl (fd, SIOCSIFADDR, &request) != 0)
    return false;
  memcpy (&request.ifr_netmask, &mask, sizeof mask);
  return ioctl (fd, SIOCSIFNETMASK, &request) == 0;
}

/* In the session's new network namespace: its loopback, and the socket
 * the keeper takes its connections from. */
const char *
cg_net_setup (int *listener)
{
  struct sockaddr_in address = cg_net_proxy_address ();
  int control = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

  if (control < 0 || !cg_net_loopback_up (control))
    return "cannot set up the session's loopback device";
  close (control);
  *listener = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (*listener < 0
      || setsockopt (*listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0
      || bind (*listener, (struct sockaddr *) &address, sizeof address) != 0
      || listen (*listener, 64) != 0)
    return "cannot listen on " CG_PROXY_ADDRESS " in the session's network namespace";
  return NULL;
}

static int
cg_net_connect_proxy (const char *id)
{
  struct sockaddr_in address = cg_net_proxy_address ();
  char line[128];
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  int length = snprintf (line, sizeof line, CG_SESSION_LINE "%s\n", id);

  if (fd < 0)
    return -1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect (fd, (struct sockaddr *) &address, sizeof address) != 0
      || write (fd, line, (size_t) length) != length)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* Moves what it can; false when this direction is over. */
static bool
cg_net_pump (Direction *d,
             short      in_events,
             short      out_events)
{
  if (d->length == 0 && (in_events & (POLLIN | POLLHUP | POLLERR)))
    {
      ssize_t n = read (d->in, d->buffer, sizeof d->buffer);

      if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN)))
        {
          shutdown (d->out, SHUT_WR);
          return false;
        }
      d->length = n > 0 ? (size_t) n : 0;
      d->offset = 0;
    }
  if (d->length > 0 && (out_events & POLLOUT))
    {
      ssize_t n = write (d->out, d->buffer + d->offset, d->length);

      if (n < 0 && errno != EINTR && errno != EAGAIN)
        return false;
      if (n > 0)
        {
          d->offset += (size_t) n;
          d->length -= (size_t) n;
        }
    }
  return true;
}

static noreturn void
cg_net_relay (int         client,
              const char *id)
{
  static Direction up, down;
  int server = cg_net_connect_proxy (id);

  if (server < 0)
    _exit (1);
  up = (Direction) { .in = client, .out = server };
  down = (Direction) { .in = server, .out = client };
  while (!up.ended || !down.ended)
    {
      struct pollfd fds[2] = { { client, 0, 0 }, { server, 0, 0 } };

      fds[0].events = (!up.ended && up.length == 0 ? POLLIN : 0)
                      | (!down.ended && down.length > 0 ? POLLOUT : 0);
      fds[1].events = (!down.ended && down.length == 0 ? POLLIN : 0)
                      | (!up.ended && up.length > 0 ? POLLOUT : 0);
      if (poll (fds, 2, -1) < 0 && errno != EINTR)
        _exit (1);
      if (!up.ended)
        up.ended = !cg_net_pump (&up, fds[0].revents, fds[1].revents);
      if (!down.ended)
        down.ended = !cg_net_pump (&down, fds[1].revents, fds[0].revents);
    }
  _exit (0);
}

/* One forwarder for the connection waiting on @listener; its pid or -1. */
static pid_t
cg_net_serve (int         listener,
              const char *id)
{
  pid_t keeper = getpid (), forwarder;
  int client = accept4 (listener, NULL, NULL, SOCK_CLOEXEC);

  if (client < 0)
    return -1;
  if ((forwarder = fork ()) == 0)
    {
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (getppid () != keeper)
        _exit (1);
      cg_close_all_but (client);
      cg_net_relay (client, id);
    }
  close (client);
  return forwarder;
}

static unsigned
cg_net_reap (unsigned running)
{
  while (running > 0 && waitpid (-1, NULL, WNOHANG) > 0)
    running--;
  return running;
}

/* A session cannot make the guest's root run more than MAX_FORWARDERS
 * processes for it (a client that opens more at once is rare; npm opens 15):
 * the connections beyond wait in the listener's queue. */
noreturn void
cg_net_forward (int         listener,
                int         init_pidfd,
                const char *id)
{
  struct pollfd fds[2] = { { listener, POLLIN, 0 }, { init_pidfd, POLLIN, 0 } };
  unsigned running = 0;

  signal (SIGPIPE, SIG_IGN);
  for (;;)
    {
      running = cg_net_reap (running);
      fds[0].events = running < MAX_FORWARDERS ? POLLIN : 0;
      /* Forwarders that end are noticed within a second (no SIGCHLD handler). */
      if (poll (fds, 2, running > 0 ? 1000 : -1) < 0 && errno != EINTR)
        _exit (1);
      if (fds[1].revents != 0)
        _exit (0);
      if ((fds[0].revents & POLLIN) && cg_net_serve (listener, id) > 0)
        running++;
    }
}
