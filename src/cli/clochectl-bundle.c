/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl bundle info|install|verify|relocate|remove|remove-tools. The
 * long operations
 * run as async calls under a main loop so that Progress signals can be
 * shown on a terminal while they run; Ctrl+C asks the daemon to cancel.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <glib-unix.h>
#include <inttypes.h>
#include <stdlib.h>

#include "clochectl.h"

#define CALL_TIMEOUT_MS G_MAXINT

typedef struct
{
  ClocheDbusBundle *bundle;
  GMainLoop        *loop;
  GAsyncResult     *result;
  ClochectlProgress progress;
} Call;

static ClocheDbusBundle *
clochectl_bundle_connect_bundle (ClocheDbusDaemon  *daemon,
                                 GError           **error)
{
  GDBusProxy *proxy = G_DBUS_PROXY (daemon);
  ClocheDbusBundle *bundle;

  bundle = cloche_dbus_bundle_proxy_new_sync (g_dbus_proxy_get_connection (proxy),
                                              G_DBUS_PROXY_FLAGS_NONE,
                                              g_dbus_proxy_get_name (proxy),
                                              g_dbus_proxy_get_object_path (proxy),
                                              NULL, error);
  if (bundle != NULL)
    g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (bundle), CALL_TIMEOUT_MS);
  return bundle;
}

/* Local paths travel as absolute ones: the daemon has another cwd. */
static char *
clochectl_bundle_absolute_source (const char *source)
{
  if (g_str_has_prefix (source, "http://") || g_str_has_prefix (source, "https://"))
    return g_strdup (source);
  return g_canonicalize_filename (source, NULL);
}

/* Progress and Ctrl+C */

static void
clochectl_bundle_progress_cb (Call       *call,
                              const char *operation,
                              const char *phase,
                              const char *file,
                              guint64     done,
                              guint64     total)
{
  g_autofree char *done_text = g_format_size (done);
  g_autofree char *total_text = g_format_size (total);

  clochectl_progress_show (&call->progress, "%s %s: %s of %s (%d%%)", phase, file, done_text,
                           total_text, clochectl_percent (done, total));
}

static gboolean
clochectl_bundle_interrupt_cb (gpointer user_data)
{
  Call *call = user_data;

  g_printerr (_("\nclochectl: cancelling…\n"));
  cloche_dbus_bundle_call_cancel (call->bundle, NULL, NULL, NULL);
  return G_SOURCE_CONTINUE;
}

static void
clochectl_bundle_done_cb (GObject      *object,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  Call *call = user_data;

  call->result = g_object_ref (result);
  g_main_loop_quit (call->loop);
}

/* Runs the loop until clochectl_bundle_done_cb; the caller finishes call->result. */
static void
clochectl_bundle_wait_for (Call *call)
{
  gulong handler = g_signal_connect_swapped (call->bundle, "progress",
                                             G_CALLBACK (clochectl_bundle_progress_cb), call);
  guint interrupt = g_unix_signal_add (SIGINT, clochectl_bundle_interrupt_cb, call);

  g_main_loop_run (call->loop);
  g_source_remove (interrupt);
  g_signal_handler_disconnect (call->bundle, handler);
  clochectl_progress_end (&call->progress);
}

static void
clochectl_bundle_call_init (Call             *call,
                            ClocheDbusBundle *bundle)
{
  call->bundle = bundle;
  call->loop = g_main_loop_new (NULL, FALSE);
  clochectl_progress_init (&call->progress);
}

static void
clochectl_bundle_call_clear (Call *call)
{
  g_clear_pointer (&call->loop, g_main_loop_unref);
  g_clear_object (&call->result);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Call, clochectl_bundle_call_clear)

/* info */

static void
clochectl_bundle_print_file (GVariant *file)
{
  const char *path = "";
  guint64 size = 0, allocated = 0;
  gboolean present = TRUE;

  g_variant_lookup (file, "path", "&s", &path);
  g_variant_lookup (file, "size", "t", &size);
  g_variant_lookup (file, "allocated", "t", &allocated);
  g_variant_lookup (file, "present", "b", &present);
  if (present)
    g_print ("  %-16s %14" G_GUINT64_FORMAT " bytes %14" G_GUINT64_FORMAT " allocated\n",
             path, size, allocated);
  else
    g_print (_("  %-16s missing\n"), path);
}

