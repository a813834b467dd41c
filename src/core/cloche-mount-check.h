/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The rules a host folder must pass before it is mounted into the VM. Issue
 * #4's policy file will fill these; until then the defaults apply. */
typedef struct
{
  const char         *home;                /* NULL: the user's home */
  const char * const *deny;                /* "~/" is the home */
  gboolean            allow_outside_home;
} ClocheMountRules;

const ClocheMountRules *cloche_mount_rules_default (void);
char                   *cloche_mount_check         (const char              *path,
                                                    const ClocheMountRules  *rules,
                                                    GError                 **error);

G_END_DECLS
