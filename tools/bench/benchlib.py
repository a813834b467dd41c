# SPDX-License-Identifier: GPL-3.0-or-later
"""What the benchmarks in tools/bench share: a daemon in throw-away folders on a
private bus, process and memory readings, plain QEMU with the daemon's argv, and
the result rows that tools/bench/run-all gathers into its table.

A benchmark reports each figure with report(); when run-all runs it, the rows go
as JSON lines to the file named by $CLOCHE_BENCH_RESULTS (otherwise nowhere: the
script's own printout is the report).
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(TOP, "build")


def private_bus():
    """Re-run this script inside dbus-run-session, once."""
    if os.environ.get("CLOCHE_BENCH_BUS") != "1":
        os.environ["CLOCHE_BENCH_BUS"] = "1"
        os.execvp("dbus-run-session", ["dbus-run-session", "--", sys.executable, *sys.argv])


def report(benchmark, figure, baseline, ratio, target="—", met=None):
    """One row of run-all's table. @met: True, False or None (no target)."""
    path = os.environ.get("CLOCHE_BENCH_RESULTS")
    if not path:
        return
    with open(path, "a") as out:
        out.write(json.dumps({"benchmark": benchmark, "figure": figure, "baseline": baseline,
                              "ratio": ratio, "target": target,
                              "met": "—" if met is None else ("yes" if met else "NO")}) + "\n")


def kvm_note(wanted):
    """A line on the accelerator before any daemon runs: /dev/kvm opening
    says nothing about whether it can run a guest (here it opens and cannot),
    so a bench that starts a daemon prints Daemon.accelerator_note() instead,
    the daemon's own verdict after its probe."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
        os.close(fd)
    except OSError as error:
        note = (f"KVM: no usable /dev/kvm on this machine ({error.strerror}); every VM "
                "figure here is TCG" if wanted else f"TCG (no usable /dev/kvm: {error.strerror})")
        return "tcg", note
    return "?", "/dev/kvm opens; the daemon's probe decides whether it runs a guest"


# Processes

def status_field(pid, field):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def cpu_seconds(pid):
    """User + system CPU time the process has used: under TCG, what booting
    the guest cost, whatever else the machine's cores were busy with."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    return status_field(pid, "VmRSS")


