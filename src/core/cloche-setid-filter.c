/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * No device node and no set-user-ID or set-group-ID bit may reach the host
 * through a shared folder, whoever runs the daemon. virtiofsd acts for the
 * guest: it creates files with the modes the guest asks, chmods them, and
 * makes device nodes with mknod. Run as root it would leave a setuid-root
 * program or a block device in the user's folder; run as a user, a setuid
 * program of that user. Mount flags do not help (nosuid and nodev only
 * stop their use through that one mount; the bits are still written), and
 * virtiofsd has no option for it.
 *
 * So the kernel refuses it: a seccomp filter, installed in the child
 * before unshare(1) runs and so inherited by virtiofsd and the sandboxed
 * process it forks, fails with EPERM every call that would write such a
 * mode: chmod/fchmod/fchmodat/fchmodat2 and creat with S_ISUID or S_ISGID,
 * open/openat creating a file (O_CREAT, O_TMPFILE) with them, mknod/mknodat
 * of a character or block device or with them, and renameat2's whiteout
 * (a 0:0 character device). openat2 (its mode sits in a struct the filter
 * cannot read) and io_uring (which could open files past the filter) are
 * answered ENOSYS, which callers take as "use the older call". mkdir needs
 * nothing: the kernel ignores set-id bits in its mode. Calls of another ABI
 * (32-bit, x32) are refused whole: nothing that runs here uses them.
 * Seccomp filters stack, so virtiofsd's own filter still applies too.
 *
 * A filter cannot be installed without no_new_privs; that is set too (it
 * only stops gaining privileges at exec, which nothing here relies on).
 * The program is built once in the parent (prepare) and only applied in
 * the child, where nothing but system calls may run.
 */
#define _GNU_SOURCE   /* O_PATH, O_TMPFILE, RENAME_WHITEOUT */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "cloche-error.h"
#include "cloche-setid-filter.h"

#if defined(__x86_64__)
# define FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
# define FILTER_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef __NR_fchmodat2
# define __NR_fchmodat2 452
#endif

#define SETID_BITS   (S_ISUID | S_ISGID)
#define CREATE_FLAGS (O_CREAT | (O_TMPFILE & ~O_DIRECTORY))
#define MAX_INSNS    128

#if __BYTE_ORDER == __LITTLE_ENDIAN
# define ARG_LOW(i) (offsetof (struct seccomp_data, args) + (i) * sizeof (guint64))
#else
# define ARG_LOW(i) (offsetof (struct seccomp_data, args) + (i) * sizeof (guint64) + 4)
#endif

#define DENY(e) BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
#define ALLOW   BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define LOAD(o) BPF_STMT (BPF_LD | BPF_W | BPF_ABS, (o))
#define LOAD_NR LOAD (offsetof (struct seccomp_data, nr))

typedef struct
{
  struct sock_filter insns[MAX_INSNS];
  guint              n;
} Program;

static Program program;
static gboolean prepared;

static void
cloche_setid_filter_emit (Program           *p,
                          const struct sock_filter *insns,
                          guint              n)
{
  g_assert (p->n + n <= MAX_INSNS);
  memcpy (p->insns + p->n, insns, n * sizeof *insns);
  p->n += n;
}

/* Syscall @nr fails with EPERM when its argument @arg has a set-id bit. */
static void
cloche_setid_filter_refuse_setid_mode (Program *p,
                                       int      nr,
                                       guint    arg)
{
  const struct sock_filter block[] = {
    LOAD_NR,
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 4),
    LOAD (ARG_LOW (arg)),
    BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, SETID_BITS, 0, 1),
    DENY (EPERM),
    ALLOW,
  };

  cloche_setid_filter_emit (p, block, G_N_ELEMENTS (block));
}

/* open/openat: only a call that creates has a mode. */
static void
cloche_setid_filter_refuse_setid_create (Program *p,
                                         int      nr,
                                         guint    flags_arg,
                                         guint    mode_arg)
{
  const struct sock_filter block[] = {
    LOAD_NR,
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 6),
    LOAD (ARG_LOW (flags_arg)),
    BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, CREATE_FLAGS, 0, 3),
    LOAD (ARG_LOW (mode_arg)),
    BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, SETID_BITS, 0, 1),
    DENY (EPERM),
    ALLOW,
  };

  cloche_setid_filter_emit (p, block, G_N_ELEMENTS (block));
}

