/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The dashboard's window: a sidebar of pages. Its client is the
 * application's (ClocheApplication owns the one connection to the daemon);
 * the window mirrors it and the last connection error as properties its
 * pages bind to in the template, and feeds it to what the window keeps
 * (the monitor history, the egress log, the session summary, the
 * notifier). What changes with time only is watched while the window is
 * mapped: a hidden dashboard wakes up for nothing.
 */
#include "config.h"

#include "cloche-application.h"
#include "cloche-bundle-page.h"
#include "cloche-diagnostics-page.h"
#include "cloche-egress-page.h"
#include "cloche-secrets-page.h"
#include "cloche-monitor-page.h"
#include "cloche-notifier.h"
#include "cloche-overview-page.h"
#include "cloche-sessions-page.h"
#include "cloche-settings.h"
#include "cloche-terminals-page.h"
#include "cloche-window.h"

struct _ClocheWindow
{
  AdwApplicationWindow  parent_instance;

  ClocheClient         *client;
  ClocheMonitorHistory *monitor_history;
  ClocheEgressLog      *egress_log;
  ClocheSessionSummary *session_summary;
  GSettings            *settings;
  ClocheNotifier       *notifier;
  ClocheApplication    *followed;   /* the application whose client it shows */
  char                 *service_error;

  AdwLeaflet           *leaflet;
  GtkListBox           *sidebar_list;
  GtkListBoxRow        *overview_row;
  AdwWindowTitle       *content_title;
  GtkStack             *stack;
  ClocheOverviewPage   *overview_page;
  ClocheSessionsPage   *sessions_page;
  ClocheTerminalsPage  *terminals_page;
  ClocheMonitorPage    *monitor_page;
  ClocheDiagnosticsPage *diagnostics_page;
  ClocheEgressPage     *egress_page;
};

G_DEFINE_FINAL_TYPE (ClocheWindow, cloche_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_CLIENT,
  PROP_SERVICE_ERROR,
  PROP_MONITOR_HISTORY,
  PROP_EGRESS_LOG,
  PROP_SESSION_SUMMARY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
cloche_window_set_client (ClocheWindow *self,
                          ClocheClient *client)
{
  if (!g_set_object (&self->client, client))
    return;
  cloche_notifier_set_client (self->notifier, client);
  cloche_monitor_history_set_client (self->monitor_history, client);
  cloche_egress_log_set_client (self->egress_log, client);
  cloche_session_summary_set_client (self->session_summary, client);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
}

static void
cloche_window_set_service_error (ClocheWindow *self,
                                 const char   *message)
{
  if (g_strcmp0 (self->service_error, message) == 0)
    return;

  g_free (self->service_error);
  self->service_error = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVICE_ERROR]);
}

static ClocheApplication *
cloche_window_get_app (ClocheWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  return CLOCHE_IS_APPLICATION (app) ? CLOCHE_APPLICATION (app) : NULL;
}

/* The application's connection, as the window's own properties. */
static void
cloche_window_sync_app_cb (ClocheWindow *self)
{
  ClocheApplication *app = cloche_window_get_app (self);

  cloche_window_set_service_error (self, app != NULL ? cloche_application_get_service_error (app)
                                                     : NULL);
  cloche_window_set_client (self, app != NULL ? cloche_application_get_client (app) : NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.reconnect",
                                 app != NULL && !cloche_application_get_connecting (app));
}

static void
cloche_window_reconnect_action (GtkWidget  *widget,
                                const char *action_name,
                                GVariant   *parameter)
{
  ClocheApplication *app = cloche_window_get_app (CLOCHE_WINDOW (widget));

  g_return_if_fail (app != NULL);
  cloche_application_reconnect (app);
}

/* Once its application is known (GtkWindow:application is set after the
 * window is constructed): follow its client, connecting if it has none yet
 * or its last attempt failed. */
static void
cloche_window_follow_app_cb (ClocheWindow *self)
{
  ClocheApplication *app = cloche_window_get_app (self);
  const char *names[] = { "notify::client", "notify::service-error", "notify::connecting" };

  if (app == self->followed)
    return;
  if (self->followed != NULL)
    g_signal_handlers_disconnect_by_data (self->followed, self);
  self->followed = app;
  if (app != NULL)
    {
      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        g_signal_connect_object (app, names[i], G_CALLBACK (cloche_window_sync_app_cb), self,
                                 G_CONNECT_SWAPPED);
      cloche_application_ensure_client (app);
    }
  cloche_window_sync_app_cb (self);
}

