/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gio/gio.h>

#include "cloche-error.h"

static const GDBusErrorEntry error_entries[] = {
  { CLOCHE_ERROR_FAILED, "io.github.cloche.Error.Failed" },
  { CLOCHE_ERROR_INVALID_ARGUMENT, "io.github.cloche.Error.InvalidArgument" },
  { CLOCHE_ERROR_BUNDLE_MISSING, "io.github.cloche.Error.BundleMissing" },
  { CLOCHE_ERROR_BUNDLE_INVALID, "io.github.cloche.Error.BundleInvalid" },
  { CLOCHE_ERROR_QEMU_MISSING, "io.github.cloche.Error.QemuMissing" },
  { CLOCHE_ERROR_QEMU_FAILED, "io.github.cloche.Error.QemuFailed" },
  { CLOCHE_ERROR_QMP_PROTOCOL, "io.github.cloche.Error.QmpProtocol" },
  { CLOCHE_ERROR_AGENT_PROTOCOL, "io.github.cloche.Error.AgentProtocol" },
  { CLOCHE_ERROR_AGENT_TIMEOUT, "io.github.cloche.Error.AgentTimeout" },
  { CLOCHE_ERROR_AGENT_COMMAND, "io.github.cloche.Error.AgentCommand" },
  { CLOCHE_ERROR_VM_CRASHED, "io.github.cloche.Error.VmCrashed" },
  { CLOCHE_ERROR_VM_NOT_RUNNING, "io.github.cloche.Error.VmNotRunning" },
  { CLOCHE_ERROR_SESSION_NOT_FOUND, "io.github.cloche.Error.SessionNotFound" },
  { CLOCHE_ERROR_EXEC_TIMEOUT, "io.github.cloche.Error.ExecTimeout" },
  { CLOCHE_ERROR_SESSION_DAMAGED, "io.github.cloche.Error.SessionDamaged" },
  { CLOCHE_ERROR_MOUNT_REFUSED, "io.github.cloche.Error.MountRefused" },
  { CLOCHE_ERROR_SESSION_OPEN, "io.github.cloche.Error.SessionOpen" },
  { CLOCHE_ERROR_FOLDER_NOT_FOUND, "io.github.cloche.Error.FolderNotFound" },
  { CLOCHE_ERROR_VIRTIOFSD_MISSING, "io.github.cloche.Error.VirtiofsdMissing" },
  { CLOCHE_ERROR_MOUNT_FAILED, "io.github.cloche.Error.MountFailed" },
  { CLOCHE_ERROR_UNMOUNT_FAILED, "io.github.cloche.Error.UnmountFailed" },
  { CLOCHE_ERROR_NOT_MOUNTED, "io.github.cloche.Error.NotMounted" },
  { CLOCHE_ERROR_POLICY_INVALID, "io.github.cloche.Error.PolicyInvalid" },
  { CLOCHE_ERROR_POLICY_LOCKED, "io.github.cloche.Error.PolicyLocked" },
  { CLOCHE_ERROR_EGRESS_DENIED, "io.github.cloche.Error.EgressDenied" },
  { CLOCHE_ERROR_EGRESS_UNAVAILABLE, "io.github.cloche.Error.EgressUnavailable" },
  { CLOCHE_ERROR_BUNDLE_CORRUPT, "io.github.cloche.Error.BundleCorrupt" },
  { CLOCHE_ERROR_BUNDLE_NO_SPACE, "io.github.cloche.Error.BundleNoSpace" },
  { CLOCHE_ERROR_BUNDLE_BUSY, "io.github.cloche.Error.BundleBusy" },
  { CLOCHE_ERROR_BUNDLE_DOWNLOAD, "io.github.cloche.Error.BundleDownload" },
  { CLOCHE_ERROR_KVM_MISSING, "io.github.cloche.Error.KvmMissing" },
  { CLOCHE_ERROR_KVM_DENIED, "io.github.cloche.Error.KvmDenied" },
  { CLOCHE_ERROR_KVM_UNUSABLE, "io.github.cloche.Error.KvmUnusable" },
  { CLOCHE_ERROR_QEMU_TOO_OLD, "io.github.cloche.Error.QemuTooOld" },
  { CLOCHE_ERROR_QEMU_DEVICE_MISSING, "io.github.cloche.Error.QemuDeviceMissing" },
  { CLOCHE_ERROR_DISK_LOW, "io.github.cloche.Error.DiskLow" },
  { CLOCHE_ERROR_STALE_SESSIONS, "io.github.cloche.Error.StaleSessions" },
  { CLOCHE_ERROR_MOUNT_MISSING, "io.github.cloche.Error.MountMissing" },
  { CLOCHE_ERROR_FOLDER_CHANGED, "io.github.cloche.Error.FolderChanged" },
  { CLOCHE_ERROR_FOLDER_LOST, "io.github.cloche.Error.FolderLost" },
  { CLOCHE_ERROR_OUTPUT_TRUNCATED, "io.github.cloche.Error.OutputTruncated" },
  { CLOCHE_ERROR_FOLDERS_NESTED, "io.github.cloche.Error.FoldersNested" },
  { CLOCHE_ERROR_KVM_NO_VM, "io.github.cloche.Error.KvmNoVm" },
  { CLOCHE_ERROR_ISOLATION_FAILED, "io.github.cloche.Error.IsolationFailed" },
  { CLOCHE_ERROR_SNAPSHOT_UNUSABLE, "io.github.cloche.Error.SnapshotUnusable" },
  { CLOCHE_ERROR_EGRESS_CA, "io.github.cloche.Error.EgressCa" },
  { CLOCHE_ERROR_SECRET_MISSING, "io.github.cloche.Error.SecretMissing" },
  { CLOCHE_ERROR_KEYRING, "io.github.cloche.Error.Keyring" },
  { CLOCHE_ERROR_VM_KILLED, "io.github.cloche.Error.VmKilled" },
  { CLOCHE_ERROR_TERMINAL_NOT_FOUND, "io.github.cloche.Error.TerminalNotFound" },
  { CLOCHE_ERROR_TERMINAL_BUSY, "io.github.cloche.Error.TerminalBusy" },
};

GQuark
cloche_error_quark (void)
{
  static gsize quark = 0;

  /* Registering with GDBus makes a CLOCHE_ERROR raised in the daemon arrive
   * in the app and the CLI with the same code, not as a generic remote error. */
  g_dbus_error_register_error_domain ("cloche-error-quark", &quark,
                                      error_entries,
                                      G_N_ELEMENTS (error_entries));
  return (GQuark) quark;
}

/**
 * cloche_error_code_name:
 *
 * Returns: the stable name of a CLOCHE_ERROR code, as in its D-Bus error
 *   name ("AgentTimeout"), or "Failed" for a code this build does not know
 */
const char *
cloche_error_code_name (int code)
{
  for (guint i = 0; i < G_N_ELEMENTS (error_entries); i++)
    if (error_entries[i].error_code == code)
      return strrchr (error_entries[i].dbus_error_name, '.') + 1;
  return "Failed";
}
