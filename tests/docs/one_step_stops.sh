#!/usr/bin/env bash
# one_step_stops.sh SOURCE_DIR MIN_STOPS: every `path:symbol` that docs/ONE_STEP.md names
# exists: the file is there and holds the symbol (each part of a qualified name, the last one
# as a word followed by '(' or as a class or struct name). Fails if the page names fewer than
# MIN_STOPS stops, so an emptied page cannot pass.
set -u
cd "$1" || exit 1
min=$2
page=docs/ONE_STEP.md
[ -f "$page" ] || { echo "FAIL: $page is missing"; exit 1; }
mapfile -t stops < <(grep -oE '`[A-Za-z0-9_./-]+\.(cpp|h):[A-Za-z0-9_:~]+`' "$page" | tr -d '`' | sort -u)
bad=0
for stop in "${stops[@]}"; do
  file=${stop%%:*} symbol=${stop#*:}
  if [ ! -f "$file" ]; then echo "$page: $stop: no file $file"; bad=1; continue; fi
  name=${symbol##*::}
  grep -Eq "(\b$name *\(|\b(class|struct) +$name\b)" "$file" ||
    { echo "$page: $stop: $file has no '$name(' or class $name"; bad=1; }
  scope=${symbol%"$name"}
  for part in ${scope//::/ }; do
    grep -Eq "\b$part\b" "$file" || { echo "$page: $stop: $file never mentions $part"; bad=1; }
  done
done
[ "$bad" -eq 0 ] || { echo "FAIL: stops of $page that do not exist (above)"; exit 1; }
[ "${#stops[@]}" -ge "$min" ] || { echo "FAIL: $page names ${#stops[@]} stops, expected at least $min"; exit 1; }
echo "ok: ${#stops[@]} stops of $page exist"
