/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cloche-accel.h"
#include "cloche-error.h"

#define TCG_COST N_("running 10-50x slower in software (TCG)")

static gboolean
kvm_creates_vm (int    fd,
                int   *code,
                char **reason)
{
  int vm_fd;

  *code = CLOCHE_ERROR_KVM_UNUSABLE;
  if (ioctl (fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
    {
      *reason = g_strdup_printf (_("/dev/kvm answers with an unknown KVM API version; %s"),
                                 _(TCG_COST));
      return FALSE;
    }
  /* A device node can exist while the CPU extensions are off or taken. */
  vm_fd = ioctl (fd, KVM_CREATE_VM, 0);
  if (vm_fd < 0)
    {
      *reason = g_strdup_printf (_("/dev/kvm cannot create a VM (%s): hardware virtualization "
                                   "is off in the firmware or used by another hypervisor; %s"),
                                 g_strerror (errno), _(TCG_COST));
      return FALSE;
    }
  close (vm_fd);
  return TRUE;
}

/**
 * cloche_accel_probe:
 * @kvm_device: (nullable): the KVM device, %NULL for /dev/kvm
 * @code: (out): why not, when KVM is not usable: CLOCHE_ERROR_KVM_MISSING,
 *   CLOCHE_ERROR_KVM_DENIED or CLOCHE_ERROR_KVM_UNUSABLE
 * @reason: (out): a sentence saying what was found
 *
 * Returns: whether the device can create a VM
 */
gboolean
cloche_accel_probe (const char  *kvm_device,
                    int         *code,
                    char       **reason)
{
  const char *device = kvm_device != NULL ? kvm_device : "/dev/kvm";
  int fd;

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
  if (!kvm_creates_vm (fd, code, reason))
    {
      close (fd);
      return FALSE;
    }
  close (fd);
  *code = 0;
  *reason = g_strdup_printf (_("%s is usable: hardware virtualization"), device);
  return TRUE;
}

/**
 * cloche_accel_detect:
 * @kvm_device: (nullable): the KVM device, %NULL for /dev/kvm
 * @reason: (out): a sentence saying why the returned accelerator is used
 *
 * Returns: "kvm" when the device can create a VM, "tcg" otherwise
 */
const char *
cloche_accel_detect (const char  *kvm_device,
                     char       **reason)
{
  int code;

  return cloche_accel_probe (kvm_device, &code, reason) ? "kvm" : "tcg";
}
