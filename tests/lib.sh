# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash disable=SC2034 # what it sets is for the test that sources it
# What the shell tests share, sourced by each of them (tests/*.sh,
# tests/mcp/run-sdk-test.sh): TAP's "ok", a work folder, a home of the
# test's own, and a cloche-daemon on the private bus the test runs in
# (meson runs it under dbus-run-session), all stopped and removed when the
# test ends, a timeout's SIGTERM included (no daemon and no VM left behind).
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   test_home [DIR]          HOME and the XDG folders (state, config, data,
#                            cache, runtime) in DIR (default $work/home),
#                            exported: the daemon, clochectl and the test
#                            see the same files, none of the user's
#   start_daemon [OPTION…]   cloche-daemon OPTION…, waited for until it
#                            answers; its output (stdout and stderr) in
#                            $work/daemon-err as it writes it, shown on the
#                            test's stderr as well
#   stop_daemon              kills it and waits for it
#   ok STATUS DESCRIPTION    one TAP line; STATUS not 0 fails the test
#   background+=(PID)        another process of the test's, killed at the end
#
# Variables: ctl (clochectl), work, home, runtime (the runtime folder, made
# 0700; set before test_home for another), daemon (its pid, while it runs),
# n and failed (the test ends with `exit $failed`).
set -uo pipefail

: "${CLOCHE_DAEMON:?}" "${CLOCHE_CTL:?}"
ctl=$CLOCHE_CTL
n=0
failed=0
# Real paths: the daemon compares a folder's real path with its mount rules.
work=$(realpath "$(mktemp -d)")
runtime=$work
daemon=
background=()

ok () {
  local desc

  n=$((n + 1))
  # One line each: a description carrying a command's output keeps TAP whole.
  desc=$(printf '%s' "$2" | tr '\n' ' ')
  if [ "$1" -eq 0 ]; then echo "ok $n $desc"; else echo "not ok $n $desc"; failed=1; fi
}

test_home () {
  home=${1:-$work/home}
  mkdir -p "$home/state" "$home/config" "$home/data" "$home/cache" "$runtime"
  chmod 700 "$runtime"
  export HOME=$home XDG_STATE_HOME=$home/state XDG_CONFIG_HOME=$home/config \
    XDG_DATA_HOME=$home/data XDG_CACHE_HOME=$home/cache XDG_RUNTIME_DIR=$runtime
}

# The daemon's output goes straight into the file, not through a pipe: a
# test that reads it after a call finds every line written before the
# call returned. tail shows it live, and ends with the daemon.
start_daemon () {
  local from

  touch "$work/daemon-err"
  from=$(( $(stat -c %s "$work/daemon-err") + 1 ))
  "$CLOCHE_DAEMON" "$@" >>"$work/daemon-err" 2>&1 &
  daemon=$!
  tail -c "+$from" -f --pid="$daemon" "$work/daemon-err" >&2 &
  for _ in $(seq 100); do
    "$ctl" status >/dev/null 2>&1 && return 0
    kill -0 "$daemon" 2>/dev/null || break
    sleep 0.1
  done
  echo "# cloche-daemon $* did not answer on the bus" >&2
  return 1
}

stop_daemon () {
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  daemon=
}

lib_cleanup () {
  stop_daemon
  for pid in "${background[@]}"; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  rm -rf "$work"
}
trap lib_cleanup EXIT
# A timeout's SIGTERM (or ^C) ends the test through the EXIT trap too.
trap 'exit 143' TERM
trap 'exit 130' INT
