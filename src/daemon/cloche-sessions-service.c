/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Sessions: every call about sessions (see
 * data/io.github.cloche.Sessions.xml), a subclass of the generated
 * skeleton. What it serves is the sandbox's; what it sends is the codec's
 * struct (cloche-session-codec.c), lists packed into one "ay". Options are
 * read strictly: a known key of another type, or a number out of its
 * range, fails the call naming the key; an unknown key is ignored, so a
 * newer client can ask more of a later daemon. It also watches the bus
 * names of callers whose sessions must close, and whose commands must be
 * killed, when they leave.
 *
 * Exec's commands are kept by caller and tag while they run, so that one
 * can be stopped while its call is pending (a D-Bus call cannot be
 * cancelled by its caller: CancelExec names it by the tag). A caller only
 * ever stops its own commands: calls are matched by the sender's unique
 * name, which the bus vouches for.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cloche-agent-profile.h"
#include "cloche-cleanup-record.h"
#include "cloche-dbus-generated.h"
#include "cloche-error.h"
#include "cloche-session-codec.h"
#include "cloche-sessions-service.h"
#include "cloche-sessions-terminals.h"

/* Cleanup's "older-than-days": ten years, as the policy's stale_after_days. */
#define OLDER_THAN_DAYS_MAX 3650
#define TIMEOUT_MS_MAX ((guint) CLOCHE_SANDBOX_EXEC_MAX_TIMEOUT_S * 1000)
#define TAG_MAX_BYTES 128

struct _ClocheSessionsService
{
  ClocheDbusSessionsSkeleton  parent_instance;
  ClocheSandbox              *sandbox;
  GHashTable                 *client_watches;    /* bus name → watch id */
  GHashTable                 *owned;   /* bus name → GPtrArray of the ids tied to it */
  GPtrArray                  *running; /* ExecCall: commands running */
  /* Open's "egress-allow" (issue 17): checked against the policy's locks,
   * given to the proxy for the session's life; NULL until set. */
  ClochePolicy               *policy;
  ClocheEgressProxy          *egress;
};

static void cloche_sessions_service_sessions_iface_init (ClocheDbusSessionsIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ClocheSessionsService, cloche_sessions_service,
                               CLOCHE_DBUS_TYPE_SESSIONS_SKELETON,
                               G_IMPLEMENT_INTERFACE (CLOCHE_DBUS_TYPE_SESSIONS,
                                                      cloche_sessions_service_sessions_iface_init))

/* A call waiting for the sandbox: the reply goes through the skeleton. */
typedef struct
{
  ClocheSessionsService *self;
  GDBusMethodInvocation *invocation;
  gboolean               stale_only;
  gboolean               owned;        /* Open: closes when its caller leaves the bus */
  gboolean               dry_run;
  GStrv                  egress_allow; /* Open: hosts the session adds */
} Call;

static Call *
cloche_sessions_service_call_new (ClocheSessionsService *self,
                                  GDBusMethodInvocation *invocation)
{
  Call *call = g_new0 (Call, 1);

  call->self = g_object_ref (self);
  call->invocation = g_object_ref (invocation);
  return call;
}

static void
cloche_sessions_service_call_free (Call *call)
{
  g_object_unref (call->self);
  g_object_unref (call->invocation);
  g_strfreev (call->egress_allow);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, cloche_sessions_service_call_free)

/* Options */

/* Returns: %FALSE with @error when @key is there with another type;
 *   @value is %NULL when it is not there */
static gboolean
cloche_sessions_service_lookup_option (GVariant            *options,
                                       const char          *key,
                                       const GVariantType  *type,
                                       GVariant           **value,
                                       GError             **error)
{
  g_autoptr(GVariant) found = g_variant_lookup_value (options, key, NULL);

  *value = NULL;
  if (found == NULL)
    return TRUE;
  if (!g_variant_is_of_type (found, type))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("Option \"%s\" must be of type %s, not %s"), key,
                   g_variant_type_peek_string (type), g_variant_get_type_string (found));
      return FALSE;
    }
  *value = g_steal_pointer (&found);
  return TRUE;
}

static gboolean
cloche_sessions_service_option_boolean (GVariant    *options,
                                        const char  *key,
                                        gboolean    *value,
                                        GError     **error)
{
  g_autoptr(GVariant) found = NULL;

  if (!cloche_sessions_service_lookup_option (options, key, G_VARIANT_TYPE_BOOLEAN, &found, error))
    return FALSE;
  if (found != NULL)
    *value = g_variant_get_boolean (found);
  return TRUE;
}

