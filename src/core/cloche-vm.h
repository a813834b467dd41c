/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-accel.h"
#include "cloche-bundle.h"
#include "cloche-guest-agent.h"
#include "cloche-pinned-folder.h"
#include "cloche-qmp-client.h"
#include "cloche-types.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_VM (cloche_vm_get_type ())
G_DECLARE_FINAL_TYPE (ClocheVm, cloche_vm, CLOCHE, VM, GObject)

ClocheVm         *cloche_vm_new                    (const char           *bundle_path);
ClocheVmState     cloche_vm_get_state              (ClocheVm             *self);
const char       *cloche_vm_get_state_reason       (ClocheVm             *self);
const GError     *cloche_vm_get_last_error         (ClocheVm             *self);
gboolean          cloche_vm_get_preparing          (ClocheVm             *self);
const char * const *cloche_vm_get_console_tail     (ClocheVm             *self);
const char       *cloche_vm_get_accelerator        (ClocheVm             *self);
const char       *cloche_vm_get_accelerator_reason (ClocheVm             *self);
gboolean          cloche_vm_get_accelerator_fallback (ClocheVm           *self);
const char       *cloche_vm_get_kvm_failure        (ClocheVm             *self);
const char * const *cloche_vm_get_qemu_tail        (ClocheVm             *self);
void              cloche_vm_set_accelerator_mode   (ClocheVm             *self,
                                                    ClocheAccelMode       mode);
gint64            cloche_vm_get_booted_at          (ClocheVm             *self);
gint64            cloche_vm_get_restored_from      (ClocheVm             *self);
const char       *cloche_vm_get_bundle_path        (ClocheVm             *self);
void              cloche_vm_set_bundle_path        (ClocheVm             *self,
                                                    const char           *bundle_path);
GPid              cloche_vm_get_pid                (ClocheVm             *self);
void              cloche_vm_set_agent_timeout      (ClocheVm             *self,
                                                    guint                 seconds);
ClocheGuestAgent *cloche_vm_get_guest_agent        (ClocheVm             *self);
ClocheQmpClient  *cloche_vm_get_qmp_client         (ClocheVm             *self);
void              cloche_vm_set_memory_mib         (ClocheVm             *self,
                                                    guint                 mib);
void              cloche_vm_set_cpus               (ClocheVm             *self,
                                                    guint                 cpus);
const char       *cloche_vm_get_egress_relay       (ClocheVm             *self);
const char       *cloche_vm_get_egress_socket      (ClocheVm             *self);
void              cloche_vm_set_egress             (ClocheVm             *self,
                                                    const char           *relay_path,
                                                    const char           *socket_path);
void              cloche_vm_start_async            (ClocheVm             *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean          cloche_vm_start_finish           (ClocheVm             *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
void              cloche_vm_stop_async             (ClocheVm             *self,
                                                    const char           *reason,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
void              cloche_vm_idle_stop_async        (ClocheVm             *self,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
void              cloche_vm_set_warm_wake          (ClocheVm             *self,
                                                    gboolean              warm_wake);
gboolean          cloche_vm_get_warm_wake          (ClocheVm             *self);
gboolean          cloche_vm_get_woke_warm          (ClocheVm             *self);
const char       *cloche_vm_get_warm_failure       (ClocheVm             *self);
guint64           cloche_vm_get_snapshot_size      (ClocheVm             *self);
void              cloche_vm_measure_snapshot       (ClocheVm             *self);
gboolean          cloche_vm_take_guest_uid         (ClocheVm             *self,
                                                    guint                *uid,
                                                    GError              **error);
gboolean          cloche_vm_stop_finish            (ClocheVm             *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
void              cloche_vm_mount_folder_async     (ClocheVm             *self,
                                                    ClochePinnedFolder   *folder,
                                                    gboolean              readonly,
                                                    const char           *guest_dir,
                                                    guint                 guest_uid,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean          cloche_vm_mount_folder_finish    (ClocheVm             *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
void              cloche_vm_unmount_folder_async   (ClocheVm             *self,
                                                    const char           *guest_dir,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean          cloche_vm_unmount_folder_finish  (ClocheVm             *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

G_END_DECLS
