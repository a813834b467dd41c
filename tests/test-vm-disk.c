/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A disk bundle (kind "disk": a qcow2 root image, booted on a throw-away
 * overlay) made from the minimal bundle by tools/make-disk-bundle, booted by
 * a real daemon and QEMU: the code path of the full bundle, with no network.
 * The cases run in order on one daemon so that they share boots; each checks
 * its own outcome from the guest, the daemon's files and the image itself.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>

#include "cloche-test-daemon.h"

static ClocheTestDaemon *vm_daemon;
static char *bundle_dir;
static char *base_sha256;
static char *session_id;

static char *
file_sha256 (const char *path)
{
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GError) error = NULL;

  mapped = g_mapped_file_new (path, FALSE, &error);
  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                      (const guchar *) g_mapped_file_get_contents (mapped),
                                      g_mapped_file_get_length (mapped));
}

static char *
base_path (void)
{
  return g_build_filename (bundle_dir, "root.qcow2", NULL);
}

static char *
make_disk_bundle (void)
{
  g_autofree char *minimal = cloche_test_bundle_dir ();
  g_autofree char *tool = g_build_filename (g_getenv ("CLOCHE_SOURCE_ROOT"), "tools",
                                            "make-disk-bundle", NULL);
  g_autofree char *tmp = NULL;
  g_autofree char *dst = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  int status = -1;

  tmp = g_dir_make_tmp ("cloche-disk-bundle-XXXXXX", &error);
  g_assert_no_error (error);
  dst = g_build_filename (tmp, "bundle", NULL);
  /* Its stdout is captured: the test's own is TAP. */
  g_spawn_sync (NULL, (char *[]) { tool, minimal, dst, NULL }, NULL, G_SPAWN_DEFAULT,
                NULL, NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  g_test_message ("%s", g_strchomp (out));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return g_steal_pointer (&dst);
}

static gboolean
run (const char * const  *argv,
     ClocheTestExec      *exec,
     GError             **error)
{
  g_autoptr(GVariant) out = NULL;
  g_autoptr(GVariant) err = NULL;
  const char * const no_env[] = { NULL };

  if (!cloche_dbus_sessions_call_exec_sync (vm_daemon->sessions, session_id, argv,
                                            cloche_test_exec_options (no_env, "/"),
                                            &exec->exit_code, &out, &err, NULL, NULL, error))
    return FALSE;
  exec->out = cloche_test_bytes_string (out);
  exec->err = cloche_test_bytes_string (err);
  return TRUE;
}

static GPid
qemu_pid (void)
{
  return cloche_test_find_child (cloche_test_daemon_pid (vm_daemon), "qemu-system");
}

/* The folder of the daemon's disk overlays: $XDG_CACHE_HOME/cloche/vm-PID. */
static char *
vm_overlay_dir (void)
{
  g_autofree char *name = g_strdup_printf ("vm-%d", (int) cloche_test_daemon_pid (vm_daemon));

  return g_build_filename (vm_daemon->home, "cache", "cloche", name, NULL);
}

/* Overlay names in the daemon's overlay folder. snapshot=on makes the overlay
 * as $TMPDIR/vl.XXXXXX and QEMU unlinks it as soon as it has opened it, so
 * there must never be one: nothing is left behind, even by a killed QEMU. */
static guint
count_overlays (void)
{
  g_autofree char *overlay_dir = vm_overlay_dir ();
  g_autoptr(GDir) dir = g_dir_open (overlay_dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "vl."))
      n++;
  return n;
}

/* The overlay QEMU holds open: a file of the daemon's overlay folder, already
 * unlinked. Returns its size in bytes, or -1 if QEMU holds none. */
static gint64
open_overlay_size (GPid pid)
{
  g_autofree char *fd_dir = g_strdup_printf ("/proc/%d/fd", (int) pid);
  g_autofree char *overlay_dir = vm_overlay_dir ();
  g_autofree char *prefix = g_build_filename (overlay_dir, "vl.", NULL);
  g_autoptr(GDir) dir = g_dir_open (fd_dir, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename (fd_dir, name, NULL);
      g_autofree char *target = g_file_read_link (link, NULL);
      GStatBuf st;

      if (target == NULL || !g_str_has_prefix (target, prefix))
        continue;
      g_assert_true (g_str_has_suffix (target, " (deleted)"));
      g_assert_cmpint (g_stat (link, &st), ==, 0);
      return st.st_size;
    }
  return -1;
}

