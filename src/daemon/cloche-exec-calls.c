/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ExecWithOptions and CancelExec of io.github.cloche.Daemon: commands with
 * stdin and a deadline, and the commands running for each caller, so that
 * one can be stopped while its call is still pending (a D-Bus call cannot
 * be cancelled by its caller: CancelExec names it by the caller's tag).
 *
 * Rules: a caller only ever stops its own commands (calls are matched by
 * the sender's unique name, which the bus vouches for); when a caller
 * leaves the bus, every command it still waits for is stopped, since
 * nobody will read the answer. Stopping kills the command in the guest
 * (cloche_sandbox_exec_full_async), it does not only stop waiting. Every
 * option is checked here, at the edge: sizes and ranges, types.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cloche-error.h"
#include "cloche-exec-calls.h"

#define STDIN_MAX_BYTES (16u * 1024 * 1024)
#define TIMEOUT_MAX_MS  (24u * 60 * 60 * 1000)
#define TAG_MAX_BYTES   128

struct _ClocheExecCalls
{
  GObject        parent_instance;
  ClocheSandbox *sandbox;
  GPtrArray     *running;   /* Call */
  GHashTable    *watches;   /* sender → watch id */
};

G_DEFINE_FINAL_TYPE (ClocheExecCalls, cloche_exec_calls, G_TYPE_OBJECT)

typedef struct
{
  ClocheExecCalls       *calls;       /* NULL once the calls object is gone */
  GDBusMethodInvocation *invocation;
  GCancellable          *cancellable;
  char                  *sender;
  char                  *tag;         /* nullable */
} Call;

static void
call_free (Call *call)
{
  g_clear_object (&call->invocation);
  g_clear_object (&call->cancellable);
  g_free (call->sender);
  g_free (call->tag);
  g_free (call);
}

static gboolean
sender_has_calls (ClocheExecCalls *self,
                  const char      *sender)
{
  for (guint i = 0; i < self->running->len; i++)
    if (g_strcmp0 (((Call *) g_ptr_array_index (self->running, i))->sender, sender) == 0)
      return TRUE;
  return FALSE;
}

static void
cancel_matching (ClocheExecCalls *self,
                 const char      *sender,
                 const char      *tag)
{
  for (guint i = 0; i < self->running->len; i++)
    {
      Call *call = g_ptr_array_index (self->running, i);

      if (g_strcmp0 (call->sender, sender) == 0
          && (tag == NULL || g_strcmp0 (call->tag, tag) == 0))
        g_cancellable_cancel (call->cancellable);
    }
}

static void
on_sender_vanished (GDBusConnection *connection,
                    const char      *name,
                    gpointer         user_data)
{
  ClocheExecCalls *self = user_data;

  cancel_matching (self, name, NULL);
  g_hash_table_remove (self->watches, name);
}

static void
watch_sender (ClocheExecCalls       *self,
              GDBusMethodInvocation *invocation)
{
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  guint id;

  if (sender == NULL || g_hash_table_contains (self->watches, sender))
    return;
  id = g_bus_watch_name_on_connection (g_dbus_method_invocation_get_connection (invocation),
                                       sender, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                       NULL, on_sender_vanished, self, NULL);
  g_hash_table_insert (self->watches, g_strdup (sender), GUINT_TO_POINTER (id));
}

static void
forget_call (Call *call)
{
  ClocheExecCalls *self = call->calls;

  if (self == NULL)
    return;
  g_ptr_array_remove (self->running, call);
  if (call->sender != NULL && !sender_has_calls (self, call->sender))
    g_hash_table_remove (self->watches, call->sender);
}

static GVariant *
bytes_variant (GBytes *bytes)
{
  return g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, bytes, TRUE);
}

static void
on_exec_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Call *call = user_data;
  g_auto(ClocheExecResult) done = { 0 };
  g_autoptr(GError) error = NULL;
  GVariantDict info;

  forget_call (call);
  if (!cloche_sandbox_exec_full_finish (CLOCHE_SANDBOX (object), result, &done, &error))
    {
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      call_free (call);
      return;
    }
  g_variant_dict_init (&info, NULL);
  g_variant_dict_insert (&info, "timed-out", "b", done.timed_out);
  g_dbus_method_invocation_return_value (call->invocation,
                                         g_variant_new ("(i@ay@ay@a{sv})", done.exit_code,
                                                        bytes_variant (done.out),
                                                        bytes_variant (done.err),
                                                        g_variant_dict_end (&info)));
  call_free (call);
}

/* Options */

static gboolean
lookup_typed (GVariant            *options,
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
                   _("ExecWithOptions: option \"%s\" must be of type \"%s\", not \"%s\""),
                   key, g_variant_type_peek_string (type), g_variant_get_type_string (found));
      return FALSE;
    }
  *value = g_steal_pointer (&found);
  return TRUE;
}

