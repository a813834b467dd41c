/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The sessions folder in memory, so that listing 10,000 sessions does not
 * read 10,000 records and walk 10,000 trees each time. Only the store's
 * worker thread uses it (the walks it starts run in helper threads, each on
 * entries of its own); the daemon's own changes reach it through that
 * thread too, in order, so it is never behind them.
 *
 * What the daemon did not do itself (a folder copied in, a record edited or
 * a file added by hand) shows through stamps. A quick sync stats the
 * sessions folder only (folders that came or went); a full one also each
 * session's record, folder and work folder, and reads or measures again
 * what moved. A file changed in place deep inside a closed session's work
 * folder moves none of them: its size catches up when the session is next
 * opened, changed, or the daemon restarts, while cleanup always counts what
 * it really frees.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "cloche-session-codec.h"
#include "cloche-session-index.h"
#include "cloche-tree.h"

#define PARALLEL_THREADS 4
#define RECORD_MAX_BYTES (1024 * 1024)
/* A time this close to now may change again within the same tick of the
 * file system's clock: such a stamp proves nothing, so it is not kept. */
#define UNSETTLED_NS ((gint64) 2 * 1000 * 1000 * 1000)

static gint64
cloche_session_index_timespec_ns (const struct timespec *ts)
{
  return (gint64) ts->tv_sec * 1000 * 1000 * 1000 + ts->tv_nsec;
}

void
cloche_stamp_take (ClocheStamp       *stamp,
                   const struct stat *st)
{
  gint64 mtime = cloche_session_index_timespec_ns (&st->st_mtim);
  gint64 ctime = cloche_session_index_timespec_ns (&st->st_ctim);

  if (g_get_real_time () * 1000 - MAX (mtime, ctime) < UNSETTLED_NS)
    *stamp = (ClocheStamp) { 0 };
  else
    *stamp = (ClocheStamp) { st->st_ino, st->st_size, mtime, ctime };
}

static gboolean
cloche_session_index_stamp_matches (const ClocheStamp *stamp,
                                    const struct stat *st)
{
  return stamp->ino != 0 && stamp->ino == st->st_ino && stamp->size == st->st_size
         && stamp->mtime_ns == cloche_session_index_timespec_ns (&st->st_mtim)
         && stamp->ctime_ns == cloche_session_index_timespec_ns (&st->st_ctim);
}

/* Helper threads */

typedef struct
{
  GPtrArray          *items;
  ClocheParallelFunc  func;
  gpointer            data;
  gint                next;
} Parallel;

static gpointer
cloche_session_index_parallel_thread (gpointer user_data)
{
  Parallel *parallel = user_data;
  guint i;

  while ((i = (guint) g_atomic_int_add (&parallel->next, 1)) < parallel->items->len)
    parallel->func (g_ptr_array_index (parallel->items, i), parallel->data);
  return NULL;
}

/* Runs @func on every item, in up to PARALLEL_THREADS threads: walking and
 * removing trees waits on the disk far more than on a CPU, and the disk
 * serves several requests at once. */
void
cloche_parallel_for (GPtrArray          *items,
                     ClocheParallelFunc  func,
                     gpointer            data)
{
  Parallel parallel = { items, func, data, 0 };
  GThread *threads[PARALLEL_THREADS - 1] = { NULL };
  guint helpers = MIN (PARALLEL_THREADS - 1, items->len / 32);

  for (guint i = 0; i < helpers; i++)
    threads[i] =
    g_thread_try_new ("cloche-walk", cloche_session_index_parallel_thread, &parallel, NULL);
  cloche_session_index_parallel_thread (&parallel);
  for (guint i = 0; i < helpers; i++)
    if (threads[i] != NULL)
      g_thread_join (threads[i]);
}

/* Entries */

void
cloche_session_index_entry_free (ClocheIndexEntry *entry)
{
  g_free (entry->id);
  g_clear_object (&entry->session);
  g_clear_pointer (&entry->info, g_variant_unref);
  g_clear_object (&entry->info_session);
  g_free (entry);
}

ClocheSessionIndex *
cloche_session_index_new (const char *root)
{
  ClocheSessionIndex *index = g_new0 (ClocheSessionIndex, 1);

  index->root = g_strdup (root);
  index->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) cloche_session_index_entry_free);
  return index;
}

