/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Overview: the sandbox at a glance, and agent mode, its one primary
 * action. Tiles for the VM (state, accelerator, uptime, Stop), memory (with
 * a sparkline), disk, the open sessions with their folders and modes,
 * egress and stale sessions; each leads to its page (a row with a chevron
 * is activatable and shows that page, keyboard too).
 *
 * Its rules: every figure comes from the daemon, through what the window
 * keeps (the client's properties, the monitor history, the session summary,
 * the egress log) and is redrawn when they say it changed; the page keeps
 * no copy that could outlive its cause. Nothing here blocks: calls are
 * async and cancelled when the page or its client goes.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-agent-mode.h"
#include "cloche-agent-mode-dialog.h"
#include "cloche-error.h"
#include "cloche-launch-item.h"
#include "cloche-open-session-row.h"
#include "cloche-overview-page.h"
#include "cloche-sparkline.h"

struct _ClocheOverviewPage
{
  AdwBin         parent_instance;

  ClocheClient  *client;
  GSignalGroup  *client_signals;
  ClocheMonitorHistory *monitor_history;
  GSignalGroup  *history_signals;
  ClocheSessionSummary *session_summary;
  GSignalGroup  *summary_signals;
  ClocheEgressLog *egress_log;
  GSignalGroup  *log_signals;
  GCancellable  *free_cancellable;   /* while free space is asked for */
  char          *service_error;
  char          *session_id;
  GStrv          agent_command;   /* what agent mode runs (the chooser's); NULL: a shell */
  char          *agent;           /* the chooser's agent profile, or NULL */
  /* The cause of the last failed call; error_on_close says which call. */
  char          *error_cause;
  /* Set only while an open or close call is pending. */
  GCancellable  *cancellable;
  guint          uptime_source;
  /* The daemon's io.github.cloche.Bundle: whether there is a bundle to boot. */
  ClocheDbusBundle *bundle;
  guint          error_on_close : 1;
  /* The last open failed for want of a bundle (until the daemon says one is
   * installed): the button offers to install one. */
  guint          open_found_no_bundle : 1;
  guint          refocus : 1;

  GtkStack      *stack;
  AdwStatusPage *unavailable_page;
  GtkWidget     *crash_box;
  GtkLabel      *crash_reason_label;
  GtkWidget     *console_frame;
  GtkLabel      *console_label;
  GtkImage      *state_icon;
  GtkLabel      *state_label;
  AdwActionRow  *accelerator_row;
  GtkLabel      *accelerator_label;
  GtkWidget     *fallback_box;
  GtkLabel      *uptime_label;
  AdwActionRow  *state_row;
  GtkWidget     *stop_button;
  GtkLabel      *sessions_label;
  AdwPreferencesGroup *sessions_group;
  GtkListBox    *open_list;
  GtkLabel      *memory_label;
  GtkLabel      *guest_label;
  GtkLabel      *bundle_label;
  GtkLabel      *sessions_disk_label;
  AdwActionRow  *free_row;
  GtkLabel      *free_label;
  GtkLabel      *default_rule_label;
  GtkLabel      *allowed_label;
  AdwActionRow  *denied_row;
  GtkLabel      *denied_label;
  AdwActionRow  *stale_row;
  GtkWidget     *cleanup_button;
  AdwActionRow  *last_cleanup_row;
  GtkStack      *agent_stack;
  GtkWidget     *open_button;
  GtkSpinner    *open_spinner;
  GtkWidget     *close_button;
  GtkWidget     *terminal_button;
  GtkWidget     *install_button;
  GtkLabel      *error_label;
  GtkWidget     *finding_box;
  GtkLabel      *finding_title_label;
  GtkLabel      *finding_code_label;
  GtkLabel      *finding_label;
  GtkLabel      *finding_fix_label;
};

