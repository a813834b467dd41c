/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Reading the audit log back: the rotated files oldest first, then
 * audit.jsonl, filtered by time and session. Reading goes to the files, not
 * to the daemon, so the log can be read when the daemon is not running
 * (after a crash, which is when it matters) and shows the lines of every
 * process that writes it. Following keeps the current file open and reads
 * what was appended; when the file is rotated under it, it finishes the old
 * file and starts on the new one.
 *
 * A line that does not parse (cut short by a crash) is counted and skipped,
 * never fatal: the lines after it are read as usual.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-audit-log.h"
#include "cloche-audit-reader.h"
#include "cloche-error.h"

#define MAX_GENERATIONS 100

struct _ClocheAuditReader
{
  GObject               parent_instance;
  char                 *dir;
  char                 *path;
  char                 *session;
  gint64                since_us;
  ClocheAuditEventFunc  func;
  gpointer              user_data;

  /* Following */
  int                   fd;
  GString              *partial;     /* bytes after the last newline read */
  guint                 line_number;

  guint                 damaged;
  char                 *first_damage;
};

G_DEFINE_FINAL_TYPE (ClocheAuditReader, cloche_audit_reader, G_TYPE_OBJECT)

/**
 * cloche_audit_event_time:
 *
 * Returns: the event's "time" in CLOCK_REALTIME µs, 0 when it has none
 */
gint64
cloche_audit_event_time (JsonObject *event)
{
  const char *text = json_object_get_string_member_with_default (event, "time", NULL);
  g_autoptr(GDateTime) time = text != NULL ? g_date_time_new_from_iso8601 (text, NULL) : NULL;

  if (time == NULL)
    return 0;
  return g_date_time_to_unix (time) * G_USEC_PER_SEC + g_date_time_get_microsecond (time);
}

/**
 * cloche_audit_parse_since:
 * @text: RFC 3339 ("2024-05-01T09:00:00Z"), or an age: "30s", "10m", "2h", "7d"
 */
gboolean
cloche_audit_parse_since (const char  *text,
                          gint64       now_us,
                          gint64      *since_us,
                          GError     **error)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_iso8601 (text, NULL);
  static const struct { char unit; gint64 us; } units[] = {
    { 's', G_USEC_PER_SEC }, { 'm', 60 * G_USEC_PER_SEC },
    { 'h', G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC },
    { 'd', G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC },
  };
  char *end = NULL;
  guint64 count;

  if (time != NULL)
    {
      *since_us = g_date_time_to_unix (time) * G_USEC_PER_SEC
                  + g_date_time_get_microsecond (time);
      return TRUE;
    }
  count = g_ascii_strtoull (text, &end, 10);
  for (guint i = 0; end != text && end != NULL && i < G_N_ELEMENTS (units); i++)
    if (end[0] == units[i].unit && end[1] == '\0')
      {
        *since_us = now_us - (gint64) count * units[i].us;
        return TRUE;
      }
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
               _("\"%s\" is not a time: give one as 2024-05-01T09:00:00Z (RFC 3339, "
                 "with a time zone) or an age such as 30s, 10m, 2h or 7d"), text);
  return FALSE;
}

static void
note_damage (ClocheAuditReader *self,
             const char        *file,
             guint              line)
{
  if (self->damaged++ == 0)
    self->first_damage = g_strdup_printf ("%s:%u", file, line);
}

static void
handle_line (ClocheAuditReader *self,
             const char        *file,
             guint              number,
             const char        *line)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *event;
  const char *session;

  if (line[0] == '\0')
    return;
  if (!json_parser_load_from_data (parser, line, -1, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root)
      || !json_object_has_member (event = json_node_get_object (root), "event"))
    {
      note_damage (self, file, number);
      return;
    }
  session = json_object_get_string_member_with_default (event, "session", NULL);
  if (self->session != NULL && g_strcmp0 (session, self->session) != 0)
    return;
  if (self->since_us != 0 && cloche_audit_event_time (event) < self->since_us)
    return;
  self->func (event, line, self->user_data);
}

/* Hands over every whole line of @buffer; returns how many bytes it used. */
static gsize
handle_lines (ClocheAuditReader *self,
              const char        *file,
              char              *buffer,
              gsize              length,
              guint             *number)
{
  gsize start = 0;

  for (gsize i = 0; i < length; i++)
    {
      if (buffer[i] != '\n')
        continue;
      buffer[i] = '\0';
      handle_line (self, file, ++*number, buffer + start);
      start = i + 1;
    }
  return start;
}

static gboolean
read_file (ClocheAuditReader  *self,
           const char         *path,
           GError            **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length = 0, used;
  guint number = 0;

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  used = handle_lines (self, path, contents, length, &number);
  /* A last line without its newline: cut short, unless a writer is in the
   * middle of it; either way not an event to show. */
  if (used < length)
    note_damage (self, path, number + 1);
  return TRUE;
}

static gboolean drain (ClocheAuditReader *self, GError **error);

/* The current file is read through the descriptor that following goes on
 * with, so that nothing appended between the two is missed or repeated. */
