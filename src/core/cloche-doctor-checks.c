/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The doctor's checks: one function each, in the order people should read
 * them (what the VM runs on first, then what it boots, then what it
 * does). Each fills in one result: a status, a CLOCHE_ERROR code naming the
 * cause, a one-line finding and a fix in plain words. They run in a worker
 * thread on a ClocheDoctorContext copied beforehand, so they may block
 * (hash the bundle, run qemu --version) and never touch the main loop.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <sys/statvfs.h>

#include <gio/gunixsocketaddress.h>
#include <json-glib/json-glib.h>

#include "cloche-accel.h"
#include "cloche-bundle.h"
#include "cloche-doctor-private.h"
#include "cloche-error.h"

#define QEMU_PROGRAM "qemu-system-x86_64"
#define TCG_COST N_("the sandbox runs under software emulation (TCG) instead, 10-50x slower: " \
                    "boots take seconds and commands crawl")

typedef void (*CheckFunc) (const ClocheDoctorContext *context,
                           ClocheDoctorResult        *result);

/* Results */

static void G_GNUC_PRINTF (2, 3)
cloche_doctor_set_ok (ClocheDoctorResult *result,
                      const char         *format,
                      ...)
{
  va_list args;

  va_start (args, format);
  result->status = CLOCHE_DOCTOR_OK;
  result->code = 0;
  g_free (result->finding);
  result->finding = g_strdup_vprintf (format, args);
  va_end (args);
}

static void G_GNUC_PRINTF (5, 6)
cloche_doctor_set_problem (ClocheDoctorResult *result,
                           ClocheDoctorStatus  status,
                           int                 code,
                           const char         *fix,
                           const char         *format,
                           ...)
{
  va_list args;

  va_start (args, format);
  result->status = status;
  result->code = code;
  g_free (result->finding);
  result->finding = g_strdup_vprintf (format, args);
  g_free (result->fix);
  result->fix = g_strdup (fix);
  va_end (args);
}

/* KVM */

/* Inside a VM (the "hypervisor" CPU flag) without vmx/svm passed through,
 * the missing /dev/kvm is the host's nested-virtualization setting. */
static gboolean
cloche_doctor_nested_virtualization_off (const ClocheDoctorContext *context)
{
  g_autofree char *cpuinfo = NULL;
  g_autoptr(GRegex) flags = NULL;
  g_autoptr(GMatchInfo) match = NULL;
  gboolean guest = FALSE, virt = FALSE;

  if (!g_file_get_contents (context->cpuinfo != NULL ? context->cpuinfo : "/proc/cpuinfo",
                            &cpuinfo, NULL, NULL))
    return FALSE;
  flags = g_regex_new ("^flags\\s*:(.*)$", G_REGEX_MULTILINE, 0, NULL);
  if (!g_regex_match (flags, cpuinfo, 0, &match))
    return FALSE;
  {
    g_autofree char *line = g_match_info_fetch (match, 1);
    g_auto(GStrv) words = g_strsplit (line, " ", -1);

    guest = g_strv_contains ((const char * const *) words, "hypervisor");
    virt = g_strv_contains ((const char * const *) words, "vmx")
           || g_strv_contains ((const char * const *) words, "svm");
  }
  return guest && !virt;
}

#define NESTED_FIX N_("This computer is itself a virtual machine (a cloud VM or a VDI desktop) " \
                      "whose host does not offer nested virtualization: have it turned on in " \
                      "the host (or ask its provider), then restart this machine. Until then " \
                      "the sandbox runs under TCG; set vm.accelerator to \"tcg\" in the " \
                      "policy to stop trying KVM.")

/* QEMU failed a boot under KVM although the probe's test VM ran. */
static void
cloche_doctor_report_kvm_failure (const ClocheDoctorContext *context,
                                  ClocheDoctorResult        *result)
{
  g_strfreev (result->details);
  result->details = g_strdupv (context->qemu_tail);
  cloche_doctor_set_problem (result, CLOCHE_DOCTOR_WARNING, CLOCHE_ERROR_KVM_UNUSABLE,
                             _(NESTED_FIX),
                             _("KVM is present but cannot run guests here: a boot under KVM "
                               "failed (%s); %s"), context->kvm_failure, _(TCG_COST));
}

