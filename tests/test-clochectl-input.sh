#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# What a user types or a file holds, as an attacker would write it: numbers
# beyond their range (said back as given, never as what they overflowed
# to), and text with terminal escapes in the audit log, which clochectl
# must show and never let the terminal act on. No VM boots; the daemon is
# only started to see it refuse its own options.
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LC_ALL=C.UTF-8
unset LANGUAGE

# Runs "$@", keeping its exit status in $status and its output in $out.
run () {
  out=$("$@" 2>&1)
  status=$?
}

# The audit log as someone with the folder could write it: an escape
# sequence that would retitle the terminal and clear the screen.
mkdir -p "$work/audit"
printf '%s\n' \
  '{"v":1,"time":"2024-05-01T09:00:00.000Z","event":"command.exit","session":"s\u001b[2J","fields":{"argv":["sh","-c","echo \u001b]0;pwned\u0007"]}}' \
  > "$work/audit/audit.jsonl"
run "$ctl" audit --dir "$work/audit"
ok $(( status != 0 )) "audit reads the line"
printf '%s' "$out" | grep -q $'\e'; ok $(( $? == 0 )) "no escape byte reaches the terminal"
printf '%s' "$out" | grep -qF 's\x1b[2J'; ok $? "the escape is shown as text"

# Ages beyond what a clock holds.
for since in 99999999999999999999d 300000000d -5d 5x; do
  run "$ctl" audit --dir "$work/audit" --since "$since"
  [ "$status" -eq 2 ] && printf '%s' "$out" | grep -qF "\"$since\""
  ok $? "audit --since $since is refused, naming it"
done

# The daemon's own numbers: refused before it does anything, naming the
# value (a daemon would otherwise start and boot a VM QEMU cannot make).
for option in "--memory-mib 99999999" "--memory-mib -1" "--idle-timeout -5" \
              "--agent-timeout 99999" "--exit-after -1"; do
  # shellcheck disable=SC2086 # the option and its value are two words
  run env -u DBUS_SESSION_BUS_ADDRESS "$CLOCHE_DAEMON" $option
  [ "$status" -eq 1 ] && printf '%s' "$out" | grep -qF -- "$option is out of range"
  ok $? "cloche-daemon $option is refused, naming it"
done

echo "1..$n"
exit $failed