static void
cloche_window_show_row (ClocheWindow  *self,
                        GtkListBoxRow *row)
{
  /* Each sidebar row is named after the stack page it shows. */
  const char *name = gtk_widget_get_name (GTK_WIDGET (row));
  GtkWidget *page = gtk_stack_get_child_by_name (self->stack, name);

  g_return_if_fail (page != NULL);

  gtk_stack_set_visible_child (self->stack, page);
  adw_window_title_set_title (self->content_title,
                              gtk_stack_page_get_title (gtk_stack_get_page (self->stack, page)));
}

/* The highlight and the page never disagree: arrow keys select the row
 * they move to, and the selected row's page is shown. */
static void
cloche_window_sidebar_row_selected_cb (ClocheWindow  *self,
                                       GtkListBoxRow *row,
                                       GtkListBox    *list)
{
  if (row != NULL)
    cloche_window_show_row (self, row);
}

/* Activation (a click, Enter) also goes to the page when the window is
 * folded; moving the selection does not leave the sidebar. */
static void
cloche_window_sidebar_row_activated_cb (ClocheWindow  *self,
                                        GtkListBoxRow *row,
                                        GtkListBox    *list)
{
  cloche_window_show_row (self, row);
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
}

static void cloche_window_show_page_action (GtkWidget  *widget,
                                            const char *action_name,
                                            GVariant   *parameter);

/* win.open-terminal (ID): session ID's terminal on the Terminals page (its
 * tab, the one whose tab or window was closed, or a new one); the page
 * moves it to a window of its own on demand. */
static void
cloche_window_open_terminal_action (GtkWidget  *widget,
                                    const char *action_name,
                                    GVariant   *parameter)
{
  ClocheWindow *self = CLOCHE_WINDOW (widget);

  cloche_window_show_page_action (widget, "win.show-page", g_variant_new_string ("terminals"));
  cloche_terminals_page_open (self->terminals_page, g_variant_get_string (parameter, NULL));
}

/* win.agent-mode-starting: agent mode's tab while its session opens. */
static void
cloche_window_agent_mode_starting_action (GtkWidget  *widget,
                                          const char *action_name,
                                          GVariant   *parameter)
{
  ClocheWindow *self = CLOCHE_WINDOW (widget);

  cloche_window_show_page_action (widget, "win.show-page", g_variant_new_string ("terminals"));
  cloche_terminals_page_add_starting (self->terminals_page);
}

/* win.agent-mode-failed: that tab goes, and the Overview, which says why
 * and what to do (install the bundle, …), is shown again. */
static void
cloche_window_agent_mode_failed_action (GtkWidget  *widget,
                                        const char *action_name,
                                        GVariant   *parameter)
{
  cloche_terminals_page_fail_starting (CLOCHE_WINDOW (widget)->terminals_page);
  cloche_window_show_page_action (widget, "win.show-page", g_variant_new_string ("overview"));
}

/* win.run-terminal ((ID, ARGV, AGENT)): a new terminal in session ID
 * running ARGV (empty: the login shell), or agent profile AGENT when not
 * empty (ARGV is then its command, for the tab's title), in agent mode's
 * tab if it waits for it (then the page shown stays: the user saw that
 * tab, and may have gone to watch the boot on the Overview). */
static void
cloche_window_run_terminal_action (GtkWidget  *widget,
                                   const char *action_name,
                                   GVariant   *parameter)
{
  ClocheWindow *self = CLOCHE_WINDOW (widget);
  g_autofree const char **argv = NULL;
  const char *id, *agent;

  g_variant_get (parameter, "(&s^a&s&s)", &id, &argv, &agent);
  if (!cloche_terminals_page_run (self->terminals_page, id, argv, agent[0] != '\0' ? agent : NULL))
    cloche_window_show_page_action (widget, "win.show-page", g_variant_new_string ("terminals"));
}

/* win.show-page ("monitor"): what a sidebar row does, for links between pages. */
static void
cloche_window_show_page_action (GtkWidget  *widget,
                                const char *action_name,
                                GVariant   *parameter)
{
  ClocheWindow *self = CLOCHE_WINDOW (widget);
  const char *name = g_variant_get_string (parameter, NULL);

  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->sidebar_list));
       row != NULL;
       row = gtk_widget_get_next_sibling (row))
    if (GTK_IS_LIST_BOX_ROW (row) && g_str_equal (gtk_widget_get_name (row), name))
      {
        gtk_list_box_select_row (self->sidebar_list, GTK_LIST_BOX_ROW (row));
        cloche_window_sidebar_row_activated_cb (self, GTK_LIST_BOX_ROW (row), self->sidebar_list);
        return;
      }
  g_warning ("No page is called “%s”", name);
}

