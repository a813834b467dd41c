/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-egress-rules.h"
#include "cloche-policy-document.h"

G_BEGIN_DECLS

/* The environment variable that moves the administrator's file, for tests
 * and for machines that keep it elsewhere. */
#define CLOCHE_ADMIN_POLICY_ENV "CLOCHE_ADMIN_POLICY"

#define CLOCHE_TYPE_POLICY (cloche_policy_get_type ())
G_DECLARE_FINAL_TYPE (ClochePolicy, cloche_policy, CLOCHE, POLICY, GObject)

char               *cloche_policy_default_user_path   (void);
char               *cloche_policy_default_admin_path  (void);

ClochePolicy       *cloche_policy_new                 (const char           *user_path,
                                                       const char           *admin_path);
const char         *cloche_policy_get_user_path       (ClochePolicy         *self);
const char         *cloche_policy_get_admin_path      (ClochePolicy         *self);
void                cloche_policy_load                (ClochePolicy         *self);
void                cloche_policy_reload_async        (ClochePolicy         *self,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
gboolean            cloche_policy_reload_finish       (ClochePolicy         *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);
gboolean            cloche_policy_watch               (ClochePolicy         *self,
                                                       GError              **error);

GVariant           *cloche_policy_lookup              (ClochePolicy         *self,
                                                       const char           *key,
                                                       ClochePolicyLayer    *layer);
ClochePolicyDocument *cloche_policy_get_document      (ClochePolicy         *self,
                                                       ClochePolicyLayer     layer);
gboolean            cloche_policy_is_locked           (ClochePolicy         *self,
                                                       const char           *key);
const char         *cloche_policy_get_last_refusal    (ClochePolicy         *self);
gboolean            cloche_policy_allows_session_egress (ClochePolicy       *self,
                                                       const char * const *hosts,
                                                       GError            **error);
const char * const *cloche_policy_get_notices         (ClochePolicy         *self);

guint               cloche_policy_get_memory_mib      (ClochePolicy         *self);
guint               cloche_policy_get_cpus            (ClochePolicy         *self);
const char         *cloche_policy_get_accelerator     (ClochePolicy         *self);
guint               cloche_policy_get_idle_timeout_s  (ClochePolicy         *self);
gboolean            cloche_policy_get_warm_wake       (ClochePolicy         *self);
guint               cloche_policy_get_stale_after_days (ClochePolicy        *self);
GStrv               cloche_policy_dup_mount_deny      (ClochePolicy         *self);
gboolean            cloche_policy_get_allow_outside_home (ClochePolicy      *self);
gboolean            cloche_policy_get_mounts_readonly (ClochePolicy         *self);
ClocheEgressRules  *cloche_policy_get_egress_rules    (ClochePolicy         *self);
GStrv               cloche_policy_dup_keys            (ClochePolicy         *self);
GPtrArray          *cloche_policy_dup_secret_bindings (ClochePolicy         *self);

G_END_DECLS
