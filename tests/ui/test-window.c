/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <adwaita.h>

#include "cloche-chart.h"
#include "cloche-monitor-page.h"
#include "cloche-overview-page.h"
#include "cloche-window.h"
#include "cloche-test-ui.h"

/* Under software emulation a boot takes seconds, on a loaded CI machine
 * many more: the VM test waits long, the others briefly. */
#define BOOT_TIMEOUT_S  120
#define SHORT_TIMEOUT_S 30

typedef gboolean (*CheckFunc) (gpointer data);

/* One bus for every test: the no-service ones see it without a daemon. */
static GTestDBus *test_bus;

static gboolean
flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;

  return G_SOURCE_REMOVE;
}

static gboolean
tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the main context until @check holds or @timeout_s passes. Some
 * conditions change with no event in this process (a VM process dying), so
 * a tick wakes the loop to look again. */
static gboolean
wait_for (CheckFunc check,
          gpointer  data,
          guint     timeout_s)
{
  gboolean timed_out = FALSE;
  guint source = g_timeout_add_seconds (timeout_s, flag_cb, &timed_out);
  guint tick = g_timeout_add (50, tick_cb, NULL);

  while (!check (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (source);
  g_source_remove (tick);

  return check (data);
}

static gboolean
is_mapped (gpointer data)
{
  return gtk_widget_get_mapped (GTK_WIDGET (data));
}

typedef struct
{
  GtkLabel   *label;
  const char *text;
} LabelWait;

static gboolean
label_shows (gpointer data)
{
  LabelWait *wait = data;

  return g_str_equal (gtk_label_get_label (wait->label), wait->text);
}

/* Property changes may reach the page after the reply to the call that
 * caused them: wait for the label rather than read it once. */
static void
wait_for_label (GtkLabel   *label,
                const char *text,
                guint       timeout_s)
{
  LabelWait wait = { label, text };

  wait_for (label_shows, &wait, timeout_s);
  g_assert_cmpstr (gtk_label_get_label (label), ==, text);
}

static gboolean
label_changed (gpointer data)
{
  LabelWait *wait = data;

  return !g_str_equal (gtk_label_get_label (wait->label), wait->text);
}

typedef struct
{
  ClocheOverviewPage *page;
  const char         *text;
} StateWait;

static gboolean
state_settled (gpointer data)
{
  StateWait *wait = data;
  const char *shown = gtk_label_get_label (cloche_test_ui_child (wait->page, "state_label"));
  GtkWidget *error = GTK_WIDGET (cloche_test_ui_child (wait->page, "error_label"));

  /* A crash or an error will not turn into the state we wait for: stop at
   * once and let the assertion show what the page says. */
  return g_str_equal (shown, wait->text)
         || g_str_equal (shown, "Crashed")
         || gtk_widget_get_visible (error);
}

static void
wait_for_state (ClocheOverviewPage *page,
                const char         *text,
                guint               timeout_s)
{
  StateWait wait = { page, text };
  GtkLabel *error = cloche_test_ui_child (page, "error_label");

  wait_for (state_settled, &wait, timeout_s);
  if (gtk_widget_get_visible (GTK_WIDGET (error)))
    g_test_message ("The page shows an error: %s", gtk_label_get_label (error));
  g_assert_cmpstr (gtk_label_get_label (cloche_test_ui_child (page, "state_label")), ==, text);
}

static gboolean
read_proc_stat (const char  *pid_name,
                char       **comm,
                char        *state,
                GPid        *ppid)
{
  g_autofree char *path = g_build_filename ("/proc", pid_name, "stat", NULL);
  g_autofree char *contents = NULL;
  const char *open_paren;
  const char *close_paren;

  /* "pid (comm) state ppid …", where comm may itself hold parentheses. */
  if (!g_file_get_contents (path, &contents, NULL, NULL)
      || (open_paren = strchr (contents, '(')) == NULL
      || (close_paren = strrchr (contents, ')')) == NULL
      || strlen (close_paren) < 5)
    return FALSE;

  if (comm != NULL)
    *comm = g_strndup (open_paren + 1, close_paren - open_paren - 1);
  *state = close_paren[2];
  *ppid = (GPid) g_ascii_strtoll (close_paren + 4, NULL, 10);
  return TRUE;
}

static gboolean
is_descendant (GHashTable *parents,
               GPid        pid,
               GPid        ancestor)
{
  while (pid > 1)
    {
      pid = GPOINTER_TO_INT (g_hash_table_lookup (parents, GINT_TO_POINTER (pid)));
      if (pid == ancestor)
        return TRUE;
    }

  return FALSE;
}

/* The qemu-system processes below @ancestor, whatever the daemon runs them
 * through. */
/* A VM, not the doctor asking QEMU for its devices (`-device help`), which
 * the Diagnostics page has the daemon do as soon as the window opens. */
static gboolean
runs_a_vm (const char *pid)
{
  g_autofree char *path = g_build_filename ("/proc", pid, "cmdline", NULL);
  g_autofree char *cmdline = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &cmdline, &length, NULL))
    return FALSE;
  for (gsize i = 0; i < length; i += strlen (cmdline + i) + 1)
    if (g_str_equal (cmdline + i, "-kernel"))
      return TRUE;
  return FALSE;
}

