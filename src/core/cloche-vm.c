/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The sandbox VM: one QEMU process and its states.
 *
 *   stopped ─start─▶ starting ─agent answers─▶ running ─stop─▶ stopping ─exit─▶ stopped
 *
 * QEMU exiting when we did not ask it to, or a guest that never brings its
 * agent up, ends in "crashed", with the reason and the last console lines;
 * start() from crashed boots afresh. Starting is only complete when the guest
 * agent has answered a guest-sync, so "running" means commands can run.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cloche-accel.h"
#include "cloche-error.h"
#include "cloche-memory.h"
#include "cloche-qmp-client.h"
#include "cloche-vm-command.h"
#include "cloche-vm-folders.h"
#include "cloche-vm.h"

#define DEFAULT_AGENT_TIMEOUT_S 120
#define SHUTDOWN_GRACE_S        10
#define QUIT_GRACE_S            3
#define CONSOLE_TAIL_LINES      12
#define CONSOLE_TAIL_BYTES      8192

struct _ClocheVm
{
  GObject           parent_instance;

  char             *bundle_path;
  char             *run_dir;
  char             *overlay_dir;   /* disk-backed, for a disk bundle's writes */
  char             *accelerator;
  char             *accelerator_reason;
  guint             agent_timeout_s;
  guint             memory_mib;      /* 0: the default for this host */
  guint             cpus;            /* 0: one */
  char             *egress_relay;    /* NULL: the guest has no way out */
  char             *egress_socket;

  ClocheVmState     state;
  char             *state_reason;
  GStrv             console_tail;
  gint64            booted_at;

  GSubprocess      *process;
  ClocheQmpClient  *qmp;
  ClocheGuestAgent *agent;
  char             *stop_reason;
  GError           *boot_error;      /* set from a failed boot until QEMU exits */
  GError           *last_error;      /* why the last boot failed or the VM crashed */
  guint             stop_timer;

  GQueue            start_tasks;
  GQueue            stop_tasks;

  ClocheVmFolders  *folders;         /* hot-plugged folders of this boot */
};

enum {
  PROP_0,
  PROP_BUNDLE_PATH,
  PROP_STATE,
  PROP_STATE_REASON,
  PROP_CONSOLE_TAIL,
  PROP_ACCELERATOR,
  PROP_ACCELERATOR_REASON,
  PROP_BOOTED_AT,
  PROP_AGENT_TIMEOUT,
  PROP_LAST_ERROR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ClocheVm, cloche_vm, G_TYPE_OBJECT)

static void launch (ClocheVm *self);

/* Kept with its code, so that the doctor can tell a dead agent from a
 * crash without reading sentences. */
static void
set_last_error (ClocheVm     *self,
                const GError *error)
{
  g_clear_error (&self->last_error);
  self->last_error = g_error_copy (error);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_ERROR]);
}

/* State */

/* g_set_str() arrived in GLib 2.76; Debian 12 has 2.74. */
static gboolean
set_str (char       **target,
         const char  *value)
{
  if (g_strcmp0 (*target, value) == 0)
    return FALSE;
  g_free (*target);
  *target = g_strdup (value);
  return TRUE;
}

