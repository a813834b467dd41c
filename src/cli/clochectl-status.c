/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <json-glib/json-glib.h>

#include "clochectl.h"

static char *
clochectl_status_format_uptime (gint64 booted_at)
{
  gint64 seconds;

  if (booted_at == 0)
    return g_strdup ("-");
  seconds = MAX (0, (g_get_real_time () - booted_at) / G_USEC_PER_SEC);
  return g_strdup_printf ("%" G_GINT64_FORMAT ":%02d:%02d", seconds / 3600,
                          (int) (seconds / 60 % 60), (int) (seconds % 60));
}

/* A daemon that just started checks for a few milliseconds whether KVM
 * runs a guest (longer only if its test vCPU hangs): wait for the verdict
 * rather than print an empty one. */
static void
clochectl_status_wait_for_accelerator (ClocheDbusDaemon *daemon)
{
  gint64 deadline = g_get_monotonic_time () + 6 * G_USEC_PER_SEC;

  while (g_strcmp0 (cloche_dbus_daemon_get_accelerator (daemon), "") == 0
         && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (10 * 1000);
}

/* The Bundle interface beside the daemon's: whether a bundle is installed
 * (Installed, as the app's Overview says it), its size and the warm-wake
 * snapshot's. NULL if it cannot be reached. */
static ClocheDbusBundle *
clochectl_status_bundle_proxy (ClocheDbusDaemon *daemon)
{
  GDBusProxy *proxy = G_DBUS_PROXY (daemon);

  return cloche_dbus_bundle_proxy_new_sync (g_dbus_proxy_get_connection (proxy),
                                            G_DBUS_PROXY_FLAGS_NONE,
                                            g_dbus_proxy_get_name (proxy),
                                            g_dbus_proxy_get_object_path (proxy), NULL, NULL);
}

static char *
clochectl_status_format_bundle_sizes (ClocheDbusBundle *bundle)
{
  g_autofree char *size = NULL, *snapshot = NULL;

  if (bundle == NULL || !cloche_dbus_bundle_get_installed (bundle))
    return g_strdup (_("not installed"));
  size = g_format_size (cloche_dbus_bundle_get_size (bundle));
  if (cloche_dbus_bundle_get_snapshot_size (bundle) == 0)
    return g_strdup_printf (_("installed, %s"), size);
  snapshot = g_format_size (cloche_dbus_bundle_get_snapshot_size (bundle));
  /* Translators: the bundle's size, then the warm-wake snapshot's (the idle VM saved) */
  return g_strdup_printf (_("installed, %s; saved VM %s"), size, snapshot);
}

/* The bundle, then the agents installed (the tools folder), if any. */
static char *
clochectl_status_format_bundle (ClocheDbusBundle *bundle)
{
  g_autofree char *sizes = clochectl_status_format_bundle_sizes (bundle);
  g_autofree char *tools = NULL;

  if (bundle == NULL || cloche_dbus_bundle_get_tools_size (bundle) == 0)
    return g_steal_pointer (&sizes);
  tools = g_format_size (cloche_dbus_bundle_get_tools_size (bundle));
  /* Translators: the bundle's sizes, then the tools folder's (agents installed) */
  return g_strdup_printf (_("%s; agents %s"), sizes, tools);
}

/* "in 4:32 unless a session opens", or NULL when the VM will not stop by
 * itself. */
static char *
clochectl_status_format_idle_stop (gint64 idle_stop_at)
{
  gint64 left;

  if (idle_stop_at <= 0)
    return NULL;
  left = MAX (0, (idle_stop_at - g_get_real_time ()) / G_USEC_PER_SEC);
  return g_strdup_printf (_("in %d:%02d unless a session opens"), (int) (left / 60),
                          (int) (left % 60));
}

static void
clochectl_status_print_status_text (ClocheDbusDaemon *daemon)
{
  g_autofree char *idle_stop =
    clochectl_status_format_idle_stop (cloche_dbus_daemon_get_idle_stop_at (daemon));
  g_autofree char *uptime =
    clochectl_status_format_uptime (cloche_dbus_daemon_get_booted_at (daemon));
  const char *reason = cloche_dbus_daemon_get_state_reason (daemon);
  const char * const *console = cloche_dbus_daemon_get_console_tail (daemon);
  g_autoptr(ClocheDbusBundle) bundle = clochectl_status_bundle_proxy (daemon);
  g_autofree char *bundle_text = clochectl_status_format_bundle (bundle);

  g_print (_("State:        %s%s%s%s\n"), cloche_dbus_daemon_get_state (daemon),
           reason != NULL && reason[0] ? " (" : "", reason ? reason : "",
           reason != NULL && reason[0] ? ")" : "");
  g_print (_("Accelerator:  %s%s — %s\n"), cloche_dbus_daemon_get_accelerator (daemon),
           cloche_dbus_daemon_get_accelerator_fallback (daemon) ? _(" (fallback)") : "",
           cloche_dbus_daemon_get_accelerator_reason (daemon));
  g_print (_("Uptime:       %s\n"), uptime);
  g_print (_("Sessions:     %u open\n"), cloche_dbus_daemon_get_open_sessions (daemon));
  g_print (_("Idle timeout: %u s\n"), cloche_dbus_daemon_get_idle_timeout (daemon));
  if (idle_stop != NULL)
    g_print (_("Stops:        %s\n"), idle_stop);
  g_print (_("Bundle:       %s (%s)\n"), cloche_dbus_daemon_get_bundle_path (daemon),
           bundle_text);
  for (guint i = 0; console != NULL && console[i] != NULL; i++)
    g_print ("%s %s\n", i == 0 ? "Console:     " : "             ", console[i]);
}

static void
clochectl_status_print_status_json (ClocheDbusDaemon *daemon)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  const char * const *console = cloche_dbus_daemon_get_console_tail (daemon);
  g_autoptr(ClocheDbusBundle) bundle = clochectl_status_bundle_proxy (daemon);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, cloche_dbus_daemon_get_state (daemon));
  json_builder_set_member_name (builder, "state_reason");
  json_builder_add_string_value (builder, cloche_dbus_daemon_get_state_reason (daemon));
  json_builder_set_member_name (builder, "accelerator");
  json_builder_add_string_value (builder, cloche_dbus_daemon_get_accelerator (daemon));
  json_builder_set_member_name (builder, "accelerator_reason");
  json_builder_add_string_value (builder, cloche_dbus_daemon_get_accelerator_reason (daemon));
  json_builder_set_member_name (builder, "accelerator_fallback");
  json_builder_add_boolean_value (builder, cloche_dbus_daemon_get_accelerator_fallback (daemon));
  json_builder_set_member_name (builder, "booted_at_us");
  json_builder_add_int_value (builder, cloche_dbus_daemon_get_booted_at (daemon));
  json_builder_set_member_name (builder, "open_sessions");
  json_builder_add_int_value (builder, cloche_dbus_daemon_get_open_sessions (daemon));
  json_builder_set_member_name (builder, "idle_timeout_s");
  json_builder_add_int_value (builder, cloche_dbus_daemon_get_idle_timeout (daemon));
  json_builder_set_member_name (builder, "idle_stop_at_us");
  json_builder_add_int_value (builder, cloche_dbus_daemon_get_idle_stop_at (daemon));
  json_builder_set_member_name (builder, "bundle_path");
  json_builder_add_string_value (builder, cloche_dbus_daemon_get_bundle_path (daemon));
  json_builder_set_member_name (builder, "bundle_installed");
  json_builder_add_boolean_value (builder, bundle != NULL
                                           && cloche_dbus_bundle_get_installed (bundle));
  json_builder_set_member_name (builder, "bundle_size");
  json_builder_add_int_value (builder, bundle != NULL ? cloche_dbus_bundle_get_size (bundle) : 0);
  json_builder_set_member_name (builder, "snapshot_size");
  json_builder_add_int_value (builder, bundle != NULL
                                       ? cloche_dbus_bundle_get_snapshot_size (bundle) : 0);
  json_builder_set_member_name (builder, "tools_size");
  json_builder_add_int_value (builder, bundle != NULL
                                       ? cloche_dbus_bundle_get_tools_size (bundle) : 0);
  json_builder_set_member_name (builder, "console_tail");
  json_builder_begin_array (builder);
  for (guint i = 0; console != NULL && console[i] != NULL; i++)
    json_builder_add_string_value (builder, console[i]);
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

int
clochectl_status (ClocheDbusDaemon  *daemon,
            int                argc,
            char             **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries, "- show the sandbox VM"))
    return 2;
  if (cloche_dbus_daemon_get_state (daemon) == NULL)
    {
      g_printerr (_("clochectl: the Cloche service (%s) is not running and could not be started\n"),
                  DAEMON_BUS_NAME);
      return EXIT_FAILURE;
    }
  clochectl_status_wait_for_accelerator (daemon);
  if (json)
    clochectl_status_print_status_json (daemon);
  else
    clochectl_status_print_status_text (daemon);
  return EXIT_SUCCESS;
}

