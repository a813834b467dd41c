/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A bundle's manifest.json read strictly, as install, verify, relocate and
 * remove need it: every file a plain name in the bundle folder, with its
 * size and a sha256. (ClocheBundle reads the same file for booting and
 * checks only that the files are there.) The raw bytes are kept so an
 * install writes the manifest it checked against, byte for byte.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <json-glib/json-glib.h>

#include "cloche-bundle-manifest.h"
#include "cloche-error.h"

struct _ClocheBundleManifest
{
  GObject    parent_instance;
  GBytes    *bytes;
  char      *name;
  char      *version;
  GArray    *files;           /* of ClocheBundleFile */
  guint64    total_size;
};

G_DEFINE_FINAL_TYPE (ClocheBundleManifest, cloche_bundle_manifest, G_TYPE_OBJECT)

static void
bundle_file_clear (gpointer data)
{
  ClocheBundleFile *file = data;

  g_free (file->path);
  g_free (file->sha256);
}

static gboolean
is_sha256 (const char *text)
{
  if (text == NULL || strlen (text) != 64)
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
      return FALSE;
  return TRUE;
}

/* Flat names only: the bundle is one folder, and a name must never reach
 * out of it (no "/", no "..") nor replace the manifest itself. */
static gboolean
is_plain_name (const char *name)
{
  return name != NULL && name[0] != '\0' && strchr (name, '/') == NULL
         && !g_str_equal (name, ".") && !g_str_equal (name, "..")
         && !g_str_equal (name, "manifest.json") && name[0] != '.';
}

static gboolean
invalid (GError     **error,
         const char  *origin,
         const char  *what)
{
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
               _("The bundle manifest %s %s; use a manifest made by tools/build-bundle"),
               origin, what);
  return FALSE;
}

static gboolean
add_file (ClocheBundleManifest  *self,
          JsonNode              *node,
          const char            *origin,
          GError               **error)
{
  ClocheBundleFile file = { 0 };
  JsonObject *entry;
  gint64 size;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return invalid (error, origin, "has a file entry that is not an object");
  entry = json_node_get_object (node);
  file.path = (char *) json_object_get_string_member_with_default (entry, "path", NULL);
  size = json_object_get_int_member_with_default (entry, "size", -1);
  file.sha256 = (char *) json_object_get_string_member_with_default (entry, "sha256", NULL);
  if (!is_plain_name (file.path))
    {
      g_autofree char *what = g_strdup_printf ("lists a file with a bad name: \"%s\"",
                                               file.path != NULL ? file.path : "");
      return invalid (error, origin, what);
    }
  for (guint i = 0; i < self->files->len; i++)
    if (g_str_equal (g_array_index (self->files, ClocheBundleFile, i).path, file.path))
      return invalid (error, origin, "lists a file twice");
  if (size < 0 || !is_sha256 (file.sha256))
    {
      g_autofree char *what = g_strdup_printf ("gives %s no size or no sha256 (64 lowercase "
                                               "hex digits)", file.path);
      return invalid (error, origin, what);
    }
  file.path = g_strdup (file.path);
  file.size = (guint64) size;
  file.sha256 = g_strdup (file.sha256);
  self->total_size += file.size;
  g_array_append_val (self->files, file);
  return TRUE;
}

static gboolean
read_object (ClocheBundleManifest  *self,
             JsonObject            *object,
             const char            *origin,
             GError               **error)
{
  const char *name = json_object_get_string_member_with_default (object, "name", NULL);
  const char *version = json_object_get_string_member_with_default (object, "version", NULL);
  JsonArray *files;

  if (name == NULL || version == NULL)
    return invalid (error, origin, "has no \"name\" or no \"version\"");
  self->name = g_strdup (name);
  self->version = g_strdup (version);
  if (!json_object_has_member (object, "files")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, "files")))
    return invalid (error, origin, "has no \"files\" list");
  files = json_object_get_array_member (object, "files");
  for (guint i = 0; i < json_array_get_length (files); i++)
    if (!add_file (self, json_array_get_element (files, i), origin, error))
      return FALSE;
  if (self->files->len == 0)
    return invalid (error, origin, "lists no files");
  return TRUE;
}

/**
 * cloche_bundle_manifest_new_from_bytes:
 * @origin: where @bytes came from (a path or URL), for error messages
 */
ClocheBundleManifest *
cloche_bundle_manifest_new_from_bytes (GBytes      *bytes,
                                       const char  *origin,
                                       GError     **error)
{
  g_autoptr(ClocheBundleManifest) self = g_object_new (CLOCHE_TYPE_BUNDLE_MANIFEST, NULL);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  gsize length = 0;
  const char *data = g_bytes_get_data (bytes, &length);
  JsonNode *root;

  if (!json_parser_load_from_data (parser, data != NULL ? data : "", length, &local_error))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   _("The bundle manifest %s is not valid JSON: %s"), origin, local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      invalid (error, origin, "is not a JSON object");
      return NULL;
    }
  if (!read_object (self, json_node_get_object (root), origin, error))
    return NULL;
  self->bytes = g_bytes_ref (bytes);
  return g_steal_pointer (&self);
}

/**
 * cloche_bundle_manifest_load:
 *
 * Returns: the manifest of the bundle in @dir, or %NULL with
 *   %CLOCHE_ERROR_BUNDLE_MISSING when @dir holds none
 */
ClocheBundleManifest *
cloche_bundle_manifest_load (const char  *dir,
                             GError     **error)
{
  g_autofree char *path = g_build_filename (dir, "manifest.json", NULL);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GBytes) bytes = NULL;

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_MISSING,
                     _("No sandbox bundle is installed at %s"), dir);
      else
        g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                     _("Cannot read %s: %s"), path, local_error->message);
      return NULL;
    }
  bytes = g_bytes_new_take (g_steal_pointer (&contents), length);
  return cloche_bundle_manifest_new_from_bytes (bytes, path, error);
}

GBytes *
cloche_bundle_manifest_get_bytes (ClocheBundleManifest *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), NULL);
  return self->bytes;
}

const char *
cloche_bundle_manifest_get_name (ClocheBundleManifest *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), NULL);
  return self->name;
}

const char *
cloche_bundle_manifest_get_version (ClocheBundleManifest *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), NULL);
  return self->version;
}

guint
cloche_bundle_manifest_get_n_files (ClocheBundleManifest *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), 0);
  return self->files->len;
}

const ClocheBundleFile *
cloche_bundle_manifest_get_file (ClocheBundleManifest *self,
                                 guint                 index)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), NULL);
  g_return_val_if_fail (index < self->files->len, NULL);
  return &g_array_index (self->files, ClocheBundleFile, index);
}

/* Apparent bytes of all listed files, the manifest itself not counted. */
guint64
cloche_bundle_manifest_get_total_size (ClocheBundleManifest *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), 0);
  return self->total_size;
}

static void
cloche_bundle_manifest_finalize (GObject *object)
{
  ClocheBundleManifest *self = CLOCHE_BUNDLE_MANIFEST (object);

  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_clear_pointer (&self->files, g_array_unref);
  g_free (self->name);
  g_free (self->version);

  G_OBJECT_CLASS (cloche_bundle_manifest_parent_class)->finalize (object);
}

static void
cloche_bundle_manifest_class_init (ClocheBundleManifestClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_bundle_manifest_finalize;
}

static void
cloche_bundle_manifest_init (ClocheBundleManifest *self)
{
  self->files = g_array_new (FALSE, TRUE, sizeof (ClocheBundleFile));
  g_array_set_clear_func (self->files, bundle_file_clear);
}
