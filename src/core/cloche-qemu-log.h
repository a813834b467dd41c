/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

int   cloche_qemu_log_open       (const char          *path,
                                  const char          *header,
                                  goffset             *start,
                                  GError             **error);
GStrv cloche_qemu_log_read       (const char          *path,
                                  goffset              start);
GStrv cloche_qemu_log_meaningful (const char          *text);
char *cloche_qemu_log_summary    (const char * const  *lines);

G_END_DECLS
