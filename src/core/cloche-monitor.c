/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The resource monitor: one sample a second while the VM runs, nothing at
 * all (no timer, no wake-up) while it does not. CPU and host memory come
 * from /proc for the QEMU process; guest memory from the virtio-balloon
 * statistics over QMP; disk use from a walk of the bundle and session
 * folders in a thread, every DISK_INTERVAL_S. The last ten minutes stay in
 * a ring for clients that open later.
 */
#include "config.h"

#include <fcntl.h>
#include <unistd.h>

#include "cloche-json.h"
#include "cloche-monitor-private.h"
#include "cloche-qmp-client.h"
#include "cloche-session-store.h"
#include "cloche-tree.h"

#define DISK_INTERVAL_S       10
/* The first walk, with the VM stopped, waits this long: at a start it
 * would walk every session's tree (10,000 sessions: 60,000 system calls)
 * while the first clients list them from the store's index. */
#define DISK_FIRST_DELAY_S    3
/* The path of the device that cloche-vm-command.c names "balloon0". */
#define BALLOON_PATH          "/machine/peripheral/balloon0"

struct _ClocheMonitor
{
  GObject            parent_instance;

  ClocheSandbox     *sandbox;
  ClocheVm          *vm;
  char              *sessions_path;

  ClocheSampleRing  *ring;
  guint              tick_source;
  GCancellable      *cancellable;     /* the QMP calls of one run of the VM */
  GPid               pid;
  guint64            last_cpu_ticks;
  gint64             last_cpu_time;
  ClocheGuestMemory  guest;

  GCancellable      *disk_cancellable; /* set while a measurement runs */
  guint              disk_first_source;
  gboolean           has_disk;
  gint64             disk_measured_at;
  guint64            disk_bundle;
  guint64            disk_sessions;

  ClocheEgressProxy *egress;
  ClocheEgressCounters egress_last;    /* totals at the previous tick */
};

enum {
  PROP_0,
  PROP_SANDBOX,
  PROP_SESSIONS_PATH,
  PROP_SAMPLING,
  PROP_DISK_BUNDLE,
  PROP_DISK_SESSIONS,
  N_PROPS
};

enum {
  SAMPLE,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_BOXED_TYPE (ClocheSample, cloche_sample, cloche_sample_copy, cloche_sample_free)
G_DEFINE_FINAL_TYPE (ClocheMonitor, cloche_monitor, G_TYPE_OBJECT)

ClocheSample *
cloche_sample_copy (const ClocheSample *sample)
{
  return g_memdup2 (sample, sizeof *sample);
}

void
cloche_sample_free (ClocheSample *sample)
{
  g_free (sample);
}

/* Parsers */

gboolean
cloche_monitor_parse_stat (const char  *contents,
                           guint64     *cpu_ticks,
                           GError     **error)
{
  g_auto(GStrv) fields = NULL;
  g_autofree char *rest = NULL;
  const char *end_of_comm;

  /* "pid (comm) state ppid …": comm may hold spaces and parentheses, so the
   * fields are counted from its last ")". utime and stime are the 14th and
   * 15th fields, the 12th and 13th after comm. */
  end_of_comm = contents != NULL ? strrchr (contents, ')') : NULL;
  if (end_of_comm != NULL)
    {
      rest = g_strstrip (g_strdup (end_of_comm + 1));
      fields = g_strsplit (rest, " ", 14);
    }
  if (fields == NULL || g_strv_length (fields) < 13
      || !g_ascii_isdigit (fields[11][0]) || !g_ascii_isdigit (fields[12][0]))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "/proc/PID/stat has no CPU times where the kernel puts them");
      return FALSE;
    }
  *cpu_ticks = g_ascii_strtoull (fields[11], NULL, 10) + g_ascii_strtoull (fields[12], NULL, 10);
  return TRUE;
}

