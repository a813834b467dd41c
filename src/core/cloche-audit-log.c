/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The audit log: one JSON object a line in $XDG_STATE_HOME/cloche/audit.jsonl,
 * rotated by size. Any thread may append; a writer thread of its own does
 * the file work, so a slow disk never holds the main loop.
 *
 * Several processes may write the same file (the daemon, a proxy, a daemon
 * started with --replace while the old one finishes). Each line is one
 * write(2) to an O_APPEND descriptor, done while holding an exclusive
 * flock() on audit.lock. O_APPEND alone would keep lines whole on a local
 * file system (PIPE_BUF is about pipes and says nothing for files), but it
 * cannot make rotation safe: a writer that still holds the renamed file
 * would go on appending to audit.jsonl.1. Under the lock every writer checks
 * that its descriptor is still audit.jsonl before it writes, and rotation
 * happens under the same lock. An uncontended flock costs about a
 * microsecond, which events a second never notice.
 *
 * A crash in the middle of a write leaves the last line cut short. At start
 * the writer ends such a line with a newline (so the next event starts a
 * line of its own), logs "audit.damaged" saying where and what, and never
 * truncates: every earlier line stays. Readers skip lines that do not parse.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-audit-log.h"
#include "cloche-audit-otlp.h"
#include "cloche-file.h"
#include "cloche-json.h"

#define LOCK_FILE_NAME "audit.lock"
/* How far back a cut line is looked for, and how much of it is quoted. */
#define TAIL_SCAN_BYTES 65536
#define PARTIAL_QUOTE_CHARS 120
/* At most this many events in one OTLP request. */
#define EXPORT_BATCH 100

struct _ClocheAuditLog
{
  GObject      parent_instance;
  char        *dir;
  char        *path;
  char        *lock_path;
  guint64      max_bytes;
  guint        keep;

  /* Touched by the writer thread only, once it runs. */
  int          fd;
  int          lock_fd;

  GThread     *writer;
  GAsyncQueue *queue;
  GMutex       mutex;
  GCond        written;
  guint        pending;          /* lines queued and not yet written */

  ClocheAuditOtlp *exporter;     /* set before open; used by the writer */
  gboolean     export_failing;
};

G_DEFINE_FINAL_TYPE (ClocheAuditLog, cloche_audit_log, G_TYPE_OBJECT)

/* The item that tells the writer thread to stop. */
static char stop_mark[] = "";

char *
cloche_audit_log_default_dir (void)
{
  return g_build_filename (g_get_user_state_dir (), "cloche", NULL);
}

/* Lines */

/**
 * cloche_audit_format_time:
 *
 * Returns: (transfer full): RFC 3339 in UTC with milliseconds,
 *   e.g. 2024-05-01T09:30:00.250Z
 */
char *
cloche_audit_format_time (gint64 real_time_us)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (real_time_us / G_USEC_PER_SEC);
  g_autofree char *seconds = NULL;

  if (time == NULL)
    return g_strdup ("1970-01-01T00:00:00.000Z");
  seconds = g_date_time_format (time, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf ("%s.%03dZ", seconds, (int) ((real_time_us / 1000) % 1000));
}

/**
 * cloche_audit_format_line:
 * @session: (nullable): the session the event belongs to
 * @fields: (nullable): an a{sv}, floating or not
 *
 * Returns: (transfer full): the event as one JSON line, newline included
 */
char *
cloche_audit_format_line (gint64      real_time_us,
                          const char *event,
                          const char *session,
                          GVariant   *fields)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(GVariant) owned = fields != NULL ? g_variant_ref_sink (fields) : NULL;
  g_autofree char *time = cloche_audit_format_time (real_time_us);
  g_autofree char *text = NULL;

  json_object_set_int_member (object, "v", CLOCHE_AUDIT_SCHEMA_VERSION);
  json_object_set_string_member (object, "time", time);
  json_object_set_string_member (object, "event", event);
  if (session != NULL && session[0] != '\0')
    json_object_set_string_member (object, "session", session);
  json_object_set_int_member (object, "pid", getpid ());
  if (owned != NULL && g_variant_is_of_type (owned, G_VARIANT_TYPE_VARDICT))
    json_object_set_member (object, "fields", json_gvariant_serialize (owned));
  else
    json_object_set_object_member (object, "fields", json_object_new ());
  json_node_set_object (root, object);
  /* json-glib escapes control characters, so a line never holds a newline. */
  text = json_to_string (root, FALSE);
  return g_strconcat (text, "\n", NULL);
}

