/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon leaves when nobody uses it and D-Bus activation brings it
 * back: a private bus whose service folder starts the build's daemon with a
 * one-second --exit-after. Long operations (a cleanup, a bundle install)
 * hold it even when the client that started them has gone.
 */
#include "config.h"

#include <gio/gnetworking.h>
#include <glib/gstdio.h>
#include <stdlib.h>

#include "cloche-dbus-generated.h"
#include "cloche-error.h"
#include "cloche-test-util.h"

#define EXIT_AFTER_S 1

typedef struct
{
  GTestDBus        *bus;
  char             *home;
  GDBusConnection  *connection;
  ClocheDbusDaemon *proxy;  /* DO_NOT_AUTO_START: watching never starts it */
  ClocheDbusSessions *sessions;
} Fixture;

/* With data "no-bundle" the daemon has no bundle installed. */
static void
write_service_file (const char    *services,
                    const char    *home,
                    gconstpointer  data)
{
  g_autofree char *bundle = g_strcmp0 (data, "no-bundle") == 0
                            ? g_build_filename (home, "no-bundle", NULL)
                            : g_strdup (g_getenv ("CLOCHE_TEST_BUNDLE"));
  g_autofree char *path = g_build_filename (services, DAEMON_BUS_NAME ".service", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (bundle);
  contents = g_strdup_printf ("[D-BUS Service]\nName=%s\n"
                              "Exec=%s --bundle %s --exit-after %d --idle-timeout 2\n",
                              DAEMON_BUS_NAME, g_getenv ("CLOCHE_DAEMON"), bundle,
                              EXIT_AFTER_S);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

/* dbus-daemon starts services with its own environment: set before up(),
 * the throw-away home is the activated daemon's. */
static void
isolate_home (Fixture *fixture)
{
  static const char * const dirs[][2] = {
    { "XDG_CONFIG_HOME", "config" }, { "XDG_DATA_HOME", "data" },
    { "XDG_STATE_HOME", "state" }, { "XDG_CACHE_HOME", "cache" },
    { "XDG_RUNTIME_DIR", "runtime" },
  };

  fixture->home = g_dir_make_tmp ("cloche-lifetime-XXXXXX", NULL);
  g_setenv ("HOME", fixture->home, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *path = g_build_filename (fixture->home, dirs[i][1], NULL);

      g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
      g_setenv (dirs[i][0], path, TRUE);
    }
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *services = NULL;
  g_autoptr(GError) error = NULL;

  cloche_error_quark ();
  isolate_home (fixture);
  services = g_build_filename (fixture->home, "services", NULL);
  g_assert_cmpint (g_mkdir_with_parents (services, 0700), ==, 0);
  write_service_file (services, fixture->home, data);
  fixture->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_add_service_dir (fixture->bus, services);
  g_test_dbus_up (fixture->bus);
  fixture->connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  cloche_test_bus_kill_on_abort (fixture->connection);
  fixture->proxy = cloche_dbus_daemon_proxy_new_sync (fixture->connection,
                                                      G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                                      DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
                                                      NULL, &error);
  g_assert_no_error (error);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (fixture->proxy), 300 * 1000);
  fixture->sessions = cloche_dbus_sessions_proxy_new_sync (fixture->connection,
                                                          G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                                          DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
                                                          NULL, &error);
  g_assert_no_error (error);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (fixture->sessions), 300 * 1000);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  const char *argv[] = { "rm", "-rf", fixture->home, NULL };

  g_clear_object (&fixture->proxy);
  g_clear_object (&fixture->sessions);
  g_clear_object (&fixture->connection);
  g_test_dbus_down (fixture->bus);
  g_clear_object (&fixture->bus);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
  g_free (fixture->home);
}

static gboolean
daemon_running (Fixture *fixture)
{
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (fixture->proxy));

  return owner != NULL;
}

/* Waits until the daemon's presence is @running, or fails after @timeout_s. */
static void
wait_running (Fixture  *fixture,
              gboolean  running,
              guint     timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;

  while (daemon_running (fixture) != running && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpint (daemon_running (fixture), ==, running);
}

/* Runs the loop for @seconds, failing at once if the daemon leaves. */
static void
assert_stays (Fixture *fixture,
              guint    seconds)
{
  gint64 until = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_assert_true (daemon_running (fixture));
      g_usleep (10 * 1000);
    }
}