G_DEFINE_FINAL_TYPE (ClocheOverviewPage, cloche_overview_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_CLIENT,
  PROP_SERVICE_ERROR,
  PROP_MONITOR_HISTORY,
  PROP_LATEST_FINDING,
  PROP_SESSION_SUMMARY,
  PROP_EGRESS_LOG,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const struct {
  const char *label;
  const char *icon_name;
  const char *css_class;
} state_looks[] = {
  [CLOCHE_VM_STATE_STOPPED] = { N_("Stopped"), "media-playback-stop-symbolic", "dim-label" },
  [CLOCHE_VM_STATE_STARTING] = { N_("Starting…"), "content-loading-symbolic", "accent" },
  [CLOCHE_VM_STATE_RUNNING] = { N_("Running"), "emblem-ok-symbolic", "success" },
  [CLOCHE_VM_STATE_STOPPING] = { N_("Stopping…"), "content-loading-symbolic", "accent" },
  [CLOCHE_VM_STATE_CRASHED] = { N_("Crashed"), "dialog-error-symbolic", "error" },
};

static ClocheVmState
cloche_overview_page_get_state (ClocheOverviewPage *self)
{
  if (self->client == NULL)
    return CLOCHE_VM_STATE_STOPPED;

  return cloche_client_get_state (self->client);
}

static gboolean
cloche_overview_page_is_ready (ClocheOverviewPage *self)
{
  return self->client != NULL
         && self->service_error == NULL
         && cloche_client_get_service_running (self->client);
}

static void
cloche_overview_page_show_unavailable (ClocheOverviewPage *self,
                                       const char         *cause)
{
  g_autofree char *description = NULL;

  description = g_strdup_printf (_("The Cloche service is not running: %s"), cause);
  adw_status_page_set_description (self->unavailable_page, description);
  gtk_stack_set_visible_child_name (self->stack, "unavailable");
}

static void
cloche_overview_page_update_view (ClocheOverviewPage *self)
{
  if (self->service_error != NULL)
    cloche_overview_page_show_unavailable (self, self->service_error);
  else if (self->client == NULL)
    gtk_stack_set_visible_child_name (self->stack, "connecting");
  else if (!cloche_client_get_service_running (self->client))
    /* Translators: completes “The Cloche service is not running: %s” */
    cloche_overview_page_show_unavailable (self, _("it has exited."));
  else
    gtk_stack_set_visible_child_name (self->stack, "overview");
}

static void
cloche_overview_page_show_error (ClocheOverviewPage *self)
{
  g_autofree char *text = NULL;
  const char *cause = self->error_cause;
  const char *reason;

  gtk_widget_set_visible (GTK_WIDGET (self->error_label), cause != NULL);
  if (cause == NULL)
    return;

  /* For a crash the daemon says the state reason, then the console tail,
   * which the crash report above already shows in full. */
  if (cloche_overview_page_get_state (self) == CLOCHE_VM_STATE_CRASHED)
    {
      reason = cloche_client_get_state_reason (self->client);
      if (*reason != '\0' && g_str_has_prefix (cause, reason))
        cause = reason;
    }

  if (self->error_on_close)
    text = g_strdup_printf (_("Could not close agent mode: %s"), cause);
  else
    text = g_strdup_printf (_("Could not open agent mode: %s"), cause);
  gtk_label_set_label (self->error_label, text);
}

static void
cloche_overview_page_set_error (ClocheOverviewPage *self,
                                const GError       *error,
                                gboolean            on_close)
{
  g_free (self->error_cause);
  self->error_cause = error != NULL ? g_strdup (error->message) : NULL;
  self->error_on_close = on_close;
  cloche_overview_page_show_error (self);
}

/* Only what the daemon said counts: a proxy whose daemon is not up yet has
 * no Installed at all, and that is not "missing". A failed open knows
 * better than an Installed that was true (files deleted by hand). */
static gboolean
cloche_overview_page_bundle_missing (ClocheOverviewPage *self)
{
  g_autoptr(GVariant) installed = NULL;

  if (self->open_found_no_bundle)
    return TRUE;
  if (self->bundle == NULL)
    return FALSE;
  installed = g_dbus_proxy_get_cached_property (G_DBUS_PROXY (self->bundle), "Installed");
  return installed != NULL && !g_variant_get_boolean (installed);
}

static void
cloche_overview_page_update_actions (ClocheOverviewPage *self)
{
  gboolean idle = cloche_overview_page_is_ready (self) && self->cancellable == NULL;
  gboolean open = self->session_id != NULL;
  gboolean missing = !open && cloche_overview_page_bundle_missing (self);
  gboolean busy;
  GtkWidget *shown = open ? self->close_button
                     : missing ? self->install_button : self->open_button;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "overview.open-agent-mode",
                                 idle && !open && !missing);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "overview.close-agent-mode",
                                 idle && open);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "overview.install-bundle", missing);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "overview.stop-vm",
                                 cloche_overview_page_is_ready (self)
                                 && (cloche_overview_page_get_state (self) == CLOCHE_VM_STATE_RUNNING
                                     || cloche_overview_page_get_state (self) == CLOCHE_VM_STATE_STARTING));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "overview.open-terminal", open);
  gtk_stack_set_visible_child (self->agent_stack, shown);

  /* A disabled button loses the focus; give it back once the call is done
   * so a keyboard user can toggle agent mode twice without hunting for it. */
  if (self->refocus && self->cancellable == NULL)
    {
      self->refocus = FALSE;
      gtk_widget_grab_focus (shown);
    }

  busy = (self->cancellable != NULL && !open)
         || cloche_overview_page_get_state (self) == CLOCHE_VM_STATE_STARTING;
  gtk_widget_set_visible (GTK_WIDGET (self->open_spinner), busy);
  gtk_spinner_set_spinning (self->open_spinner, busy);
}

static void
cloche_overview_page_update_crash_cb (ClocheOverviewPage *self)
{
  const char * const *tail = NULL;
  g_autofree char *console = NULL;
  const char *reason = NULL;

  cloche_overview_page_show_error (self);
  if (cloche_overview_page_get_state (self) != CLOCHE_VM_STATE_CRASHED)
    {
      gtk_widget_set_visible (self->crash_box, FALSE);
      return;
    }

  reason = cloche_client_get_state_reason (self->client);
  if (reason == NULL || *reason == '\0')
    reason = _("The virtual machine stopped unexpectedly.");
  tail = cloche_client_get_console_tail (self->client);
  console = g_strjoinv ("\n", (char **) tail);

  gtk_label_set_label (self->crash_reason_label, reason);
  gtk_label_set_label (self->console_label, console);
  gtk_widget_set_visible (self->console_frame, *console != '\0');
  gtk_widget_set_visible (self->crash_box, TRUE);
}

static char *
cloche_overview_page_format_uptime (gint64 seconds)
{
  guint days = seconds / (24 * 3600);
  guint hours = (seconds / 3600) % 24;
  guint minutes = (seconds / 60) % 60;
  guint secs = seconds % 60;

  if (days == 0)
    return g_strdup_printf ("%u:%02u:%02u", hours, minutes, secs);

  return g_strdup_printf (ngettext ("%u day, %u:%02u:%02u",
                                    "%u days, %u:%02u:%02u", days),
                          days, hours, minutes, secs);
}

static gboolean
cloche_overview_page_is_counting (ClocheOverviewPage *self)
{
  return cloche_overview_page_get_state (self) == CLOCHE_VM_STATE_RUNNING
         && cloche_client_get_booted_at (self->client) > 0;
}

/* With no session open the VM stops by itself: say until when, so a
 * user knows it is not left running (the Stop button is for now). */
static void
cloche_overview_page_show_idle_stop (ClocheOverviewPage *self)
{
  ClocheDbusDaemon *proxy = self->client != NULL ? cloche_client_get_proxy (self->client) : NULL;
  gint64 at = proxy != NULL ? cloche_dbus_daemon_get_idle_stop_at (proxy) : 0;
  g_autofree char *text = NULL;
  gint64 left;

  if (at > 0 && cloche_overview_page_is_counting (self))
    {
      left = MAX (0, (at - g_get_real_time ()) / G_USEC_PER_SEC);
      /* Translators: minutes and seconds until the idle VM stops, e.g. “Stops in 4:32 …” */
      text = g_strdup_printf (_("Stops in %u:%02u unless a session opens"),
                              (guint) (left / 60), (guint) (left % 60));
    }
  adw_action_row_set_subtitle (self->state_row, text != NULL ? text : "");
}

