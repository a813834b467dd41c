/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Once a boot, the guest trusts the egress CA (cloche-sandbox-trust.c),
 * while the first session's folders are mounted, and then gets the tools
 * folder (cloche-sandbox-tools.c). A session's folders in the guest: its
 * work folder read-write at /sessions/<id>, then each mounted host folder
 * at /sessions/<id>/mnt/<name>.
 * Mounted one after the other (the work folder holds the mount points) and
 * unmounted in the reverse order; again after each boot, since a session
 * outlives the VM it was opened in.
 *
 * Every folder is attached by what was checked when the session opened: the
 * ClochePinnedFolder made then (the sandbox's pins table), verified again by
 * each attach.
 *
 * Then its walls (`cloche-guest open ID UID`, src/guest): a guest user of
 * its own, chosen here, one per session and boot (every share of the
 * session maps that user to the daemon's, cloche-folder-share.c), and
 * namespaces in which it sees only its own folder. Closing first ends
 * every process of the session (`cloche-guest close ID`), then unmounts.
 *
 * A mount job that fails half-way (a folder, or the walls) brings down
 * what it made before it reports, walls first, so a session is never left
 * half mounted or half walled.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdlib.h>

#include "cloche-audit-events.h"
#include "cloche-error.h"
#include "cloche-sandbox-private.h"
#include "cloche-vm-command.h"

/* The deadlines of cloche-guest open and close in the guest: open starts
 * the session's keeper and waits for its report, close waits up to 10 s
 * for the session's processes to end; both slower under TCG and load. */
#define WALLS_TIMEOUT_S 60

static const char * const guest_env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };

typedef struct
{
  ClochePinnedFolder *folder;   /* NULL only for a session never pinned (unmount) */
  char               *host;
  char               *guest;
  gboolean            readonly;
} MountItem;

typedef struct
{
  ClocheVm      *vm;
  ClocheSession *session;
  GPtrArray     *items;
  guint          next;
  gint64         boot;
  ClocheAuditLog *audit;
  GTask         *undoing;       /* a failed mount, reported once its folders are detached */
  GError        *error;         /* why it failed */
  guint          guest_uid;     /* the session's user in this boot */
  ClocheSandbox *closing;       /* a closed session's unmount, which holds the idle timer */
  gboolean       trusting;      /* the boot's trust of the egress CA, not answered yet */
  gboolean       walls_waiting; /* the folders are mounted: the walls wait for the trust */
} MountJob;

static void
cloche_sandbox_mount_item_free (MountItem *item)
{
  g_clear_object (&item->folder);
  g_free (item->host);
  g_free (item->guest);
  g_free (item);
}

static void
cloche_sandbox_mount_job_free (MountJob *job)
{
  /* Its folders detached: an idle stop may save the VM now. */
  if (job->closing != NULL)
    {
      job->closing->closing--;
      _cloche_sandbox_update_idle_timer (job->closing);
      g_clear_object (&job->closing);
    }
  g_clear_object (&job->vm);
  g_clear_object (&job->session);
  g_clear_object (&job->audit);
  g_clear_error (&job->error);
  g_ptr_array_unref (job->items);
  g_free (job);
}

static MountItem *
cloche_sandbox_mount_item_new (GPtrArray  *pins,
                               guint       index,
                               const char *host,
                               char       *guest,
                               gboolean    readonly)
{
  MountItem *item = g_new0 (MountItem, 1);

  if (pins != NULL && index < pins->len)
    item->folder = g_object_ref (g_ptr_array_index (pins, index));
  item->host = g_strdup (host);
  item->guest = guest;
  item->readonly = readonly;
  return item;
}

static GPtrArray *
cloche_sandbox_session_items (ClocheSandbox *self,
                              ClocheSession *session)
{
  GPtrArray *items =
    g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_sandbox_mount_item_free);
  g_autofree char *guest_dir = cloche_session_dup_guest_dir (session);
  const char *id = cloche_session_get_id (session);
  g_autofree char *work = cloche_session_store_dup_work_dir (self->store, id);
  GPtrArray *pins = g_hash_table_lookup (self->pins, id);
  GPtrArray *mounts = cloche_session_get_mounts (session);

  g_ptr_array_add (items,
                   cloche_sandbox_mount_item_new (pins, 0, work, g_strdup (guest_dir), FALSE));
  for (guint i = 0; i < mounts->len; i++)
    {
      ClocheSessionMount *mount = g_ptr_array_index (mounts, i);

      g_ptr_array_add (items, cloche_sandbox_mount_item_new (pins, i + 1, mount->path,
                                                             g_build_filename (guest_dir, "mnt",
                                                                               mount->name,
                                                                               NULL),
                                                             mount->readonly));
    }
  return items;
}

/* Pinning */