static void
set_state (ClocheVm      *self,
           ClocheVmState  state,
           const char    *reason)
{
  g_object_freeze_notify (G_OBJECT (self));
  if (set_str (&self->state_reason, reason))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE_REASON]);
  if (self->state != state)
    {
      g_debug ("VM %s → %s (%s)", cloche_vm_state_to_string (self->state),
               cloche_vm_state_to_string (state), reason ? reason : "");
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
  if (state != CLOCHE_VM_STATE_RUNNING && self->booted_at != 0)
    {
      self->booted_at = 0;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BOOTED_AT]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

static char *
console_path (ClocheVm *self)
{
  return g_build_filename (self->run_dir, "console.log", NULL);
}

/* The end of the guest console: what the guest said last is what explains
 * a hang or a panic. */
static GStrv
read_console_tail (ClocheVm *self)
{
  g_autofree char *path = console_path (self);
  g_autofree char *contents = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) lines = NULL;
  gsize length = 0;
  guint n, first;

  if (!g_file_get_contents (path, &contents, &length, NULL))
    return g_strv_builder_end (builder);
  lines = g_strsplit (contents + (length > CONSOLE_TAIL_BYTES ? length - CONSOLE_TAIL_BYTES : 0),
                      "\n", -1);
  n = g_strv_length (lines);
  while (n > 0 && g_strstrip (lines[n - 1])[0] == '\0')
    n--;
  first = n > CONSOLE_TAIL_LINES ? n - CONSOLE_TAIL_LINES : 0;
  for (guint i = first; i < n; i++)
    {
      g_autofree char *valid = g_utf8_make_valid (g_strchomp (lines[i]), -1);

      g_strv_builder_add (builder, valid);
    }
  return g_strv_builder_end (builder);
}

static void
capture_console_tail (ClocheVm *self)
{
  g_strfreev (self->console_tail);
  g_clear_error (&self->last_error);
  self->console_tail = read_console_tail (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONSOLE_TAIL]);
}

static char *
console_summary (ClocheVm *self)
{
  g_autofree char *joined = NULL;

  if (self->console_tail == NULL || self->console_tail[0] == NULL)
    return g_strdup ("the guest console is empty");
  joined = g_strjoinv ("\n  ", self->console_tail);
  return g_strdup_printf ("the guest console ended with:\n  %s", joined);
}

/* Tasks waiting on a transition */

static void
complete_tasks (GQueue       *tasks,
                const GError *error)
{
  GTask *task;

  while ((task = g_queue_pop_head (tasks)))
    {
      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
}

/* Teardown */

static void
drop_channels (ClocheVm *self)
{
  /* Detached first: closing fails their pending calls, and those callbacks
   * must find that the channels are no longer ours. */
  g_autoptr(ClocheQmpClient) qmp = g_steal_pointer (&self->qmp);
  g_autoptr(ClocheGuestAgent) agent = g_steal_pointer (&self->agent);
  g_autoptr(ClocheVmFolders) folders = g_steal_pointer (&self->folders);

  if (qmp != NULL)
    cloche_qmp_client_close (qmp);
  if (agent != NULL)
    cloche_guest_agent_close (agent);
  /* The next boot mounts its folders afresh; no virtiofsd stays behind. */
  if (folders != NULL)
    cloche_vm_folders_close (folders);
  g_clear_handle_id (&self->stop_timer, g_source_remove);
}

/* QEMU deletes its overlay as it exits; one that was killed leaves it
 * behind (vl.XXXXXX, its temporary file name), so whatever is left goes
 * when the process is gone, and before each boot. */
static void
remove_overlays (ClocheVm *self)
{
  g_autoptr(GDir) dir = g_dir_open (self->overlay_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;

      if (!g_str_has_prefix (name, CLOCHE_VM_OVERLAY_PREFIX))
        continue;
      path = g_build_filename (self->overlay_dir, name, NULL);
      if (g_unlink (path) != 0 && errno != ENOENT)
        g_warning ("Cannot delete the VM's old disk overlay %s: %s", path, g_strerror (errno));
    }
}

/* The state changes once QEMU is gone, so that "crashed" never leaves a
 * QEMU behind; on_process_exited() finishes the job. */
static void
fail_boot (ClocheVm     *self,
           const GError *error)
{
  if (self->boot_error == NULL)
    self->boot_error = g_error_copy (error);
  g_subprocess_force_exit (self->process);
}

static void
finish_failed_boot (ClocheVm *self)
{
  g_autoptr(GError) boot_error = g_steal_pointer (&self->boot_error);
  g_autoptr(GError) full = NULL;
  g_autofree char *console = NULL;

  capture_console_tail (self);
  console = console_summary (self);
  full = g_error_new (boot_error->domain, boot_error->code, "%s; %s",
                      boot_error->message, console);
  set_state (self, CLOCHE_VM_STATE_CRASHED, boot_error->message);
  set_last_error (self, full);
  complete_tasks (&self->start_tasks, full);
}

static char *
describe_exit (GSubprocess *process)
{
  if (g_subprocess_get_if_signaled (process))
    {
      int sig = g_subprocess_get_term_sig (process);

      return g_strdup_printf ("QEMU was killed by signal %d (%s)", sig, g_strsignal (sig));
    }
  return g_strdup_printf ("QEMU exited with status %d", g_subprocess_get_exit_status (process));
}

static gboolean
console_says_panic (ClocheVm *self)
{
  for (guint i = 0; self->console_tail != NULL && self->console_tail[i]; i++)
    if (strstr (self->console_tail[i], "Kernel panic") != NULL)
      return TRUE;
  return FALSE;
}

static void
on_unexpected_exit (ClocheVm    *self,
                    GSubprocess *process)
{
  g_autofree char *why = describe_exit (process);
  g_autofree char *console = NULL;
  g_autoptr(GError) error = NULL;
  gboolean clean = g_subprocess_get_if_exited (process)
                   && g_subprocess_get_exit_status (process) == 0;

  capture_console_tail (self);
  if (clean && !console_says_panic (self) && self->state == CLOCHE_VM_STATE_RUNNING)
    {
      set_state (self, CLOCHE_VM_STATE_STOPPED, "the guest shut itself down");
      return;
    }

  console = console_summary (self);
  error = g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_VM_CRASHED, "%s; %s", why, console);
  set_state (self, CLOCHE_VM_STATE_CRASHED, why);
  set_last_error (self, error);
  complete_tasks (&self->start_tasks, error);
}

