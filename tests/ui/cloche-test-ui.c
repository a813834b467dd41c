/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the UI tests share: a real daemon on a private bus with GTK set up
 * after it, and screenshots of what a test shows, for looking at by eye.
 */
#include "config.h"

#include "cloche-agent-mode-dialog.h"
#include "cloche-application.h"
#include "cloche-test-ui.h"

/**
 * cloche_test_ui_start_full:
 * @daemon_args: the daemon's options
 * @prepare_home: (nullable): fills the daemon's home before it starts
 *
 * Starts the daemon, then GTK and libadwaita. The private bus goes first:
 * GTestDBus unsets DISPLAY, which GTK needs back.
 */
ClocheTestDaemon *
cloche_test_ui_start_full (int                 *argc,
                           char              ***argv,
                           const char * const  *daemon_args,
                           void               (*prepare_home) (const char *home))
{
  g_autofree char *display = g_strdup (g_getenv ("DISPLAY"));
  ClocheTestDaemon *daemon = cloche_test_daemon_start_full (NULL, daemon_args, prepare_home);

  if (display != NULL)
    g_setenv ("DISPLAY", display, TRUE);
  gtk_test_init (argc, argv, NULL);
  adw_init ();
  return daemon;
}

ClocheTestDaemon *
cloche_test_ui_start (int                 *argc,
                      char              ***argv,
                      const char * const  *daemon_args)
{
  return cloche_test_ui_start_full (argc, argv, daemon_args, NULL);
}

/**
 * cloche_test_ui_new_window:
 *
 * A window of the test's one ClocheApplication (registered on the test's
 * bus when first asked for), which owns the client as in the app.
 *
 * Returns: (transfer none): the window
 */
ClocheWindow *
cloche_test_ui_new_window (void)
{
  static ClocheApplication *app;

  if (app == NULL)
    {
      g_autoptr(GError) error = NULL;

      app = cloche_application_new ();
      g_application_register (G_APPLICATION (app), NULL, &error);
      g_assert_no_error (error);
    }
  return cloche_window_new (ADW_APPLICATION (app));
}

/**
 * cloche_test_ui_find_label:
 *
 * Returns: (nullable): the first label shown under @widget whose text
 *   contains @text
 */
GtkLabel *
cloche_test_ui_find_label (GtkWidget  *widget,
                           const char *text)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_is_drawable (widget)
      && strstr (gtk_label_get_label (GTK_LABEL (widget)), text) != NULL)
    return GTK_LABEL (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkLabel *found = cloche_test_ui_find_label (child, text);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/**
 * cloche_test_ui_resize:
 *
 * Resizes a window on screen to @width × @height (its frame included, as
 * gtk_window_set_default_size () counts) and waits until it has that size.
 */
void
cloche_test_ui_resize (ClocheWindow *window,
                       int           width,
                       int           height)
{
  int old_width = gtk_widget_get_width (GTK_WIDGET (window));
  int old_height = gtk_widget_get_height (GTK_WIDGET (window));
  int current_width, current_height;

  gtk_window_get_default_size (GTK_WINDOW (window), &current_width, &current_height);
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  /* The frame (shadow, border) is what the default size has over the widget's. */
  CLOCHE_TEST_WAIT_FOR (gtk_widget_get_width (GTK_WIDGET (window)) - old_width == width - current_width
                        && gtk_widget_get_height (GTK_WIDGET (window)) - old_height
                           == height - current_height, 5);
}

static void
count_paint (guint *painted)
{
  (*painted)++;
}

/**
 * cloche_test_ui_wait_drawn:
 *
 * Waits until @window, shown, has been laid out and painted. A new
 * window's first frame measures every widget of every page and draws every
 * glyph: in software rendering on a loaded machine it takes seconds, and
 * whatever the window is told meanwhile (a D-Bus signal, a reply) waits
 * behind it. A test that times how fast the window follows a change starts
 * the clock after it.
 */
void
cloche_test_ui_wait_drawn (GtkWidget *window)
{
  GdkFrameClock *clock;
  guint painted = 0;
  gulong id;

  CLOCHE_TEST_WAIT_FOR (gtk_widget_get_mapped (window), 10);
  clock = gtk_widget_get_frame_clock (window);
  id = g_signal_connect_swapped (clock, "after-paint", G_CALLBACK (count_paint), &painted);
  gtk_widget_queue_draw (window);
  CLOCHE_TEST_WAIT_FOR (painted > 0, 30);
  g_signal_handler_disconnect (clock, id);
}

/**
 * cloche_test_ui_shows_all:
 * @widget: a widget in a scrolled window
 *
 * Returns: whether that scrolled window shows all its content, with
 *   nothing to scroll to (the heights go to the test's log)
 */
gboolean
cloche_test_ui_shows_all (GtkWidget *widget)
{
  GtkWidget *scrolled = gtk_widget_get_ancestor (widget, GTK_TYPE_SCROLLED_WINDOW);
  GtkAdjustment *adjustment;

  g_assert_nonnull (scrolled);
  adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled));
  g_test_message ("content %.0f px high, shown %.0f px", gtk_adjustment_get_upper (adjustment),
                  gtk_adjustment_get_page_size (adjustment));
  return gtk_adjustment_get_upper (adjustment) <= gtk_adjustment_get_page_size (adjustment);
}

