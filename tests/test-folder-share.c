/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The virtiofsd command line a folder share runs, outside Flatpak (under
 * unshare, the pinned folder bound nosuid/nodev, read-only for a read-only
 * share, in its own namespace; a session's share as its guest user mapped
 * to ours) and inside it, where seccomp refuses
 * namespaces and mounts: there virtiofsd itself must run unsandboxed and
 * refuse writes (--readonly), and nothing may call unshare or mount. Then
 * the pin: a folder changed since it was checked is refused, and a real
 * virtiofsd started while another thread keeps swapping the folder's path
 * for a link to /etc serves the checked folder or nothing. Booting a VM
 * over the shares is tests/test-vm-folders.c.
 */
#define _GNU_SOURCE   /* renameat2 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-folder-share-private.h"

static char *folder;

static GStrv
command (gboolean readonly,
         gboolean flatpak)
{
  g_autoptr(ClochePinnedFolder) pinned = cloche_pinned_folder_new (folder, NULL);
  g_autoptr(ClocheFolderShare) share = cloche_folder_share_new (pinned, readonly,
                                                                "/nonexistent/share.sock");
  g_autoptr(GError) error = NULL;
  GStrv argv = cloche_folder_share_build_command (share, flatpak, &error);

  g_assert_no_error (error);
  g_assert_nonnull (argv);
  return argv;
}

static gboolean
has_arg_containing (GStrv       argv,
                    const char *text)
{
  for (guint i = 0; argv[i] != NULL; i++)
    if (strstr (argv[i], text) != NULL)
      return TRUE;
  return FALSE;
}

static void
test_flatpak (void)
{
  g_auto(GStrv) ro = command (TRUE, TRUE);
  g_auto(GStrv) rw = command (FALSE, TRUE);

  /* virtiofsd itself, no wrapper, its sandbox off, writes refused by it;
   * it serves the folder it starts in (the pinned one), not a path. */
  g_assert_true (g_str_has_suffix (ro[0], "virtiofsd"));
  g_assert_true (g_strv_contains ((const char * const *) ro, "--shared-dir=."));
  g_assert_false (has_arg_containing (ro, folder));
  g_assert_true (g_strv_contains ((const char * const *) ro, "--sandbox=none"));
  g_assert_true (g_strv_contains ((const char * const *) ro, "--readonly"));
  g_assert_true (g_strv_contains ((const char * const *) ro, "--fd=3"));
  g_assert_false (has_arg_containing (ro, "unshare"));
  g_assert_false (has_arg_containing (ro, "mount"));

  g_assert_true (g_strv_contains ((const char * const *) rw, "--sandbox=none"));
  g_assert_false (g_strv_contains ((const char * const *) rw, "--readonly"));
}

static void
test_host (void)
{
  g_auto(GStrv) ro = command (TRUE, FALSE);
  g_auto(GStrv) rw = command (FALSE, FALSE);

  /* Namespaces of its own; the folder it starts in is bound, no path
   * resolved again, nosuid and nodev; read-only is the kernel's. */
  g_assert_true (g_str_has_suffix (ro[0], "/unshare"));
  g_assert_true (g_strv_contains ((const char * const *) ro, "--mount"));
  g_assert_true (has_arg_containing (ro, "mount --no-canonicalize --bind . "));
  g_assert_true (has_arg_containing (ro, "remount,bind,nosuid,nodev,noexec$1"));
  g_assert_true (g_strv_contains ((const char * const *) ro, ",ro"));
  g_assert_false (g_strv_contains ((const char * const *) rw, ",ro"));
  g_assert_true (g_strv_contains ((const char * const *) ro, "sandbox=namespace"));
  g_assert_true (g_strv_contains ((const char * const *) ro, "source=/nonexistent/share.root"));
  g_assert_false (g_strv_contains ((const char * const *) ro, "--sandbox=none"));
  g_assert_false (has_arg_containing (ro, folder));
  /* No device nodes, no set-id bits kept on write, no file capabilities. */
  g_assert_true (g_strv_contains ((const char * const *) rw, "modcaps=-mknod:-fsetid:-setfcap"));
}

