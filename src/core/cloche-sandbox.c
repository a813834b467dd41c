/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Agent mode: sessions over one lazily booted VM. The VM boots when a
 * session opens (or a command runs in an open session after a stop) and
 * shuts down idle_timeout seconds after the last session closed. Sessions
 * are recorded on disk by the ClocheSessionStore as they open and close.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cloche-audit-events.h"
#include "cloche-error.h"
#include "cloche-mount-check.h"
#include "cloche-own-folders.h"
#include "cloche-sandbox-private.h"
#include "cloche-tools.h"

enum {
  PROP_0,
  PROP_VM,
  PROP_STORE,
  PROP_OPEN_SESSIONS,
  PROP_CLEANING,
  PROP_IDLE_TIMEOUT,
  PROP_STALE_AFTER_DAYS,
  PROP_IDLE_STOP_AT,
  PROP_TOOLS_SIZE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SESSION_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClocheSandbox, cloche_sandbox, G_TYPE_OBJECT)

static void
cloche_sandbox_open_session_free (ClocheOpenSession *open)
{
  g_clear_object (&open->session);
  g_clear_error (&open->broken);
  g_free (open);
}

/* Idle */

static void
cloche_sandbox_idle_stopped_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!cloche_vm_stop_finish (CLOCHE_VM (object), result, &error))
    g_warning ("Stopping the idle VM failed: %s", error->message);
}

/* When the idle timer will stop the VM (CLOCK_REALTIME µs), 0 when it
 * does not run: for people, who are told until when it keeps running. */
static void
cloche_sandbox_set_idle_stop_at (ClocheSandbox *self,
                                 gint64         when)
{
  if (self->idle_stop_at == when)
    return;
  self->idle_stop_at = when;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDLE_STOP_AT]);
}

/* The tools folder's share is gone (an idle VM with it could not be
 * saved); a session that opened meanwhile keeps the VM running. */
static void
cloche_sandbox_idle_tools_detached_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  ClocheSandbox *self = CLOCHE_SANDBOX (object);

  _cloche_sandbox_tools_finish (self, result, NULL);
  if (g_hash_table_size (self->sessions) != 0 || self->opening != 0 || self->closing != 0)
    return;
  g_debug ("No session for %u s: stopping the VM", self->idle_timeout_s);
  cloche_vm_idle_stop_async (self->vm, cloche_sandbox_idle_stopped_cb, NULL);
}

/* The exec server's port is out (a VM with it could not be restored
 * either): the tools folder next. */
static void
cloche_sandbox_idle_channel_closed_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  ClocheSandbox *self = CLOCHE_SANDBOX (object);

  _cloche_sandbox_tools_detach_async (self, cloche_sandbox_idle_tools_detached_cb, NULL);
}

static gboolean
cloche_sandbox_idle_timeout_cb (gpointer user_data)
{
  ClocheSandbox *self = user_data;

  self->idle_source = 0;
  cloche_sandbox_set_idle_stop_at (self, 0);
  _cloche_sandbox_exec_channel_close_async (self, cloche_sandbox_idle_channel_closed_cb, NULL);
  return G_SOURCE_REMOVE;
}

/* The one place that decides whether the idle timer runs: not while a
 * closed session's folders are still being detached either, so that the
 * idle stop finds none and can save the VM (warm wake). */
static void
cloche_sandbox_update_idle_timer (ClocheSandbox *self)
{
  gboolean idle = g_hash_table_size (self->sessions) == 0 && self->opening == 0
                  && self->closing == 0
                  && cloche_vm_get_state (self->vm) == CLOCHE_VM_STATE_RUNNING;

  if (!idle)
    {
      g_clear_handle_id (&self->idle_source, g_source_remove);
      cloche_sandbox_set_idle_stop_at (self, 0);
    }
  else if (self->idle_source == 0)
    {
      self->idle_source = g_timeout_add_seconds (self->idle_timeout_s,
                                                 cloche_sandbox_idle_timeout_cb, self);
      cloche_sandbox_set_idle_stop_at (self, g_get_real_time ()
                              + (gint64) self->idle_timeout_s * G_USEC_PER_SEC);
    }
}

void
_cloche_sandbox_update_idle_timer (ClocheSandbox *self)
{
  cloche_sandbox_update_idle_timer (self);
}

void
_cloche_sandbox_notify_tools_size (ClocheSandbox *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOOLS_SIZE]);
}

/* Sessions */

