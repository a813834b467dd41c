/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A session's folders in the guest: its work folder read-write at
 * /sessions/<id>, then each mounted host folder at /sessions/<id>/mnt/<name>.
 * Mounted one after the other (the work folder holds the mount points) and
 * unmounted in the reverse order; again after each boot, since a session
 * outlives the VM it was opened in.
 *
 * Then its walls (`cloche-guest open ID UID`, src/guest): a guest user of
 * its own, chosen here, one per session and boot (every share of the
 * session maps that user to the daemon's, cloche-folder-share.c), and
 * namespaces in which it sees only its own folder. Closing first ends
 * every process of the session (`cloche-guest close ID`), then unmounts.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cloche-audit-events.h"
#include "cloche-error.h"
#include "cloche-sandbox-private.h"
#include "cloche-vm-command.h"

static const char * const guest_env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };

typedef struct
{
  char     *host;
  char     *guest;
  gboolean  readonly;
} MountItem;

typedef struct
{
  ClocheVm      *vm;
  ClocheSession *session;
  GPtrArray     *items;
  guint          next;
  gint64         boot;
  ClocheAuditLog *audit;
  guint          guest_uid;   /* the session's user in this boot */
} MountJob;

static void
mount_item_free (MountItem *item)
{
  g_free (item->host);
  g_free (item->guest);
  g_free (item);
}

static void
mount_job_free (MountJob *job)
{
  g_clear_object (&job->vm);
  g_clear_object (&job->session);
  g_clear_object (&job->audit);
  g_ptr_array_unref (job->items);
  g_free (job);
}

static GPtrArray *
session_items (ClocheSandbox *self,
               ClocheSession *session)
{
  GPtrArray *items = g_ptr_array_new_with_free_func ((GDestroyNotify) mount_item_free);
  g_autofree char *guest_dir = cloche_session_dup_guest_dir (session);
  GPtrArray *mounts = cloche_session_get_mounts (session);
  MountItem *work = g_new0 (MountItem, 1);

  work->host = cloche_session_store_dup_work_dir (self->store, cloche_session_get_id (session));
  work->guest = g_strdup (guest_dir);
  g_ptr_array_add (items, work);
  for (guint i = 0; i < mounts->len; i++)
    {
      ClocheSessionMount *mount = g_ptr_array_index (mounts, i);
      MountItem *item = g_new0 (MountItem, 1);

      item->host = g_strdup (mount->path);
      item->guest = g_build_filename (guest_dir, "mnt", mount->name, NULL);
      item->readonly = mount->readonly;
      g_ptr_array_add (items, item);
    }
  return items;
}

static void mount_next (GTask *task);

static char *
guest_stderr (GBytes *err)
{
  g_autofree char *text = NULL;

  if (err == NULL || g_bytes_get_size (err) == 0)
    return g_strdup (_("it gave no reason"));
  text = g_utf8_make_valid (g_bytes_get_data (err, NULL), g_bytes_get_size (err));
  return g_strdup (g_strstrip (text));
}