static gboolean
parse_stdin (GVariant           *options,
             ClocheExecOptions  *exec_options,
             GError            **error)
{
  g_autoptr(GVariant) input = NULL;

  if (!lookup_typed (options, "stdin", G_VARIANT_TYPE_BYTESTRING, &input, error))
    return FALSE;
  if (input == NULL)
    return TRUE;
  if (g_variant_get_size (input) > STDIN_MAX_BYTES)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("ExecWithOptions: \"stdin\" holds %zu bytes, more than the %u MiB "
                     "a command can be given; write the data to a file in the session folder "
                     "instead"),
                   (size_t) g_variant_get_size (input), STDIN_MAX_BYTES / (1024 * 1024));
      return FALSE;
    }
  exec_options->input = g_variant_get_data_as_bytes (input);
  return TRUE;
}

static gboolean
parse_options (GVariant           *options,
               ClocheExecOptions  *exec_options,
               char              **tag,
               GError            **error)
{
  g_autoptr(GVariant) timeout = NULL;
  g_autoptr(GVariant) tag_value = NULL;

  if (!lookup_typed (options, "timeout-ms", G_VARIANT_TYPE_UINT32, &timeout, error)
      || !lookup_typed (options, "tag", G_VARIANT_TYPE_STRING, &tag_value, error))
    return FALSE;
  if (timeout != NULL)
    {
      exec_options->timeout_ms = g_variant_get_uint32 (timeout);
      if (exec_options->timeout_ms == 0 || exec_options->timeout_ms > TIMEOUT_MAX_MS)
        {
          g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                       _("ExecWithOptions: \"timeout-ms\" is %u; it must be 1 to %u "
                         "(leave it out for no deadline)"),
                       exec_options->timeout_ms, TIMEOUT_MAX_MS);
          return FALSE;
        }
    }
  if (tag_value != NULL)
    {
      gsize length = 0;
      const char *text = g_variant_get_string (tag_value, &length);

      if (length == 0 || length > TAG_MAX_BYTES)
        {
          g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                       _("ExecWithOptions: \"tag\" must be 1 to %u bytes long"), TAG_MAX_BYTES);
          return FALSE;
        }
      *tag = g_strdup (text);
    }
  return parse_stdin (options, exec_options, error);
}

/**
 * cloche_exec_calls_start:
 *
 * Runs the command of an ExecWithOptions call and answers it.
 */
void
cloche_exec_calls_start (ClocheExecCalls       *self,
                         GDBusMethodInvocation *invocation,
                         const char            *id,
                         const char * const    *argv,
                         const char * const    *env,
                         const char            *cwd,
                         GVariant              *options)
{
  ClocheExecOptions exec_options = { NULL, 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *tag = NULL;
  Call *call;

  g_return_if_fail (CLOCHE_IS_EXEC_CALLS (self));

  if (!parse_options (options, &exec_options, &tag, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  call = g_new0 (Call, 1);
  call->calls = self;
  call->invocation = g_object_ref (invocation);
  call->cancellable = g_cancellable_new ();
  call->sender = g_strdup (g_dbus_method_invocation_get_sender (invocation));
  call->tag = g_steal_pointer (&tag);
  g_ptr_array_add (self->running, call);
  watch_sender (self, invocation);
  cloche_sandbox_exec_full_async (self->sandbox, id, argv, env, cwd, &exec_options,
                                  call->cancellable, on_exec_done, call);
  g_clear_pointer (&exec_options.input, g_bytes_unref);
}

/**
 * cloche_exec_calls_cancel:
 *
 * Answers CancelExec: stops the caller's commands that carry @tag.
 */
void
cloche_exec_calls_cancel (ClocheExecCalls       *self,
                          GDBusMethodInvocation *invocation,
                          const char            *tag)
{
  const char *sender = g_dbus_method_invocation_get_sender (invocation);

  g_return_if_fail (CLOCHE_IS_EXEC_CALLS (self));

  if (sender != NULL && tag[0] != '\0')
    cancel_matching (self, sender, tag);
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
unwatch (gpointer watch_id)
{
  g_bus_unwatch_name (GPOINTER_TO_UINT (watch_id));
}

static void
cloche_exec_calls_dispose (GObject *object)
{
  ClocheExecCalls *self = CLOCHE_EXEC_CALLS (object);

  /* Commands still running answer their callers later; they must not come
   * back to us. */
  for (guint i = 0; self->running != NULL && i < self->running->len; i++)
    ((Call *) g_ptr_array_index (self->running, i))->calls = NULL;
  g_clear_pointer (&self->running, g_ptr_array_unref);
  g_clear_pointer (&self->watches, g_hash_table_unref);
  g_clear_object (&self->sandbox);

  G_OBJECT_CLASS (cloche_exec_calls_parent_class)->dispose (object);
}

static void
cloche_exec_calls_class_init (ClocheExecCallsClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cloche_exec_calls_dispose;
}

static void
cloche_exec_calls_init (ClocheExecCalls *self)
{
  self->running = g_ptr_array_new ();
  self->watches = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, unwatch);
}

ClocheExecCalls *
cloche_exec_calls_new (ClocheSandbox *sandbox)
{
  ClocheExecCalls *self;

  g_return_val_if_fail (CLOCHE_IS_SANDBOX (sandbox), NULL);

  self = g_object_new (CLOCHE_TYPE_EXEC_CALLS, NULL);
  self->sandbox = g_object_ref (sandbox);
  return self;
}
