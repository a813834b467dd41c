/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

const char *cloche_accel_detect (const char  *kvm_device,
                                 char       **reason);
gboolean    cloche_accel_probe  (const char  *kvm_device,
                                 int         *code,
                                 char       **reason);

G_END_DECLS
