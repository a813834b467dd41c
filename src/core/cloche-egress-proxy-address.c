/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Which addresses are the host's own: the rules decide on the name a guest
 * asks for, but "localhost", "127.0.0.1" or a name whose DNS points at
 * 192.168.1.1 would lead the guest to the host's own services or its
 * private network, which the VM exists to keep it away from. So after the
 * name is resolved, such an address is refused (rule "host-local") unless
 * an allow rule names the host itself (cloche_egress_rules_decide_full()).
 *
 * Refused: loopback, unspecified (0.0.0.0 and :: reach the host), link-local
 * (169.254/16 with cloud metadata services, fe80::/10), private networks
 * (10/8, 172.16/12, 192.168/16, 100.64/10 shared address space, fc00::/7
 * unique local, fec0::/10), multicast and broadcast, and every address of
 * the host's own interfaces. An IPv4 address inside IPv6 (::ffff:a.b.c.d)
 * is judged as the IPv4 address.
 */
#include "config.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>

#include "cloche-egress-proxy-private.h"

/* ::ffff:a.b.c.d and the deprecated ::a.b.c.d as an IPv4 address. */
static GInetAddress *
cloche_egress_proxy_address_unwrap_ipv4 (GInetAddress *address)
{
  const guint8 *bytes = g_inet_address_to_bytes (address);
  static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  static const guint8 compatible[12] = { 0 };

  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6
      && (memcmp (bytes, mapped, 12) == 0
          || (memcmp (bytes, compatible, 12) == 0 && !g_inet_address_get_is_any (address)
              && !g_inet_address_get_is_loopback (address))))
    return g_inet_address_new_from_bytes (bytes + 12, G_SOCKET_FAMILY_IPV4);
  return g_object_ref (address);
}

static gboolean
cloche_egress_proxy_address_is_private_range (GInetAddress *address)
{
  const guint8 *b = g_inet_address_to_bytes (address);

  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4)
    return b[0] == 10                                  /* 10/8 */
           || (b[0] == 172 && (b[1] & 0xf0) == 16)     /* 172.16/12 */
           || (b[0] == 192 && b[1] == 168)             /* 192.168/16 */
           || (b[0] == 100 && (b[1] & 0xc0) == 64)     /* 100.64/10 */
           || b[0] == 0                                /* "this network" */
           || (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255);
  return (b[0] & 0xfe) == 0xfc;                        /* fc00::/7 */
}

static gboolean
cloche_egress_proxy_address_is_interface_address (GInetAddress *address)
{
  struct ifaddrs *list = NULL;
  gboolean found = FALSE;

  /* Without the list the checks above still hold; the host's public
   * addresses are the only thing missed. */
  if (getifaddrs (&list) != 0)
    return FALSE;
  for (struct ifaddrs *i = list; i != NULL && !found; i = i->ifa_next)
    {
      g_autoptr(GSocketAddress) socket_address = NULL;
      GInetAddress *own;
      gsize length;

      if (i->ifa_addr == NULL)
        continue;
      length = i->ifa_addr->sa_family == AF_INET ? sizeof (struct sockaddr_in)
               : i->ifa_addr->sa_family == AF_INET6 ? sizeof (struct sockaddr_in6) : 0;
      if (length == 0)
        continue;
      socket_address = g_socket_address_new_from_native (i->ifa_addr, length);
      if (!G_IS_INET_SOCKET_ADDRESS (socket_address))
        continue;
      own = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (socket_address));
      found = g_inet_address_equal (own, address);
    }
  freeifaddrs (list);
  return found;
}

/**
 * _cloche_egress_address_is_host_local:
 * @address: where a request would connect
 *
 * Returns: whether @address is the host itself or its private network
 */
gboolean
_cloche_egress_address_is_host_local (GInetAddress *address)
{
  g_autoptr(GInetAddress) plain = cloche_egress_proxy_address_unwrap_ipv4 (address);

  return g_inet_address_get_is_loopback (plain)
         || g_inet_address_get_is_any (plain)
         || g_inet_address_get_is_link_local (plain)
         || g_inet_address_get_is_site_local (plain)
         || g_inet_address_get_is_multicast (plain)
         || cloche_egress_proxy_address_is_private_range (plain)
         || cloche_egress_proxy_address_is_interface_address (plain);
}
