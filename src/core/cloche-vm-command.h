/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-bundle.h"

G_BEGIN_DECLS

/* The file descriptors QEMU finds its channels on (socketpair ends). */
#define CLOCHE_VM_QMP_FD   3
#define CLOCHE_VM_AGENT_FD 4

typedef struct
{
  const char *qemu;          /* path of qemu-system-x86_64 */
  const char *accelerator;   /* "kvm" or "tcg" */
  const char *console_path;  /* where the guest serial console goes */
  guint       memory_mib;
  guint       cpus;
} ClocheVmCommandOptions;

GStrv cloche_vm_command_build (ClocheBundle                 *bundle,
                               const ClocheVmCommandOptions *options);

G_END_DECLS
