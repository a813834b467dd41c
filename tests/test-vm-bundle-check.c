/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The files a boot hands QEMU are the bundle's, as verified: a real daemon
 * and QEMU on a copy of the minimal bundle.
 *
 * - a manifest whose "initrd" points out of the bundle
 *   ("../evil/initrd.img") is refused by Inspect (so never installed) and
 *   by the boot, and nothing boots it;
 * - the boot hands QEMU the checked files as descriptors (/dev/fd/N), which
 *   QEMU holds open on the bundle's own files;
 * - an initrd swapped after that boot (same size, other bytes) is refused
 *   by name at the next boot, with the VM left stopped.
 * The cases run in order on one daemon.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>

#include "cloche-test-daemon.h"

static ClocheTestDaemon *vm_daemon;
static char *work_dir;
static char *bundle_dir;

static void
copy_file (const char *from,
           const char *to)
{
  g_autoptr(GFile) source = g_file_new_for_path (from);
  g_autoptr(GFile) dest = g_file_new_for_path (to);
  g_autoptr(GError) error = NULL;

  g_file_copy (source, dest, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
}

/* The minimal bundle copied to @dir, its files by name. */
static void
copy_bundle (const char *dir)
{
  g_autofree char *minimal = cloche_test_bundle_dir ();
  const char *names[] = { "manifest.json", "vmlinux", "initrd.img" };

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *from = g_build_filename (minimal, names[i], NULL);
      g_autofree char *to = g_build_filename (dir, names[i], NULL);

      copy_file (from, to);
    }
}

/* The daemon's QEMU running a VM: not the doctor's `qemu -device help`,
 * which the daemon runs after a failed start to explain it. */
static GPid
qemu_pid (void)
{
  GPid pid = cloche_test_find_child (cloche_test_daemon_pid (vm_daemon), "qemu-system");
  g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", (int) pid);
  g_autofree char *cmdline = NULL;
  gsize length = 0;

  if (pid == 0 || !g_file_get_contents (path, &cmdline, &length, NULL))
    return 0;
  for (gsize i = 0; i < length; i += strlen (cmdline + i) + 1)
    if (g_str_equal (cmdline + i, "-kernel"))
      return pid;
  return 0;
}

static void
expect_open_error (int         code,
                   const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  cloche_dbus_sessions_call_open_sync (vm_daemon->sessions, "refused",
                                       g_variant_new ("a{sv}", NULL), &id, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, code);
  if (strstr (error->message, needle) == NULL)
    g_error ("expected \"%s\" in: %s", needle, error->message);
}

/* The manifest of @dir with its initrd named @initrd instead. */
static void
rename_initrd_in_manifest (const char *dir,
                           const char *initrd)
{
  g_autofree char *path = g_build_filename (dir, "manifest.json", NULL);
  g_autofree char *text = NULL;
  g_autofree char *member = g_strdup_printf ("\"initrd\": \"%s\"", initrd);
  g_autoptr(GString) edited = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  edited = g_string_new (text);
  g_assert_cmpuint (g_string_replace (edited, "\"initrd\": \"initrd.img\"", member, 1), ==, 1);
  g_file_set_contents (path, edited->str, -1, &error);
  g_assert_no_error (error);
}

/* The reported escape: a manifest naming an initrd outside the bundle,
 * which its files list does not hold, passed install's checks ("verified")
 * and QEMU booted it. */
