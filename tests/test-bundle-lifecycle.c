/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The bundle's life through io.github.cloche.Bundle on a real daemon:
 * install from a folder and over HTTP from 127.0.0.1 (tests/bundle-http-
 * server.py), a download cut off that resumes, a corrupt file refused with
 * nothing left behind, a full disk (a small tmpfs), relocate, and remove
 * while the VM runs. The install tests use small made-up bundles; only
 * the remove test boots the real one.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include "cloche-test-daemon.h"

typedef struct
{
  ClocheTestDaemon *daemon;
  ClocheDbusBundle *bundle;
  char             *dir;        /* scratch folder of the test */
  char             *location;   /* the daemon's --bundle */
} Fixture;

/* Bundles */

static char *
sha256_of (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) contents, length);
}

static void
write_random (const char *path,
              gsize       size)
{
  g_autofree guint32 *data = g_new (guint32, size / 4 + 1);
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < size / 4 + 1; i++)
    data[i] = g_random_int ();
  g_file_set_contents (path, (const char *) data, size, &error);
  g_assert_no_error (error);
}

/* A made-up bundle in @dir: files a.img and b.img of @size bytes each,
 * named as its kernel and initrd as a manifest must (it never boots). */
static void
make_bundle (const char *dir,
             gsize       size)
{
  const char *names[] = { "a.img", "b.img" };
  g_autoptr(GString) manifest = g_string_new ("{\"name\": \"test-bundle\", \"version\": \"1\", "
                                              "\"kernel\": \"a.img\", \"initrd\": \"b.img\", "
                                              "\"cmdline\": \"console=ttyS0\", \"files\": [");
  g_autofree char *manifest_path = g_build_filename (dir, "manifest.json", NULL);
  g_autoptr(GError) error = NULL;

  g_mkdir_with_parents (dir, 0755);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (dir, names[i], NULL);
      g_autofree char *sum = NULL;

      write_random (path, size);
      sum = sha256_of (path);
      g_string_append_printf (manifest, "%s{\"path\": \"%s\", \"size\": %" G_GSIZE_FORMAT
                              ", \"sha256\": \"%s\"}", i > 0 ? ", " : "", names[i], size, sum);
    }
  g_string_append (manifest, "]}\n");
  g_file_set_contents (manifest_path, manifest->str, -1, &error);
  g_assert_no_error (error);
}

/* Allocated bytes of the files directly in @dir and of @dir, as du counts. */
static guint64
allocation_of (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  struct stat st;
  guint64 total = 0;
  const char *name;

  g_assert_nonnull (listing);
  g_assert_cmpint (stat (dir, &st), ==, 0);
  total = (guint64) st.st_blocks * 512;
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_assert_cmpint (lstat (path, &st), ==, 0);
      total += (guint64) st.st_blocks * 512;
    }
  return total;
}

static guint64
free_bytes (const char *dir)
{
  struct statvfs st;

  g_assert_cmpint (statvfs (dir, &st), ==, 0);
  return (guint64) st.f_bavail * st.f_frsize;
}

static gboolean
dir_has_entries (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);

  return listing != NULL && g_dir_read_name (listing) != NULL;
}

/* tmpfs: a disk that fills up, and another file system to move to */

static gboolean
mount_tmpfs (const char *dir,
             const char *size)
{
  g_autofree char *options = g_strdup_printf ("size=%s", size);
  const char *argv[] = { "mount", "-t", "tmpfs", "-o", options, "tmpfs", dir, NULL };
  int status = -1;

  g_mkdir_with_parents (dir, 0755);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, NULL, NULL, &status, NULL);
  return status == 0;
}

static void
unmount (const char *dir)
{
  const char *argv[] = { "umount", dir, NULL };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
}

/* Fixture */

/* One bus for the whole program (GDBus keeps one session connection), and
 * a daemon of its own for each test, with its own --bundle and home. */
static GTestDBus *test_bus;

