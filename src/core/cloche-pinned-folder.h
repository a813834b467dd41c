/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_PINNED_FOLDER (cloche_pinned_folder_get_type ())
G_DECLARE_FINAL_TYPE (ClochePinnedFolder, cloche_pinned_folder, CLOCHE, PINNED_FOLDER, GObject)

ClochePinnedFolder *cloche_pinned_folder_new      (const char          *path,
                                                   GError             **error);
const char         *cloche_pinned_folder_get_path (ClochePinnedFolder  *self);
int                 cloche_pinned_folder_get_fd   (ClochePinnedFolder  *self);
gboolean            cloche_pinned_folder_verify   (ClochePinnedFolder  *self,
                                                   GError             **error);

G_END_DECLS