static GPtrArray *
cloche_sandbox_pins_for (ClocheSandbox *self,
                         const char    *id)
{
  GPtrArray *pins = g_hash_table_lookup (self->pins, id);

  if (pins == NULL)
    {
      pins = g_ptr_array_new_with_free_func (g_object_unref);
      g_hash_table_insert (self->pins, g_strdup (id), pins);
    }
  return pins;
}

/**
 * _cloche_sandbox_pin:
 * @path: a folder's canonical path, as the mount rules judged it
 *
 * Pins the next folder of session @id (the work folder first, then each
 * mount in order) by what is there now.
 */
gboolean
_cloche_sandbox_pin (ClocheSandbox  *self,
                     const char     *id,
                     const char     *path,
                     GError        **error)
{
  ClochePinnedFolder *folder = cloche_pinned_folder_new (path, error);

  if (folder == NULL)
    return FALSE;
  g_ptr_array_add (cloche_sandbox_pins_for (self, id), folder);
  return TRUE;
}

/* The work folder goes first: it is pinned once the store has made it,
 * after the mounts were checked. Its path is trusted as it is now (the
 * state folder may be reached through a link of the user's own). */
gboolean
_cloche_sandbox_pin_work_folder (ClocheSandbox  *self,
                                 ClocheSession  *session,
                                 GError        **error)
{
  const char *id = cloche_session_get_id (session);
  g_autofree char *work = cloche_session_store_dup_work_dir (self->store, id);
  char *real = realpath (work, NULL);
  g_autofree char *canonical = g_strdup (real != NULL ? real : work);
  ClochePinnedFolder *folder;

  free (real);
  if ((folder = cloche_pinned_folder_new (canonical, error)) == NULL)
    return FALSE;
  g_ptr_array_insert (cloche_sandbox_pins_for (self, id), 0, folder);
  return TRUE;
}

void
_cloche_sandbox_unpin (ClocheSandbox *self,
                       const char    *id)
{
  g_hash_table_remove (self->pins, id);
}

static void cloche_sandbox_mount_next (GTask *task);
static void cloche_sandbox_unmount_next (MountJob *job);
static void cloche_sandbox_close_walls (MountJob *job);

static char *
cloche_sandbox_guest_stderr (GBytes *err)
{
  g_autofree char *text = NULL;

  if (err == NULL || g_bytes_get_size (err) == 0)
    return g_strdup (_("it gave no reason"));
  text = g_utf8_make_valid (g_bytes_get_data (err, NULL), g_bytes_get_size (err));
  return g_strdup (g_strstrip (text));
}

static void
cloche_sandbox_audit_item (MountJob     *job,
                           const char   *event,
                           MountItem    *item,
                           const GError *error)
{
  cloche_audit_mount (job->audit, event, cloche_session_get_id (job->session),
                      item->host, item->guest, item->readonly, error);
}

/* The folders before the one that failed are detached, then the error
 * goes out (the job is kept by its task until then). Failed walls are
 * brought down first: cloche-guest close does nothing where open made
 * nothing, and an open that timed out here may still finish in the guest. */
static void
cloche_sandbox_undo_mounts (GTask    *task,
                            GError   *error,
                            gboolean  walls)
{
  ClocheSandbox *self = g_task_get_source_object (task);
  MountJob *job = g_task_get_task_data (task);

  job->error = error;
  job->undoing = task;
  job->vm = g_object_ref (self->vm);
  if (walls)
    {
      cloche_sandbox_close_walls (job);
      return;
    }
  job->next--;   /* the failed one undid itself */
  cloche_sandbox_unmount_next (job);
}

static void
cloche_sandbox_walled_in_cb (GObject      *object,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  GTask *task = user_data;
  MountJob *job = g_task_get_task_data (task);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autofree char *why = NULL;
  GError *error = NULL;
  int status = 0;

  if (!cloche_guest_agent_exec_finish (CLOCHE_GUEST_AGENT (object), result, &status, &out,
                                       &err, &error))
    {
      cloche_sandbox_undo_mounts (task, error, TRUE);
      return;
    }
  if (status == 0)
    {
      /* The boot's exec server, once a boot, not waited for: its
       * commands go through guest-exec until it is ready. */
      _cloche_sandbox_exec_channel_start (g_task_get_source_object (task));
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  why = cloche_sandbox_guest_stderr (err);
  cloche_sandbox_undo_mounts (task, g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_ISOLATION_FAILED,
                                                 _("Cannot keep session %s apart from the others "
                                                   "in the VM (%s): if the bundle is older than "
                                                   "this Cloche, install it again"),
                                                 cloche_session_get_id (job->session), why),
                              TRUE);
}

