/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A bundle on disk: manifest.json and the files it lists. Loading checks that
 * every listed file is there with its size; the sha256 check is a separate,
 * slower step (verify).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "cloche-bundle.h"
#include "cloche-error.h"

struct _ClocheBundle
{
  GObject  parent_instance;
  char    *path;
  char    *name;
  char    *version;
  char    *kernel;
  char    *initrd;
  char    *cmdline;
  char    *root;       /* the root image of a disk bundle; NULL: initramfs only */
  guint    memory_mib;
};

/* The first bytes of every qcow2 image: "QFI\xfb", then the version (2 or 3). */
#define QCOW2_MAGIC "QFI\xfb"

G_DEFINE_FINAL_TYPE (ClocheBundle, cloche_bundle, G_TYPE_OBJECT)

char *
cloche_bundle_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "cloche", "bundle", NULL);
}

static const char *
require_string (JsonObject  *manifest,
                const char  *member,
                const char  *file,
                GError     **error)
{
  const char *value = json_object_get_string_member_with_default (manifest, member, NULL);

  if (value == NULL || value[0] == '\0')
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                 _("The bundle manifest %s has no \"%s\": rebuild or reinstall the bundle"),
                 file, member);
  return value;
}

static gboolean
check_file (const char  *dir,
            JsonObject  *entry,
            GError     **error)
{
  const char *name = json_object_get_string_member_with_default (entry, "path", "");
  gint64 size = json_object_get_int_member_with_default (entry, "size", -1);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GStatBuf st;

  if (name[0] == '\0' || strstr (name, "..") != NULL || g_path_is_absolute (name))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   _("The bundle manifest lists a file with a bad path: \"%s\""), name);
      return FALSE;
    }
  if (g_stat (path, &st) != 0)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   _("The bundle is incomplete: %s is missing (%s); reinstall the bundle"),
                   path, g_strerror (errno));
      return FALSE;
    }
  if (size >= 0 && st.st_size != size)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   "The bundle is damaged: %s has %" G_GINT64_FORMAT " bytes, the manifest "
                   "says %" G_GINT64_FORMAT "; reinstall the bundle",
                   path, (gint64) st.st_size, size);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_files (ClocheBundle  *self,
             JsonObject    *manifest,
             GError       **error)
{
  JsonArray *files = json_object_get_array_member (manifest, "files");

  if (files == NULL)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   _("The bundle manifest in %s lists no files"), self->path);
      return FALSE;
    }
  for (guint i = 0; i < json_array_get_length (files); i++)
    {
      JsonNode *entry = json_array_get_element (files, i);

      if (!JSON_NODE_HOLDS_OBJECT (entry))
        {
          g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                       _("The bundle manifest in %s has a file entry that is not an object"),
                       self->path);
          return FALSE;
        }
      if (!check_file (self->path, json_node_get_object (entry), error))
        return FALSE;
    }
  return TRUE;
}

static JsonObject *
read_manifest (const char  *dir,
               GError     **error)
{
  g_autofree char *file = g_build_filename (dir, "manifest.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (!g_file_test (file, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_MISSING,
                   _("The sandbox bundle is missing: nothing is installed at %s. Install "
                     "it with \"clochectl bundle install SOURCE\" (a bundle folder, its "
                     "manifest.json or an http(s) URL of one) or from the app's Bundle page"),
                   dir);
      return NULL;
    }
  if (!json_parser_load_from_mapped_file (parser, file, &local_error))
    {
      /* json-glib's message carries the line and column. */
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   _("The bundle manifest %s is not valid JSON: %s; reinstall the bundle"),
                   file, local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   _("The bundle manifest %s is not a JSON object; reinstall the bundle"), file);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

/* "kind": absent or "initramfs" (the minimal bundle: the whole guest in
 * the initrd), or "disk" (a root image, named by "root", booted on a
 * throw-away overlay). A kind this version does not know would boot wrong,
 * so it is refused. */
static gboolean
read_kind (ClocheBundle  *self,
           JsonObject    *manifest,
           const char    *file,
           GError       **error)
{
  const char *kind = json_object_get_string_member_with_default (manifest, "kind", "initramfs");
  const char *root;

  if (g_strcmp0 (kind, "initramfs") == 0)
    return TRUE;
  if (g_strcmp0 (kind, "disk") != 0)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   "The bundle manifest %s is of kind \"%s\", which this version of "
                   "Cloche cannot boot (it knows \"initramfs\" and \"disk\"): install a "
                   "bundle made for it or update Cloche", file, kind);
      return FALSE;
    }
  root = require_string (manifest, "root", file, error);
  if (root == NULL)
    return FALSE;
  if (strchr (root, '/') != NULL || strcmp (root, "..") == 0)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   "The bundle manifest %s names a root image with a bad path: \"%s\"",
                   file, root);
      return FALSE;
    }
  self->root = g_strdup (root);
  return TRUE;
}