static void
cloche_overview_page_show_uptime (ClocheOverviewPage *self)
{
  g_autofree char *text = NULL;
  gint64 elapsed;

  cloche_overview_page_show_idle_stop (self);
  if (!cloche_overview_page_is_counting (self))
    {
      gtk_label_set_label (self->uptime_label, _("Not running"));
      return;
    }

  /* BootedAt is wall-clock time from the daemon; a clock set back must not
   * show a negative uptime. */
  elapsed = (g_get_real_time () - cloche_client_get_booted_at (self->client))
            / G_USEC_PER_SEC;
  text = cloche_overview_page_format_uptime (MAX (elapsed, 0));
  gtk_label_set_label (self->uptime_label, text);
}

static gboolean
cloche_overview_page_uptime_tick_cb (gpointer user_data)
{
  cloche_overview_page_show_uptime (CLOCHE_OVERVIEW_PAGE (user_data));

  return G_SOURCE_CONTINUE;
}

static void
cloche_overview_page_update_uptime_cb (ClocheOverviewPage *self)
{
  /* The timer lives only while the VM runs, so a stopped sandbox costs the
   * dashboard no wake-ups at all. */
  if (!cloche_overview_page_is_counting (self))
    g_clear_handle_id (&self->uptime_source, g_source_remove);
  else if (self->uptime_source == 0)
    {
      self->uptime_source = g_timeout_add (1000, cloche_overview_page_uptime_tick_cb, self);
      g_source_set_name_by_id (self->uptime_source, "[cloche] uptime");
    }

  cloche_overview_page_show_uptime (self);
}

static void
cloche_overview_page_update_state_cb (ClocheOverviewPage *self)
{
  ClocheVmState state = cloche_overview_page_get_state (self);
  const char *classes[] = { state_looks[state].css_class, NULL };

  gtk_label_set_label (self->state_label, _(state_looks[state].label));
  gtk_image_set_from_icon_name (self->state_icon, state_looks[state].icon_name);
  gtk_widget_set_css_classes (GTK_WIDGET (self->state_icon), classes);

  cloche_overview_page_update_crash_cb (self);
  cloche_overview_page_update_uptime_cb (self);
  cloche_overview_page_update_actions (self);
}

static void
cloche_overview_page_update_accelerator_cb (ClocheOverviewPage *self)
{
  const char *name = cloche_client_get_accelerator (self->client);
  const char *label = name;

  if (g_strcmp0 (name, "kvm") == 0)
    label = _("KVM");
  else if (g_strcmp0 (name, "tcg") == 0)
    label = _("Software (TCG)");
  else if (name == NULL || *name == '\0')
    label = _("Unknown");

  gtk_label_set_label (self->accelerator_label, label);
  adw_action_row_set_subtitle (self->accelerator_row,
                               cloche_client_get_accelerator_reason (self->client));
  /* The reason quotes QEMU; the notice says what it means for the user. */
  gtk_widget_set_visible (self->fallback_box,
                          cloche_client_get_accelerator_fallback (self->client));
}

/* The open sessions, newest at the bottom; a read-write folder is said in
 * the group's description too, so it shows even when the list scrolls. */
static void
cloche_overview_page_update_sessions_cb (ClocheOverviewPage *self)
{
  GPtrArray *open = self->session_summary != NULL
                    ? cloche_session_summary_get_open (self->session_summary) : NULL;
  ClocheDbusDaemon *proxy = self->client != NULL ? cloche_client_get_proxy (self->client) : NULL;
  const char *own_name = proxy != NULL
                         ? g_dbus_connection_get_unique_name (g_dbus_proxy_get_connection (G_DBUS_PROXY (proxy)))
                         : NULL;
  g_autofree char *count = NULL;
  guint writable = 0;
  GtkWidget *child;

  count = g_strdup_printf ("%u", self->client != NULL ? cloche_client_get_open_sessions (self->client) : 0);
  gtk_label_set_label (self->sessions_label, count);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->open_list))) != NULL
         && GTK_IS_LIST_BOX_ROW (child))
    gtk_list_box_remove (self->open_list, child);
  for (guint i = 0; open != NULL && i < open->len; i++)
    {
      GtkWidget *row = cloche_open_session_row_new (g_ptr_array_index (open, i), own_name);

      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      writable += cloche_open_session_row_get_writable (CLOCHE_OPEN_SESSION_ROW (row));
      gtk_list_box_append (self->open_list, row);
    }
  adw_preferences_group_set_description (
    self->sessions_group,
    writable == 0 ? NULL
    : g_dngettext (GETTEXT_PACKAGE, "One session can change files on this computer",
                   "Some sessions can change files on this computer", writable));
}

/* Every open session row leads to the Sessions page. */
static void
cloche_overview_page_open_row_activated_cb (ClocheOverviewPage *self,
                                            GtkListBoxRow      *row,
                                            GtkListBox         *list)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "win.show-page", "s", "sessions");
}

/* When the last cleanup ran, what it removed and freed: the daemon's
 * Sessions.LastCleanup, kept across its restarts. */
static char *
cloche_overview_page_format_last_cleanup (ClocheOverviewPage *self)
{
  ClocheDbusSessions *proxy = self->client != NULL ? cloche_client_get_sessions (self->client)
                                                   : NULL;
  GVariant *record = proxy != NULL ? cloche_dbus_sessions_get_last_cleanup (proxy) : NULL;
  g_autoptr(GDateTime) when = NULL;
  g_autofree char *date = NULL, *bytes = NULL;
  gint64 time = 0;
  guint removed = 0;
  guint64 freed = 0;

  if (record == NULL || !g_variant_lookup (record, "time", "x", &time)
      || !g_variant_lookup (record, "removed", "u", &removed)
      || !g_variant_lookup (record, "freed", "t", &freed)
      || (when = g_date_time_new_from_unix_local (time / G_USEC_PER_SEC)) == NULL)
    return g_strdup (_("Never"));
  /* Translators: when the last cleanup ran, in g_date_time_format()'s notation */
  date = g_date_time_format (when, _("%b %-d, %H:%M"));
  bytes = g_format_size (freed);
  /* Translators: e.g. “Dec 7, 18:40: 3 sessions removed, 1.2 MB freed” */
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s: %u session removed, %s freed",
                                       "%s: %u sessions removed, %s freed", removed),
                          date, removed, bytes);
}

