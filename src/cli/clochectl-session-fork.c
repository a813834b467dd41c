/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl session fork ID [--title T]: Sessions.Fork, with the copy's
 * progress (ForkProgress) on a terminal, and Ctrl-C asking CancelFork (the
 * daemon then removes the partial copy, and the call fails as cancelled).
 * The fork stays open when clochectl exits, as `session open`'s sessions.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib-unix.h>

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "clochectl.h"

typedef struct
{
  ClocheDbusSessions *sessions;
  GMainLoop          *loop;
  GAsyncResult       *result;
  ClochectlProgress   progress;
  char               *tag;
} Fork;

static void
clochectl_session_fork_progress_cb (Fork       *fork,
                                    const char *id,
                                    const char *tag,
                                    guint64     copied,
                                    guint64     total)
{
  g_autofree char *copied_text = NULL;
  g_autofree char *total_text = NULL;

  if (!g_str_equal (tag, fork->tag))
    return;
  copied_text = g_format_size (copied);
  total_text = g_format_size (total);
  clochectl_progress_show (&fork->progress, _("Copying the work folder of %s: %s of %s (%d%%)"),
                           id, copied_text, total_text, clochectl_percent (copied, total));
}

static gboolean
clochectl_session_fork_interrupt_cb (gpointer user_data)
{
  Fork *fork = user_data;

  g_printerr (_("\nclochectl: cancelling…\n"));
  cloche_dbus_sessions_call_cancel_fork (fork->sessions, fork->tag, NULL, NULL, NULL);
  return G_SOURCE_CONTINUE;
}

static void
clochectl_session_fork_done_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  Fork *fork = user_data;

  fork->result = g_object_ref (result);
  g_main_loop_quit (fork->loop);
}

static GVariant *
clochectl_session_fork_options (const char *tag)
{
  GVariantBuilder options;

  /* This process ends right away: the session must not end with it. */
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "keep-open", g_variant_new_boolean (TRUE));
  g_variant_builder_add (&options, "{sv}", "client", g_variant_new_string ("clochectl"));
  g_variant_builder_add (&options, "{sv}", "tag", g_variant_new_string (tag));
  return g_variant_builder_end (&options);
}

/* Runs the call to its end; the new id, or %NULL with @error set. */
static char *
clochectl_session_fork_run_fork (Fork        *fork,
                                 const char  *id,
                                 const char  *title,
                                 GError     **error)
{
  gulong handler = g_signal_connect_swapped (fork->sessions, "fork-progress",
                                             G_CALLBACK (clochectl_session_fork_progress_cb), fork);
  guint interrupt = g_unix_signal_add (SIGINT, clochectl_session_fork_interrupt_cb, fork);
  char *new_id = NULL;

  cloche_dbus_sessions_call_fork (fork->sessions, id, title,
                                  clochectl_session_fork_options (fork->tag), NULL,
                                  clochectl_session_fork_done_cb, fork);
  g_main_loop_run (fork->loop);
  g_source_remove (interrupt);
  g_signal_handler_disconnect (fork->sessions, handler);
  clochectl_progress_end (&fork->progress);
  cloche_dbus_sessions_call_fork_finish (fork->sessions, &new_id, fork->result, error);
  return new_id;
}

int
clochectl_session_fork (ClocheDbusDaemon    *daemon,
                        ClocheDbusSessions  *unused,
                        int                  argc,
                        char               **argv)
{
  g_autofree char *title = NULL;
  g_autofree char *new_id = NULL;
  g_autoptr(GError) error = NULL;
  GOptionEntry entries[] = {
    { "title", 0, 0, G_OPTION_ARG_STRING, &title,
      "A title for the new session (default: \"Fork of\" the source's)", "TITLE" },
    { NULL }
  };
  Fork fork = { 0 };

  if (!clochectl_parse_options (&argc, &argv, entries,
                                "ID - open a new session whose work folder is a copy of ID's"))
    return 2;
  if (argc != 2)
    return clochectl_usage ();
  fork.sessions = clochectl_sessions_proxy (daemon, CLOCHECTL_SESSIONS_SIGNALS, &error);
  if (fork.sessions == NULL)
    return clochectl_fail (_("cannot reach the Cloche service"), error);
  fork.loop = g_main_loop_new (NULL, FALSE);
  fork.tag = g_strdup_printf ("clochectl-fork-%d", (int) getpid ());
  clochectl_progress_init (&fork.progress);
  new_id = clochectl_session_fork_run_fork (&fork, argv[1], title != NULL ? title : "", &error);
  g_clear_object (&fork.result);
  g_main_loop_unref (fork.loop);
  g_object_unref (fork.sessions);
  g_free (fork.tag);
  if (new_id == NULL)
    return clochectl_fail (_("cannot fork the session"), error);
  g_print ("%s\n", new_id);
  return EXIT_SUCCESS;
}
