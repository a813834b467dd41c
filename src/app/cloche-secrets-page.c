/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Secrets: the API keys the egress proxy puts into requests
 * (io.github.cloche.Secrets, docs/secrets.md). The list follows the
 * daemon (List again on Changed); Add Secret… asks for the name, hosts,
 * header, format and the value, the value in a password entry, cleared
 * once sent; Set Value… asks the same with the binding filled in (fixed
 * where the administrator locks it: the daemon then sets the value only);
 * Remove asks first. A binding the administrator locks shows a
 * lock and no Remove. No value is ever shown: the daemon never sends one
 * back, and the page keeps none.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-page-util.h"
#include "cloche-secret-row.h"
#include "cloche-secrets-page.h"

struct _ClocheSecretsPage
{
  AdwBin             parent_instance;

  ClocheClient      *client;
  ClocheDbusSecrets *secrets;
  GCancellable      *cancellable;
  GVariant          *bindings;       /* the last List, a(sasssbb) */

  GtkListBox        *list_box;
  GtkLabel          *message_label;
};

G_DEFINE_FINAL_TYPE (ClocheSecretsPage, cloche_secrets_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_CLIENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The list */

static void
cloche_secrets_page_show_list (ClocheSecretsPage *self,
                               GVariant          *bindings)
{
  GtkWidget *child;
  GVariantIter iter;
  GVariant *binding;

  /* The placeholder, when shown, is a child too: only rows go. */
  for (child = gtk_widget_get_first_child (GTK_WIDGET (self->list_box)); child != NULL;)
    {
      GtkWidget *next = gtk_widget_get_next_sibling (child);

      if (CLOCHE_IS_SECRET_ROW (child))
        gtk_list_box_remove (self->list_box, child);
      child = next;
    }
  g_variant_iter_init (&iter, bindings);
  while ((binding = g_variant_iter_next_value (&iter)) != NULL)
    {
      gtk_list_box_append (self->list_box, cloche_secret_row_new (binding));
      g_variant_unref (binding);
    }
}

static void
cloche_secrets_page_listed_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  ClocheSecretsPage *self = user_data;
  g_autoptr(GVariant) bindings = NULL;
  g_autofree char *problem = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (!cloche_dbus_secrets_call_list_finish (CLOCHE_DBUS_SECRETS (object), &bindings, &problem,
                                             result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      text = g_strdup_printf (_("The secrets cannot be listed: %s"), error->message);
      cloche_message_label_set (self->message_label, text, TRUE);
      return;
    }
  g_clear_pointer (&self->bindings, g_variant_unref);
  self->bindings = g_variant_ref (bindings);
  cloche_secrets_page_show_list (self, bindings);
  /* A list again (after any change, even another client's) leaves a
   * refusal on the line; only the keyring's trouble is said here. */
  if (problem[0] == '\0')
    return;
  text = g_strdup_printf (_("The keyring cannot be read, so no value shows as kept: %s"),
                          problem);
  cloche_message_label_set (self->message_label, text, TRUE);
}

static void
cloche_secrets_page_refresh_cb (ClocheSecretsPage *self)
{
  if (self->secrets == NULL)
    return;
  cloche_dbus_secrets_call_list (self->secrets, self->cancellable, cloche_secrets_page_listed_cb,
                                 self);
}

/* Add */

static void
cloche_secrets_page_set_cb (GObject      *object,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  ClocheSecretsPage *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (cloche_dbus_secrets_call_set_finish (CLOCHE_DBUS_SECRETS (object), result, &error))
    return;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_dbus_error_strip_remote_error (error);
  text = g_strdup_printf (_("The secret was not added: %s"), error->message);
  cloche_message_label_set (self->message_label, text, TRUE);
}

static const char *
cloche_secrets_page_entry_text (GtkBuilder *builder,
                                const char *id)
{
  return gtk_editable_get_text (GTK_EDITABLE (gtk_builder_get_object (builder, id)));
}

static void
cloche_secrets_page_add_response_cb (ClocheSecretsPage *self,
                                     const char        *response,
                                     AdwMessageDialog  *dialog)
{
  GtkBuilder *form = g_object_get_data (G_OBJECT (dialog), "form");
  GtkEditable *value = GTK_EDITABLE (gtk_builder_get_object (form, "value_row"));
  g_auto(GStrv) hosts = NULL;
  g_autofree char *name = NULL;

  if (g_str_equal (response, "add") && self->secrets != NULL)
    {
      /* "a.com, b.org" as the command line's "a.com,b.org"; the daemon
       * checks each. */
      hosts = g_strsplit (cloche_secrets_page_entry_text (form, "hosts_row"), ",", -1);
      for (guint i = 0; hosts[i] != NULL; i++)
        g_strstrip (hosts[i]);
      name = g_strstrip (g_strdup (cloche_secrets_page_entry_text (form, "name_row")));
      cloche_message_label_set (self->message_label, NULL, FALSE);
      cloche_dbus_secrets_call_set (self->secrets, name,
                                    (const char * const *) hosts,
                                    cloche_secrets_page_entry_text (form, "header_row"),
                                    cloche_secrets_page_entry_text (form, "format_row"),
                                    gtk_editable_get_text (value),
                                    self->cancellable, cloche_secrets_page_set_cb, self);
    }
  /* The value goes no further than the call just made. */
  gtk_editable_set_text (value, "");
}

/* The form filled in with @binding (sasssbb): its name fixed, and the
 * rest too when the administrator locks it. */
static void
cloche_secrets_page_fill_form (GtkBuilder *form,
                               GVariant   *binding)
{
  static const char * const ids[] = { "hosts_row", "header_row", "format_row", NULL };
  g_autofree const char **hosts = NULL;
  g_autofree char *joined = NULL;
  const char *name, *header, *format;
  gboolean locked;

  g_variant_get (binding, "(&s^a&s&s&sbb)", &name, &hosts, &header, &format, NULL, &locked);
  joined = g_strjoinv (", ", (char **) hosts);
  gtk_editable_set_text (GTK_EDITABLE (gtk_builder_get_object (form, "name_row")), name);
  gtk_editable_set_text (GTK_EDITABLE (gtk_builder_get_object (form, "hosts_row")), joined);
  gtk_editable_set_text (GTK_EDITABLE (gtk_builder_get_object (form, "header_row")), header);
  gtk_editable_set_text (GTK_EDITABLE (gtk_builder_get_object (form, "format_row")), format);
  gtk_widget_set_sensitive (GTK_WIDGET (gtk_builder_get_object (form, "name_row")), FALSE);
  for (guint i = 0; locked && ids[i] != NULL; i++)
    gtk_widget_set_sensitive (GTK_WIDGET (gtk_builder_get_object (form, ids[i])), FALSE);
}

/* Add Secret… (@binding NULL), or Set Value… of @binding. */
static void
cloche_secrets_page_open_form (ClocheSecretsPage *self,
                               GVariant          *binding)
{
  GtkWidget *widget = GTK_WIDGET (self);
  g_autoptr(GtkBuilder) form =
    gtk_builder_new_from_resource ("/io/github/cloche/Cloche/cloche-secret-form.ui");
  AdwMessageDialog *dialog =
    cloche_message_dialog_new (widget, binding == NULL ? _("Add a Secret") : _("Set the Value"),
                               _("The value goes to your keyring and never into the sandbox: "
                                 "there, the variable of this name holds a placeholder, which "
                                 "Cloche replaces with the value in requests to these hosts."));

  if (binding != NULL)
    cloche_secrets_page_fill_form (form, binding);
  adw_message_dialog_set_extra_child (dialog, GTK_WIDGET (gtk_builder_get_object (form, "form")));
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "add",
                                    binding == NULL ? _("_Add") : _("_Set"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "add", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "add");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "form", g_object_ref (form), g_object_unref);
  g_signal_connect_object (dialog, "response", G_CALLBACK (cloche_secrets_page_add_response_cb),
                           self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
cloche_secrets_page_add_action (GtkWidget  *widget,
                                const char *action_name,
                                GVariant   *parameter)
{
  cloche_secrets_page_open_form (CLOCHE_SECRETS_PAGE (widget), NULL);
}

static void
cloche_secrets_page_set_value_action (GtkWidget  *widget,
                                      const char *action_name,
                                      GVariant   *parameter)
{
  ClocheSecretsPage *self = CLOCHE_SECRETS_PAGE (widget);
  const char *name = g_variant_get_string (parameter, NULL);
  GVariantIter iter;
  GVariant *binding;

  if (self->bindings == NULL)
    return;
  g_variant_iter_init (&iter, self->bindings);
  while ((binding = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *listed;

      g_variant_get_child (binding, 0, "&s", &listed);
      if (g_str_equal (listed, name))
        cloche_secrets_page_open_form (self, binding);
      g_variant_unref (binding);
    }
}

/* Remove */

static void
cloche_secrets_page_removed_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  ClocheSecretsPage *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (cloche_dbus_secrets_call_remove_finish (CLOCHE_DBUS_SECRETS (object), result, &error)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_dbus_error_strip_remote_error (error);
  text = g_strdup_printf (_("The secret was not removed: %s"), error->message);
  cloche_message_label_set (self->message_label, text, TRUE);
}

static void
cloche_secrets_page_remove_confirmed_cb (ClocheSecretsPage *self)
{
  const char *name = g_object_get_data (G_OBJECT (self), "removing");

  if (self->secrets == NULL || name == NULL)
    return;
  cloche_message_label_set (self->message_label, NULL, FALSE);
  cloche_dbus_secrets_call_remove (self->secrets, name, self->cancellable,
                                   cloche_secrets_page_removed_cb, self);
}

static void
cloche_secrets_page_remove_action (GtkWidget  *widget,
                                   const char *action_name,
                                   GVariant   *parameter)
{
  const char *name = g_variant_get_string (parameter, NULL);
  g_autofree char *heading = g_strdup_printf (_("Remove %s?"), name);

  g_object_set_data_full (G_OBJECT (widget), "removing", g_strdup (name), g_free);
  cloche_confirm_removal (widget, heading,
                          _("Its value leaves your keyring and its binding your policy. "
                            "Requests that carry its placeholder are refused from then on."),
                          G_CALLBACK (cloche_secrets_page_remove_confirmed_cb), widget);
}

/* The client */

static void
cloche_secrets_page_drop_secrets (ClocheSecretsPage *self)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  /* The proxy is the client's, and outlives the page. */
  if (self->secrets != NULL)
    g_signal_handlers_disconnect_by_data (self->secrets, self);
  g_clear_object (&self->secrets);
}

void
cloche_secrets_page_set_client (ClocheSecretsPage *self,
                                ClocheClient      *client)
{
  ClocheDbusSecrets *secrets;

  g_return_if_fail (CLOCHE_IS_SECRETS_PAGE (self));

  if (!g_set_object (&self->client, client))
    return;
  cloche_secrets_page_drop_secrets (self);
  secrets = client != NULL ? cloche_client_get_secrets (client) : NULL;
  if (secrets != NULL)
    {
      self->secrets = g_object_ref (secrets);
      self->cancellable = g_cancellable_new ();
      g_signal_connect_object (secrets, "changed", G_CALLBACK (cloche_secrets_page_refresh_cb),
                               self,
                               G_CONNECT_SWAPPED);
      cloche_secrets_page_refresh_cb (self);
    }
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "secrets.add", self->secrets != NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
}

ClocheClient *
cloche_secrets_page_get_client (ClocheSecretsPage *self)
{
  g_return_val_if_fail (CLOCHE_IS_SECRETS_PAGE (self), NULL);
  return self->client;
}

/* GObject */

static void
cloche_secrets_page_dispose (GObject *object)
{
  ClocheSecretsPage *self = CLOCHE_SECRETS_PAGE (object);

  cloche_secrets_page_drop_secrets (self);
  g_clear_object (&self->client);
  g_clear_pointer (&self->bindings, g_variant_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), CLOCHE_TYPE_SECRETS_PAGE);

  G_OBJECT_CLASS (cloche_secrets_page_parent_class)->dispose (object);
}

static void
cloche_secrets_page_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  ClocheSecretsPage *self = CLOCHE_SECRETS_PAGE (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_secrets_page_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  ClocheSecretsPage *self = CLOCHE_SECRETS_PAGE (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      cloche_secrets_page_set_client (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_secrets_page_class_init (ClocheSecretsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_secrets_page_dispose;
  object_class->get_property = cloche_secrets_page_get_property;
  object_class->set_property = cloche_secrets_page_set_property;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, CLOCHE_TYPE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-secrets-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheSecretsPage, list_box);
  gtk_widget_class_bind_template_child (widget_class, ClocheSecretsPage, message_label);
  gtk_widget_class_install_action (widget_class, "secrets.add", NULL,
                                   cloche_secrets_page_add_action);
  gtk_widget_class_install_action (widget_class, "secrets.set-value", "s",
                                   cloche_secrets_page_set_value_action);
  gtk_widget_class_install_action (widget_class, "secrets.remove", "s",
                                   cloche_secrets_page_remove_action);
}

static void
cloche_secrets_page_init (ClocheSecretsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "secrets.add", FALSE);
}

GtkWidget *
cloche_secrets_page_new (void)
{
  return g_object_new (CLOCHE_TYPE_SECRETS_PAGE, NULL);
}