static GArray *
find_qemu_descendants (GPid ancestor)
{
  g_autoptr(GHashTable) parents = g_hash_table_new (NULL, NULL);
  g_autoptr(GArray) qemus = g_array_new (FALSE, FALSE, sizeof (GPid));
  g_autoptr(GArray) found = g_array_new (FALSE, FALSE, sizeof (GPid));
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;

  g_assert_nonnull (proc);
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *comm = NULL;
      GPid pid = (GPid) g_ascii_strtoll (name, NULL, 10);
      GPid ppid;
      char state;

      if (pid <= 0 || !read_proc_stat (name, &comm, &state, &ppid))
        continue;
      g_hash_table_insert (parents, GINT_TO_POINTER (pid), GINT_TO_POINTER (ppid));
      if (state != 'Z' && g_str_has_prefix (comm, "qemu-system") && runs_a_vm (name))
        g_array_append_val (qemus, pid);
    }

  for (guint i = 0; i < qemus->len; i++)
    if (is_descendant (parents, g_array_index (qemus, GPid, i), ancestor))
      g_array_append_val (found, g_array_index (qemus, GPid, i));

  return g_steal_pointer (&found);
}

static gboolean
pid_is_alive (GPid pid)
{
  g_autofree char *name = g_strdup_printf ("%d", (int) pid);
  char state;
  GPid ppid;

  /* A zombie has stopped; reaping it is up to whoever inherited it. */
  return read_proc_stat (name, NULL, &state, &ppid) && state != 'Z';
}

static gboolean
all_gone (gpointer data)
{
  GArray *pids = data;

  for (guint i = 0; i < pids->len; i++)
    if (pid_is_alive (g_array_index (pids, GPid, i)))
      return FALSE;

  return TRUE;
}

/* Stops the daemon the way a session logout does, and checks that it took
 * its VM down with it; a VM left behind is killed before failing. */
static void
stop_daemon (ClocheTestDaemon *daemon)
{
  g_autoptr(GArray) qemus = find_qemu_descendants (cloche_test_daemon_pid (daemon));

  cloche_test_daemon_stop (daemon);
  if (!wait_for (all_gone, qemus, SHORT_TIMEOUT_S))
    {
      for (guint i = 0; i < qemus->len; i++)
        kill (g_array_index (qemus, GPid, i), SIGKILL);
      g_test_fail ();
      g_test_message ("The daemon left its VM running after SIGTERM");
    }
  cloche_test_daemon_free (daemon);
}

