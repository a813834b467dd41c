/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdlib.h>

#include "clochectl.h"

static void
print_report (GVariant *removed,
              guint64   freed,
              gboolean  dry_run)
{
  g_autofree char *freed_text = g_format_size (freed);
  GVariantIter iter;
  GVariant *session;

  g_variant_iter_init (&iter, removed);
  while ((session = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_auto(ClocheSessionInfo) info = { 0 };

      cloche_session_info_init (&info, session);
      clochectl_print_session_row (&info);
      g_variant_unref (session);
    }
  g_print ("%s %" G_GSIZE_FORMAT " stale sessions, %s %s (%" G_GUINT64_FORMAT " bytes)\n",
           dry_run ? "Would remove" : "Removed", g_variant_n_children (removed),
           dry_run ? "would free" : "freed", freed_text, freed);
}

static void
print_report_json (GVariant *removed,
                   guint64   freed,
                   gboolean  dry_run)
{
  g_autoptr(JsonObject) report = json_object_new ();
  g_autoptr(JsonNode) root = NULL;

  json_object_set_boolean_member (report, "dry_run", dry_run);
  json_object_set_int_member (report, "freed_bytes", (gint64) MIN (freed, (guint64) G_MAXINT64));
  json_object_set_member (report, "removed", clochectl_sessions_to_json (removed));
  root = json_node_init_object (json_node_alloc (), report);
  clochectl_print_json (root);
}

int
clochectl_cleanup (ClocheDbusDaemon  *daemon,
                   int                argc,
                   char             **argv)
{
  g_autoptr(GVariant) removed = NULL;
  g_autoptr(GVariant) request = NULL;
  g_autoptr(GError) error = NULL;
  gboolean dry_run = FALSE, json = FALSE;
  int older_than = -1;
  guint64 freed = 0;
  GVariantBuilder options;
  GOptionEntry entries[] = {
    { "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, "Only say what would be removed", NULL },
    { "older-than", 0, 0, G_OPTION_ARG_INT, &older_than,
      "Stale after this many days instead of the policy's", "DAYS" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries, "- remove stale sessions"))
    return 2;
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "dry-run", g_variant_new_boolean (dry_run));
  if (older_than >= 0)
    g_variant_builder_add (&options, "{sv}", "older-than-days", g_variant_new_int32 (older_than));
  request = g_variant_ref_sink (g_variant_builder_end (&options));
  removed = clochectl_call_sessions (daemon, "Cleanup", request, &freed, &error);
  /* An older daemon: the same call, not packed. */
  if (removed == NULL
      && (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_INTERFACE)
          || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD)))
    {
      g_clear_error (&error);
      cloche_dbus_daemon_call_cleanup_sync (daemon, request, &removed, &freed, NULL, &error);
    }
  if (removed == NULL)
    return clochectl_fail (_("cannot clean up"), error);
  if (json)
    print_report_json (removed, freed, dry_run);
  else
    print_report (removed, freed, dry_run);
  return EXIT_SUCCESS;
}