static void
cloche_sandbox_notify_sessions (ClocheSandbox *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OPEN_SESSIONS]);
  cloche_sandbox_update_idle_timer (self);
}

/* Written by the store's worker, in order; a failure is logged there. */
static void
cloche_sandbox_save (ClocheSandbox *self,
                     ClocheSession *session)
{
  cloche_session_store_save (self->store, session);
}

ClocheOpenSession *
_cloche_sandbox_lookup (ClocheSandbox  *self,
                        const char     *id,
                        GError        **error)
{
  ClocheOpenSession *open = g_hash_table_lookup (self->sessions, id);

  if (open == NULL)
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND,
                 _("No open session has the id \"%s\""), id);
  return open;
}

void
_cloche_sandbox_touch (ClocheSandbox     *self,
                       ClocheOpenSession *open)
{
  cloche_session_touch (open->session);
  cloche_sandbox_save (self, open->session);
}

GStrv
_cloche_sandbox_dup_open_ids (ClocheSandbox *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  GHashTableIter iter;
  const char *id;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, (gpointer *) &id, NULL))
    g_strv_builder_add (builder, id);
  return g_strv_builder_end (builder);
}

/* Open */

/* What an open carries: the session, and for a fork where its work folder
 * is copied from (cloche-sandbox-fork.c). */
typedef struct
{
  ClocheSession         *session;
  ClocheSandboxForkCopy *fork;
  GError                *failure;   /* told once what was made is removed */
} Opening;

static void
cloche_sandbox_opening_free (Opening *opening)
{
  g_clear_object (&opening->session);
  g_clear_pointer (&opening->fork, _cloche_sandbox_fork_copy_free);
  g_clear_error (&opening->failure);
  g_free (opening);
}

static ClocheSession *
cloche_sandbox_opening_session (GTask *task)
{
  return ((Opening *) g_task_get_task_data (task))->session;
}

static void
cloche_sandbox_failed_open_deleted_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Opening *opening = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!cloche_session_store_delete_finish (CLOCHE_SESSION_STORE (object), result, &error))
    g_warning ("Session %s did not open and its folder cannot be removed: %s",
               cloche_session_get_id (opening->session), error->message);
  g_task_return_error (task, g_steal_pointer (&opening->failure));
}

/* Takes @task: the callers hand over their reference. A session that did
 * not open leaves no record: it never held anything of the user's (its
 * folders are the user's own, its work folder was just made, or copied
 * by a fork). The caller is answered once it is gone, so that what it
 * sees next (a list, the disk) no longer has it. */
static void
cloche_sandbox_fail_open (GTask  *owned_task,
                          GError *error)
{
  g_autoptr(GTask) task = owned_task;
  ClocheSandbox *self = g_task_get_source_object (task);
  ClocheSession *session = cloche_sandbox_opening_session (task);
  const char *id = cloche_session_get_id (session);

  self->opening--;
  _cloche_sandbox_unpin (self, id);
  cloche_audit_session_opened (self->audit, session, error);
  cloche_sandbox_update_idle_timer (self);
  ((Opening *) g_task_get_task_data (task))->failure = error;
  cloche_session_store_delete_async (self->store, id, NULL, cloche_sandbox_failed_open_deleted_cb,
                                     g_steal_pointer (&task));
}

static void
cloche_sandbox_mounted_for_open_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSandbox *self = CLOCHE_SANDBOX (object);
  ClocheSession *session = cloche_sandbox_opening_session (task);
  ClocheOpenSession *open;
  GError *error = NULL;
  gint64 boot;

  /* A failed mount job has detached what it attached. */
  if (!_cloche_sandbox_mount_finish (self, result, &boot, &error))
    {
      cloche_sandbox_fail_open (g_steal_pointer (&task), error);
      return;
    }

  self->opening--;
  open = g_new0 (ClocheOpenSession, 1);
  open->session = g_object_ref (session);
  open->mounted_boot = boot;
  g_hash_table_insert (self->sessions, g_strdup (cloche_session_get_id (session)), open);
  cloche_audit_session_opened (self->audit, session, NULL);
  cloche_sandbox_notify_sessions (self);
  g_task_return_pointer (task, g_strdup (cloche_session_get_id (session)), g_free);
}

