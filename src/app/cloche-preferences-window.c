/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The app's own preferences. What the sandbox may do (memory, idle
 * timeout, egress, folders) is the policy file's, which an administrator
 * may lock: it is shown where it applies, not edited here.
 */
#include "config.h"

#include "cloche-preferences-window.h"

struct _ClochePreferencesWindow
{
  AdwPreferencesWindow parent_instance;
};

G_DEFINE_FINAL_TYPE (ClochePreferencesWindow, cloche_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
cloche_preferences_window_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), CLOCHE_TYPE_PREFERENCES_WINDOW);
  G_OBJECT_CLASS (cloche_preferences_window_parent_class)->dispose (object);
}

static void
cloche_preferences_window_class_init (ClochePreferencesWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = cloche_preferences_window_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-preferences-window.ui");
}

static void
cloche_preferences_window_init (ClochePreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWindow *
cloche_preferences_window_new (GtkWindow *parent)
{
  return g_object_new (CLOCHE_TYPE_PREFERENCES_WINDOW,
                       "transient-for", parent,
                       "modal", TRUE,
                       "application", parent != NULL ? gtk_window_get_application (parent) : NULL,
                       NULL);
}