static char *
clochectl_bundle_format_verified (gint64 when)
{
  g_autoptr(GDateTime) time = NULL;

  if (when <= 0)
    return g_strdup ("never");
  time = g_date_time_new_from_unix_local (when);
  return g_date_time_format (time, "%Y-%m-%d %H:%M:%S");
}

static void
clochectl_bundle_print_info (GVariant *info)
{
  g_autoptr(GVariant) files = g_variant_lookup_value (info, "files", G_VARIANT_TYPE ("aa{sv}"));
  const char *location = "", *name = "", *version = "", *problem = NULL;
  gboolean installed = FALSE;
  guint64 size = 0, allocated = 0, partial = 0, snapshot = 0, tools = 0;
  gint64 verified = 0;
  g_autofree char *allocated_text = NULL, *verified_text = NULL, *snapshot_text = NULL;
  g_autofree char *tools_text = NULL;

  g_variant_lookup (info, "installed", "b", &installed);
  g_variant_lookup (info, "location", "&s", &location);
  g_variant_lookup (info, "name", "&s", &name);
  g_variant_lookup (info, "version", "&s", &version);
  g_variant_lookup (info, "size", "t", &size);
  g_variant_lookup (info, "allocated", "t", &allocated);
  g_variant_lookup (info, "partial", "t", &partial);
  g_variant_lookup (info, "snapshot", "t", &snapshot);
  g_variant_lookup (info, "tools", "t", &tools);
  g_variant_lookup (info, "last-verified", "x", &verified);
  g_variant_lookup (info, "problem", "&s", &problem);
  allocated_text = g_format_size (allocated);
  verified_text = clochectl_bundle_format_verified (verified);

  g_print (_("Installed:     %s\n"), installed ? "yes" : "no");
  g_print (_("Location:      %s\n"), location);
  if (partial > 0)
    g_print ("Partial:       %" G_GUINT64_FORMAT " bytes of an interrupted download "
             "(install again to resume)\n", partial);
  if (!installed)
    {
      g_print (_("Install one with: clochectl bundle install SOURCE [--location DIR]\n"));
      return;
    }
  g_print (_("Name:          %s\nVersion:       %s\n"), name, version);
  g_print ("Size on disk:  %s (%" G_GUINT64_FORMAT " bytes allocated, %" G_GUINT64_FORMAT
           " apparent)\n", allocated_text, allocated, size);
  snapshot_text = g_format_size (snapshot);
  if (snapshot > 0)
    /* Translators: the warm-wake snapshot, the idle VM saved on disk */
    g_print (_("Saved VM:      %s (%" PRIu64 " bytes; restored at the next open, "
               "removed with the bundle)\n"), snapshot_text, snapshot);
  else
    g_print (_("Saved VM:      none\n"));
  tools_text = g_format_size (tools);
  if (tools > 0)
    /* Translators: the tools folder, where `clochectl agent install` puts agents */
    g_print (_("Agents:        %s (%" PRIu64 " bytes in the tools folder; not removed with the "
               "bundle: clochectl bundle remove-tools)\n"), tools_text, tools);
  else
    g_print (_("Agents:        none installed (clochectl agent install NAME)\n"));
  g_print (_("Last verified: %s\n"), verified_text);
  if (problem != NULL)
    g_print (_("Problem:       %s\n"), problem);
  g_print (_("Files:\n"));
  for (gsize i = 0; files != NULL && i < g_variant_n_children (files); i++)
    {
      g_autoptr(GVariant) file = g_variant_get_child_value (files, i);

      clochectl_bundle_print_file (file);
    }
}