/* win.cleanup-sessions: the Sessions page's cleanup (its confirmation,
 * progress and result), from wherever the user asked for it. */
static void
cloche_window_cleanup_sessions_action (GtkWidget  *widget,
                                       const char *action_name,
                                       GVariant   *parameter)
{
  ClocheWindow *self = CLOCHE_WINDOW (widget);

  cloche_window_show_page_action (widget, "win.show-page", g_variant_new_string ("sessions"));
  gtk_widget_activate_action (GTK_WIDGET (self->sessions_page), "sessions.cleanup", NULL);
}

static void
cloche_window_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (cloche_window_parent_class)->map (widget);
  cloche_session_summary_set_watching (CLOCHE_WINDOW (widget)->session_summary, TRUE);
}

static void
cloche_window_unmap (GtkWidget *widget)
{
  cloche_session_summary_set_watching (CLOCHE_WINDOW (widget)->session_summary, FALSE);
  GTK_WIDGET_CLASS (cloche_window_parent_class)->unmap (widget);
}

static void
cloche_window_back_clicked_cb (ClocheWindow *self,
                               GtkButton    *button)
{
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

/* The window comes back at the size it was left at. */
static void
cloche_window_bind_settings (ClocheWindow *self)
{
  self->settings = cloche_settings_new ();
  if (self->settings == NULL)
    return;
  g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);
}

static void
cloche_window_dispose (GObject *object)
{
  ClocheWindow *self = (ClocheWindow *) object;

  if (self->followed != NULL)
    g_signal_handlers_disconnect_by_data (self->followed, self);
  self->followed = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), CLOCHE_TYPE_WINDOW);
  g_clear_object (&self->client);
  g_clear_object (&self->monitor_history);
  g_clear_object (&self->notifier);
  g_clear_object (&self->egress_log);
  g_clear_object (&self->session_summary);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (cloche_window_parent_class)->dispose (object);
}

static void
cloche_window_finalize (GObject *object)
{
  ClocheWindow *self = (ClocheWindow *) object;

  g_clear_pointer (&self->service_error, g_free);

  G_OBJECT_CLASS (cloche_window_parent_class)->finalize (object);
}

