/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One egress decision as the dashboard lists it: the a{sv} of
 * io.github.cloche.Egress, kept up to date by id (an allowed connection
 * comes again when it ends, with its bytes). "changed" tells a row to
 * redraw.
 */
#include "config.h"

#include "cloche-egress-item.h"

struct _ClocheEgressItem
{
  GObject   parent_instance;

  guint64   id;
  gint64    time;
  char     *session;
  char     *method;
  char     *host;
  guint16   port;
  gboolean  allowed;
  char     *rule;
  guint64   bytes_in;
  guint64   bytes_out;
  gboolean  ended;
  char     *error;
};

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClocheEgressItem, cloche_egress_item, G_TYPE_OBJECT)

static void
cloche_egress_item_take_string (char       **field,
                                GVariantDict *dict,
                                const char   *key)
{
  const char *value = NULL;

  g_variant_dict_lookup (dict, key, "&s", &value);
  g_free (*field);
  *field = g_strdup (value != NULL ? value : "");
}

/**
 * cloche_egress_item_update:
 * @decision: an a{sv} decision with the item's id; keys a newer daemon adds
 *   are ignored, missing ones keep their value
 */
void
cloche_egress_item_update (ClocheEgressItem *self,
                           GVariant         *decision)
{
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (decision);
  const char *error = NULL;

  g_return_if_fail (CLOCHE_IS_EGRESS_ITEM (self));

  g_variant_dict_lookup (&dict, "id", "t", &self->id);
  g_variant_dict_lookup (&dict, "time", "x", &self->time);
  cloche_egress_item_take_string (&self->session, &dict, "session");
  cloche_egress_item_take_string (&self->method, &dict, "method");
  cloche_egress_item_take_string (&self->host, &dict, "host");
  cloche_egress_item_take_string (&self->rule, &dict, "rule");
  g_variant_dict_lookup (&dict, "port", "q", &self->port);
  g_variant_dict_lookup (&dict, "allowed", "b", &self->allowed);
  g_variant_dict_lookup (&dict, "bytes-in", "t", &self->bytes_in);
  g_variant_dict_lookup (&dict, "bytes-out", "t", &self->bytes_out);
  g_variant_dict_lookup (&dict, "ended", "b", &self->ended);
  g_clear_pointer (&self->error, g_free);
  if (g_variant_dict_lookup (&dict, "error", "&s", &error))
    self->error = g_strdup (error);
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
cloche_egress_item_finalize (GObject *object)
{
  ClocheEgressItem *self = CLOCHE_EGRESS_ITEM (object);

  g_free (self->session);
  g_free (self->method);
  g_free (self->host);
  g_free (self->rule);
  g_free (self->error);

  G_OBJECT_CLASS (cloche_egress_item_parent_class)->finalize (object);
}

static void
cloche_egress_item_class_init (ClocheEgressItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_egress_item_finalize;

  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
cloche_egress_item_init (ClocheEgressItem *self)
{
}

ClocheEgressItem *
cloche_egress_item_new (GVariant *decision)
{
  ClocheEgressItem *self = g_object_new (CLOCHE_TYPE_EGRESS_ITEM, NULL);

  cloche_egress_item_update (self, decision);
  return self;
}

guint64
cloche_egress_item_get_id (ClocheEgressItem *self)
{
  return self->id;
}

gint64
cloche_egress_item_get_time (ClocheEgressItem *self)
{
  return self->time;
}

const char *
cloche_egress_item_get_session (ClocheEgressItem *self)
{
  return self->session;
}

const char *
cloche_egress_item_get_method (ClocheEgressItem *self)
{
  return self->method;
}

const char *
cloche_egress_item_get_host (ClocheEgressItem *self)
{
  return self->host;
}

guint
cloche_egress_item_get_port (ClocheEgressItem *self)
{
  return self->port;
}

gboolean
cloche_egress_item_get_allowed (ClocheEgressItem *self)
{
  return self->allowed;
}

const char *
cloche_egress_item_get_rule (ClocheEgressItem *self)
{
  return self->rule;
}

guint64
cloche_egress_item_get_bytes_in (ClocheEgressItem *self)
{
  return self->bytes_in;
}

guint64
cloche_egress_item_get_bytes_out (ClocheEgressItem *self)
{
  return self->bytes_out;
}

gboolean
cloche_egress_item_get_ended (ClocheEgressItem *self)
{
  return self->ended;
}

/**
 * cloche_egress_item_get_error:
 *
 * Returns: (nullable): why an allowed connection could not be made
 */
const char *
cloche_egress_item_get_error (ClocheEgressItem *self)
{
  return self->error;
}
