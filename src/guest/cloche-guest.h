/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdnoreturn.h>
#include <sys/types.h>

/* Where the guest keeps what it knows of each session: root's only. */
#define CG_STATE_DIR      "/run/cloche"
#define CG_SESSIONS_DIR   "/run/cloche/sessions"
/* Where a session's folder is in the guest's own mount namespace. */
#define CG_GUEST_SESSIONS "/sessions"
/* The session user's name and home in its view. */
#define CG_USER_NAME      "cloche"
#define CG_HOME           "/home/cloche"
/* The tools folder's share, when the host attached it (CLOCHE_TOOLS_GUEST_DIR). */
#define CG_TOOLS_DIR      "/opt/cloche/tools"
/* The egress proxy: in the guest's network namespace QEMU forwards it to
 * the daemon; in a session's, the session's forwarder listens there. */
#define CG_PROXY_ADDRESS  "10.0.2.100"
#define CG_PROXY_PORT     3128
/* What the forwarder sends the proxy first, before the client's bytes. */
#define CG_SESSION_LINE   "CLOCHE-SESSION "
/* Session users: above every system user, below the overflow id. */
#define CG_UID_MIN        1000
#define CG_UID_MAX        60000
/* Terminals: their virtio-serial ports are named with this and a number;
 * what the guest knows of each is in CG_TERMINALS_DIR/<port>. */
#define CG_TERMINAL_PORT_PREFIX "io.github.cloche.term."
#define CG_TERMINALS_DIR  "/run/cloche/terminals"
/* The exec server's port (cloche-guest-serve.c): this and a number. */
#define CG_EXEC_PORT_PREFIX "io.github.cloche.exec."
/* Where a terminal's relay keeps the PTY's master, for resize to find. */
#define CG_PTY_MASTER_FD  3
/* Our own failures, as env(1) and chroot(1) report theirs. */
#define CG_EXIT_FAILURE   125

/* What the guest knows of one session (CG_SESSIONS_DIR/<id>). */
typedef struct
{
  uid_t              uid;
  pid_t              init_pid;     /* its PID 1, as the guest's root sees it */
  unsigned long long init_start;   /* and when it started, against pid reuse */
  pid_t              keeper_pid;   /* the forwarder outside its namespaces */
  unsigned long long keeper_start;
} CgSession;

/* cloche-guest.c */
noreturn void cg_fail        (const char *format, ...) __attribute__ ((format (printf, 1, 2)));
void          cg_warn        (const char *format, ...) __attribute__ ((format (printf, 1, 2)));
bool          cg_id_valid    (const char *id);
bool          cg_parse_uid   (const char *text, uid_t *uid);
bool          cg_process_start (pid_t pid, unsigned long long *start);
int           cg_pidfd_open  (pid_t pid, unsigned long long start);
bool          cg_write_file  (const char *path, const char *text, mode_t mode);
void          cg_null_stdio  (void);
void          cg_close_all_but (int keep);

/* cloche-guest-session.c */
int  cg_session_open   (const char *id, uid_t uid);
int  cg_session_close  (const char *id);
bool cg_session_load   (const char *id, CgSession *session);
bool cg_session_save   (const char *id, const CgSession *session);

/* cloche-guest-view.c: the mount namespace a session sees; NULL or why not */
const char *cg_view_build (const char *id, uid_t uid);

/* cloche-guest-exec.c */
int  cg_exec           (const char *id, const char *cwd, char **argv);
void cg_session_enter  (const char *id, CgSession *session);
noreturn void cg_run_child (const CgSession *session, const char *cwd, char **argv, int tty);
int  cg_wait_status    (pid_t child);

/* cloche-guest-pty.c */
typedef struct
{
  const char     *id;
  const char     *cwd;
  const char     *port;
  unsigned short  rows, cols;
  bool            pipe;        /* no echo, no signals, no CR: a plain pipe */
  char          **argv;
} CgPtyRequest;

int  cg_pty            (const CgPtyRequest *request);
int  cg_pty_resize     (const char *port, unsigned short rows, unsigned short cols);
bool cg_port_name_valid (const char *name, const char *prefix);
int  cg_port_open      (const char *name);
void cg_port_wait_host (int port, const char *name);

/* cloche-guest-serve.c: the exec server on virtio-serial port PORT */
int  cg_serve          (const char *port);

/* cloche-guest-mount.c */
int  cg_mount          (const char *tag, const char *dir, const char *mode);
int  cg_umount         (const char *dir);
int  cg_open_beneath   (const char *path, bool create, char *why, size_t why_size);

/* cloche-guest-net.c */
const char *cg_net_setup      (int *listener);
noreturn void cg_net_forward  (int listener, int init_pidfd, const char *id);

/* cloche-guest-trust.c: the egress CA in the trust store, from stdin */
int  cg_trust          (void);
