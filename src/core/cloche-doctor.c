/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The doctor: looks at the sandbox as it is, on the main loop (cheap reads
 * of what the daemon already knows, and a dry-run cleanup for the stale
 * sessions, itself in a thread), then runs the checks of
 * cloche-doctor-checks.c in a worker thread, since they read files, hash
 * the bundle and run QEMU.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cloche-doctor-private.h"
#include "cloche-error.h"
#include "cloche-sandbox-private.h"

struct _ClocheDoctor
{
  GObject        parent_instance;
  ClocheSandbox *sandbox;
  ClochePolicy  *policy;   /* nullable */
};

G_DEFINE_FINAL_TYPE (ClocheDoctor, cloche_doctor, G_TYPE_OBJECT)

/* Results */

ClocheDoctorResult *
cloche_doctor_result_new (const char *check,
                          const char *title)
{
  ClocheDoctorResult *result = g_new0 (ClocheDoctorResult, 1);

  result->check = g_strdup (check);
  result->title = g_strdup (title);
  result->finding = g_strdup ("");
  result->fix = g_strdup ("");
  return result;
}

void
cloche_doctor_result_free (ClocheDoctorResult *result)
{
  g_free (result->check);
  g_free (result->title);
  g_free (result->finding);
  g_free (result->fix);
  g_strfreev (result->details);
  g_free (result);
}

const char *
cloche_doctor_status_to_string (ClocheDoctorStatus status)
{
  switch (status)
    {
    case CLOCHE_DOCTOR_OK:
      return "ok";
    case CLOCHE_DOCTOR_WARNING:
      return "warning";
    case CLOCHE_DOCTOR_FAILURE:
    default:
      return "failure";
    }
}

/**
 * cloche_doctor_result_to_variant:
 *
 * Returns: (transfer floating): the a{sv} of io.github.cloche.Doctor
 */
GVariant *
cloche_doctor_result_to_variant (const ClocheDoctorResult *result)
{
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);
  const char * const empty[] = { NULL };

  g_variant_dict_insert (&dict, "check", "s", result->check);
  g_variant_dict_insert (&dict, "title", "s", result->title);
  g_variant_dict_insert (&dict, "status", "s", cloche_doctor_status_to_string (result->status));
  g_variant_dict_insert (&dict, "code", "s",
                         result->status == CLOCHE_DOCTOR_OK ? ""
                                                            : cloche_error_code_name (result->code));
  g_variant_dict_insert (&dict, "finding", "s", result->finding);
  g_variant_dict_insert (&dict, "fix", "s", result->fix);
  g_variant_dict_insert_value (&dict, "details",
                               g_variant_new_strv (result->details != NULL
                                                   ? (const char * const *) result->details
                                                   : empty, -1));
  return g_variant_dict_end (&dict);
}

/* Context */

ClocheDoctorContext *
cloche_doctor_context_new (void)
{
  ClocheDoctorContext *context = g_new0 (ClocheDoctorContext, 1);

  context->disk_warning_bytes = CLOCHE_DOCTOR_DISK_WARNING_BYTES;
  context->disk_failure_bytes = CLOCHE_DOCTOR_DISK_FAILURE_BYTES;
  context->mounts = g_ptr_array_new_with_free_func (g_free);
  context->refused = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  return context;
}

void
cloche_doctor_context_free (ClocheDoctorContext *context)
{
  for (guint i = 0; i < context->mounts->len; i++)
    {
      ClocheDoctorMount *mount = g_ptr_array_index (context->mounts, i);

      g_free (mount->session);
      g_free (mount->path);
    }
  g_ptr_array_unref (context->mounts);
  g_ptr_array_unref (context->refused);
  g_free (context->kvm_device);
  g_free (context->cpuinfo);
  g_free (context->bundle_path);
  g_free (context->state_dir);
  g_free (context->egress_relay);
  g_free (context->egress_socket);
  g_free (context->policy_refusal);
  g_clear_error (&context->vm_error);
  g_strfreev (context->console_tail);
  g_free (context->kvm_failure);
  g_strfreev (context->qemu_tail);
  g_free (context);
}

void
cloche_doctor_context_add_mount (ClocheDoctorContext *context,
                                 const char          *session,
                                 const char          *path)
{
  ClocheDoctorMount *mount = g_new0 (ClocheDoctorMount, 1);

  mount->session = g_strdup (session);
  mount->path = g_strdup (path);
  g_ptr_array_add (context->mounts, mount);
}

