/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-launch-item.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_AGENT_MODE_DIALOG (cloche_agent_mode_dialog_get_type ())
G_DECLARE_FINAL_TYPE (ClocheAgentModeDialog, cloche_agent_mode_dialog, CLOCHE,
                      AGENT_MODE_DIALOG, AdwWindow)

void     cloche_agent_mode_dialog_add_folder (ClocheAgentModeDialog *self,
                                              const char            *path,
                                              gboolean               writable);
void     cloche_agent_mode_choose_async      (GtkWidget             *from,
                                              GListModel            *launchers,
                                              GCancellable          *cancellable,
                                              GAsyncReadyCallback    callback,
                                              gpointer               user_data);
gboolean cloche_agent_mode_choose_finish     (GAsyncResult          *result,
                                              GVariant             **mounts,
                                              GStrv                 *argv,
                                              ClocheLaunchItem     **item,
                                              GError               **error);

G_END_DECLS
