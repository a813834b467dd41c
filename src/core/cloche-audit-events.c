/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the sandbox writes to the audit log. VM starts and stops are seen
 * from the VM's state changes (so no code path that starts or stops it can
 * forget to log); sessions, commands, mounts and cleanups are logged by the
 * sandbox where they complete, through the functions here.
 */
#include "config.h"

#include "cloche-audit-events.h"
#include "cloche-error.h"
#include "cloche-sandbox-private.h"

typedef struct
{
  ClocheAuditLog *log;
  ClocheSandbox  *sandbox;    /* weak: the VM may outlive it */
  ClocheVmState   last;
} VmWatch;

static void
cloche_audit_events_vm_watch_free_cb (gpointer data,
                                      GClosure *closure)
{
  VmWatch *watch = data;

  if (watch->sandbox != NULL)
    g_object_remove_weak_pointer (G_OBJECT (watch->sandbox), (gpointer *) &watch->sandbox);
  g_clear_object (&watch->log);
  g_free (watch);
}

static void
cloche_audit_events_add_error (GVariantBuilder *builder,
                               const GError    *error)
{
  if (error == NULL)
    return;
  g_variant_builder_add (builder, "{sv}", "error", g_variant_new_string (error->message));
  g_variant_builder_add (builder, "{sv}", "error-code",
                         g_variant_new_string (error->domain == CLOCHE_ERROR
                                               ? cloche_error_code_name (error->code)
                                               : "Failed"));
}

/* "idle" and "user" come from whoever asked for the stop; anything else
 * that stopped a running VM cleanly was the guest itself. */
static const char *
cloche_audit_events_stop_reason (const char *state_reason)
{
  if (g_strcmp0 (state_reason, "idle") == 0 || g_strcmp0 (state_reason, "user") == 0)
    return state_reason;
  return "guest";
}

static void
cloche_audit_events_log_vm_crash (VmWatch  *watch,
                                  ClocheVm *vm)
{
  const char *reason = cloche_vm_get_state_reason (vm);

  cloche_audit_log_append (watch->log, "vm.stop", NULL,
                           "reason", g_variant_new_string ("crash"),
                           "during", g_variant_new_string (watch->last == CLOCHE_VM_STATE_STARTING
                                                           ? "boot" : "run"),
                           "detail", g_variant_new_string (reason != NULL ? reason : ""),
                           "console-tail", g_variant_new_strv (cloche_vm_get_console_tail (vm), -1),
                           NULL);
}

static void
cloche_audit_events_vm_state_cb (ClocheVm   *vm,
                                 GParamSpec *pspec,
                                 VmWatch    *watch)
{
  ClocheVmState state = cloche_vm_get_state (vm);

  if (state == watch->last || watch->sandbox == NULL)
    return;
  if (state == CLOCHE_VM_STATE_RUNNING)
    /* A boot while a session opens is "open"; otherwise a command in an
     * open session brought the VM back after a stop or a crash. */
    cloche_audit_log_append (watch->log, "vm.start", NULL,
                             "reason", g_variant_new_string (watch->sandbox->opening > 0
                                                             ? "open" : "exec"),
                             "accelerator", g_variant_new_string (cloche_vm_get_accelerator (vm)),
                             "pid", g_variant_new_int64 (cloche_vm_get_pid (vm)),
                             NULL);
  else if (state == CLOCHE_VM_STATE_STOPPED)
    cloche_audit_log_append (watch->log, "vm.stop", NULL,
                             "reason", g_variant_new_string (cloche_audit_events_stop_reason (cloche_vm_get_state_reason (vm))),
                             NULL);
  else if (state == CLOCHE_VM_STATE_CRASHED)
    cloche_audit_events_log_vm_crash (watch, vm);
  watch->last = state;
}

/**
 * cloche_audit_events_attach:
 *
 * Makes @sandbox log to @log: its VM's starts and stops from now on, and
 * what the sandbox itself reports.
 */
