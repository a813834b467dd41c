/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-mount-check.h"
#include "cloche-own-folders.h"

typedef struct
{
  char             *home;
  ClocheMountRules  rules;
} Fixture;

static void
make_dir (Fixture    *fixture,
          const char *relative)
{
  g_autofree char *path = g_build_filename (fixture->home, relative, NULL);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("cloche-home-XXXXXX", &error);

  g_assert_no_error (error);
  /* Canonical, so that paths compare even where /tmp is a link. */
  fixture->home = realpath (tmp, NULL);
  fixture->rules = *cloche_mount_rules_default ();
  fixture->rules.home = fixture->home;
  make_dir (fixture, "project/src");
  make_dir (fixture, ".ssh");
  make_dir (fixture, ".local/share/keyrings");
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", fixture->home);

  g_assert_cmpint (system (command), ==, 0);
  free (fixture->home);
}

static char *
check (Fixture     *fixture,
       const char  *relative,
       GError     **error)
{
  g_autofree char *path = g_build_filename (fixture->home, relative, NULL);

  return cloche_mount_check (path, &fixture->rules, error);
}

static void
test_allowed (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *canonical = check (fixture, "project/src/../src", &error);
  g_autofree char *expected = g_build_filename (fixture->home, "project", "src", NULL);

  g_assert_no_error (error);
  g_assert_cmpstr (canonical, ==, expected);
}

static void
assert_refused (Fixture    *fixture,
                const char *relative,
                const char *rule_text)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *canonical = check (fixture, relative, &error);

  g_assert_null (canonical);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED);
  if (strstr (error->message, rule_text) == NULL)
    g_error ("\"%s\" does not name the rule \"%s\"", error->message, rule_text);
}

static void
test_denied (Fixture       *fixture,
             gconstpointer  data)
{
  assert_refused (fixture, ".ssh", "\"~/.ssh\"");
  assert_refused (fixture, ".local/share/keyrings", "\"~/.local/share/keyrings\"");
}

/* The home folder holds ~/.ssh: mounting it would hand over the keys. */
static void
test_containing_denied (Fixture       *fixture,
                        gconstpointer  data)
{
  assert_refused (fixture, "", "\"~/.ssh\"");
  assert_refused (fixture, ".local", "\"~/.local/share/keyrings\"");
}

static void
test_symlink_resolved (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *to_ssh = g_build_filename (fixture->home, "project", "keys", NULL);
  g_autofree char *to_etc = g_build_filename (fixture->home, "project", "etc", NULL);
  g_autofree char *ssh = g_build_filename (fixture->home, ".ssh", NULL);

  g_assert_cmpint (symlink (ssh, to_ssh), ==, 0);
  g_assert_cmpint (symlink ("/etc", to_etc), ==, 0);
  assert_refused (fixture, "project/keys", "\"~/.ssh\"");
  assert_refused (fixture, "project/etc", "\"/etc\"");
}

