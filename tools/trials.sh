#!/usr/bin/env bash
# tools/trials.sh ZOOGRAD [SEED]: the hardening trials of docs/RELIABILITY.md. Runs the CLI on
# hostile and careless input (edited config.json, corrupt checkpoints and .npy files, bad flag
# values, broken data, signals, two processes on one run, kill -9, a full disk, divergence) and
# prints, per family, how each trial ended:
#   accepted   exit 0 where that is a correct answer
#   refused    exit 1 with an `error:` line
#   unclear    any other exit code, or exit 1 without an `error:` line
#   crash      killed by a signal (an abort, a segfault), a sanitizer report, or over 120 s
#   wrong      a silent wrong result: an input that must be refused was accepted, or a fault
#              lost something already saved
# Exits 1 when any trial is unclear, crash or wrong. Needs only bash, coreutils, gzip and awk.
set -u
export LC_ALL=C # byte lengths of headers
zoograd=$(realpath "$1")
seed=${2:-1}
here=$(dirname "$(realpath "$0")")
source "$here/../tests/tools/cli_checks.sh" # make_idx_set
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ZOOGRAD_CACHE=$tmp/cache # the feature networks eval trains on the tiny set
RANDOM=$seed

declare -A count
families=()
bad=0

# record FAMILY OUTCOME DESCRIPTION
record() {
  [ -n "${count[$1 total]:-}" ] || families+=("$1")
  count[$1 total]=$((${count[$1 total]:-0} + 1))
  count[$1 $2]=$((${count[$1 $2]:-0} + 1))
  case $2 in unclear | crash | wrong) bad=$((bad + 1)); echo "  $2 [$1] $3" ;; esac
}

# trial FAMILY EXPECT DESCRIPTION CMD...: EXPECT is refuse (exit 1 with an error line is the only
# right answer) or any (exit 0 is right too).
trial() {
  local family=$1 expect=$2 what=$3 out rc
  shift 3
  out=$(timeout -k 10 120 "$@" 2>&1)
  rc=$?
  if [ $rc -eq 124 ] || [ $rc -ge 128 ] ||
    grep -Eq 'terminate called|AddressSanitizer|runtime error:|Segmentation fault' <<<"$out"; then
    record "$family" crash "$what: exit $rc: $(tail -c 300 <<<"$out")"
  elif [ $rc -eq 1 ] && grep -q '^error: ' <<<"$out"; then
    record "$family" refused "$what"
  elif [ $rc -eq 0 ] && [ "$expect" = any ]; then
    record "$family" accepted "$what"
  elif [ $rc -eq 0 ]; then
    record "$family" wrong "$what: accepted, but it must be refused"
  else
    record "$family" unclear "$what: exit $rc: $(tail -c 300 <<<"$out")"
  fi
}

# check FAMILY DESCRIPTION CONDITION...: a fault trial; the condition (a command) says whether
# nothing was lost.
check() {
  local family=$1 what=$2
  shift 2
  if "$@" >/dev/null 2>&1; then record "$family" accepted "$what"; else record "$family" wrong "$what"; fi
}

make_idx_set "$tmp/data" 32
small=(--batch-size 8 --nz 16 --ngf 8 --ndf 8 --threads 1 --n 4 --log-every 1)
net=("${small[@]}" --sample-every 2 --checkpoint-every 2)
tiny=(--data mnist --data-root "$tmp/data" "${net[@]}")
"$zoograd" train dcgan "${tiny[@]}" --steps 2 --out "$tmp/base" >/dev/null 2>&1 ||
  fail "the base run did not train"
base_ck=$tmp/base/checkpoints/latest.safetensors

