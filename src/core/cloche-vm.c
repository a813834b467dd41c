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
 *
 * QEMU is watched, not waited for (issue 14): its stderr goes to qemu.log
 * and is quoted whenever it explains a failure; its run state is followed
 * (STOP and GUEST_PANICKED, then query-status), so a guest QEMU stopped
 * with "internal-error" is a crash at once; and a KVM boot whose guest
 * prints nothing for KVM_STALL_S is a KVM that hangs. Which accelerator:
 * the policy's mode, the KVM probe (cloche-accel.c, run once per daemon in
 * a thread, its verdict kept per host boot) and what happened to earlier
 * boots. In "auto", a boot under KVM that fails before its agent answers
 * boots again at once under TCG, and KVM is not tried again until the
 * daemon restarts or the mode changes; if TCG fails too, KVM was not the
 * cause and is not held against it.
 *
 * Warm wake (issue 21, cloche-vm-warm.c): the guest's RAM is a memfd of
 * the daemon's; an idle stop (cloche_vm_idle_stop_async) of a VM with no
 * folder saves it, and the next start restores it instead of booting,
 * after the same check of the boot files. "running" still means the
 * agent answered. The struct and the steps both files take are in
 * cloche-vm-private.h.
 */
#define _GNU_SOURCE   /* memfd_create */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cloche-accel.h"
#include "cloche-error.h"
#include "cloche-file.h"
#include "cloche-json.h"
#include "cloche-memory.h"
#include "cloche-qemu-log.h"
#include "cloche-qmp-client.h"
#include "cloche-vm-private.h"

#define DEFAULT_AGENT_TIMEOUT_S 120
#define SHUTDOWN_GRACE_S        10
#define CONSOLE_TAIL_LINES      12
#define CONSOLE_TAIL_BYTES      8192
/* Under KVM a working guest prints on its console well within a second. */
#define KVM_STALL_S             10
#define EXIT_GRACE_MS           1000

enum {
  PROP_0,
  PROP_BUNDLE_PATH,
  PROP_STATE,
  PROP_STATE_REASON,
  PROP_CONSOLE_TAIL,
  PROP_ACCELERATOR,
  PROP_ACCELERATOR_REASON,
  PROP_ACCELERATOR_FALLBACK,
  PROP_QEMU_TAIL,
  PROP_BOOTED_AT,
  PROP_AGENT_TIMEOUT,
  PROP_LAST_ERROR,
  PROP_PREPARING,
  PROP_SNAPSHOT_SIZE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  FOLDER_LOST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClocheVm, cloche_vm, G_TYPE_OBJECT)

/* Kept with its code, so that the doctor can tell a dead agent from a
 * crash without reading sentences. */
static void
cloche_vm_set_last_error (ClocheVm     *self,
                          const GError *error)
{
  g_clear_error (&self->last_error);
  self->last_error = g_error_copy (error);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_ERROR]);
}

/* State */

/* g_set_str() arrived in GLib 2.76; Debian 12 has 2.74. */
gboolean
_cloche_vm_set_str (char       **target,
                    const char  *value)
{
  if (g_strcmp0 (*target, value) == 0)
    return FALSE;
  g_free (*target);
  *target = g_strdup (value);
  return TRUE;
}

void
_cloche_vm_set_state (ClocheVm      *self,
                      ClocheVmState  state,
                      const char    *reason)
{
  g_object_freeze_notify (G_OBJECT (self));
  if (_cloche_vm_set_str (&self->state_reason, reason))
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
      self->restored_from = 0;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BOOTED_AT]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

static char *
cloche_vm_console_path (ClocheVm *self)
{
  return g_build_filename (self->run_dir, "console.log", NULL);
}

/* The end of the guest console: what the guest said last is what explains
 * a hang or a panic. */
static GStrv
cloche_vm_read_console_tail (ClocheVm *self)
{
  g_autofree char *path = cloche_vm_console_path (self);
  g_autoptr(GBytes) tail = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) lines = NULL;
  gsize length = 0;
  guint n, first;

  /* The guest writes as much as it likes: only the end is read. */
  tail = cloche_file_read_tail (path, CONSOLE_TAIL_BYTES, NULL);
  /* Empty, as a restored guest's is until it prints (its data is NULL). */
  if (tail == NULL || g_bytes_get_size (tail) == 0)
    return g_strv_builder_end (builder);
  contents = g_strndup (g_bytes_get_data (tail, &length), g_bytes_get_size (tail));
  lines = g_strsplit (contents, "\n", -1);
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
cloche_vm_capture_console_tail (ClocheVm *self)
{
  g_strfreev (self->console_tail);
  g_clear_error (&self->last_error);
  self->console_tail = cloche_vm_read_console_tail (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONSOLE_TAIL]);
}

static char *
cloche_vm_console_summary (ClocheVm *self)
{
  g_autofree char *joined = NULL;

  if (self->console_tail == NULL || self->console_tail[0] == NULL)
    return g_strdup ("the guest console is empty");
  joined = g_strjoinv ("\n  ", self->console_tail);
  return g_strdup_printf ("the guest console ended with:\n  %s", joined);
}

/* Tasks waiting on a transition */