static gboolean
has_service_error (gpointer data)
{
  return cloche_window_get_service_error (CLOCHE_WINDOW (data)) != NULL;
}

static void
test_window_no_service (void)
{
  g_autofree char *cause = NULL;
  ClocheOverviewPage *page;
  AdwStatusPage *unavailable;
  ClocheWindow *window;
  const char *description;
  const char *prefix = "The Cloche service is not running: ";

  /* This bus has no daemon and no .service file to activate one. */
  window = g_object_ref (cloche_test_ui_new_window ());
  page = cloche_test_ui_child (window, "overview_page");
  unavailable = cloche_test_ui_child (page, "unavailable_page");
  gtk_window_present (GTK_WINDOW (window));

  wait_for (is_mapped, unavailable, SHORT_TIMEOUT_S);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (unavailable)));
  g_assert_false (gtk_widget_get_mapped (cloche_test_ui_child (page, "open_button")));

  description = adw_status_page_get_description (unavailable);
  g_test_message ("%s", description);
  g_assert_true (g_str_has_prefix (description, prefix));
  /* The cause comes from the bus, not a generic word of ours. */
  cause = g_strstrip (g_strdup (description + strlen (prefix)));
  g_assert_cmpstr (cause, !=, "");

  /* Retry forgets the old error and asks the bus again, which fails again. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "win.reconnect", NULL));
  g_assert_null (cloche_window_get_service_error (window));
  wait_for (has_service_error, window, SHORT_TIMEOUT_S);
  g_assert_nonnull (cloche_window_get_service_error (window));

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

static gboolean
overview_shown (gpointer data)
{
  ClocheOverviewPage *page = data;

  return g_strcmp0 (gtk_stack_get_visible_child_name (cloche_test_ui_child (page, "stack")),
                    "overview") == 0;
}

static gboolean
says_not_installed (gpointer data)
{
  ClocheOverviewPage *page = data;

  return overview_shown (page)
         && g_str_equal (gtk_label_get_label (cloche_test_ui_child (page, "bundle_label")),
                         "Not installed")
         && gtk_widget_get_mapped (cloche_test_ui_child (page, "install_button"));
}

/* The daemon goes away and another takes its name (a restart, an update):
 * the window says the service stopped, then shows the new daemon's state
 * (here: no bundle) without a click. */
static void
test_window_daemon_restart (void)
{
  const char *bundle = g_getenv ("CLOCHE_TEST_BUNDLE");
  ClocheTestDaemon *daemon;
  ClocheOverviewPage *page;
  ClocheWindow *window;

  if (bundle == NULL || g_getenv ("CLOCHE_DAEMON") == NULL)
    {
      g_test_skip ("No VM bundle or daemon: set CLOCHE_TEST_BUNDLE and CLOCHE_DAEMON");
      return;
    }
  daemon = cloche_test_daemon_start_on_bus (test_bus, (const char *[]) { "--bundle", bundle, NULL });
  window = g_object_ref (cloche_test_ui_new_window ());
  page = cloche_test_ui_child (window, "overview_page");
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (wait_for (overview_shown, page, SHORT_TIMEOUT_S));
  g_assert_true (wait_for (is_mapped, cloche_test_ui_child (page, "open_button"), SHORT_TIMEOUT_S));

  stop_daemon (daemon);
  g_assert_true (wait_for (is_mapped, cloche_test_ui_child (page, "unavailable_page"),
                           SHORT_TIMEOUT_S));

  daemon = cloche_test_daemon_start_on_bus (test_bus, (const char *[]) {
    "--bundle", "/nonexistent/cloche-bundle", NULL });
  g_assert_true (wait_for (says_not_installed, page, SHORT_TIMEOUT_S));

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
  stop_daemon (daemon);
}