static gboolean
read_current (ClocheAuditReader  *self,
              GError            **error)
{
  if (self->fd < 0)
    self->fd = open (self->path, O_RDONLY | O_CLOEXEC);
  if (self->fd < 0)
    {
      if (errno == ENOENT)
        return TRUE;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot read the audit log %s: %s"), self->path, g_strerror (errno));
      return FALSE;
    }
  if (!drain (self, error))
    return FALSE;
  /* A last line without its newline: cut short by a crash, or a writer is
   * in the middle of it; not an event to show either way. */
  if (self->partial->len > 0)
    note_damage (self, self->path, self->line_number + 1);
  return TRUE;
}

/**
 * cloche_audit_reader_read_all:
 *
 * Hands every event that passes the filter to the callback, oldest first.
 * Missing files are no error: an empty log has none. Call it once; then
 * cloche_audit_reader_read_new() follows from where it stopped.
 */
gboolean
cloche_audit_reader_read_all (ClocheAuditReader  *self,
                              GError            **error)
{
  guint oldest = 0;

  g_return_val_if_fail (CLOCHE_IS_AUDIT_READER (self), FALSE);

  while (oldest < MAX_GENERATIONS)
    {
      g_autofree char *path = g_strdup_printf ("%s.%u", self->path, oldest + 1);

      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        break;
      oldest++;
    }
  for (guint i = oldest; i > 0; i--)
    {
      g_autofree char *path = g_strdup_printf ("%s.%u", self->path, i);

      if (!read_file (self, path, error))
        return FALSE;
    }
  return read_current (self, error);
}

static gboolean
drain (ClocheAuditReader  *self,
       GError            **error)
{
  char buffer[16384];
  gssize got;

  while ((got = read (self->fd, buffer, sizeof buffer)) > 0)
    {
      gsize used;

      g_string_append_len (self->partial, buffer, got);
      used = handle_lines (self, self->path, self->partial->str, self->partial->len,
                           &self->line_number);
      g_string_erase (self->partial, 0, used);
    }
  if (got < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot read the audit log %s: %s"), self->path, g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

static gboolean
rotated (ClocheAuditReader *self)
{
  struct stat by_path, by_fd;

  if (stat (self->path, &by_path) != 0)
    return FALSE;
  return fstat (self->fd, &by_fd) != 0 || by_fd.st_ino != by_path.st_ino
         || by_fd.st_dev != by_path.st_dev;
}

/**
 * cloche_audit_reader_read_new:
 *
 * For following: without an earlier read_all(), the first call skips to the
 * end of audit.jsonl; later ones hand over what was appended since (and what was appended to the file
 * before a rotation moved it away).
 */
gboolean
cloche_audit_reader_read_new (ClocheAuditReader  *self,
                              GError            **error)
{
  g_return_val_if_fail (CLOCHE_IS_AUDIT_READER (self), FALSE);

  if (self->fd < 0)
    {
      self->fd = open (self->path, O_RDONLY | O_CLOEXEC);
      if (self->fd >= 0)
        lseek (self->fd, 0, SEEK_END);
      return TRUE;
    }
  if (!drain (self, error))
    return FALSE;
  if (rotated (self))
    {
      close (self->fd);
      g_string_truncate (self->partial, 0);
      self->line_number = 0;
      self->fd = open (self->path, O_RDONLY | O_CLOEXEC);
      if (self->fd >= 0)
        return drain (self, error);
    }
  return TRUE;
}

/* How many lines could not be read, and where the first was ("file:line"). */
guint
cloche_audit_reader_get_damaged (ClocheAuditReader *self)
{
  g_return_val_if_fail (CLOCHE_IS_AUDIT_READER (self), 0);
  return self->damaged;
}

const char *
cloche_audit_reader_get_first_damage (ClocheAuditReader *self)
{
  g_return_val_if_fail (CLOCHE_IS_AUDIT_READER (self), NULL);
  return self->first_damage;
}

static void
cloche_audit_reader_finalize (GObject *object)
{
  ClocheAuditReader *self = CLOCHE_AUDIT_READER (object);

  if (self->fd >= 0)
    close (self->fd);
  g_string_free (self->partial, TRUE);
  g_free (self->dir);
  g_free (self->path);
  g_free (self->session);
  g_free (self->first_damage);

  G_OBJECT_CLASS (cloche_audit_reader_parent_class)->finalize (object);
}

static void
cloche_audit_reader_class_init (ClocheAuditReaderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_audit_reader_finalize;
}

static void
cloche_audit_reader_init (ClocheAuditReader *self)
{
  self->fd = -1;
  self->partial = g_string_new (NULL);
}

/**
 * cloche_audit_reader_new:
 * @dir: (nullable): the audit log's folder, %NULL for the default
 * @filter: (nullable): which events; %NULL for all
 */
ClocheAuditReader *
cloche_audit_reader_new (const char              *dir,
                         const ClocheAuditFilter *filter,
                         ClocheAuditEventFunc     func,
                         gpointer                 user_data)
{
  ClocheAuditReader *self = g_object_new (CLOCHE_TYPE_AUDIT_READER, NULL);

  self->dir = dir != NULL ? g_strdup (dir) : cloche_audit_log_default_dir ();
  self->path = g_build_filename (self->dir, CLOCHE_AUDIT_LOG_FILE_NAME, NULL);
  if (filter != NULL)
    {
      self->session = g_strdup (filter->session);
      self->since_us = filter->since_us;
    }
  self->func = func;
  self->user_data = user_data;
  return self;
}
