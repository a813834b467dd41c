/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The policy's VM values on a real boot: a user file written while the
 * daemon runs sets the idle timeout (at once: the VM stops that long after
 * the last session closes, where the built-in 300 s would keep it), and
 * the CPUs and memory QEMU is started with at the next boot, and the mode
 * `clochectl session open --mount DIR` gives a folder without one.
 */
#include "config.h"

#include <stdlib.h>
#include <sys/wait.h>

#include "cloche-test-daemon.h"

static char *
qemu_command_line (ClocheTestDaemon *daemon)
{
  GPid pid = cloche_test_find_child (cloche_test_daemon_pid (daemon), "qemu-system");
  g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", (int) pid);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_assert_cmpint (pid, >, 0);
  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  /* Arguments end in NUL: spaces make them one searchable line. */
  for (gsize i = 0; i + 1 < length; i++)
    if (contents[i] == '\0')
      contents[i] = ' ';
  return contents;
}

/* clochectl session open --mount DIR, on this process's (private) bus. */
static char *
open_with_clochectl (const char *folder)
{
  const char *argv[] = { g_getenv ("CLOCHE_CTL"), "session", "open", "--title", "policy",
                         "--mount", folder, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  int status = -1;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                &error);
  g_assert_no_error (error);
  g_assert_cmpstr (err, ==, "");
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  return g_strstrip (out);
}

static gboolean
first_mount_readonly (ClocheTestDaemon *daemon,
                      const char       *id)
{
  g_autoptr(GVariant) session = NULL;
  g_autoptr(GVariant) mounts = NULL;
  g_autoptr(GError) error = NULL;
  gboolean readonly = TRUE;

  cloche_dbus_sessions_call_get_sync (daemon->sessions, id, &session, NULL, &error);
  g_assert_no_error (error);
  mounts = g_variant_get_child_value (session, 8);
  g_assert_cmpuint (g_variant_n_children (mounts), ==, 1);
  g_variant_get_child (mounts, 0, "(&s&sb)", NULL, NULL, &readonly);
  return readonly;
}

static void
test_vm_values (void)
{
  g_autofree char *bundle = cloche_test_bundle_dir ();
  g_autofree char *admin_dir = g_dir_make_tmp ("cloche-admin-XXXXXX", NULL);
  g_autofree char *admin_path = g_build_filename (admin_dir, "policy.json", NULL);
  g_autofree char *user_dir = NULL;
  g_autofree char *user_path = NULL;
  g_autofree char *command = NULL;
  g_autofree char *id = NULL;
  g_autofree char *project = NULL;
  g_autoptr(GError) error = NULL;
  ClocheTestDaemon *daemon;

  g_setenv ("CLOCHE_ADMIN_POLICY", admin_path, TRUE);
  daemon = cloche_test_daemon_start ((const char *[]) { "--bundle", bundle, NULL });
  g_assert_cmpuint (cloche_dbus_daemon_get_idle_timeout (daemon->proxy), ==, 300);

  user_dir = g_build_filename (daemon->home, "config", "cloche", NULL);
  user_path = g_build_filename (user_dir, "policy.json", NULL);
  g_assert_cmpint (g_mkdir_with_parents (user_dir, 0700), ==, 0);
  g_file_set_contents (user_path,
                       "{\"version\": 1,"
                       " \"vm\": {\"idle_timeout_s\": 3, \"cpus\": 2, \"memory_mib\": 1100},"
                       " \"mounts\": {\"default_mode\": \"rw\"}}",
                       -1, &error);
  g_assert_no_error (error);
  /* Seconds: GLib looks for a folder that was missing every few. */
  CLOCHE_TEST_WAIT_FOR (cloche_dbus_daemon_get_idle_timeout (daemon->proxy) == 3, 30);

  project = g_build_filename (daemon->home, "project", NULL);
  g_assert_cmpint (g_mkdir_with_parents (project, 0700), ==, 0);
  id = open_with_clochectl (project);
  cloche_test_daemon_wait_state (daemon, "running", 5);
  g_assert_false (first_mount_readonly (daemon, id));
  command = qemu_command_line (daemon);
  g_assert_nonnull (strstr (command, " -smp 2 -m 1100 "));
  g_assert_nonnull (strstr (command, "size=1100M"));

  cloche_dbus_sessions_call_close_sync (daemon->sessions, id, NULL, &error);
  g_assert_no_error (error);
  cloche_test_daemon_wait_state (daemon, "stopped", 60);
  g_assert_cmpstr (cloche_dbus_daemon_get_state_reason (daemon->proxy), ==, "idle");

  cloche_test_daemon_free (daemon);
  g_unlink (admin_path);
  g_rmdir (admin_dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vm-policy/vm-values", test_vm_values);
  return g_test_run ();
}
