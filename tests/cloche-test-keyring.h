/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * A real GNOME Keyring (the Secret Service) on the test's private bus,
 * made and unlocked with a password of the test's own (`gnome-keyring-daemon
 * --unlock` reads it on stdin), its keyrings in a folder of the test's own:
 * what the daemon and ClocheSecretStore speak to, as on a desktop. Start it
 * after the bus is up and before whatever uses it.
 */

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>

typedef struct
{
  GSubprocess *process;
  char        *dir;
} ClocheTestKeyring;

static inline void
cloche_test_keyring_child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static inline gboolean
cloche_test_keyring_on_bus (GDBusConnection *bus)
{
  g_autoptr(GVariant) reply =
    g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus", "NameHasOwner",
                                 g_variant_new ("(s)", "org.freedesktop.secrets"),
                                 G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  gboolean owned = FALSE;

  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  return owned;
}

/**
 * cloche_test_keyring_start:
 * @bus_address: the private bus's address (g_test_dbus_get_bus_address())
 *
 * Returns once the keyring owns org.freedesktop.secrets on that bus.
 */
static inline ClocheTestKeyring *
cloche_test_keyring_start (const char *bus_address)
{
  ClocheTestKeyring *keyring = g_new0 (ClocheTestKeyring, 1);
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_autofree char *data = NULL, *runtime = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GError) error = NULL;
  gint64 deadline;

  keyring->dir = g_dir_make_tmp ("cloche-keyring-XXXXXX", &error);
  g_assert_no_error (error);
  data = g_build_filename (keyring->dir, "data", NULL);
  runtime = g_build_filename (keyring->dir, "runtime", NULL);
  g_assert_cmpint (g_mkdir_with_parents (data, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (runtime, 0700), ==, 0);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", bus_address, TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", keyring->dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", data, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", runtime, TRUE);
  g_subprocess_launcher_set_child_setup (launcher, cloche_test_keyring_child_setup, NULL, NULL);
  keyring->process = g_subprocess_launcher_spawn (launcher, &error, "gnome-keyring-daemon",
                                                  "--foreground", "--unlock",
                                                  "--components=secrets", NULL);
  if (keyring->process == NULL)
    g_error ("Cannot start gnome-keyring-daemon (install gnome-keyring; tools/dev/setup "
             "does): %s", error->message);
  /* The password, then the end of stdin: --unlock reads up to it. */
  g_output_stream_write_all (g_subprocess_get_stdin_pipe (keyring->process),
                             "cloche-test-keyring-password", 28, NULL, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (g_subprocess_get_stdin_pipe (keyring->process), NULL, NULL);
  bus = g_dbus_connection_new_for_address_sync (bus_address,
                                                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                                | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                NULL, NULL, &error);
  g_assert_no_error (error);
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (!cloche_test_keyring_on_bus (bus) && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);
  if (!cloche_test_keyring_on_bus (bus))
    g_error ("gnome-keyring-daemon did not take org.freedesktop.secrets within 30 s");
  return keyring;
}

static inline void
cloche_test_keyring_stop (ClocheTestKeyring *keyring)
{
  const char *argv[] = { "rm", "-rf", keyring->dir, NULL };

  g_subprocess_send_signal (keyring->process, SIGTERM);
  g_subprocess_wait (keyring->process, NULL, NULL);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                NULL);
  g_clear_object (&keyring->process);
  g_free (keyring->dir);
  g_free (keyring);
}
