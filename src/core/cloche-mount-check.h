/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The rules a host folder must pass before it is mounted into the VM: the
 * policy's (mounts.deny, mounts.allow_outside_home), and Cloche's own
 * folders, which no policy lifts. */
typedef struct
{
  const char         *home;                /* NULL: the user's home */
  const char * const *deny;                /* "~/" is the home */
  gboolean            allow_outside_home;
  GPtrArray          *own;                 /* cloche_own_folders_new(); NULL: none */
} ClocheMountRules;

const ClocheMountRules *cloche_mount_rules_default (void);
char                   *cloche_mount_check         (const char              *path,
                                                    const ClocheMountRules  *rules,
                                                    GError                 **error);

G_END_DECLS
