/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A line chart of the last ten minutes, drawn with cairo. The lines take
 * the widget's CSS colour (style.css sets the accent), the grid and labels
 * the window's foreground, so the chart reads in light and dark styles
 * alike. Samples further apart than GAP_US leave a gap: the VM was not
 * running. Screen readers get the title and the current value as the label.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-chart.h"

#define SPAN_US  (G_GINT64_CONSTANT (600) * G_USEC_PER_SEC)
#define GAP_US   (G_GINT64_CONSTANT (3) * G_USEC_PER_SEC)
#define MIB      (1024.0 * 1024.0)

typedef struct
{
  gint64 timestamp;
  double value;
} Point;

struct _ClocheChart
{
  GtkWidget        parent_instance;

  GArray          *series[CLOCHE_CHART_MAX_SERIES];  /* Point, oldest first */
  ClocheChartUnit  unit;
  char            *title;
  char            *summary;
};

G_DEFINE_ENUM_TYPE (ClocheChartUnit, cloche_chart_unit,
  G_DEFINE_ENUM_VALUE (CLOCHE_CHART_UNIT_PERCENT, "percent"),
  G_DEFINE_ENUM_VALUE (CLOCHE_CHART_UNIT_BYTES, "bytes"),
  G_DEFINE_ENUM_VALUE (CLOCHE_CHART_UNIT_BYTES_PER_SECOND, "bytes-per-second"))

G_DEFINE_FINAL_TYPE (ClocheChart, cloche_chart, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_UNIT,
  PROP_TITLE,
  PROP_SUMMARY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/**
 * cloche_chart_format_value:
 *
 * Returns: (transfer full): @value as the chart labels it
 */
char *
cloche_chart_format_value (ClocheChartUnit unit,
                           double          value)
{
  g_autofree char *size = NULL;

  switch (unit)
    {
    case CLOCHE_CHART_UNIT_BYTES:
      return g_format_size_full ((guint64) MAX (value, 0), G_FORMAT_SIZE_IEC_UNITS);
    case CLOCHE_CHART_UNIT_BYTES_PER_SECOND:
      size = g_format_size_full ((guint64) MAX (value, 0), G_FORMAT_SIZE_IEC_UNITS);
      /* Translators: a transfer rate, e.g. “1.5 KiB/s” */
      return g_strdup_printf (_("%s/s"), size);
    case CLOCHE_CHART_UNIT_PERCENT:
    default:
      /* Translators: CPU use, e.g. “12 %” */
      return g_strdup_printf (_("%.0f %%"), value);
    }
}

/* The top of the scale: a round number above every value shown, and never
 * so low that noise fills the chart. */
static double
cloche_chart_scale_max (ClocheChart *self)
{
  double highest = 0, top;

  for (guint s = 0; s < CLOCHE_CHART_MAX_SERIES; s++)
    for (guint i = 0; i < self->series[s]->len; i++)
      highest = MAX (highest, g_array_index (self->series[s], Point, i).value);

  if (self->unit == CLOCHE_CHART_UNIT_PERCENT)
    {
      static const double steps[] = { 10, 25, 50, 100, 200, 400, 800, 1600 };

      for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
        if (highest <= steps[i])
          return steps[i];
      return highest;
    }

  /* Sizes: powers of two, from 64 MiB or from 1 KiB/s. */
  top = self->unit == CLOCHE_CHART_UNIT_BYTES ? 64 * MIB : 1024;
  while (top < highest * 1.05)
    top *= 2;
  return top;
}

static gint64
cloche_chart_end (ClocheChart *self)
{
  gint64 end = 0;

  for (guint s = 0; s < CLOCHE_CHART_MAX_SERIES; s++)
    if (self->series[s]->len > 0)
      end = MAX (end, g_array_index (self->series[s], Point, self->series[s]->len - 1).timestamp);
  return end;
}

static void
cloche_chart_get_colors (ClocheChart *self,
                         GdkRGBA     *line,
                         GdkRGBA     *text)
{
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (self));

  /* gtk_widget_get_color() is GTK 4.10; on 4.8 the style context says. */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (context, line);
  if (!gtk_style_context_lookup_color (context, "window_fg_color", text))
    *text = *line;
  G_GNUC_END_IGNORE_DEPRECATIONS
}

static PangoLayout *
cloche_chart_create_label (ClocheChart *self,
                           const char  *text)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  g_autoptr(PangoAttrList) attrs = pango_attr_list_new ();

  pango_attr_list_insert (attrs, pango_attr_scale_new (PANGO_SCALE_SMALL));
  pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum=1"));
  pango_layout_set_attributes (layout, attrs);
  return layout;
}

static void
cloche_chart_draw_label (ClocheChart *self,
                         cairo_t     *cr,
                         const char  *text,
                         double       x,
                         double       y,
                         gboolean     align_end)
{
  g_autoptr(PangoLayout) layout = cloche_chart_create_label (self, text);
  int width, height;

  pango_layout_get_pixel_size (layout, &width, &height);
  cairo_move_to (cr, align_end ? x - width : x, y);
  pango_cairo_show_layout (cr, layout);
}