void
cloche_audit_events_attach (ClocheAuditLog *log,
                            ClocheSandbox  *sandbox)
{
  VmWatch *watch;

  g_return_if_fail (CLOCHE_IS_AUDIT_LOG (log));
  g_return_if_fail (CLOCHE_IS_SANDBOX (sandbox));

  g_set_object (&sandbox->audit, log);
  watch = g_new0 (VmWatch, 1);
  watch->log = g_object_ref (log);
  watch->sandbox = sandbox;
  g_object_add_weak_pointer (G_OBJECT (sandbox), (gpointer *) &watch->sandbox);
  watch->last = cloche_vm_get_state (sandbox->vm);
  g_signal_connect_data (sandbox->vm, "notify::state", G_CALLBACK (cloche_audit_events_vm_state_cb),
                         watch,
                         cloche_audit_events_vm_watch_free_cb, 0);
}

static GVariant *
cloche_audit_events_mounts_variant (ClocheSession *session)
{
  GPtrArray *mounts = cloche_session_get_mounts (session);
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));

  for (guint i = 0; i < mounts->len; i++)
    {
      ClocheSessionMount *mount = g_ptr_array_index (mounts, i);

      g_variant_builder_add_parsed (&builder, "{'path': <%s>, 'name': <%s>, 'mode': <%s>}",
                                    mount->path, mount->name, mount->readonly ? "ro" : "rw");
    }
  return g_variant_builder_end (&builder);
}

void
cloche_audit_session_opened (ClocheAuditLog *log,
                             ClocheSession  *session,
                             const GError   *error)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  if (log == NULL)
    return;
  g_variant_builder_add (&builder, "{sv}", "title",
                         g_variant_new_string (cloche_session_get_title (session)));
  g_variant_builder_add (&builder, "{sv}", "client",
                         g_variant_new_string (cloche_session_get_client (session) != NULL
                                               ? cloche_session_get_client (session) : ""));
  g_variant_builder_add (&builder, "{sv}", "mounts", cloche_audit_events_mounts_variant (session));
  cloche_audit_events_add_error (&builder, error);
  cloche_audit_log_append_fields (log, error == NULL ? "session.open" : "session.open-failed",
                                  cloche_session_get_id (session),
                                  g_variant_builder_end (&builder));
}

void
cloche_audit_session_closed (ClocheAuditLog *log,
                             ClocheSession  *session)
{
  const char *client = cloche_session_get_client (session);

  cloche_audit_log_append (log, "session.close", cloche_session_get_id (session),
                           "client", g_variant_new_string (client != NULL ? client : ""),
                           NULL);
}

/**
 * cloche_audit_command:
 * @error: (nullable): why the command could not run; then @exit_code is
 *   not logged
 */
void
cloche_audit_command (ClocheAuditLog     *log,
                      const char         *session,
                      const char * const *argv,
                      const char         *cwd,
                      int                 exit_code,
                      gint64              duration_us,
                      const GError       *error)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  if (log == NULL)
    return;
  g_variant_builder_add (&builder, "{sv}", "argv", g_variant_new_strv (argv, -1));
  g_variant_builder_add (&builder, "{sv}", "cwd", g_variant_new_string (cwd));
  if (error == NULL)
    g_variant_builder_add (&builder, "{sv}", "exit-code", g_variant_new_int32 (exit_code));
  g_variant_builder_add (&builder, "{sv}", "duration-ms",
                         g_variant_new_int64 (duration_us / 1000));
  cloche_audit_events_add_error (&builder, error);
  cloche_audit_log_append_fields (log, "command", session, g_variant_builder_end (&builder));
}

/* "terminal.open": which terminal, what it runs, where. */
void
cloche_audit_terminal_opened (ClocheAuditLog *log,
                              ClocheTerminal *terminal)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  if (log == NULL)
    return;
  g_variant_builder_add (&builder, "{sv}", "terminal",
                         g_variant_new_string (cloche_terminal_get_id (terminal)));
  g_variant_builder_add (&builder, "{sv}", "argv",
                         g_variant_new_strv (cloche_terminal_get_command (terminal), -1));
  g_variant_builder_add (&builder, "{sv}", "cwd",
                         g_variant_new_string (cloche_terminal_get_cwd (terminal)));
  cloche_audit_log_append_fields (log, "terminal.open", cloche_terminal_get_session (terminal),
                                  g_variant_builder_end (&builder));
}

