/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CLOCHE_ERROR (cloche_error_quark ())

/**
 * ClocheError:
 *
 * One domain for everything Cloche reports. The codes are stable: they travel
 * over D-Bus as io.github.cloche.Error.<Name> and double as the doctor's
 * reason codes, so never renumber one.
 */
typedef enum
{
  CLOCHE_ERROR_FAILED,
  CLOCHE_ERROR_INVALID_ARGUMENT,
  CLOCHE_ERROR_BUNDLE_MISSING,
  CLOCHE_ERROR_BUNDLE_INVALID,
  CLOCHE_ERROR_QEMU_MISSING,
  CLOCHE_ERROR_QEMU_FAILED,
  CLOCHE_ERROR_QMP_PROTOCOL,
  CLOCHE_ERROR_AGENT_PROTOCOL,
  CLOCHE_ERROR_AGENT_TIMEOUT,
  CLOCHE_ERROR_AGENT_COMMAND,
  CLOCHE_ERROR_VM_CRASHED,
  CLOCHE_ERROR_VM_NOT_RUNNING,
  CLOCHE_ERROR_SESSION_NOT_FOUND,
  CLOCHE_ERROR_EXEC_TIMEOUT,
  CLOCHE_ERROR_SESSION_DAMAGED,
  CLOCHE_ERROR_MOUNT_REFUSED,
  CLOCHE_ERROR_SESSION_OPEN,
  CLOCHE_ERROR_FOLDER_NOT_FOUND,
  CLOCHE_ERROR_VIRTIOFSD_MISSING,
  CLOCHE_ERROR_MOUNT_FAILED,
  CLOCHE_ERROR_UNMOUNT_FAILED,
  CLOCHE_ERROR_NOT_MOUNTED,
  CLOCHE_ERROR_POLICY_INVALID,
  CLOCHE_ERROR_POLICY_LOCKED,
  CLOCHE_ERROR_EGRESS_DENIED,
  CLOCHE_ERROR_EGRESS_UNAVAILABLE,
  CLOCHE_ERROR_BUNDLE_CORRUPT,
  CLOCHE_ERROR_BUNDLE_NO_SPACE,
  CLOCHE_ERROR_BUNDLE_BUSY,
  CLOCHE_ERROR_BUNDLE_DOWNLOAD,
  /* The doctor's findings (issue 6). */
  CLOCHE_ERROR_KVM_MISSING,
  CLOCHE_ERROR_KVM_DENIED,
  CLOCHE_ERROR_KVM_UNUSABLE,
  CLOCHE_ERROR_QEMU_TOO_OLD,
  CLOCHE_ERROR_QEMU_DEVICE_MISSING,
  CLOCHE_ERROR_DISK_LOW,
  CLOCHE_ERROR_STALE_SESSIONS,
  CLOCHE_ERROR_MOUNT_MISSING,
  /* Issue 15: folders pinned by what was checked, dead shares, cut output,
   * Cloche's own folders kept apart. */
  CLOCHE_ERROR_FOLDER_CHANGED,
  CLOCHE_ERROR_FOLDER_LOST,
  CLOCHE_ERROR_OUTPUT_TRUNCATED,
  CLOCHE_ERROR_FOLDERS_NESTED,
  /* /dev/kvm opens but KVM_CREATE_VM fails (issue 14; KvmUnusable is now
   * "creates a VM but cannot run a guest"). */
  CLOCHE_ERROR_KVM_NO_VM,
  /* A session's walls in the guest could not be made (issue 15). */
  CLOCHE_ERROR_ISOLATION_FAILED,
  /* A warm-wake snapshot that does not match or fails to restore (issue 21):
   * the VM boots cold instead. */
  CLOCHE_ERROR_SNAPSHOT_UNUSABLE,
  /* Secrets (issue 20): the egress CA cannot be made or read, a secret has
   * no value in the keyring, the keyring cannot be reached or is locked. */
  CLOCHE_ERROR_EGRESS_CA,
  CLOCHE_ERROR_SECRET_MISSING,
  CLOCHE_ERROR_KEYRING,
  /* QEMU ended by a signal Cloche did not send (issue 19): not a crash of
   * the guest, and the fix is to open agent mode again. */
  CLOCHE_ERROR_VM_KILLED,
  /* A terminal that has ended, or never was (issue 17). */
  CLOCHE_ERROR_TERMINAL_NOT_FOUND,
  /* A terminal another client holds: one client at a time (AttachTerminal). */
  CLOCHE_ERROR_TERMINAL_BUSY,
} ClocheError;

GQuark      cloche_error_quark     (void);
const char *cloche_error_code_name (int code);

G_END_DECLS
