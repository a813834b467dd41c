/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A session's walls, made by "open" and brought down by "close".
 *
 *   cloche-guest open ─fork─ keeper (root; guest's PID, mount namespaces)
 *                              unshare PID, network, IPC, UTS
 *                              lo up, 10.0.2.100 on it, listen :3128 there
 *                              ─fork─ init: PID 1 of the session
 *                                       its mount namespace, its view
 *                                       (cloche-guest-view.c), then reaps
 *                              back to the guest's network namespace:
 *                              the forwarder (cloche-guest-net.c)
 *
 * The keeper writes CG_SESSIONS_DIR/<id> (user, the init's and its own pid
 * and start time) and says "ok" to open, which then exits: the guest agent
 * sees the end of the command, the keeper and the init stay. Each command
 * of the session enters the init's namespaces (cloche-guest-exec.c).
 *
 * The session ends when its init dies: the kernel then kills every other
 * process of its PID namespace, and a process can never leave one. "close"
 * kills the init and the keeper, waits until the init is gone (so no
 * process of the session is left when it returns), then forgets the
 * session. The init dies with the keeper (PR_SET_PDEATHSIG) and the keeper
 * with the init (it watches its pidfd), so neither is left alone.
 *
 * Namespaces are made once per boot: /run is a tmpfs, so after a reboot
 * nothing is known and the daemon opens again.
 *
 * The guest kernel is tightened at every open, before any session process
 * exists: no user namespaces (a session would be root in one, and each
 * is more kernel to attack), no unprivileged BPF, kernel pointers and log
 * hidden, and the link protections on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cloche-guest.h"

#define CLOSE_WAIT_MS 10000

static const struct
{
  const char *path;
  const char *value;
} tight_kernel[] = {
  { "/proc/sys/user/max_user_namespaces", "0" },
  { "/proc/sys/kernel/unprivileged_bpf_disabled", "1" },
  { "/proc/sys/kernel/kptr_restrict", "2" },
  { "/proc/sys/kernel/dmesg_restrict", "1" },
  { "/proc/sys/kernel/perf_event_paranoid", "3" },
  { "/proc/sys/vm/unprivileged_userfaultfd", "0" },
  { "/proc/sys/fs/protected_symlinks", "1" },
  { "/proc/sys/fs/protected_hardlinks", "1" },
  { "/proc/sys/fs/protected_fifos", "2" },
  { "/proc/sys/fs/protected_regular", "2" },
};

/* The first one is what holds a wall; the others only narrow the kernel. */
static void
cg_session_tighten_kernel (void)
{
  for (size_t i = 0; i < sizeof tight_kernel / sizeof tight_kernel[0]; i++)
    {
      int fd = open (tight_kernel[i].path, O_WRONLY | O_CLOEXEC);
      ssize_t length = (ssize_t) strlen (tight_kernel[i].value);

      if ((fd < 0 || write (fd, tight_kernel[i].value, (size_t) length) != length) && i == 0)
        cg_fail ("cannot turn user namespaces off (%s: %s)", tight_kernel[i].path,
                 strerror (errno));
      if (fd >= 0)
        close (fd);
    }
}

static void
cg_session_state_path (const char *id,
                       char       *path,
                       size_t      size)
{
  snprintf (path, size, "%s/%s", CG_SESSIONS_DIR, id);
}

bool
cg_session_load (const char *id,
                 CgSession  *session)
{
  char path[128], text[256];
  int init, keeper, fd;
  unsigned uid;
  ssize_t n;

  cg_session_state_path (id, path, sizeof path);
  if ((fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
    return false;
  n = read (fd, text, sizeof text - 1);
  close (fd);
  if (n <= 0)
    return false;
  text[n] = '\0';
  if (sscanf (text, "%u %d %llu %d %llu", &uid, &init, &session->init_start, &keeper,
              &session->keeper_start) != 5)
    return false;
  session->uid = uid;
  session->init_pid = init;
  session->keeper_pid = keeper;
  return true;
}

bool
cg_session_save (const char      *id,
                 const CgSession *session)
{
  char path[128], text[256];

  cg_session_state_path (id, path, sizeof path);
  snprintf (text, sizeof text, "%u %d %llu %d %llu\n", (unsigned) session->uid,
            (int) session->init_pid, session->init_start, (int) session->keeper_pid,
            session->keeper_start);
  return cg_write_file (path, text, 0600);
}

/* Errors of the keeper and the init go to open through a pipe: their own
 * stderr is /dev/null by then. */
static noreturn void
cg_session_report_failure (int         report,
                           const char *what)
{
  dprintf (report, "%s", what);
  _exit (1);
}

/* Blocks every signal and reaps orphans: all a PID 1 has to do. The
 * kernel gives a namespace's init no signal it has no handler for from
 * inside; the keeper's SIGKILL from outside always lands. */
static noreturn void
cg_session_init_reap (void)
{
  sigset_t all, child;

  sigfillset (&all);
  sigprocmask (SIG_BLOCK, &all, NULL);
  sigemptyset (&child);
  sigaddset (&child, SIGCHLD);
  for (;;)
    {
      sigwaitinfo (&child, NULL);
      while (waitpid (-1, NULL, WNOHANG) > 0)
        ;
    }
}

static noreturn void
cg_session_init_main (const char *id,
                      uid_t       uid,
                      int         ready)
{
  const char *failed;

  /* Nothing of the keeper's: the pipe to open, the guest's namespaces,
   * the listener. (A keeper that died before this line is noticed at the
   * write below: SIGPIPE.) */
  cg_close_all_but (ready);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if ((failed = cg_view_build (id, uid)) != NULL)
    cg_session_report_failure (ready, failed);
  prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (write (ready, "ok", 2) != 2)
    _exit (1);
  close (ready);
  cg_session_init_reap ();
}

/* Reads what the child said before it closed the pipe: "ok", or why not. */
static bool
cg_session_read_report (int    fd,
                        char  *text,
                        size_t size)
{
  size_t length = 0;
  ssize_t n;

  while (length < size - 1 && (n = read (fd, text + length, size - 1 - length)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      length += (size_t) n;
    }
  text[length] = '\0';
  return strcmp (text, "ok") == 0;
}

/* Makes the init, waits until its view stands; its pid, or -1 after
 * reporting why. */
static pid_t
cg_session_start_init (const char *id,
                       uid_t       uid,
                       int         report)
{
  char why[512];
  int ready[2];
  pid_t init;

  if (pipe2 (ready, O_CLOEXEC) != 0)
    cg_session_report_failure (report, "cannot make a pipe");
  if ((init = fork ()) < 0)
    cg_session_report_failure (report, "cannot start the session's init");
  if (init == 0)
    {
      close (ready[0]);
      cg_session_init_main (id, uid, ready[1]);
    }
  close (ready[1]);
  if (!cg_session_read_report (ready[0], why, sizeof why))
    {
      kill (init, SIGKILL);
      cg_session_report_failure (report, why[0] != '\0' ? why : "the session's init died");
    }
  close (ready[0]);
  return init;
}

static CgSession
cg_session_describe (uid_t uid,
                     pid_t init)
{
  CgSession session = { .uid = uid, .init_pid = init, .keeper_pid = getpid () };

  cg_process_start (init, &session.init_start);
  cg_process_start (getpid (), &session.keeper_start);
  return session;
}

static noreturn void
cg_session_keeper_main (const char *id,
                        uid_t       uid,
                        int         report)
{
  int guest_net = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int guest_pid = open ("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  const char *failed;
  CgSession session;
  int listener = -1, init_pidfd;
  pid_t init;

  setsid ();
  cg_null_stdio ();
  if (guest_net < 0 || guest_pid < 0)
    cg_session_report_failure (report, "cannot open the guest's own namespaces");
  if (unshare (CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0)
    cg_session_report_failure (report, "cannot make the session's namespaces (unshare)");
  if ((failed = cg_net_setup (&listener)) != NULL)
    cg_session_report_failure (report, failed);
  init = cg_session_start_init (id, uid, report);
  session = cg_session_describe (uid, init);
  /* The forwarder connects out from the guest's network namespace, and
   * the connections it serves are no children of the session's PID 1. */
  if (setns (guest_net, CLONE_NEWNET) != 0 || setns (guest_pid, CLONE_NEWPID) != 0
      || (init_pidfd = cg_pidfd_open (init, session.init_start)) < 0
      || !cg_session_save (id, &session))
    {
      kill (init, SIGKILL);
      cg_session_report_failure (report, "cannot record the session (" CG_SESSIONS_DIR ")");
    }
  close (guest_net);
  close (guest_pid);
  if (write (report, "ok", 2) != 2)
    _exit (1);
  close (report);
  cg_net_forward (listener, init_pidfd, id);
}

static bool
cg_session_alive (const CgSession *session)
{
  int fd = cg_pidfd_open (session->init_pid, session->init_start);

  if (fd < 0)
    return false;
  close (fd);
  return true;
}

/* The work folder must be there already: the view is built around it. */
static void
cg_session_check_work_folder (const char *id)
{
  char path[128];
  struct statx st;

  snprintf (path, sizeof path, "%s/%s", CG_GUEST_SESSIONS, id);
  if (statx (AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &st) != 0
      || !(st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
      || !(st.stx_attributes & STATX_ATTR_MOUNT_ROOT))
    cg_fail ("the folder of session %s is not mounted at %s: mount it first", id, path);
}

/* Takes the keeper's report; the keeper itself is the child's child, so
 * that the guest's PID 1 adopts it at once. */
static int
cg_session_fork_keeper (const char *id,
                        uid_t       uid)
{
  char why[512];
  int report[2], status;
  pid_t child;

  if (pipe2 (report, O_CLOEXEC) != 0 || (child = fork ()) < 0)
    cg_fail ("cannot start the keeper of session %s: %s", id, strerror (errno));
  if (child == 0)
    {
      close (report[0]);
      if (fork () == 0)
        cg_session_keeper_main (id, uid, report[1]);
      _exit (0);
    }
  close (report[1]);
  waitpid (child, &status, 0);
  if (!cg_session_read_report (report[0], why, sizeof why))
    cg_fail ("cannot open session %s: %s", id, why[0] != '\0' ? why : "its keeper died");
  return 0;
}

int
cg_session_open (const char *id,
                 uid_t       uid)
{
  CgSession session;

  cg_session_check_work_folder (id);
  if (cg_session_load (id, &session) && cg_session_alive (&session))
    {
      if (session.uid != uid)
        cg_fail ("session %s is already open with user %u", id, (unsigned) session.uid);
      return 0;
    }
  cg_session_tighten_kernel ();
  if ((mkdir (CG_STATE_DIR, 0700) != 0 && errno != EEXIST)
      || (mkdir (CG_SESSIONS_DIR, 0700) != 0 && errno != EEXIST))
    cg_fail ("cannot make %s: %s", CG_SESSIONS_DIR, strerror (errno));
  return cg_session_fork_keeper (id, uid);
}

/* Kills what @pid/@start names (and its process group, when @group); the
 * pidfd it returns tells when it is gone, or -1 if it was gone already. */
static int
cg_session_kill_process (pid_t              pid,
                         unsigned long long start,
                         bool               group)
{
  int fd = cg_pidfd_open (pid, start);

  if (fd < 0)
    return -1;
  syscall (SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
  if (group)
    kill (-pid, SIGKILL);
  return fd;
}

int
cg_session_close (const char *id)
{
  char path[128];
  CgSession session;
  struct pollfd gone;

  cg_session_state_path (id, path, sizeof path);
  if (!cg_session_load (id, &session))
    return 0;
  /* The keeper leads its own process group: its forwarders go with it. */
  if ((gone.fd = cg_session_kill_process (session.keeper_pid, session.keeper_start, true)) >= 0)
    close (gone.fd);
  gone.fd = cg_session_kill_process (session.init_pid, session.init_start, false);
  gone.events = POLLIN;
  /* A pidfd reads as ready once the init has exited, which it does only
   * after the kernel has killed the rest of its namespace. */
  if (gone.fd >= 0 && poll (&gone, 1, CLOSE_WAIT_MS) != 1)
    cg_fail ("the processes of session %s did not end within %d s", id, CLOSE_WAIT_MS / 1000);
  unlink (path);
  return 0;
}