static void
cloche_vm_complete_tasks (GQueue       *tasks,
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
cloche_vm_drop_channels (ClocheVm *self)
{
  /* Detached first: closing fails their pending calls, and those callbacks
   * must find that the channels are no longer ours. */
  g_autoptr(ClocheQmpClient) qmp = g_steal_pointer (&self->qmp);
  g_autoptr(ClocheGuestAgent) agent = g_steal_pointer (&self->agent);
  g_autoptr(ClocheVmFolders) folders = g_steal_pointer (&self->folders);

  if (qmp != NULL)
    {
      g_signal_handlers_disconnect_by_data (qmp, self);
      cloche_qmp_client_close (qmp);
    }
  if (agent != NULL)
    cloche_guest_agent_close (agent);
  /* The next boot mounts its folders afresh; no virtiofsd stays behind. */
  if (folders != NULL)
    cloche_vm_folders_close (folders);
  g_clear_handle_id (&self->stop_timer, g_source_remove);
  g_clear_handle_id (&self->stall_timer, g_source_remove);
  g_clear_handle_id (&self->kill_timer, g_source_remove);
  g_clear_handle_id (&self->save_timer, g_source_remove);
}

/* QEMU deletes its overlay as it exits; one that was killed leaves it
 * behind (vl.XXXXXX, its temporary file name), so whatever is left goes
 * when the process is gone, and before each boot. */
static void
cloche_vm_remove_overlays (ClocheVm *self)
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
 * QEMU behind; cloche_vm_process_exited_cb() finishes the job. The first reason
 * wins: what follows a kill is its echo. */
void
_cloche_vm_kill_for (ClocheVm     *self,
                     const GError *error)
{
  if (self->failure == NULL)
    self->failure = g_error_copy (error);
  g_clear_handle_id (&self->kill_timer, g_source_remove);
  self->kill_sent = TRUE;
  g_subprocess_force_exit (self->process);
}

static gboolean
cloche_vm_kill_timer_cb (gpointer user_data)
{
  ClocheVm *self = user_data;

  self->kill_timer = 0;
  _cloche_vm_kill_for (self, self->failure);
  return G_SOURCE_REMOVE;
}

/* A channel that breaks is mostly QEMU dying: it gets a second to exit
 * by itself, so that its exit status and last words, not the broken
 * channel, say why. */
static void
cloche_vm_kill_soon (ClocheVm     *self,
                     const GError *error)
{
  if (self->failure == NULL)
    self->failure = g_error_copy (error);
  if (self->kill_timer == 0 && !self->kill_sent)
    self->kill_timer = g_timeout_add (EXIT_GRACE_MS, cloche_vm_kill_timer_cb, self);
}

/* Accelerator */

static gboolean
cloche_vm_set_str_prop (ClocheVm    *self,
                        char       **target,
                        const char  *value,
                        guint        prop)
{
  if (!_cloche_vm_set_str (target, value))
    return FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
  return TRUE;
}

/* What the next boot uses, and the sentence saying why: from the mode,
 * the probe's verdict and what happened to earlier boots. */
static void
cloche_vm_update_accelerator (ClocheVm *self)
{
  g_autofree char *reason = NULL;
  const char *accelerator = "tcg";
  gboolean fallback = self->accel_mode == CLOCHE_ACCEL_MODE_AUTO && self->kvm_failure != NULL;

  if (self->accel_mode == CLOCHE_ACCEL_MODE_TCG)
    reason = g_strdup (_("the policy asks for software emulation (vm.accelerator: tcg), "
                         "10-50x slower than KVM"));
  else if (self->accel_mode == CLOCHE_ACCEL_MODE_KVM)
    {
      accelerator = "kvm";
      reason = self->kvm_failure != NULL
        ? g_strdup_printf (_("the policy asks for KVM (vm.accelerator: kvm); the last boot with "
                             "it failed: %s"), self->kvm_failure)
        : g_strdup_printf (_("the policy asks for KVM (vm.accelerator: kvm); %s"),
                           self->probe_done ? self->probe_reason : _("not probed yet"));
    }
  else if (self->kvm_failure != NULL)
    reason = g_strdup_printf (_("KVM is present but cannot run guests here (%s); using TCG, "
                                "10-50x slower"), self->kvm_failure);
  else if (!self->probe_done)
    {
      accelerator = "";
      reason = g_strdup (_("checking whether KVM can run a guest here"));
    }
  else
    {
      accelerator = self->probe_usable ? "kvm" : "tcg";
      reason = g_strdup (self->probe_reason);
    }
  g_object_freeze_notify (G_OBJECT (self));
  cloche_vm_set_str_prop (self, &self->accelerator, accelerator, PROP_ACCELERATOR);
  cloche_vm_set_str_prop (self, &self->accelerator_reason, reason, PROP_ACCELERATOR_REASON);
  if (self->accelerator_fallback != fallback)
    {
      self->accelerator_fallback = fallback;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACCELERATOR_FALLBACK]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

static void
cloche_vm_probed_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  ClocheVm *self = user_data;
  int code = 0;

  /* A VM disposed meanwhile is gone: the task holds no reference to it, so
   * that a VM nobody booted never waits for its probe to be finalized. */
  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;
  g_clear_pointer (&self->probe_reason, g_free);
  self->probe_usable = cloche_accel_probe_finish (result, &code, &self->probe_reason);
  self->probe_done = TRUE;
  g_debug ("KVM probe: %s", self->probe_reason);
  cloche_vm_update_accelerator (self);
  if (self->launch_after_probe && !g_queue_is_empty (&self->start_tasks)
      && (self->state == CLOCHE_VM_STATE_STOPPED || self->state == CLOCHE_VM_STATE_CRASHED))
    _cloche_vm_launch (self);
  self->launch_after_probe = FALSE;
}

/* Failures: what QEMU and the guest said, and whether KVM is to blame */

static void
cloche_vm_capture_qemu_tail (ClocheVm *self)
{
  g_autofree char *path = g_build_filename (self->run_dir, "qemu.log", NULL);

  g_strfreev (self->qemu_tail);
  self->qemu_tail = cloche_qemu_log_read (path, self->qemu_log_start);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_QEMU_TAIL]);
}

/* One line for StateReason: the cause and QEMU's most telling line. */
static char *
cloche_vm_one_line_reason (ClocheVm     *self,
                           const GError *cause)
{
  g_autofree char *said = cloche_qemu_log_summary ((const char * const *) self->qemu_tail);

  if (said == NULL)
    return g_strdup (cause->message);
  return g_strdup_printf ("%s: %s", cause->message, said);
}

/* The one line first (the doctor's finding, the CLI's error), then all
 * QEMU said when there is more, then the guest's console: "the guest
 * console is empty" only when QEMU said nothing either. */
static GError *
cloche_vm_explain (ClocheVm     *self,
                   const GError *cause)
{
  g_autofree char *first = cloche_vm_one_line_reason (self, cause);
  g_autoptr(GString) text = g_string_new (first);
  guint said = self->qemu_tail != NULL ? g_strv_length (self->qemu_tail) : 0;
  gboolean quiet_console = self->console_tail == NULL || self->console_tail[0] == NULL;

  if (said > 1)
    {
      g_string_append_printf (text, "\n%s", _("QEMU said:"));
      for (guint i = 0; i < said; i++)
        g_string_append_printf (text, "\n  %s", self->qemu_tail[i]);
    }
  if (!quiet_console || said == 0)
    {
      g_autofree char *console = cloche_vm_console_summary (self);

      g_string_append_printf (text, "; %s", console);
    }
  return g_error_new_literal (cause->domain, cause->code, text->str);
}

static char *
cloche_vm_describe_exit (GSubprocess *process)
{
  if (g_subprocess_get_if_signaled (process))
    {
      int sig = g_subprocess_get_term_sig (process);

      return g_strdup_printf ("QEMU was killed by signal %d (%s)", sig, g_strsignal (sig));
    }
  return g_strdup_printf ("QEMU exited with status %d", g_subprocess_get_exit_status (process));
}

/* A signal someone else sends to end a process (kill, the OOM killer, a
 * logout), as opposed to one QEMU raises on itself (SIGSEGV, SIGABRT). */
static gboolean
cloche_vm_killed_from_outside (ClocheVm    *self,
                               GSubprocess *process)
{
  int sig;

  if (!g_subprocess_get_if_signaled (process) || self->kill_sent)
    return FALSE;
  sig = g_subprocess_get_term_sig (process);
  return sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGHUP;
}

