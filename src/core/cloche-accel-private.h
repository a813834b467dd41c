/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How far the probe's test VM got, in the order of the steps. */
typedef enum
{
  CLOCHE_KVM_RUN_OK,
  CLOCHE_KVM_RUN_CREATE_VM,      /* KVM_CREATE_VM failed: errno */
  CLOCHE_KVM_RUN_SETUP,          /* memory, vCPU or registers refused: errno, what */
  CLOCHE_KVM_RUN_ERRNO,          /* KVM_RUN itself failed: errno */
  CLOCHE_KVM_RUN_EXIT,           /* the vCPU stopped for another reason: exit_reason, … */
  CLOCHE_KVM_RUN_WRONG_OUTPUT,   /* it wrote something else, or halted first */
  CLOCHE_KVM_RUN_TIMEOUT,        /* no exit within the deadline: the vCPU hangs */
  CLOCHE_KVM_RUN_CPUID,          /* the host's CPUID, as KVM reports it, refused: errno */
  CLOCHE_KVM_RUN_MSR,            /* a feature MSR refused at KVM's own value: msr, value */
  CLOCHE_KVM_RUN_CHILD,          /* the probe process died: signal */
  CLOCHE_KVM_RUN_N_STAGES
} ClocheKvmRunStage;

/* Which set-up call of CLOCHE_KVM_RUN_SETUP failed. */
typedef enum
{
  CLOCHE_KVM_SETUP_MEMORY,
  CLOCHE_KVM_SETUP_VCPU,
  CLOCHE_KVM_SETUP_REGISTERS,
} ClocheKvmSetupStep;

/* What the probe process saw, written to its parent as is. */
typedef struct
{
  guint32 stage;         /* ClocheKvmRunStage */
  gint32  error_number;  /* errno of the call that failed */
  guint32 setup_step;    /* ClocheKvmSetupStep */
  guint32 exit_reason;   /* KVM_EXIT_* */
  guint32 suberror;      /* KVM_EXIT_INTERNAL_ERROR's */
  guint32 port;          /* KVM_EXIT_IO's port */
  guint32 value;         /* its byte, or the signal that ended the child */
  guint32 msr;           /* the refused feature MSR */
  guint64 detail;        /* FAIL_ENTRY's hardware reason, or the MSR's value */
  guint32 guest_ran;     /* the test code wrote its byte and halted */
} ClocheKvmRun;

/* The guest code writes this byte to this port, then halts. */
#define CLOCHE_KVM_PROBE_PORT 0xe9
#define CLOCHE_KVM_PROBE_BYTE 0x43

/* Longest the test vCPU may take, in the child; the parent waits a little more. */
#define CLOCHE_KVM_RUN_TIMEOUT_S 3

void  cloche_kvm_run_guest      (int                 kvm_fd,
                                 ClocheKvmRun       *run);
void  cloche_kvm_run_guest_code (int                 kvm_fd,
                                 const guint8       *code,
                                 gsize               length,
                                 ClocheKvmRun       *run);
char *cloche_kvm_run_describe   (const ClocheKvmRun *run);
int   cloche_kvm_run_error_code (const ClocheKvmRun *run);

G_END_DECLS
