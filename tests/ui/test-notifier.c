/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A VM that fails to start while the window is in the background is
 * notified, through GLib's org.gtk.Notifications backend, to a notification
 * server played by the test on the private bus (there is no shell here to
 * show them); with show-notifications off, nothing is sent.
 */
#include "config.h"

#include <adwaita.h>

#include "cloche-application.h"
#include "cloche-notifier.h"
#include "cloche-test-daemon.h"
#include "cloche-window.h"

#define AGENT_TIMEOUT_S "2"

static const char server_xml[] =
  "<node><interface name='org.gtk.Notifications'>"
  "<method name='AddNotification'><arg type='s' direction='in'/>"
  "<arg type='s' direction='in'/><arg type='a{sv}' direction='in'/></method>"
  "<method name='RemoveNotification'><arg type='s' direction='in'/>"
  "<arg type='s' direction='in'/></method>"
  "</interface></node>";

typedef struct
{
  GPtrArray *added;  /* (a{sv}) of each AddNotification */
} Server;

static void
server_method_call (GDBusConnection       *connection,
                    const char            *sender,
                    const char            *path,
                    const char            *interface,
                    const char            *method,
                    GVariant              *parameters,
                    GDBusMethodInvocation *invocation,
                    gpointer               user_data)
{
  Server *server = user_data;

  if (g_str_equal (method, "AddNotification"))
    {
      const char *app_id, *id;
      g_autoptr(GVariant) notification = NULL;

      g_variant_get (parameters, "(&s&s@a{sv})", &app_id, &id, &notification);
      g_assert_cmpstr (app_id, ==, APP_ID);
      g_assert_cmpstr (id, ==, CLOCHE_NOTIFICATION_VM_FAILED);
      g_ptr_array_add (server->added, g_steal_pointer (&notification));
    }
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
server_start (Server *server)
{
  static const GDBusInterfaceVTable vtable = { server_method_call };
  g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (server_xml, NULL);
  g_autoptr(GDBusConnection) connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  server->added = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_dbus_connection_register_object (connection, "/org/gtk/Notifications",
                                     info->interfaces[0], &vtable, server, NULL, &error);
  g_assert_no_error (error);
  /* Owned before the app registers: that is when GLib picks its backend. */
  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "RequestName",
                                       g_variant_new ("(su)", "org.gtk.Notifications", 0),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1,
                                       NULL, &error);
  g_assert_no_error (error);
}

static char *
make_fault_bundle (void)
{
  g_autofree char *bundle = cloche_test_bundle_dir ();
  g_autofree char *tool = g_build_filename (g_getenv ("CLOCHE_SOURCE_ROOT"), "tools",
                                            "make-fault-bundle", NULL);
  g_autofree char *parent = g_dir_make_tmp ("cloche-fault-XXXXXX", NULL);
  char *fault = g_build_filename (parent, "bundle", NULL);
  int status = 0;

  g_spawn_sync (NULL, (char *[]) { tool, bundle, fault, NULL }, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                NULL, NULL, NULL, NULL, &status, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return fault;
}

/* Opens a session in the fault bundle: the agent never answers, the boot
 * ends "crashed" after the agent timeout. */
static void
open_failing_session (ClocheTestDaemon *daemon)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  cloche_dbus_sessions_call_open_sync (daemon->sessions, "fails",
                                       g_variant_new_parsed ("@a{sv} {}"),
                                       &id, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_TIMEOUT);
  cloche_test_daemon_wait_state (daemon, "crashed", 10);
}

/* Started before GTK, whose first use of the session bus must find the
 * private one. */
static ClocheTestDaemon *test_daemon;
static Server server;

static void
test_notifier_vm_failed (void)
{
  g_autoptr(ClocheApplication) app = NULL;
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(GError) error = NULL;
  const char *title = NULL, *body = NULL;
  ClocheWindow *window;

  app = cloche_application_new ();
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  /* Never presented: a window in the background. */
  window = cloche_window_new (ADW_APPLICATION (app));
  CLOCHE_TEST_WAIT_FOR (cloche_window_get_client (window) != NULL, 10);

  open_failing_session (test_daemon);
  CLOCHE_TEST_WAIT_FOR (server.added->len == 1, 10);
  g_assert_true (g_variant_lookup (server.added->pdata[0], "title", "&s", &title));
  g_assert_true (g_variant_lookup (server.added->pdata[0], "body", "&s", &body));
  g_assert_cmpstr (title, ==, "The agent sandbox could not start");
  /* The daemon's reason, not a generic line. */
  g_assert_cmpstr (body, ==, cloche_dbus_daemon_get_state_reason (test_daemon->proxy));
  g_assert_nonnull (strstr (body, "agent"));

  settings = g_settings_new (APP_ID);
  g_settings_set_boolean (settings, "show-notifications", FALSE);
  open_failing_session (test_daemon);
  /* The window has seen the state by now: it came through the same bus. */
  CLOCHE_TEST_WAIT_FOR (cloche_client_get_state (cloche_window_get_client (window))
                        == CLOCHE_VM_STATE_CRASHED, 10);
  /* A notification would have been sent in the same dispatch; give a
   * stray one time to arrive all the same. */
  for (gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC / 2;
       g_get_monotonic_time () < until;)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (server.added->len, ==, 1);

  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *display = g_strdup (g_getenv ("DISPLAY"));
  g_autofree char *fault = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  fault = make_fault_bundle ();
  test_daemon = cloche_test_daemon_start ((const char *[]) {
    "--bundle", fault, "--agent-timeout", AGENT_TIMEOUT_S, NULL });
  server_start (&server);
  /* GTestDBus unsets DISPLAY, which GTK needs back. */
  if (display != NULL)
    g_setenv ("DISPLAY", display, TRUE);
  gtk_init ();
  adw_init ();
  g_test_add_func ("/notifier/vm-failed", test_notifier_vm_failed);
  status = g_test_run ();
  g_ptr_array_unref (server.added);
  cloche_test_daemon_free (test_daemon);
  return status;
}