static void
cloche_overview_page_update_stale_cb (ClocheOverviewPage *self)
{
  g_autofree char *last = cloche_overview_page_format_last_cleanup (self);

  ClocheSessionSummary *summary = self->session_summary;
  guint count = summary != NULL ? cloche_session_summary_get_stale_count (summary) : 0;
  g_autofree char *bytes = NULL;
  g_autofree char *text = NULL;

  if (summary == NULL || !cloche_session_summary_get_known (summary))
    text = g_strdup ("");
  else if (count == 0)
    text = g_strdup (_("None"));
  else
    {
      bytes = g_format_size (cloche_session_summary_get_stale_bytes (summary));
      /* Translators: e.g. “3 sessions, 1.2 MB” */
      text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u session, %s", "%u sessions, %s",
                                           count), count, bytes);
    }
  adw_action_row_set_subtitle (self->stale_row, text);
  gtk_widget_set_sensitive (self->cleanup_button, count > 0);
  adw_action_row_set_subtitle (self->last_cleanup_row, last);
}

static void
cloche_overview_page_update_memory_cb (ClocheOverviewPage *self)
{
  ClocheMonitorHistory *history = self->monitor_history;
  const ClocheMonitorSample *latest = history ? cloche_monitor_history_get_latest (history) : NULL;
  gboolean sampling = history != NULL && cloche_monitor_history_get_sampling (history);
  g_autofree char *memory = NULL, *used = NULL, *total = NULL, *guest = NULL;

  /* The VM can be up a second before its first sample arrives. */
  if (sampling && latest != NULL)
    memory = g_format_size (latest->host_rss);
  else if (cloche_overview_page_get_state (self) == CLOCHE_VM_STATE_RUNNING)
    memory = g_strdup (_("Measuring…"));
  else
    memory = g_strdup (_("Not running"));
  gtk_label_set_label (self->memory_label, memory);

  if (sampling && latest != NULL && latest->has_guest)
    {
      used = g_format_size (latest->guest_used);
      total = g_format_size (latest->guest_total);
      /* Translators: guest memory used of its total, e.g. “120 MB of 3.8 GB” */
      guest = g_strdup_printf (_("%s of %s"), used, total);
    }
  gtk_label_set_label (self->guest_label, guest != NULL ? guest : "—");
}

static void cloche_overview_page_query_free (ClocheOverviewPage *self);

static void
cloche_overview_page_update_disk_cb (ClocheOverviewPage *self)
{
  ClocheMonitorHistory *history = self->monitor_history;
  g_autofree char *bundle = NULL, *sessions = NULL;

  if (history == NULL)
    return;
  if (cloche_overview_page_bundle_missing (self))
    bundle = g_strdup (_("Not installed"));
  else
    bundle = g_format_size (cloche_monitor_history_get_disk_bundle (history));
  sessions = g_format_size (cloche_monitor_history_get_disk_sessions (history));
  gtk_label_set_label (self->bundle_label, bundle);
  gtk_label_set_label (self->sessions_disk_label, sessions);
  cloche_overview_page_query_free (self);
}

static void
cloche_overview_page_update_resources (ClocheOverviewPage *self)
{
  cloche_overview_page_update_memory_cb (self);
  cloche_overview_page_update_disk_cb (self);
}

static void
cloche_overview_page_free_cb (GObject      *object,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  ClocheOverviewPage *self = user_data;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) parent = NULL;
  g_autofree char *free_text = NULL;

  info = g_file_query_filesystem_info_finish (G_FILE (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* the page went; it touched nothing since */
  /* No session made yet, so no folder: the disk it will be made on. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
      && (parent = g_file_get_parent (G_FILE (object))) != NULL)
    {
      g_file_query_filesystem_info_async (parent, G_FILE_ATTRIBUTE_FILESYSTEM_FREE,
                                          G_PRIORITY_DEFAULT, self->free_cancellable,
                                          cloche_overview_page_free_cb, self);
      return;
    }
  g_clear_object (&self->free_cancellable);
  /* A sandboxed app may not see the daemon's folder: then it says nothing. */
  gtk_widget_set_visible (GTK_WIDGET (self->free_row), info != NULL);
  if (info == NULL)
    return;
  free_text = g_format_size (g_file_info_get_attribute_uint64 (info,
                                                               G_FILE_ATTRIBUTE_FILESYSTEM_FREE));
  gtk_label_set_label (self->free_label, free_text);
}

/* The free space where sessions grow, asked again when their size changes. */
static void
cloche_overview_page_query_free (ClocheOverviewPage *self)
{
  ClocheDbusSessions *proxy = self->client != NULL ? cloche_client_get_sessions (self->client)
                                                   : NULL;
  const char *path = proxy != NULL ? cloche_dbus_sessions_get_sessions_path (proxy) : NULL;
  g_autoptr(GFile) folder = NULL;

  if (self->free_cancellable != NULL || path == NULL || !g_path_is_absolute (path))
    return;
  folder = g_file_new_for_path (path);
  self->free_cancellable = g_cancellable_new ();
  g_file_query_filesystem_info_async (folder, G_FILE_ATTRIBUTE_FILESYSTEM_FREE,
                                      G_PRIORITY_DEFAULT, self->free_cancellable,
                                      cloche_overview_page_free_cb, self);
}

/* Denials in the last hour, the newest named; the log is newest first. */
static void
cloche_overview_page_update_denials (ClocheOverviewPage *self)
{
  GListModel *decisions = cloche_egress_log_get_decisions (self->egress_log);
  gint64 since = g_get_real_time () - G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC;
  g_autoptr(ClocheEgressItem) latest = NULL;
  g_autofree char *count_text = NULL;
  g_autofree char *latest_text = NULL;
  guint count = 0;

  for (guint i = 0; i < g_list_model_get_n_items (decisions); i++)
    {
      g_autoptr(ClocheEgressItem) item = g_list_model_get_item (decisions, i);

      if (cloche_egress_item_get_time (item) < since)
        break;
      if (cloche_egress_item_get_allowed (item))
        continue;
      count++;
      if (latest == NULL)
        latest = g_steal_pointer (&item);
    }
  count_text = g_strdup_printf ("%u", count);
  gtk_label_set_label (self->denied_label, count_text);
  if (latest != NULL)
    /* Translators: the newest denied request, e.g. “Latest: example.com:443” */
    latest_text = g_strdup_printf (_("Latest: %s:%u"), cloche_egress_item_get_host (latest),
                                   cloche_egress_item_get_port (latest));
  adw_action_row_set_subtitle (self->denied_row, latest_text != NULL ? latest_text : "");
}

static void
cloche_overview_page_update_denials_if_available (ClocheOverviewPage *self)
{
  if (self->egress_log != NULL && cloche_egress_log_get_available (self->egress_log))
    cloche_overview_page_update_denials (self);
}

static void
cloche_overview_page_update_egress_cb (ClocheOverviewPage *self)
{
  const char * const *rules = NULL;
  const char *rule = NULL;
  g_autofree char *allowed = NULL;
  guint hosts = 0;

  if (self->egress_log == NULL || !cloche_egress_log_get_available (self->egress_log))
    {
      gtk_label_set_label (self->default_rule_label, "—");
      gtk_label_set_label (self->allowed_label, "—");
      gtk_label_set_label (self->denied_label, "—");
      return;
    }
  rule = cloche_egress_log_get_default_rule (self->egress_log);
  gtk_label_set_label (self->default_rule_label,
                       g_strcmp0 (rule, "allow") == 0 ? _("Allow") : _("Deny"));
  rules = cloche_egress_log_get_rules (self->egress_log);
  for (guint i = 0; rules != NULL && rules[i] != NULL; i++)
    hosts += g_str_has_prefix (rules[i], "allow ");
  allowed = g_strdup_printf ("%u", hosts);
  gtk_label_set_label (self->allowed_label, allowed);
  cloche_overview_page_update_denials (self);
}

static void
cloche_overview_page_update_service_cb (ClocheOverviewPage *self)
{
  cloche_overview_page_update_view (self);
  cloche_overview_page_update_actions (self);
}

static void
cloche_overview_page_update_all (ClocheOverviewPage *self)
{
  cloche_overview_page_update_service_cb (self);
  if (self->client == NULL)
    return;

  cloche_overview_page_update_state_cb (self);
  cloche_overview_page_update_accelerator_cb (self);
  cloche_overview_page_update_sessions_cb (self);
  cloche_overview_page_update_stale_cb (self);
  cloche_overview_page_update_resources (self);
  cloche_overview_page_update_egress_cb (self);
}

static void
cloche_overview_page_cancel_call (ClocheOverviewPage *self)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
}