/**
 * cloche_audit_terminal_attached:
 *
 * "terminal.attach": a terminal that had lost its client was given to a
 * new one.
 */
void
cloche_audit_terminal_attached (ClocheAuditLog *log,
                                ClocheTerminal *terminal)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  if (log == NULL)
    return;
  g_variant_builder_add (&builder, "{sv}", "terminal",
                         g_variant_new_string (cloche_terminal_get_id (terminal)));
  cloche_audit_log_append_fields (log, "terminal.attach", cloche_terminal_get_session (terminal),
                                  g_variant_builder_end (&builder));
}

/**
 * cloche_audit_terminal_ended:
 * @error: (nullable): why the terminal broke; then @exit_code is not logged
 *
 * "terminal.end": the terminal, its command, when it started, how long it
 * ran and how it ended.
 */
void
cloche_audit_terminal_ended (ClocheAuditLog *log,
                             ClocheTerminal *terminal,
                             int             exit_code,
                             const GError   *error)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr(GDateTime) started = NULL;
  g_autofree char *started_text = NULL;
  gint64 duration_us = g_get_real_time () - cloche_terminal_get_started (terminal);

  if (log == NULL)
    return;
  started = g_date_time_new_from_unix_utc (cloche_terminal_get_started (terminal) / G_USEC_PER_SEC);
  started_text = g_date_time_format_iso8601 (started);
  g_variant_builder_add (&builder, "{sv}", "terminal",
                         g_variant_new_string (cloche_terminal_get_id (terminal)));
  g_variant_builder_add (&builder, "{sv}", "argv",
                         g_variant_new_strv (cloche_terminal_get_command (terminal), -1));
  g_variant_builder_add (&builder, "{sv}", "started", g_variant_new_string (started_text));
  if (error == NULL)
    g_variant_builder_add (&builder, "{sv}", "exit-code", g_variant_new_int32 (exit_code));
  g_variant_builder_add (&builder, "{sv}", "duration-ms",
                         g_variant_new_int64 (duration_us / 1000));
  cloche_audit_events_add_error (&builder, error);
  cloche_audit_log_append_fields (log, "terminal.end", cloche_terminal_get_session (terminal),
                                  g_variant_builder_end (&builder));
}

/* @event: "mount.attach" or "mount.detach" */
void
cloche_audit_mount (ClocheAuditLog *log,
                    const char     *event,
                    const char     *session,
                    const char     *host_path,
                    const char     *guest_path,
                    gboolean        readonly,
                    const GError   *error)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  if (log == NULL)
    return;
  g_variant_builder_add (&builder, "{sv}", "path", g_variant_new_string (host_path));
  g_variant_builder_add (&builder, "{sv}", "guest-path", g_variant_new_string (guest_path));
  g_variant_builder_add (&builder, "{sv}", "mode", g_variant_new_string (readonly ? "ro" : "rw"));
  cloche_audit_events_add_error (&builder, error);
  cloche_audit_log_append_fields (log, event, session, g_variant_builder_end (&builder));
}

/* @removed: (element-type ClocheSessionEntry): the sessions a cleanup removed */
void
cloche_audit_cleanup (ClocheAuditLog *log,
                      GPtrArray      *removed,
                      guint64         freed)
{
  g_autoptr(GStrvBuilder) ids = g_strv_builder_new ();
  g_auto(GStrv) list = NULL;

  if (log == NULL)
    return;
  for (guint i = 0; i < removed->len; i++)
    {
      ClocheSessionEntry *entry = g_ptr_array_index (removed, i);

      g_strv_builder_add (ids, cloche_session_get_id (entry->session));
    }
  list = g_strv_builder_end (ids);
  cloche_audit_log_append (log, "cleanup", NULL,
                           "what", g_variant_new_string ("stale sessions"),
                           "sessions", g_variant_new_strv ((const char * const *) list, -1),
                           "count", g_variant_new_uint32 (removed->len),
                           "bytes", g_variant_new_uint64 (freed),
                           NULL);
}

