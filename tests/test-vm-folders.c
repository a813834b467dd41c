/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Host folders hot-plugged into a running ClocheVm over virtiofs, on the
 * real bundle: read-write and read-only (enforced on the host, even after a
 * guest remounts read-write), one beside the other, unmounted, and no
 * virtiofsd left once the VM stops. The cases run in order on one boot.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <sys/stat.h>

#include "cloche-folder-share.h"
#include "cloche-test-daemon.h"
#include "cloche-vm.h"

#define READ_MIB 32

static ClocheVm *vm;
static char *work_dir;    /* mounted rw at /sessions/a */
static char *docs_dir;    /* mounted ro at /sessions/a/mnt/docs */

typedef struct
{
  gboolean      done;
  GAsyncResult *result;
} Wait;

static void
on_done (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = g_object_ref (result);
  wait->done = TRUE;
}

static GAsyncResult *
wait_result (Wait *wait)
{
  g_assert_true (cloche_test_wait (&wait->done, 300));
  return wait->result;
}

static gint64
mount_folder (const char  *host,
              gboolean     readonly,
              const char  *guest,
              GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  gint64 start = g_get_monotonic_time ();
  g_autoptr(ClochePinnedFolder) pinned = cloche_pinned_folder_new (host, error);
  Wait wait = { 0 };
  gboolean ok;

  if (pinned == NULL)
    return -1;
  cloche_vm_mount_folder_async (vm, pinned, readonly, guest, 0, NULL, on_done, &wait);
  result = wait_result (&wait);
  ok = cloche_vm_mount_folder_finish (vm, result, error);
  return ok ? g_get_monotonic_time () - start : -1;
}

static gint64
unmount_folder (const char  *guest,
                GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  gint64 start = g_get_monotonic_time ();
  Wait wait = { 0 };
  gboolean ok;

  cloche_vm_unmount_folder_async (vm, guest, NULL, on_done, &wait);
  result = wait_result (&wait);
  ok = cloche_vm_unmount_folder_finish (vm, result, error);
  return ok ? g_get_monotonic_time () - start : -1;
}

/* Runs a shell script in the guest; its exit code, stdout in @out. */
static int
guest_sh (const char  *script,
          char       **out)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) out_bytes = NULL;
  g_autoptr(GBytes) err_bytes = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  Wait wait = { 0 };
  int status = -1;

  cloche_guest_agent_exec_async (cloche_vm_get_guest_agent (vm), argv, NULL, 120, NULL, CLOCHE_EXEC_NONE, NULL,
                                 on_done, &wait);
  result = wait_result (&wait);
  cloche_guest_agent_exec_finish (cloche_vm_get_guest_agent (vm), result, &status,
                                  &out_bytes, &err_bytes, &error);
  g_assert_no_error (error);
  if (out != NULL)
    *out = out_bytes != NULL ? g_strndup (g_bytes_get_data (out_bytes, NULL),
                                          g_bytes_get_size (out_bytes))
                             : g_strdup ("");
  if (status != 0 && err_bytes != NULL && g_bytes_get_size (err_bytes) > 0)
    g_test_message ("guest: %.*s", (int) g_bytes_get_size (err_bytes),
                    (const char *) g_bytes_get_data (err_bytes, NULL));
  return status;
}

/* Whether process @name's working folder is the folder @want: virtiofsd
 * gets its folder as its working folder, never by path; the sandboxed
 * child it forks works in it too, as the root it serves. */
static gboolean
works_in (const char        *name,
          const struct stat *want)
{
  g_autofree char *cwd = g_build_filename ("/proc", name, "cwd", NULL);
  struct stat st;

  return stat (cwd, &st) == 0 && st.st_dev == want->st_dev && st.st_ino == want->st_ino;
}

/* virtiofsd processes serving @folder (both halves count: the one we
 * spawn and the sandboxed child it forks). */
static guint
count_virtiofsd (const char *folder)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;
  struct stat want;
  guint n = 0;

  g_assert_cmpint (stat (folder, &want), ==, 0);
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc", name, "cmdline", NULL);
      g_autofree char *cmdline = NULL;
      gsize length = 0;

      if (!g_ascii_isdigit (name[0]) || !g_file_get_contents (path, &cmdline, &length, NULL))
        continue;
      n += length > 0 && g_str_has_suffix (cmdline, "virtiofsd") && works_in (name, &want);
    }
  return n;
}

