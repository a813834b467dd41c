/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A terminal of a session in a window of its own (so that the dashboard
 * stays in view beside it): a header with zoom and "new terminal" over a
 * ClocheTerminalView (cloche-terminal-view.c), which does the rest. The
 * main window shows terminals in its Terminals page
 * (cloche-terminals-page.c); "Open in a Separate Window" there moves one
 * here (the tab lets go of it, this window takes it again).
 *
 * Ctrl+Shift+T opens a new terminal in the same session, in a new window.
 * Closing the window never ends what runs (the view's rules).
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-application.h"
#include "cloche-terminal-view.h"
#include "cloche-terminal-window.h"

struct _ClocheTerminalWindow
{
  AdwWindow           parent_instance;
  AdwWindowTitle     *title;
  ClocheTerminalView *view;
};

G_DEFINE_FINAL_TYPE (ClocheTerminalWindow, cloche_terminal_window, ADW_TYPE_WINDOW)

static ClocheClient *
cloche_terminal_window_client_of (GtkApplication *application)
{
  return CLOCHE_IS_APPLICATION (application)
         ? cloche_application_get_client (CLOCHE_APPLICATION (application)) : NULL;
}

static void
cloche_terminal_window_new_action (GtkWidget  *widget,
                                   const char *action_name,
                                   GVariant   *parameter)
{
  ClocheTerminalWindow *self = CLOCHE_TERMINAL_WINDOW (widget);

  gtk_window_present (GTK_WINDOW (cloche_terminal_window_new (
    gtk_window_get_application (GTK_WINDOW (self)),
    cloche_terminal_view_get_session_id (self->view))));
}

/* The header's zoom buttons are beside the view, not in it: its actions
 * are passed on. */
static void
cloche_terminal_window_view_action (GtkWidget  *widget,
                                    const char *action_name,
                                    GVariant   *parameter)
{
  ClocheTerminalWindow *self = CLOCHE_TERMINAL_WINDOW (widget);

  if (self->view != NULL)
    gtk_widget_activate_action_variant (GTK_WIDGET (self->view), action_name, parameter);
}

static void
cloche_terminal_window_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), CLOCHE_TYPE_TERMINAL_WINDOW);
  G_OBJECT_CLASS (cloche_terminal_window_parent_class)->dispose (object);
}

static void
cloche_terminal_window_class_init (ClocheTerminalWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_terminal_window_dispose;
  g_type_ensure (CLOCHE_TYPE_TERMINAL_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-terminal-window.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheTerminalWindow, title);
  gtk_widget_class_install_action (widget_class, "terminal.new", NULL,
                                   cloche_terminal_window_new_action);
  gtk_widget_class_install_action (widget_class, "terminal.zoom-in", NULL,
                                   cloche_terminal_window_view_action);
  gtk_widget_class_install_action (widget_class, "terminal.zoom-out", NULL,
                                   cloche_terminal_window_view_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_t,
                                       GDK_CONTROL_MASK | GDK_SHIFT_MASK, "terminal.new", NULL);
}

static void
cloche_terminal_window_init (ClocheTerminalWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * cloche_terminal_window_new_for_view:
 *
 * Returns: (transfer none): a window showing @view, a terminal started
 *   elsewhere (a tab of the Terminals page)
 */
ClocheTerminalWindow *
cloche_terminal_window_new_for_view (GtkApplication     *application,
                                     ClocheTerminalView *view)
{
  ClocheTerminalWindow *self;
  g_autofree char *subtitle = NULL;

  g_return_val_if_fail (CLOCHE_IS_TERMINAL_VIEW (view), NULL);

  subtitle = g_strdup_printf (_("Session %s"), cloche_terminal_view_get_session_id (view));
  self = g_object_new (CLOCHE_TYPE_TERMINAL_WINDOW, "application", application, NULL);
  self->view = view;
  adw_window_title_set_subtitle (self->title, subtitle);
  /* What runs and where, as its tab said; the id stays the subtitle. */
  g_object_bind_property (view, "title", self->title, "title", G_BINDING_SYNC_CREATE);
  g_object_bind_property (view, "title", self, "title", G_BINDING_SYNC_CREATE);
  gtk_box_append (GTK_BOX (adw_window_get_content (ADW_WINDOW (self))), GTK_WIDGET (view));
  gtk_widget_grab_focus (GTK_WIDGET (view));
  return self;
}

/**
 * cloche_terminal_window_new:
 *
 * Returns: (transfer none): a window with a new terminal in session
 *   @session_id, its shell starting
 */
ClocheTerminalWindow *
cloche_terminal_window_new (GtkApplication *application,
                            const char     *session_id)
{
  ClocheTerminalView *view;

  g_return_val_if_fail (session_id != NULL, NULL);

  view = cloche_terminal_view_new (session_id);
  cloche_terminal_view_start (view, cloche_terminal_window_client_of (application), FALSE);
  return cloche_terminal_window_new_for_view (application, view);
}

/**
 * cloche_terminal_window_get_view:
 *
 * Returns: (transfer none): the window's terminal
 */
ClocheTerminalView *
cloche_terminal_window_get_view (ClocheTerminalWindow *self)
{
  g_return_val_if_fail (CLOCHE_IS_TERMINAL_WINDOW (self), NULL);
  return self->view;
}