static void
on_process_exited (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(ClocheVm) self = user_data;
  GSubprocess *process = G_SUBPROCESS (object);

  g_subprocess_wait_finish (process, result, NULL);
  if (process != self->process)
    return;

  drop_channels (self);
  remove_overlays (self);
  if (self->state == CLOCHE_VM_STATE_STOPPING)
    {
      g_autofree char *reason = g_steal_pointer (&self->stop_reason);

      g_clear_error (&self->boot_error);
      set_state (self, CLOCHE_VM_STATE_STOPPED, reason);
    }
  else if (self->boot_error != NULL)
    finish_failed_boot (self);
  else
    on_unexpected_exit (self, process);
  g_clear_object (&self->process);

  complete_tasks (&self->stop_tasks, NULL);
  /* Someone asked to start while we were stopping. */
  if (!g_queue_is_empty (&self->start_tasks))
    launch (self);
}

/* Boot */

static void
on_agent_synced (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(ClocheVm) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!cloche_guest_agent_sync_finish (CLOCHE_GUEST_AGENT (object), result, &error))
    {
      if (CLOCHE_GUEST_AGENT (object) == self->agent)
        fail_boot (self, error);
      return;
    }
  if (CLOCHE_GUEST_AGENT (object) != self->agent)
    return;

  self->booted_at = g_get_real_time ();
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BOOTED_AT]);
  set_state (self, CLOCHE_VM_STATE_RUNNING, NULL);
  complete_tasks (&self->start_tasks, NULL);
}

static void
on_qmp_ready (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(ClocheVm) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!cloche_qmp_client_handshake_finish (CLOCHE_QMP_CLIENT (object), result, &error))
    {
      if (CLOCHE_QMP_CLIENT (object) == self->qmp)
        fail_boot (self, error);
      return;
    }
  if (CLOCHE_QMP_CLIENT (object) != self->qmp)
    return;

  cloche_guest_agent_sync_async (self->agent, self->agent_timeout_s, NULL,
                                 on_agent_synced, g_object_ref (self));
}

static GIOStream *
stream_from_fd (int      fd,
                GError **error)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, error);

  if (socket == NULL)
    {
      close (fd);
      return NULL;
    }
  return G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
}

