/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The main window's Terminals page: the open sessions' terminals as tabs
 * (AdwTabView), each a ClocheTerminalView (cloche-terminal-view.c), so
 * that working in a session does not need a second window. Reached from a
 * session's "Open Terminal" (the Sessions page's row menu, the Overview)
 * and from agent mode, through win.open-terminal.
 *
 * Opening a session's terminal selects its tab if it has one whose
 * terminal has not ended; otherwise a
 * new tab takes the session's terminal whose tab or window was closed
 * (it kept running, detached), or opens a new one. Closing a tab never
 * ends what runs in it. Ctrl+Shift+T opens a new terminal in the selected
 * tab's session; "Move to a Separate Window" moves the tab's terminal, as
 * it is, into a ClocheTerminalWindow (the same VTE and clochectl: nothing
 * is detached on the way). A tab's title is its view's (what runs, and the
 * session's title), its tooltip the session's id.
 *
 * A new window (the page given its client) takes up every terminal no
 * client holds, each in a tab: the ones whose tab or window closed, the
 * app's last window among them (agent mode's sessions outlive the app).
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-terminal-window.h"
#include "cloche-terminals-page.h"

struct _ClocheTerminalsPage
{
  AdwBin        parent_instance;
  GtkStack     *stack;
  AdwTabView   *tab_view;
  ClocheClient *client;
  GtkWidget    *starting;   /* agent mode's tab while its session opens */
};

G_DEFINE_FINAL_TYPE (ClocheTerminalsPage, cloche_terminals_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_CLIENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
cloche_terminals_page_pages_changed_cb (ClocheTerminalsPage *self)
{
  gboolean any = adw_tab_view_get_n_pages (self->tab_view) > 0;

  gtk_stack_set_visible_child_name (self->stack, any ? "tabs" : "empty");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "terminals.new", any);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "terminals.to-window", any);
}

static void
cloche_terminals_page_view_title_cb (ClocheTerminalView *view,
                                     GParamSpec         *pspec,
                                     ClocheTerminalsPage *self)
{
  AdwTabPage *page = adw_tab_view_get_page (self->tab_view, GTK_WIDGET (view));
  g_autofree char *title = cloche_terminal_view_get_title (view);
  g_autofree char *tooltip = cloche_terminal_view_get_tooltip (view);

  if (page == NULL)
    return;
  adw_tab_page_set_title (page, title);
  adw_tab_page_set_tooltip (page, tooltip);
}

static AdwTabPage *
cloche_terminals_page_append_view (ClocheTerminalsPage *self,
                                   ClocheTerminalView  *view)
{
  AdwTabPage *page = adw_tab_view_append (self->tab_view, GTK_WIDGET (view));
  g_autoptr(GIcon) icon = g_themed_icon_new ("utilities-terminal-symbolic");

  /* Until the view moves to a window of its own: no tab then. */
  g_signal_connect_object (view, "notify::title",
                           G_CALLBACK (cloche_terminals_page_view_title_cb), self, 0);
  g_signal_connect_object (view, "notify::tooltip",
                           G_CALLBACK (cloche_terminals_page_view_title_cb), self, 0);
  cloche_terminals_page_view_title_cb (view, NULL, self);
  adw_tab_page_set_icon (page, icon);
  adw_tab_view_set_selected_page (self->tab_view, page);
  gtk_widget_grab_focus (GTK_WIDGET (view));
  return page;
}

static AdwTabPage *
cloche_terminals_page_add_tab (ClocheTerminalsPage *self,
                               const char          *session_id,
                               gboolean             attach)
{
  ClocheTerminalView *view = cloche_terminal_view_new (session_id);
  AdwTabPage *page = cloche_terminals_page_append_view (self, view);

  cloche_terminal_view_start (view, self->client, attach);
  return page;
}

/* Agent mode's tab, if it is still open. */
static ClocheTerminalView *
cloche_terminals_page_take_starting (ClocheTerminalsPage *self)
{
  GtkWidget *view = g_steal_pointer (&self->starting);

  if (view != NULL)
    g_object_remove_weak_pointer (G_OBJECT (view), (gpointer *) &self->starting);
  return view != NULL && adw_tab_view_get_page (self->tab_view, view) != NULL
         ? CLOCHE_TERMINAL_VIEW (view) : NULL;
}

/**
 * cloche_terminals_page_add_starting:
 *
 * A tab for agent mode while its session opens (the VM may have to boot),
 * saying so; cloche_terminals_page_run() or _fail_starting() take it.
 */