/* The last step: the session's user and namespaces, around its folders. */
static void
cloche_sandbox_wall_in (GTask *task)
{
  ClocheSandbox *self = g_task_get_source_object (task);
  MountJob *job = g_task_get_task_data (task);
  g_autofree char *uid = g_strdup_printf ("%u", job->guest_uid);
  const char *argv[] = { CLOCHE_VM_GUEST_HELPER, "open", cloche_session_get_id (job->session),
                         uid, NULL };

  cloche_guest_agent_exec_async (cloche_vm_get_guest_agent (self->vm), argv, guest_env,
                                 WALLS_TIMEOUT_S, NULL, CLOCHE_EXEC_NONE,
                                 g_task_get_cancellable (task), cloche_sandbox_walled_in_cb, task);
}

/* Then the boot's tools folder (cloche-sandbox-tools.c), attached once a
 * boot and seen by the walls' view; a failure there is no failure here. */
static void
cloche_sandbox_tools_ready_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  _cloche_sandbox_tools_finish (CLOCHE_SANDBOX (object), result, NULL);
  cloche_sandbox_wall_in (user_data);
}

static void
cloche_sandbox_tools_then_walls (GTask *task)
{
  _cloche_sandbox_tools_async (g_task_get_source_object (task), g_task_get_cancellable (task),
                               cloche_sandbox_tools_ready_cb, task);
}

static void
cloche_sandbox_folder_mounted_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  GTask *task = user_data;
  MountJob *job = g_task_get_task_data (task);
  GError *error = NULL;
  gboolean mounted;

  mounted = cloche_vm_mount_folder_finish (CLOCHE_VM (object), result, &error);
  cloche_sandbox_audit_item (job, "mount.attach", g_ptr_array_index (job->items, job->next - 1),
                             error);
  if (!mounted)
    {
      cloche_sandbox_undo_mounts (task, error, FALSE);
      return;
    }
  cloche_sandbox_mount_next (task);
}

static void
cloche_sandbox_mount_next (GTask *task)
{
  ClocheSandbox *self = g_task_get_source_object (task);
  MountJob *job = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  MountItem *item;

  if (job->next == job->items->len)
    {
      if (!job->trusting)
        {
          cloche_sandbox_tools_then_walls (task);
          return;
        }
      /* The trust's reference carries the job on. */
      job->walls_waiting = TRUE;
      g_object_unref (task);
      return;
    }
  item = g_ptr_array_index (job->items, job->next++);
  if (item->folder == NULL)
    {
      cloche_sandbox_undo_mounts (task, g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_FAILED,
                                                     _("The folder %s of session %s was never "
                                                       "checked and pinned: close the session and "
                                                       "open a new one"),
                                                     item->host,
                                                     cloche_session_get_id (job->session)),
                                  FALSE);
      return;
    }
  cloche_vm_mount_folder_async (self->vm, item->folder, item->readonly, item->guest,
                                job->guest_uid, cancellable, cloche_sandbox_folder_mounted_cb,
                                task);
}

/* The boot trusts the egress CA before a session's first command runs in
 * it (cloche-sandbox-trust.c); a failure there is no failure here. The
 * trust (a guest process) runs while the folders are hot-plugged, which
 * is mostly the host's work and the guest kernel's waits (issue 21: a
 * cold open waited 0.3-0.9 s for it first at load 8-10); the tools folder
 * and the walls come once both are done. The trust holds a reference of
 * its own: a mount that failed has ended the job already. */
static void
cloche_sandbox_trusted_cb (GObject      *object,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  MountJob *job = g_task_get_task_data (task);

  _cloche_sandbox_trust_finish (CLOCHE_SANDBOX (object), result, NULL);
  job->trusting = FALSE;
  if (!job->walls_waiting)
    return;
  job->walls_waiting = FALSE;
  cloche_sandbox_tools_then_walls (g_steal_pointer (&task));
}

/* One guest user per session and boot, given out by the VM, which goes on
 * counting in a boot restored by warm wake. */
static gboolean
cloche_sandbox_take_guest_uid (ClocheSandbox  *self,
                               guint          *uid,
                               GError        **error)
{
  return cloche_vm_take_guest_uid (self->vm, uid, error);
}