/* @value is left as it is when @key is not there. */
static gboolean
cloche_sessions_service_option_uint (GVariant    *options,
                                     const char  *key,
                                     guint        min,
                                     guint        max,
                                     guint       *value,
                                     GError     **error)
{
  g_autoptr(GVariant) found = NULL;
  guint32 number;

  if (!cloche_sessions_service_lookup_option (options, key, G_VARIANT_TYPE_UINT32, &found, error))
    return FALSE;
  if (found == NULL)
    return TRUE;
  number = g_variant_get_uint32 (found);
  if (number < min || number > max)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("Option \"%s\" is %u, out of its range: give one from %u to %u"), key,
                   number, min, max);
      return FALSE;
    }
  *value = number;
  return TRUE;
}

static gboolean
cloche_sessions_service_fail (GDBusMethodInvocation *invocation,
                              GError                *error)
{
  g_dbus_method_invocation_take_error (invocation, error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Properties */

static void
cloche_sessions_service_sync_properties_cb (ClocheSessionsService *self)
{
  ClocheDbusSessions *skeleton = CLOCHE_DBUS_SESSIONS (self);

  cloche_dbus_sessions_set_sessions_path (skeleton, cloche_session_store_get_root (
                                            cloche_sandbox_get_store (self->sandbox)));
  cloche_dbus_sessions_set_stale_after_days (skeleton,
                                             cloche_sandbox_get_stale_after_days (self->sandbox));
}

/* The last cleanup: a file beside the sessions folder, so that it is said
 * again after a restart (cloche-cleanup-record.c). */

static char *
cloche_sessions_service_last_cleanup_path (ClocheSessionsService *self)
{
  g_autofree char *state = g_path_get_dirname (cloche_session_store_get_root (
                                                 cloche_sandbox_get_store (self->sandbox)));

  return g_build_filename (state, "last-cleanup.json", NULL);
}

static void
cloche_sessions_service_load_last_cleanup (ClocheSessionsService *self)
{
  g_autofree char *path = cloche_sessions_service_last_cleanup_path (self);
  g_autoptr(GVariant) record = NULL;
  g_autoptr(GError) error = NULL;

  record = cloche_cleanup_record_load (path, &error);
  if (record == NULL)
    {
      g_warning ("%s", error->message);
      record = g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
    }
  cloche_dbus_sessions_set_last_cleanup (CLOCHE_DBUS_SESSIONS (self), record);
}

static void
cloche_sessions_service_record_cleanup (ClocheSessionsService *self,
                                        guint                  removed,
                                        guint64                freed)
{
  g_autofree char *path = cloche_sessions_service_last_cleanup_path (self);
  g_autoptr(GError) error = NULL;
  gint64 now = g_get_real_time ();

  if (!cloche_cleanup_record_save (path, now, removed, freed, &error))
    g_warning ("The last cleanup is not kept: %s", error->message);
  cloche_dbus_sessions_set_last_cleanup (CLOCHE_DBUS_SESSIONS (self),
                                         cloche_cleanup_record_new (now, removed, freed));
}

/* Clients: a session that was not asked to stay open closes when the
 * client that opened it leaves the bus (it crashed, or forgot). */

static void
cloche_sessions_service_unwatch (gpointer watch_id)
{
  g_bus_unwatch_name (GPOINTER_TO_UINT (watch_id));
}

static void cloche_sessions_service_cancel_execs (ClocheSessionsService *self,
                                                  const char            *sender,
                                                  const char            *tag);

static void
cloche_sessions_service_client_vanished_cb (GDBusConnection *connection,
                                            const char      *name,
                                            gpointer         user_data)
{
  ClocheSessionsService *self = user_data;
  GPtrArray *ids = g_hash_table_lookup (self->owned, name);
  guint closed = 0;

  /* Nobody will read their answers. */
  cloche_sessions_service_cancel_execs (self, name, NULL);
  for (guint i = 0; ids != NULL && i < ids->len; i++)
    if (cloche_sandbox_close_session (self->sandbox, g_ptr_array_index (ids, i), NULL))
      closed++;
  g_hash_table_remove (self->owned, name);
  if (closed > 0)
    {
      g_message ("%s left the bus: closed its %u session(s)", name, closed);
      cloche_dbus_sessions_emit_changed (CLOCHE_DBUS_SESSIONS (self));
    }
  g_hash_table_remove (self->client_watches, name);
}

static void
cloche_sessions_service_watch_client (ClocheSessionsService *self,
                                      GDBusMethodInvocation *invocation)
{
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  guint id;

  if (sender == NULL || g_hash_table_contains (self->client_watches, sender))
    return;
  id = g_bus_watch_name_on_connection (g_dbus_method_invocation_get_connection (invocation),
                                       sender, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                       NULL, cloche_sessions_service_client_vanished_cb, self,
                                       NULL);
  g_hash_table_insert (self->client_watches, g_strdup (sender), GUINT_TO_POINTER (id));
}

/* Open, Close */

/* A session tied to @owner; if it left while the VM booted, the session
 * closes at once, as it would have a moment later. */
static void
cloche_sessions_service_own_session (ClocheSessionsService *self,
                                     const char            *owner,
                                     const char            *id)
{
  GPtrArray *ids;

  if (!g_hash_table_contains (self->client_watches, owner))
    {
      cloche_sandbox_close_session (self->sandbox, id, NULL);
      return;
    }
  ids = g_hash_table_lookup (self->owned, owner);
  if (ids == NULL)
    {
      ids = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (self->owned, g_strdup (owner), ids);
    }
  g_ptr_array_add (ids, g_strdup (id));
}

static void
cloche_sessions_service_opened_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  g_autoptr(Call) call = user_data;
  g_autofree char *id = NULL;
  GError *error = NULL;

  id = cloche_sandbox_open_session_finish (CLOCHE_SANDBOX (object), result, &error);
  if (id != NULL && call->egress_allow != NULL
      && !cloche_egress_proxy_set_session_allow (call->self->egress, id,
                                                 (const char * const *) call->egress_allow,
                                                 &error))
    {
      cloche_sandbox_close_session (call->self->sandbox, id, NULL);
      g_clear_pointer (&id, g_free);
    }
  if (id != NULL && call->owned)
    cloche_sessions_service_own_session (call->self,
                                         g_dbus_method_invocation_get_sender (call->invocation),
                                         id);
  if (id == NULL)
    cloche_sessions_service_fail (call->invocation, error);
  else
    {
      cloche_dbus_sessions_complete_open (CLOCHE_DBUS_SESSIONS (call->self), call->invocation, id);
      cloche_dbus_sessions_emit_changed (CLOCHE_DBUS_SESSIONS (call->self));
    }
}

/* Open's "egress-allow": hosts the new session adds to the policy's egress
 * rules, for itself only. At most 32, each naming hosts, and only where the
 * administrator does not lock egress. Returns: %FALSE with @error; *@hosts
 * NULL when the option is absent or empty. */
static gboolean
cloche_sessions_service_option_egress_allow (ClocheSessionsService  *self,
                                             GVariant               *options,
                                             GStrv                  *hosts,
                                             GError                **error)
{
  g_autoptr(GVariant) found = NULL;
  g_autofree const char **list = NULL;

  *hosts = NULL;
  if (!cloche_sessions_service_lookup_option (options, "egress-allow", G_VARIANT_TYPE_STRING_ARRAY,
                                              &found, error))
    return FALSE;
  if (found == NULL || g_variant_n_children (found) == 0)
    return TRUE;
  list = g_variant_get_strv (found, NULL);
  if (self->egress == NULL || self->policy == NULL)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_EGRESS_UNAVAILABLE,
                   _("This service has no egress proxy: a session cannot add hosts"));
      return FALSE;
    }
  if (!cloche_agent_profile_hosts_check (list, error)
      || !cloche_policy_allows_session_egress (self->policy, list, error))
    return FALSE;
  *hosts = g_strdupv ((GStrv) list);
  return TRUE;
}

