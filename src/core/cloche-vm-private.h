/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-vm-command.h"
#include "cloche-vm-folders.h"
#include "cloche-vm-snapshot.h"
#include "cloche-vm.h"

G_BEGIN_DECLS

/* How long QEMU gets to quit once asked (a stop, or the end of a save). */
#define CLOCHE_VM_QUIT_GRACE_S 3

struct _ClocheVm
{
  GObject           parent_instance;

  char             *bundle_path;
  char             *run_dir;
  char             *overlay_dir;   /* disk-backed, for a disk bundle's writes */
  char             *stamps_path;   /* the boot files' stamps (cloche-bundle-stamps.c) */
  GCancellable     *checking;      /* set while the bundle is checked before a boot */
  char             *accelerator;       /* what the next boot uses; "" until probed */
  char             *accelerator_reason;
  ClocheAccelMode   accel_mode;
  char             *kvm_device;        /* NULL: /dev/kvm */
  gboolean          probe_done;
  gboolean          probe_usable;
  char             *probe_reason;
  gboolean          launch_after_probe;
  GCancellable     *probe_cancellable;
  char             *kvm_failure;       /* why KVM failed a boot here; NULL if it never did */
  gboolean          accelerator_fallback;
  guint             agent_timeout_s;
  guint             memory_mib;      /* 0: the default for this host */
  guint             cpus;            /* 0: one */
  char             *egress_relay;    /* NULL: the guest has no way out */
  char             *egress_socket;

  ClocheVmState     state;
  char             *state_reason;
  GStrv             console_tail;
  gint64            booted_at;
  gint64            restored_from;  /* booted_at of the boot this one was saved as, or 0 */
  gint64            saving_boot;    /* booted_at of the boot being saved (the stop clears it) */

  GSubprocess      *process;
  ClocheQmpClient  *qmp;
  ClocheGuestAgent *agent;
  char             *stop_reason;
  GError           *failure;         /* why we are killing QEMU, until it exits */
  GError           *last_error;      /* why the last boot failed or the VM crashed */
  guint             stop_timer;
  guint             stall_timer;
  guint             kill_timer;
  char             *boot_accelerator; /* what this QEMU was started with */
  goffset           qemu_log_start;  /* where this boot's part of qemu.log begins */
  GStrv             qemu_tail;       /* what QEMU said, kept after a failure */
  gboolean          kill_sent;
  gboolean          fallback_boot;   /* this boot is TCG after KVM failed it */
  gboolean          injected_stop;   /* CLOCHE_ACCEL_FAULT_INTERNAL_ERROR sent "stop" */

  GQueue            start_tasks;
  GQueue            stop_tasks;

  ClocheVmFolders  *folders;         /* hot-plugged folders of this boot */

  /* Warm wake (cloche-vm-snapshot.c) */
  gboolean          warm_wake;       /* policy vm.warm_wake: save at idle, restore on open */
  char             *snapshot_dir;
  char             *snapshot_key;    /* what this boot's snapshot is tied to; NULL: none */
  int               ram_fd;          /* this boot's guest RAM (memfd), the daemon's; -1 */
  int               state_fd;        /* the file a save writes the device state to; -1 */
  gboolean          can_save;        /* QEMU holds CLOCHE_VM_STATE_OUT_FD */
  ClocheVmSnapshot *restoring;       /* the snapshot this boot restores, until it runs */
  gboolean          restore_boot;    /* this boot restores; cleared once it runs or fails */
  guint             restore_fill;    /* the RAM copy this restore waits for; 0: done */
  gboolean          incoming_ready;  /* QEMU is ready to load the device state */
  gboolean          woke_warm;       /* the running boot came from a snapshot */
  gboolean          saving;          /* this stop saves the VM */
  char             *warm_failure;    /* why the last restore was refused or failed */
  guint             next_guest_uid;  /* the first session user not given out this boot */
  char             *qemu_version;    /* this boot's QEMU, as query-version says */
  guint             save_timer;
  guint64           snapshot_size;   /* allocated bytes, as last measured */
};

/* What a boot hands QEMU besides its channels; -1: nothing. */
typedef struct
{
  int ram;        /* the guest's RAM: a memfd */
  int state_in;   /* a restore's device state */
} ClocheVmWarmFds;

/* The VM's own steps, which warm wake (cloche-vm-warm.c) takes too. */
gboolean _cloche_vm_set_str         (char                   **target,
                                     const char              *value);
void     _cloche_vm_set_state       (ClocheVm                *self,
                                     ClocheVmState            state,
                                     const char              *reason);
void     _cloche_vm_kill_for        (ClocheVm                *self,
                                     const GError            *error);
void     _cloche_vm_launch          (ClocheVm                *self);
void     _cloche_vm_boot            (ClocheVm                *self,
                                     ClocheBundle            *bundle);
void     _cloche_vm_become_running  (ClocheVm                *self);
void     _cloche_vm_end_checking    (ClocheVm                *self,
                                     GError                 **error);
void     _cloche_vm_fail_launch     (ClocheVm                *self,
                                     const GError            *error);
char    *_cloche_vm_find_qemu       (GError                 **error);
void     _cloche_vm_fill_options    (ClocheVm                *self,
                                     ClocheVmCommandOptions  *options,
                                     const char              *qemu,
                                     const char              *console);
gboolean _cloche_vm_on_quit_slow    (gpointer                 user_data);

/* Warm wake's steps (cloche-vm-warm.c), where a boot or a stop meets it. */
gboolean _cloche_vm_warm_try_restore  (ClocheVm            *self,
                                       ClocheBundle        *bundle);
gboolean _cloche_vm_warm_make_fds     (ClocheVm            *self,
                                       ClocheVmWarmFds     *fds,
                                       GError             **error);
void     _cloche_vm_warm_take_fds     (GSubprocessLauncher *launcher,
                                       ClocheVmWarmFds     *fds);
void     _cloche_vm_warm_close_fds    (ClocheVmWarmFds     *fds);
void     _cloche_vm_warm_query_version (ClocheVm           *self);
void     _cloche_vm_warm_set_clock    (ClocheVm            *self);
void     _cloche_vm_warm_refused      (ClocheVm            *self,
                                       const GError        *why);
void     _cloche_vm_warm_on_migration (ClocheVm            *self,
                                       const char          *status);

G_END_DECLS
