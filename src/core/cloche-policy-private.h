/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-policy.h"

G_BEGIN_DECLS

struct _ClochePolicy
{
  GObject               parent_instance;
  char                 *user_path;
  char                 *admin_path;
  ClochePolicyDocument *defaults;
  ClochePolicyDocument *user;           /* last good, or NULL */
  ClochePolicyDocument *admin;          /* last good, or NULL */
  char                 *user_refusal;
  char                 *admin_refusal;
  char                 *last_refusal;   /* both, or "" */

  GHashTable           *values;         /* key → GVariant, effective */
  GHashTable           *layers;         /* key → ClochePolicyLayer */
  GStrv                 notices;
  ClocheEgressRules    *egress_rules;

  GPtrArray            *monitors;       /* of GFileMonitor */
  guint                 reload_source;
  gboolean              reloading;
  gboolean              reload_again;
  char                 *logged_refusal; /* not logged again on each event */
};

/* What reading one file gave: a valid document, nothing (no file), or a
 * refusal that leaves the layer's last good document in force. */
typedef struct
{
  ClochePolicyDocument *document;   /* valid, or NULL */
  gboolean              missing;
  char                 *refusal;    /* every problem, one a line, or NULL */
} ClochePolicyRead;

void _cloche_policy_read_clear (ClochePolicyRead     *read);
void _cloche_policy_read_text  (ClochePolicyRead     *read,
                                ClochePolicyLayer     layer,
                                const char           *path,
                                const char           *text,
                                gsize                 length,
                                const GError         *error);
void _cloche_policy_apply      (ClochePolicy         *self,
                                ClochePolicyRead     *user,
                                ClochePolicyRead     *admin);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ClochePolicyRead, _cloche_policy_read_clear)

G_END_DECLS
