/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdlib.h>

#include "clochectl.h"

/* PATH[:ro|:rw], in the policy's mounts.default_mode unless it says;
 * relative to where we are. */
gboolean
clochectl_parse_mount (const char       *spec,
                       gboolean          default_readonly,
                       GVariantBuilder  *builder)
{
  g_autofree char *path = g_strdup (spec);
  g_autofree char *absolute = NULL;
  gboolean readonly = default_readonly;
  gsize length = strlen (path);

  if (length > 3 && (g_str_has_suffix (path, ":ro") || g_str_has_suffix (path, ":rw")))
    {
      readonly = g_str_has_suffix (path, ":ro");
      path[length - 3] = '\0';
    }
  else if (strrchr (path, ':') != NULL && strchr (strrchr (path, ':'), '/') == NULL)
    {
      g_printerr (_("clochectl: --mount %s: the mode must be :ro or :rw\n"), spec);
      return FALSE;
    }
  absolute = g_canonicalize_filename (path, NULL);
  /* D-Bus, the record and every message carry paths as UTF-8 text. */
  if (!g_utf8_validate (absolute, -1, NULL))
    {
      g_autofree char *shown = g_strescape (absolute, NULL);

      g_printerr (_("clochectl: --mount \"%s\": the path is not valid UTF-8, which Cloche "
                    "cannot record or show; rename the folder\n"), shown);
      return FALSE;
    }
  g_variant_builder_add (builder, "(sb)", absolute, readonly);
  return TRUE;
}

static int
cmd_session_open (ClocheDbusDaemon  *daemon,
                  int                argc,
                  char             **argv)
{
  g_autofree char *title = NULL;
  g_autofree char *id = NULL;
  g_auto(GStrv) mounts = NULL;
  g_autoptr(GError) error = NULL;
  GVariantBuilder folders, options;
  gboolean default_readonly;
  GOptionEntry entries[] = {
    { "title", 0, 0, G_OPTION_ARG_STRING, &title, "A title for the session", "TITLE" },
    { "mount", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &mounts,
      "Mount a host folder at /sessions/ID/mnt/NAME (default: the policy's mode, read-only)",
      "PATH[:ro|:rw]" },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries, "- open a session (boots the VM)"))
    return 2;
  g_variant_builder_init (&folders, G_VARIANT_TYPE ("a(sb)"));
  default_readonly = mounts == NULL || clochectl_policy_mounts_readonly (daemon);
  for (guint i = 0; mounts != NULL && mounts[i] != NULL; i++)
    if (!clochectl_parse_mount (mounts[i], default_readonly, &folders))
      {
        g_variant_builder_clear (&folders);
        return 2;
      }

  /* This process ends right away: the session must not end with it. */
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "mounts", g_variant_builder_end (&folders));
  g_variant_builder_add (&options, "{sv}", "keep-open", g_variant_new_boolean (TRUE));
  g_variant_builder_add (&options, "{sv}", "client", g_variant_new_string ("clochectl"));
  if (!cloche_dbus_daemon_call_open_session_sync (daemon, title ? title : "",
                                                  g_variant_builder_end (&options),
                                                  &id, NULL, &error))
    return clochectl_fail (_("cannot open a session"), error);
  g_print ("%s\n", id);
  return EXIT_SUCCESS;
}

static int
cmd_session_close (ClocheDbusDaemon  *daemon,
                   int                argc,
                   char             **argv)
{
  g_autoptr(GError) error = NULL;

  if (argc != 2)
    return clochectl_usage ();
  if (!cloche_dbus_daemon_call_close_session_sync (daemon, argv[1], NULL, &error))
    return clochectl_fail (_("cannot close the session"), error);
  return EXIT_SUCCESS;
}

static gboolean
is_stale (GVariant *session)
{
  g_auto(ClocheSessionInfo) info = { 0 };

  cloche_session_info_init (&info, session);
  return info.stale;
}

static GVariant *
keep_stale (GVariant *sessions)
{
  g_autoptr(GPtrArray) stale = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  GVariantIter iter;
  GVariant *session;

  g_variant_iter_init (&iter, sessions);
  while ((session = g_variant_iter_next_value (&iter)) != NULL)
    if (is_stale (session))
      g_ptr_array_add (stale, session);
    else
      g_variant_unref (session);
  return g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE (CLOCHE_SESSION_INFO_TYPE),
                                                  (GVariant **) stale->pdata, stale->len));
}

static void
print_table (GVariant *sessions)
{
  GVariantIter iter;
  GVariant *session;
  guint64 total = 0;
  g_autofree char *total_text = NULL;

  g_print ("%-12s  %-16s  %5s  %10s  %s\n", "ID", "STATE", "IDLE", "SIZE", "TITLE");
  g_variant_iter_init (&iter, sessions);
  while ((session = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_auto(ClocheSessionInfo) info = { 0 };

      cloche_session_info_init (&info, session);
      clochectl_print_session_row (&info);
      total += info.size;
      g_variant_unref (session);
    }
  total_text = g_format_size (total);
  g_print ("%" G_GSIZE_FORMAT " sessions, %s on disk\n", g_variant_n_children (sessions),
           total_text);
}

/* An older daemon has no io.github.cloche.Sessions. */
static gboolean
is_unknown (const GError *error)
{
  return g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_INTERFACE)
         || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD);
}

