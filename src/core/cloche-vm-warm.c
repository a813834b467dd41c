/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Warm wake (issue 21): the idle VM saved, and restored on the next start
 * instead of a boot. The VM's own life (cloche-vm.c) meets it at four
 * points: a boot's check of the bundle asks whether to restore
 * (_cloche_vm_warm_try_restore), a boot hands QEMU its RAM memfd and, for
 * a restore, the saved device state (_cloche_vm_warm_make_fds), QMP's
 * greeting and the agent's first answer lead here (QEMU's version, the
 * incoming migration, the guest's clock), and an idle stop saves
 * (cloche_vm_idle_stop_async).
 *
 * Its rules:
 * - The guest's RAM is always a memfd the daemon holds a descriptor of, so
 *   that a save copies it (cloche-vm-snapshot.c) without QEMU writing it.
 *   A restore copies the saved RAM into it while QEMU starts; QEMU loads
 *   the device state (and the guest runs) only after the copy.
 * - A snapshot is tied to its boot: the command line's shape, the QEMU
 *   binary and the bundle (the key), and QEMU's version as it says it
 *   itself. It is read once and deleted; anything that does not fit or
 *   fails on the way makes that same start boot cold, the reason kept
 *   (cloche_vm_get_warm_failure) and logged. Never a hang: every step is
 *   a QMP reply, an event or a timer, and a failed step kills this QEMU.
 * - "running" after a restore means what it means after a boot: the agent
 *   answered, and the guest's clock was set (it stood still while saved).
 * - A save only of a running VM with no folder attached (a folder is a
 *   device QEMU's state would hold on to). Whatever fails on the way, QEMU
 *   quits all the same, nothing that looks like a snapshot stays, and the
 *   VM stops.
 */
#define _GNU_SOURCE   /* memfd_create */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-json.h"
#include "cloche-memory.h"
#include "cloche-vm-private.h"

/* Restore */

/* A restored guest's clock stood still while it was saved. */
#define CLOCK_TIMEOUT_S 10

static void
cloche_vm_warm_clock_set_cb (GObject      *object,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  g_autoptr(ClocheVm) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = NULL;

  reply = cloche_guest_agent_execute_finish (CLOCHE_GUEST_AGENT (object), result, &error);
  if (CLOCHE_GUEST_AGENT (object) != self->agent)
    return;
  if (reply == NULL)
    {
      g_autoptr(GError) why = g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_SNAPSHOT_UNUSABLE,
                                           _("The restored guest's clock could not be set: %s"),
                                           error->message);

      _cloche_vm_kill_for (self, why);
      return;
    }
  _cloche_vm_become_running (self);
}

static void
cloche_vm_warm_set_clock_by_agent (ClocheVm *self)
{
  g_autoptr(JsonObject) args = json_object_new ();

  json_object_set_int_member (args, "time", g_get_real_time () * 1000);
  cloche_guest_agent_execute_async (self->agent, "guest-set-time", args, NULL,
                                    cloche_vm_warm_clock_set_cb,
                                    g_object_ref (self));
}

static void
cloche_vm_warm_clock_helper_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(ClocheVm) self = user_data;
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;
  int status = -1;

  if (!cloche_guest_agent_exec_finish (CLOCHE_GUEST_AGENT (object), result, &status, &out,
                                       &err, &error))
    status = -1;
  if (CLOCHE_GUEST_AGENT (object) != self->agent)
    return;
  if (status == 0)
    {
      _cloche_vm_become_running (self);
      return;
    }
  /* A bundle older than `cloche-guest clock`: the agent's way. */
  g_debug ("Warm wake: cloche-guest clock ended with %d (%s): guest-set-time instead", status,
           error != NULL ? error->message : "an older bundle?");
  cloche_vm_warm_set_clock_by_agent (self);
}

/* `cloche-guest clock`, not the agent's guest-set-time, which runs
 * `hwclock -w` after setting the clock: busybox's waits for the next
 * second to write the RTC, half a second of every warm wake on average
 * (issue 21; docs/performance.md). The guest's RTC is QEMU's, which
 * follows the host's clock by itself. */