void
_cloche_sandbox_mount_async (ClocheSandbox       *self,
                             ClocheSession       *session,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  MountJob *job = g_new0 (MountJob, 1);
  GError *error = NULL;

  g_task_set_source_tag (task, _cloche_sandbox_mount_async);
  job->session = g_object_ref (session);
  job->items = cloche_sandbox_session_items (self, session);
  job->boot = cloche_vm_get_booted_at (self->vm);
  job->audit = self->audit != NULL ? g_object_ref (self->audit) : NULL;
  g_task_set_task_data (task, job, (GDestroyNotify) cloche_sandbox_mount_job_free);
  if (!cloche_sandbox_take_guest_uid (self, &job->guest_uid, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  job->trusting = TRUE;
  _cloche_sandbox_trust_async (self, cancellable, cloche_sandbox_trusted_cb, g_object_ref (task));
  cloche_sandbox_mount_next (task);
}

/**
 * _cloche_sandbox_mount_finish:
 * @boot: (out): the boot the folders are mounted in
 */
gboolean
_cloche_sandbox_mount_finish (ClocheSandbox  *self,
                              GAsyncResult   *result,
                              gint64         *boot,
                              GError        **error)
{
  MountJob *job = g_task_get_task_data (G_TASK (result));

  *boot = job->boot;
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Unmounting: last mounted first, failures logged (the VM going away
 * detaches everything anyway). */

static void
cloche_sandbox_unmount_done (MountJob *job)
{
  GTask *task = g_steal_pointer (&job->undoing);

  if (task == NULL)
    {
      cloche_sandbox_mount_job_free (job);
      return;
    }
  /* The task owns the job: it goes with the task. */
  g_task_return_error (task, g_steal_pointer (&job->error));
  g_object_unref (task);
}

static void cloche_sandbox_all_gone_with_vm (MountJob *job);

static void
cloche_sandbox_folder_unmounted_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  MountJob *job = user_data;
  g_autoptr(GError) error = NULL;
  gboolean unmounted;

  unmounted = cloche_vm_unmount_folder_finish (CLOCHE_VM (object), result, &error);
  cloche_sandbox_audit_item (job, "mount.detach", g_ptr_array_index (job->items, job->next), error);
  if (!unmounted)
    g_message ("Unmounting a folder of session %s: %s",
               cloche_session_get_id (job->session), error->message);
  cloche_sandbox_unmount_next (job);
}

static void
cloche_sandbox_unmount_next (MountJob *job)
{
  MountItem *item;

  if (job->next == 0)
    {
      cloche_sandbox_unmount_done (job);
      return;
    }
  if (cloche_vm_get_state (job->vm) != CLOCHE_VM_STATE_RUNNING)
    {
      cloche_sandbox_all_gone_with_vm (job);
      return;
    }
  item = g_ptr_array_index (job->items, --job->next);
  cloche_vm_unmount_folder_async (job->vm, item->guest, NULL, cloche_sandbox_folder_unmounted_cb,
                                  job);
}

/* The VM stopped while the session closed: it took the session's
 * processes and folders with it, which the audit log says. */
static void
cloche_sandbox_all_gone_with_vm (MountJob *job)
{
  while (job->next > 0)
    cloche_sandbox_audit_item (job, "mount.detach", g_ptr_array_index (job->items, --job->next),
                               NULL);
  cloche_sandbox_unmount_done (job);
}

/* Every process of the session ends before its folders go: none is left
 * to outlive it, or to see what is mounted next. */
static void
cloche_sandbox_walls_down_cb (GObject      *object,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  MountJob *job = user_data;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (!cloche_guest_agent_exec_finish (CLOCHE_GUEST_AGENT (object), result, &status, &out,
                                       &err, &error)
      && g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_VM_NOT_RUNNING))
    {
      cloche_sandbox_all_gone_with_vm (job);
      return;
    }
  if (error != NULL)
    g_message ("Ending the processes of session %s: %s", cloche_session_get_id (job->session),
               error->message);
  else if (status != 0)
    {
      g_autofree char *why = cloche_sandbox_guest_stderr (err);

      g_message ("Ending the processes of session %s: %s", cloche_session_get_id (job->session),
                 why);
    }
  cloche_sandbox_unmount_next (job);
}

static void
cloche_sandbox_close_walls (MountJob *job)
{
  const char *argv[] = { CLOCHE_VM_GUEST_HELPER, "close", cloche_session_get_id (job->session),
                         NULL };

  cloche_guest_agent_exec_async (cloche_vm_get_guest_agent (job->vm), argv, guest_env,
                                 WALLS_TIMEOUT_S, NULL, CLOCHE_EXEC_NONE, NULL,
                                 cloche_sandbox_walls_down_cb, job);
}

void
_cloche_sandbox_unmount (ClocheSandbox *self,
                         ClocheSession *session)
{
  MountJob *job = g_new0 (MountJob, 1);

  job->vm = g_object_ref (self->vm);
  job->session = g_object_ref (session);
  job->audit = self->audit != NULL ? g_object_ref (self->audit) : NULL;
  job->items = cloche_sandbox_session_items (self, session);
  job->next = job->items->len;
  /* Not mounted in a VM that is not running (a failed open's). */
  if (cloche_vm_get_state (self->vm) != CLOCHE_VM_STATE_RUNNING)
    {
      cloche_sandbox_mount_job_free (job);
      return;
    }
  job->closing = g_object_ref (self);
  self->closing++;
  cloche_sandbox_close_walls (job);
}
