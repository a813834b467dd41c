#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# po/POTFILES.in must list every file with strings to translate, and only
# files that exist: a file left out is a file whose strings never reach
# translators. TAP output.
set -uo pipefail
top=${1:?usage: check-potfiles.sh SOURCE_ROOT}
cd "$top" || exit 1

listed=$(grep -v '^#' po/POTFILES.in | sed '/^$/d' | sort)
wanted=$( {
  grep -lE '(^|[^A-Za-z0-9_])(N?_|C_|g_dngettext|ngettext) ?\(' src/app/*.c src/cli/*.c src/core/*.c src/daemon/*.c 2>/dev/null
  grep -l 'translatable="yes"' ui/*.ui ui/*/*.ui 2>/dev/null
  ls data/*.desktop.in data/*.metainfo.xml.in data/*.gschema.xml 2>/dev/null \
    | xargs grep -lE '^(Name|Comment|GenericName|Keywords)=|<(summary|p|li|caption|name)>|<summary>' 2>/dev/null
} | sort -u)

echo "1..2"
missing=$(comm -13 <(echo "$listed") <(echo "$wanted"))
if [ -z "$missing" ]; then
  echo "ok 1 every file with translatable strings is in po/POTFILES.in"
else
  echo "not ok 1 missing from po/POTFILES.in:"; echo "$missing" | sed 's/^/# /'
fi
stale=$(for f in $listed; do [ -f "$f" ] || echo "$f"; done)
if [ -z "$stale" ]; then
  echo "ok 2 every file in po/POTFILES.in exists"
else
  echo "not ok 2 listed but absent:"; echo "$stale" | sed 's/^/# /'
fi
[ -z "$missing$stale" ]
