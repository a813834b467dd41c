/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Monitor page: the last ten minutes of the VM's CPU, memory and
 * network use as charts, the newest figures beside them, and disk use.
 * Everything comes from the daemon's history, so it is all there again
 * when the window is reopened.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-chart.h"
#include "cloche-monitor-page.h"

struct _ClocheMonitorPage
{
  AdwBin                parent_instance;

  ClocheMonitorHistory *history;
  GSignalGroup         *history_signals;

  GtkStack             *stack;
  GtkWidget            *stopped_label;
  ClocheChart          *cpu_chart;
  GtkLabel             *cpu_label;
  ClocheChart          *memory_chart;
  GtkLabel             *host_memory_label;
  GtkLabel             *guest_memory_label;
  GtkLabel             *guest_total_label;
  ClocheChart          *egress_chart;
  GtkLabel             *egress_in_label;
  GtkLabel             *egress_out_label;
  GtkLabel             *disk_bundle_label;
  GtkLabel             *disk_sessions_label;
};

G_DEFINE_FINAL_TYPE (ClocheMonitorPage, cloche_monitor_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_HISTORY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
cloche_monitor_page_add_points (ClocheMonitorPage         *self,
                                const ClocheMonitorSample *sample)
{
  cloche_chart_add_point (self->cpu_chart, 0, sample->timestamp, sample->cpu_percent);
  cloche_chart_add_point (self->memory_chart, 0, sample->timestamp, sample->host_rss);
  if (sample->has_guest)
    cloche_chart_add_point (self->memory_chart, 1, sample->timestamp, sample->guest_used);
  cloche_chart_add_point (self->egress_chart, 0, sample->timestamp, sample->egress_in);
  cloche_chart_add_point (self->egress_chart, 1, sample->timestamp, sample->egress_out);
}

/* Sets @label to @value in @unit, and returns that text. */
static const char *
cloche_monitor_page_show_value (GtkLabel        *label,
                                ClocheChartUnit  unit,
                                double           value)
{
  g_autofree char *text = cloche_chart_format_value (unit, value);

  gtk_label_set_label (label, text);
  return gtk_label_get_label (label);
}

static void
cloche_monitor_page_show_memory (ClocheMonitorPage         *self,
                                 const ClocheMonitorSample *sample)
{
  g_autofree char *size = NULL;
  g_autofree char *total = NULL;
  g_autofree char *summary = NULL;
  const char *host;

  host = cloche_monitor_page_show_value (self->host_memory_label, CLOCHE_CHART_UNIT_BYTES,
                                         sample->host_rss);
  if (!sample->has_guest)
    {
      gtk_label_set_label (self->guest_memory_label, "—");
      gtk_label_set_label (self->guest_total_label, "");
      cloche_chart_set_summary (self->memory_chart, host);
      return;
    }

  cloche_monitor_page_show_value (self->guest_memory_label, CLOCHE_CHART_UNIT_BYTES,
                                  sample->guest_used);
  size = g_format_size (sample->guest_total);
  /* Translators: below the guest's used memory, e.g. “of 3.8 GB” */
  total = g_strdup_printf (_("of %s"), size);
  gtk_label_set_label (self->guest_total_label, total);
  /* Translators: a chart's current values: host memory, guest memory used */
  summary = g_strdup_printf (_("%s on the host, %s used by the guest"), host,
                             gtk_label_get_label (self->guest_memory_label));
  cloche_chart_set_summary (self->memory_chart, summary);
}

static void
cloche_monitor_page_show_values (ClocheMonitorPage         *self,
                                 const ClocheMonitorSample *sample)
{
  g_autofree char *egress = NULL;
  const char *in, *out;

  cloche_chart_set_summary (self->cpu_chart,
                            cloche_monitor_page_show_value (self->cpu_label,
                                                            CLOCHE_CHART_UNIT_PERCENT,
                                                            sample->cpu_percent));
  cloche_monitor_page_show_memory (self, sample);
  in = cloche_monitor_page_show_value (self->egress_in_label,
                                       CLOCHE_CHART_UNIT_BYTES_PER_SECOND, sample->egress_in);
  out = cloche_monitor_page_show_value (self->egress_out_label,
                                        CLOCHE_CHART_UNIT_BYTES_PER_SECOND, sample->egress_out);
  /* Translators: a chart's current values, e.g. “0 bytes/s received, 0 bytes/s sent” */
  egress = g_strdup_printf (_("%s received, %s sent"), in, out);
  cloche_chart_set_summary (self->egress_chart, egress);
}

static void
cloche_monitor_page_update_disk_cb (ClocheMonitorPage *self)
{
  g_autofree char *bundle = NULL;
  g_autofree char *sessions = NULL;

  if (self->history == NULL)
    return;
  bundle = g_format_size (cloche_monitor_history_get_disk_bundle (self->history));
  sessions = g_format_size (cloche_monitor_history_get_disk_sessions (self->history));
  gtk_label_set_label (self->disk_bundle_label, bundle);
  gtk_label_set_label (self->disk_sessions_label, sessions);
}

static void
cloche_monitor_page_update_sampling_cb (ClocheMonitorPage *self)
{
  gboolean sampling = self->history != NULL && cloche_monitor_history_get_sampling (self->history);

  gtk_widget_set_visible (self->stopped_label, !sampling);
}

static void
cloche_monitor_page_sample_added_cb (ClocheMonitorPage         *self,
                                     const ClocheMonitorSample *sample)
{
  cloche_monitor_page_add_points (self, sample);
  cloche_monitor_page_show_values (self, sample);
  gtk_stack_set_visible_child_name (self->stack, "charts");
}

static void
cloche_monitor_page_reload_cb (ClocheMonitorPage *self)
{
  guint n = self->history != NULL ? cloche_monitor_history_get_n_samples (self->history) : 0;

  cloche_chart_clear (self->cpu_chart);
  cloche_chart_clear (self->memory_chart);
  cloche_chart_clear (self->egress_chart);
  for (guint i = 0; i < n; i++)
    cloche_monitor_page_add_points (self, cloche_monitor_history_get_sample (self->history, i));
  if (n > 0)
    cloche_monitor_page_show_values (self, cloche_monitor_history_get_latest (self->history));

  gtk_stack_set_visible_child_name (self->stack, n > 0 ? "charts" : "empty");
  cloche_monitor_page_update_sampling_cb (self);
  cloche_monitor_page_update_disk_cb (self);
}

static void
cloche_monitor_page_dispose (GObject *object)
{
  ClocheMonitorPage *self = (ClocheMonitorPage *) object;

  if (self->history_signals != NULL)
    g_signal_group_set_target (self->history_signals, NULL);
  g_clear_object (&self->history_signals);
  g_clear_object (&self->history);

  /* The stack is both AdwBin's child and a template child: let AdwBin drop
   * it first, or the template would unparent it under AdwBin's feet. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), CLOCHE_TYPE_MONITOR_PAGE);

  G_OBJECT_CLASS (cloche_monitor_page_parent_class)->dispose (object);
}

static void
cloche_monitor_page_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  ClocheMonitorPage *self = CLOCHE_MONITOR_PAGE (object);

  switch (prop_id)
    {
    case PROP_HISTORY:
      g_value_set_object (value, self->history);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_monitor_page_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  ClocheMonitorPage *self = CLOCHE_MONITOR_PAGE (object);

  switch (prop_id)
    {
    case PROP_HISTORY:
      cloche_monitor_page_set_history (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_monitor_page_class_init (ClocheMonitorPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_monitor_page_dispose;
  object_class->get_property = cloche_monitor_page_get_property;
  object_class->set_property = cloche_monitor_page_set_property;

  properties[PROP_HISTORY] =
    g_param_spec_object ("history", NULL, NULL, CLOCHE_TYPE_MONITOR_HISTORY,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (CLOCHE_TYPE_CHART);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-monitor-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheMonitorPage, stack);
  gtk_widget_class_bind_template_child (widget_class, ClocheMonitorPage, stopped_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheMonitorPage, cpu_chart);
  gtk_widget_class_bind_template_child (widget_class, ClocheMonitorPage, cpu_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheMonitorPage, memory_chart);
  gtk_widget_class_bind_template_child (widget_class, ClocheMonitorPage, host_memory_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheMonitorPage, guest_memory_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheMonitorPage, guest_total_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheMonitorPage, egress_chart);
  gtk_widget_class_bind_template_child (widget_class, ClocheMonitorPage, egress_in_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheMonitorPage, egress_out_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheMonitorPage, disk_bundle_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheMonitorPage, disk_sessions_label);
}

static void
cloche_monitor_page_init (ClocheMonitorPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->history_signals = g_signal_group_new (CLOCHE_TYPE_MONITOR_HISTORY);
  g_signal_group_connect_swapped (self->history_signals, "changed",
                                  G_CALLBACK (cloche_monitor_page_reload_cb), self);
  g_signal_group_connect_swapped (self->history_signals, "sample-added",
                                  G_CALLBACK (cloche_monitor_page_sample_added_cb), self);
  g_signal_group_connect_swapped (self->history_signals, "notify::sampling",
                                  G_CALLBACK (cloche_monitor_page_update_sampling_cb), self);
  g_signal_group_connect_swapped (self->history_signals, "notify::disk-bundle",
                                  G_CALLBACK (cloche_monitor_page_update_disk_cb), self);
  g_signal_group_connect_swapped (self->history_signals, "notify::disk-sessions",
                                  G_CALLBACK (cloche_monitor_page_update_disk_cb), self);
  cloche_monitor_page_reload_cb (self);
}

void
cloche_monitor_page_set_history (ClocheMonitorPage    *self,
                                 ClocheMonitorHistory *history)
{
  g_return_if_fail (CLOCHE_IS_MONITOR_PAGE (self));
  g_return_if_fail (!history || CLOCHE_IS_MONITOR_HISTORY (history));

  if (!g_set_object (&self->history, history))
    return;
  g_signal_group_set_target (self->history_signals, history);
  cloche_monitor_page_reload_cb (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HISTORY]);
}
