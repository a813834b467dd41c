/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Egress page: the rules in force, then every decision the proxy made,
 * newest first and live, filterable by session and to refusals only. A
 * refusal shows the rule that made it, so that a blocked download in the
 * agent's terminal can be traced to one line of the policy here.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-egress-page.h"
#include "cloche-egress-row.h"
#include "cloche-policy-view.h"

struct _ClocheEgressPage
{
  AdwBin              parent_instance;

  ClocheEgressLog    *log;
  GSignalGroup       *log_signals;
  GtkCustomFilter    *filter;
  GtkFilterListModel *shown;
  GtkStringList      *session_choices;   /* what the drop-down shows */
  GPtrArray          *session_keys;      /* the session of each choice; NULL: all */
  GtkStringList      *log_sessions;      /* the log's, followed for the drop-down */

  GtkWidget          *rules_group;
  GtkListBox         *rules_list;
  GtkBox             *policy_slot;
  GtkWidget          *session_allow_group;
  GtkListBox         *session_allow_list;
  GtkWidget          *policy_view;
  ClocheClient       *client;
  GtkDropDown        *session_dropdown;
  GtkToggleButton    *denied_button;
  GtkStack           *decisions_stack;
  GtkListBox         *decisions_list;
};

G_DEFINE_FINAL_TYPE (ClocheEgressPage, cloche_egress_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_LOG,
  PROP_CLIENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *
cloche_egress_page_selected_session (ClocheEgressPage *self)
{
  guint selected = gtk_drop_down_get_selected (self->session_dropdown);

  if (selected == GTK_INVALID_LIST_POSITION || selected >= self->session_keys->len)
    return NULL;
  return g_ptr_array_index (self->session_keys, selected);
}

static gboolean
cloche_egress_page_filter_func (gpointer item,
                                gpointer user_data)
{
  ClocheEgressPage *self = user_data;
  const char *session = cloche_egress_page_selected_session (self);

  if (gtk_toggle_button_get_active (self->denied_button)
      && cloche_egress_item_get_allowed (item))
    return FALSE;
  return session == NULL || g_str_equal (session, cloche_egress_item_get_session (item));
}

static void
cloche_egress_page_update_state_cb (ClocheEgressPage *self)
{
  guint all = self->log != NULL
              ? g_list_model_get_n_items (cloche_egress_log_get_decisions (self->log)) : 0;
  guint shown = g_list_model_get_n_items (G_LIST_MODEL (self->shown));

  gtk_stack_set_visible_child_name (self->decisions_stack,
                                    all == 0 ? "empty" : shown == 0 ? "no-match" : "list");
}

static void
cloche_egress_page_filter_changed_cb (ClocheEgressPage *self)
{
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  cloche_egress_page_update_state_cb (self);
}

static GtkWidget *
cloche_egress_page_create_row (gpointer item,
                               gpointer user_data)
{
  return cloche_egress_row_new (item);
}

/* "All sessions", then each session that asked, by the order it first did. */
static void
cloche_egress_page_rebuild_session_choices_cb (ClocheEgressPage *self)
{
  g_autofree char *keep = g_strdup (cloche_egress_page_selected_session (self));
  GtkStringList *sessions = self->log != NULL ? cloche_egress_log_get_sessions (self->log) : NULL;
  guint n = sessions != NULL ? g_list_model_get_n_items (G_LIST_MODEL (sessions)) : 0;
  guint select = 0;

  g_ptr_array_set_size (self->session_keys, 0);
  g_ptr_array_add (self->session_keys, NULL);
  gtk_string_list_splice (self->session_choices, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->session_choices)),
                          (const char *[]) { _("All Sessions"), NULL });
  for (guint i = 0; i < n; i++)
    {
      const char *session = gtk_string_list_get_string (sessions, i);

      g_ptr_array_add (self->session_keys, g_strdup (session));
      gtk_string_list_append (self->session_choices,
                              session[0] != '\0' ? session : _("No Session Named"));
      if (g_strcmp0 (keep, session) == 0)
        select = i + 1;
    }
  gtk_drop_down_set_selected (self->session_dropdown, select);
}

static GtkWidget *
cloche_egress_page_rule_row (const char *title,
                             const char *subtitle,
                             gboolean    allow)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *icon = gtk_image_new_from_icon_name (allow ? "emblem-ok-symbolic"
                                                        : "action-unavailable-symbolic");

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  if (!allow)
    gtk_widget_add_css_class (icon, "error");
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
  return row;
}

static void
cloche_egress_page_clear_rules (ClocheEgressPage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->rules_list))) != NULL)
    gtk_list_box_remove (self->rules_list, child);
}

