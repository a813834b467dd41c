/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The egress decisions as the dashboard keeps them, newest first: what the
 * daemon holds (GetDecisions when it appears on the bus), then each
 * Decision signal, merged by id, through the client's egress proxy. Also the rules in force and the sessions
 * that have asked for something, for the page's filter.
 */
#include "config.h"

#include "cloche-dbus-generated.h"
#include "cloche-egress-log.h"

struct _ClocheEgressLog
{
  GObject           parent_instance;

  GCancellable     *cancellable;
  ClocheDbusEgress *proxy;
  GListStore       *decisions;   /* ClocheEgressItem, newest first */
  GHashTable       *by_id;       /* guint64 id → ClocheEgressItem (in decisions) */
  GtkStringList    *sessions;    /* as first seen; "" for none named */
};

G_DEFINE_FINAL_TYPE (ClocheEgressLog, cloche_egress_log, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_RULES,
  PROP_DEFAULT_RULE,
  PROP_AVAILABLE,
  PROP_SESSION_ALLOW,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
cloche_egress_log_note_session (ClocheEgressLog *self,
                                const char      *session)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->sessions));

  for (guint i = 0; i < n; i++)
    if (g_str_equal (gtk_string_list_get_string (self->sessions, i), session))
      return;
  gtk_string_list_append (self->sessions, session);
}

static void
cloche_egress_log_drop_oldest (ClocheEgressLog *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->decisions));

  while (n > CLOCHE_EGRESS_LOG_LENGTH)
    {
      g_autoptr(ClocheEgressItem) oldest = g_list_model_get_item (G_LIST_MODEL (self->decisions),
                                                                  n - 1);
      guint64 id = cloche_egress_item_get_id (oldest);

      g_hash_table_remove (self->by_id, &id);
      g_list_store_remove (self->decisions, --n);
    }
}

/* The position a new decision takes: decisions can arrive out of order
 * (GetDecisions' answer after a signal), the list stays by id. */
static guint
cloche_egress_log_position_for (ClocheEgressLog *self,
                                guint64          id)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->decisions));
  guint i;

  for (i = 0; i < n; i++)
    {
      g_autoptr(ClocheEgressItem) item = g_list_model_get_item (G_LIST_MODEL (self->decisions), i);

      if (cloche_egress_item_get_id (item) < id)
        break;
    }
  return i;
}

/**
 * cloche_egress_log_add:
 * @decision: an a{sv} decision, new or an update of one listed
 */
void
cloche_egress_log_add (ClocheEgressLog *self,
                       GVariant        *decision)
{
  g_autoptr(ClocheEgressItem) item = NULL;
  guint64 id = 0;
  ClocheEgressItem *known;

  g_return_if_fail (CLOCHE_IS_EGRESS_LOG (self));

  if (!g_variant_lookup (decision, "id", "t", &id))
    return;
  known = g_hash_table_lookup (self->by_id, &id);
  if (known != NULL)
    {
      cloche_egress_item_update (known, decision);
      return;
    }
  item = cloche_egress_item_new (decision);
  g_hash_table_insert (self->by_id, g_memdup2 (&id, sizeof id), item);
  cloche_egress_log_note_session (self, cloche_egress_item_get_session (item));
  g_list_store_insert (self->decisions, cloche_egress_log_position_for (self, id), item);
  cloche_egress_log_drop_oldest (self);
}

static void
cloche_egress_log_clear (ClocheEgressLog *self)
{
  g_hash_table_remove_all (self->by_id);
  g_list_store_remove_all (self->decisions);
  gtk_string_list_splice (self->sessions, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->sessions)), NULL);
}

static void
cloche_egress_log_decision_cb (ClocheEgressLog  *self,
                               GVariant         *decision,
                               ClocheDbusEgress *proxy)
{
  cloche_egress_log_add (self, decision);
}

static void
cloche_egress_log_decisions_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(ClocheEgressLog) self = user_data;
  g_autoptr(GVariant) decisions = NULL;
  g_autoptr(GError) error = NULL;
  GVariantIter iter;
  GVariant *decision;

  if (!cloche_dbus_egress_call_get_decisions_finish (CLOCHE_DBUS_EGRESS (object), &decisions,
                                                     result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("No egress decisions from the daemon: %s", error->message);
      return;
    }
  g_variant_iter_init (&iter, decisions);
  while ((decision = g_variant_iter_next_value (&iter)) != NULL)
    {
      cloche_egress_log_add (self, decision);
      g_variant_unref (decision);
    }
}

static void
cloche_egress_log_notify_all_cb (ClocheEgressLog *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RULES]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DEFAULT_RULE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AVAILABLE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION_ALLOW]);
}

static void
cloche_egress_log_reload_cb (ClocheEgressLog *self)
{
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (self->proxy));

  /* A daemon that went away took its decisions along. */
  cloche_egress_log_clear (self);
  cloche_egress_log_notify_all_cb (self);
  if (owner != NULL)
    cloche_dbus_egress_call_get_decisions (self->proxy, 0, self->cancellable,
                                           cloche_egress_log_decisions_cb,
                                           g_object_ref (self));
}

/**
 * cloche_egress_log_set_client:
 * @client: (nullable): whose egress proxy to follow
 *
 * The log follows the daemon through @client's proxy, onto the bus and off
 * again; without a client it is empty.
 */