/**
 * clochectl_call_sessions:
 * @method: "List" or "Cleanup" of io.github.cloche.Sessions
 * @freed: (out) (optional): the second answer of "Cleanup"
 *
 * Calls @method, whose sessions come packed (one byte array instead of
 * 10,000 structs to convert), and unpacks them.
 *
 * Returns: (transfer full) (nullable): CLOCHE_SESSION_INFOS_TYPE, or %NULL
 *   with @error set; with G_DBUS_ERROR_UNKNOWN_INTERFACE or _METHOD the
 *   caller asks io.github.cloche.Daemon instead
 */
GVariant *
clochectl_call_sessions (ClocheDbusDaemon  *daemon,
                         const char        *method,
                         GVariant          *options,
                         guint64           *freed,
                         GError           **error)
{
  GDBusProxy *proxy = G_DBUS_PROXY (daemon);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) packed = NULL;

  reply = g_dbus_connection_call_sync (g_dbus_proxy_get_connection (proxy),
                                       g_dbus_proxy_get_name (proxy),
                                       g_dbus_proxy_get_object_path (proxy),
                                       cloche_dbus_sessions_interface_info ()->name, method,
                                       g_variant_new_tuple (&options, 1), NULL,
                                       G_DBUS_CALL_FLAGS_NONE,
                                       g_dbus_proxy_get_default_timeout (proxy), NULL, error);
  if (reply == NULL)
    return NULL;
  packed = g_variant_get_child_value (reply, 0);
  if (freed != NULL && g_variant_n_children (reply) > 1)
    g_variant_get_child (reply, 1, "t", freed);
  return cloche_session_infos_unpack (packed);
}

static GVariant *
list_sessions (ClocheDbusDaemon  *daemon,
               gboolean           stale,
               GError           **error)
{
  GVariantBuilder options;
  GVariant *sessions;
  GVariant *only_stale;

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "stale-only", g_variant_new_boolean (stale));
  sessions = clochectl_call_sessions (daemon, "List", g_variant_builder_end (&options), NULL,
                                      error);
  if (sessions != NULL || !is_unknown (*error))
    return sessions;
  g_clear_error (error);
  if (!cloche_dbus_daemon_call_list_sessions_sync (daemon, &sessions, NULL, error))
    return NULL;
  if (!stale)
    return sessions;
  only_stale = keep_stale (sessions);
  g_variant_unref (sessions);
  return only_stale;
}

static int
cmd_session_list (ClocheDbusDaemon  *daemon,
                  int                argc,
                  char             **argv)
{
  g_autoptr(GVariant) sessions = NULL;
  g_autoptr(GError) error = NULL;
  gboolean json = FALSE, stale = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { "stale", 0, 0, G_OPTION_ARG_NONE, &stale, "Only the stale sessions", NULL },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries, "- list the sessions"))
    return 2;
  sessions = list_sessions (daemon, stale, &error);
  if (sessions == NULL)
    return clochectl_fail (_("cannot list the sessions"), error);
  if (json)
    clochectl_print_sessions_json (sessions);
  else
    print_table (sessions);
  return EXIT_SUCCESS;
}

static int
cmd_session_show (ClocheDbusDaemon  *daemon,
                  int                argc,
                  char             **argv)
{
  g_autoptr(GVariant) session = NULL;
  g_autoptr(GError) error = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries, "ID - show a session") || argc != 2)
    return clochectl_usage ();
  if (!cloche_dbus_daemon_call_get_session_sync (daemon, argv[1], &session, NULL, &error))
    return clochectl_fail (_("cannot show the session"), error);
  if (json)
    {
      g_autoptr(JsonNode) root = clochectl_session_to_json (session);

      clochectl_print_json (root);
    }
  else
    clochectl_print_session_record (session);
  return EXIT_SUCCESS;
}

static int
cmd_session_pin (ClocheDbusDaemon  *daemon,
                 int                argc,
                 char             **argv)
{
  gboolean pin = g_str_equal (argv[0], "pin");
  g_autoptr(GError) error = NULL;

  if (argc != 2)
    return clochectl_usage ();
  if (!cloche_dbus_daemon_call_set_pinned_sync (daemon, argv[1], pin, NULL, &error))
    return clochectl_fail (pin ? _("cannot pin the session") : _("cannot unpin the session"),
                           error);
  return EXIT_SUCCESS;
}

int
clochectl_session (ClocheDbusDaemon  *daemon,
                   int                argc,
                   char             **argv)
{
  static const struct {
    const char  *name;
    CommandFunc  func;
  } subcommands[] = {
    { "open", cmd_session_open },
    { "close", cmd_session_close },
    { "list", cmd_session_list },
    { "show", cmd_session_show },
    { "pin", cmd_session_pin },
    { "unpin", cmd_session_pin },
  };

  for (guint i = 0; argc >= 2 && i < G_N_ELEMENTS (subcommands); i++)
    if (g_str_equal (argv[1], subcommands[i].name))
      return subcommands[i].func (daemon, argc - 1, argv + 1);
  return clochectl_usage ();
}