static gboolean
cloche_monitor_parse_kib_line (const char *line,
                               const char *name,
                               guint64    *bytes)
{
  gsize length = strlen (name);

  if (strncmp (line, name, length) != 0 || line[length] != ':')
    return FALSE;
  *bytes = g_ascii_strtoull (line + length + 1, NULL, 10) * 1024;
  return TRUE;
}

gboolean
cloche_monitor_parse_smaps_rollup (const char  *contents,
                                   guint64     *rss,
                                   guint64     *pss,
                                   GError     **error)
{
  g_auto(GStrv) lines = g_strsplit (contents != NULL ? contents : "", "\n", -1);
  gboolean has_rss = FALSE, has_pss = FALSE;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      has_rss |= cloche_monitor_parse_kib_line (lines[i], "Rss", rss);
      has_pss |= cloche_monitor_parse_kib_line (lines[i], "Pss", pss);
    }
  if (!has_rss || !has_pss)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "/proc/PID/smaps_rollup has no %s line", has_rss ? "Pss" : "Rss");
      return FALSE;
    }
  return TRUE;
}

/* QEMU reports a statistic the guest never sent as (uint64) -1, which
 * json-glib reads as -1 or as a double, depending on its version. */
static gboolean
cloche_monitor_get_stat (JsonObject *stats,
                         const char *name,
                         guint64    *value)
{
  JsonNode *node = json_object_get_member (stats, name);
  GType type = node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node)
                                                            : G_TYPE_INVALID;

  if (type == G_TYPE_INT64 && json_node_get_int (node) >= 0)
    *value = (guint64) json_node_get_int (node);
  else if (type == G_TYPE_DOUBLE && json_node_get_double (node) >= 0
           && json_node_get_double (node) < (double) G_MAXUINT64)
    *value = (guint64) json_node_get_double (node);
  else
    return FALSE;
  return TRUE;
}

gboolean
cloche_monitor_parse_guest_stats (JsonNode           *node,
                                  ClocheGuestMemory  *memory,
                                  GError            **error)
{
  JsonObject *object = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonObject *stats = NULL;
  guint64 available;

  memset (memory, 0, sizeof *memory);
  if (object != NULL)
    stats = cloche_json_get_object (object, "stats");
  if (stats == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "QEMU's balloon guest-stats have no \"stats\" object");
      return FALSE;
    }

  /* last-update stays 0 until the guest driver answers its first poll. */
  if (cloche_json_get_int (object, "last-update", 0) <= 0
      || !cloche_monitor_get_stat (stats, "stat-total-memory", &memory->total)
      || !cloche_monitor_get_stat (stats, "stat-free-memory", &memory->free)
      || memory->total == 0)
    return TRUE;

  /* Free memory leaves out the page cache, which the guest gives up when
   * asked; what it cannot give up is total − available. */
  if (!cloche_monitor_get_stat (stats, "stat-available-memory", &available))
    available = memory->free;
  memory->used = memory->total - MIN (available, memory->total);
  memory->known = TRUE;
  return TRUE;
}

/* Ring */

void
cloche_sample_ring_push (ClocheSampleRing   *ring,
                         const ClocheSample *sample)
{
  ring->samples[ring->head] = *sample;
  ring->head = (ring->head + 1) % CLOCHE_MONITOR_HISTORY;
  ring->length = MIN (ring->length + 1, CLOCHE_MONITOR_HISTORY);
}

/**
 * cloche_sample_ring_since:
 *
 * Returns: (transfer full) (element-type ClocheSample): the samples newer
 * than @since, oldest first
 */
GArray *
cloche_sample_ring_since (ClocheSampleRing *ring,
                          gint64            since)
{
  GArray *samples = g_array_new (FALSE, FALSE, sizeof (ClocheSample));
  guint first = (ring->head + CLOCHE_MONITOR_HISTORY - ring->length) % CLOCHE_MONITOR_HISTORY;

  for (guint i = 0; i < ring->length; i++)
    {
      const ClocheSample *sample = &ring->samples[(first + i) % CLOCHE_MONITOR_HISTORY];

      if (sample->timestamp > since)
        g_array_append_vals (samples, sample, 1);
    }
  return samples;
}

