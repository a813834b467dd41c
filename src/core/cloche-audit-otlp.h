/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_AUDIT_OTLP (cloche_audit_otlp_get_type ())
G_DECLARE_FINAL_TYPE (ClocheAuditOtlp, cloche_audit_otlp, CLOCHE, AUDIT_OTLP, GObject)

ClocheAuditOtlp *cloche_audit_otlp_new      (const char       *endpoint,
                                             GError          **error);
char            *cloche_audit_otlp_build_body (GPtrArray       *lines);
gboolean         cloche_audit_otlp_export   (ClocheAuditOtlp  *self,
                                             GPtrArray        *lines,
                                             GError          **error);

G_END_DECLS