static ClocheTestDaemon *
start_daemon (const char *location)
{
  ClocheTestDaemon *daemon = g_new0 (ClocheTestDaemon, 1);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GError) error = NULL;

  daemon->runtime_dir = g_dir_make_tmp ("cloche-runtime-XXXXXX", &error);
  g_assert_no_error (error);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", daemon->runtime_dir, TRUE);
  cloche_test_daemon_isolate (daemon, launcher);
  daemon->process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CLOCHE_DAEMON"),
                                                 "--bundle", location, NULL);
  g_assert_no_error (error);
  cloche_test_daemon_connect (daemon);
  cloche_test_daemon_wait_name (daemon);
  return daemon;
}

static void
stop_daemon (ClocheTestDaemon *daemon)
{
  const char *argv[] = { "rm", "-rf", daemon->home, daemon->runtime_dir, NULL };

  g_subprocess_send_signal (daemon->process, SIGTERM);
  g_subprocess_wait (daemon->process, NULL, NULL);
  g_clear_object (&daemon->proxy);
  g_clear_object (&daemon->sessions);
  g_clear_object (&daemon->process);
  if (!g_test_failed ())
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                  NULL, NULL);
  g_free (daemon->runtime_dir);
  g_free (daemon->home);
  g_free (daemon);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("cloche-bundle-test-XXXXXX", &error);

  g_assert_no_error (error);
  fixture->dir = realpath (tmp, NULL);
  fixture->location = g_build_filename (fixture->dir, "installed", NULL);
  fixture->daemon = start_daemon (fixture->location);
  fixture->bundle = cloche_dbus_bundle_proxy_new_sync (
    g_dbus_proxy_get_connection (G_DBUS_PROXY (fixture->daemon->proxy)),
    G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
    NULL, &error);
  g_assert_no_error (error);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (fixture->bundle), 300 * 1000);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  const char *argv[] = { "rm", "-rf", fixture->dir, NULL };

  g_clear_object (&fixture->bundle);
  stop_daemon (fixture->daemon);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
  free (fixture->dir);
  g_free (fixture->location);
}

static char *
scratch (Fixture    *fixture,
         const char *name)
{
  return g_build_filename (fixture->dir, name, NULL);
}

static GVariant *
info (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  GVariant *result = NULL;

  cloche_dbus_bundle_call_info_sync (fixture->bundle, &result, NULL, &error);
  g_assert_no_error (error);
  return result;
}

static guint64
info_allocated (Fixture *fixture)
{
  g_autoptr(GVariant) result = info (fixture);
  guint64 allocated = 0;

  g_assert_true (g_variant_lookup (result, "allocated", "t", &allocated));
  return allocated;
}

static void
install (Fixture     *fixture,
         const char  *source,
         const char  *location,
         GError     **error)
{
  cloche_dbus_bundle_call_install_sync (fixture->bundle, source, location != NULL ? location : "",
                                        NULL, error);
}

static void
assert_verifies (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;

  cloche_dbus_bundle_call_verify_sync (fixture->bundle, NULL, &error);
  g_assert_no_error (error);
}

/* An HTTP server on 127.0.0.1 */

typedef struct
{
  GSubprocess *process;
  char        *url;
  char        *log;
} Server;

static void
server_start (Server     *server,
              Fixture    *fixture,
              const char *root,
              const char *drop_after)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "bundle-http-server.py", NULL);
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *port = NULL;

  server->log = scratch (fixture, "http.log");
  if (drop_after != NULL)
    server->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "python3",
                                        script, root, "--log", server->log, "--drop-after",
                                        drop_after, NULL);
  else
    server->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "python3",
                                        script, root, "--log", server->log, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server->process));
  port = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (port);
  server->url = g_strdup_printf ("http://127.0.0.1:%s/manifest.json", port);
}

static char *
server_log (Server *server)
{
  g_autofree char *contents = NULL;

  g_file_get_contents (server->log, &contents, NULL, NULL);
  return g_steal_pointer (&contents);
}

static void
server_stop (Server *server)
{
  g_subprocess_force_exit (server->process);
  g_subprocess_wait (server->process, NULL, NULL);
  g_clear_object (&server->process);
  g_free (server->url);
  g_free (server->log);
}

/* Tests */