/* Files (writer thread) */

/**
 * cloche_audit_log_dup_path:
 * @generation: 0 for the file being written, 1… for the rotated ones
 */
char *
cloche_audit_log_dup_path (ClocheAuditLog *self,
                           guint           generation)
{
  g_return_val_if_fail (CLOCHE_IS_AUDIT_LOG (self), NULL);

  if (generation == 0)
    return g_strdup (self->path);
  return g_strdup_printf ("%s.%u", self->path, generation);
}

static gboolean
cloche_audit_log_write_all (int         fd,
                            const char *data,
                            gsize       length)
{
  /* One write(2) in practice; a short write (a full disk) continues where
   * it stopped rather than leaving the line cut. */
  while (length > 0)
    {
      gssize written = write (fd, data, length);

      if (written < 0 && errno == EINTR)
        continue;
      if (written <= 0)
        return FALSE;
      data += written;
      length -= written;
    }
  return TRUE;
}

/* The log's files are never opened through a symbolic link, nor as a FIFO
 * or device: whoever put one there would have the log append to a file of
 * their choice, or hang it. Such an entry is replaced by a file of the
 * log's own (a link is removed, never its target), so that auditing goes
 * on; the warning says what was there. */
static int
cloche_audit_log_open_own_file (const char *path,
                                int         flags)
{
  g_autoptr(GError) error = NULL;
  GStatBuf st;
  int fd = cloche_file_open_write (AT_FDCWD, path, flags | O_CREAT, &error);

  if (fd >= 0)
    return fd;
  if ((g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_LOOP)
       || g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_INVAL)
       || g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NXIO))
      && g_lstat (path, &st) == 0 && !S_ISDIR (st.st_mode))
    {
      g_warning ("%s; it is replaced by a new file", error->message);
      g_clear_error (&error);
      if (g_unlink (path) == 0)
        fd = cloche_file_open_write (AT_FDCWD, path, flags | O_CREAT | O_EXCL, &error);
      if (fd >= 0)
        return fd;
    }
  g_warning ("Cannot open %s: %s", path, error != NULL ? error->message : g_strerror (errno));
  return -1;
}

static int
cloche_audit_log_open_log (ClocheAuditLog *self)
{
  /* Read too: the start-up check looks at the last line. */
  return cloche_audit_log_open_own_file (self->path, O_RDWR | O_APPEND);
}

/* Another process may have rotated the file since we last wrote: write
 * only to what is audit.jsonl now. */
static void
cloche_audit_log_ensure_current (ClocheAuditLog *self)
{
  struct stat by_path, by_fd;

  if (self->fd >= 0 && lstat (self->path, &by_path) == 0 && fstat (self->fd, &by_fd) == 0
      && by_path.st_ino == by_fd.st_ino && by_path.st_dev == by_fd.st_dev)
    return;
  if (self->fd >= 0)
    close (self->fd);
  self->fd = cloche_audit_log_open_log (self);
}

static void
cloche_audit_log_rotate (ClocheAuditLog *self)
{
  /* audit.jsonl.keep falls off the end as .keep-1 is renamed over it. */
  for (guint i = self->keep; i > 1; i--)
    {
      g_autofree char *from = cloche_audit_log_dup_path (self, i - 1);
      g_autofree char *to = cloche_audit_log_dup_path (self, i);

      if (g_rename (from, to) != 0 && errno != ENOENT)
        g_warning ("Cannot rotate the audit log %s: %s", from, g_strerror (errno));
    }
  if (self->keep == 0)
    g_unlink (self->path);
  else
    {
      g_autofree char *first = cloche_audit_log_dup_path (self, 1);

      if (g_rename (self->path, first) != 0)
        g_warning ("Cannot rotate the audit log %s: %s", self->path, g_strerror (errno));
    }
  if (self->fd >= 0)
    close (self->fd);
  self->fd = cloche_audit_log_open_log (self);
}

