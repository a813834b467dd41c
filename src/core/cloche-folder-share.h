/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-pinned-folder.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_FOLDER_SHARE (cloche_folder_share_get_type ())
G_DECLARE_FINAL_TYPE (ClocheFolderShare, cloche_folder_share, CLOCHE, FOLDER_SHARE, GObject)

ClocheFolderShare *cloche_folder_share_new             (ClochePinnedFolder   *folder,
                                                        gboolean              readonly,
                                                        const char           *socket_path);
const char        *cloche_folder_share_get_host_path   (ClocheFolderShare    *self);
gboolean           cloche_folder_share_get_readonly    (ClocheFolderShare    *self);
const char        *cloche_folder_share_get_socket_path (ClocheFolderShare    *self);
void               cloche_folder_share_set_guest_uid   (ClocheFolderShare    *self,
                                                        guint                 guest_uid);
guint              cloche_folder_share_get_guest_uid   (ClocheFolderShare    *self);
GPid               cloche_folder_share_get_pid         (ClocheFolderShare    *self);
void               cloche_folder_share_start_async     (ClocheFolderShare    *self,
                                                        GCancellable         *cancellable,
                                                        GAsyncReadyCallback   callback,
                                                        gpointer              user_data);
gboolean           cloche_folder_share_start_finish    (ClocheFolderShare    *self,
                                                        GAsyncResult         *result,
                                                        GError              **error);
void               cloche_folder_share_stop_async      (ClocheFolderShare    *self,
                                                        GCancellable         *cancellable,
                                                        GAsyncReadyCallback   callback,
                                                        gpointer              user_data);
gboolean           cloche_folder_share_stop_finish     (ClocheFolderShare    *self,
                                                        GAsyncResult         *result,
                                                        GError              **error);

G_END_DECLS
