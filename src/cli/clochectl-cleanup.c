/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdlib.h>

#include "clochectl.h"

/* --older-than: what the policy allows for stale_after_days, and 0. */
#define OLDER_THAN_MAX 3650
/* Not given: GOption leaves it as it was. */
#define NO_DAYS G_MININT

static void
clochectl_cleanup_print_report (GVariant *removed,
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
clochectl_cleanup_print_report_json (GVariant *removed,
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

static GVariant *
clochectl_cleanup_options (gboolean dry_run,
                           int      older_than)
{
  GVariantDict options;

  g_variant_dict_init (&options, NULL);
  g_variant_dict_insert (&options, "dry-run", "b", dry_run);
  if (older_than != NO_DAYS)
    g_variant_dict_insert (&options, "older-than-days", "u", (guint32) older_than);
  return g_variant_dict_end (&options);
}

int
clochectl_cleanup (ClocheDbusDaemon  *daemon,
                   int                argc,
                   char             **argv)
{
  g_autoptr(ClocheDbusSessions) sessions = NULL;
  g_autoptr(GVariant) packed = NULL;
  g_autoptr(GVariant) removed = NULL;
  g_autoptr(GError) error = NULL;
  gboolean dry_run = FALSE, json = FALSE;
  int older_than = NO_DAYS;
  guint64 freed = 0;
  GOptionEntry entries[] = {
    { "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, "Only say what would be removed", NULL },
    { "older-than", 0, 0, G_OPTION_ARG_INT, &older_than,
      "Stale after this many days (0 to 3650) instead of the policy's", "DAYS" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries, "- remove stale sessions"))
    return 2;
  if (older_than != NO_DAYS && (older_than < 0 || older_than > OLDER_THAN_MAX))
    {
      g_printerr (_("clochectl: --older-than %d is out of range: give a number of days from 0 "
                    "to %d, or leave it out for the policy's\n"), older_than, OLDER_THAN_MAX);
      return 2;
    }
  sessions = clochectl_sessions_proxy (daemon, CLOCHECTL_SESSIONS_CALLS, &error);
  if (sessions == NULL
      || !cloche_dbus_sessions_call_cleanup_sync (sessions,
                                                  clochectl_cleanup_options (dry_run, older_than),
                                                  &packed, &freed, NULL, &error))
    return clochectl_fail (_("cannot clean up"), error);
  removed = cloche_session_infos_unpack (packed);
  if (json)
    clochectl_cleanup_print_report_json (removed, freed, dry_run);
  else
    clochectl_cleanup_print_report (removed, freed, dry_run);
  return EXIT_SUCCESS;
}