static void
cloche_overview_page_open_cb (GObject      *object,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  g_autoptr(ClocheOverviewPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  id = cloche_agent_mode_open_finish (CLOCHE_CLIENT (object), result, &error);
  /* Cancelled means the page went away or the client was replaced; whoever
   * cancelled has already reset the page. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  g_clear_object (&self->cancellable);
  cloche_overview_page_set_error (self, error, FALSE);
  /* Removed since the page last heard, or never installed: say so (the
   * daemon's message) and offer the install in place of the open. */
  if (g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_MISSING))
    self->open_found_no_bundle = TRUE;
  g_free (self->session_id);
  self->session_id = g_steal_pointer (&id);
  cloche_overview_page_update_actions (self);
  /* Agent mode leads to a terminal in its session, running what was chosen,
   * in the tab that has been saying it starts. */
  if (self->session_id != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "win.run-terminal", "(s^ass)",
                                self->session_id,
                                self->agent_command != NULL ? self->agent_command
                                                            : (char *[]) { NULL },
                                self->agent != NULL ? self->agent : "");
  else if (error != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "win.agent-mode-failed", NULL);
}

static void
cloche_overview_page_terminal_action (GtkWidget  *widget,
                                      const char *action_name,
                                      GVariant   *parameter)
{
  ClocheOverviewPage *self = CLOCHE_OVERVIEW_PAGE (widget);

  g_return_if_fail (self->session_id != NULL);
  gtk_widget_activate_action (widget, "win.open-terminal", "s", self->session_id);
}

/* The chooser answered: the folders and what to run, or nothing (closed). */
static void
cloche_overview_page_chosen_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(ClocheOverviewPage) self = user_data;
  g_autoptr(GVariant) mounts = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheLaunchItem) item = NULL;
  GStrv argv = NULL;

  if (!cloche_agent_mode_choose_finish (result, &mounts, &argv, &item, &error))
    {
      /* Closed, or the page went: whoever cancelled has reset the page. */
      if (self->cancellable != NULL && !g_cancellable_is_cancelled (self->cancellable))
        {
          g_clear_object (&self->cancellable);
          cloche_overview_page_update_actions (self);
        }
      return;
    }
  g_strfreev (self->agent_command);
  self->agent_command = argv;
  g_free (self->agent);
  self->agent = item != NULL ? g_strdup (cloche_launch_item_get_agent (item)) : NULL;
  gtk_widget_activate_action (GTK_WIDGET (self), "win.agent-mode-starting", NULL);
  cloche_agent_mode_open_folders_async (self->client, mounts,
                                        item != NULL ? cloche_launch_item_get_hosts (item) : NULL,
                                        self->cancellable, cloche_overview_page_open_cb,
                                        g_object_ref (self));
}

static void
cloche_overview_page_open_action (GtkWidget  *widget,
                                  const char *action_name,
                                  GVariant   *parameter)
{
  ClocheOverviewPage *self = CLOCHE_OVERVIEW_PAGE (widget);
  g_autoptr(GListStore) launchers = NULL;
  ClocheDbusPolicy *policy;
  const char * const *locked;

  g_return_if_fail (self->client != NULL);
  g_return_if_fail (self->cancellable == NULL);

  cloche_overview_page_set_error (self, NULL, FALSE);
  self->refocus = gtk_widget_is_focus (self->open_button);
  self->cancellable = g_cancellable_new ();
  policy = cloche_client_get_policy (self->client);
  locked = policy != NULL ? cloche_dbus_policy_get_locked (policy) : NULL;
  launchers = cloche_launch_item_list_default (locked);
  cloche_agent_mode_choose_async (widget, G_LIST_MODEL (launchers), self->cancellable,
                                  cloche_overview_page_chosen_cb, g_object_ref (self));
  cloche_overview_page_update_actions (self);
}

/* The Bundle page has the install flow: source, size, place, progress. */
static void
cloche_overview_page_install_action (GtkWidget  *widget,
                                     const char *action_name,
                                     GVariant   *parameter)
{
  gtk_widget_activate_action (widget, "win.show-page", "s", "bundle");
}

