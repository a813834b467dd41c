#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# A user at a terminal, for tests/test-clochectl-shell.sh: runs clochectl on
# a real PTY of the host (pty.fork), types into it, reads what it draws,
# resizes it, and reports each check as a TAP line. Usage:
#   clochectl-pty.py CLOCHECTL FIRST-TEST-NUMBER SESSION
# Prints "ok N what" / "not ok N what"; exits 1 if any failed.
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

ctl = sys.argv[1]
number = int(sys.argv[2])
failed = False


def report(good, what):
    global number, failed
    print(("ok" if good else "not ok"), number, what, flush=True)
    number += 1
    failed = failed or not good


class Terminal:
    """clochectl ARGS on a PTY of rows x cols."""

    def __init__(self, args, rows=24, cols=80):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["TERM"] = "xterm"
            os.execv(ctl, [ctl] + args)
        self.resize(rows, cols, signal_it=False)
        self.seen = b""

    def resize(self, rows, cols, signal_it=True):
        # Setting the master's size makes the kernel send SIGWINCH to the
        # terminal's foreground group: clochectl.
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def type(self, text):
        os.write(self.fd, text.encode() if isinstance(text, str) else text)

    def read_until(self, pattern, timeout=120):
        """Reads until PATTERN (a regex on bytes) is in what was read since the
        last match; True if it came."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        while True:
            found = regex.search(self.seen)
            if found:
                self.seen = self.seen[found.end():]
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                sys.stderr.write("timed out waiting for %r; read: %r\n" % (pattern, self.seen[-2000:]))
                return False
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    sys.stderr.write("end of terminal waiting for %r; read: %r\n" % (pattern, self.seen[-2000:]))
                    return False
                self.seen += chunk

    def wait(self, timeout=120):
        """clochectl's exit status, reading (and keeping) what it still writes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.fd, 65536)
                except OSError:
                    pass
        os.kill(self.pid, signal.SIGKILL)
        return None

    def raw(self):
        """Whether clochectl put its terminal in raw mode (no echo, no ICANON)."""
        mode = termios.tcgetattr(self.fd)
        return not (mode[3] & (termios.ECHO | termios.ICANON))


def shell_session():
    term = Terminal(["shell", "--title", "pty test"], rows=24, cols=80)
    # Typed once the shell asks, as a person would (a shell's line editor
    # may drop what came before it started).
    report(term.read_until(r"\$ "), "shell: the session user's shell shows its prompt")
    term.type("echo mark-$((6*7))\r")
    report(term.read_until(r"mark-42"), "shell: a command typed runs and its output comes back")
    report(term.raw(), "shell: the host terminal is in raw mode while attached")
    term.type("stty size; tty; id -u\r")
    report(term.read_until(r"24 80\r\n/dev/pts/\d+\r\n1\d{4}\r\n"),
           "shell: a PTY of the session's user, 24x80 as the host terminal")
    term.resize(50, 132)
    # The resize is passed on asynchronously: ask until the guest has it.
    good = False
    for _ in range(20):
        term.type("echo now-$(stty size | tr ' ' x)-end\r")
        if term.read_until(r"now-50x132-end", timeout=5):
            good = True
            break
    report(good, "shell: a resize of the host terminal reaches the guest's (stty size 50 132)")
    term.type("sleep 300\r")
    time.sleep(2)
    term.type("\x03")
    term.read_until(r"\$ ")
    term.type("echo status-$?\r")
    report(term.read_until(r"status-130"), "shell: Ctrl-C reaches the guest process (sleep ends with 130)")
    term.type("printf 'line one\\nline two\\n' > notes.txt; vi notes.txt\r")
    report(term.read_until(r"line two") and term.read_until(r"notes.txt"),
           "shell: vi draws the file with escape sequences")
    # Keys one at a time, as typed: an escape followed at once by more
    # is read as one key's sequence.
    for keys in ("G", "o", "x-from-vi", "\x1b", ":wq\r"):
        term.type(keys)
        time.sleep(0.5)
    term.read_until(r"\$ ")
    term.type("cat notes.txt\r")
    report(term.read_until(r"line two\r\nx-from-vi\r\n"), "shell: vi edits and writes the file")
    term.type("seq 1 200 | less\r")
    # A screen of the new size: 49 lines, then its prompt on line 50.
    report(term.read_until(r"K49\r\n\x1b\[50;0H"), "shell: less draws one screen of 50 rows")
    time.sleep(0.5)
    term.type("q")
    term.read_until(r"\$ ")
    term.type("top\r")
    report(term.read_until(r"Mem:") and term.read_until(r"PID"), "shell: top draws its screen")
    time.sleep(0.5)
    term.type("q")
    term.read_until(r"\$ ")
    term.type("echo back; exit 3\r")
    report(term.read_until(r"back"), "shell: back at the prompt after the TUI programs")
    report(term.wait() == 3, "shell: clochectl exits with the shell's status (3)")


def run_in(session):
    term = Terminal(["run", session, "--", "sh", "-c", "read x; echo \"got $x\"; exit 9"])
    term.type("typed\r")
    report(term.read_until(r"got typed"), "run: input typed on the host terminal reaches the command")
    report(term.wait() == 9, "run: clochectl exits with the command's status (9)")
    term = Terminal(["run", session, "--", "sh", "-c", "echo ready; sleep 300"])
    term.read_until(r"ready")
    term.type("\x03")
    report(term.wait() == 130, "run: Ctrl-C ends the command; status 130")
    term = Terminal(["run", session, "--", "cat"])
    term.type("some text\r")
    term.read_until(r"some text\r\nsome text")
    term.type("\x04")
    report(term.wait() == 0, "run: Ctrl-D ends cat's input; status 0")


def detach_attach(session):
    """The terminal's window closes (its clochectl gets SIGHUP, as when VTE
    goes): the shell goes on; shell --attach takes it again, with what it
    printed meanwhile."""
    import subprocess
    term = Terminal(["shell", session])
    term.read_until(r"\$ ")
    term.type("sleep 3; echo while-$((6*7))-away\r")
    term.read_until(r"away")   # the echo of what was typed
    os.kill(term.pid, signal.SIGHUP)
    term.wait()
    listed = subprocess.run([ctl, "shell", "--list", session], capture_output=True, text=True)
    lines = [line.split("\t") for line in listed.stdout.splitlines()]
    detached = [line[0] for line in lines if len(line) == 4 and line[2] == "detached"]
    report(listed.returncode == 0 and len(detached) == 1,
           "detach: the shell outlives its client; shell --list says detached (%r)" % listed.stdout)
    time.sleep(4)
    term = Terminal(["shell", "--attach", detached[0] if detached else "none"])
    report(term.read_until(r"while-42-away"),
           "attach: what the shell printed while detached comes first")
    busy = subprocess.run([ctl, "shell", "--attach", detached[0] if detached else "none"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    report(busy.returncode == 1 and "has a client already" in busy.stderr,
           "attach: a second client is refused while one holds it (%r)" % busy.stderr)
    term.type("echo back-$((6*7)); exit 5\r")
    report(term.read_until(r"back-42") and term.wait() == 5,
           "attach: typing works again, and the status comes back (5)")


shell_session()
run_in(sys.argv[3])
detach_attach(sys.argv[3])
sys.exit(1 if failed else 0)
