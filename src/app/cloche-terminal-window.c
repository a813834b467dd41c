/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A terminal of a session inside the app: a VTE terminal running
 * `clochectl shell ID`, which opens the terminal in the guest
 * (io.github.cloche.Sessions.OpenTerminal), holds its stream, and passes
 * on the window size VTE gives its PTY (SIGWINCH, ResizeTerminal). So the
 * app has one way into a session's terminal, the one tests/test-clochectl-
 * shell.sh holds, and the bytes never pass through the app's main loop.
 *
 * Before the shell is there the terminal says what it is waiting for (the
 * VM may have to boot, seconds under KVM, much longer without); when it
 * ends it says how, and Ctrl+Shift+T opens a new one in the same session.
 * Keyboard: Ctrl+Shift+C / Ctrl+Shift+V copy and paste, Ctrl++ / Ctrl+− /
 * Ctrl+0 zoom.
 *
 * Closing the window never ends what runs: clochectl goes (VTE hangs up
 * its PTY), the terminal in the guest stays, detached, and keeps what it
 * prints (bounded); docs/ARCHITECTURE.md, "Terminals". A window opened with
 * cloche_terminal_window_open() takes such a terminal of its session
 * again (`clochectl shell --attach`, the newest one no client holds), or
 * opens a new one if there is none; Ctrl+Shift+T always opens a new one.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <sys/wait.h>
#include <vte/vte.h>

#include "cloche-application.h"
#include "cloche-terminal-window.h"

#define ZOOM_STEP 1.1
#define ZOOM_MIN  0.5
#define ZOOM_MAX  3.0

struct _ClocheTerminalWindow
{
  AdwWindow       parent_instance;
  AdwWindowTitle *title;
  VteTerminal    *terminal;
  char           *session_id;
  gboolean        attach;      /* take a detached terminal of the session if there is one */
  GCancellable   *cancellable;
};

G_DEFINE_FINAL_TYPE (ClocheTerminalWindow, cloche_terminal_window, ADW_TYPE_WINDOW)

