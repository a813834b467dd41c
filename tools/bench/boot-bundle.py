#!/usr/bin/env python3
"""Boot a Cloche bundle the way cloche-daemon does and check or time it.

QEMU gets exactly the daemon's command line, except that the QMP and guest-agent
channels are unix sockets in a temporary directory instead of socketpair fds.

  boot-bundle.py BUNDLE                 one boot, functional checks, guest-shutdown
  boot-bundle.py BUNDLE --boots 5       time launch -> first guest-sync reply, 5 boots
  boot-bundle.py BUNDLE --no-agent      expect the console line of a fault bundle and
                                        no guest-sync reply (tools/make-fault-bundle)
  --append "..." overrides the manifest's kernel command line (to measure options).
"""

import argparse
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

AGENT_TIMEOUT_S = 30


def qemu_argv(bundle, manifest, cmdline, tmp):
    return [
        "qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none",
        "-no-reboot",
        "-machine", "q35", "-accel", "tcg,tb-size=32", "-cpu", "max", "-smp", "1",
        "-m", str(manifest["memory_mib"]),
        "-kernel", os.path.join(bundle, manifest["kernel"]),
        "-initrd", os.path.join(bundle, manifest["initrd"]),
        "-append", cmdline,
        "-serial", f"file:{tmp}/console.log",
        "-chardev", f"socket,id=qmp,path={tmp}/qmp.sock,server=on,wait=off",
        "-mon", "chardev=qmp,mode=control",
        "-device", "virtio-serial-pci,id=vser0",
        "-chardev", f"socket,id=ga0,path={tmp}/ga.sock,server=on,wait=off",
        "-device", "virtserialport,bus=vser0.0,chardev=ga0,name=org.qemu.guest_agent.0",
        "-device", "virtio-balloon-pci,free-page-reporting=on",
        "-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,netdev=n0",
    ]


