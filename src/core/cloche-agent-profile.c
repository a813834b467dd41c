/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * An agent profile: what `clochectl agent NAME` runs in a session and what
 * that session may reach besides the policy. A profile is data: the command
 * (words, run as given in the guest), the npm package that provides it
 * (what `clochectl agent install` installs, inside the sandbox), the hosts
 * its session adds to the egress policy, and the names of the environment
 * variables passed from the user's environment (an API key the user names).
 *
 * Built-in: claude, codex and gemini. A user profile is
 * $XDG_CONFIG_HOME/cloche/agents/NAME.json and replaces a built-in of the
 * same name. It is read as untrusted, like every file on disk: a regular
 * file (a link to one is followed, as for the policy: dotfiles are often
 * links), opened without blocking, at most CLOCHE_AGENT_PROFILE_MAX_BYTES,
 * strict JSON (no name twice, no number json-glib would change), every
 * member known and of its type, every list bounded, every word checked;
 * anything else is refused as FILE:LINE:COLUMN: KEY: what is wrong.
 *
 * Nothing here runs anything or touches the network: the command runs in
 * the guest, as the session's user, behind the session's walls.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include <fcntl.h>
#include <string.h>

#include "cloche-agent-profile.h"
#include "cloche-egress-rules.h"
#include "cloche-error.h"
#include "cloche-file.h"
#include "cloche-json-locator.h"

#define MAX_WORD 4096
#define MAX_NAME 64
#define MAX_PACKAGE 214     /* npm's own limit on a package name */
#define MAX_ENV_NAME 128
#define MAX_DESCRIPTION 400

struct _ClocheAgentProfile
{
  GObject  parent_instance;
  char    *name;
  GStrv    command;
  char    *package;      /* nullable: a command that is not installed by Cloche */
  GStrv    hosts;
  GStrv    env;
  char    *description;
  char    *file;         /* nullable: built in */
};

G_DEFINE_FINAL_TYPE (ClocheAgentProfile, cloche_agent_profile, G_TYPE_OBJECT)

typedef struct
{
  const char *name;
  const char *command;
  const char *package;
  const char *hosts[4];
  const char *env[4];
  const char *description;
} Builtin;

/* The API hosts each agent's own client talks to, port 443 only; what
 * else an agent reaches (telemetry, updates, web search) stays the
 * policy's to allow. */
static const Builtin builtins[] = {
  { "claude", "claude", "@anthropic-ai/claude-code",
    { "api.anthropic.com:443", NULL }, { "ANTHROPIC_API_KEY", NULL },
    N_("Claude Code, Anthropic's coding agent") },
  { "codex", "codex", "@openai/codex",
    { "api.openai.com:443", NULL }, { "OPENAI_API_KEY", NULL },
    N_("Codex CLI, OpenAI's coding agent") },
  { "gemini", "gemini", "@google/gemini-cli",
    { "generativelanguage.googleapis.com:443", NULL }, { "GEMINI_API_KEY", NULL },
    N_("Gemini CLI, Google's coding agent") },
};

static void
cloche_agent_profile_finalize (GObject *object)
{
  ClocheAgentProfile *self = CLOCHE_AGENT_PROFILE (object);

  g_free (self->name);
  g_strfreev (self->command);
  g_free (self->package);
  g_strfreev (self->hosts);
  g_strfreev (self->env);
  g_free (self->description);
  g_free (self->file);
  G_OBJECT_CLASS (cloche_agent_profile_parent_class)->finalize (object);
}

static void
cloche_agent_profile_class_init (ClocheAgentProfileClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_agent_profile_finalize;
}

static void
cloche_agent_profile_init (ClocheAgentProfile *self)
{
}

/**
 * cloche_agent_profile_default_dir:
 *
 * Returns: (transfer full): where user profiles are:
 *   $XDG_CONFIG_HOME/cloche/agents
 */
char *
cloche_agent_profile_default_dir (void)
{
  return g_build_filename (g_get_user_config_dir (), "cloche", "agents", NULL);
}

/**
 * cloche_agent_profile_name_check:
 *
 * Returns: whether @name can name a profile: 1 to 64 of a-z, 0-9, ".",
 *   "_", "-", starting with a letter or digit (it becomes a file name),
 *   and not one of clochectl agent's own words (list, install)
 */
