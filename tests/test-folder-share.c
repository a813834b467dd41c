/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The virtiofsd command line a folder share runs, outside Flatpak (under
 * unshare, read-only by a bind mount in its own namespace) and inside it,
 * where seccomp refuses namespaces and mounts: there virtiofsd itself must
 * run unsandboxed and refuse writes (--readonly), and nothing may call
 * unshare or mount. Booting a VM over the shares is tests/test-vm-folders.c.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "cloche-folder-share-private.h"

static char *folder;

static GStrv
command (gboolean readonly,
         gboolean flatpak)
{
  g_autoptr(ClocheFolderShare) share = cloche_folder_share_new (folder, readonly,
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
  g_autofree char *shared_dir = g_strconcat ("--shared-dir=", folder, NULL);

  /* virtiofsd itself, no wrapper, its sandbox off, writes refused by it. */
  g_assert_cmpstr (ro[0], ==, g_getenv ("CLOCHE_VIRTIOFSD"));
  g_assert_true (g_strv_contains ((const char * const *) ro, shared_dir));
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

  /* Namespaces of its own; read-only is the kernel's, by a bind mount. */
  g_assert_true (g_str_has_suffix (ro[0], "/unshare"));
  g_assert_true (g_strv_contains ((const char * const *) ro, "--mount"));
  g_assert_true (has_arg_containing (ro, "remount,bind,ro"));
  g_assert_true (g_strv_contains ((const char * const *) ro, "sandbox=namespace"));
  g_assert_false (g_strv_contains ((const char * const *) ro, "--sandbox=none"));
  g_assert_false (has_arg_containing (rw, "remount,bind,ro"));
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  folder = g_dir_make_tmp ("cloche-share-XXXXXX", NULL);
  /* Any executable will do: nothing is started. */
  g_setenv ("CLOCHE_VIRTIOFSD", "/bin/true", TRUE);

  g_test_add_func ("/folder-share/flatpak", test_flatpak);
  g_test_add_func ("/folder-share/host", test_host);
  status = g_test_run ();
  g_rmdir (folder);
  g_free (folder);
  return status;
}
