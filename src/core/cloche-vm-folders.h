/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-guest-agent.h"
#include "cloche-pinned-folder.h"
#include "cloche-qmp-client.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_VM_FOLDERS (cloche_vm_folders_get_type ())
G_DECLARE_FINAL_TYPE (ClocheVmFolders, cloche_vm_folders, CLOCHE, VM_FOLDERS, GObject)

ClocheVmFolders *cloche_vm_folders_new            (ClocheQmpClient      *qmp,
                                                   ClocheGuestAgent     *agent,
                                                   const char           *run_dir,
                                                   guint                 n_ports);
void             cloche_vm_folders_mount_async    (ClocheVmFolders      *self,
                                                   ClochePinnedFolder   *folder,
                                                   gboolean              readonly,
                                                   const char           *guest_dir,
                                                   guint                 guest_uid,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
gboolean         cloche_vm_folders_mount_finish   (ClocheVmFolders      *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);
void             cloche_vm_folders_unmount_async  (ClocheVmFolders      *self,
                                                   const char           *guest_dir,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
gboolean         cloche_vm_folders_unmount_finish (ClocheVmFolders      *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);
void             cloche_vm_folders_close          (ClocheVmFolders      *self);
gboolean         cloche_vm_folders_is_empty       (ClocheVmFolders      *self);

G_END_DECLS
