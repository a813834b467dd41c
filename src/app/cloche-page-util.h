/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* What the pages share: dialogs over their window, a message line, a
 * progress bar following an operation of the daemon. */

AdwMessageDialog *cloche_message_dialog_new     (GtkWidget      *widget,
                                                 const char     *heading,
                                                 const char     *body);
void              cloche_confirm_removal        (GtkWidget      *widget,
                                                 const char     *heading,
                                                 const char     *body,
                                                 GCallback       confirmed,
                                                 gpointer        data);
void              cloche_message_label_set      (GtkLabel       *label,
                                                 const char     *text,
                                                 gboolean        is_error);
void              cloche_progress_bar_set       (GtkProgressBar *bar,
                                                 guint64         done,
                                                 guint64         total,
                                                 const char     *text);

G_END_DECLS
