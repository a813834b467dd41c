/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Every guest call has a deadline, and nothing the guest does hangs or
 * fools a caller. A folder whose virtiofsd dies while the VM runs is lost:
 * the session's commands would hang on it, so they are refused at once with
 * FolderLost (naming the folder and the fix; the doctor says it too) until
 * the next boot mounts the folders afresh. A command past its deadline
 * fails with ExecTimeout and is killed in the guest. Output qemu-ga cut at
 * 16 MiB is an error, not a short result with status 0.
 *
 * This drives a ClocheSandbox directly (no daemon, no bus), on the real
 * bundle and QEMU.
 */
#include "config.h"

#include <signal.h>
#include <sys/stat.h>

#include "cloche-doctor.h"
#include "cloche-test-sandbox.h"

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
  gint64 deadline;
  ClocheVm *vm = cloche_sandbox_get_vm (sandbox);
  Wait wait = { 0 };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(ClocheDoctorResult) finding = NULL;

  make_dirs ((const char *[]) { "docs", NULL });
  g_file_set_contents (note, "still here\n", -1, NULL);
  id = open_session ((const char *[]) { docs, NULL }, (const gboolean[]) { TRUE });
  assert_sh (id, "cat mnt/docs/note.txt");
  g_assert_cmpuint (kill_virtiofsd (docs), >, 0);

  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
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

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  sandbox_home_set_up ();

  g_test_add_func ("/vm-guest-calls/start", sandbox_start);
  g_test_add_func ("/vm-guest-calls/lost-folder", test_lost_folder);
  g_test_add_func ("/vm-guest-calls/exec-deadline", test_exec_deadline);
  g_test_add_func ("/vm-guest-calls/output-truncated", test_output_truncated);
  g_test_add_func ("/vm-guest-calls/stop", sandbox_stop);
  status = g_test_run ();

  sandbox_home_tear_down (status);
  return status;
}
