/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A bundle manifest as a download or a folder could hold it: the strict
 * scanner, json-glib behind it and every member's check
 * (cloche_bundle_manifest_new_from_bytes, what install, verify and the boot
 * read). Whatever the bytes, no crash, leak or critical, and a manifest
 * that is accepted keeps the rules the boot relies on: every file a plain
 * name listed once, kernel, initrd and root among them, sizes adding up.
 */
#include "config.h"

#include <string.h>

#include "cloche-bundle-manifest.h"
#include "cloche-error.h"
#include "cloche-fuzz.h"

static void
check_plain (const char *name)
{
  g_assert_nonnull (name);
  g_assert_true (name[0] != '\0' && name[0] != '.');
  g_assert_null (strchr (name, '/'));
  g_assert_cmpstr (name, !=, "manifest.json");
  g_assert_true (g_utf8_validate (name, -1, NULL));
}

static void
check_accepted (ClocheBundleManifest *manifest)
{
  const char *root = cloche_bundle_manifest_get_root (manifest);
  guint64 total = 0;

  for (guint i = 0; i < cloche_bundle_manifest_get_n_files (manifest); i++)
    {
      const ClocheBundleFile *file = cloche_bundle_manifest_get_file (manifest, i);

      check_plain (file->path);
      g_assert_cmpuint (strlen (file->sha256), ==, 64);
      g_assert_true (cloche_bundle_manifest_find_file (manifest, file->path) == file);
      total += file->size;
    }
  g_assert_cmpuint (total, ==, cloche_bundle_manifest_get_total_size (manifest));
  g_assert_cmpuint (total, <=, G_MAXINT64);
  g_assert_nonnull (cloche_bundle_manifest_find_file (manifest,
                                                      cloche_bundle_manifest_get_kernel (manifest)));
  g_assert_nonnull (cloche_bundle_manifest_find_file (manifest,
                                                      cloche_bundle_manifest_get_initrd (manifest)));
  g_assert_true (root == NULL || cloche_bundle_manifest_find_file (manifest, root) != NULL);
  g_assert_cmpuint (cloche_bundle_manifest_get_memory_mib (manifest), >=, 128);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheBundleManifest) manifest = NULL;

  cloche_fuzz_init ();
  manifest = cloche_bundle_manifest_new_from_bytes (bytes, "manifest.json", &error);
  if (manifest == NULL)
    {
      g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      return 0;
    }
  check_accepted (manifest);
  return 0;
}
