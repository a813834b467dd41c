/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Diagnostics: the doctor's checks (io.github.cloche.Doctor), each with its
 * status, finding and fix; "Run Again" and "Copy Report". The page also
 * holds the daemon's latest finding (the cause of the last failure), which
 * the Overview shows next to the failure.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-diagnostic-row.h"
#include "cloche-diagnostics-page.h"

struct _ClocheDiagnosticsPage
{
  AdwBin            parent_instance;

  ClocheClient     *client;
  ClocheDbusDoctor *doctor;
  GVariant         *results;         /* aa{sv}, NULL before the first run */
  GCancellable     *cancellable;     /* the proxy being made, or the run */
  gboolean          running;

  AdwToastOverlay  *toast_overlay;
  GtkLabel         *summary_label;
  GtkSpinner       *spinner;
  GtkListBox       *list_box;
};

G_DEFINE_FINAL_TYPE (ClocheDiagnosticsPage, cloche_diagnostics_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_CLIENT,
  PROP_LATEST_FINDING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *
cloche_diagnostics_page_lookup (GVariant   *result,
                                const char *key)
{
  const char *value = NULL;

  g_variant_lookup (result, key, "&s", &value);
  return value != NULL ? value : "";
}

static void
cloche_diagnostics_page_update_actions (ClocheDiagnosticsPage *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "diagnostics.run",
                                 self->doctor != NULL && !self->running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "diagnostics.copy", self->results != NULL);
  gtk_spinner_set_spinning (self->spinner, self->running);
}

static void
cloche_diagnostics_page_update_summary (ClocheDiagnosticsPage *self)
{
  g_autofree char *text = NULL;
  guint warnings = 0, failures = 0;
  GVariantIter iter;
  GVariant *result;

  if (self->results == NULL)
    {
      gtk_label_set_label (self->summary_label,
                           self->running ? _("Checking…") : _("Not checked yet"));
      return;
    }
  g_variant_iter_init (&iter, self->results);
  while ((result = g_variant_iter_next_value (&iter)))
    {
      failures += g_str_equal (cloche_diagnostics_page_lookup (result, "status"), "failure");
      warnings += g_str_equal (cloche_diagnostics_page_lookup (result, "status"), "warning");
      g_variant_unref (result);
    }
  if (failures > 0)
    text = g_strdup_printf (ngettext ("%u problem stops the sandbox", "%u problems stop the sandbox",
                                      failures), failures);
  else if (warnings > 0)
    text = g_strdup_printf (ngettext ("The sandbox works, with %u warning",
                                      "The sandbox works, with %u warnings", warnings), warnings);
  else
    text = g_strdup (_("Everything the sandbox needs is in place"));
  gtk_label_set_label (self->summary_label, text);
}

static void
cloche_diagnostics_page_show_results (ClocheDiagnosticsPage *self)
{
  GtkWidget *child;
  GVariantIter iter;
  GVariant *result;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list_box))) != NULL)
    gtk_list_box_remove (self->list_box, child);
  if (self->results != NULL)
    {
      g_variant_iter_init (&iter, self->results);
      while ((result = g_variant_iter_next_value (&iter)))
        {
          gtk_list_box_append (self->list_box, cloche_diagnostic_row_new (result));
          g_variant_unref (result);
        }
    }
  gtk_widget_set_visible (GTK_WIDGET (self->list_box), self->results != NULL);
  cloche_diagnostics_page_update_summary (self);
  cloche_diagnostics_page_update_actions (self);
}

/* Running the checks */