enum {
  PROP_0,
  PROP_SESSION_ID,
  PROP_ATTACH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Where clochectl is: beside the app once installed; CLOCHE_CTL for a
 * build tree (the tests). */
static const char *
clochectl_path (void)
{
  const char *path = g_getenv ("CLOCHE_CTL");

  return path != NULL && path[0] != '\0' ? path : BINDIR "/clochectl";
}

static void
say (ClocheTerminalWindow *self,
     const char           *text)
{
  g_autofree char *line = g_strdup_printf ("\033[2m%s\033[0m\r\n", text);

  vte_terminal_feed (self->terminal, line, -1);
}

static void
on_spawned (VteTerminal *terminal,
            GPid         pid,
            GError      *error,
            gpointer     user_data)
{
  ClocheTerminalWindow *self = user_data;
  g_autofree char *text = NULL;

  if (error == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  text = g_strdup_printf (_("Cannot start the terminal (%s): %s"), clochectl_path (),
                          error->message);
  say (self, text);
}

/* clochectl shell ID, or shell --attach @terminal. */
static void
spawn (ClocheTerminalWindow *self,
       const char           *terminal)
{
  const char *argv[] = { clochectl_path (), "shell", self->session_id, NULL, NULL };
  g_autofree char *text = NULL;

  if (terminal != NULL)
    {
      argv[2] = "--attach";
      argv[3] = terminal;
      text = g_strdup_printf (_("Back in terminal %s of session %s: what it printed while no "
                                "window showed it follows (its last 64 KiB)."), terminal,
                              self->session_id);
    }
  else
    text = g_strdup_printf (_("Opening a terminal in session %s. If the sandbox VM is not "
                              "running it starts first: seconds with KVM, a minute or more "
                              "without…"), self->session_id);
  say (self, text);
  vte_terminal_spawn_async (self->terminal, VTE_PTY_DEFAULT, NULL, (char **) argv, NULL,
                            G_SPAWN_DEFAULT, NULL, NULL, NULL, -1, self->cancellable,
                            on_spawned, self);
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
on_listed (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  ClocheTerminalWindow *self = user_data;
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

static void
start (ClocheTerminalWindow *self)
{
  GApplication *application = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
  ClocheClient *client = CLOCHE_IS_APPLICATION (application)
                         ? cloche_application_get_client (CLOCHE_APPLICATION (application)) : NULL;
  ClocheDbusSessions *sessions = client != NULL ? cloche_client_get_sessions (client) : NULL;

  if (!self->attach || sessions == NULL)
    {
      spawn (self, NULL);
      return;
    }
  cloche_dbus_sessions_call_list_terminals (sessions, self->session_id, self->cancellable,
                                            on_listed, self);
}

static void
on_child_exited (ClocheTerminalWindow *self,
                 int                   status)
{
  g_autofree char *text = NULL;

  if (WIFEXITED (status))
    text = g_strdup_printf (_("The terminal ended with status %d. Ctrl+Shift+T opens a new "
                              "one in this session."), WEXITSTATUS (status));
  else
    text = g_strdup (_("The terminal ended. Ctrl+Shift+T opens a new one in this session."));
  vte_terminal_feed (self->terminal, "\r\n", -1);
  say (self, text);
}

static void
zoom (ClocheTerminalWindow *self,
      double                factor)
{
  double scale = factor == 0 ? 1.0 : vte_terminal_get_font_scale (self->terminal) * factor;

  vte_terminal_set_font_scale (self->terminal, CLAMP (scale, ZOOM_MIN, ZOOM_MAX));
}

static void
terminal_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  ClocheTerminalWindow *self = CLOCHE_TERMINAL_WINDOW (widget);

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
  else if (g_str_equal (action_name, "terminal.new"))
    gtk_window_present (GTK_WINDOW (cloche_terminal_window_new (
      gtk_window_get_application (GTK_WINDOW (self)), self->session_id)));
}

static void
cloche_terminal_window_constructed (GObject *object)
{
  ClocheTerminalWindow *self = CLOCHE_TERMINAL_WINDOW (object);
  g_autofree char *subtitle = g_strdup_printf (_("Session %s"), self->session_id);

  G_OBJECT_CLASS (cloche_terminal_window_parent_class)->constructed (object);
  adw_window_title_set_subtitle (self->title, subtitle);
}

static void
cloche_terminal_window_dispose (GObject *object)
{
  ClocheTerminalWindow *self = CLOCHE_TERMINAL_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  /* VTE says its child exited as it goes: nothing to tell any more. */
  if (self->terminal != NULL)
    g_signal_handlers_disconnect_by_data (self->terminal, self);
  gtk_widget_dispose_template (GTK_WIDGET (self), CLOCHE_TYPE_TERMINAL_WINDOW);
  G_OBJECT_CLASS (cloche_terminal_window_parent_class)->dispose (object);
}

static void
cloche_terminal_window_finalize (GObject *object)
{
  ClocheTerminalWindow *self = CLOCHE_TERMINAL_WINDOW (object);

  g_clear_object (&self->cancellable);
  g_free (self->session_id);
  G_OBJECT_CLASS (cloche_terminal_window_parent_class)->finalize (object);
}

static void
cloche_terminal_window_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  ClocheTerminalWindow *self = CLOCHE_TERMINAL_WINDOW (object);

  if (prop_id == PROP_SESSION_ID)
    g_value_set_string (value, self->session_id);
  else if (prop_id == PROP_ATTACH)
    g_value_set_boolean (value, self->attach);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
cloche_terminal_window_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  ClocheTerminalWindow *self = CLOCHE_TERMINAL_WINDOW (object);

  if (prop_id == PROP_SESSION_ID)
    self->session_id = g_value_dup_string (value);
  else if (prop_id == PROP_ATTACH)
    self->attach = g_value_get_boolean (value);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
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
    { "terminal.new", GDK_KEY_t, GDK_CONTROL_MASK | GDK_SHIFT_MASK },
  };

  for (guint i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      if (i == 0 || !g_str_equal (actions[i].name, actions[i - 1].name))
        gtk_widget_class_install_action (widget_class, actions[i].name, NULL, terminal_action);
      gtk_widget_class_add_binding_action (widget_class, actions[i].key, actions[i].modifiers,
                                           actions[i].name, NULL);
    }
}

static void
cloche_terminal_window_class_init (ClocheTerminalWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = cloche_terminal_window_constructed;
  object_class->dispose = cloche_terminal_window_dispose;
  object_class->finalize = cloche_terminal_window_finalize;
  object_class->get_property = cloche_terminal_window_get_property;
  object_class->set_property = cloche_terminal_window_set_property;

  properties[PROP_SESSION_ID] =
    g_param_spec_string ("session-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ATTACH] =
    g_param_spec_boolean ("attach", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (VTE_TYPE_TERMINAL);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-terminal-window.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheTerminalWindow, title);
  gtk_widget_class_bind_template_child (widget_class, ClocheTerminalWindow, terminal);
  gtk_widget_class_bind_template_callback (widget_class, on_child_exited);
  install_actions (widget_class);
}

static void
cloche_terminal_window_init (ClocheTerminalWindow *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * cloche_terminal_window_new:
 *
 * Returns: (transfer none): a window with a terminal in session @session_id,
 *   its shell starting
 */
ClocheTerminalWindow *
cloche_terminal_window_new (GtkApplication *application,
                            const char     *session_id)
{
  ClocheTerminalWindow *self;

  g_return_val_if_fail (session_id != NULL, NULL);

  self = g_object_new (CLOCHE_TYPE_TERMINAL_WINDOW, "application", application, "session-id",
                       session_id, NULL);

  /* Here, not in constructed: "application" is set after it. */
  start (self);
  return self;
}

/**
 * cloche_terminal_window_open:
 *
 * Returns: (transfer none): a window on session @session_id's terminal
 *   that no window shows (its window was closed), or on a new one
 */
ClocheTerminalWindow *
cloche_terminal_window_open (GtkApplication *application,
                             const char     *session_id)
{
  ClocheTerminalWindow *self;

  g_return_val_if_fail (session_id != NULL, NULL);

  self = g_object_new (CLOCHE_TYPE_TERMINAL_WINDOW, "application", application, "session-id",
                       session_id, "attach", TRUE, NULL);

  start (self);
  return self;
}
