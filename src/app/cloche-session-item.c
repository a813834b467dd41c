/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One session in the Sessions page's models: its struct as listed
 * (CLOCHE_SESSION_INFO_TYPE), a slice of the list's one block of memory.
 * Rows read it when they are bound, so 10,000 sessions make 10,000 small
 * objects and only the rows on screen.
 */
#include "config.h"

#include "cloche-session-codec.h"
#include "cloche-session-item.h"

struct _ClocheSessionItem
{
  GObject   parent_instance;
  GVariant *info;
  gint64    last_active;
};

G_DEFINE_FINAL_TYPE (ClocheSessionItem, cloche_session_item, G_TYPE_OBJECT)

static void
cloche_session_item_finalize (GObject *object)
{
  g_clear_pointer (&CLOCHE_SESSION_ITEM (object)->info, g_variant_unref);

  G_OBJECT_CLASS (cloche_session_item_parent_class)->finalize (object);
}

static void
cloche_session_item_class_init (ClocheSessionItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_session_item_finalize;
}

static void
cloche_session_item_init (ClocheSessionItem *self)
{
}

/* @info: CLOCHE_SESSION_INFO_TYPE */
ClocheSessionItem *
cloche_session_item_new (GVariant *info)
{
  ClocheSessionItem *self;

  g_return_val_if_fail (g_variant_is_of_type (info, G_VARIANT_TYPE (CLOCHE_SESSION_INFO_TYPE)),
                        NULL);

  self = g_object_new (CLOCHE_TYPE_SESSION_ITEM, NULL);
  self->info = g_variant_ref_sink (info);
  g_variant_get_child (info, 4, "x", &self->last_active);
  return self;
}

GVariant *
cloche_session_item_get_info (ClocheSessionItem *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION_ITEM (self), NULL);
  return self->info;
}

gint64
cloche_session_item_get_last_active (ClocheSessionItem *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION_ITEM (self), 0);
  return self->last_active;
}
