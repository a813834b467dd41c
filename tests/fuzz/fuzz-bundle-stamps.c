/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The boot files' stamps file (cloche-bundle-stamps.c), read at every boot
 * from the cache folder: whatever the bytes, no crash, and what parses
 * comes back the same after being written out and read again.
 */
#include "config.h"

#include <string.h>

#include "cloche-bundle-stamps.h"
#include "cloche-fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GArray) stamps = NULL;
  g_autoptr(GArray) again = NULL;
  g_autofree char *text = NULL;

  cloche_fuzz_init ();
  stamps = cloche_bundle_stamps_parse ((const char *) data, size);
  text = cloche_bundle_stamps_format (stamps);
  again = cloche_bundle_stamps_parse (text, strlen (text));
  g_assert_cmpuint (again->len, ==, stamps->len);
  for (guint i = 0; i < stamps->len; i++)
    g_assert_true (cloche_bundle_stamp_equal (&g_array_index (stamps, ClocheBundleStamp, i),
                                              &g_array_index (again, ClocheBundleStamp, i)));
  return 0;
}
