/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The host folders hot-plugged into one boot of the VM: each is a virtiofsd
 * (ClocheFolderShare) behind a vhost-user-fs-pci device in one of the empty
 * pcie-root-ports the command line reserved.
 *
 *   mount:    virtiofsd → chardev-add → device_add → cloche-guest mount
 *   unmount:  cloche-guest umount → device_del → DEVICE_DELETED → chardev-remove
 *             → stop virtiofsd → port free again
 *
 * A mount that fails half-way is unwound by the second half of unmount (the
 * "teardown"). One object per boot: when QEMU goes, close() stops every
 * virtiofsd and the next boot starts with no folder.
 *
 * A virtiofsd that dies while QEMU still runs leaves the guest's folder
 * hanging (FUSE waits for an answer that never comes); that is announced
 * ("folder-lost") once QMP shows QEMU is still there (a virtiofsd also
 * exits when QEMU goes, and then nothing is lost that a stop did not
 * take). The folder stays in the table, its device plugged: the guest
 * gives back a virtio-fs device with requests in flight only when they end,
 * so unplugging it would wedge the guest's hot-plug; the slot is free again
 * at the next boot.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cloche-error.h"
#include "cloche-folder-share.h"
#include "cloche-json.h"
#include "cloche-vm-command.h"
#include "cloche-vm-folders.h"

/* Measured: the guest lets go of a device within 0.1 s under TCG. */
#define UNPLUG_TIMEOUT_S 10
/* A guest umount waits for virtiofsd; if that has died, forever. */
#define UMOUNT_TIMEOUT_S 10
/* The deadlines of the guest's mount and umount (cloche-guest) themselves. */
#define GUEST_MOUNT_TIMEOUT_S  60
#define GUEST_UMOUNT_TIMEOUT_S 30

/* The guest mounts and unmounts through cloche-guest (src/guest): a folder
 * goes inside a session's work folder, which the session writes, so no
 * path there may be followed through a symlink by the guest's root. It
 * makes a missing mount point (as its parent's owner), retries for up to
 * 5 s while the guest's driver has not yet taken the device device_add
 * plugged, mounts nosuid, nodev and shared (so that the session's view
 * gets folders mounted in it later), and unmounts lazily a folder still in
 * use (some shell's cwd). */

static const char *guest_env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };

typedef struct
{
  char              *guest_dir;
  char              *id;             /* the virtiofs tag, and QEMU's chardev and device id */
  ClocheFolderShare *share;
  gboolean           chardev_added;
  gboolean           device_added;
  gboolean           busy;           /* being mounted or unmounted */
  gboolean           lost;           /* its virtiofsd died while serving */
} Folder;

struct _ClocheVmFolders
{
  GObject           parent_instance;

  ClocheQmpClient  *qmp;
  ClocheGuestAgent *agent;
  char             *run_dir;
  char            **ports;           /* per root port: the id of the device in it, or NULL */
  guint             n_ports;
  GHashTable       *folders;         /* guest dir → Folder */
  GHashTable       *unplugs;         /* device id → the teardown GTask waiting for it to go */
  gboolean          closed;
};

/* Ids (and so socket names) unique in the daemon, not just in one boot: a
 * virtiofsd of an earlier boot that is slow to exit never unlinks a newer
 * socket of the same name. */
static guint next_serial;

G_DEFINE_FINAL_TYPE (ClocheVmFolders, cloche_vm_folders, G_TYPE_OBJECT)

