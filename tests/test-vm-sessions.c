/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sessions and their folders against the real daemon and a real VM: host
 * folders mounted read-only and read-write while other sessions run, the
 * deny list and symlinks, records on disk (damaged ones included), pinning,
 * cleanup, and sessions closed when their client leaves the bus. The cases
 * share one daemon and one boot.
 */
#define _GNU_SOURCE   /* prlimit() */
#include "config.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-session-codec.h"
#include "cloche-test-daemon.h"

static ClocheTestDaemon *vm_daemon;

/* Runs a shell line in the session; fails the test if it cannot run. */
static void
sh (const char *id,
    const char *line,
    ClocheTestExec       *exec)
{
  const char * const argv[] = { "sh", "-c", line, NULL };
  const char * const env[] = { NULL };
  g_autoptr(GVariant) out = NULL;
  g_autoptr(GVariant) err = NULL;
  g_autoptr(GError) error = NULL;

  cloche_dbus_sessions_call_exec_sync (vm_daemon->sessions, id, argv,
                                       cloche_test_exec_options (env, NULL), &exec->exit_code,
                                       &out, &err, NULL, NULL, &error);
  g_assert_no_error (error);
  exec->out = cloche_test_bytes_string (out);
  exec->err = cloche_test_bytes_string (err);
}

static char *
home_path (const char *relative)
{
  return g_build_filename (vm_daemon->home, relative, NULL);
}

static GVariant *
options_with_mounts (const char * const *paths,
                     const gboolean     *readonly)
{
  GVariantBuilder mounts, options;

  g_variant_builder_init (&mounts, G_VARIANT_TYPE ("a(sb)"));
  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    g_variant_builder_add (&mounts, "(sb)", paths[i], readonly[i]);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "mounts", g_variant_builder_end (&mounts));
  g_variant_builder_add (&options, "{sv}", "keep-open", g_variant_new_boolean (TRUE));
  return g_variant_builder_end (&options);
}

static char *
open_with (const char * const  *paths,
           const gboolean      *readonly,
           GError             **error)
{
  char *id = NULL;

  cloche_dbus_sessions_call_open_sync (vm_daemon->sessions, "t",
                                       options_with_mounts (paths, readonly),
                                       &id, NULL, error);
  return id;
}

static GVariant *
get_session (const char *id)
{
  g_autoptr(GError) error = NULL;
  GVariant *session = NULL;

  cloche_dbus_sessions_call_get_sync (vm_daemon->sessions, id, &session, NULL, &error);
  g_assert_no_error (error);
  return session;
}

static const char *
state_of (GVariant *session)
{
  const char *state = NULL;

  g_variant_get_child (session, 5, "&s", &state);
  return state;
}

static gboolean
session_state_is (const char *id,
                  const char *state)
{
  g_autoptr(GVariant) session = get_session (id);

  return g_str_equal (state_of (session), state);
}

/* No virtiofsd serves @folder any more: the VM has let go of it. (A
 * session cannot see another's mounts at all, so the guest is no witness.)
 * virtiofsd serves the pinned folder bound on a folder of ours, so it is
 * known by what it works in (both halves), not by a path it was given. */
static gboolean
folder_unshared (const char *folder)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;
  struct stat want;

  g_assert_cmpint (stat (folder, &want), ==, 0);
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *cwd = g_build_filename ("/proc", name, "cwd", NULL);
      g_autofree char *exe = g_build_filename ("/proc", name, "exe", NULL);
      g_autofree char *target = g_file_read_link (exe, NULL);
      struct stat st;

      if (target != NULL && g_str_has_suffix (target, "virtiofsd") && stat (cwd, &st) == 0
          && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
        return FALSE;
    }
  return TRUE;
}

static char *session_a;

/* The session's folder is a host folder: what the guest writes is there. */
static void
test_work_folder_on_host (void)
{
  g_autofree char *file = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(ClocheTestExec) exec = { 0 };

  session_a = open_with (NULL, NULL, &error);
  g_assert_no_error (error);
  sh (session_a, "echo from-guest > result.txt && pwd", &exec);
  g_assert_cmpint (exec.exit_code, ==, 0);
  file = g_build_filename (vm_daemon->home, "state", "cloche", "sessions", session_a, "work",
                           "result.txt", NULL);
  g_file_get_contents (file, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, "from-guest\n");
}

