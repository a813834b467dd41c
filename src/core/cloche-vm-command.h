/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-bundle.h"

G_BEGIN_DECLS

/* The file descriptors QEMU finds its channels on (socketpair ends). */
#define CLOCHE_VM_QMP_FD   3
#define CLOCHE_VM_AGENT_FD 4
/* And the bundle's boot files, as checked before the boot (cloche-bundle.c). */
#define CLOCHE_VM_KERNEL_FD 5
#define CLOCHE_VM_INITRD_FD 6
#define CLOCHE_VM_ROOT_FD   7
/* Warm wake (cloche-vm-snapshot.c): the device state a restore reads, and
 * the guest's RAM (a memfd the daemon owns). */
#define CLOCHE_VM_STATE_IN_FD  8
#define CLOCHE_VM_RAM_FD       9

/* Empty pcie-root-ports reserved at launch, one per folder that can be
 * hot-plugged into the running VM (see cloche-vm-folders.c): a work folder
 * and a user folder or two for each of three or four sessions open at
 * once, at about 40 ms of TCG boot each (issue 21: sixteen were a fifth of
 * QEMU's CPU time to the agent's first reply). A mount past them is
 * refused with the reason (unmount one first). */
#define CLOCHE_VM_FOLDER_PORTS 8

/* The name QEMU gives the temporary overlay of a snapshot=on drive (in
 * $TMPDIR): how ClocheVm finds one a killed QEMU left behind. */
#define CLOCHE_VM_OVERLAY_PREFIX "vl."

/* Where the guest finds the egress proxy: the only address it can reach. */
#define CLOCHE_VM_EGRESS_ADDRESS "10.0.2.100"
#define CLOCHE_VM_EGRESS_PORT    3128

/* Cloche's own program in the guest (src/guest, put into every bundle by
 * tools/build-bundle): sessions' walls, their commands, and folder mounts. */
#define CLOCHE_VM_GUEST_HELPER "/usr/sbin/cloche-guest"
/* A session user's home in its view of the guest (a tmpfs of its own). */
#define CLOCHE_VM_SESSION_HOME "/home/cloche"
/* Session users are guest uids from here on, one per session and boot. */
#define CLOCHE_VM_FIRST_SESSION_UID 10000
#define CLOCHE_VM_LAST_SESSION_UID  60000

typedef struct
{
  const char *qemu;          /* path of qemu-system-x86_64 */
  const char *accelerator;   /* "kvm" or "tcg" */
  const char *console_path;  /* where the guest serial console goes */
  guint       memory_mib;
  guint       cpus;
  guint       folder_ports;  /* pcie-root-ports to reserve for folders */
  const char *egress_relay;  /* cloche-egress-relay, or NULL: no way out at all */
  const char *egress_socket; /* the proxy's socket the relay connects to */
  gboolean    boot_fds;      /* kernel, initrd and root image are open on
                              * CLOCHE_VM_KERNEL_FD…: name those, not paths */
  gboolean    ram_fd;        /* the RAM is the memfd on CLOCHE_VM_RAM_FD */
  gboolean    incoming;      /* wait for a restore (-incoming defer) */
} ClocheVmCommandOptions;

GStrv cloche_vm_command_build          (ClocheBundle                 *bundle,
                                        const ClocheVmCommandOptions *options);
char *cloche_vm_command_folder_port_id (guint                         index);

G_END_DECLS
