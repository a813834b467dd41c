/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon leaves when nobody uses it and D-Bus activation brings it
 * back: a private bus whose service folder starts the build's daemon with a
 * one-second --exit-after.
 */
#include "config.h"

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
} Fixture;

static void
write_service_file (const char *services,
                    const char *home)
{
  g_autofree char *bundle = g_strdup (g_getenv ("CLOCHE_TEST_BUNDLE"));
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
  write_service_file (services, fixture->home);
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
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  const char *argv[] = { "rm", "-rf", fixture->home, NULL };

  g_clear_object (&fixture->proxy);
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
  cloche_dbus_daemon_call_open_session_sync (fixture->proxy, "lifetime", g_steal_pointer (&options),
                                             &id, NULL, &error);
  g_assert_no_error (error);
  assert_stays (fixture, 4 * EXIT_AFTER_S);
  cloche_dbus_daemon_call_close_session_sync (fixture->proxy, id, NULL, &error);
  g_assert_no_error (error);
  /* Then the VM idles out (2 s), and the daemon follows it. */
  wait_running (fixture, FALSE, 60);
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
  return g_test_run ();
}
