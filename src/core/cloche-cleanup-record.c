/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The last cleanup of stale sessions (when, how many sessions, how many
 * bytes), kept across restarts in one small JSON file beside the sessions
 * folder, so that the Overview can say it after the daemon comes back.
 *
 * The file is untrusted like every file on disk: read without following
 * a link, at most CLOCHE_CLEANUP_RECORD_MAX_BYTES, each number of its
 * JSON type and range; anything else is refused with the file and the
 * key named, and the record reads as no cleanup. Written whole with
 * g_file_set_contents() (a new file renamed over the old), never in place.
 *
 * As a variant it is an a{sv}: "time" x (CLOCK_REALTIME µs), "removed" u,
 * "freed" t; empty for "never".
 */
#include "config.h"

#include <inttypes.h>

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <unistd.h>

#include "cloche-cleanup-record.h"
#include "cloche-error.h"

/**
 * cloche_cleanup_record_new:
 *
 * Returns: (transfer floating): the record as an a{sv}
 */
GVariant *
cloche_cleanup_record_new (gint64  time,
                           guint   removed,
                           guint64 freed)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "time", "x", time);
  g_variant_dict_insert (&dict, "removed", "u", removed);
  g_variant_dict_insert (&dict, "freed", "t", freed);
  return g_variant_dict_end (&dict);
}

/* Reads @path, a regular file and not a link, of at most the limit. */
static char *
cloche_cleanup_record_read_bounded (const char  *path,
                                    gsize       *length,
                                    GError     **error)
{
  g_autofree char *data = g_malloc (CLOCHE_CLEANUP_RECORD_MAX_BYTES + 1);
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  gssize got;
  int saved;

  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot read %s: %s"), path, g_strerror (saved));
      return NULL;
    }
  got = read (fd, data, CLOCHE_CLEANUP_RECORD_MAX_BYTES + 1);
  saved = errno;
  close (fd);
  if (got < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot read %s: %s"), path, g_strerror (saved));
      return NULL;
    }
  if (got > CLOCHE_CLEANUP_RECORD_MAX_BYTES)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("%s is larger than %d bytes: not a cleanup record; remove it"), path,
                   CLOCHE_CLEANUP_RECORD_MAX_BYTES);
      return NULL;
    }
  data[got] = '\0';
  *length = got;
  return g_steal_pointer (&data);
}

/* @key of @object: an integer from @min to @max. */
static gboolean
cloche_cleanup_record_read_number (JsonObject  *object,
                                   const char  *path,
                                   const char  *key,
                                   gint64       min,
                                   gint64       max,
                                   gint64      *value,
                                   GError     **error)
{
  JsonNode *node = json_object_get_member (object, key);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64
      || json_node_get_int (node) < min || json_node_get_int (node) > max)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("%s: \"%s\" must be a whole number from %" PRId64 " to %"
                     PRId64 "; remove the file"), path, key, min, max);
      return FALSE;
    }
  *value = json_node_get_int (node);
  return TRUE;
}

/**
 * cloche_cleanup_record_load:
 * @path: the record's file
 *
 * Returns: (transfer full): the record, an empty a{sv} when there is no
 *   file (no cleanup yet), %NULL with @error when the file is not a record
 */
GVariant *
cloche_cleanup_record_load (const char  *path,
                            GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  g_autofree char *data = NULL;
  gint64 time, removed, freed;
  JsonObject *object;
  gsize length = 0;

  data = cloche_cleanup_record_read_bounded (path, &length, &local);
  if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  if (data == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data, length, &local))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("%s is not JSON (%s); remove it"), path, local->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("%s is not a JSON object; remove it"), path);
      return NULL;
    }
  object = json_node_get_object (json_parser_get_root (parser));
  if (!cloche_cleanup_record_read_number (object, path, "time", 0, G_MAXINT64, &time, error)
      || !cloche_cleanup_record_read_number (object, path, "removed", 0, G_MAXUINT32, &removed,
                                             error)
      || !cloche_cleanup_record_read_number (object, path, "freed", 0, G_MAXINT64, &freed, error))
    return NULL;
  return g_variant_ref_sink (cloche_cleanup_record_new (time, removed, freed));
}

/**
 * cloche_cleanup_record_save:
 *
 * Writes the record to @path whole (a new file renamed over the old).
 */
gboolean
cloche_cleanup_record_save (const char  *path,
                            gint64       time,
                            guint        removed,
                            guint64      freed,
                            GError     **error)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (path != NULL, FALSE);

  text = g_strdup_printf ("{\"time\": %" G_GINT64_FORMAT ", \"removed\": %u, \"freed\": %"
                          G_GUINT64_FORMAT "}\n", time, removed, MIN (freed, (guint64) G_MAXINT64));
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}