/* Disk measurement, in a thread */

typedef struct
{
  char    *bundle_path;
  char    *sessions_path;
  guint64  bundle;
  guint64  sessions;
} DiskJob;

static void
cloche_monitor_disk_job_free (DiskJob *job)
{
  g_free (job->bundle_path);
  g_free (job->sessions_path);
  g_free (job);
}

static void
cloche_monitor_measure_disk_thread (GTask        *task,
                                    gpointer      source_object,
                                    gpointer      task_data,
                                    GCancellable *cancellable)
{
  DiskJob *job = task_data;

  job->bundle = cloche_tree_measure (AT_FDCWD, job->bundle_path);
  job->sessions = cloche_tree_measure (AT_FDCWD, job->sessions_path);
  g_task_return_boolean (task, TRUE);
}

static void
cloche_monitor_disk_measured_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  ClocheMonitor *self = CLOCHE_MONITOR (object);
  DiskJob *job = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), NULL))
    return;
  g_clear_object (&self->disk_cancellable);
  self->has_disk = TRUE;
  if (self->disk_bundle != job->bundle)
    {
      self->disk_bundle = job->bundle;
      g_object_notify_by_pspec (object, properties[PROP_DISK_BUNDLE]);
    }
  if (self->disk_sessions != job->sessions)
    {
      self->disk_sessions = job->sessions;
      g_object_notify_by_pspec (object, properties[PROP_DISK_SESSIONS]);
    }
}

static void
cloche_monitor_measure_disk (ClocheMonitor *self)
{
  g_autoptr(GTask) task = NULL;
  DiskJob *job;

  if (self->disk_cancellable != NULL)
    return;
  self->disk_cancellable = g_cancellable_new ();
  self->disk_measured_at = g_get_monotonic_time ();

  job = g_new0 (DiskJob, 1);
  job->bundle_path = g_strdup (cloche_vm_get_bundle_path (self->vm));
  job->sessions_path = g_strdup (self->sessions_path);
  task = g_task_new (self, self->disk_cancellable, cloche_monitor_disk_measured_cb, NULL);
  g_task_set_source_tag (task, cloche_monitor_measure_disk);
  g_task_set_task_data (task, job, (GDestroyNotify) cloche_monitor_disk_job_free);
  g_task_run_in_thread (task, cloche_monitor_measure_disk_thread);
}

static gboolean
cloche_monitor_disk_first_cb (gpointer user_data)
{
  ClocheMonitor *self = user_data;

  self->disk_first_source = 0;
  cloche_monitor_measure_disk (self);
  return G_SOURCE_REMOVE;
}

/* Sampling */

static gboolean
cloche_monitor_read_cpu_ticks (GPid     pid,
                               guint64 *ticks)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &error)
      || !cloche_monitor_parse_stat (contents, ticks, &error))
    {
      g_debug ("No CPU time for QEMU: %s", error->message);
      return FALSE;
    }
  return TRUE;
}

static void
cloche_monitor_read_host_memory (GPid          pid,
                                 ClocheSample *sample)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/smaps_rollup", (int) pid);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &error)
      || !cloche_monitor_parse_smaps_rollup (contents, &sample->host_rss,
                                             &sample->host_pss, &error))
    g_debug ("No memory figures for QEMU: %s", error->message);
}

static double
cloche_monitor_cpu_percent (ClocheMonitor *self)
{
  gint64 now = g_get_monotonic_time ();
  guint64 ticks = self->last_cpu_ticks;
  double percent = 0;

  if (cloche_monitor_read_cpu_ticks (self->pid, &ticks) && now > self->last_cpu_time)
    percent = (double) (ticks - MIN (ticks, self->last_cpu_ticks)) / sysconf (_SC_CLK_TCK)
              * G_USEC_PER_SEC / (now - self->last_cpu_time) * 100;
  self->last_cpu_ticks = ticks;
  self->last_cpu_time = now;
  return percent;
}

