#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Usage: check-man.sh GROFF PAGE
# groff exits 0 even when it warns, so any message at all is a failure.
set -eu

groff=$1
page=$2

messages=$(LC_ALL=C.UTF-8 "$groff" -man -z -ww -Tutf8 "$page" 2>&1) || {
  printf '%s\n' "$messages" >&2
  echo "check-man: groff failed on $page" >&2
  exit 1
}
if [ -n "$messages" ]; then
  printf '%s\n' "$messages" >&2
  echo "check-man: groff warns about $page" >&2
  exit 1
fi
echo "check-man: $page is clean"