static gboolean
cloche_vm_console_says_panic (ClocheVm *self)
{
  for (guint i = 0; self->console_tail != NULL && self->console_tail[i]; i++)
    if (strstr (self->console_tail[i], "Kernel panic") != NULL)
      return TRUE;
  return FALSE;
}

/* Our SIGKILL, or QEMU's own end (it may have died just before we sent it:
 * then its exit says more than the broken channel that made us send it). */
static gboolean
cloche_vm_killed_by_us (ClocheVm    *self,
                        GSubprocess *process)
{
  return self->kill_sent && g_subprocess_get_if_signaled (process)
         && g_subprocess_get_term_sig (process) == SIGKILL;
}

/* Injected faults that run QEMU under TCG while the VM believes it is
 * KVM, so that a machine without KVM can show what follows a KVM failure. */
static gboolean
cloche_vm_fault_runs_tcg (void)
{
  ClocheAccelFault fault = cloche_accel_get_fault ();

  return fault == CLOCHE_ACCEL_FAULT_INTERNAL_ERROR || fault == CLOCHE_ACCEL_FAULT_STALL
         || fault == CLOCHE_ACCEL_FAULT_TCG_AS_KVM;
}

static gboolean
cloche_vm_boot_used_kvm (ClocheVm *self)
{
  return g_strcmp0 (self->boot_accelerator, "kvm") == 0;
}

/* A boot under KVM that QEMU ended (an abort, an exit, a stopped or silent
 * guest) is KVM's failure; a guest that ran but whose agent never answered
 * or spoke garbage is the bundle's, whatever runs it. */
static gboolean
cloche_vm_blames_kvm (ClocheVm     *self,
                      const GError *cause,
                      gboolean      booting)
{
  if (!cloche_vm_boot_used_kvm (self))
    return FALSE;
  if (g_error_matches (cause, CLOCHE_ERROR, CLOCHE_ERROR_KVM_UNUSABLE))
    return TRUE;
  /* Killed from outside: no fault of KVM's, whatever the moment. */
  if (g_error_matches (cause, CLOCHE_ERROR, CLOCHE_ERROR_VM_KILLED))
    return FALSE;
  return booting && !g_error_matches (cause, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_TIMEOUT)
         && !g_error_matches (cause, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL);
}

static void
cloche_vm_report_crash (ClocheVm     *self,
                        const GError *cause)
{
  g_autoptr(GError) full = cloche_vm_explain (self, cause);
  g_autofree char *reason = cloche_vm_one_line_reason (self, cause);

  _cloche_vm_set_state (self, CLOCHE_VM_STATE_CRASHED, reason);
  cloche_vm_set_last_error (self, full);
  cloche_vm_complete_tasks (&self->start_tasks, full);
}

/* Remembered until the daemon restarts or the mode changes. */
static void
cloche_vm_remember_kvm_failure (ClocheVm     *self,
                                const GError *cause)
{
  g_autofree char *said = cloche_qemu_log_summary ((const char * const *) self->qemu_tail);

  g_free (self->kvm_failure);
  self->kvm_failure = said != NULL ? g_strdup_printf ("QEMU: %s", said)
                                   : g_strdup (cause->message);
  cloche_vm_update_accelerator (self);
}

static void
cloche_vm_fall_back_to_tcg (ClocheVm     *self,
                            const GError *cause)
{
  cloche_vm_remember_kvm_failure (self, cause);
  g_message ("KVM cannot run the guest here (%s); booting again under TCG", self->kvm_failure);
  _cloche_vm_set_state (self, CLOCHE_VM_STATE_STARTING,
                        _("KVM could not run the guest; booting again under TCG"));
  _cloche_vm_launch (self);
  self->fallback_boot = self->process != NULL;
}

/* A boot or a guest that failed under KVM: KVM_UNUSABLE, and in "auto" a
 * boot that never reached its agent starts again under TCG. */
static void
cloche_vm_handle_kvm_failure (ClocheVm     *self,
                              const GError *cause,
                              gboolean      booting)
{
  g_autoptr(GError) kvm = NULL;

  if (g_error_matches (cause, CLOCHE_ERROR, CLOCHE_ERROR_KVM_UNUSABLE))
    kvm = g_error_copy (cause);
  else
    kvm = g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_KVM_UNUSABLE,
                       _("KVM cannot run the guest here: %s"), cause->message);
  if (self->accel_mode == CLOCHE_ACCEL_MODE_AUTO && booting)
    {
      cloche_vm_fall_back_to_tcg (self, kvm);
      return;
    }
  /* "auto" uses TCG from the next boot on; "kvm" keeps trying, and says so. */
  cloche_vm_remember_kvm_failure (self, kvm);
  cloche_vm_report_crash (self, kvm);
}

/* A restore that failed, whatever the step: logged, and the same start
 * boots again at once, cold (the snapshot was deleted when it was read). */
static void
cloche_vm_restore_fell_through (ClocheVm     *self,
                                const GError *failure,
                                GSubprocess  *process)
{
  g_autoptr(GError) why = NULL;
  g_autofree char *said = cloche_qemu_log_summary ((const char * const *) self->qemu_tail);

  if (failure != NULL && cloche_vm_killed_by_us (self, process))
    why = said != NULL ? g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_SNAPSHOT_UNUSABLE, "%s (QEMU: %s)",
                                      failure->message, said)
                       : g_error_copy (failure);
  else
    why = g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_SNAPSHOT_UNUSABLE,
                       _("QEMU could not restore the saved VM: %s"),
                       said != NULL ? said : _("it exited"));
  self->restore_boot = FALSE;
  g_clear_pointer (&self->restoring, cloche_vm_snapshot_free);
  _cloche_vm_warm_refused (self, why);
  _cloche_vm_set_state (self, CLOCHE_VM_STATE_STARTING,
                        _("The saved VM could not be restored; booting cold"));
  _cloche_vm_launch (self);
}

