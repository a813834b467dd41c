/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A terminal of a session: a VTE terminal running `clochectl shell ID`,
 * which opens the terminal in the guest (io.github.cloche.Sessions.
 * OpenTerminal), holds its stream, and passes on the window size VTE gives
 * its PTY (SIGWINCH, ResizeTerminal). So the app has one way into a
 * session's terminal, the one tests/test-clochectl-shell.sh holds, and the
 * bytes never pass through the app's main loop. Shown in the main window's
 * Terminals page (cloche-terminals-page.c) and in a window of its own
 * (cloche-terminal-window.c).
 *
 * Before the shell is there the terminal says what it is waiting for (the
 * VM may have to boot, seconds under KVM, much longer without); when it
 * ends it says how. Keyboard: Ctrl+Shift+C / Ctrl+Shift+V copy and paste,
 * Ctrl++ / Ctrl+− / Ctrl+0 zoom; a new terminal (Ctrl+Shift+T) is its
 * container's.
 *
 * Going away (the tab or window closed) never ends what runs: clochectl
 * goes (VTE hangs up its PTY), the terminal in the guest stays, detached,
 * and keeps what it prints (bounded); docs/ARCHITECTURE.md, "Terminals".
 * Started with @attach, a view takes such a terminal of its session again
 * (`clochectl shell --attach`, the newest one no client holds), or opens
 * a new one if there is none.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <sys/wait.h>
#include <vte/vte.h>

#include "cloche-terminal-view.h"

#define ZOOM_STEP 1.1
#define ZOOM_MIN  0.5
#define ZOOM_MAX  3.0

struct _ClocheTerminalView
{
  AdwBin        parent_instance;
  VteTerminal  *terminal;
  char         *session_id;  /* NULL while its session is being opened */
  GStrv         command;     /* NULL: the login shell */
  GCancellable *cancellable;
  gboolean      ended;       /* clochectl could not start, or has ended */
};

G_DEFINE_FINAL_TYPE (ClocheTerminalView, cloche_terminal_view, ADW_TYPE_BIN)

/* Where clochectl is: beside the app once installed; CLOCHE_CTL for a
 * build tree (the tests). */
static const char *
clochectl_path (void)
{
  const char *path = g_getenv ("CLOCHE_CTL");

  return path != NULL && path[0] != '\0' ? path : BINDIR "/clochectl";
}

static void
say (ClocheTerminalView *self,
     const char           *text)
{
  g_autofree char *line = g_strdup_printf ("\033[2m%s\033[0m\r\n", text);

  vte_terminal_feed (self->terminal, line, -1);
}

