/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Egress: the egress proxy's rules, decisions and
 * counters. Decisions travel as dictionaries (keys in
 * data/io.github.cloche.Egress.xml). The byte counters change with every
 * read of a tunnel, so they are published at most once a second.
 */
#include "config.h"

#include "cloche-dbus-generated.h"
#include "cloche-egress-service.h"

#define COUNTERS_INTERVAL_MS 1000

struct _ClocheEgressService
{
  ClocheDbusEgressSkeleton  parent_instance;
  ClocheEgressProxy        *proxy;
  guint                     counters_source;
};

static void cloche_egress_service_egress_iface_init (ClocheDbusEgressIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ClocheEgressService, cloche_egress_service,
                               CLOCHE_DBUS_TYPE_EGRESS_SKELETON,
                               G_IMPLEMENT_INTERFACE (CLOCHE_DBUS_TYPE_EGRESS,
                                                      cloche_egress_service_egress_iface_init))

static GVariant *
cloche_egress_service_decision_to_variant (const ClocheEgressDecision *decision)
{
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);

  g_variant_dict_insert (&dict, "id", "t", decision->id);
  g_variant_dict_insert (&dict, "time", "x", decision->time);
  g_variant_dict_insert (&dict, "session", "s", decision->session);
  g_variant_dict_insert (&dict, "method", "s", decision->method);
  g_variant_dict_insert (&dict, "host", "s", decision->host);
  g_variant_dict_insert (&dict, "port", "q", decision->port);
  if (decision->path != NULL)
    g_variant_dict_insert (&dict, "path", "s", decision->path);
  g_variant_dict_insert (&dict, "intercepted", "b", decision->intercepted);
  g_variant_dict_insert (&dict, "allowed", "b", decision->allowed);
  g_variant_dict_insert (&dict, "rule", "s", decision->rule);
  g_variant_dict_insert (&dict, "bytes-in", "t", decision->bytes_in);
  g_variant_dict_insert (&dict, "bytes-out", "t", decision->bytes_out);
  g_variant_dict_insert (&dict, "ended", "b", decision->ended);
  if (decision->error != NULL)
    g_variant_dict_insert (&dict, "error", "s", decision->error);
  return g_variant_dict_end (&dict);
}

static gboolean
cloche_egress_service_handle_get_decisions (ClocheDbusEgress      *object,
                                            GDBusMethodInvocation *invocation,
                                            guint64                since)
{
  ClocheEgressService *self = CLOCHE_EGRESS_SERVICE (object);
  g_autoptr(GPtrArray) decisions = cloche_egress_proxy_dup_decisions (self->proxy, since);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < decisions->len; i++)
    g_variant_builder_add_value (&builder,
                                 cloche_egress_service_decision_to_variant (decisions->pdata[i]));
  cloche_dbus_egress_complete_get_decisions (object, invocation,
                                             g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static GVariant *
cloche_egress_service_session_bytes_variant (ClocheEgressService *self)
{
  g_autoptr(GHashTable) sessions = cloche_egress_proxy_dup_session_counters (self->proxy);
  GVariantBuilder builder;
  GHashTableIter iter;
  gpointer key, value;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{s(tt)}"));
  g_hash_table_iter_init (&iter, sessions);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      ClocheEgressCounters *counters = value;

      g_variant_builder_add (&builder, "{s(tt)}", key, counters->bytes_in, counters->bytes_out);
    }
  return g_variant_builder_end (&builder);
}

static void
cloche_egress_service_publish_counters (ClocheEgressService *self)
{
  ClocheDbusEgress *skeleton = CLOCHE_DBUS_EGRESS (self);
  ClocheEgressCounters totals;

  cloche_egress_proxy_get_totals (self->proxy, &totals);
  cloche_dbus_egress_set_bytes_in (skeleton, totals.bytes_in);
  cloche_dbus_egress_set_bytes_out (skeleton, totals.bytes_out);
  cloche_dbus_egress_set_session_bytes (skeleton,
                                        cloche_egress_service_session_bytes_variant (self));
  cloche_dbus_egress_set_connections (skeleton, cloche_egress_proxy_get_connections (self->proxy));
}

static gboolean
cloche_egress_service_counters_due_cb (gpointer user_data)
{
  ClocheEgressService *self = user_data;

  self->counters_source = 0;
  cloche_egress_service_publish_counters (self);
  return G_SOURCE_REMOVE;
}

/* The first change after a quiet spell is published a second later, with
 * whatever came after it: no timer runs while nothing moves. */