static void
on_walled_in (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  MountJob *job = g_task_get_task_data (task);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autofree char *why = NULL;
  GError *error = NULL;
  int status = 0;

  if (!cloche_guest_agent_exec_finish (CLOCHE_GUEST_AGENT (object), result, &status, &out,
                                       &err, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (status == 0)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  why = guest_stderr (err);
  g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_ISOLATION_FAILED,
                           _("Cannot keep session %s apart from the others in the VM (%s): "
                             "if the bundle is older than this Cloche, install it again"),
                           cloche_session_get_id (job->session), why);
}

/* The last step: the session's user and namespaces, around its folders. */
static void
wall_in (GTask *task)
{
  ClocheSandbox *self = g_task_get_source_object (task);
  MountJob *job = g_task_get_task_data (task);
  g_autofree char *uid = g_strdup_printf ("%u", job->guest_uid);
  const char *argv[] = { CLOCHE_VM_GUEST_HELPER, "open", cloche_session_get_id (job->session),
                         uid, NULL };

  cloche_guest_agent_exec_async (cloche_vm_get_guest_agent (self->vm), argv, guest_env,
                                 g_task_get_cancellable (task), on_walled_in, task);
}

static void
audit_item (MountJob     *job,
            const char   *event,
            MountItem    *item,
            const GError *error)
{
  cloche_audit_mount (job->audit, event, cloche_session_get_id (job->session),
                      item->host, item->guest, item->readonly, error);
}

static void
on_folder_mounted (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  MountJob *job = g_task_get_task_data (task);
  GError *error = NULL;
  gboolean mounted;

  mounted = cloche_vm_mount_folder_finish (CLOCHE_VM (object), result, &error);
  audit_item (job, "mount.attach", g_ptr_array_index (job->items, job->next - 1), error);
  if (!mounted)
    {
      g_task_return_error (task, error);
      return;
    }
  mount_next (g_steal_pointer (&task));
}

static void
mount_next (GTask *task)
{
  ClocheSandbox *self = g_task_get_source_object (task);
  MountJob *job = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  MountItem *item;

  if (job->next == job->items->len)
    {
      wall_in (task);
      return;
    }
  item = g_ptr_array_index (job->items, job->next++);
  cloche_vm_mount_folder_async (self->vm, item->host, item->readonly, item->guest,
                                job->guest_uid, cancellable, on_folder_mounted, task);
}

/* One guest user per session and boot: counted again from the first in
 * each boot, so never one of another open session. */
static gboolean
take_guest_uid (ClocheSandbox  *self,
                guint          *uid,
                GError        **error)
{
  gint64 boot = cloche_vm_get_booted_at (self->vm);

  if (self->guest_uid_boot != boot || self->next_guest_uid == 0)
    {
      self->guest_uid_boot = boot;
      self->next_guest_uid = CLOCHE_VM_FIRST_SESSION_UID;
    }
  if (self->next_guest_uid > CLOCHE_VM_LAST_SESSION_UID)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_ISOLATION_FAILED,
                   _("This boot of the VM has given all its %u session users out: stop the "
                     "VM (clochectl vm stop) and open the session again"),
                   CLOCHE_VM_LAST_SESSION_UID - CLOCHE_VM_FIRST_SESSION_UID + 1);
      return FALSE;
    }
  *uid = self->next_guest_uid++;
  return TRUE;
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
  job->items = session_items (self, session);
  job->boot = cloche_vm_get_booted_at (self->vm);
  job->audit = self->audit != NULL ? g_object_ref (self->audit) : NULL;
  g_task_set_task_data (task, job, (GDestroyNotify) mount_job_free);
  if (!take_guest_uid (self, &job->guest_uid, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  mount_next (task);
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

static void unmount_next (MountJob *job);
static void all_gone_with_vm (MountJob *job);

static void
on_folder_unmounted (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  MountJob *job = user_data;
  g_autoptr(GError) error = NULL;
  gboolean unmounted;

  unmounted = cloche_vm_unmount_folder_finish (CLOCHE_VM (object), result, &error);
  audit_item (job, "mount.detach", g_ptr_array_index (job->items, job->next), error);
  if (!unmounted)
    g_message ("Unmounting a folder of session %s: %s",
               cloche_session_get_id (job->session), error->message);
  unmount_next (job);
}

static void
unmount_next (MountJob *job)
{
  MountItem *item;

  if (job->next == 0)
    {
      mount_job_free (job);
      return;
    }
  if (cloche_vm_get_state (job->vm) != CLOCHE_VM_STATE_RUNNING)
    {
      all_gone_with_vm (job);
      return;
    }
  item = g_ptr_array_index (job->items, --job->next);
  cloche_vm_unmount_folder_async (job->vm, item->guest, NULL, on_folder_unmounted, job);
}

/* The VM stopped while the session closed: it took the session's
 * processes and folders with it, which the audit log says. */
static void
all_gone_with_vm (MountJob *job)
{
  while (job->next > 0)
    audit_item (job, "mount.detach", g_ptr_array_index (job->items, --job->next), NULL);
  mount_job_free (job);
}

/* Every process of the session ends before its folders go: none is left
 * to outlive it, or to see what is mounted next. */
static void
on_walls_down (GObject      *object,
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
      all_gone_with_vm (job);
      return;
    }
  if (error != NULL)
    g_message ("Ending the processes of session %s: %s", cloche_session_get_id (job->session),
               error->message);
  else if (status != 0)
    {
      g_autofree char *why = guest_stderr (err);

      g_message ("Ending the processes of session %s: %s", cloche_session_get_id (job->session),
                 why);
    }
  unmount_next (job);
}

void
_cloche_sandbox_unmount (ClocheSandbox *self,
                         ClocheSession *session)
{
  MountJob *job = g_new0 (MountJob, 1);
  const char *argv[] = { CLOCHE_VM_GUEST_HELPER, "close", cloche_session_get_id (session), NULL };

  job->vm = g_object_ref (self->vm);
  job->session = g_object_ref (session);
  job->audit = self->audit != NULL ? g_object_ref (self->audit) : NULL;
  job->items = session_items (self, session);
  job->next = job->items->len;
  /* Not mounted in a VM that is not running (a failed open's). */
  if (cloche_vm_get_state (self->vm) != CLOCHE_VM_STATE_RUNNING)
    {
      mount_job_free (job);
      return;
    }
  cloche_guest_agent_exec_async (cloche_vm_get_guest_agent (self->vm), argv, guest_env, NULL,
                                 on_walls_down, job);
}
