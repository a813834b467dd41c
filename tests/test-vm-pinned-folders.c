/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A session's folders are pinned by what was checked when it opened, not by
 * a path read again at the next boot. The guest is the attacker here: with a
 * read-write folder it replaces a folder on a path that another of its
 * mounts goes through (by a symbolic link in the middle of the path, at its
 * last component, or by another folder), powers the VM off, and the next
 * command boots it again and mounts the session's folders again. Each time
 * the changed folder must be refused with FolderChanged, the host's own
 * files must stay out of reach, and the session stays refused (broken)
 * rather than half mounted. The work folder is pinned too: a host-side swap
 * of it is refused the same way.
 *
 * A folder whose virtiofsd dies while the VM runs is lost: the session's
 * commands would hang on it, so they are refused at once with FolderLost
 * (naming the folder and the fix) until the next boot mounts the folders
 * afresh. Every guest call has a deadline (ExecTimeout, the process killed),
 * and output qemu-ga cut at 16 MiB is an error, not a short result.
 *
 * This drives a ClocheSandbox directly (no daemon, no bus), on the real
 * bundle and QEMU; each pinning case costs one reboot.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-doctor.h"
#include "cloche-sandbox.h"
#include "cloche-session-store.h"
#include "cloche-test-daemon.h"

static ClocheSandbox *sandbox;
static char *home;
static char *state_dir;

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

/* Runs a shell line in the session with a deadline (0: the default);
 * FALSE with @error if it could not run. */
static gboolean
session_sh_within (const char  *id,
                   const char  *script,
                   guint        timeout_s,
                   char       **out,
                   GError     **error)
{
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) out_bytes = NULL, err_bytes = NULL;
  Wait wait = { 0 };
  int status = -1;

  cloche_sandbox_exec_async (sandbox, id, argv, NULL, NULL, timeout_s, NULL, on_done, &wait);
  result = wait_result (&wait);
  if (!cloche_sandbox_exec_finish (sandbox, result, &status, &out_bytes, &err_bytes, error))
    return FALSE;
  if (status != 0)
    g_test_message ("guest: %s → %d: %.*s", script, status, (int) g_bytes_get_size (err_bytes),
                    (const char *) g_bytes_get_data (err_bytes, NULL));
  if (out != NULL)
    *out = g_strndup (g_bytes_get_data (out_bytes, NULL), g_bytes_get_size (out_bytes));
  return status == 0;
}

static gboolean
session_sh (const char  *id,
            const char  *script,
            char       **out,
            GError     **error)
{
  return session_sh_within (id, script, 0, out, error);
}

static void
assert_sh (const char *id,
           const char *script)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (session_sh (id, script, NULL, &error));
  g_assert_no_error (error);
}

static char *
open_session (const char * const *paths,
              const gboolean     *readonly)
{
  g_autoptr(GPtrArray) mounts = g_ptr_array_new_with_free_func (
    (GDestroyNotify) cloche_session_mount_free);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };
  char *id;

  for (guint i = 0; paths[i] != NULL; i++)
    g_ptr_array_add (mounts, cloche_session_mount_new (paths[i], NULL, readonly[i]));
  cloche_sandbox_open_session_async (sandbox, "pinned", "test", mounts, NULL, on_done, &wait);
  result = wait_result (&wait);
  id = cloche_sandbox_open_session_finish (sandbox, result, &error);
  g_assert_no_error (error);
  return id;
}

static gboolean
vm_is_down (void)
{
  ClocheVmState state = cloche_vm_get_state (cloche_sandbox_get_vm (sandbox));

  return state == CLOCHE_VM_STATE_STOPPED || state == CLOCHE_VM_STATE_CRASHED;
}

