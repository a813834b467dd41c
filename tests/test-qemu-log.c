/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * QEMU's stderr as the VM quotes it. Fixtures in tests/data/qemu:
 * msr-abort.txt is what QEMU 7.2 printed here with -accel kvm -cpu host on
 * a /dev/kvm without vmx; internal-error.txt is the "KVM internal error"
 * report of QEMU 7.2 (kvm_handle_internal_error's lines, then the register
 * dump, taken from this QEMU's own printer, `info registers`), which this
 * machine cannot produce.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include "cloche-qemu-log.h"

static char *
load (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "qemu", name, NULL);
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

static void
test_internal_error (void)
{
  g_autofree char *text = load ("internal-error.txt");
  g_auto(GStrv) lines = cloche_qemu_log_meaningful (text);
  g_autofree char *summary = NULL;

  /* Thirty lines of registers say nothing to a person; the words stay. */
  g_assert_cmpstrv (lines, ((const char *[]) { "KVM internal error. Suberror: 1",
                                               "emulation failure", NULL }));
  summary = cloche_qemu_log_summary ((const char * const *) lines);
  g_assert_cmpstr (summary, ==, "KVM internal error. Suberror: 1");
}

static void
test_msr_abort (void)
{
  g_autofree char *text = load ("msr-abort.txt");
  g_auto(GStrv) lines = cloche_qemu_log_meaningful (text);
  g_autofree char *summary = cloche_qemu_log_summary ((const char * const *) lines);

  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  /* The error, not the assertion after it. */
  g_assert_cmpstr (summary, ==, "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69");
}

static void
test_bounded (void)
{
  g_autoptr(GString) text = g_string_new ("");
  g_auto(GStrv) lines = NULL;
  g_autofree char *summary = NULL;

  for (guint i = 0; i < 20; i++)
    g_string_append_printf (text, "warning %u\n", i);
  g_string_append (text, "\xff\xfe not UTF-8 ");
  for (guint i = 0; i < 1000; i++)
    g_string_append_c (text, 'x');
  lines = cloche_qemu_log_meaningful (text->str);

  g_assert_cmpuint (g_strv_length (lines), ==, 8);
  g_assert_cmpstr (lines[0], ==, "warning 13");
  g_assert_true (g_utf8_validate (lines[7], -1, NULL));
  g_assert_cmpuint (g_utf8_strlen (lines[7], -1), ==, 300);
  /* No error named: the last line says most. */
  summary = cloche_qemu_log_summary ((const char * const *) lines);
  g_assert_cmpstr (summary, ==, lines[7]);
  g_clear_pointer (&lines, g_strfreev);

  lines = cloche_qemu_log_meaningful (NULL);
  g_assert_cmpuint (g_strv_length (lines), ==, 0);
  g_assert_null (cloche_qemu_log_summary ((const char * const *) lines));
}

/* Each boot reads only what it wrote: a fallback boot after a KVM boot
 * shares the file. */
static void
test_per_boot (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cloche-qemu-log-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "qemu.log", NULL);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) first = NULL, second = NULL, quiet = NULL;
  g_autofree char *all = NULL;
  goffset start1 = -1, start2 = -1;
  int fd;

  fd = cloche_qemu_log_open (path, "boot 1", &start1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (write (fd, "said once\n", 10), ==, 10);
  close (fd);
  fd = cloche_qemu_log_open (path, "boot 2", &start2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (start2, >, start1);
  quiet = cloche_qemu_log_read (path, start2);
  g_assert_cmpuint (g_strv_length (quiet), ==, 0);
  g_assert_cmpint (write (fd, "said twice\n", 11), ==, 11);
  close (fd);

  first = cloche_qemu_log_read (path, start1);
  second = cloche_qemu_log_read (path, start2);
  g_assert_cmpstrv (first, ((const char *[]) { "said once", "said twice", NULL }));
  g_assert_cmpstrv (second, ((const char *[]) { "said twice", NULL }));
  /* Both boots stay in the file, each under its header. */
  g_file_get_contents (path, &all, NULL, NULL);
  g_assert_cmpstr (all, ==, "-- boot 1 --\nsaid once\n-- boot 2 --\nsaid twice\n");

  g_unlink (path);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/qemu-log/internal-error", test_internal_error);
  g_test_add_func ("/qemu-log/msr-abort", test_msr_abort);
  g_test_add_func ("/qemu-log/bounded", test_bounded);
  g_test_add_func ("/qemu-log/per-boot", test_per_boot);

  return g_test_run ();
}