/* QEMU must not outlive a daemon that was killed: it would hold the
 * guest's memory with nobody left to stop it. */
static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static gboolean
make_private_dir (const char  *path,
                  GError     **error)
{
  if (g_mkdir_with_parents (path, 0700) == 0)
    return TRUE;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
               _("Cannot create %s for the VM's files: %s"), path, g_strerror (errno));
  return FALSE;
}

static GSubprocess *
spawn_qemu (ClocheVm     *self,
            const char  **argv,
            int           qmp_fd,
            int           agent_fd,
            GError      **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autofree char *log = g_build_filename (self->run_dir, "qemu.log", NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  /* A disk bundle's per-boot overlay (snapshot=on) goes where QEMU makes
   * its temporary files: a folder of our own on disk, not the runtime
   * folder, which is tmpfs on a desktop and would hold the guest's writes
   * in RAM. */
  g_subprocess_launcher_setenv (launcher, "TMPDIR", self->overlay_dir, TRUE);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  g_subprocess_launcher_take_fd (launcher, qmp_fd, CLOCHE_VM_QMP_FD);
  g_subprocess_launcher_take_fd (launcher, agent_fd, CLOCHE_VM_AGENT_FD);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  return g_subprocess_launcher_spawnv (launcher, argv, error);
}

static GStrv
build_command (ClocheVm  *self,
               GError   **error)
{
  g_autoptr(ClocheBundle) bundle = NULL;
  g_autofree char *qemu = NULL;
  g_autofree char *console = console_path (self);
  ClocheVmCommandOptions options = { 0 };

  bundle = cloche_bundle_load (self->bundle_path, error);
  if (bundle == NULL)
    return NULL;
  qemu = g_find_program_in_path ("qemu-system-x86_64");
  if (qemu == NULL)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_QEMU_MISSING,
                   _("qemu-system-x86_64 is not installed or not in PATH: "
                     "install QEMU (on Debian: apt install qemu-system-x86)"));
      return NULL;
    }
  if (!make_private_dir (self->run_dir, error) || !make_private_dir (self->overlay_dir, error))
    return NULL;
  g_unlink (console);
  remove_overlays (self);

  options.qemu = qemu;
  options.accelerator = self->accelerator;
  options.console_path = console;
  options.memory_mib = cloche_memory_choose_mib (self->memory_mib);
  options.cpus = MAX (self->cpus, 1);
  options.folder_ports = CLOCHE_VM_FOLDER_PORTS;
  options.egress_relay = self->egress_relay;
  options.egress_socket = self->egress_socket;
  return cloche_vm_command_build (bundle, &options);
}

static gboolean
start_process (ClocheVm  *self,
               GError   **error)
{
  g_auto(GStrv) argv = NULL;
  g_autoptr(GIOStream) qmp_stream = NULL;
  g_autoptr(GIOStream) agent_stream = NULL;
  int qmp[2], agent[2];

  argv = build_command (self, error);
  if (argv == NULL)
    return FALSE;
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) != 0
      || socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, agent) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot create the channels to QEMU: %s"), g_strerror (errno));
      return FALSE;
    }

  self->process = spawn_qemu (self, (const char **) argv, qmp[1], agent[1], error);
  qmp_stream = stream_from_fd (qmp[0], NULL);
  agent_stream = stream_from_fd (agent[0], NULL);
  if (self->process == NULL)
    return FALSE;

  self->qmp = cloche_qmp_client_new (qmp_stream);
  self->agent = cloche_guest_agent_new (agent_stream);
  self->folders = cloche_vm_folders_new (self->qmp, self->agent, self->run_dir,
                                         CLOCHE_VM_FOLDER_PORTS);
  return TRUE;
}

