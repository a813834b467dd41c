/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Monitor: the monitor's samples as dictionaries, so that
 * a later daemon can add figures without breaking a client. The keys are
 * listed in data/io.github.cloche.Monitor.xml.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cloche-dbus-generated.h"
#include "cloche-error.h"
#include "cloche-monitor-service.h"

struct _ClocheMonitorService
{
  ClocheDbusMonitorSkeleton  parent_instance;
  ClocheMonitor             *monitor;
};

static void cloche_monitor_service_monitor_iface_init (ClocheDbusMonitorIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ClocheMonitorService, cloche_monitor_service,
                               CLOCHE_DBUS_TYPE_MONITOR_SKELETON,
                               G_IMPLEMENT_INTERFACE (CLOCHE_DBUS_TYPE_MONITOR,
                                                      cloche_monitor_service_monitor_iface_init))

static GVariant *
cloche_monitor_service_sample_to_variant (const ClocheSample *sample)
{
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);

  g_variant_dict_insert (&dict, "timestamp", "x", sample->timestamp);
  g_variant_dict_insert (&dict, "cpu-percent", "d", sample->cpu_percent);
  g_variant_dict_insert (&dict, "host-rss", "t", sample->host_rss);
  g_variant_dict_insert (&dict, "host-pss", "t", sample->host_pss);
  if (sample->has_guest)
    {
      g_variant_dict_insert (&dict, "guest-total", "t", sample->guest_total);
      g_variant_dict_insert (&dict, "guest-free", "t", sample->guest_free);
      g_variant_dict_insert (&dict, "guest-used", "t", sample->guest_used);
    }
  if (sample->has_disk)
    {
      g_variant_dict_insert (&dict, "disk-bundle", "t", sample->disk_bundle);
      g_variant_dict_insert (&dict, "disk-sessions", "t", sample->disk_sessions);
    }
  g_variant_dict_insert (&dict, "egress-in", "t", sample->egress_in);
  g_variant_dict_insert (&dict, "egress-out", "t", sample->egress_out);
  g_variant_dict_insert (&dict, "open-sessions", "u", sample->open_sessions);
  return g_variant_dict_end (&dict);
}

static gboolean
cloche_monitor_service_handle_get_samples (ClocheDbusMonitor     *object,
                                           GDBusMethodInvocation *invocation,
                                           gint64                 since)
{
  ClocheMonitorService *self = CLOCHE_MONITOR_SERVICE (object);
  g_autoptr(GArray) samples = NULL;
  GVariantBuilder builder;

  /* A time in µs since 1970, or 0: a negative one is a caller's mistake. */
  if (since < 0)
    {
      g_dbus_method_invocation_return_error (invocation, CLOCHE_ERROR,
                                             CLOCHE_ERROR_INVALID_ARGUMENT,
                                             _("GetSamples: since %lld is no time: give 0 for "
                                               "all the samples, or a time in µs since 1970"),
                                             (long long) since);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  samples = cloche_monitor_dup_samples (self->monitor, since);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < samples->len; i++)
    {
      const ClocheSample *sample = &g_array_index (samples, ClocheSample, i);

      g_variant_builder_add_value (&builder, cloche_monitor_service_sample_to_variant (sample));
    }
  cloche_dbus_monitor_complete_get_samples (CLOCHE_DBUS_MONITOR (self), invocation,
                                            g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
cloche_monitor_service_sample_cb (ClocheMonitorService *self,
                                  const ClocheSample   *sample)
{
  cloche_dbus_monitor_emit_sample (CLOCHE_DBUS_MONITOR (self),
                                   cloche_monitor_service_sample_to_variant (sample));
}

static void
cloche_monitor_service_sync_properties_cb (ClocheMonitorService *self)
{
  cloche_dbus_monitor_set_disk_bundle (CLOCHE_DBUS_MONITOR (self),
                                       cloche_monitor_get_disk_bundle (self->monitor));
  cloche_dbus_monitor_set_disk_sessions (CLOCHE_DBUS_MONITOR (self),
                                         cloche_monitor_get_disk_sessions (self->monitor));
  cloche_dbus_monitor_set_sampling (CLOCHE_DBUS_MONITOR (self),
                                    cloche_monitor_get_sampling (self->monitor));
}

static void
cloche_monitor_service_dispose (GObject *object)
{
  ClocheMonitorService *self = CLOCHE_MONITOR_SERVICE (object);

  g_clear_object (&self->monitor);

  G_OBJECT_CLASS (cloche_monitor_service_parent_class)->dispose (object);
}

static void
cloche_monitor_service_class_init (ClocheMonitorServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cloche_monitor_service_dispose;
}

static void
cloche_monitor_service_monitor_iface_init (ClocheDbusMonitorIface *iface)
{
  iface->handle_get_samples = cloche_monitor_service_handle_get_samples;
}

static void
cloche_monitor_service_init (ClocheMonitorService *self)
{
}

ClocheMonitorService *
cloche_monitor_service_new (ClocheMonitor *monitor)
{
  ClocheMonitorService *self;

  g_return_val_if_fail (CLOCHE_IS_MONITOR (monitor), NULL);

  self = g_object_new (CLOCHE_TYPE_MONITOR_SERVICE, NULL);
  self->monitor = g_object_ref (monitor);
  g_signal_connect_object (monitor, "sample", G_CALLBACK (cloche_monitor_service_sample_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (monitor, "notify",
                           G_CALLBACK (cloche_monitor_service_sync_properties_cb), self,
                           G_CONNECT_SWAPPED);
  cloche_monitor_service_sync_properties_cb (self);
  return self;
}