void
cloche_terminals_page_add_starting (ClocheTerminalsPage *self)
{
  ClocheTerminalView *view = cloche_terminal_view_new (NULL);

  g_return_if_fail (CLOCHE_IS_TERMINALS_PAGE (self));

  cloche_terminals_page_take_starting (self);
  cloche_terminals_page_append_view (self, view);
  cloche_terminal_view_say (view, _("Starting the sandbox for agent mode: its folders are "
                                    "checked and mounted, and the VM boots if it is not "
                                    "running (seconds with KVM, a minute or more without). "
                                    "The terminal opens here then."), FALSE);
  self->starting = GTK_WIDGET (view);
  g_object_add_weak_pointer (G_OBJECT (view), (gpointer *) &self->starting);
}

/**
 * cloche_terminals_page_run:
 * @argv: (nullable): the command, or %NULL for the login shell
 * @agent: (nullable): an agent profile to run instead (@argv is then its
 *   command)
 *
 * A new terminal in session @session_id running @argv: in agent mode's
 * starting tab if it is open, else in a new tab.
 *
 * Returns: whether it went into the starting tab
 */
gboolean
cloche_terminals_page_run (ClocheTerminalsPage *self,
                           const char          *session_id,
                           const char * const  *argv,
                           const char          *agent)
{
  ClocheTerminalView *view;
  gboolean started;

  g_return_val_if_fail (CLOCHE_IS_TERMINALS_PAGE (self), FALSE);

  view = cloche_terminals_page_take_starting (self);
  started = view != NULL;
  if (view == NULL)
    cloche_terminals_page_append_view (self, view = cloche_terminal_view_new (session_id));
  cloche_terminal_view_set_session_id (view, session_id);
  cloche_terminal_view_set_command (view, argv);
  cloche_terminal_view_set_agent (view, agent);
  cloche_terminal_view_start (view, self->client, FALSE);
  return started;
}

/**
 * cloche_terminals_page_fail_starting:
 *
 * Agent mode did not open: its starting tab goes (the Overview says why,
 * with what to do).
 */
void
cloche_terminals_page_fail_starting (ClocheTerminalsPage *self)
{
  ClocheTerminalView *view;

  g_return_if_fail (CLOCHE_IS_TERMINALS_PAGE (self));

  if ((view = cloche_terminals_page_take_starting (self)) != NULL)
    adw_tab_view_close_page (self->tab_view,
                             adw_tab_view_get_page (self->tab_view, GTK_WIDGET (view)));
}

/**
 * cloche_terminals_page_open:
 *
 * Shows session @session_id's terminal: its tab, or a new tab on the
 * terminal whose tab or window was closed, or on a new terminal.
 */
void
cloche_terminals_page_open (ClocheTerminalsPage *self,
                            const char          *session_id)
{
  g_return_if_fail (CLOCHE_IS_TERMINALS_PAGE (self));

  for (int i = 0; i < adw_tab_view_get_n_pages (self->tab_view); i++)
    {
      AdwTabPage *page = adw_tab_view_get_nth_page (self->tab_view, i);
      ClocheTerminalView *view = CLOCHE_TERMINAL_VIEW (adw_tab_page_get_child (page));

      if (g_strcmp0 (cloche_terminal_view_get_session_id (view), session_id) == 0
          && cloche_terminal_view_is_running (view))
        {
          adw_tab_view_set_selected_page (self->tab_view, page);
          gtk_widget_grab_focus (GTK_WIDGET (view));
          return;
        }
    }
  cloche_terminals_page_add_tab (self, session_id, TRUE);
}

/**
 * cloche_terminals_page_get_selected:
 *
 * Returns: (transfer none) (nullable): the selected tab's terminal
 */
ClocheTerminalView *
cloche_terminals_page_get_selected (ClocheTerminalsPage *self)
{
  AdwTabPage *page;

  g_return_val_if_fail (CLOCHE_IS_TERMINALS_PAGE (self), NULL);

  page = adw_tab_view_get_selected_page (self->tab_view);
  return page != NULL ? CLOCHE_TERMINAL_VIEW (adw_tab_page_get_child (page)) : NULL;
}

static void
cloche_terminals_page_new_action (GtkWidget  *widget,
                                  const char *action_name,
                                  GVariant   *parameter)
{
  ClocheTerminalsPage *self = CLOCHE_TERMINALS_PAGE (widget);
  ClocheTerminalView *view = cloche_terminals_page_get_selected (self);

  if (view != NULL)
    cloche_terminals_page_add_tab (self, cloche_terminal_view_get_session_id (view), FALSE);
}

