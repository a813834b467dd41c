/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Sessions.Fork through the real daemon on a private bus.
 * No VM boots here (the daemon has no bundle), so every fork fails at its
 * last step, after the copy: which is what these cases check, that a fork
 * that does not open leaves nothing behind, whether it failed at the end,
 * was cancelled by its tag mid-copy, or filled the disk (a 1 MiB tmpfs
 * over the sessions folder, mounted as root; skipped otherwise). The copy
 * itself is tests/test-tree-copy.c's; a fork that opens is in
 * tests/test-clochectl.sh, which has a VM.
 */
#include "config.h"

#include <sys/mount.h>
#include <unistd.h>

#include "cloche-session-codec.h"
#include "cloche-test-daemon.h"

static ClocheTestDaemon *daemon_under_test;

static char *
sessions_root (void)
{
  return g_build_filename (daemon_under_test->home, "state", "cloche", "sessions", NULL);
}

/* A closed session with no host folders, its work folder holding @files
 * files of @size bytes. */
static void
write_session (const char *id,
               guint       files,
               gsize       size)
{
  g_autofree char *root = sessions_root ();
  g_autofree char *work = g_build_filename (root, id, "work", NULL);
  g_autofree char *path = g_build_filename (root, id, "session.json", NULL);
  g_autofree char *contents = g_malloc0 (size);
  g_autofree char *json = g_strdup_printf (
    "{\"version\": 1, \"id\": \"%s\", \"title\": \"source\", \"client\": \"test\",\n"
    " \"created\": \"2026-12-01T10:00:00Z\", \"last_active\": \"2026-12-01T10:00:00Z\",\n"
    " \"state\": \"closed\", \"pinned\": false, \"mounts\": []}\n", id);

  g_assert_cmpint (g_mkdir_with_parents (work, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));
  for (guint i = 0; i < files; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s/file-%u", work, i);

      memset (contents, 'a' + i % 26, size);
      g_assert_true (g_file_set_contents (name, contents, size, NULL));
    }
}

/* The session folders on disk. */
static guint
count_folders (void)
{
  g_autofree char *root = sessions_root ();
  g_autoptr(GDir) dir = g_dir_open (root, 0, NULL);
  guint count = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    count++;
  return count;
}

typedef struct
{
  char    *new_id;
  GError  *error;
  gboolean done;
  guint    signals;
  guint64  copied;
  guint64  total;
  gboolean cancel;     /* CancelFork at the first progress */
} Fork;

static void
on_progress (ClocheDbusSessions *proxy,
             const char         *id,
             const char         *tag,
             guint64             copied,
             guint64             total,
             gpointer            user_data)
{
  Fork *fork = user_data;

  g_assert_cmpstr (tag, ==, "test-fork");
  g_assert_cmpuint (copied, >=, fork->copied);
  fork->signals++;
  fork->copied = copied;
  fork->total = total;
  if (fork->cancel && fork->signals == 1)
    cloche_dbus_sessions_call_cancel_fork (proxy, "test-fork", NULL, NULL, NULL);
}

static void
on_forked (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Fork *fork = user_data;

  cloche_dbus_sessions_call_fork_finish (CLOCHE_DBUS_SESSIONS (object), &fork->new_id, result,
                                         &fork->error);
  fork->done = TRUE;
}

static GVariant *
tagged (void)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "tag", "s", "test-fork");
  return g_variant_dict_end (&dict);
}

