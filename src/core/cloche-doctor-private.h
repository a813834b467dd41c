/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-doctor.h"

G_BEGIN_DECLS

/* A mount of an open session, as the checks see it. */
typedef struct
{
  char *session;
  char *path;
} ClocheDoctorMount;

/*
 * What the checks look at, copied on the main thread so that they run in
 * a worker thread without touching a GObject the main loop owns. Tests
 * fill one in by hand to point a check at a fault.
 */
typedef struct
{
  char       *kvm_device;         /* NULL: /dev/kvm */
  char       *cpuinfo;            /* NULL: /proc/cpuinfo */
  char       *bundle_path;
  char       *state_dir;          /* where sessions and the audit log live */
  guint64     disk_warning_bytes; /* free space below this: warning */
  guint64     disk_failure_bytes; /* below this: failure */

  /* The VM, as last seen */
  char       *kvm_failure;        /* why KVM failed a boot in this daemon, or NULL */
  GStrv       qemu_tail;          /* what QEMU said when the last boot failed */
  gboolean    vm_running;
  GError     *vm_error;           /* why the last boot failed or it crashed */
  GStrv       console_tail;

  GPtrArray  *mounts;             /* ClocheDoctorMount of open sessions */
  GPtrArray  *refused;            /* GError: why an open session's commands are refused
                                   * (a folder lost or changed) */
  gboolean    stale_known;
  guint       stale_count;
  guint64     stale_bytes;

  /* The way out: NULL socket when the daemon has no proxy listening */
  char       *egress_relay;
  char       *egress_socket;
  gboolean    egress_known;       /* FALSE: not gathered (tests of other checks) */

  char       *policy_refusal;     /* NULL or "": every policy file in force */
} ClocheDoctorContext;

/* The minimum QEMU: the version every figure and test here was made with. */
#define CLOCHE_DOCTOR_QEMU_MIN_MAJOR 7
#define CLOCHE_DOCTOR_QEMU_MIN_MINOR 2
#define CLOCHE_DOCTOR_DISK_WARNING_BYTES (G_GUINT64_CONSTANT (1) << 30)
#define CLOCHE_DOCTOR_DISK_FAILURE_BYTES (G_GUINT64_CONSTANT (256) << 20)

ClocheDoctorContext *cloche_doctor_context_new  (void);
void                 cloche_doctor_context_free (ClocheDoctorContext       *context);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ClocheDoctorContext, cloche_doctor_context_free)
void                 cloche_doctor_context_add_mount (ClocheDoctorContext  *context,
                                                      const char           *session,
                                                      const char           *path);
GPtrArray           *cloche_doctor_run_checks   (const ClocheDoctorContext *context,
                                                 const char * const        *only);

G_END_DECLS
