/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The application: its actions and settings, and the one ClocheClient of
 * the process. The client belongs here, not to a window: the sessions the
 * app opens are the app's (the daemon closes them when the app leaves the
 * bus), whatever window shows them, and every window and page shares its
 * proxies. A window asks for it (cloche_application_ensure_client) and
 * follows the "client" and "service-error" properties.
 */
#include "config.h"

#include "cloche-application.h"
#include "cloche-preferences-window.h"
#include "cloche-settings.h"
#include "cloche-window.h"

struct _ClocheApplication
{
  AdwApplication  parent_instance;
  GSettings      *settings;       /* NULL when the schema is not installed */
  ClocheClient   *client;         /* NULL until connected, or after a failure */
  char           *service_error;  /* why the daemon cannot be reached, or NULL */
  GCancellable   *connecting;     /* set only while connecting */
};

G_DEFINE_FINAL_TYPE (ClocheApplication, cloche_application, ADW_TYPE_APPLICATION)

enum {
  PROP_0,
  PROP_CLIENT,
  PROP_SERVICE_ERROR,
  PROP_CONNECTING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
cloche_application_set_client (ClocheApplication *self,
                               ClocheClient      *client)
{
  if (g_set_object (&self->client, client))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
}

static void
cloche_application_set_service_error (ClocheApplication *self,
                                      const char        *message)
{
  if (g_strcmp0 (self->service_error, message) == 0)
    return;
  g_free (self->service_error);
  self->service_error = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVICE_ERROR]);
}

static void
cloche_application_client_cb (GObject      *object,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  g_autoptr(ClocheApplication) self = user_data;
  g_autoptr(ClocheClient) client = NULL;
  g_autoptr(GError) error = NULL;

  client = cloche_client_new_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  g_clear_object (&self->connecting);
  if (client == NULL)
    cloche_application_set_service_error (self, error->message);
  else
    cloche_application_set_client (self, client);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTING]);
}

/**
 * cloche_application_reconnect:
 *
 * Forgets the client and the last error and connects to the daemon again
 * (starting it through D-Bus activation if needed).
 */
void
cloche_application_reconnect (ClocheApplication *self)
{
  g_return_if_fail (CLOCHE_IS_APPLICATION (self));

  g_cancellable_cancel (self->connecting);
  g_clear_object (&self->connecting);
  cloche_application_set_service_error (self, NULL);
  cloche_application_set_client (self, NULL);

  self->connecting = g_cancellable_new ();
  cloche_client_new_async (self->connecting, cloche_application_client_cb,
                           g_object_ref (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTING]);
}

/**
 * cloche_application_ensure_client:
 *
 * Connects unless connected or connecting: what a new window asks for, so
 * that it tries again after an earlier failure.
 */
void
cloche_application_ensure_client (ClocheApplication *self)
{
  g_return_if_fail (CLOCHE_IS_APPLICATION (self));

  if (self->client == NULL && self->connecting == NULL)
    cloche_application_reconnect (self);
}

/**
 * cloche_application_get_client:
 *
 * Returns: (transfer none) (nullable): the client, once connected
 */
ClocheClient *
cloche_application_get_client (ClocheApplication *self)
{
  g_return_val_if_fail (CLOCHE_IS_APPLICATION (self), NULL);
  return self->client;
}

const char *
cloche_application_get_service_error (ClocheApplication *self)
{
  g_return_val_if_fail (CLOCHE_IS_APPLICATION (self), NULL);
  return self->service_error;
}

gboolean
cloche_application_get_connecting (ClocheApplication *self)
{
  g_return_val_if_fail (CLOCHE_IS_APPLICATION (self), FALSE);
  return self->connecting != NULL;
}

static void
cloche_application_quit_action (GSimpleAction *action,
                                GVariant      *parameter,
                                gpointer       user_data)
{
  /* Quitting closes the dashboard only: the daemon and every open session
   * keep running for the agents that use them. */
  g_application_quit (G_APPLICATION (user_data));
}