/* A plain call by bus name, which the bus answers by starting the daemon. */
static void
activate (Fixture *fixture)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_sync (fixture->connection, DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", DAEMON_INTERFACE, "State"),
                                       NULL, G_DBUS_CALL_FLAGS_NONE, 30 * 1000, NULL, &error);
  g_assert_no_error (error);
  wait_running (fixture, TRUE, 10);
  /* The sessions proxy takes the new owner once it has its properties. */
  while (cloche_dbus_sessions_get_sessions_path (fixture->sessions) == NULL)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_exits_and_comes_back (Fixture       *fixture,
                           gconstpointer  data)
{
  g_assert_false (daemon_running (fixture));
  activate (fixture);
  wait_running (fixture, FALSE, 20);
  /* Started again by the next call, as clochectl or the app would. */
  activate (fixture);
  g_assert_cmpstr (cloche_dbus_daemon_get_state (fixture->proxy), ==, "stopped");
  wait_running (fixture, FALSE, 20);
}

static void
test_app_keeps_it (Fixture       *fixture,
                   gconstpointer  data)
{
  guint id;

  /* What a running app does: GApplication owns its id on the bus. */
  id = g_bus_own_name_on_connection (fixture->connection, APP_ID, G_BUS_NAME_OWNER_FLAGS_NONE,
                                     NULL, NULL, NULL, NULL);
  activate (fixture);
  assert_stays (fixture, 4 * EXIT_AFTER_S);
  g_bus_unown_name (id);
  wait_running (fixture, FALSE, 20);
}

static void
test_session_keeps_it (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GVariant) options = g_variant_new_parsed ("@a{sv} {}");
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  activate (fixture);
  cloche_dbus_sessions_call_open_sync (fixture->sessions, "lifetime", g_steal_pointer (&options),
                                       &id, NULL, &error);
  g_assert_no_error (error);
  assert_stays (fixture, 4 * EXIT_AFTER_S);
  cloche_dbus_sessions_call_close_sync (fixture->sessions, id, NULL, &error);
  g_assert_no_error (error);
  /* Then the VM idles out (2 s), and the daemon follows it. */
  wait_running (fixture, FALSE, 60);
}

/* Long operations */

/* A client that starts @method and leaves while it runs, as a clochectl
 * stopped with Ctrl+Z and killed would: its own connection, closed. */
static GDBusConnection *
client_call (Fixture    *fixture,
             const char *interface,
             const char *method,
             GVariant   *parameters)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *client;

  client = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (fixture->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
    | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &error);
  g_assert_no_error (error);
  g_dbus_connection_call (client, DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, interface, method,
                          parameters, NULL, G_DBUS_CALL_FLAGS_NONE, G_MAXINT, NULL, NULL, NULL);
  return client;
}

static void
client_leave (GDBusConnection *client)
{
  g_autoptr(GError) error = NULL;

  g_dbus_connection_close_sync (client, NULL, &error);
  g_assert_no_error (error);
  g_object_unref (client);
}

/* io.github.cloche.Bundle's Operation, "" when there is no daemon. */
static char *
bundle_operation (Fixture *fixture)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;

  reply = g_dbus_connection_call_sync (fixture->connection, DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", "io.github.cloche.Bundle",
                                                      "Operation"),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                                       30 * 1000, NULL, NULL);
  if (reply == NULL)
    return g_strdup ("");
  g_variant_get (reply, "(v)", &value);
  return g_variant_dup_string (value, NULL);
}

static void
wait_bundle_operation (Fixture    *fixture,
                       const char *operation)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  g_autofree char *now = bundle_operation (fixture);

  while (!g_str_equal (now, operation) && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (20 * 1000);
      g_free (now);
      now = bundle_operation (fixture);
    }
  g_assert_cmpstr (now, ==, operation);
}

/* A web server that takes connections and never answers: the install
 * waits on its manifest for as long as the test wants. */
static GSocket *
stalled_server (guint16 *port)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  GSocket *socket;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  g_socket_bind (socket, any_port, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (socket, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return socket;
}

static void
test_install_keeps_it (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) server = NULL;
  g_autofree char *url = NULL;
  g_autofree char *operation = NULL;
  GDBusConnection *client;
  guint16 port;

  server = stalled_server (&port);
  url = g_strdup_printf ("http://127.0.0.1:%u/manifest.json", port);
  client = client_call (fixture, "io.github.cloche.Bundle", "Install",
                        g_variant_new ("(ss)", url, ""));
  wait_bundle_operation (fixture, "install");
  wait_running (fixture, TRUE, 10);
  client_leave (client);
  assert_stays (fixture, 4 * EXIT_AFTER_S);
  operation = bundle_operation (fixture);
  g_assert_cmpstr (operation, ==, "install");

  /* Once the install is over, unused again: it leaves. */
  reply = g_dbus_connection_call_sync (fixture->connection, DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
                                       "io.github.cloche.Bundle", "Cancel", NULL, NULL,
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START, 30 * 1000, NULL, &error);
  g_assert_no_error (error);
  wait_running (fixture, FALSE, 60);
}