static void
cloche_diagnostics_page_run_done_cb (GObject      *object,
                                     GAsyncResult *result,
                                     gpointer      user_data)
{
  g_autoptr(ClocheDiagnosticsPage) self = user_data;
  g_autoptr(GVariant) results = NULL;
  g_autoptr(GError) error = NULL;

  cloche_dbus_doctor_call_run_finish (CLOCHE_DBUS_DOCTOR (object), &results, result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->running = FALSE;
  if (results == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      gtk_label_set_label (self->summary_label, error->message);
      cloche_diagnostics_page_update_actions (self);
      return;
    }
  g_clear_pointer (&self->results, g_variant_unref);
  self->results = g_steal_pointer (&results);
  cloche_diagnostics_page_show_results (self);
}

static void
cloche_diagnostics_page_run_checks (ClocheDiagnosticsPage *self)
{
  const char * const all[] = { NULL };

  if (self->doctor == NULL || self->running)
    return;
  self->running = TRUE;
  cloche_diagnostics_page_update_summary (self);
  cloche_diagnostics_page_update_actions (self);
  cloche_dbus_doctor_call_run (self->doctor, all, self->cancellable,
                               cloche_diagnostics_page_run_done_cb,
                               g_object_ref (self));
}

static void
cloche_diagnostics_page_run_action (GtkWidget  *widget,
                                    const char *action_name,
                                    GVariant   *parameter)
{
  cloche_diagnostics_page_run_checks (CLOCHE_DIAGNOSTICS_PAGE (widget));
}

/* The report: the same text as `clochectl doctor`, for a bug report or a chat. */
char *
cloche_diagnostics_page_format_report (ClocheDiagnosticsPage *self)
{
  g_autoptr(GString) text = g_string_new (NULL);
  GVariantIter iter;
  GVariant *result;

  g_return_val_if_fail (CLOCHE_IS_DIAGNOSTICS_PAGE (self), NULL);

  if (self->results == NULL)
    return g_strdup ("");
  g_variant_iter_init (&iter, self->results);
  while ((result = g_variant_iter_next_value (&iter)))
    {
      g_autofree const char **details = NULL;
      const char *code = cloche_diagnostics_page_lookup (result, "code");

      g_string_append_printf (text, "%-8s %s%s%s%s\n         %s\n",
                              cloche_diagnostics_page_lookup (result, "status"),
                              cloche_diagnostics_page_lookup (result, "title"), code[0] ? " (" : "",
                              code,
                              code[0] ? ")" : "",
                              cloche_diagnostics_page_lookup (result, "finding"));
      if (cloche_diagnostics_page_lookup (result, "fix")[0] != '\0')
        g_string_append_printf (text, "         Fix: %s\n",
                                cloche_diagnostics_page_lookup (result, "fix"));
      if (g_variant_lookup (result, "details", "^a&s", &details)
          && !g_str_equal (cloche_diagnostics_page_lookup (result, "status"), "ok"))
        for (guint i = 0; details[i] != NULL; i++)
          g_string_append_printf (text, "           | %s\n", details[i]);
      g_variant_unref (result);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
cloche_diagnostics_page_copy_action (GtkWidget  *widget,
                                     const char *action_name,
                                     GVariant   *parameter)
{
  ClocheDiagnosticsPage *self = CLOCHE_DIAGNOSTICS_PAGE (widget);
  g_autofree char *report = cloche_diagnostics_page_format_report (self);

  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), report);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (_("Report copied")));
}

/* The doctor's proxy: the client's */

static void
cloche_diagnostics_page_latest_finding_cb (ClocheDiagnosticsPage *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LATEST_FINDING]);
  /* A new failure: the list should say what the daemon just found. */
  if (g_variant_n_children (cloche_diagnostics_page_get_latest_finding (self)) > 0)
    cloche_diagnostics_page_run_checks (self);
}

static void
cloche_diagnostics_page_drop_doctor (ClocheDiagnosticsPage *self)
{
  /* The proxy is the client's, and outlives the page. */
  if (self->doctor != NULL)
    g_signal_handlers_disconnect_by_data (self->doctor, self);
  g_clear_object (&self->doctor);
}

static void
cloche_diagnostics_page_connect_doctor (ClocheDiagnosticsPage *self)
{
  self->doctor = g_object_ref (cloche_client_get_doctor (self->client));
  g_signal_connect_object (self->doctor, "notify::latest-finding",
                           G_CALLBACK (cloche_diagnostics_page_latest_finding_cb), self,
                           G_CONNECT_SWAPPED);
  /* Shown already (a page of its own): the checks at once; else when first
   * shown. A run starts a KVM probe (a QEMU) in the daemon and fills rows
   * that a window lays out even while they are hidden: a window that opens
   * on another page does not pay for that, nor do the events that would
   * wait behind it a few seconds after the window opened. */
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    cloche_diagnostics_page_run_checks (self);
}