static void
cloche_sandbox_vm_started_for_open_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSandbox *self = g_task_get_source_object (task);
  ClocheSession *session = cloche_sandbox_opening_session (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  GError *error = NULL;

  if (!cloche_vm_start_finish (self->vm, result, &error))
    {
      cloche_sandbox_fail_open (g_steal_pointer (&task), error);
      return;
    }
  _cloche_sandbox_mount_async (self, session, cancellable, cloche_sandbox_mounted_for_open_cb,
                               g_steal_pointer (&task));
}

/* Its work folder as the VM will see it: pinned, then the VM started. */
static void
cloche_sandbox_work_folder_ready (GTask *owned_task)
{
  g_autoptr(GTask) task = owned_task;
  ClocheSandbox *self = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  GError *error = NULL;

  if (!_cloche_sandbox_pin_work_folder (self, cloche_sandbox_opening_session (task), &error))
    {
      cloche_sandbox_fail_open (g_steal_pointer (&task), error);
      return;
    }
  cloche_vm_start_async (self->vm, cancellable, cloche_sandbox_vm_started_for_open_cb,
                         g_steal_pointer (&task));
}

static void
cloche_sandbox_copied_for_open_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  /* A partial copy goes with the rest of the session's folder. */
  if (!_cloche_sandbox_fork_copy_finish (CLOCHE_SANDBOX (object), result, &error))
    cloche_sandbox_fail_open (task, error);
  else
    cloche_sandbox_work_folder_ready (task);
}

static void
cloche_sandbox_created_cb (GObject      *object,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSandbox *self = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  Opening *opening = g_task_get_task_data (task);
  GError *error = NULL;

  if (!cloche_session_store_create_finish (CLOCHE_SESSION_STORE (object), result, &error))
    {
      /* What was made of its folder goes too. */
      cloche_sandbox_fail_open (g_steal_pointer (&task), error);
      return;
    }
  if (opening->fork != NULL)
    /* Arguments are evaluated in no set order: none reads @task here. */
    _cloche_sandbox_fork_copy_async (self, opening->fork, opening->session, cancellable,
                                     cloche_sandbox_copied_for_open_cb, g_steal_pointer (&task));
  else
    cloche_sandbox_work_folder_ready (g_steal_pointer (&task));
}

/* A name for the mount point, unique in the session: the folder's own
 * name, then name-2, name-3… */
static char *
cloche_sandbox_mount_name (ClocheSession *session,
                           const char    *canonical)
{
  g_autofree char *base = g_path_get_basename (canonical);
  GPtrArray *mounts = cloche_session_get_mounts (session);
  char *name = g_strdup (base);

  for (guint n = 2;; n++)
    {
      gboolean taken = FALSE;

      for (guint i = 0; i < mounts->len && !taken; i++)
        taken = g_str_equal (((ClocheSessionMount *) g_ptr_array_index (mounts, i))->name, name);
      if (!taken)
        return name;
      g_free (name);
      name = g_strdup_printf ("%s-%u", base, n);
    }
}

static gboolean
cloche_sandbox_add_mounts (ClocheSandbox  *self,
                           ClocheSession  *session,
                           GPtrArray      *requests,
                           GError        **error)
{
  ClocheMountRules rules = { NULL, (const char * const *) self->mount_deny,
                             self->allow_outside_home, NULL };
  /* Cloche's own folders are never the guest's, whatever the policy says. */
  g_autoptr(GPtrArray) own = cloche_own_folders_new (cloche_vm_get_bundle_path (self->vm),
                                                     cloche_session_store_get_root (self->store));

  if (self->mount_deny == NULL)
    rules = *cloche_mount_rules_default ();
  rules.own = own;
  for (guint i = 0; requests != NULL && i < requests->len; i++)
    {
      ClocheSessionMount *request = g_ptr_array_index (requests, i);
      g_autofree char *canonical = NULL;
      g_autofree char *name = NULL;

      canonical = cloche_mount_check (request->path, &rules, error);
      if (canonical == NULL
          || !_cloche_sandbox_pin (self, cloche_session_get_id (session), canonical, error))
        return FALSE;
      name = cloche_sandbox_mount_name (session, canonical);
      cloche_session_add_mount (session,
                                cloche_session_mount_new (canonical, name, request->readonly));
    }
  return TRUE;
}

/**
 * cloche_sandbox_open_session_async:
 * @mounts: (nullable) (element-type ClocheSessionMount): host folders to
 *   mount, each path as the user gave it; names are chosen here
 *
 * Opens a session: validates its folders before anything is attached,
 * records it, boots the VM if needed and mounts its folders.
 */
