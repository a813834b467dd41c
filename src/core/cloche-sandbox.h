/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-egress-ca.h"
#include "cloche-secrets.h"
#include "cloche-session-store.h"
#include "cloche-terminal.h"
#include "cloche-vm.h"

G_BEGIN_DECLS

#define CLOCHE_DEFAULT_IDLE_TIMEOUT_S 300
#define CLOCHE_DEFAULT_STALE_AFTER_DAYS 7
/* A command's deadline when the caller gives none (builds and installs can
 * take many minutes), the longest one a caller may give, and the most a
 * command may be given on its standard input. */
#define CLOCHE_SANDBOX_EXEC_DEFAULT_TIMEOUT_S 1800
#define CLOCHE_SANDBOX_EXEC_MAX_TIMEOUT_S (7 * 24 * 3600)
#define CLOCHE_SANDBOX_EXEC_MAX_INPUT (16 * 1024 * 1024)

#define CLOCHE_TYPE_SANDBOX (cloche_sandbox_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSandbox, cloche_sandbox, CLOCHE, SANDBOX, GObject)

ClocheSandbox *cloche_sandbox_new                 (ClocheVm             *vm,
                                                   ClocheSessionStore   *store);
ClocheSessionStore *cloche_sandbox_get_store      (ClocheSandbox        *self);
guint          cloche_sandbox_get_stale_after_days (ClocheSandbox       *self);
ClocheVm      *cloche_sandbox_get_vm              (ClocheSandbox        *self);
guint          cloche_sandbox_get_open_sessions   (ClocheSandbox        *self);
gboolean       cloche_sandbox_get_cleaning        (ClocheSandbox        *self);
guint          cloche_sandbox_get_idle_timeout    (ClocheSandbox        *self);
gint64         cloche_sandbox_get_idle_stop_at    (ClocheSandbox        *self);
void           cloche_sandbox_set_idle_timeout    (ClocheSandbox        *self,
                                                   guint                 seconds);
void           cloche_sandbox_set_stale_after_days (ClocheSandbox       *self,
                                                   guint                 days);
void           cloche_sandbox_set_mount_rules     (ClocheSandbox        *self,
                                                   const char * const   *deny,
                                                   gboolean              allow_outside_home);
void           cloche_sandbox_set_secrets         (ClocheSandbox        *self,
                                                   ClocheSecrets        *secrets,
                                                   ClocheEgressCa       *ca);
void           cloche_sandbox_open_session_async  (ClocheSandbox        *self,
                                                   const char           *title,
                                                   const char           *client,
                                                   GPtrArray            *mounts,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
void           cloche_sandbox_open_tools_session_async (ClocheSandbox   *self,
                                                   const char           *title,
                                                   const char           *client,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
void           cloche_sandbox_measure_tools       (ClocheSandbox        *self);
guint64        cloche_sandbox_get_tools_size      (ClocheSandbox        *self);
const char    *cloche_sandbox_get_tools_dir       (ClocheSandbox        *self);
void           cloche_sandbox_remove_tools_async  (ClocheSandbox        *self,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
gboolean       cloche_sandbox_remove_tools_finish (ClocheSandbox        *self,
                                                   GAsyncResult         *result,
                                                   guint64              *freed,
                                                   GError              **error);
char          *cloche_sandbox_open_session_finish (ClocheSandbox        *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);
/* Bytes of a fork's copy so far, out of @total; on the caller's thread. */
typedef void (*ClocheForkProgress) (guint64  copied,
                                    guint64  total,
                                    gpointer user_data);
void           cloche_sandbox_fork_session_async  (ClocheSandbox        *self,
                                                   const char           *source_id,
                                                   const char           *title,
                                                   const char           *client,
                                                   ClocheForkProgress    progress,
                                                   gpointer              progress_data,
                                                   GDestroyNotify        progress_notify,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
char          *cloche_sandbox_fork_session_finish (ClocheSandbox        *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);
gboolean       cloche_sandbox_close_session       (ClocheSandbox        *self,
                                                   const char           *id,
                                                   GError              **error);
void           cloche_sandbox_close_session_async (ClocheSandbox        *self,
                                                   const char           *id,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
gboolean       cloche_sandbox_close_session_finish (ClocheSandbox       *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);
void           cloche_sandbox_list_sessions_async (ClocheSandbox        *self,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
GPtrArray     *cloche_sandbox_list_sessions_finish (ClocheSandbox       *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);
void           cloche_sandbox_get_session_async   (ClocheSandbox        *self,
                                                   const char           *id,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
ClocheSessionEntry *cloche_sandbox_get_session_finish (ClocheSandbox   *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);
void           cloche_sandbox_set_pinned_async    (ClocheSandbox        *self,
                                                   const char           *id,
                                                   gboolean              pinned,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
gboolean       cloche_sandbox_set_pinned_finish   (ClocheSandbox        *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);
void           cloche_sandbox_cleanup_async       (ClocheSandbox        *self,
                                                   guint                 stale_after_days,
                                                   gboolean              dry_run,
                                                   ClocheCleanupProgress progress,
                                                   gpointer              progress_data,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
GPtrArray     *cloche_sandbox_cleanup_finish      (ClocheSandbox        *self,
                                                   GAsyncResult         *result,
                                                   guint64              *freed,
                                                   GError              **error);
void           cloche_sandbox_exec_async          (ClocheSandbox        *self,
                                                   const char           *id,
                                                   const char * const   *argv,
                                                   const char * const   *env,
                                                   const char           *cwd,
                                                   guint                 timeout_s,
                                                   GBytes               *input,
                                                   ClocheExecFlags       flags,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
gboolean       cloche_sandbox_exec_finish         (ClocheSandbox        *self,
                                                   GAsyncResult         *result,
                                                   int                  *exit_code,
                                                   GBytes              **stdout_bytes,
                                                   GBytes              **stderr_bytes,
                                                   GError              **error);
void           cloche_sandbox_open_terminal_async (ClocheSandbox               *self,
                                                   const char                  *id,
                                                   const ClocheTerminalRequest *request,
                                                   GCancellable                *cancellable,
                                                   GAsyncReadyCallback          callback,
                                                   gpointer                     user_data);
ClocheTerminal *cloche_sandbox_open_terminal_finish (ClocheSandbox              *self,
                                                   GAsyncResult                *result,
                                                   GError                     **error);
ClocheTerminal *cloche_sandbox_lookup_terminal    (ClocheSandbox               *self,
                                                   const char                  *id);
void           cloche_sandbox_resize_terminal_async (ClocheSandbox             *self,
                                                   const char                  *id,
                                                   guint                        rows,
                                                   guint                        cols,
                                                   GCancellable                *cancellable,
                                                   GAsyncReadyCallback          callback,
                                                   gpointer                     user_data);
gboolean       cloche_sandbox_resize_terminal_finish (ClocheSandbox            *self,
                                                   GAsyncResult                *result,
                                                   GError                     **error);
GPtrArray     *cloche_sandbox_list_terminals     (ClocheSandbox               *self,
                                                  const char                  *session);
void           cloche_sandbox_attach_terminal_async (ClocheSandbox             *self,
                                                  const char                  *id,
                                                  GCancellable                *cancellable,
                                                  GAsyncReadyCallback          callback,
                                                  gpointer                     user_data);
int            cloche_sandbox_attach_terminal_finish (ClocheSandbox            *self,
                                                  GAsyncResult                *result,
                                                  GError                     **error);

G_END_DECLS
