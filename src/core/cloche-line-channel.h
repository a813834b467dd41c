/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_LINE_CHANNEL (cloche_line_channel_get_type ())
G_DECLARE_FINAL_TYPE (ClocheLineChannel, cloche_line_channel, CLOCHE, LINE_CHANNEL, GObject)

ClocheLineChannel *cloche_line_channel_new       (GIOStream         *stream);
void               cloche_line_channel_start     (ClocheLineChannel *self);
void               cloche_line_channel_send_with_fd (ClocheLineChannel *self,
                                                     JsonNode          *node,
                                                     int                fd);
void               cloche_line_channel_send      (ClocheLineChannel *self,
                                                  JsonNode          *node);
void               cloche_line_channel_close     (ClocheLineChannel *self);
gboolean           cloche_line_channel_is_closed (ClocheLineChannel *self);

G_END_DECLS