static void
cloche_doctor_check_kvm (const ClocheDoctorContext *context,
                         ClocheDoctorResult        *result)
{
  g_autofree char *reason = NULL;
  int code = 0;

  if (cloche_accel_probe (context->kvm_device, &code, &reason))
    {
      if (context->kvm_failure != NULL)
        cloche_doctor_report_kvm_failure (context, result);
      else
        cloche_doctor_set_ok (result,
                              _("KVM is usable: the sandbox runs with hardware virtualization (a "
                                "test vCPU ran guest code)"));
      return;
    }
  /* A warning, not a failure: the sandbox still works, only slower. */
  if (code == CLOCHE_ERROR_KVM_UNUSABLE)
    cloche_doctor_set_problem (result, CLOCHE_DOCTOR_WARNING, code,
                               cloche_doctor_nested_virtualization_off (context)
                   ? _(NESTED_FIX)
                   : _("KVM runs no guest on this host although it creates VMs: if this "
                       "computer is a virtual machine, have nested virtualization turned on in "
                       "its host; otherwise update the kernel and the firmware. Until then the "
                       "sandbox runs under TCG."),
                               "%s", reason);
  else if (code == CLOCHE_ERROR_KVM_MISSING && cloche_doctor_nested_virtualization_off (context))
    cloche_doctor_set_problem (result, CLOCHE_DOCTOR_WARNING, code,
                               _("This computer is itself a virtual machine: have nested "
                                 "virtualization turned on in the host that runs it (or ask its "
                                 "provider), then restart it."),
                               _("No KVM device: this machine is a virtual machine without nested "
                                 "virtualization; %s"), _(TCG_COST));
  else if (code == CLOCHE_ERROR_KVM_MISSING)
    cloche_doctor_set_problem (result, CLOCHE_DOCTOR_WARNING, code,
                               _("Turn on hardware virtualization (Intel VT-x or AMD-V, sometimes "
                                 "called SVM) in the computer's firmware settings, then restart."),
                               _("No KVM device (%s); %s"),
                               context->kvm_device != NULL ? context->kvm_device : "/dev/kvm",
                               _(TCG_COST));
  else if (code == CLOCHE_ERROR_KVM_DENIED)
    cloche_doctor_set_problem (result, CLOCHE_DOCTOR_WARNING, code,
                               _("Add your user to the group that owns the KVM device (usually: "
                                 "sudo usermod -aG kvm $USER), then log out and in again."),
                               "%s", reason);
  else
    cloche_doctor_set_problem (result, CLOCHE_DOCTOR_WARNING, code,
                               _("Turn on hardware virtualization in the firmware settings, or "
                                 "quit the other hypervisor (VirtualBox, VMware) that holds it."),
                               "%s", reason);
}

/* QEMU */

/* Runs QEMU with @args; its stdout, or NULL with the result filled in. */
static char *
cloche_doctor_run_qemu (const char          *qemu,
                        const char          *arg1,
                        const char          *arg2,
                        ClocheDoctorResult  *result)
{
  const char *argv[] = { qemu, arg1, arg2, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                     &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    {
      cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_QEMU_FAILED,
                                 _("Reinstall QEMU (on Debian: sudo apt install --reinstall "
                                   "qemu-system-x86)."),
                                 _("%s %s does not run: %s%s%s"), qemu, arg1, error->message,
                                 err != NULL && err[0] ? ": " : "",
                                 err != NULL ? g_strstrip (err) : "");
      g_free (out);
      return NULL;
    }
  return out;
}