static void
cloche_audit_log_write_locked (ClocheAuditLog *self,
                               const char     *line)
{
  gsize length = strlen (line);
  struct stat st;

  cloche_audit_log_ensure_current (self);
  if (self->fd >= 0 && fstat (self->fd, &st) == 0 && st.st_size > 0
      && (guint64) st.st_size + length > self->max_bytes)
    cloche_audit_log_rotate (self);
  if (self->fd < 0 || !cloche_audit_log_write_all (self->fd, line, length))
    g_warning ("Cannot write to the audit log %s: %s", self->path, g_strerror (errno));
}

static void
cloche_audit_log_lock (ClocheAuditLog *self)
{
  while (self->lock_fd >= 0 && flock (self->lock_fd, LOCK_EX) != 0 && errno == EINTR)
    ;
}

static void
cloche_audit_log_unlock (ClocheAuditLog *self)
{
  if (self->lock_fd >= 0)
    flock (self->lock_fd, LOCK_UN);
}

/* The bytes after the last newline of the file, when it does not end with
 * one: a line cut short by a crash. NULL when the file ends cleanly. */
static char *
cloche_audit_log_read_cut_line (int     fd,
                                gint64 *offset)
{
  struct stat st;
  gsize scan;
  g_autofree char *tail = NULL;
  gssize got;
  char *newline;

  if (fstat (fd, &st) != 0 || st.st_size == 0)
    return NULL;
  scan = MIN ((gsize) st.st_size, TAIL_SCAN_BYTES);
  tail = g_malloc (scan + 1);
  got = pread (fd, tail, scan, st.st_size - scan);
  if (got != (gssize) scan || tail[scan - 1] == '\n')
    return NULL;
  tail[scan] = '\0';
  newline = NULL;
  for (gsize i = scan; i > 0 && newline == NULL; i--)
    if (tail[i - 1] == '\n')
      newline = &tail[i - 1];
  *offset = st.st_size - scan + (newline != NULL ? newline - tail + 1 : 0);
  return g_strndup (newline != NULL ? newline + 1 : tail,
                    scan - (newline != NULL ? newline - tail + 1 : 0));
}

static void
cloche_audit_log_repair_cut_line (ClocheAuditLog *self)
{
  g_autofree char *cut = NULL;
  g_autofree char *valid = NULL;
  g_autofree char *line = NULL;
  gint64 offset = 0;
  glong chars;

  cloche_audit_log_ensure_current (self);
  if (self->fd < 0 || (cut = cloche_audit_log_read_cut_line (self->fd, &offset)) == NULL)
    return;
  cloche_audit_log_write_all (self->fd, "\n", 1);
  valid = g_utf8_make_valid (cut, -1);
  chars = g_utf8_strlen (valid, -1);
  if (chars > PARTIAL_QUOTE_CHARS)
    *g_utf8_offset_to_pointer (valid, PARTIAL_QUOTE_CHARS) = '\0';
  g_warning ("The audit log %s ended with a line cut short at byte %" G_GINT64_FORMAT
             " (%zu bytes; a crash while writing): kept as it is, logging goes on after it",
             self->path, offset, strlen (cut));
  line = cloche_audit_format_line (g_get_real_time (), "audit.damaged", NULL,
                                   g_variant_new_parsed ("{'file': <%s>, 'offset': <%x>, "
                                                         "'bytes': <%t>, 'partial': <%s>}",
                                                         self->path, offset,
                                                         (guint64) strlen (cut), valid));
  cloche_audit_log_write_locked (self, line);
}

