/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A session's folders are pinned by what was checked when it opened, not by
 * a path read again at the next boot. The guest is the attacker here: with a
 * read-write folder a session replaces a folder on a path that another of
 * its mounts goes through (by a symbolic link in the middle of the path, at
 * its last component, or by another folder), the guest's root powers the
 * VM off, and the next command boots it again and mounts the session's
 * folders again. Each time
 * the changed folder must be refused with FolderChanged, the host's own
 * files must stay out of reach, and the session stays refused (broken)
 * rather than half mounted. The work folder is pinned too: a host-side swap
 * of it is refused the same way. Cloche's own folders are never shared.
 *
 * This drives a ClocheSandbox directly (no daemon, no bus), on the real
 * bundle and QEMU; each pinning case costs one reboot. Guest calls and lost
 * folders are tests/test-vm-guest-calls.c.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include "cloche-test-sandbox.h"

static gboolean
vm_is_down (void)
{
  ClocheVmState state = cloche_vm_get_state (cloche_sandbox_get_vm (sandbox));

  return state == CLOCHE_VM_STATE_STOPPED || state == CLOCHE_VM_STATE_CRASHED;
}

/* The guest powers the VM off, as it may; the next command boots it again.
 * Its root does it: a session, walled in, cannot (test-vm-isolation), but
 * the guest's root is the attacker too once a session gets past the walls,
 * and the guest's kernel is not a wall the host relies on. */
static void
guest_powers_off (void)
{
  ClocheGuestAgent *agent = cloche_vm_get_guest_agent (cloche_sandbox_get_vm (sandbox));
  const char *argv[] = { "/bin/sh", "-c", "(sleep 1; poweroff -f) </dev/null >/dev/null 2>&1 &",
                         NULL };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };
  int status = -1;

  cloche_guest_agent_exec_async (agent, argv, NULL, 60, NULL, CLOCHE_EXEC_NONE, NULL, on_done, &wait);
  result = wait_result (&wait);
  g_assert_true (cloche_guest_agent_exec_finish (agent, result, &status, &out, &err, &error));
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  CLOCHE_TEST_WAIT_FOR (vm_is_down (), 60);
}

/* The next command in the session is refused, naming @what. */
static void
assert_refused (const char *id,
                const char *script,
                const char *what)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  if (session_sh (id, script, &out, &error))
    g_error ("\"%s\" ran after the folder was changed, and printed: %.200s", script, out);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_CHANGED);
  if (strstr (error->message, what) == NULL)
    g_error ("\"%s\" does not name \"%s\"", error->message, what);
}

/* A refused session still closes (its folders are not mounted). */
static void
close_session (const char *id)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (cloche_sandbox_close_session (sandbox, id, &error));
  g_assert_no_error (error);
}

/* Cloche's own folders are never shared: here the state folder, which holds
 * every session's work folder and record. Refused before anything boots. */
static void
test_own_folders_refused (void)
{
  g_autoptr(GPtrArray) mounts = g_ptr_array_new_with_free_func (
    (GDestroyNotify) cloche_session_mount_free);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  Wait wait = { 0 };

  g_assert_cmpint (g_mkdir_with_parents (state_dir, 0700), ==, 0);
  g_ptr_array_add (mounts, cloche_session_mount_new (state_dir, NULL, FALSE));
  cloche_sandbox_open_session_async (sandbox, "greedy", "test", mounts, NULL, on_done, &wait);
  result = wait_result (&wait);
  id = cloche_sandbox_open_session_finish (sandbox, result, &error);
  g_assert_null (id);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED);
  if (strstr (error->message, "holds Cloche's sessions folder") == NULL)
    g_error ("\"%s\" does not say it holds the sessions folder", error->message);
}

/* The reproduction of issue 15: `site` on the path of two mounts becomes a
 * link to /; after the reboot the read-only one would be the host's /etc
 * and the read-write one the host's /tmp. */