static void
cloche_terminal_view_spawned_cb (VteTerminal *terminal,
                                 GPid         pid,
                                 GError      *error,
                                 gpointer     user_data)
{
  ClocheTerminalView *self = user_data;
  g_autofree char *text = NULL;

  if (error == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->ended = TRUE;
  text = g_strdup_printf (_("Cannot start the terminal (%s): %s"), clochectl_path (),
                          error->message);
  say (self, text);
}

/* clochectl shell ID, shell --attach @terminal, or run ID -- COMMAND. */
static GStrv
clochectl_argv (ClocheTerminalView *self,
                const char         *terminal)
{
  g_autoptr(GStrvBuilder) argv = g_strv_builder_new ();

  g_strv_builder_add (argv, clochectl_path ());
  if (terminal != NULL)
    g_strv_builder_add_many (argv, "shell", "--attach", terminal, NULL);
  else if (self->command != NULL)
    {
      g_strv_builder_add_many (argv, "run", self->session_id, "--", NULL);
      g_strv_builder_addv (argv, (const char **) self->command);
    }
  else
    g_strv_builder_add_many (argv, "shell", self->session_id, NULL);
  return g_strv_builder_end (argv);
}

static void
spawn (ClocheTerminalView *self,
       const char         *terminal)
{
  g_auto(GStrv) argv = clochectl_argv (self, terminal);
  g_autofree char *text = NULL;

  if (terminal != NULL)
    text = g_strdup_printf (_("Back in terminal %s of session %s; what it printed "
                              "meanwhile follows."), terminal, self->session_id);
  else
    text = g_strdup_printf (_("Opening a terminal in session %s. If the sandbox VM is not "
                              "running it starts first: seconds with KVM, a minute or more "
                              "without…"), self->session_id);
  say (self, text);
  vte_terminal_spawn_async (self->terminal, VTE_PTY_DEFAULT, NULL, argv, NULL,
                            G_SPAWN_DEFAULT, NULL, NULL, NULL, -1, self->cancellable,
                            cloche_terminal_view_spawned_cb, self);
}

/* The newest terminal of the session that no client holds, or NULL. */
static const char *
pick_detached (GVariant *terminals)
{
  const char *picked = NULL;
  gsize count = g_variant_n_children (terminals);

  for (gsize i = 0; i < count; i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (terminals, i);
      const char *terminal;
      gboolean attached = TRUE;

      if (g_variant_lookup (entry, "terminal", "&s", &terminal)
          && g_variant_lookup (entry, "attached", "b", &attached) && !attached)
        picked = terminal;
    }
  return picked;
}

static void
cloche_terminal_view_listed_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  ClocheTerminalView *self = user_data;
  g_autoptr(GVariant) terminals = NULL;
  g_autoptr(GError) error = NULL;

  if (!cloche_dbus_sessions_call_list_terminals_finish (CLOCHE_DBUS_SESSIONS (object),
                                                        &terminals, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      /* An older daemon, or none yet: a new terminal says what is wrong. */
      g_debug ("ListTerminals: %s", error->message);
    }
  spawn (self, terminals != NULL ? pick_detached (terminals) : NULL);
}

/**
 * cloche_terminal_view_start:
 * @client: (nullable): the app's client, to find a detached terminal
 * @attach: take the session's terminal that no client holds, if any
 *
 * Starts the view's terminal: a new one, or one whose window was closed.
 */
void
cloche_terminal_view_start (ClocheTerminalView *self,
                            ClocheClient       *client,
                            gboolean            attach)
{
  ClocheDbusSessions *sessions = client != NULL ? cloche_client_get_sessions (client) : NULL;

  g_return_if_fail (CLOCHE_IS_TERMINAL_VIEW (self));
  g_return_if_fail (self->session_id != NULL);

  if (!attach || sessions == NULL)
    {
      spawn (self, NULL);
      return;
    }
  cloche_dbus_sessions_call_list_terminals (sessions, self->session_id, self->cancellable,
                                            cloche_terminal_view_listed_cb, self);
}

static void
cloche_terminal_view_child_exited_cb (ClocheTerminalView *self,
                                      int                   status)
{
  g_autofree char *text = NULL;

  self->ended = TRUE;
  if (WIFEXITED (status))
    text = g_strdup_printf (_("The terminal ended with status %d. Ctrl+Shift+T opens a new "
                              "one in this session."), WEXITSTATUS (status));
  else
    text = g_strdup (_("The terminal ended. Ctrl+Shift+T opens a new one in this session."));
  vte_terminal_feed (self->terminal, "\r\n", -1);
  say (self, text);
}

static void
zoom (ClocheTerminalView *self,
      double                factor)
{
  double scale = factor == 0 ? 1.0 : vte_terminal_get_font_scale (self->terminal) * factor;

  vte_terminal_set_font_scale (self->terminal, CLAMP (scale, ZOOM_MIN, ZOOM_MAX));
}

static void
view_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  ClocheTerminalView *self = CLOCHE_TERMINAL_VIEW (widget);

  if (g_str_equal (action_name, "terminal.copy"))
    vte_terminal_copy_clipboard_format (self->terminal, VTE_FORMAT_TEXT);
  else if (g_str_equal (action_name, "terminal.paste"))
    vte_terminal_paste_clipboard (self->terminal);
  else if (g_str_equal (action_name, "terminal.zoom-in"))
    zoom (self, ZOOM_STEP);
  else if (g_str_equal (action_name, "terminal.zoom-out"))
    zoom (self, 1 / ZOOM_STEP);
  else if (g_str_equal (action_name, "terminal.zoom-reset"))
    zoom (self, 0);
}

static void
install_actions (GtkWidgetClass *widget_class)
{
  static const struct
  {
    const char     *name;
    guint           key;
    GdkModifierType modifiers;
  } actions[] = {
    { "terminal.copy", GDK_KEY_c, GDK_CONTROL_MASK | GDK_SHIFT_MASK },
    { "terminal.paste", GDK_KEY_v, GDK_CONTROL_MASK | GDK_SHIFT_MASK },
    { "terminal.zoom-in", GDK_KEY_plus, GDK_CONTROL_MASK },
    { "terminal.zoom-in", GDK_KEY_equal, GDK_CONTROL_MASK },
    { "terminal.zoom-out", GDK_KEY_minus, GDK_CONTROL_MASK },
    { "terminal.zoom-reset", GDK_KEY_0, GDK_CONTROL_MASK },
  };

  for (guint i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      if (i == 0 || !g_str_equal (actions[i].name, actions[i - 1].name))
        gtk_widget_class_install_action (widget_class, actions[i].name, NULL, view_action);
      gtk_widget_class_add_binding_action (widget_class, actions[i].key, actions[i].modifiers,
                                           actions[i].name, NULL);
    }
}