gboolean
cloche_agent_profile_name_check (const char  *name,
                                 GError     **error)
{
  gsize length = name != NULL ? strlen (name) : 0;
  gboolean good = length > 0 && length <= MAX_NAME && g_ascii_isalnum (name[0]);

  for (gsize i = 0; good && i < length; i++)
    good = (g_ascii_isdigit (name[i]) || g_ascii_islower (name[i])
            || strchr ("._-", name[i]) != NULL);
  if (!good)
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                 _("“%s” cannot name an agent: use 1 to %d lower-case letters, digits, “.”, "
                   "“_” or “-”, starting with a letter or digit"), name ? name : "", MAX_NAME);
  /* clochectl agent's own words: an agent of that name could not be run. */
  else if (g_str_equal (name, "list") || g_str_equal (name, "install"))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("“%s” cannot name an agent: clochectl agent %s is a command of its own; "
                     "rename the profile"), name, name);
      good = FALSE;
    }
  return good;
}

/**
 * cloche_agent_profile_hosts_check:
 *
 * Returns: whether every one of @hosts may be added to a session's egress
 *   rules (at most CLOCHE_AGENT_PROFILE_MAX_ITEMS, each a rule that names
 *   hosts); @error names the first that may not
 */
gboolean
cloche_agent_profile_hosts_check (const char * const  *hosts,
                                  GError             **error)
{
  guint count = hosts != NULL ? g_strv_length ((GStrv) hosts) : 0;

  if (count > CLOCHE_AGENT_PROFILE_MAX_ITEMS)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("%u hosts are too many for one session: at most %d"), count,
                   CLOCHE_AGENT_PROFILE_MAX_ITEMS);
      return FALSE;
    }
  for (guint i = 0; i < count; i++)
    if (!cloche_egress_rule_check_addition (hosts[i], error))
      return FALSE;
  return TRUE;
}

static ClocheAgentProfile *
cloche_agent_profile_builtin_new (const Builtin *builtin)
{
  ClocheAgentProfile *self = g_object_new (CLOCHE_TYPE_AGENT_PROFILE, NULL);

  self->name = g_strdup (builtin->name);
  self->command = g_strsplit (builtin->command, " ", -1);
  self->package = g_strdup (builtin->package);
  self->hosts = g_strdupv ((GStrv) builtin->hosts);
  self->env = g_strdupv ((GStrv) builtin->env);
  self->description = g_strdup (_(builtin->description));
  return self;
}

static const Builtin *
cloche_agent_profile_find_builtin (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (builtins); i++)
    if (g_str_equal (builtins[i].name, name))
      return &builtins[i];
  return NULL;
}

/* Reading one file: the text (for positions), its path, the error. */
typedef struct
{
  const char  *path;
  const char  *text;
  gsize        length;
  GError     **error;
} Reader;

/* FILE:LINE:COLUMN: KEY: @message, the position of @key's value. */
static gboolean
cloche_agent_profile_refuse (Reader     *reader,
                             const char *key,
                             const char *message)
{
  ClocheJsonPosition name = { 0, 0 }, value = { 0, 0 };

  cloche_json_locate (reader->text, reader->length, key, &name, &value);
  g_set_error (reader->error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT, "%s:%u:%u: %s: %s",
               reader->path, value.line, value.column, key, message);
  return FALSE;
}

/* A word: a string of 1 to @max bytes, valid UTF-8, no control character. */
static char *
cloche_agent_profile_read_word (Reader     *reader,
                                JsonNode   *node,
                                const char *key,
                                gsize       max)
{
  const char *text;
  gsize length;

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      cloche_agent_profile_refuse (reader, key, _("expected a string"));
      return NULL;
    }
  text = json_node_get_string (node);
  length = strlen (text);
  for (gsize i = 0; i < length; i++)
    if ((guchar) text[i] < 0x20 || text[i] == 0x7f)
      length = 0;
  if (length == 0 || length > max || !g_utf8_validate (text, -1, NULL))
    {
      g_autofree char *message = g_strdup_printf (_("expected 1 to %zu bytes of text "
                                                    "without control characters"),
                                                  max);
      cloche_agent_profile_refuse (reader, key, message);
      return NULL;
    }
  return g_strdup (text);
}

typedef gboolean (*WordCheck) (const char *word, GError **error);

/* A list of 1 (0 if @may_be_empty) to CLOCHE_AGENT_PROFILE_MAX_ITEMS words,
 * each passing @check. */