static void
cloche_monitor_guest_stats_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  g_autoptr(ClocheMonitor) self = user_data;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  ClocheGuestMemory memory;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (reply == NULL || !cloche_monitor_parse_guest_stats (reply, &memory, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("No guest memory figures: %s", error->message);
      return;
    }
  self->guest = memory;
}

static void
cloche_monitor_request_guest_stats (ClocheMonitor *self)
{
  ClocheQmpClient *qmp = cloche_vm_get_qmp_client (self->vm);
  g_autoptr(JsonObject) arguments = json_object_new ();

  if (qmp == NULL)
    return;
  json_object_set_string_member (arguments, "path", BALLOON_PATH);
  json_object_set_string_member (arguments, "property", "guest-stats");
  cloche_qmp_client_execute_async (qmp, "qom-get", arguments, self->cancellable,
                                   cloche_monitor_guest_stats_cb, g_object_ref (self));
}

/* Bytes through the proxy since the last tick: the proxy counts as they
 * go, so a long download shows while it runs. */
static void
cloche_monitor_take_egress (ClocheMonitor *self,
                            ClocheSample  *sample)
{
  ClocheEgressCounters totals = { 0 };

  if (self->egress != NULL)
    cloche_egress_proxy_get_totals (self->egress, &totals);
  sample->egress_in = totals.bytes_in - self->egress_last.bytes_in;
  sample->egress_out = totals.bytes_out - self->egress_last.bytes_out;
  self->egress_last = totals;
}

static void
cloche_monitor_take_sample (ClocheMonitor *self,
                            ClocheSample  *sample)
{
  sample->timestamp = g_get_real_time ();
  sample->cpu_percent = cloche_monitor_cpu_percent (self);
  cloche_monitor_read_host_memory (self->pid, sample);
  sample->has_guest = self->guest.known;
  sample->guest_total = self->guest.total;
  sample->guest_free = self->guest.free;
  sample->guest_used = self->guest.used;
  sample->has_disk = self->has_disk;
  sample->disk_bundle = self->disk_bundle;
  sample->disk_sessions = self->disk_sessions;
  cloche_monitor_take_egress (self, sample);
  sample->open_sessions = cloche_sandbox_get_open_sessions (self->sandbox);
}

static gboolean
cloche_monitor_tick_cb (gpointer user_data)
{
  ClocheMonitor *self = user_data;
  ClocheSample sample = { 0 };

  /* The guest figures arrive for the next tick: the guest itself answers
   * its balloon's poll only once a second. */
  cloche_monitor_take_sample (self, &sample);
  cloche_monitor_request_guest_stats (self);
  if (g_get_monotonic_time () - self->disk_measured_at >= DISK_INTERVAL_S * G_USEC_PER_SEC)
    cloche_monitor_measure_disk (self);

  cloche_sample_ring_push (self->ring, &sample);
  g_signal_emit (self, signals[SAMPLE], 0, &sample);
  return G_SOURCE_CONTINUE;
}

static void
cloche_monitor_polling_set_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (reply == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("Guest memory figures are off: %s", error->message);
}

/* The balloon asks the guest for its figures only when told how often. */
static void
cloche_monitor_start_guest_polling (ClocheMonitor *self)
{
  ClocheQmpClient *qmp = cloche_vm_get_qmp_client (self->vm);
  g_autoptr(JsonObject) arguments = json_object_new ();

  if (qmp == NULL)
    return;
  json_object_set_string_member (arguments, "path", BALLOON_PATH);
  json_object_set_string_member (arguments, "property", "guest-stats-polling-interval");
  json_object_set_int_member (arguments, "value", 1);
  cloche_qmp_client_execute_async (qmp, "qom-set", arguments, self->cancellable,
                                   cloche_monitor_polling_set_cb, NULL);
}