/* A folder whose path no longer leads to what was pinned is not shared. */
static void
test_changed (void)
{
  g_autofree char *dir = g_build_filename (folder, "pinned", NULL);
  g_autofree char *moved = g_build_filename (folder, "pinned.old", NULL);
  g_autoptr(ClochePinnedFolder) pinned = NULL;
  g_autoptr(ClocheFolderShare) share = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;

  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  pinned = cloche_pinned_folder_new (dir, &error);
  g_assert_no_error (error);
  share = cloche_folder_share_new (pinned, TRUE, "/nonexistent/share.sock");

  g_assert_cmpint (g_rename (dir, moved), ==, 0);
  g_assert_cmpint (symlink ("/etc", dir), ==, 0);
  argv = cloche_folder_share_build_command (share, FALSE, &error);
  g_assert_null (argv);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_CHANGED);
  g_assert_nonnull (strstr (error->message, "symbolic link (to /etc)"));
  g_clear_error (&error);

  /* Another folder in its place is another folder. */
  g_unlink (dir);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  argv = cloche_folder_share_build_command (share, FALSE, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_CHANGED);
  g_assert_nonnull (strstr (error->message, "another folder"));
  g_clear_error (&error);

  /* The pinned one back in its place is fine again. */
  g_rmdir (dir);
  g_assert_cmpint (g_rename (moved, dir), ==, 0);
  argv = cloche_folder_share_build_command (share, FALSE, &error);
  g_assert_no_error (error);
  g_rmdir (dir);
}

/* The race between check and use: a thread keeps exchanging the pinned
 * folder's name with a link to /etc (renameat2 RENAME_EXCHANGE, no bind
 * mount needed) while real virtiofsd processes start. Each start is
 * either refused (the check saw the link) or serves the pinned folder:
 * what is bound for virtiofsd in its namespace is that inode, whatever
 * the path says by then. */
typedef struct
{
  char          *a;
  char          *b;
  volatile gint  stop;
} Swapper;

static gpointer
swap_names (gpointer user_data)
{
  Swapper *swapper = user_data;

  /* A pause between swaps, so that some checks pass and the swap then
   * comes between the check and virtiofsd's start. */
  while (!g_atomic_int_get (&swapper->stop))
    {
      if (renameat2 (AT_FDCWD, swapper->a, AT_FDCWD, swapper->b, RENAME_EXCHANGE) != 0)
        g_error ("renameat2: %s", g_strerror (errno));
      g_usleep (1000);
    }
  return NULL;
}