static ClocheDoctorContext *
cloche_doctor_gather (ClocheDoctor *self)
{
  ClocheDoctorContext *context = cloche_doctor_context_new ();
  ClocheVm *vm = cloche_sandbox_get_vm (self->sandbox);
  const GError *vm_error = cloche_vm_get_last_error (vm);
  const char *sessions = cloche_session_store_get_root (cloche_sandbox_get_store (self->sandbox));
  g_auto(GStrv) open_ids = _cloche_sandbox_dup_open_ids (self->sandbox);

  context->bundle_path = g_strdup (cloche_vm_get_bundle_path (vm));
  context->state_dir = g_strdup (sessions);
  context->vm_running = cloche_vm_get_state (vm) == CLOCHE_VM_STATE_RUNNING;
  context->vm_error = vm_error != NULL ? g_error_copy (vm_error) : NULL;
  context->console_tail = g_strdupv ((GStrv) cloche_vm_get_console_tail (vm));
  context->qemu_tail = g_strdupv ((GStrv) cloche_vm_get_qemu_tail (vm));
  context->kvm_device = g_strdup (g_getenv ("CLOCHE_KVM_DEVICE"));
  context->kvm_failure = g_strdup (cloche_vm_get_kvm_failure (vm));
  context->egress_known = TRUE;
  context->egress_relay = g_strdup (cloche_vm_get_egress_relay (vm));
  context->egress_socket = g_strdup (cloche_vm_get_egress_socket (vm));
  if (self->policy != NULL)
    context->policy_refusal = g_strdup (cloche_policy_get_last_refusal (self->policy));
  for (guint i = 0; open_ids[i] != NULL; i++)
    {
      ClocheOpenSession *open = g_hash_table_lookup (self->sandbox->sessions, open_ids[i]);
      GPtrArray *mounts = cloche_session_get_mounts (open->session);

      if (open->broken != NULL)
        g_ptr_array_add (context->refused, g_error_copy (open->broken));
      for (guint j = 0; j < mounts->len; j++)
        cloche_doctor_context_add_mount (context, open_ids[i],
                                         ((ClocheSessionMount *) g_ptr_array_index (mounts, j))->path);
    }
  return context;
}

/* Running */

typedef struct
{
  ClocheDoctorContext *context;
  GStrv                only;
} RunData;

static void
cloche_doctor_run_data_free (RunData *data)
{
  cloche_doctor_context_free (data->context);
  g_strfreev (data->only);
  g_free (data);
}

static void
cloche_doctor_run_thread (GTask        *task,
                          gpointer      source,
                          gpointer      task_data,
                          GCancellable *cancellable)
{
  RunData *data = task_data;

  g_task_return_pointer (task,
                         cloche_doctor_run_checks (data->context,
                                                   (const char * const *) data->only),
                         (GDestroyNotify) g_ptr_array_unref);
}

static void
cloche_doctor_stale_measured_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);
  g_autoptr(GPtrArray) stale = NULL;
  guint64 bytes = 0;

  /* A dry run: what a cleanup would remove, with the exact bytes. */
  stale = cloche_sandbox_cleanup_finish (CLOCHE_SANDBOX (object), result, &bytes, NULL);
  if (stale != NULL)
    {
      data->context->stale_known = TRUE;
      data->context->stale_count = stale->len;
      data->context->stale_bytes = bytes;
    }
  g_task_run_in_thread (task, cloche_doctor_run_thread);
}

static gboolean
cloche_doctor_wants (const char * const *only,
                     const char         *check)
{
  return only == NULL || only[0] == NULL || g_strv_contains (only, check);
}

/* The checks asked for come from a D-Bus caller: a name that is none of
 * ours is refused (it would silently run nothing), and so is a name given
 * twice, which also bounds the list. */
static gboolean
cloche_doctor_check_names (GTask              *task,
                           const char * const *checks)
{
  const char * const *all = cloche_doctor_list_checks ();

  for (guint i = 0; checks != NULL && checks[i] != NULL; i++)
    {
      g_autofree char *known = NULL;
      gboolean repeated = FALSE;

      for (guint j = 0; j < i && !repeated; j++)
        repeated = g_str_equal (checks[i], checks[j]);
      if (g_strv_contains (all, checks[i]) && !repeated)
        continue;
      known = g_strjoinv (", ", (char **) all);
      if (repeated)
        g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                                 _("The check \"%s\" is asked for twice: ask once"),
                                 checks[i]);
      else
        g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                                 _("There is no check \"%s\": the checks are %s"),
                                 checks[i], known);
      return FALSE;
    }
  return TRUE;
}