/* virtiofsd's sandboxed child dies a moment after its parent. */
static gboolean
virtiofsd_gone (const char *folder)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (count_virtiofsd (folder) > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  return count_virtiofsd (folder) == 0;
}

static char *
host_file (const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return contents;
}

static void
write_host_file (const char *dir,
                 const char *name,
                 const char *contents)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

/* A share on its own, before any VM: ready, then stopped with nothing left. */
static void
test_share_stop (void)
{
  g_autofree char *socket = g_build_filename (g_get_user_runtime_dir (), "share.sock", NULL);
  g_autoptr(ClochePinnedFolder) pinned = cloche_pinned_folder_new (docs_dir, NULL);
  g_autoptr(ClocheFolderShare) share = cloche_folder_share_new (pinned, TRUE, socket);
  g_autoptr(GAsyncResult) started = NULL;
  g_autoptr(GAsyncResult) stopped = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  cloche_folder_share_start_async (share, NULL, on_done, &wait);
  started = wait_result (&wait);
  cloche_folder_share_start_finish (share, started, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (socket, G_FILE_TEST_EXISTS));
  g_assert_cmpint (cloche_folder_share_get_pid (share), >, 0);
  g_assert_cmpuint (count_virtiofsd (docs_dir), ==, 1);

  wait.done = FALSE;
  cloche_folder_share_stop_async (share, NULL, on_done, &wait);
  stopped = wait_result (&wait);
  g_assert_true (cloche_folder_share_stop_finish (share, stopped, NULL));
  g_assert_true (virtiofsd_gone (docs_dir));
  g_assert_false (g_file_test (socket, G_FILE_TEST_EXISTS));
}

/* An unshare(1) that fails the way it does on a system without user
 * namespaces, or when the bind mount is refused. */
static GError *
start_with_fake_unshare (const char *stderr_line)
{
  g_autofree char *bin = g_build_filename (g_get_user_runtime_dir (), "fake-bin", NULL);
  g_autofree char *unshare = g_build_filename (bin, "unshare", NULL);
  g_autofree char *script = g_strdup_printf ("#!/bin/sh\necho '%s' >&2\nexit 1\n", stderr_line);
  g_autofree char *path = g_strdup (g_getenv ("PATH"));
  g_autofree char *socket = g_build_filename (g_get_user_runtime_dir (), "fake.sock", NULL);
  g_autoptr(ClochePinnedFolder) pinned = cloche_pinned_folder_new (docs_dir, NULL);
  g_autoptr(ClocheFolderShare) share = cloche_folder_share_new (pinned, TRUE, socket);
  g_autoptr(GAsyncResult) result = NULL;
  GError *error = NULL;
  Wait wait = { 0 };

  g_mkdir_with_parents (bin, 0700);
  g_file_set_contents (unshare, script, -1, NULL);
  g_chmod (unshare, 0755);
  g_setenv ("PATH", bin, TRUE);
  cloche_folder_share_start_async (share, NULL, on_done, &wait);
  g_setenv ("PATH", path, TRUE);
  result = wait_result (&wait);
  g_assert_false (cloche_folder_share_start_finish (share, result, &error));
  return error;
}

static void
test_share_errors (void)
{
  g_autoptr(GError) error = NULL;

  error = start_with_fake_unshare ("unshare: unshare failed: Operation not permitted");
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_FAILED);
  g_assert_nonnull (strstr (error->message, docs_dir));
  g_assert_nonnull (strstr (error->message, "user namespace"));
  g_clear_error (&error);

  error = start_with_fake_unshare ("mount: /x: permission denied.");
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_FAILED);
  g_assert_nonnull (strstr (error->message, docs_dir));
  g_assert_nonnull (strstr (error->message, "read-only"));
  g_assert_nonnull (strstr (error->message, "nosuid, nodev, noexec"));
}