static void
cloche_egress_page_update_rules_cb (ClocheEgressPage *self)
{
  const char * const *rules = self->log != NULL ? cloche_egress_log_get_rules (self->log) : NULL;
  const char *fallback = self->log != NULL ? cloche_egress_log_get_default_rule (self->log) : NULL;
  gboolean default_allow = g_strcmp0 (fallback, "allow") == 0;
  const char *default_name = default_allow ? _("default allow") : _("default deny");
  const char *default_meaning = default_allow ? _("Anything no rule names is allowed.")
                                              : _("Anything no rule names is denied.");

  cloche_egress_page_clear_rules (self);
  if (fallback == NULL)
    {
      gtk_list_box_append (self->rules_list,
                           cloche_egress_page_rule_row (_("The Cloche service is not running"),
                                                        _("Without it the sandbox reaches nothing "
                                                          "at all."), FALSE));
      return;
    }
  for (guint i = 0; rules != NULL && rules[i] != NULL; i++)
    gtk_list_box_append (self->rules_list,
                         cloche_egress_page_rule_row (rules[i], NULL,
                                                      g_str_has_prefix (rules[i], "allow ")));
  gtk_list_box_append (self->rules_list,
                       cloche_egress_page_rule_row (default_name, default_meaning, default_allow));
}

/* Egress.SessionAllow: a row per session that adds hosts for itself. */
static void
cloche_egress_page_update_session_allow_cb (ClocheEgressPage *self)
{
  GVariant *allow = self->log != NULL ? cloche_egress_log_get_session_allow (self->log) : NULL;
  GtkWidget *child;
  GVariantIter iter;
  const char *session;
  g_autoptr(GVariant) hosts = NULL;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->session_allow_list))) != NULL)
    gtk_list_box_remove (self->session_allow_list, child);
  gtk_widget_set_visible (self->session_allow_group,
                          allow != NULL && g_variant_n_children (allow) > 0);
  if (allow == NULL)
    return;
  g_variant_iter_init (&iter, allow);
  while (g_variant_iter_next (&iter, "{&s@as}", &session, &hosts))
    {
      g_autofree const char **list = g_variant_get_strv (hosts, NULL);
      g_autofree char *joined = g_strjoinv (", ", (char **) list);
      g_autofree char *title = g_strdup_printf (_("Session %s"), session);

      gtk_list_box_append (self->session_allow_list,
                           cloche_egress_page_rule_row (title, joined, TRUE));
      g_clear_pointer (&hosts, g_variant_unref);
    }
}

static void
cloche_egress_page_follow_sessions (ClocheEgressPage *self)
{
  if (self->log_sessions != NULL)
    g_signal_handlers_disconnect_by_data (self->log_sessions, self);
  g_clear_object (&self->log_sessions);
  if (self->log == NULL)
    return;
  self->log_sessions = g_object_ref (cloche_egress_log_get_sessions (self->log));
  g_signal_connect_swapped (self->log_sessions, "items-changed",
                            G_CALLBACK (cloche_egress_page_rebuild_session_choices_cb), self);
}

static void
cloche_egress_page_bind_log (ClocheEgressPage *self)
{
  GListModel *decisions = self->log != NULL ? cloche_egress_log_get_decisions (self->log) : NULL;

  gtk_filter_list_model_set_model (self->shown, decisions);
  cloche_egress_page_follow_sessions (self);
  g_signal_group_set_target (self->log_signals, self->log);
  cloche_egress_page_rebuild_session_choices_cb (self);
  cloche_egress_page_update_rules_cb (self);
  cloche_egress_page_update_session_allow_cb (self);
  cloche_egress_page_update_state_cb (self);
}

void
cloche_egress_page_set_log (ClocheEgressPage *self,
                            ClocheEgressLog  *log)
{
  g_return_if_fail (CLOCHE_IS_EGRESS_PAGE (self));

  if (!g_set_object (&self->log, log))
    return;
  cloche_egress_page_bind_log (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOG]);
}

ClocheEgressLog *
cloche_egress_page_get_log (ClocheEgressPage *self)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_PAGE (self), NULL);

  return self->log;
}

/* The rules with their layers come from the client's policy proxy; with
 * no client, the log's plain list of rules stands in. */
void
cloche_egress_page_set_client (ClocheEgressPage *self,
                               ClocheClient     *client)
{
  ClocheDbusPolicy *policy = client != NULL ? cloche_client_get_policy (client) : NULL;

  g_return_if_fail (CLOCHE_IS_EGRESS_PAGE (self));

  if (!g_set_object (&self->client, client))
    return;
  cloche_policy_view_set_policy (CLOCHE_POLICY_VIEW (self->policy_view), policy);
  /* The same rules, each with the layer it came from: one list, not two. */
  gtk_widget_set_visible (self->rules_group, policy == NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->policy_slot), policy != NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
}

