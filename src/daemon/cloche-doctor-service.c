/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Doctor: Run() hands the checks to the doctor, and when
 * the VM fails (a boot that never ran, an agent that did not answer, a
 * crash) the service runs the checks that can explain that failure and
 * publishes the first finding as LatestFinding, so that the app shows the
 * cause and its fix where it shows the failure.
 */
#include "config.h"

#include "cloche-dbus-generated.h"
#include "cloche-doctor-service.h"
#include "cloche-error.h"

struct _ClocheDoctorService
{
  ClocheDbusDoctorSkeleton  parent_instance;
  ClocheDoctor             *doctor;
  ClocheVm                 *vm;
  GCancellable             *diagnosis;      /* the run a failure started, if one runs */
};

static void cloche_doctor_service_doctor_iface_init (ClocheDbusDoctorIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ClocheDoctorService, cloche_doctor_service,
                               CLOCHE_DBUS_TYPE_DOCTOR_SKELETON,
                               G_IMPLEMENT_INTERFACE (CLOCHE_DBUS_TYPE_DOCTOR,
                                                      cloche_doctor_service_doctor_iface_init))

static GVariant *
cloche_doctor_service_results_to_variant (GPtrArray *results)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));

  for (guint i = 0; i < results->len; i++)
    g_variant_builder_add_value (&builder,
                                 cloche_doctor_result_to_variant (g_ptr_array_index (results, i)));
  return g_variant_builder_end (&builder);
}

/* Run */

static void
cloche_doctor_service_run_done_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  results = cloche_doctor_run_finish (CLOCHE_DOCTOR (object), result, &error);
  if (results == NULL)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation,
                                           g_variant_new_tuple ((GVariant *[]) {
                                             cloche_doctor_service_results_to_variant (results) },
                                                                1));
}