static void
test_start (void)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bundle = cloche_test_bundle_dir ();
  Wait wait = { 0 };

  vm = cloche_vm_new (bundle);
  cloche_vm_start_async (vm, NULL, on_done, &wait);
  result = wait_result (&wait);
  cloche_vm_start_finish (vm, result, &error);
  g_assert_no_error (error);
}

/* The session's work folder: read-write, the guest's writes land on the host. */
static void
test_mount_rw (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *written = NULL;
  g_autofree char *out = NULL;
  gint64 took;

  write_host_file (work_dir, "from-host", "host says hi\n");
  took = mount_folder (work_dir, FALSE, "/sessions/a", &error);
  g_assert_no_error (error);
  g_test_message ("mount (rw) took %.3f s", took / 1e6);

  g_assert_cmpint (guest_sh ("cat /sessions/a/from-host", &out), ==, 0);
  g_assert_cmpstr (out, ==, "host says hi\n");
  g_assert_cmpint (guest_sh ("echo guest says hi > /sessions/a/from-guest", NULL), ==, 0);
  written = host_file (work_dir, "from-guest");
  g_assert_cmpstr (written, ==, "guest says hi\n");
  g_assert_cmpuint (count_virtiofsd (work_dir), >, 0);
}

/* Every device node and set-id file under @dir, one a line. */
static void
find_forbidden (const char *dir,
                GString    *found)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      struct stat st;

      g_assert_cmpint (lstat (path, &st), ==, 0);
      if (S_ISBLK (st.st_mode) || S_ISCHR (st.st_mode) || (st.st_mode & (S_ISUID | S_ISGID)))
        g_string_append_printf (found, "%s (mode %o)\n", path, st.st_mode);
      if (S_ISDIR (st.st_mode))
        find_forbidden (path, found);
    }
}

/* The guest is root in its VM and the daemon may be root on the host (it
 * is, in these tests): still no device node and no set-id bit may reach
 * the host folder, whichever way the guest tries. */