void
cloche_session_index_free (ClocheSessionIndex *index)
{
  if (index == NULL)
    return;
  g_hash_table_unref (index->entries);
  g_free (index->root);
  g_free (index);
}

int
cloche_session_index_open_root (ClocheSessionIndex *index)
{
  return open (index->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

ClocheIndexEntry *
cloche_session_index_lookup (ClocheSessionIndex *index,
                             const char         *id)
{
  return g_hash_table_lookup (index->entries, id);
}

static ClocheIndexEntry *
cloche_session_index_add_entry (ClocheSessionIndex *index,
                                const char         *id)
{
  ClocheIndexEntry *entry = g_new0 (ClocheIndexEntry, 1);

  entry->id = g_strdup (id);
  entry->scan = index->scan;
  entry->reload = entry->remeasure = TRUE;
  g_hash_table_insert (index->entries, entry->id, entry);
  return entry;
}

void
cloche_session_index_remove (ClocheSessionIndex *index,
                             const char         *id)
{
  index->dirty |= g_hash_table_remove (index->entries, id);
}

/* Reading a record */

static ClocheSession *
cloche_session_index_damaged (const char        *id,
                              const struct stat *folder,
                              const char        *format,
                              ...) G_GNUC_PRINTF (3, 4);

static ClocheSession *
cloche_session_index_damaged (const char        *id,
                              const struct stat *folder,
                              const char        *format,
                              ...)
{
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  /* A record that cannot be read has no time of its own: its folder's. */
  return cloche_session_new_damaged (id, reason,
                                     folder != NULL ? (gint64) folder->st_mtime * G_USEC_PER_SEC : 0);
}

/**
 * cloche_session_index_read_fd:
 * @length: (out): what was read: up to @size bytes (the file may have
 *   shrunk since it was stat'ed)
 *
 * Returns: (transfer full) (nullable): the bytes, NUL-terminated; %NULL
 *   with @error_number set
 */
char *
cloche_session_index_read_fd (int    fd,
                              gsize  size,
                              gsize *length,
                              int   *error_number)
{
  char *contents = g_malloc (size + 1);
  gsize done = 0;
  gssize n;

  while (done < size && (n = read (fd, contents + done, size - done)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          *error_number = errno;
          g_free (contents);
          return NULL;
        }
      done += n;
    }
  contents[done] = '\0';
  *length = done;
  return contents;
}

static ClocheSession *
cloche_session_index_parse_record (const char        *id,
                                   int                fd,
                                   const struct stat *st,
                                   const struct stat *folder)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  ClocheSession *session;
  int error_number = 0;
  gsize length = 0;

  if (!S_ISREG (st->st_mode))
    return cloche_session_index_damaged (id, folder,
                                         "session.json cannot be read: it is not a regular file");
  if (st->st_size > RECORD_MAX_BYTES)
    return cloche_session_index_damaged (id, folder,
                                         "session.json cannot be read: %jd bytes is far too large",
                                         (intmax_t) st->st_size);
  contents = cloche_session_index_read_fd (fd, st->st_size, &length, &error_number);
  if (contents == NULL)
    return cloche_session_index_damaged (id, folder, "session.json cannot be read: %s",
                                         g_strerror (error_number));
  session = cloche_session_new_from_json (id, contents, length, &error);
  if (session == NULL)
    return cloche_session_index_damaged (id, folder, "session.json is damaged: %s", error->message);
  return session;
}

/**
 * cloche_session_index_read:
 * @stamp: (out): what session.json looked like as it was read
 *
 * Returns: (transfer full): the record of @id; one that cannot be read
 *   comes back as a damaged session saying why, never as nothing
 */
ClocheSession *
cloche_session_index_read (int          root_fd,
                           const char  *id,
                           ClocheStamp *stamp)
{
  int dir_fd = openat (root_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat folder, st;
  ClocheSession *session;
  int fd, saved;

  *stamp = (ClocheStamp) { 0 };
  if (dir_fd < 0 || fstat (dir_fd, &folder) != 0)
    {
      saved = errno;
      if (dir_fd >= 0)
        close (dir_fd);
      return cloche_session_index_damaged (id, NULL, "session.json cannot be read: %s",
                                           g_strerror (saved));
    }
  /* Non-blocking: a fifo left in its place must not hang the worker. */
  fd = openat (dir_fd, "session.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  saved = errno;
  if (fd < 0 || fstat (fd, &st) != 0)
    session =
    cloche_session_index_damaged (id, &folder, "session.json cannot be read: %s",
                                  g_strerror (saved));
  else
    {
      cloche_stamp_take (stamp, &st);
      session = cloche_session_index_parse_record (id, fd, &st, &folder);
    }
  if (fd >= 0)
    close (fd);
  close (dir_fd);
  return session;
}

/* Syncing with the disk */

static void
cloche_session_index_refresh_entry (gpointer item,
                                    gpointer data)
{
  ClocheIndexEntry *entry = item;
  int root_fd = GPOINTER_TO_INT (data);
  char path[NAME_MAX + 8];
  struct stat st;

  if (fstatat (root_fd, entry->id, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR (st.st_mode))
    {
      entry->gone = TRUE;
      return;
    }
  if (entry->reload)
    {
      g_clear_object (&entry->session);
      entry->session = cloche_session_index_read (root_fd, entry->id, &entry->record);
    }
  if (entry->remeasure)
    {
      /* Stamps before measuring: a change during the walk shows next time. */
      cloche_stamp_take (&entry->folder, &st);
      g_snprintf (path, sizeof path, "%s/work", entry->id);
      if (fstatat (root_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
        cloche_stamp_take (&entry->work, &st);
      else
        entry->work = (ClocheStamp) { 0 };
      entry->size = cloche_tree_measure_freeable (root_fd, entry->id, NULL);
    }
  entry->reload = entry->remeasure = FALSE;
}

/* A folder whose name can be a session id: anything else there (a file, a
 * link, a name that is not UTF-8) is not a session. */
static gboolean
cloche_session_index_is_folder (int            root_fd,
                                struct dirent *dirent)
{
  struct stat st;

  if (!cloche_session_id_is_valid (dirent->d_name))
    return FALSE;
  if (dirent->d_type != DT_UNKNOWN)
    return dirent->d_type == DT_DIR;
  /* A link here is not ours: never follow it, never list it. */
  return fstatat (root_fd, dirent->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
}

/* The folders in the sessions folder: new ones are added, vanished ones
 * dropped. */
static void
cloche_session_index_rescan (ClocheSessionIndex *index,
                             int                 root_fd)
{
  GHashTableIter iter;
  ClocheIndexEntry *entry;
  struct dirent *dirent;
  DIR *dir = fdopendir (dup (root_fd));

  index->scan++;
  while (dir != NULL && (dirent = readdir (dir)) != NULL)
    {
      if (!cloche_session_index_is_folder (root_fd, dirent))
        continue;
      entry = g_hash_table_lookup (index->entries, dirent->d_name);
      if (entry == NULL)
        entry = cloche_session_index_add_entry (index, dirent->d_name);
      entry->scan = index->scan;
    }
  if (dir != NULL)
    closedir (dir);

  g_hash_table_iter_init (&iter, index->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    if (entry->scan != index->scan)
      {
        g_hash_table_iter_remove (&iter);
        index->dirty = TRUE;
      }
}

static gboolean
cloche_session_index_moved (int                root_fd,
                            const char        *id,
                            const char        *name,
                            const ClocheStamp *stamp)
{
  char path[NAME_MAX * 2 + 2];
  struct stat st;

  if (name != NULL)
    g_snprintf (path, sizeof path, "%s/%s", id, name);
  return fstatat (root_fd, name != NULL ? path : id, &st, AT_SYMLINK_NOFOLLOW) != 0
         || !cloche_session_index_stamp_matches (stamp, &st);
}

/* Whether @entry must be read or measured again, decided from stamps. */
static void
cloche_session_index_check_entry (ClocheIndexEntry   *entry,
                                  int                 root_fd,
                                  const char * const *open_ids,
                                  gboolean            full)
{
  /* An open session's folder is the guest's to change at any time. */
  gboolean open = open_ids != NULL && g_strv_contains (open_ids, entry->id);

  entry->reload = entry->reload || entry->session == NULL || entry->record.ino == 0
                  || (full
                      && cloche_session_index_moved (root_fd, entry->id, "session.json",
                                                     &entry->record));
  entry->remeasure = entry->remeasure || open || entry->folder.ino == 0
                     || (full
                         && (cloche_session_index_moved (root_fd, entry->id, NULL, &entry->folder)
                             || cloche_session_index_moved (root_fd, entry->id, "work",
                                                            &entry->work)));
}

/* @entries that must be read or measured again */
static GPtrArray *
cloche_session_index_find_changes (GPtrArray          *entries,
                                   int                 root_fd,
                                   const char * const *open_ids,
                                   gboolean            full)
{
  GPtrArray *todo = g_ptr_array_new ();

  /* In this thread alone: stats of cached names cost CPU, not waits on
   * the disk, and helper threads would only take the cores from the
   * client reading the list this check runs behind. */
  for (guint i = 0; i < entries->len; i++)
    {
      ClocheIndexEntry *changed = g_ptr_array_index (entries, i);

      cloche_session_index_check_entry (changed, root_fd, open_ids, full);
      if (changed->reload || changed->remeasure)
        g_ptr_array_add (todo, changed);
    }
  return todo;
}

/* What @todo will read and measure; the index changes with it. */
static void
cloche_session_index_count_work (ClocheSessionIndex *index,
                                 GPtrArray          *todo)
{
  for (guint i = 0; i < todo->len; i++)
    {
      ClocheIndexEntry *entry = g_ptr_array_index (todo, i);

      index->reads += entry->reload;
      index->measures += entry->remeasure;
    }
  index->dirty |= todo->len > 0;
}

/* Brings @entries up to the disk; those whose folder went are dropped. */
static void
cloche_session_index_sync_entries (ClocheSessionIndex *index,
                                   int                 root_fd,
                                   GPtrArray          *entries,
                                   const char * const *open_ids,
                                   gboolean            full)
{
  g_autoptr(GPtrArray) todo = cloche_session_index_find_changes (entries, root_fd, open_ids, full);

  cloche_session_index_count_work (index, todo);
  cloche_parallel_for (todo, cloche_session_index_refresh_entry, GINT_TO_POINTER (root_fd));
  for (guint i = 0; i < entries->len; i++)
    {
      ClocheIndexEntry *entry = g_ptr_array_index (entries, i);

      if (entry->gone)
        {
          index->dirty = TRUE;
          g_hash_table_remove (index->entries, entry->id);
        }
    }
}

/* The sessions folder, opened and rescanned if it changed; -1 when it is
 * gone (and so is every entry). */
static int
cloche_session_index_open_synced_root (ClocheSessionIndex *index)
{
  int root_fd = cloche_session_index_open_root (index);
  struct stat st;

  if (root_fd < 0 || fstat (root_fd, &st) != 0)
    {
      g_hash_table_remove_all (index->entries);
      index->root_stamp = (ClocheStamp) { 0 };
      if (root_fd >= 0)
        close (root_fd);
      return -1;
    }
  if (!cloche_session_index_stamp_matches (&index->root_stamp, &st))
    {
      cloche_session_index_rescan (index, root_fd);
      cloche_stamp_take (&index->root_stamp, &st);
    }
  return root_fd;
}

/**
 * cloche_session_index_sync:
 * @open_ids: (nullable): the sessions open now, whose folders always change
 * @full: compare every record and folder with its stamps; else only see
 *   which folders came and went, read what was never read, and measure
 *   the open sessions again
 *
 * Brings the index up to what is on disk, in several threads.
 */
void
cloche_session_index_sync (ClocheSessionIndex *index,
                           const char * const *open_ids,
                           gboolean            full)
{
  g_autoptr(GPtrArray) all = NULL;
  GHashTableIter iter;
  gpointer entry;
  int root_fd = cloche_session_index_open_synced_root (index);

  if (root_fd < 0)
    return;
  all = g_ptr_array_sized_new (g_hash_table_size (index->entries));
  g_hash_table_iter_init (&iter, index->entries);
  while (g_hash_table_iter_next (&iter, NULL, &entry))
    g_ptr_array_add (all, entry);
  cloche_session_index_sync_entries (index, root_fd, all, open_ids, full);
  close (root_fd);
}

/**
 * cloche_session_index_check:
 * @ids: (array length=n_ids): sessions to check, from
 *   cloche_session_index_dup_ids() (those gone since are skipped)
 *
 * A full sync of these sessions only: every stamp of theirs compared with
 * the disk, what moved read or measured again. Folders that came or went
 * are the lists' to see (each one syncs the sessions folder).
 */
void
cloche_session_index_check (ClocheSessionIndex *index,
                            const char * const *ids,
                            guint               n_ids)
{
  g_autoptr(GPtrArray) some = g_ptr_array_sized_new (n_ids);
  int root_fd = cloche_session_index_open_root (index);
  ClocheIndexEntry *entry;

  if (root_fd < 0)
    return;
  for (guint i = 0; i < n_ids; i++)
    if ((entry = g_hash_table_lookup (index->entries, ids[i])) != NULL)
      g_ptr_array_add (some, entry);
  cloche_session_index_sync_entries (index, root_fd, some, NULL, TRUE);
  close (root_fd);
}

/* Returns: (transfer full) (element-type utf8): every id the index has */
GPtrArray *
cloche_session_index_dup_ids (ClocheSessionIndex *index)
{
  GPtrArray *ids = g_ptr_array_new_full (g_hash_table_size (index->entries), g_free);
  GHashTableIter iter;
  const char *id;

  g_hash_table_iter_init (&iter, index->entries);
  while (g_hash_table_iter_next (&iter, (gpointer *) &id, NULL))
    g_ptr_array_add (ids, g_strdup (id));
  return ids;
}

/**
 * cloche_session_index_listed:
 * @session: @entry's record as listed (settled: it may be a copy)
 * @built: (inout): set when the struct had to be built
 *
 * Returns: (transfer full): @session as a list sends it, built again only
 *   when the record (or how it was settled), the size or staleness
 *   changed since it was last listed
 */
GVariant *
cloche_session_index_listed (ClocheIndexEntry *entry,
                             ClocheSession    *session,
                             gboolean          stale,
                             gboolean         *built)
{
  gboolean settled = session != entry->session;

  if (entry->info == NULL || entry->info_session != entry->session
      || entry->info_size != entry->size || entry->info_stale != stale
      || entry->info_settled != settled)
    {
      g_clear_pointer (&entry->info, g_variant_unref);
      entry->info = cloche_session_to_info (session, stale, entry->size);
      g_set_object (&entry->info_session, entry->session);
      entry->info_size = entry->size;
      entry->info_stale = stale;
      entry->info_settled = settled;
      *built = TRUE;
    }
  return g_variant_ref (entry->info);
}

/**
 * cloche_session_index_get:
 *
 * Returns: (nullable): @id as on disk now, %NULL when it has no folder
 */
ClocheIndexEntry *
cloche_session_index_get (ClocheSessionIndex *index,
                          const char         *id)
{
  ClocheIndexEntry *entry = g_hash_table_lookup (index->entries, id);
  int root_fd = cloche_session_index_open_root (index);
  struct stat st;

  if (root_fd < 0 || fstatat (root_fd, id, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR (st.st_mode))
    {
      if (entry != NULL)
        g_hash_table_remove (index->entries, id);
      if (root_fd >= 0)
        close (root_fd);
      return NULL;
    }
  if (entry == NULL)
    entry = cloche_session_index_add_entry (index, id);
  else
    entry->reload = entry->session == NULL
                    || cloche_session_index_moved (root_fd, id, "session.json", &entry->record);
  if (entry->reload || entry->remeasure)
    {
      index->reads += entry->reload;
      index->measures += entry->remeasure;
      index->dirty = TRUE;
      cloche_session_index_refresh_entry (entry, GINT_TO_POINTER (root_fd));
    }
  close (root_fd);
  return entry;
}

/**
 * cloche_session_index_put:
 * @snapshot: (transfer none): the record the store just wrote
 * @measure: measure the folder now (it was just made)
 *
 * Records the daemon's own change at once; the stamps it leaves unset make
 * the next sync check the disk agrees.
 */
void
cloche_session_index_put (ClocheSessionIndex *index,
                          ClocheSession      *snapshot,
                          gboolean            measure)
{
  const char *id = cloche_session_get_id (snapshot);
  ClocheIndexEntry *entry = g_hash_table_lookup (index->entries, id);
  int root_fd;

  if (entry == NULL)
    entry = cloche_session_index_add_entry (index, id);
  index->dirty = TRUE;
  g_set_object (&entry->session, snapshot);
  entry->record = (ClocheStamp) { 0 };
  entry->reload = FALSE;
  entry->remeasure = measure;
  if (!measure || (root_fd = cloche_session_index_open_root (index)) < 0)
    return;
  cloche_session_index_refresh_entry (entry, GINT_TO_POINTER (root_fd));
  close (root_fd);
}
