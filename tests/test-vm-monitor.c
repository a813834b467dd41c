/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Monitor against a real daemon and QEMU: no sample while
 * the VM is stopped, every figure in each sample while it runs, and memory
 * the guest frees going back to the host. The cases run in order on one
 * daemon.
 */
#include "config.h"

#include <stdlib.h>

#include "cloche-test-daemon.h"

#define MIB         (G_GUINT64_CONSTANT (1024) * 1024)
#define MEMORY_MIB  "768"
#define FILL_MIB    300

static ClocheTestDaemon *vm_daemon;
static ClocheDbusMonitor *monitor;
static GPtrArray *received;     /* GVariant a{sv}, from the Sample signal */
static char *session_id;

static void
on_sample (ClocheDbusMonitor *proxy,
           GVariant          *sample)
{
  g_ptr_array_add (received, g_variant_ref (sample));
}

static GVariant *
newest (void)
{
  return received->len > 0 ? g_ptr_array_index (received, received->len - 1) : NULL;
}

static guint64
get_u64 (GVariant   *sample,
         const char *key)
{
  guint64 value = 0;

  g_assert_true (g_variant_lookup (sample, key, "t", &value));
  return value;
}

static gint64
get_timestamp (GVariant *sample)
{
  gint64 value = 0;

  g_assert_true (g_variant_lookup (sample, "timestamp", "x", &value));
  return value;
}

static gboolean
has_key (GVariant   *sample,
         const char *key)
{
  g_autoptr(GVariant) value = g_variant_lookup_value (sample, key, NULL);

  return value != NULL;
}

/* Waits for a sample that says what @check wants; returns it. */
static GVariant *
wait_for_sample (gboolean (*check) (GVariant *sample, gpointer data),
                 gpointer   data,
                 guint      timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  guint seen = received->len;

  while (g_get_monotonic_time () < deadline)
    {
      for (; seen < received->len; seen++)
        if (check (g_ptr_array_index (received, seen), data))
          return g_ptr_array_index (received, seen);
      g_main_context_iteration (NULL, TRUE);
    }
  return NULL;
}

static GVariant *
get_samples (gint64 since)
{
  g_autoptr(GError) error = NULL;
  GVariant *samples = NULL;

  cloche_dbus_monitor_call_get_samples_sync (monitor, since, &samples, NULL, &error);
  g_assert_no_error (error);
  return samples;
}