static void
cloche_overview_page_bundle_changed_cb (ClocheOverviewPage *self,
                                        GVariant           *changed,
                                        const char * const *invalidated)
{
  g_autoptr(GVariant) installed = g_variant_lookup_value (changed, "Installed",
                                                          G_VARIANT_TYPE_BOOLEAN);

  /* Only news of an install clears what a failed open found. */
  if (installed != NULL && g_variant_get_boolean (installed))
    {
      self->open_found_no_bundle = FALSE;
      /* The error said to install one; that is done. */
      if (!self->error_on_close)
        cloche_overview_page_set_error (self, NULL, FALSE);
    }
  cloche_overview_page_update_actions (self);
  cloche_overview_page_update_disk_cb (self);
}

/* The client's io.github.cloche.Bundle: without it (no client yet) the
 * page still works, it just cannot tell a missing bundle before an open
 * says so. */
static void
cloche_overview_page_connect_bundle (ClocheOverviewPage *self)
{
  ClocheDbusBundle *bundle = self->client != NULL ? cloche_client_get_bundle (self->client) : NULL;

  if (self->bundle != NULL)
    g_signal_handlers_disconnect_by_data (self->bundle, self);
  g_set_object (&self->bundle, bundle);
  self->open_found_no_bundle = FALSE;
  if (bundle != NULL)
    g_signal_connect_object (bundle, "g-properties-changed",
                             G_CALLBACK (cloche_overview_page_bundle_changed_cb), self,
                             G_CONNECT_SWAPPED);
  cloche_overview_page_update_actions (self);
}

static void
cloche_overview_page_close_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  g_autoptr(ClocheOverviewPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (cloche_client_close_session_finish (CLOCHE_CLIENT (object), result, &error)
      || g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND))
    g_clear_pointer (&self->session_id, g_free);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  else
    cloche_overview_page_set_error (self, error, TRUE);

  g_clear_object (&self->cancellable);
  cloche_overview_page_update_actions (self);
}

static void
cloche_overview_page_close_action (GtkWidget  *widget,
                                   const char *action_name,
                                   GVariant   *parameter)
{
  ClocheOverviewPage *self = CLOCHE_OVERVIEW_PAGE (widget);

  g_return_if_fail (self->client != NULL);
  g_return_if_fail (self->session_id != NULL);
  g_return_if_fail (self->cancellable == NULL);

  cloche_overview_page_set_error (self, NULL, TRUE);
  self->refocus = gtk_widget_is_focus (self->close_button);
  self->cancellable = g_cancellable_new ();
  cloche_client_close_session_async (self->client, self->session_id, self->cancellable,
                                     cloche_overview_page_close_cb, g_object_ref (self));
  cloche_overview_page_update_actions (self);
}

