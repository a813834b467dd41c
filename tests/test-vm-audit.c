/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's audit log against a real VM: what one session's life leaves
 * in $XDG_STATE_HOME/cloche/audit.jsonl (VM start and stop with their
 * reasons, the session, its mounts, a command, a cleanup), and clochectl
 * audit reading it back with --session and --json.
 */
#include "config.h"

#include <stdlib.h>

#include "cloche-audit-reader.h"
#include "cloche-test-daemon.h"

static void
collect (JsonObject *event,
         const char *line,
         gpointer    user_data)
{
  g_ptr_array_add (user_data, json_object_ref (event));
}

static GPtrArray *
read_audit (ClocheTestDaemon *daemon)
{
  g_autofree char *dir = g_build_filename (daemon->home, "state", "cloche", NULL);
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(ClocheAuditReader) reader = cloche_audit_reader_new (dir, NULL, collect, events);
  g_autoptr(GError) error = NULL;

  cloche_audit_reader_read_all (reader, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cloche_audit_reader_get_damaged (reader), ==, 0);
  return events;
}

/* The first event named @name at or after *from; moves *from past it. */
static JsonObject *
find_event (GPtrArray  *events,
            const char *name,
            guint      *from)
{
  for (guint i = *from; i < events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (events, i);

      if (g_str_equal (json_object_get_string_member (event, "event"), name))
        {
          *from = i + 1;
          return json_object_get_object_member (event, "fields");
        }
    }
  g_error ("No \"%s\" event in the audit log after event %u", name, *from);
}

static gboolean
has_event (GPtrArray  *events,
           const char *name)
{
  for (guint i = 0; i < events->len; i++)
    if (g_str_equal (json_object_get_string_member (g_ptr_array_index (events, i), "event"), name))
      return TRUE;
  return FALSE;
}

static GPtrArray *
wait_for_event (ClocheTestDaemon *daemon,
                const char       *name)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  GPtrArray *events = read_audit (daemon);

  while (!has_event (events, name) && g_get_monotonic_time () < deadline)
    {
      g_usleep (50 * 1000);
      g_ptr_array_unref (events);
      events = read_audit (daemon);
    }
  return events;
}

static GVariant *
options_for (const char *folder)
{
  g_auto(GVariantBuilder) mounts = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(sb)"));
  g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  g_variant_builder_add (&mounts, "(sb)", folder, TRUE);
  g_variant_builder_add (&options, "{sv}", "mounts", g_variant_builder_end (&mounts));
  g_variant_builder_add (&options, "{sv}", "keep-open", g_variant_new_boolean (TRUE));
  g_variant_builder_add (&options, "{sv}", "client", g_variant_new_string ("test-vm-audit"));
  return g_variant_builder_end (&options);
}

static void
run_session (ClocheTestDaemon *daemon,
             const char       *folder,
             char            **id)
{
  const char * const argv[] = { "sh", "-c", "exit 3", NULL };
  const char * const env[] = { NULL };
  g_autoptr(GVariant) out = NULL;
  g_autoptr(GVariant) err = NULL;
  g_autoptr(GVariant) packed = NULL;
  g_autoptr(GVariant) removed = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GVariantDict) cleanup = G_VARIANT_DICT_INIT (NULL);
  guint64 freed = 0;
  int exit_code = 0;

  cloche_dbus_sessions_call_open_sync (daemon->sessions, "audited", options_for (folder),
                                       id, NULL, &error);
  g_assert_no_error (error);
  cloche_dbus_sessions_call_exec_sync (daemon->sessions, *id, argv,
                                       cloche_test_exec_options (env, "/tmp"), &exit_code, &out,
                                       &err, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (exit_code, ==, 3);
  cloche_dbus_sessions_call_close_sync (daemon->sessions, *id, NULL, &error);
  g_assert_no_error (error);
  cloche_dbus_daemon_call_stop_vm_sync (daemon->proxy, NULL, &error);
  g_assert_no_error (error);
  g_variant_dict_insert (&cleanup, "older-than-days", "u", 0);
  cloche_dbus_sessions_call_cleanup_sync (daemon->sessions, g_variant_dict_end (&cleanup),
                                          &packed, &freed, NULL, &error);
  g_assert_no_error (error);
  removed = cloche_session_infos_unpack (packed);
  g_assert_cmpuint (g_variant_n_children (removed), ==, 1);
}