/* The guest powers the VM off, as it may; the next command boots it again. */
static void
guest_powers_off (const char *id)
{
  assert_sh (id, "(sleep 1; poweroff -f) </dev/null >/dev/null 2>&1 &");
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

static char *
home_path (const char *relative)
{
  return g_build_filename (home, relative, NULL);
}

static void
make_dirs (const char * const *relatives)
{
  for (guint i = 0; relatives[i] != NULL; i++)
    {
      g_autofree char *path = home_path (relatives[i]);

      g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
    }
}

static void
test_start (void)
{
  g_autoptr(ClocheVm) vm = cloche_vm_new (g_getenv ("CLOCHE_TEST_BUNDLE"));
  g_autofree char *sessions = g_build_filename (state_dir, "sessions", NULL);
  g_autoptr(ClocheSessionStore) store = cloche_session_store_new (sessions);

  sandbox = cloche_sandbox_new (vm, store);
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
  guest_powers_off (id);

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
  guest_powers_off (id);
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
  guest_powers_off (id);
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
  guest_powers_off (id);
  g_assert_cmpint (g_rename (work, moved), ==, 0);
  g_assert_cmpint (symlink ("/", work), ==, 0);
  assert_refused (id, "ls etc/passwd", "work");
  close_session (id);
}

/* The virtiofsd processes serving @folder (both halves: it works in the
 * folder it serves), killed as a crash or the OOM killer would. */
static guint
kill_virtiofsd (const char *folder)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;
  struct stat want;
  guint killed = 0;

  g_assert_cmpint (stat (folder, &want), ==, 0);
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *cwd = g_build_filename ("/proc", name, "cwd", NULL);
      g_autofree char *exe = g_build_filename ("/proc", name, "exe", NULL);
      g_autofree char *target = g_file_read_link (exe, NULL);
      struct stat st;

      if (target != NULL && g_str_has_suffix (target, "virtiofsd") && stat (cwd, &st) == 0
          && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
        killed += kill (atoi (name), SIGKILL) == 0;
    }
  return killed;
}

/* The error a quick command gets, once the sandbox knows; NULL while it runs. */
static GError *
refusal_of_quick_command (const char *id)
{
  GError *error = NULL;

  session_sh_within (id, "true", 30, NULL, &error);
  return error;
}

/* The doctor's mounts check, as the daemon would run it. */
static ClocheDoctorResult *
doctor_mounts (void)
{
  g_autoptr(ClocheDoctor) doctor = cloche_doctor_new (sandbox);
  const char * const only[] = { "mounts", NULL };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) results = NULL;
  Wait wait = { 0 };

  cloche_doctor_run_async (doctor, only, NULL, on_done, &wait);
  result = wait_result (&wait);
  results = cloche_doctor_run_finish (doctor, result, NULL);
  g_assert_nonnull (results);
  g_assert_cmpuint (results->len, ==, 1);
  return g_ptr_array_steal_index (results, 0);
}

/* Its virtiofsd killed, a folder is lost: the session's commands are refused
 * at once, naming the folder and the fix, instead of hanging on it; after
 * the VM boots again the folders are mounted afresh and it works again. */