void
cloche_sandbox_open_session_async (ClocheSandbox       *self,
                                   const char          *title,
                                   const char          *client,
                                   GPtrArray           *mounts,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  _cloche_sandbox_open_async (self, title, client, mounts, NULL,
                              g_task_new (self, cancellable, callback, user_data));
}

/**
 * _cloche_sandbox_open_async:
 * @fork: (nullable) (transfer full): where the work folder is copied from
 * @owned_task: (transfer full): completes with the new session's id
 *
 * Open, and fork (cloche-sandbox-fork.c): one way to make a session.
 */
static void cloche_sandbox_open_with (ClocheSandbox         *self,
                                      const char            *title,
                                      const char            *client,
                                      GPtrArray             *mounts,
                                      gboolean               tools,
                                      ClocheSandboxForkCopy *fork,
                                      GTask                 *owned_task);

void
_cloche_sandbox_open_async (ClocheSandbox         *self,
                            const char            *title,
                            const char            *client,
                            GPtrArray             *mounts,
                            ClocheSandboxForkCopy *fork,
                            GTask                 *owned_task)
{
  cloche_sandbox_open_with (self, title, client, mounts, FALSE, fork, owned_task);
}

/**
 * cloche_sandbox_open_tools_session_async:
 *
 * Opens an install session: no folder of the user's, the tools folder
 * read-write as its folder `mnt/tools` (cloche-sandbox-tools.c). Finish
 * with cloche_sandbox_open_session_finish().
 */
void
cloche_sandbox_open_tools_session_async (ClocheSandbox       *self,
                                         const char          *title,
                                         const char          *client,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  cloche_sandbox_open_with (self, title, client, NULL, TRUE, NULL,
                            g_task_new (self, cancellable, callback, user_data));
}

static void
cloche_sandbox_open_with (ClocheSandbox         *self,
                          const char            *title,
                          const char            *client,
                          GPtrArray             *mounts,
                          gboolean               tools,
                          ClocheSandboxForkCopy *fork,
                          GTask                 *owned_task)
{
  g_autoptr(GTask) task = owned_task;
  g_autoptr(ClocheSession) session = cloche_session_new (title, client);
  GCancellable *cancellable = g_task_get_cancellable (task);
  Opening *opening;
  GError *error = NULL;

  if (g_task_get_source_tag (task) == NULL)
    g_task_set_source_tag (task, cloche_sandbox_open_session_async);
  if (!cloche_sandbox_add_mounts (self, session, mounts, &error)
      || (tools && !_cloche_sandbox_add_tools_mount (self, session, &error)))
    {
      _cloche_sandbox_unpin (self, cloche_session_get_id (session));
      g_clear_pointer (&fork, _cloche_sandbox_fork_copy_free);
      g_task_return_error (task, error);
      return;
    }

  opening = g_new0 (Opening, 1);
  opening->session = g_object_ref (session);
  opening->fork = fork;
  g_task_set_task_data (task, opening, (GDestroyNotify) cloche_sandbox_opening_free);
  /* Counted from now: the idle timer must not stop the VM meanwhile. */
  self->opening++;
  cloche_sandbox_update_idle_timer (self);
  cloche_session_store_create_async (self->store, session, cancellable, cloche_sandbox_created_cb,
                                     g_steal_pointer (&task));
}

/**
 * cloche_sandbox_open_session_finish:
 *
 * Returns: (transfer full): the new session's id
 */