static void
test_no_bundle (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GVariantDict) options = g_variant_dict_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  g_assert_false (cloche_dbus_bundle_get_installed (fixture->bundle));
  g_assert_cmpstr (cloche_dbus_bundle_get_location (fixture->bundle), ==, fixture->location);
  /* Opening agent mode says what is missing and how to install it. */
  g_variant_dict_insert (options, "keep-open", "b", TRUE);
  cloche_dbus_sessions_call_open_sync (fixture->daemon->sessions, "t",
                                       g_variant_dict_end (options), &id, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_MISSING);
  g_assert_nonnull (strstr (error->message, "clochectl bundle install"));
  g_clear_error (&error);
  cloche_dbus_bundle_call_remove_sync (fixture->bundle, FALSE, NULL, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_MISSING);
}

static void
test_install_folder (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *source = cloche_test_bundle_dir ();
  g_autoptr(GVariant) inspected = NULL, measured = NULL;
  g_autoptr(GError) error = NULL;
  guint64 size = 0;

  /* The size is known before anything is written. */
  cloche_dbus_bundle_call_inspect_sync (fixture->bundle, source, "", &inspected, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (inspected, "size", "t", &size));
  g_assert_cmpuint (size, >, 1000000);
  g_assert_false (g_file_test (fixture->location, G_FILE_TEST_EXISTS));

  install (fixture, source, NULL, &error);
  g_assert_no_error (error);
  CLOCHE_TEST_WAIT_FOR (cloche_dbus_bundle_get_installed (fixture->bundle), 10);
  g_assert_cmpint (cloche_dbus_bundle_get_last_verified (fixture->bundle), >, 0);
  assert_verifies (fixture);
  measured = info (fixture);
  g_assert_cmpuint (info_allocated (fixture), ==, allocation_of (fixture->location));
}

static void
test_install_http_resumes (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autofree char *source = scratch (fixture, "source");
  g_autoptr(GError) error = NULL;
  g_autofree char *log = NULL;
  Server server = { 0 };

  make_bundle (source, 3 * 1024 * 1024 + 17);
  /* Each file's first response stops after 1 MiB and closes. */
  server_start (&server, fixture, source, "1048576");
  install (fixture, server.url, NULL, &error);
  g_assert_no_error (error);
  log = server_log (&server);
  server_stop (&server);
  g_test_message ("requests:\n%s", log);
  g_assert_nonnull (strstr (log, "/a.img bytes=1048576-"));
  g_assert_nonnull (strstr (log, "/b.img bytes=1048576-"));
  assert_verifies (fixture);
}

static void
on_progress_cancel (ClocheDbusBundle *bundle,
                    const char       *operation,
                    const char       *phase,
                    const char       *file,
                    guint64           done,
                    guint64           total,
                    gpointer          user_data)
{
  gboolean *cancelled = user_data;

  if (!*cancelled && done > 0 && done < total)
    {
      cloche_dbus_bundle_call_cancel (bundle, NULL, NULL, NULL);
      *cancelled = TRUE;
    }
}

static void
on_installed (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  GError **error = user_data;

  if (!cloche_dbus_bundle_call_install_finish (CLOCHE_DBUS_BUNDLE (object), result, error)
      && *error == NULL)
    g_assert_not_reached ();
  if (*error == NULL)
    *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_EXISTS, "finished");
}

/* Cancelled half-way, then installed again: the second install asks only
 * for the rest. */
static void
test_install_http_interrupted (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autofree char *source = scratch (fixture, "source");
  g_autofree char *staging = scratch (fixture, ".installed.partial");
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) measured = NULL;
  g_autofree char *log = NULL;
  gboolean cancelled = FALSE;
  guint64 partial = 0;
  Server server = { 0 };
  gulong handler;

  make_bundle (source, 48 * 1024 * 1024);
  server_start (&server, fixture, source, NULL);
  handler = g_signal_connect (fixture->bundle, "progress", G_CALLBACK (on_progress_cancel),
                              &cancelled);
  cloche_dbus_bundle_call_install (fixture->bundle, server.url, "", NULL, on_installed, &error);
  CLOCHE_TEST_WAIT_FOR (error != NULL, 120);
  g_signal_handler_disconnect (fixture->bundle, handler);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      g_test_skip ("the download finished before the cancel arrived");
      server_stop (&server);
      return;
    }
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  /* No half bundle in place; what came is kept for the next try. */
  g_assert_false (g_file_test (fixture->location, G_FILE_TEST_EXISTS));
  measured = info (fixture);
  g_assert_true (g_variant_lookup (measured, "partial", "t", &partial));
  g_assert_cmpuint (partial, >, 0);
  g_assert_true (g_file_test (staging, G_FILE_TEST_IS_DIR));

  install (fixture, server.url, NULL, &error);
  g_assert_no_error (error);
  log = server_log (&server);
  server_stop (&server);
  g_test_message ("requests:\n%s", log);
  g_assert_true (g_regex_match_simple ("^/a\\.img bytes=[1-9][0-9]*-$", log,
                                       G_REGEX_MULTILINE, 0));
  g_assert_false (g_file_test (staging, G_FILE_TEST_EXISTS));
  assert_verifies (fixture);
}