/* How QEMU holds the base image: O_RDONLY, or it could write it. */
static int
base_access_mode (GPid pid)
{
  g_autofree char *fd_dir = g_strdup_printf ("/proc/%d/fd", (int) pid);
  g_autofree char *base = base_path ();
  g_autoptr(GDir) dir = g_dir_open (fd_dir, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename (fd_dir, name, NULL);
      g_autofree char *target = g_file_read_link (link, NULL);
      g_autofree char *info_path = NULL;
      g_autofree char *info = NULL;
      const char *flags;

      if (g_strcmp0 (target, base) != 0)
        continue;
      info_path = g_strdup_printf ("/proc/%d/fdinfo/%s", (int) pid, name);
      g_assert_true (g_file_get_contents (info_path, &info, NULL, NULL));
      flags = strstr (info, "flags:");
      g_assert_nonnull (flags);
      return strtol (flags + strlen ("flags:"), NULL, 8) & O_ACCMODE;
    }
  g_assert_not_reached ();
}

/* A session's commands run on the root image, which they may read and not
 * write: their view binds it read-only (docs/ARCHITECTURE.md, "Isolation
 * between sessions"). What the guest's root writes there (the mount
 * points of folders) goes to the per-boot overlay, as the next cases see. */
static void
test_boots_from_root_image (void)
{
  const char * const mounts[] = { "sh", "-c", "grep ' / ' /proc/mounts; id -u", NULL };
  const char * const write[] = { "sh", "-c", "echo scratch >/disk-marker", NULL };
  g_auto(ClocheTestExec) root = { 0 };
  g_auto(ClocheTestExec) written = { 0 };
  g_autoptr(GError) error = NULL;

  cloche_dbus_sessions_call_open_sync (vm_daemon->sessions, "disk",
                                       g_variant_new ("a{sv}", NULL), &session_id,
                                       NULL, &error);
  g_assert_no_error (error);
  cloche_test_daemon_wait_state (vm_daemon, "running", 5);

  /* The guest agent answers from the root image, not from the initramfs. */
  run (mounts, &root, &error);
  g_assert_no_error (error);
  g_assert_cmpint (root.exit_code, ==, 0);
  g_assert_true (g_str_has_prefix (root.out, "/dev/vda / ext4 ro,nosuid,nodev"));
  g_assert_null (strstr (root.out, "\n0\n"));

  run (write, &written, &error);
  g_assert_no_error (error);
  g_assert_cmpint (written.exit_code, !=, 0);
  g_assert_nonnull (strstr (written.err, "Read-only file system"));
}

static void
test_overlay_on_disk_base_read_only (void)
{
  GPid pid = qemu_pid ();

  g_assert_cmpint (pid, >, 0);
  /* The guest's writes went to the overlay, in the daemon's overlay folder. */
  g_assert_cmpint (open_overlay_size (pid), >, 0);
  g_assert_cmpuint (count_overlays (), ==, 0);
  g_assert_cmpint (base_access_mode (pid), ==, O_RDONLY);
}

/* The next command boots on a new overlay, from the same root image, and
 * walls the session in again before it runs: its own user, its own folder
 * alone in /sessions. */
static void
test_restart_forgets_writes (void)
{
  const char * const check[] = { "sh", "-c", "grep -c ' / ' /proc/mounts; id -u; ls /sessions; "
                                 "test -e /disk-marker && echo still-there", NULL };
  g_autofree char *alone = g_strdup_printf ("\n%s\n", session_id);
  g_auto(ClocheTestExec) exec = { 0 };
  g_autoptr(GError) error = NULL;

  cloche_dbus_daemon_call_stop_vm_sync (vm_daemon->proxy, NULL, &error);
  g_assert_no_error (error);
  cloche_test_daemon_wait_state (vm_daemon, "stopped", 30);
  g_assert_cmpint (qemu_pid (), ==, 0);
  g_assert_cmpuint (count_overlays (), ==, 0);

  /* The session is still open: its next command boots the VM again. */
  run (check, &exec, &error);
  g_assert_no_error (error);
  g_assert_cmpint (exec.exit_code, ==, 1);
  g_assert_true (g_str_has_prefix (exec.out, "1\n"));
  g_assert_null (strstr (exec.out, "\n0\n"));
  g_assert_null (strstr (exec.out, "still-there"));
  g_assert_true (g_str_has_suffix (exec.out, alone));
  g_assert_cmpint (open_overlay_size (qemu_pid ()), >, 0);
}