/* QEMU is gone and we did not ask it to go. */
static void
cloche_vm_unexpected_exit_cb (ClocheVm    *self,
                              GSubprocess *process)
{
  g_autoptr(GError) failure = g_steal_pointer (&self->failure);
  g_autoptr(GError) cause = NULL;
  gboolean booting = self->state == CLOCHE_VM_STATE_STARTING;
  gboolean fallback_boot = self->fallback_boot;
  gboolean clean = g_subprocess_get_if_exited (process)
                   && g_subprocess_get_exit_status (process) == 0;

  self->fallback_boot = FALSE;
  cloche_vm_capture_console_tail (self);
  cloche_vm_capture_qemu_tail (self);
  if (booting && self->restore_boot)
    {
      cloche_vm_restore_fell_through (self, failure, process);
      return;
    }
  if (failure != NULL && cloche_vm_killed_by_us (self, process))
    cause = g_steal_pointer (&failure);
  else if (clean && !booting && !cloche_vm_console_says_panic (self))
    {
      _cloche_vm_set_state (self, CLOCHE_VM_STATE_STOPPED, "the guest shut itself down");
      return;
    }
  else
    {
      g_autofree char *why = cloche_vm_describe_exit (process);

      cause = g_error_new_literal (CLOCHE_ERROR, cloche_vm_killed_from_outside (self, process)
                                                 ? CLOCHE_ERROR_VM_KILLED
                                                 : CLOCHE_ERROR_VM_CRASHED, why);
    }
  if (cloche_vm_blames_kvm (self, cause, booting))
    {
      cloche_vm_handle_kvm_failure (self, cause, booting);
      return;
    }
  /* TCG failed as KVM did: the fault is elsewhere (a bundle QEMU cannot
   * boot), so KVM is not held against this host. */
  if (fallback_boot && booting)
    {
      g_clear_pointer (&self->kvm_failure, g_free);
      cloche_vm_update_accelerator (self);
    }
  cloche_vm_report_crash (self, cause);
}

static void
cloche_vm_process_exited_cb (GObject      *object,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  g_autoptr(ClocheVm) self = user_data;
  g_autoptr(GSubprocess) process = NULL;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  if (G_SUBPROCESS (object) != self->process)
    return;
  /* Ours now: a fallback boot puts its own process in its place. */
  process = g_steal_pointer (&self->process);

  cloche_vm_drop_channels (self);
  cloche_vm_remove_overlays (self);
  if (self->ram_fd >= 0)
    close (g_steal_fd (&self->ram_fd));
  if (self->state_fd >= 0)
    close (g_steal_fd (&self->state_fd));
  self->can_save = self->saving = self->woke_warm = FALSE;
  /* A restore stopped half-way is over; its snapshot was used up. */
  g_clear_pointer (&self->restoring, cloche_vm_snapshot_free);
  if (self->state == CLOCHE_VM_STATE_STOPPING)
    {
      g_autofree char *reason = g_steal_pointer (&self->stop_reason);

      self->restore_boot = FALSE;
      g_clear_error (&self->failure);
      _cloche_vm_set_state (self, CLOCHE_VM_STATE_STOPPED, reason);
    }
  else
    cloche_vm_unexpected_exit_cb (self, process);

  cloche_vm_complete_tasks (&self->stop_tasks, NULL);
  /* Someone asked to start while we were stopping. */
  if (!g_queue_is_empty (&self->start_tasks) && self->process == NULL
      && self->state != CLOCHE_VM_STATE_STARTING)
    _cloche_vm_launch (self);
}

/* Watching QEMU's run state */

static gboolean
cloche_vm_is_crash_state (const char *status)
{
  return g_strcmp0 (status, "internal-error") == 0 || g_strcmp0 (status, "guest-panicked") == 0
         || g_strcmp0 (status, "io-error") == 0;
}

static void
cloche_vm_status_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(ClocheVm) self = user_data;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  const char *status = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, NULL);
  if (CLOCHE_QMP_CLIENT (object) != self->qmp || reply == NULL)
    return;
  if (JSON_NODE_HOLDS_OBJECT (reply))
    status = json_object_get_string_member_with_default (json_node_get_object (reply),
                                                         "status", NULL);
  /* Injected fault: the run state a KVM emulation failure leaves, faked on
   * top of the "paused" our own stop gave. */
  if (self->injected_stop && g_strcmp0 (status, "paused") == 0)
    status = "internal-error";
  if (!cloche_vm_is_crash_state (status))
    return;
  error = g_error_new (CLOCHE_ERROR, cloche_vm_boot_used_kvm (self) ? CLOCHE_ERROR_KVM_UNUSABLE
                                                          : CLOCHE_ERROR_VM_CRASHED,
                       _("QEMU stopped the guest (run state %s)"), status);
  _cloche_vm_kill_for (self, error);
}

static void
cloche_vm_query_run_state (ClocheVm *self)
{
  cloche_qmp_client_execute_async (self->qmp, "query-status", NULL, NULL, cloche_vm_status_cb,
                                   g_object_ref (self));
}

static void
cloche_vm_qmp_event_cb (ClocheVm   *self,
                        const char *name,
                        JsonObject *data)
{
  if (g_str_equal (name, "STOP") || g_str_equal (name, "GUEST_PANICKED"))
    cloche_vm_query_run_state (self);
  else if (g_str_equal (name, "MIGRATION") && data != NULL)
    _cloche_vm_warm_on_migration (self, cloche_json_get_string (data, "status", ""));
}

/* A KVM that hangs (seen on hosts whose KVM is emulated in part): the
 * vCPU "runs" and nothing ever comes out. */
static gboolean
cloche_vm_stall_check_cb (gpointer user_data)
{
  ClocheVm *self = user_data;
  g_autofree char *console = cloche_vm_console_path (self);
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  self->stall_timer = 0;
  if (self->state != CLOCHE_VM_STATE_STARTING
      || (g_stat (console, &st) == 0 && st.st_size > 0))
    return G_SOURCE_REMOVE;
  error = g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_KVM_UNUSABLE,
                       _("under KVM the guest wrote nothing on its console within %u s"),
                       (guint) KVM_STALL_S);
  _cloche_vm_kill_for (self, error);
  return G_SOURCE_REMOVE;
}

/* Boot */

static void
cloche_vm_agent_synced_cb (GObject      *object,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  g_autoptr(ClocheVm) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!cloche_guest_agent_sync_finish (CLOCHE_GUEST_AGENT (object), result, &error))
    {
      if (CLOCHE_GUEST_AGENT (object) == self->agent)
        cloche_vm_kill_soon (self, error);
      return;
    }
  if (CLOCHE_GUEST_AGENT (object) != self->agent)
    return;
  if (self->restore_boot)
    {
      _cloche_vm_warm_set_clock (self);
      return;
    }
  _cloche_vm_become_running (self);
}

void
_cloche_vm_become_running (ClocheVm *self)
{
  self->restored_from = self->restore_boot && self->restoring != NULL
                        ? self->restoring->booted_at : 0;
  g_clear_pointer (&self->restoring, cloche_vm_snapshot_free);
  /* tools/bench/warm-wake reads this line. */
  if (self->restore_boot)
    g_message ("Warm wake: the VM was restored from its snapshot");
  self->woke_warm = self->restore_boot;
  self->restore_boot = FALSE;
  g_clear_handle_id (&self->stall_timer, g_source_remove);
  self->fallback_boot = FALSE;
  self->booted_at = g_get_real_time ();
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BOOTED_AT]);
  _cloche_vm_set_state (self, CLOCHE_VM_STATE_RUNNING, NULL);
  cloche_vm_complete_tasks (&self->start_tasks, NULL);
}