/* A second session with folders, while the first one is active. */
static void
test_folders_hotplugged (void)
{
  g_autofree char *docs = home_path ("docs");
  g_autofree char *out = home_path ("out");
  g_autofree char *note = home_path ("docs/note.txt");
  g_autofree char *written = home_path ("out/answer.txt");
  g_autofree char *created = home_path ("docs/new.txt");
  g_autofree char *contents = NULL;
  g_autofree char *id = NULL;
  const char * const paths[] = { docs, out, NULL };
  const gboolean readonly[] = { TRUE, FALSE };
  g_autoptr(GError) error = NULL;
  g_auto(ClocheTestExec) read = { 0 };
  g_auto(ClocheTestExec) write_ro = { 0 };
  g_auto(ClocheTestExec) remount = { 0 };
  g_auto(ClocheTestExec) write_rw = { 0 };
  g_auto(ClocheTestExec) still_a = { 0 };

  g_mkdir_with_parents (docs, 0700);
  g_mkdir_with_parents (out, 0700);
  g_file_set_contents (note, "host text\n", -1, NULL);

  id = open_with (paths, readonly, &error);
  g_assert_no_error (error);

  sh (id, "cat mnt/docs/note.txt", &read);
  g_assert_cmpstr (read.out, ==, "host text\n");

  sh (id, "echo changed > mnt/docs/note.txt", &write_ro);
  g_assert_cmpint (write_ro.exit_code, !=, 0);
  /* Remounting read-write (refused to a session's user; and root in the
   * guest doing it would change nothing on the host). */
  sh (id, "mount -o remount,rw mnt/docs; echo changed > mnt/docs/note.txt; "
          "touch mnt/docs/new.txt", &remount);
  g_file_get_contents (note, &contents, NULL, NULL);
  g_assert_cmpstr (contents, ==, "host text\n");
  g_assert_false (g_file_test (created, G_FILE_TEST_EXISTS));

  sh (id, "echo 42 > mnt/out/answer.txt", &write_rw);
  g_assert_cmpint (write_rw.exit_code, ==, 0);
  g_clear_pointer (&contents, g_free);
  g_file_get_contents (written, &contents, NULL, NULL);
  g_assert_cmpstr (contents, ==, "42\n");

  sh (session_a, "cat result.txt", &still_a);
  g_assert_cmpstr (still_a.out, ==, "from-guest\n");

  /* Closing detaches its folders. */
  g_assert_false (folder_unshared (docs));
  cloche_dbus_sessions_call_close_sync (vm_daemon->sessions, id, NULL, &error);
  g_assert_no_error (error);
  CLOCHE_TEST_WAIT_FOR (folder_unshared (docs), 30);
}

static void
assert_refused (const char *path,
                const char *rule)
{
  const char * const paths[] = { path, NULL };
  const gboolean readonly[] = { TRUE };
  g_autoptr(GError) error = NULL;
  g_autofree char *id = open_with (paths, readonly, &error);

  g_assert_null (id);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED);
  if (strstr (error->message, rule) == NULL)
    g_error ("\"%s\" does not name \"%s\"", error->message, rule);
}

static void
test_refusals (void)
{
  g_autofree char *ssh = home_path (".ssh");
  g_autofree char *link = home_path ("innocent");

  g_mkdir_with_parents (ssh, 0700);
  g_assert_cmpint (symlink ("/etc", link), ==, 0);
  assert_refused (ssh, "~/.ssh");
  assert_refused (vm_daemon->home, "~/.ssh");
  assert_refused (link, "/etc");
  assert_refused ("/usr/share", "outside your home folder");
}

/* Options of the wrong type are refused with what was expected. */
static void
test_bad_options (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  GVariantDict options;

  g_variant_dict_init (&options, NULL);
  g_variant_dict_insert (&options, "mounts", "s", "/home/user/project");
  cloche_dbus_sessions_call_open_sync (vm_daemon->sessions, "t", g_variant_dict_end (&options),
                                       &id, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_assert_true (strstr (error->message, "a(sb)") != NULL);
  g_clear_error (&error);

  cloche_dbus_sessions_call_set_pinned_sync (vm_daemon->sessions, "../../etc", TRUE, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND);
}

/* A record that cannot be read is listed as damaged and left alone. */
static void
test_damaged_record (void)
{
  g_autofree char *dir = g_build_filename (vm_daemon->home, "state", "cloche", "sessions",
                                           "badbadbadbad", NULL);
  g_autofree char *json = g_build_filename (dir, "session.json", NULL);
  g_autoptr(GVariant) session = NULL;
  const char *damage = NULL;

  g_mkdir_with_parents (dir, 0700);
  g_file_set_contents (json, "{\"id\": \"badbadbadbad\", \"state\": ", -1, NULL);
  session = get_session ("badbadbadbad");
  g_assert_cmpstr (state_of (session), ==, "damaged");
  g_variant_get_child (session, 6, "&s", &damage);
  g_assert_true (strstr (damage, "session.json is damaged") != NULL);
  g_assert_true (g_file_test (json, G_FILE_TEST_EXISTS));
}

static GVariant *
cleanup (guint     older_than_days,
         guint64  *freed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) packed = NULL;
  GVariantDict options;

  g_variant_dict_init (&options, NULL);
  g_variant_dict_insert (&options, "older-than-days", "u", older_than_days);
  cloche_dbus_sessions_call_cleanup_sync (vm_daemon->sessions, g_variant_dict_end (&options),
                                          &packed, freed, NULL, &error);
  g_assert_no_error (error);
  return cloche_session_infos_unpack (packed);
}