enum {
  FOLDER_LOST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Folders and ports */

static void
cloche_vm_folders_folder_clear (Folder *folder)
{
  g_free (folder->guest_dir);
  g_free (folder->id);
  g_clear_object (&folder->share);
}

static void
cloche_vm_folders_folder_unref (Folder *folder)
{
  g_rc_box_release_full (folder, (GDestroyNotify) cloche_vm_folders_folder_clear);
}

static const char *
cloche_vm_folders_folder_host_path (Folder *folder)
{
  return cloche_folder_share_get_host_path (folder->share);
}

static int
cloche_vm_folders_find_free_port (ClocheVmFolders *self)
{
  for (guint i = 0; i < self->n_ports; i++)
    if (self->ports[i] == NULL)
      return (int) i;
  return -1;
}

static int
cloche_vm_folders_find_port (ClocheVmFolders *self,
                             const char      *id)
{
  for (guint i = 0; i < self->n_ports; i++)
    if (g_strcmp0 (self->ports[i], id) == 0)
      return (int) i;
  return -1;
}

static gboolean
cloche_vm_folders_release_port (ClocheVmFolders *self,
                                const char      *id)
{
  int port = cloche_vm_folders_find_port (self, id);

  if (port < 0)
    return FALSE;
  g_clear_pointer (&self->ports[port], g_free);
  return TRUE;
}

static void
cloche_vm_folders_forget (ClocheVmFolders *self,
                          Folder          *folder)
{
  if (g_hash_table_lookup (self->folders, folder->guest_dir) == folder)
    g_hash_table_remove (self->folders, folder->guest_dir);
}

static gboolean
cloche_vm_folders_check_can_mount (ClocheVmFolders     *self,
                                   ClochePinnedFolder  *pinned,
                                   const char          *guest_dir,
                                   GError             **error)
{
  const char *host_path = cloche_pinned_folder_get_path (pinned);

  if (self->closed)
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_VM_NOT_RUNNING,
                 _("Cannot mount %s: the VM has stopped"), host_path);
  else if (!g_path_is_absolute (guest_dir))
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                 _("Cannot mount %s at %s: the guest folder must be an absolute path"),
                 host_path, guest_dir);
  else if (g_hash_table_contains (self->folders, guest_dir))
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_FAILED,
                 _("Cannot mount %s at %s: a folder is already mounted there"),
                 host_path, guest_dir);
  else if (cloche_vm_folders_find_free_port (self) < 0)
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_FAILED,
                 _("Cannot mount %s: all %u folder slots of the VM are in use; unmount one first"),
                 host_path, self->n_ports);
  else
    return TRUE;
  return FALSE;
}

/* A dead share */

typedef struct
{
  ClocheVmFolders *self;
  Folder          *folder;
  char            *why;
} Loss;

static void
cloche_vm_folders_loss_free (Loss *loss)
{
  g_object_unref (loss->self);
  cloche_vm_folders_folder_unref (loss->folder);
  g_free (loss->why);
  g_free (loss);
}

static void
cloche_vm_folders_qemu_still_there_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  Loss *loss = user_data;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (reply != NULL && !loss->self->closed && !loss->folder->busy)
    {
      loss->folder->lost = TRUE;
      g_message ("The folder %s (at %s in the VM) is lost: %s",
                 cloche_vm_folders_folder_host_path (loss->folder), loss->folder->guest_dir,
                 loss->why);
      g_signal_emit (loss->self, signals[FOLDER_LOST], 0, loss->folder->guest_dir,
                     cloche_vm_folders_folder_host_path (loss->folder), loss->why);
    }
  cloche_vm_folders_loss_free (loss);
}

static void
cloche_vm_folders_share_died_cb (ClocheFolderShare *share,
                                 const char        *why,
                                 gpointer           user_data)
{
  ClocheVmFolders *self = user_data;
  Folder *folder = NULL;
  GHashTableIter iter;
  Loss *loss;

  g_hash_table_iter_init (&iter, self->folders);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &folder) && folder->share != share)
    folder = NULL;
  if (folder == NULL || self->closed || folder->busy)
    return;
  loss = g_new0 (Loss, 1);
  loss->self = g_object_ref (self);
  loss->folder = g_rc_box_acquire (folder);
  loss->why = g_strdup (why);
  cloche_qmp_client_execute_async (self->qmp, "query-status", NULL, NULL,
                                   cloche_vm_folders_qemu_still_there_cb, loss);
}

/* Takes a port and a place in the table, both given back by the teardown. */
static Folder *
cloche_vm_folders_add_folder (ClocheVmFolders    *self,
                              ClochePinnedFolder *pinned,
                              gboolean            readonly,
                              const char         *guest_dir,
                              guint               guest_uid)
{
  Folder *folder = g_rc_box_new0 (Folder);
  guint serial = next_serial++;
  g_autofree char *socket = g_strdup_printf ("%s/fs%u.sock", self->run_dir, serial);

  folder->guest_dir = g_strdup (guest_dir);
  folder->id = g_strdup_printf ("cloche-fs%u", serial);
  folder->share = cloche_folder_share_new (pinned, readonly, socket);
  cloche_folder_share_set_guest_uid (folder->share, guest_uid);
  folder->busy = TRUE;
  g_signal_connect_object (folder->share, "died", G_CALLBACK (cloche_vm_folders_share_died_cb),
                           self, 0);
  self->ports[cloche_vm_folders_find_free_port (self)] = g_strdup (folder->id);
  g_hash_table_insert (self->folders, g_strdup (guest_dir), g_rc_box_acquire (folder));
  return folder;
}

