/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl support-report FILE.tar.gz: what someone helping needs, in one
 * archive — the doctor's findings, the daemon's state and settings, the
 * policy files that exist, the bundle's manifest, the recent audit log and
 * the VM's logs, versions — with secrets and home folders redacted
 * (cloche-audit-redact.c). Works without the service too: what cannot be
 * asked is said so in the report.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <sys/utsname.h>

#include "cloche-audit-log.h"
#include "cloche-audit-reader.h"
#include "cloche-audit-redact.h"
#include "cloche-bundle.h"
#include "clochectl.h"

/* The last events of the audit log: recent enough to show the failure,
 * small enough to attach to a bug report. */
#define AUDIT_LINES 2000
#define DOCTOR_TIMEOUT_MS (2 * 60 * 1000)

typedef struct
{
  char      *dir;         /* the folder that becomes the archive */
  GString   *readme;      /* what is in it, and what could not be had */
  GPtrArray *audit;       /* the last AUDIT_LINES lines */
} Report;

/* Every file goes through here: nothing is written unredacted. */
static void
clochectl_support_report_write_file (Report     *report,
                                     const char *name,
                                     const char *contents)
{
  g_autofree char *path = g_build_filename (report->dir, name, NULL);
  g_autofree char *redacted = cloche_audit_redact (contents, g_get_home_dir ());
  g_autoptr(GError) error = NULL;

  if (!g_file_set_contents (path, redacted, -1, &error))
    g_string_append_printf (report->readme, "- %s: not written: %s\n", name, error->message);
  else
    g_string_append_printf (report->readme, "- %s\n", name);
}

static void
clochectl_support_report_note (Report     *report,
                               const char *name,
                               const char *why)
{
  g_autofree char *redacted = cloche_audit_redact (why, g_get_home_dir ());

  g_string_append_printf (report->readme, "- %s: missing: %s\n", name, redacted);
}

static void
clochectl_support_report_copy_file (Report     *report,
                                    const char *name,
                                    const char *source)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  if (g_file_get_contents (source, &contents, NULL, &error))
    clochectl_support_report_write_file (report, name, contents);
  else
    clochectl_support_report_note (report, name, error->message);
}

static char *
clochectl_support_report_variant_to_json (GVariant *value)
{
  /* json_gvariant_serialize() takes no reference: a floating value is sunk
   * here and dropped when done. */
  g_autoptr(GVariant) owned = g_variant_ref_sink (value);
  g_autoptr(JsonNode) node = json_gvariant_serialize (owned);
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, TRUE);
  return json_generator_to_data (generator, NULL);
}

/* The daemon */

static GVariant *
clochectl_support_report_daemon_state (ClocheDbusDaemon   *daemon,
                                       ClocheDbusSessions *sessions)
{
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);
  const char * const *console = cloche_dbus_daemon_get_console_tail (daemon);
  const char * const empty[] = { NULL };

  g_variant_dict_insert (&dict, "state", "s", cloche_dbus_daemon_get_state (daemon));
  g_variant_dict_insert (&dict, "state-reason", "s", cloche_dbus_daemon_get_state_reason (daemon));
  g_variant_dict_insert_value (&dict, "console-tail",
                               g_variant_new_strv (console != NULL ? console : empty, -1));
  g_variant_dict_insert (&dict, "accelerator", "s", cloche_dbus_daemon_get_accelerator (daemon));
  g_variant_dict_insert (&dict, "accelerator-reason", "s",
                         cloche_dbus_daemon_get_accelerator_reason (daemon));
  g_variant_dict_insert (&dict, "accelerator-fallback", "b",
                         cloche_dbus_daemon_get_accelerator_fallback (daemon));
  g_variant_dict_insert (&dict, "open-sessions", "u", cloche_dbus_daemon_get_open_sessions (daemon));
  /* The settings in force: what the policy file will set, as the daemon has them. */
  g_variant_dict_insert (&dict, "idle-timeout-s", "u", cloche_dbus_daemon_get_idle_timeout (daemon));
  g_variant_dict_insert (&dict, "stale-after-days", "u",
                         cloche_dbus_sessions_get_stale_after_days (sessions));
  g_variant_dict_insert (&dict, "bundle-path", "s", cloche_dbus_daemon_get_bundle_path (daemon));
  g_variant_dict_insert (&dict, "sessions-path", "s",
                         cloche_dbus_sessions_get_sessions_path (sessions) ?: "");
  return g_variant_dict_end (&dict);
}

static char *
clochectl_support_report_add_daemon (Report *report)
{
  g_autoptr(ClocheDbusDaemon) daemon = NULL;
  g_autoptr(ClocheDbusSessions) sessions = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;

  daemon = cloche_dbus_daemon_proxy_new_for_bus_sync (G_BUS_TYPE_SESSION, G_DBUS_PROXY_FLAGS_NONE,
                                                      DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
                                                      NULL, &error);
  if (daemon != NULL && cloche_dbus_daemon_get_state (daemon) != NULL)
    sessions = clochectl_sessions_proxy (daemon, CLOCHECTL_SESSIONS_PROPERTIES, &error);
  if (sessions == NULL)
    {
      clochectl_support_report_note (report, "daemon.json",
                                     error != NULL ? error->message : "the service is not running");
      return NULL;
    }
  json =
    clochectl_support_report_variant_to_json (clochectl_support_report_daemon_state (daemon,
                                                                                     sessions));
  clochectl_support_report_write_file (report, "daemon.json", json);
  return g_strdup (cloche_dbus_daemon_get_bundle_path (daemon));
}