void
_cloche_vm_warm_set_clock (ClocheVm *self)
{
  g_autofree char *now = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () * 1000);
  const char *argv[] = { CLOCHE_VM_GUEST_HELPER, "clock", now, NULL };
  static const char * const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };

  cloche_guest_agent_exec_async (self->agent, argv, env, CLOCK_TIMEOUT_S, NULL,
                                 CLOCHE_EXEC_NONE, NULL, cloche_vm_warm_clock_helper_cb,
                                 g_object_ref (self));
}

/* A restore: the same QEMU that saved it, then the device state read
 * from CLOCHE_VM_STATE_IN_FD (x-ignore-shared: the RAM is the memfd
 * already), then "cont" on the MIGRATION event that says it completed. */
static void
cloche_vm_warm_restore_failed (ClocheVm     *self,
                               const char   *what,
                               const GError *error)
{
  g_autoptr(GError) why = g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_SNAPSHOT_UNUSABLE,
                                       "%s: %s", what, error->message);

  _cloche_vm_kill_for (self, why);
}

static void
cloche_vm_warm_incoming_started_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(ClocheVm) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (CLOCHE_QMP_CLIENT (object) == self->qmp && reply == NULL)
    cloche_vm_warm_restore_failed (self, _("QEMU refused to restore the VM"), error);
}

static JsonObject *
cloche_vm_warm_capabilities (void)
{
  static const char *const names[] = { "x-ignore-shared", "events" };
  JsonArray *list = json_array_new ();
  JsonObject *args = json_object_new ();

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      JsonObject *cap = json_object_new ();

      json_object_set_string_member (cap, "capability", names[i]);
      json_object_set_boolean_member (cap, "state", TRUE);
      json_array_add_object_element (list, cap);
    }
  json_object_set_array_member (args, "capabilities", list);
  return args;
}

static void
cloche_vm_warm_start_incoming (ClocheVm *self)
{
  g_autoptr(JsonObject) caps = cloche_vm_warm_capabilities ();
  g_autoptr(JsonObject) args = json_object_new ();
  g_autofree char *uri = g_strdup_printf ("fd:%d", CLOCHE_VM_STATE_IN_FD);

  cloche_qmp_client_execute_async (self->qmp, "migrate-set-capabilities", caps, NULL, NULL, NULL);
  json_object_set_string_member (args, "uri", uri);
  cloche_qmp_client_execute_async (self->qmp, "migrate-incoming", args, NULL,
                                   cloche_vm_warm_incoming_started_cb, g_object_ref (self));
}

/* "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)": what QEMU says it is. */
static char *
cloche_vm_warm_qemu_version_text (JsonNode *reply)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (reply) ? json_node_get_object (reply) : NULL;
  JsonNode *node = object ? json_object_get_member (object, "qemu") : NULL;
  JsonObject *qemu = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

  if (qemu == NULL)
    return g_strdup ("?");
  return g_strdup_printf ("%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT " %s",
                          cloche_json_get_int (qemu, "major", -1),
                          cloche_json_get_int (qemu, "minor", -1),
                          cloche_json_get_int (qemu, "micro", -1),
                          cloche_json_get_string (object, "package", ""));
}

static void
cloche_vm_warm_qemu_version_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(ClocheVm) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *version = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (CLOCHE_QMP_CLIENT (object) != self->qmp)
    return;
  if (reply == NULL)
    {
      /* A cold boot can still run; it just cannot be saved. */
      self->can_save = FALSE;
      if (self->restore_boot)
        cloche_vm_warm_restore_failed (self, _("QEMU did not say its version"), error);
      return;
    }
  version = cloche_vm_warm_qemu_version_text (reply);
  _cloche_vm_set_str (&self->qemu_version, version);
  if (!self->restore_boot)
    return;
  if (self->restoring == NULL || g_strcmp0 (version, self->restoring->qemu_version) != 0)
    {
      g_autoptr(GError) why = g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_SNAPSHOT_UNUSABLE,
                                           _("it was saved by QEMU %s, this is QEMU %s"),
                                           self->restoring ? self->restoring->qemu_version : "?",
                                           version);

      _cloche_vm_kill_for (self, why);
      return;
    }
  /* The RAM copy may still run (cloche_vm_warm_filled_cb goes on then). */
  self->incoming_ready = TRUE;
  if (self->restore_fill == 0)
    cloche_vm_warm_start_incoming (self);
}

void
_cloche_vm_warm_query_version (ClocheVm *self)
{
  cloche_qmp_client_execute_async (self->qmp, "query-version", NULL, NULL,
                                   cloche_vm_warm_qemu_version_cb,
                                   g_object_ref (self));
}

