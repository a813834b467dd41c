/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Validation of a host folder before anything is attached: the canonical
 * path (every symlink resolved, so a link cannot smuggle in what its target
 * would not pass), then the deny list in both directions (the folder must
 * not be a denied one, inside one, or contain one: mounting ~ would hand
 * over ~/.ssh), then home. Each refusal names the rule. Then one rule no
 * policy can lift: Cloche's own folders (cloche-own-folders.c), both ways,
 * judged by the same host path as the policy's rules.
 *
 * A path that is not UTF-8 (as given, or once its links are resolved) is
 * refused: the session record, D-Bus, the audit log and every message carry
 * paths as UTF-8 text, and a name that cannot be one would reach them as
 * GLib criticals and a damaged record. The user renames the folder.
 *
 * Inside Flatpak a folder the user picked comes through the document
 * portal as $XDG_RUNTIME_DIR/doc/ID/NAME, which says nothing of where it
 * lives; the portal records the host path in an extended attribute, and the
 * rules judge that one (picking ~/.ssh in the portal must not slip past the
 * deny list). The portal path is what gets mounted: it is the one the
 * sandbox can open.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <stdlib.h>
#include <sys/xattr.h>

#include "cloche-error.h"
#include "cloche-mount-check.h"
#include "cloche-own-folders.h"

static const char * const default_deny[] = {
  "~/.ssh", "~/.gnupg", "~/.local/share/keyrings", "/", "/etc", NULL
};

const ClocheMountRules *
cloche_mount_rules_default (void)
{
  static const ClocheMountRules rules = { NULL, default_deny, FALSE, NULL };

  return &rules;
}

static char *
cloche_mount_expand_home (const char *rule,
                          const char *home)
{
  if (g_str_equal (rule, "~"))
    return g_strdup (home);
  if (g_str_has_prefix (rule, "~/"))
    return g_build_filename (home, rule + 2, NULL);
  return g_strdup (rule);
}

/* TRUE when @path is @dir or below it. */
static gboolean
cloche_mount_is_within (const char *path,
                        const char *dir)
{
  gsize length = strlen (dir);

  if (g_str_equal (dir, "/"))
    return TRUE;
  return strncmp (path, dir, length) == 0 && (path[length] == '\0' || path[length] == '/');
}

static gboolean
cloche_mount_check_deny (const char              *canonical,
                         const char              *home,
                         const ClocheMountRules  *rules,
                         GError                 **error)
{
  for (guint i = 0; rules->deny != NULL && rules->deny[i] != NULL; i++)
    {
      g_autofree char *denied = cloche_mount_expand_home (rules->deny[i], home);
      /* "/" denies only itself: everything is below it. */
      gboolean hit =
        g_str_equal (denied, "/") ? g_str_equal (canonical, "/")
                     : cloche_mount_is_within (canonical,
                                               denied) || cloche_mount_is_within (denied,
                                                                                  canonical);

      if (hit)
        {
          g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED,
                       _("%s cannot be mounted: the deny rule \"%s\" covers %s"),
                       canonical, rules->deny[i], denied);
          return FALSE;
        }
    }
  return TRUE;
}

#define PORTAL_HOST_PATH_XATTR "user.document-portal.host-path"

/* The host folder behind a document portal path; NULL without an error when
 * @canonical is not one. */
static char *
cloche_mount_portal_host_path (const char  *canonical,
                               GError     **error)
{
  g_autofree char *documents = g_build_filename (g_get_user_runtime_dir (), "doc", NULL);
  char value[4096];
  ssize_t length;

  if (!cloche_mount_is_within (canonical, documents) || g_str_equal (canonical, documents))
    return NULL;
  length = getxattr (canonical, PORTAL_HOST_PATH_XATTR, value, sizeof value - 1);
  if (length <= 0 || value[0] != '/')
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED,
                   _("%s cannot be mounted: the document portal does not say which folder it "
                     "is, so the policy cannot be checked (update xdg-desktop-portal)"),
                   canonical);
      return NULL;
    }
  value[length] = '\0';
  return g_strdup (value);
}

/* Shown with its bad bytes escaped, since it cannot be shown as it is. */
static gboolean
cloche_mount_check_utf8 (const char  *given,
                         const char  *path,
                         GError     **error)
{
  g_autofree char *shown = NULL;

  if (g_utf8_validate (path, -1, NULL))
    return TRUE;
  shown = g_strescape (path, NULL);
  if (g_str_equal (given, path))
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED,
                 _("\"%s\" cannot be mounted: its name is not valid UTF-8, which Cloche cannot "
                   "record or show; rename the folder"), shown);
  else
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED,
                 _("%s cannot be mounted: it is the folder \"%s\", whose name is not valid "
                   "UTF-8, which Cloche cannot record or show; rename that folder"), given, shown);
  return FALSE;
}

static char *
cloche_mount_canonicalize (const char  *path,
                           GError     **error)
{
  char *resolved;

  if (!cloche_mount_check_utf8 (path, path, error))
    return NULL;
  if (!g_path_is_absolute (path))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED,
                   _("%s cannot be mounted: give an absolute path"), path);
      return NULL;
    }
  resolved = realpath (path, NULL);
  if (resolved == NULL)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED,
                   _("%s cannot be mounted: %s"), path, g_strerror (errno));
      return NULL;
    }
  if (!cloche_mount_check_utf8 (path, resolved, error))
    {
      free (resolved);
      return NULL;
    }
  if (!g_file_test (resolved, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED,
                   _("%s cannot be mounted: it is not a folder"), path);
      free (resolved);
      return NULL;
    }
  return resolved;
}

/**
 * cloche_mount_check:
 * @path: an absolute host path, as the user gave it
 *
 * Returns: (transfer full): the canonical path to mount, or %NULL with
 *   %CLOCHE_ERROR_MOUNT_REFUSED naming the rule that refused it
 */
char *
cloche_mount_check (const char              *path,
                    const ClocheMountRules  *rules,
                    GError                 **error)
{
  g_autofree char *canonical = NULL;
  g_autofree char *host = NULL;
  g_autofree char *home = NULL;
  GError *local_error = NULL;
  const char *judged;
  char *resolved;

  resolved = cloche_mount_canonicalize (path, error);
  if (resolved == NULL)
    return NULL;
  canonical = g_strdup (resolved);
  free (resolved);
  host = cloche_mount_portal_host_path (canonical, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }
  judged = host != NULL ? host : canonical;
  if (!cloche_mount_check_utf8 (canonical, judged, error))
    return NULL;

  resolved = realpath (rules->home != NULL ? rules->home : g_get_home_dir (), NULL);
  home = g_strdup (resolved != NULL ? resolved : g_get_home_dir ());
  free (resolved);

  /* The policy's deny list first: its refusals name the rule a user wrote. */
  if (!cloche_mount_check_deny (judged, home, rules, error)
      || (rules->own != NULL && !cloche_own_folders_check_outside (rules->own, judged, error)))
    return NULL;
  if (!rules->allow_outside_home && !cloche_mount_is_within (judged, home))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED,
                   _("%s cannot be mounted: it is outside your home folder %s, and the "
                     "policy does not allow folders outside home"), judged, home);
      return NULL;
    }
  return g_steal_pointer (&canonical);
}
