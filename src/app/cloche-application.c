/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "cloche-application.h"
#include "cloche-window.h"

struct _ClocheApplication
{
  AdwApplication parent_instance;
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

static const GActionEntry app_actions[] = {
  { .name = "quit", .activate = cloche_application_quit_action },
  { .name = "about", .activate = cloche_application_about_action },
};

static const struct {
  const char *action;
  const char *accels[2];
} app_accels[] = {
  { "app.quit", { "<Control>q", NULL } },
};

static void
cloche_application_startup (GApplication *application)
{
  G_APPLICATION_CLASS (cloche_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (application), app_actions,
                                   G_N_ELEMENTS (app_actions), application);
  for (guint i = 0; i < G_N_ELEMENTS (app_accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (application),
                                           app_accels[i].action,
                                           app_accels[i].accels);
}

static void
cloche_application_activate (GApplication *application)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (application));

  if (window == NULL)
    window = GTK_WINDOW (cloche_window_new (ADW_APPLICATION (application)));

  gtk_window_present (window);
}

static void
cloche_application_class_init (ClocheApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

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
