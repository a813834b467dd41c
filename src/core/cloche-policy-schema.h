/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Where a value of the effective policy came from, lowest first. */
typedef enum
{
  CLOCHE_POLICY_LAYER_DEFAULT,
  CLOCHE_POLICY_LAYER_USER,
  CLOCHE_POLICY_LAYER_ADMIN,
} ClochePolicyLayer;

#define CLOCHE_POLICY_VERSION 1

/* One thing wrong with a value: in the value itself (index -1) or in one
 * element of a list. */
typedef struct
{
  int   index;
  char *message;
} ClochePolicySchemaProblem;

void cloche_policy_schema_problem_free (ClochePolicySchemaProblem *problem);

const char          *cloche_policy_layer_to_string (ClochePolicyLayer   layer);
const char * const  *cloche_policy_schema_keys     (void);
const char * const  *cloche_policy_schema_sections (void);
gboolean             cloche_policy_schema_has_key  (const char         *key);
gboolean             cloche_policy_schema_is_named_section (const char *section);
gboolean             cloche_policy_schema_is_named_key (const char     *key);
void                 cloche_policy_schema_get_range (const char        *key,
                                                     gint64            *min,
                                                     gint64            *max);
gboolean             cloche_policy_schema_covers   (const char         *locked,
                                                    const char         *key);
GVariant            *cloche_policy_schema_convert  (const char         *key,
                                                    JsonNode           *node,
                                                    GPtrArray          *problems);
char                *cloche_policy_schema_describe_node (JsonNode      *node);

G_END_DECLS