static char *
cloche_doctor_find_qemu (ClocheDoctorResult *result)
{
  char *qemu = g_find_program_in_path (QEMU_PROGRAM);

  if (qemu == NULL)
    cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_QEMU_MISSING,
                               _("Install QEMU (on Debian and Ubuntu: sudo apt install "
                                 "qemu-system-x86)."),
                               _("%s is not installed, or not in the PATH the Cloche service runs "
                                 "with (%s)"),
                               QEMU_PROGRAM,
                               g_getenv ("PATH") != NULL ? g_getenv ("PATH") : "no PATH");
  return qemu;
}

/* A message's first line: the finding is one line, the rest goes in details. */
static char *
cloche_doctor_first_line (const char *message)
{
  const char *end = strchr (message, '\n');

  return end != NULL ? g_strndup (message, end - message) : g_strdup (message);
}

static void
cloche_doctor_check_qemu (const ClocheDoctorContext *context,
                          ClocheDoctorResult        *result)
{
  g_autofree char *qemu = cloche_doctor_find_qemu (result);
  g_autofree char *out = NULL;
  g_autoptr(GRegex) regex = g_regex_new ("version (\\d+)\\.(\\d+)(\\.\\d+)?", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char *version = NULL;
  g_autofree char *major_text = NULL;
  g_autofree char *minor_text = NULL;
  guint major, minor;

  /* Since its last boot, QEMU was ended by someone else: nothing about the
   * binary, and what to do is to start it again. */
  if (!context->vm_running
      && g_error_matches (context->vm_error, CLOCHE_ERROR, CLOCHE_ERROR_VM_KILLED))
    {
      g_autofree char *headline = cloche_doctor_first_line (context->vm_error->message);
      char *console = strstr (headline, "; ");

      /* The console, fine until the kill, is shown beside the crash already. */
      if (console != NULL)
        *console = '\0';
      cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_VM_KILLED,
                                 _("Open agent mode again to start the sandbox. If it happens "
                                   "again, look for what ends QEMU: the kernel's out-of-memory "
                                   "killer says so in \"journalctl -k\"."),
                                 _("%s: something outside Cloche ended the virtual machine"),
                                 headline);
      return;
    }
  if (qemu == NULL || (out = cloche_doctor_run_qemu (qemu, "--version", NULL, result)) == NULL)
    return;
  if (!g_regex_match (regex, out, 0, &match))
    {
      cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_QEMU_FAILED,
                                 _("Reinstall QEMU (on Debian: sudo apt install --reinstall "
                                   "qemu-system-x86)."),
                                 _("%s --version printed no version: \"%s\""), qemu,
                                 g_strstrip (out));
      return;
    }
  version = g_match_info_fetch (match, 0);
  major_text = g_match_info_fetch (match, 1);
  minor_text = g_match_info_fetch (match, 2);
  major = (guint) g_ascii_strtoull (major_text, NULL, 10);
  minor = (guint) g_ascii_strtoull (minor_text, NULL, 10);
  if (major < CLOCHE_DOCTOR_QEMU_MIN_MAJOR
      || (major == CLOCHE_DOCTOR_QEMU_MIN_MAJOR && minor < CLOCHE_DOCTOR_QEMU_MIN_MINOR))
    cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_QEMU_TOO_OLD,
                               _("Install QEMU 7.2 or newer (Debian 12 and Ubuntu 23.04 have it)."),
                               _("%s is %s; Cloche needs 7.2 or newer (hot-plugged virtiofs "
                                 "folders, free page reporting)"), qemu,
                               version + strlen ("version "));
  else
    cloche_doctor_set_ok (result, "%s, %s", qemu, version);
}

/* What the command line in cloche-vm-command.c asks QEMU for. */
static const char * const required_devices[] = {
  "virtio-serial-pci", "virtserialport", "virtio-balloon-pci", "virtio-net-pci",
  "pcie-root-port", "vhost-user-fs-pci", NULL,
};

/* Whether `qemu -device help` lists @name: lines read name "NAME", … */
static gboolean
cloche_doctor_lists_device (const char *help,
                            const char *name)
{
  g_autofree char *needle = g_strdup_printf ("name \"%s\"", name);

  return strstr (help, needle) != NULL;
}