static void
cloche_vm_qmp_ready_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(ClocheVm) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!cloche_qmp_client_handshake_finish (CLOCHE_QMP_CLIENT (object), result, &error))
    {
      if (CLOCHE_QMP_CLIENT (object) == self->qmp)
        cloche_vm_kill_soon (self, error);
      return;
    }
  if (CLOCHE_QMP_CLIENT (object) != self->qmp)
    return;

  if (cloche_vm_fault_runs_tcg () && cloche_vm_boot_used_kvm (self)
      && cloche_accel_get_fault () != CLOCHE_ACCEL_FAULT_TCG_AS_KVM)
    {
      /* Injected fault: stop the guest as KVM's emulation failure does
       * (or as a hanging KVM looks: nothing more happens). */
      self->injected_stop = cloche_accel_get_fault () == CLOCHE_ACCEL_FAULT_INTERNAL_ERROR;
      cloche_qmp_client_execute_async (self->qmp, "stop", NULL, NULL, NULL, NULL);
    }
  /* Events flow only from now on: a guest stopped before this one shows
   * in its run state. */
  cloche_vm_query_run_state (self);
  _cloche_vm_warm_query_version (self);
  cloche_guest_agent_sync_async (self->agent, self->agent_timeout_s, NULL,
                                 cloche_vm_agent_synced_cb, g_object_ref (self));
}

static GIOStream *
cloche_vm_stream_from_fd (int      fd,
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
cloche_vm_child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* QEMU writes the console, its log and the disk overlay there: never
 * through a link someone left in the folder's place (cloche-file.c). */
static gboolean
cloche_vm_make_private_dir (const char  *path,
                            GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  if (cloche_file_make_private_dir (path, &local_error))
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Cannot keep the VM's files: %s"),
               local_error->message);
  return FALSE;
}

static GSubprocess *
cloche_vm_spawn_qemu (ClocheVm         *self,
                      const char      **argv,
                      ClocheBundle     *bundle,
                      int               qmp_fd,
                      int               agent_fd,
                      ClocheVmWarmFds  *warm,
                      GError          **error)
{
  static const int boot_fds[CLOCHE_BUNDLE_N_BOOT_FILES] = {
    CLOCHE_VM_KERNEL_FD, CLOCHE_VM_INITRD_FD, CLOCHE_VM_ROOT_FD,
  };
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autofree char *log = g_build_filename (self->run_dir, "qemu.log", NULL);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *time = g_date_time_format_iso8601 (now);
  g_autofree char *header = g_strdup_printf ("QEMU started %s, accelerator %s", time,
                                             self->boot_accelerator);
  int log_fd = cloche_qemu_log_open (log, header, &self->qemu_log_start, error);

  if (log_fd < 0)
    {
      close (qmp_fd);
      close (agent_fd);
      _cloche_vm_warm_close_fds (warm);
      return NULL;
    }
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  /* A disk bundle's per-boot overlay (snapshot=on) goes where QEMU makes
   * its temporary files: a folder of our own on disk, not the runtime
   * folder, which is tmpfs on a desktop and would hold the guest's writes
   * in RAM. */
  g_subprocess_launcher_setenv (launcher, "TMPDIR", self->overlay_dir, TRUE);
  /* Appended, so that a fallback boot keeps what the KVM boot said. */
  g_subprocess_launcher_take_stderr_fd (launcher, log_fd);
  g_subprocess_launcher_take_fd (launcher, qmp_fd, CLOCHE_VM_QMP_FD);
  g_subprocess_launcher_take_fd (launcher, agent_fd, CLOCHE_VM_AGENT_FD);
  _cloche_vm_warm_take_fds (launcher, warm);
  /* The boot files as they were checked: QEMU opens /dev/fd/N. */
  for (guint i = 0; i < CLOCHE_BUNDLE_N_BOOT_FILES; i++)
    {
      int fd = cloche_bundle_steal_boot_fd (bundle, i);

      if (fd >= 0)
        g_subprocess_launcher_take_fd (launcher, fd, boot_fds[i]);
    }
  g_subprocess_launcher_set_child_setup (launcher, cloche_vm_child_setup, NULL, NULL);
  return g_subprocess_launcher_spawnv (launcher, argv, error);
}

char *
_cloche_vm_find_qemu (GError **error)
{
  char *qemu = g_find_program_in_path ("qemu-system-x86_64");

  if (qemu == NULL)
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_QEMU_MISSING,
                 _("qemu-system-x86_64 is not installed or not in PATH: "
                   "install QEMU (on Debian: apt install qemu-system-x86)"));
  return qemu;
}

/* The options of this boot; @qemu and @console belong to the caller. */
void
_cloche_vm_fill_options (ClocheVm               *self,
                         ClocheVmCommandOptions *options,
                         const char             *qemu,
                         const char             *console)
{
  memset (options, 0, sizeof *options);
  options->qemu = qemu;
  options->accelerator = cloche_vm_fault_runs_tcg () ? "tcg" : self->boot_accelerator;
  options->console_path = console;
  options->memory_mib = cloche_memory_choose_mib (self->memory_mib);
  options->cpus = MAX (self->cpus, 1);
  options->folder_ports = CLOCHE_VM_FOLDER_PORTS;
  options->egress_relay = self->egress_relay;
  options->egress_socket = self->egress_socket;
  options->boot_fds = TRUE;
  options->ram_fd = TRUE;
}

static GStrv
cloche_vm_build_command (ClocheVm      *self,
                         ClocheBundle  *bundle,
                         gboolean       incoming,
                         GError       **error)
{
  g_autofree char *qemu = _cloche_vm_find_qemu (error);
  g_autofree char *console = cloche_vm_console_path (self);
  ClocheVmCommandOptions options;

  if (qemu == NULL)
    return NULL;
  if (!cloche_vm_make_private_dir (self->run_dir, error)
      || !cloche_vm_make_private_dir (self->overlay_dir, error))
    return NULL;
  g_unlink (console);
  cloche_vm_remove_overlays (self);

  _cloche_vm_fill_options (self, &options, qemu, console);
  options.incoming = incoming;
  return cloche_vm_command_build (bundle, &options);
}

/* This boot's folders tell; whoever holds sessions listens to the VM. */
static void
cloche_vm_folder_lost_cb (ClocheVm   *self,
                          const char *guest_dir,
                          const char *host_path,
                          const char *why)
{
  g_signal_emit (self, signals[FOLDER_LOST], 0, guest_dir, host_path, why);
}

