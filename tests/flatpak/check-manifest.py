#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline checks of flatpak/io.github.cloche.Cloche.json (the runtime is not
reachable from CI, so nothing is built): flatpak-builder must load it with no
warning at all, every downloaded source must be pinned (https and sha256),
the sandbox must not see the home folder, and the names Flatpak exports must
start with the app id. Prints TAP; exits 77 (skip) without flatpak-builder.

Usage: check-manifest.py MANIFEST SOURCE_ROOT
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Sources that are fetched: these must say where from and what they hash to.
FETCHED = {"archive", "file", "extra-data"}
# Holes in the sandbox the app does not need: folders come from the portal.
FORBIDDEN_FILESYSTEMS = re.compile(r"^--filesystem=(home|host|host-os|host-etc|~)(/|:|$)")
FORBIDDEN_ARGS = {"--socket=session-bus", "--socket=system-bus", "--device=all",
                  "--talk-name=org.freedesktop.Flatpak"}

results = []


def check(ok, what, detail=""):
    results.append((ok, what, detail))


def show_manifest(manifest):
    env = dict(os.environ, G_DEBUG="fatal-warnings")
    # flatpak-builder leaves a .flatpak-builder folder where it runs.
    with tempfile.TemporaryDirectory() as scratch:
        proc = subprocess.run(["flatpak-builder", "--show-manifest", manifest],
                              capture_output=True, text=True, env=env, cwd=scratch)
    clean = proc.returncode == 0 and proc.stderr.strip() == ""
    check(clean, "flatpak-builder --show-manifest loads it with no warning",
          f"exit {proc.returncode}: {proc.stderr.strip()}")
    if not clean:
        return None
    return json.loads(proc.stdout)


def walk_modules(modules, path=""):
    for module in modules:
        if isinstance(module, str):
            # A module kept in a file of its own: flatpak-builder has inlined it.
            continue
        name = f"{path}{module.get('name', '?')}"
        yield name, module
        yield from walk_modules(module.get("modules", []), name + "/")


def check_sources(manifest):
    count = 0
    for name, module in walk_modules(manifest.get("modules", [])):
        for source in module.get("sources", []):
            kind = source.get("type")
            if kind in FETCHED:
                count += 1
                url = source.get("url", "")
                check(url.startswith("https://"), f"{name}: {url or 'a source'} is fetched over https")
                check(bool(SHA256.match(source.get("sha256", ""))),
                      f"{name}: {url} has a sha256", f"sha256 = {source.get('sha256')!r}")
            elif kind == "dir":
                check(name == "cloche", f"{name}: only cloche itself is built from the checkout")
            elif kind not in {"patch", "shell", "inline", "script"}:
                check(False, f"{name}: source type {kind!r} is one this check knows")
    check(count > 0, "the manifest downloads its dependencies from pinned archives")


def check_finish_args(manifest):
    args = manifest.get("finish-args", [])
    for arg in args:
        check(not FORBIDDEN_FILESYSTEMS.match(arg) and arg not in FORBIDDEN_ARGS,
              f"finish-arg {arg} opens no needless hole")
    for needed in ("--socket=wayland", "--socket=fallback-x11", "--device=dri",
                   "--device=kvm", "--share=network"):
        check(needed in args, f"finish-args have {needed}")


def check_names(manifest, root):
    app_id = manifest["id"]
    services = [f for f in os.listdir(os.path.join(root, "data")) if f.endswith(".service.in")]
    check(len(services) > 0, "the daemon has a D-Bus service file")
    for service in services:
        check(service.startswith(app_id + "."),
              f"data/{service} starts with the app id {app_id}, so Flatpak exports it")
    with open(os.path.join(root, "meson.build"), encoding="utf-8") as f:
        meson = f.read()
    check(re.search(r"^app_id = '" + re.escape(app_id) + "'$", meson, re.M) is not None,
          f"meson.build's app_id is {app_id}")
    check(re.search(r"^daemon_bus_name = app_id \+ '\.", meson, re.M) is not None,
          "the daemon's bus name lies under the app id")


def check_meson_options(manifest, root):
    with open(os.path.join(root, "meson_options.txt"), encoding="utf-8") as f:
        options = set(re.findall(r"^option\('([^']+)'", f.read(), re.M))
    for name, module in walk_modules(manifest.get("modules", [])):
        if name != "cloche":
            continue
        for opt in module.get("config-opts", []):
            key = opt[2:].split("=", 1)[0] if opt.startswith("-D") else None
            check(key in options, f"cloche's config-opt {opt} is an option in meson_options.txt")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    manifest_path, root = os.path.abspath(sys.argv[1]), sys.argv[2]
    if shutil.which("flatpak-builder") is None:
        print("1..0 # SKIP flatpak-builder is not installed (tools/dev/setup installs it)")
        return 77
    manifest = show_manifest(manifest_path)
    if manifest is not None:
        check_sources(manifest)
        check_finish_args(manifest)
        check_names(manifest, root)
        check_meson_options(manifest, root)
    print(f"1..{len(results)}")
    failed = 0
    for i, (ok, what, detail) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {what}")
        if not ok:
            failed += 1
            if detail:
                print(f"# {detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