/* Whether `qemu -machine help` lists @name: lines start with NAME and spaces. */
static gboolean
cloche_doctor_lists_machine (const char *help,
                             const char *name)
{
  g_autofree char *needle = g_strdup_printf ("\n%s ", name);

  return strstr (help, needle) != NULL || (g_str_has_prefix (help, name)
                                           && help[strlen (name)] == ' ');
}

static void
cloche_doctor_check_qemu_devices (const ClocheDoctorContext *context,
                                  ClocheDoctorResult        *result)
{
  g_autofree char *qemu = cloche_doctor_find_qemu (result);
  g_autofree char *devices = NULL;
  g_autofree char *machines = NULL;
  g_autoptr(GStrvBuilder) missing = g_strv_builder_new ();
  g_auto(GStrv) list = NULL;
  g_autofree char *joined = NULL;

  if (qemu == NULL || (devices = cloche_doctor_run_qemu (qemu, "-device", "help", result)) == NULL
      || (machines = cloche_doctor_run_qemu (qemu, "-machine", "help", result)) == NULL)
    return;
  for (guint i = 0; required_devices[i] != NULL; i++)
    if (!cloche_doctor_lists_device (devices, required_devices[i]))
      g_strv_builder_add (missing, required_devices[i]);
  if (!cloche_doctor_lists_machine (machines, "q35"))
    g_strv_builder_add (missing, "machine q35");
  list = g_strv_builder_end (missing);
  if (list[0] == NULL)
    {
      cloche_doctor_set_ok (result, _("QEMU has every device the sandbox uses (%u)"),
                            g_strv_length ((GStrv) required_devices) + 1);
      return;
    }
  joined = g_strjoinv (", ", list);
  cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_QEMU_DEVICE_MISSING,
                             _("Install the full QEMU for PCs (on Debian: sudo apt install "
                               "qemu-system-x86); a QEMU built with fewer devices cannot run the "
                               "sandbox."),
                             _("%s lacks what the sandbox needs: %s"), qemu, joined);
}

/* Bundle */

static gboolean
cloche_doctor_hash_file (const char  *path,
                         char       **sha256,
                         GError     **error)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) stream = g_file_read (file, NULL, error);
  g_autofree guchar *buffer = g_malloc (1 << 20);
  gssize got;

  if (stream == NULL)
    return FALSE;
  while ((got = g_input_stream_read (G_INPUT_STREAM (stream), buffer, 1 << 20, NULL, error)) > 0)
    g_checksum_update (checksum, buffer, got);
  if (got < 0)
    return FALSE;
  *sha256 = g_strdup (g_checksum_get_string (checksum));
  return TRUE;
}

/* The first file whose sha256 differs from the manifest's, or NULL. */
static char *
cloche_doctor_find_corrupt_file (const char            *dir,
                                 ClocheBundleManifest  *manifest,
                                 guint                 *verified,
                                 GError               **error)
{
  for (guint i = 0; i < cloche_bundle_manifest_get_n_files (manifest); i++)
    {
      const ClocheBundleFile *file = cloche_bundle_manifest_get_file (manifest, i);
      g_autofree char *path = g_build_filename (dir, file->path, NULL);
      g_autofree char *actual = NULL;

      if (!cloche_doctor_hash_file (path, &actual, error))
        return NULL;
      if (!g_str_equal (actual, file->sha256))
        return g_strdup_printf ("%s has sha256 %.12s…, the manifest says %.12s…",
                                file->path, actual, file->sha256);
      (*verified)++;
    }
  return NULL;
}

