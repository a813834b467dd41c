/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_POLICY_RULE_ROW (cloche_policy_rule_row_get_type ())
G_DECLARE_FINAL_TYPE (ClochePolicyRuleRow, cloche_policy_rule_row, CLOCHE, POLICY_RULE_ROW, AdwActionRow)

GtkWidget *cloche_policy_rule_row_new        (void);
void       cloche_policy_rule_row_set_rule   (ClochePolicyRuleRow *self,
                                              const char          *rule,
                                              gboolean             allowed);
void       cloche_policy_rule_row_set_origin (ClochePolicyRuleRow *self,
                                              const char          *layer,
                                              const char          *path,
                                              gboolean             locked);
gboolean   cloche_policy_rule_row_get_locked (ClochePolicyRuleRow *self);
const char *cloche_policy_rule_row_get_layer (ClochePolicyRuleRow *self);

G_END_DECLS
