/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The paths the MCP tools accept: relative to the session folder
 * (/sessions/<id> in the guest, where commands start; a mounted folder is
 * mnt/NAME/…) or absolute inside it. Anything else is refused before
 * anything runs, with a sentence that says what to give instead.
 *
 * This is the first check, for clear errors, not the wall: the path is
 * resolved as text ("." and ".." folded), so a symbolic link inside the
 * session can still lead elsewhere in the guest. What a session's commands
 * can reach at all (and so what the file tools, which run as its
 * commands, can) is the guest's business: each session's processes see
 * only their own /sessions/<id>, and the mounts' modes are enforced on
 * the host. Pure functions, for unit tests.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cloche-error.h"
#include "clochectl-mcp-path.h"

static gboolean
clochectl_mcp_path_refuse (GError     **error,
                           const char  *path,
                           const char  *session_dir,
                           const char  *why)
{
  g_autofree char *shown = g_utf8_make_valid (path, MIN (strlen (path), 200));

  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
               _("The path \"%s\" %s. Give a path relative to the session folder %s "
                 "(such as \"notes.txt\", or \"mnt/NAME/file\" for a mounted folder), "
                 "or an absolute path inside it."),
               shown, why, session_dir);
  return FALSE;
}

/* "." and ".." folded, as text: /a/./b/../c → /a/c; above / stays at /. */
static char *
clochectl_mcp_path_fold (const char *absolute)
{
  g_auto(GStrv) parts = g_strsplit (absolute, "/", -1);
  g_autoptr(GPtrArray) kept = g_ptr_array_new ();
  GString *out = g_string_new (NULL);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (parts[i][0] == '\0' || g_str_equal (parts[i], "."))
        continue;
      if (g_str_equal (parts[i], ".."))
        {
          if (kept->len > 0)
            g_ptr_array_remove_index (kept, kept->len - 1);
          continue;
        }
      g_ptr_array_add (kept, parts[i]);
    }
  for (guint i = 0; i < kept->len; i++)
    g_string_append_printf (out, "/%s", (const char *) g_ptr_array_index (kept, i));
  if (out->len == 0)
    g_string_append_c (out, '/');
  return g_string_free (out, FALSE);
}

/**
 * clochectl_mcp_path_resolve:
 * @session_dir: the session folder in the guest, "/sessions/<id>"
 * @path: as the model gave it
 *
 * Returns: (transfer full): the absolute guest path, or %NULL with an
 *   error that names the path and says what to give instead
 */
char *
clochectl_mcp_path_resolve (const char  *session_dir,
                            const char  *path,
                            GError     **error)
{
  g_autofree char *joined = NULL;
  g_autofree char *folded = NULL;
  gsize dir_length = strlen (session_dir);

  if (path == NULL || path[0] == '\0')
    {
      clochectl_mcp_path_refuse (error, "", session_dir, _("is empty"));
      return NULL;
    }
  if (strlen (path) > CLOCHECTL_MCP_PATH_MAX || !g_utf8_validate (path, -1, NULL))
    {
      clochectl_mcp_path_refuse (error, path, session_dir,
                                 _("is longer than 4096 bytes or not UTF-8"));
      return NULL;
    }
  joined = path[0] == '/' ? g_strdup (path) : g_strdup_printf ("%s/%s", session_dir, path);
  folded = clochectl_mcp_path_fold (joined);
  if (strncmp (folded, session_dir, dir_length) != 0
      || (folded[dir_length] != '\0' && folded[dir_length] != '/'))
    {
      clochectl_mcp_path_refuse (error, path, session_dir, _("is outside the session folder"));
      return NULL;
    }
  return g_steal_pointer (&folded);
}

/* A resolved path as the model should write it: "." or relative. */
char *
clochectl_mcp_path_relative (const char *session_dir,
                             const char *guest_path)
{
  gsize dir_length = strlen (session_dir);

  if (strncmp (guest_path, session_dir, dir_length) != 0)
    return g_strdup (guest_path);
  if (guest_path[dir_length] == '\0')
    return g_strdup (".");
  return g_strdup (guest_path + dir_length + 1);
}

/* The mounted folder's name a resolved path is in ("mnt/NAME/…"), or NULL. */
char *
clochectl_mcp_path_mount_of (const char *session_dir,
                             const char *guest_path)
{
  g_autofree char *relative = clochectl_mcp_path_relative (session_dir, guest_path);
  const char *slash;

  if (!g_str_has_prefix (relative, "mnt/") || relative[4] == '\0')
    return NULL;
  slash = strchr (relative + 4, '/');
  return slash != NULL ? g_strndup (relative + 4, slash - relative - 4) : g_strdup (relative + 4);
}