static GStrv
cloche_agent_profile_read_list (Reader     *reader,
                                JsonNode   *node,
                                const char *key,
                                gboolean    may_be_empty,
                                WordCheck   check)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  JsonArray *array;
  guint count;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      cloche_agent_profile_refuse (reader, key, _("expected a list of strings"));
      return NULL;
    }
  array = json_node_get_array (node);
  count = json_array_get_length (array);
  if (count > CLOCHE_AGENT_PROFILE_MAX_ITEMS || (count == 0 && !may_be_empty))
    {
      g_autofree char *message = g_strdup_printf (_("expected %d to %d items"),
                                                  may_be_empty ? 0 : 1,
                                                  CLOCHE_AGENT_PROFILE_MAX_ITEMS);
      cloche_agent_profile_refuse (reader, key, message);
      return NULL;
    }
  for (guint i = 0; i < count; i++)
    {
      g_autofree char *item_key = g_strdup_printf ("%s[%u]", key, i);
      g_autofree char *word =
        cloche_agent_profile_read_word (reader, json_array_get_element (array, i), item_key,
                                        MAX_WORD);
      g_autoptr(GError) local = NULL;

      if (word == NULL)
        return NULL;
      if (check != NULL && !check (word, &local))
        {
          cloche_agent_profile_refuse (reader, item_key, local->message);
          return NULL;
        }
      g_strv_builder_add (builder, word);
    }
  return g_strv_builder_end (builder);
}

static gboolean
cloche_agent_profile_env_name_check (const char  *name,
                                     GError     **error)
{
  gboolean good = strlen (name) <= MAX_ENV_NAME && (g_ascii_isalpha (name[0]) || name[0] == '_');

  for (const char *p = name; good && *p != '\0'; p++)
    good = g_ascii_isalnum (*p) || *p == '_';
  if (!good)
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                 _("“%s” is not an environment variable's name: letters, digits and “_”, "
                   "not starting with a digit"), name);
  return good;
}

/* npm's rule for a new package name: lower case, URL-safe, optionally
 * in a scope ("@scope/name"). */
static gboolean
cloche_agent_profile_package_check (const char  *package,
                                    GError     **error)
{
  const char *name = package, *slash = strchr (package, '/');
  gboolean good = strlen (package) <= MAX_PACKAGE;

  if (package[0] == '@')
    {
      good = good && slash != NULL && slash > package + 1 && strchr (slash + 1, '/') == NULL;
      name = slash != NULL ? slash + 1 : package;
    }
  else
    good = good && slash == NULL;
  good = good && name[0] != '\0' && name[0] != '.' && name[0] != '_';
  for (const char *p = package + (package[0] == '@'); good && *p != '\0'; p++)
    good = g_ascii_islower (*p) || g_ascii_isdigit (*p) || strchr ("-._~/", *p) != NULL;
  if (!good)
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                 _("“%s” is not an npm package name (“name” or “@scope/name”, lower case)"),
                 package);
  return good;
}

static gboolean
cloche_agent_profile_host_check (const char  *host,
                                 GError     **error)
{
  const char *one[] = { host, NULL };

  return cloche_agent_profile_hosts_check (one, error);
}

/* "command": a word, or a list of words (the program and its arguments). */
static GStrv
cloche_agent_profile_read_command (Reader    *reader,
                                   JsonNode  *node)
{
  g_autofree char *word = NULL;

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    return cloche_agent_profile_read_list (reader, node, "command", FALSE, NULL);
  word = cloche_agent_profile_read_word (reader, node, "command", MAX_WORD);
  if (word == NULL)
    return NULL;
  return g_strdupv ((char *[]) { word, NULL });
}

static const char * const known_members[] = {
  "command", "package", "hosts", "env", "description", NULL
};

static gboolean
cloche_agent_profile_check_members (Reader     *reader,
                                    JsonObject *object)
{
  g_autoptr(GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (known_members, l->data))
      {
        g_autofree char *message = g_strdup_printf (_("unknown key “%s”: a profile has "
                                                      "command, package, hosts, env, "
                                                      "description"), (char *) l->data);
        return cloche_agent_profile_refuse (reader, l->data, message);
      }
  if (!json_object_has_member (object, "command"))
    return cloche_agent_profile_refuse (reader, "command",
                                        _("missing: every profile names its command"));
  return TRUE;
}