static void
corrupt_file (const char *dir,
              const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  FILE *file = fopen (path, "r+b");

  g_assert_nonnull (file);
  fseek (file, 4096, SEEK_SET);
  fputc ('!', file);
  fputc ('?', file);
  fclose (file);
}

static void
test_install_corrupt (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *source = scratch (fixture, "source");
  g_autoptr(GError) error = NULL;
  Server server = { 0 };

  make_bundle (source, 1024 * 1024);
  corrupt_file (source, "b.img");

  install (fixture, source, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_CORRUPT);
  g_assert_nonnull (strstr (error->message, "b.img"));
  g_clear_error (&error);

  server_start (&server, fixture, source, NULL);
  install (fixture, server.url, NULL, &error);
  server_stop (&server);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_CORRUPT);
  g_assert_nonnull (strstr (error->message, "b.img"));

  /* Nothing left behind: no bundle, no staging folder. */
  g_assert_false (g_file_test (fixture->location, G_FILE_TEST_EXISTS));
  g_assert_false (cloche_dbus_bundle_get_installed (fixture->bundle));
  {
    g_autoptr(GDir) listing = g_dir_open (fixture->dir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (listing)) != NULL)
      g_assert_true (g_str_equal (name, "source") || g_str_equal (name, "http.log"));
  }
}

static void
test_full_disk (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *source = scratch (fixture, "source");
  g_autofree char *disk = scratch (fixture, "small-disk");
  g_autofree char *target = g_build_filename (disk, "bundle", NULL);
  g_autoptr(GError) error = NULL;

  if (!mount_tmpfs (disk, "2m"))
    {
      g_test_skip ("cannot mount a tmpfs here (needs root): the full-disk check is not run");
      return;
    }
  make_bundle (source, 3 * 1024 * 1024);
  install (fixture, source, target, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_NO_SPACE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, target));
  g_assert_false (dir_has_entries (disk));
  unmount (disk);
}

/* Moved to another file system (copied and checked), then removed there:
 * the bytes reported freed are what the disk got back. */