/* The window opens at the size it was left at (GSettings, memory backend). */
static void
test_window_remembers_size (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  ClocheWindow *window;
  int width, height;

  g_settings_set_int (settings, "window-width", 1010);
  g_settings_set_int (settings, "window-height", 700);
  window = g_object_ref (cloche_test_ui_new_window ());
  gtk_window_get_default_size (GTK_WINDOW (window), &width, &height);
  g_assert_cmpint (width, ==, 1010);
  g_assert_cmpint (height, ==, 700);

  gtk_window_set_default_size (GTK_WINDOW (window), 820, 610);
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 820);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 610);

  /* Its attempt to reach the daemon (none on this bus) holds it until it ends. */
  wait_for (has_service_error, window, SHORT_TIMEOUT_S);
  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

/* The window's own shortcut for @accel, as GTK would run it on a key press. */
static GtkShortcut *
find_shortcut (GtkWidget  *widget,
               const char *accel)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
          g_autofree char *trigger = gtk_shortcut_trigger_to_string (gtk_shortcut_get_trigger (shortcut));

          if (g_str_equal (trigger, accel))
            return g_steal_pointer (&shortcut);
        }
    }
  return NULL;
}

static void
test_window_page_shortcuts (void)
{
  const char *pages[][2] = { { "<Control>2", "sessions" }, { "<Control>3", "monitor" },
                             { "<Control>4", "bundle" }, { "<Control>5", "diagnostics" },
                             { "<Control>6", "egress" },
                             { "<Control>1", "overview" } };
  ClocheWindow *window = g_object_ref (cloche_test_ui_new_window ());
  GtkStack *stack = cloche_test_ui_child (window, "stack");

  gtk_window_present (GTK_WINDOW (window));
  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      g_autoptr(GtkShortcut) shortcut = find_shortcut (GTK_WIDGET (window), pages[i][0]);

      g_assert_nonnull (shortcut);
      g_assert_true (gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut), 0,
                                                   GTK_WIDGET (window),
                                                   gtk_shortcut_get_arguments (shortcut)));
      g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, pages[i][1]);
    }

  wait_for (has_service_error, window, SHORT_TIMEOUT_S);
  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

/* Arrow keys in the sidebar move the highlight and the page with it
 * (the list box's move-cursor, as its Down and Up bindings emit it). */
static void
test_window_sidebar_keys (void)
{
  ClocheWindow *window = g_object_ref (cloche_test_ui_new_window ());
  GtkStack *stack = cloche_test_ui_child (window, "stack");
  GtkListBox *sidebar = cloche_test_ui_child (window, "sidebar_list");

  gtk_window_present (GTK_WINDOW (window));
  gtk_widget_grab_focus (cloche_test_ui_child (window, "overview_row"));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "overview");
  g_signal_emit_by_name (sidebar, "move-cursor", GTK_MOVEMENT_DISPLAY_LINES, 1, FALSE, FALSE);
  g_assert_cmpstr (gtk_widget_get_name (GTK_WIDGET (gtk_list_box_get_selected_row (sidebar))), ==,
                   "sessions");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "sessions");
  g_signal_emit_by_name (sidebar, "move-cursor", GTK_MOVEMENT_DISPLAY_LINES, 2, FALSE, FALSE);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "bundle");
  g_signal_emit_by_name (sidebar, "move-cursor", GTK_MOVEMENT_DISPLAY_LINES, -3, FALSE, FALSE);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "overview");

  wait_for (has_service_error, window, SHORT_TIMEOUT_S);
  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

typedef struct
{
  ClocheOverviewPage *page;
  GtkWidget          *widget;
} ToggleWait;

static gboolean
toggle_settled (gpointer data)
{
  ToggleWait *wait = data;

  return gtk_widget_get_mapped (wait->widget)
         || gtk_widget_get_visible (GTK_WIDGET (cloche_test_ui_child (wait->page, "error_label")));
}