/* mknod/mknodat: FIFOs, sockets and plain files, never a device or set-id. */
static void
cloche_setid_filter_refuse_device_node (Program *p,
                                        int      nr,
                                        guint    mode_arg)
{
  const struct sock_filter block[] = {
    LOAD_NR,
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 7),
    LOAD (ARG_LOW (mode_arg)),
    BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, SETID_BITS, 4, 0),
    BPF_STMT (BPF_ALU | BPF_AND | BPF_K, S_IFMT),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, S_IFCHR, 2, 0),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, S_IFBLK, 1, 0),
    ALLOW,
    DENY (EPERM),
  };

  cloche_setid_filter_emit (p, block, G_N_ELEMENTS (block));
}

/* Syscall @nr fails with EPERM when argument @arg has a bit of @mask. */
static void
cloche_setid_filter_refuse_flag (Program *p,
                                 int      nr,
                                 guint    arg,
                                 guint32  mask)
{
  const struct sock_filter block[] = {
    LOAD_NR,
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 4),
    LOAD (ARG_LOW (arg)),
    BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, mask, 0, 1),
    DENY (EPERM),
    ALLOW,
  };

  cloche_setid_filter_emit (p, block, G_N_ELEMENTS (block));
}

static void
cloche_setid_filter_refuse_call (Program *p,
                                 int      nr,
                                 int      error)
{
  const struct sock_filter block[] = {
    LOAD_NR,
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
    DENY (error),
  };

  cloche_setid_filter_emit (p, block, G_N_ELEMENTS (block));
}

#ifdef FILTER_ARCH
static void
cloche_setid_filter_build (Program *p)
{
  const struct sock_filter prologue[] = {
    LOAD (offsetof (struct seccomp_data, arch)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, FILTER_ARCH, 1, 0),
    DENY (EPERM),
#ifdef __x86_64__
    LOAD_NR,
    BPF_JUMP (BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),   /* x32 */
    DENY (EPERM),
#endif
  };
  const struct sock_filter epilogue[] = { ALLOW };

  cloche_setid_filter_emit (p, prologue, G_N_ELEMENTS (prologue));
  cloche_setid_filter_refuse_setid_mode (p, __NR_fchmod, 1);
  cloche_setid_filter_refuse_setid_mode (p, __NR_fchmodat, 2);
  cloche_setid_filter_refuse_setid_mode (p, __NR_fchmodat2, 2);
  cloche_setid_filter_refuse_setid_create (p, __NR_openat, 2, 3);
  cloche_setid_filter_refuse_device_node (p, __NR_mknodat, 2);
  cloche_setid_filter_refuse_flag (p, __NR_renameat2, 4, RENAME_WHITEOUT);
  cloche_setid_filter_refuse_call (p, __NR_openat2, ENOSYS);
  cloche_setid_filter_refuse_call (p, __NR_io_uring_setup, ENOSYS);
#ifdef __NR_chmod
  cloche_setid_filter_refuse_setid_mode (p, __NR_chmod, 1);
  cloche_setid_filter_refuse_setid_mode (p, __NR_creat, 1);
  cloche_setid_filter_refuse_setid_create (p, __NR_open, 1, 2);
  cloche_setid_filter_refuse_device_node (p, __NR_mknod, 1);
#endif
  cloche_setid_filter_emit (p, epilogue, G_N_ELEMENTS (epilogue));
}
#endif

/**
 * cloche_setid_filter_prepare:
 *
 * Builds the filter once, in the parent. Call it before spawning the
 * process that will apply it.
 *
 * Returns: %FALSE where there is no filter for this architecture
 */
gboolean
cloche_setid_filter_prepare (GError **error)
{
#ifdef FILTER_ARCH
  if (!prepared)
    {
      cloche_setid_filter_build (&program);
      prepared = TRUE;
    }
  return TRUE;
#else
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_FAILED,
               _("Cloche cannot keep device nodes and set-id files out of shared folders on "
                 "this processor architecture, so it shares no folder"));
  return FALSE;
#endif
}

/**
 * cloche_setid_filter_apply:
 *
 * In a child between fork and exec (async-signal-safe: system calls only).
 *
 * Returns: 0, or an errno value
 */
int
cloche_setid_filter_apply (void)
{
  struct sock_fprog fprog = { .len = (unsigned short) program.n, .filter = program.insns };

  if (!prepared)
    return EINVAL;
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
      || prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0)
    return errno;
  return 0;
}
