/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One doctor check on the Diagnostics page: a status icon, what was
 * checked, the finding, the fix and the reason code, and the details
 * (console lines) when there are any. Built from a result of
 * io.github.cloche.Doctor.Run.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-diagnostic-row.h"

struct _ClocheDiagnosticRow
{
  GtkListBoxRow  parent_instance;

  char          *check;
  char          *status;

  GtkImage      *status_icon;
  GtkLabel      *title_label;
  GtkLabel      *code_label;
  GtkLabel      *finding_label;
  GtkLabel      *fix_label;
  GtkLabel      *details_label;
};

G_DEFINE_FINAL_TYPE (ClocheDiagnosticRow, cloche_diagnostic_row, GTK_TYPE_LIST_BOX_ROW)

static const char *
cloche_diagnostic_row_lookup (GVariant   *result,
                              const char *key)
{
  const char *value = NULL;

  g_variant_lookup (result, key, "&s", &value);
  return value != NULL ? value : "";
}

static void
cloche_diagnostic_row_set_status (ClocheDiagnosticRow *self,
                                  const char          *status)
{
  const char *icon = "emblem-ok-symbolic", *style = "success";
  const char *words = _("OK");

  if (g_str_equal (status, "failure"))
    icon = "dialog-error-symbolic", style = "error", words = _("Failure");
  else if (g_str_equal (status, "warning"))
    icon = "dialog-warning-symbolic", style = "warning", words = _("Warning");
  gtk_image_set_from_icon_name (self->status_icon, icon);
  gtk_widget_add_css_class (GTK_WIDGET (self->status_icon), style);
  /* The icon's colour is not the only way to tell. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->status_icon),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, words, -1);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->status_icon), words);
}

static void
cloche_diagnostic_row_set_label (GtkLabel   *label,
                                 const char *text)
{
  gtk_label_set_label (label, text);
  gtk_widget_set_visible (GTK_WIDGET (label), text[0] != '\0');
}

static void
cloche_diagnostic_row_fill (ClocheDiagnosticRow *self,
                            GVariant            *result)
{
  g_autofree const char **details = NULL;
  g_autofree char *fix = NULL;
  g_autofree char *joined = NULL;
  const char *code = cloche_diagnostic_row_lookup (result, "code");

  self->check = g_strdup (cloche_diagnostic_row_lookup (result, "check"));
  self->status = g_strdup (cloche_diagnostic_row_lookup (result, "status"));
  cloche_diagnostic_row_set_status (self, self->status);
  gtk_label_set_label (self->title_label, cloche_diagnostic_row_lookup (result, "title"));
  cloche_diagnostic_row_set_label (self->code_label, code);
  cloche_diagnostic_row_set_label (self->finding_label,
                                   cloche_diagnostic_row_lookup (result, "finding"));
  if (cloche_diagnostic_row_lookup (result, "fix")[0] != '\0')
    /* Translators: what to do about a problem the doctor found */
    fix = g_strdup_printf (_("Fix: %s"), cloche_diagnostic_row_lookup (result, "fix"));
  cloche_diagnostic_row_set_label (self->fix_label, fix != NULL ? fix : "");
  if (g_variant_lookup (result, "details", "^a&s", &details) && !g_str_equal (self->status, "ok"))
    joined = g_strjoinv ("\n", (char **) details);
  cloche_diagnostic_row_set_label (self->details_label, joined != NULL ? joined : "");
}

const char *
cloche_diagnostic_row_get_check (ClocheDiagnosticRow *self)
{
  g_return_val_if_fail (CLOCHE_IS_DIAGNOSTIC_ROW (self), NULL);
  return self->check;
}

const char *
cloche_diagnostic_row_get_status (ClocheDiagnosticRow *self)
{
  g_return_val_if_fail (CLOCHE_IS_DIAGNOSTIC_ROW (self), NULL);
  return self->status;
}

static void
cloche_diagnostic_row_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), CLOCHE_TYPE_DIAGNOSTIC_ROW);

  G_OBJECT_CLASS (cloche_diagnostic_row_parent_class)->dispose (object);
}

static void
cloche_diagnostic_row_finalize (GObject *object)
{
  ClocheDiagnosticRow *self = CLOCHE_DIAGNOSTIC_ROW (object);

  g_free (self->check);
  g_free (self->status);

  G_OBJECT_CLASS (cloche_diagnostic_row_parent_class)->finalize (object);
}

static void
cloche_diagnostic_row_class_init (ClocheDiagnosticRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_diagnostic_row_dispose;
  object_class->finalize = cloche_diagnostic_row_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-diagnostic-row.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheDiagnosticRow, status_icon);
  gtk_widget_class_bind_template_child (widget_class, ClocheDiagnosticRow, title_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheDiagnosticRow, code_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheDiagnosticRow, finding_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheDiagnosticRow, fix_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheDiagnosticRow, details_label);
}

static void
cloche_diagnostic_row_init (ClocheDiagnosticRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/* @result: an a{sv} of io.github.cloche.Doctor.Run */
GtkWidget *
cloche_diagnostic_row_new (GVariant *result)
{
  ClocheDiagnosticRow *self = g_object_new (CLOCHE_TYPE_DIAGNOSTIC_ROW, NULL);

  cloche_diagnostic_row_fill (self, result);
  return GTK_WIDGET (self);
}
