#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Usage: check-install.sh BUILD_DIR PREFIX EXPECTED_FILES
#
# Installs BUILD_DIR into a temporary DESTDIR and compares what landed there,
# as paths relative to PREFIX, with EXPECTED_FILES. A file missing from the
# install or one nobody listed fails the test; the diff says which.
set -eu

build_dir=$1
prefix=$2
expected=$3

destdir=$(mktemp -d "${TMPDIR:-/tmp}/cloche-install.XXXXXX")
trap 'rm -rf "$destdir"' EXIT

if ! meson install -C "$build_dir" --destdir "$destdir" --no-rebuild --quiet >"$destdir.log" 2>&1; then
  cat "$destdir.log" >&2
  rm -f "$destdir.log"
  echo "check-install: meson install failed" >&2
  exit 1
fi
rm -f "$destdir.log"

# Files outside the prefix (say, in /etc) keep their absolute path.
actual=$(cd "$destdir" && find . \( -type f -o -type l \) | sed 's|^\.||' \
  | sed "s|^${prefix%/}/||" | LC_ALL=C sort)
wanted=$(grep -v -e '^#' -e '^$' "$expected" | LC_ALL=C sort)

if [ "$actual" != "$wanted" ]; then
  echo "check-install: installed files differ from $expected" >&2
  echo "('-' expected but not installed, '+' installed but not expected)" >&2
  printf '%s\n' "$wanted" >"$destdir/.wanted"
  printf '%s\n' "$actual" >"$destdir/.actual"
  diff -u --label expected --label installed "$destdir/.wanted" "$destdir/.actual" >&2 || true
  exit 1
fi
echo "check-install: $(printf '%s\n' "$actual" | wc -l) files installed as expected"
