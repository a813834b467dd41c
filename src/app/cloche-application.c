/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "cloche-application.h"
#include "cloche-preferences-window.h"
#include "cloche-settings.h"
#include "cloche-window.h"

struct _ClocheApplication
{
  AdwApplication  parent_instance;
  GSettings      *settings;  /* NULL when the schema is not installed */
};

G_DEFINE_FINAL_TYPE (ClocheApplication, cloche_application, ADW_TYPE_APPLICATION)

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
  g_clear_object (&CLOCHE_APPLICATION (object)->settings);
  G_OBJECT_CLASS (cloche_application_parent_class)->dispose (object);
}

static void
cloche_application_class_init (ClocheApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = cloche_application_dispose;
  app_class->startup = cloche_application_startup;
  app_class->activate = cloche_application_activate;
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
