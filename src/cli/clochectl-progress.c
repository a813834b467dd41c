/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The progress line of a long operation (a bundle install, a cleanup): one
 * line on stderr, rewritten in place as the daemon's progress signals
 * come, and only on a terminal, so that scripts reading stderr get the
 * errors alone.
 */
#include "config.h"

#include <stdarg.h>
#include <unistd.h>

#include "clochectl.h"

void
clochectl_progress_init (ClochectlProgress *progress)
{
  progress->tty = isatty (STDERR_FILENO);
  progress->shown = FALSE;
}

void
clochectl_progress_show (ClochectlProgress *progress,
                         const char        *format,
                         ...)
{
  g_autofree char *text = NULL;
  va_list args;

  if (!progress->tty)
    return;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("\r\033[K%s", text);
  progress->shown = TRUE;
}

/* Clears the line, so that what is printed next starts on a clean one. */
void
clochectl_progress_end (ClochectlProgress *progress)
{
  if (progress->shown)
    g_printerr ("\r\033[K");
  progress->shown = FALSE;
}

/* @done of @total in percent; nothing to do is all done. */
int
clochectl_percent (guint64 done,
                   guint64 total)
{
  return total > 0 ? (int) (done * 100 / total) : 100;
}