/* The boot's descriptors */

void
_cloche_vm_warm_take_fds (GSubprocessLauncher *launcher,
                          ClocheVmWarmFds     *fds)
{
  if (fds->ram >= 0)
    g_subprocess_launcher_take_fd (launcher, fds->ram, CLOCHE_VM_RAM_FD);
  if (fds->state_in >= 0)
    g_subprocess_launcher_take_fd (launcher, fds->state_in, CLOCHE_VM_STATE_IN_FD);
  fds->ram = fds->state_in = -1;
}

void
_cloche_vm_warm_close_fds (ClocheVmWarmFds *fds)
{
  if (fds->ram >= 0)
    close (fds->ram);
  if (fds->state_in >= 0)
    close (fds->state_in);
  fds->ram = fds->state_in = -1;
}

/* Whether this boot restores */

/* A snapshot fits this boot when its machine would be built alike: the
 * command line with the names that differ from one daemon to the next
 * (console, relay, socket) left out, the QEMU binary and the bundle. */
static char *
cloche_vm_warm_make_snapshot_key (ClocheVm      *self,
                                  ClocheBundle  *bundle,
                                  GError       **error)
{
  g_autofree char *qemu = _cloche_vm_find_qemu (error);
  g_autofree char *identity = NULL;
  g_auto(GStrv) argv = NULL;
  ClocheVmCommandOptions options;

  if (qemu == NULL)
    return NULL;
  _cloche_vm_fill_options (self, &options, qemu, "console");
  if (options.egress_relay != NULL)
    options.egress_relay = options.egress_socket = "egress";
  identity = cloche_bundle_dup_identity (bundle);
  argv = cloche_vm_command_build (bundle, &options);
  return cloche_vm_snapshot_key ((const char * const *) argv, identity, error);
}

/* A restore fills the guest's memfd in a worker thread while QEMU starts
 * (issue 21: QEMU's start and QMP's greeting took 0.08 s of a warm open
 * after a 0.23 s copy); the device state is loaded, and the guest runs,
 * only once the copy is done. A copy that fails makes this start boot
 * cold, as any other failed restore. */
typedef struct
{
  int ram_file_fd;
  int ram_fd;
} FillJob;

static void
cloche_vm_warm_fill_job_free (FillJob *job)
{
  close (job->ram_file_fd);
  close (job->ram_fd);
  g_free (job);
}

