/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The tools folder in the VM (cloche-tools.c): what `clochectl agent
 * install` put there, for every session.
 *
 * One virtiofs share per boot, read-only on the host (cloche-folder-share.c:
 * the kernel refuses every write) and in the guest, at
 * CLOCHE_TOOLS_GUEST_DIR, owned by the guest's root; cloche-guest binds it
 * read-only into each session's view, and a command's PATH names its bin
 * first (its node, not the bundle's). It is attached when a boot's first
 * session is mounted, not at boot: a VM that never runs a session pays
 * nothing, and an empty folder (nothing installed) is not attached at all.
 * It is detached before an idle stop, so that the idle VM can be saved
 * (QEMU saves no vhost-user device: warm wake).
 *
 * An install session gets the folder read-write as a session folder of its
 * own, `mnt/tools` (mapped to its user like any folder of a session),
 * added here and not through the mount rules, which refuse it to anyone
 * else. Nothing that session writes becomes another session's until it is
 * in the folder: the others see it read-only.
 *
 * A failed attach costs the tools, not the session: it is logged, and
 * tried again at the next session's mount.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdlib.h>

#include "cloche-error.h"
#include "cloche-sandbox-private.h"
#include "cloche-tools.h"

/* The tasks waiting for the attach under way. */
static void
cloche_sandbox_tools_finish_waiting (ClocheSandbox *self)
{
  g_autoptr(GPtrArray) waiting = g_steal_pointer (&self->tools_waiting);

  for (guint i = 0; waiting != NULL && i < waiting->len; i++)
    g_task_return_boolean (g_ptr_array_index (waiting, i), TRUE);
}

static void
cloche_sandbox_tools_attached_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  ClocheSandbox *self = user_data;
  g_autoptr(GError) error = NULL;
  gint64 boot = self->tools_attaching;

  self->tools_attaching = 0;
  if (!cloche_vm_mount_folder_finish (CLOCHE_VM (object), result, &error))
    g_message ("Tools: the tools folder could not be attached: %s", error->message);
  else
    self->tools_boot = boot;
  cloche_sandbox_tools_finish_waiting (self);
  g_object_unref (self);
}

static ClochePinnedFolder *
cloche_sandbox_tools_pin_tools (ClocheSandbox  *self,
                                GError        **error)
{
  char *real = realpath (self->tools_dir, NULL);
  g_autofree char *canonical = g_strdup (real != NULL ? real : self->tools_dir);

  free (real);
  return cloche_pinned_folder_new (canonical, error);
}

static void
cloche_sandbox_tools_attach (ClocheSandbox *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ClochePinnedFolder) folder = cloche_sandbox_tools_pin_tools (self, &error);

  if (folder == NULL)
    {
      g_message ("Tools: the tools folder could not be attached: %s", error->message);
      cloche_sandbox_tools_finish_waiting (self);
      return;
    }
  self->tools_attaching = cloche_vm_get_booted_at (self->vm);
  cloche_vm_mount_folder_async (self->vm, folder, TRUE, CLOCHE_TOOLS_GUEST_DIR, 0, NULL,
                                cloche_sandbox_tools_attached_cb, g_object_ref (self));
}

/* Always succeeds: what failed is logged (above). */
void
_cloche_sandbox_tools_async (ClocheSandbox       *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  gint64 boot = cloche_vm_get_booted_at (self->vm);

  g_task_set_source_tag (task, _cloche_sandbox_tools_async);
  if (self->tools_boot == boot || cloche_tools_is_empty (self->tools_dir))
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  if (self->tools_waiting == NULL)
    self->tools_waiting = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (self->tools_waiting, task);
  if (self->tools_attaching == 0)
    cloche_sandbox_tools_attach (self);
}

gboolean
_cloche_sandbox_tools_finish (ClocheSandbox  *self,
                              GAsyncResult   *result,
                              GError        **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
cloche_sandbox_tools_detached_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!cloche_vm_unmount_folder_finish (CLOCHE_VM (object), result, &error))
    g_message ("Tools: the tools folder could not be detached: %s", error->message);
  g_task_return_boolean (task, TRUE);
}

/* Before an idle stop: the boot's share goes (the next session's mount
 * attaches it again). Always succeeds. */
void
_cloche_sandbox_tools_detach_async (ClocheSandbox       *self,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);

  if (self->tools_boot == 0 || self->tools_boot != cloche_vm_get_booted_at (self->vm))
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  self->tools_boot = 0;
  cloche_vm_unmount_folder_async (self->vm, CLOCHE_TOOLS_GUEST_DIR, NULL,
                                  cloche_sandbox_tools_detached_cb, task);
}

/**
 * _cloche_sandbox_add_tools_mount:
 *
 * Gives @session (an install session) the tools folder read-write, as its
 * folder `mnt/tools`, made (private) if missing: pinned now like any
 * folder of a session, checked by nothing but this (it is Cloche's own).
 */
gboolean
_cloche_sandbox_add_tools_mount (ClocheSandbox  *self,
                                 ClocheSession  *session,
                                 GError        **error)
{
  g_autofree char *canonical = NULL;
  char *real;

  if (cloche_session_get_mounts (session)->len > 0)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("An install session has no folder but the tools folder: open it "
                     "without mounts"));
      return FALSE;
    }
  if (!cloche_tools_make_dir (self->tools_dir, error))
    return FALSE;
  real = realpath (self->tools_dir, NULL);
  canonical = g_strdup (real != NULL ? real : self->tools_dir);
  free (real);
  if (!_cloche_sandbox_pin (self, cloche_session_get_id (session), canonical, error))
    return FALSE;
  cloche_session_add_mount (session,
                            cloche_session_mount_new (canonical, CLOCHE_TOOLS_MOUNT_NAME, FALSE));
  return TRUE;
}

