/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * For tools/bench/sessions-page (not a test): the Sessions page, in a
 * window already on screen, given a client to a daemon that is already
 * running with its sessions listed once. Prints one line of JSON:
 *   reply_to_frame_ms  from List's reply reaching this process (a filter
 *                      on the connection sees it, in GDBus's thread) to
 *                      the first frame painted after the page showed it
 *   longest_stall_ms   the longest gap between two ticks of a 5 ms timer on
 *                      the main loop, from the call to 500 ms after that
 *                      frame: what the window froze for
 * With CLOCHE_TEST_SCREENSHOT_DIR set, also saves sessions-page.png there.
 */
#include "config.h"

#include <adwaita.h>

#include "cloche-client.h"
#include "cloche-sessions-page.h"
#include "cloche-test-ui.h"

#define TICK_MS 5

static gpointer reply_at;        /* monotonic µs, written by GDBus's thread */
static gint64 shown_at;
static gint64 frame_at;
static gint64 last_tick;
static gint64 longest_gap;
static gboolean done;

static GDBusMessage *
on_message (GDBusConnection *connection,
            GDBusMessage    *message,
            gboolean         incoming,
            gpointer         user_data)
{
  if (incoming && g_dbus_message_get_message_type (message) == G_DBUS_MESSAGE_TYPE_METHOD_RETURN)
    g_atomic_pointer_set (&reply_at, (gpointer) (gintptr) g_get_monotonic_time ());
  return message;
}

static gboolean
tick (gpointer user_data)
{
  gint64 now = g_get_monotonic_time ();

  if (last_tick != 0)
    longest_gap = MAX (longest_gap, now - last_tick);
  last_tick = now;
  return G_SOURCE_CONTINUE;
}

static void
on_after_paint (GdkFrameClock *clock,
                gpointer       user_data)
{
  if (shown_at != 0 && frame_at == 0)
    frame_at = g_get_monotonic_time ();
}

static void
on_summary (GtkLabel *label)
{
  if (shown_at == 0 && gtk_label_get_label (label)[0] != '\0')
    shown_at = g_get_monotonic_time ();
}

static gboolean
set_done (gpointer user_data)
{
  done = TRUE;
  return G_SOURCE_REMOVE;
}

static void
on_client (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  *(ClocheClient **) user_data = cloche_client_new_finish (result, &error);
  g_assert_no_error (error);
}

static GtkLabel *
first_label (GtkWidget *widget)
{
  if (GTK_IS_LABEL (widget))
    return GTK_LABEL (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkLabel *found = first_label (child);

      if (found != NULL)
        return found;
    }
  return NULL;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(ClocheClient) client = NULL;
  GtkWidget *window, *page;
  GdkFrameClock *clock;
  gint64 called_at;

  gtk_init ();
  adw_init ();
  cloche_client_new_async (NULL, on_client, &client);
  CLOCHE_TEST_WAIT_FOR (client != NULL, 30);
  g_dbus_connection_add_filter (g_dbus_proxy_get_connection (G_DBUS_PROXY (cloche_client_get_proxy (client))),
                                on_message, NULL, NULL);

  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 760);
  page = g_object_new (CLOCHE_TYPE_SESSIONS_PAGE, NULL);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  g_timeout_add (1000, set_done, NULL);
  CLOCHE_TEST_WAIT_FOR (done, 10);
  done = FALSE;

  clock = gtk_widget_get_frame_clock (window);
  g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), NULL);
  g_signal_connect (first_label (page), "notify::label", G_CALLBACK (on_summary), NULL);
  g_timeout_add (TICK_MS, tick, NULL);
  called_at = g_get_monotonic_time ();
  g_object_set (page, "client", client, NULL);
  CLOCHE_TEST_WAIT_FOR (frame_at != 0, 120);
  g_timeout_add (500, set_done, NULL);
  CLOCHE_TEST_WAIT_FOR (done, 10);

  g_print ("{\"call_to_frame_ms\": %.1f, \"reply_to_frame_ms\": %.1f, "
           "\"reply_to_shown_ms\": %.1f, \"longest_stall_ms\": %.1f, \"summary\": \"%s\"}\n",
           (frame_at - called_at) / 1000.0,
           (frame_at - (gint64) (gintptr) g_atomic_pointer_get (&reply_at)) / 1000.0,
           (shown_at - (gint64) (gintptr) g_atomic_pointer_get (&reply_at)) / 1000.0,
           longest_gap / 1000.0, gtk_label_get_label (first_label (page)));
  cloche_test_save_screenshot (window, "sessions-page");
  gtk_window_destroy (GTK_WINDOW (window));
  return 0;
}