/* After the file, so that a slow or dead collector never costs a line. */
static void
cloche_audit_log_export_batch (ClocheAuditLog *self,
                               GPtrArray      *batch)
{
  g_autoptr(GError) error = NULL;

  if (self->exporter == NULL || cloche_audit_otlp_export (self->exporter, batch, &error))
    return;
  /* Once per failure streak: a collector that is down would fill the journal. */
  if (!self->export_failing)
    g_warning ("Audit events are not reaching the OTLP collector (%s); they are still in %s",
               error->message, self->path);
  self->export_failing = TRUE;
}

static void
cloche_audit_log_mark_written (ClocheAuditLog *self,
                               guint           count)
{
  g_mutex_lock (&self->mutex);
  self->pending -= count;
  g_cond_broadcast (&self->written);
  g_mutex_unlock (&self->mutex);
}

static gpointer
cloche_audit_log_writer_main (gpointer user_data)
{
  ClocheAuditLog *self = user_data;
  char *line;

  cloche_audit_log_lock (self);
  cloche_audit_log_repair_cut_line (self);
  cloche_audit_log_unlock (self);

  while ((line = g_async_queue_pop (self->queue)) != stop_mark)
    {
      g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func (g_free);
      gboolean stop = FALSE;

      /* What is queued already goes in one go: one lock, one export. */
      cloche_audit_log_lock (self);
      do
        {
          cloche_audit_log_write_locked (self, line);
          g_ptr_array_add (batch, line);
        }
      while (batch->len < EXPORT_BATCH && (line = g_async_queue_try_pop (self->queue)) != NULL
             && !(stop = (line == stop_mark)));
      cloche_audit_log_unlock (self);
      cloche_audit_log_export_batch (self, batch);
      cloche_audit_log_mark_written (self, batch->len);
      if (stop)
        break;
    }
  return NULL;
}

/* Public */

/**
 * cloche_audit_log_open:
 *
 * Creates the folder and the lock file and starts the writer. Events
 * appended before this are written once it is open.
 */
gboolean
cloche_audit_log_open (ClocheAuditLog  *self,
                       GError         **error)
{
  g_return_val_if_fail (CLOCHE_IS_AUDIT_LOG (self), FALSE);
  g_return_val_if_fail (self->writer == NULL, FALSE);

  if (g_mkdir_with_parents (self->dir, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot create %s for the audit log: %s"), self->dir, g_strerror (errno));
      return FALSE;
    }
  self->lock_fd = cloche_audit_log_open_own_file (self->lock_path, O_RDWR);
  if (self->lock_fd < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("Cannot open the audit log's lock file %s; check the folder's "
                     "permissions"), self->lock_path);
      return FALSE;
    }
  self->writer = g_thread_new ("cloche-audit", cloche_audit_log_writer_main, self);
  return TRUE;
}

/**
 * cloche_audit_log_set_exporter:
 * @exporter: (nullable): where to send each event too, after the file
 *
 * Call before cloche_audit_log_open(): the writer thread owns it then.
 */
void
cloche_audit_log_set_exporter (ClocheAuditLog  *self,
                               ClocheAuditOtlp *exporter)
{
  g_return_if_fail (CLOCHE_IS_AUDIT_LOG (self));
  g_return_if_fail (self->writer == NULL);

  g_set_object (&self->exporter, exporter);
}

/**
 * cloche_audit_log_append_fields:
 * @self: (nullable): the log; %NULL logs nothing, so that callers without
 *   a log need no check
 * @session: (nullable): the session the event belongs to
 * @fields: (nullable): an a{sv}; a floating reference is taken
 *
 * Queues one event. Safe from any thread; returns at once.
 */
void
cloche_audit_log_append_fields (ClocheAuditLog *self,
                                const char     *event,
                                const char     *session,
                                GVariant       *fields)
{
  char *line;

  if (self == NULL)
    {
      if (fields != NULL)
        g_variant_unref (g_variant_ref_sink (fields));
      return;
    }
  g_return_if_fail (CLOCHE_IS_AUDIT_LOG (self));
  g_return_if_fail (event != NULL);

  line = cloche_audit_format_line (g_get_real_time (), event, session, fields);
  g_mutex_lock (&self->mutex);
  self->pending++;
  g_mutex_unlock (&self->mutex);
  g_async_queue_push (self->queue, line);
}