static void
cloche_doctor_verify_bundle_hashes (const ClocheDoctorContext *context,
                                    ClocheBundle              *bundle,
                                    ClocheDoctorResult        *result)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *corrupt = NULL;
  guint verified = 0;

  /* cloche_bundle_load() has read the manifest strictly: every file a
   * plain name with its sha256. */
  corrupt = cloche_doctor_find_corrupt_file (cloche_bundle_get_path (bundle),
                                             cloche_bundle_get_manifest (bundle), &verified,
                                             &error);
  if (corrupt != NULL || error != NULL)
    cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_BUNDLE_CORRUPT,
                               _("The bundle's files were changed or damaged on disk: reinstall "
                                 "the bundle."),
                               _("The bundle at %s is damaged: %s"), context->bundle_path,
                               corrupt != NULL ? corrupt : error->message);
  else
    cloche_doctor_set_ok (result, _("%s %s at %s: %u files, sha256 verified"),
                          cloche_bundle_get_name (bundle), cloche_bundle_get_version (bundle),
                          context->bundle_path, verified);
}

static void
cloche_doctor_check_bundle (const ClocheDoctorContext *context,
                            ClocheDoctorResult        *result)
{
  g_autofree char *manifest = g_build_filename (context->bundle_path, "manifest.json", NULL);
  g_autoptr(ClocheBundle) bundle = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_test (manifest, G_FILE_TEST_EXISTS))
    {
      cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_BUNDLE_MISSING,
                                 _("Install the sandbox bundle (Install Bundle… in the app, or "
                                   "clochectl bundle install), or point the service at one with "
                                   "--bundle."),
                                 _("No sandbox bundle at %s (no manifest.json)"),
                                 context->bundle_path);
      return;
    }
  bundle = cloche_bundle_load (context->bundle_path, &error);
  if (bundle == NULL)
    {
      cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_BUNDLE_INVALID,
                                 _("Reinstall the sandbox bundle: files are missing or cut short."),
                                 "%s", error->message);
      return;
    }
  cloche_doctor_verify_bundle_hashes (context, bundle, result);
}

/* Disk */

/* The folder itself, or the nearest parent that exists. */
static char *
cloche_doctor_existing_ancestor (const char *path)
{
  char *dir = g_strdup (path);

  while (!g_file_test (dir, G_FILE_TEST_IS_DIR) && strcmp (dir, "/") != 0)
    {
      char *parent = g_path_get_dirname (dir);

      g_free (dir);
      dir = parent;
    }
  return dir;
}

static void
cloche_doctor_check_disk (const ClocheDoctorContext *context,
                          ClocheDoctorResult        *result)
{
  g_autofree char *dir = cloche_doctor_existing_ancestor (context->state_dir);
  g_autofree char *free_text = NULL;
  g_autofree char *need_text = NULL;
  struct statvfs st;
  guint64 free_bytes;

  if (statvfs (dir, &st) != 0)
    {
      cloche_doctor_set_problem (result, CLOCHE_DOCTOR_WARNING, CLOCHE_ERROR_DISK_LOW,
                                 _("Check that the folder exists and can be read."),
                                 _("Cannot measure the free space at %s: %s"), dir,
                                 g_strerror (errno));
      return;
    }
  free_bytes = (guint64) st.f_bavail * st.f_frsize;
  free_text = g_format_size_full (free_bytes, G_FORMAT_SIZE_IEC_UNITS);
  if (free_bytes >= context->disk_warning_bytes)
    {
      cloche_doctor_set_ok (result, _("%s free at %s"), free_text, dir);
      return;
    }
  need_text = g_format_size_full (free_bytes < context->disk_failure_bytes
                                  ? context->disk_failure_bytes : context->disk_warning_bytes,
                                  G_FORMAT_SIZE_IEC_UNITS);
  cloche_doctor_set_problem (result,
                             free_bytes < context->disk_failure_bytes ? CLOCHE_DOCTOR_FAILURE
                                                        : CLOCHE_DOCTOR_WARNING,
                             CLOCHE_ERROR_DISK_LOW,
                             _("Free space on that disk: clean up stale sessions (clochectl "
                               "cleanup), empty the trash, or remove large files you no longer "
                               "need."),
                             _("Only %s free at %s, below the %s that sessions and the VM's files "
                               "need"),
                             free_text, dir, need_text);
}