static gboolean
cloche_sessions_service_handle_open (ClocheDbusSessions    *object,
                                     GDBusMethodInvocation *invocation,
                                     const char            *title,
                                     GVariant              *options)
{
  ClocheSessionsService *self = CLOCHE_SESSIONS_SERVICE (object);
  g_autoptr(GVariant) mounts_variant = NULL;
  g_autoptr(GVariant) client_variant = NULL;
  g_autoptr(GPtrArray) mounts = NULL;
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  const char *client = sender;
  gboolean keep_open = FALSE;
  gboolean tools_writable = FALSE;
  g_auto(GStrv) egress_allow = NULL;
  GError *error = NULL;
  Call *call;

  if (!cloche_sessions_service_lookup_option (options, "mounts", G_VARIANT_TYPE ("a(sb)"),
                                              &mounts_variant, &error)
      || !cloche_sessions_service_lookup_option (options, "client", G_VARIANT_TYPE_STRING,
                                                 &client_variant, &error)
      || !cloche_sessions_service_option_boolean (options, "keep-open", &keep_open, &error)
      || !cloche_sessions_service_option_boolean (options, "tools-writable", &tools_writable,
                                                  &error)
      || !cloche_sessions_service_option_egress_allow (self, options, &egress_allow, &error)
      || (mounts = cloche_session_mounts_from_variant (mounts_variant, &error)) == NULL)
    return cloche_sessions_service_fail (invocation, error);
  if (tools_writable && mounts->len > 0)
    return cloche_sessions_service_fail (invocation,
                                         g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                                                      _("An install session (\"tools-writable\") "
                                                        "has no folder but the tools folder: open "
                                                        "it without \"mounts\"")));
  /* A session tied to its caller keeps the client name it was given too;
   * the bus name it goes with is kept here, not in its record. */
  if (client_variant != NULL && g_variant_get_string (client_variant, NULL)[0] != '\0')
    client = g_variant_get_string (client_variant, NULL);
  if (!keep_open)
    cloche_sessions_service_watch_client (self, invocation);
  call = cloche_sessions_service_call_new (self, invocation);
  call->owned = !keep_open && sender != NULL;
  call->egress_allow = g_steal_pointer (&egress_allow);
  if (tools_writable)
    cloche_sandbox_open_tools_session_async (self->sandbox, title, client, NULL,
                                             cloche_sessions_service_opened_cb, call);
  else
    cloche_sandbox_open_session_async (self->sandbox, title, client, mounts, NULL,
                                       cloche_sessions_service_opened_cb, call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
cloche_sessions_service_closed_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  g_autoptr(Call) call = user_data;
  GError *error = NULL;

  if (!cloche_sandbox_close_session_finish (CLOCHE_SANDBOX (object), result, &error))
    cloche_sessions_service_fail (call->invocation, error);
  else
    {
      cloche_dbus_sessions_complete_close (CLOCHE_DBUS_SESSIONS (call->self), call->invocation);
      cloche_dbus_sessions_emit_changed (CLOCHE_DBUS_SESSIONS (call->self));
    }
}

