/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's resource samples, as the dashboard keeps them: the history
 * the daemon holds (GetSamples when it appears on the bus), then each new
 * sample from the Sample signal, through the client's monitor proxy. Closing
 * the window loses nothing: the next window asks the daemon again.
 */
#include "config.h"

#include "cloche-dbus-generated.h"
#include "cloche-monitor-history.h"

struct _ClocheMonitorHistory
{
  GObject            parent_instance;

  GCancellable      *cancellable;
  ClocheDbusMonitor *proxy;
  GArray            *samples;     /* ClocheMonitorSample, oldest first */
};

G_DEFINE_FINAL_TYPE (ClocheMonitorHistory, cloche_monitor_history, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_SAMPLING,
  PROP_DISK_BUNDLE,
  PROP_DISK_SESSIONS,
  N_PROPS
};

enum {
  CHANGED,
  SAMPLE_ADDED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/**
 * cloche_monitor_history_parse_sample:
 * @variant: an a{sv} sample
 *
 * Fills @sample; keys a newer daemon adds are ignored, missing ones are 0.
 */
void
cloche_monitor_history_parse_sample (GVariant            *variant,
                                     ClocheMonitorSample *sample)
{
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (variant);

  memset (sample, 0, sizeof *sample);
  g_variant_dict_lookup (&dict, "timestamp", "x", &sample->timestamp);
  g_variant_dict_lookup (&dict, "cpu-percent", "d", &sample->cpu_percent);
  g_variant_dict_lookup (&dict, "host-rss", "t", &sample->host_rss);
  g_variant_dict_lookup (&dict, "host-pss", "t", &sample->host_pss);
  sample->has_guest = g_variant_dict_lookup (&dict, "guest-total", "t", &sample->guest_total);
  g_variant_dict_lookup (&dict, "guest-free", "t", &sample->guest_free);
  g_variant_dict_lookup (&dict, "guest-used", "t", &sample->guest_used);
  sample->has_disk = g_variant_dict_lookup (&dict, "disk-bundle", "t", &sample->disk_bundle);
  g_variant_dict_lookup (&dict, "disk-sessions", "t", &sample->disk_sessions);
  g_variant_dict_lookup (&dict, "egress-in", "t", &sample->egress_in);
  g_variant_dict_lookup (&dict, "egress-out", "t", &sample->egress_out);
  g_variant_dict_lookup (&dict, "open-sessions", "u", &sample->open_sessions);
}

static gint64
cloche_monitor_history_last_timestamp (ClocheMonitorHistory *self)
{
  const ClocheMonitorSample *latest = cloche_monitor_history_get_latest (self);

  return latest != NULL ? latest->timestamp : 0;
}

static void
cloche_monitor_history_trim (ClocheMonitorHistory *self)
{
  if (self->samples->len > CLOCHE_MONITOR_HISTORY_LENGTH)
    g_array_remove_range (self->samples, 0,
                          self->samples->len - CLOCHE_MONITOR_HISTORY_LENGTH);
}

static void
cloche_monitor_history_sample_cb (ClocheMonitorHistory *self,
                                  GVariant             *variant,
                                  ClocheDbusMonitor    *proxy)
{
  ClocheMonitorSample sample;

  cloche_monitor_history_parse_sample (variant, &sample);
  /* What GetSamples already brought comes again by the signal. */
  if (sample.timestamp <= cloche_monitor_history_last_timestamp (self))
    return;

  g_array_append_val (self->samples, sample);
  cloche_monitor_history_trim (self);
  g_signal_emit (self, signals[SAMPLE_ADDED], 0, &sample);
}

static void
cloche_monitor_history_get_samples_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  g_autoptr(ClocheMonitorHistory) self = user_data;
  g_autoptr(GVariant) samples = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) merged = NULL;
  GVariantIter iter;
  GVariant *child;
  gint64 last = 0;

  if (!cloche_dbus_monitor_call_get_samples_finish (CLOCHE_DBUS_MONITOR (object), &samples,
                                                    result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("No monitor history from the daemon: %s", error->message);
      return;
    }

  merged = g_array_new (FALSE, FALSE, sizeof (ClocheMonitorSample));
  g_variant_iter_init (&iter, samples);
  while ((child = g_variant_iter_next_value (&iter)) != NULL)
    {
      ClocheMonitorSample sample;

      cloche_monitor_history_parse_sample (child, &sample);
      g_variant_unref (child);
      g_array_append_val (merged, sample);
      last = sample.timestamp;
    }
  /* Samples signalled while the call was on its way come after. */
  for (guint i = 0; i < self->samples->len; i++)
    if (g_array_index (self->samples, ClocheMonitorSample, i).timestamp > last)
      g_array_append_val (merged, g_array_index (self->samples, ClocheMonitorSample, i));

  g_array_unref (self->samples);
  self->samples = g_steal_pointer (&merged);
  cloche_monitor_history_trim (self);
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
cloche_monitor_history_notify_all (ClocheMonitorHistory *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SAMPLING]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DISK_BUNDLE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DISK_SESSIONS]);
}