static void
clochectl_support_report_add_doctor (Report *report)
{
  g_autoptr(ClocheDbusDoctor) doctor = NULL;
  g_autoptr(GVariant) results = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;
  const char * const all[] = { NULL };

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
      g_dbus_error_strip_remote_error (error);
      clochectl_support_report_note (report, "doctor.json", error->message);
      return;
    }
  json = clochectl_support_report_variant_to_json (results);
  clochectl_support_report_write_file (report, "doctor.json", json);
  if (g_variant_n_children (cloche_dbus_doctor_get_latest_finding (doctor)) > 0)
    {
      g_autofree char *finding =
        clochectl_support_report_variant_to_json (cloche_dbus_doctor_get_latest_finding (doctor));

      clochectl_support_report_write_file (report, "latest-finding.json", finding);
    }
}

/* Files on this machine */

static void
clochectl_support_report_add_effective_policy (Report *report)
{
  g_autoptr(ClocheDbusPolicy) policy = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *effective;
  g_autofree char *json = NULL;

  policy = cloche_dbus_policy_proxy_new_for_bus_sync (G_BUS_TYPE_SESSION, G_DBUS_PROXY_FLAGS_NONE,
                                                      DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
                                                      NULL, &error);
  effective = policy != NULL ? cloche_dbus_policy_get_effective (policy) : NULL;
  if (effective == NULL)
    {
      clochectl_support_report_note (report, "policy-effective.json",
                                     error != NULL ? error->message : "the service is not running");
      return;
    }
  /* clochectl_support_report_variant_to_json() takes a reference of its own. */
  json = clochectl_support_report_variant_to_json (effective);
  clochectl_support_report_write_file (report, "policy-effective.json", json);
}

static void
clochectl_support_report_add_policies (Report *report)
{
  g_autofree char *user = g_build_filename (g_get_user_config_dir (), "cloche", "policy.json", NULL);

  /* Whatever policy files exist, as they are, and what the daemon made of
   * them: the values in force, each with its layer. */
  clochectl_support_report_add_effective_policy (report);
  if (g_file_test ("/etc/cloche/policy.json", G_FILE_TEST_EXISTS))
    clochectl_support_report_copy_file (report, "policy-admin.json", "/etc/cloche/policy.json");
  else
    clochectl_support_report_note (report, "policy-admin.json", "no /etc/cloche/policy.json");
  if (g_file_test (user, G_FILE_TEST_EXISTS))
    clochectl_support_report_copy_file (report, "policy-user.json", user);
  else
    clochectl_support_report_note (report, "policy-user.json", "no policy file of the user's");
}

static void
clochectl_support_report_add_bundle (Report     *report,
                                     const char *bundle_path)
{
  g_autofree char *fallback = cloche_bundle_default_path ();
  g_autofree char *manifest = g_build_filename (bundle_path != NULL ? bundle_path : fallback,
                                                "manifest.json", NULL);

  clochectl_support_report_copy_file (report, "bundle-manifest.json", manifest);
}

static void
clochectl_support_report_keep_line (JsonObject *event,
                                    const char *line,
                                    gpointer    user_data)
{
  Report *report = user_data;

  if (report->audit->len == AUDIT_LINES)
    g_ptr_array_remove_index (report->audit, 0);
  g_ptr_array_add (report->audit, g_strconcat (line, "\n", NULL));
}

static void
clochectl_support_report_add_audit (Report *report)
{
  g_autoptr(ClocheAuditReader) reader =
    cloche_audit_reader_new (NULL, NULL, clochectl_support_report_keep_line, report);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  if (!cloche_audit_reader_read_all (reader, &error))
    {
      clochectl_support_report_note (report, "audit.jsonl", error->message);
      return;
    }
  for (guint i = 0; i < report->audit->len; i++)
    g_string_append (text, report->audit->pdata[i]);
  clochectl_support_report_write_file (report, "audit.jsonl", text->str);
}

/* The VM's files of each daemon that ran (console and QEMU's stderr). */
static void
clochectl_support_report_add_vm_logs (Report *report)
{
  g_autofree char *run = g_build_filename (g_get_user_runtime_dir (), "cloche", NULL);
  g_autoptr(GDir) dir = g_dir_open (run, 0, NULL);
  const char *name;

  if (dir == NULL)
    {
      clochectl_support_report_note (report, "vm-*.log", "no VM has run in this login session");
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      const char *logs[] = { "console.log", "qemu.log" };

      if (!g_str_has_prefix (name, "vm-"))
        continue;
      for (guint i = 0; i < G_N_ELEMENTS (logs); i++)
        {
          g_autofree char *source = g_build_filename (run, name, logs[i], NULL);
          g_autofree char *target = g_strdup_printf ("%s-%s", name, logs[i]);

          if (g_file_test (source, G_FILE_TEST_EXISTS))
            clochectl_support_report_copy_file (report, target, source);
        }
    }
}