/* QEMU's own message for a base that is not qcow2 comes after the boot has
 * failed and names no bundle; reading 4 bytes first says which file is bad. */
static gboolean
check_root_image (ClocheBundle  *self,
                  GError       **error)
{
  g_autofree char *path = g_build_filename (self->path, self->root, NULL);
  char magic[4] = { 0 };
  FILE *file = g_fopen (path, "rb");
  gsize n = 0;

  if (file == NULL)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   "The bundle is incomplete: its root image %s is missing (%s); "
                   "reinstall the bundle", path, g_strerror (errno));
      return FALSE;
    }
  n = fread (magic, 1, sizeof magic, file);
  fclose (file);
  if (n != sizeof magic || memcmp (magic, QCOW2_MAGIC, sizeof magic) != 0)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_CORRUPT,
                   "The bundle is damaged: its root image %s is not a qcow2 image; run "
                   "\"clochectl bundle verify\" and reinstall the bundle", path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_fields (ClocheBundle  *self,
             JsonObject    *manifest,
             GError       **error)
{
  const char *fields[] = { "name", "version", "kernel", "initrd", "cmdline" };
  char **targets[] = { &self->name, &self->version, &self->kernel,
                       &self->initrd, &self->cmdline };
  g_autofree char *file = g_build_filename (self->path, "manifest.json", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      const char *value = require_string (manifest, fields[i], file, error);

      if (value == NULL)
        return FALSE;
      *targets[i] = g_strdup (value);
    }
  self->memory_mib = json_object_get_int_member_with_default (manifest, "memory_mib", 512);
  return read_kind (self, manifest, file, error);
}

/**
 * cloche_bundle_load:
 * @path: the bundle folder
 *
 * Returns: (transfer full): the bundle, or %NULL with %CLOCHE_ERROR_BUNDLE_MISSING
 *   or %CLOCHE_ERROR_BUNDLE_INVALID naming the file at fault
 */
ClocheBundle *
cloche_bundle_load (const char  *path,
                    GError     **error)
{
  g_autoptr(ClocheBundle) self = NULL;
  g_autoptr(JsonObject) manifest = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  manifest = read_manifest (path, error);
  if (manifest == NULL)
    return NULL;

  self = g_object_new (CLOCHE_TYPE_BUNDLE, NULL);
  self->path = g_canonicalize_filename (path, NULL);
  if (!read_fields (self, manifest, error) || !check_files (self, manifest, error))
    return NULL;
  if (self->root != NULL && !check_root_image (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

const char *
cloche_bundle_get_path (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);
  return self->path;
}

const char *
cloche_bundle_get_name (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);
  return self->name;
}

const char *
cloche_bundle_get_version (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);
  return self->version;
}

char *
cloche_bundle_get_kernel (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);
  return g_build_filename (self->path, self->kernel, NULL);
}

char *
cloche_bundle_get_initrd (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);
  return g_build_filename (self->path, self->initrd, NULL);
}

/**
 * cloche_bundle_get_root_image:
 *
 * Returns: (transfer full) (nullable): the path of a disk bundle's root
 *   image (qcow2, to be opened read-only), or %NULL for an initramfs bundle
 */
char *
cloche_bundle_get_root_image (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);

  if (self->root == NULL)
    return NULL;
  return g_build_filename (self->path, self->root, NULL);
}

const char *
cloche_bundle_get_cmdline (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);
  return self->cmdline;
}

guint
cloche_bundle_get_memory_mib (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), 0);
  return self->memory_mib;
}

static void
cloche_bundle_finalize (GObject *object)
{
  ClocheBundle *self = CLOCHE_BUNDLE (object);

  g_free (self->path);
  g_free (self->name);
  g_free (self->version);
  g_free (self->kernel);
  g_free (self->initrd);
  g_free (self->cmdline);
  g_free (self->root);

  G_OBJECT_CLASS (cloche_bundle_parent_class)->finalize (object);
}

static void
cloche_bundle_class_init (ClocheBundleClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_bundle_finalize;
}

static void
cloche_bundle_init (ClocheBundle *self)
{
}
