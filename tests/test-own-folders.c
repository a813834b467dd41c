/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Cloche's own folders never nest, either way: by canonical path (a link
 * does not hide it), for folders that do not exist yet, and by device and
 * inode (a bind mount, which no path comparison sees; as root only).
 */
#include "config.h"

#include <glib/gstdio.h>
#include <sys/mount.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-own-folders.h"

static char *root;

static char *
at (const char *relative)
{
  return g_build_filename (root, relative, NULL);
}

static GPtrArray *
folders (void)
{
  g_autofree char *bundle = at ("data/bundle");
  g_autofree char *sessions = at ("state/sessions");

  return cloche_own_folders_new (bundle, sessions);
}

static void
assert_nested (const char *relative,
               const char *says)
{
  g_autoptr(GPtrArray) own = folders ();
  g_autofree char *path = at (relative);
  g_autoptr(GError) error = NULL;

  g_assert_false (cloche_own_folders_check_apart (own, "bundle", path, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FOLDERS_NESTED);
  if (strstr (error->message, says) == NULL)
    g_error ("\"%s\" does not say \"%s\"", error->message, says);
}

static void
assert_apart (const char *relative)
{
  g_autoptr(GPtrArray) own = folders ();
  g_autofree char *path = at (relative);
  g_autoptr(GError) error = NULL;

  g_assert_true (cloche_own_folders_check_apart (own, "bundle", path, &error));
  g_assert_no_error (error);
}

static void
test_paths (void)
{
  g_autofree char *sessions = at ("state/sessions");
  g_autofree char *link = at ("innocent");

  g_assert_cmpint (g_mkdir_with_parents (sessions, 0700), ==, 0);
  assert_nested ("state/sessions/bundle", "inside Cloche's sessions folder");
  assert_nested ("state/sessions/not/yet/there", "inside Cloche's sessions folder");
  assert_nested ("state/sessions", "inside Cloche's sessions folder");
  assert_nested ("state", "sessions folder");
  assert_nested ("state/./sessions/../sessions/x", "inside");
  /* The moving folder is not compared with where it is now. */
  assert_apart ("data/bundle/sub");
  assert_apart ("elsewhere/bundle");
  assert_apart ("state/other");
  /* The data folder holds the default bundle: it may. */
  assert_apart ("xdg-data/cloche/bundle");
  /* Not the tools folder agents are installed in, though, nor around it. */
  assert_nested ("xdg-data/cloche/tools/bundle", "inside Cloche's tools folder");
  assert_nested ("xdg-data/cloche", "Cloche's tools folder");

  /* A link to the sessions folder is the sessions folder. */
  g_assert_cmpint (symlink (sessions, link), ==, 0);
  assert_nested ("innocent/bundle", "inside Cloche's sessions folder");
}

/* Another name for the same folder, which only its inode gives away. */
static void
test_bind_mount (void)
{
  g_autofree char *sessions = at ("state/sessions");
  g_autofree char *alias = at ("alias");

  if (geteuid () != 0)
    {
      g_test_skip ("a bind mount needs root");
      return;
    }
  g_assert_cmpint (g_mkdir_with_parents (sessions, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (alias, 0700), ==, 0);
  if (mount (sessions, alias, NULL, MS_BIND, NULL) != 0)
    {
      g_test_skip ("bind mounts are refused here");
      return;
    }
  assert_nested ("alias/bundle", "inside Cloche's sessions folder");
  g_assert_cmpint (umount (alias), ==, 0);
  assert_apart ("alias/bundle");
}

/* A folder shared with the guest is none of Cloche's, inside none, holds none. */
static void
test_outside (void)
{
  static const char * const refused[] = { "state", "state/sessions", "state/sessions/abc/work",
                                          "data", "data/bundle/kernel", "xdg-data",
                                          "xdg-data/cloche/x", NULL };
  static const char * const allowed[] = { "project", "state-of-the-art", "data2", NULL };
  g_autoptr(GPtrArray) own = folders ();

  for (guint i = 0; refused[i] != NULL; i++)
    {
      g_autofree char *path = at (refused[i]);
      g_autoptr(GError) error = NULL;

      g_assert_false (cloche_own_folders_check_outside (own, path, &error));
      g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED);
      g_assert_nonnull (strstr (error->message, "must not reach"));
    }
  for (guint i = 0; allowed[i] != NULL; i++)
    {
      g_autofree char *path = at (allowed[i]);
      g_autoptr(GError) error = NULL;

      g_assert_true (cloche_own_folders_check_outside (own, path, &error));
      g_assert_no_error (error);
    }
}

/* The tools folder is named as such when a user asks to mount it, or a
 * folder in it: agents' packages are installed there (cloche-tools.c). */
static void
test_tools_outside (void)
{
  static const char * const refused[] = { "xdg-data/cloche/tools", "xdg-data/cloche/tools/bin",
                                          NULL };
  g_autoptr(GPtrArray) own = folders ();

  for (guint i = 0; refused[i] != NULL; i++)
    {
      g_autofree char *path = at (refused[i]);
      g_autoptr(GError) error = NULL;

      g_assert_false (cloche_own_folders_check_outside (own, path, &error));
      g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED);
      if (strstr (error->message, "inside Cloche's tools folder") == NULL)
        g_error ("\"%s\" does not name the tools folder", error->message);
    }
}

int
main (int   argc,
      char *argv[])
{
  int status;
  const char *rm[] = { "rm", "-rf", NULL, NULL };

  g_test_init (&argc, &argv, NULL);
  root = g_dir_make_tmp ("cloche-own-XXXXXX", NULL);
  {
    g_autofree char *data = at ("xdg-data");

    /* Before GLib reads it: the data folder is the test's. */
    g_setenv ("XDG_DATA_HOME", data, TRUE);
  }
  g_test_add_func ("/own-folders/paths", test_paths);
  g_test_add_func ("/own-folders/bind-mount", test_bind_mount);
  g_test_add_func ("/own-folders/outside", test_outside);
  g_test_add_func ("/own-folders/tools-outside", test_tools_outside);
  status = g_test_run ();
  rm[2] = root;
  g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  g_free (root);
  return status;
}
