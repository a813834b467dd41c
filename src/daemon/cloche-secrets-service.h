/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-dbus-generated.h"
#include "cloche-policy.h"
#include "cloche-secret-store.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_SECRETS_SERVICE (cloche_secrets_service_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSecretsService, cloche_secrets_service, CLOCHE, SECRETS_SERVICE,
                      ClocheDbusSecretsSkeleton)

ClocheSecretsService *cloche_secrets_service_new (ClochePolicy      *policy,
                                                  ClocheSecretStore *store);

G_END_DECLS