static gboolean
removed_has (GVariant   *removed,
             const char *id)
{
  for (gsize i = 0; i < g_variant_n_children (removed); i++)
    {
      g_autoptr(GVariant) session = g_variant_get_child_value (removed, i);
      g_auto(ClocheSessionInfo) info = { 0 };

      cloche_session_info_init (&info, session);
      if (g_str_equal (info.id, id))
        return TRUE;
    }
  return FALSE;
}

/* With a threshold of 0 days every closed session is stale: cleanup removes
 * the closed and damaged ones, and neither the open nor the pinned one. */
static void
test_cleanup_spares_open_and_pinned (void)
{
  g_autofree char *pinned = NULL;
  g_autofree char *closed = NULL;
  g_autoptr(GVariant) removed = NULL;
  g_autoptr(GError) error = NULL;
  guint64 freed = 0;

  pinned = open_with (NULL, NULL, &error);
  closed = open_with (NULL, NULL, &error);
  g_assert_no_error (error);
  cloche_dbus_sessions_call_set_pinned_sync (vm_daemon->sessions, pinned, TRUE, NULL, &error);
  cloche_dbus_sessions_call_close_sync (vm_daemon->sessions, pinned, NULL, &error);
  cloche_dbus_sessions_call_close_sync (vm_daemon->sessions, closed, NULL, &error);
  g_assert_no_error (error);
  sleep (1);

  removed = cleanup (0, &freed);
  g_assert_cmpuint (freed, >, 0);
  g_assert_true (removed_has (removed, closed));
  g_assert_false (removed_has (removed, pinned));
  g_assert_false (removed_has (removed, session_a));
  g_assert_true (session_state_is (pinned, "closed"));
  g_assert_true (session_state_is (session_a, "open"));
  cloche_dbus_sessions_call_get_sync (vm_daemon->sessions, closed, NULL, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND);
}

/* A session not asked to stay open closes when its client leaves the bus. */
static void
test_client_vanishes (void)
{
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(ClocheDbusSessions) proxy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  GVariantDict options;

  connection = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (vm_daemon->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
    | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &error);
  g_assert_no_error (error);
  proxy = cloche_dbus_sessions_proxy_new_sync (connection, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                               DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), 300 * 1000);
  g_variant_dict_init (&options, NULL);
  cloche_dbus_sessions_call_open_sync (proxy, "short-lived", g_variant_dict_end (&options), &id,
                                       NULL, &error);
  g_assert_no_error (error);
  g_assert_true (session_state_is (id, "open"));

  g_dbus_connection_close_sync (connection, NULL, NULL);
  CLOCHE_TEST_WAIT_FOR (session_state_is (id, "closed"), 10);
}

/* The daemon's file size limit: 1 byte makes every record write fail, a
 * real failed write as a full disk gives (EFBIG rather than ENOSPC). */
static void
limit_daemon_files (rlim_t bytes)
{
  struct rlimit limit = { bytes, RLIM_INFINITY };

  g_assert_cmpint (prlimit (cloche_test_daemon_pid (vm_daemon), RLIMIT_FSIZE, &limit, NULL),
                   ==, 0);
}

/* Close on a disk that takes no more: the caller hears why, the session
 * stays open as its record says, and closes once the record can be
 * written (Close once reported success and wrote nothing). */
static void
test_close_full_disk (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = open_with (NULL, NULL, &error);
  g_autofree char *record = NULL;
  g_autofree char *json = NULL;

  g_assert_no_error (error);
  limit_daemon_files (1);
  cloche_dbus_sessions_call_close_sync (vm_daemon->sessions, id, NULL, &error);
  limit_daemon_files (RLIM_INFINITY);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "stays open"));
  g_clear_error (&error);
  g_assert_true (session_state_is (id, "open"));
  record = g_build_filename (vm_daemon->home, "state", "cloche", "sessions", id, "session.json",
                             NULL);
  g_assert_true (g_file_get_contents (record, &json, NULL, NULL));
  g_assert_nonnull (strstr (json, "\"state\" : \"open\""));

  cloche_dbus_sessions_call_close_sync (vm_daemon->sessions, id, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (session_state_is (id, "closed"));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *bundle = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  bundle = cloche_test_bundle_dir ();
  vm_daemon = cloche_test_daemon_start ((const char *[]) {
    "--bundle", bundle, "--idle-timeout", "600", NULL });

  g_test_add_func ("/sessions/work-folder-on-host", test_work_folder_on_host);
  g_test_add_func ("/sessions/folders-hotplugged", test_folders_hotplugged);
  g_test_add_func ("/sessions/refusals", test_refusals);
  g_test_add_func ("/sessions/bad-options", test_bad_options);
  g_test_add_func ("/sessions/damaged-record", test_damaged_record);
  g_test_add_func ("/sessions/cleanup-spares-open-and-pinned", test_cleanup_spares_open_and_pinned);
  g_test_add_func ("/sessions/client-vanishes", test_client_vanishes);
  g_test_add_func ("/sessions/close-full-disk", test_close_full_disk);

  status = g_test_run ();
  g_free (session_a);
  cloche_test_daemon_free (vm_daemon);
  return status;
}