static void
toggle_agent_mode (ClocheOverviewPage *page,
                   GtkWidget          *button,
                   GtkWidget          *then_shown,
                   guint               timeout_s)
{
  ToggleWait wait = { page, then_shown };

  g_assert_true (gtk_widget_get_mapped (button));
  g_assert_true (gtk_widget_is_sensitive (button));
  /* As Enter or Space on the focused button would. */
  g_assert_true (gtk_widget_activate (button));
  /* Opening asks what to run first, then shows agent mode's terminal on
   * the Terminals page: back to the Overview, as a user would go. */
  if (button == cloche_test_ui_child (page, "open_button"))
    {
      GtkWidget *terminals = cloche_test_ui_child (gtk_widget_get_root (GTK_WIDGET (page)),
                                                   "terminals_page");

      cloche_test_ui_answer_agent_mode_chooser ();
      wait_for (is_mapped, terminals, SHORT_TIMEOUT_S);
      gtk_widget_activate_action (GTK_WIDGET (page), "win.show-page", "s", "overview");
    }

  wait_for (toggle_settled, &wait, timeout_s);
  if (gtk_widget_get_visible (GTK_WIDGET (cloche_test_ui_child (page, "error_label"))))
    g_test_message ("The page shows an error: %s",
                    gtk_label_get_label (cloche_test_ui_child (page, "error_label")));
  g_assert_true (gtk_widget_get_mapped (then_shown));
}

/* The uptime counts while the VM runs, without any property change. */
static void
check_uptime_ticks (ClocheOverviewPage *page)
{
  GtkLabel *uptime = cloche_test_ui_child (page, "uptime_label");
  g_autofree char *before = g_strdup (gtk_label_get_label (uptime));
  LabelWait wait = { uptime, before };

  g_assert_cmpstr (before, !=, "Not running");
  g_assert_true (wait_for (label_changed, &wait, 5));
}

static gboolean
chart_has_points (gpointer data)
{
  return cloche_chart_get_n_points (CLOCHE_CHART (data), 0) >= 2;
}

/* The Overview's memory row leads to the Monitor page, which draws the
 * daemon's samples as they come. */
static void
check_monitor (ClocheWindow       *window,
               ClocheOverviewPage *overview)
{
  ClocheMonitorPage *monitor = cloche_test_ui_child (window, "monitor_page");
  ClocheChart *cpu = cloche_test_ui_child (monitor, "cpu_chart");
  LabelWait memory = { cloche_test_ui_child (overview, "memory_label"), "Not running" };
  LabelWait host = { cloche_test_ui_child (monitor, "host_memory_label"), "" };

  g_assert_true (wait_for (label_changed, &memory, SHORT_TIMEOUT_S));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (overview), "win.show-page", "s", "monitor"));
  wait_for (is_mapped, cpu, SHORT_TIMEOUT_S);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (cpu)));
  g_assert_true (wait_for (chart_has_points, cpu, SHORT_TIMEOUT_S));
  g_assert_true (wait_for (label_changed, &host, SHORT_TIMEOUT_S));
  cloche_test_save_screenshot (GTK_WIDGET (window), "monitor-running");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (monitor), "win.show-page", "s", "overview"));
  wait_for (is_mapped, cloche_test_ui_child (overview, "close_button"), SHORT_TIMEOUT_S);
}