static void
cloche_overview_page_stop_cb (GObject      *object,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  g_autoptr(ClocheOverviewPage) self = user_data;
  g_autoptr(GError) error = NULL;

  /* The state that follows says the rest; only a refusal needs words. */
  if (!cloche_dbus_daemon_call_stop_vm_finish (CLOCHE_DBUS_DAEMON (object), result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_prefix_error (&error, _("Could not stop the virtual machine: "));
      gtk_label_set_label (self->error_label, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
    }
}

/* The VM idles down on its own; Stop is for a user who wants the memory
 * back now. Open sessions stay open (the next command boots it again). */
static void
cloche_overview_page_stop_action (GtkWidget  *widget,
                                  const char *action_name,
                                  GVariant   *parameter)
{
  ClocheOverviewPage *self = CLOCHE_OVERVIEW_PAGE (widget);

  g_return_if_fail (self->client != NULL);
  cloche_dbus_daemon_call_stop_vm (cloche_client_get_proxy (self->client), NULL,
                                   cloche_overview_page_stop_cb, g_object_ref (self));
}

static void
cloche_overview_page_dispose (GObject *object)
{
  ClocheOverviewPage *self = (ClocheOverviewPage *) object;

  cloche_overview_page_cancel_call (self);
  if (self->bundle != NULL)
    g_signal_handlers_disconnect_by_data (self->bundle, self);
  g_clear_object (&self->bundle);
  g_clear_handle_id (&self->uptime_source, g_source_remove);
  if (self->client_signals != NULL)
    g_signal_group_set_target (self->client_signals, NULL);
  g_clear_object (&self->client_signals);
  g_clear_object (&self->client);
  if (self->history_signals != NULL)
    g_signal_group_set_target (self->history_signals, NULL);
  g_clear_object (&self->history_signals);
  g_clear_object (&self->monitor_history);
  g_cancellable_cancel (self->free_cancellable);
  g_clear_object (&self->free_cancellable);
  if (self->summary_signals != NULL)
    g_signal_group_set_target (self->summary_signals, NULL);
  g_clear_object (&self->summary_signals);
  g_clear_object (&self->session_summary);
  if (self->log_signals != NULL)
    g_signal_group_set_target (self->log_signals, NULL);
  g_clear_object (&self->log_signals);
  g_clear_object (&self->egress_log);

  /* The stack is both AdwBin's child and a template child: let AdwBin drop
   * it first, or the template would unparent it under AdwBin's feet. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), CLOCHE_TYPE_OVERVIEW_PAGE);

  G_OBJECT_CLASS (cloche_overview_page_parent_class)->dispose (object);
}

static void
cloche_overview_page_finalize (GObject *object)
{
  ClocheOverviewPage *self = (ClocheOverviewPage *) object;

  g_clear_pointer (&self->service_error, g_free);
  g_clear_pointer (&self->session_id, g_free);
  g_clear_pointer (&self->agent_command, g_strfreev);
  g_clear_pointer (&self->agent, g_free);
  g_clear_pointer (&self->error_cause, g_free);

  G_OBJECT_CLASS (cloche_overview_page_parent_class)->finalize (object);
}

static const char *
cloche_overview_page_finding_lookup (GVariant   *finding,
                                     const char *key)
{
  const char *value = NULL;

  g_variant_lookup (finding, key, "&s", &value);
  return value != NULL ? value : "";
}

/* The doctor's finding on the last failure (io.github.cloche.Doctor's
 * LatestFinding), shown under the failure; empty hides it. */
static void
cloche_overview_page_set_latest_finding (ClocheOverviewPage *self,
                                         GVariant           *finding)
{
  g_autofree char *title = NULL;
  g_autofree char *fix = NULL;
  gboolean shown = finding != NULL && g_variant_n_children (finding) > 0;

  gtk_widget_set_visible (self->finding_box, shown);
  if (!shown)
    return;
  /* Translators: %s is what the doctor checked, e.g. “Guest agent” */
  title =
    g_strdup_printf (_("Likely cause: %s"), cloche_overview_page_finding_lookup (finding, "title"));
  /* Translators: what to do about a problem the doctor found */
  fix = g_strdup_printf (_("Fix: %s"), cloche_overview_page_finding_lookup (finding, "fix"));
  gtk_label_set_label (self->finding_title_label, title);
  gtk_label_set_label (self->finding_code_label,
                       cloche_overview_page_finding_lookup (finding, "code"));
  gtk_label_set_label (self->finding_label,
                       cloche_overview_page_finding_lookup (finding, "finding"));
  gtk_label_set_label (self->finding_fix_label, fix);
}

static void
cloche_overview_page_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  ClocheOverviewPage *self = CLOCHE_OVERVIEW_PAGE (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    case PROP_SERVICE_ERROR:
      g_value_set_string (value, self->service_error);
      break;
    case PROP_MONITOR_HISTORY:
      g_value_set_object (value, self->monitor_history);
      break;
    case PROP_SESSION_SUMMARY:
      g_value_set_object (value, self->session_summary);
      break;
    case PROP_EGRESS_LOG:
      g_value_set_object (value, self->egress_log);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_overview_page_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  ClocheOverviewPage *self = CLOCHE_OVERVIEW_PAGE (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      cloche_overview_page_set_client (self, g_value_get_object (value));
      break;
    case PROP_SERVICE_ERROR:
      cloche_overview_page_set_service_error (self, g_value_get_string (value));
      break;
    case PROP_MONITOR_HISTORY:
      cloche_overview_page_set_monitor_history (self, g_value_get_object (value));
      break;
    case PROP_LATEST_FINDING:
      cloche_overview_page_set_latest_finding (self, g_value_get_variant (value));
      break;
    case PROP_SESSION_SUMMARY:
      cloche_overview_page_set_session_summary (self, g_value_get_object (value));
      break;
    case PROP_EGRESS_LOG:
      cloche_overview_page_set_egress_log (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_overview_page_class_init (ClocheOverviewPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_overview_page_dispose;
  object_class->finalize = cloche_overview_page_finalize;
  object_class->get_property = cloche_overview_page_get_property;
  object_class->set_property = cloche_overview_page_set_property;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, CLOCHE_TYPE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SERVICE_ERROR] =
    g_param_spec_string ("service-error", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MONITOR_HISTORY] =
    g_param_spec_object ("monitor-history", NULL, NULL, CLOCHE_TYPE_MONITOR_HISTORY,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LATEST_FINDING] =
    g_param_spec_variant ("latest-finding", NULL, NULL, G_VARIANT_TYPE_VARDICT, NULL,
                          G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SESSION_SUMMARY] =
    g_param_spec_object ("session-summary", NULL, NULL, CLOCHE_TYPE_SESSION_SUMMARY,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_EGRESS_LOG] =
    g_param_spec_object ("egress-log", NULL, NULL, CLOCHE_TYPE_EGRESS_LOG,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (CLOCHE_TYPE_SPARKLINE);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-overview-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, finding_box);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, finding_title_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, finding_code_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, finding_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, finding_fix_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, stack);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, unavailable_page);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, crash_box);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, crash_reason_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, console_frame);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, console_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, state_icon);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, state_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, accelerator_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, accelerator_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, fallback_box);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, uptime_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, state_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, stop_button);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, sessions_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, sessions_group);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, open_list);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, memory_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, guest_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, bundle_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, sessions_disk_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, free_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, free_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, default_rule_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, allowed_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, denied_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, denied_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, stale_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, cleanup_button);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, last_cleanup_row);
  gtk_widget_class_bind_template_callback (widget_class,
                                           cloche_overview_page_open_row_activated_cb);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, agent_stack);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, open_button);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, open_spinner);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, close_button);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, terminal_button);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, install_button);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, error_label);

  gtk_widget_class_install_action (widget_class, "overview.open-agent-mode", NULL,
                                   cloche_overview_page_open_action);
  gtk_widget_class_install_action (widget_class, "overview.close-agent-mode", NULL,
                                   cloche_overview_page_close_action);
  gtk_widget_class_install_action (widget_class, "overview.install-bundle", NULL,
                                   cloche_overview_page_install_action);
  gtk_widget_class_install_action (widget_class, "overview.stop-vm", NULL,
                                   cloche_overview_page_stop_action);
  gtk_widget_class_install_action (widget_class, "overview.open-terminal", NULL,
                                   cloche_overview_page_terminal_action);
}

static void
cloche_overview_page_connect_client_signals (ClocheOverviewPage *self)
{
  static const struct {
    const char *signal;
    GCallback   handler;
  } handlers[] = {
    { "notify::service-running", G_CALLBACK (cloche_overview_page_update_service_cb) },
    { "notify::state", G_CALLBACK (cloche_overview_page_update_state_cb) },
    { "notify::state", G_CALLBACK (cloche_overview_page_update_memory_cb) },
    { "notify::state-reason", G_CALLBACK (cloche_overview_page_update_crash_cb) },
    { "notify::console-tail", G_CALLBACK (cloche_overview_page_update_crash_cb) },
    { "notify::accelerator", G_CALLBACK (cloche_overview_page_update_accelerator_cb) },
    { "notify::accelerator-reason", G_CALLBACK (cloche_overview_page_update_accelerator_cb) },
    { "notify::accelerator-fallback", G_CALLBACK (cloche_overview_page_update_accelerator_cb) },
    { "notify::booted-at", G_CALLBACK (cloche_overview_page_update_uptime_cb) },
    { "notify::open-sessions", G_CALLBACK (cloche_overview_page_update_sessions_cb) },
  };

  static const char * const history_signals[] = {
    "changed", "sample-added", "notify::sampling",
  };

  self->client_signals = g_signal_group_new (CLOCHE_TYPE_CLIENT);
  for (guint i = 0; i < G_N_ELEMENTS (handlers); i++)
    g_signal_group_connect_swapped (self->client_signals, handlers[i].signal,
                                    handlers[i].handler, self);
  self->history_signals = g_signal_group_new (CLOCHE_TYPE_MONITOR_HISTORY);
  for (guint i = 0; i < G_N_ELEMENTS (history_signals); i++)
    g_signal_group_connect_swapped (self->history_signals, history_signals[i],
                                    G_CALLBACK (cloche_overview_page_update_memory_cb), self);
  g_signal_group_connect_swapped (self->history_signals, "notify::disk-bundle",
                                  G_CALLBACK (cloche_overview_page_update_disk_cb), self);
  g_signal_group_connect_swapped (self->history_signals, "notify::disk-sessions",
                                  G_CALLBACK (cloche_overview_page_update_disk_cb), self);
  g_signal_group_connect_swapped (self->history_signals, "changed",
                                  G_CALLBACK (cloche_overview_page_update_disk_cb), self);
}