static char *
cloche_vm_folders_guest_stderr (GBytes *err)
{
  g_autofree char *text = NULL;

  if (err == NULL || g_bytes_get_size (err) == 0)
    return g_strdup ("it gave no reason");
  text = g_utf8_make_valid (g_bytes_get_data (err, NULL), g_bytes_get_size (err));
  return g_strdup (g_strstrip (text));
}

/* Waiting for the guest to give a device back */

typedef struct
{
  Folder  *folder;
  guint    timer;
  gboolean stuck;    /* the guest kept the device: its port stays taken */
} Teardown;

static void
cloche_vm_folders_teardown_free (Teardown *teardown)
{
  g_clear_handle_id (&teardown->timer, g_source_remove);
  cloche_vm_folders_folder_unref (teardown->folder);
  g_free (teardown);
}

static void cloche_vm_folders_remove_chardev (GTask *task);
static void cloche_vm_folders_stop_share (GTask *task);

/* Returns: (transfer full) (nullable): the teardown that waited for @id */
static GTask *
cloche_vm_folders_stop_waiting (ClocheVmFolders *self,
                                const char      *id)
{
  g_autofree char *key = NULL;
  GTask *task = NULL;
  Teardown *teardown;

  if (!g_hash_table_steal_extended (self->unplugs, id, (gpointer *) &key, (gpointer *) &task))
    return NULL;
  teardown = g_task_get_task_data (task);
  g_clear_handle_id (&teardown->timer, g_source_remove);
  return task;
}

static gboolean
cloche_vm_folders_unplug_timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  ClocheVmFolders *self = g_task_get_source_object (task);
  Teardown *teardown = g_task_get_task_data (task);

  teardown->timer = 0;
  task = cloche_vm_folders_stop_waiting (self, teardown->folder->id);
  teardown->stuck = TRUE;
  /* The chardev cannot go while the device holds it; the event, if it
   * ever comes, removes it. */
  cloche_vm_folders_stop_share (task);
  return G_SOURCE_REMOVE;
}

static void
cloche_vm_folders_late_chardev_removed_cb (GObject      *object,
                                           GAsyncResult *result,
                                           gpointer      user_data)
{
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (reply == NULL)
    g_debug ("%s", error->message);
}

static void
cloche_vm_folders_qmp_event_cb (ClocheVmFolders *self,
                                const char      *name,
                                JsonObject      *data)
{
  g_autoptr(JsonObject) args = NULL;
  const char *id;
  GTask *waiting;

  if (g_strcmp0 (name, "DEVICE_DELETED") != 0 || data == NULL
      || (id = cloche_json_get_string (data, "device", NULL)) == NULL
      || !cloche_vm_folders_release_port (self, id))
    return;
  if ((waiting = cloche_vm_folders_stop_waiting (self, id)) != NULL)
    {
      cloche_vm_folders_remove_chardev (waiting);
      return;
    }
  /* Late: its teardown gave up waiting and left the chardev behind. */
  args = json_object_new ();
  json_object_set_string_member (args, "id", id);
  cloche_qmp_client_execute_async (self->qmp, "chardev-remove", args, NULL,
                                   cloche_vm_folders_late_chardev_removed_cb, NULL);
}

static void
cloche_vm_folders_device_del_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheVmFolders *self = g_task_get_source_object (task);
  Teardown *teardown = g_task_get_task_data (task);
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  GTask *waiting;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (reply != NULL)
    return;   /* DEVICE_DELETED follows once the guest has let go */

  /* Refused, or QEMU is gone: nothing will come to wait for. */
  g_debug ("device_del %s: %s", teardown->folder->id, error->message);
  if ((waiting = cloche_vm_folders_stop_waiting (self, teardown->folder->id)) == NULL)
    return;
  cloche_vm_folders_release_port (self, teardown->folder->id);
  cloche_vm_folders_remove_chardev (waiting);
}