static void
test_no_devices_or_setid (void)
{
  static const char * const attempts[] = {
    "mknod /sessions/a/blk b 7 0",
    "mknod /sessions/a/chr c 1 3",
    "touch /sessions/a/f && chmod u+s /sessions/a/f",
    "chmod g+s /sessions/a/f",
    "chmod 6755 /sessions/a/f",
    "mkdir /sessions/a/d && chmod g+s /sessions/a/d",
    "mkdir -m 2755 /sessions/a/d2",
    /* A set-id program made in the guest's own tmpfs, then copied over
     * with its mode, and moved. */
    "cp /bin/busybox /tmp/suid && chmod 4755 /tmp/suid && cp -p /tmp/suid /sessions/a/copied",
    "mv /tmp/suid /sessions/a/moved",
    NULL
  };
  g_autofree char *host_suid = g_build_filename (work_dir, "host-suid", NULL);
  g_autoptr(GString) found = g_string_new (NULL);
  struct stat st;

  /* A set-id file already on the host loses the bit when the guest writes
   * it (virtiofsd has no CAP_FSETID to keep it). */
  write_host_file (work_dir, "host-suid", "#!/bin/sh\n");
  g_assert_cmpint (chmod (host_suid, 04755), ==, 0);
  for (guint i = 0; attempts[i] != NULL; i++)
    g_test_message ("guest: %s → %d", attempts[i], guest_sh (attempts[i], NULL));
  /* Allowed: a FIFO, a plain file's plain mode, and running a program from
   * the folder (the host side is noexec; the guest executes what it reads). */
  g_assert_cmpint (guest_sh ("printf '#!/bin/sh\\necho ran\\n' > /sessions/a/run.sh && "
                             "chmod 0755 /sessions/a/run.sh && /sessions/a/run.sh | grep -qx ran",
                             NULL), ==, 0);
  g_assert_cmpint (guest_sh ("mknod /sessions/a/fifo p && chmod 0700 /sessions/a/f", NULL), ==, 0);
  g_assert_cmpint (guest_sh ("echo 'echo changed' >> /sessions/a/host-suid", NULL), ==, 0);

  find_forbidden (work_dir, found);
  g_assert_cmpstr (found->str, ==, "");
  g_assert_cmpint (stat (host_suid, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0755);
}

/* A user folder beside it, read-only: even a guest that remounts it
 * read-write changes nothing on the host. */
static void
test_mount_ro (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *still = NULL;
  g_autofree char *mounts = NULL;
  g_autofree char *made = g_build_filename (docs_dir, "d", NULL);
  gint64 took;

  write_host_file (docs_dir, "notes.txt", "read me\n");
  took = mount_folder (docs_dir, TRUE, "/sessions/a/mnt/docs", &error);
  g_assert_no_error (error);
  g_test_message ("mount (ro, beside a mounted folder) took %.3f s", took / 1e6);

  g_assert_cmpint (guest_sh ("cat /sessions/a/mnt/docs/notes.txt", &out), ==, 0);
  g_assert_cmpstr (out, ==, "read me\n");
  g_assert_cmpint (guest_sh ("echo x > /sessions/a/mnt/docs/new", NULL), !=, 0);
  g_assert_cmpint (guest_sh ("echo x >> /sessions/a/mnt/docs/notes.txt", NULL), !=, 0);

  g_assert_cmpint (guest_sh ("mount -o remount,rw /sessions/a/mnt/docs", NULL), ==, 0);
  g_assert_cmpint (guest_sh ("grep ' /sessions/a/mnt/docs ' /proc/mounts", &mounts), ==, 0);
  g_assert_nonnull (strstr (mounts, " rw"));
  g_assert_cmpint (guest_sh ("echo x > /sessions/a/mnt/docs/new", NULL), !=, 0);
  g_assert_cmpint (guest_sh ("echo x >> /sessions/a/mnt/docs/notes.txt", NULL), !=, 0);
  g_assert_cmpint (guest_sh ("rm -f /sessions/a/mnt/docs/notes.txt", NULL), !=, 0);
  g_assert_cmpint (guest_sh ("mkdir /sessions/a/mnt/docs/d", NULL), !=, 0);

  still = host_file (docs_dir, "notes.txt");
  g_assert_cmpstr (still, ==, "read me\n");
  g_assert_null (host_file (docs_dir, "new"));
  g_assert_false (g_file_test (made, G_FILE_TEST_EXISTS));

  /* The work folder is still there and still writable. */
  g_assert_cmpint (guest_sh ("echo again > /sessions/a/again", NULL), ==, 0);
  g_free (out);
  out = host_file (work_dir, "again");
  g_assert_cmpstr (out, ==, "again\n");
}

static void
test_read_speed (void)
{
  g_autofree char *path = g_build_filename (docs_dir, "big", NULL);
  g_autofree char *data = g_malloc (READ_MIB * 1024 * 1024);
  g_autoptr(GError) error = NULL;
  g_autofree char *guest_time = NULL;
  gint64 start;

  for (gsize i = 0; i < READ_MIB * 1024 * 1024; i++)
    data[i] = (char) g_random_int ();
  g_file_set_contents (path, data, READ_MIB * 1024 * 1024, &error);
  g_assert_no_error (error);

  /* busybox's time(1) says what the guest saw, without guest-exec's cost. */
  start = g_get_monotonic_time ();
  g_assert_cmpint (guest_sh ("time cat /sessions/a/mnt/docs/big 2>&1 >/dev/null | "
                             "grep real", &guest_time), ==, 0);
  g_test_message ("reading %d MiB through virtiofs took %.3f s (guest-exec included); "
                  "in the guest: %s", READ_MIB, (g_get_monotonic_time () - start) / 1e6,
                  g_strstrip (guest_time));
  g_unlink (path);
}

static void
test_unmount (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *mounts = NULL;
  gint64 took;

  took = unmount_folder ("/sessions/a/mnt/docs", &error);
  g_assert_no_error (error);
  g_test_message ("unmount took %.3f s", took / 1e6);

  g_assert_cmpint (guest_sh ("cat /proc/mounts", &mounts), ==, 0);
  g_assert_null (strstr (mounts, "/sessions/a/mnt/docs"));
  g_assert_nonnull (strstr (mounts, "/sessions/a "));
  g_assert_cmpint (guest_sh ("test -e /sessions/a/mnt/docs/notes.txt", NULL), !=, 0);
  g_assert_true (virtiofsd_gone (docs_dir));

  /* Unmounted means gone: a second unmount says so. */
  g_assert_cmpint (unmount_folder ("/sessions/a/mnt/docs", &error), <, 0);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_NOT_MOUNTED);
  g_clear_error (&error);

  /* Its slot is free again: the same folder mounts elsewhere. */
  took = mount_folder (docs_dir, TRUE, "/sessions/b", &error);
  g_assert_no_error (error);
  g_test_message ("mount again (a root port used before) took %.3f s", took / 1e6);
  g_assert_cmpint (guest_sh ("cat /sessions/b/notes.txt", NULL), ==, 0);
  unmount_folder ("/sessions/b/", &error);
  g_assert_no_error (error);
  g_assert_true (virtiofsd_gone (docs_dir));
}

