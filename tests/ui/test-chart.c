/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The chart widget under Xvfb: it draws its lines (the rendered texture is
 * not blank, and has more ink with points than without), in light and dark
 * styles, and tells screen readers the current value.
 */
#include "config.h"

#include <adwaita.h>

#include "cloche-chart.h"

#define WIDTH  400
#define HEIGHT 160

static gboolean
flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
count_frame_cb (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       user_data)
{
  (*(guint *) user_data)++;
  return G_SOURCE_CONTINUE;
}

/* Lets the window draw a few frames, so the chart has a render node. */
static void
wait_frames (GtkWidget *widget)
{
  guint frames = 0;
  guint tick = gtk_widget_add_tick_callback (widget, count_frame_cb, &frames, NULL);
  gboolean timed_out = FALSE;
  guint timeout = g_timeout_add_seconds (10, flag_cb, &timed_out);

  gtk_widget_queue_draw (widget);
  while (frames < 3 && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  gtk_widget_remove_tick_callback (widget, tick);
  if (!timed_out)
    g_source_remove (timeout);
}

/* Pixels that differ from the top-right corner, the chart's background. */
static guint
count_ink (GtkWidget *chart)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (chart);
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guint32 *pixels = NULL;  /* ARGB, as gdk_texture_download() writes */
  int width = gtk_widget_get_width (chart), height = gtk_widget_get_height (chart);
  gsize stride = (gsize) width * 4;
  GdkRGBA background_color;
  guint32 background;
  guint ink = 0;

  g_assert_cmpint (width, >, 0);
  /* The window's background, light or dark, as the card behind a chart. */
  if (!gtk_style_context_lookup_color (gtk_widget_get_style_context (chart),
                                       "window_bg_color", &background_color))
    g_error ("libadwaita's stylesheet has no window_bg_color");
  gtk_snapshot_append_color (snapshot, &background_color,
                             &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (chart)),
                                         node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  pixels = g_malloc (stride * height);
  gdk_texture_download (texture, (guchar *) pixels, stride);

  background = pixels[width - 1];
  for (int i = 0; i < width * height; i++)
    ink += pixels[i] != background;
  return ink;
}

static GtkWidget *
show_chart (GtkWidget **window)
{
  GtkWidget *chart = cloche_chart_new ();

  *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (*window), WIDTH, HEIGHT);
  gtk_window_set_child (GTK_WINDOW (*window), chart);
  gtk_window_present (GTK_WINDOW (*window));
  while (!gtk_widget_get_mapped (chart) || gtk_widget_get_width (chart) < WIDTH / 2)
    g_main_context_iteration (NULL, TRUE);
  return g_object_ref (chart);
}

static void
add_ramp (ClocheChart *chart)
{
  gint64 now = g_get_real_time ();

  for (int i = 0; i < 300; i++)
    {
      gint64 t = now - (gint64) (300 - i) * G_USEC_PER_SEC;

      cloche_chart_add_point (chart, 0, t, i % 100);
      cloche_chart_add_point (chart, 1, t, 50);
    }
}

static void
check_draws (AdwColorScheme scheme)
{
  GtkWidget *window = NULL;
  GtkWidget *chart = NULL;
  guint empty, drawn;

  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), scheme);
  chart = show_chart (&window);

  /* No points: the grid and labels only. */
  wait_frames (chart);
  empty = count_ink (chart);
  g_assert_cmpuint (empty, >, 0);

  add_ramp (CLOCHE_CHART (chart));
  g_assert_cmpuint (cloche_chart_get_n_points (CLOCHE_CHART (chart), 0), ==, 300);
  wait_frames (chart);
  drawn = count_ink (chart);
  g_test_message ("%u pixels inked without points, %u with", empty, drawn);
  g_assert_cmpuint (drawn, >, empty + WIDTH);

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (chart);
}

static void
test_draws_light (void)
{
  check_draws (ADW_COLOR_SCHEME_FORCE_LIGHT);
}

static void
test_draws_dark (void)
{
  check_draws (ADW_COLOR_SCHEME_FORCE_DARK);
}

static void
test_old_points_fall_off (void)
{
  g_autoptr(ClocheChart) chart = g_object_ref_sink (CLOCHE_CHART (cloche_chart_new ()));
  gint64 now = g_get_real_time ();

  cloche_chart_add_point (chart, 0, now - 700 * G_USEC_PER_SEC, 1);
  cloche_chart_add_point (chart, 0, now - 300 * G_USEC_PER_SEC, 2);
  cloche_chart_add_point (chart, 0, now, 3);
  /* Ten minutes are kept: the first point is gone. */
  g_assert_cmpuint (cloche_chart_get_n_points (chart, 0), ==, 2);
  cloche_chart_clear (chart);
  g_assert_cmpuint (cloche_chart_get_n_points (chart, 0), ==, 0);
}

static void
test_accessible_label (void)
{
  g_autoptr(ClocheChart) chart = g_object_ref_sink (CLOCHE_CHART (cloche_chart_new ()));

  const char *with_value = "CPU: 12 %";

  cloche_chart_set_title (chart, "CPU");
  gtk_test_accessible_assert_role (chart, GTK_ACCESSIBLE_ROLE_IMG);
  gtk_test_accessible_assert_property (chart, GTK_ACCESSIBLE_PROPERTY_LABEL, "CPU");
  cloche_chart_set_summary (chart, "12 %");
  gtk_test_accessible_assert_property (chart, GTK_ACCESSIBLE_PROPERTY_LABEL, with_value);
}

static void
test_format (void)
{
  g_autofree char *percent = cloche_chart_format_value (CLOCHE_CHART_UNIT_PERCENT, 12.4);
  g_autofree char *bytes = cloche_chart_format_value (CLOCHE_CHART_UNIT_BYTES, 3 * 1024 * 1024);
  g_autofree char *rate = cloche_chart_format_value (CLOCHE_CHART_UNIT_BYTES_PER_SECOND, 2048);

  g_assert_cmpstr (percent, ==, "12 %");
  g_assert_cmpstr (bytes, ==, "3.1\u00a0MB");
  g_assert_cmpstr (rate, ==, "2.0\u00a0kB/s");
}

int
main (int   argc,
      char *argv[])
{
  /* The accessible label is read back from GTK's test AT context. */
  g_setenv ("GTK_A11Y", "test", TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/chart/draws-light", test_draws_light);
  g_test_add_func ("/chart/draws-dark", test_draws_dark);
  g_test_add_func ("/chart/old-points-fall-off", test_old_points_fall_off);
  g_test_add_func ("/chart/accessible-label", test_accessible_label);
  g_test_add_func ("/chart/format", test_format);

  return g_test_run ();
}
