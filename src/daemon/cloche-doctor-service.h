/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-doctor.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_DOCTOR_SERVICE (cloche_doctor_service_get_type ())
G_DECLARE_FINAL_TYPE (ClocheDoctorService, cloche_doctor_service, CLOCHE, DOCTOR_SERVICE, GObject)

ClocheDoctorService *cloche_doctor_service_new      (ClocheDoctor         *doctor,
                                                     ClocheVm             *vm);
gboolean             cloche_doctor_service_export   (ClocheDoctorService  *self,
                                                     GDBusConnection      *connection,
                                                     GError              **error);
void                 cloche_doctor_service_unexport (ClocheDoctorService  *self);

G_END_DECLS
