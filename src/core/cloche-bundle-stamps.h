/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <sys/stat.h>

#include <glib.h>

G_BEGIN_DECLS

/* A file as it was when its sha256 was found to be the manifest's. */
typedef struct
{
  char    sha256[65];
  guint64 dev;
  guint64 ino;
  guint64 size;
  gint64  mtime_ns;
  gint64  ctime_ns;
} ClocheBundleStamp;

/* A stamp younger than this proves nothing: a change in the same clock
 * tick would leave it as it is (the session index's rule too). */
#define CLOCHE_BUNDLE_STAMP_SETTLE_NS (G_GINT64_CONSTANT (2) * 1000000000)

void     cloche_bundle_stamp_init     (ClocheBundleStamp       *stamp,
                                       const struct stat       *st,
                                       const char              *sha256);
gboolean cloche_bundle_stamp_equal    (const ClocheBundleStamp *a,
                                       const ClocheBundleStamp *b);
gboolean cloche_bundle_stamp_settled  (const ClocheBundleStamp *stamp,
                                       gint64                   now_ns);

GArray  *cloche_bundle_stamps_parse   (const char              *text,
                                       gsize                    length);
char    *cloche_bundle_stamps_format  (GArray                  *stamps);
gboolean cloche_bundle_stamps_contain (GArray                  *stamps,
                                       const ClocheBundleStamp *stamp);
GArray  *cloche_bundle_stamps_load    (const char              *path);
void     cloche_bundle_stamps_save    (const char              *path,
                                       GArray                  *stamps);

G_END_DECLS