static void
on_done (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* Returns: whether it started; if so, what virtiofsd would serve is @st. */
static gboolean
start_and_look (ClocheFolderShare *share,
                const char        *root_dir,
                struct stat       *st,
                GError           **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *served = NULL;
  gboolean started;

  cloche_folder_share_start_async (share, NULL, on_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  started = cloche_folder_share_start_finish (share, result, error);
  if (started)
    {
      /* Seen from inside virtiofsd's own mount namespace. */
      served = g_strdup_printf ("/proc/%d/root%s", (int) cloche_folder_share_get_pid (share),
                                root_dir);
      g_assert_cmpint (stat (served, st), ==, 0);
    }
  g_clear_object (&result);
  cloche_folder_share_stop_async (share, NULL, on_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return started;
}

static void
test_race (void)
{
  g_autofree char *dir = g_build_filename (folder, "raced", NULL);
  g_autofree char *link = g_build_filename (folder, "raced-link", NULL);
  g_autoptr(ClochePinnedFolder) pinned = NULL;
  Swapper swapper = { dir, link, 0 };
  GThread *thread = NULL;
  struct stat want;
  guint served = 0, refused = 0;

  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  g_assert_cmpint (symlink ("/etc", link), ==, 0);
  pinned = cloche_pinned_folder_new (dir, NULL);
  g_assert_nonnull (pinned);
  g_assert_cmpint (stat (dir, &want), ==, 0);

  /* i == 0 runs before the swaps begin: at least one start is looked at. */
  for (guint i = 0; i < 30; i++)
    {
      g_autofree char *socket = g_strdup_printf ("%s/race%u.sock", folder, i);
      g_autofree char *root_dir = g_strdup_printf ("%s/race%u.root", folder, i);
      g_autoptr(ClocheFolderShare) share = cloche_folder_share_new (pinned, TRUE, socket);
      g_autoptr(GError) error = NULL;
      struct stat st;

      if (i == 1)
        thread = g_thread_new ("swap", swap_names, &swapper);
      if (start_and_look (share, root_dir, &st, &error))
        {
          g_assert_cmpuint (st.st_dev, ==, want.st_dev);
          g_assert_cmpuint (st.st_ino, ==, want.st_ino);
          served++;
        }
      else
        {
          g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_CHANGED);
          refused++;
        }
    }
  g_atomic_int_set (&swapper.stop, 1);
  g_thread_join (thread);
  g_assert_cmpuint (served, >, 0);
  g_test_message ("30 starts, 29 during the swaps: %u served the pinned folder, %u refused",
                  served, refused);
  /* One is the folder, the other the link, whichever way they ended. */
  g_unlink (dir);
  g_unlink (link);
  g_rmdir (dir);
  g_rmdir (link);
}

/* A session's share: the one guest user mapped to ours, and the same
 * pinned bind, filter options and source as any other (the bind script
 * runs as that user, with the namespace's capabilities kept). */
static void
test_session_user (void)
{
  g_autoptr(ClochePinnedFolder) pinned = cloche_pinned_folder_new (folder, NULL);
  g_autoptr(ClocheFolderShare) share = cloche_folder_share_new (pinned, TRUE,
                                                                "/nonexistent/share.sock");
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) flatpak = NULL;
  g_autofree char *socket = g_build_filename (folder, "session.sock", NULL);
  g_autofree char *root_dir = g_build_filename (folder, "session.root", NULL);
  g_autoptr(ClocheFolderShare) started = cloche_folder_share_new (pinned, TRUE, socket);
  struct stat want, st;

  cloche_folder_share_set_guest_uid (share, 10003);
  cloche_folder_share_set_guest_uid (started, 10003);
  g_assert_cmpuint (cloche_folder_share_get_guest_uid (share), ==, 10003);
  argv = cloche_folder_share_build_command (share, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (argv[0], "/unshare"));
  g_assert_cmpstr (argv[1], ==, "--map-user=10003");
  g_assert_cmpstr (argv[2], ==, "--map-group=10003");
  g_assert_cmpstr (argv[3], ==, "--keep-caps");
  g_assert_cmpstr (argv[4], ==, "--mount");
  g_assert_false (g_strv_contains ((const char * const *) argv, "--map-root-user"));
  g_assert_true (has_arg_containing (argv, "mount --no-canonicalize --bind . "));
  g_assert_true (g_strv_contains ((const char * const *) argv, ",ro"));
  g_assert_true (g_strv_contains ((const char * const *) argv, "source=/nonexistent/share.root"));
  g_assert_true (g_strv_contains ((const char * const *) argv, "modcaps=-mknod:-fsetid:-setfcap"));
  g_assert_false (has_arg_containing (argv, folder));
  /* Flatpak maps no session user yet (ARCHITECTURE, "Not yet"). */
  flatpak = cloche_folder_share_build_command (share, TRUE, &error);
  g_assert_no_error (error);
  g_assert_false (has_arg_containing (flatpak, "map-"));

  /* And it runs: a real virtiofsd, started as that user, serves the
   * pinned folder. */
  g_assert_cmpint (stat (folder, &want), ==, 0);
  g_assert_true (start_and_look (started, root_dir, &st, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (st.st_dev, ==, want.st_dev);
  g_assert_cmpuint (st.st_ino, ==, want.st_ino);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  folder = g_dir_make_tmp ("cloche-share-XXXXXX", NULL);
  /* The real virtiofsd (qemu-system-common): the race test starts it. */
  g_unsetenv ("CLOCHE_VIRTIOFSD");

  g_test_add_func ("/folder-share/flatpak", test_flatpak);
  g_test_add_func ("/folder-share/host", test_host);
  g_test_add_func ("/folder-share/session-user", test_session_user);
  g_test_add_func ("/folder-share/changed", test_changed);
  g_test_add_func ("/folder-share/race", test_race);
  status = g_test_run ();
  g_rmdir (folder);
  g_free (folder);
  return status;
}