# ---- config.json edited by hand, then --resume ----
# Every key gets each bad value. A key that may change on resume (the target, the cadences)
# may take a number; any other edit must be refused.
# The unedited copy resumes, so each refusal below is the edit's.
rm -rf "$tmp/edit"
cp -r "$tmp/base" "$tmp/edit"
check config.json "the unedited run resumes" "$zoograd" train --resume "$tmp/edit"
resumable=" steps epochs sample_every checkpoint_every log_every eval_every threads stop_on_failure minutes "
keys=$(sed -n 's/^  "\([a-z_0-9]*\)": .*/\1/p' "$tmp/base/config.json")
for key in $keys; do
  for value in '"abc"' null '[1,2]' '{}' 2.5 -1 1e30; do
    rm -rf "$tmp/edit"
    cp -r "$tmp/base" "$tmp/edit"
    awk -v k="$key" -v v="$value" '{
      if (index($0, "  \"" k "\": ") == 1) { comma = /,$/ ? "," : ""; print "  \"" k "\": " v comma }
      else print }' "$tmp/base/config.json" >"$tmp/edit/config.json"
    expect=refuse
    [[ $resumable == *" $key "* && $value =~ ^[-0-9] ]] && expect=any
    trial config.json "$expect" "$key: $value" "$zoograd" train --resume "$tmp/edit"
  done
done
for config in '[]' '{}' '{"model": 3}' 'not json' ''; do
  rm -rf "$tmp/edit"
  cp -r "$tmp/base" "$tmp/edit"
  printf '%s' "$config" >"$tmp/edit/config.json"
  trial config.json refuse "the whole file: '$config'" "$zoograd" train --resume "$tmp/edit"
done

# ---- checkpoints: random byte changes in the header, then sample ----
header_len=$(od -An -tu8 --endian=little -N8 "$base_ck" | tr -d ' ')
check checkpoint "the unedited checkpoint samples" "$zoograd" sample --checkpoint "$base_ck" --n 4 --out "$tmp/flip.png"
for ((i = 0; i < 200; ++i)); do
  pos=$((8 + (RANDOM * 32768 + RANDOM) % header_len))
  cp "$base_ck" "$tmp/flip.safetensors"
  printf "\\x$(printf %02x $((RANDOM % 256)))" |
    dd of="$tmp/flip.safetensors" bs=1 seek=$pos conv=notrunc 2>/dev/null
  trial checkpoint any "byte $pos of the header" "$zoograd" sample --checkpoint "$tmp/flip.safetensors" --n 4 --out "$tmp/flip.png"