static void
test_killed_qemu_overlay_swept (void)
{
  GPid pid = qemu_pid ();

  g_assert_cmpint (pid, >, 0);
  g_assert_cmpint (open_overlay_size (pid), >, 0);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  cloche_test_daemon_wait_state (vm_daemon, "crashed", 30);
  g_assert_cmpuint (count_overlays (), ==, 0);
}

static void
test_base_unchanged (void)
{
  g_autofree char *base = base_path ();
  g_autofree char *after = file_sha256 (base);

  g_assert_cmpstr (after, ==, base_sha256);
}

static void
expect_open_error (int         code,
                   const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  cloche_dbus_sessions_call_open_sync (vm_daemon->sessions, "broken",
                                       g_variant_new ("a{sv}", NULL), &id, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, code);
  g_assert_nonnull (strstr (error->message, needle));
}

/* The damaged images are set up by hand, then the real one is put back. */
static void
test_missing_and_corrupt_base (void)
{
  g_autofree char *base = base_path ();
  g_autofree char *saved = g_strconcat (base, ".saved", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize length = 0;

  /* Crashed by the case before: nothing runs, and a failed start keeps it so. */
  g_assert_true (cloche_test_daemon_state_is (vm_daemon, "crashed"));
  g_assert_cmpint (g_rename (base, saved), ==, 0);
  expect_open_error (CLOCHE_ERROR_BUNDLE_INVALID, "root.qcow2 is missing");
  g_assert_true (cloche_test_daemon_state_is (vm_daemon, "crashed"));

  /* Same size, so only the contents can tell: not a qcow2 any more. */
  g_assert_true (g_file_get_contents (saved, &contents, &length, NULL));
  memcpy (contents, "GARBAGE!", 8);
  g_file_set_contents (base, contents, length, &error);
  g_assert_no_error (error);
  expect_open_error (CLOCHE_ERROR_BUNDLE_CORRUPT, "root.qcow2 is not a qcow2 image");
  /* (No check for a QEMU child here: the doctor, run after a failed start,
   * asks qemu-system-x86_64 for its devices.) */
  g_assert_true (cloche_test_daemon_state_is (vm_daemon, "crashed"));

  g_assert_cmpint (g_rename (saved, base), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *base = NULL;
  g_autofree char *parent = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  bundle_dir = make_disk_bundle ();
  base = base_path ();
  base_sha256 = file_sha256 (base);
  vm_daemon = cloche_test_daemon_start ((const char *[]) {
    "--bundle", bundle_dir, "--agent-timeout", "120", NULL });

  g_test_add_func ("/vm-disk/boots-from-root-image", test_boots_from_root_image);
  g_test_add_func ("/vm-disk/overlay-on-disk-base-read-only",
                   test_overlay_on_disk_base_read_only);
  g_test_add_func ("/vm-disk/restart-forgets-writes", test_restart_forgets_writes);
  g_test_add_func ("/vm-disk/killed-qemu-overlay-swept", test_killed_qemu_overlay_swept);
  g_test_add_func ("/vm-disk/base-unchanged", test_base_unchanged);
  g_test_add_func ("/vm-disk/missing-and-corrupt-base", test_missing_and_corrupt_base);

  status = g_test_run ();
  g_free (session_id);
  cloche_test_daemon_free (vm_daemon);
  parent = g_path_get_dirname (bundle_dir);
  g_spawn_sync (NULL, (char *[]) { (char *) "rm", (char *) "-rf", parent, NULL }, NULL,
                G_SPAWN_SEARCH_PATH,
                NULL, NULL, NULL, NULL, NULL, NULL);
  g_free (bundle_dir);
  g_free (base_sha256);
  return status;
}