static void
cloche_egress_page_dispose (GObject *object)
{
  ClocheEgressPage *self = CLOCHE_EGRESS_PAGE (object);

  g_clear_object (&self->client);
  if (self->log_signals != NULL)
    g_signal_group_set_target (self->log_signals, NULL);
  g_clear_object (&self->log_signals);
  g_clear_object (&self->log);
  cloche_egress_page_follow_sessions (self);
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), CLOCHE_TYPE_EGRESS_PAGE);
  g_clear_object (&self->shown);
  g_clear_object (&self->filter);
  g_clear_object (&self->session_choices);
  g_clear_pointer (&self->session_keys, g_ptr_array_unref);

  G_OBJECT_CLASS (cloche_egress_page_parent_class)->dispose (object);
}

static void
cloche_egress_page_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  ClocheEgressPage *self = CLOCHE_EGRESS_PAGE (object);

  switch (prop_id)
    {
    case PROP_LOG:
      g_value_set_object (value, self->log);
      break;
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_egress_page_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  ClocheEgressPage *self = CLOCHE_EGRESS_PAGE (object);

  switch (prop_id)
    {
    case PROP_LOG:
      cloche_egress_page_set_log (self, g_value_get_object (value));
      break;
    case PROP_CLIENT:
      cloche_egress_page_set_client (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_egress_page_class_init (ClocheEgressPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_egress_page_dispose;
  object_class->get_property = cloche_egress_page_get_property;
  object_class->set_property = cloche_egress_page_set_property;

  properties[PROP_LOG] =
    g_param_spec_object ("log", NULL, NULL, CLOCHE_TYPE_EGRESS_LOG,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, CLOCHE_TYPE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-egress-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheEgressPage, rules_group);
  gtk_widget_class_bind_template_child (widget_class, ClocheEgressPage, rules_list);
  gtk_widget_class_bind_template_child (widget_class, ClocheEgressPage, session_allow_group);
  gtk_widget_class_bind_template_child (widget_class, ClocheEgressPage, session_allow_list);
  gtk_widget_class_bind_template_child (widget_class, ClocheEgressPage, policy_slot);
  gtk_widget_class_bind_template_child (widget_class, ClocheEgressPage, session_dropdown);
  gtk_widget_class_bind_template_child (widget_class, ClocheEgressPage, denied_button);
  gtk_widget_class_bind_template_child (widget_class, ClocheEgressPage, decisions_stack);
  gtk_widget_class_bind_template_child (widget_class, ClocheEgressPage, decisions_list);
  gtk_widget_class_bind_template_callback (widget_class, cloche_egress_page_filter_changed_cb);
}

static void
cloche_egress_page_init (ClocheEgressPage *self)
{
  self->session_choices = gtk_string_list_new (NULL);
  self->session_keys = g_ptr_array_new_with_free_func (g_free);
  self->filter = gtk_custom_filter_new (cloche_egress_page_filter_func, self, NULL);
  self->shown = gtk_filter_list_model_new (NULL, GTK_FILTER (g_object_ref (self->filter)));
  gtk_widget_init_template (GTK_WIDGET (self));

  gtk_drop_down_set_model (self->session_dropdown, G_LIST_MODEL (self->session_choices));
  gtk_list_box_bind_model (self->decisions_list, G_LIST_MODEL (self->shown),
                           cloche_egress_page_create_row,
                           self, NULL);
  g_signal_connect_object (self->shown, "items-changed",
                           G_CALLBACK (cloche_egress_page_update_state_cb), self,
                           G_CONNECT_SWAPPED);

  self->log_signals = g_signal_group_new (CLOCHE_TYPE_EGRESS_LOG);
  g_signal_group_connect_swapped (self->log_signals, "notify::rules",
                                  G_CALLBACK (cloche_egress_page_update_rules_cb), self);
  g_signal_group_connect_swapped (self->log_signals, "notify::default-rule",
                                  G_CALLBACK (cloche_egress_page_update_rules_cb), self);
  g_signal_group_connect_swapped (self->log_signals, "notify::session-allow",
                                  G_CALLBACK (cloche_egress_page_update_session_allow_cb), self);
  cloche_egress_page_bind_log (self);
  self->policy_view = cloche_policy_view_new (NULL);
  gtk_box_append (self->policy_slot, self->policy_view);
}
