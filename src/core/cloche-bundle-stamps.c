/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the check before each boot remembers, so that it hashes a boot file
 * only when it changed: the file's device, inode, size, mtime and ctime at
 * the moment its sha256 was found to be the manifest's, with that sha256.
 * Any write to the file, or a file put in its place, moves its ctime or its
 * inode; nobody but the kernel sets a ctime. A stamp younger than two
 * seconds is not kept (a second change in the same tick would not show).
 *
 * Kept in $XDG_CACHE_HOME/cloche/bundle-stamps, one line a file:
 *   cloche-bundle-stamps 1
 *   SHA256 DEV INO SIZE MTIME_NS CTIME_NS
 * It is a hint: a file that cannot be read, or does not parse in every
 * byte, counts as empty, and the files are hashed again. Whoever can write
 * that folder could forge it, as they could rewrite bundle.json, which says
 * where the bundle is: Cloche's own folders are trusted as a whole.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "cloche-bundle-stamps.h"
#include "cloche-file.h"

#define HEADER "cloche-bundle-stamps 1"
#define MAX_FILE_SIZE 65536
#define MAX_STAMPS 64

void
cloche_bundle_stamp_init (ClocheBundleStamp *stamp,
                          const struct stat *st,
                          const char        *sha256)
{
  memset (stamp, 0, sizeof *stamp);
  g_strlcpy (stamp->sha256, sha256, sizeof stamp->sha256);
  stamp->dev = st->st_dev;
  stamp->ino = st->st_ino;
  stamp->size = st->st_size;
  stamp->mtime_ns = (gint64) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
  stamp->ctime_ns = (gint64) st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

gboolean
cloche_bundle_stamp_equal (const ClocheBundleStamp *a,
                           const ClocheBundleStamp *b)
{
  return g_str_equal (a->sha256, b->sha256) && a->dev == b->dev && a->ino == b->ino
         && a->size == b->size && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

gboolean
cloche_bundle_stamp_settled (const ClocheBundleStamp *stamp,
                             gint64                   now_ns)
{
  return now_ns - stamp->mtime_ns >= CLOCHE_BUNDLE_STAMP_SETTLE_NS
         && now_ns - stamp->ctime_ns >= CLOCHE_BUNDLE_STAMP_SETTLE_NS;
}

static gboolean
cloche_bundle_stamps_parse_unsigned (const char *text,
                                     guint64    *value)
{
  /* Digits only: g_ascii_string_to_unsigned would take a sign. */
  return text[0] != '\0' && strspn (text, "0123456789") == strlen (text)
         && g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, value, NULL);
}

static gboolean
cloche_bundle_stamps_parse_line (const char        *line,
                                 ClocheBundleStamp *stamp)
{
  g_auto(GStrv) fields = g_strsplit (line, " ", -1);
  guint64 numbers[5];

  if (g_strv_length (fields) != 6 || strlen (fields[0]) != 64
      || strspn (fields[0], "0123456789abcdef") != 64)
    return FALSE;
  for (guint i = 0; i < 5; i++)
    if (!cloche_bundle_stamps_parse_unsigned (fields[i + 1], &numbers[i]))
      return FALSE;
  if (numbers[3] > G_MAXINT64 || numbers[4] > G_MAXINT64)
    return FALSE;
  g_strlcpy (stamp->sha256, fields[0], sizeof stamp->sha256);
  stamp->dev = numbers[0];
  stamp->ino = numbers[1];
  stamp->size = numbers[2];
  stamp->mtime_ns = (gint64) numbers[3];
  stamp->ctime_ns = (gint64) numbers[4];
  return TRUE;
}

/**
 * cloche_bundle_stamps_parse:
 * @text: (array length=length): the file's bytes
 *
 * Returns: (transfer full) (element-type ClocheBundleStamp): the stamps,
 *   none at all unless every line is right
 */
GArray *
cloche_bundle_stamps_parse (const char *text,
                            gsize       length)
{
  GArray *stamps = g_array_new (FALSE, TRUE, sizeof (ClocheBundleStamp));
  g_autofree char *copy = NULL;
  g_auto(GStrv) lines = NULL;
  guint n;

  if (text == NULL || length == 0 || memchr (text, '\0', length) != NULL
      || text[length - 1] != '\n')
    return stamps;
  copy = g_strndup (text, length - 1);
  lines = g_strsplit (copy, "\n", -1);
  n = g_strv_length (lines);
  /* "\n" alone splits into no line at all (tests/fuzz/bundle-stamps). */
  if (n == 0 || n > MAX_STAMPS + 1 || !g_str_equal (lines[0], HEADER))
    return stamps;
  for (guint i = 1; i < n; i++)
    {
      ClocheBundleStamp stamp;

      if (!cloche_bundle_stamps_parse_line (lines[i], &stamp))
        {
          g_array_set_size (stamps, 0);
          return stamps;
        }
      g_array_append_val (stamps, stamp);
    }
  return stamps;
}

char *
cloche_bundle_stamps_format (GArray *stamps)
{
  GString *text = g_string_new (HEADER "\n");

  for (guint i = 0; i < stamps->len && i < MAX_STAMPS; i++)
    {
      const ClocheBundleStamp *stamp = &g_array_index (stamps, ClocheBundleStamp, i);

      g_string_append_printf (text, "%s %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                              " %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n",
                              stamp->sha256, stamp->dev, stamp->ino, stamp->size,
                              stamp->mtime_ns, stamp->ctime_ns);
    }
  return g_string_free (text, FALSE);
}

gboolean
cloche_bundle_stamps_contain (GArray                  *stamps,
                              const ClocheBundleStamp *stamp)
{
  for (guint i = 0; i < stamps->len; i++)
    if (cloche_bundle_stamp_equal (&g_array_index (stamps, ClocheBundleStamp, i), stamp))
      return TRUE;
  return FALSE;
}

/* Never an error: without stamps, the files are hashed. */
GArray *
cloche_bundle_stamps_load (const char *path)
{
  g_autoptr(GBytes) bytes = cloche_file_read (AT_FDCWD, path, MAX_FILE_SIZE, "stamps file",
                                              CLOCHE_FILE_NO_FOLLOW, NULL);
  gsize length = 0;
  const char *text = bytes != NULL ? g_bytes_get_data (bytes, &length) : NULL;

  return cloche_bundle_stamps_parse (text, length);
}

/* Written to a new file renamed over the old one (never through a link
 * put in its place); a failure costs a hash at the next boot, nothing else. */
void
cloche_bundle_stamps_save (const char *path,
                           GArray     *stamps)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *text = cloche_bundle_stamps_format (stamps);
  g_autoptr(GError) error = NULL;

  if (g_mkdir_with_parents (dir, 0700) != 0
      || !g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                    &error))
    g_debug ("Cannot keep the bundle's stamps in %s: %s", path,
             error != NULL ? error->message : g_strerror (errno));
}