/**
 * cloche_test_ui_child:
 * @widget: a widget built from a template
 * @name: the id of one of its template children, as in the .ui file
 *
 * What the tests look at, found as GTK finds it: no accessor in the app
 * exists for the tests alone.
 *
 * Returns: (transfer none): the child; the test fails when there is none
 */
gpointer
cloche_test_ui_child (gpointer    widget,
                      const char *name)
{
  GObject *child = gtk_widget_get_template_child (GTK_WIDGET (widget), G_OBJECT_TYPE (widget),
                                                  name);

  if (child == NULL)
    g_error ("%s has no template child \"%s\"", G_OBJECT_TYPE_NAME (widget), name);
  return child;
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
count_frame (GtkWidget     *widget,
             GdkFrameClock *frame_clock,
             gpointer       user_data)
{
  (*(guint *) user_data)++;
  return G_SOURCE_CONTINUE;
}

/* Renders @window as it is on screen into $CLOCHE_TEST_SCREENSHOT_DIR/@name.png;
 * does nothing when that variable is unset. */
void
cloche_test_save_screenshot (GtkWidget  *window,
                             const char *name)
{
  const char *dir = g_getenv ("CLOCHE_TEST_SCREENSHOT_DIR");
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *path = NULL;
  gboolean settled = FALSE;
  guint frames = 0, tick;
  int width, height;

  if (dir == NULL)
    return;
  /* Let a stack's crossfade end and a few frames show the final state. */
  g_timeout_add (500, set_flag, &settled);
  CLOCHE_TEST_WAIT_FOR (settled, 5);
  tick = gtk_widget_add_tick_callback (window, count_frame, &frames, NULL);
  CLOCHE_TEST_WAIT_FOR (frames >= 3, 5);
  gtk_widget_remove_tick_callback (window, tick);
  width = gtk_widget_get_width (window);
  height = gtk_widget_get_height (window);
  paintable = gtk_widget_paintable_new (window);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)),
                                         node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  path = g_strdup_printf ("%s/%s.png", dir, name);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("Saved %s", path);
}

/**
 * cloche_test_ui_destroy_window:
 * @window: (transfer full): a window the test holds the only reference of
 *
 * Destroys @window and asserts that it is finalized. A call the window's
 * pages started may still hold it until its cancelled callback runs on
 * the main loop, so the loop is run (10 s at most) before the assertion:
 * a window kept for good still fails.
 */
void
cloche_test_ui_destroy_window (GtkWidget *window)
{
  GtkWidget *watched = window;

  g_object_add_weak_pointer (G_OBJECT (watched), (gpointer *) &watched);
  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (window);
  CLOCHE_TEST_WAIT_FOR (watched == NULL, 10);
}

/**
 * cloche_test_ui_wait_agent_mode_chooser:
 *
 * Returns: (transfer none): the chooser "Open agent mode" shows, once it
 *   is there
 */
GtkWindow *
cloche_test_ui_wait_agent_mode_chooser (void)
{
  GtkWindow *found = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (found == NULL && g_get_monotonic_time () < deadline)
    {
      GListModel *windows = gtk_window_get_toplevels ();

      for (guint i = 0; found == NULL && i < g_list_model_get_n_items (windows); i++)
        {
          g_autoptr(GObject) window = g_list_model_get_item (windows, i);

          if (CLOCHE_IS_AGENT_MODE_DIALOG (window))
            found = GTK_WINDOW (window);
        }
      if (found == NULL)
        g_main_context_iteration (NULL, FALSE);
    }
  g_assert_nonnull (found);
  return found;
}

/**
 * cloche_test_ui_answer_agent_mode_chooser:
 *
 * Opens agent mode as the chooser offers it first: no folder, a shell.
 */
void
cloche_test_ui_answer_agent_mode_chooser (void)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (cloche_test_ui_wait_agent_mode_chooser ()),
                                             "chooser.open", NULL));
}
