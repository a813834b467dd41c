/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One thing agent mode can run in its terminal, as a row of the chooser
 * (cloche-agent-mode-dialog.c): a title, a line saying what it is, and the
 * command (none: the session user's login shell). An item that "takes a
 * command" runs what the user types instead. The chooser lists a
 * GListModel of these, so that more are rows appended to the list, with
 * no change to the chooser.
 *
 * An agent's item is its profile (ClocheAgentProfile, read by libcloche:
 * built in, or the user's $XDG_CONFIG_HOME/cloche/agents/NAME.json), and
 * keeps only what the app needs of it: its name (the terminal runs
 * `clochectl agent NAME --session ID`, which reads the profile again for
 * the command, the folder and the variables), and its hosts (the session
 * is opened with them, Sessions.Open's "egress-allow"). An item that
 * cannot be used says why in its subtitle and is "unavailable": a profile
 * with hosts while the administrator locks egress.allow (the daemon would
 * refuse the open), or a profile file that is not one. An agent whose
 * command is not in the tools folder (cloche_tools_has_command(), what
 * `clochectl agent list` says too) stays available, and its subtitle
 * begins with the command that installs it: opening it anyway gives the
 * terminal's own 127 message, which names that command as well.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-agent-profile.h"
#include "cloche-launch-item.h"
#include "cloche-tools.h"

struct _ClocheLaunchItem
{
  GObject   parent_instance;
  char     *title;
  char     *subtitle;
  GStrv     argv;
  gboolean  takes_command;
  char     *agent;         /* the profile's name; NULL: not an agent */
  GStrv     hosts;         /* what the agent's session adds to egress */
  char     *unavailable;   /* why it cannot be chosen; NULL: it can */
};

G_DEFINE_FINAL_TYPE (ClocheLaunchItem, cloche_launch_item, G_TYPE_OBJECT)

static void
cloche_launch_item_finalize (GObject *object)
{
  ClocheLaunchItem *self = CLOCHE_LAUNCH_ITEM (object);

  g_free (self->title);
  g_free (self->subtitle);
  g_strfreev (self->argv);
  g_free (self->agent);
  g_strfreev (self->hosts);
  g_free (self->unavailable);
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
 * cloche_launch_item_get_agent:
 *
 * Returns: (nullable): the agent profile's name, or %NULL
 */
const char *
cloche_launch_item_get_agent (ClocheLaunchItem *self)
{
  g_return_val_if_fail (CLOCHE_IS_LAUNCH_ITEM (self), NULL);
  return self->agent;
}

/**
 * cloche_launch_item_get_hosts:
 *
 * Returns: (nullable): the hosts the agent's session adds to the egress
 *   rules, or %NULL for none
 */
const char * const *
cloche_launch_item_get_hosts (ClocheLaunchItem *self)
{
  g_return_val_if_fail (CLOCHE_IS_LAUNCH_ITEM (self), NULL);
  return (const char * const *) self->hosts;
}

/**
 * cloche_launch_item_get_unavailable:
 *
 * Returns: (nullable): why the item cannot be chosen, or %NULL
 */
const char *
cloche_launch_item_get_unavailable (ClocheLaunchItem *self)
{
  g_return_val_if_fail (CLOCHE_IS_LAUNCH_ITEM (self), NULL);
  return self->unavailable;
}

/* The row says what runs and where its package comes from. */
static char *
cloche_launch_item_agent_what (ClocheAgentProfile *profile)
{
  const char *package = cloche_agent_profile_get_package (profile);
  g_autofree char *command = g_strjoinv (" ", (GStrv) cloche_agent_profile_get_command (profile));
  g_autofree char *hosts = g_strjoinv (", ", (GStrv) cloche_agent_profile_get_hosts (profile));
  g_autofree char *what = NULL;

  if (package != NULL)
    /* Translators: an agent's row in agent mode's chooser: its command and npm package */
    what = g_strdup_printf (_("Runs “%s” (npm %s)"), command, package);
  else
    what = g_strdup_printf (_("Runs “%s”"), command);
  if (hosts[0] == '\0')
    return g_steal_pointer (&what);
  /* Translators: the hosts an agent's session may reach besides the policy's */
  return g_strdup_printf (_("%s; its session may also reach %s"), what, hosts);
}

/* ... and, first, that it is not installed and how to install it, when
 * Cloche installs it (a profile with a package) and the tools folder has
 * no such command. */
static char *
cloche_launch_item_agent_subtitle (ClocheAgentProfile *profile)
{
  const char *description = cloche_agent_profile_get_description (profile);
  g_autofree char *what = cloche_launch_item_agent_what (profile);
  g_autofree char *about = description != NULL ? g_strdup_printf ("%s. %s", description, what)
                                                : g_steal_pointer (&what);

  if (cloche_agent_profile_get_package (profile) == NULL
      || cloche_tools_has_command (cloche_agent_profile_get_command (profile)[0]))
    return g_steal_pointer (&about);
  /* Translators: the first line of the row of an agent that is not
   * installed in the sandbox yet; %s is the agent's name in the command
   * that installs it, the second %s what the row says otherwise */
  return g_strdup_printf (_("Not installed — clochectl agent install %s\n%s"),
                          cloche_agent_profile_get_name (profile), about);
}

/**
 * cloche_launch_item_new_agent:
 * @locked: (nullable): the policy keys the administrator locks (the Policy
 *   service's Locked); "egress.allow" among them makes an agent with
 *   hosts unavailable
 *
 * Returns: (transfer full): the chooser's row for @profile
 */
ClocheLaunchItem *
cloche_launch_item_new_agent (ClocheAgentProfile *profile,
                              const char * const *locked)
{
  const char * const *hosts = cloche_agent_profile_get_hosts (profile);
  g_autofree char *subtitle = cloche_launch_item_agent_subtitle (profile);
  ClocheLaunchItem *self;

  g_return_val_if_fail (CLOCHE_IS_AGENT_PROFILE (profile), NULL);

  self = cloche_launch_item_new (cloche_agent_profile_get_name (profile), subtitle,
                                 cloche_agent_profile_get_command (profile), FALSE);
  self->agent = g_strdup (cloche_agent_profile_get_name (profile));
  self->hosts = hosts[0] != NULL ? g_strdupv ((GStrv) hosts) : NULL;
  if (self->hosts != NULL && locked != NULL && g_strv_contains (locked, "egress.allow"))
    {
      g_autofree char *list = g_strjoinv (", ", self->hosts);

      /* The same lock cloche_policy_allows_session_egress() applies. */
      self->unavailable = g_strdup_printf (_("Not available: the administrator locks egress, so "
                                             "its session cannot reach %s. Ask the administrator "
                                             "to allow these hosts in the policy."), list);
    }
  return self;
}

/* A profile file that is not one: a row that says so, and cannot be chosen. */
static ClocheLaunchItem *
cloche_launch_item_broken_profile_new (const char *problem)
{
  ClocheLaunchItem *self;
  g_autofree char *why = NULL;

  /* Translators: a row of agent mode's chooser for a broken profile file;
   * %s says which file and what is wrong in it */
  why = g_strdup_printf (_("Not an agent profile: %s. Fix or remove the file."), problem);
  self = cloche_launch_item_new (_("Broken Agent Profile"), why, NULL, FALSE);
  self->unavailable = g_strdup (why);
  return self;
}

/**
 * cloche_launch_item_list_default:
 * @locked: (nullable): the policy keys the administrator locks
 *
 * Reads the user's agent profiles (a few small files in the user's own
 * config folder, read when agent mode is opened, so that a new one shows
 * up without a restart).
 *
 * Returns: (transfer full): what agent mode can run: a shell, a command
 *   the user types, and each agent profile (by name), then a row for each
 *   profile file that is not one
 */
GListStore *
cloche_launch_item_list_default (const char * const *locked)
{
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GPtrArray) profiles = cloche_agent_profile_list (NULL, &problems);
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
  for (guint i = 0; i < profiles->len; i++)
    {
      g_autoptr(ClocheLaunchItem) agent = cloche_launch_item_new_agent (profiles->pdata[i],
                                                                        locked);

      g_list_store_append (list, agent);
    }
  for (guint i = 0; i < problems->len; i++)
    {
      g_autoptr(ClocheLaunchItem) broken =
        cloche_launch_item_broken_profile_new (problems->pdata[i]);

      g_list_store_append (list, broken);
    }
  return list;
}
