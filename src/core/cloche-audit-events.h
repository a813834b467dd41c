/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-audit-log.h"
#include "cloche-egress-proxy.h"
#include "cloche-policy.h"
#include "cloche-sandbox.h"
#include "cloche-terminal.h"

G_BEGIN_DECLS

/*
 * The sandbox's events, one function each, so that the sandbox's own code
 * makes one call where something happens. Every function takes a %NULL log
 * and then does nothing. docs/audit.md lists the events and their fields.
 */

void cloche_audit_events_attach   (ClocheAuditLog      *log,
                                   ClocheSandbox       *sandbox);
void cloche_audit_events_attach_policy (ClocheAuditLog *log,
                                   ClochePolicy        *policy);
void cloche_audit_events_attach_egress (ClocheAuditLog *log,
                                   ClocheEgressProxy   *proxy);
void cloche_audit_session_opened  (ClocheAuditLog      *log,
                                   ClocheSession       *session,
                                   const GError        *error);
void cloche_audit_session_closed  (ClocheAuditLog      *log,
                                   ClocheSession       *session);
void cloche_audit_command         (ClocheAuditLog      *log,
                                   const char          *session,
                                   const char * const  *argv,
                                   const char          *cwd,
                                   int                  exit_code,
                                   gint64               duration_us,
                                   const GError        *error);
void cloche_audit_terminal_opened (ClocheAuditLog     *log,
                                   ClocheTerminal      *terminal);
void cloche_audit_terminal_attached (ClocheAuditLog *log,
                                     ClocheTerminal *terminal);
void cloche_audit_terminal_ended  (ClocheAuditLog      *log,
                                   ClocheTerminal      *terminal,
                                   int                  exit_code,
                                   const GError        *error);
void cloche_audit_mount           (ClocheAuditLog      *log,
                                   const char          *event,
                                   const char          *session,
                                   const char          *host_path,
                                   const char          *guest_path,
                                   gboolean             readonly,
                                   const GError        *error);
void cloche_audit_cleanup         (ClocheAuditLog      *log,
                                   GPtrArray           *removed,
                                   guint64              freed);

G_END_DECLS