class Agent:
    """Newline-delimited JSON client for qemu-ga on a unix socket."""

    def __init__(self, path, deadline):
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() > deadline:
                    raise TimeoutError("QEMU never created the agent socket")
                time.sleep(0.005)
        self.buf = b""

    def send(self, execute, **arguments):
        msg = {"execute": execute}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")

    def reply(self, timeout):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("agent socket closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, execute, timeout=10, **arguments):
        self.send(execute, **arguments)
        answer = self.reply(timeout)
        if "error" in answer:
            raise RuntimeError(f"{execute}: {answer['error']}")
        return answer["return"]

    def sync(self, timeout):
        """guest-sync; the request waits in the socket until qemu-ga opens its port."""
        token = int(time.monotonic() * 1000) % 2**31
        self.send("guest-sync", id=token)
        while True:
            if self.reply(timeout).get("return") == token:
                return

    def run(self, path, *args):
        pid = self.call("guest-exec", path=path, arg=list(args), **{"capture-output": True})["pid"]
        while True:
            status = self.call("guest-exec-status", pid=pid)
            if status["exited"]:
                return (status.get("exitcode"),
                        base64.b64decode(status.get("out-data", "")).decode(),
                        base64.b64decode(status.get("err-data", "")).decode())
            time.sleep(0.005)


def boot(bundle, cmdline):
    """Start QEMU; return (process, temp dir, launch time)."""
    with open(os.path.join(bundle, "manifest.json")) as f:
        manifest = json.load(f)
    tmp = tempfile.mkdtemp(prefix="cloche-boot.")
    t0 = time.monotonic()
    proc = subprocess.Popen(qemu_argv(bundle, manifest, cmdline or manifest["cmdline"], tmp))
    return proc, tmp, t0


def console(tmp):
    with open(f"{tmp}/console.log", errors="replace") as f:
        return f.read()


def stop(proc, tmp):
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    subprocess.run(["rm", "-rf", tmp], check=True)


def expect(what, got, want):
    ok = got == want
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {got!r}" + ("" if ok else f" (want {want!r})"))
    return ok


def check(bundle, cmdline, shutdown_mode):
    proc, tmp, t0 = boot(bundle, cmdline)
    try:
        agent = Agent(f"{tmp}/ga.sock", t0 + AGENT_TIMEOUT_S)
        agent.sync(AGENT_TIMEOUT_S)
        print(f"ok   guest-sync after {time.monotonic() - t0:.2f} s")
        ok = expect("exec sh", agent.run("/bin/sh", "-c", "echo hi; echo err >&2; exit 3"),
                    (3, "hi\n", "err\n"))
        ok &= expect("mkdir /sessions/x", agent.run("mkdir", "-p", "/sessions/x")[0], 0)
        ok &= expect("/sessions/x is a dir", agent.run("test", "-d", "/sessions/x")[0], 0)
        addr = agent.run("ip", "-4", "addr", "show", "eth0")[1]
        ok &= expect("eth0 has 10.0.2.15/24", "inet 10.0.2.15/24" in addr, True)
        route = agent.run("ip", "route")[1]
        ok &= expect("default via 10.0.2.2", "default via 10.0.2.2" in route, True)
        ok &= expect("hostname", agent.run("hostname")[1], "cloche\n")
        ok &= expect("virtio modules", agent.run("/bin/sh", "-c",
                     "grep -c -E '^(virtio_balloon|virtio_net|virtiofs) ' /proc/modules")[1], "3\n")
        ok &= expect("ready line on console", "cloche: guest ready for agent" in console(tmp), True)
        # /init must restart a dead agent (after 1 s).
        agent.run("/bin/sh", "-c", "(sleep 0.2; kill $(pidof qemu-ga)) >/dev/null 2>&1 &")
        time.sleep(0.5)
        agent.sync(10)
        ok &= expect("agent respawned", "cloche: qemu-ga exited" in console(tmp), True)
        agent.send("guest-shutdown", mode=shutdown_mode)
        t1 = time.monotonic()
        try:
            proc.wait(timeout=5)
            print(f"ok   QEMU exited {time.monotonic() - t1:.3f} s after guest-shutdown"
                  f" ({shutdown_mode})")
        except subprocess.TimeoutExpired:
            ok = expect("QEMU exits after guest-shutdown", False, True)
        return ok
    finally:
        stop(proc, tmp)


def time_boots(bundle, cmdline, boots):
    times = []
    for _ in range(boots):
        proc, tmp, t0 = boot(bundle, cmdline)
        try:
            agent = Agent(f"{tmp}/ga.sock", t0 + AGENT_TIMEOUT_S)
            agent.sync(AGENT_TIMEOUT_S)
            times.append(time.monotonic() - t0)
            print(f"boot {len(times)}: first guest-sync reply after {times[-1]:.3f} s", flush=True)
        finally:
            stop(proc, tmp)
    print(f"launch -> guest-sync over {boots} boots: min {min(times):.2f} / "
          f"median {statistics.median(times):.2f} / max {max(times):.2f} s")
    return True


def check_no_agent(bundle, cmdline, wait_s=15):
    proc, tmp, t0 = boot(bundle, cmdline)
    try:
        agent = Agent(f"{tmp}/ga.sock", t0 + AGENT_TIMEOUT_S)
        try:
            agent.sync(wait_s)
            return expect(f"no guest-sync reply within {wait_s} s", False, True)
        except (TimeoutError, socket.timeout):
            pass
        ok = expect(f"no guest-sync reply within {wait_s} s", True, True)
        ok &= expect("fault line on console", "cloche-fault: agent disabled" in console(tmp), True)
        ok &= expect("QEMU still running", proc.poll(), None)
        return ok
    finally:
        stop(proc, tmp)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle")
    parser.add_argument("--boots", type=int, help="time this many boots instead of checking")
    parser.add_argument("--no-agent", action="store_true", help="expect a fault bundle")
    parser.add_argument("--append", help="kernel command line instead of the manifest's")
    parser.add_argument("--shutdown-mode", default="powerdown",
                        choices=["powerdown", "reboot"])
    args = parser.parse_args()
    if args.no_agent:
        ok = check_no_agent(args.bundle, args.append)
    elif args.boots:
        ok = time_boots(args.bundle, args.append, args.boots)
    else:
        ok = check(args.bundle, args.append, args.shutdown_mode)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