static gboolean
cloche_agent_profile_read_members (Reader             *reader,
                                   JsonObject         *object,
                                   ClocheAgentProfile *self)
{
  JsonNode *package = json_object_get_member (object, "package");
  JsonNode *hosts = json_object_get_member (object, "hosts");
  JsonNode *env = json_object_get_member (object, "env");
  JsonNode *command = json_object_get_member (object, "command");
  JsonNode *description = json_object_get_member (object, "description");
  g_autoptr(GError) local = NULL;

  if ((self->command = cloche_agent_profile_read_command (reader, command)) == NULL)
    return FALSE;
  if (package != NULL && (self->package = cloche_agent_profile_read_word (reader, package, "package", MAX_PACKAGE)) == NULL)
    return FALSE;
  if (self->package != NULL && !cloche_agent_profile_package_check (self->package, &local))
    return cloche_agent_profile_refuse (reader, "package", local->message);
  self->hosts =
    hosts != NULL ? cloche_agent_profile_read_list (reader, hosts, "hosts", TRUE,
                                                    cloche_agent_profile_host_check)
                              : g_new0 (char *, 1);
  if (self->hosts == NULL)
    return FALSE;
  self->env =
    env != NULL ? cloche_agent_profile_read_list (reader, env, "env", TRUE,
                                                  cloche_agent_profile_env_name_check)
                          : g_new0 (char *, 1);
  if (self->env == NULL)
    return FALSE;
  if (description != NULL
      && (self->description = cloche_agent_profile_read_word (reader, description, "description",
                                                              MAX_DESCRIPTION)) == NULL)
    return FALSE;
  return TRUE;
}

static ClocheAgentProfile *
cloche_agent_profile_parse (Reader     *reader,
                            const char *name)
{
  g_autoptr(ClocheAgentProfile) self = g_object_new (CLOCHE_TYPE_AGENT_PROFILE, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *path = NULL, *message = NULL;
  ClocheJsonPosition where = { 0, 0 };
  JsonNode *root;

  if (!cloche_json_check_syntax (reader->text, reader->length, &where, &path, &message))
    {
      g_set_error (reader->error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT, "%s:%u:%u: %s%s%s",
                   reader->path, where.line, where.column, path ? path : "",
                   path && path[0] ? ": " : "", message);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, reader->text, reader->length, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (reader->error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("%s: an agent profile is a JSON object ({\"command\": …})"), reader->path);
      return NULL;
    }
  if (!cloche_agent_profile_check_members (reader, json_node_get_object (root))
      || !cloche_agent_profile_read_members (reader, json_node_get_object (root), self))
    return NULL;
  self->name = g_strdup (name);
  self->file = g_strdup (reader->path);
  return g_steal_pointer (&self);
}

/**
 * cloche_agent_profile_load:
 * @path: a user profile's file
 * @name: the profile's name (its file name without ".json")
 *
 * Returns: (transfer full) (nullable): the profile, or %NULL with @error
 *   saying FILE:LINE:COLUMN: KEY: what is wrong (G_FILE_ERROR_NOENT when
 *   there is no such file)
 */
ClocheAgentProfile *
cloche_agent_profile_load (const char  *path,
                           const char  *name,
                           GError     **error)
{
  g_autoptr(GBytes) bytes = NULL;
  Reader reader = { .path = path, .error = error };

  g_return_val_if_fail (path != NULL, NULL);

  if (!cloche_agent_profile_name_check (name, error))
    return NULL;
  bytes = cloche_file_read (AT_FDCWD, path, CLOCHE_AGENT_PROFILE_MAX_BYTES,
                            _("an agent profile"), CLOCHE_FILE_FOLLOW, error);
  if (bytes == NULL)
    return NULL;
  reader.text = g_bytes_get_data (bytes, &reader.length);
  if (reader.text == NULL)
    reader.text = "";
  return cloche_agent_profile_parse (&reader, name);
}

/**
 * cloche_agent_profile_lookup:
 * @dir: (nullable): where user profiles are; %NULL: the default
 * @name: the agent's name
 *
 * Returns: (transfer full) (nullable): the user's profile @name if @dir
 *   has one (a broken one is an error, never replaced by the built-in in
 *   silence), else the built-in @name, else %NULL with @error
 */
ClocheAgentProfile *
cloche_agent_profile_lookup (const char  *dir,
                             const char  *name,
                             GError     **error)
{
  g_autofree char *default_dir = dir == NULL ? cloche_agent_profile_default_dir () : NULL;
  g_autofree char *file = NULL, *path = NULL;
  g_autoptr(GError) local = NULL;
  ClocheAgentProfile *profile;
  const Builtin *builtin;

  if (!cloche_agent_profile_name_check (name, error))
    return NULL;
  file = g_strconcat (name, ".json", NULL);
  path = g_build_filename (dir != NULL ? dir : default_dir, file, NULL);
  profile = cloche_agent_profile_load (path, name, &local);
  if (profile != NULL)
    return profile;
  if (!g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if ((builtin = cloche_agent_profile_find_builtin (name)) != NULL)
    return cloche_agent_profile_builtin_new (builtin);
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
               _("No agent is called “%s”: the built-in ones are claude, codex and gemini; "
                 "a profile of your own goes in %s"), name, path);
  return NULL;
}

static gint
cloche_agent_profile_compare_names (gconstpointer a,
                                    gconstpointer b)
{
  return g_strcmp0 (cloche_agent_profile_get_name (*(ClocheAgentProfile **) a),
                    cloche_agent_profile_get_name (*(ClocheAgentProfile **) b));
}

/* The user's profiles in @dir, by name; broken ones into @problems. */
static void
cloche_agent_profile_add_user_profiles (const char *dir,
                                        GHashTable *by_name,
                                        GPtrArray  *problems)
{
  g_autoptr(GDir) folder = g_dir_open (dir, 0, NULL);
  const char *entry;
  guint seen = 0;

  while (folder != NULL && (entry = g_dir_read_name (folder)) != NULL && seen++ < 1000)
    {
      g_autofree char *name = NULL, *path = NULL;
      g_autoptr(GError) error = NULL;
      ClocheAgentProfile *profile;

      if (!g_str_has_suffix (entry, ".json") || entry[0] == '.')
        continue;
      name = g_strndup (entry, strlen (entry) - strlen (".json"));
      path = g_build_filename (dir, entry, NULL);
      profile = cloche_agent_profile_load (path, name, &error);
      if (profile != NULL)
        g_hash_table_replace (by_name, g_strdup (name), profile);
      else
        g_ptr_array_add (problems, g_strdup (error->message));
    }
}

/**
 * cloche_agent_profile_list:
 * @dir: (nullable): where user profiles are; %NULL: the default
 * @problems: (out) (transfer full) (element-type utf8): one line for each
 *   file that is not a profile, naming it and what is wrong
 *
 * Returns: (transfer full) (element-type ClocheAgentProfile): every
 *   profile, a user's replacing a built-in of its name, by name
 */
GPtrArray *
cloche_agent_profile_list (const char  *dir,
                           GPtrArray  **problems)
{
  g_autofree char *default_dir = dir == NULL ? cloche_agent_profile_default_dir () : NULL;
  g_autoptr(GHashTable) by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         g_object_unref);
  GPtrArray *profiles = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer value;

  *problems = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (builtins); i++)
    g_hash_table_insert (by_name, g_strdup (builtins[i].name),
                         cloche_agent_profile_builtin_new (&builtins[i]));
  cloche_agent_profile_add_user_profiles (dir != NULL ? dir : default_dir, by_name, *problems);
  g_hash_table_iter_init (&iter, by_name);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (profiles, g_object_ref (value));
  g_ptr_array_sort (profiles, cloche_agent_profile_compare_names);
  return profiles;
}