static void
cloche_monitor_start_sampling (ClocheMonitor *self)
{
  self->pid = cloche_vm_get_pid (self->vm);
  self->last_cpu_ticks = 0;
  self->last_cpu_time = g_get_monotonic_time ();
  cloche_monitor_read_cpu_ticks (self->pid, &self->last_cpu_ticks);
  memset (&self->guest, 0, sizeof self->guest);
  self->cancellable = g_cancellable_new ();

  cloche_monitor_start_guest_polling (self);
  cloche_monitor_measure_disk (self);
  self->tick_source = g_timeout_add_seconds (1, cloche_monitor_tick_cb, self);
  g_source_set_name_by_id (self->tick_source, "[cloche] monitor");
}

static void
cloche_monitor_stop_sampling (ClocheMonitor *self)
{
  g_clear_handle_id (&self->tick_source, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->pid = 0;
}

/* The one place that decides whether the timer exists. */
static void
cloche_monitor_update_sampling_cb (ClocheMonitor *self)
{
  gboolean running = cloche_vm_get_state (self->vm) == CLOCHE_VM_STATE_RUNNING
                     && cloche_vm_get_pid (self->vm) > 0;

  if (running == (self->tick_source != 0))
    return;
  if (running)
    cloche_monitor_start_sampling (self);
  else
    cloche_monitor_stop_sampling (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SAMPLING]);
}

/* Accessors */

gboolean
cloche_monitor_get_sampling (ClocheMonitor *self)
{
  g_return_val_if_fail (CLOCHE_IS_MONITOR (self), FALSE);
  return self->tick_source != 0;
}

/**
 * cloche_monitor_dup_samples:
 * @since: CLOCK_REALTIME in µs; 0 for the whole history
 *
 * Returns: (transfer full) (element-type ClocheSample): the samples taken
 * after @since, oldest first
 */
GArray *
cloche_monitor_dup_samples (ClocheMonitor *self,
                            gint64         since)
{
  g_return_val_if_fail (CLOCHE_IS_MONITOR (self), NULL);
  return cloche_sample_ring_since (self->ring, since);
}

guint64
cloche_monitor_get_disk_bundle (ClocheMonitor *self)
{
  g_return_val_if_fail (CLOCHE_IS_MONITOR (self), 0);
  return self->disk_bundle;
}

guint64
cloche_monitor_get_disk_sessions (ClocheMonitor *self)
{
  g_return_val_if_fail (CLOCHE_IS_MONITOR (self), 0);
  return self->disk_sessions;
}

/**
 * cloche_monitor_set_egress_proxy:
 * @proxy: (nullable): where the egress figures of the samples come from
 */
void
cloche_monitor_set_egress_proxy (ClocheMonitor     *self,
                                 ClocheEgressProxy *proxy)
{
  g_return_if_fail (CLOCHE_IS_MONITOR (self));

  g_set_object (&self->egress, proxy);
  self->egress_last = (ClocheEgressCounters) { 0 };
  if (proxy != NULL)
    cloche_egress_proxy_get_totals (proxy, &self->egress_last);
}

/* GObject */

static void
cloche_monitor_constructed (GObject *object)
{
  ClocheMonitor *self = CLOCHE_MONITOR (object);

  G_OBJECT_CLASS (cloche_monitor_parent_class)->constructed (object);

  self->vm = g_object_ref (cloche_sandbox_get_vm (self->sandbox));
  if (self->sessions_path == NULL)
    self->sessions_path = cloche_session_store_default_root ();
  g_signal_connect_object (self->vm, "notify::state",
                           G_CALLBACK (cloche_monitor_update_sampling_cb), self, G_CONNECT_SWAPPED);
  /* Once soon, so that disk use is known while the VM is stopped; then
   * only while it runs. */
  self->disk_first_source = g_timeout_add_seconds (DISK_FIRST_DELAY_S,
                                                   cloche_monitor_disk_first_cb, self);
  g_source_set_name_by_id (self->disk_first_source, "[cloche] monitor disk");
  cloche_monitor_update_sampling_cb (self);
}

