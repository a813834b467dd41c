/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The part of the KVM probe that runs guest code. A /dev/kvm that opens and
 * creates a VM may still be unable to run one (no vmx/svm under a host
 * hypervisor that emulates KVM only in part): QEMU then aborts, stops with
 * "KVM internal error", or hangs. So the probe does what QEMU will do, on
 * a VM of its own:
 *
 *   vCPU 0 runs real-mode code that writes a byte to a port and halts; the
 *   exits must be KVM_EXIT_IO with that byte, then KVM_EXIT_HLT;
 *   vCPU 1 is given the host's CPU as KVM reports it, as QEMU's -cpu host
 *   does: KVM_GET_SUPPORTED_CPUID set with KVM_SET_CPUID2, and every feature
 *   MSR (KVM_GET_MSR_FEATURE_INDEX_LIST) written back at the value KVM
 *   itself reports. A KVM that refuses its own values makes QEMU abort
 *   ("failed to set MSR 0x10a"), as seen on cloud VMs without nesting.
 *
 * A vCPU can hang inside KVM_RUN, and KVM only lets the process that made a
 * VM use it, so all of it runs in a forked child with an alarm; the parent
 * waits for its report with a deadline and kills it past that. The child
 * makes only system calls (no malloc: it was forked from a threaded
 * process), and reports one ClocheKvmRun through a pipe.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib-unix.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cloche-accel-private.h"
#include "cloche-error.h"

#define GUEST_ADDRESS  0x1000
#define GUEST_SIZE     0x1000
#define MAX_CPUID      512
#define MAX_MSRS       256
#define MAX_RUNS       8

/* mov al, BYTE; out PORT, al; hlt */
static const guint8 guest_code[] = {
  0xb0, CLOCHE_KVM_PROBE_BYTE, 0xe6, CLOCHE_KVM_PROBE_PORT, 0xf4,
};

/* In the child: system calls only. */

static gboolean
cloche_kvm_run_fail (ClocheKvmRun *run,
                     guint32       stage)
{
  run->stage = stage;
  run->error_number = errno;
  return FALSE;
}

static gboolean
cloche_kvm_run_fail_setup (ClocheKvmRun       *run,
                           ClocheKvmSetupStep  step)
{
  run->setup_step = step;
  return cloche_kvm_run_fail (run, CLOCHE_KVM_RUN_SETUP);
}

static int
cloche_kvm_run_make_vcpu (int           vm_fd,
                          int           id,
                          ClocheKvmRun *run)
{
  int vcpu = ioctl (vm_fd, KVM_CREATE_VCPU, id);

  if (vcpu < 0)
    cloche_kvm_run_fail_setup (run, CLOCHE_KVM_SETUP_VCPU);
  return vcpu;
}