static void
test_link_in_the_middle (void)
{
  g_autofree char *proj = home_path ("proj");
  g_autofree char *etc = home_path ("proj/site/etc");
  g_autofree char *tmp = home_path ("proj/site/tmp");
  g_autofree char *marker = g_strdup_printf ("cloche-escape-%d-%u", (int) getpid (),
                                             g_random_int ());
  g_autofree char *host_marker = g_build_filename ("/tmp", marker, NULL);
  g_autofree char *write = g_strdup_printf ("touch mnt/tmp/%s", marker);
  g_autofree char *id = NULL;

  make_dirs ((const char *[]) { "proj/site/etc", "proj/site/tmp", NULL });
  id = open_session ((const char *[]) { proj, etc, tmp, NULL },
                     (const gboolean[]) { FALSE, TRUE, FALSE });
  assert_sh (id, "cd mnt/proj && mv site site.old && ln -s / site");
  guest_powers_off ();

  assert_refused (id, "cat mnt/etc/passwd", "site");
  assert_refused (id, write, "site");
  g_assert_false (g_file_test (host_marker, G_FILE_TEST_EXISTS));
  g_unlink (host_marker);
  close_session (id);
}

/* A link at the last component of a mounted folder's path. */
static void
test_link_at_the_end (void)
{
  g_autofree char *top = home_path ("p2");
  g_autofree char *data = home_path ("p2/data");
  g_autofree char *id = NULL;

  make_dirs ((const char *[]) { "p2/data", NULL });
  id = open_session ((const char *[]) { top, data, NULL }, (const gboolean[]) { FALSE, TRUE });
  assert_sh (id, "cd mnt/p2 && rmdir data && ln -s /etc data");
  guest_powers_off ();
  assert_refused (id, "cat mnt/data/passwd", "data");
  close_session (id);
}

/* No link at all: the folder is renamed away and another one put in its
 * place (what a bind mount or a rename swap would do). */
static void
test_other_folder (void)
{
  g_autofree char *top = home_path ("p3");
  g_autofree char *data = home_path ("p3/data");
  g_autofree char *id = NULL;

  make_dirs ((const char *[]) { "p3/data", NULL });
  id = open_session ((const char *[]) { top, data, NULL }, (const gboolean[]) { FALSE, TRUE });
  assert_sh (id, "cd mnt/p3 && mv data data.old && mkdir data && echo decoy > data/x");
  guest_powers_off ();
  assert_refused (id, "cat mnt/data/x", "another folder");
  close_session (id);
}

/* The session's own work folder, swapped on the host for a link to /. */
static void
test_work_folder (void)
{
  g_autofree char *id = open_session ((const char *[]) { NULL }, NULL);
  g_autofree char *work = g_build_filename (state_dir, "sessions", id, "work", NULL);
  g_autofree char *moved = g_strconcat (work, ".old", NULL);

  assert_sh (id, "echo mine > mine.txt");
  guest_powers_off ();
  g_assert_cmpint (g_rename (work, moved), ==, 0);
  g_assert_cmpint (symlink ("/", work), ==, 0);
  assert_refused (id, "ls etc/passwd", "work");
  close_session (id);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  sandbox_home_set_up ();

  g_test_add_func ("/vm-pinned/start", sandbox_start);
  g_test_add_func ("/vm-pinned/own-folders-refused", test_own_folders_refused);
  g_test_add_func ("/vm-pinned/link-in-the-middle", test_link_in_the_middle);
  g_test_add_func ("/vm-pinned/link-at-the-end", test_link_at_the_end);
  g_test_add_func ("/vm-pinned/other-folder", test_other_folder);
  g_test_add_func ("/vm-pinned/work-folder", test_work_folder);
  g_test_add_func ("/vm-pinned/stop", sandbox_stop);
  status = g_test_run ();

  sandbox_home_tear_down (status);
  return status;
}
