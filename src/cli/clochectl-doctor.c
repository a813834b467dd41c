/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl doctor: runs the daemon's checks (io.github.cloche.Doctor.Run)
 * and prints each with its status, reason code, finding and fix. The exit
 * status is the worst status: 0 all ok, 1 warnings, 2 failures (and 2 when
 * the service cannot be reached at all).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdlib.h>

#include "clochectl.h"

#define DOCTOR_TIMEOUT_MS (2 * 60 * 1000)

static const char *
clochectl_doctor_lookup (GVariant   *result,
                         const char *key)
{
  const char *value = NULL;

  g_variant_lookup (result, key, "&s", &value);
  return value != NULL ? value : "";
}

static int
clochectl_doctor_status_rank (const char *status)
{
  if (g_str_equal (status, "failure"))
    return 2;
  return g_str_equal (status, "warning") ? 1 : 0;
}

static void
clochectl_doctor_print_result (GVariant *result)
{
  const char *code = clochectl_doctor_lookup (result, "code");
  const char *fix = clochectl_doctor_lookup (result, "fix");
  g_autofree const char **details = NULL;

  g_print ("%-8s %s%s%s%s\n", clochectl_doctor_lookup (result, "status"),
           clochectl_doctor_lookup (result, "title"),
           code[0] ? " (" : "", code, code[0] ? ")" : "");
  g_print ("         %s\n", clochectl_doctor_lookup (result, "finding"));
  if (fix[0] != '\0')
    g_print (_("         Fix: %s\n"), fix);
  if (g_variant_lookup (result, "details", "^a&s", &details))
    for (guint i = 0; details[i] != NULL
         && clochectl_doctor_status_rank (clochectl_doctor_lookup (result, "status")) > 0; i++)
      g_print ("           | %s\n", details[i]);
}

static int
clochectl_doctor_print_results (GVariant *results,
                                gboolean  json)
{
  GVariantIter iter;
  GVariant *result;
  int worst = 0;

  g_variant_iter_init (&iter, results);
  while ((result = g_variant_iter_next_value (&iter)))
    {
      worst =
        MAX (worst, clochectl_doctor_status_rank (clochectl_doctor_lookup (result, "status")));
      if (!json)
        clochectl_doctor_print_result (result);
      g_variant_unref (result);
    }
  if (json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "status");
      json_builder_add_string_value (builder, worst == 2 ? "failure" : worst == 1 ? "warning" : "ok");
      json_builder_set_member_name (builder, "checks");
      json_builder_add_value (builder, json_gvariant_serialize (results));
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      clochectl_print_json (root);
    }
  return worst;
}

int
clochectl_doctor (int    argc,
                  char **argv)
{
  g_autoptr(ClocheDbusDoctor) doctor = NULL;
  g_autoptr(GVariant) results = NULL;
  g_autoptr(GError) error = NULL;
  const char * const all[] = { NULL };
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the results as JSON", NULL },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries, "- check what the sandbox needs"))
    return 2;
  if (argc > 1)
    return clochectl_usage ();
  doctor = cloche_dbus_doctor_proxy_new_for_bus_sync (G_BUS_TYPE_SESSION, G_DBUS_PROXY_FLAGS_NONE,
                                                      DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
                                                      NULL, &error);
  if (doctor != NULL)
    {
      g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (doctor), DOCTOR_TIMEOUT_MS);
      cloche_dbus_doctor_call_run_sync (doctor, all, &results, NULL, &error);
    }
  if (results == NULL)
    {
      clochectl_fail (_("cannot run the checks in the Cloche service"), error);
      return 2;
    }
  return clochectl_doctor_print_results (results, json);
}