static void
cloche_egress_service_schedule_counters_cb (ClocheEgressService *self)
{
  if (self->counters_source == 0)
    self->counters_source = g_timeout_add (COUNTERS_INTERVAL_MS,
                                           cloche_egress_service_counters_due_cb, self);
}

static void
cloche_egress_service_decision_cb (ClocheEgressService  *self,
                                   ClocheEgressDecision *decision)
{
  /* A denial is final at once: decision-ended tells it, once. */
  if (decision->allowed)
    cloche_dbus_egress_emit_decision (CLOCHE_DBUS_EGRESS (self),
                                      cloche_egress_service_decision_to_variant (decision));
}

static void
cloche_egress_service_decision_ended_cb (ClocheEgressService  *self,
                                         ClocheEgressDecision *decision)
{
  cloche_dbus_egress_emit_decision (CLOCHE_DBUS_EGRESS (self),
                                    cloche_egress_service_decision_to_variant (decision));
  cloche_egress_service_schedule_counters_cb (self);
}

static void
cloche_egress_service_sync_rules_cb (ClocheEgressService *self)
{
  ClocheDbusEgress *skeleton = CLOCHE_DBUS_EGRESS (self);
  ClocheEgressRules *rules = cloche_egress_proxy_get_rules (self->proxy);
  g_auto(GStrv) texts = cloche_egress_rules_dup_texts (rules);
  const char *path = cloche_egress_proxy_get_socket_path (self->proxy);

  cloche_dbus_egress_set_rules (skeleton, (const char * const *) texts);
  cloche_dbus_egress_set_default_rule (skeleton,
                                       cloche_egress_rules_get_default_allow (rules)
                                       ? "allow" : "deny");
  cloche_dbus_egress_set_socket_path (skeleton, path != NULL ? path : "");
}

/* SessionAllow: session → the hosts it adds (issue 17). */
static void
cloche_egress_service_sync_session_allow_cb (ClocheEgressService *self)
{
  GHashTable *allow = cloche_egress_proxy_get_session_allow (self->proxy);
  GVariantBuilder builder;
  GHashTableIter iter;
  gpointer session, hosts;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{sas}"));
  g_hash_table_iter_init (&iter, allow);
  while (g_hash_table_iter_next (&iter, &session, &hosts))
    g_variant_builder_add (&builder, "{s^as}", session, hosts);
  cloche_dbus_egress_set_session_allow (CLOCHE_DBUS_EGRESS (self),
                                        g_variant_builder_end (&builder));
}

static void
cloche_egress_service_dispose (GObject *object)
{
  ClocheEgressService *self = CLOCHE_EGRESS_SERVICE (object);

  g_clear_handle_id (&self->counters_source, g_source_remove);
  g_clear_object (&self->proxy);

  G_OBJECT_CLASS (cloche_egress_service_parent_class)->dispose (object);
}

static void
cloche_egress_service_class_init (ClocheEgressServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cloche_egress_service_dispose;
}

static void
cloche_egress_service_egress_iface_init (ClocheDbusEgressIface *iface)
{
  iface->handle_get_decisions = cloche_egress_service_handle_get_decisions;
}

static void
cloche_egress_service_init (ClocheEgressService *self)
{
}

ClocheEgressService *
cloche_egress_service_new (ClocheEgressProxy *proxy)
{
  ClocheEgressService *self;

  g_return_val_if_fail (CLOCHE_IS_EGRESS_PROXY (proxy), NULL);

  self = g_object_new (CLOCHE_TYPE_EGRESS_SERVICE, NULL);
  self->proxy = g_object_ref (proxy);
  g_signal_connect_object (proxy, "decision", G_CALLBACK (cloche_egress_service_decision_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (proxy, "decision-ended",
                           G_CALLBACK (cloche_egress_service_decision_ended_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (proxy, "traffic",
                           G_CALLBACK (cloche_egress_service_schedule_counters_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (proxy, "notify::rules", G_CALLBACK (cloche_egress_service_sync_rules_cb),
                           self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (proxy, "notify::connections",
                           G_CALLBACK (cloche_egress_service_schedule_counters_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (proxy, "session-allow-changed",
                           G_CALLBACK (cloche_egress_service_sync_session_allow_cb), self,
                           G_CONNECT_SWAPPED);
  /* The daemon listens before it makes its services: the socket path is
   * known here. */
  cloche_egress_service_sync_rules_cb (self);
  cloche_egress_service_sync_session_allow_cb (self);
  cloche_egress_service_publish_counters (self);
  return self;
}
