/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Warm wake on the real VM (issue 21): a sandbox whose idle timer stops
 * the VM saves it in the cache folder, and the next open restores it;
 * what does not match, was changed on disk or fails to restore is
 * deleted and the open boots cold with the reason kept; a restored guest
 * keeps the egress CA its saved boot was given, and gets a new one. No timing here
 * (tools/bench/warm-wake measures it).
 */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cloche-bundle-manager.h"
#include "cloche-egress-ca.h"
#include "cloche-sandbox-private.h"
#include "cloche-test-sandbox.h"
#include "cloche-test-util.h"
#include "cloche-vm-command.h"
#include "cloche-vm-snapshot.h"
#include "cloche-vm.h"

static char *
warm_path (const char *name)
{
  g_autofree char *dir = cloche_vm_snapshot_dir ();

  return g_build_filename (dir, name, NULL);
}

static ClocheVm *
vm (void)
{
  return cloche_sandbox_get_vm (sandbox);
}

/* Opens a session (booting or restoring the VM) with @folder mounted
 * read-only if given. */
static char *
open_with (const char *folder)
{
  const char *paths[] = { folder, NULL };
  const gboolean readonly[] = { TRUE };

  return open_session (paths, readonly);
}

/* Closes @id and waits for the idle timer (1 s) to stop the VM. */
static void
close_and_idle (const char *id)
{
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  g_assert_true (cloche_sandbox_close_session (sandbox, id, &error));
  g_assert_no_error (error);
  while (cloche_vm_get_state (vm ()) != CLOCHE_VM_STATE_STOPPED
         && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (cloche_vm_get_state (vm ()), ==, CLOCHE_VM_STATE_STOPPED);
}

static void
assert_snapshot_saved (void)
{
  g_autofree char *meta = warm_path ("snapshot.ini");
  g_autofree char *dir = cloche_vm_snapshot_dir ();

  g_assert_true (g_file_test (meta, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (cloche_vm_snapshot_size (dir), >, 0);
  g_assert_cmpuint (cloche_vm_get_snapshot_size (vm ()), ==, cloche_vm_snapshot_size (dir));
}

static void
assert_snapshot_gone (void)
{
  g_autofree char *meta = warm_path ("snapshot.ini");
  g_autofree char *ram = warm_path ("ram");
  g_autofree char *state = warm_path ("state");

  g_assert_false (g_file_test (meta, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (ram, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (state, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (cloche_vm_get_snapshot_size (vm ()), ==, 0);
}

/* The guest kernel's boot id: the same in a restored boot, new in each
 * cold one. */
static char *saved_boot_id;

static char *
boot_id (const char *id)
{
  g_autoptr(GError) error = NULL;
  char *out = NULL;

  g_assert_true (session_sh (id, "cat /proc/sys/kernel/random/boot_id", &out, &error));
  g_assert_no_error (error);
  return out;
}

/* The egress CA's file in the guest, which each `cloche-guest trust`
 * writes anew (a new inode: it is renamed into place), and the trust
 * bundle a command is pointed at. */
static char *saved_ca_inode;

static char *
ca_inode (const char *id)
{
  g_autoptr(GError) error = NULL;
  char *out = NULL;

  g_assert_true (session_sh (id, "set -- $(ls -i " CLOCHE_EGRESS_CA_GUEST_FILE ")"
                             " && echo \"$1\" \"$SSL_CERT_FILE\"", &out, &error));
  g_assert_no_error (error);
  return out;
}

static guint
guest_uid (const char *id)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  g_assert_true (session_sh (id, "id -u", &out, &error));
  g_assert_no_error (error);
  return (guint) g_ascii_strtoull (out, NULL, 10);
}

/* The boot's exec server ready (it comes a moment after the open), and a
 * command through it: the idle stop must take its port out before the
 * save, or QEMU could not restore the VM. */
static void
assert_exec_channel (const char *id)
{
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  while ((sandbox->exec_channel == NULL || !cloche_exec_channel_is_open (sandbox->exec_channel))
         && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (sandbox->exec_channel);
  g_assert_true (session_sh (id, "echo through the channel", &out, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, "through the channel\n");
  g_assert_true (cloche_exec_channel_is_open (sandbox->exec_channel));
}

/* A first boot, cold; its idle stop saves it. */
static void
test_save (void)
{
  g_autofree char *id = NULL;

  g_autofree char *ca_folder = home_path ("egress-ca");
  g_autoptr(ClocheEgressCa) ca = cloche_egress_ca_new (ca_folder);

  /* Every boot trusts the egress CA (cloche-sandbox-trust.c). */
  cloche_sandbox_set_secrets (sandbox, NULL, ca);
  cloche_sandbox_set_idle_timeout (sandbox, 1);
  id = open_with (NULL);
  g_assert_false (cloche_vm_get_woke_warm (vm ()));
  saved_boot_id = boot_id (id);
  saved_ca_inode = ca_inode (id);
  g_assert_true (g_ascii_isdigit (saved_ca_inode[0]));
  g_assert_true (g_str_has_suffix (saved_ca_inode, " " CLOCHE_EGRESS_CA_GUEST_BUNDLE "\n"));
  assert_exec_channel (id);
  close_and_idle (id);
  assert_snapshot_saved ();
}

/* The next open restores: the guest kernel is the saved one, its clock
 * is the host's again, a session user is not one given out before the
 * save, a folder is hot-plugged, and the snapshot is used once. */
static void
test_restore (void)
{
  g_autofree char *folder = home_path ("shared");
  g_autofree char *file = home_path ("shared/hello.txt");
  g_autofree char *id = NULL, *out = NULL, *script = NULL, *boot = NULL, *ca = NULL;
  g_autoptr(GError) error = NULL;
  gint64 before, after, guest;

  /* Long enough that a clock that stood still while saved shows. */
  g_usleep (3 * G_USEC_PER_SEC);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_assert_true (g_file_set_contents (file, "through virtiofs\n", -1, NULL));
  id = open_with (folder);
  g_assert_true (cloche_vm_get_woke_warm (vm ()));
  g_assert_null (cloche_vm_get_warm_failure (vm ()));
  assert_snapshot_gone ();

  boot = boot_id (id);
  g_assert_cmpstr (boot, ==, saved_boot_id);
  /* The restored guest trusts the CA the saved boot was given, file and
   * all: it is not written again, and commands are still pointed at it. */
  ca = ca_inode (id);
  g_test_message ("egress CA file in the guest: inode and variable %s before, %s after",
                  saved_ca_inode, ca);
  g_assert_cmpstr (ca, ==, saved_ca_inode);
  script = g_strdup_printf ("cat /sessions/%s/mnt/shared/hello.txt", id);
  g_assert_true (session_sh (id, script, &out, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, "through virtiofs\n");

  g_clear_pointer (&out, g_free);
  before = g_get_real_time () / G_USEC_PER_SEC;
  g_assert_true (session_sh (id, "date +%s", &out, &error));
  after = g_get_real_time () / G_USEC_PER_SEC;
  guest = g_ascii_strtoll (out, NULL, 10);
  g_test_message ("host %" G_GINT64_FORMAT "…%" G_GINT64_FORMAT ", guest %" G_GINT64_FORMAT,
                  before, after, guest);
  g_assert_cmpint (guest, >=, before - 1);
  g_assert_cmpint (guest, <=, after + 1);

  /* The saved boot gave out one user (10000): this one comes after it. */
  g_assert_cmpuint (guest_uid (id), >, CLOCHE_VM_FIRST_SESSION_UID);
  /* Its server went with the saved boot's port: this boot starts its own. */
  assert_exec_channel (id);
  close_and_idle (id);
  assert_snapshot_saved ();
}

/* A CA made again while the VM was saved is given to the restored guest
 * before its first command: the saved boot's trust is not inherited. */
static void
test_new_ca (void)
{
  g_autofree char *ca_folder = home_path ("egress-ca-2");
  g_autoptr(ClocheEgressCa) ca = cloche_egress_ca_new (ca_folder);
  g_autofree char *id = NULL, *inode = NULL, *out = NULL;
  g_autoptr(GError) error = NULL;

  cloche_sandbox_set_secrets (sandbox, NULL, ca);
  id = open_with (NULL);
  g_assert_true (cloche_vm_get_woke_warm (vm ()));
  inode = ca_inode (id);
  g_assert_cmpstr (inode, !=, saved_ca_inode);
  g_assert_true (session_sh (id, "cat " CLOCHE_EGRESS_CA_GUEST_FILE, &out, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, cloche_egress_ca_get_certificate_pem (ca));
  close_and_idle (id);
  assert_snapshot_saved ();
}

/* Any boot that cannot use the snapshot: cold, the reason kept, the
 * snapshot deleted. */
static void
assert_cold_because (const char *words)
{
  g_autofree char *id = open_with (NULL);
  g_autofree char *boot = NULL;

  g_assert_false (cloche_vm_get_woke_warm (vm ()));
  boot = boot_id (id);
  g_assert_cmpstr (boot, !=, saved_boot_id);
  g_test_message ("cold because: %s", cloche_vm_get_warm_failure (vm ()));
  g_assert_nonnull (strstr (cloche_vm_get_warm_failure (vm ()), words));
  assert_snapshot_gone ();
  close_and_idle (id);
  assert_snapshot_saved ();
  g_free (saved_boot_id);
  saved_boot_id = g_steal_pointer (&boot);
}

/* Other VM options (here the memory) make another machine. */
static void
test_mismatch (void)
{
  cloche_vm_set_memory_mib (vm (), 768);
  assert_cold_because ("another bundle, another QEMU or other VM options");
}

static void
append_byte (const char *name)
{
  g_autofree char *path = warm_path (name);
  int fd = open (path, O_WRONLY | O_APPEND);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, "x", 1), ==, 1);
  close (fd);
}

static void
test_state_changed (void)
{
  append_byte ("state");
  assert_cold_because ("changed since it was saved");
}

static void
test_ram_cut (void)
{
  g_autofree char *path = warm_path ("ram");
  struct stat st;

  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (truncate (path, st.st_size / 2), ==, 0);
  assert_cold_because ("changed since it was saved");
}

static void
test_record_garbage (void)
{
  g_autofree char *path = warm_path ("snapshot.ini");

  g_assert_true (g_file_set_contents (path, "\x01\x02 not a record", -1, NULL));
  assert_cold_because ("cannot be used");
}

/* A snapshot that passes every check of Cloche's and that QEMU still
 * cannot load: forged by the test (a state of garbage, with the record
 * rewritten to its stamp and sha256, as only someone who can write the
 * cache folder could), so that QEMU's own refusal is what is seen. */
static void
test_qemu_refuses (void)
{
  g_autofree char *state = warm_path ("state");
  g_autofree char *meta_path = warm_path ("snapshot.ini");
  g_autoptr(GKeyFile) meta = g_key_file_new ();
  g_autofree char *contents = NULL, *stamp = NULL, *sha = NULL;
  gsize length = 0;
  struct stat st;
  const char garbage[] = "QEVM but not a migration stream of any machine";

  g_assert_true (g_key_file_load_from_file (meta, meta_path, G_KEY_FILE_NONE, NULL));
  g_assert_true (g_file_set_contents (state, garbage, sizeof garbage, NULL));
  g_assert_cmpint (stat (state, &st), ==, 0);
  stamp = g_strdup_printf ("%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT
                           " %ld.%09ld %ld.%09ld", (guint64) st.st_dev, (guint64) st.st_ino,
                           (gint64) st.st_size, (long) st.st_mtim.tv_sec,
                           (long) st.st_mtim.tv_nsec, (long) st.st_ctim.tv_sec,
                           (long) st.st_ctim.tv_nsec);
  sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) garbage, sizeof garbage);
  g_key_file_set_string (meta, "snapshot", "state", stamp);
  g_key_file_set_string (meta, "snapshot", "state-sha256", sha);
  contents = g_key_file_to_data (meta, &length, NULL);
  g_assert_true (g_file_set_contents (meta_path, contents, length, NULL));
  assert_cold_because ("QEMU could not restore the saved VM");
}

static void
copy_folder (const char *from,
             const char *to)
{
  const char *argv[] = { "cp", "-r", from, to, NULL };
  g_autoptr(GError) error = NULL;
  int status = -1;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* The snapshot's size is known beside the bundle's; removing the bundle
 * (a copy of it, here) deletes the snapshot of its VM and counts it in
 * the bytes it frees. */
static void
test_remove_bundle (void)
{
  g_autofree char *bundle = cloche_test_bundle_dir ();
  g_autofree char *copy = home_path ("bundle-copy");
  g_autofree char *dir = cloche_vm_snapshot_dir ();
  g_autoptr(ClocheBundleManager) manager = NULL;
  g_autoptr(ClocheBundleInfo) info = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint64 snapshot = cloche_vm_snapshot_size (dir), bundle_size, freed = 0;
  Wait wait = { 0 };

  assert_snapshot_saved ();
  g_assert_cmpuint (cloche_vm_get_snapshot_size (vm ()), ==, snapshot);
  copy_folder (bundle, copy);
  manager = cloche_bundle_manager_new (copy);
  cloche_bundle_manager_set_sandbox (manager, sandbox);
  g_assert_cmpuint (cloche_bundle_manager_get_snapshot_size (manager), ==, snapshot);
  cloche_bundle_manager_info_async (manager, NULL, on_done, &wait);
  result = wait_result (&wait);
  info = cloche_bundle_manager_info_finish (manager, result, &error);
  g_assert_no_error (error);
  bundle_size = cloche_bundle_manager_get_size (manager);
  g_assert_cmpuint (bundle_size, >, 0);

  g_clear_object (&result);
  wait = (Wait) { 0 };
  cloche_bundle_manager_remove_async (manager, FALSE, NULL, on_done, &wait);
  result = wait_result (&wait);
  g_assert_true (cloche_bundle_manager_remove_finish (manager, result, &freed, &error));
  g_assert_no_error (error);
  g_test_message ("freed %" G_GUINT64_FORMAT " = bundle %" G_GUINT64_FORMAT " + snapshot %"
                  G_GUINT64_FORMAT, freed, bundle_size, snapshot);
  g_assert_cmpuint (freed, ==, bundle_size + snapshot);
  assert_snapshot_gone ();
  g_assert_cmpuint (cloche_vm_get_snapshot_size (vm ()), ==, 0);
  g_assert_cmpuint (cloche_bundle_manager_get_snapshot_size (manager), ==, 0);

  /* The tests after this one boot the bundle again. */
  cloche_bundle_manager_set_sandbox (manager, NULL);
  cloche_vm_set_bundle_path (vm (), bundle);
}

/* Off: an idle stop saves nothing, and what was kept goes. */
static void
test_off (void)
{
  g_autofree char *id = NULL;

  cloche_vm_set_warm_wake (vm (), FALSE);
  assert_snapshot_gone ();
  id = open_with (NULL);
  g_assert_false (cloche_vm_get_woke_warm (vm ()));
  close_and_idle (id);
  assert_snapshot_gone ();
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  sandbox_home_set_up ();
  g_unsetenv ("XDG_CACHE_HOME");

  g_test_add_func ("/vm-warm/start", sandbox_start);
  g_test_add_func ("/vm-warm/save", test_save);
  g_test_add_func ("/vm-warm/restore", test_restore);
  g_test_add_func ("/vm-warm/new-ca", test_new_ca);
  g_test_add_func ("/vm-warm/mismatch", test_mismatch);
  g_test_add_func ("/vm-warm/state-changed", test_state_changed);
  g_test_add_func ("/vm-warm/ram-cut", test_ram_cut);
  g_test_add_func ("/vm-warm/record-garbage", test_record_garbage);
  g_test_add_func ("/vm-warm/qemu-refuses", test_qemu_refuses);
  g_test_add_func ("/vm-warm/remove-bundle", test_remove_bundle);
  g_test_add_func ("/vm-warm/off", test_off);
  g_test_add_func ("/vm-warm/stop", sandbox_stop);
  status = g_test_run ();

  sandbox_home_tear_down (status);
  return status;
}