static gboolean
cloche_vm_start_process (ClocheVm      *self,
                         ClocheBundle  *bundle,
                         GError       **error)
{
  g_auto(GStrv) argv = NULL;
  g_autoptr(GIOStream) qmp_stream = NULL;
  g_autoptr(GIOStream) agent_stream = NULL;
  int qmp[2], agent[2];
  ClocheVmWarmFds warm;

  argv = cloche_vm_build_command (self, bundle, self->restoring != NULL, error);
  if (argv == NULL || !_cloche_vm_warm_make_fds (self, &warm, error))
    return FALSE;
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) != 0
      || socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, agent) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot create the channels to QEMU: %s"), g_strerror (errno));
      _cloche_vm_warm_close_fds (&warm);
      return FALSE;
    }

  self->process = cloche_vm_spawn_qemu (self, (const char **) argv, bundle, qmp[1], agent[1], &warm,
                                        error);
  qmp_stream = cloche_vm_stream_from_fd (qmp[0], NULL);
  agent_stream = cloche_vm_stream_from_fd (agent[0], NULL);
  if (self->process == NULL)
    return FALSE;

  self->qmp = cloche_qmp_client_new (qmp_stream);
  g_signal_connect_object (self->qmp, "event", G_CALLBACK (cloche_vm_qmp_event_cb), self,
                           G_CONNECT_SWAPPED);
  self->agent = cloche_guest_agent_new (agent_stream);
  self->folders = cloche_vm_folders_new (self->qmp, self->agent, self->run_dir,
                                         CLOCHE_VM_FOLDER_PORTS);
  g_signal_connect_object (self->folders, "folder-lost", G_CALLBACK (cloche_vm_folder_lost_cb),
                           self,
                           G_CONNECT_SWAPPED);
  return TRUE;
}

/* Before QEMU starts, in a worker thread: the bundle loaded and its boot
 * files opened and checked against their sha256 (cloche-bundle.c), which
 * can take a second when a file changed since it last matched. */
static void
cloche_vm_check_bundle_thread (GTask        *task,
                               gpointer      source_object,
                               gpointer      task_data,
                               GCancellable *cancellable)
{
  ClocheVm *self = source_object;
  g_autoptr(ClocheBundle) bundle = NULL;
  GError *error = NULL;
  guint n_hashed = 0;
  gint64 start = g_get_monotonic_time ();

  bundle = cloche_bundle_load (task_data, &error);
  if (bundle == NULL
      || !cloche_bundle_open_boot_files (bundle, self->stamps_path, cancellable, &n_hashed,
                                         &error))
    {
      g_task_return_error (task, error);
      return;
    }
  /* tools/bench/bundle-check reads this line. */
  g_debug ("Bundle %s checked before the boot in %.3f s: %u file(s) hashed, the rest "
           "unchanged", (char *) task_data, (g_get_monotonic_time () - start) / 1e6, n_hashed);
  g_task_return_pointer (task, g_steal_pointer (&bundle), g_object_unref);
}

void
_cloche_vm_fail_launch (ClocheVm     *self,
                        const GError *error)
{
  /* Nothing ran, so nothing crashed: the state stays, the callers learn
   * why; only a fallback boot, already "starting", has to end. */
  cloche_vm_drop_channels (self);
  g_clear_object (&self->process);
  if (self->state == CLOCHE_VM_STATE_STARTING)
    _cloche_vm_set_state (self, CLOCHE_VM_STATE_CRASHED, error->message);
  cloche_vm_set_last_error (self, error);
  cloche_vm_complete_tasks (&self->start_tasks, error);
}

/* The bundle checked (and the snapshot read): preparing is over. */
void
_cloche_vm_end_checking (ClocheVm  *self,
                         GError   **error)
{
  g_clear_object (&self->checking);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PREPARING]);
  if (*error != NULL && g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_error (error);
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_VM_NOT_RUNNING,
                   _("The VM was stopped before it started booting"));
    }
}

static void
cloche_vm_bundle_checked_cb (GObject      *object,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  ClocheVm *self = CLOCHE_VM (object);
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheBundle) bundle = g_task_propagate_pointer (G_TASK (result), &error);

  if (bundle != NULL && _cloche_vm_warm_try_restore (self, bundle))
    return;
  _cloche_vm_end_checking (self, &error);
  if (error != NULL)
    {
      _cloche_vm_fail_launch (self, error);
      return;
    }
  _cloche_vm_boot (self, bundle);
}

void
_cloche_vm_boot (ClocheVm     *self,
                 ClocheBundle *bundle)
{
  g_autoptr(GError) error = NULL;

  self->restore_boot = self->restoring != NULL;
  self->next_guest_uid = self->restoring != NULL ? self->restoring->next_guest_uid
                                                 : CLOCHE_VM_FIRST_SESSION_UID;
  if (!cloche_vm_start_process (self, bundle, &error))
    {
      g_clear_pointer (&self->restoring, cloche_vm_snapshot_free);
      self->restore_boot = FALSE;
      _cloche_vm_fail_launch (self, error);
      return;
    }
  /* Injected fault tcg-as-kvm: TCG on a loaded machine may print nothing
   * for longer than a KVM that works ever does. */
  if (cloche_vm_boot_used_kvm (self) && cloche_accel_get_fault () != CLOCHE_ACCEL_FAULT_TCG_AS_KVM)
    self->stall_timer = g_timeout_add_seconds (KVM_STALL_S, cloche_vm_stall_check_cb, self);

  /* A fallback boot keeps saying why it boots again. */
  _cloche_vm_set_state (self, CLOCHE_VM_STATE_STARTING,
                        self->state == CLOCHE_VM_STATE_STARTING ? self->state_reason : NULL);
  g_subprocess_wait_async (self->process, NULL, cloche_vm_process_exited_cb, g_object_ref (self));
  cloche_qmp_client_handshake_async (self->qmp, NULL, cloche_vm_qmp_ready_cb, g_object_ref (self));
}

/* Each boot starts with nothing said yet. */
static void
cloche_vm_forget_last_boot (ClocheVm *self)
{
  g_clear_pointer (&self->console_tail, g_strfreev);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONSOLE_TAIL]);
  g_clear_pointer (&self->qemu_tail, g_strfreev);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_QEMU_TAIL]);
  g_clear_error (&self->failure);
  self->kill_sent = FALSE;
  self->injected_stop = FALSE;
  self->fallback_boot = FALSE;
}