/* Each change of the policy in force, and each refusal of a file (the
 * policy notifies a refusal once, and a refused file changes nothing). */
static void
cloche_audit_events_policy_changed_cb (ClochePolicy   *policy,
                                       ClocheAuditLog *log)
{
  cloche_audit_log_append_fields (log, "policy.applied", NULL, NULL);
}

static void
cloche_audit_events_policy_refusal_cb (ClochePolicy   *policy,
                                       GParamSpec     *pspec,
                                       ClocheAuditLog *log)
{
  const char *refusal = cloche_policy_get_last_refusal (policy);

  if (refusal[0] != '\0')
    cloche_audit_log_append (log, "policy.refused", NULL,
                             "problems", g_variant_new_string (refusal), NULL);
}

void
cloche_audit_events_attach_policy (ClocheAuditLog *log,
                                   ClochePolicy   *policy)
{
  g_return_if_fail (CLOCHE_IS_AUDIT_LOG (log));
  g_return_if_fail (CLOCHE_IS_POLICY (policy));

  g_signal_connect_object (policy, "changed", G_CALLBACK (cloche_audit_events_policy_changed_cb),
                           log, 0);
  g_signal_connect_object (policy, "notify::last-refusal",
                           G_CALLBACK (cloche_audit_events_policy_refusal_cb), log, 0);
}

/* A decision once it is final: at once for a refusal, with its byte counts
 * when an allowed connection ends. */
static void
cloche_audit_events_egress_decision_ended_cb (ClocheEgressProxy    *proxy,
                                              ClocheEgressDecision *decision,
                                              ClocheAuditLog       *log)
{
  cloche_audit_log_append (log, "egress.decision",
                           decision->session[0] != '\0' ? decision->session : NULL,
                           "id", g_variant_new_uint64 (decision->id),
                           "method", g_variant_new_string (decision->method),
                           "host", g_variant_new_string (decision->host),
                           "port", g_variant_new_uint16 (decision->port),
                           "intercepted", g_variant_new_boolean (decision->intercepted),
                           "allowed", g_variant_new_boolean (decision->allowed),
                           "rule", g_variant_new_string (decision->rule),
                           "bytes-in", g_variant_new_uint64 (decision->bytes_in),
                           "bytes-out", g_variant_new_uint64 (decision->bytes_out),
                           "error", decision->error != NULL
                                    ? g_variant_new_string (decision->error) : NULL,
                           "path", decision->path != NULL
                                   ? g_variant_new_string (decision->path) : NULL,
                           NULL);
}

/* A session's egress additions (issue 17), when given and when dropped:
 * "egress.session-allow" with the hosts, [] once gone. */
static void
cloche_audit_events_session_allow_cb (ClocheEgressProxy  *proxy,
                                      const char         *session,
                                      const char * const *hosts,
                                      ClocheAuditLog     *log)
{
  cloche_audit_log_append (log, "egress.session-allow", session,
                           "hosts", g_variant_new_strv (hosts != NULL ? hosts
                                                        : (const char * const[]) { NULL }, -1),
                           NULL);
}

void
cloche_audit_events_attach_egress (ClocheAuditLog    *log,
                                   ClocheEgressProxy *proxy)
{
  g_return_if_fail (CLOCHE_IS_AUDIT_LOG (log));
  g_return_if_fail (CLOCHE_IS_EGRESS_PROXY (proxy));

  g_signal_connect_object (proxy, "decision-ended",
                           G_CALLBACK (cloche_audit_events_egress_decision_ended_cb), log, 0);
  g_signal_connect_object (proxy, "session-allow-changed",
                           G_CALLBACK (cloche_audit_events_session_allow_cb), log, 0);
}