done
# The config inside the checkpoint edited (the header rewritten with its new length).
edit_header() { # edit_header SED_EXPRESSION: $base_ck with its header edited, as $tmp/edited.safetensors
  local header
  header=$(dd if="$base_ck" bs=1 skip=8 count="$header_len" 2>/dev/null | sed "$1")
  {
    local n=${#header}
    for ((b = 0; b < 8; ++b)); do printf "\\x$(printf %02x $(((n >> (8 * b)) & 255)))"; done
    printf '%s' "$header"
    tail -c +$((9 + header_len)) "$base_ck"
  } >"$tmp/edited.safetensors"
}
for edit in 's/\\"channels\\":1,//' 's/\\"image_size\\":32/\\"image_size\\":\\"big\\"/' \
  's/\\"model\\":\\"dcgan\\"/\\"model\\":3/' 's/\\"num_classes\\":10/\\"num_classes\\":\\"x\\"/' \
  's/\\"channels\\":1/\\"channels\\":-3/' 's/"json\/config":"{/"json\/config":"[/'; do
  edit_header "$edit"
  cmp -s "$base_ck" "$tmp/edited.safetensors" && fail "the edit $edit changed nothing"
  trial checkpoint refuse "config metadata: $edit" "$zoograd" sample --checkpoint "$tmp/edited.safetensors" --n 4 --out "$tmp/edited.png"
done

# ---- metrics.jsonl lines a person or a kill left; the run must go on ----
for line in '[1,2]' '{"step":null}' '{"step":3,"warning":5}' '{"step":' 'garbage'; do
  rm -rf "$tmp/edit"
  cp -r "$tmp/base" "$tmp/edit"
  printf '%s\n' "$line" >>"$tmp/edit/metrics.jsonl"
  trial metrics.jsonl any "appended $line" "$zoograd" train --resume "$tmp/edit" --steps 4
  check metrics.jsonl "after $line: report.html drawn and each step logged once" bash -c \
    "[ -s '$tmp/edit/report.html' ] && [ \"\$(grep -c '\"step\"' '$tmp/edit/metrics.jsonl')\" -ge 4 ]"
done

# ---- .npy samples for eval ----
"$zoograd" sample --checkpoint "$tmp/base" --n 16 --out "$tmp/s.npy" >/dev/null 2>&1 || fail "sample .npy"
npy_edit() { # npy_edit SED_EXPRESSION: s.npy with its header dict edited and padded back to
  local hlen dict   # its length, so the data stays where it was
  hlen=$(od -An -tu2 --endian=little -j8 -N2 "$tmp/s.npy" | tr -d ' ')
  dict=$(head -c $((10 + hlen)) "$tmp/s.npy" | tail -c "$hlen" | sed "$1" | sed 's/ *$//')
  { head -c 10 "$tmp/s.npy"; printf '%s' "$dict"; printf "%$((hlen - ${#dict} - 1))s\n" ""
    tail -c +$((11 + hlen)) "$tmp/s.npy"; } >"$tmp/e.npy"
}
ev=("$zoograd" eval --data mnist --data-root "$tmp/data" --classifier-epochs 1 --n 16 --samples "$tmp/e.npy")
cp "$tmp/s.npy" "$tmp/e.npy"
check npy "the unedited file is scored" "${ev[@]}"
for edit in "s/16, 1, 32, 32,/4294967296, 4294967296, 28, 28,/" "s/(16, 1, 32, 32,)/()/" \
  "s/'<f4'/'<f8'/" "s/'<f4'/'<i4'/" "s/False/True/" "s/16, 1, 32, 32,/17, 1, 32, 32,/" \
  "s/16, 1, 32, 32,/16, 1, 32, 33,/"; do
  npy_edit "$edit"
  cmp -s "$tmp/s.npy" "$tmp/e.npy" && fail "the edit $edit changed nothing"
  trial npy refuse "$edit" "${ev[@]}"
done
head -c 100 "$tmp/s.npy" >"$tmp/e.npy"
trial npy refuse "cut to 100 bytes" "${ev[@]}"
cp "$tmp/s.npy" "$tmp/e.npy"
printf '\x00\x00\xc0\x7f' | dd of="$tmp/e.npy" bs=1 seek=200 conv=notrunc 2>/dev/null
trial npy refuse "one NaN" "${ev[@]}"
for ((i = 0; i < 50; ++i)); do
  cp "$tmp/s.npy" "$tmp/e.npy"
  printf "\\x$(printf %02x $((RANDOM % 256)))" | dd of="$tmp/e.npy" bs=1 seek=$((RANDOM % 128)) conv=notrunc 2>/dev/null
  trial npy any "random header byte" "${ev[@]}"
done

# ---- flag values: every flag of train dcgan, sample and interp ----
flags=$("$zoograd" train dcgan --help | sed -n 's/^  \(--[a-z][a-z0-9-]*\).*/\1/p' | grep -vx -- '--help\|--help-all\|--out\|--resume\|--config')
# The tiny run's own flags, less the one under trial; --minutes bounds a run that a value makes
# long (--steps 100000000000 is a valid request).
tiny_without() {
  local a=("${tiny[@]}" --steps 1 --minutes 0.05) i
  for ((i = 0; i < ${#a[@]}; i += 2)); do [ "${a[i]}" = "$1" ] || printf '%s\0%s\0' "${a[i]}" "${a[i + 1]}"; done
}
for flag in $flags; do
  mapfile -d '' -t base_args < <(tiny_without "$flag")
  for value in abc -1 1e30 '' nan 2.5 100000000000; do
    rm -rf "$tmp/f"
    trial flags any "train $flag '$value'" "$zoograd" train dcgan "${base_args[@]}" --out "$tmp/f" "$flag" "$value"
  done
done
for value in abc -1 0 1e30 '' 2.5 100000000000 8x8junk; do
  trial flags any "sample --n '$value'" "$zoograd" sample --checkpoint "$tmp/base" --n "$value" --out "$tmp/x.png"
  trial flags any "sample --seed '$value'" "$zoograd" sample --checkpoint "$tmp/base" --n 2 --seed "$value" --out "$tmp/x.png"
  trial flags any "sample --class '$value'" "$zoograd" sample --checkpoint "$tmp/base" --n 2 --class "$value" --out "$tmp/x.png"
  trial flags any "interp --rows '$value'" "$zoograd" interp --checkpoint "$tmp/base" --rows "$value" --out "$tmp/x.png"
  trial flags any "interp --per-row '$value'" "$zoograd" interp --checkpoint "$tmp/base" --rows 1 --per-row "$value" --out "$tmp/x.png"
  trial flags any "eval --n '$value'" "$zoograd" eval --data mnist --data-root "$tmp/data" --classifier-epochs 1 --samples "$tmp/base" --n "$value"
done
for out in "$tmp/x.jpg" ""; do
  trial flags refuse "sample --out '$out'" "$zoograd" sample --checkpoint "$tmp/base" --n 2 --out "$out"
done
trial flags any "sample --out into a missing folder" "$zoograd" sample --checkpoint "$tmp/base" --n 2 --out "$tmp/no/such/dir/x.png"
trial flags refuse "--resume ''" "$zoograd" train --resume ""

# ---- data: broken IDX files and image folders ----
idx_case() { # idx_case WHAT: $tmp/bd holds a copy of the tiny set with one file broken by the caller
  rm -rf "$tmp/f"
  trial data refuse "$1" "$zoograd" train dcgan --data mnist --data-root "$tmp/bd" "${net[@]}" --steps 1 --out "$tmp/f"
}
fresh_set() { rm -rf "$tmp/bd"; cp -r "$tmp/data" "$tmp/bd"; }
img=$tmp/bd/mnist/train-images-idx3-ubyte
fresh_set; head -c 5000 "$tmp/data/mnist/train-images-idx3-ubyte" >"$img"; idx_case "IDX images cut short"
fresh_set; printf 'XXXX' | dd of="$img" bs=1 conv=notrunc 2>/dev/null; idx_case "IDX bad magic"
fresh_set; : >"$img"; idx_case "IDX empty file"
fresh_set; printf '\x00\x00\x08\x03\x00\x00\x01\x00\x00\x00\x00\x1c\x00\x00\x00\x1c' >"$img"
head -c $((64 << 20)) /dev/zero >>"$img"; gzip -c "$img" >"$img.gz"; rm "$img"; mv "$img.gz" "$img"
idx_case "IDX gzip bomb (header 256 images, 64 MiB of zeros)"
fresh_set; head -c 7 "$tmp/data/mnist/train-labels-idx1-ubyte" >"$tmp/bd/mnist/train-labels-idx1-ubyte"; idx_case "IDX labels cut"
"$zoograd" sample --checkpoint "$tmp/base" --n 4 --out "$tmp/imgs" >/dev/null 2>&1 || fail "sample a folder"
folder_case() { # folder_case EXPECT WHAT: trains on $tmp/folder
  rm -rf "$tmp/f"
  trial data "$1" "$2" "$zoograd" train dcgan --data "$tmp/folder" --image-size 16 --batch-size 2 --nz 8 --ngf 8 --ndf 8 --threads 1 --n 4 --steps 1 --out "$tmp/f"
}
rm -rf "$tmp/folder"; mkdir -p "$tmp/folder/.ipynb_checkpoints"; cp "$tmp/imgs"/*.png "$tmp/folder/.ipynb_checkpoints/"
folder_case refuse "only a hidden sub-folder"
rm -rf "$tmp/folder"; mkdir -p "$tmp/folder/a" "$tmp/folder/b"; cp "$tmp/imgs"/*.png "$tmp/folder/a/"
folder_case refuse "an empty class folder"
rm -rf "$tmp/folder"; mkdir -p "$tmp/folder"; cp "$tmp/imgs"/*.png "$tmp/folder/"; echo text >"$tmp/folder/fake.png"
folder_case refuse "a text file named .png"
rm -rf "$tmp/folder"; mkdir -p "$tmp/folder"; cp "$tmp/imgs"/*.png "$tmp/folder/"; head -c 60 "$tmp/imgs/000000.png" >"$tmp/folder/cut.png"
folder_case refuse "a PNG cut short"
rm -rf "$tmp/folder"; mkdir -p "$tmp/folder"; cp "$tmp/imgs"/*.png "$tmp/folder/"; : >"$tmp/folder/empty.png"
folder_case refuse "a 0-byte .png"
rm -rf "$tmp/folder"; mkdir -p "$tmp/folder"
folder_case refuse "an empty folder"
rm -rf "$tmp/folder"; mkdir -p "$tmp/folder"; cp "$tmp/imgs"/*.png "$tmp/folder/"; : >"$tmp/folder/._x.png"; mkdir "$tmp/folder/.git"
folder_case any "hidden entries beside good images"

# ---- signals: a checkpoint first, then 128 + the signal's number ----
for sig in INT TERM HUP; do
  rm -rf "$tmp/sig"
  "$zoograd" train dcgan --data mnist --data-root "$tmp/data" "${small[@]}" --steps 100000 \
    --checkpoint-every 100000 --out "$tmp/sig" >/dev/null 2>&1 &
  pid=$!
  for ((w = 0; w < 100; ++w)); do [ -f "$tmp/sig/metrics.jsonl" ] && break; sleep 0.1; done
  sleep 0.5
  kill -s $sig $pid
  (sleep 60 && kill -9 $pid) >/dev/null 2>&1 &  # a run that ignores the signal fails, not hangs
  watchdog=$!
  wait $pid
  rc=$?
  kill $watchdog 2>/dev/null
  want=$((128 + $(kill -l $sig)))
  check signals "SIG$sig: exit $rc (want $want) with a checkpoint" bash -c \
    "[ $rc -eq $want ] && [ -s '$tmp/sig/checkpoints/latest.safetensors' ]"
done

# ---- two processes on one run directory: one trains, the other is refused ----
rm -rf "$tmp/dup"
"$zoograd" train dcgan "${tiny[@]}" --steps 30 --out "$tmp/dup" >"$tmp/dup1.log" 2>&1 &
p1=$!
"$zoograd" train dcgan "${tiny[@]}" --steps 30 --out "$tmp/dup" >"$tmp/dup2.log" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
check locks "two train --out on one directory: one exit 0 ($r1 $r2), the other refused" bash -c \
  "[ \$(( ($r1 == 0) + ($r2 == 0) )) -eq 1 ] && grep -Eqh 'in use by another|already exists' '$tmp/dup1.log' '$tmp/dup2.log'"
check locks "two train --out on one directory: 30 steps logged once" bash -c \
  "[ \$(grep -c '\"step\"' '$tmp/dup/metrics.jsonl') -eq 30 ]"

# ---- divergence: never a checkpoint with NaN or inf ----
rm -rf "$tmp/div"
trial divergence refuse "--lr 1e3 with SGD" "$zoograd" train dcgan --data mnist --data-root "$tmp/data" "${small[@]}" --steps 40 --lr 1e3 --optim-d sgd --optim-g sgd --checkpoint-every 1 --out "$tmp/div"
for ck in "$tmp"/div/checkpoints/*.safetensors; do
  [ -f "$ck" ] || continue
  check divergence "$(basename "$ck") samples finite" "$zoograd" sample --checkpoint "$ck" --n 4 --out "$tmp/div.npy"
done

# ---- kill -9 at random moments, and a full disk at each kind of file ----
check faults "kill -9 at 12 random moments, resumed: nothing lost, exact end" \
  bash "$here/../tests/tools/crash_consistency.sh" "$zoograd" 12
check faults "a full disk at each kind of file: whole files, --resume finishes" \
  bash "$here/../tests/tools/full_disk_cli.sh" "$zoograd"

printf '\n%-14s %7s %9s %8s %8s %6s %6s\n' family trials accepted refused unclear crash wrong
for f in "${families[@]}"; do
  printf '%-14s %7d %9d %8d %8d %6d %6d\n' "$f" "${count[$f total]}" "${count[$f accepted]:-0}" \
    "${count[$f refused]:-0}" "${count[$f unclear]:-0}" "${count[$f crash]:-0}" "${count[$f wrong]:-0}"
done
[ $bad -eq 0 ] || { echo "$bad trials went wrong (listed above)"; exit 1; }
echo "ok: no crash, no unclear error, nothing lost, no silent wrong result"