static void
test_window_agent_mode (void)
{
  const char *bundle = g_getenv ("CLOCHE_TEST_BUNDLE");
  const char *program = g_getenv ("CLOCHE_DAEMON");
  g_autofree char *manifest = NULL;
  g_autoptr(GArray) qemus = NULL;
  ClocheTestDaemon *daemon;
  ClocheOverviewPage *page;
  ClocheWindow *window;
  GtkWidget *open_button;
  GtkWidget *close_button;

  manifest = g_build_filename (bundle != NULL ? bundle : "", "manifest.json", NULL);
  if (bundle == NULL || *bundle == '\0' || !g_file_test (manifest, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("No VM bundle: set CLOCHE_TEST_BUNDLE to a folder with a manifest.json");
      return;
    }
  if (program == NULL || !g_file_test (program, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("No daemon: set CLOCHE_DAEMON to the cloche-daemon binary");
      return;
    }

  daemon = cloche_test_daemon_start_on_bus (test_bus, (const char *[]) {
    "--bundle", bundle, "--idle-timeout", "30", NULL });

  window = g_object_ref (cloche_test_ui_new_window ());
  page = cloche_test_ui_child (window, "overview_page");
  open_button = cloche_test_ui_child (page, "open_button");
  close_button = cloche_test_ui_child (page, "close_button");
  gtk_window_present (GTK_WINDOW (window));

  /* Showing the dashboard must not boot anything. */
  wait_for (is_mapped, open_button, SHORT_TIMEOUT_S);
  wait_for_state (page, "Stopped", SHORT_TIMEOUT_S);
  qemus = find_qemu_descendants (cloche_test_daemon_pid (daemon));
  g_assert_cmpuint (qemus->len, ==, 0);
  cloche_test_save_screenshot (GTK_WIDGET (window), "window-agent-mode-stopped");

  toggle_agent_mode (page, open_button, close_button, BOOT_TIMEOUT_S);
  wait_for_state (page, "Running", BOOT_TIMEOUT_S);
  g_clear_pointer (&qemus, g_array_unref);
  qemus = find_qemu_descendants (cloche_test_daemon_pid (daemon));
  g_assert_cmpuint (qemus->len, ==, 1);
  wait_for_label (cloche_test_ui_child (page, "sessions_label"), "1", SHORT_TIMEOUT_S);
  check_uptime_ticks (page);
  cloche_test_save_screenshot (GTK_WIDGET (window), "window-agent-mode-running");
  check_monitor (window, page);

  toggle_agent_mode (page, close_button, open_button, SHORT_TIMEOUT_S);
  wait_for_label (cloche_test_ui_child (page, "sessions_label"), "0", SHORT_TIMEOUT_S);
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (cloche_test_ui_child (page, "error_label"))));

  cloche_test_ui_destroy_window (GTK_WIDGET (window));

  stop_daemon (daemon);
}

static gboolean
is_visible (gpointer data)
{
  return gtk_widget_get_visible (GTK_WIDGET (data));
}

static gboolean
find_kvm_warning (gpointer data)
{
  return cloche_test_ui_find_label (GTK_WIDGET (data), "KvmUnusable") != NULL
         && cloche_test_ui_find_label (GTK_WIDGET (data), "a boot under KVM failed") != NULL;
}

/* Injected fault (CLOCHE_TEST_KVM_FAULT=internal-error: QEMU runs under
 * TCG, the daemon stops it over QMP and reads "internal-error"): the
 * first boot falls back from KVM to TCG. The page shows a notice beside
 * the VM's state, not an error, and the VM runs. */