static void
cloche_terminals_page_to_window_action (GtkWidget  *widget,
                                        const char *action_name,
                                        GVariant   *parameter)
{
  ClocheTerminalsPage *self = CLOCHE_TERMINALS_PAGE (widget);
  AdwTabPage *page = adw_tab_view_get_selected_page (self->tab_view);
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autoptr(ClocheTerminalView) view = NULL;

  if (page == NULL)
    return;
  /* Kept alive across the move: the tab lets go of it, the window takes it. */
  view = g_object_ref (CLOCHE_TERMINAL_VIEW (adw_tab_page_get_child (page)));
  adw_tab_view_close_page (self->tab_view, page);
  gtk_window_present (GTK_WINDOW (cloche_terminal_window_new_for_view (
    GTK_IS_WINDOW (root) ? gtk_window_get_application (GTK_WINDOW (root)) : NULL, view)));
}

static void
cloche_terminals_page_listed_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  g_autoptr(ClocheTerminalsPage) self = user_data;
  g_autoptr(GVariant) terminals = NULL;
  g_autoptr(GError) error = NULL;

  if (!cloche_dbus_sessions_call_list_terminals_finish (CLOCHE_DBUS_SESSIONS (object),
                                                        &terminals, result, &error))
    {
      /* No daemon yet, or an older one: Open Terminal still takes them. */
      g_debug ("ListTerminals: %s", error->message);
      return;
    }
  if (self->client == NULL)
    return;
  for (gsize i = 0; i < g_variant_n_children (terminals); i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (terminals, i);
      g_autofree const char **command = NULL;
      const char *terminal, *session;
      gboolean attached = TRUE;
      ClocheTerminalView *view;

      if (!g_variant_lookup (entry, "terminal", "&s", &terminal)
          || !g_variant_lookup (entry, "session", "&s", &session)
          || !g_variant_lookup (entry, "attached", "b", &attached) || attached)
        continue;
      g_variant_lookup (entry, "command", "^a&s", &command);
      view = cloche_terminal_view_new (session);
      cloche_terminals_page_append_view (self, view);
      cloche_terminal_view_attach (view, self->client, terminal,
                                   command != NULL ? command[0] : NULL);
    }
}

/* What ran in tabs or windows that went (the app's last window among
 * them) and still runs, detached: in tabs again. */
static void
cloche_terminals_page_take_up_detached (ClocheTerminalsPage *self)
{
  ClocheDbusSessions *sessions = cloche_client_get_sessions (self->client);

  if (sessions != NULL)
    cloche_dbus_sessions_call_list_terminals (sessions, "", NULL,
                                              cloche_terminals_page_listed_cb,
                                              g_object_ref (self));
}

static void
cloche_terminals_page_dispose (GObject *object)
{
  ClocheTerminalsPage *self = CLOCHE_TERMINALS_PAGE (object);

  g_clear_object (&self->client);
  cloche_terminals_page_take_starting (self);
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), CLOCHE_TYPE_TERMINALS_PAGE);
  G_OBJECT_CLASS (cloche_terminals_page_parent_class)->dispose (object);
}

static void
cloche_terminals_page_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  ClocheTerminalsPage *self = CLOCHE_TERMINALS_PAGE (object);

  if (prop_id == PROP_CLIENT)
    g_value_set_object (value, self->client);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
cloche_terminals_page_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  ClocheTerminalsPage *self = CLOCHE_TERMINALS_PAGE (object);

  if (prop_id == PROP_CLIENT)
    {
      if (g_set_object (&self->client, g_value_get_object (value)))
        {
          if (self->client != NULL)
            cloche_terminals_page_take_up_detached (self);
          g_object_notify_by_pspec (object, pspec);
        }
    }
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
cloche_terminals_page_class_init (ClocheTerminalsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_terminals_page_dispose;
  object_class->get_property = cloche_terminals_page_get_property;
  object_class->set_property = cloche_terminals_page_set_property;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, CLOCHE_TYPE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-terminals-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheTerminalsPage, stack);
  gtk_widget_class_bind_template_child (widget_class, ClocheTerminalsPage, tab_view);
  gtk_widget_class_bind_template_callback (widget_class, cloche_terminals_page_pages_changed_cb);
  gtk_widget_class_install_action (widget_class, "terminals.new", NULL,
                                   cloche_terminals_page_new_action);
  gtk_widget_class_install_action (widget_class, "terminals.to-window", NULL,
                                   cloche_terminals_page_to_window_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_t,
                                       GDK_CONTROL_MASK | GDK_SHIFT_MASK, "terminals.new", NULL);
}

static void
cloche_terminals_page_init (ClocheTerminalsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  cloche_terminals_page_pages_changed_cb (self);
}
