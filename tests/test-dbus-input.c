/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What a D-Bus caller passes to the Monitor, Doctor and Bundle services is
 * checked at the boundary: a number outside its range, a name that is none
 * of ours, a path relative to nothing, each refused with InvalidArgument
 * naming what was given, instead of quietly doing something else. A real
 * daemon on a private bus; no VM boots.
 */
#include "config.h"

#include "cloche-test-daemon.h"

static ClocheTestDaemon *daemon_under_test;

static GDBusConnection *
connection (void)
{
  return g_dbus_proxy_get_connection (G_DBUS_PROXY (daemon_under_test->proxy));
}

/* A negative "since" read as "everything" before. */
static void
test_samples_since (void)
{
  g_autoptr(ClocheDbusMonitor) monitor = NULL;
  g_autoptr(GVariant) samples = NULL;
  g_autoptr(GError) error = NULL;

  monitor = cloche_dbus_monitor_proxy_new_sync (connection (), G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                                DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  cloche_dbus_monitor_call_get_samples_sync (monitor, -5, &samples, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "since -5"));
  g_clear_error (&error);

  cloche_dbus_monitor_call_get_samples_sync (monitor, G_MININT64, &samples, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  cloche_dbus_monitor_call_get_samples_sync (monitor, 0, &samples, NULL, &error);
  g_assert_no_error (error);
}

static ClocheDbusDoctor *
doctor_proxy (void)
{
  g_autoptr(GError) error = NULL;
  ClocheDbusDoctor *doctor = cloche_dbus_doctor_proxy_new_sync (
    connection (), G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
    NULL, &error);

  g_assert_no_error (error);
  return doctor;
}

/* An unknown check ran nothing and answered an empty list, as if all were
 * well; a repeated one ran twice. */
static void
test_doctor_checks (void)
{
  g_autoptr(ClocheDbusDoctor) doctor = doctor_proxy ();
  const char *unknown[] = { "kvm", "no-such-check", NULL };
  const char *twice[] = { "disk", "disk", NULL };
  const char *fine[] = { "disk", NULL };
  g_autoptr(GVariant) results = NULL;
  g_autoptr(GError) error = NULL;

  cloche_dbus_doctor_call_run_sync (doctor, unknown, &results, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "\"no-such-check\""));
  g_assert_nonnull (strstr (error->message, "disk"));
  g_clear_error (&error);

  cloche_dbus_doctor_call_run_sync (doctor, twice, &results, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  cloche_dbus_doctor_call_run_sync (doctor, fine, &results, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (results), ==, 1);
}

/* A relative source was looked up from the daemon's own folder. */
static void
test_bundle_relative_source (void)
{
  g_autoptr(ClocheDbusBundle) bundle = NULL;
  g_autoptr(GVariant) info = NULL;
  g_autoptr(GError) error = NULL;

  bundle = cloche_dbus_bundle_proxy_new_sync (connection (), G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                              DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  cloche_dbus_bundle_call_inspect_sync (bundle, "bundle", "", &info, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "\"bundle\" is neither an absolute path"));
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  daemon_under_test = cloche_test_daemon_start ((const char *[]) { NULL });

  g_test_add_func ("/dbus-input/samples-since", test_samples_since);
  g_test_add_func ("/dbus-input/doctor-checks", test_doctor_checks);
  g_test_add_func ("/dbus-input/bundle-relative-source", test_bundle_relative_source);
  status = g_test_run ();

  cloche_test_daemon_free (daemon_under_test);
  return status;
}
