/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-client.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_SECRETS_PAGE (cloche_secrets_page_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSecretsPage, cloche_secrets_page, CLOCHE, SECRETS_PAGE, AdwBin)

GtkWidget    *cloche_secrets_page_new        (void);
ClocheClient *cloche_secrets_page_get_client (ClocheSecretsPage *self);
void          cloche_secrets_page_set_client (ClocheSecretsPage *self,
                                              ClocheClient      *client);

G_END_DECLS
