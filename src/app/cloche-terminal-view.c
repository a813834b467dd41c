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
 *
 * An agent's view runs `clochectl agent NAME --session ID`: the profile's
 * command, folder and variables (from the app's environment, which VTE
 * passes on) are clochectl's, and so are the words on an agent the sandbox
 * does not have (127: which npm package it takes).
 *
 * Its "title" is what a user knows: what runs (the agent, the command's
 * name, or a shell) and the session's title, kept up to date from
 * Sessions.Get on each Sessions.Changed; "tooltip" names the session's id.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <sys/wait.h>
#include <vte/vte.h>

#include "cloche-session-codec.h"
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
  char         *agent;       /* an agent profile's name: clochectl agent */
  char         *running;     /* what runs, for the title; NULL: a shell */
  char         *session_title;
  ClocheClient *client;
  GCancellable *cancellable;
  gboolean      ended;       /* clochectl could not start, or has ended */
};

G_DEFINE_FINAL_TYPE (ClocheTerminalView, cloche_terminal_view, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_TITLE,
  PROP_TOOLTIP,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Where clochectl is: beside the app once installed; CLOCHE_CTL for a
 * build tree (the tests). */
static const char *
cloche_terminal_view_clochectl_path (void)
{
  const char *path = g_getenv ("CLOCHE_CTL");

  return path != NULL && path[0] != '\0' ? path : BINDIR "/clochectl";
}

static void
cloche_terminal_view_say_internal (ClocheTerminalView *self,
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
  text =
    g_strdup_printf (_("Cannot start the terminal (%s): %s"),
                     cloche_terminal_view_clochectl_path (),
                     error->message);
  cloche_terminal_view_say_internal (self, text);
}

/* clochectl shell ID, shell --attach @terminal, or run ID -- COMMAND. */
static GStrv
cloche_terminal_view_clochectl_argv (ClocheTerminalView *self,
                                     const char         *terminal)
{
  g_autoptr(GStrvBuilder) argv = g_strv_builder_new ();

  g_strv_builder_add (argv, cloche_terminal_view_clochectl_path ());
  if (terminal != NULL)
    g_strv_builder_add_many (argv, "shell", "--attach", terminal, NULL);
  else if (self->agent != NULL)
    g_strv_builder_add_many (argv, "agent", self->agent, "--session", self->session_id, NULL);
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
cloche_terminal_view_spawn (ClocheTerminalView *self,
                            const char         *terminal)
{
  g_auto(GStrv) argv = cloche_terminal_view_clochectl_argv (self, terminal);
  g_autofree char *text = NULL;

  if (terminal != NULL)
    text = g_strdup_printf (_("Back in terminal %s of session %s; what it printed "
                              "meanwhile follows."), terminal, self->session_id);
  else
    text = g_strdup_printf (_("Opening a terminal in session %s. If the sandbox VM is not "
                              "running it starts first: seconds with KVM, a minute or more "
                              "without…"), self->session_id);
  cloche_terminal_view_say_internal (self, text);
  vte_terminal_spawn_async (self->terminal, VTE_PTY_DEFAULT, NULL, argv, NULL,
                            G_SPAWN_DEFAULT, NULL, NULL, NULL, -1, self->cancellable,
                            cloche_terminal_view_spawned_cb, self);
}

static void
cloche_terminal_view_set_running (ClocheTerminalView *self,
                                  const char         *program)
{
  g_free (self->running);
  self->running = program != NULL && program[0] != '\0' ? g_path_get_basename (program) : NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

/* The newest terminal of the session that no client holds, as
 * ListTerminals gives it, or NULL. */
static GVariant *
cloche_terminal_view_pick_detached (GVariant *terminals)
{
  GVariant *picked = NULL;
  gsize count = g_variant_n_children (terminals);

  for (gsize i = 0; i < count; i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (terminals, i);
      gboolean attached = TRUE;
      const char *terminal;

      if (g_variant_lookup (entry, "terminal", "&s", &terminal)
          && g_variant_lookup (entry, "attached", "b", &attached) && !attached)
        {
          g_clear_pointer (&picked, g_variant_unref);
          picked = g_steal_pointer (&entry);
        }
    }
  return picked;
}

static void
cloche_terminal_view_listed_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  ClocheTerminalView *self = user_data;
  g_autoptr(GVariant) terminals = NULL, picked = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree const char **command = NULL;
  const char *terminal = NULL;

  if (!cloche_dbus_sessions_call_list_terminals_finish (CLOCHE_DBUS_SESSIONS (object),
                                                        &terminals, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      /* An older daemon, or none yet: a new terminal says what is wrong. */
      g_debug ("ListTerminals: %s", error->message);
    }
  if (terminals != NULL && (picked = cloche_terminal_view_pick_detached (terminals)) != NULL)
    {
      g_variant_lookup (picked, "terminal", "&s", &terminal);
      cloche_terminal_view_set_running (self, g_variant_lookup (picked, "command", "^a&s", &command)
                         ? command[0] : NULL);
    }
  cloche_terminal_view_spawn (self, terminal);
}

/* The session's title, for ours. */
static void
cloche_terminal_view_got_session_cb (GObject      *object,
                                     GAsyncResult *result,
                                     gpointer      user_data)
{
  ClocheTerminalView *self = user_data;
  g_autoptr(GVariant) record = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(ClocheSessionInfo) info = { 0 };

  if (!cloche_dbus_sessions_call_get_finish (CLOCHE_DBUS_SESSIONS (object), &record, result,
                                             &error))
    {
      /* Gone (closed and cleaned up), or no daemon: the title keeps what it had. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("Get %s: %s", self->session_id, error->message);
      return;
    }
  cloche_session_info_init (&info, record);
  if (g_strcmp0 (info.title, self->session_title) == 0)
    return;
  g_free (self->session_title);
  self->session_title = g_strdup (info.title);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

static void
cloche_terminal_view_sessions_changed_cb (ClocheTerminalView *self)
{
  ClocheDbusSessions *sessions = cloche_client_get_sessions (self->client);

  if (self->session_id != NULL && sessions != NULL)
    cloche_dbus_sessions_call_get (sessions, self->session_id, self->cancellable,
                                   cloche_terminal_view_got_session_cb, self);
}

/* The session's title now, and whenever the sessions change. */
static void
cloche_terminal_view_follow_session_title (ClocheTerminalView *self,
                                           ClocheClient       *client)
{
  ClocheDbusSessions *sessions = cloche_client_get_sessions (client);

  if (sessions == NULL || self->client != NULL)
    return;
  self->client = g_object_ref (client);
  g_signal_connect_object (sessions, "changed",
                           G_CALLBACK (cloche_terminal_view_sessions_changed_cb), self,
                           G_CONNECT_SWAPPED);
  cloche_terminal_view_sessions_changed_cb (self);
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

  if (client != NULL)
    cloche_terminal_view_follow_session_title (self, client);
  if (!attach || sessions == NULL)
    {
      cloche_terminal_view_spawn (self, NULL);
      return;
    }
  cloche_dbus_sessions_call_list_terminals (sessions, self->session_id, self->cancellable,
                                            cloche_terminal_view_listed_cb, self);
}

/**
 * cloche_terminal_view_attach:
 * @client: the app's client, for the session's title
 * @terminal: a terminal of the view's session that no client holds
 * @program: (nullable): its command's first word, for the title
 *
 * Starts the view on @terminal again (`clochectl shell --attach`).
 */
void
cloche_terminal_view_attach (ClocheTerminalView *self,
                             ClocheClient       *client,
                             const char         *terminal,
                             const char         *program)
{
  g_return_if_fail (CLOCHE_IS_TERMINAL_VIEW (self));
  g_return_if_fail (self->session_id != NULL);
  g_return_if_fail (terminal != NULL);

  cloche_terminal_view_follow_session_title (self, client);
  cloche_terminal_view_set_running (self, program);
  cloche_terminal_view_spawn (self, terminal);
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
  cloche_terminal_view_say_internal (self, text);
}

static void
cloche_terminal_view_zoom (ClocheTerminalView *self,
                           double                factor)
{
  double scale = factor == 0 ? 1.0 : vte_terminal_get_font_scale (self->terminal) * factor;

  vte_terminal_set_font_scale (self->terminal, CLAMP (scale, ZOOM_MIN, ZOOM_MAX));
}

static void
cloche_terminal_view_action (GtkWidget  *widget,
                             const char *action_name,
                             GVariant   *parameter)
{
  ClocheTerminalView *self = CLOCHE_TERMINAL_VIEW (widget);

  if (g_str_equal (action_name, "terminal.copy"))
    vte_terminal_copy_clipboard_format (self->terminal, VTE_FORMAT_TEXT);
  else if (g_str_equal (action_name, "terminal.paste"))
    vte_terminal_paste_clipboard (self->terminal);
  else if (g_str_equal (action_name, "terminal.zoom-in"))
    cloche_terminal_view_zoom (self, ZOOM_STEP);
  else if (g_str_equal (action_name, "terminal.zoom-out"))
    cloche_terminal_view_zoom (self, 1 / ZOOM_STEP);
  else if (g_str_equal (action_name, "terminal.zoom-reset"))
    cloche_terminal_view_zoom (self, 0);
}

static void
cloche_terminal_view_install_actions (GtkWidgetClass *widget_class)
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
        gtk_widget_class_install_action (widget_class, actions[i].name, NULL,
                                         cloche_terminal_view_action);
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
  g_clear_object (&self->client);
  g_free (self->session_id);
  g_strfreev (self->command);
  g_free (self->agent);
  g_free (self->running);
  g_free (self->session_title);
  G_OBJECT_CLASS (cloche_terminal_view_parent_class)->finalize (object);
}

/**
 * cloche_terminal_view_get_title:
 *
 * Returns: (transfer full): what runs and in which session, as a user
 *   knows them: "claude — my project"
 */
char *
cloche_terminal_view_get_title (ClocheTerminalView *self)
{
  const char *running;

  g_return_val_if_fail (CLOCHE_IS_TERMINAL_VIEW (self), NULL);

  if (self->session_id == NULL)
    return g_strdup (_("Agent Mode, Starting"));
  running = self->agent != NULL ? self->agent
            : self->running != NULL ? self->running : _("Shell");
  /* Translators: a terminal's title: what runs in it, and its session's title */
  return g_strdup_printf (_("%s — %s"), running,
                          self->session_title != NULL && self->session_title[0] != '\0'
                          ? self->session_title : self->session_id);
}

/**
 * cloche_terminal_view_get_tooltip:
 *
 * Returns: (transfer full) (nullable): the session's id, in words
 */
char *
cloche_terminal_view_get_tooltip (ClocheTerminalView *self)
{
  g_return_val_if_fail (CLOCHE_IS_TERMINAL_VIEW (self), NULL);

  /* Translators: a terminal tab's tooltip, with its session's id */
  return self->session_id != NULL ? g_strdup_printf (_("Session %s"), self->session_id) : NULL;
}

static void
cloche_terminal_view_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  ClocheTerminalView *self = CLOCHE_TERMINAL_VIEW (object);

  if (prop_id == PROP_TITLE)
    g_value_take_string (value, cloche_terminal_view_get_title (self));
  else if (prop_id == PROP_TOOLTIP)
    g_value_take_string (value, cloche_terminal_view_get_tooltip (self));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
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
  object_class->get_property = cloche_terminal_view_get_property;
  widget_class->grab_focus = cloche_terminal_view_grab_focus;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TOOLTIP] =
    g_param_spec_string ("tooltip", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (VTE_TYPE_TERMINAL);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-terminal-view.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheTerminalView, terminal);
  gtk_widget_class_bind_template_callback (widget_class, cloche_terminal_view_child_exited_cb);
  cloche_terminal_view_install_actions (widget_class);
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
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOOLTIP]);
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
  cloche_terminal_view_set_running (self, self->command != NULL ? self->command[0] : NULL);
}

/**
 * cloche_terminal_view_set_agent:
 * @agent: (nullable): an agent profile's name, or %NULL
 *
 * Makes a new terminal of this view run agent @agent in its session
 * (`clochectl agent NAME --session ID`), in place of the command.
 */
void
cloche_terminal_view_set_agent (ClocheTerminalView *self,
                                const char         *agent)
{
  g_return_if_fail (CLOCHE_IS_TERMINAL_VIEW (self));

  g_free (self->agent);
  self->agent = g_strdup (agent);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
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

  cloche_terminal_view_say_internal (self, text);
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
