/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * KVM or TCG, and the sentence saying why. The probe tells the truth only
 * if a guest actually runs, so after the cheap checks (the device opens,
 * speaks KVM API 12) it runs guest code in a child process
 * (cloche-accel-run.c). That verdict belongs to the host's boot, not to a
 * call: it is kept in $XDG_RUNTIME_DIR/cloche/kvm-probe with the boot id
 * and the device, and read back until the host reboots. The cheap checks
 * run every time, since they depend on who asks (group membership) and
 * on what holds the CPU's extensions right now (KVM_CREATE_VM failing
 * while VirtualBox runs is never kept).
 *
 * CLOCHE_TEST_KVM_FAULT injects faults for tests on machines that cannot
 * produce them (docs/ARCHITECTURE.md, "KVM that cannot run a guest").
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-accel-private.h"
#include "cloche-accel.h"
#include "cloche-error.h"

#define TCG_COST        N_("running 10-50x slower in software (TCG)")
#define CACHE_GROUP     "probe"
#define CACHE_MAX_BYTES 4096
#define BOOT_ID_PATH    "/proc/sys/kernel/random/boot_id"

static const char * const mode_names[] = { "auto", "kvm", "tcg" };

gboolean
cloche_accel_mode_from_string (const char      *text,
                               ClocheAccelMode *mode)
{
  for (guint i = 0; i < G_N_ELEMENTS (mode_names); i++)
    if (g_strcmp0 (text, mode_names[i]) == 0)
      {
        *mode = (ClocheAccelMode) i;
        return TRUE;
      }
  return FALSE;
}

/**
 * cloche_accel_get_fault:
 *
 * Returns: the fault a test injected through CLOCHE_TEST_KVM_FAULT
 */
ClocheAccelFault
cloche_accel_get_fault (void)
{
  const char *fault = g_getenv ("CLOCHE_TEST_KVM_FAULT");

  if (g_strcmp0 (fault, "cannot-run") == 0)
    return CLOCHE_ACCEL_FAULT_CANNOT_RUN;
  if (g_strcmp0 (fault, "probe-passes") == 0)
    return CLOCHE_ACCEL_FAULT_PROBE_PASSES;
  if (g_strcmp0 (fault, "internal-error") == 0)
    return CLOCHE_ACCEL_FAULT_INTERNAL_ERROR;
  if (g_strcmp0 (fault, "stall") == 0)
    return CLOCHE_ACCEL_FAULT_STALL;
  if (g_strcmp0 (fault, "tcg-as-kvm") == 0)
    return CLOCHE_ACCEL_FAULT_TCG_AS_KVM;
  return CLOCHE_ACCEL_FAULT_NONE;
}

/* The per-boot verdict */

static char *
cloche_accel_read_boot_id (void)
{
  g_autofree char *text = NULL;
  gsize length = 0;

  if (!g_file_get_contents (BOOT_ID_PATH, &text, &length, NULL) || length > 64)
    return NULL;
  return g_strdup (g_strstrip (text));
}

static char *
cloche_accel_cache_path (void)
{
  return g_build_filename (g_get_user_runtime_dir (), "cloche", "kvm-probe", NULL);
}

/* Our own runtime folder, but still read bounded and never through a link. */
static GKeyFile *
cloche_accel_cache_load (void)
{
  g_autofree char *path = cloche_accel_cache_path ();
  g_autofree char *text = g_malloc (CACHE_MAX_BYTES + 1);
  g_autoptr(GKeyFile) file = g_key_file_new ();
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  ssize_t got;

  if (fd < 0)
    return NULL;
  got = read (fd, text, CACHE_MAX_BYTES + 1);
  close (fd);
  if (got <= 0 || got > CACHE_MAX_BYTES)
    return NULL;
  text[got] = '\0';
  if (!g_key_file_load_from_data (file, text, got, G_KEY_FILE_NONE, NULL))
    return NULL;
  return g_steal_pointer (&file);
}

static guint32
cloche_accel_cache_get (GKeyFile   *file,
                        const char *key)
{
  g_autoptr(GError) error = NULL;
  guint64 value = g_key_file_get_uint64 (file, CACHE_GROUP, key, &error);

  return error == NULL && value <= G_MAXUINT32 ? (guint32) value : G_MAXUINT32;
}

static gboolean
cloche_accel_cache_matches (GKeyFile   *file,
                            const char *device,
                            dev_t       rdev,
                            const char *boot_id)
{
  g_autofree char *cached_boot = g_key_file_get_string (file, CACHE_GROUP, "boot-id", NULL);
  g_autofree char *cached_device = g_key_file_get_string (file, CACHE_GROUP, "device", NULL);
  g_autofree char *cached_rdev = g_key_file_get_string (file, CACHE_GROUP, "rdev", NULL);
  g_autofree char *rdev_text = g_strdup_printf ("%" G_GUINT64_FORMAT, (guint64) rdev);

  return g_strcmp0 (cached_boot, boot_id) == 0 && g_strcmp0 (cached_device, device) == 0
         && g_strcmp0 (cached_rdev, rdev_text) == 0;
}