static int
cloche_chart_label_height (ClocheChart *self)
{
  g_autoptr(PangoLayout) layout = cloche_chart_create_label (self, "0");
  int height;

  pango_layout_get_pixel_size (layout, NULL, &height);
  return height;
}

/* Grid lines at 0, half and full scale; the scale's top above the chart
 * and the time span below it. */
static void
cloche_chart_draw_frame (ClocheChart           *self,
                         cairo_t               *cr,
                         const GdkRGBA         *text,
                         const graphene_rect_t *plot,
                         double                 top)
{
  g_autofree char *max_label = cloche_chart_format_value (self->unit, top);

  cairo_set_line_width (cr, 1);
  cairo_set_source_rgba (cr, text->red, text->green, text->blue, text->alpha * 0.15);
  for (int i = 0; i <= 2; i++)
    {
      double y = (int) (plot->origin.y + plot->size.height * i / 2) + 0.5;

      cairo_move_to (cr, plot->origin.x, y);
      cairo_line_to (cr, plot->origin.x + plot->size.width, y);
    }
  cairo_stroke (cr);

  cairo_set_source_rgba (cr, text->red, text->green, text->blue, text->alpha * 0.75);
  cloche_chart_draw_label (self, cr, max_label, plot->origin.x,
                           plot->origin.y - cloche_chart_label_height (self) - 2, FALSE);
  cloche_chart_draw_label (self, cr, _("10 min ago"), plot->origin.x,
                           plot->origin.y + plot->size.height + 2, FALSE);
  cloche_chart_draw_label (self, cr, _("now"), plot->origin.x + plot->size.width,
                           plot->origin.y + plot->size.height + 2, TRUE);
}

/* Adds the runs of @points to the path, breaking where samples are
 * missing; with @closed each run is closed down to the baseline. */
static void
cloche_chart_trace (cairo_t               *cr,
                    GArray                *points,
                    const graphene_rect_t *plot,
                    gint64                 end,
                    double                 top,
                    gboolean               closed)
{
  double base = plot->origin.y + plot->size.height;
  double first_x = 0, last_x = 0;

  for (guint i = 0; i < points->len; i++)
    {
      const Point *point = &g_array_index (points, Point, i);
      double x = plot->origin.x + plot->size.width
                 * (1 - (double) (end - point->timestamp) / SPAN_US);
      double y = base - plot->size.height * CLAMP (point->value / top, 0, 1);
      gboolean starts_run = i == 0
                            || point->timestamp - g_array_index (points, Point, i - 1).timestamp > GAP_US;

      if (starts_run && i > 0 && closed)
        {
          cairo_line_to (cr, last_x, base);
          cairo_line_to (cr, first_x, base);
          cairo_close_path (cr);
        }
      if (starts_run)
        {
          first_x = x;
          cairo_move_to (cr, x, y);
        }
      cairo_line_to (cr, x, y);
      last_x = x;
    }
  if (points->len > 0 && closed)
    {
      cairo_line_to (cr, last_x, base);
      cairo_line_to (cr, first_x, base);
      cairo_close_path (cr);
    }
}

static void
cloche_chart_draw_series (ClocheChart           *self,
                          cairo_t               *cr,
                          guint                  series,
                          const GdkRGBA         *color,
                          const graphene_rect_t *plot,
                          gint64                 end,
                          double                 top)
{
  static const double dash[] = { 6, 4 };

  if (series == 0)
    {
      cloche_chart_trace (cr, self->series[series], plot, end, top, TRUE);
      cairo_set_source_rgba (cr, color->red, color->green, color->blue, color->alpha * 0.2);
      cairo_fill (cr);
    }
  cloche_chart_trace (cr, self->series[series], plot, end, top, FALSE);
  cairo_set_source_rgba (cr, color->red, color->green, color->blue, color->alpha);
  cairo_set_line_width (cr, 2);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_dash (cr, dash, series == 0 ? 0 : G_N_ELEMENTS (dash), 0);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
}

static void
cloche_chart_snapshot (GtkWidget   *widget,
                       GtkSnapshot *snapshot)
{
  ClocheChart *self = CLOCHE_CHART (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  int label_height = cloche_chart_label_height (self);
  graphene_rect_t plot;
  GdkRGBA line, text;
  double top = cloche_chart_scale_max (self);
  gint64 end = cloche_chart_end (self);
  cairo_t *cr;

  if (width <= 0 || height <= 2 * (label_height + 2) + 8)
    return;

  /* Room for the lines' width inside the plot, labels above and below. */
  graphene_rect_init (&plot, 1, label_height + 4, width - 2, height - 2 * (label_height + 4));
  cloche_chart_get_colors (self, &line, &text);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  cloche_chart_draw_frame (self, cr, &text, &plot, top);
  for (guint s = CLOCHE_CHART_MAX_SERIES; s-- > 0;)
    cloche_chart_draw_series (self, cr, s, &line, &plot, end, top);
  cairo_destroy (cr);
}

static void
cloche_chart_measure (GtkWidget      *widget,
                      GtkOrientation  orientation,
                      int             for_size,
                      int            *minimum,
                      int            *natural,
                      int            *minimum_baseline,
                      int            *natural_baseline)
{
  int label_height = cloche_chart_label_height (CLOCHE_CHART (widget));

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 160;
      *natural = 360;
    }
  else
    {
      *minimum = 2 * (label_height + 4) + 64;
      *natural = 2 * (label_height + 4) + 120;
    }
}