void
cloche_egress_log_set_client (ClocheEgressLog *self,
                              ClocheClient    *client)
{
  ClocheDbusEgress *proxy = client != NULL ? cloche_client_get_egress (client) : NULL;

  g_return_if_fail (CLOCHE_IS_EGRESS_LOG (self));

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
      cloche_egress_log_clear (self);
      cloche_egress_log_notify_all_cb (self);
      return;
    }
  g_signal_connect_object (proxy, "decision", G_CALLBACK (cloche_egress_log_decision_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (proxy, "g-properties-changed",
                           G_CALLBACK (cloche_egress_log_notify_all_cb), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (proxy, "notify::g-name-owner", G_CALLBACK (cloche_egress_log_reload_cb),
                           self,
                           G_CONNECT_SWAPPED);
  cloche_egress_log_reload_cb (self);
}

static void
cloche_egress_log_dispose (GObject *object)
{
  ClocheEgressLog *self = CLOCHE_EGRESS_LOG (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->proxy != NULL)
    g_signal_handlers_disconnect_by_data (self->proxy, self);
  g_clear_object (&self->proxy);
  g_clear_object (&self->decisions);
  g_clear_object (&self->sessions);
  g_clear_pointer (&self->by_id, g_hash_table_unref);

  G_OBJECT_CLASS (cloche_egress_log_parent_class)->dispose (object);
}

static void
cloche_egress_log_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  ClocheEgressLog *self = CLOCHE_EGRESS_LOG (object);

  switch (prop_id)
    {
    case PROP_RULES:
      g_value_set_boxed (value, cloche_egress_log_get_rules (self));
      break;
    case PROP_DEFAULT_RULE:
      g_value_set_string (value, cloche_egress_log_get_default_rule (self));
      break;
    case PROP_AVAILABLE:
      g_value_set_boolean (value, cloche_egress_log_get_available (self));
      break;
    case PROP_SESSION_ALLOW:
      g_value_set_variant (value, cloche_egress_log_get_session_allow (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_egress_log_class_init (ClocheEgressLogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = cloche_egress_log_dispose;
  object_class->get_property = cloche_egress_log_get_property;

  properties[PROP_RULES] = g_param_spec_boxed ("rules", NULL, NULL, G_TYPE_STRV, flags);
  properties[PROP_DEFAULT_RULE] = g_param_spec_string ("default-rule", NULL, NULL, NULL, flags);
  properties[PROP_AVAILABLE] = g_param_spec_boolean ("available", NULL, NULL, FALSE, flags);
  properties[PROP_SESSION_ALLOW] = g_param_spec_variant ("session-allow", NULL, NULL,
                                                         G_VARIANT_TYPE ("a{sas}"), NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cloche_egress_log_init (ClocheEgressLog *self)
{
  self->cancellable = g_cancellable_new ();
  self->decisions = g_list_store_new (CLOCHE_TYPE_EGRESS_ITEM);
  self->by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->sessions = gtk_string_list_new (NULL);
}

/**
 * cloche_egress_log_new:
 *
 * Returns: (transfer full): an empty log; it fills once given a client
 */
ClocheEgressLog *
cloche_egress_log_new (void)
{
  return g_object_new (CLOCHE_TYPE_EGRESS_LOG, NULL);
}

/**
 * cloche_egress_log_get_decisions:
 *
 * Returns: (transfer none): ClocheEgressItems, newest first
 */
GListModel *
cloche_egress_log_get_decisions (ClocheEgressLog *self)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_LOG (self), NULL);

  return G_LIST_MODEL (self->decisions);
}

/**
 * cloche_egress_log_get_sessions:
 *
 * Returns: (transfer none): the sessions that asked for something, as
 *   first seen; "" stands for requests that named none
 */
GtkStringList *
cloche_egress_log_get_sessions (ClocheEgressLog *self)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_LOG (self), NULL);

  return self->sessions;
}

/**
 * cloche_egress_log_get_rules:
 *
 * Returns: (nullable): the rules in force, deny rules first; %NULL while
 *   the daemon is not there
 */
const char * const *
cloche_egress_log_get_rules (ClocheEgressLog *self)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_LOG (self), NULL);

  if (!cloche_egress_log_get_available (self))
    return NULL;
  return cloche_dbus_egress_get_rules (self->proxy);
}

/**
 * cloche_egress_log_get_default_rule:
 *
 * Returns: (nullable): "allow" or "deny"; %NULL while the daemon is not there
 */
const char *
cloche_egress_log_get_default_rule (ClocheEgressLog *self)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_LOG (self), NULL);

  if (!cloche_egress_log_get_available (self))
    return NULL;
  return cloche_dbus_egress_get_default_rule (self->proxy);
}

gboolean
cloche_egress_log_get_available (ClocheEgressLog *self)
{
  g_autofree char *owner = NULL;

  g_return_val_if_fail (CLOCHE_IS_EGRESS_LOG (self), FALSE);

  if (self->proxy == NULL)
    return FALSE;
  owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (self->proxy));
  return owner != NULL && cloche_dbus_egress_get_default_rule (self->proxy) != NULL;
}

/**
 * cloche_egress_log_get_session_allow:
 *
 * Returns: (transfer none) (nullable): session → the hosts it adds to the
 *   rules for itself (a{sas}); %NULL while the daemon is not there
 */
GVariant *
cloche_egress_log_get_session_allow (ClocheEgressLog *self)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_LOG (self), NULL);

  if (self->proxy == NULL)
    return NULL;
  return cloche_dbus_egress_get_session_allow (self->proxy);
}