/* Size and removal */

static void
cloche_sandbox_tools_measure_in_thread (GTask        *task,
                                        gpointer      source,
                                        gpointer      data,
                                        GCancellable *cancellable)
{
  guint64 *size = g_new (guint64, 1);

  *size = cloche_tools_measure (data);
  g_task_return_pointer (task, size, g_free);
}

static void
cloche_sandbox_tools_measured_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  ClocheSandbox *self = CLOCHE_SANDBOX (object);
  g_autofree guint64 *size = g_task_propagate_pointer (G_TASK (result), NULL);

  if (size != NULL && *size != self->tools_size)
    {
      self->tools_size = *size;
      _cloche_sandbox_notify_tools_size (self);
    }
}

/**
 * cloche_sandbox_measure_tools:
 *
 * Measures the tools folder in a thread; #ClocheSandbox:tools-size follows.
 * Done only when the folder can have changed: at start, after an install
 * session closes (no other session can write it: they see it read-only)
 * and after a removal. Not for Info() nor any other session: with an agent
 * installed it is node's tree, some 200 MB in thousands of files.
 */
void
cloche_sandbox_measure_tools (ClocheSandbox *self)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, cloche_sandbox_tools_measured_cb, NULL);

  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  /* tests/test-clochectl-tools.sh counts these lines. */
  g_debug ("Tools: measuring the tools folder %s", self->tools_dir);
  g_task_set_source_tag (task, cloche_sandbox_measure_tools);
  g_task_set_task_data (task, g_strdup (self->tools_dir), g_free);
  g_task_run_in_thread (task, cloche_sandbox_tools_measure_in_thread);
}

/* Allocated bytes of the tools folder, as last measured. */
guint64
cloche_sandbox_get_tools_size (ClocheSandbox *self)
{
  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), 0);
  return self->tools_size;
}

const char *
cloche_sandbox_get_tools_dir (ClocheSandbox *self)
{
  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), NULL);
  return self->tools_dir;
}

/* Its one folder is the tools folder (which no user's mount can be: the
 * mount rules refuse it), whatever its name. */
static gboolean
cloche_sandbox_tools_is_install_session (ClocheSandbox *self,
                                         ClocheSession *session)
{
  GPtrArray *mounts = cloche_session_get_mounts (session);
  char *real;
  gboolean tools;

  if (mounts->len != 1)
    return FALSE;
  real = realpath (self->tools_dir, NULL);
  tools = g_strcmp0 (((ClocheSessionMount *) mounts->pdata[0])->path,
                     real != NULL ? real : self->tools_dir) == 0;
  free (real);
  return tools;
}

/* An install ended: what it left is measured. */
void
_cloche_sandbox_tools_session_closed (ClocheSandbox *self,
                                      ClocheSession *closed)
{
  if (cloche_sandbox_tools_is_install_session (self, closed))
    cloche_sandbox_measure_tools (self);
}

/* The open install session, if one is: it writes the folder. */
static const char *
cloche_sandbox_tools_installing (ClocheSandbox *self)
{
  GHashTableIter iter;
  ClocheOpenSession *open;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &open))
    if (cloche_sandbox_tools_is_install_session (self, open->session))
      return cloche_session_get_id (open->session);
  return NULL;
}

static void
cloche_sandbox_tools_clear_in_thread (GTask        *task,
                                      gpointer      source,
                                      gpointer      data,
                                      GCancellable *cancellable)
{
  guint64 *freed = g_new0 (guint64, 1);
  GError *error = NULL;

  if (!cloche_tools_clear (data, freed, &error))
    {
      g_free (freed);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, freed, g_free);
}

/**
 * cloche_sandbox_remove_tools_async:
 *
 * Empties the tools folder (every agent installed, Node.js, npm).
 * Refused with %CLOCHE_ERROR_SESSION_OPEN while an install session is
 * open. Sessions that have the folder see it empty.
 */
void
cloche_sandbox_remove_tools_async (ClocheSandbox       *self,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  const char *id;

  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  g_task_set_source_tag (task, cloche_sandbox_remove_tools_async);
  if ((id = cloche_sandbox_tools_installing (self)) != NULL)
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_OPEN,
                               _("An agent is being installed in session %s: let it end "
                                 "(or close that session), then remove the tools folder"), id);
      return;
    }
  g_task_set_task_data (task, g_strdup (self->tools_dir), g_free);
  g_task_run_in_thread (task, cloche_sandbox_tools_clear_in_thread);
}

/**
 * cloche_sandbox_remove_tools_finish:
 * @freed: (out): the allocated bytes given back
 */
gboolean
cloche_sandbox_remove_tools_finish (ClocheSandbox  *self,
                                    GAsyncResult   *result,
                                    guint64        *freed,
                                    GError        **error)
{
  g_autofree guint64 *bytes = g_task_propagate_pointer (G_TASK (result), error);

  cloche_sandbox_measure_tools (self);
  if (bytes == NULL)
    return FALSE;
  *freed = *bytes;
  return TRUE;
}
