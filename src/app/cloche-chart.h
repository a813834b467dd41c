/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef enum
{
  CLOCHE_CHART_UNIT_PERCENT,
  CLOCHE_CHART_UNIT_BYTES,
  CLOCHE_CHART_UNIT_BYTES_PER_SECOND,
} ClocheChartUnit;

#define CLOCHE_TYPE_CHART_UNIT (cloche_chart_unit_get_type ())
GType cloche_chart_unit_get_type (void) G_GNUC_CONST;

/* A chart draws at most this many series: the first solid and filled,
 * the second dashed, so they tell apart without colour. */
#define CLOCHE_CHART_MAX_SERIES 2

#define CLOCHE_TYPE_CHART (cloche_chart_get_type ())
G_DECLARE_FINAL_TYPE (ClocheChart, cloche_chart, CLOCHE, CHART, GtkWidget)

GtkWidget       *cloche_chart_new         (void);
void             cloche_chart_clear       (ClocheChart     *self);
void             cloche_chart_add_point   (ClocheChart     *self,
                                           guint            series,
                                           gint64           timestamp,
                                           double           value);
guint            cloche_chart_get_n_points (ClocheChart    *self,
                                           guint            series);
void             cloche_chart_set_unit    (ClocheChart     *self,
                                           ClocheChartUnit  unit);
void             cloche_chart_set_title   (ClocheChart     *self,
                                           const char      *title);
void             cloche_chart_set_summary (ClocheChart     *self,
                                           const char      *summary);
char            *cloche_chart_format_value (ClocheChartUnit unit,
                                           double           value);

G_END_DECLS
