/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One agent task. For now a session lives as long as the daemon; its folder
 * in the guest is /sessions/<id>, where commands run unless told otherwise.
 */
#include "config.h"

#include "cloche-session.h"

struct _ClocheSession
{
  GObject  parent_instance;
  char    *id;
  char    *title;
  char    *client;
  gint64   created;
};

G_DEFINE_FINAL_TYPE (ClocheSession, cloche_session, G_TYPE_OBJECT)

/* Twelve hex digits: short enough to type, and safe in a path and a shell. */
static char *
make_id (void)
{
  return g_strdup_printf ("%06x%06x", g_random_int () & 0xffffff, g_random_int () & 0xffffff);
}

ClocheSession *
cloche_session_new (const char *title,
                    const char *client)
{
  ClocheSession *self = g_object_new (CLOCHE_TYPE_SESSION, NULL);

  self->id = make_id ();
  self->title = g_strdup (title != NULL ? title : "");
  self->client = g_strdup (client != NULL ? client : "");
  self->created = g_get_real_time ();
  return self;
}

const char *
cloche_session_get_id (ClocheSession *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), NULL);
  return self->id;
}

const char *
cloche_session_get_title (ClocheSession *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), NULL);
  return self->title;
}

const char *
cloche_session_get_client (ClocheSession *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), NULL);
  return self->client;
}

gint64
cloche_session_get_created (ClocheSession *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), 0);
  return self->created;
}

char *
cloche_session_dup_guest_dir (ClocheSession *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), NULL);
  return g_strdup_printf ("/sessions/%s", self->id);
}

static void
cloche_session_finalize (GObject *object)
{
  ClocheSession *self = CLOCHE_SESSION (object);

  g_free (self->id);
  g_free (self->title);
  g_free (self->client);

  G_OBJECT_CLASS (cloche_session_parent_class)->finalize (object);
}

static void
cloche_session_class_init (ClocheSessionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_session_finalize;
}

static void
cloche_session_init (ClocheSession *self)
{
}