char *
cloche_sandbox_open_session_finish (ClocheSandbox  *self,
                                    GAsyncResult   *result,
                                    GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Close */

/* What closing does once the record says so. */
static void
cloche_sandbox_close_open_session (ClocheSandbox *self,
                                   const char    *id,
                                   ClocheSession *closed)
{
  ClocheOpenSession *open = g_hash_table_lookup (self->sessions, id);

  if (open == NULL)
    return;
  if (open->mounted_boot != 0 && open->mounted_boot == cloche_vm_get_booted_at (self->vm))
    _cloche_sandbox_unmount (self, open->session);
  g_hash_table_remove (self->sessions, id);
  _cloche_sandbox_unpin (self, cloche_session_get_id (closed));
  _cloche_sandbox_forget_secrets (self, cloche_session_get_id (closed));
  cloche_audit_session_closed (self->audit, closed);
  _cloche_sandbox_tools_session_closed (self, closed);
  g_signal_emit (self, signals[SESSION_CLOSED], 0, cloche_session_get_id (closed));
  cloche_sandbox_notify_sessions (self);
}

/* @session, as its record says once it is closed. */
static ClocheSession *
cloche_sandbox_closed_copy (ClocheSession *session)
{
  ClocheSession *closed = cloche_session_copy (session);

  cloche_session_set_state (closed, CLOCHE_SESSION_STATE_CLOSED);
  cloche_session_touch (closed);
  return closed;
}

/**
 * cloche_sandbox_close_session:
 *
 * Closes a session at once, when it must end whatever its record can say
 * (its client left the bus, the bundle goes): its folders are detached in
 * the background, its record is written behind (a failure is logged: the
 * record then still says open, and counts as closed at the next start).
 * A user's Close goes through cloche_sandbox_close_session_async().
 */
gboolean
cloche_sandbox_close_session (ClocheSandbox  *self,
                              const char     *id,
                              GError        **error)
{
  g_autoptr(ClocheSession) closed = NULL;
  ClocheOpenSession *open;

  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), FALSE);

  open = _cloche_sandbox_lookup (self, id, error);
  if (open == NULL)
    return FALSE;
  closed = cloche_sandbox_closed_copy (open->session);
  cloche_sandbox_save (self, closed);
  cloche_sandbox_close_open_session (self, id, closed);
  return TRUE;
}

static void
cloche_sandbox_closed_saved_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSandbox *self = g_task_get_source_object (task);
  ClocheSession *closed = g_task_get_task_data (task);
  GError *error = NULL;

  if (!cloche_session_store_save_finish (CLOCHE_SESSION_STORE (object), result, &error))
    {
      g_prefix_error (&error, _("Session %s stays open: its record cannot say it is closed: "),
                      cloche_session_get_id (closed));
      g_task_return_error (task, error);
      return;
    }
  cloche_sandbox_close_open_session (self, cloche_session_get_id (closed), closed);
  g_task_return_boolean (task, TRUE);
}

/**
 * cloche_sandbox_close_session_async:
 *
 * Closes a session once its record says so on disk; when it cannot be
 * written (a full disk), fails with why and the session stays open, as
 * its record says. Its folders are then detached in the background.
 */
void
cloche_sandbox_close_session_async (ClocheSandbox       *self,
                                    const char          *id,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ClocheOpenSession *open;
  ClocheSession *closed;
  GError *error = NULL;

  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_sandbox_close_session_async);
  open = _cloche_sandbox_lookup (self, id, &error);
  if (open == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  closed = cloche_sandbox_closed_copy (open->session);
  g_task_set_task_data (task, closed, g_object_unref);
  cloche_session_store_save_async (self->store, closed, cancellable, cloche_sandbox_closed_saved_cb,
                                   g_steal_pointer (&task));
}

gboolean
cloche_sandbox_close_session_finish (ClocheSandbox  *self,
                                     GAsyncResult   *result,
                                     GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Accessors */

ClocheVm *
cloche_sandbox_get_vm (ClocheSandbox *self)
{
  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), NULL);
  return self->vm;
}

guint
cloche_sandbox_get_open_sessions (ClocheSandbox *self)
{
  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), 0);
  return g_hash_table_size (self->sessions);
}

/**
 * cloche_sandbox_get_cleaning:
 *
 * Whether a cleanup is running: it may outlast its caller, and whoever
 * decides that the sandbox is unused must wait for it.
 */
gboolean
cloche_sandbox_get_cleaning (ClocheSandbox *self)
{
  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), FALSE);
  return self->cleanups > 0;
}

void
_cloche_sandbox_count_cleanup (ClocheSandbox *self,
                               int            delta)
{
  gboolean was_cleaning = self->cleanups > 0;

  g_assert (delta > 0 || self->cleanups >= (guint) -delta);
  self->cleanups += delta;
  if (was_cleaning != (self->cleanups > 0))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLEANING]);
}

guint
cloche_sandbox_get_idle_timeout (ClocheSandbox *self)
{
  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), 0);
  return self->idle_timeout_s;
}

/**
 * cloche_sandbox_get_idle_stop_at:
 *
 * Returns: when the idle timer stops the VM (CLOCK_REALTIME µs), 0 when it
 *   does not run (a session is open, or the VM is not running)
 */
gint64
cloche_sandbox_get_idle_stop_at (ClocheSandbox *self)
{
  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), 0);

  return self->idle_stop_at;
}