static gboolean
cloche_doctor_service_handle_run (ClocheDbusDoctor      *object,
                                  GDBusMethodInvocation *invocation,
                                  const char * const    *checks)
{
  ClocheDoctorService *self = CLOCHE_DOCTOR_SERVICE (object);

  cloche_doctor_run_async (self->doctor, checks, NULL, cloche_doctor_service_run_done_cb,
                           g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Findings of the daemon's own */

typedef struct
{
  ClocheDoctorService *self;
  char                *trigger;
  const char * const  *likely;     /* the checks, most likely cause first */
} Diagnosis;

static void
cloche_doctor_service_diagnosis_free (Diagnosis *diagnosis)
{
  g_object_unref (diagnosis->self);
  g_free (diagnosis->trigger);
  g_free (diagnosis);
}

static GVariant *
cloche_doctor_service_finding_variant (const ClocheDoctorResult *result,
                                       const char               *trigger)
{
  /* The dictionary copies the result's entries and takes no reference:
   * the floating result is sunk here and dropped at the end. */
  g_autoptr(GVariant) base = g_variant_ref_sink (cloche_doctor_result_to_variant (result));
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (base);

  g_variant_dict_insert (&dict, "time", "x", g_get_real_time ());
  g_variant_dict_insert (&dict, "trigger", "s", trigger);
  return g_variant_dict_end (&dict);
}

/* The cause: the first failure in the order of likeliness, else the first
 * warning (a KVM warning alone explains slowness, not a failure). */
static ClocheDoctorResult *
cloche_doctor_service_pick_cause (GPtrArray          *results,
                                  const char * const *likely)
{
  for (ClocheDoctorStatus status = CLOCHE_DOCTOR_FAILURE; status > CLOCHE_DOCTOR_OK; status--)
    for (guint i = 0; likely[i] != NULL; i++)
      for (guint j = 0; j < results->len; j++)
        {
          ClocheDoctorResult *result = g_ptr_array_index (results, j);

          if (result->status == status && g_str_equal (result->check, likely[i]))
            return result;
        }
  return NULL;
}

static void
cloche_doctor_service_diagnosed_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  Diagnosis *diagnosis = user_data;
  ClocheDoctorService *self = diagnosis->self;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  ClocheDoctorResult *found;
  GVariant *finding;

  results = cloche_doctor_run_finish (CLOCHE_DOCTOR (object), result, &error);
  if (results == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("The doctor could not look into the failure: %s", error->message);
      cloche_doctor_service_diagnosis_free (diagnosis);
      return;
    }
  g_clear_object (&self->diagnosis);
  found = cloche_doctor_service_pick_cause (results, diagnosis->likely);
  if (found != NULL)
    {
      g_message ("Doctor: %s: %s", cloche_error_code_name (found->code), found->finding);
      finding = cloche_doctor_service_finding_variant (found, diagnosis->trigger);
      cloche_dbus_doctor_set_latest_finding (CLOCHE_DBUS_DOCTOR (self), finding);
    }
  cloche_doctor_service_diagnosis_free (diagnosis);
}

static void
cloche_doctor_service_diagnose (ClocheDoctorService *self,
                                const GError        *error)
{
  Diagnosis *diagnosis = g_new0 (Diagnosis, 1);

  g_cancellable_cancel (self->diagnosis);
  g_clear_object (&self->diagnosis);
  self->diagnosis = g_cancellable_new ();
  diagnosis->self = g_object_ref (self);
  diagnosis->trigger = g_strdup (error->message);
  diagnosis->likely = cloche_doctor_checks_for_error (error);
  cloche_doctor_run_async (self->doctor, diagnosis->likely,
                           self->diagnosis, cloche_doctor_service_diagnosed_cb, diagnosis);
}

static void
cloche_doctor_service_last_error_cb (ClocheDoctorService *self)
{
  const GError *error = cloche_vm_get_last_error (self->vm);

  if (error != NULL)
    cloche_doctor_service_diagnose (self, error);
}

/* A VM that runs again has nothing left to explain. */
static void
cloche_doctor_service_vm_state_cb (ClocheDoctorService *self)
{
  if (cloche_vm_get_state (self->vm) == CLOCHE_VM_STATE_RUNNING)
    cloche_dbus_doctor_set_latest_finding (CLOCHE_DBUS_DOCTOR (self),
                                           g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
}

/* GObject */

static void
cloche_doctor_service_dispose (GObject *object)
{
  ClocheDoctorService *self = CLOCHE_DOCTOR_SERVICE (object);

  g_cancellable_cancel (self->diagnosis);
  g_clear_object (&self->diagnosis);
  g_clear_object (&self->doctor);
  g_clear_object (&self->vm);

  G_OBJECT_CLASS (cloche_doctor_service_parent_class)->dispose (object);
}

static void
cloche_doctor_service_class_init (ClocheDoctorServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cloche_doctor_service_dispose;
}

static void
cloche_doctor_service_doctor_iface_init (ClocheDbusDoctorIface *iface)
{
  iface->handle_run = cloche_doctor_service_handle_run;
}

static void
cloche_doctor_service_init (ClocheDoctorService *self)
{
  cloche_dbus_doctor_set_latest_finding (CLOCHE_DBUS_DOCTOR (self),
                                         g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
}

ClocheDoctorService *
cloche_doctor_service_new (ClocheDoctor *doctor,
                           ClocheVm     *vm)
{
  ClocheDoctorService *self;

  g_return_val_if_fail (CLOCHE_IS_DOCTOR (doctor), NULL);
  g_return_val_if_fail (CLOCHE_IS_VM (vm), NULL);

  self = g_object_new (CLOCHE_TYPE_DOCTOR_SERVICE, NULL);
  self->doctor = g_object_ref (doctor);
  self->vm = g_object_ref (vm);
  g_signal_connect_object (vm, "notify::last-error",
                           G_CALLBACK (cloche_doctor_service_last_error_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (vm, "notify::state", G_CALLBACK (cloche_doctor_service_vm_state_cb),
                           self,
                           G_CONNECT_SWAPPED);
  return self;
}
