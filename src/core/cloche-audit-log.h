/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-audit-otlp.h"

G_BEGIN_DECLS

/* Rotated at 8 MiB, four old files kept: ~40 MiB at most, about 100,000
 * events. docs/audit.md has the schema. */
#define CLOCHE_AUDIT_LOG_DEFAULT_MAX_BYTES (8 * 1024 * 1024)
#define CLOCHE_AUDIT_LOG_DEFAULT_KEEP      4
#define CLOCHE_AUDIT_LOG_FILE_NAME         "audit.jsonl"
/* A reader keeps no longer line than this (the guest-agent line bound). */
#define CLOCHE_AUDIT_MAX_LINE              (64 * 1024 * 1024)
/* The version written in every line's "v"; bumped only when a key changes
 * meaning, never when one is added. */
#define CLOCHE_AUDIT_SCHEMA_VERSION        1

#define CLOCHE_TYPE_AUDIT_LOG (cloche_audit_log_get_type ())
G_DECLARE_FINAL_TYPE (ClocheAuditLog, cloche_audit_log, CLOCHE, AUDIT_LOG, GObject)

char           *cloche_audit_log_default_dir   (void);
ClocheAuditLog *cloche_audit_log_new           (const char      *dir,
                                                guint64          max_bytes,
                                                guint            keep);
gboolean        cloche_audit_log_open          (ClocheAuditLog  *self,
                                                GError         **error);
void            cloche_audit_log_set_exporter  (ClocheAuditLog  *self,
                                                ClocheAuditOtlp *exporter);
char           *cloche_audit_log_dup_path      (ClocheAuditLog  *self,
                                                guint            generation);
void            cloche_audit_log_append        (ClocheAuditLog  *self,
                                                const char      *event,
                                                const char      *session,
                                                const char      *first_field,
                                                ...) G_GNUC_NULL_TERMINATED;
void            cloche_audit_log_append_fields (ClocheAuditLog  *self,
                                                const char      *event,
                                                const char      *session,
                                                GVariant        *fields);
void            cloche_audit_log_flush         (ClocheAuditLog  *self);
char           *cloche_audit_format_time       (gint64           real_time_us);
char           *cloche_audit_format_line       (gint64           real_time_us,
                                                const char      *event,
                                                const char      *session,
                                                GVariant        *fields);

G_END_DECLS