/**
 * cloche_doctor_run_async:
 * @checks: (nullable): ids of the checks to run (cloche_doctor_list_checks());
 *   %NULL or empty for all; an unknown or repeated one is
 *   %CLOCHE_ERROR_INVALID_ARGUMENT
 */
void
cloche_doctor_run_async (ClocheDoctor        *self,
                         const char * const  *checks,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  RunData *data;

  g_return_if_fail (CLOCHE_IS_DOCTOR (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_doctor_run_async);
  if (!cloche_doctor_check_names (task, checks))
    return;
  data = g_new0 (RunData, 1);
  data->context = cloche_doctor_gather (self);
  data->only = g_strdupv ((GStrv) checks);
  g_task_set_task_data (task, data, (GDestroyNotify) cloche_doctor_run_data_free);
  if (cloche_doctor_wants (checks, "stale-sessions"))
    cloche_sandbox_cleanup_async (self->sandbox,
                                  cloche_sandbox_get_stale_after_days (self->sandbox), TRUE,
                                  NULL, NULL, cancellable, cloche_doctor_stale_measured_cb,
                                  g_steal_pointer (&task));
  else
    g_task_run_in_thread (task, cloche_doctor_run_thread);
}

/**
 * cloche_doctor_run_finish:
 *
 * Returns: (transfer full) (element-type ClocheDoctorResult): the results
 */
GPtrArray *
cloche_doctor_run_finish (ClocheDoctor  *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * cloche_doctor_checks_for_error:
 *
 * Returns: the checks that can explain @error, most likely first
 */
const char * const *
cloche_doctor_checks_for_error (const GError *error)
{
  static const char * const qemu[] = { "qemu", "qemu-devices", "kvm", NULL };
  static const char * const bundle[] = { "bundle", NULL };
  static const char * const agent[] = { "agent", "bundle", "kvm", NULL };
  static const char * const crash[] = { "agent", "disk", "bundle", "kvm", NULL };
  static const char * const mount[] = { "mounts", "disk", NULL };
  static const char * const kvm[] = { "agent", "kvm", NULL };
  static const char * const killed[] = { "qemu", NULL };
  const char * const *all = cloche_doctor_list_checks ();

  if (error == NULL || error->domain != CLOCHE_ERROR)
    return all;
  switch (error->code)
    {
    case CLOCHE_ERROR_QEMU_MISSING:
    case CLOCHE_ERROR_QEMU_FAILED:
      return qemu;
    case CLOCHE_ERROR_BUNDLE_MISSING:
    case CLOCHE_ERROR_BUNDLE_INVALID:
      return bundle;
    case CLOCHE_ERROR_AGENT_TIMEOUT:
    case CLOCHE_ERROR_AGENT_PROTOCOL:
      return agent;
    case CLOCHE_ERROR_VM_CRASHED:
      return crash;
    case CLOCHE_ERROR_KVM_UNUSABLE:
      return kvm;
    case CLOCHE_ERROR_VM_KILLED:
      return killed;
    case CLOCHE_ERROR_MOUNT_FAILED:
    case CLOCHE_ERROR_FOLDER_NOT_FOUND:
      return mount;
    default:
      return all;
    }
}

/* GObject */

static void
cloche_doctor_dispose (GObject *object)
{
  ClocheDoctor *self = CLOCHE_DOCTOR (object);

  g_clear_object (&self->sandbox);
  g_clear_object (&self->policy);

  G_OBJECT_CLASS (cloche_doctor_parent_class)->dispose (object);
}

static void
cloche_doctor_class_init (ClocheDoctorClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cloche_doctor_dispose;
}

static void
cloche_doctor_init (ClocheDoctor *self)
{
}

ClocheDoctor *
cloche_doctor_new (ClocheSandbox *sandbox)
{
  ClocheDoctor *self;

  g_return_val_if_fail (CLOCHE_IS_SANDBOX (sandbox), NULL);

  self = g_object_new (CLOCHE_TYPE_DOCTOR, NULL);
  self->sandbox = g_object_ref (sandbox);
  return self;
}

/**
 * cloche_doctor_set_policy:
 * @policy: (nullable): the policy whose refused files the "policy" check reports
 */
void
cloche_doctor_set_policy (ClocheDoctor *self,
                          ClochePolicy *policy)
{
  g_return_if_fail (CLOCHE_IS_DOCTOR (self));

  g_set_object (&self->policy, policy);
}