static void
launch (ClocheVm *self)
{
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&self->console_tail, g_strfreev);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONSOLE_TAIL]);

  if (!start_process (self, &error))
    {
      /* Nothing ran, so nothing crashed: the state stays, the callers learn why. */
      drop_channels (self);
      set_last_error (self, error);
      complete_tasks (&self->start_tasks, error);
      return;
    }

  set_state (self, CLOCHE_VM_STATE_STARTING, NULL);
  g_subprocess_wait_async (self->process, NULL, on_process_exited, g_object_ref (self));
  cloche_qmp_client_handshake_async (self->qmp, NULL, on_qmp_ready, g_object_ref (self));
}

void
cloche_vm_start_async (ClocheVm            *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CLOCHE_IS_VM (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_vm_start_async);

  if (self->state == CLOCHE_VM_STATE_RUNNING)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_queue_push_tail (&self->start_tasks, g_steal_pointer (&task));
  if (self->state == CLOCHE_VM_STATE_STOPPED || self->state == CLOCHE_VM_STATE_CRASHED)
    launch (self);
  /* starting: it joins the boot; stopping: it boots once QEMU has exited. */
}

gboolean
cloche_vm_start_finish (ClocheVm      *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Shutdown: ask the guest, then QEMU, then the kernel. */

static gboolean
on_quit_slow (gpointer user_data)
{
  ClocheVm *self = user_data;

  self->stop_timer = 0;
  g_warning ("QEMU did not quit within %d s; killing it", QUIT_GRACE_S);
  g_subprocess_force_exit (self->process);
  return G_SOURCE_REMOVE;
}

static gboolean
on_shutdown_slow (gpointer user_data)
{
  ClocheVm *self = user_data;

  g_debug ("The guest did not power off within %d s; asking QEMU to quit", SHUTDOWN_GRACE_S);
  if (self->qmp != NULL)
    cloche_qmp_client_execute_async (self->qmp, "quit", NULL, NULL, NULL, NULL);
  self->stop_timer = g_timeout_add_seconds (QUIT_GRACE_S, on_quit_slow, self);
  return G_SOURCE_REMOVE;
}

static void
begin_shutdown (ClocheVm   *self,
                const char *reason)
{
  g_autoptr(GError) error = NULL;
  gboolean booting = self->state == CLOCHE_VM_STATE_STARTING;

  set_str (&self->stop_reason, reason);
  set_state (self, CLOCHE_VM_STATE_STOPPING, reason);
  if (booting)
    {
      /* No agent to ask yet: a guest that is half up has nothing to save. */
      error = g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_VM_NOT_RUNNING,
                           _("The VM was stopped (%s) before it finished booting"), reason);
      complete_tasks (&self->start_tasks, error);
      g_subprocess_force_exit (self->process);
      return;
    }
  cloche_guest_agent_shutdown (self->agent);
  self->stop_timer = g_timeout_add_seconds (SHUTDOWN_GRACE_S, on_shutdown_slow, self);
}

void
cloche_vm_stop_async (ClocheVm            *self,
                      const char          *reason,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CLOCHE_IS_VM (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_vm_stop_async);

  if (self->state == CLOCHE_VM_STATE_STOPPED || self->state == CLOCHE_VM_STATE_CRASHED)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_queue_push_tail (&self->stop_tasks, g_steal_pointer (&task));
  if (self->state != CLOCHE_VM_STATE_STOPPING)
    begin_shutdown (self, reason);
}

gboolean
cloche_vm_stop_finish (ClocheVm      *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Folders */

static gboolean
check_running (ClocheVm    *self,
               GTask       *task,
               const char  *what)
{
  if (self->state == CLOCHE_VM_STATE_RUNNING)
    return TRUE;
  g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_VM_NOT_RUNNING,
                           "Cannot %s: the VM is %s, not running", what,
                           cloche_vm_state_to_string (self->state));
  return FALSE;
}

