/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Where the guest finds the CA, and the trust store with it that the
 * variables of every session's command name: `cloche-guest trust` writes
 * both in each boot (cloche-sandbox-trust.c, src/guest/cloche-guest-trust.c). */
#define CLOCHE_EGRESS_CA_GUEST_FILE   "/etc/cloche/egress-ca.crt"
#define CLOCHE_EGRESS_CA_GUEST_BUNDLE "/etc/cloche/ca-certificates.crt"

#define CLOCHE_TYPE_EGRESS_CA (cloche_egress_ca_get_type ())
G_DECLARE_FINAL_TYPE (ClocheEgressCa, cloche_egress_ca, CLOCHE, EGRESS_CA, GObject)

char            *cloche_egress_ca_default_folder        (void);
ClocheEgressCa  *cloche_egress_ca_new                   (const char           *folder);
const char      *cloche_egress_ca_get_folder            (ClocheEgressCa       *self);
void             cloche_egress_ca_load_async            (ClocheEgressCa       *self,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
gboolean         cloche_egress_ca_load_finish           (ClocheEgressCa       *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);
gboolean         cloche_egress_ca_is_ready              (ClocheEgressCa       *self);
const char      *cloche_egress_ca_get_certificate_pem   (ClocheEgressCa       *self);
GTlsCertificate *cloche_egress_ca_dup_server_certificate (ClocheEgressCa      *self,
                                                         const char           *host,
                                                         GError              **error);

G_END_DECLS
