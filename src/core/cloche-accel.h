/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * ClocheAccelFault:
 * @CLOCHE_ACCEL_FAULT_NONE: the real probe and QEMU
 * @CLOCHE_ACCEL_FAULT_CANNOT_RUN: the probe reports that its test vCPU
 *   stopped with an internal error, without looking at any device
 * @CLOCHE_ACCEL_FAULT_PROBE_PASSES: the probe reports KVM usable without
 *   looking (a probe that misses what QEMU then trips on)
 * @CLOCHE_ACCEL_FAULT_INTERNAL_ERROR: the probe passes; QEMU runs under TCG
 *   whatever the VM believes, the VM stops it over QMP after the handshake
 *   and reads its run state as "internal-error", as a KVM emulation failure
 *   leaves it
 * @CLOCHE_ACCEL_FAULT_STALL: as internal-error, but the run state is left
 *   "paused": a guest that never prints, as a hanging KVM gives
 * @CLOCHE_ACCEL_FAULT_TCG_AS_KVM: the probe passes and QEMU runs under TCG
 *   while the VM believes it is KVM, and nothing else: what the VM does
 *   with a guest's own failures under KVM
 *
 * Faults a test injects with CLOCHE_TEST_KVM_FAULT=cannot-run|probe-passes|
 * internal-error|stall|tcg-as-kvm, on machines that cannot produce them.
 */
typedef enum
{
  CLOCHE_ACCEL_FAULT_NONE,
  CLOCHE_ACCEL_FAULT_CANNOT_RUN,
  CLOCHE_ACCEL_FAULT_PROBE_PASSES,
  CLOCHE_ACCEL_FAULT_INTERNAL_ERROR,
  CLOCHE_ACCEL_FAULT_STALL,
  CLOCHE_ACCEL_FAULT_TCG_AS_KVM,
} ClocheAccelFault;

/**
 * ClocheAccelMode:
 * @CLOCHE_ACCEL_MODE_AUTO: KVM when the probe says a guest runs on it, and
 *   TCG from then on when a boot under KVM fails anyway
 * @CLOCHE_ACCEL_MODE_KVM: always KVM; a failure is reported, never hidden
 * @CLOCHE_ACCEL_MODE_TCG: always TCG
 *
 * The policy's vm.accelerator.
 */
typedef enum
{
  CLOCHE_ACCEL_MODE_AUTO,
  CLOCHE_ACCEL_MODE_KVM,
  CLOCHE_ACCEL_MODE_TCG,
} ClocheAccelMode;

gboolean         cloche_accel_mode_from_string (const char      *text,
                                                ClocheAccelMode *mode);

ClocheAccelFault cloche_accel_get_fault    (void);
gboolean         cloche_accel_probe        (const char           *kvm_device,
                                            int                  *code,
                                            char                **reason);
void             cloche_accel_probe_async  (const char           *kvm_device,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
gboolean         cloche_accel_probe_finish (GAsyncResult         *result,
                                            int                  *code,
                                            char                **reason);

G_END_DECLS
