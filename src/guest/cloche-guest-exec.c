/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * exec ID CWD -- ARGV…: one command of a session.
 *
 * Enters the session's namespaces through its init's pidfd (all five at
 * once), then forks: the child is in the session's PID namespace (setns
 * moves only children there). The child becomes the session's user for
 * good before anything of the session's is touched: no supplementary
 * groups, every capability out of its bounding set, no_new_privs, then
 * setresuid (which clears what capabilities remain); only then does it go
 * to CWD (with the user's rights) and exec ARGV, searched in the PATH of
 * the environment it was given, which it passes on whole. It also gets a
 * session (setsid) of its own, as a terminal would give it.
 *
 * The parent, still root but outside the session's PID namespace, where
 * no session process can see or signal it, waits and exits with the
 * command's status: its exit code, or 128 + the signal that killed it.
 * SIGTERM is the daemon's order to stop the command (its deadline, or its
 * caller cancelled): the parent kills the command's whole process group
 * (the child leads one, setsid), so what it started in the background goes
 * too unless it left the group, then exits as the command did (137).
 * Killed itself, it takes the command with it (PR_SET_PDEATHSIG).
 * 125: we could not start it; 126: it could not be run; 127: not found.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cloche-guest.h"

#define SESSION_NAMESPACES (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC \
                            | CLONE_NEWUTS)

static void
cloche_guest_exec_drop_privileges (uid_t uid)
{
  /* To 63, not CAP_LAST_CAP: the guest's kernel may know more than our
   * headers. */
  for (int cap = 0; cap < 64; cap++)
    if (prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      cg_fail ("cannot drop capability %d: %s", cap, strerror (errno));
  if (setgroups (0, NULL) != 0 || setresgid (uid, uid, uid) != 0)
    cg_fail ("cannot become group %u: %s", (unsigned) uid, strerror (errno));
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0
      || prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    cg_fail ("cannot forbid new privileges: %s", strerror (errno));
  if (setresuid (uid, uid, uid) != 0)
    cg_fail ("cannot become user %u: %s", (unsigned) uid, strerror (errno));
  /* Belt and braces: the way back must be closed. */
  if (setresuid (0, 0, 0) == 0 || setgid (0) == 0)
    cg_fail ("could become root again after dropping to user %u", (unsigned) uid);
}

/* The child of exec and pty: @tty is the terminal it gets as its
 * controlling one and as stdin, stdout and stderr, or -1 to keep the
 * standard streams it has. */
noreturn void
cg_run_child (const CgSession *session,
              const char      *cwd,
              char           **argv,
              int              tty)
{
  sigset_t none;

  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  signal (SIGPIPE, SIG_DFL);
  setsid ();
  if (tty >= 0
      && (ioctl (tty, TIOCSCTTY, 0) != 0 || dup2 (tty, STDIN_FILENO) < 0
          || dup2 (tty, STDOUT_FILENO) < 0 || dup2 (tty, STDERR_FILENO) < 0))
    cg_fail ("cannot make the terminal the command's: %s", strerror (errno));
  cg_close_all_but (-1);
  cloche_guest_exec_drop_privileges (session->uid);
  /* The command dies with us: past its deadline the daemon kills the
   * process it started, which is us (qemu-ga can only run kill). Set
   * after the drop, which clears it; our parent is outside the session's
   * PID namespace, where getppid() says 0 until it is gone. */
  errno = 0;
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid () != 0)
    cg_fail ("cannot tie the command to cloche-guest: %s",
             errno != 0 ? strerror (errno) : "it has gone");
  if (chdir (cwd) != 0)
    cg_fail ("cannot go to the folder %s: %s", cwd, strerror (errno));
  execvpe (argv[0], argv, environ);
  fprintf (stderr, "cloche-guest: cannot run \"%s\": %s\n", argv[0], strerror (errno));
  _exit (errno == ENOENT || errno == ENOTDIR ? 127 : 126);
}

/* The command being waited for, for the SIGTERM handler: 0 until forked. */
static volatile pid_t command_pid;

static void
cloche_guest_exec_term_cb (int signum)
{
  (void) signum;
  /* Only async-signal-safe calls; the wait then sees it killed. */
  if (command_pid > 0)
    {
      kill (-command_pid, SIGKILL);
      /* Before its setsid there is no group yet: the command itself. */
      kill (command_pid, SIGKILL);
    }
  else
    _exit (128 + SIGTERM);
}

int
cg_wait_status (pid_t child)
{
  int status;

  while (waitpid (child, &status, 0) < 0)
    if (errno != EINTR)
      cg_fail ("lost the command: %s", strerror (errno));
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return WEXITSTATUS (status);
}

/* Into session @id's namespaces, all five at once, through its init's
 * pidfd; only children go into its PID namespace. */
void
cg_session_enter (const char *id,
                  CgSession  *session)
{
  int pidfd;

  if (!cg_session_load (id, session)
      || (pidfd = cg_pidfd_open (session->init_pid, session->init_start)) < 0)
    cg_fail ("session %s is not open in this guest (its processes have ended): "
             "close it and open a new one", id);
  if (setns (pidfd, SESSION_NAMESPACES) != 0)
    cg_fail ("cannot enter session %s: %s", id, strerror (errno));
  close (pidfd);
}

int
cg_exec (const char *id,
         const char *cwd,
         char      **argv)
{
  CgSession session;
  sigset_t term;
  pid_t child;

  cg_session_enter (id, &session);
  /* SIGTERM waits while the pid is not known; the child resets its mask. */
  sigemptyset (&term);
  sigaddset (&term, SIGTERM);
  sigprocmask (SIG_BLOCK, &term, NULL);
  signal (SIGTERM, cloche_guest_exec_term_cb);
  child = fork ();
  if (child < 0)
    cg_fail ("cannot start the command in session %s: %s (has it just been closed?)", id,
             strerror (errno));
  if (child == 0)
    cg_run_child (&session, cwd, argv, -1);
  command_pid = child;
  sigprocmask (SIG_UNBLOCK, &term, NULL);
  return cg_wait_status (child);
}