void
_cloche_vm_launch (ClocheVm *self)
{
  g_autoptr(GTask) task = NULL;

  /* "auto" waits for the probe's verdict (milliseconds, once). */
  if (self->accel_mode == CLOCHE_ACCEL_MODE_AUTO && !self->probe_done)
    {
      self->launch_after_probe = TRUE;
      return;
    }
  cloche_vm_forget_last_boot (self);
  _cloche_vm_set_str (&self->boot_accelerator, self->accelerator);

  self->checking = g_cancellable_new ();
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PREPARING]);
  task = g_task_new (self, self->checking, cloche_vm_bundle_checked_cb, NULL);
  g_task_set_source_tag (task, _cloche_vm_launch);
  g_task_set_task_data (task, g_strdup (self->bundle_path), g_free);
  g_task_run_in_thread (task, cloche_vm_check_bundle_thread);
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
  if ((self->state == CLOCHE_VM_STATE_STOPPED || self->state == CLOCHE_VM_STATE_CRASHED)
      && self->checking == NULL)
    _cloche_vm_launch (self);
  /* checking the bundle or starting: it joins the boot; stopping: it boots
   * once QEMU has exited. */
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

gboolean
_cloche_vm_on_quit_slow (gpointer user_data)
{
  ClocheVm *self = user_data;

  self->stop_timer = 0;
  g_warning ("QEMU did not quit within %d s; killing it", CLOCHE_VM_QUIT_GRACE_S);
  g_subprocess_force_exit (self->process);
  return G_SOURCE_REMOVE;
}

static gboolean
cloche_vm_shutdown_slow_cb (gpointer user_data)
{
  ClocheVm *self = user_data;

  g_debug ("The guest did not power off within %d s; asking QEMU to quit", SHUTDOWN_GRACE_S);
  if (self->qmp != NULL)
    cloche_qmp_client_execute_async (self->qmp, "quit", NULL, NULL, NULL, NULL);
  self->stop_timer = g_timeout_add_seconds (CLOCHE_VM_QUIT_GRACE_S, _cloche_vm_on_quit_slow, self);
  return G_SOURCE_REMOVE;
}

static void
cloche_vm_begin_shutdown (ClocheVm   *self,
                          const char *reason)
{
  g_autoptr(GError) error = NULL;
  gboolean booting = self->state == CLOCHE_VM_STATE_STARTING;

  _cloche_vm_set_str (&self->stop_reason, reason);
  _cloche_vm_set_state (self, CLOCHE_VM_STATE_STOPPING, reason);
  if (booting)
    {
      /* No agent to ask yet: a guest that is half up has nothing to save. */
      error = g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_VM_NOT_RUNNING,
                           _("The VM was stopped (%s) before it finished booting"), reason);
      cloche_vm_complete_tasks (&self->start_tasks, error);
      g_subprocess_force_exit (self->process);
      return;
    }
  cloche_guest_agent_shutdown (self->agent);
  self->stop_timer = g_timeout_add_seconds (SHUTDOWN_GRACE_S, cloche_vm_shutdown_slow_cb, self);
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
      /* A boot still checking its bundle ends there: its callers hear so. */
      if (self->checking != NULL)
        g_cancellable_cancel (self->checking);
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_queue_push_tail (&self->stop_tasks, g_steal_pointer (&task));
  if (self->state != CLOCHE_VM_STATE_STOPPING)
    cloche_vm_begin_shutdown (self, reason);
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
cloche_vm_check_running (ClocheVm    *self,
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
cloche_vm_folder_mounted_cb (GObject      *object,
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
 * @folder: a host folder, pinned when it was checked
 * @readonly: whether the guest may only read it (enforced on the host)
 * @guest_dir: where it appears in the guest; made if missing
 * @guest_uid: the guest user whose files there are the daemon user's (a
 *   session's user); 0 for the guest's root
 *
 * Hot-plugs @folder into the running VM over virtiofs, after checking its
 * path still leads to it (%CLOCHE_ERROR_FOLDER_CHANGED if not). A stop or
 * a crash forgets every folder: mount them again after the next start.
 */
void
cloche_vm_mount_folder_async (ClocheVm            *self,
                              ClochePinnedFolder  *folder,
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
  g_return_if_fail (CLOCHE_IS_PINNED_FOLDER (folder) && guest_dir != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_vm_mount_folder_async);
  what = g_strdup_printf ("mount %s", cloche_pinned_folder_get_path (folder));
  if (!cloche_vm_check_running (self, task, what))
    return;
  cloche_vm_folders_mount_async (self->folders, folder, readonly, guest_dir, guest_uid,
                                 cancellable,
                                 cloche_vm_folder_mounted_cb, g_steal_pointer (&task));
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
cloche_vm_folder_unmounted_cb (GObject      *object,
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
  if (!cloche_vm_check_running (self, task, what))
    return;
  cloche_vm_folders_unmount_async (self->folders, guest_dir, cancellable,
                                   cloche_vm_folder_unmounted_cb, g_steal_pointer (&task));
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
 * cloche_vm_get_preparing:
 *
 * Returns: whether a boot is under way before QEMU starts (the bundle's
 *   files are being checked): the VM is in use though still stopped
 */
gboolean
cloche_vm_get_preparing (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), FALSE);
  return self->checking != NULL;
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

/**
 * cloche_vm_get_accelerator_fallback:
 *
 * Returns: whether the VM uses TCG because KVM failed a boot here (a
 *   notice for people, not an error: the sandbox works, slower)
 */
gboolean
cloche_vm_get_accelerator_fallback (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), FALSE);
  return self->accelerator_fallback;
}

/**
 * cloche_vm_get_kvm_failure:
 *
 * Returns: (nullable): why KVM failed a boot since the daemon started (or
 *   since the mode last changed), in QEMU's words where it said any
 */
const char *
cloche_vm_get_kvm_failure (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), NULL);
  return self->kvm_failure;
}

/**
 * cloche_vm_get_qemu_tail:
 *
 * Returns: (transfer none): the last lines QEMU wrote on its stderr when
 *   the last boot failed or the VM crashed; empty otherwise
 */
const char * const *
cloche_vm_get_qemu_tail (ClocheVm *self)
{
  static const char * const empty[] = { NULL };

  g_return_val_if_fail (CLOCHE_IS_VM (self), NULL);
  return self->qemu_tail != NULL ? (const char * const *) self->qemu_tail : empty;
}

/**
 * cloche_vm_set_accelerator_mode:
 * @mode: the policy's vm.accelerator
 *
 * From the next boot on. A new mode is the user asking again: a KVM
 * failure remembered so far is forgotten.
 */
void
cloche_vm_set_accelerator_mode (ClocheVm        *self,
                                ClocheAccelMode  mode)
{
  g_return_if_fail (CLOCHE_IS_VM (self));

  if (self->accel_mode == mode)
    return;
  self->accel_mode = mode;
  g_clear_pointer (&self->kvm_failure, g_free);
  cloche_vm_update_accelerator (self);
}

gint64
cloche_vm_get_booted_at (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), 0);
  return self->booted_at;
}

/**
 * cloche_vm_get_restored_from:
 *
 * Returns: the cloche_vm_get_booted_at() of the boot whose snapshot this
 *   running boot was restored from (the guest as that boot left it), or 0
 *   after a cold boot
 */
