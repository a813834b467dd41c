/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_AGENT_PROFILE (cloche_agent_profile_get_type ())

G_DECLARE_FINAL_TYPE (ClocheAgentProfile, cloche_agent_profile, CLOCHE, AGENT_PROFILE, GObject)

/* A user profile file is at most this large (a profile is a few lines). */
#define CLOCHE_AGENT_PROFILE_MAX_BYTES (16 * 1024)
/* At most this many hosts, environment names and command words. */
#define CLOCHE_AGENT_PROFILE_MAX_ITEMS 32

char               *cloche_agent_profile_default_dir  (void);
gboolean            cloche_agent_profile_name_check   (const char          *name,
                                                       GError             **error);
ClocheAgentProfile *cloche_agent_profile_load         (const char          *path,
                                                       const char          *name,
                                                       GError             **error);
ClocheAgentProfile *cloche_agent_profile_lookup       (const char          *dir,
                                                       const char          *name,
                                                       GError             **error);
GPtrArray          *cloche_agent_profile_list         (const char          *dir,
                                                       GPtrArray          **problems);
gboolean            cloche_agent_profile_hosts_check  (const char * const  *hosts,
                                                       GError             **error);

const char         *cloche_agent_profile_get_name        (ClocheAgentProfile *self);
const char * const *cloche_agent_profile_get_command     (ClocheAgentProfile *self);
const char         *cloche_agent_profile_get_package     (ClocheAgentProfile *self);
const char * const *cloche_agent_profile_get_hosts       (ClocheAgentProfile *self);
const char * const *cloche_agent_profile_get_env         (ClocheAgentProfile *self);
const char         *cloche_agent_profile_get_description (ClocheAgentProfile *self);
const char         *cloche_agent_profile_get_file        (ClocheAgentProfile *self);

G_END_DECLS
