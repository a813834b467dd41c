/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-audit-log.h"
#include "cloche-egress-ca.h"
#include "cloche-exec-channel.h"
#include "cloche-sandbox.h"
#include "cloche-session-store.h"

G_BEGIN_DECLS

/* An open session and the boot its folders are mounted in. */
typedef struct
{
  ClocheSession *session;
  gint64         mounted_boot;   /* the VM's booted-at when mounted; 0: not mounted */
  GError        *broken;         /* set: a folder changed or was lost; every command fails so */
} ClocheOpenSession;

struct _ClocheSandbox
{
  GObject             parent_instance;
  ClocheVm           *vm;
  ClocheSessionStore *store;
  GHashTable         *sessions;        /* id → ClocheOpenSession */
  GHashTable         *pins;            /* id → GPtrArray of ClochePinnedFolder: the work
                                        * folder, then each mount, as checked at open */
  guint               opening;         /* opens waiting for the VM */
  guint               closing;         /* closed sessions whose folders are being detached */
  guint               cleanups;        /* cleanups running */
  guint               idle_timeout_s;
  guint               idle_source;
  gint64              idle_stop_at;       /* CLOCK_REALTIME µs, 0: no idle timer */
  guint               stale_after_days;
  GStrv               mount_deny;      /* NULL: the built-in mount rules */
  gboolean            allow_outside_home;
  ClocheAuditLog     *audit;           /* nullable; cloche_audit_events_attach() */
  GHashTable         *terminals;       /* id → ClocheTerminal, until it has ended */
  guint               terminal_count;  /* terminals opened in this daemon's life */
  ClocheSecrets      *secrets;         /* nullable: placeholders (cloche-sandbox-trust.c) */
  ClocheEgressCa     *ca;              /* nullable: what each boot trusts */
  gint64              trusted_boot;    /* a boot a trust went well in; 0: none */
  gint64              attempt_boot;    /* the boot of the last trust, well or not */
  char               *attempt_pem;     /* and the CA it gave */
  char               *tools_dir;       /* the tools folder (cloche-sandbox-tools.c) */
  gint64              tools_boot;      /* the boot it is attached to; 0: none */
  gint64              tools_attaching; /* the boot it is being attached to; 0: none */
  GPtrArray          *tools_waiting;   /* GTasks waiting for that attach */
  guint64             tools_size;      /* allocated bytes, as last measured */
  ClocheExecChannel  *exec_channel;    /* this boot's exec server, ready; NULL: guest-exec */
  gint64              exec_channel_boot; /* the boot one was started for; 0: none */
  guint               exec_channel_timer; /* until it starts (EXEC_CHANNEL_DELAY_MS) */
};

void     _cloche_sandbox_mount_async    (ClocheSandbox        *self,
                                         ClocheSession        *session,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
gboolean _cloche_sandbox_mount_finish   (ClocheSandbox        *self,
                                         GAsyncResult         *result,
                                         gint64               *boot,
                                         GError              **error);
void     _cloche_sandbox_unmount        (ClocheSandbox        *self,
                                         ClocheSession        *session);
void     _cloche_sandbox_update_idle_timer (ClocheSandbox     *self);
void     _cloche_sandbox_tools_async    (ClocheSandbox        *self,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
gboolean _cloche_sandbox_tools_finish   (ClocheSandbox        *self,
                                         GAsyncResult         *result,
                                         GError              **error);
void     _cloche_sandbox_tools_detach_async (ClocheSandbox    *self,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
void     _cloche_sandbox_notify_tools_size (ClocheSandbox     *self);
void     _cloche_sandbox_tools_session_closed (ClocheSandbox  *self,
                                         ClocheSession        *closed);
gboolean _cloche_sandbox_add_tools_mount (ClocheSandbox       *self,
                                         ClocheSession        *session,
                                         GError              **error);
gboolean _cloche_sandbox_pin            (ClocheSandbox        *self,
                                         const char           *id,
                                         const char           *path,
                                         GError              **error);
gboolean _cloche_sandbox_pin_work_folder (ClocheSandbox       *self,
                                          ClocheSession       *session,
                                          GError             **error);
void     _cloche_sandbox_unpin          (ClocheSandbox        *self,
                                         const char           *id);
GStrv    _cloche_sandbox_dup_open_ids   (ClocheSandbox        *self);
void     _cloche_sandbox_count_cleanup  (ClocheSandbox        *self,
                                         int                   delta);
ClocheOpenSession *_cloche_sandbox_lookup (ClocheSandbox      *self,
                                           const char         *id,
                                           GError            **error);
void     _cloche_sandbox_touch          (ClocheSandbox        *self,
                                         ClocheOpenSession    *open);

void     _cloche_sandbox_ready_async    (ClocheSandbox        *self,
                                         const char           *id,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
gboolean _cloche_sandbox_ready_finish   (ClocheSandbox        *self,
                                         GAsyncResult         *result,
                                         GError              **error);
GStrv    _cloche_sandbox_build_env      (ClocheSandbox        *self,
                                         ClocheSession        *session,
                                         const char * const   *env);
void     _cloche_sandbox_trust_async    (ClocheSandbox        *self,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
gboolean _cloche_sandbox_trust_finish   (ClocheSandbox        *self,
                                         GAsyncResult         *result,
                                         GError              **error);
void     _cloche_sandbox_add_secrets_env (ClocheSandbox       *self,
                                          ClocheSession       *session,
                                          GStrvBuilder        *builder);
void     _cloche_sandbox_forget_secrets (ClocheSandbox        *self,
                                         const char           *id);
gboolean _cloche_sandbox_is_refused     (ClocheSandbox        *self,
                                         ClocheOpenSession    *open);
gboolean _cloche_sandbox_check_command  (const char * const   *argv,
                                         const char * const   *env,
                                         GError              **error);
void     _cloche_sandbox_end_terminals  (ClocheSandbox        *self);
void     _cloche_sandbox_exec_channel_start (ClocheSandbox    *self);
void     _cloche_sandbox_exec_channel_close_async (ClocheSandbox *self,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);

/* A fork's copy of its source's work folder (cloche-sandbox-fork.c). */
typedef struct _ClocheSandboxForkCopy ClocheSandboxForkCopy;

void     _cloche_sandbox_fork_copy_free (ClocheSandboxForkCopy *fork);
void     _cloche_sandbox_fork_copy_async (ClocheSandbox        *self,
                                          ClocheSandboxForkCopy *fork,
                                          ClocheSession        *session,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
gboolean _cloche_sandbox_fork_copy_finish (ClocheSandbox      *self,
                                           GAsyncResult       *result,
                                           GError            **error);
void     _cloche_sandbox_open_async     (ClocheSandbox        *self,
                                         const char           *title,
                                         const char           *client,
                                         GPtrArray            *mounts,
                                         ClocheSandboxForkCopy *fork,
                                         GTask                *owned_task);

G_END_DECLS
