/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * pty ID CWD PORT ROWS COLS tty|pipe -- ARGV…: a terminal in a session.
 * resize PORT ROWS COLS: its new window size.
 *
 * The daemon has plugged a virtio-serial port named PORT whose host end is
 * a socket the client holds (docs/ARCHITECTURE.md, "Terminals"). This
 * relay, run by the guest agent as the guest's root:
 *
 *   1. opens the port in the guest's own /dev (the session's view has no
 *      such node), waiting for the device to appear, then for the host end
 *      to be connected;
 *   2. records itself in CG_TERMINALS_DIR/PORT (pid and start time), so that
 *      resize finds it, and nothing else can: the folder is root's;
 *   3. enters the session as exec does (cloche-guest-exec.c) and opens a
 *      PTY in the session's own devpts, so that the terminal is the
 *      session's: its slave is given to the session's user, its master
 *      stays here, outside the session's PID namespace;
 *   4. forks the command with the slave as its controlling terminal, and
 *      copies bytes port <-> master until the command ends; then passes on
 *      what the command wrote last, and exits with its status.
 *
 * A host end that goes away (the client closed its socket) detaches the
 * terminal: the command goes on, the relay keeps the master and the newest
 * BUFFER_SIZE bytes the command writes (older ones are dropped, so that
 * the command never blocks and the guest's memory is bounded), and looks
 * every DETACHED_CHECK_MS for a host end again: the daemon swaps the
 * port's chardev for a new client's socket (AttachTerminal), and the kept
 * bytes go to it first. Only the command's end (or the session's close,
 * which ends it) ends the terminal. A command that ends while detached
 * leaves its last output (bounded as above) and its status waiting for
 * the next client: the relay stays, detached, until one is back (then
 * writes it all and exits with the status, as for any end), or until the
 * session's init is gone (the session was closed: no one can come back to
 * it). In pipe mode (a script's pipe, which
 * no one re-attaches to) the host end going is a hang-up, as when a
 * terminal window closes: the master is closed, the kernel sends SIGHUP to
 * the command, and the relay leaves after a grace period; the command, its
 * child, dies with it (PR_SET_PDEATHSIG). When QEMU dies the guest goes
 * with it.
 *
 * "pipe" is for a client whose input is not a terminal: no echo, no
 * signals from control characters, no CR added to NL; input stays in
 * lines, so that the client's end of input (a VEOF, ^D) reaches the
 * command as end of file.
 *
 * resize gets the master from the relay itself (pidfd_getfd: the guest's
 * root may take a descriptor of its own processes) and sets the window
 * size; the kernel sends SIGWINCH to the terminal's foreground group.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cloche-guest.h"

#define PORTS_DIR        "/sys/class/virtio-ports"
#define PORT_WAIT_MS     5000
#define HOST_WAIT_MS     5000
#define HANGUP_GRACE_MS  2000
#define BUFFER_SIZE      65536
#define DETACHED_DROP    (BUFFER_SIZE / 4)
#define DETACHED_CHECK_MS 100

typedef struct
{
  char   data[BUFFER_SIZE];
  size_t start, end;
} Buffer;

static void
cloche_guest_pty_sleep_ms (int ms)
{
  struct timespec delay = { ms / 1000, (long) (ms % 1000) * 1000000L };

  nanosleep (&delay, NULL);
}

/* @fd moved clear of CG_PTY_MASTER_FD, where the master goes. */
static int
cloche_guest_pty_high_fd (int fd)
{
  int high = fcntl (fd, F_DUPFD_CLOEXEC, CG_PTY_MASTER_FD + 7);

  if (high < 0)
    cg_fail ("cannot move a descriptor: %s", strerror (errno));
  close (fd);
  return high;
}

/* @prefix and a number: a terminal's port, or the exec server's. */
bool
cg_port_name_valid (const char *name,
                    const char *kind)
{
  size_t prefix = strlen (kind);
  size_t length = strlen (name);

  if (strncmp (name, kind, prefix) != 0 || length == prefix
      || length > prefix + 9)
    return false;
  for (const char *p = name + prefix; *p != '\0'; p++)
    if (*p < '0' || *p > '9')
      return false;
  return true;
}

