/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_EGRESS_RULES (cloche_egress_rules_get_type ())

G_DECLARE_FINAL_TYPE (ClocheEgressRules, cloche_egress_rules, CLOCHE, EGRESS_RULES, GObject)

/* What the proxy sees of a request it decides, which is what rules that
 * name a method or a path can be held to (cloche-egress-rules.c). */
typedef enum
{
  CLOCHE_EGRESS_SIGHT_TUNNEL,   /* a CONNECT tunnel: the host and port, nothing inside */
  CLOCHE_EGRESS_SIGHT_OPENED,   /* a CONNECT whose TLS the proxy ends: each request inside
                                 * is decided on its own */
  CLOCHE_EGRESS_SIGHT_REQUEST,  /* a request the proxy reads: method and path too */
} ClocheEgressSight;

ClocheEgressRules *cloche_egress_rules_new         (gboolean             default_allow,
                                                    const char * const  *allow,
                                                    const char * const  *deny,
                                                    GError             **error);
gboolean           cloche_egress_rules_get_default_allow (ClocheEgressRules *self);
gboolean           cloche_egress_rules_decide      (ClocheEgressRules   *self,
                                                    const char          *host,
                                                    guint16              port,
                                                    const char         **rule);
gboolean           cloche_egress_rules_decide_full (ClocheEgressRules   *self,
                                                    const char          *host,
                                                    guint16              port,
                                                    const char         **rule,
                                                    gboolean            *names_host);
gboolean           cloche_egress_rules_decide_request (ClocheEgressRules *self,
                                                    const char          *method,
                                                    const char          *host,
                                                    guint16              port,
                                                    const char          *target,
                                                    ClocheEgressSight    sight,
                                                    const char         **rule,
                                                    gboolean            *names_host);
char              *cloche_egress_path_normalize    (const char          *target);
GStrv              cloche_egress_rules_dup_texts   (ClocheEgressRules   *self);
ClocheEgressRules *cloche_egress_rules_new_with_allowed (ClocheEgressRules *base,
                                                    const char * const  *allow,
                                                    GError             **error);
gboolean           cloche_egress_rule_check        (const char          *rule,
                                                    GError             **error);
gboolean           cloche_egress_rule_check_addition (const char        *rule,
                                                    GError             **error);
ClocheEgressRules *cloche_egress_rules_new_for_session (ClocheEgressRules *base,
                                                    const char * const  *allow,
                                                    GError             **error);

G_END_DECLS
