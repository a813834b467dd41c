/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-dbus-generated.h"
#include "cloche-doctor.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_DOCTOR_SERVICE (cloche_doctor_service_get_type ())
G_DECLARE_FINAL_TYPE (ClocheDoctorService, cloche_doctor_service, CLOCHE, DOCTOR_SERVICE,
                      ClocheDbusDoctorSkeleton)

ClocheDoctorService *cloche_doctor_service_new (ClocheDoctor *doctor,
                                                ClocheVm     *vm);

G_END_DECLS