static void
cloche_monitor_dispose (GObject *object)
{
  ClocheMonitor *self = CLOCHE_MONITOR (object);

  cloche_monitor_stop_sampling (self);
  g_clear_handle_id (&self->disk_first_source, g_source_remove);
  g_cancellable_cancel (self->disk_cancellable);
  g_clear_object (&self->disk_cancellable);
  g_clear_object (&self->vm);
  g_clear_object (&self->sandbox);
  g_clear_object (&self->egress);

  G_OBJECT_CLASS (cloche_monitor_parent_class)->dispose (object);
}

static void
cloche_monitor_finalize (GObject *object)
{
  ClocheMonitor *self = CLOCHE_MONITOR (object);

  g_free (self->sessions_path);
  g_free (self->ring);

  G_OBJECT_CLASS (cloche_monitor_parent_class)->finalize (object);
}

static void
cloche_monitor_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  ClocheMonitor *self = CLOCHE_MONITOR (object);

  switch (prop_id)
    {
    case PROP_SANDBOX:
      g_value_set_object (value, self->sandbox);
      break;
    case PROP_SESSIONS_PATH:
      g_value_set_string (value, self->sessions_path);
      break;
    case PROP_SAMPLING:
      g_value_set_boolean (value, cloche_monitor_get_sampling (self));
      break;
    case PROP_DISK_BUNDLE:
      g_value_set_uint64 (value, self->disk_bundle);
      break;
    case PROP_DISK_SESSIONS:
      g_value_set_uint64 (value, self->disk_sessions);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_monitor_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  ClocheMonitor *self = CLOCHE_MONITOR (object);

  switch (prop_id)
    {
    case PROP_SANDBOX:
      self->sandbox = g_value_dup_object (value);
      break;
    case PROP_SESSIONS_PATH:
      self->sessions_path = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_monitor_class_init (ClocheMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags construct = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->constructed = cloche_monitor_constructed;
  object_class->dispose = cloche_monitor_dispose;
  object_class->finalize = cloche_monitor_finalize;
  object_class->get_property = cloche_monitor_get_property;
  object_class->set_property = cloche_monitor_set_property;

  properties[PROP_SANDBOX] =
    g_param_spec_object ("sandbox", NULL, NULL, CLOCHE_TYPE_SANDBOX, construct);
  properties[PROP_SESSIONS_PATH] =
    g_param_spec_string ("sessions-path", NULL, NULL, NULL, construct);
  properties[PROP_SAMPLING] =
    g_param_spec_boolean ("sampling", NULL, NULL, FALSE, ro);
  properties[PROP_DISK_BUNDLE] =
    g_param_spec_uint64 ("disk-bundle", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_DISK_SESSIONS] =
    g_param_spec_uint64 ("disk-sessions", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * ClocheMonitor::sample:
   * @sample: the new sample, already in the history
   */
  signals[SAMPLE] =
    g_signal_new ("sample", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                  CLOCHE_TYPE_SAMPLE | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
cloche_monitor_init (ClocheMonitor *self)
{
  self->ring = g_new0 (ClocheSampleRing, 1);
}

/**
 * cloche_monitor_new:
 * @sessions_path: (nullable): the sessions folder, default
 *   $XDG_STATE_HOME/cloche/sessions
 */
ClocheMonitor *
cloche_monitor_new (ClocheSandbox *sandbox,
                    const char    *sessions_path)
{
  g_return_val_if_fail (CLOCHE_IS_SANDBOX (sandbox), NULL);

  return g_object_new (CLOCHE_TYPE_MONITOR,
                       "sandbox", sandbox,
                       "sessions-path", sessions_path,
                       NULL);
}