static void
test_lost_folder (void)
{
  g_autofree char *docs = home_path ("docs");
  g_autofree char *note = home_path ("docs/note.txt");
  g_autofree char *id = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  ClocheVm *vm = cloche_sandbox_get_vm (sandbox);
  Wait wait = { 0 };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(ClocheDoctorResult) finding = NULL;

  make_dirs ((const char *[]) { "docs", NULL });
  g_file_set_contents (note, "still here\n", -1, NULL);
  id = open_session ((const char *[]) { docs, NULL }, (const gboolean[]) { TRUE });
  assert_sh (id, "cat mnt/docs/note.txt");
  g_assert_cmpuint (kill_virtiofsd (docs), >, 0);

  while (error == NULL && g_get_monotonic_time () < deadline)
    error = refusal_of_quick_command (id);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_LOST);
  g_assert_nonnull (strstr (error->message, docs));
  g_assert_nonnull (strstr (error->message, "killed by signal 9"));
  g_assert_nonnull (strstr (error->message, "clochectl stop"));
  g_clear_error (&error);
  /* What would have hung fails at once too. */
  g_assert_false (session_sh (id, "cat mnt/docs/note.txt", NULL, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_LOST);
  g_clear_error (&error);
  /* The doctor says which folder, and why. */
  finding = doctor_mounts ();
  g_assert_cmpint (finding->status, ==, CLOCHE_DOCTOR_FAILURE);
  g_assert_cmpint (finding->code, ==, CLOCHE_ERROR_FOLDER_LOST);
  g_assert_nonnull (strstr (finding->finding, docs));

  cloche_vm_stop_async (vm, "test", NULL, on_done, &wait);
  result = wait_result (&wait);
  g_assert_true (cloche_vm_stop_finish (vm, result, NULL));
  g_assert_true (session_sh (id, "cat mnt/docs/note.txt", &out, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, "still here\n");
}

/* A command past its deadline fails with ExecTimeout, and is killed. */
static void
test_exec_deadline (void)
{
  g_autofree char *id = open_session ((const char *[]) { NULL }, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  g_assert_false (session_sh_within (id, "sleep 1234", 3, NULL, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_EXEC_TIMEOUT);
  g_clear_error (&error);
  /* The kill is on its way: it lands within a few polls. */
  for (guint i = 0; i < 50; i++)
    {
      g_clear_pointer (&out, g_free);
      g_assert_true (session_sh (id, "ps | grep -c '[s]leep 1234' || true", &out, &error));
      if (g_str_equal (out, "0\n"))
        break;
      g_usleep (100000);
    }
  g_assert_cmpstr (out, ==, "0\n");

  g_assert_false (session_sh_within (id, "true", CLOCHE_SANDBOX_EXEC_MAX_TIMEOUT_S + 1, NULL,
                                     &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
}

/* Over 16 MiB of output: an error that says it was cut. */
static void
test_output_truncated (void)
{
  g_autofree char *id = open_session ((const char *[]) { NULL }, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  if (session_sh (id, "head -c 17000000 /dev/zero | tr '\\0' x", &out, &error))
    g_error ("17,000,000 bytes of output came back as %zu bytes with exit status 0",
             strlen (out));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_OUTPUT_TRUNCATED);
  g_assert_nonnull (strstr (error->message, "stdout"));
}

static void
test_stop (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  ClocheVm *vm = cloche_sandbox_get_vm (sandbox);
  Wait wait = { 0 };

  cloche_vm_stop_async (vm, "test over", NULL, on_done, &wait);
  result = wait_result (&wait);
  cloche_vm_stop_finish (vm, result, &error);
  g_assert_no_error (error);
  g_clear_object (&sandbox);
}

static void
remove_tree (const char *dir)
{
  const char *argv[] = { "rm", "-rf", dir, NULL };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *runtime = NULL;
  g_autofree char *tmp_home = NULL;
  char *real;
  int status;

  g_test_init (&argc, &argv, NULL);

  /* A home of our own (the mount rules judge folders against it), canonical
   * since the rules compare real paths. */
  tmp_home = g_dir_make_tmp ("cloche-home-XXXXXX", NULL);
  real = realpath (tmp_home, NULL);
  home = g_strdup (real);
  free (real);
  g_setenv ("HOME", home, TRUE);
  runtime = g_build_filename (home, "run", NULL);
  state_dir = g_build_filename (home, "state", NULL);
  g_mkdir_with_parents (runtime, 0700);
  g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
  g_free (cloche_test_bundle_dir ());

  g_test_add_func ("/vm-pinned/start", test_start);
  g_test_add_func ("/vm-pinned/link-in-the-middle", test_link_in_the_middle);
  g_test_add_func ("/vm-pinned/link-at-the-end", test_link_at_the_end);
  g_test_add_func ("/vm-pinned/other-folder", test_other_folder);
  g_test_add_func ("/vm-pinned/work-folder", test_work_folder);
  g_test_add_func ("/vm-pinned/lost-folder", test_lost_folder);
  g_test_add_func ("/vm-pinned/exec-deadline", test_exec_deadline);
  g_test_add_func ("/vm-pinned/output-truncated", test_output_truncated);
  g_test_add_func ("/vm-pinned/stop", test_stop);
  status = g_test_run ();

  if (status == 0)
    remove_tree (home);
  g_free (home);
  g_free (state_dir);
  return status;
}
