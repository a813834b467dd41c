/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Agent mode, opened from the app: the one entry point the Overview's
 * primary action and the Sessions page's "open with a folder" call, and
 * where what agent mode does besides opening a session (a terminal, what
 * to run in it) goes, so that no page grows a second way to open it.
 *
 * Each open is a new session (the daemon closes the app's sessions when
 * the app leaves, and a closed session is not opened again): its title
 * says when it was opened, so the Sessions page does not fill with
 * identical "Agent mode" rows that nobody can tell apart.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-agent-mode.h"

/**
 * cloche_agent_mode_title:
 * @when: when agent mode is opened, in the user's time zone
 *
 * Returns: (transfer full): the title of the session agent mode opens
 */
char *
cloche_agent_mode_title (GDateTime *when)
{
  /* Translators: a date and time in g_date_time_format()'s notation, as
   * short as still tells two sessions of one day apart */
  g_autofree char *time = g_date_time_format (when, _("%b %-d, %H:%M:%S"));

  /* Translators: the title of a session opened as agent mode, with when */
  return g_strdup_printf (_("Agent mode, %s"), time);
}

/**
 * cloche_agent_mode_open_async:
 * @folder: (nullable): a host folder for the agent, mounted in the session
 * @readonly: whether the agent may only read @folder
 *
 * Opens agent mode: a session owned by the app (it closes when the app
 * quits), booting the VM when it is not running; completes once commands
 * can run in it.
 */
void
cloche_agent_mode_open_async (ClocheClient        *client,
                              const char          *folder,
                              gboolean             readonly,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GVariantBuilder mounts;

  g_return_if_fail (CLOCHE_IS_CLIENT (client));

  g_variant_builder_init (&mounts, G_VARIANT_TYPE ("a(sb)"));
  if (folder != NULL)
    g_variant_builder_add (&mounts, "(sb)", folder, readonly);
  cloche_agent_mode_open_folders_async (client, g_variant_builder_end (&mounts), NULL,
                                        cancellable, callback, user_data);
}

/**
 * cloche_agent_mode_open_folders_async:
 * @mounts: a(sb), each a host folder and whether the agent may only read
 *   it (floating references are sunk)
 * @hosts: (nullable): what the session adds to the egress rules (the
 *   agent profile's hosts, ClocheLaunchItem)
 *
 * Opens agent mode with several folders (the chooser's,
 * cloche-agent-mode-dialog.c); finish with cloche_agent_mode_open_finish().
 */
void
cloche_agent_mode_open_folders_async (ClocheClient        *client,
                                      GVariant            *mounts,
                                      const char * const  *hosts,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *title = cloche_agent_mode_title (now);

  g_return_if_fail (CLOCHE_IS_CLIENT (client));
  g_return_if_fail (g_variant_is_of_type (mounts, G_VARIANT_TYPE ("a(sb)")));

  cloche_client_open_session_async (client, title, mounts, hosts, cancellable, callback,
                                    user_data);
}

/**
 * cloche_agent_mode_open_finish:
 *
 * Returns: (transfer full): the id of agent mode's session, or %NULL
 */
char *
cloche_agent_mode_open_finish (ClocheClient  *client,
                               GAsyncResult  *result,
                               GError       **error)
{
  return cloche_client_open_session_finish (client, result, error);
}