static void
cloche_vm_folders_unplug (GTask *task)
{
  ClocheVmFolders *self = g_task_get_source_object (task);
  Teardown *teardown = g_task_get_task_data (task);
  g_autoptr(JsonObject) args = json_object_new ();

  json_object_set_string_member (args, "id", teardown->folder->id);
  /* The table takes the task: whoever takes it out goes on. */
  teardown->timer = g_timeout_add_seconds (UNPLUG_TIMEOUT_S, cloche_vm_folders_unplug_timeout_cb,
                                           task);
  g_hash_table_insert (self->unplugs, g_strdup (teardown->folder->id), task);
  cloche_qmp_client_execute_async (self->qmp, "device_del", args, NULL,
                                   cloche_vm_folders_device_del_cb, g_object_ref (task));
}

/* Teardown: everything a mount did, undone in reverse */

static void
cloche_vm_folders_share_stopped_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Teardown *teardown = g_task_get_task_data (task);

  cloche_folder_share_stop_finish (CLOCHE_FOLDER_SHARE (object), result, NULL);
  if (!teardown->stuck)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_UNMOUNT_FAILED,
                           "The VM did not give back the device of %s (at %s) within %d s: "
                           "the folder is no longer shared, but its slot stays taken until "
                           "the VM lets go of it or stops",
                           cloche_vm_folders_folder_host_path (teardown->folder),
                           teardown->folder->guest_dir,
                           UNPLUG_TIMEOUT_S);
}

static void
cloche_vm_folders_stop_share (GTask *task)
{
  ClocheVmFolders *self = g_task_get_source_object (task);
  Teardown *teardown = g_task_get_task_data (task);

  if (!teardown->stuck)
    cloche_vm_folders_release_port (self, teardown->folder->id);
  cloche_folder_share_stop_async (teardown->folder->share, NULL, cloche_vm_folders_share_stopped_cb,
                                  task);
}

static void
cloche_vm_folders_chardev_removed_cb (GObject      *object,
                                      GAsyncResult *result,
                                      gpointer      user_data)
{
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (reply == NULL)
    g_debug ("%s", error->message);
  cloche_vm_folders_stop_share (user_data);
}

static void
cloche_vm_folders_remove_chardev (GTask *task)
{
  ClocheVmFolders *self = g_task_get_source_object (task);
  Teardown *teardown = g_task_get_task_data (task);
  g_autoptr(JsonObject) args = NULL;

  if (!teardown->folder->chardev_added)
    {
      cloche_vm_folders_stop_share (task);
      return;
    }
  args = json_object_new ();
  json_object_set_string_member (args, "id", teardown->folder->id);
  cloche_qmp_client_execute_async (self->qmp, "chardev-remove", args, NULL,
                                   cloche_vm_folders_chardev_removed_cb, task);
}

static void
cloche_vm_folders_teardown_async (ClocheVmFolders     *self,
                                  Folder              *folder,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);
  Teardown *teardown = g_new0 (Teardown, 1);

  g_task_set_source_tag (task, cloche_vm_folders_teardown_async);
  teardown->folder = g_rc_box_acquire (folder);
  g_task_set_task_data (task, teardown, (GDestroyNotify) cloche_vm_folders_teardown_free);
  if (folder->device_added && !self->closed)
    cloche_vm_folders_unplug (task);
  else
    cloche_vm_folders_remove_chardev (task);
}

static gboolean
cloche_vm_folders_teardown_finish_cb (ClocheVmFolders  *self,
                                      GAsyncResult     *result,
                                      GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Mount */

typedef struct
{
  Folder *folder;
  GError *error;     /* why the mount is being unwound */
} MountOp;

static void
cloche_vm_folders_mount_op_free (MountOp *op)
{
  cloche_vm_folders_folder_unref (op->folder);
  g_clear_error (&op->error);
  g_free (op);
}

static void
cloche_vm_folders_mount_unwound_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheVmFolders *self = CLOCHE_VM_FOLDERS (object);
  MountOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!cloche_vm_folders_teardown_finish_cb (self, result, &error))
    g_message ("Undoing the failed mount of %s: %s",
               cloche_vm_folders_folder_host_path (op->folder), error->message);
  cloche_vm_folders_forget (self, op->folder);
  g_task_return_error (task, g_steal_pointer (&op->error));
}