static void
cloche_window_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  ClocheWindow *self = CLOCHE_WINDOW (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    case PROP_SERVICE_ERROR:
      g_value_set_string (value, self->service_error);
      break;
    case PROP_MONITOR_HISTORY:
      g_value_set_object (value, self->monitor_history);
      break;
    case PROP_EGRESS_LOG:
      g_value_set_object (value, self->egress_log);
      break;
    case PROP_SESSION_SUMMARY:
      g_value_set_object (value, self->session_summary);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_window_class_init (ClocheWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_window_dispose;
  object_class->finalize = cloche_window_finalize;
  object_class->get_property = cloche_window_get_property;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, CLOCHE_TYPE_CLIENT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SERVICE_ERROR] =
    g_param_spec_string ("service-error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MONITOR_HISTORY] =
    g_param_spec_object ("monitor-history", NULL, NULL, CLOCHE_TYPE_MONITOR_HISTORY,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_EGRESS_LOG] =
    g_param_spec_object ("egress-log", NULL, NULL, CLOCHE_TYPE_EGRESS_LOG,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SESSION_SUMMARY] =
    g_param_spec_object ("session-summary", NULL, NULL, CLOCHE_TYPE_SESSION_SUMMARY,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  widget_class->map = cloche_window_map;
  widget_class->unmap = cloche_window_unmap;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-window.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, ClocheWindow, sidebar_list);
  gtk_widget_class_bind_template_child (widget_class, ClocheWindow, overview_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheWindow, content_title);
  gtk_widget_class_bind_template_child (widget_class, ClocheWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, ClocheWindow, overview_page);
  gtk_widget_class_bind_template_child (widget_class, ClocheWindow, sessions_page);
  gtk_widget_class_bind_template_child (widget_class, ClocheWindow, terminals_page);
  gtk_widget_class_bind_template_child (widget_class, ClocheWindow, monitor_page);
  gtk_widget_class_bind_template_child (widget_class, ClocheWindow, diagnostics_page);
  gtk_widget_class_bind_template_child (widget_class, ClocheWindow, egress_page);
  gtk_widget_class_bind_template_callback (widget_class, cloche_window_sidebar_row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, cloche_window_sidebar_row_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, cloche_window_back_clicked_cb);

  gtk_widget_class_install_action (widget_class, "win.reconnect", NULL,
                                   cloche_window_reconnect_action);
  gtk_widget_class_install_action (widget_class, "win.show-page", "s",
                                   cloche_window_show_page_action);
  gtk_widget_class_install_action (widget_class, "win.cleanup-sessions", NULL,
                                   cloche_window_cleanup_sessions_action);
  gtk_widget_class_install_action (widget_class, "win.open-terminal", "s",
                                   cloche_window_open_terminal_action);
  gtk_widget_class_install_action (widget_class, "win.run-terminal", "(sass)",
                                   cloche_window_run_terminal_action);
  gtk_widget_class_install_action (widget_class, "win.agent-mode-starting", NULL,
                                   cloche_window_agent_mode_starting_action);
  gtk_widget_class_install_action (widget_class, "win.agent-mode-failed", NULL,
                                   cloche_window_agent_mode_failed_action);
  /* The order of the sidebar; listed in ui/gtk/help-overlay.ui. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_CONTROL_MASK,
                                       "win.show-page", "s", "overview");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_2, GDK_CONTROL_MASK,
                                       "win.show-page", "s", "sessions");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_3, GDK_CONTROL_MASK,
                                       "win.show-page", "s", "monitor");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_4, GDK_CONTROL_MASK,
                                       "win.show-page", "s", "bundle");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_5, GDK_CONTROL_MASK,
                                       "win.show-page", "s", "diagnostics");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_6, GDK_CONTROL_MASK,
                                       "win.show-page", "s", "egress");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_7, GDK_CONTROL_MASK,
                                       "win.show-page", "s", "secrets");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_8, GDK_CONTROL_MASK,
                                       "win.show-page", "s", "terminals");

  g_type_ensure (CLOCHE_TYPE_OVERVIEW_PAGE);
  g_type_ensure (CLOCHE_TYPE_MONITOR_PAGE);
  g_type_ensure (CLOCHE_TYPE_SESSIONS_PAGE);
  g_type_ensure (CLOCHE_TYPE_BUNDLE_PAGE);
  g_type_ensure (CLOCHE_TYPE_DIAGNOSTICS_PAGE);
  g_type_ensure (CLOCHE_TYPE_EGRESS_PAGE);
  g_type_ensure (CLOCHE_TYPE_SECRETS_PAGE);
  g_type_ensure (CLOCHE_TYPE_TERMINALS_PAGE);
}

static void
cloche_window_init (ClocheWindow *self)
{
  /* Before the template, whose pages bind to them. They live as long as
   * the window and follow the daemon on and off the bus through the
   * client's proxies. */
  self->monitor_history = cloche_monitor_history_new ();
  self->egress_log = cloche_egress_log_new ();
  self->session_summary = cloche_session_summary_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  /* The Sessions page's ages and staleness move with time, as the Overview's. */
  g_signal_connect_object (self->session_summary, "tick",
                           G_CALLBACK (cloche_sessions_page_refresh), self->sessions_page,
                           G_CONNECT_SWAPPED);

  gtk_list_box_select_row (self->sidebar_list, self->overview_row);
  cloche_window_bind_settings (self);
  self->notifier = cloche_notifier_new (GTK_WINDOW (self), self->settings);
  g_signal_connect_swapped (self, "notify::application", G_CALLBACK (cloche_window_follow_app_cb),
                            self);
  cloche_window_sync_app_cb (self);
}

ClocheWindow *
cloche_window_new (AdwApplication *application)
{
  g_return_val_if_fail (!application || ADW_IS_APPLICATION (application), NULL);

  return g_object_new (CLOCHE_TYPE_WINDOW,
                       "application", application,
                       NULL);
}

ClocheClient *
cloche_window_get_client (ClocheWindow *self)
{
  g_return_val_if_fail (CLOCHE_IS_WINDOW (self), NULL);

  return self->client;
}

const char *
cloche_window_get_service_error (ClocheWindow *self)
{
  g_return_val_if_fail (CLOCHE_IS_WINDOW (self), NULL);

  return self->service_error;
}