/* Stale sessions */

static void
cloche_doctor_check_stale_sessions (const ClocheDoctorContext *context,
                                    ClocheDoctorResult        *result)
{
  g_autofree char *size = NULL;

  if (!context->stale_known)
    {
      cloche_doctor_set_ok (result, _("Not measured"));
      return;
    }
  if (context->stale_count == 0)
    {
      cloche_doctor_set_ok (result, _("No stale sessions"));
      return;
    }
  size = g_format_size_full (context->stale_bytes, G_FORMAT_SIZE_IEC_UNITS);
  cloche_doctor_set_problem (result, CLOCHE_DOCTOR_WARNING, CLOCHE_ERROR_STALE_SESSIONS,
                             _("Clean them up: Clean up on the Sessions page, or clochectl "
                               "cleanup. Pin a session to keep it."),
                             g_dngettext (GETTEXT_PACKAGE, "%u stale session takes %s",
                                          "%u stale sessions take %s", context->stale_count),
                             context->stale_count, size);
}

/* Guest agent */

/* What QEMU said, then what the guest said. */
static GStrv
cloche_doctor_joined_details (const ClocheDoctorContext *context)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; context->qemu_tail != NULL && context->qemu_tail[i] != NULL; i++)
    {
      g_autofree char *line = g_strdup_printf ("QEMU: %s", context->qemu_tail[i]);

      g_strv_builder_add (builder, line);
    }
  for (guint i = 0; context->console_tail != NULL && context->console_tail[i] != NULL; i++)
    g_strv_builder_add (builder, context->console_tail[i]);
  return g_strv_builder_end (builder);
}

static const char *
cloche_doctor_last_console_line (const ClocheDoctorContext *context)
{
  guint n = context->console_tail != NULL ? g_strv_length (context->console_tail) : 0;

  return n > 0 ? context->console_tail[n - 1] : NULL;
}

static void
cloche_doctor_check_agent (const ClocheDoctorContext *context,
                           ClocheDoctorResult        *result)
{
  const GError *error = context->vm_error;
  g_autofree char *headline = error != NULL ? cloche_doctor_first_line (error->message) : NULL;
  const char *last = cloche_doctor_last_console_line (context);
  g_autofree char *console = last != NULL ? g_strdup_printf (_("; the console's last line: \"%s\""),
                                                              last)
                                          : g_strdup (_("; the guest console is empty"));

  g_strfreev (result->details);
  result->details = cloche_doctor_joined_details (context);
  if (context->vm_running)
    cloche_doctor_set_ok (result, _("The guest agent answered when the VM booted"));
  else if (g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_TIMEOUT))
    cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_AGENT_TIMEOUT,
                               _("The bundle's guest does not start qemu-guest-agent: reinstall "
                                 "the bundle. If the console shows the guest still booting, the "
                                 "host is too slow for the agent timeout: raise it (cloche-daemon "
                                 "--agent-timeout)."),
                               _("The guest agent did not answer when the VM last booted%s"),
                               console);
  else if (g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL))
    /* The error quotes what came instead of JSON; its message is the finding. */
    cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_AGENT_PROTOCOL,
                               _("Something other than qemu-guest-agent writes to the agent port "
                                 "(org.qemu.guest_agent.0) in the guest: reinstall the bundle, or "
                                 "remove what the guest's init starts on that port."),
                               "%s", headline);
  else if (g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_VM_CRASHED))
    cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_VM_CRASHED,
                               _("Look at QEMU's and the console's lines below for the cause (a "
                                 "kernel panic, out of memory, a kernel QEMU cannot load); "
                                 "reinstall the bundle if the kernel cannot boot."),
                               _("The VM crashed: %s"), headline);
  else if (g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_KVM_UNUSABLE))
    cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_KVM_UNUSABLE,
                               _("The policy asks for KVM (vm.accelerator: kvm) and KVM cannot "
                                 "run the guest here: set vm.accelerator to \"auto\" (or \"tcg\") "
                                 "to run it under TCG."),
                               _("The VM did not boot under KVM: %s"), headline);
  else
    cloche_doctor_set_ok (result,
                          _("Not checked yet: the VM has not booted since the service started"));
}