gint64
cloche_vm_get_restored_from (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), 0);
  return self->restored_from;
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

  /* Once per daemon, in a thread: the verdict is kept per host boot. */
  self->kvm_device = g_strdup (g_getenv ("CLOCHE_KVM_DEVICE"));
  cloche_vm_update_accelerator (self);
  self->probe_cancellable = g_cancellable_new ();
  cloche_accel_probe_async (self->kvm_device, self->probe_cancellable, cloche_vm_probed_cb, self);
  self->run_dir = g_strdup_printf ("%s/cloche/vm-%d", g_get_user_runtime_dir (), (int) getpid ());
  self->overlay_dir = g_strdup_printf ("%s/cloche/vm-%d", g_get_user_cache_dir (), (int) getpid ());
  self->stamps_path = g_build_filename (g_get_user_cache_dir (), "cloche", "bundle-stamps", NULL);
  self->snapshot_dir = cloche_vm_snapshot_dir ();
  cloche_vm_measure_snapshot (self);
}

static void
cloche_vm_dispose (GObject *object)
{
  ClocheVm *self = CLOCHE_VM (object);

  if (self->process != NULL)
    g_subprocess_force_exit (self->process);
  g_clear_object (&self->process);
  cloche_vm_drop_channels (self);
  if (self->checking != NULL)
    g_cancellable_cancel (self->checking);
  g_cancellable_cancel (self->probe_cancellable);
  g_clear_object (&self->probe_cancellable);

  G_OBJECT_CLASS (cloche_vm_parent_class)->dispose (object);
}

static void
cloche_vm_finalize (GObject *object)
{
  ClocheVm *self = CLOCHE_VM (object);

  g_free (self->bundle_path);
  g_free (self->run_dir);
  cloche_vm_remove_overlays (self);
  g_rmdir (self->overlay_dir);   /* empty now; gone if never made */
  g_free (self->overlay_dir);
  g_free (self->stamps_path);
  g_free (self->snapshot_dir);
  g_free (self->snapshot_key);
  g_free (self->warm_failure);
  g_free (self->qemu_version);
  g_clear_pointer (&self->restoring, cloche_vm_snapshot_free);
  if (self->ram_fd >= 0)
    close (self->ram_fd);
  if (self->state_fd >= 0)
    close (self->state_fd);
  g_free (self->accelerator);
  g_free (self->accelerator_reason);
  g_free (self->egress_relay);
  g_free (self->egress_socket);
  g_free (self->state_reason);
  g_free (self->stop_reason);
  g_clear_error (&self->failure);
  g_free (self->kvm_device);
  g_free (self->probe_reason);
  g_free (self->kvm_failure);
  g_free (self->boot_accelerator);
  g_strfreev (self->qemu_tail);
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
    case PROP_ACCELERATOR_FALLBACK:
      g_value_set_boolean (value, cloche_vm_get_accelerator_fallback (self));
      break;
    case PROP_QEMU_TAIL:
      g_value_set_boxed (value, cloche_vm_get_qemu_tail (self));
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
    case PROP_PREPARING:
      g_value_set_boolean (value, self->checking != NULL);
      break;
    case PROP_SNAPSHOT_SIZE:
      g_value_set_uint64 (value, self->snapshot_size);
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
  /* The bundle is being checked for a boot (state unchanged, QEMU not yet
   * started): the VM is in use, though not yet "starting". */
  properties[PROP_PREPARING] =
    g_param_spec_boolean ("preparing", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SNAPSHOT_SIZE] =
    g_param_spec_uint64 ("snapshot-size", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONSOLE_TAIL] =
    g_param_spec_boxed ("console-tail", NULL, NULL, G_TYPE_STRV, ro);
  properties[PROP_ACCELERATOR] =
    g_param_spec_string ("accelerator", NULL, NULL, NULL, ro);
  properties[PROP_ACCELERATOR_REASON] =
    g_param_spec_string ("accelerator-reason", NULL, NULL, NULL, ro);
  properties[PROP_ACCELERATOR_FALLBACK] =
    g_param_spec_boolean ("accelerator-fallback", NULL, NULL, FALSE, ro);
  properties[PROP_QEMU_TAIL] =
    g_param_spec_boxed ("qemu-tail", NULL, NULL, G_TYPE_STRV, ro);
  properties[PROP_BOOTED_AT] =
    g_param_spec_int64 ("booted-at", NULL, NULL, 0, G_MAXINT64, 0, ro);
  properties[PROP_AGENT_TIMEOUT] =
    g_param_spec_uint ("agent-timeout", NULL, NULL, 1, G_MAXUINT, DEFAULT_AGENT_TIMEOUT_S,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * ClocheVm::folder-lost:
   * @guest_dir: where the folder is mounted in the guest
   * @host_path: the host folder
   * @why: how its virtiofsd ended
   *
   * A mounted folder's virtiofsd died while the VM ran: its folder in the
   * guest hangs until the VM stops.
   */
  signals[FOLDER_LOST] = g_signal_new ("folder-lost", G_TYPE_FROM_CLASS (klass),
                                       G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                                       G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
}

static void
cloche_vm_init (ClocheVm *self)
{
  self->ram_fd = self->state_fd = -1;
  self->warm_wake = TRUE;
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

/**
 * cloche_vm_get_snapshot_size:
 *
 * Returns: the bytes the warm-wake snapshot takes on disk (allocated), as
 *   last measured; 0 when there is none
 */
guint64
cloche_vm_get_snapshot_size (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), 0);

  return self->snapshot_size;
}

/**
 * cloche_vm_measure_snapshot:
 *
 * Measures the warm-wake snapshot again: the VM does so whenever it writes
 * or uses one up; whoever else deletes it (the bundle's removal) calls it.
 */
void
cloche_vm_measure_snapshot (ClocheVm *self)
{
  guint64 size;

  g_return_if_fail (CLOCHE_IS_VM (self));

  size = cloche_vm_snapshot_size (self->snapshot_dir);
  if (size == self->snapshot_size)
    return;
  self->snapshot_size = size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SNAPSHOT_SIZE]);
}

/**
 * cloche_vm_take_guest_uid:
 *
 * Gives out the next session user of this boot. A restored boot goes on
 * from where the saved one was: a user of a session closed before the
 * save is never given to another.
 *
 * Returns: %FALSE with %CLOCHE_ERROR_ISOLATION_FAILED when all are given out
 */
gboolean
cloche_vm_take_guest_uid (ClocheVm  *self,
                          guint     *uid,
                          GError   **error)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), FALSE);

  if (self->next_guest_uid < CLOCHE_VM_FIRST_SESSION_UID)
    self->next_guest_uid = CLOCHE_VM_FIRST_SESSION_UID;
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