static void
on_folder_mounted (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!cloche_vm_folders_mount_finish (CLOCHE_VM_FOLDERS (object), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * cloche_vm_mount_folder_async:
 * @host_path: an absolute path on the host
 * @readonly: whether the guest may only read it (enforced on the host)
 * @guest_dir: where it appears in the guest; made if missing
 * @guest_uid: the guest user whose files there are the daemon user's (a
 *   session's user); 0 for the guest's root
 *
 * Hot-plugs @host_path into the running VM over virtiofs. A stop or a
 * crash forgets every folder: mount them again after the next start.
 */
void
cloche_vm_mount_folder_async (ClocheVm            *self,
                              const char          *host_path,
                              gboolean             readonly,
                              const char          *guest_dir,
                              guint                guest_uid,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *what = NULL;

  g_return_if_fail (CLOCHE_IS_VM (self));
  g_return_if_fail (host_path != NULL && guest_dir != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_vm_mount_folder_async);
  what = g_strdup_printf ("mount %s", host_path);
  if (!check_running (self, task, what))
    return;
  cloche_vm_folders_mount_async (self->folders, host_path, readonly, guest_dir, guest_uid,
                                 cancellable,
                                 on_folder_mounted, g_steal_pointer (&task));
}

gboolean
cloche_vm_mount_folder_finish (ClocheVm      *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_folder_unmounted (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!cloche_vm_folders_unmount_finish (CLOCHE_VM_FOLDERS (object), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * cloche_vm_unmount_folder_async:
 * @guest_dir: where a folder was mounted with cloche_vm_mount_folder_async()
 *
 * Unmounts it in the guest (lazily if it is busy), unplugs it and stops
 * its virtiofsd.
 */
void
cloche_vm_unmount_folder_async (ClocheVm            *self,
                                const char          *guest_dir,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *what = NULL;

  g_return_if_fail (CLOCHE_IS_VM (self));
  g_return_if_fail (guest_dir != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_vm_unmount_folder_async);
  what = g_strdup_printf ("unmount %s", guest_dir);
  if (!check_running (self, task, what))
    return;
  cloche_vm_folders_unmount_async (self->folders, guest_dir, cancellable,
                                   on_folder_unmounted, g_steal_pointer (&task));
}

gboolean
cloche_vm_unmount_folder_finish (ClocheVm      *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Accessors */

ClocheVmState
cloche_vm_get_state (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), CLOCHE_VM_STATE_STOPPED);
  return self->state;
}

/**
 * cloche_vm_get_last_error:
 *
 * Returns: (nullable): why the last boot failed or the VM last crashed;
 *   %NULL if neither happened since the daemon started
 */
const GError *
cloche_vm_get_last_error (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), NULL);
  return self->last_error;
}

const char *
cloche_vm_get_state_reason (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), NULL);
  return self->state_reason;
}

const char * const *
cloche_vm_get_console_tail (ClocheVm *self)
{
  static const char * const empty[] = { NULL };

  g_return_val_if_fail (CLOCHE_IS_VM (self), NULL);
  return self->console_tail != NULL ? (const char * const *) self->console_tail : empty;
}

const char *
cloche_vm_get_accelerator (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), NULL);
  return self->accelerator;
}

const char *
cloche_vm_get_accelerator_reason (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), NULL);
  return self->accelerator_reason;
}

gint64
cloche_vm_get_booted_at (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), 0);
  return self->booted_at;
}

const char *
cloche_vm_get_bundle_path (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), NULL);
  return self->bundle_path;
}

/* The next boot reads the bundle there (a bundle that was moved); a
 * running VM keeps what it booted. */
void
cloche_vm_set_bundle_path (ClocheVm   *self,
                           const char *bundle_path)
{
  g_return_if_fail (CLOCHE_IS_VM (self));
  g_return_if_fail (bundle_path != NULL);

  if (g_strcmp0 (self->bundle_path, bundle_path) == 0)
    return;
  g_free (self->bundle_path);
  self->bundle_path = g_strdup (bundle_path);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUNDLE_PATH]);
}

GPid
cloche_vm_get_pid (ClocheVm *self)
{
  const char *id;

  g_return_val_if_fail (CLOCHE_IS_VM (self), 0);

  if (self->process == NULL || (id = g_subprocess_get_identifier (self->process)) == NULL)
    return 0;
  return (GPid) g_ascii_strtoll (id, NULL, 10);
}