/* Mounts */

/* Sessions whose commands are refused: a folder's virtiofsd died, or a
 * folder is no longer the one checked. Each error names its folder. */
static gboolean
cloche_doctor_check_refused_sessions (const ClocheDoctorContext *context,
                                      ClocheDoctorResult        *result)
{
  g_autoptr(GStrvBuilder) messages = g_strv_builder_new ();
  const GError *first;

  if (context->refused == NULL || context->refused->len == 0)
    return FALSE;
  first = g_ptr_array_index (context->refused, 0);
  for (guint i = 0; i < context->refused->len; i++)
    g_strv_builder_add (messages, ((GError *) g_ptr_array_index (context->refused, i))->message);
  g_strfreev (result->details);
  result->details = g_strv_builder_end (messages);
  cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, first->code,
                             first->code == CLOCHE_ERROR_FOLDER_LOST
                             ? _("Stop the VM (clochectl stop): the next command in the session "
                                 "boots it again and mounts its folders afresh. Or close the "
                                 "session and open a new one.")
                             : _("Put the folder back as it was when the session opened, or close "
                                 "the session and open a new one with the folder you mean."),
                             "%s", first->message);
  return TRUE;
}

static void
cloche_doctor_check_mounts (const ClocheDoctorContext *context,
                            ClocheDoctorResult        *result)
{
  g_autoptr(GStrvBuilder) gone = g_strv_builder_new ();
  g_auto(GStrv) list = NULL;
  g_autofree char *joined = NULL;

  if (cloche_doctor_check_refused_sessions (context, result))
    return;

  for (guint i = 0; context->mounts != NULL && i < context->mounts->len; i++)
    {
      ClocheDoctorMount *mount = g_ptr_array_index (context->mounts, i);

      if (!g_file_test (mount->path, G_FILE_TEST_IS_DIR))
        {
          g_autofree char *item = g_strdup_printf ("%s (session %s)", mount->path,
                                                   mount->session);
          g_strv_builder_add (gone, item);
        }
    }
  list = g_strv_builder_end (gone);
  if (list[0] == NULL)
    {
      cloche_doctor_set_ok (result, _("Every mounted folder of the open sessions exists (%u)"),
                            context->mounts != NULL ? context->mounts->len : 0);
      return;
    }
  joined = g_strjoinv (", ", list);
  g_strfreev (result->details);
  result->details = g_strdupv (list);
  cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_MOUNT_MISSING,
                             _("The folder was moved or deleted on the host while a session had "
                               "it mounted: put it back, or close the session and open a new one "
                               "with the folder's new place."),
                             g_dngettext (GETTEXT_PACKAGE, "Mounted folder no longer there: %s",
                                          "Mounted folders no longer there: %s",
                                          g_strv_length (list)),
                             joined);
}

/* Egress */

static gboolean
cloche_doctor_socket_answers (const char  *path,
                              GError     **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr(GSocketConnection) connection = NULL;

  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, error);
  return connection != NULL;
}