static void
test_errors (void)
{
  g_autofree char *missing = g_build_filename (work_dir, "no-such-folder", NULL);
  g_autoptr(GError) error = NULL;

  /* Refused already when it is pinned: there is nothing to pin. */
  g_assert_cmpint (mount_folder (missing, TRUE, "/sessions/c", &error), <, 0);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED);
  g_assert_nonnull (strstr (error->message, missing));
  g_assert_nonnull (strstr (error->message, "does not exist"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  g_assert_cmpint (mount_folder (docs_dir, TRUE, "/sessions/a", &error), <, 0);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_FAILED);
  g_assert_nonnull (strstr (error->message, "already mounted"));
  g_clear_error (&error);

  /* Nothing was left half-done: the guest has no trace of /sessions/c. */
  g_assert_cmpint (guest_sh ("grep -q /sessions/c /proc/mounts", NULL), !=, 0);
}

/* A stop ends every share the VM had, and forgets them. */
static void
test_stop (void)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  g_assert_cmpuint (count_virtiofsd (work_dir), >, 0);
  cloche_vm_stop_async (vm, "test", NULL, on_done, &wait);
  result = wait_result (&wait);
  cloche_vm_stop_finish (vm, result, &error);
  g_assert_no_error (error);
  g_clear_object (&result);   /* it holds the VM */
  g_assert_true (virtiofsd_gone (work_dir));

  g_assert_cmpint (unmount_folder ("/sessions/a", &error), <, 0);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_VM_NOT_RUNNING);
  g_clear_error (&error);
  g_assert_finalize_object (g_steal_pointer (&vm));
}

static void
remove_tree (const char *dir)
{
  const char *argv[] = { "rm", "-rf", dir, NULL };
  g_autoptr(GError) error = NULL;

  g_spawn_sync (NULL, (char **) argv, NULL,
                G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
}

static char *
make_temp_dir (const char *template)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp (template, &error);

  g_assert_no_error (error);
  return dir;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *runtime = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  /* A runtime folder of our own for the VM's sockets, short enough for a
   * unix socket path. */
  runtime = make_temp_dir ("cloche-run-XXXXXX");
  g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
  work_dir = make_temp_dir ("cloche-work-XXXXXX");
  docs_dir = make_temp_dir ("cloche-docs-XXXXXX");

  g_test_add_func ("/vm-folders/share-stop", test_share_stop);
  g_test_add_func ("/vm-folders/share-errors", test_share_errors);
  g_test_add_func ("/vm-folders/start", test_start);
  g_test_add_func ("/vm-folders/mount-rw", test_mount_rw);
  g_test_add_func ("/vm-folders/no-devices-or-setid", test_no_devices_or_setid);
  g_test_add_func ("/vm-folders/mount-ro", test_mount_ro);
  g_test_add_func ("/vm-folders/read-speed", test_read_speed);
  g_test_add_func ("/vm-folders/unmount", test_unmount);
  g_test_add_func ("/vm-folders/errors", test_errors);
  g_test_add_func ("/vm-folders/stop", test_stop);
  status = g_test_run ();

  remove_tree (work_dir);
  remove_tree (docs_dir);
  remove_tree (runtime);
  g_free (work_dir);
  g_free (docs_dir);
  return status;
}