void
cloche_sandbox_set_idle_timeout (ClocheSandbox *self,
                                 guint          seconds)
{
  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  if (self->idle_timeout_s == seconds)
    return;
  self->idle_timeout_s = seconds;
  /* A running timer restarts with the new length. */
  g_clear_handle_id (&self->idle_source, g_source_remove);
  cloche_sandbox_update_idle_timer (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDLE_TIMEOUT]);
}

/**
 * cloche_sandbox_set_stale_after_days:
 * @days: how long a closed session stays before it is stale, from the next
 *   listing or cleanup on
 */
void
cloche_sandbox_set_stale_after_days (ClocheSandbox *self,
                                     guint          days)
{
  g_return_if_fail (CLOCHE_IS_SANDBOX (self));
  g_return_if_fail (days > 0);

  if (self->stale_after_days == days)
    return;
  self->stale_after_days = days;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STALE_AFTER_DAYS]);
}

/**
 * cloche_sandbox_set_mount_rules:
 * @deny: folders that may not be mounted ("~/" is the home folder)
 * @allow_outside_home: whether folders outside home may be
 *
 * The rules every later Open's folders are checked against; open
 * sessions keep their folders.
 */
void
cloche_sandbox_set_mount_rules (ClocheSandbox      *self,
                                const char * const *deny,
                                gboolean            allow_outside_home)
{
  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  g_strfreev (self->mount_deny);
  self->mount_deny = g_strdupv ((char **) (deny != NULL ? deny : (const char * const[]) { NULL }));
  self->allow_outside_home = allow_outside_home;
}

/* A lost folder */

static gboolean
cloche_sandbox_mount_is_readonly (ClocheSession *session,
                                  const char    *guest_dir)
{
  g_autofree char *name = g_path_get_basename (guest_dir);
  GPtrArray *mounts = cloche_session_get_mounts (session);

  for (guint i = 0; i < mounts->len; i++)
    {
      ClocheSessionMount *mount = g_ptr_array_index (mounts, i);

      if (g_str_equal (mount->name, name))
        return mount->readonly;
    }
  return FALSE;
}

/* Commands in the session would hang on the folder: they are refused with
 * the reason until the session's folders are mounted afresh in a new boot. */
static void
cloche_sandbox_folder_lost_cb (ClocheSandbox *self,
                               const char    *guest_dir,
                               const char    *host_path,
                               const char    *why)
{
  GHashTableIter iter;
  ClocheOpenSession *open;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &open))
    {
      g_autofree char *session_dir = cloche_session_dup_guest_dir (open->session);
      const char *id = cloche_session_get_id (open->session);

      if (!g_str_equal (guest_dir, session_dir)
          && !(g_str_has_prefix (guest_dir, session_dir) && guest_dir[strlen (session_dir)] == '/'))
        continue;
      g_clear_error (&open->broken);
      open->broken = g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_LOST,
                                  _("The folder %s (at %s in the VM) of session %s is no longer "
                                    "shared: %s. Commands there would hang, so they are refused: "
                                    "stop the VM (clochectl stop) and the next command mounts the "
                                    "session's folders again, or close the session and open a "
                                    "new one"), host_path, guest_dir, id, why);
      cloche_audit_mount (self->audit, "mount.lost", id, host_path, guest_dir,
                          cloche_sandbox_mount_is_readonly (open->session, guest_dir),
                          open->broken);
    }
}

/* GObject */

static void
cloche_sandbox_vm_state_changed_cb (ClocheSandbox *self)
{
  cloche_sandbox_update_idle_timer (self);
}