static void
cloche_chart_update_label (ClocheChart *self)
{
  g_autofree char *label = NULL;

  if (self->summary != NULL && *self->summary != '\0')
    /* Translators: a chart's accessible name, e.g. “CPU: 12 %” */
    label = g_strdup_printf (_("%s: %s"), self->title ? self->title : "", self->summary);
  else
    label = g_strdup (self->title ? self->title : "");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  -1);
}

static void
cloche_chart_finalize (GObject *object)
{
  ClocheChart *self = (ClocheChart *) object;

  for (guint s = 0; s < CLOCHE_CHART_MAX_SERIES; s++)
    g_clear_pointer (&self->series[s], g_array_unref);
  g_clear_pointer (&self->title, g_free);
  g_clear_pointer (&self->summary, g_free);

  G_OBJECT_CLASS (cloche_chart_parent_class)->finalize (object);
}

static void
cloche_chart_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  ClocheChart *self = CLOCHE_CHART (object);

  switch (prop_id)
    {
    case PROP_UNIT:
      g_value_set_enum (value, self->unit);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_SUMMARY:
      g_value_set_string (value, self->summary);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_chart_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  ClocheChart *self = CLOCHE_CHART (object);

  switch (prop_id)
    {
    case PROP_UNIT:
      cloche_chart_set_unit (self, g_value_get_enum (value));
      break;
    case PROP_TITLE:
      cloche_chart_set_title (self, g_value_get_string (value));
      break;
    case PROP_SUMMARY:
      cloche_chart_set_summary (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_chart_class_init (ClocheChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = cloche_chart_finalize;
  object_class->get_property = cloche_chart_get_property;
  object_class->set_property = cloche_chart_set_property;

  widget_class->snapshot = cloche_chart_snapshot;
  widget_class->measure = cloche_chart_measure;

  properties[PROP_UNIT] =
    g_param_spec_enum ("unit", NULL, NULL, CLOCHE_TYPE_CHART_UNIT,
                       CLOCHE_CHART_UNIT_PERCENT, flags);
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL, flags);
  properties[PROP_SUMMARY] =
    g_param_spec_string ("summary", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "chart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
cloche_chart_init (ClocheChart *self)
{
  for (guint s = 0; s < CLOCHE_CHART_MAX_SERIES; s++)
    self->series[s] = g_array_new (FALSE, FALSE, sizeof (Point));
}

GtkWidget *
cloche_chart_new (void)
{
  return g_object_new (CLOCHE_TYPE_CHART, NULL);
}

void
cloche_chart_clear (ClocheChart *self)
{
  g_return_if_fail (CLOCHE_IS_CHART (self));

  for (guint s = 0; s < CLOCHE_CHART_MAX_SERIES; s++)
    g_array_set_size (self->series[s], 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/**
 * cloche_chart_add_point:
 * @timestamp: CLOCK_REALTIME in µs, not older than the series' last point
 *
 * Appends a point; points older than ten minutes before it fall off.
 */
void
cloche_chart_add_point (ClocheChart *self,
                        guint        series,
                        gint64       timestamp,
                        double       value)
{
  GArray *points;
  guint old = 0;

  g_return_if_fail (CLOCHE_IS_CHART (self));
  g_return_if_fail (series < CLOCHE_CHART_MAX_SERIES);

  points = self->series[series];
  g_array_append_val (points, ((Point) { timestamp, value }));
  while (old < points->len && g_array_index (points, Point, old).timestamp < timestamp - SPAN_US)
    old++;
  g_array_remove_range (points, 0, old);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
cloche_chart_get_n_points (ClocheChart *self,
                           guint        series)
{
  g_return_val_if_fail (CLOCHE_IS_CHART (self), 0);
  g_return_val_if_fail (series < CLOCHE_CHART_MAX_SERIES, 0);

  return self->series[series]->len;
}

void
cloche_chart_set_unit (ClocheChart     *self,
                       ClocheChartUnit  unit)
{
  g_return_if_fail (CLOCHE_IS_CHART (self));

  if (self->unit == unit)
    return;
  self->unit = unit;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UNIT]);
}

void
cloche_chart_set_title (ClocheChart *self,
                        const char  *title)
{
  g_return_if_fail (CLOCHE_IS_CHART (self));

  if (g_strcmp0 (self->title, title) == 0)
    return;
  g_free (self->title);
  self->title = g_strdup (title);
  cloche_chart_update_label (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

void
cloche_chart_set_summary (ClocheChart *self,
                          const char  *summary)
{
  g_return_if_fail (CLOCHE_IS_CHART (self));

  if (g_strcmp0 (self->summary, summary) == 0)
    return;
  g_free (self->summary);
  self->summary = g_strdup (summary);
  cloche_chart_update_label (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SUMMARY]);
}
