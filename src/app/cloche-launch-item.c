/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One thing agent mode can run in its terminal, as a row of the chooser
 * (cloche-agent-mode-dialog.c): a title, a line saying what it is, and the
 * command (none: the session user's login shell). An item that "takes a
 * command" runs what the user types instead. The chooser lists a
 * GListModel of these, so that more (agent profiles) are rows appended to
 * the list, with no change to the chooser.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-launch-item.h"

struct _ClocheLaunchItem
{
  GObject   parent_instance;
  char     *title;
  char     *subtitle;
  GStrv     argv;
  gboolean  takes_command;
};

G_DEFINE_FINAL_TYPE (ClocheLaunchItem, cloche_launch_item, G_TYPE_OBJECT)

static void
cloche_launch_item_finalize (GObject *object)
{
  ClocheLaunchItem *self = CLOCHE_LAUNCH_ITEM (object);

  g_free (self->title);
  g_free (self->subtitle);
  g_strfreev (self->argv);
  G_OBJECT_CLASS (cloche_launch_item_parent_class)->finalize (object);
}

static void
cloche_launch_item_class_init (ClocheLaunchItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_launch_item_finalize;
}

static void
cloche_launch_item_init (ClocheLaunchItem *self)
{
}

/**
 * cloche_launch_item_new:
 * @argv: (nullable): the command; %NULL or empty for the login shell
 */
ClocheLaunchItem *
cloche_launch_item_new (const char         *title,
                        const char         *subtitle,
                        const char * const *argv,
                        gboolean            takes_command)
{
  ClocheLaunchItem *self = g_object_new (CLOCHE_TYPE_LAUNCH_ITEM, NULL);

  self->title = g_strdup (title);
  self->subtitle = g_strdup (subtitle);
  self->argv = argv != NULL && argv[0] != NULL ? g_strdupv ((char **) argv) : NULL;
  self->takes_command = takes_command;
  return self;
}

const char *
cloche_launch_item_get_title (ClocheLaunchItem *self)
{
  g_return_val_if_fail (CLOCHE_IS_LAUNCH_ITEM (self), NULL);
  return self->title;
}

const char *
cloche_launch_item_get_subtitle (ClocheLaunchItem *self)
{
  g_return_val_if_fail (CLOCHE_IS_LAUNCH_ITEM (self), NULL);
  return self->subtitle;
}

/**
 * cloche_launch_item_get_argv:
 *
 * Returns: (nullable): the command, or %NULL for the login shell
 */
const char * const *
cloche_launch_item_get_argv (ClocheLaunchItem *self)
{
  g_return_val_if_fail (CLOCHE_IS_LAUNCH_ITEM (self), NULL);
  return (const char * const *) self->argv;
}

gboolean
cloche_launch_item_takes_command (ClocheLaunchItem *self)
{
  g_return_val_if_fail (CLOCHE_IS_LAUNCH_ITEM (self), FALSE);
  return self->takes_command;
}

/**
 * cloche_launch_item_list_default:
 *
 * Returns: (transfer full): what agent mode can always run: a shell, or a
 *   command the user types
 */
GListStore *
cloche_launch_item_list_default (void)
{
  GListStore *list = g_list_store_new (CLOCHE_TYPE_LAUNCH_ITEM);
  g_autoptr(ClocheLaunchItem) shell = NULL, command = NULL;

  shell = cloche_launch_item_new (_("Shell"),
                                  _("The session user's login shell, in the session's folder"),
                                  NULL, FALSE);
  command = cloche_launch_item_new (_("Command"),
                                    _("A command line you type below, run as in a shell's "
                                      "words (quotes group, no pipes)"), NULL, TRUE);
  g_list_store_append (list, shell);
  g_list_store_append (list, command);
  return list;
}