static gboolean
cloche_sessions_service_handle_close (ClocheDbusSessions    *object,
                                      GDBusMethodInvocation *invocation,
                                      const char            *id)
{
  ClocheSessionsService *self = CLOCHE_SESSIONS_SERVICE (object);

  cloche_sandbox_close_session_async (self->sandbox, id, NULL, cloche_sessions_service_closed_cb,
                                      cloche_sessions_service_call_new (self, invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Get, SetPinned */

static void
cloche_sessions_service_got_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(Call) call = user_data;
  ClocheSessionEntry *entry;
  GError *error = NULL;

  entry = cloche_sandbox_get_session_finish (CLOCHE_SANDBOX (object), result, &error);
  if (entry == NULL)
    {
      cloche_sessions_service_fail (call->invocation, error);
      return;
    }
  cloche_dbus_sessions_complete_get (CLOCHE_DBUS_SESSIONS (call->self), call->invocation,
                                     entry->info);
  cloche_session_entry_free (entry);
}

static gboolean
cloche_sessions_service_handle_get (ClocheDbusSessions    *object,
                                    GDBusMethodInvocation *invocation,
                                    const char            *id)
{
  ClocheSessionsService *self = CLOCHE_SESSIONS_SERVICE (object);

  cloche_sandbox_get_session_async (self->sandbox, id, NULL, cloche_sessions_service_got_cb,
                                    cloche_sessions_service_call_new (self, invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
cloche_sessions_service_pinned_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  g_autoptr(Call) call = user_data;
  GError *error = NULL;

  if (!cloche_sandbox_set_pinned_finish (CLOCHE_SANDBOX (object), result, &error))
    cloche_sessions_service_fail (call->invocation, error);
  else
    {
      cloche_dbus_sessions_complete_set_pinned (CLOCHE_DBUS_SESSIONS (call->self),
                                                call->invocation);
      cloche_dbus_sessions_emit_changed (CLOCHE_DBUS_SESSIONS (call->self));
    }
}

static gboolean
cloche_sessions_service_handle_set_pinned (ClocheDbusSessions    *object,
                                           GDBusMethodInvocation *invocation,
                                           const char            *id,
                                           gboolean               pinned)
{
  ClocheSessionsService *self = CLOCHE_SESSIONS_SERVICE (object);

  cloche_sandbox_set_pinned_async (self->sandbox, id, pinned, NULL,
                                   cloche_sessions_service_pinned_cb,
                                   cloche_sessions_service_call_new (self, invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* List, Cleanup */

/* Returns: (transfer floating): "ay": @entries' structs, packed */
static GVariant *
cloche_sessions_service_packed (GPtrArray *entries,
                                gboolean   stale_only)
{
  g_autoptr(GPtrArray) infos = g_ptr_array_sized_new (entries->len);
  g_autoptr(GBytes) bytes = NULL;

  for (guint i = 0; i < entries->len; i++)
    {
      ClocheSessionEntry *entry = g_ptr_array_index (entries, i);

      if (!stale_only || entry->stale)
        g_ptr_array_add (infos, entry->info);
    }
  bytes = cloche_session_infos_pack (infos);
  return g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, bytes, TRUE);
}

static void
cloche_sessions_service_listed_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  g_autoptr(Call) call = user_data;
  g_autoptr(GPtrArray) entries = NULL;
  GError *error = NULL;

  entries = cloche_sandbox_list_sessions_finish (CLOCHE_SANDBOX (object), result, &error);
  if (entries == NULL)
    cloche_sessions_service_fail (call->invocation, error);
  else
    cloche_dbus_sessions_complete_list (CLOCHE_DBUS_SESSIONS (call->self), call->invocation,
                                        cloche_sessions_service_packed (entries, call->stale_only));
}

static gboolean
cloche_sessions_service_handle_list (ClocheDbusSessions    *object,
                                     GDBusMethodInvocation *invocation,
                                     GVariant              *options)
{
  ClocheSessionsService *self = CLOCHE_SESSIONS_SERVICE (object);
  g_autoptr(Call) call = cloche_sessions_service_call_new (self, invocation);
  GError *error = NULL;

  if (!cloche_sessions_service_option_boolean (options, "stale-only", &call->stale_only, &error))
    return cloche_sessions_service_fail (invocation, error);
  cloche_sandbox_list_sessions_async (self->sandbox, NULL, cloche_sessions_service_listed_cb,
                                      g_steal_pointer (&call));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
cloche_sessions_service_cleanup_progress_cb (guint    done,
                                             guint    total,
                                             guint64  freed,
                                             gpointer user_data)
{
  cloche_dbus_sessions_emit_cleanup_progress (CLOCHE_DBUS_SESSIONS (user_data), done, total,
                                              freed);
}

static void
cloche_sessions_service_cleaned_up_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  g_autoptr(Call) call = user_data;
  g_autoptr(GPtrArray) removed = NULL;
  GError *error = NULL;
  guint64 freed = 0;

  removed = cloche_sandbox_cleanup_finish (CLOCHE_SANDBOX (object), result, &freed, &error);
  if (removed == NULL)
    cloche_sessions_service_fail (call->invocation, error);
  else
    cloche_dbus_sessions_complete_cleanup (CLOCHE_DBUS_SESSIONS (call->self), call->invocation,
                                           cloche_sessions_service_packed (removed, FALSE), freed);
  /* A cleanup that failed on one session removed the others. */
  if (!call->dry_run)
    cloche_dbus_sessions_emit_changed (CLOCHE_DBUS_SESSIONS (call->self));
  if (!call->dry_run && removed != NULL)
    cloche_sessions_service_record_cleanup (call->self, removed->len, freed);
}

static gboolean
cloche_sessions_service_handle_cleanup (ClocheDbusSessions    *object,
                                        GDBusMethodInvocation *invocation,
                                        GVariant              *options)
{
  ClocheSessionsService *self = CLOCHE_SESSIONS_SERVICE (object);
  guint older_than = cloche_sandbox_get_stale_after_days (self->sandbox);
  gboolean dry_run = FALSE;
  GError *error = NULL;
  Call *call;

  if (!cloche_sessions_service_option_boolean (options, "dry-run", &dry_run, &error)
      || !cloche_sessions_service_option_uint (options, "older-than-days", 0, OLDER_THAN_DAYS_MAX,
                                               &older_than, &error))
    return cloche_sessions_service_fail (invocation, error);
  call = cloche_sessions_service_call_new (self, invocation);
  call->dry_run = dry_run;
  cloche_sandbox_cleanup_async (self->sandbox, older_than, dry_run,
                                cloche_sessions_service_cleanup_progress_cb, self,
                                NULL, cloche_sessions_service_cleaned_up_cb, call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Exec, CancelExec */

/* A command running for a caller, until its call is answered. */
typedef struct
{
  ClocheSessionsService *self;
  GDBusMethodInvocation *invocation;
  GCancellable          *cancellable;
  char                  *sender;
  char                  *tag;                /* nullable */
  gboolean               output_on_timeout;
  gboolean               owned;     /* Fork: its session closes when its caller leaves */
} ExecCall;

static void
cloche_sessions_service_exec_call_free (ExecCall *call)
{
  g_object_unref (call->self);
  g_object_unref (call->invocation);
  g_object_unref (call->cancellable);
  g_free (call->sender);
  g_free (call->tag);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ExecCall, cloche_sessions_service_exec_call_free)

/* Stops the commands of @sender with @tag (any tag when %NULL). */
static void
cloche_sessions_service_cancel_execs (ClocheSessionsService *self,
                                      const char            *sender,
                                      const char            *tag)
{
  for (guint i = 0; i < self->running->len; i++)
    {
      ExecCall *call = g_ptr_array_index (self->running, i);

      if (g_strcmp0 (call->sender, sender) == 0
          && (tag == NULL || g_strcmp0 (call->tag, tag) == 0))
        g_cancellable_cancel (call->cancellable);
    }
}

static GVariant *
cloche_sessions_service_bytes_variant (GBytes *bytes)
{
  if (bytes == NULL)
    return g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, "", 0, TRUE, NULL, NULL);
  return g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, bytes, TRUE);
}

static GVariant *
cloche_sessions_service_exec_info (gboolean timed_out)
{
  GVariantDict info;

  g_variant_dict_init (&info, NULL);
  if (timed_out)
    g_variant_dict_insert (&info, "timed-out", "b", TRUE);
  return g_variant_dict_end (&info);
}

static void
cloche_sessions_service_exec_done_cb (GObject      *object,
                                      GAsyncResult *result,
                                      gpointer      user_data)
{
  g_autoptr(ExecCall) call = user_data;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  GError *error = NULL;
  gboolean timed_out = FALSE;
  int exit_code = -1;

  g_ptr_array_remove (call->self->running, call);
  if (!cloche_sandbox_exec_finish (CLOCHE_SANDBOX (object), result, &exit_code, &out, &err,
                                   &error))
    {
      /* Asked for: what it wrote until its deadline, as an answer. */
      timed_out = call->output_on_timeout && out != NULL
                  && g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_EXEC_TIMEOUT);
      if (!timed_out)
        {
          cloche_sessions_service_fail (call->invocation, error);
          return;
        }
      g_clear_error (&error);
    }
  cloche_dbus_sessions_complete_exec (CLOCHE_DBUS_SESSIONS (call->self), call->invocation,
                                      exit_code, cloche_sessions_service_bytes_variant (out),
                                      cloche_sessions_service_bytes_variant (err),
                                      cloche_sessions_service_exec_info (timed_out));
}

/* What Exec's options ask, read strictly. */
typedef struct
{
  GVariant *env;
  GVariant *cwd;
  GVariant *input;
  GVariant *tag;
  guint     timeout_ms;
  gboolean  output_on_timeout;
} ExecOptions;

static void
cloche_sessions_service_exec_options_clear (ExecOptions *options)
{
  g_clear_pointer (&options->env, g_variant_unref);
  g_clear_pointer (&options->cwd, g_variant_unref);
  g_clear_pointer (&options->input, g_variant_unref);
  g_clear_pointer (&options->tag, g_variant_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ExecOptions, cloche_sessions_service_exec_options_clear)

static gboolean
cloche_sessions_service_check_tag (GVariant  *tag,
                                   GError   **error)
{
  gsize length = 0;

  if (tag == NULL)
    return TRUE;
  g_variant_get_string (tag, &length);
  if (length > 0 && length <= TAG_MAX_BYTES)
    return TRUE;
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
               _("Option \"tag\" must be 1 to %u bytes long, not %zu"), TAG_MAX_BYTES,
               (size_t) length);
  return FALSE;
}

static gboolean
cloche_sessions_service_read_exec_options (GVariant     *options,
                                           ExecOptions  *read,
                                           GError      **error)
{
  return cloche_sessions_service_lookup_option (options, "env", G_VARIANT_TYPE_STRING_ARRAY,
                                                &read->env, error)
         && cloche_sessions_service_lookup_option (options, "cwd", G_VARIANT_TYPE_STRING,
                                                   &read->cwd, error)
         && cloche_sessions_service_lookup_option (options, "stdin", G_VARIANT_TYPE_BYTESTRING,
                                                   &read->input, error)
         && cloche_sessions_service_lookup_option (options, "tag", G_VARIANT_TYPE_STRING,
                                                   &read->tag, error)
         && cloche_sessions_service_check_tag (read->tag, error)
         && cloche_sessions_service_option_boolean (options, "output-on-timeout",
                                                    &read->output_on_timeout, error)
         && cloche_sessions_service_option_uint (options, "timeout-ms", 1, TIMEOUT_MS_MAX,
                                                 &read->timeout_ms, error);
}

static ExecCall *
cloche_sessions_service_exec_call_new (ClocheSessionsService *self,
                                       GDBusMethodInvocation *invocation,
                                       ExecOptions           *read)
{
  ExecCall *call = g_new0 (ExecCall, 1);

  call->self = g_object_ref (self);
  call->invocation = g_object_ref (invocation);
  call->cancellable = g_cancellable_new ();
  call->sender = g_strdup (g_dbus_method_invocation_get_sender (invocation));
  call->tag = read->tag != NULL ? g_variant_dup_string (read->tag, NULL) : NULL;
  call->output_on_timeout = read->output_on_timeout;
  g_ptr_array_add (self->running, call);
  if (call->sender != NULL)
    cloche_sessions_service_watch_client (self, invocation);
  return call;
}

static gboolean
cloche_sessions_service_handle_exec (ClocheDbusSessions    *object,
                                     GDBusMethodInvocation *invocation,
                                     const char            *id,
                                     const char * const    *argv,
                                     GVariant              *options)
{
  ClocheSessionsService *self = CLOCHE_SESSIONS_SERVICE (object);
  g_auto(ExecOptions) read = { 0 };
  g_autofree const char **env = NULL;
  g_autoptr(GBytes) input = NULL;
  GError *error = NULL;
  ExecCall *call;

  if (!cloche_sessions_service_read_exec_options (options, &read, &error))
    return cloche_sessions_service_fail (invocation, error);
  if (read.env != NULL)
    env = g_variant_get_strv (read.env, NULL);
  if (read.input != NULL)
    input = g_variant_get_data_as_bytes (read.input);
  call = cloche_sessions_service_exec_call_new (self, invocation, &read);
  /* Whole seconds, rounded up: a deadline is never shorter than asked. A
   * stopped command's call ends once it is gone, so that the caller knows
   * nothing of it runs on. */
  cloche_sandbox_exec_async (self->sandbox, id, argv, env,
                             read.cwd != NULL ? g_variant_get_string (read.cwd, NULL) : NULL,
                             (read.timeout_ms + 999) / 1000, input, CLOCHE_EXEC_WAIT_FOR_STOP,
                             call->cancellable, cloche_sessions_service_exec_done_cb, call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* CancelExec and CancelFork: the caller's own running calls with @tag (an
 * Exec's or a Fork's, both ExecCalls), never another caller's. */
static void
cloche_sessions_service_cancel_tagged (ClocheDbusSessions    *object,
                                       GDBusMethodInvocation *invocation,
                                       const char            *tag)
{
  const char *sender = g_dbus_method_invocation_get_sender (invocation);

  if (sender != NULL && tag[0] != '\0')
    cloche_sessions_service_cancel_execs (CLOCHE_SESSIONS_SERVICE (object), sender, tag);
}

static gboolean
cloche_sessions_service_handle_cancel_exec (ClocheDbusSessions    *object,
                                            GDBusMethodInvocation *invocation,
                                            const char            *tag)
{
  cloche_sessions_service_cancel_tagged (object, invocation, tag);
  cloche_dbus_sessions_complete_cancel_exec (object, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Fork: a running call as Exec's (ExecCall: cancelled by its tag, or
 * when its caller leaves the bus), with Open's "keep-open" and "client". */

typedef struct
{
  ClocheSessionsService *self;
  char                  *source;
  char                  *tag;
} ForkProgress;

static void
cloche_sessions_service_fork_progress_free (gpointer data)
{
  ForkProgress *progress = data;

  g_object_unref (progress->self);
  g_free (progress->source);
  g_free (progress->tag);
  g_free (progress);
}

static void
cloche_sessions_service_fork_progress_cb (guint64  copied,
                                          guint64  total,
                                          gpointer user_data)
{
  ForkProgress *progress = user_data;

  cloche_dbus_sessions_emit_fork_progress (CLOCHE_DBUS_SESSIONS (progress->self),
                                           progress->source, progress->tag, copied, total);
}

static void
cloche_sessions_service_forked_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  g_autoptr(ExecCall) call = user_data;
  g_autofree char *id = NULL;
  GError *error = NULL;

  g_ptr_array_remove (call->self->running, call);
  id = cloche_sandbox_fork_session_finish (CLOCHE_SANDBOX (object), result, &error);
  if (id == NULL)
    {
      cloche_sessions_service_fail (call->invocation, error);
      return;
    }
  if (call->owned && call->sender != NULL)
    cloche_sessions_service_own_session (call->self, call->sender, id);
  cloche_dbus_sessions_complete_fork (CLOCHE_DBUS_SESSIONS (call->self), call->invocation, id);
  cloche_dbus_sessions_emit_changed (CLOCHE_DBUS_SESSIONS (call->self));
}

static gboolean
cloche_sessions_service_handle_fork (ClocheDbusSessions    *object,
                                     GDBusMethodInvocation *invocation,
                                     const char            *id,
                                     const char            *title,
                                     GVariant              *options)
{
  ClocheSessionsService *self = CLOCHE_SESSIONS_SERVICE (object);
  g_auto(ExecOptions) read = { 0 };
  g_autoptr(GVariant) client_variant = NULL;
  const char *client = g_dbus_method_invocation_get_sender (invocation);
  gboolean keep_open = FALSE;
  ForkProgress *progress;
  GError *error = NULL;
  ExecCall *call;

  if (!cloche_sessions_service_lookup_option (options, "tag", G_VARIANT_TYPE_STRING, &read.tag,
                                              &error)
      || !cloche_sessions_service_check_tag (read.tag, &error)
      || !cloche_sessions_service_lookup_option (options, "client", G_VARIANT_TYPE_STRING,
                                                 &client_variant, &error)
      || !cloche_sessions_service_option_boolean (options, "keep-open", &keep_open, &error))
    return cloche_sessions_service_fail (invocation, error);
  if (client_variant != NULL && g_variant_get_string (client_variant, NULL)[0] != '\0')
    client = g_variant_get_string (client_variant, NULL);
  call = cloche_sessions_service_exec_call_new (self, invocation, &read);
  call->owned = !keep_open;
  progress = g_new0 (ForkProgress, 1);
  progress->self = g_object_ref (self);
  progress->source = g_strdup (id);
  progress->tag = g_strdup (call->tag != NULL ? call->tag : "");
  cloche_sandbox_fork_session_async (self->sandbox, id, title, client,
                                     cloche_sessions_service_fork_progress_cb,
                                     progress, cloche_sessions_service_fork_progress_free,
                                     call->cancellable,
                                     cloche_sessions_service_forked_cb, call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
cloche_sessions_service_handle_cancel_fork (ClocheDbusSessions    *object,
                                            GDBusMethodInvocation *invocation,
                                            const char            *tag)
{
  cloche_sessions_service_cancel_tagged (object, invocation, tag);
  cloche_dbus_sessions_complete_cancel_fork (object, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* GObject */

static void
cloche_sessions_service_dispose (GObject *object)
{
  ClocheSessionsService *self = CLOCHE_SESSIONS_SERVICE (object);

  g_clear_pointer (&self->client_watches, g_hash_table_unref);
  g_clear_pointer (&self->owned, g_hash_table_unref);
  g_clear_pointer (&self->running, g_ptr_array_unref);
  g_clear_object (&self->sandbox);
  g_clear_object (&self->policy);
  g_clear_object (&self->egress);

  G_OBJECT_CLASS (cloche_sessions_service_parent_class)->dispose (object);
}

static void
cloche_sessions_service_class_init (ClocheSessionsServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cloche_sessions_service_dispose;
}

static void
cloche_sessions_service_sessions_iface_init (ClocheDbusSessionsIface *iface)
{
  iface->handle_open = cloche_sessions_service_handle_open;
  iface->handle_close = cloche_sessions_service_handle_close;
  iface->handle_get = cloche_sessions_service_handle_get;
  iface->handle_set_pinned = cloche_sessions_service_handle_set_pinned;
  iface->handle_list = cloche_sessions_service_handle_list;
  iface->handle_cleanup = cloche_sessions_service_handle_cleanup;
  iface->handle_exec = cloche_sessions_service_handle_exec;
  iface->handle_cancel_exec = cloche_sessions_service_handle_cancel_exec;
  iface->handle_fork = cloche_sessions_service_handle_fork;
  iface->handle_cancel_fork = cloche_sessions_service_handle_cancel_fork;
  iface->handle_open_terminal = cloche_sessions_terminals_handle_open;
  iface->handle_resize_terminal = cloche_sessions_terminals_handle_resize;
  iface->handle_list_terminals = cloche_sessions_terminals_handle_list;
  iface->handle_attach_terminal = cloche_sessions_terminals_handle_attach;
}

static void
cloche_sessions_service_init (ClocheSessionsService *self)
{
  self->client_watches =
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, cloche_sessions_service_unwatch);
  self->owned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) g_ptr_array_unref);
  /* Every running call holds the service: none is left at dispose. */
  self->running = g_ptr_array_new ();
}

ClocheSessionsService *
cloche_sessions_service_new (ClocheSandbox *sandbox)
{
  ClocheSessionsService *self;

  g_return_val_if_fail (CLOCHE_IS_SANDBOX (sandbox), NULL);

  self = g_object_new (CLOCHE_TYPE_SESSIONS_SERVICE, NULL);
  self->sandbox = g_object_ref (sandbox);
  g_signal_connect_object (sandbox, "notify::stale-after-days",
                           G_CALLBACK (cloche_sessions_service_sync_properties_cb),
                           self, G_CONNECT_SWAPPED);
  cloche_sessions_service_sync_properties_cb (self);
  cloche_sessions_service_load_last_cleanup (self);
  return self;
}

ClocheSandbox *
cloche_sessions_service_get_sandbox (ClocheSessionsService *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSIONS_SERVICE (self), NULL);

  return self->sandbox;
}

/**
 * cloche_sessions_service_set_egress:
 * @policy: whose locks decide whether a session may add egress hosts
 * @egress: the proxy that holds each session's additions
 *
 * Without them, Open refuses "egress-allow".
 */
void
cloche_sessions_service_set_egress (ClocheSessionsService *self,
                                    ClochePolicy          *policy,
                                    ClocheEgressProxy     *egress)
{
  g_return_if_fail (CLOCHE_IS_SESSIONS_SERVICE (self));

  g_set_object (&self->policy, policy);
  g_set_object (&self->egress, egress);
}
