/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * LD_PRELOAD library for tools/bench/launch: writes the CLOCK_MONOTONIC time
 * (microseconds) of the first frame GTK finished painting to the file named by
 * $CLOCHE_BENCH_FIRST_FRAME, then nothing more.
 *
 * It wraps gtk_window_present(): the app and the baseline window are measured
 * by the very same code and neither carries a hook of its own. "First frame"
 * is the first "after-paint" of the window surface's GdkFrameClock, which is
 * later than the window being mapped (what xwininfo polling would see).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

#include <gtk/gtk.h>

static gboolean seen;

static void
on_after_paint (GdkFrameClock *clock,
                gpointer       user_data)
{
  const char *path = g_getenv ("CLOCHE_BENCH_FIRST_FRAME");
  struct timespec now;
  FILE *out;

  if (seen)
    return;
  seen = TRUE;
  clock_gettime (CLOCK_MONOTONIC, &now);
  if (path == NULL || (out = fopen (path, "w")) == NULL)
    return;
  fprintf (out, "%lld\n", (long long) now.tv_sec * 1000000 + now.tv_nsec / 1000);
  fclose (out);
}

static void
watch_surface (GtkWidget *widget)
{
  GdkSurface *surface = gtk_native_get_surface (GTK_NATIVE (widget));

  if (surface != NULL)
    g_signal_connect (gdk_surface_get_frame_clock (surface), "after-paint",
                      G_CALLBACK (on_after_paint), NULL);
}

void
gtk_window_present (GtkWindow *window)
{
  static void (*real_present) (GtkWindow *);

  if (real_present == NULL)
    real_present = (void (*) (GtkWindow *)) dlsym (RTLD_NEXT, "gtk_window_present");
  if (!seen && !gtk_widget_get_realized (GTK_WIDGET (window)))
    g_signal_connect (window, "realize", G_CALLBACK (watch_surface), NULL);
  else if (!seen)
    watch_surface (GTK_WIDGET (window));
  real_present (window);
}
