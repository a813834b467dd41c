/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Small pieces the pages share, so that every destructive confirmation
 * looks and answers alike and every progress bar reads the same way.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-page-util.h"

/**
 * cloche_message_dialog_new:
 * @widget: a widget of the window the dialog belongs to
 *
 * Returns: (transfer none): a dialog, transient for @widget's window when it
 * has one (a page under test may have none)
 */
AdwMessageDialog *
cloche_message_dialog_new (GtkWidget  *widget,
                           const char *heading,
                           const char *body)
{
  GtkRoot *root = gtk_widget_get_root (widget);

  return ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root)
                                                                            : NULL,
                                                     heading, body));
}

/**
 * cloche_confirm_removal:
 * @confirmed: called as `void confirmed (gpointer data)` when the user picks
 *   "Remove", never for "Cancel" or closing the dialog
 * @data: (type GObject): the page; the dialog answers only while it lives
 *
 * Asks before removing something. Cancel is the default: a removal is
 * never one Enter away. The answer's id is "remove".
 */
void
cloche_confirm_removal (GtkWidget  *widget,
                        const char *heading,
                        const char *body,
                        GCallback   confirmed,
                        gpointer    data)
{
  AdwMessageDialog *dialog = cloche_message_dialog_new (widget, heading, body);

  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "remove", _("_Remove"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "remove", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect_object (dialog, "response::remove", confirmed, data, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Shows @text on @label, as an error or not; NULL clears it. */
void
cloche_message_label_set (GtkLabel   *label,
                          const char *text,
                          gboolean    is_error)
{
  gtk_label_set_label (label, text != NULL ? text : "");
  if (is_error)
    gtk_widget_add_css_class (GTK_WIDGET (label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (label), "error");
}

/* @done of @total, as the daemon's progress signals give them. With
 * nothing to do (@total 0) the work is done: the bar is full, as
 * clochectl prints 100%. */
void
cloche_progress_bar_set (GtkProgressBar *bar,
                         guint64         done,
                         guint64         total,
                         const char     *text)
{
  gtk_progress_bar_set_fraction (bar, total > 0 ? (double) done / total : 1.0);
  gtk_progress_bar_set_text (bar, text);
}