static int
clochectl_bundle_info (ClocheDbusBundle  *bundle,
                       int                argc,
                       char             **argv)
{
  g_autoptr(GVariant) info = NULL;
  g_autoptr(GError) error = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries, "- show the sandbox bundle"))
    return 2;
  if (!cloche_dbus_bundle_call_info_sync (bundle, &info, NULL, &error))
    return clochectl_fail (_("cannot read the bundle"), error);
  if (json)
    {
      g_autoptr(JsonNode) root = json_gvariant_serialize (info);

      clochectl_print_json (root);
    }
  else
    clochectl_bundle_print_info (info);
  return EXIT_SUCCESS;
}

/* install */

static gboolean
clochectl_bundle_show_inspection (ClocheDbusBundle  *bundle,
                                  const char        *source,
                                  const char        *location,
                                  GError           **error)
{
  g_autoptr(GVariant) info = NULL;
  const char *name = "", *version = "", *target = "";
  guint64 size = 0, free_bytes = 0;
  g_autofree char *size_text = NULL, *free_text = NULL;

  if (!cloche_dbus_bundle_call_inspect_sync (bundle, source, location, &info, NULL, error))
    return FALSE;
  g_variant_lookup (info, "name", "&s", &name);
  g_variant_lookup (info, "version", "&s", &version);
  g_variant_lookup (info, "location", "&s", &target);
  g_variant_lookup (info, "size", "t", &size);
  g_variant_lookup (info, "free", "t", &free_bytes);
  size_text = g_format_size (size);
  free_text = g_format_size (free_bytes);
  g_print ("Installing %s %s: %s (%" G_GUINT64_FORMAT " bytes) into %s, which has %s free\n",
           name, version, size_text, size, target, free_text);
  return TRUE;
}

static int
clochectl_bundle_install (ClocheDbusBundle  *bundle,
                          int                argc,
                          char             **argv)
{
  g_autofree char *location = NULL, *absolute_location = NULL, *source = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Call) call = { 0 };
  GOptionEntry entries[] = {
    { "location", 0, 0, G_OPTION_ARG_FILENAME, &location,
      "Install into this folder (new or empty) instead of the current location", "DIR" },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries, "SOURCE - install the sandbox bundle")
      || argc != 2)
    return clochectl_usage ();
  source = clochectl_bundle_absolute_source (argv[1]);
  if (location != NULL)
    absolute_location = g_canonicalize_filename (location, NULL);
  if (!clochectl_bundle_show_inspection (bundle, source, absolute_location ? absolute_location : "",
                                         &error))
    return clochectl_fail (_("cannot install the bundle"), error);
  clochectl_bundle_call_init (&call, bundle);
  cloche_dbus_bundle_call_install (bundle, source, absolute_location ? absolute_location : "",
                                   NULL, clochectl_bundle_done_cb, &call);
  clochectl_bundle_wait_for (&call);
  if (!cloche_dbus_bundle_call_install_finish (bundle, call.result, &error))
    return clochectl_fail (_("cannot install the bundle"), error);
  /* The cached Location may not have heard of the move yet: the reply can
   * come before the PropertiesChanged signal. */
  g_print (_("Installed and verified: %s\n"),
           absolute_location ? absolute_location : cloche_dbus_bundle_get_location (bundle));
  return EXIT_SUCCESS;
}

/* verify, relocate, remove */

static int
clochectl_bundle_verify (ClocheDbusBundle  *bundle,
                         int                argc,
                         char             **argv)
{
  g_autoptr(GError) error = NULL;
  g_auto(Call) call = { 0 };

  if (argc != 1)
    return clochectl_usage ();
  clochectl_bundle_call_init (&call, bundle);
  cloche_dbus_bundle_call_verify (bundle, NULL, clochectl_bundle_done_cb, &call);
  clochectl_bundle_wait_for (&call);
  if (!cloche_dbus_bundle_call_verify_finish (bundle, call.result, &error))
    return clochectl_fail (_("the bundle does not verify"), error);
  g_print (_("Every file of the bundle at %s matches its sha256\n"),
           cloche_dbus_bundle_get_location (bundle));
  return EXIT_SUCCESS;
}

