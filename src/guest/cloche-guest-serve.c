/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * serve PORT: the exec server. One per boot, as the guest's root, outside
 * every session; the daemon plugged the virtio-serial port PORT for it and
 * started it through the guest agent. A session's commands then cost one
 * fork here and one exec of the command, and their ends are pushed to the
 * daemon: no exec of cloche-guest and no guest-exec-status poll per
 * command (issue 21; docs/ARCHITECTURE.md, "The exec server").
 *
 * Each command runs exactly as `cloche-guest exec` runs it: a child of
 * ours calls cg_exec (enter the session through its init's pidfd, fork,
 * drop to the session's user for good, chdir, execvpe) with the request's
 * environment as its own, its stdin the input the request carried (a
 * memfd, or /dev/null), its stdout and stderr pipes we read. KILL is
 * SIGTERM to that child, which kills the command's process group (137).
 * The child dies with us (PR_SET_PDEATHSIG SIGTERM: the same kill).
 *
 * The protocol, both ways on the port, little-endian:
 *
 *   header  u32 length of the payload (<= 65536), u8 type, u32 request id
 *   host → guest
 *     START  u8 input (1: IN frames follow, ended by an empty one; 0:
 *            stdin is /dev/null), then NUL-terminated strings: session id,
 *            cwd, argv[0], …, "" (the end of argv), env… ; id not in use, > 0
 *     IN     bytes of the command's stdin (<= 16 MiB in all); empty: the end
 *     KILL   nothing: stop the command (its end follows as EXIT)
 *   guest → host
 *     READY  "cloche-exec 1", id 0: the server is up (the protocol's version)
 *     OUT    bytes the command wrote on stdout
 *     ERR    bytes it wrote on stderr
 *     EXIT   u32 its status (0-255: 128 + a signal; 125 when cloche-guest
 *            could not start it, with why on ERR), after all its output
 *
 * Everything is bounded: a frame's length before anything is read into
 * memory, the number of commands at once, a command's input, what waits to
 * be written to the port (past SERVE_QUEUE_MAX the pipes wait: the command
 * blocks on its writes, as on a slow terminal). A frame we cannot take is
 * the end: the daemon is the only writer, and a wrong frame means it and
 * we disagree. When the port's host end goes (the daemon unplugged it, or
 * QEMU went), we kill what we run and exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cloche-guest.h"

#define SERVE_HEADER       9
#define SERVE_MAX_FRAME    65536
#define SERVE_MAX_COMMANDS 64
#define SERVE_MAX_INPUT    (16u << 20)
#define SERVE_MAX_STRINGS  8192
#define SERVE_QUEUE_MAX    (1u << 20)
#define SERVE_READY        "cloche-exec 1"

enum
{
  SERVE_START = 1,
  SERVE_IN    = 2,
  SERVE_KILL  = 3,
  SERVE_READY_FRAME = 4,
  SERVE_OUT   = 5,
  SERVE_ERR   = 6,
  SERVE_EXIT  = 7,
};

typedef struct
{
  uint32_t id;            /* 0: a free slot */
  char    *start;         /* the START's strings, until it runs */
  size_t   start_size;
  int      input;         /* the memfd its input is collected in, or -1 */
  size_t   input_size;
  pid_t    pid;           /* 0 until it runs */
  int      pidfd;
  int      out, err;      /* our ends of its pipes; -1 once at their end */
  bool     exited;
  int      status;
} Command;

typedef struct
{
  int      port;
  uint8_t  in[SERVE_HEADER + SERVE_MAX_FRAME];
  size_t   in_size;
  uint8_t *queue;         /* frames waiting for room in the port */
  size_t   queue_size, queue_room;
  Command  commands[SERVE_MAX_COMMANDS];
} Server;

static uint32_t
cloche_guest_serve_u32 (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static void
cloche_guest_serve_put_u32 (uint8_t  *p,
                            uint32_t  value)
{
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t) (value >> (8 * i));
}

/* Queues one frame for the port; grows the queue (bounded by the callers,
 * which stop reading pipes past SERVE_QUEUE_MAX). */
static void
cloche_guest_serve_send (Server     *server,
                         uint8_t     type,
                         uint32_t    id,
                         const void *payload,
                         size_t      size)
{
  size_t need = server->queue_size + SERVE_HEADER + size;
  uint8_t *frame;

  if (need > server->queue_room)
    {
      size_t room = need * 2;
      uint8_t *queue = realloc (server->queue, room);

      if (queue == NULL)
        cg_fail ("out of memory for the exec server's output");
      server->queue = queue;
      server->queue_room = room;
    }
  frame = server->queue + server->queue_size;
  cloche_guest_serve_put_u32 (frame, (uint32_t) size);
  frame[4] = type;
  cloche_guest_serve_put_u32 (frame + 5, id);
  if (size > 0)
    memcpy (frame + SERVE_HEADER, payload, size);
  server->queue_size = need;
}

/* As much of the queue as the port takes now; false when its host end is gone. */
static bool
cloche_guest_serve_flush (Server *server)
{
  while (server->queue_size > 0)
    {
      ssize_t n = write (server->port, server->queue, server->queue_size);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return true;
      if (n <= 0)
        return false;
      memmove (server->queue, server->queue + n, server->queue_size - (size_t) n);
      server->queue_size -= (size_t) n;
    }
  return true;
}

static Command *
cloche_guest_serve_find (Server   *server,
                         uint32_t  id)
{
  for (int i = 0; i < SERVE_MAX_COMMANDS; i++)
    if (server->commands[i].id == id)
      return &server->commands[i];
  return NULL;
}

/* Its end, once it has exited and both pipes are at their end: then
 * everything it wrote has gone before the EXIT. */
static void
cloche_guest_serve_maybe_end (Server  *server,
                              Command *command)
{
  uint8_t status[4];

  if (!command->exited || command->out >= 0 || command->err >= 0)
    return;
  cloche_guest_serve_put_u32 (status, (uint32_t) command->status);
  cloche_guest_serve_send (server, SERVE_EXIT, command->id, status, sizeof status);
  close (command->pidfd);
  *command = (Command) { .input = -1, .pidfd = -1, .out = -1, .err = -1 };
}

/* A command that never ran: its end, with @status. */
static void
cloche_guest_serve_forget (Server  *server,
                           Command *command,
                           int      status)
{
  free (command->start);
  if (command->input >= 0)
    close (command->input);
  *command = (Command) { .id = command->id, .input = -1, .pidfd = -1, .out = -1, .err = -1,
                         .exited = true, .status = status };
  cloche_guest_serve_maybe_end (server, command);
}

/* A command we could not start: why on ERR, then 125, as exec says it. */
static void
cloche_guest_serve_refuse (Server     *server,
                           Command    *command,
                           const char *why)
{
  char line[256];
  int n = snprintf (line, sizeof line, "cloche-guest: %s\n", why);

  cloche_guest_serve_send (server, SERVE_ERR, command->id, line,
                           (size_t) n < sizeof line ? (size_t) n : sizeof line - 1);
  cloche_guest_serve_forget (server, command, CG_EXIT_FAILURE);
}

/* The START's strings: id, cwd, argv…, "", env…, each NUL-terminated;
 * false when they are not that. @argv and @env point into @start. */
static bool
cloche_guest_serve_split (char    *start,
                          size_t   size,
                          char  ***argv,
                          char  ***env)
{
  size_t count = 0, n = 0;
  char **strings;

  if (size == 0 || start[size - 1] != '\0')
    return false;
  for (size_t i = 0; i < size; i++)
    count += start[i] == '\0';
  if (count < 4 || count > SERVE_MAX_STRINGS)
    return false;
  strings = calloc (count + 2, sizeof *strings);
  if (strings == NULL)
    return false;
  for (size_t i = 0; i < size; i += strlen (start + i) + 1)
    strings[n++] = start + i;
  /* id, cwd, at least one argument, then the empty one that ends argv. */
  for (n = 2; n < count && strings[n][0] != '\0'; n++)
    ;
  if (n == 2 || n == count)
    {
      free (strings);
      return false;
    }
  memmove (strings + n + 1, strings + n, (count - n) * sizeof *strings);
  strings[n] = NULL;                       /* argv ends here */
  *argv = strings;
  *env = strings + n + 2;                  /* after the empty string */
  return true;
}

/* In the child: the command's streams, then exec's own path. */
static noreturn void
cloche_guest_serve_child (Command *command,
                          char   **strings,
                          char   **env,
                          int      out,
                          int      err)
{
  sigset_t none;
  int in = command->input >= 0 ? command->input : open ("/dev/null", O_RDONLY | O_CLOEXEC);

  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  signal (SIGPIPE, SIG_DFL);
  if (in < 0 || (command->input >= 0 && lseek (in, 0, SEEK_SET) != 0)
      || dup2 (in, STDIN_FILENO) < 0 || dup2 (out, STDOUT_FILENO) < 0
      || dup2 (err, STDERR_FILENO) < 0)
    _exit (CG_EXIT_FAILURE);
  cg_close_all_but (-1);
  /* The kill we are given when the server goes: the command goes too. */
  if (prctl (PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 || getppid () == 1)
    _exit (CG_EXIT_FAILURE);
  environ = env;
  if (!cg_id_valid (strings[0]))
    cg_fail ("\"%s\" is not a session id", strings[0]);
  if (strings[1][0] != '/')
    cg_fail ("the folder to run in, \"%s\", is not an absolute path", strings[1]);
  exit (cg_exec (strings[0], strings[1], strings + 2));
}

static void
cloche_guest_serve_launch (Server  *server,
                           Command *command)
{
  char **strings, **env;
  int out[2], err[2];
  pid_t pid;

  if (!cloche_guest_serve_split (command->start, command->start_size, &strings, &env))
    {
      cloche_guest_serve_refuse (server, command, "a request to run a command that is not one");
      return;
    }
  if (pipe2 (out, O_CLOEXEC) != 0 || pipe2 (err, O_CLOEXEC) != 0)
    {
      free (strings);
      cloche_guest_serve_refuse (server, command, strerror (errno));
      return;
    }
  pid = fork ();
  if (pid == 0)
    cloche_guest_serve_child (command, strings, env, out[1], err[1]);
  free (strings);
  close (out[1]);
  close (err[1]);
  command->out = out[0];
  command->err = err[0];
  fcntl (command->out, F_SETFL, O_NONBLOCK);
  fcntl (command->err, F_SETFL, O_NONBLOCK);
  free (command->start);
  command->start = NULL;
  if (command->input >= 0)
    close (command->input);
  command->input = -1;
  if (pid > 0 && (command->pidfd = (int) syscall (SYS_pidfd_open, pid, 0)) < 0)
    {
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      pid = -1;
    }
  if (pid < 0)
    {
      /* Its pipes end at once; its status is ours. */
      command->exited = true;
      command->status = CG_EXIT_FAILURE;
      return;
    }
  command->pid = pid;
}

static void
cloche_guest_serve_start (Server        *server,
                          uint32_t       id,
                          const uint8_t *payload,
                          size_t         size)
{
  Command *command;

  if (id == 0 || size < 1 || payload[0] > 1 || cloche_guest_serve_find (server, id) != NULL)
    cg_fail ("exec server: a START with id %u the daemon should not have sent", id);
  command = cloche_guest_serve_find (server, 0);
  if (command == NULL)
    {
      Command busy = { .id = id, .input = -1, .pidfd = -1, .out = -1, .err = -1 };

      cloche_guest_serve_refuse (server, &busy, "too many commands at once in this guest");
      return;
    }
  *command = (Command) { .id = id, .input = -1, .pidfd = -1, .out = -1, .err = -1 };
  command->start = malloc (size);
  if (command->start == NULL)
    cg_fail ("out of memory for a command");
  memcpy (command->start, payload + 1, size - 1);
  command->start_size = size - 1;
  if (payload[0] == 0)
    {
      cloche_guest_serve_launch (server, command);
      return;
    }
  command->input = memfd_create ("stdin", MFD_CLOEXEC);
  if (command->input < 0)
    cloche_guest_serve_refuse (server, command, strerror (errno));
}

static void
cloche_guest_serve_input (Server        *server,
                          Command       *command,
                          const uint8_t *payload,
                          size_t         size)
{
  if (command == NULL || command->pid != 0 || command->exited)
    return;   /* refused already: its input goes nowhere */
  if (command->input < 0 || command->input_size + size > SERVE_MAX_INPUT)
    cg_fail ("exec server: input for command %u the daemon should not have sent", command->id);
  if (size == 0)
    {
      cloche_guest_serve_launch (server, command);
      return;
    }
  if (write (command->input, payload, size) != (ssize_t) size)
    {
      cloche_guest_serve_refuse (server, command, strerror (errno));
      return;
    }
  command->input_size += size;
}

static void
cloche_guest_serve_frame (Server        *server,
                          uint8_t        type,
                          uint32_t       id,
                          const uint8_t *payload,
                          size_t         size)
{
  Command *command = id != 0 ? cloche_guest_serve_find (server, id) : NULL;

  switch (type)
    {
    case SERVE_START:
      cloche_guest_serve_start (server, id, payload, size);
      break;
    case SERVE_IN:
      cloche_guest_serve_input (server, command, payload, size);
      break;
    case SERVE_KILL:
      /* Ended already (its EXIT on its way): nothing to kill. Still taking
       * its input: it never runs, and ends as exec killed before it forked. */
      if (command != NULL && command->pid > 0 && !command->exited)
        kill (command->pid, SIGTERM);
      else if (command != NULL && command->pid == 0 && !command->exited)
        cloche_guest_serve_forget (server, command, 128 + SIGTERM);
      break;
    default:
      cg_fail ("exec server: a frame of unknown type %u from the daemon", type);
    }
}

/* Every whole frame in what was read; false when the port's host end went. */
static bool
cloche_guest_serve_read_port (Server *server)
{
  ssize_t n = read (server->port, server->in + server->in_size,
                    sizeof server->in - server->in_size);
  size_t used = 0;

  if (n < 0)
    return errno == EINTR || errno == EAGAIN;
  if (n == 0)
    return false;
  server->in_size += (size_t) n;
  while (server->in_size - used >= SERVE_HEADER)
    {
      const uint8_t *frame = server->in + used;
      uint32_t length = cloche_guest_serve_u32 (frame);

      if (length > SERVE_MAX_FRAME)
        cg_fail ("exec server: a frame of %u bytes from the daemon", length);
      if (server->in_size - used < SERVE_HEADER + length)
        break;
      cloche_guest_serve_frame (server, frame[4], cloche_guest_serve_u32 (frame + 5),
                                frame + SERVE_HEADER, length);
      used += SERVE_HEADER + length;
    }
  memmove (server->in, server->in + used, server->in_size - used);
  server->in_size -= used;
  return true;
}

/* One read of a pipe of @command, forwarded as @type. */
static void
cloche_guest_serve_read_pipe (Server  *server,
                              Command *command,
                              int     *fd,
                              uint8_t  type)
{
  static uint8_t data[SERVE_MAX_FRAME];
  ssize_t n = read (*fd, data, sizeof data);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0)
    {
      close (*fd);
      *fd = -1;
      cloche_guest_serve_maybe_end (server, command);
      return;
    }
  cloche_guest_serve_send (server, type, command->id, data, (size_t) n);
}

static void
cloche_guest_serve_reap (Server  *server,
                         Command *command)
{
  int status;

  if (waitpid (command->pid, &status, WNOHANG) != command->pid)
    return;
  command->exited = true;
  command->status = WIFSIGNALED (status) ? 128 + WTERMSIG (status) : WEXITSTATUS (status);
  cloche_guest_serve_maybe_end (server, command);
}

/* fds[0] the port; then three a command: its pidfd, stdout, stderr. */
static nfds_t
cloche_guest_serve_watch (Server        *server,
                          struct pollfd *fds)
{
  bool room = server->queue_size < SERVE_QUEUE_MAX;

  fds[0] = (struct pollfd) { .fd = server->port,
                             .events = POLLIN | (server->queue_size > 0 ? POLLOUT : 0) };
  for (int i = 0; i < SERVE_MAX_COMMANDS; i++)
    {
      Command *command = &server->commands[i];

      fds[1 + 3 * i] = (struct pollfd) { .fd = command->pid > 0 && !command->exited
                                               ? command->pidfd : -1, .events = POLLIN };
      fds[2 + 3 * i] = (struct pollfd) { .fd = room ? command->out : -1, .events = POLLIN };
      fds[3 + 3 * i] = (struct pollfd) { .fd = room ? command->err : -1, .events = POLLIN };
    }
  return 1 + 3 * SERVE_MAX_COMMANDS;
}

static void
cloche_guest_serve_commands_turn (Server        *server,
                                  struct pollfd *fds)
{
  for (int i = 0; i < SERVE_MAX_COMMANDS; i++)
    {
      Command *command = &server->commands[i];

      if (fds[2 + 3 * i].revents && command->out >= 0)
        cloche_guest_serve_read_pipe (server, command, &command->out, SERVE_OUT);
      if (fds[3 + 3 * i].revents && command->id != 0 && command->err >= 0)
        cloche_guest_serve_read_pipe (server, command, &command->err, SERVE_ERR);
      if (fds[1 + 3 * i].revents && command->id != 0 && !command->exited)
        cloche_guest_serve_reap (server, command);
    }
}

/* The host end went: what runs is killed (each child kills its command's
 * group), and we go. */
static int
cloche_guest_serve_shut_down (Server *server)
{
  for (int i = 0; i < SERVE_MAX_COMMANDS; i++)
    if (server->commands[i].pid > 0 && !server->commands[i].exited)
      kill (server->commands[i].pid, SIGTERM);
  return 0;
}

int
cg_serve (const char *port)
{
  static Server server;
  struct pollfd fds[1 + 3 * SERVE_MAX_COMMANDS];

  signal (SIGPIPE, SIG_IGN);
  server.port = cg_port_open (port);
  cg_port_wait_host (server.port, port);
  for (int i = 0; i < SERVE_MAX_COMMANDS; i++)
    server.commands[i] = (Command) { .input = -1, .pidfd = -1, .out = -1, .err = -1 };
  cloche_guest_serve_send (&server, SERVE_READY_FRAME, 0, SERVE_READY, strlen (SERVE_READY));
  for (;;)
    {
      nfds_t n = cloche_guest_serve_watch (&server, fds);

      if (!cloche_guest_serve_flush (&server))
        return cloche_guest_serve_shut_down (&server);
      fds[0].events = POLLIN | (server.queue_size > 0 ? POLLOUT : 0);
      if (poll (fds, n, -1) < 0 && errno != EINTR)
        cg_fail ("exec server: poll: %s", strerror (errno));
      if ((fds[0].revents & (POLLHUP | POLLERR | POLLNVAL))
          || ((fds[0].revents & POLLIN) && !cloche_guest_serve_read_port (&server)))
        return cloche_guest_serve_shut_down (&server);
      cloche_guest_serve_commands_turn (&server, fds);
    }
}