/* The vportNpM whose name is @name, or false: the kernel names each port
 * in sysfs, and makes its node in devtmpfs (no udev here). */
static bool
cloche_guest_pty_find_port_node (const char *name,
                                 char       *node,
                                 size_t      size)
{
  DIR *dir = opendir (PORTS_DIR);
  struct dirent *entry;
  bool found = false;

  if (dir == NULL)
    return false;
  while (!found && (entry = readdir (dir)) != NULL)
    {
      char path[512], text[256] = "";
      ssize_t n;
      int fd;

      if (strncmp (entry->d_name, "vport", 5) != 0)
        continue;
      snprintf (path, sizeof path, PORTS_DIR "/%s/name", entry->d_name);
      if ((fd = open (path, O_RDONLY | O_CLOEXEC)) < 0)
        continue;
      n = read (fd, text, sizeof text - 1);
      close (fd);
      if (n <= 0)
        continue;
      text[n] = '\0';
      text[strcspn (text, "\n")] = '\0';
      if (strcmp (text, name) == 0)
        found = snprintf (node, size, "/dev/%s", entry->d_name) < (int) size;
    }
  closedir (dir);
  return found;
}

/* The port is plugged just before we run: the guest's driver may not have
 * taken it yet, nor devtmpfs made its node. Non-blocking, close-on-exec. */
int
cg_port_open (const char *name)
{
  char node[300];

  for (int waited = 0; waited <= PORT_WAIT_MS; waited += 20)
    {
      if (cloche_guest_pty_find_port_node (name, node, sizeof node))
        {
          int fd = open (node, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

          if (fd >= 0)
            return fd;
          if (errno != ENOENT)
            cg_fail ("cannot open the port %s (%s): %s", name, node,
                     strerror (errno));
        }
      cloche_guest_pty_sleep_ms (20);
    }
  cg_fail ("the port %s did not appear in %d s", name, PORT_WAIT_MS / 1000);
}

/* A port reports POLLHUP while its host end is not connected: it is from
 * the start, but the guest may hear of it after it opened the port. */
void
cg_port_wait_host (int         port,
                   const char *name)
{
  for (int waited = 0; waited <= HOST_WAIT_MS; waited += 20)
    {
      struct pollfd p = { .fd = port, .events = POLLOUT };

      if (poll (&p, 1, 0) >= 0 && !(p.revents & POLLHUP))
        return;
      cloche_guest_pty_sleep_ms (20);
    }
  cg_fail ("the host end of the port %s is not connected", name);
}

/* CG_TERMINALS_DIR/<port>: this relay, for resize. Returns the folder,
 * kept open to remove the record after we left the guest's mount
 * namespace. */
static int
cloche_guest_pty_record_relay (const char *port)
{
  char text[64];
  unsigned long long start;
  int dir;

  if ((mkdir (CG_STATE_DIR, 0700) != 0 && errno != EEXIST)
      || (mkdir (CG_TERMINALS_DIR, 0700) != 0 && errno != EEXIST)
      || (dir = open (CG_TERMINALS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
    cg_fail ("cannot make %s: %s", CG_TERMINALS_DIR, strerror (errno));
  if (!cg_process_start (getpid (), &start))
    cg_fail ("cannot read our own start time");
  snprintf (text, sizeof text, "%d %llu\n", (int) getpid (), start);
  {
    char path[256];

    snprintf (path, sizeof path, CG_TERMINALS_DIR "/%s", port);
    if (!cg_write_file (path, text, 0600))
      cg_fail ("cannot record the terminal in %s: %s", path, strerror (errno));
  }
  return cloche_guest_pty_high_fd (dir);
}

static void
cloche_guest_pty_set_pipe_mode (int slave)
{
  struct termios mode;

  if (tcgetattr (slave, &mode) != 0)
    cg_fail ("cannot read the terminal's mode: %s", strerror (errno));
  mode.c_iflag = 0;
  mode.c_oflag = 0;
  mode.c_lflag = ICANON;
  if (tcsetattr (slave, TCSANOW, &mode) != 0)
    cg_fail ("cannot set the terminal's mode: %s", strerror (errno));
}

/* In the session's view: its /dev/ptmx is its own devpts instance's. The
 * slave is opened from the master (no path a session could swap) and
 * given to the session's user, as login gives a terminal to who logs in. */
static int
cloche_guest_pty_open_pty (const CgPtyRequest *request,
                           const CgSession    *session,
                           int                *slave_out)
{
  struct winsize size = { .ws_row = request->rows, .ws_col = request->cols };
  int master, slave, unlock = 0;

  master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || ioctl (master, TIOCSPTLCK, &unlock) != 0)
    cg_fail ("cannot open a terminal in session %s: %s", request->id, strerror (errno));
  slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0 || fchown (slave, session->uid, session->uid) != 0
      || fchmod (slave, 0600) != 0)
    cg_fail ("cannot give the terminal to session %s: %s", request->id, strerror (errno));
  if (ioctl (master, TIOCSWINSZ, &size) != 0)
    cg_fail ("cannot set the terminal's size: %s", strerror (errno));
  if (request->pipe)
    cloche_guest_pty_set_pipe_mode (slave);
  /* Where resize looks for it. */
  if (master != CG_PTY_MASTER_FD)
    {
      if (dup3 (master, CG_PTY_MASTER_FD, O_CLOEXEC) < 0)
        cg_fail ("cannot keep the terminal: %s", strerror (errno));
      close (master);
    }
  *slave_out = slave;
  return CG_PTY_MASTER_FD;
}

/* Moves what @from has into @buffer, or @buffer into @to. False at the end
 * of @from (0 or an error that is not "try again"). */
static bool
cloche_guest_pty_fill (Buffer *buffer,
                       int     from)
{
  ssize_t n;

  if (buffer->start == buffer->end)
    buffer->start = buffer->end = 0;
  if (buffer->end == sizeof buffer->data)
    return true;
  n = read (from, buffer->data + buffer->end, sizeof buffer->data - buffer->end);
  if (n > 0)
    buffer->end += (size_t) n;
  return n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR));
}

