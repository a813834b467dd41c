/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cloche-guest: the one program of Cloche's own inside the VM, run by the
 * guest agent as the guest's root. Commands:
 *
 *   open ID UID        give session ID its walls: its own user (UID), mount,
 *                      PID, IPC, UTS and network namespaces, a view holding
 *                      only its own /sessions/ID, and the forwarder that is
 *                      its only way to the egress proxy
 *   close ID           end every process of session ID (its PID namespace's
 *                      init dies, and the kernel takes the rest with it)
 *   exec ID CWD -- ARGV…  run ARGV in session ID: enter its namespaces, become
 *                      its user for good (no capabilities, no_new_privs), go
 *                      to CWD, exec; the exit status is the command's
 *   mount TAG DIR ro|rw   mount the virtiofs share TAG at DIR, made if missing
 *                      (as the owner of the folder it goes in), no symlink
 *                      followed; nosuid, nodev, and shared, so that a folder
 *                      mounted later inside it reaches the session's view
 *   umount DIR         unmount DIR, no symlink followed; lazily if busy
 *   pty ID CWD PORT ROWS COLS tty|pipe -- ARGV…
 *                      a terminal: ARGV in session ID as exec runs it, on a
 *                      PTY of the session's, relayed to the virtio-serial
 *                      port PORT (cloche-guest-pty.c)
 *   resize PORT ROWS COLS   the window size of the terminal on PORT
 *   serve PORT         the exec server: runs the commands the daemon sends on
 *                      the virtio-serial port PORT as exec runs them, and
 *                      pushes their output and end back (cloche-guest-serve.c)
 *   trust              the egress CA's certificate, read from standard
 *                      input, in the guest's trust store (cloche-guest-trust.c)
 *   clock NS           set the guest's clock to NS nanoseconds since 1970 (a
 *                      VM restored by warm wake): what qemu-ga's
 *                      guest-set-time does, without the `hwclock -w` it runs
 *                      after, which waits for the next second to set the RTC
 *                      (half a second on average, on a warm wake's path)
 *
 * The guest's trusted base is its PID 1, qemu-ga and this program; what a
 * session runs is hostile. So nothing here acts as root on a path a session
 * can change, except through file descriptors opened without following
 * links (cloche-guest-mount.c), and a session's own processes never run as
 * root, not even for a moment (cloche-guest-exec.c).
 *
 * Our own failures exit 125 with one line on stderr that says what failed;
 * exec passes the command's status through (126: it could not be run, 127:
 * not found, as a shell says). No GLib: linked statically, it runs in the
 * minimal guest, which has no libraries but qemu-ga's. One program with
 * commands: a terminal (a PTY over a virtio-serial port) is one more.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cloche-guest.h"

noreturn void
cg_fail (const char *format,
         ...)
{
  va_list args;

  va_start (args, format);
  fputs ("cloche-guest: ", stderr);
  vfprintf (stderr, format, args);
  fputc ('\n', stderr);
  va_end (args);
  exit (CG_EXIT_FAILURE);
}

void
cg_warn (const char *format,
         ...)
{
  va_list args;

  va_start (args, format);
  fputs ("cloche-guest: ", stderr);
  vfprintf (stderr, format, args);
  fputc ('\n', stderr);
  va_end (args);
}

/* Session ids are the daemon's (12 hex digits); anything that could be a
 * path is refused whatever the daemon sends. */
bool
cg_id_valid (const char *id)
{
  size_t length = strlen (id);

  if (length == 0 || length > 64)
    return false;
  for (const char *p = id; *p != '\0'; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
          || *p == '-' || *p == '_'))
      return false;
  return true;
}

bool
cg_parse_uid (const char *text,
              uid_t      *uid)
{
  char *end = NULL;
  unsigned long value;

  errno = 0;
  value = strtoul (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-'
      || value < CG_UID_MIN || value > CG_UID_MAX)
    return false;
  *uid = (uid_t) value;
  return true;
}

/* Field 22 of /proc/PID/stat: when the process started, in clock ticks
 * since boot. A pid and its start name one process, even after reuse. */