static int
clochectl_bundle_relocate (ClocheDbusBundle  *bundle,
                           int                argc,
                           char             **argv)
{
  g_autofree char *target = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Call) call = { 0 };

  if (argc != 2)
    return clochectl_usage ();
  target = g_canonicalize_filename (argv[1], NULL);
  clochectl_bundle_call_init (&call, bundle);
  cloche_dbus_bundle_call_relocate (bundle, target, NULL, clochectl_bundle_done_cb, &call);
  clochectl_bundle_wait_for (&call);
  if (!cloche_dbus_bundle_call_relocate_finish (bundle, call.result, &error))
    return clochectl_fail (_("cannot move the bundle"), error);
  g_print (_("The bundle is now at %s\n"), target);
  return EXIT_SUCCESS;
}

static int
clochectl_bundle_remove (ClocheDbusBundle  *bundle,
                         int                argc,
                         char             **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *freed_text = NULL;
  g_auto(Call) call = { 0 };
  gboolean force = FALSE;
  guint64 freed = 0;
  GOptionEntry entries[] = {
    { "force", 0, 0, G_OPTION_ARG_NONE, &force,
      "Close open sessions (their files stay) instead of refusing", NULL },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries, "- remove the sandbox bundle")
      || argc != 1)
    return clochectl_usage ();
  clochectl_bundle_call_init (&call, bundle);
  cloche_dbus_bundle_call_remove (bundle, force, NULL, clochectl_bundle_done_cb, &call);
  clochectl_bundle_wait_for (&call);
  if (!cloche_dbus_bundle_call_remove_finish (bundle, &freed, call.result, &error))
    return clochectl_fail (_("cannot remove the bundle"), error);
  freed_text = g_format_size (freed);
  g_print ("Removed the bundle: freed %s (%" G_GUINT64_FORMAT " bytes). Sessions were kept.\n",
           freed_text, freed);
  return EXIT_SUCCESS;
}

/* The tools folder: shown and removed beside the bundle, not with it. */
static int
clochectl_bundle_remove_tools (ClocheDbusBundle  *bundle,
                               int                argc,
                               char             **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *freed_text = NULL;
  guint64 freed = 0;
  GOptionEntry entries[] = { { NULL } };

  if (!clochectl_parse_options (&argc, &argv, entries,
                                "- remove every agent installed in the sandbox")
      || argc != 1)
    return clochectl_usage ();
  if (!cloche_dbus_bundle_call_remove_tools_sync (bundle, &freed, NULL, &error))
    return clochectl_fail (_("cannot remove the tools folder"), error);
  freed_text = g_format_size (freed);
  g_print (_("Removed the agents installed in the sandbox: freed %s (%" PRIu64 " bytes)\n"),
           freed_text, freed);
  return EXIT_SUCCESS;
}

int
clochectl_bundle (ClocheDbusDaemon  *daemon,
                  int                argc,
                  char             **argv)
{
  static const struct {
    const char *name;
    int (*func) (ClocheDbusBundle *, int, char **);
  } subcommands[] = {
    { "info", clochectl_bundle_info },
    { "install", clochectl_bundle_install },
    { "verify", clochectl_bundle_verify },
    { "relocate", clochectl_bundle_relocate },
    { "remove", clochectl_bundle_remove },
    { "remove-tools", clochectl_bundle_remove_tools },
  };
  g_autoptr(ClocheDbusBundle) bundle = NULL;
  g_autoptr(GError) error = NULL;

  if (argc < 2)
    return clochectl_usage ();
  for (guint i = 0; i < G_N_ELEMENTS (subcommands); i++)
    {
      if (!g_str_equal (argv[1], subcommands[i].name))
        continue;
      bundle = clochectl_bundle_connect_bundle (daemon, &error);
      if (bundle == NULL)
        return clochectl_fail (_("cannot reach the Cloche service"), error);
      return subcommands[i].func (bundle, argc - 1, argv + 1);
    }
  g_printerr (_("clochectl: unknown bundle command \"%s\"\n"), argv[1]);
  return clochectl_usage ();
}