static bool
cloche_guest_pty_drain (Buffer *buffer,
                        int     to)
{
  ssize_t n;

  if (buffer->start == buffer->end)
    return true;
  n = write (to, buffer->data + buffer->start, buffer->end - buffer->start);
  if (n > 0)
    buffer->start += (size_t) n;
  return n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR));
}

static bool
cloche_guest_pty_is_empty (const Buffer *buffer)
{
  return buffer->start == buffer->end;
}

static bool
cloche_guest_pty_has_room (const Buffer *buffer)
{
  return buffer->end < sizeof buffer->data || buffer->start == buffer->end;
}

/* What the command wrote before it ended, to the last byte the master
 * has (the kernel pushes a PTY's pending bytes before a read says there
 * are none), then out of the port, waiting as long as the host takes. */
static void
cloche_guest_pty_flush_output (int     master,
                               int     port,
                               Buffer *output)
{
  bool more = true;

  while (more || !cloche_guest_pty_is_empty (output))
    {
      struct pollfd p = { .fd = port, .events = POLLOUT };

      if (more && cloche_guest_pty_has_room (output))
        {
          size_t held = output->end - output->start;

          more = cloche_guest_pty_fill (output, master) && output->end - output->start > held;
        }
      if (cloche_guest_pty_is_empty (output))
        continue;
      if (poll (&p, 1, -1) < 0 && errno != EINTR)
        return;
      if ((p.revents & (POLLHUP | POLLERR)) || !cloche_guest_pty_drain (output, port))
        return;
    }
}

/* The host end went away: hang the terminal up, give the command a moment
 * to leave, and go (taking it with us if it did not). */
static int
cloche_guest_pty_hang_up (int master,
                          int child_fd,
                          pid_t child)
{
  struct pollfd p = { .fd = child_fd, .events = POLLIN };

  close (master);
  if (poll (&p, 1, HANGUP_GRACE_MS) > 0)
    return cg_wait_status (child);
  return 128 + SIGHUP;
}

/* The relay's state: the two ends, the command, and whether a client is
 * on the port's host end. */
typedef struct
{
  int    port;
  int    master;
  int    child_fd;
  pid_t  child;
  bool   master_open;
  bool   attached;
  bool   detachable;     /* a tty terminal outlives its client; a pipe hangs up */
  int    session_fd;     /* the session's init (a pidfd): readable once it closed */
  Buffer input, output;
} Relay;