static void
run (const char *script)
{
  const char * const argv[] = { "sh", "-c", script, NULL };
  const char * const no_env[] = { NULL };
  g_autoptr(GVariant) out = NULL;
  g_autoptr(GVariant) err = NULL;
  g_autoptr(GError) error = NULL;
  int exit_code = -1;

  cloche_dbus_sessions_call_exec_sync (vm_daemon->sessions, session_id, argv,
                                       cloche_test_exec_options (no_env, NULL), &exit_code, &out,
                                       &err, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (exit_code, ==, 0);
}

static void
test_stopped_no_samples (void)
{
  g_autoptr(GVariant) samples = get_samples (0);
  gint64 end = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;

  g_assert_cmpuint (g_variant_n_children (samples), ==, 0);
  g_assert_false (cloche_dbus_monitor_get_sampling (monitor));
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (received->len, ==, 0);

  /* Disk use is known before any boot: the bundle holds a kernel and an initrd. */
  CLOCHE_TEST_WAIT_FOR (cloche_dbus_monitor_get_disk_bundle (monitor) > 8 * MIB, 10);
}

static gboolean
is_complete (GVariant *sample,
             gpointer  data)
{
  return has_key (sample, "guest-total") && has_key (sample, "disk-bundle");
}

static void
check_sample (GVariant *sample)
{
  guint64 rss = get_u64 (sample, "host-rss"), pss = get_u64 (sample, "host-pss");
  guint64 total = get_u64 (sample, "guest-total"), used = get_u64 (sample, "guest-used");
  double cpu = -1;
  guint open = 0;

  g_assert_true (g_variant_lookup (sample, "cpu-percent", "d", &cpu));
  g_assert_cmpfloat (cpu, >=, 0);
  g_assert_cmpfloat (cpu, <=, 100.0 * g_get_num_processors () + 5);
  /* QEMU under TCG holds 200-260 MiB after boot; never more than guest RAM + 1 GiB. */
  g_assert_cmpuint (rss, >, 32 * MIB);
  g_assert_cmpuint (rss, <, (atoi (MEMORY_MIB) + 1024) * MIB);
  g_assert_cmpuint (pss, >, 0);
  g_assert_cmpuint (pss, <=, rss);
  /* The guest sees its RAM less what the kernel keeps for itself. */
  g_assert_cmpuint (total, <=, atoi (MEMORY_MIB) * MIB);
  g_assert_cmpuint (total, >, (atoi (MEMORY_MIB) - 160) * MIB);
  g_assert_cmpuint (used, >, 0);
  g_assert_cmpuint (used, <, total);
  g_assert_cmpuint (get_u64 (sample, "guest-free"), <, total);
  g_assert_cmpuint (get_u64 (sample, "disk-bundle"), >, 8 * MIB);
  g_assert_true (has_key (sample, "disk-sessions"));
  /* No egress proxy yet: nothing leaves the guest. */
  g_assert_cmpuint (get_u64 (sample, "egress-in"), ==, 0);
  g_assert_cmpuint (get_u64 (sample, "egress-out"), ==, 0);
  g_assert_true (g_variant_lookup (sample, "open-sessions", "u", &open));
  g_assert_cmpuint (open, ==, 1);
}

static void
test_samples (void)
{
  g_autoptr(GError) error = NULL;
  GVariant *sample;
  gint64 previous = 0;

  cloche_dbus_sessions_call_open_sync (vm_daemon->sessions, "monitor", g_variant_new ("a{sv}", NULL), &session_id,
                                       NULL, &error);
  g_assert_no_error (error);
  CLOCHE_TEST_WAIT_FOR (cloche_dbus_monitor_get_sampling (monitor), 5);

  /* The guest's balloon driver answers its first poll a second or two on. */
  sample = wait_for_sample (is_complete, NULL, 20);
  g_assert_nonnull (sample);
  check_sample (sample);

  /* One a second, in order. */
  for (guint i = 0; i < received->len; i++)
    {
      gint64 timestamp = get_timestamp (g_ptr_array_index (received, i));

      if (previous != 0)
        {
          g_assert_cmpint (timestamp - previous, >, G_USEC_PER_SEC / 2);
          g_assert_cmpint (timestamp - previous, <, 3 * G_USEC_PER_SEC);
        }
      previous = timestamp;
    }
}

static gboolean
rss_at_least (GVariant *sample,
              gpointer  data)
{
  return get_u64 (sample, "host-rss") >= *(guint64 *) data;
}

static gboolean
rss_at_most (GVariant *sample,
             gpointer  data)
{
  return get_u64 (sample, "host-rss") <= *(guint64 *) data;
}

/* Free page reporting: what the guest frees, QEMU gives back to the host.
 * Guest RAM is anonymous memory, or a shared memfd when folders are
 * mounted with virtiofs; Rss counts both, so Rss is what is measured. */
static void
test_memory_returns (void)
{
  guint64 before = get_u64 (newest (), "host-rss");
  guint64 used_before = get_u64 (newest (), "guest-used");
  guint64 filled_bound = before + (FILL_MIB - 50) * MIB;
  guint64 freed_bound = before + 100 * MIB;
  g_autofree char *fill = g_strdup_printf ("dd if=/dev/zero of=/tmp/fill bs=1M count=%d 2>/dev/null",
                                           FILL_MIB);
  GVariant *filled, *freed;

  run (fill);
  filled = wait_for_sample (rss_at_least, &filled_bound, 30);
  g_assert_nonnull (filled);
  CLOCHE_TEST_WAIT_FOR (has_key (newest (), "guest-used")
                        && get_u64 (newest (), "guest-used") >= used_before + (FILL_MIB - 50) * MIB, 10);

  run ("rm /tmp/fill");
  freed = wait_for_sample (rss_at_most, &freed_bound, 30);
  if (freed == NULL)
    g_test_message ("QEMU still holds %" G_GUINT64_FORMAT " MiB",
                    get_u64 (newest (), "host-rss") / MIB);
  g_assert_nonnull (freed);
  g_test_message ("QEMU Rss: %" G_GUINT64_FORMAT " MiB before, %" G_GUINT64_FORMAT
                  " MiB with %d MiB in the guest's tmpfs, %" G_GUINT64_FORMAT " MiB after rm",
                  before / MIB, get_u64 (filled, "host-rss") / MIB, FILL_MIB,
                  get_u64 (freed, "host-rss") / MIB);
}

static void
test_get_samples_since (void)
{
  g_autoptr(GVariant) all = get_samples (0);
  g_autoptr(GVariant) middle = NULL;
  g_autoptr(GVariant) later = NULL;
  gsize n = g_variant_n_children (all);
  gint64 since;

  /* The daemon's history holds what the signal brought, and more. */
  g_assert_cmpuint (n, >=, received->len);
  middle = g_variant_get_child_value (all, n / 2);
  since = get_timestamp (middle);
  later = get_samples (since);
  g_assert_cmpuint (g_variant_n_children (later), ==, n - n / 2 - 1);
  for (gsize i = 0; i < g_variant_n_children (later); i++)
    {
      g_autoptr(GVariant) sample = g_variant_get_child_value (later, i);

      g_assert_cmpint (get_timestamp (sample), >, since);
    }
}

static void
test_stopped_vm_no_samples (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) after = NULL;
  gint64 end;
  gint64 last;
  guint count;

  cloche_dbus_daemon_call_stop_vm_sync (vm_daemon->proxy, NULL, &error);
  g_assert_no_error (error);
  cloche_test_daemon_wait_state (vm_daemon, "stopped", 10);
  CLOCHE_TEST_WAIT_FOR (!cloche_dbus_monitor_get_sampling (monitor), 5);

  count = received->len;
  last = get_timestamp (newest ());
  end = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  after = get_samples (last);
  g_assert_cmpuint (g_variant_n_children (after), ==, 0);
  g_assert_cmpuint (received->len, ==, count);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *bundle = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  bundle = cloche_test_bundle_dir ();
  vm_daemon = cloche_test_daemon_start ((const char *[]) {
    "--bundle", bundle, "--memory-mib", MEMORY_MIB, "--idle-timeout", "60", NULL });
  monitor = cloche_dbus_monitor_proxy_new_for_bus_sync (
    G_BUS_TYPE_SESSION, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
    DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  received = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_signal_connect (monitor, "sample", G_CALLBACK (on_sample), NULL);

  g_test_add_func ("/vm-monitor/stopped-no-samples", test_stopped_no_samples);
  g_test_add_func ("/vm-monitor/samples", test_samples);
  g_test_add_func ("/vm-monitor/memory-returns", test_memory_returns);
  g_test_add_func ("/vm-monitor/get-samples-since", test_get_samples_since);
  g_test_add_func ("/vm-monitor/stopped-vm-no-samples", test_stopped_vm_no_samples);

  status = g_test_run ();
  g_clear_object (&monitor);
  g_ptr_array_unref (received);
  g_free (session_id);
  cloche_test_daemon_free (vm_daemon);
  return status;
}
