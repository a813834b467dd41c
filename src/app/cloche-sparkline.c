/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The VM's memory on the host over the monitor's history (ten minutes at
 * most, half a minute at least), as one small line beside the figure on the
 * Overview: the shape of the cost, not its scale (the Monitor page has the axes). It draws what the history holds,
 * redrawn on each sample; it keeps nothing of its own. The line takes the
 * widget's CSS colour (style.css: the accent), so it reads in light and
 * dark alike; samples more than GAP_US apart leave a gap (the VM was off).
 */
#include "config.h"

#include "cloche-sparkline.h"

#define GAP_US      (G_GINT64_CONSTANT (3) * G_USEC_PER_SEC)
#define MIN_SPAN_US (G_GINT64_CONSTANT (30) * G_USEC_PER_SEC)

struct _ClocheSparkline
{
  GtkWidget             parent_instance;

  ClocheMonitorHistory *history;
  GSignalGroup         *history_signals;
};

G_DEFINE_FINAL_TYPE (ClocheSparkline, cloche_sparkline, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_HISTORY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The band the line is drawn in: lowest to highest, a twentieth of the
 * highest at least, so a steady cost is a flat line in the middle, not
 * noise blown up to the full height. */
static void
cloche_sparkline_band (ClocheMonitorHistory *history,
                       guint                 n,
                       double               *low,
                       double               *range)
{
  double lowest = G_MAXDOUBLE, highest = 0;

  for (guint i = 0; i < n; i++)
    {
      double value = cloche_monitor_history_get_sample (history, i)->host_rss;

      lowest = MIN (lowest, value);
      highest = MAX (highest, value);
    }
  *range = MAX (MAX (highest - lowest, highest / 20), 1);
  *low = (lowest + highest) / 2 - *range / 2;
}

/* Oldest at the left edge, the newest at the right. */
static void
cloche_sparkline_draw_line (ClocheSparkline *self,
                            cairo_t         *cr,
                            double           width,
                            double           height)
{
  guint n = cloche_monitor_history_get_n_samples (self->history);
  const ClocheMonitorSample *latest = cloche_monitor_history_get_latest (self->history);
  double low, range;
  const ClocheMonitorSample *oldest = cloche_monitor_history_get_sample (self->history, 0);
  /* What the history holds, half a minute at least: a VM up for seconds draws
   * a line, not a dot at the edge. */
  double span = MAX (latest->timestamp - oldest->timestamp, MIN_SPAN_US);
  gint64 previous = 0;

  cloche_sparkline_band (self->history, n, &low, &range);
  for (guint i = 0; i < n; i++)
    {
      const ClocheMonitorSample *sample = cloche_monitor_history_get_sample (self->history, i);
      double x = width - (latest->timestamp - sample->timestamp) / span * width;
      double y = height - 1 - (sample->host_rss - low) / range * (height - 2);

      if (x < 0)
        continue;
      if (previous == 0 || sample->timestamp - previous > GAP_US)
        cairo_move_to (cr, x, y);
      else
        cairo_line_to (cr, x, y);
      previous = sample->timestamp;
    }
  cairo_stroke (cr);
}

static void
cloche_sparkline_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  ClocheSparkline *self = CLOCHE_SPARKLINE (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  GdkRGBA color;
  cairo_t *cr;

  if (self->history == NULL || cloche_monitor_history_get_n_samples (self->history) == 0)
    return;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &color);
  G_GNUC_END_IGNORE_DEPRECATIONS
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_cairo_set_source_rgba (cr, &color);
  cairo_set_line_width (cr, 1.5);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cloche_sparkline_draw_line (self, cr, width, height);
  cairo_destroy (cr);
}

static void
cloche_sparkline_measure (GtkWidget      *widget,
                          GtkOrientation  orientation,
                          int             for_size,
                          int            *minimum,
                          int            *natural,
                          int            *minimum_baseline,
                          int            *natural_baseline)
{
  *minimum = *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 96 : 24;
}

static void
cloche_sparkline_dispose (GObject *object)
{
  ClocheSparkline *self = CLOCHE_SPARKLINE (object);

  if (self->history_signals != NULL)
    g_signal_group_set_target (self->history_signals, NULL);
  g_clear_object (&self->history_signals);
  g_clear_object (&self->history);

  G_OBJECT_CLASS (cloche_sparkline_parent_class)->dispose (object);
}

static void
cloche_sparkline_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_HISTORY:
      g_value_set_object (value, CLOCHE_SPARKLINE (object)->history);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_sparkline_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  switch (prop_id)
    {
    case PROP_HISTORY:
      cloche_sparkline_set_history (CLOCHE_SPARKLINE (object), g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_sparkline_class_init (ClocheSparklineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_sparkline_dispose;
  object_class->get_property = cloche_sparkline_get_property;
  object_class->set_property = cloche_sparkline_set_property;
  widget_class->snapshot = cloche_sparkline_snapshot;
  widget_class->measure = cloche_sparkline_measure;

  properties[PROP_HISTORY] =
    g_param_spec_object ("history", NULL, NULL, CLOCHE_TYPE_MONITOR_HISTORY,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "sparkline");
  /* The figure beside it says the value; the line is decoration. */
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_PRESENTATION);
}

static void
cloche_sparkline_init (ClocheSparkline *self)
{
  self->history_signals = g_signal_group_new (CLOCHE_TYPE_MONITOR_HISTORY);
  g_signal_group_connect_swapped (self->history_signals, "sample-added",
                                  G_CALLBACK (gtk_widget_queue_draw), self);
  g_signal_group_connect_swapped (self->history_signals, "changed",
                                  G_CALLBACK (gtk_widget_queue_draw), self);
}

void
cloche_sparkline_set_history (ClocheSparkline      *self,
                              ClocheMonitorHistory *history)
{
  g_return_if_fail (CLOCHE_IS_SPARKLINE (self));
  g_return_if_fail (!history || CLOCHE_IS_MONITOR_HISTORY (history));

  if (!g_set_object (&self->history, history))
    return;
  g_signal_group_set_target (self->history_signals, history);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HISTORY]);
}