static void
cloche_doctor_check_egress (const ClocheDoctorContext *context,
                            ClocheDoctorResult        *result)
{
  g_autoptr(GError) error = NULL;

  if (!context->egress_known)
    cloche_doctor_set_ok (result, _("Not checked"));
  else if (context->egress_relay == NULL || context->egress_socket == NULL)
    cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_EGRESS_UNAVAILABLE,
                               _("The service could not start its egress proxy or find "
                                 "cloche-egress-relay (its log says which): reinstall Cloche, or "
                                 "make $XDG_RUNTIME_DIR writable, then restart the service."),
                               _("The sandbox has no way out: its egress proxy is not running, so "
                                 "every download in the VM fails"));
  else if (!g_file_test (context->egress_relay, G_FILE_TEST_IS_EXECUTABLE))
    cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_EGRESS_UNAVAILABLE,
                               _("Reinstall Cloche: the relay is part of it."),
                               _("The egress relay %s is missing: QEMU cannot hand the guest's "
                                 "connections to the proxy"), context->egress_relay);
  else if (!cloche_doctor_socket_answers (context->egress_socket, &error))
    cloche_doctor_set_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_EGRESS_UNAVAILABLE,
                               _("Restart the Cloche service (clochectl vm stop, then quit and "
                                 "reopen Cloche); if it stays, send a support report (clochectl "
                                 "support-report)."),
                               _("The egress proxy does not answer on %s: %s"),
                               context->egress_socket,
                               error->message);
  else
    cloche_doctor_set_ok (result,
                          _("The egress proxy answers; the guest reaches the network only through "
                            "it"));
}

/* Policy */

static void
cloche_doctor_check_policy (const ClocheDoctorContext *context,
                            ClocheDoctorResult        *result)
{
  g_auto(GStrv) lines = NULL;
  const char *fix;

  if (context->policy_refusal == NULL || context->policy_refusal[0] == '\0')
    {
      cloche_doctor_set_ok (result, _("Every policy file is in force"));
      return;
    }
  lines = g_strsplit (context->policy_refusal, "\n", -1);
  g_strfreev (result->details);
  result->details = g_strdupv (lines);
  fix = _("Correct the file at the line and column shown (clochectl policy validate FILE "
          "checks it); it is read again as soon as it is saved.");
  cloche_doctor_set_problem (result, CLOCHE_DOCTOR_WARNING, CLOCHE_ERROR_POLICY_INVALID, fix,
                             _("A policy file was refused, so its last good version "
                               "stays in force: %s"), lines[0]);
}

/* The table. The order is the order of the report. */
static const struct
{
  const char *id;
  const char *title;
  CheckFunc   func;
} checks[] = {
  { "kvm",            N_("Hardware virtualization"), cloche_doctor_check_kvm },
  { "qemu",           "QEMU",                       cloche_doctor_check_qemu },
  { "qemu-devices",   N_("QEMU devices"),           cloche_doctor_check_qemu_devices },
  { "bundle",         N_("Sandbox bundle"),         cloche_doctor_check_bundle },
  { "disk",           N_("Free disk space"),        cloche_doctor_check_disk },
  { "stale-sessions", N_("Stale sessions"),         cloche_doctor_check_stale_sessions },
  { "agent",          N_("Guest agent"),            cloche_doctor_check_agent },
  { "mounts",         N_("Mounted folders"),        cloche_doctor_check_mounts },
  { "egress",         N_("Egress proxy"),           cloche_doctor_check_egress },
  { "policy",         N_("Policy file"),            cloche_doctor_check_policy },
};

const char * const *
cloche_doctor_list_checks (void)
{
  static const char *ids[G_N_ELEMENTS (checks) + 1];

  for (guint i = 0; i < G_N_ELEMENTS (checks); i++)
    ids[i] = checks[i].id;
  return ids;
}

/**
 * cloche_doctor_run_checks:
 * @only: (nullable): the ids of the checks to run; %NULL or empty for all
 *
 * Runs the checks one after the other; blocks. Call it in a worker thread.
 *
 * Returns: (transfer full) (element-type ClocheDoctorResult): one result
 *   per check run, in the table's order
 */
GPtrArray *
cloche_doctor_run_checks (const ClocheDoctorContext *context,
                          const char * const        *only)
{
  GPtrArray *results = g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_doctor_result_free);

  for (guint i = 0; i < G_N_ELEMENTS (checks); i++)
    {
      ClocheDoctorResult *result;

      if (only != NULL && only[0] != NULL && !g_strv_contains (only, checks[i].id))
        continue;
      result = cloche_doctor_result_new (checks[i].id, _(checks[i].title));
      checks[i].func (context, result);
      g_ptr_array_add (results, result);
    }
  return results;
}