static void
test_relocate_and_remove (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *source = scratch (fixture, "source");
  g_autofree char *disk = scratch (fixture, "other-disk");
  g_autofree char *target = g_build_filename (disk, "moved", NULL);
  g_autofree char *busy = scratch (fixture, "busy");
  g_autofree char *busy_file = g_build_filename (busy, "notes.txt", NULL);
  g_autoptr(GError) error = NULL;
  guint64 before, freed = 0, allocated;

  make_bundle (source, 2 * 1024 * 1024 + 5);
  install (fixture, source, NULL, &error);
  g_assert_no_error (error);

  /* Never into a folder of other files. */
  g_mkdir_with_parents (busy, 0755);
  g_file_set_contents (busy_file, "mine", -1, NULL);
  cloche_dbus_bundle_call_relocate_sync (fixture->bundle, busy, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (g_file_test (busy_file, G_FILE_TEST_EXISTS));

  if (!mount_tmpfs (disk, "64m"))
    {
      g_test_skip ("cannot mount a tmpfs here (needs root): relocating within one disk");
      g_free (target);
      target = scratch (fixture, "moved");
    }
  cloche_dbus_bundle_call_relocate_sync (fixture->bundle, target, NULL, &error);
  g_assert_no_error (error);
  CLOCHE_TEST_WAIT_FOR (g_strcmp0 (cloche_dbus_bundle_get_location (fixture->bundle), target) == 0,
                        10);
  g_assert_false (g_file_test (fixture->location, G_FILE_TEST_EXISTS));
  assert_verifies (fixture);

  allocated = info_allocated (fixture);
  g_assert_cmpuint (allocated, ==, allocation_of (target));
  before = free_bytes (disk);
  cloche_dbus_bundle_call_remove_sync (fixture->bundle, FALSE, &freed, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (freed, ==, allocated);
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
  /* On the tmpfs nothing else writes: its free space grew by exactly that. */
  if (g_str_has_prefix (target, disk))
    {
      g_assert_cmpuint (free_bytes (disk) - before, ==, freed);
      unmount (disk);
    }
}

static char *
open_session (Fixture  *fixture,
              GError  **error)
{
  g_autoptr(GVariantDict) options = g_variant_dict_new (NULL);
  char *id = NULL;

  g_variant_dict_insert (options, "keep-open", "b", TRUE);
  cloche_dbus_sessions_call_open_sync (fixture->daemon->sessions, "bundle test",
                                       g_variant_dict_end (options), &id, NULL, error);
  return id;
}

/* A real VM boots from the installed bundle; removing it stops the VM,
 * refuses while a session is open unless forced, and keeps the session. */
static void
test_remove_while_running (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autofree char *source = cloche_test_bundle_dir ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) session = NULL;
  g_autofree char *id = NULL, *session_dir = NULL;
  guint64 allocated, freed = 0;

  install (fixture, source, NULL, &error);
  g_assert_no_error (error);
  id = open_session (fixture, &error);
  g_assert_no_error (error);
  cloche_test_daemon_wait_state (fixture->daemon, "running", 10);

  cloche_dbus_bundle_call_remove_sync (fixture->bundle, FALSE, &freed, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_OPEN);
  g_clear_error (&error);
  g_assert_true (g_file_test (fixture->location, G_FILE_TEST_IS_DIR));

  allocated = info_allocated (fixture);
  g_assert_cmpuint (allocated, ==, allocation_of (fixture->location));
  cloche_dbus_bundle_call_remove_sync (fixture->bundle, TRUE, &freed, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (freed, ==, allocated);
  cloche_test_daemon_wait_state (fixture->daemon, "stopped", 30);
  g_assert_false (g_file_test (fixture->location, G_FILE_TEST_EXISTS));

  /* The session is closed, not deleted. */
  cloche_dbus_sessions_call_get_sync (fixture->daemon->sessions, id, &session, NULL, &error);
  g_assert_no_error (error);
  session_dir = g_build_filename (
    cloche_dbus_sessions_get_sessions_path (fixture->daemon->sessions), id, NULL);
  g_assert_true (g_file_test (session_dir, G_FILE_TEST_IS_DIR));

  g_free (open_session (fixture, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_MISSING);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  /* Registered before any call, so remote errors map back to CLOCHE_ERROR. */
  cloche_error_quark ();
  test_bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (test_bus);

  g_test_add ("/bundle/no-bundle", Fixture, NULL, fixture_set_up, test_no_bundle,
              fixture_tear_down);
  g_test_add ("/bundle/install-folder", Fixture, NULL, fixture_set_up, test_install_folder,
              fixture_tear_down);
  g_test_add ("/bundle/install-http-resumes", Fixture, NULL, fixture_set_up,
              test_install_http_resumes, fixture_tear_down);
  g_test_add ("/bundle/install-http-interrupted", Fixture, NULL, fixture_set_up,
              test_install_http_interrupted, fixture_tear_down);
  g_test_add ("/bundle/install-corrupt", Fixture, NULL, fixture_set_up, test_install_corrupt,
              fixture_tear_down);
  g_test_add ("/bundle/full-disk", Fixture, NULL, fixture_set_up, test_full_disk,
              fixture_tear_down);
  g_test_add ("/bundle/relocate-and-remove", Fixture, NULL, fixture_set_up,
              test_relocate_and_remove, fixture_tear_down);
  g_test_add ("/bundle/remove-while-running", Fixture, NULL, fixture_set_up,
              test_remove_while_running, fixture_tear_down);
  status = g_test_run ();
  g_test_dbus_stop (test_bus);
  return status;
}