static void
cloche_application_about_action (GSimpleAction *action,
                                 GVariant      *parameter,
                                 gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  g_autoptr(GtkBuilder) builder = NULL;
  GtkWindow *about;

  builder = gtk_builder_new_from_resource ("/io/github/cloche/Cloche/cloche-about-window.ui");
  about = GTK_WINDOW (gtk_builder_get_object (builder, "about_window"));
  adw_about_window_set_version (ADW_ABOUT_WINDOW (about), PACKAGE_VERSION);
  gtk_window_set_transient_for (about, gtk_application_get_active_window (app));
  gtk_window_present (about);
}

static GtkWindow *
cloche_application_get_window (GtkApplication *app)
{
  GtkWindow *window = gtk_application_get_active_window (app);

  if (window == NULL)
    window = GTK_WINDOW (cloche_window_new (ADW_APPLICATION (app)));
  return window;
}

static void
cloche_application_preferences_action (GSimpleAction *action,
                                       GVariant      *parameter,
                                       gpointer       user_data)
{
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (user_data));

  gtk_window_present (cloche_preferences_window_new (parent));
}

/* app.show-page ("overview"): where a notification leads. */
static void
cloche_application_show_page_action (GSimpleAction *action,
                                     GVariant      *parameter,
                                     gpointer       user_data)
{
  GtkWindow *window = cloche_application_get_window (GTK_APPLICATION (user_data));

  gtk_widget_activate_action_variant (GTK_WIDGET (window), "win.show-page", parameter);
  gtk_window_present (window);
}

static const GActionEntry app_actions[] = {
  { .name = "quit", .activate = cloche_application_quit_action },
  { .name = "about", .activate = cloche_application_about_action },
  { .name = "preferences", .activate = cloche_application_preferences_action },
  { .name = "show-page", .activate = cloche_application_show_page_action,
    .parameter_type = "s" },
};

static const struct {
  const char *action;
  const char *accels[2];
} app_accels[] = {
  { "app.quit", { "<Control>q", NULL } },
  { "app.preferences", { "<Control>comma", NULL } },
};

static void
cloche_application_startup (GApplication *application)
{
  ClocheApplication *self = CLOCHE_APPLICATION (application);

  G_APPLICATION_CLASS (cloche_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (application), app_actions,
                                   G_N_ELEMENTS (app_actions), application);
  for (guint i = 0; i < G_N_ELEMENTS (app_accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (application),
                                           app_accels[i].action,
                                           app_accels[i].accels);

  /* Settings as actions: the preferences bind to them by name. */
  self->settings = cloche_settings_new ();
  if (self->settings != NULL)
    {
      g_autoptr(GAction) notify = g_settings_create_action (self->settings, "show-notifications");

      g_action_map_add_action (G_ACTION_MAP (application), notify);
    }
}

static void
cloche_application_activate (GApplication *application)
{
  gtk_window_present (cloche_application_get_window (GTK_APPLICATION (application)));
}

static void
cloche_application_dispose (GObject *object)
{
  ClocheApplication *self = CLOCHE_APPLICATION (object);

  g_cancellable_cancel (self->connecting);
  g_clear_object (&self->connecting);
  g_clear_object (&self->client);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (cloche_application_parent_class)->dispose (object);
}

static void
cloche_application_finalize (GObject *object)
{
  g_free (CLOCHE_APPLICATION (object)->service_error);
  G_OBJECT_CLASS (cloche_application_parent_class)->finalize (object);
}

static void
cloche_application_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  ClocheApplication *self = CLOCHE_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    case PROP_SERVICE_ERROR:
      g_value_set_string (value, self->service_error);
      break;
    case PROP_CONNECTING:
      g_value_set_boolean (value, self->connecting != NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_application_class_init (ClocheApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = cloche_application_dispose;
  object_class->finalize = cloche_application_finalize;
  object_class->get_property = cloche_application_get_property;
  app_class->startup = cloche_application_startup;
  app_class->activate = cloche_application_activate;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, CLOCHE_TYPE_CLIENT, flags);
  properties[PROP_SERVICE_ERROR] =
    g_param_spec_string ("service-error", NULL, NULL, NULL, flags);
  properties[PROP_CONNECTING] =
    g_param_spec_boolean ("connecting", NULL, NULL, FALSE, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cloche_application_init (ClocheApplication *self)
{
}

ClocheApplication *
cloche_application_new (void)
{
  return g_object_new (CLOCHE_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       NULL);
}