static gboolean
cloche_accel_cache_lookup (const char   *device,
                           dev_t         rdev,
                           const char   *boot_id,
                           ClocheKvmRun *run)
{
  g_autoptr(GKeyFile) file = cloche_accel_cache_load ();
  g_autofree char *detail = NULL;

  if (file == NULL || !cloche_accel_cache_matches (file, device, rdev, boot_id))
    return FALSE;
  memset (run, 0, sizeof *run);
  run->stage = cloche_accel_cache_get (file, "stage");
  run->error_number = (gint32) MIN (cloche_accel_cache_get (file, "errno"), G_MAXINT32);
  run->setup_step = cloche_accel_cache_get (file, "setup-step");
  run->exit_reason = cloche_accel_cache_get (file, "exit-reason");
  run->suberror = cloche_accel_cache_get (file, "suberror");
  run->port = cloche_accel_cache_get (file, "port");
  run->value = cloche_accel_cache_get (file, "value");
  run->msr = cloche_accel_cache_get (file, "msr");
  run->guest_ran = cloche_accel_cache_get (file, "guest-ran") == 1;
  detail = g_key_file_get_string (file, CACHE_GROUP, "detail", NULL);
  run->detail = detail != NULL ? g_ascii_strtoull (detail, NULL, 10) : 0;
  /* A stage this build does not know, or a verdict that is never kept. */
  return run->stage < CLOCHE_KVM_RUN_N_STAGES && run->stage != CLOCHE_KVM_RUN_CREATE_VM
         && run->stage != CLOCHE_KVM_RUN_CHILD;
}

static void
cloche_accel_cache_store (const char         *device,
                          dev_t               rdev,
                          const char         *boot_id,
                          const ClocheKvmRun *run)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autofree char *path = cloche_accel_cache_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_key_file_set_string (file, CACHE_GROUP, "boot-id", boot_id);
  g_key_file_set_string (file, CACHE_GROUP, "device", device);
  g_key_file_set_uint64 (file, CACHE_GROUP, "rdev", (guint64) rdev);
  g_key_file_set_uint64 (file, CACHE_GROUP, "stage", run->stage);
  g_key_file_set_uint64 (file, CACHE_GROUP, "errno", (guint32) MAX (run->error_number, 0));
  g_key_file_set_uint64 (file, CACHE_GROUP, "setup-step", run->setup_step);
  g_key_file_set_uint64 (file, CACHE_GROUP, "exit-reason", run->exit_reason);
  g_key_file_set_uint64 (file, CACHE_GROUP, "suberror", run->suberror);
  g_key_file_set_uint64 (file, CACHE_GROUP, "port", run->port);
  g_key_file_set_uint64 (file, CACHE_GROUP, "value", run->value);
  g_key_file_set_uint64 (file, CACHE_GROUP, "msr", run->msr);
  g_key_file_set_uint64 (file, CACHE_GROUP, "detail", run->detail);
  g_key_file_set_uint64 (file, CACHE_GROUP, "guest-ran", run->guest_ran ? 1 : 0);
  text = g_key_file_to_data (file, NULL, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0
      || !g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    g_debug ("Cannot keep the KVM probe's verdict in %s: %s", path,
             error != NULL ? error->message : g_strerror (errno));
}

/* Runs the guest, or reads what it did earlier in this boot of the host. */
static void
cloche_accel_run_once_per_boot (int           fd,
                                const char   *device,
                                ClocheKvmRun *run)
{
  g_autofree char *boot_id = cloche_accel_read_boot_id ();
  struct stat st;

  if (fstat (fd, &st) != 0 || boot_id == NULL)
    {
      cloche_kvm_run_guest (fd, run);
      return;
    }
  if (cloche_accel_cache_lookup (device, st.st_rdev, boot_id, run))
    return;
  cloche_kvm_run_guest (fd, run);
  if (run->stage != CLOCHE_KVM_RUN_CREATE_VM && run->stage != CLOCHE_KVM_RUN_CHILD)
    cloche_accel_cache_store (device, st.st_rdev, boot_id, run);
}

/* The probe */

static gboolean
cloche_accel_verdict_from_run (const char         *device,
                               const ClocheKvmRun *run,
                               int                *code,
                               char              **reason)
{
  g_autofree char *seen = cloche_kvm_run_describe (run);

  *code = cloche_kvm_run_error_code (run);
  if (*code == 0)
    *reason = g_strdup_printf (_("%s is usable: hardware virtualization (%s)"), device, seen);
  else if (*code == CLOCHE_ERROR_KVM_NO_VM)
    *reason = g_strdup_printf (_("%s cannot create a VM (%s): hardware virtualization is off in "
                                 "the firmware or used by another hypervisor; %s"),
                               device, seen, _(TCG_COST));
  else
    *reason = g_strdup_printf (_("%s opens and creates a VM but cannot run a guest: %s. Nested "
                                 "virtualization is off or not offered by the host's "
                                 "hypervisor; %s"), device, seen, _(TCG_COST));
  return *code == 0;
}

