/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-http-request.h"
#include "cloche-secret-binding.h"

G_BEGIN_DECLS

/* What every placeholder starts with; no credential anywhere does. */
#define CLOCHE_SECRET_PLACEHOLDER_PREFIX "cloche-placeholder-"

/* The rules of the refusals for secrets (decisions like any other). */
#define CLOCHE_EGRESS_RULE_FOREIGN_CREDENTIAL   "foreign-credential"
#define CLOCHE_EGRESS_RULE_MISPLACED_PLACEHOLDER "misplaced-placeholder"
#define CLOCHE_EGRESS_RULE_SECRET_UNAVAILABLE   "secret-unavailable"

/* What a request to the proxy does with secrets (cloche_secrets_check()). */
typedef enum
{
  CLOCHE_SECRET_CHECK_PASS,       /* nothing of a secret's: it goes as it is */
  CLOCHE_SECRET_CHECK_SWAP,       /* placeholders in bound headers: values go in their place */
  CLOCHE_SECRET_CHECK_FOREIGN,    /* to a bound host, a credential that is not its secret's */
  CLOCHE_SECRET_CHECK_MISPLACED,  /* a placeholder where its secret does not go */
} ClocheSecretCheck;

/* A header whose placeholder is to be replaced by @binding's value. */
typedef struct
{
  guint                      header;   /* index in the request's headers */
  const ClocheSecretBinding *binding;  /* valid while the ClocheSecrets keeps its bindings */
} ClocheSecretSwap;

#define CLOCHE_TYPE_SECRETS (cloche_secrets_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSecrets, cloche_secrets, CLOCHE, SECRETS, GObject)

ClocheSecrets     *cloche_secrets_new              (void);
void               cloche_secrets_set_bindings     (ClocheSecrets            *self,
                                                    GPtrArray                *bindings);
GPtrArray         *cloche_secrets_get_bindings     (ClocheSecrets            *self);
gboolean           cloche_secrets_is_bound         (ClocheSecrets            *self,
                                                    const char               *host,
                                                    guint16                   port);
GStrv              cloche_secrets_dup_environment  (ClocheSecrets            *self,
                                                    const char               *session);
void               cloche_secrets_forget_session   (ClocheSecrets            *self,
                                                    const char               *session);
ClocheSecretCheck  cloche_secrets_check            (ClocheSecrets            *self,
                                                    const ClocheHttpRequest  *request,
                                                    const char               *session,
                                                    gboolean                  over_tls,
                                                    GArray                  **swaps,
                                                    char                    **why);

G_END_DECLS