guint
cloche_vm_get_agent_timeout (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), 0);
  return self->agent_timeout_s;
}

void
cloche_vm_set_agent_timeout (ClocheVm *self,
                             guint     seconds)
{
  g_return_if_fail (CLOCHE_IS_VM (self));

  seconds = MAX (seconds, 1);
  if (self->agent_timeout_s == seconds)
    return;
  self->agent_timeout_s = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AGENT_TIMEOUT]);
}

/**
 * cloche_vm_set_memory_mib:
 * @mib: guest memory from the next boot on; 0 for the host's default
 */
void
cloche_vm_set_memory_mib (ClocheVm *self,
                          guint     mib)
{
  g_return_if_fail (CLOCHE_IS_VM (self));
  self->memory_mib = mib;
}

/**
 * cloche_vm_set_cpus:
 * @cpus: virtual CPUs from the next boot on; 0 for one
 */
void
cloche_vm_set_cpus (ClocheVm *self,
                    guint     cpus)
{
  g_return_if_fail (CLOCHE_IS_VM (self));
  self->cpus = cpus;
}

/**
 * cloche_vm_set_egress:
 * @relay_path: (nullable): cloche-egress-relay, which QEMU starts for each
 *   connection the guest makes to the proxy address; %NULL for none
 * @socket_path: (nullable): the egress proxy's socket the relay connects to
 *
 * From the next boot on. Without it the guest reaches nothing at all.
 */
void
cloche_vm_set_egress (ClocheVm   *self,
                      const char *relay_path,
                      const char *socket_path)
{
  g_return_if_fail (CLOCHE_IS_VM (self));
  g_return_if_fail ((relay_path == NULL) == (socket_path == NULL));

  g_free (self->egress_relay);
  g_free (self->egress_socket);
  self->egress_relay = g_strdup (relay_path);
  self->egress_socket = g_strdup (socket_path);
}

/**
 * cloche_vm_get_qmp_client:
 *
 * Returns: (transfer none) (nullable): QEMU's monitor while the VM is running
 */
ClocheQmpClient *
cloche_vm_get_qmp_client (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), NULL);
  return self->state == CLOCHE_VM_STATE_RUNNING ? self->qmp : NULL;
}

/**
 * cloche_vm_get_guest_agent:
 *
 * Returns: (transfer none) (nullable): the agent while the VM is running
 */
ClocheGuestAgent *
cloche_vm_get_guest_agent (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), NULL);
  return self->state == CLOCHE_VM_STATE_RUNNING ? self->agent : NULL;
}

/* GObject */

static void
cloche_vm_constructed (GObject *object)
{
  ClocheVm *self = CLOCHE_VM (object);

  G_OBJECT_CLASS (cloche_vm_parent_class)->constructed (object);

  self->accelerator = g_strdup (cloche_accel_detect (g_getenv ("CLOCHE_KVM_DEVICE"),
                                                     &self->accelerator_reason));
  self->run_dir = g_strdup_printf ("%s/cloche/vm-%d", g_get_user_runtime_dir (), (int) getpid ());
  self->overlay_dir = g_strdup_printf ("%s/cloche/vm-%d", g_get_user_cache_dir (), (int) getpid ());
}

static void
cloche_vm_dispose (GObject *object)
{
  ClocheVm *self = CLOCHE_VM (object);

  if (self->process != NULL)
    g_subprocess_force_exit (self->process);
  g_clear_object (&self->process);
  drop_channels (self);

  G_OBJECT_CLASS (cloche_vm_parent_class)->dispose (object);
}