/* Forks @id and waits for the answer, then for the last progress. */
static void
run_fork (const char *id,
          Fork       *fork)
{
  ClocheDbusSessions *sessions = daemon_under_test->sessions;
  gulong handler = g_signal_connect (sessions, "fork-progress", G_CALLBACK (on_progress), fork);
  gint64 deadline;

  cloche_dbus_sessions_call_fork (sessions, id, "", tagged (), NULL, on_forked, fork);
  while (!fork->done)
    g_main_context_iteration (NULL, TRUE);
  /* The last progress may come after the answer: signals are not ordered
   * with replies to other calls. */
  deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  while (fork->signals == 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_signal_handler_disconnect (sessions, handler);
}

/* Unknown ids and bad options are refused, naming what. */
static void
test_refused (void)
{
  g_autofree char *new_id = NULL;
  g_autoptr(GError) error = NULL;
  GVariantDict dict;

  cloche_dbus_sessions_call_fork_sync (daemon_under_test->sessions, "0123456789ab", "",
                                       g_variant_new ("a{sv}", NULL), &new_id, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND);
  g_clear_error (&error);
  cloche_dbus_sessions_call_fork_sync (daemon_under_test->sessions, "../../etc", "",
                                       g_variant_new ("a{sv}", NULL), &new_id, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND);
  g_clear_error (&error);
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "tag", "u", 7);
  cloche_dbus_sessions_call_fork_sync (daemon_under_test->sessions, "0123456789ab", "",
                                       g_variant_dict_end (&dict), &new_id, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "tag"));
}

/* The copy runs to its end (progress reaches the total), the VM cannot
 * start, and the new session goes whole: folder, copy, record. */
static void
test_fails_whole (void)
{
  Fork fork = { 0 };

  write_session ("aaaaaaaaaaaa", 4, 512 * 1024);
  g_assert_cmpuint (count_folders (), ==, 1);
  run_fork ("aaaaaaaaaaaa", &fork);
  g_assert_nonnull (fork.error);
  g_assert_null (fork.new_id);
  g_assert_cmpuint (fork.signals, >, 0);
  g_assert_cmpuint (fork.total, >=, 4 * 512 * 1024);
  g_assert_cmpuint (fork.copied, ==, fork.total);
  g_assert_cmpuint (count_folders (), ==, 1);
  g_clear_error (&fork.error);
}

/* CancelFork while it copies: the call fails as cancelled, the copy
 * stopped short of the total, and the partial copy is gone. */
static void
test_cancelled (void)
{
  Fork fork = { .cancel = TRUE };

  /* Many small files: a copy that takes longer than a round trip on the
   * bus however quick the disk. */
  write_session ("bbbbbbbbbbbb", 4000, 1024);
  run_fork ("bbbbbbbbbbbb", &fork);
  g_assert_error (fork.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (fork.copied, <, fork.total);
  g_assert_cmpuint (count_folders (), ==, 2);
  g_clear_error (&fork.error);
}

/* The disk fills up mid-copy: a clear error naming the file, and no half
 * session left on the full disk. */
static void
test_disk_full (void)
{
  g_autofree char *root = sessions_root ();
  Fork fork = { 0 };

  if (geteuid () != 0 || mount ("cloche-test", root, "tmpfs", 0, "size=1m") != 0)
    {
      g_test_skip ("Needs root, to mount a small tmpfs that fills up");
      return;
    }
  write_session ("cccccccccccc", 1, 700 * 1024);
  run_fork ("cccccccccccc", &fork);
  g_assert_error (fork.error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  g_assert_nonnull (strstr (fork.error->message, "file-0"));
  g_assert_nonnull (strstr (fork.error->message, "cccccccccccc"));
  g_assert_cmpuint (count_folders (), ==, 1);
  g_clear_error (&fork.error);
  g_assert_cmpint (umount2 (root, MNT_DETACH), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  daemon_under_test = cloche_test_daemon_start ((const char *[]) { NULL });

  g_test_add_func ("/sessions-fork/refused", test_refused);
  g_test_add_func ("/sessions-fork/fails-whole", test_fails_whole);
  g_test_add_func ("/sessions-fork/cancelled", test_cancelled);
  g_test_add_func ("/sessions-fork/disk-full", test_disk_full);
  status = g_test_run ();

  cloche_test_daemon_free (daemon_under_test);
  return status;
}