def rollup_rss_mib(pid):
    """Rss from smaps_rollup: counts a shared-memfd guest RAM too."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Rss:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def thread_switches(pid):
    """{tid: voluntary + involuntary context switches} of every live thread of
    @pid: each is one time the thread went to sleep or was preempted."""
    counts = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return counts
    for tid in tids:
        path = f"{pid}/task/{tid}"
        counts[tid] = (status_field(path, "voluntary_ctxt_switches")
                       + status_field(path, "nonvoluntary_ctxt_switches"))
    return counts


class SwitchCounter:
    """Context switches of a process over a window, read from /proc once a
    second (reading /proc does not wake the process). A thread that exits
    takes its count with it, so each thread's last reading is kept: only what
    a thread did in its last second before exiting is missed."""

    def __init__(self, pid):
        self.pid = pid
        self.first = thread_switches(pid)
        self.last = dict(self.first)

    def sample(self):
        self.last.update(thread_switches(self.pid))

    def total(self):
        return sum(count - self.first.get(tid, 0) for tid, count in self.last.items())


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def marked_processes(mark):
    """Processes whose environment carries CLOCHE_BENCH_MARK=@mark: everything
    the daemon started, even if it was orphaned and reparented since."""
    found = {}
    needle = f"CLOCHE_BENCH_MARK={mark}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as environ:
                if needle not in environ.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/comm") as comm:
                name = comm.read().strip()
            with open(f"/proc/{entry}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        found[int(entry)] = name
    return found


def count_named(processes, prefix):
    return sum(1 for name in processes.values() if name.startswith(prefix))


def qemu_child(pid):
    out = subprocess.run(["pgrep", "-P", str(pid), "qemu-system"],
                         capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


# A daemon of our own

class Daemon:
    """cloche-daemon with its own HOME and XDG folders, on the current bus."""

    def __init__(self, home, build=BUILD, bundle=None, extra=(), output=None):
        self.home = home
        self.mark = uuid.uuid4().hex
        self.ctl = os.path.join(build, "src/cli/clochectl")
        self.env = dict(os.environ, HOME=home, CLOCHE_BENCH_MARK=self.mark)
        relay = os.path.join(build, "src/relay/cloche-egress-relay")
        if os.access(relay, os.X_OK) and "CLOCHE_EGRESS_RELAY" not in self.env:
            self.env["CLOCHE_EGRESS_RELAY"] = relay     # the built one, not installed
        for var, sub in (("XDG_RUNTIME_DIR", "run"), ("XDG_STATE_HOME", "state"),
                         ("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"),
                         ("XDG_CACHE_HOME", "cache")):
            self.env[var] = os.path.join(home, sub)
            os.makedirs(self.env[var], mode=0o700, exist_ok=True)
        self.argv = [os.path.join(build, "src/daemon/cloche-daemon"),
                     "--bundle", bundle or os.path.join(build, "bundle"), *extra]
        self.started = time.monotonic()
        # @output: a file for what the daemon prints (GLib's debug lines go
        # to stdout, warnings to stderr); None keeps both.
        self.process = subprocess.Popen(self.argv, env=self.env, stdout=output, stderr=output)

    def wait_ready(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.run("status").returncode == 0:
                return time.monotonic() - self.started
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        sys.exit(f"{os.path.basename(sys.argv[0])}: cloche-daemon did not come up")

    @property
    def pid(self):
        return self.process.pid

    @property
    def sessions_dir(self):
        return os.path.join(self.env["XDG_STATE_HOME"], "cloche", "sessions")

    def run(self, *args, timeout=None):
        return subprocess.run([self.ctl, *args], capture_output=True, text=True,
                              env=self.env, timeout=timeout)

    def accelerator(self):
        """The daemon's verdict ("kvm" or "tcg") and a line saying why: its
        probe runs guest code, so a /dev/kvm that opens but cannot run a
        guest is TCG here as in the daemon."""
        done = self.run("status", "--json")
        if done.returncode != 0:
            return "?", "accelerator unknown (clochectl status failed)"
        status = json.loads(done.stdout)
        accel = status.get("accelerator") or "?"
        fallback = " (fallback)" if status.get("accelerator_fallback") else ""
        return accel, f"{accel.upper()}{fallback}, the daemon's verdict: " \
                      f"{status.get('accelerator_reason', '')}"

    def state(self):
        done = self.run("status", "--json")
        return json.loads(done.stdout)["state"] if done.returncode == 0 else "?"

    def processes(self):
        return marked_processes(self.mark)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# Plain QEMU with the daemon's command line, and its guest agent

def qemu_argv_of(pid):
    """QEMU's argv as the daemon started it, with the bundle files it was
    handed as descriptors (/dev/fd/N, checked before the boot) named by the
    paths those descriptors hold, so that a plain QEMU can open them."""
    with open(f"/proc/{pid}/cmdline") as cmdline:
        argv = cmdline.read().split("\0")[:-1]
    return [re.sub(r"/dev/fd/(\d+)", lambda m: os.readlink(f"/proc/{pid}/fd/{m.group(1)}"), arg)
            for arg in argv]


def plain_argv(argv, tmp):
    """The daemon's argv with its inherited-fd channels turned into sockets,
    and the guest RAM the daemon hands over as a memfd (/dev/fd/9, which
    qemu_argv_of() reads as "/memfd:… (deleted)") a memfd of QEMU's own:
    as a path, QEMU would make a file of that name in / and share it with
    every other plain QEMU started so."""
    swap = {"socket,id=qmp,fd=3": f"socket,id=qmp,path={tmp}/qmp.sock,server=on,wait=off",
            "socket,id=ga0,fd=4": f"socket,id=ga0,path={tmp}/ga.sock,server=on,wait=off"}
    plain = [re.sub(r"^memory-backend-file,(id=[^,]+,size=[^,]+,share=on),mem-path=/memfd:.*$",
                    r"memory-backend-memfd,\1", swap.get(arg, arg)) for arg in argv]
    plain[plain.index("-serial") + 1] = f"file:{tmp}/console.log"
    return plain


class Agent:
    """qemu-ga on a unix socket: newline-delimited JSON, replies in order."""

    def __init__(self, path, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() > deadline:
                    raise TimeoutError("QEMU never made its agent socket")
                time.sleep(0.005)
        self.buf = b""

    def send(self, execute, **arguments):
        msg = {"execute": execute}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")

    def reply(self, timeout=60):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("agent socket closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, execute, **arguments):
        self.send(execute, **arguments)
        answer = self.reply()
        if "error" in answer:
            raise RuntimeError(f"{execute}: {answer['error']}")
        return answer["return"]

    def sync(self, timeout=120):
        token = int(time.monotonic() * 1000) % 2**31
        self.send("guest-sync", id=token)
        while self.reply(timeout).get("return") != token:
            pass

    def exec(self, path, *args):
        """guest-exec, then guest-exec-status polled as the daemon polls it
        (src/core/cloche-guest-agent.c): first after 1 ms, then every
        eighth of the time the command has run, between 1 and 100 ms."""
        pid = self.call("guest-exec", path=path, arg=list(args),
                        **{"capture-output": True})["pid"]
        started = time.monotonic()
        wait = 0.001
        while True:
            time.sleep(wait)
            status = self.call("guest-exec-status", pid=pid)
            if status["exited"]:
                return status.get("exitcode")
            wait = min(max((time.monotonic() - started) / 8, 0.001), 0.1)


def load_note():
    with open("/proc/loadavg") as loadavg:
        one, five = loadavg.read().split()[:2]
    return f"load average {one} (1 min), {five} (5 min) on {os.cpu_count()} cores"
