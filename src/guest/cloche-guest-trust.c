/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * trust: the egress CA in the guest's trust store (issue 20). The daemon
 * runs it once a boot with the CA's certificate (PEM) on standard input:
 *
 *   /etc/cloche/egress-ca.crt         the CA alone
 *   /etc/cloche/ca-certificates.crt   the guest's own store, if it has one,
 *                                     then the CA: what SSL_CERT_FILE and
 *                                     the other variables name
 *   /etc/ssl/certs/ca-certificates.crt  where it exists (the full bundle),
 *                                     the same bundle, for the clients
 *                                     that read no variable
 *
 * The guest's own store is kept first as /etc/cloche/system-ca-certificates.crt,
 * so a later trust (a boot restored by warm wake, a CA made again) builds
 * from the store as shipped and an old CA never stays trusted beside the
 * new one.
 *
 * Sessions see the guest's root read-only, so no session's process can
 * change any of these; the guest's root can, and fools only itself: the
 * daemon reads nothing back. What comes in is checked all the same: at
 * most 64 KiB, one or more PEM certificates and nothing else.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-guest.h"

#define TRUST_DIR      "/etc/cloche"
#define CA_FILE        TRUST_DIR "/egress-ca.crt"
#define BUNDLE_FILE    TRUST_DIR "/ca-certificates.crt"
#define SYSTEM_COPY    TRUST_DIR "/system-ca-certificates.crt"
#define SYSTEM_STORE   "/etc/ssl/certs/ca-certificates.crt"
#define MAX_PEM        (64 * 1024)
#define MAX_STORE      (16 * 1024 * 1024)
#define PEM_BEGIN      "-----BEGIN CERTIFICATE-----\n"
#define PEM_END        "-----END CERTIFICATE-----\n"

/* Reads @fd to its end, at most @limit bytes; NULL (errno) if it is longer. */
static char *
cloche_guest_trust_read_all (int     fd,
                             size_t  limit,
                             size_t *length)
{
  char *text = malloc (limit + 1);
  size_t got = 0;
  ssize_t n;

  if (text == NULL)
    return NULL;
  while ((n = read (fd, text + got, limit + 1 - got)) > 0)
    if ((got += (size_t) n) > limit)
      break;
  if (n < 0 || got > limit)
    {
      free (text);
      errno = n < 0 ? errno : EFBIG;
      return NULL;
    }
  text[got] = '\0';
  *length = got;
  return text;
}

/* One or more certificates, each BEGIN … END with base64 lines between,
 * and nothing else: what a file of the trust store may hold. */
static bool
cloche_guest_trust_is_pem_certificates (const char *text)
{
  const char *p = text;

  if (*p == '\0')
    return false;
  while (*p != '\0')
    {
      if (strncmp (p, PEM_BEGIN, strlen (PEM_BEGIN)) != 0)
        return false;
      p += strlen (PEM_BEGIN);
      while (strncmp (p, PEM_END, strlen (PEM_END)) != 0)
        {
          size_t line = strspn (p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789+/=");

          if (line == 0 || line > 76 || p[line] != '\n')
            return false;
          p += line + 1;
        }
      p += strlen (PEM_END);
    }
  return true;
}

/* A regular file, never through a link: the store as the guest has it. */
static char *
cloche_guest_trust_read_store (const char *path)
{
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  size_t length;
  char *text;

  if (fd < 0)
    return NULL;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      return NULL;
    }
  text = cloche_guest_trust_read_all (fd, MAX_STORE, &length);
  close (fd);
  return text;
}

static char *
cloche_guest_trust_join (const char *store,
                         const char *ca)
{
  size_t length = strlen (store);
  bool newline = length > 0 && store[length - 1] != '\n';
  char *bundle = malloc (length + 1 + strlen (ca) + 1);

  if (bundle == NULL)
    cg_fail ("trust: out of memory");
  sprintf (bundle, "%s%s%s", store, newline ? "\n" : "", ca);
  return bundle;
}

/* Debian's /etc/ssl/certs may be a link to a folder elsewhere in /etc or
 * /usr: the store is replaced where it is, as a file, only if it is one. */
static void
cloche_guest_trust_update_system_store (const char *bundle)
{
  struct stat st;

  if (lstat (SYSTEM_STORE, &st) != 0 || !S_ISREG (st.st_mode))
    return;
  if (!cg_write_file (SYSTEM_STORE, bundle, 0644))
    cg_warn ("trust: cannot update %s: %s", SYSTEM_STORE, strerror (errno));
}

int
cg_trust (void)
{
  size_t length;
  char *ca = cloche_guest_trust_read_all (STDIN_FILENO, MAX_PEM, &length);
  char *store, *bundle;
  struct stat st;

  if (ca == NULL)
    cg_fail ("trust: the certificate on standard input cannot be read or is over 64 KiB: %s",
             strerror (errno));
  else if (strlen (ca) != length || !cloche_guest_trust_is_pem_certificates (ca))
    cg_fail ("trust: standard input is not PEM certificates and nothing else");
  if (mkdir (TRUST_DIR, 0755) != 0 && errno != EEXIST)
    cg_fail ("trust: cannot make %s: %s", TRUST_DIR, strerror (errno));
  if (lstat (TRUST_DIR, &st) != 0 || !S_ISDIR (st.st_mode) || st.st_uid != 0)
    cg_fail ("trust: %s is not a folder of root's", TRUST_DIR);
  /* The store as shipped, kept once: later trusts build from it. */
  if (lstat (SYSTEM_COPY, &st) != 0
      && (store = cloche_guest_trust_read_store (SYSTEM_STORE)) != NULL)
    {
      if (!cg_write_file (SYSTEM_COPY, store, 0644))
        cg_fail ("trust: cannot write %s: %s", SYSTEM_COPY, strerror (errno));
      free (store);
    }
  store = cloche_guest_trust_read_store (SYSTEM_COPY);
  bundle = cloche_guest_trust_join (store != NULL ? store : "", ca);
  if (!cg_write_file (CA_FILE, ca, 0644) || !cg_write_file (BUNDLE_FILE, bundle, 0644))
    cg_fail ("trust: cannot write in %s: %s", TRUST_DIR, strerror (errno));
  if (store != NULL)
    cloche_guest_trust_update_system_store (bundle);
  free (store);
  free (bundle);
  free (ca);
  return 0;
}
