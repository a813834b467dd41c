/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-policy.h"
#include "cloche-sandbox.h"

G_BEGIN_DECLS

typedef enum
{
  CLOCHE_DOCTOR_OK,
  CLOCHE_DOCTOR_WARNING,
  CLOCHE_DOCTOR_FAILURE,
} ClocheDoctorStatus;

/* One check's answer. code is a CLOCHE_ERROR code, meaningful unless ok. */
typedef struct
{
  char               *check;      /* stable id: "kvm", "qemu", … */
  char               *title;      /* what is checked, for people */
  ClocheDoctorStatus  status;
  int                 code;
  char               *finding;    /* one line: what was found */
  char               *fix;        /* what to do, in plain words; empty when ok */
  GStrv               details;    /* e.g. the last console lines; may be empty */
} ClocheDoctorResult;

ClocheDoctorResult *cloche_doctor_result_new        (const char               *check,
                                                     const char               *title);
void                cloche_doctor_result_free       (ClocheDoctorResult       *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ClocheDoctorResult, cloche_doctor_result_free)
GVariant           *cloche_doctor_result_to_variant (const ClocheDoctorResult *result);
const char         *cloche_doctor_status_to_string  (ClocheDoctorStatus        status);
const char * const *cloche_doctor_list_checks       (void);

#define CLOCHE_TYPE_DOCTOR (cloche_doctor_get_type ())
G_DECLARE_FINAL_TYPE (ClocheDoctor, cloche_doctor, CLOCHE, DOCTOR, GObject)

ClocheDoctor *cloche_doctor_new          (ClocheSandbox        *sandbox);
void          cloche_doctor_set_policy   (ClocheDoctor         *self,
                                          ClochePolicy         *policy);
void          cloche_doctor_run_async    (ClocheDoctor         *self,
                                          const char * const   *checks,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
GPtrArray    *cloche_doctor_run_finish   (ClocheDoctor         *self,
                                          GAsyncResult         *result,
                                          GError              **error);
const char * const *cloche_doctor_checks_for_error (const GError *error);

G_END_DECLS
