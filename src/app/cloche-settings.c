/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "cloche-settings.h"

/**
 * cloche_settings_new:
 *
 * The app's settings. A build run without its schema (no
 * GSETTINGS_SCHEMA_DIR) keeps working, only without what the settings
 * hold: g_settings_new() would abort the whole app.
 *
 * Returns: (transfer full) (nullable): the settings, or %NULL with a warning
 */
GSettings *
cloche_settings_new (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
  if (schema == NULL)
    {
      g_warning ("The GSettings schema %s is not installed: settings are not kept", APP_ID);
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}