/* Whether the mount goes on (takes @error); if not, it is unwound. */
static gboolean
cloche_vm_folders_mount_goes_on (GTask  *task,
                                 GError *error)
{
  MountOp *op = g_task_get_task_data (task);

  if (error == NULL)
    g_cancellable_set_error_if_cancelled (g_task_get_cancellable (task), &error);
  if (error == NULL)
    return TRUE;
  op->error = error;
  cloche_vm_folders_teardown_async (g_task_get_source_object (task), op->folder,
                                    cloche_vm_folders_mount_unwound_cb,
                                    task);
  return FALSE;
}

static GError *
cloche_vm_folders_plug_error (Folder *folder,
                              GError *error)
{
  GError *wrapped = g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_FAILED,
                                 _("Cannot plug the folder %s into the VM: %s"),
                                 cloche_vm_folders_folder_host_path (folder), error->message);

  g_error_free (error);
  return wrapped;
}

static void
cloche_vm_folders_guest_mounted_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  GTask *task = user_data;
  MountOp *op = g_task_get_task_data (task);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  GError *error = NULL;
  int status = 0;

  if (!cloche_guest_agent_exec_finish (CLOCHE_GUEST_AGENT (object), result, &status,
                                       &out, &err, &error))
    error = cloche_vm_folders_plug_error (op->folder, error);
  else if (status != 0)
    {
      g_autofree char *why = cloche_vm_folders_guest_stderr (err);

      error = g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_FAILED,
                           _("Cannot mount %s at %s in the VM: %s"),
                           cloche_vm_folders_folder_host_path (op->folder), op->folder->guest_dir,
                           why);
    }
  if (!cloche_vm_folders_mount_goes_on (task, error))
    return;
  op->folder->busy = FALSE;
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
cloche_vm_folders_mount_in_guest (GTask *task)
{
  ClocheVmFolders *self = g_task_get_source_object (task);
  Folder *folder = ((MountOp *) g_task_get_task_data (task))->folder;
  const char *mode = cloche_folder_share_get_readonly (folder->share) ? "ro" : "rw";
  const char *argv[] = { CLOCHE_VM_GUEST_HELPER, "mount", folder->id, folder->guest_dir, mode,
                         NULL };

  cloche_guest_agent_exec_async (self->agent, argv, guest_env, GUEST_MOUNT_TIMEOUT_S, NULL,
                                 CLOCHE_EXEC_NONE, NULL, cloche_vm_folders_guest_mounted_cb, task);
}

static void
cloche_vm_folders_device_added_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  GTask *task = user_data;
  MountOp *op = g_task_get_task_data (task);
  g_autoptr(JsonNode) reply = NULL;
  GError *error = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  op->folder->device_added = reply != NULL;
  if (cloche_vm_folders_mount_goes_on (task,
                                       error != NULL ? cloche_vm_folders_plug_error (op->folder,
                                                                                     error) : NULL))
    cloche_vm_folders_mount_in_guest (task);
}

static void
cloche_vm_folders_add_device (GTask *task)
{
  ClocheVmFolders *self = g_task_get_source_object (task);
  Folder *folder = ((MountOp *) g_task_get_task_data (task))->folder;
  g_autoptr(JsonObject) args = json_object_new ();
  g_autofree char *port =
    cloche_vm_command_folder_port_id (cloche_vm_folders_find_port (self, folder->id));

  json_object_set_string_member (args, "driver", "vhost-user-fs-pci");
  json_object_set_string_member (args, "id", folder->id);
  json_object_set_string_member (args, "chardev", folder->id);
  json_object_set_string_member (args, "tag", folder->id);
  json_object_set_string_member (args, "bus", port);
  cloche_qmp_client_execute_async (self->qmp, "device_add", args, NULL,
                                   cloche_vm_folders_device_added_cb, task);
}

static void
cloche_vm_folders_chardev_added_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  GTask *task = user_data;
  MountOp *op = g_task_get_task_data (task);
  g_autoptr(JsonNode) reply = NULL;
  GError *error = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  op->folder->chardev_added = reply != NULL;
  if (cloche_vm_folders_mount_goes_on (task,
                                       error != NULL ? cloche_vm_folders_plug_error (op->folder,
                                                                                     error) : NULL))
    cloche_vm_folders_add_device (task);
}