static void
cloche_vm_finalize (GObject *object)
{
  ClocheVm *self = CLOCHE_VM (object);

  g_free (self->bundle_path);
  g_free (self->run_dir);
  remove_overlays (self);
  g_rmdir (self->overlay_dir);   /* empty now; gone if never made */
  g_free (self->overlay_dir);
  g_free (self->accelerator);
  g_free (self->accelerator_reason);
  g_free (self->egress_relay);
  g_free (self->egress_socket);
  g_free (self->state_reason);
  g_free (self->stop_reason);
  g_clear_error (&self->boot_error);
  g_clear_error (&self->last_error);
  g_strfreev (self->console_tail);

  G_OBJECT_CLASS (cloche_vm_parent_class)->finalize (object);
}

static void
cloche_vm_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  ClocheVm *self = CLOCHE_VM (object);

  switch (prop_id)
    {
    case PROP_BUNDLE_PATH:
      g_value_set_string (value, self->bundle_path);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_STATE_REASON:
      g_value_set_string (value, self->state_reason);
      break;
    case PROP_CONSOLE_TAIL:
      g_value_set_boxed (value, cloche_vm_get_console_tail (self));
      break;
    case PROP_ACCELERATOR:
      g_value_set_string (value, self->accelerator);
      break;
    case PROP_ACCELERATOR_REASON:
      g_value_set_string (value, self->accelerator_reason);
      break;
    case PROP_BOOTED_AT:
      g_value_set_int64 (value, self->booted_at);
      break;
    case PROP_LAST_ERROR:
      g_value_set_boxed (value, self->last_error);
      break;
    case PROP_AGENT_TIMEOUT:
      g_value_set_uint (value, self->agent_timeout_s);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_vm_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  ClocheVm *self = CLOCHE_VM (object);

  switch (prop_id)
    {
    case PROP_BUNDLE_PATH:
      cloche_vm_set_bundle_path (self, g_value_get_string (value));
      break;
    case PROP_AGENT_TIMEOUT:
      cloche_vm_set_agent_timeout (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_vm_class_init (ClocheVmClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->constructed = cloche_vm_constructed;
  object_class->dispose = cloche_vm_dispose;
  object_class->finalize = cloche_vm_finalize;
  object_class->get_property = cloche_vm_get_property;
  object_class->set_property = cloche_vm_set_property;

  properties[PROP_BUNDLE_PATH] =
    g_param_spec_string ("bundle-path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, CLOCHE_TYPE_VM_STATE,
                       CLOCHE_VM_STATE_STOPPED, ro);
  properties[PROP_STATE_REASON] =
    g_param_spec_string ("state-reason", NULL, NULL, NULL, ro);
  properties[PROP_LAST_ERROR] =
    g_param_spec_boxed ("last-error", NULL, NULL, G_TYPE_ERROR,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONSOLE_TAIL] =
    g_param_spec_boxed ("console-tail", NULL, NULL, G_TYPE_STRV, ro);
  properties[PROP_ACCELERATOR] =
    g_param_spec_string ("accelerator", NULL, NULL, NULL, ro);
  properties[PROP_ACCELERATOR_REASON] =
    g_param_spec_string ("accelerator-reason", NULL, NULL, NULL, ro);
  properties[PROP_BOOTED_AT] =
    g_param_spec_int64 ("booted-at", NULL, NULL, 0, G_MAXINT64, 0, ro);
  properties[PROP_AGENT_TIMEOUT] =
    g_param_spec_uint ("agent-timeout", NULL, NULL, 1, G_MAXUINT, DEFAULT_AGENT_TIMEOUT_S,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cloche_vm_init (ClocheVm *self)
{
  self->agent_timeout_s = DEFAULT_AGENT_TIMEOUT_S;
  g_queue_init (&self->start_tasks);
  g_queue_init (&self->stop_tasks);
}

ClocheVm *
cloche_vm_new (const char *bundle_path)
{
  g_return_val_if_fail (bundle_path != NULL, NULL);

  return g_object_new (CLOCHE_TYPE_VM, "bundle-path", bundle_path, NULL);
}

/* NULL when the guest has no way out. */
const char *
cloche_vm_get_egress_relay (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), NULL);
  return self->egress_relay;
}

const char *
cloche_vm_get_egress_socket (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), NULL);
  return self->egress_socket;
}
