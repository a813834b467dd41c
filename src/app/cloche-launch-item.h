/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-agent-profile.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_LAUNCH_ITEM (cloche_launch_item_get_type ())
G_DECLARE_FINAL_TYPE (ClocheLaunchItem, cloche_launch_item, CLOCHE, LAUNCH_ITEM, GObject)

ClocheLaunchItem   *cloche_launch_item_new           (const char         *title,
                                                      const char         *subtitle,
                                                      const char * const *argv,
                                                      gboolean            takes_command);
const char         *cloche_launch_item_get_title     (ClocheLaunchItem   *self);
const char         *cloche_launch_item_get_subtitle  (ClocheLaunchItem   *self);
const char * const *cloche_launch_item_get_argv      (ClocheLaunchItem   *self);
gboolean            cloche_launch_item_takes_command (ClocheLaunchItem   *self);
ClocheLaunchItem   *cloche_launch_item_new_agent     (ClocheAgentProfile *profile,
                                                      const char * const *locked);
const char         *cloche_launch_item_get_agent     (ClocheLaunchItem   *self);
const char * const *cloche_launch_item_get_hosts     (ClocheLaunchItem   *self);
const char         *cloche_launch_item_get_unavailable (ClocheLaunchItem *self);
GListStore         *cloche_launch_item_list_default  (const char * const *locked);

G_END_DECLS
