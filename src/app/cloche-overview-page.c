/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-error.h"
#include "cloche-overview-page.h"

struct _ClocheOverviewPage
{
  AdwBin         parent_instance;

  ClocheClient  *client;
  GSignalGroup  *client_signals;
  ClocheMonitorHistory *monitor_history;
  GSignalGroup  *history_signals;
  char          *service_error;
  char          *session_id;
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
  GtkLabel      *sessions_label;
  AdwActionRow  *memory_row;
  GtkLabel      *memory_label;
  AdwActionRow  *disk_row;
  GtkLabel      *disk_label;
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
cloche_overview_page_update_crash (ClocheOverviewPage *self)
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

static void
cloche_overview_page_show_uptime (ClocheOverviewPage *self)
{
  g_autofree char *text = NULL;
  gint64 elapsed;

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
cloche_overview_page_uptime_tick (gpointer user_data)
{
  cloche_overview_page_show_uptime (CLOCHE_OVERVIEW_PAGE (user_data));

  return G_SOURCE_CONTINUE;
}

static void
cloche_overview_page_update_uptime (ClocheOverviewPage *self)
{
  /* The timer lives only while the VM runs, so a stopped sandbox costs the
   * dashboard no wake-ups at all. */
  if (!cloche_overview_page_is_counting (self))
    g_clear_handle_id (&self->uptime_source, g_source_remove);
  else if (self->uptime_source == 0)
    {
      self->uptime_source = g_timeout_add (1000, cloche_overview_page_uptime_tick, self);
      g_source_set_name_by_id (self->uptime_source, "[cloche] uptime");
    }

  cloche_overview_page_show_uptime (self);
}

static void
cloche_overview_page_update_state (ClocheOverviewPage *self)
{
  ClocheVmState state = cloche_overview_page_get_state (self);
  const char *classes[] = { state_looks[state].css_class, NULL };

  gtk_label_set_label (self->state_label, _(state_looks[state].label));
  gtk_image_set_from_icon_name (self->state_icon, state_looks[state].icon_name);
  gtk_widget_set_css_classes (GTK_WIDGET (self->state_icon), classes);

  cloche_overview_page_update_crash (self);
  cloche_overview_page_update_uptime (self);
  cloche_overview_page_update_actions (self);
}

static void
cloche_overview_page_update_accelerator (ClocheOverviewPage *self)
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

static void
cloche_overview_page_update_sessions (ClocheOverviewPage *self)
{
  g_autofree char *text = NULL;

  text = g_strdup_printf ("%u", cloche_client_get_open_sessions (self->client));
  gtk_label_set_label (self->sessions_label, text);
}

/* The host's cost of the VM at a glance; the Monitor page has the rest. */
static void
cloche_overview_page_update_resources (ClocheOverviewPage *self)
{
  ClocheMonitorHistory *history = self->monitor_history;
  const ClocheMonitorSample *latest = history ? cloche_monitor_history_get_latest (history) : NULL;
  gboolean sampling = history != NULL && cloche_monitor_history_get_sampling (history);
  g_autofree char *memory = NULL, *used = NULL, *total = NULL, *guest = NULL;
  g_autofree char *disk = NULL, *bundle = NULL, *sessions = NULL, *parts = NULL;

  if (sampling && latest != NULL && latest->has_guest)
    {
      used = g_format_size_full (latest->guest_used, G_FORMAT_SIZE_IEC_UNITS);
      total = g_format_size_full (latest->guest_total, G_FORMAT_SIZE_IEC_UNITS);
      /* Translators: e.g. “The guest uses 120 MiB of 3.8 GiB” */
      guest = g_strdup_printf (_("The guest uses %s of %s"), used, total);
    }
  /* The VM can be up a second before its first sample arrives. */
  if (sampling && latest != NULL)
    memory = g_format_size_full (latest->host_rss, G_FORMAT_SIZE_IEC_UNITS);
  else if (cloche_overview_page_get_state (self) == CLOCHE_VM_STATE_RUNNING)
    memory = g_strdup (_("Measuring…"));
  else
    memory = g_strdup (_("Not running"));
  gtk_label_set_label (self->memory_label, memory);
  adw_action_row_set_subtitle (self->memory_row, guest != NULL ? guest : "");

  if (history == NULL)
    return;
  disk = g_format_size_full (cloche_monitor_history_get_disk_bundle (history)
                             + cloche_monitor_history_get_disk_sessions (history),
                             G_FORMAT_SIZE_IEC_UNITS);
  bundle = g_format_size_full (cloche_monitor_history_get_disk_bundle (history),
                               G_FORMAT_SIZE_IEC_UNITS);
  sessions = g_format_size_full (cloche_monitor_history_get_disk_sessions (history),
                                 G_FORMAT_SIZE_IEC_UNITS);
  /* Translators: what the disk use is made of, e.g. “Bundle 60 MiB, sessions 4 KiB” */
  parts = g_strdup_printf (_("Bundle %s, sessions %s"), bundle, sessions);
  gtk_label_set_label (self->disk_label, disk);
  adw_action_row_set_subtitle (self->disk_row, parts);
}

static void
cloche_overview_page_update_service (ClocheOverviewPage *self)
{
  cloche_overview_page_update_view (self);
  cloche_overview_page_update_actions (self);
}

static void
cloche_overview_page_update_all (ClocheOverviewPage *self)
{
  cloche_overview_page_update_service (self);
  if (self->client == NULL)
    return;

  cloche_overview_page_update_state (self);
  cloche_overview_page_update_accelerator (self);
  cloche_overview_page_update_sessions (self);
  cloche_overview_page_update_resources (self);
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

  id = cloche_client_open_session_finish (CLOCHE_CLIENT (object), result, &error);
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
  /* Agent mode leads to a terminal in its session. */
  if (self->session_id != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "win.open-terminal", "s", self->session_id);
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

static void
cloche_overview_page_open_action (GtkWidget  *widget,
                                  const char *action_name,
                                  GVariant   *parameter)
{
  ClocheOverviewPage *self = CLOCHE_OVERVIEW_PAGE (widget);

  g_return_if_fail (self->client != NULL);
  g_return_if_fail (self->cancellable == NULL);

  cloche_overview_page_set_error (self, NULL, FALSE);
  self->refocus = gtk_widget_is_focus (self->open_button);
  self->cancellable = g_cancellable_new ();
  cloche_client_open_session_async (self->client, _("Agent mode"), self->cancellable,
                                    cloche_overview_page_open_cb, g_object_ref (self));
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
cloche_overview_page_bundle_changed (ClocheOverviewPage *self,
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
                             G_CALLBACK (cloche_overview_page_bundle_changed), self,
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
  g_clear_pointer (&self->error_cause, g_free);

  G_OBJECT_CLASS (cloche_overview_page_parent_class)->finalize (object);
}

static const char *
finding_lookup (GVariant   *finding,
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
  title = g_strdup_printf (_("Likely cause: %s"), finding_lookup (finding, "title"));
  /* Translators: what to do about a problem the doctor found */
  fix = g_strdup_printf (_("Fix: %s"), finding_lookup (finding, "fix"));
  gtk_label_set_label (self->finding_title_label, title);
  gtk_label_set_label (self->finding_code_label, finding_lookup (finding, "code"));
  gtk_label_set_label (self->finding_label, finding_lookup (finding, "finding"));
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
  g_object_class_install_properties (object_class, N_PROPS, properties);

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
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, sessions_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, memory_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, memory_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, disk_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheOverviewPage, disk_label);
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
    { "notify::service-running", G_CALLBACK (cloche_overview_page_update_service) },
    { "notify::state", G_CALLBACK (cloche_overview_page_update_state) },
    { "notify::state", G_CALLBACK (cloche_overview_page_update_resources) },
    { "notify::state-reason", G_CALLBACK (cloche_overview_page_update_crash) },
    { "notify::console-tail", G_CALLBACK (cloche_overview_page_update_crash) },
    { "notify::accelerator", G_CALLBACK (cloche_overview_page_update_accelerator) },
    { "notify::accelerator-reason", G_CALLBACK (cloche_overview_page_update_accelerator) },
    { "notify::accelerator-fallback", G_CALLBACK (cloche_overview_page_update_accelerator) },
    { "notify::booted-at", G_CALLBACK (cloche_overview_page_update_uptime) },
    { "notify::open-sessions", G_CALLBACK (cloche_overview_page_update_sessions) },
  };

  static const char * const history_signals[] = {
    "changed", "sample-added", "notify::sampling", "notify::disk-bundle", "notify::disk-sessions",
  };

  self->client_signals = g_signal_group_new (CLOCHE_TYPE_CLIENT);
  for (guint i = 0; i < G_N_ELEMENTS (handlers); i++)
    g_signal_group_connect_swapped (self->client_signals, handlers[i].signal,
                                    handlers[i].handler, self);
  self->history_signals = g_signal_group_new (CLOCHE_TYPE_MONITOR_HISTORY);
  for (guint i = 0; i < G_N_ELEMENTS (history_signals); i++)
    g_signal_group_connect_swapped (self->history_signals, history_signals[i],
                                    G_CALLBACK (cloche_overview_page_update_resources), self);
}

static void
cloche_overview_page_init (ClocheOverviewPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  cloche_overview_page_connect_client_signals (self);
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
  cloche_overview_page_update_service (self);
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
