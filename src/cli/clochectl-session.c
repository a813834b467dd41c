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

/* A --mount as given, with its path made absolute and canonical (for a
 * configuration that another program runs from another folder). */
char *
clochectl_mount_spec_canonical (const char *spec)
{
  g_autoptr(GVariant) folders = NULL;
  GVariantBuilder builder;
  const char *path;
  gboolean readonly;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sb)"));
  if (!clochectl_parse_mount (spec, TRUE, &builder))
    {
      g_variant_builder_clear (&builder);
      return NULL;
    }
  folders = g_variant_ref_sink (g_variant_builder_end (&builder));
  g_variant_get_child (folders, 0, "(&sb)", &path, &readonly);
  return g_strdup_printf ("%s:%s", path, readonly ? "ro" : "rw");
}

/**
 * clochectl_sessions_proxy:
 * @what: %CLOCHECTL_SESSIONS_PROPERTIES if the command reads the
 *   interface's properties (loading them is one more round trip),
 *   %CLOCHECTL_SESSIONS_SIGNALS if it listens to its signals (shell and
 *   run, for TerminalEnded)
 *
 * Returns: (transfer full) (nullable): io.github.cloche.Sessions' proxy on
 *   @daemon's connection, with its long timeout
 */
ClocheDbusSessions *
clochectl_sessions_proxy (ClocheDbusDaemon      *daemon,
                          ClochectlSessionsNeeds  what,
                          GError               **error)
{
  GDBusProxy *proxy = G_DBUS_PROXY (daemon);
  GDBusProxyFlags flags = G_DBUS_PROXY_FLAGS_NONE;
  ClocheDbusSessions *sessions;

  if (!(what & CLOCHECTL_SESSIONS_PROPERTIES))
    flags |= G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES;
  if (!(what & CLOCHECTL_SESSIONS_SIGNALS))
    flags |= G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS;
  sessions = cloche_dbus_sessions_proxy_new_sync (g_dbus_proxy_get_connection (proxy), flags,
                                                  g_dbus_proxy_get_name (proxy),
                                                  g_dbus_proxy_get_object_path (proxy), NULL,
                                                  error);
  if (sessions != NULL)
    g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (sessions),
                                      g_dbus_proxy_get_default_timeout (proxy));
  return sessions;
}

static int
clochectl_session_cmd_session_open (ClocheDbusDaemon    *daemon,
                                    ClocheDbusSessions  *sessions,
                                    int                  argc,
                                    char               **argv)
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
  if (!cloche_dbus_sessions_call_open_sync (sessions, title ? title : "",
                                            g_variant_builder_end (&options), &id, NULL, &error))
    return clochectl_fail (_("cannot open a session"), error);
  g_print ("%s\n", id);
  return EXIT_SUCCESS;
}

static int
clochectl_session_cmd_session_close (ClocheDbusDaemon    *daemon,
                                     ClocheDbusSessions  *sessions,
                                     int                  argc,
                                     char               **argv)
{
  g_autoptr(GError) error = NULL;

  if (argc != 2)
    return clochectl_usage ();
  if (!cloche_dbus_sessions_call_close_sync (sessions, argv[1], NULL, &error))
    return clochectl_fail (_("cannot close the session"), error);
  return EXIT_SUCCESS;
}

static void
clochectl_session_print_table (GVariant *sessions)
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

static GVariant *
clochectl_session_list_sessions (ClocheDbusSessions  *sessions,
                                 gboolean             stale,
                                 GError             **error)
{
  g_autoptr(GVariant) packed = NULL;
  GVariantDict options;

  g_variant_dict_init (&options, NULL);
  g_variant_dict_insert (&options, "stale-only", "b", stale);
  if (!cloche_dbus_sessions_call_list_sync (sessions, g_variant_dict_end (&options), &packed,
                                            NULL, error))
    return NULL;
  return cloche_session_infos_unpack (packed);
}

static int
clochectl_session_cmd_session_list (ClocheDbusDaemon    *daemon,
                                    ClocheDbusSessions  *sessions_proxy,
                                    int                  argc,
                                    char               **argv)
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
  sessions = clochectl_session_list_sessions (sessions_proxy, stale, &error);
  if (sessions == NULL)
    return clochectl_fail (_("cannot list the sessions"), error);
  if (json)
    clochectl_print_sessions_json (sessions);
  else
    clochectl_session_print_table (sessions);
  return EXIT_SUCCESS;
}

static int
clochectl_session_cmd_session_show (ClocheDbusDaemon    *daemon,
                                    ClocheDbusSessions  *sessions,
                                    int                  argc,
                                    char               **argv)
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
  if (!cloche_dbus_sessions_call_get_sync (sessions, argv[1], &session, NULL, &error))
    return clochectl_fail (_("cannot show the session"), error);
  if (json)
    {
      g_autoptr(JsonNode) root = cloche_session_info_to_json (session);

      clochectl_print_json (root);
    }
  else
    clochectl_print_session_record (session);
  return EXIT_SUCCESS;
}

static int
clochectl_session_cmd_session_pin (ClocheDbusDaemon    *daemon,
                                   ClocheDbusSessions  *sessions,
                                   int                  argc,
                                   char               **argv)
{
  gboolean pin = g_str_equal (argv[0], "pin");
  g_autoptr(GError) error = NULL;

  if (argc != 2)
    return clochectl_usage ();
  if (!cloche_dbus_sessions_call_set_pinned_sync (sessions, argv[1], pin, NULL, &error))
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
    const char *name;
    int (*func) (ClocheDbusDaemon *, ClocheDbusSessions *, int, char **);
  } subcommands[] = {
    { "open", clochectl_session_cmd_session_open },
    { "fork", clochectl_session_fork },
    { "close", clochectl_session_cmd_session_close },
    { "list", clochectl_session_cmd_session_list },
    { "show", clochectl_session_cmd_session_show },
    { "pin", clochectl_session_cmd_session_pin },
    { "unpin", clochectl_session_cmd_session_pin },
  };

  g_autoptr(ClocheDbusSessions) sessions = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; argc >= 2 && i < G_N_ELEMENTS (subcommands); i++)
    {
      if (!g_str_equal (argv[1], subcommands[i].name))
        continue;
      sessions = clochectl_sessions_proxy (daemon, CLOCHECTL_SESSIONS_CALLS, &error);
      if (sessions == NULL)
        return clochectl_fail (_("cannot reach the Cloche service"), error);
      return subcommands[i].func (daemon, sessions, argc - 1, argv + 1);
    }
  return clochectl_usage ();
}