static void
test_initrd_outside (void)
{
  g_autofree char *evil_bundle = g_build_filename (work_dir, "evil-bundle", NULL);
  g_autofree char *evil_dir = g_build_filename (work_dir, "evil", NULL);
  g_autofree char *evil_initrd = g_build_filename (evil_dir, "initrd.img", NULL);
  g_autofree char *minimal = cloche_test_bundle_dir ();
  g_autofree char *real_initrd = g_build_filename (minimal, "initrd.img", NULL);
  g_autoptr(ClocheDbusBundle) bundle = NULL;
  g_autoptr(GVariant) inspected = NULL;
  g_autoptr(GError) error = NULL;

  copy_bundle (evil_bundle);
  g_assert_cmpint (g_mkdir_with_parents (evil_dir, 0700), ==, 0);
  copy_file (real_initrd, evil_initrd);
  rename_initrd_in_manifest (evil_bundle, "../evil/initrd.img");

  bundle = cloche_dbus_bundle_proxy_new_sync (
    g_dbus_proxy_get_connection (G_DBUS_PROXY (vm_daemon->proxy)),
    G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  cloche_dbus_bundle_call_inspect_sync (bundle, evil_bundle, "", &inspected, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
  g_assert_nonnull (strstr (error->message, "../evil/initrd.img"));

  /* The same manifest where the daemon boots from. */
  rename_initrd_in_manifest (bundle_dir, "../evil/initrd.img");
  expect_open_error (CLOCHE_ERROR_BUNDLE_INVALID, "\"../evil/initrd.img\" as its initrd");
  g_assert_cmpint (qemu_pid (), ==, 0);
  g_assert_true (cloche_test_daemon_state_is (vm_daemon, "stopped"));
  copy_bundle (bundle_dir);
}

/* QEMU holds the bundle's own files open, through the descriptors it was
 * handed: what was checked is what booted. */
static void
test_boots_checked_files (void)
{
  g_autofree char *initrd = g_build_filename (bundle_dir, "initrd.img", NULL);
  g_autofree char *id = NULL;
  g_autofree char *cmdline_path = NULL;
  g_autofree char *cmdline = NULL;
  g_autofree char *fd_link = NULL;
  g_autofree char *target = NULL;
  g_autoptr(GError) error = NULL;
  gsize length = 0;
  GPid pid;

  cloche_dbus_sessions_call_open_sync (vm_daemon->sessions, "checked",
                                       g_variant_new ("a{sv}", NULL), &id, NULL, &error);
  g_assert_no_error (error);
  cloche_test_daemon_wait_state (vm_daemon, "running", 5);
  pid = qemu_pid ();
  g_assert_cmpint (pid, >, 0);

  cmdline_path = g_strdup_printf ("/proc/%d/cmdline", (int) pid);
  g_assert_true (g_file_get_contents (cmdline_path, &cmdline, &length, NULL));
  for (gsize i = 0; i + 1 < length; i++)
    if (cmdline[i] == '\0')
      cmdline[i] = ' ';
  g_assert_nonnull (strstr (cmdline, "-initrd /dev/fd/6"));
  fd_link = g_strdup_printf ("/proc/%d/fd/6", (int) pid);
  target = g_file_read_link (fd_link, NULL);
  g_assert_cmpstr (target, ==, initrd);

  cloche_dbus_sessions_call_close_sync (vm_daemon->sessions, id, NULL, &error);
  g_assert_no_error (error);
  cloche_dbus_daemon_call_stop_vm_sync (vm_daemon->proxy, NULL, &error);
  g_assert_no_error (error);
  cloche_test_daemon_wait_state (vm_daemon, "stopped", 30);
}

/* The initrd changed in place after that boot, as a guest with the bundle's
 * folder mounted could: the next boot finds it by its sha256, names it, and
 * does not start QEMU. */
static void
test_initrd_swapped (void)
{
  g_autofree char *initrd = g_build_filename (bundle_dir, "initrd.img", NULL);
  g_autofree char *contents = NULL;
  gsize length = 0;
  int fd;

  g_assert_true (g_file_get_contents (initrd, &contents, &length, NULL));
  memset (contents, 'X', 512);
  fd = open (initrd, O_WRONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, contents, length), ==, (gssize) length);
  close (fd);

  expect_open_error (CLOCHE_ERROR_BUNDLE_CORRUPT, "initrd.img is damaged: its sha256 is");
  g_assert_cmpint (qemu_pid (), ==, 0);
  g_assert_true (cloche_test_daemon_state_is (vm_daemon, "stopped"));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  work_dir = g_dir_make_tmp ("cloche-bundle-check-XXXXXX", &error);
  g_assert_no_error (error);
  bundle_dir = g_build_filename (work_dir, "bundle", NULL);
  copy_bundle (bundle_dir);
  vm_daemon = cloche_test_daemon_start ((const char *[]) {
    "--bundle", bundle_dir, "--agent-timeout", "120", NULL });

  g_test_add_func ("/vm-bundle-check/initrd-outside", test_initrd_outside);
  g_test_add_func ("/vm-bundle-check/boots-checked-files", test_boots_checked_files);
  g_test_add_func ("/vm-bundle-check/initrd-swapped", test_initrd_swapped);

  status = g_test_run ();
  cloche_test_daemon_free (vm_daemon);
  g_spawn_sync (NULL, (char *[]) { (char *) "rm", (char *) "-rf", work_dir, NULL }, NULL,
                G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  g_free (bundle_dir);
  g_free (work_dir);
  return status;
}