/**
 * cloche_audit_log_append:
 * @self: (nullable): the log; %NULL logs nothing
 * @session: (nullable): the session the event belongs to
 * @first_field: the name of the first field, then its value as a GVariant
 *   (floating references are taken), then further name/value pairs, then
 *   %NULL. A %NULL value leaves its field out.
 *
 * e.g. cloche_audit_log_append (log, "egress.decision", id,
 *                               "host", g_variant_new_string (host),
 *                               "port", g_variant_new_uint16 (port),
 *                               "allowed", g_variant_new_boolean (FALSE),
 *                               NULL);
 */
void
cloche_audit_log_append (ClocheAuditLog *self,
                         const char     *event,
                         const char     *session,
                         const char     *first_field,
                         ...)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  va_list args;

  va_start (args, first_field);
  for (const char *name = first_field; name != NULL; name = va_arg (args, const char *))
    {
      GVariant *value = va_arg (args, GVariant *);

      if (value != NULL)
        g_variant_builder_add (&builder, "{sv}", name, value);
    }
  va_end (args);
  cloche_audit_log_append_fields (self, event, session, g_variant_builder_end (&builder));
}

/**
 * cloche_audit_log_flush:
 *
 * Waits until every event appended so far is in the file. For tests and
 * for the end of the process, not for the main loop.
 */
void
cloche_audit_log_flush (ClocheAuditLog *self)
{
  g_return_if_fail (CLOCHE_IS_AUDIT_LOG (self));

  if (self->writer == NULL)
    return;
  g_mutex_lock (&self->mutex);
  while (self->pending > 0)
    g_cond_wait (&self->written, &self->mutex);
  g_mutex_unlock (&self->mutex);
}

/* GObject */

static void
cloche_audit_log_finalize (GObject *object)
{
  ClocheAuditLog *self = CLOCHE_AUDIT_LOG (object);
  char *line;

  /* What was appended is written before the process goes. */
  if (self->writer != NULL)
    {
      g_async_queue_push (self->queue, stop_mark);
      g_thread_join (self->writer);
    }
  while ((line = g_async_queue_try_pop (self->queue)) != NULL)
    if (line != stop_mark)
      g_free (line);
  g_async_queue_unref (self->queue);
  if (self->fd >= 0)
    close (self->fd);
  if (self->lock_fd >= 0)
    close (self->lock_fd);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->written);
  g_free (self->dir);
  g_free (self->path);
  g_free (self->lock_path);
  g_clear_object (&self->exporter);

  G_OBJECT_CLASS (cloche_audit_log_parent_class)->finalize (object);
}

static void
cloche_audit_log_class_init (ClocheAuditLogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_audit_log_finalize;
}

static void
cloche_audit_log_init (ClocheAuditLog *self)
{
  self->fd = -1;
  self->lock_fd = -1;
  self->queue = g_async_queue_new ();
  g_mutex_init (&self->mutex);
  g_cond_init (&self->written);
}

/**
 * cloche_audit_log_new:
 * @dir: (nullable): the folder, %NULL for $XDG_STATE_HOME/cloche
 * @max_bytes: rotate once the file would grow past this; 0 for the default
 * @keep: how many rotated files to keep (audit.jsonl.1 … .keep)
 */
ClocheAuditLog *
cloche_audit_log_new (const char *dir,
                      guint64     max_bytes,
                      guint       keep)
{
  ClocheAuditLog *self = g_object_new (CLOCHE_TYPE_AUDIT_LOG, NULL);

  self->dir = dir != NULL ? g_strdup (dir) : cloche_audit_log_default_dir ();
  self->path = g_build_filename (self->dir, CLOCHE_AUDIT_LOG_FILE_NAME, NULL);
  self->lock_path = g_build_filename (self->dir, LOCK_FILE_NAME, NULL);
  self->max_bytes = max_bytes > 0 ? max_bytes : CLOCHE_AUDIT_LOG_DEFAULT_MAX_BYTES;
  self->keep = keep;
  return self;
}