/* Detached, the output keeps the newest bytes: the oldest quarter goes
 * when it is full, so that the command never blocks on a terminal no one
 * reads, and what it printed last is there for the next client. */
static void
cloche_guest_pty_make_room (Buffer *buffer)
{
  size_t held = buffer->end - buffer->start;

  if (buffer->end < sizeof buffer->data || held == 0)
    return;
  memmove (buffer->data, buffer->data + buffer->start, held);
  buffer->start = 0;
  buffer->end = held;
  if (held < sizeof buffer->data)
    return;
  memmove (buffer->data, buffer->data + DETACHED_DROP, held - DETACHED_DROP);
  buffer->end = held - DETACHED_DROP;
}

static void
cloche_guest_pty_watch (struct pollfd *fds,
                        Relay         *relay)
{
  Buffer *input = &relay->input, *output = &relay->output;

  /* Detached, the port says POLLHUP until a client is back: it is looked
   * at on a timer instead (cloche_guest_pty_is_host_back). */
  fds[0] = (struct pollfd) { .fd = relay->attached ? relay->port : -1,
                             .events = (cloche_guest_pty_has_room (input) ? POLLIN : 0)
                                       | (cloche_guest_pty_is_empty (output) ? 0 : POLLOUT) };
  /* A master with no slave open says so (POLLHUP) until one is: -1 then,
   * the command's end comes from its pidfd. */
  fds[1] = (struct pollfd) { .fd = relay->master_open ? relay->master : -1,
                             .events =
    (cloche_guest_pty_has_room (output) || !relay->attached ? POLLIN : 0)
                                       | (cloche_guest_pty_is_empty (input) ? 0 : POLLOUT) };
  fds[2] = (struct pollfd) { .fd = relay->child_fd, .events = POLLIN };
}

static bool
cloche_guest_pty_is_host_back (int port)
{
  struct pollfd p = { .fd = port, .events = POLLOUT };

  return poll (&p, 1, 0) >= 0 && !(p.revents & (POLLHUP | POLLERR));
}

/* The port's side of one turn: false when its host end went away. */
static bool
cloche_guest_pty_port_turn (Relay *relay,
                            short  revents)
{
  return !((revents & (POLLHUP | POLLERR))
           || ((revents & POLLIN) && !cloche_guest_pty_fill (&relay->input, relay->port))
           || ((revents & POLLOUT) && !cloche_guest_pty_drain (&relay->output, relay->port)));
}

static void
cloche_guest_pty_master_turn (Relay *relay,
                              short  revents)
{
  if ((revents & (POLLIN | POLLHUP)) && !relay->attached)
    cloche_guest_pty_make_room (&relay->output);
  if ((revents & (POLLIN | POLLHUP)) && !cloche_guest_pty_fill (&relay->output, relay->master))
    relay->master_open = false;
  if (revents & POLLOUT)
    cloche_guest_pty_drain (&relay->input, relay->master);
}

/* The command has ended with no client on the port: read what it left in
 * the master, keeping the newest bytes as while detached, then wait for a
 * client (true) or for the session's end (false: nobody will come). */
static bool
cloche_guest_pty_keep_for_next_client (Relay *relay)
{
  Buffer *output = &relay->output;
  struct pollfd session = { .fd = relay->session_fd, .events = POLLIN };

  for (;;)
    {
      size_t end;

      cloche_guest_pty_make_room (output);
      end = output->end;
      if (!cloche_guest_pty_fill (output, relay->master) || output->end == end)
        break;
    }
  while (!cloche_guest_pty_is_host_back (relay->port))
    if (poll (&session, 1, DETACHED_CHECK_MS) > 0)
      return false;
  relay->attached = true;
  return true;
}

/* port -> input -> master, master -> output -> port, until the command
 * ends (its pidfd). The host end going is a detach (the output kept,
 * bounded, until a client is back on the port), or for a pipe a hang-up. */