/* Stale sessions as the daemon writes them, a month old, with a file. */
static void
make_stale_sessions (Fixture *fixture,
                     guint    first,
                     guint    count)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) then = g_date_time_add_days (now, -30);
  g_autofree char *old = g_date_time_format_iso8601 (then);

  for (guint i = first; i < first + count; i++)
    {
      g_autofree char *id = g_strdup_printf ("%012x", i);
      g_autofree char *dir = g_build_filename (fixture->home, "state", "cloche", "sessions", id,
                                               NULL);
      g_autofree char *work = g_build_filename (dir, "work", NULL);
      g_autofree char *json = g_build_filename (dir, "session.json", NULL);
      g_autofree char *notes = g_build_filename (work, "notes.txt", NULL);
      g_autofree char *record = g_strdup_printf (
        "{\"version\": 1, \"id\": \"%s\", \"title\": \"task %u\", \"client\": \"test\", "
        "\"created\": \"%s\", \"last_active\": \"%s\", \"state\": \"closed\", "
        "\"pinned\": false, \"mounts\": []}", id, i, old, old);
      g_autoptr(GError) error = NULL;

      g_assert_cmpint (g_mkdir_with_parents (work, 0700), ==, 0);
      g_file_set_contents (json, record, -1, &error);
      g_assert_no_error (error);
      g_file_set_contents (notes, "notes", -1, &error);
      g_assert_no_error (error);
    }
}

static guint
count_sessions (Fixture *fixture)
{
  g_autofree char *root = g_build_filename (fixture->home, "state", "cloche", "sessions", NULL);
  g_autoptr(GDir) dir = g_dir_open (root, 0, NULL);
  guint count = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    count++;
  return count;
}

static void
on_cleanup_progress (GDBusConnection *connection,
                     const char      *sender,
                     const char      *path,
                     const char      *interface,
                     const char      *signal,
                     GVariant        *parameters,
                     gpointer         user_data)
{
  *(gint64 *) user_data = g_get_monotonic_time ();
}

/* A cleanup runs with the VM stopped, no session and, here, no client
 * left: without the hold the daemon would leave a second after it starts,
 * half the folders removed. It only tests that while the cleanup outlasts
 * --exit-after, so the test grows the pile until it does. */
static void
test_cleanup_keeps_it (Fixture       *fixture,
                       gconstpointer  data)
{
  gint64 last_progress = 0;
  guint subscription;
  guint made = 0;

  subscription = g_dbus_connection_signal_subscribe (fixture->connection, NULL,
                                                     cloche_dbus_sessions_interface_info ()->name,
                                                     "CleanupProgress", DAEMON_OBJECT_PATH,
                                                     NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                     on_cleanup_progress, &last_progress, NULL);
  for (guint count = 1500; ; count *= 2)
    {
      GDBusConnection *client;
      gint64 started;

      make_stale_sessions (fixture, made, count);
      made += count;
      started = g_get_monotonic_time ();
      /* A client of its own, which leaves while the cleanup runs. */
      client = client_call (fixture, "io.github.cloche.Sessions", "Cleanup",
                            g_variant_new_parsed ("(@a{sv} {},)"));
      wait_running (fixture, TRUE, 30);
      client_leave (client);
      wait_running (fixture, FALSE, 300);
      /* Every folder went: the daemon did not leave in the middle. */
      g_assert_cmpuint (count_sessions (fixture), ==, 0);
      g_test_message ("%u sessions: cleaned up in %.1f s", count,
                      (double) (last_progress - started) / G_USEC_PER_SEC);
      if (last_progress - started > 3 * EXIT_AFTER_S * G_USEC_PER_SEC)
        break;
      if (count >= 64000)
        {
          g_test_skip ("The cleanups were too quick to outlast --exit-after");
          break;
        }
    }
  g_dbus_connection_signal_unsubscribe (fixture->connection, subscription);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/daemon-lifetime/exits-and-comes-back", Fixture, NULL,
              fixture_set_up, test_exits_and_comes_back, fixture_tear_down);
  g_test_add ("/daemon-lifetime/app-keeps-it", Fixture, NULL,
              fixture_set_up, test_app_keeps_it, fixture_tear_down);
  g_test_add ("/daemon-lifetime/session-keeps-it", Fixture, NULL,
              fixture_set_up, test_session_keeps_it, fixture_tear_down);
  g_test_add ("/daemon-lifetime/install-keeps-it", Fixture, "no-bundle",
              fixture_set_up, test_install_keeps_it, fixture_tear_down);
  g_test_add ("/daemon-lifetime/cleanup-keeps-it", Fixture, NULL,
              fixture_set_up, test_cleanup_keeps_it, fixture_tear_down);
  return g_test_run ();
}