static void
cloche_overview_page_summary_changed_cb (ClocheOverviewPage *self)
{
  cloche_overview_page_update_sessions_cb (self);
  cloche_overview_page_update_stale_cb (self);
  /* The summary's minute tick (it sleeps while the window is hidden) is
   * also when "the last hour" of denials moves on. */
  cloche_overview_page_update_denials_if_available (self);
}

static void
cloche_overview_page_connect_summary_signals (ClocheOverviewPage *self)
{
  self->summary_signals = g_signal_group_new (CLOCHE_TYPE_SESSION_SUMMARY);
  g_signal_group_connect_swapped (self->summary_signals, "changed",
                                  G_CALLBACK (cloche_overview_page_summary_changed_cb), self);
  self->log_signals = g_signal_group_new (CLOCHE_TYPE_EGRESS_LOG);
  g_signal_group_connect_swapped (self->log_signals, "notify::available",
                                  G_CALLBACK (cloche_overview_page_update_egress_cb), self);
  g_signal_group_connect_swapped (self->log_signals, "notify::rules",
                                  G_CALLBACK (cloche_overview_page_update_egress_cb), self);
  g_signal_group_connect_swapped (self->log_signals, "notify::default-rule",
                                  G_CALLBACK (cloche_overview_page_update_egress_cb), self);
}

static void
cloche_overview_page_init (ClocheOverviewPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  cloche_overview_page_connect_client_signals (self);
  cloche_overview_page_connect_summary_signals (self);
  cloche_overview_page_update_all (self);
}

void
cloche_overview_page_set_client (ClocheOverviewPage *self,
                                 ClocheClient       *client)
{
  g_return_if_fail (CLOCHE_IS_OVERVIEW_PAGE (self));
  g_return_if_fail (!client || CLOCHE_IS_CLIENT (client));

  if (!g_set_object (&self->client, client))
    return;

  /* A call on the old client answers for a daemon we no longer show. */
  cloche_overview_page_cancel_call (self);
  g_signal_group_set_target (self->client_signals, client);
  if (client != NULL && cloche_client_get_proxy (client) != NULL)
    g_signal_connect_object (cloche_client_get_proxy (client), "notify::idle-stop-at",
                             G_CALLBACK (cloche_overview_page_update_uptime_cb), self,
                             G_CONNECT_SWAPPED);
  if (client != NULL && cloche_client_get_sessions (client) != NULL)
    g_signal_connect_object (cloche_client_get_sessions (client), "notify::last-cleanup",
                             G_CALLBACK (cloche_overview_page_update_stale_cb), self,
                             G_CONNECT_SWAPPED);
  cloche_overview_page_connect_bundle (self);
  cloche_overview_page_update_all (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
}

void
cloche_overview_page_set_service_error (ClocheOverviewPage *self,
                                        const char         *message)
{
  g_return_if_fail (CLOCHE_IS_OVERVIEW_PAGE (self));

  if (g_strcmp0 (self->service_error, message) == 0)
    return;

  g_free (self->service_error);
  self->service_error = g_strdup (message);
  cloche_overview_page_update_service_cb (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVICE_ERROR]);
}

void
cloche_overview_page_set_monitor_history (ClocheOverviewPage   *self,
                                          ClocheMonitorHistory *history)
{
  g_return_if_fail (CLOCHE_IS_OVERVIEW_PAGE (self));
  g_return_if_fail (!history || CLOCHE_IS_MONITOR_HISTORY (history));

  if (!g_set_object (&self->monitor_history, history))
    return;
  g_signal_group_set_target (self->history_signals, history);
  cloche_overview_page_update_resources (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MONITOR_HISTORY]);
}

void
cloche_overview_page_set_session_summary (ClocheOverviewPage   *self,
                                          ClocheSessionSummary *summary)
{
  g_return_if_fail (CLOCHE_IS_OVERVIEW_PAGE (self));
  g_return_if_fail (!summary || CLOCHE_IS_SESSION_SUMMARY (summary));

  if (!g_set_object (&self->session_summary, summary))
    return;
  g_signal_group_set_target (self->summary_signals, summary);
  cloche_overview_page_update_sessions_cb (self);
  cloche_overview_page_update_stale_cb (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION_SUMMARY]);
}

static void
cloche_overview_page_decisions_changed_cb (ClocheOverviewPage *self)
{
  cloche_overview_page_update_denials_if_available (self);
}

void
cloche_overview_page_set_egress_log (ClocheOverviewPage *self,
                                     ClocheEgressLog    *log)
{
  g_return_if_fail (CLOCHE_IS_OVERVIEW_PAGE (self));
  g_return_if_fail (!log || CLOCHE_IS_EGRESS_LOG (log));

  if (self->egress_log == log)
    return;
  if (self->egress_log != NULL)
    g_signal_handlers_disconnect_by_data (cloche_egress_log_get_decisions (self->egress_log), self);
  g_set_object (&self->egress_log, log);
  g_signal_group_set_target (self->log_signals, log);
  if (log != NULL)
    g_signal_connect_object (cloche_egress_log_get_decisions (log), "items-changed",
                             G_CALLBACK (cloche_overview_page_decisions_changed_cb), self,
                             G_CONNECT_SWAPPED);
  cloche_overview_page_update_egress_cb (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EGRESS_LOG]);
}