static void
test_window_kvm_fallback (void)
{
  const char *bundle = g_getenv ("CLOCHE_TEST_BUNDLE");
  ClocheTestDaemon *daemon;
  ClocheOverviewPage *page;
  ClocheWindow *window;
  GtkWidget *notice, *diagnostics;

  if (bundle == NULL || g_getenv ("CLOCHE_DAEMON") == NULL)
    {
      g_test_skip ("No VM bundle or daemon: set CLOCHE_TEST_BUNDLE and CLOCHE_DAEMON");
      return;
    }
  g_setenv ("CLOCHE_TEST_KVM_FAULT", "internal-error", TRUE);
  daemon = cloche_test_daemon_start_on_bus (test_bus, (const char *[]) {
    "--bundle", bundle, "--idle-timeout", "30", NULL });
  g_unsetenv ("CLOCHE_TEST_KVM_FAULT");

  window = g_object_ref (cloche_test_ui_new_window ());
  page = cloche_test_ui_child (window, "overview_page");
  notice = cloche_test_ui_child (page, "fallback_box");
  gtk_window_present (GTK_WINDOW (window));
  wait_for_state (page, "Stopped", SHORT_TIMEOUT_S);
  wait_for_label (cloche_test_ui_child (page, "accelerator_label"), "KVM", SHORT_TIMEOUT_S);
  g_assert_false (gtk_widget_get_visible (notice));

  toggle_agent_mode (page, cloche_test_ui_child (page, "open_button"),
                     cloche_test_ui_child (page, "close_button"), BOOT_TIMEOUT_S);
  wait_for_state (page, "Running", BOOT_TIMEOUT_S);
  g_assert_true (wait_for (is_visible, notice, SHORT_TIMEOUT_S));
  wait_for_label (cloche_test_ui_child (page, "accelerator_label"), "Software (TCG)",
                  SHORT_TIMEOUT_S);
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (cloche_test_ui_child (page, "accelerator_row")),
                            "KVM is present but cannot run guests here"));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (cloche_test_ui_child (page, "error_label"))));
  cloche_test_save_screenshot (GTK_WIDGET (window), "overview-kvm-fallback");

  /* The notice leads to Diagnostics, where the doctor says why and what to do. */
  g_assert_true (gtk_widget_activate_action (notice, "win.show-page", "s", "diagnostics"));
  diagnostics = GTK_WIDGET (cloche_test_ui_child (window, "diagnostics_page"));
  /* It may have run its checks before the boot: run them again, as a user would. */
  wait_for (is_mapped, diagnostics, SHORT_TIMEOUT_S);
  gtk_widget_activate_action (diagnostics, "diagnostics.run", NULL);
  g_assert_true (wait_for (find_kvm_warning, diagnostics, SHORT_TIMEOUT_S));
  cloche_test_save_screenshot (GTK_WIDGET (window), "diagnostics-kvm-fallback");
  g_assert_true (gtk_widget_activate_action (notice, "win.show-page", "s", "overview"));

  toggle_agent_mode (page, cloche_test_ui_child (page, "close_button"),
                     cloche_test_ui_child (page, "open_button"), SHORT_TIMEOUT_S);
  cloche_test_ui_destroy_window (GTK_WIDGET (window));
  stop_daemon (daemon);
}

static void
load_app_style (void)
{
  g_autoptr(GtkCssProvider) provider = gtk_css_provider_new ();

  /* What AdwApplication does for the app, so the page looks the same here. */
  gtk_css_provider_load_from_resource (provider, "/io/github/cloche/Cloche/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *display = g_strdup (g_getenv ("DISPLAY"));
  int ret;

  /* A private bus before anything connects to the session bus, libadwaita's
   * settings portal lookup included. It unsets DISPLAY against X11
   * autolaunch of a bus; this test needs the display Xvfb gave it. */
  test_bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (test_bus);
  if (display != NULL)
    g_setenv ("DISPLAY", display, TRUE);

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  load_app_style ();

  g_test_add_func ("/window/no-service", test_window_no_service);
  g_test_add_func ("/window/daemon-restart", test_window_daemon_restart);
  g_test_add_func ("/window/remembers-size", test_window_remembers_size);
  g_test_add_func ("/window/page-shortcuts", test_window_page_shortcuts);
  g_test_add_func ("/window/sidebar-keys", test_window_sidebar_keys);
  g_test_add_func ("/window/agent-mode", test_window_agent_mode);
  g_test_add_func ("/window/kvm-fallback", test_window_kvm_fallback);

  ret = g_test_run ();

  /* libadwaita keeps its settings proxy, and so the bus connection, to the
   * end: g_test_dbus_down(), which unreffing a running GTestDBus also does,
   * would wait for it in vain. Stop the bus and let the process end. */
  g_test_dbus_stop (test_bus);

  return ret;
}