bool
cg_process_start (pid_t               pid,
                  unsigned long long *start)
{
  char path[64], text[1024], *p;
  ssize_t n;
  int fd;

  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  if ((fd = open (path, O_RDONLY | O_CLOEXEC)) < 0)
    return false;
  n = read (fd, text, sizeof text - 1);
  close (fd);
  if (n <= 0)
    return false;
  text[n] = '\0';
  /* The name in parentheses may hold anything: count from the last ")". */
  if ((p = strrchr (text, ')')) == NULL)
    return false;
  for (int field = 2; field < 22 && p != NULL; field++)
    p = strchr (p + 1, ' ');
  return p != NULL && sscanf (p + 1, "%llu", start) == 1;
}

/* A pidfd of the process PID that started at START, or -1: opened first,
 * checked after, so that a pid reused in between is never taken for it. */
int
cg_pidfd_open (pid_t              pid,
               unsigned long long start)
{
  unsigned long long now;
  int fd;

  if (pid <= 1)
    return -1;
  fd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (fd < 0)
    return -1;
  if (!cg_process_start (pid, &now) || now != start)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* Written whole or not at all (a temporary file renamed). */
bool
cg_write_file (const char *path,
               const char *text,
               mode_t      mode)
{
  char temporary[256];
  size_t length = strlen (text);
  int fd;

  if (snprintf (temporary, sizeof temporary, "%s.new", path) >= (int) sizeof temporary)
    return false;
  fd = open (temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    return false;
  if (write (fd, text, length) != (ssize_t) length || close (fd) != 0)
    {
      unlink (temporary);
      return false;
    }
  return rename (temporary, path) == 0;
}

/* For what outlives the command that started it: the guest agent waits
 * for the end of its output pipes, so they must not stay open. */
void
cg_null_stdio (void)
{
  int fd = open ("/dev/null", O_RDWR | O_CLOEXEC);

  if (fd < 0)
    return;
  dup2 (fd, STDIN_FILENO);
  dup2 (fd, STDOUT_FILENO);
  dup2 (fd, STDERR_FILENO);
  if (fd > STDERR_FILENO)
    close (fd);
}

/* Every descriptor above stderr but @keep (-1: none). */
void
cg_close_all_but (int keep)
{
  if (keep > STDERR_FILENO + 1)
    syscall (SYS_close_range, STDERR_FILENO + 1, keep - 1, 0);
  syscall (SYS_close_range, keep > STDERR_FILENO ? keep + 1 : STDERR_FILENO + 1, ~0U, 0);
}

static noreturn void
cloche_guest_usage (void)
{
  fputs ("usage: cloche-guest open ID UID\n"
         "       cloche-guest close ID\n"
         "       cloche-guest exec ID CWD -- COMMAND [ARGUMENT…]\n"
         "       cloche-guest mount TAG DIR ro|rw\n"
         "       cloche-guest umount DIR\n"
         "       cloche-guest pty ID CWD PORT ROWS COLS tty|pipe -- COMMAND [ARGUMENT…]\n"
         "       cloche-guest resize PORT ROWS COLS\n"
         "       cloche-guest serve PORT\n"
         "       cloche-guest trust < CA.pem\n"
         "       cloche-guest clock NANOSECONDS\n", stderr);
  exit (CG_EXIT_FAILURE);
}

static const char *
cloche_guest_valid_id (const char *id)
{
  if (!cg_id_valid (id))
    cg_fail ("\"%s\" is not a session id (1 to 64 letters, digits, - or _)", id);
  return id;
}

static int
cloche_guest_run_open (int    argc,
                       char **argv)
{
  uid_t uid;

  if (argc != 4)
    cloche_guest_usage ();
  if (!cg_parse_uid (argv[3], &uid))
    cg_fail ("\"%s\" is not a user id for a session (%d to %d)", argv[3], CG_UID_MIN, CG_UID_MAX);
  return cg_session_open (cloche_guest_valid_id (argv[2]), uid);
}

static int
cloche_guest_run_exec (int    argc,
                       char **argv)
{
  if (argc < 6 || strcmp (argv[4], "--") != 0 || argv[5][0] == '\0')
    cloche_guest_usage ();
  if (argv[3][0] != '/')
    cg_fail ("the folder to run in, \"%s\", is not an absolute path", argv[3]);
  return cg_exec (cloche_guest_valid_id (argv[2]), argv[3], argv + 5);
}

static unsigned short
cloche_guest_parse_size (const char *text,
                         const char *what)
{
  char *end = NULL;
  unsigned long value;

  errno = 0;
  value = strtoul (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value < 1 || value > 9999)
    cg_fail ("\"%s\" is not a number of %s (1 to 9999)", text, what);
  return (unsigned short) value;
}

static const char *
cloche_guest_valid_port (const char *port)
{
  if (!cg_port_name_valid (port, CG_TERMINAL_PORT_PREFIX))
    cg_fail ("\"%s\" is not a terminal's port (" CG_TERMINAL_PORT_PREFIX "N)", port);
  return port;
}

static int
cloche_guest_run_pty (int    argc,
                      char **argv)
{
  CgPtyRequest request = { 0 };

  if (argc < 10 || strcmp (argv[8], "--") != 0 || argv[9][0] == '\0')
    cloche_guest_usage ();
  if (argv[3][0] != '/')
    cg_fail ("the folder to run in, \"%s\", is not an absolute path", argv[3]);
  if (strcmp (argv[7], "tty") != 0 && strcmp (argv[7], "pipe") != 0)
    cg_fail ("\"%s\" is not a terminal mode (tty or pipe)", argv[7]);
  request.id = cloche_guest_valid_id (argv[2]);
  request.cwd = argv[3];
  request.port = cloche_guest_valid_port (argv[4]);
  request.rows = cloche_guest_parse_size (argv[5], "rows");
  request.cols = cloche_guest_parse_size (argv[6], "columns");
  request.pipe = strcmp (argv[7], "pipe") == 0;
  request.argv = argv + 9;
  return cg_pty (&request);
}

/* Only a time after 2020 and before 2200: anything else is a mistake. */
static int
cloche_guest_run_clock (const char *text)
{
  char *end = NULL;
  long long ns;
  struct timespec when;

  errno = 0;
  ns = strtoll (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0'
      || ns < 1577836800LL * 1000000000LL || ns > 7258118400LL * 1000000000LL)
    cg_fail ("\"%s\" is not a time in nanoseconds since 1970 (2020 to 2200)", text);
  when.tv_sec = (time_t) (ns / 1000000000LL);
  when.tv_nsec = (long) (ns % 1000000000LL);
  if (clock_settime (CLOCK_REALTIME, &when) != 0)
    cg_fail ("cannot set the clock: %s", strerror (errno));
  return 0;
}

int
main (int    argc,
      char **argv)
{
  if (argc < 2)
    cloche_guest_usage ();
  if (geteuid () != 0)
    cg_fail ("must run as the guest's root (it is the guest agent's helper)");
  umask (022);
  if (strcmp (argv[1], "open") == 0)
    return cloche_guest_run_open (argc, argv);
  if (strcmp (argv[1], "close") == 0 && argc == 3)
    return cg_session_close (cloche_guest_valid_id (argv[2]));
  if (strcmp (argv[1], "exec") == 0)
    return cloche_guest_run_exec (argc, argv);
  if (strcmp (argv[1], "mount") == 0 && argc == 5)
    return cg_mount (argv[2], argv[3], argv[4]);
  if (strcmp (argv[1], "umount") == 0 && argc == 3)
    return cg_umount (argv[2]);
  if (strcmp (argv[1], "pty") == 0)
    return cloche_guest_run_pty (argc, argv);
  if (strcmp (argv[1], "resize") == 0 && argc == 5)
    return cg_pty_resize (cloche_guest_valid_port (argv[2]),
                          cloche_guest_parse_size (argv[3], "rows"),
                          cloche_guest_parse_size (argv[4], "columns"));
  if (strcmp (argv[1], "serve") == 0 && argc == 3)
    {
      if (!cg_port_name_valid (argv[2], CG_EXEC_PORT_PREFIX))
        cg_fail ("\"%s\" is not an exec server's port (" CG_EXEC_PORT_PREFIX "N)", argv[2]);
      return cg_serve (argv[2]);
    }
  if (strcmp (argv[1], "trust") == 0 && argc == 2)
    return cg_trust ();
  if (strcmp (argv[1], "clock") == 0 && argc == 3)
    return cloche_guest_run_clock (argv[2]);
  cloche_guest_usage ();
}