static gboolean
cloche_kvm_run_load_guest (int           vm_fd,
                           const guint8 *code,
                           gsize         length,
                           ClocheKvmRun *run)
{
  struct kvm_userspace_memory_region region = { 0 };
  void *memory = mmap (NULL, GUEST_SIZE, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

  if (memory == MAP_FAILED)
    return cloche_kvm_run_fail_setup (run, CLOCHE_KVM_SETUP_MEMORY);
  memcpy (memory, code, MIN (length, GUEST_SIZE));
  region.slot = 0;
  region.guest_phys_addr = GUEST_ADDRESS;
  region.memory_size = GUEST_SIZE;
  region.userspace_addr = (guint64) (guintptr) memory;
  if (ioctl (vm_fd, KVM_SET_USER_MEMORY_REGION, &region) != 0)
    return cloche_kvm_run_fail_setup (run, CLOCHE_KVM_SETUP_MEMORY);
  return TRUE;
}

/* Real mode, CS:IP at the code. */
static gboolean
cloche_kvm_run_point_at_guest (int           vcpu,
                               ClocheKvmRun *run)
{
  struct kvm_sregs sregs;
  struct kvm_regs regs = { 0 };

  if (ioctl (vcpu, KVM_GET_SREGS, &sregs) != 0)
    return cloche_kvm_run_fail_setup (run, CLOCHE_KVM_SETUP_REGISTERS);
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  regs.rip = GUEST_ADDRESS;
  regs.rflags = 0x2;     /* bit 1 is always set */
  if (ioctl (vcpu, KVM_SET_SREGS, &sregs) != 0 || ioctl (vcpu, KVM_SET_REGS, &regs) != 0)
    return cloche_kvm_run_fail_setup (run, CLOCHE_KVM_SETUP_REGISTERS);
  return TRUE;
}

/* One exit of the test vCPU: TRUE to run again. */
static gboolean
cloche_kvm_run_check_exit (struct kvm_run *state,
                           ClocheKvmRun   *run,
                           gboolean       *wrote)
{
  run->exit_reason = state->exit_reason;
  switch (state->exit_reason)
    {
    case KVM_EXIT_IO:
      run->port = state->io.port;
      run->value = ((const guint8 *) state)[state->io.data_offset];
      *wrote = state->io.direction == KVM_EXIT_IO_OUT && state->io.port == CLOCHE_KVM_PROBE_PORT
               && state->io.size == 1 && run->value == CLOCHE_KVM_PROBE_BYTE;
      if (!*wrote)
        run->stage = CLOCHE_KVM_RUN_WRONG_OUTPUT;
      return *wrote;
    case KVM_EXIT_HLT:
      run->stage = *wrote ? CLOCHE_KVM_RUN_OK : CLOCHE_KVM_RUN_WRONG_OUTPUT;
      run->guest_ran = *wrote;
      return FALSE;
    case KVM_EXIT_INTR:
      return TRUE;
    case KVM_EXIT_INTERNAL_ERROR:
      run->suberror = state->internal.suberror;
      break;
    case KVM_EXIT_FAIL_ENTRY:
      run->detail = state->fail_entry.hardware_entry_failure_reason;
      break;
    default:
      break;
    }
  run->stage = CLOCHE_KVM_RUN_EXIT;
  return FALSE;
}

static gboolean
cloche_kvm_run_code (int           kvm_fd,
                     int           vcpu,
                     ClocheKvmRun *run)
{
  int size = ioctl (kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
  struct kvm_run *state;
  gboolean wrote = FALSE;

  if (size <= 0 || (state = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
                                  vcpu, 0)) == MAP_FAILED)
    return cloche_kvm_run_fail_setup (run, CLOCHE_KVM_SETUP_VCPU);
  /* A vCPU that never exits dies of the alarm; the parent reads no report. */
  alarm (CLOCHE_KVM_RUN_TIMEOUT_S);
  for (guint i = 0; i < MAX_RUNS; i++)
    {
      if (ioctl (vcpu, KVM_RUN, 0) != 0)
        {
          if (errno == EINTR)
            continue;
          return cloche_kvm_run_fail (run, CLOCHE_KVM_RUN_ERRNO);
        }
      if (!cloche_kvm_run_check_exit (state, run, &wrote))
        break;
    }
  alarm (0);
  if (run->stage == CLOCHE_KVM_RUN_OK && !run->guest_ran)
    run->stage = CLOCHE_KVM_RUN_WRONG_OUTPUT;   /* exits without end */
  return run->stage == CLOCHE_KVM_RUN_OK;
}

static gboolean
cloche_kvm_run_set_host_cpuid (int           kvm_fd,
                               int           vcpu,
                               ClocheKvmRun *run)
{
  gsize size = sizeof (struct kvm_cpuid2) + MAX_CPUID * sizeof (struct kvm_cpuid_entry2);
  struct kvm_cpuid2 *cpuid = mmap (NULL, size, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

  if (cpuid == MAP_FAILED)
    return cloche_kvm_run_fail (run, CLOCHE_KVM_RUN_CPUID);
  cpuid->nent = MAX_CPUID;
  if (ioctl (kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) != 0
      || ioctl (vcpu, KVM_SET_CPUID2, cpuid) != 0)
    return cloche_kvm_run_fail (run, CLOCHE_KVM_RUN_CPUID);
  return TRUE;
}

/* Every feature MSR back at KVM's own value, as QEMU writes them. The
 * ioctls' structs end in flexible arrays: they live in 8-byte buffers. */
static gboolean
cloche_kvm_run_set_feature_msrs (int           kvm_fd,
                                 int           vcpu,
                                 ClocheKvmRun *run)
{
  guint64 list_buffer[(sizeof (struct kvm_msr_list) + MAX_MSRS * sizeof (guint32)) / 8 + 1];
  guint64 msr_buffer[(sizeof (struct kvm_msrs) + sizeof (struct kvm_msr_entry)) / 8 + 1];
  struct kvm_msr_list *features = (struct kvm_msr_list *) list_buffer;
  struct kvm_msrs *msr = (struct kvm_msrs *) msr_buffer;

  if (ioctl (kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_GET_MSR_FEATURES) <= 0)
    return TRUE;   /* older kernels: QEMU sets none either */
  memset (list_buffer, 0, sizeof list_buffer);
  features->nmsrs = MAX_MSRS;
  if (ioctl (kvm_fd, KVM_GET_MSR_FEATURE_INDEX_LIST, features) != 0)
    return TRUE;
  for (guint i = 0; i < MIN (features->nmsrs, MAX_MSRS); i++)
    {
      memset (msr_buffer, 0, sizeof msr_buffer);
      msr->nmsrs = 1;
      msr->entries[0].index = features->indices[i];
      /* KVM_GET_MSRS and KVM_SET_MSRS return how many MSRs they did. */
      if (ioctl (kvm_fd, KVM_GET_MSRS, msr) != 1)
        continue;
      if (ioctl (vcpu, KVM_SET_MSRS, msr) != 1)
        {
          run->msr = msr->entries[0].index;
          run->detail = msr->entries[0].data;
          return cloche_kvm_run_fail (run, CLOCHE_KVM_RUN_MSR);
        }
    }
  return TRUE;
}

static void
cloche_kvm_run_probe_in_child (int           kvm_fd,
                               const guint8 *code,
                               gsize         length,
                               ClocheKvmRun *run)
{
  int vm_fd, vcpu;

  vm_fd = ioctl (kvm_fd, KVM_CREATE_VM, 0);
  if (vm_fd < 0)
    {
      cloche_kvm_run_fail (run, CLOCHE_KVM_RUN_CREATE_VM);
      return;
    }
  if (!cloche_kvm_run_load_guest (vm_fd, code, length, run)
      || (vcpu = cloche_kvm_run_make_vcpu (vm_fd, 0, run)) < 0
      || !cloche_kvm_run_point_at_guest (vcpu, run) || !cloche_kvm_run_code (kvm_fd, vcpu, run))
    return;
  if ((vcpu = cloche_kvm_run_make_vcpu (vm_fd, 1, run)) < 0)
    return;
  if (cloche_kvm_run_set_host_cpuid (kvm_fd, vcpu, run)
      && cloche_kvm_run_set_feature_msrs (kvm_fd, vcpu, run))
    run->stage = CLOCHE_KVM_RUN_OK;
}

/* In the parent */

static gboolean
cloche_kvm_run_read_report (int           fd,
                            ClocheKvmRun *run)
{
  gint64 deadline = g_get_monotonic_time () + (CLOCHE_KVM_RUN_TIMEOUT_S + 2) * G_USEC_PER_SEC;
  gsize got = 0;

  while (got < sizeof *run)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      ssize_t n;
      int ready;

      if (left <= 0)
        return FALSE;
      ready = poll (&pfd, 1, (int) left);
      if (ready < 0 && errno == EINTR)
        continue;
      /* Past the deadline, or nothing to read: never a read that blocks. */
      if (ready <= 0)
        return FALSE;
      n = read (fd, (char *) run + got, sizeof *run - got);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
        return FALSE;
      got += MAX (n, 0);
    }
  return TRUE;
}

static void
cloche_kvm_run_reap (pid_t         pid,
                     gboolean      reported,
                     ClocheKvmRun *run)
{
  int status = 0;

  if (!reported)
    kill (pid, SIGKILL);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (reported)
    return;
  memset (run, 0, sizeof *run);
  /* SIGALRM is the child's own deadline; SIGKILL ours. */
  if (WIFSIGNALED (status) && WTERMSIG (status) != SIGALRM && WTERMSIG (status) != SIGKILL)
    {
      run->stage = CLOCHE_KVM_RUN_CHILD;
      run->value = WTERMSIG (status);
    }
  else
    run->stage = CLOCHE_KVM_RUN_TIMEOUT;
}

/**
 * cloche_kvm_run_guest_code:
 * @kvm_fd: an open KVM device
 * @code: real-mode code, at most 4 KiB; it must write
 *   CLOCHE_KVM_PROBE_BYTE to CLOCHE_KVM_PROBE_PORT and halt to pass
 * @run: (out caller-allocates): what was seen
 *
 * Makes a VM on @kvm_fd in a child process and runs @code; blocks for at
 * most a few seconds, whatever the vCPU does. Tests give code of their
 * own (a loop that never exits); the probe gives its test code.
 */
void
cloche_kvm_run_guest_code (int           kvm_fd,
                           const guint8 *code,
                           gsize         length,
                           ClocheKvmRun *run)
{
  int pipe_fds[2];
  pid_t pid;

  memset (run, 0, sizeof *run);
  if (!g_unix_open_pipe (pipe_fds, FD_CLOEXEC, NULL))
    {
      cloche_kvm_run_fail (run, CLOCHE_KVM_RUN_CHILD);
      return;
    }
  pid = fork ();
  if (pid == 0)
    {
      ClocheKvmRun report = { 0 };
      sigset_t alarm_only;

      /* The alarm must end the child whatever the forking thread blocked. */
      signal (SIGALRM, SIG_DFL);
      sigemptyset (&alarm_only);
      sigaddset (&alarm_only, SIGALRM);
      sigprocmask (SIG_UNBLOCK, &alarm_only, NULL);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      close (pipe_fds[0]);
      cloche_kvm_run_probe_in_child (kvm_fd, code, length, &report);
      if (write (pipe_fds[1], &report, sizeof report) != (ssize_t) sizeof report)
        _exit (1);
      _exit (0);
    }
  close (pipe_fds[1]);
  if (pid < 0)
    cloche_kvm_run_fail (run, CLOCHE_KVM_RUN_CHILD);
  else
    cloche_kvm_run_reap (pid, cloche_kvm_run_read_report (pipe_fds[0], run), run);
  close (pipe_fds[0]);
}

void
cloche_kvm_run_guest (int           kvm_fd,
                      ClocheKvmRun *run)
{
  cloche_kvm_run_guest_code (kvm_fd, guest_code, sizeof guest_code, run);
}

/**
 * cloche_kvm_run_error_code:
 *
 * Returns: 0 when the test VM ran, else the CLOCHE_ERROR code naming why not
 */
int
cloche_kvm_run_error_code (const ClocheKvmRun *run)
{
  if (run->stage == CLOCHE_KVM_RUN_OK)
    return 0;
  if (run->stage == CLOCHE_KVM_RUN_CREATE_VM)
    return CLOCHE_ERROR_KVM_NO_VM;
  return CLOCHE_ERROR_KVM_UNUSABLE;
}

static const char *
cloche_kvm_run_exit_name (guint32 reason)
{
  switch (reason)
    {
    case KVM_EXIT_INTERNAL_ERROR:
      return "KVM_EXIT_INTERNAL_ERROR";
    case KVM_EXIT_FAIL_ENTRY:
      return "KVM_EXIT_FAIL_ENTRY";
    case KVM_EXIT_SHUTDOWN:
      return "KVM_EXIT_SHUTDOWN";
    case KVM_EXIT_MMIO:
      return "KVM_EXIT_MMIO";
    case KVM_EXIT_EXCEPTION:
      return "KVM_EXIT_EXCEPTION";
    case KVM_EXIT_HLT:
      return "KVM_EXIT_HLT";
    case KVM_EXIT_IO:
      return "KVM_EXIT_IO";
    default:
      return "an unexpected exit";
    }
}

static char *
cloche_kvm_run_describe_exit (const ClocheKvmRun *run)
{
  if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
    return g_strdup_printf (_("the test vCPU stopped with KVM_EXIT_INTERNAL_ERROR "
                              "(suberror %u%s)"), run->suberror,
                            run->suberror == KVM_INTERNAL_ERROR_EMULATION ? ", emulation failure"
                                                                          : "");
  if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
    {
      g_autofree char *hardware = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", run->detail);

      return g_strdup_printf (_("the test vCPU could not enter the guest (KVM_EXIT_FAIL_ENTRY, "
                                "hardware reason %s)"), hardware);
    }
  return g_strdup_printf (_("the test vCPU stopped with %s (exit reason %u) instead of "
                            "running its code"), cloche_kvm_run_exit_name (run->exit_reason),
                          run->exit_reason);
}

static char *
cloche_kvm_run_describe_setup (const ClocheKvmRun *run)
{
  const char *what = run->setup_step == CLOCHE_KVM_SETUP_MEMORY ? "KVM_SET_USER_MEMORY_REGION"
                     : run->setup_step == CLOCHE_KVM_SETUP_VCPU ? "KVM_CREATE_VCPU"
                     : "KVM_SET_REGS";

  return g_strdup_printf (_("%s failed for the test VM (%s)"), what,
                          g_strerror (run->error_number));
}

static char *
cloche_kvm_run_describe_output (const ClocheKvmRun *run)
{
  if (run->exit_reason == KVM_EXIT_HLT)
    return g_strdup (_("the test vCPU halted without running its code"));
  return g_strdup_printf (_("the test vCPU wrote 0x%x to port 0x%x instead of 0x%x to port 0x%x"),
                          run->value, run->port, CLOCHE_KVM_PROBE_BYTE, CLOCHE_KVM_PROBE_PORT);
}

static char *
cloche_kvm_run_describe_msr (const ClocheKvmRun *run)
{
  g_autofree char *value = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", run->detail);

  return g_strdup_printf (_("a vCPU refuses MSR 0x%x at the value KVM itself reports for it "
                            "(%s), which QEMU sets for every guest"), run->msr, value);
}

/**
 * cloche_kvm_run_describe:
 *
 * Returns: (transfer full): what the probe saw, as a phrase to follow
 *   "cannot run a guest: "; for a run that worked, what it did
 */
char *
cloche_kvm_run_describe (const ClocheKvmRun *run)
{
  switch ((ClocheKvmRunStage) run->stage)
    {
    case CLOCHE_KVM_RUN_OK:
      return g_strdup (_("a test vCPU ran guest code and took the host's CPU model"));
    case CLOCHE_KVM_RUN_CREATE_VM:
      return g_strdup_printf (_("KVM_CREATE_VM failed (%s)"), g_strerror (run->error_number));
    case CLOCHE_KVM_RUN_SETUP:
      return cloche_kvm_run_describe_setup (run);
    case CLOCHE_KVM_RUN_ERRNO:
      return g_strdup_printf (_("KVM_RUN failed on the test vCPU (%s)"),
                              g_strerror (run->error_number));
    case CLOCHE_KVM_RUN_EXIT:
      return cloche_kvm_run_describe_exit (run);
    case CLOCHE_KVM_RUN_WRONG_OUTPUT:
      return cloche_kvm_run_describe_output (run);
    case CLOCHE_KVM_RUN_TIMEOUT:
      return g_strdup_printf (_("the test vCPU did not stop within %d s"),
                              CLOCHE_KVM_RUN_TIMEOUT_S);
    case CLOCHE_KVM_RUN_CPUID:
      return g_strdup_printf (_("a vCPU refuses the host's CPU features as KVM reports them "
                                "(KVM_SET_CPUID2: %s)"), g_strerror (run->error_number));
    case CLOCHE_KVM_RUN_MSR:
      return cloche_kvm_run_describe_msr (run);
    case CLOCHE_KVM_RUN_CHILD:
    case CLOCHE_KVM_RUN_N_STAGES:
    default:
      return g_strdup_printf (_("the probe process ended unexpectedly (signal %u)"), run->value);
    }
}
