/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  CLOCHE_FILE_FOLLOW    = 0,
  /* Refuse a symbolic link as the last component (ELOOP). */
  CLOCHE_FILE_NO_FOLLOW = 1 << 0,
} ClocheFileFlags;

int     cloche_file_open_regular (int               dir_fd,
                                  const char       *path,
                                  ClocheFileFlags   flags,
                                  GError          **error);
GBytes *cloche_file_read         (int               dir_fd,
                                  const char       *path,
                                  gsize             max_size,
                                  const char       *what,
                                  ClocheFileFlags   flags,
                                  GError          **error);
GBytes *cloche_file_read_fd      (int               fd,
                                  const char       *path,
                                  gsize             max_size,
                                  const char       *what,
                                  GError          **error);
int     cloche_file_open_write   (int               dir_fd,
                                  const char       *path,
                                  int               open_flags,
                                  GError          **error);

GBytes  *cloche_file_read_tail    (const char       *path,
                                  gsize             max_size,
                                  GError          **error);
gboolean cloche_file_make_private_dir (const char   *path,
                                       GError      **error);

G_END_DECLS