/* The daemon's own messages go to the journal when D-Bus starts it. */
static void
clochectl_support_report_add_daemon_log (Report *report)
{
  const char *argv[] = { "journalctl", "--user", "--no-pager", "-n", "500",
                         "-t", "cloche-daemon", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                     &status, NULL)
      || !g_spawn_check_wait_status (status, NULL))
    clochectl_support_report_note (report, "daemon.log", err != NULL
                                   && err[0] ? g_strstrip (err) : "no journal to read");
  else
    clochectl_support_report_write_file (report, "daemon.log", out);
}

static char *
clochectl_support_report_first_line_of (const char * const *argv)
{
  g_autofree char *out = NULL;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, NULL, NULL) || out == NULL)
    return g_strdup ("(not found)");
  out[strcspn (out, "\n")] = '\0';
  return g_strdup (out);
}

static void
clochectl_support_report_add_versions (Report *report)
{
  const char *qemu[] = { "qemu-system-x86_64", "--version", NULL };
  g_autofree char *qemu_version = clochectl_support_report_first_line_of (qemu);
  g_autofree char *os = NULL;
  g_autofree char *text = NULL;
  struct utsname uts;

  g_file_get_contents ("/etc/os-release", &os, NULL, NULL);
  uname (&uts);
  text = g_strdup_printf ("clochectl %s\nGLib %u.%u.%u\nQEMU: %s\nkernel: %s %s %s\n\n%s",
                          PACKAGE_VERSION, glib_major_version, glib_minor_version,
                          glib_micro_version, qemu_version, uts.sysname, uts.release,
                          uts.machine, os != NULL ? os : "(no /etc/os-release)\n");
  clochectl_support_report_write_file (report, "versions.txt", text);
}

/* Packing */

static gboolean
clochectl_support_report_pack (const char  *dir,
                               const char  *output,
                               GError     **error)
{
  g_autofree char *parent = g_path_get_dirname (dir);
  g_autofree char *base = g_path_get_basename (dir);
  const char *argv[] = { "tar", "-czf", output, "-C", parent, base, NULL };
  g_autofree char *err = NULL;
  int status;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, &err,
                     &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FAILED, _("tar failed: %s"), g_strstrip (err));
      return FALSE;
    }
  return TRUE;
}

static void
clochectl_support_report_remove_tree (const char *dir)
{
  const char *argv[] = { "rm", "-rf", dir, NULL };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
}

static char *
clochectl_support_report_absolute_output (const char *name)
{
  g_autofree char *cwd = NULL;

  if (g_path_is_absolute (name))
    return g_strdup (name);
  cwd = g_get_current_dir ();
  return g_build_filename (cwd, name, NULL);
}

static void
clochectl_support_report_collect (Report *report)
{
  g_autofree char *bundle_path = clochectl_support_report_add_daemon (report);

  clochectl_support_report_add_doctor (report);
  clochectl_support_report_add_policies (report);
  clochectl_support_report_add_bundle (report, bundle_path);
  clochectl_support_report_add_audit (report);
  clochectl_support_report_add_vm_logs (report);
  clochectl_support_report_add_daemon_log (report);
  clochectl_support_report_add_versions (report);
}

int
clochectl_support_report (int    argc,
                          char **argv)
{
  g_autofree char *tmp = NULL;
  g_autofree char *output = NULL;
  g_autofree char *stamp = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) audit = g_ptr_array_new_with_free_func (g_free);
  GOptionEntry entries[] = { { NULL } };
  Report report = { 0 };

  if (!clochectl_parse_options (&argc, &argv, entries, "FILE.tar.gz - a report for support"))
    return 2;
  if (argc != 2)
    return clochectl_usage ();
  output = clochectl_support_report_absolute_output (argv[1]);
  tmp = g_dir_make_tmp ("cloche-report-XXXXXX", &error);
  if (tmp == NULL)
    return clochectl_fail (_("cannot make a folder for the report"), error);
  stamp = g_date_time_format (now, "cloche-support-%Y%m%d-%H%M%S");
  report.dir = g_build_filename (tmp, stamp, NULL);
  g_mkdir (report.dir, 0700);
  report.readme = g_string_new ("Cloche support report, made by clochectl support-report.\n"
                                "Secrets (tokens, passwords, keys, credentials in URLs) and home\n"
                                "folders (written as ~ or /home/<user>) are redacted.\n\nFiles:\n");
  report.audit = audit;

  clochectl_support_report_collect (&report);
  clochectl_support_report_write_file (&report, "README.txt", report.readme->str);
  g_string_free (report.readme, TRUE);
  if (!clochectl_support_report_pack (report.dir, output, &error))
    {
      clochectl_support_report_remove_tree (tmp);
      return clochectl_fail (_("cannot write the report"), error);
    }
  clochectl_support_report_remove_tree (tmp);
  g_free (report.dir);
  g_print (_("Wrote %s\n"), output);
  return EXIT_SUCCESS;
}