/* Injected faults: what a machine without such a KVM cannot show. */
static gboolean
cloche_accel_injected_verdict (ClocheAccelFault   fault,
                               const char        *device,
                               int               *code,
                               char             **reason)
{
  ClocheKvmRun run = { 0 };
  g_autofree char *real = NULL;

  if (fault != CLOCHE_ACCEL_FAULT_CANNOT_RUN)
    {
      *code = 0;
      *reason = g_strdup_printf (_("%s is usable (the probe was skipped: "
                                   "CLOCHE_TEST_KVM_FAULT)"), device);
      return TRUE;
    }
  run.stage = CLOCHE_KVM_RUN_EXIT;
  run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
  run.suberror = KVM_INTERNAL_ERROR_EMULATION;
  cloche_accel_verdict_from_run (device, &run, code, &real);
  *reason = g_strdup_printf ("%s [%s]", real, "fault injected by CLOCHE_TEST_KVM_FAULT");
  return FALSE;
}

static gboolean
cloche_accel_device_speaks_kvm (int         fd,
                                const char *device,
                                int        *code,
                                char      **reason)
{
  int version = ioctl (fd, KVM_GET_API_VERSION, 0);

  if (version == KVM_API_VERSION)
    return TRUE;
  *code = CLOCHE_ERROR_KVM_NO_VM;
  *reason = g_strdup_printf (_("%s does not answer as KVM API %d does (%s); %s"), device,
                             KVM_API_VERSION,
                             version < 0 ? g_strerror (errno) : _("another version"),
                             _(TCG_COST));
  return FALSE;
}

/**
 * cloche_accel_probe:
 * @kvm_device: (nullable): the KVM device, %NULL for /dev/kvm
 * @code: (out): why not, when KVM is not usable: CLOCHE_ERROR_KVM_MISSING,
 *   CLOCHE_ERROR_KVM_DENIED, CLOCHE_ERROR_KVM_NO_VM or CLOCHE_ERROR_KVM_UNUSABLE
 * @reason: (out): a sentence saying what was found
 *
 * Blocks: for a few milliseconds once per boot of the host (the test VM),
 * for at most a few seconds if its vCPU hangs. Call it in a thread, or
 * use cloche_accel_probe_async().
 *
 * Returns: whether a guest runs on the device
 */
gboolean
cloche_accel_probe (const char  *kvm_device,
                    int         *code,
                    char       **reason)
{
  const char *device = kvm_device != NULL ? kvm_device : "/dev/kvm";
  ClocheAccelFault fault = cloche_accel_get_fault ();
  ClocheKvmRun run;
  int fd;

  if (fault != CLOCHE_ACCEL_FAULT_NONE)
    return cloche_accel_injected_verdict (fault, device, code, reason);
  fd = open (device, O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    {
      *code = CLOCHE_ERROR_KVM_MISSING;
      *reason = g_strdup_printf (_("no %s: hardware virtualization is off or nested "
                                   "virtualization is not offered; %s"), device, _(TCG_COST));
      return FALSE;
    }
  if (fd < 0)
    {
      *code = CLOCHE_ERROR_KVM_DENIED;
      *reason = g_strdup_printf (_("%s is not usable (%s): add your user to the group that "
                                   "owns it (usually kvm) and log in again; %s"),
                                 device, g_strerror (errno), _(TCG_COST));
      return FALSE;
    }
  if (!cloche_accel_device_speaks_kvm (fd, device, code, reason))
    {
      close (fd);
      return FALSE;
    }
  cloche_accel_run_once_per_boot (fd, device, &run);
  close (fd);
  return cloche_accel_verdict_from_run (device, &run, code, reason);
}

typedef struct
{
  char *device;
  int   code;
  char *reason;
} ProbeData;

static void
cloche_accel_probe_data_free (ProbeData *data)
{
  g_free (data->device);
  g_free (data->reason);
  g_free (data);
}

static void
cloche_accel_probe_thread (GTask        *task,
                           gpointer      source,
                           gpointer      task_data,
                           GCancellable *cancellable)
{
  ProbeData *data = task_data;

  g_task_return_boolean (task, cloche_accel_probe (data->device, &data->code, &data->reason));
}

/**
 * cloche_accel_probe_async:
 *
 * cloche_accel_probe() in a worker thread.
 */
void
cloche_accel_probe_async (const char          *kvm_device,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  ProbeData *data = g_new0 (ProbeData, 1);

  data->device = g_strdup (kvm_device);
  g_task_set_source_tag (task, cloche_accel_probe_async);
  g_task_set_task_data (task, data, (GDestroyNotify) cloche_accel_probe_data_free);
  g_task_run_in_thread (task, cloche_accel_probe_thread);
}

/**
 * cloche_accel_probe_finish:
 * @code: (out): as for cloche_accel_probe()
 * @reason: (out): as for cloche_accel_probe()
 *
 * Returns: whether a guest runs on the device
 */
gboolean
cloche_accel_probe_finish (GAsyncResult  *result,
                           int           *code,
                           char         **reason)
{
  ProbeData *data = g_task_get_task_data (G_TASK (result));
  gboolean usable = g_task_propagate_boolean (G_TASK (result), NULL);

  *code = data->code;
  *reason = g_strdup (data->reason);
  return usable;
}
