/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-folder-share.h"

G_BEGIN_DECLS

GStrv cloche_folder_share_build_command (ClocheFolderShare  *self,
                                         gboolean            flatpak,
                                         GError            **error);

G_END_DECLS