static void
cloche_diagnostics_page_map (GtkWidget *widget)
{
  ClocheDiagnosticsPage *self = CLOCHE_DIAGNOSTICS_PAGE (widget);

  GTK_WIDGET_CLASS (cloche_diagnostics_page_parent_class)->map (widget);
  if (self->results == NULL)
    cloche_diagnostics_page_run_checks (self);
}

void
cloche_diagnostics_page_set_client (ClocheDiagnosticsPage *self,
                                    ClocheClient          *client)
{
  g_return_if_fail (CLOCHE_IS_DIAGNOSTICS_PAGE (self));

  if (!g_set_object (&self->client, client))
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  cloche_diagnostics_page_drop_doctor (self);
  self->running = FALSE;
  if (client != NULL)
    {
      self->cancellable = g_cancellable_new ();
      cloche_diagnostics_page_connect_doctor (self);
    }
  cloche_diagnostics_page_show_results (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LATEST_FINDING]);
}

/**
 * cloche_diagnostics_page_get_latest_finding:
 *
 * Returns: (transfer none): the daemon's LatestFinding, an empty a{sv}
 *   when there is none
 */
GVariant *
cloche_diagnostics_page_get_latest_finding (ClocheDiagnosticsPage *self)
{
  static GVariant *empty;
  GVariant *finding;

  g_return_val_if_fail (CLOCHE_IS_DIAGNOSTICS_PAGE (self), NULL);

  if (g_once_init_enter (&empty))
    g_once_init_leave (&empty, g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"),
                                                                        NULL, 0)));
  finding = self->doctor != NULL ? cloche_dbus_doctor_get_latest_finding (self->doctor) : NULL;
  return finding != NULL ? finding : empty;
}

/* GObject */

static void
cloche_diagnostics_page_dispose (GObject *object)
{
  ClocheDiagnosticsPage *self = CLOCHE_DIAGNOSTICS_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  cloche_diagnostics_page_drop_doctor (self);
  g_clear_object (&self->client);
  g_clear_pointer (&self->results, g_variant_unref);
  /* The toast overlay is both AdwBin's child and a template child: AdwBin
   * lets go of it first. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), CLOCHE_TYPE_DIAGNOSTICS_PAGE);

  G_OBJECT_CLASS (cloche_diagnostics_page_parent_class)->dispose (object);
}

static void
cloche_diagnostics_page_get_property (GObject    *object,
                                      guint       prop_id,
                                      GValue     *value,
                                      GParamSpec *pspec)
{
  ClocheDiagnosticsPage *self = CLOCHE_DIAGNOSTICS_PAGE (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    case PROP_LATEST_FINDING:
      g_value_set_variant (value, cloche_diagnostics_page_get_latest_finding (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_diagnostics_page_set_property (GObject      *object,
                                      guint         prop_id,
                                      const GValue *value,
                                      GParamSpec   *pspec)
{
  ClocheDiagnosticsPage *self = CLOCHE_DIAGNOSTICS_PAGE (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      cloche_diagnostics_page_set_client (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_diagnostics_page_class_init (ClocheDiagnosticsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_diagnostics_page_dispose;
  object_class->get_property = cloche_diagnostics_page_get_property;
  object_class->set_property = cloche_diagnostics_page_set_property;
  widget_class->map = cloche_diagnostics_page_map;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, CLOCHE_TYPE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LATEST_FINDING] =
    g_param_spec_variant ("latest-finding", NULL, NULL, G_VARIANT_TYPE_VARDICT, NULL,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-diagnostics-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheDiagnosticsPage, summary_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheDiagnosticsPage, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, ClocheDiagnosticsPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, ClocheDiagnosticsPage, list_box);
  gtk_widget_class_install_action (widget_class, "diagnostics.run", NULL,
                                   cloche_diagnostics_page_run_action);
  gtk_widget_class_install_action (widget_class, "diagnostics.copy", NULL,
                                   cloche_diagnostics_page_copy_action);
}

static void
cloche_diagnostics_page_init (ClocheDiagnosticsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  cloche_diagnostics_page_show_results (self);
}