static void
check_events (GPtrArray  *events,
              const char *id,
              const char *folder)
{
  JsonObject *fields;
  JsonArray *argv;
  guint at = 0, detach;

  find_event (events, "daemon.start", &at);
  fields = find_event (events, "vm.start", &at);
  g_assert_cmpstr (json_object_get_string_member (fields, "reason"), ==, "open");
  g_assert_cmpstr (json_object_get_string_member (fields, "accelerator"), ==, "tcg");
  find_event (events, "mount.attach", &at);                   /* the work folder */
  fields = find_event (events, "mount.attach", &at);
  g_assert_cmpstr (json_object_get_string_member (fields, "path"), ==, folder);
  g_assert_cmpstr (json_object_get_string_member (fields, "mode"), ==, "ro");
  fields = find_event (events, "session.open", &at);
  g_assert_cmpstr (json_object_get_string_member (fields, "client"), ==, "test-vm-audit");
  g_assert_cmpstr (json_object_get_string_member (fields, "title"), ==, "audited");
  fields = find_event (events, "command", &at);
  argv = json_object_get_array_member (fields, "argv");
  g_assert_cmpstr (json_array_get_string_element (argv, 2), ==, "exit 3");
  g_assert_cmpstr (json_object_get_string_member (fields, "cwd"), ==, "/tmp");
  g_assert_cmpint (json_object_get_int_member (fields, "exit-code"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (fields, "duration-ms"), >=, 0);
  /* Closing returns at once; its folders are detached in the background. */
  detach = at;
  find_event (events, "mount.detach", &detach);
  fields = find_event (events, "session.close", &at);
  g_assert_cmpstr (json_object_get_string_member (fields, "client"), ==, "test-vm-audit");
  fields = find_event (events, "vm.stop", &at);
  g_assert_cmpstr (json_object_get_string_member (fields, "reason"), ==, "user");
  fields = find_event (events, "cleanup", &at);
  g_assert_cmpint (json_object_get_int_member (fields, "count"), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (fields, "sessions"), 0),
                   ==, id);
  g_assert_cmpint (json_object_get_int_member (fields, "bytes"), >, 0);
}

/* clochectl audit reads the files itself: no daemon, just the folder. */
static void
check_cli (ClocheTestDaemon *daemon,
           const char       *id)
{
  g_autofree char *state = g_build_filename (daemon->home, "state", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) envp = g_environ_setenv (g_get_environ (), "XDG_STATE_HOME", state, TRUE);
  g_autoptr(GError) error = NULL;
  const char *argv[] = { g_getenv ("CLOCHE_CTL"), "audit", "--json", "--session", id, NULL };
  int status;

  g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                &status, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (err, ==, "");
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  lines = g_strsplit (g_strchomp (out), "\n", -1);
  /* session.open, two attaches, the command, two detaches, session.close */
  g_assert_cmpuint (g_strv_length (lines), >=, 5);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, NULL));
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json_parser_get_root (parser)),
                                                      "session"), ==, id);
    }
}

static void
test_session_life (void)
{
  g_autofree char *bundle = cloche_test_bundle_dir ();
  ClocheTestDaemon *daemon = cloche_test_daemon_start ((const char *[]) {
    "--bundle", bundle, NULL });
  g_autofree char *folder = g_build_filename (daemon->home, "project", NULL);
  g_autoptr(GPtrArray) events = NULL;
  g_autofree char *id = NULL;

  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  run_session (daemon, folder, &id);
  /* The log's writer thread writes soon after the call returns. */
  events = wait_for_event (daemon, "cleanup");
  check_events (events, id, folder);
  check_cli (daemon, id);
  cloche_test_daemon_free (daemon);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/vm/audit/session-life", test_session_life);

  return g_test_run ();
}