static void
cloche_terminal_view_dispose (GObject *object)
{
  ClocheTerminalView *self = CLOCHE_TERMINAL_VIEW (object);

  g_cancellable_cancel (self->cancellable);
  /* VTE says its child exited as it goes: nothing to tell any more. */
  if (self->terminal != NULL)
    g_signal_handlers_disconnect_by_data (self->terminal, self);
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), CLOCHE_TYPE_TERMINAL_VIEW);
  G_OBJECT_CLASS (cloche_terminal_view_parent_class)->dispose (object);
}

static void
cloche_terminal_view_finalize (GObject *object)
{
  ClocheTerminalView *self = CLOCHE_TERMINAL_VIEW (object);

  g_clear_object (&self->cancellable);
  g_free (self->session_id);
  g_strfreev (self->command);
  G_OBJECT_CLASS (cloche_terminal_view_parent_class)->finalize (object);
}

static gboolean
cloche_terminal_view_grab_focus (GtkWidget *widget)
{
  return gtk_widget_grab_focus (GTK_WIDGET (CLOCHE_TERMINAL_VIEW (widget)->terminal));
}

static void
cloche_terminal_view_class_init (ClocheTerminalViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_terminal_view_dispose;
  object_class->finalize = cloche_terminal_view_finalize;
  widget_class->grab_focus = cloche_terminal_view_grab_focus;

  g_type_ensure (VTE_TYPE_TERMINAL);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-terminal-view.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheTerminalView, terminal);
  gtk_widget_class_bind_template_callback (widget_class, cloche_terminal_view_child_exited_cb);
  install_actions (widget_class);
}

static void
cloche_terminal_view_init (ClocheTerminalView *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * cloche_terminal_view_set_session_id:
 *
 * Gives a view made while its session was being opened its session.
 */
void
cloche_terminal_view_set_session_id (ClocheTerminalView *self,
                                     const char         *session_id)
{
  g_autofree char *label = NULL;

  g_return_if_fail (CLOCHE_IS_TERMINAL_VIEW (self));
  g_return_if_fail (session_id != NULL);

  g_free (self->session_id);
  self->session_id = g_strdup (session_id);
  /* Translators: the accessible name of a terminal, with its session's id */
  label = g_strdup_printf (_("Terminal in session %s"), session_id);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->terminal),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

/**
 * cloche_terminal_view_set_command:
 * @argv: (nullable): what to run; %NULL or empty for the login shell
 *
 * What a new terminal of this view runs (before cloche_terminal_view_start()).
 */
void
cloche_terminal_view_set_command (ClocheTerminalView *self,
                                  const char * const *argv)
{
  g_return_if_fail (CLOCHE_IS_TERMINAL_VIEW (self));

  g_strfreev (self->command);
  self->command = argv != NULL && argv[0] != NULL ? g_strdupv ((char **) argv) : NULL;
}

/**
 * cloche_terminal_view_say:
 * @ended: nothing will run here (it could not start)
 *
 * Writes @text in the terminal, dimmed: what the terminal waits for, or
 * why it could not start.
 */
void
cloche_terminal_view_say (ClocheTerminalView *self,
                          const char         *text,
                          gboolean            ended)
{
  g_return_if_fail (CLOCHE_IS_TERMINAL_VIEW (self));

  say (self, text);
  self->ended = self->ended || ended;
}

/**
 * cloche_terminal_view_new:
 * @session_id: (nullable): its session, or %NULL while it is being opened
 *   (cloche_terminal_view_set_session_id() later)
 *
 * Returns: (transfer floating): a terminal view, not started yet
 *   (cloche_terminal_view_start())
 */
ClocheTerminalView *
cloche_terminal_view_new (const char *session_id)
{
  ClocheTerminalView *self = g_object_new (CLOCHE_TYPE_TERMINAL_VIEW, NULL);

  if (session_id != NULL)
    cloche_terminal_view_set_session_id (self, session_id);
  else
    gtk_accessible_update_property (GTK_ACCESSIBLE (self->terminal),
                                    GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    _("Terminal of agent mode, starting"), -1);
  return self;
}

const char *
cloche_terminal_view_get_session_id (ClocheTerminalView *self)
{
  g_return_val_if_fail (CLOCHE_IS_TERMINAL_VIEW (self), NULL);
  return self->session_id;
}

/**
 * cloche_terminal_view_is_running:
 *
 * Returns: whether its terminal is there (starting, or running), not ended
 */
gboolean
cloche_terminal_view_is_running (ClocheTerminalView *self)
{
  g_return_val_if_fail (CLOCHE_IS_TERMINAL_VIEW (self), FALSE);
  return !self->ended;
}
