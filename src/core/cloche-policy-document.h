/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-json-locator.h"
#include "cloche-policy-schema.h"

G_BEGIN_DECLS

/* A policy is a few hundred bytes; a megabyte is a mistake, not a policy. */
#define CLOCHE_POLICY_MAX_SIZE (1024 * 1024)

#define CLOCHE_TYPE_POLICY_DOCUMENT (cloche_policy_document_get_type ())
G_DECLARE_FINAL_TYPE (ClochePolicyDocument, cloche_policy_document, CLOCHE, POLICY_DOCUMENT, GObject)

ClochePolicyDocument *cloche_policy_document_new_defaults  (void);
ClochePolicyDocument *cloche_policy_document_new_from_data (ClochePolicyLayer      layer,
                                                            const char            *path,
                                                            const char            *text,
                                                            gsize                  length);
ClochePolicyDocument *cloche_policy_document_load          (ClochePolicyLayer      layer,
                                                            const char            *path,
                                                            GError               **error);
const char           *cloche_policy_document_get_path      (ClochePolicyDocument  *self);
gboolean              cloche_policy_document_is_valid      (ClochePolicyDocument  *self);
const char * const   *cloche_policy_document_get_problems  (ClochePolicyDocument  *self);
guint                 cloche_policy_document_get_n_problems (ClochePolicyDocument *self);
void                  cloche_policy_document_get_problem   (ClochePolicyDocument  *self,
                                                            guint                  index,
                                                            ClocheJsonPosition    *where,
                                                            const char           **key,
                                                            const char           **message);
gboolean              cloche_policy_document_check         (ClochePolicyDocument  *self,
                                                            GError               **error);
GVariant             *cloche_policy_document_lookup        (ClochePolicyDocument  *self,
                                                            const char            *key);
gboolean              cloche_policy_document_get_position  (ClochePolicyDocument  *self,
                                                            const char            *key,
                                                            ClocheJsonPosition    *position);
const char * const   *cloche_policy_document_get_locked    (ClochePolicyDocument  *self);
gboolean              cloche_policy_document_is_locked     (ClochePolicyDocument  *self,
                                                            const char            *key);

G_END_DECLS
