/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "cloche-egress-rules.h"

G_BEGIN_DECLS

/* What a binding says when the policy leaves it out. */
#define CLOCHE_SECRET_DEFAULT_HEADER "Authorization"
#define CLOCHE_SECRET_DEFAULT_FORMAT "Bearer {}"
/* The most hosts one binding may name. */
#define CLOCHE_SECRET_MAX_HOSTS 32

/**
 * ClocheSecretBinding:
 *
 * Where one secret goes (policy key `secrets.NAME`, docs/policy.md): the
 * requests to @hosts carry it in the header @header, written as @format
 * with "{}" for the value. @name is also the environment variable that
 * holds the session's placeholder in the guest. Never holds the value.
 */
typedef struct
{
  char              *name;
  GStrv              hosts;    /* "api.example.com", "*.example.com", "host:port" */
  char              *header;
  char              *format;
  ClocheEgressRules *match;    /* @hosts as allow rules */
} ClocheSecretBinding;

ClocheSecretBinding *cloche_secret_binding_new          (const char                 *name,
                                                         const char * const         *hosts,
                                                         const char                 *header,
                                                         const char                 *format,
                                                         GError                    **error);
ClocheSecretBinding *cloche_secret_binding_new_from_variant (const char             *name,
                                                         GVariant                   *value,
                                                         GError                    **error);
GVariant            *cloche_secret_binding_to_variant   (const ClocheSecretBinding  *self);
void                 cloche_secret_binding_free         (ClocheSecretBinding        *self);
gboolean             cloche_secret_binding_covers       (const ClocheSecretBinding  *self,
                                                         const char                 *host,
                                                         guint16                     port);
char                *cloche_secret_binding_format       (const ClocheSecretBinding  *self,
                                                         const char                 *value);

gboolean             cloche_secret_name_check           (const char                 *name,
                                                         GError                    **error);
gboolean             cloche_secret_host_check           (const char                 *host,
                                                         GError                    **error);
gboolean             cloche_secret_header_check         (const char                 *header,
                                                         GError                    **error);
gboolean             cloche_secret_format_check         (const char                 *format,
                                                         GError                    **error);
gboolean             cloche_secret_value_check          (const char                 *value,
                                                         gsize                       length,
                                                         GError                    **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ClocheSecretBinding, cloche_secret_binding_free)

G_END_DECLS