static void
cloche_vm_folders_share_started_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  GTask *task = user_data;
  ClocheVmFolders *self = g_task_get_source_object (task);
  MountOp *op = g_task_get_task_data (task);
  g_autoptr(JsonObject) args = NULL;
  GError *error = NULL;

  cloche_folder_share_start_finish (CLOCHE_FOLDER_SHARE (object), result, &error);
  if (!cloche_vm_folders_mount_goes_on (task, error))
    return;
  /* QEMU connects to virtiofsd's socket as a client. */
  args = cloche_qmp_socket_chardev_new (op->folder->id, "unix", "path",
                                        cloche_folder_share_get_socket_path (op->folder->share));
  cloche_qmp_client_execute_async (self->qmp, "chardev-add", args, NULL,
                                   cloche_vm_folders_chardev_added_cb, task);
}

/**
 * cloche_vm_folders_mount_async:
 * @folder: the folder to share, as checked (verified again before it is)
 * @readonly: whether the guest may only read it (enforced on the host)
 * @guest_dir: where it appears in the guest; made if missing
 * @guest_uid: the guest user whose files there are the daemon user's
 *   (cloche_folder_share_set_guest_uid()); 0 for the guest's root
 *
 * Cancelling stops the mount at its next step and undoes what was done.
 */
