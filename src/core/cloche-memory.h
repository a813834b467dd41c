/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CLOCHE_MEMORY_MIN_MIB 1024
#define CLOCHE_MEMORY_MAX_MIB 2048

guint   cloche_memory_default_mib (guint64 host_bytes);
guint64 cloche_memory_host_bytes  (void);
guint   cloche_memory_choose_mib  (guint   override_mib);

G_END_DECLS