static void
test_outside_home (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *canonical = NULL;

  g_assert_null (cloche_mount_check ("/usr/share", &fixture->rules, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED);
  g_assert_true (strstr (error->message, "outside your home folder") != NULL);
  g_clear_error (&error);

  fixture->rules.allow_outside_home = TRUE;
  canonical = cloche_mount_check ("/usr/share", &fixture->rules, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (canonical, ==, "/usr/share");

  g_assert_null (cloche_mount_check ("/", &fixture->rules, NULL));
  g_assert_null (cloche_mount_check ("/etc/ssl", &fixture->rules, NULL));
}

static void
test_bad_paths (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *file = g_build_filename (fixture->home, "project", "notes.txt", NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (file, "x", -1, NULL);
  assert_refused (fixture, "project/notes.txt", "not a folder");
  assert_refused (fixture, "missing", "No such file or directory");
  g_assert_null (cloche_mount_check ("relative/path", &fixture->rules, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED);
}

/* A folder picked through the document portal (Flatpak): the portal's FUSE
 * path, with the host path in the extended attribute the portal sets. */
static char *
portal_folder (const char *host_path)
{
  g_autofree char *folder = g_build_filename (g_get_user_runtime_dir (), "doc", "a1b2c3",
                                              "Projects", NULL);

  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  removexattr (folder, "user.document-portal.host-path");
  if (host_path != NULL
      && setxattr (folder, "user.document-portal.host-path", host_path, strlen (host_path), 0)
         != 0)
    return NULL;
  return g_steal_pointer (&folder);
}

static void
test_portal_folder (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *inside = g_build_filename (fixture->home, "project", NULL);
  g_autofree char *ssh = g_build_filename (fixture->home, ".ssh", NULL);
  g_autofree char *folder = portal_folder (inside);
  g_autofree char *canonical = NULL;
  g_autofree char *again = NULL;
  g_autoptr(GError) error = NULL;

  if (folder == NULL)
    {
      g_test_skip ("this file system keeps no user extended attributes");
      return;
    }
  /* Outside home as a path, inside it where it really lives: allowed, and
   * the portal path is what gets mounted. */
  canonical = cloche_mount_check (folder, &fixture->rules, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (canonical, ==, folder);

  /* ~/.ssh picked through the portal is still ~/.ssh. */
  again = portal_folder (ssh);
  g_assert_nonnull (again);
  g_assert_null (cloche_mount_check (folder, &fixture->rules, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED);
  g_assert_nonnull (strstr (error->message, "\"~/.ssh\""));
  g_clear_error (&error);

  /* A portal that does not say where the folder is: no rule can be checked. */
  g_free (portal_folder (NULL));
  g_assert_null (cloche_mount_check (folder, &fixture->rules, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED);
  g_assert_nonnull (strstr (error->message, "document portal"));
}

/* Cloche's own folders (here the test's XDG folders, set in main, and a
 * bundle and sessions folder in them) hold the policy, the sessions'
 * records, the audit log and the bundle: a guest with them mounted rw
 * rewrites its own egress rules. Refused both ways, by any path (a link, the
 * document portal), whatever the policy's deny list says (here: none). */
static void
test_own_folders (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *config = g_path_get_dirname (g_get_user_config_dir ());
  g_autofree char *own = g_build_filename (g_get_user_config_dir (), "cloche", NULL);
  g_autofree char *inside = g_build_filename (own, "sub", NULL);
  g_autofree char *sessions = g_build_filename (g_get_user_state_dir (), "cloche", "sessions",
                                                NULL);
  g_autofree char *work = g_build_filename (sessions, "abc", "work", NULL);
  g_autofree char *bundle = g_build_filename (g_get_user_data_dir (), "cloche", "bundle", NULL);
  g_autofree char *other = g_build_filename (g_get_user_config_dir (), "other", NULL);
  g_autofree char *link = g_build_filename (fixture->home, "dotfiles", NULL);
  const char *refused[] = { g_get_user_config_dir (), config, own, inside, work, bundle, link,
                            g_get_user_data_dir () };
  g_autoptr(GPtrArray) folders = cloche_own_folders_new (bundle, sessions);
  g_autofree char *allowed = NULL;
  g_autofree char *portal = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (inside, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (work, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (bundle, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (other, 0700), ==, 0);
  g_assert_cmpint (symlink (g_get_user_config_dir (), link), ==, 0);
  fixture->rules.deny = NULL;
  fixture->rules.allow_outside_home = TRUE;
  fixture->rules.own = folders;

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_assert_null (cloche_mount_check (refused[i], &fixture->rules, &error));
      g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED);
      g_assert_nonnull (strstr (error->message, "which the guest must not reach"));
      g_clear_error (&error);
    }
  /* Through the portal, the host path is what is judged. */
  portal = portal_folder (own);
  if (portal != NULL)
    {
      g_assert_null (cloche_mount_check (portal, &fixture->rules, &error));
      g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED);
      g_assert_nonnull (strstr (error->message, "config folder"));
      g_clear_error (&error);
    }
  allowed = cloche_mount_check (other, &fixture->rules, &error);
  g_assert_no_error (error);
  g_assert_nonnull (allowed);
}

/* Not UTF-8, as given or behind a link: refused with a clear error rather
 * than recorded (criticals and a damaged record, before). */
static void
test_not_utf8 (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *odd = g_build_filename (fixture->home, "caf\xe9", NULL);
  g_autofree char *link = g_build_filename (fixture->home, "cafe", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *canonical = NULL;

  g_assert_cmpint (g_mkdir (odd, 0700), ==, 0);
  g_assert_cmpint (symlink (odd, link), ==, 0);

  canonical = cloche_mount_check (odd, &fixture->rules, &error);
  g_assert_null (canonical);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_nonnull (strstr (error->message, "caf\\351"));
  g_assert_nonnull (strstr (error->message, "not valid UTF-8"));
  g_clear_error (&error);

  canonical = cloche_mount_check (link, &fixture->rules, &error);
  g_assert_null (canonical);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_nonnull (strstr (error->message, link));
  g_assert_nonnull (strstr (error->message, "rename that folder"));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *runtime = g_dir_make_tmp ("cloche-runtime-XXXXXX", NULL);
  g_autofree char *remove = g_strdup_printf ("rm -rf '%s'", runtime);
  int status;

  g_autofree char *xdg = g_build_filename (runtime, "xdg", NULL);
  const char *xdg_vars[][2] = {
    { "XDG_CONFIG_HOME", "config" }, { "XDG_STATE_HOME", "state" },
    { "XDG_DATA_HOME", "data" }, { "XDG_CACHE_HOME", "cache" },
  };

  /* The document portal's folders live in the runtime folder; Cloche's own
   * folders in the XDG folders, here the test's (before GLib reads them). */
  g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (xdg_vars); i++)
    {
      g_autofree char *dir = g_build_filename (xdg, xdg_vars[i][1], NULL);

      g_setenv (xdg_vars[i][0], dir, TRUE);
    }
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/mount-check/allowed", test_allowed);
  ADD ("/mount-check/denied", test_denied);
  ADD ("/mount-check/containing-denied", test_containing_denied);
  ADD ("/mount-check/symlink-resolved", test_symlink_resolved);
  ADD ("/mount-check/outside-home", test_outside_home);
  ADD ("/mount-check/bad-paths", test_bad_paths);
  ADD ("/mount-check/portal-folder", test_portal_folder);
  ADD ("/mount-check/own-folders", test_own_folders);
  ADD ("/mount-check/not-utf8", test_not_utf8);
#undef ADD

  status = g_test_run ();
  g_assert_cmpint (system (remove), ==, 0);
  return status;
}