void
cloche_vm_folders_mount_async (ClocheVmFolders     *self,
                               ClochePinnedFolder  *folder,
                               gboolean             readonly,
                               const char          *guest_dir,
                               guint                guest_uid,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *dir = NULL;
  GError *error = NULL;
  MountOp *op;

  g_return_if_fail (CLOCHE_IS_VM_FOLDERS (self));
  g_return_if_fail (CLOCHE_IS_PINNED_FOLDER (folder) && guest_dir != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_vm_folders_mount_async);
  /* "/sessions/a/" and "/sessions/a" are one mount point. */
  dir = g_canonicalize_filename (guest_dir, "/");
  if (!cloche_vm_folders_check_can_mount (self, folder, dir, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  op = g_new0 (MountOp, 1);
  op->folder = cloche_vm_folders_add_folder (self, folder, readonly, dir, guest_uid);
  g_task_set_task_data (task, op, (GDestroyNotify) cloche_vm_folders_mount_op_free);
  cloche_folder_share_start_async (op->folder->share, NULL, cloche_vm_folders_share_started_cb,
                                   g_steal_pointer (&task));
}

gboolean
cloche_vm_folders_mount_finish (ClocheVmFolders  *self,
                                GAsyncResult     *result,
                                GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Unmount */

typedef struct
{
  Folder  *folder;
  guint    timer;
  gboolean unplugging;
} UnmountOp;

static void
cloche_vm_folders_unmount_op_free (UnmountOp *op)
{
  cloche_vm_folders_folder_unref (op->folder);
  g_free (op);
}

static void
cloche_vm_folders_unmount_torn_down_cb (GObject      *object,
                                        GAsyncResult *result,
                                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheVmFolders *self = CLOCHE_VM_FOLDERS (object);
  UnmountOp *op = g_task_get_task_data (task);
  GError *error = NULL;

  cloche_vm_folders_forget (self, op->folder);
  if (!cloche_vm_folders_teardown_finish_cb (self, result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* Once: after the guest's umount, or instead of it when that hangs. */
static void
cloche_vm_folders_unplug_folder (GTask *task)
{
  UnmountOp *op = g_task_get_task_data (task);

  if (op->unplugging)
    return;
  op->unplugging = TRUE;
  g_clear_handle_id (&op->timer, g_source_remove);
  cloche_vm_folders_teardown_async (g_task_get_source_object (task), op->folder,
                                    cloche_vm_folders_unmount_torn_down_cb,
                                    g_object_ref (task));
}

static gboolean
cloche_vm_folders_umount_slow_cb (gpointer user_data)
{
  GTask *task = user_data;
  UnmountOp *op = g_task_get_task_data (task);

  op->timer = 0;
  g_message ("Unmounting %s in the VM took over %d s (has its virtiofsd died?); "
             "unplugging it anyway", op->folder->guest_dir, UMOUNT_TIMEOUT_S);
  cloche_vm_folders_unplug_folder (task);
  return G_SOURCE_REMOVE;
}

static void
cloche_vm_folders_guest_unmounted_cb (GObject      *object,
                                      GAsyncResult *result,
                                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  UnmountOp *op = g_task_get_task_data (task);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  /* Whatever the guest says, the folder is unplugged: not sharing it any
   * more is what matters. */
  if (!cloche_guest_agent_exec_finish (CLOCHE_GUEST_AGENT (object), result, &status,
                                       &out, &err, &error))
    {
      /* A VM going away takes its folders with it: nothing to report. */
      if (g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_VM_NOT_RUNNING))
        g_debug ("Unmounting %s in the VM: %s", op->folder->guest_dir, error->message);
      else
        g_message ("Unmounting %s in the VM: %s", op->folder->guest_dir, error->message);
    }
  else if (status != 0)
    {
      g_autofree char *why = cloche_vm_folders_guest_stderr (err);

      g_message ("Unmounting %s in the VM: %s", op->folder->guest_dir, why);
    }
  cloche_vm_folders_unplug_folder (task);
}

static Folder *
cloche_vm_folders_lookup_for_unmount (ClocheVmFolders  *self,
                                      const char       *guest_dir,
                                      GError          **error)
{
  g_autofree char *dir = g_canonicalize_filename (guest_dir, "/");
  Folder *folder = g_hash_table_lookup (self->folders, dir);

  if (folder == NULL)
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_NOT_MOUNTED,
                 _("No folder is mounted at %s in the VM"), guest_dir);
  else if (folder->busy)
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_UNMOUNT_FAILED,
                 _("Cannot unmount %s yet: it is still being mounted or unmounted"), guest_dir);
  else
    return folder;
  return NULL;
}

/**
 * cloche_vm_folders_unmount_async:
 *
 * Once begun, an unmount runs to its end: cancelling has no effect.
 */
void
cloche_vm_folders_unmount_async (ClocheVmFolders     *self,
                                 const char          *guest_dir,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  UnmountOp *op;
  Folder *folder;

  g_return_if_fail (CLOCHE_IS_VM_FOLDERS (self));
  g_return_if_fail (guest_dir != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_vm_folders_unmount_async);
  g_task_set_check_cancellable (task, FALSE);
  if ((folder = cloche_vm_folders_lookup_for_unmount (self, guest_dir, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* A lost folder is left as it is: the guest's umount would wait for its
   * dead virtiofsd, and so would its giving the device back. Forgotten; its
   * slot is free again at the next boot. */
  if (folder->lost)
    {
      cloche_vm_folders_forget (self, folder);
      g_task_return_boolean (task, TRUE);
      return;
    }
  folder->busy = TRUE;
  op = g_new0 (UnmountOp, 1);
  op->folder = g_rc_box_acquire (folder);
  g_task_set_task_data (task, op, (GDestroyNotify) cloche_vm_folders_unmount_op_free);
  op->timer = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, UMOUNT_TIMEOUT_S,
                                          cloche_vm_folders_umount_slow_cb,
                                          g_object_ref (task), g_object_unref);
  cloche_guest_agent_exec_async (self->agent,
                                 (const char *[]) { CLOCHE_VM_GUEST_HELPER, "umount",
                                                    folder->guest_dir, NULL },
                                 guest_env, GUEST_UMOUNT_TIMEOUT_S, NULL, CLOCHE_EXEC_NONE, NULL,
                                 cloche_vm_folders_guest_unmounted_cb, g_steal_pointer (&task));
}

gboolean
cloche_vm_folders_unmount_finish (ClocheVmFolders  *self,
                                  GAsyncResult     *result,
                                  GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The VM is gone */

/* Teardowns waiting for a guest that will never answer go on at once. */
static void
cloche_vm_folders_stop_all_waiting (ClocheVmFolders *self)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  const char *id;

  g_hash_table_iter_init (&iter, self->unplugs);
  while (g_hash_table_iter_next (&iter, (gpointer *) &id, NULL))
    g_ptr_array_add (ids, g_strdup (id));
  for (guint i = 0; i < ids->len; i++)
    {
      GTask *task = cloche_vm_folders_stop_waiting (self, g_ptr_array_index (ids, i));

      cloche_vm_folders_release_port (self, g_ptr_array_index (ids, i));
      cloche_vm_folders_remove_chardev (task);
    }
}

/**
 * cloche_vm_folders_close:
 *
 * For when QEMU has exited: stops every virtiofsd and forgets every folder.
 */
void
cloche_vm_folders_close (ClocheVmFolders *self)
{
  GHashTableIter iter;
  Folder *folder;

  g_return_if_fail (CLOCHE_IS_VM_FOLDERS (self));

  if (self->closed)
    return;
  self->closed = TRUE;
  /* Each virtiofsd exits when QEMU lets go of it; this makes sure. */
  g_hash_table_iter_init (&iter, self->folders);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &folder))
    cloche_folder_share_stop_async (folder->share, NULL, NULL, NULL);
  g_hash_table_remove_all (self->folders);
  cloche_vm_folders_stop_all_waiting (self);
}

/* GObject */

static void
cloche_vm_folders_dispose (GObject *object)
{
  ClocheVmFolders *self = CLOCHE_VM_FOLDERS (object);

  if (self->folders != NULL)
    cloche_vm_folders_close (self);
  g_clear_object (&self->qmp);
  g_clear_object (&self->agent);

  G_OBJECT_CLASS (cloche_vm_folders_parent_class)->dispose (object);
}

static void
cloche_vm_folders_finalize (GObject *object)
{
  ClocheVmFolders *self = CLOCHE_VM_FOLDERS (object);

  for (guint i = 0; i < self->n_ports; i++)
    g_free (self->ports[i]);
  g_free (self->ports);
  g_clear_pointer (&self->folders, g_hash_table_unref);
  g_clear_pointer (&self->unplugs, g_hash_table_unref);
  g_free (self->run_dir);

  G_OBJECT_CLASS (cloche_vm_folders_parent_class)->finalize (object);
}

static void
cloche_vm_folders_class_init (ClocheVmFoldersClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cloche_vm_folders_dispose;
  object_class->finalize = cloche_vm_folders_finalize;

  /**
   * ClocheVmFolders::folder-lost:
   * @guest_dir: where the folder is mounted in the guest
   * @host_path: the host folder
   * @why: how its virtiofsd ended
   *
   * A folder's virtiofsd died while the VM ran: the guest's folder hangs.
   */
  signals[FOLDER_LOST] = g_signal_new ("folder-lost", G_TYPE_FROM_CLASS (klass),
                                       G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                                       G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
}

static void
cloche_vm_folders_init (ClocheVmFolders *self)
{
  self->folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) cloche_vm_folders_folder_unref);
  /* Values are teardown tasks, always stolen before they go on. */
  self->unplugs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/**
 * cloche_vm_folders_new:
 * @qmp: the monitor of the QEMU the folders go into
 * @agent: its guest agent, which mounts them
 * @run_dir: where the vhost-user sockets go
 * @n_ports: how many root ports the command line reserved for folders
 */
ClocheVmFolders *
cloche_vm_folders_new (ClocheQmpClient  *qmp,
                       ClocheGuestAgent *agent,
                       const char       *run_dir,
                       guint             n_ports)
{
  ClocheVmFolders *self;

  g_return_val_if_fail (CLOCHE_IS_QMP_CLIENT (qmp), NULL);
  g_return_val_if_fail (CLOCHE_IS_GUEST_AGENT (agent), NULL);

  self = g_object_new (CLOCHE_TYPE_VM_FOLDERS, NULL);
  self->qmp = g_object_ref (qmp);
  self->agent = g_object_ref (agent);
  self->run_dir = g_strdup (run_dir);
  self->n_ports = n_ports;
  self->ports = g_new0 (char *, n_ports);
  g_signal_connect_object (qmp, "event", G_CALLBACK (cloche_vm_folders_qmp_event_cb), self,
                           G_CONNECT_SWAPPED);
  return self;
}

/**
 * cloche_vm_folders_is_empty:
 *
 * Returns: whether no folder is mounted and no root port holds a device
 *   (what a warm-wake snapshot needs: it keeps no folder)
 */
gboolean
cloche_vm_folders_is_empty (ClocheVmFolders *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM_FOLDERS (self), FALSE);

  if (g_hash_table_size (self->folders) > 0 || g_hash_table_size (self->unplugs) > 0)
    return FALSE;
  for (guint i = 0; i < self->n_ports; i++)
    if (self->ports[i] != NULL)
      return FALSE;
  return TRUE;
}