static void
cloche_monitor_history_reload_cb (ClocheMonitorHistory *self)
{
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (self->proxy));

  /* A daemon that went away took its history along; a new one starts empty. */
  g_array_set_size (self->samples, 0);
  g_signal_emit (self, signals[CHANGED], 0);
  cloche_monitor_history_notify_all (self);
  if (owner == NULL)
    return;

  cloche_dbus_monitor_call_get_samples (self->proxy, 0, self->cancellable,
                                        cloche_monitor_history_get_samples_cb,
                                        g_object_ref (self));
}

static void
cloche_monitor_history_properties_cb (ClocheMonitorHistory *self,
                                      GVariant             *changed,
                                      const char * const   *invalidated,
                                      GDBusProxy           *proxy)
{
  cloche_monitor_history_notify_all (self);
}

/**
 * cloche_monitor_history_set_client:
 * @client: (nullable): whose monitor proxy to follow
 *
 * The history follows the daemon through @client's proxy, onto the bus and
 * off again; without a client it is empty.
 */
void
cloche_monitor_history_set_client (ClocheMonitorHistory *self,
                                   ClocheClient         *client)
{
  ClocheDbusMonitor *proxy = client != NULL ? cloche_client_get_monitor (client) : NULL;

  g_return_if_fail (CLOCHE_IS_MONITOR_HISTORY (self));

  if (proxy == self->proxy)
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  if (self->proxy != NULL)
    g_signal_handlers_disconnect_by_data (self->proxy, self);
  g_set_object (&self->proxy, proxy);
  if (proxy == NULL)
    {
      g_array_set_size (self->samples, 0);
      g_signal_emit (self, signals[CHANGED], 0);
      cloche_monitor_history_notify_all (self);
      return;
    }
  g_signal_connect_object (proxy, "sample", G_CALLBACK (cloche_monitor_history_sample_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (proxy, "g-properties-changed",
                           G_CALLBACK (cloche_monitor_history_properties_cb),
                           self, G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (proxy, "notify::g-name-owner",
                           G_CALLBACK (cloche_monitor_history_reload_cb),
                           self, G_CONNECT_SWAPPED);
  cloche_monitor_history_reload_cb (self);
}

static void
cloche_monitor_history_dispose (GObject *object)
{
  ClocheMonitorHistory *self = (ClocheMonitorHistory *) object;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->proxy != NULL)
    g_signal_handlers_disconnect_by_data (self->proxy, self);
  g_clear_object (&self->proxy);

  G_OBJECT_CLASS (cloche_monitor_history_parent_class)->dispose (object);
}

static void
cloche_monitor_history_finalize (GObject *object)
{
  ClocheMonitorHistory *self = (ClocheMonitorHistory *) object;

  g_clear_pointer (&self->samples, g_array_unref);

  G_OBJECT_CLASS (cloche_monitor_history_parent_class)->finalize (object);
}

static void
cloche_monitor_history_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  ClocheMonitorHistory *self = CLOCHE_MONITOR_HISTORY (object);

  switch (prop_id)
    {
    case PROP_SAMPLING:
      g_value_set_boolean (value, cloche_monitor_history_get_sampling (self));
      break;
    case PROP_DISK_BUNDLE:
      g_value_set_uint64 (value, cloche_monitor_history_get_disk_bundle (self));
      break;
    case PROP_DISK_SESSIONS:
      g_value_set_uint64 (value, cloche_monitor_history_get_disk_sessions (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_monitor_history_class_init (ClocheMonitorHistoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = cloche_monitor_history_dispose;
  object_class->finalize = cloche_monitor_history_finalize;
  object_class->get_property = cloche_monitor_history_get_property;

  properties[PROP_SAMPLING] =
    g_param_spec_boolean ("sampling", NULL, NULL, FALSE, flags);
  properties[PROP_DISK_BUNDLE] =
    g_param_spec_uint64 ("disk-bundle", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_DISK_SESSIONS] =
    g_param_spec_uint64 ("disk-sessions", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The whole history changed: redraw from scratch. */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * ClocheMonitorHistory::sample-added:
   * @sample: (type gpointer): the ClocheMonitorSample now last in the history
   */
  signals[SAMPLE_ADDED] =
    g_signal_new ("sample-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
cloche_monitor_history_init (ClocheMonitorHistory *self)
{
  self->samples = g_array_new (FALSE, FALSE, sizeof (ClocheMonitorSample));
  self->cancellable = g_cancellable_new ();
}

/**
 * cloche_monitor_history_new:
 *
 * Returns: (transfer full): an empty history; it fills once given a client
 */
ClocheMonitorHistory *
cloche_monitor_history_new (void)
{
  return g_object_new (CLOCHE_TYPE_MONITOR_HISTORY, NULL);
}

guint
cloche_monitor_history_get_n_samples (ClocheMonitorHistory *self)
{
  g_return_val_if_fail (CLOCHE_IS_MONITOR_HISTORY (self), 0);

  return self->samples->len;
}

const ClocheMonitorSample *
cloche_monitor_history_get_sample (ClocheMonitorHistory *self,
                                   guint                 position)
{
  g_return_val_if_fail (CLOCHE_IS_MONITOR_HISTORY (self), NULL);
  g_return_val_if_fail (position < self->samples->len, NULL);

  return &g_array_index (self->samples, ClocheMonitorSample, position);
}

/**
 * cloche_monitor_history_get_latest:
 *
 * Returns: (nullable): the newest sample, %NULL before the first
 */
const ClocheMonitorSample *
cloche_monitor_history_get_latest (ClocheMonitorHistory *self)
{
  g_return_val_if_fail (CLOCHE_IS_MONITOR_HISTORY (self), NULL);

  if (self->samples->len == 0)
    return NULL;
  return &g_array_index (self->samples, ClocheMonitorSample, self->samples->len - 1);
}

gboolean
cloche_monitor_history_get_sampling (ClocheMonitorHistory *self)
{
  g_return_val_if_fail (CLOCHE_IS_MONITOR_HISTORY (self), FALSE);

  return self->proxy != NULL && cloche_dbus_monitor_get_sampling (self->proxy);
}

guint64
cloche_monitor_history_get_disk_bundle (ClocheMonitorHistory *self)
{
  g_return_val_if_fail (CLOCHE_IS_MONITOR_HISTORY (self), 0);

  return self->proxy != NULL ? cloche_dbus_monitor_get_disk_bundle (self->proxy) : 0;
}

guint64
cloche_monitor_history_get_disk_sessions (ClocheMonitorHistory *self)
{
  g_return_val_if_fail (CLOCHE_IS_MONITOR_HISTORY (self), 0);

  return self->proxy != NULL ? cloche_dbus_monitor_get_disk_sessions (self->proxy) : 0;
}
