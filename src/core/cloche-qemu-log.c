/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * QEMU's stderr: where it says why it stopped ("failed to set MSR 0x10a",
 * "KVM internal error. Suberror: 1", "Error while loading elf kernel").
 * Each boot appends to the VM's qemu.log (which the support report
 * collects) after a header line, and the VM reads back what this boot
 * wrote whenever it explains something: QEMU exited, stopped its guest, or
 * a boot stalled. Reading the file rather than a pipe means nothing can be
 * lost between QEMU's last words and its exit, and nothing is read while
 * all goes well.
 *
 * What is quoted is bounded (the last 64 KiB of the boot, eight lines of
 * at most 300 characters, valid UTF-8) and leaves out the register dumps
 * QEMU prints after a KVM error, which say nothing to a person.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>

#include "cloche-qemu-log.h"

#define MAX_LOG_BYTES  (1 << 20)      /* started afresh past this */
#define MAX_TAIL_BYTES (64 * 1024)
#define MAX_LINES      8
#define MAX_LINE_CHARS 300

/**
 * cloche_qemu_log_open:
 * @path: the VM's qemu.log
 * @header: a line saying which boot follows
 * @start: (out): where this boot's output begins
 *
 * Returns: a descriptor for QEMU's stderr, appending; -1 with @error set
 */
int
cloche_qemu_log_open (const char  *path,
                      const char  *header,
                      goffset     *start,
                      GError     **error)
{
  g_autofree char *line = g_strdup_printf ("-- %s --\n", header);
  struct stat st;
  int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);

  if (fd < 0 || fstat (fd, &st) != 0)
    {
      int saved = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot open %s for QEMU's messages: %s", path, g_strerror (saved));
      return -1;
    }
  /* A long-lived daemon boots many times; only recent boots matter. */
  if (st.st_size > MAX_LOG_BYTES && ftruncate (fd, 0) != 0)
    g_debug ("Cannot empty %s: %s", path, g_strerror (errno));
  if (write (fd, line, strlen (line)) < 0)
    g_debug ("Cannot write to %s: %s", path, g_strerror (errno));
  *start = lseek (fd, 0, SEEK_END);
  return fd;
}

/* The lines QEMU prints after "KVM internal error" to show the vCPU's
 * registers: a name of up to six capitals and digits, maybe a space, then
 * "=" ("RAX=…", "ES =0000 …", "XMM00=…", "Code=…"); and "extra data[…]". */
static gboolean
cloche_qemu_log_is_register_dump (const char *line)
{
  guint n = 0;

  if (g_str_has_prefix (line, "Code=") || g_str_has_prefix (line, "extra data[")
      || g_str_has_prefix (line, "CPU#"))
    return TRUE;
  if (!g_ascii_isupper (line[0]))
    return FALSE;
  while (n < 6 && (g_ascii_isupper (line[n]) || g_ascii_isdigit (line[n])))
    n++;
  if (line[n] == ' ')
    n++;
  return line[n] == '=';
}

/**
 * cloche_qemu_log_meaningful:
 * @text: (nullable): what QEMU wrote
 *
 * Returns: (transfer full): its last lines worth quoting, oldest first
 */
GStrv
cloche_qemu_log_meaningful (const char *text)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) lines = g_strsplit (text != NULL ? text : "", "\n", -1);
  g_autoptr(GPtrArray) kept = g_ptr_array_new ();
  guint first;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);

      if (line[0] != '\0' && !g_str_has_prefix (line, "-- ")
          && !cloche_qemu_log_is_register_dump (line))
        g_ptr_array_add (kept, line);
    }
  first = kept->len > MAX_LINES ? kept->len - MAX_LINES : 0;
  for (guint i = first; i < kept->len; i++)
    {
      g_autofree char *valid = g_utf8_make_valid (g_ptr_array_index (kept, i), -1);

      if (g_utf8_strlen (valid, -1) > MAX_LINE_CHARS)
        *g_utf8_offset_to_pointer (valid, MAX_LINE_CHARS) = '\0';
      g_strv_builder_add (builder, valid);
    }
  return g_strv_builder_end (builder);
}

/**
 * cloche_qemu_log_read:
 * @start: where the boot's output begins, from cloche_qemu_log_open()
 *
 * Returns: (transfer full): the lines worth quoting of what QEMU wrote
 *   since @start (empty when nothing, or the file is gone)
 */
GStrv
cloche_qemu_log_read (const char *path,
                      goffset     start)
{
  g_autofree char *text = NULL;
  struct stat st;
  goffset from;
  ssize_t got;
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

  if (fd < 0 || fstat (fd, &st) != 0 || st.st_size <= start)
    {
      if (fd >= 0)
        close (fd);
      return cloche_qemu_log_meaningful (NULL);
    }
  from = MAX (start, st.st_size - MAX_TAIL_BYTES);
  text = g_malloc (st.st_size - from + 1);
  got = pread (fd, text, st.st_size - from, from);
  close (fd);
  text[MAX (got, 0)] = '\0';
  return cloche_qemu_log_meaningful (text);
}

/**
 * cloche_qemu_log_summary:
 * @lines: from cloche_qemu_log_read()
 *
 * Returns: (transfer full) (nullable): the one line that says most: the
 *   first that names an error or a failure, else the last
 */
char *
cloche_qemu_log_summary (const char * const *lines)
{
  guint n = lines != NULL ? g_strv_length ((GStrv) lines) : 0;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *lower = g_utf8_strdown (lines[i], -1);

      if (strstr (lower, "error") != NULL || strstr (lower, "fail") != NULL)
        return g_strdup (lines[i]);
    }
  return n > 0 ? g_strdup (lines[n - 1]) : NULL;
}
