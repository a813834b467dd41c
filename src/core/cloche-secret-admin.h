/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-policy.h"
#include "cloche-secret-binding.h"
#include "cloche-secret-store.h"

G_BEGIN_DECLS

void     cloche_secret_admin_set_async    (ClochePolicy              *policy,
                                           ClocheSecretStore         *store,
                                           const ClocheSecretBinding *binding,
                                           const char                *value,
                                           GAsyncReadyCallback        callback,
                                           gpointer                   user_data);
void     cloche_secret_admin_remove_async (ClochePolicy              *policy,
                                           ClocheSecretStore         *store,
                                           const char                *name,
                                           GAsyncReadyCallback        callback,
                                           gpointer                   user_data);
gboolean cloche_secret_admin_finish       (ClochePolicy              *policy,
                                           GAsyncResult              *result,
                                           GError                   **error);

G_END_DECLS
