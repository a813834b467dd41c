# SPDX-License-Identifier: GPL-3.0-or-later
"""A long-lived D-Bus client of cloche-daemon, as the app or the MCP server is:
one connection, then N calls of io.github.cloche.Sessions.Exec(ID, ARGV, {}),
one after the other. Prints one JSON line: the seconds each call took.

Run by tools/bench/exec with the system's python3 (PyGObject, Debian's
python3-gi): /usr/bin/python3 exec-client.py ID COUNT ARGV…
"""

import json
import sys
import time

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

NAME = "io.github.cloche.Cloche.Daemon"
PATH = "/io/github/cloche/Daemon"


def main():
    session, count, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    args = GLib.Variant("(sasa{sv})", (session, argv, {}))

    def call():
        reply = bus.call_sync(NAME, PATH, "io.github.cloche.Sessions", "Exec", args, None,
                              Gio.DBusCallFlags.NONE, 600 * 1000, None)
        if reply.unpack()[0] != 0:
            sys.exit(f"exec-client: {argv} exited {reply.unpack()[0]}")

    call()   # warm-up, unmeasured
    times = []
    for _ in range(count):
        start = time.monotonic()
        call()
        times.append(time.monotonic() - start)
    print(json.dumps(times))


if __name__ == "__main__":
    main()
