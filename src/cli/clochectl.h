/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "cloche-dbus-generated.h"
#include "cloche-error.h"
#include "cloche-session-codec.h"

G_BEGIN_DECLS

/* A command: argv[0] is its own name; returns the exit status. */
typedef int (*CommandFunc) (ClocheDbusDaemon *daemon, int argc, char **argv);

char    *clochectl_printable     (const char     *text);
int      clochectl_fail          (const char     *what,
                                  const GError   *error);
int      clochectl_usage         (void);
ClocheDbusDaemon *clochectl_connect_daemon (gboolean calls_only, GError **error);
gboolean clochectl_parse_options (int            *argc,
                                  char         ***argv,
                                  GOptionEntry   *entries,
                                  const char     *what);

int      clochectl_status        (ClocheDbusDaemon *daemon, int argc, char **argv);
int      clochectl_shell         (ClocheDbusDaemon *daemon, int argc, char **argv);
int      clochectl_run           (ClocheDbusDaemon *daemon, int argc, char **argv);

/* A terminal in a session (clochectl-shell.c): shell, run and agent. */
typedef struct
{
  char     *id;                 /* NULL: open a session for it */
  char     *title;
  char     *client;             /* who opens it (default "clochectl") */
  char     *cwd;                /* NULL: the session's folder */
  gboolean  cwd_in_first_mount; /* run in the session's first folder */
  GStrv     mounts;             /* PATH[:ro|:rw] */
  GStrv     env;                /* NAME=VALUE */
  GStrv     egress_allow;       /* hosts the new session adds to the egress rules */
  gboolean  tools_writable;     /* a new session: an install session (agent install) */
  gboolean  keep;
  gboolean  list;               /* shell --list: the terminals, nothing opened */
  char     *attach;             /* shell --attach: a detached terminal to take up */
  GStrv     command;            /* NULL: the login shell */
} ClochectlShellRequest;

int      clochectl_agent_install     (int argc, char **argv);
int      clochectl_shell_request_run (ClocheDbusDaemon      *daemon,
                                      ClochectlShellRequest *request);
void     clochectl_shell_request_clear (ClochectlShellRequest *request);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ClochectlShellRequest, clochectl_shell_request_clear)

/* A terminal of a session, attached to our stdin and stdout
 * (clochectl-terminal.c). */
typedef struct
{
  int        fd;           /* the terminal's stream */
  gboolean   pipe;         /* our stdin is not a terminal */
  gboolean   ended;        /* TerminalEnded came: status and message */
  int        status;
  char      *message;
  gboolean   daemon_gone;
  void     (*resize) (guint rows, guint cols, gpointer data);
  gpointer   data;
} ClochectlTerminal;

gboolean clochectl_terminal_size (guint *rows, guint *cols);
int      clochectl_terminal_run  (ClochectlTerminal *terminal);
int      clochectl_session       (ClocheDbusDaemon *daemon, int argc, char **argv);
int      clochectl_exec          (ClocheDbusDaemon *daemon, int argc, char **argv);
int      clochectl_vm            (ClocheDbusDaemon *daemon, int argc, char **argv);
int      clochectl_monitor       (ClocheDbusDaemon *daemon, int argc, char **argv);
int      clochectl_cleanup       (ClocheDbusDaemon *daemon, int argc, char **argv);
int      clochectl_policy        (int argc, char **argv);
gboolean clochectl_policy_mounts_readonly (ClocheDbusDaemon *daemon);
int      clochectl_bundle        (ClocheDbusDaemon *daemon, int argc, char **argv);
gboolean clochectl_parse_mount   (const char       *spec,
                                  gboolean          default_readonly,
                                  GVariantBuilder  *builder);
char    *clochectl_mount_spec_canonical (const char *spec);

/* Commands that read files and need no daemon. */
typedef int (*LocalCommandFunc) (int argc, char **argv);
int      clochectl_audit         (int argc, char **argv);
int      clochectl_doctor        (int argc, char **argv);
int      clochectl_support_report (int argc, char **argv);
int      clochectl_mcp           (int argc, char **argv);
int      clochectl_secret        (ClocheDbusDaemon *daemon, int argc, char **argv);
int      clochectl_agent         (int argc, char **argv);
int      clochectl_egress        (ClocheDbusDaemon *daemon, int argc, char **argv);

/* Sessions from the daemon (io.github.cloche.Sessions, through its proxy),
 * for people and for scripts: each as CLOCHE_SESSION_INFO_TYPE. */
typedef enum
{
  CLOCHECTL_SESSIONS_CALLS = 0,
  CLOCHECTL_SESSIONS_PROPERTIES = 1 << 0,
  CLOCHECTL_SESSIONS_SIGNALS = 1 << 1,
} ClochectlSessionsNeeds;

ClocheDbusSessions *clochectl_sessions_proxy (ClocheDbusDaemon         *daemon,
                                              ClochectlSessionsNeeds    what,
                                              GError                  **error);
int       clochectl_session_fork          (ClocheDbusDaemon        *daemon,
                                           ClocheDbusSessions      *sessions,
                                           int                      argc,
                                           char                   **argv);
char     *clochectl_format_age            (gint64                   since_usec);
void      clochectl_print_session_row     (const ClocheSessionInfo *info);
void      clochectl_print_session_record  (GVariant                *session);
JsonNode *clochectl_sessions_to_json      (GVariant                *sessions);
void      clochectl_print_sessions_json   (GVariant                *sessions);
void      clochectl_print_json            (JsonNode                *root);

/* The progress line of a long operation, on a terminal only. */
typedef struct
{
  gboolean tty;
  gboolean shown;
} ClochectlProgress;

void      clochectl_progress_init         (ClochectlProgress       *progress);
void      clochectl_progress_show         (ClochectlProgress       *progress,
                                           const char              *format,
                                           ...) G_GNUC_PRINTF (2, 3);
void      clochectl_progress_end          (ClochectlProgress       *progress);
int       clochectl_percent               (guint64                  done,
                                           guint64                  total);

G_END_DECLS