const char *
cloche_agent_profile_get_name (ClocheAgentProfile *self)
{
  g_return_val_if_fail (CLOCHE_IS_AGENT_PROFILE (self), NULL);
  return self->name;
}

const char * const *
cloche_agent_profile_get_command (ClocheAgentProfile *self)
{
  g_return_val_if_fail (CLOCHE_IS_AGENT_PROFILE (self), NULL);
  return (const char * const *) self->command;
}

/* Returns: (nullable): the npm package, %NULL when the profile has none */
const char *
cloche_agent_profile_get_package (ClocheAgentProfile *self)
{
  g_return_val_if_fail (CLOCHE_IS_AGENT_PROFILE (self), NULL);
  return self->package;
}

const char * const *
cloche_agent_profile_get_hosts (ClocheAgentProfile *self)
{
  g_return_val_if_fail (CLOCHE_IS_AGENT_PROFILE (self), NULL);
  return (const char * const *) self->hosts;
}

const char * const *
cloche_agent_profile_get_env (ClocheAgentProfile *self)
{
  g_return_val_if_fail (CLOCHE_IS_AGENT_PROFILE (self), NULL);
  return (const char * const *) self->env;
}

/* Returns: (nullable) */
const char *
cloche_agent_profile_get_description (ClocheAgentProfile *self)
{
  g_return_val_if_fail (CLOCHE_IS_AGENT_PROFILE (self), NULL);
  return self->description;
}

/* Returns: (nullable): the user profile's file; %NULL for a built-in */
const char *
cloche_agent_profile_get_file (ClocheAgentProfile *self)
{
  g_return_val_if_fail (CLOCHE_IS_AGENT_PROFILE (self), NULL);
  return self->file;
}