static void
cloche_sandbox_constructed (GObject *object)
{
  ClocheSandbox *self = CLOCHE_SANDBOX (object);

  G_OBJECT_CLASS (cloche_sandbox_parent_class)->constructed (object);

  g_signal_connect_object (self->vm, "notify::state",
                           G_CALLBACK (cloche_sandbox_vm_state_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->vm, "folder-lost",
                           G_CALLBACK (cloche_sandbox_folder_lost_cb), self, G_CONNECT_SWAPPED);
}

static void
cloche_sandbox_dispose (GObject *object)
{
  ClocheSandbox *self = CLOCHE_SANDBOX (object);

  g_clear_handle_id (&self->idle_source, g_source_remove);
  g_clear_object (&self->exec_channel);
  g_clear_handle_id (&self->exec_channel_timer, g_source_remove);
  if (self->terminals != NULL)
    _cloche_sandbox_end_terminals (self);
  g_clear_pointer (&self->terminals, g_hash_table_unref);
  g_clear_pointer (&self->sessions, g_hash_table_unref);
  g_clear_pointer (&self->pins, g_hash_table_unref);
  g_clear_pointer (&self->mount_deny, g_strfreev);
  g_clear_object (&self->store);
  g_clear_object (&self->vm);
  g_clear_object (&self->audit);
  g_clear_object (&self->secrets);
  g_clear_object (&self->ca);
  g_clear_pointer (&self->attempt_pem, g_free);
  g_clear_pointer (&self->tools_dir, g_free);

  G_OBJECT_CLASS (cloche_sandbox_parent_class)->dispose (object);
}

static void
cloche_sandbox_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  ClocheSandbox *self = CLOCHE_SANDBOX (object);

  switch (prop_id)
    {
    case PROP_VM:
      g_value_set_object (value, self->vm);
      break;
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_OPEN_SESSIONS:
      g_value_set_uint (value, cloche_sandbox_get_open_sessions (self));
      break;
    case PROP_CLEANING:
      g_value_set_boolean (value, cloche_sandbox_get_cleaning (self));
      break;
    case PROP_IDLE_TIMEOUT:
      g_value_set_uint (value, self->idle_timeout_s);
      break;
    case PROP_IDLE_STOP_AT:
      g_value_set_int64 (value, self->idle_stop_at);
      break;
    case PROP_STALE_AFTER_DAYS:
      g_value_set_uint (value, self->stale_after_days);
      break;
    case PROP_TOOLS_SIZE:
      g_value_set_uint64 (value, self->tools_size);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_sandbox_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  ClocheSandbox *self = CLOCHE_SANDBOX (object);

  switch (prop_id)
    {
    case PROP_VM:
      self->vm = g_value_dup_object (value);
      break;
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_IDLE_TIMEOUT:
      cloche_sandbox_set_idle_timeout (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_sandbox_class_init (ClocheSandboxClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = cloche_sandbox_constructed;
  object_class->dispose = cloche_sandbox_dispose;
  object_class->get_property = cloche_sandbox_get_property;
  object_class->set_property = cloche_sandbox_set_property;

  properties[PROP_VM] =
    g_param_spec_object ("vm", NULL, NULL, CLOCHE_TYPE_VM,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, CLOCHE_TYPE_SESSION_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_OPEN_SESSIONS] =
    g_param_spec_uint ("open-sessions", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CLEANING] =
    g_param_spec_boolean ("cleaning", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IDLE_TIMEOUT] =
    g_param_spec_uint ("idle-timeout", NULL, NULL, 1, G_MAXUINT, CLOCHE_DEFAULT_IDLE_TIMEOUT_S,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STALE_AFTER_DAYS] =
    g_param_spec_uint ("stale-after-days", NULL, NULL, 1, G_MAXUINT,
                       CLOCHE_DEFAULT_STALE_AFTER_DAYS,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_IDLE_STOP_AT] =
    g_param_spec_int64 ("idle-stop-at", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /* Allocated bytes of the tools folder (cloche-sandbox-tools.c). */
  properties[PROP_TOOLS_SIZE] =
    g_param_spec_uint64 ("tools-size", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * ClocheSandbox::session-closed:
   * @id: the session that closed (by a user, its client leaving, a cleanup
   *   or the bundle's removal)
   *
   * What was given to a session for its life alone (its egress additions)
   * goes with it.
   */
  signals[SESSION_CLOSED] =
    g_signal_new ("session-closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
cloche_sandbox_init (ClocheSandbox *self)
{
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) cloche_sandbox_open_session_free);
  self->pins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) g_ptr_array_unref);
  self->terminals = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->idle_timeout_s = CLOCHE_DEFAULT_IDLE_TIMEOUT_S;
  self->stale_after_days = CLOCHE_DEFAULT_STALE_AFTER_DAYS;
  self->tools_dir = cloche_tools_dup_dir ();
}

ClocheSandbox *
cloche_sandbox_new (ClocheVm           *vm,
                    ClocheSessionStore *store)
{
  g_return_val_if_fail (CLOCHE_IS_VM (vm), NULL);
  g_return_val_if_fail (CLOCHE_IS_SESSION_STORE (store), NULL);

  return g_object_new (CLOCHE_TYPE_SANDBOX, "vm", vm, "store", store, NULL);
}