static void
cloche_vm_warm_fill_thread (GTask        *task,
                            gpointer      source_object,
                            gpointer      task_data,
                            GCancellable *cancellable)
{
  FillJob *job = task_data;
  GError *error = NULL;

  if (cloche_vm_snapshot_fill (job->ram_file_fd, job->ram_fd, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
cloche_vm_warm_filled_cb (GObject      *object,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  ClocheVm *self = CLOCHE_VM (object);
  g_autoptr(GError) error = NULL;
  gboolean filled = g_task_propagate_boolean (G_TASK (result), &error);

  /* A restore that ended meanwhile, or a later start's copy. */
  if (GPOINTER_TO_UINT (user_data) != self->restore_fill || !self->restore_boot)
    return;
  self->restore_fill = 0;
  if (!filled)
    {
      cloche_vm_warm_restore_failed (self, _("The saved VM's memory could not be read"), error);
      return;
    }
  if (self->incoming_ready)
    cloche_vm_warm_start_incoming (self);
}

static void
cloche_vm_warm_start_fill (ClocheVm *self,
                           int       ram_file_fd,
                           int       ram_fd)
{
  static guint next_fill = 1;
  g_autoptr(GTask) task = NULL;
  FillJob *job = g_new0 (FillJob, 1);

  job->ram_file_fd = ram_file_fd;
  job->ram_fd = ram_fd;
  self->restore_fill = next_fill++;
  self->incoming_ready = FALSE;
  task = g_task_new (self, NULL, cloche_vm_warm_filled_cb, GUINT_TO_POINTER (self->restore_fill));
  g_task_set_source_tag (task, cloche_vm_warm_start_fill);
  g_task_set_task_data (task, job, (GDestroyNotify) cloche_vm_warm_fill_job_free);
  g_task_run_in_thread (task, cloche_vm_warm_fill_thread);
}

/* The guest's RAM for this boot: the restored one (its copy started),
 * else a new memfd of its size. The daemon keeps a descriptor of its own
 * (a save copies it). */
gboolean
_cloche_vm_warm_make_fds (ClocheVm         *self,
                          ClocheVmWarmFds  *fds,
                          GError          **error)
{
  guint64 size = (guint64) cloche_memory_choose_mib (self->memory_mib) * 1024 * 1024;

  fds->ram = fds->state_in = -1;
  self->restore_fill = 0;
  if (self->restoring != NULL)
    {
      fds->ram = g_steal_fd (&self->restoring->ram_fd);
      fds->state_in = g_steal_fd (&self->restoring->state_fd);
      cloche_vm_warm_start_fill (self, g_steal_fd (&self->restoring->ram_file_fd),
                                 fcntl (fds->ram, F_DUPFD_CLOEXEC, 3));
    }
  else if ((fds->ram = memfd_create ("cloche-guest-ram", MFD_CLOEXEC)) < 0
           || ftruncate (fds->ram, size) != 0)
    {
      int saved = errno;

      _cloche_vm_warm_close_fds (fds);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot make the guest's memory: %s"), g_strerror (saved));
      return FALSE;
    }
  self->ram_fd = fcntl (fds->ram, F_DUPFD_CLOEXEC, 3);
  self->can_save = self->snapshot_key != NULL && self->ram_fd >= 0;
  return TRUE;
}

void
_cloche_vm_warm_refused (ClocheVm     *self,
                         const GError *why)
{
  _cloche_vm_set_str (&self->warm_failure, why->message);
  g_message ("Warm wake: booting cold: %s", why->message);
}

static void
cloche_vm_warm_load_snapshot_thread (GTask        *task,
                                     gpointer      source_object,
                                     gpointer      task_data,
                                     GCancellable *cancellable)
{
  ClocheVm *self = source_object;
  GError *error = NULL;
  ClocheVmSnapshot *snapshot = cloche_vm_snapshot_load (self->snapshot_dir, task_data, &error);

  if (snapshot == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, snapshot, (GDestroyNotify) cloche_vm_snapshot_free);
}

static void
cloche_vm_warm_snapshot_loaded_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  ClocheVm *self = CLOCHE_VM (object);
  g_autoptr(ClocheBundle) bundle = user_data;
  g_autoptr(GError) error = NULL;

  self->restoring = g_task_propagate_pointer (G_TASK (result), &error);
  /* Read once, then deleted (whether it fitted or not). */
  cloche_vm_measure_snapshot (self);
  if (self->restoring == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        _cloche_vm_warm_refused (self, error);
      g_clear_error (&error);
    }
  _cloche_vm_end_checking (self, &error);
  if (error != NULL)
    {
      g_clear_pointer (&self->restoring, cloche_vm_snapshot_free);
      _cloche_vm_fail_launch (self, error);
      return;
    }
  _cloche_vm_boot (self, bundle);
}

/* Whether this boot restores: with warm wake on and a snapshot there, it
 * is checked (and its RAM read) in a worker thread; the key is made in
 * any case, so that this boot can be saved. */
gboolean
_cloche_vm_warm_try_restore (ClocheVm     *self,
                             ClocheBundle *bundle)
{
  g_autoptr(GError) error = NULL;
  GTask *task;

  g_clear_pointer (&self->snapshot_key, g_free);
  if (!self->warm_wake)
    return FALSE;
  self->snapshot_key = cloche_vm_warm_make_snapshot_key (self, bundle, &error);
  if (self->snapshot_key == NULL)
    {
      _cloche_vm_warm_refused (self, error);
      return FALSE;
    }
  if (!cloche_vm_snapshot_exists (self->snapshot_dir))
    return FALSE;
  task = g_task_new (self, self->checking, cloche_vm_warm_snapshot_loaded_cb,
                     g_object_ref (bundle));
  g_task_set_source_tag (task, _cloche_vm_warm_try_restore);
  g_task_set_task_data (task, g_strdup (self->snapshot_key), g_free);
  g_task_run_in_thread (task, cloche_vm_warm_load_snapshot_thread);
  g_object_unref (task);
  return TRUE;
}

/* Save, at an idle stop: QEMU stops the guest and writes its device
 * state to the state file (x-ignore-shared: not the RAM), the RAM memfd is
 * copied in a worker thread while QEMU still holds the guest paused, then
 * QEMU quits. */

#define SAVE_TIMEOUT_S 30

static void
cloche_vm_warm_quit_after_save (ClocheVm *self)
{
  g_clear_handle_id (&self->save_timer, g_source_remove);
  self->saving = FALSE;
  if (self->qmp != NULL)
    cloche_qmp_client_execute_async (self->qmp, "quit", NULL, NULL, NULL, NULL);
  g_clear_handle_id (&self->stop_timer, g_source_remove);
  self->stop_timer = g_timeout_add_seconds (CLOCHE_VM_QUIT_GRACE_S, _cloche_vm_on_quit_slow, self);
}

static void
cloche_vm_warm_save_failed (ClocheVm   *self,
                            const char *why)
{
  g_warning ("Warm wake: the idle VM could not be saved (%s); it stops and the next open "
             "boots cold", why);
  cloche_vm_snapshot_remove (self->snapshot_dir);
  cloche_vm_measure_snapshot (self);
  cloche_vm_warm_quit_after_save (self);
}

typedef struct
{
  char                 *dir;
  int                   ram_fd;
  int                   state_fd;
  ClocheVmSnapshotMeta  meta;
  char                 *key;
  char                 *qemu_version;
  gint64                started;
} SaveJob;

static void
cloche_vm_warm_save_job_free (SaveJob *job)
{
  close (job->ram_fd);
  close (job->state_fd);
  g_free (job->dir);
  g_free (job->key);
  g_free (job->qemu_version);
  g_free (job);
}

static void
cloche_vm_warm_save_thread (GTask        *task,
                            gpointer      source_object,
                            gpointer      task_data,
                            GCancellable *cancellable)
{
  SaveJob *job = task_data;
  GError *error = NULL;

  if (cloche_vm_snapshot_save (job->dir, job->ram_fd, job->state_fd, &job->meta, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
cloche_vm_warm_saved_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  ClocheVm *self = CLOCHE_VM (object);
  SaveJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autofree char *size = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      cloche_vm_warm_save_failed (self, error->message);
      return;
    }
  cloche_vm_measure_snapshot (self);
  size = g_format_size (self->snapshot_size);
  /* tools/bench/warm-wake reads this line. */
  g_message ("Warm wake: the idle VM was saved in %.3f s (%s on disk)",
             (g_get_monotonic_time () - job->started) / 1e6, size);
  cloche_vm_warm_quit_after_save (self);
}

static void
cloche_vm_warm_write_snapshot (ClocheVm *self)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, cloche_vm_warm_saved_cb, NULL);
  SaveJob *job = g_new0 (SaveJob, 1);

  job->dir = g_strdup (self->snapshot_dir);
  job->ram_fd = fcntl (self->ram_fd, F_DUPFD_CLOEXEC, 3);
  job->state_fd = fcntl (self->state_fd, F_DUPFD_CLOEXEC, 3);
  job->key = g_strdup (self->snapshot_key);
  job->qemu_version = g_strdup (self->qemu_version);
  job->meta.key = job->key;
  job->meta.qemu_version = job->qemu_version;
  job->meta.next_guest_uid = self->next_guest_uid;
  job->meta.booted_at = self->saving_boot;
  job->started = g_get_monotonic_time ();
  g_task_set_task_data (task, job, (GDestroyNotify) cloche_vm_warm_save_job_free);
  g_task_run_in_thread (task, cloche_vm_warm_save_thread);
}

void
_cloche_vm_warm_on_migration (ClocheVm   *self,
                              const char *status)
{
  if (self->saving && g_str_equal (status, "completed"))
    {
      g_clear_handle_id (&self->save_timer, g_source_remove);
      cloche_vm_warm_write_snapshot (self);
    }
  else if (self->saving && (g_str_equal (status, "failed") || g_str_equal (status, "cancelled")))
    cloche_vm_warm_save_failed (self, _("QEMU could not write its state"));
  else if (self->restore_boot && g_str_equal (status, "completed"))
    cloche_qmp_client_execute_async (self->qmp, "cont", NULL, NULL, NULL, NULL);
  else if (self->restore_boot && g_str_equal (status, "failed"))
    {
      g_autoptr(GError) why = g_error_new_literal (CLOCHE_ERROR, CLOCHE_ERROR_SNAPSHOT_UNUSABLE,
                                                   _("QEMU could not restore the saved VM"));

      _cloche_vm_kill_for (self, why);
    }
}

static gboolean
cloche_vm_warm_save_slow_cb (gpointer user_data)
{
  ClocheVm *self = user_data;

  self->save_timer = 0;
  cloche_vm_warm_save_failed (self, _("QEMU did not write its state in time"));
  return G_SOURCE_REMOVE;
}

/* QEMU 7.2 writes an outgoing migration to a descriptor only by a name
 * given with getfd, which comes with the command (SCM_RIGHTS). */
#define SAVE_FD_NAME "cloche-warm-state"

static void
cloche_vm_warm_begin_save (ClocheVm *self)
{
  g_autoptr(JsonObject) caps = cloche_vm_warm_capabilities ();
  g_autoptr(JsonObject) name = json_object_new ();
  g_autoptr(JsonObject) args = json_object_new ();
  g_autoptr(GError) error = NULL;

  self->saving = TRUE;
  self->saving_boot = self->booted_at;
  _cloche_vm_set_str (&self->stop_reason, "idle");
  _cloche_vm_set_state (self, CLOCHE_VM_STATE_STOPPING, "idle");
  self->state_fd = cloche_vm_snapshot_open_state (self->snapshot_dir, &error);
  if (self->state_fd < 0)
    {
      cloche_vm_warm_save_failed (self, error->message);
      return;
    }
  cloche_qmp_client_execute_async (self->qmp, "migrate-set-capabilities", caps, NULL, NULL, NULL);
  cloche_qmp_client_execute_async (self->qmp, "stop", NULL, NULL, NULL, NULL);
  json_object_set_string_member (name, "fdname", SAVE_FD_NAME);
  cloche_qmp_client_execute_with_fd_async (self->qmp, "getfd", name,
                                           fcntl (self->state_fd, F_DUPFD_CLOEXEC, 3),
                                           NULL, NULL, NULL);
  json_object_set_string_member (args, "uri", "fd:" SAVE_FD_NAME);
  cloche_qmp_client_execute_async (self->qmp, "migrate", args, NULL, NULL, NULL);
  self->save_timer = g_timeout_add_seconds (SAVE_TIMEOUT_S, cloche_vm_warm_save_slow_cb, self);
}

/**
 * cloche_vm_idle_stop_async:
 *
 * Stops the VM because nobody uses it. With warm wake on, a running VM
 * with no folder attached is saved first (the next start restores it),
 * else it shuts down as cloche_vm_stop_async() with reason "idle" does.
 */
void
cloche_vm_idle_stop_async (ClocheVm            *self,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (CLOCHE_IS_VM (self));

  if (!self->warm_wake || !self->can_save || self->state != CLOCHE_VM_STATE_RUNNING
      || self->qemu_version == NULL || !cloche_vm_folders_is_empty (self->folders))
    {
      cloche_vm_stop_async (self, "idle", NULL, callback, user_data);
      return;
    }
  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, cloche_vm_stop_async);
  g_queue_push_tail (&self->stop_tasks, task);
  cloche_vm_warm_begin_save (self);
}

