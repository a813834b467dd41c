/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_EGRESS_RULES (cloche_egress_rules_get_type ())

G_DECLARE_FINAL_TYPE (ClocheEgressRules, cloche_egress_rules, CLOCHE, EGRESS_RULES, GObject)

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
GStrv              cloche_egress_rules_dup_texts   (ClocheEgressRules   *self);
ClocheEgressRules *cloche_egress_rules_new_with_allowed (ClocheEgressRules *base,
                                                    const char * const  *allow,
                                                    GError             **error);
gboolean           cloche_egress_rule_check        (const char          *rule,
                                                    GError             **error);

G_END_DECLS