static int
cloche_guest_pty_relay (int   port,
                        int   master,
                        pid_t child,
                        bool  detachable,
                        int   session_fd)
{
  static Relay r;

  r = (Relay) { .port = port, .master = master, .child = child, .master_open = true,
                .attached = true, .detachable = detachable, .session_fd = session_fd };
  r.child_fd = (int) syscall (SYS_pidfd_open, child, 0);
  if (r.child_fd < 0 || fcntl (master, F_SETFL, O_NONBLOCK) != 0)
    cg_fail ("cannot watch the terminal's command: %s", strerror (errno));
  for (;;)
    {
      struct pollfd fds[3];

      cloche_guest_pty_watch (fds, &r);
      if (poll (fds, 3, r.attached ? -1 : DETACHED_CHECK_MS) < 0)
        {
          if (errno == EINTR)
            continue;
          cg_fail ("the terminal's relay failed: %s", strerror (errno));
        }
      if (r.attached && !cloche_guest_pty_port_turn (&r, fds[0].revents))
        {
          if (!r.detachable)
            return cloche_guest_pty_hang_up (master, r.child_fd, child);
          r.attached = false;
        }
      cloche_guest_pty_master_turn (&r, fds[1].revents);
      if (fds[2].revents & POLLIN)
        {
          int status = cg_wait_status (child);

          if (r.attached || cloche_guest_pty_keep_for_next_client (&r))
            cloche_guest_pty_flush_output (master, port, &r.output);
          return status;
        }
      if (!r.attached && cloche_guest_pty_is_host_back (port))
        r.attached = true;
    }
}

int
cg_pty (const CgPtyRequest *request)
{
  char name[256];
  CgSession session;
  int port, folder, master, slave, status, session_fd;
  pid_t child;

  signal (SIGPIPE, SIG_IGN);
  port = cloche_guest_pty_high_fd (cg_port_open (request->port));
  cg_port_wait_host (port, request->port);
  folder = cloche_guest_pty_record_relay (request->port);
  /* The session's init, watched while a command that ended waits for a
   * client; taken before we enter the session, whose /proc is its own. */
  if (!cg_session_load (request->id, &session)
      || (session_fd = cg_pidfd_open (session.init_pid, session.init_start)) < 0)
    cg_fail ("session %s is not open in this guest (its processes have ended): "
             "close it and open a new one", request->id);
  session_fd = cloche_guest_pty_high_fd (session_fd);
  cg_session_enter (request->id, &session);
  master = cloche_guest_pty_open_pty (request, &session, &slave);
  child = fork ();
  if (child < 0)
    cg_fail ("cannot start the command in session %s: %s", request->id, strerror (errno));
  if (child == 0)
    cg_run_child (&session, request->cwd, request->argv, slave);
  close (slave);
  status = cloche_guest_pty_relay (port, master, child, !request->pipe, session_fd);
  /* Gone from the guest's folder, which we reach through @folder. */
  snprintf (name, sizeof name, "%s", request->port);
  unlinkat (folder, name, 0);
  return status;
}

/* The relay of @port, and its master, taken from it. */
static int
cloche_guest_pty_take_master (const char *port)
{
  char path[256], text[64] = "";
  unsigned long long start;
  int fd, pidfd, master, pid, number;
  ssize_t n;

  snprintf (path, sizeof path, CG_TERMINALS_DIR "/%s", port);
  if ((fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
    cg_fail ("no terminal on port %s in this guest", port);
  n = read (fd, text, sizeof text - 1);
  close (fd);
  if (n <= 0 || sscanf (text, "%d %llu", &pid, &start) != 2
      || (pidfd = cg_pidfd_open (pid, start)) < 0)
    cg_fail ("the terminal on port %s has ended", port);
  master = (int) syscall (SYS_pidfd_getfd, pidfd, CG_PTY_MASTER_FD, 0);
  close (pidfd);
  if (master < 0 || ioctl (master, TIOCGPTN, &number) != 0)
    cg_fail ("cannot reach the terminal on port %s: %s", port,
             master < 0 ? strerror (errno) : "not a terminal");
  return master;
}

int
cg_pty_resize (const char     *port,
               unsigned short  rows,
               unsigned short  cols)
{
  struct winsize size = { .ws_row = rows, .ws_col = cols };
  int master = cloche_guest_pty_take_master (port);

  if (ioctl (master, TIOCSWINSZ, &size) != 0)
    cg_fail ("cannot resize the terminal on port %s: %s", port, strerror (errno));
  close (master);
  return 0;
}