/* Policy and what the last start did */

/**
 * cloche_vm_set_warm_wake:
 *
 * Policy vm.warm_wake: save the VM at an idle stop and restore it on the
 * next start. Turned off, the snapshot there is deleted.
 */
void
cloche_vm_set_warm_wake (ClocheVm *self,
                         gboolean  warm_wake)
{
  g_return_if_fail (CLOCHE_IS_VM (self));

  self->warm_wake = warm_wake;
  if (!warm_wake)
    {
      cloche_vm_snapshot_remove (self->snapshot_dir);
      cloche_vm_measure_snapshot (self);
    }
}

gboolean
cloche_vm_get_warm_wake (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), FALSE);

  return self->warm_wake;
}

/**
 * cloche_vm_get_woke_warm:
 *
 * Returns: whether the running boot was restored from a snapshot
 */
gboolean
cloche_vm_get_woke_warm (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), FALSE);

  return self->woke_warm;
}

/**
 * cloche_vm_get_warm_failure:
 *
 * Returns: (nullable): why the last snapshot was refused or failed to
 *   restore (the boot went cold), or %NULL if none ever was
 */
const char *
cloche_vm_get_warm_failure (ClocheVm *self)
{
  g_return_val_if_fail (CLOCHE_IS_VM (self), NULL);

  return self->warm_failure;
}
