# Shell helpers for the CLI success-path tests (sourced): checks of the files zoograd writes,
# with od and awk only (no Python at test time).

fail() {
  echo "FAIL: $*"
  exit 1
}

# png_info FILE: "WIDTH HEIGHT CHANNELS" from the IHDR chunk; fails unless FILE is an 8-bit PNG.
png_info() {
  [ -f "$1" ] || fail "$1 was not written"
  local sig
  sig=$(od -An -tx1 -N8 "$1" | tr -d ' \n')
  [ "$sig" = 89504e470d0a1a0a ] || fail "$1 is not a PNG (signature $sig)"
  od -An -tu1 -j16 -N10 "$1" | awk -v f="$1" '{
    w = (($1 * 256 + $2) * 256 + $3) * 256 + $4; h = (($5 * 256 + $6) * 256 + $7) * 256 + $8
    if ($9 != 8) { print f ": bit depth " $9 ", expected 8"; exit 1 }
    c = $10 == 0 ? 1 : $10 == 2 ? 3 : $10 == 4 ? 2 : $10 == 6 ? 4 : 0
    print w, h, c }'
}

# expect_png FILE "W H C": the PNG's size and channel count.
expect_png() {
  local got
  got=$(png_info "$1") || fail "$got"
  [ "$got" = "$2" ] || fail "$1 is $got (width height channels), expected $2"
}

# npy_shape FILE: the shape of a float32 .npy as "D0,D1,..."; checks the magic, the dtype and
# that the file holds exactly that many floats.
npy_shape() {
  [ -f "$1" ] || fail "$1 was not written"
  [ "$(od -An -c -j1 -N5 "$1" | tr -d ' ')" = NUMPY ] || fail "$1 is not a .npy file"
  local hlen header shape count
  hlen=$(od -An -tu2 --endian=little -j8 -N2 "$1" | tr -d ' ')
  header=$(dd if="$1" bs=1 skip=10 count="$hlen" 2>/dev/null)
  grep -q "'descr': '<f4'" <<<"$header" || fail "$1: not little-endian float32: $header"
  shape=$(sed -n "s/.*'shape': (\([0-9, ]*\)).*/\1/p" <<<"$header" | tr -d ' ' | sed 's/,$//')
  [ -n "$shape" ] || fail "$1: no shape in the header: $header"
  count=$(awk -F, '{ n = 1; for (i = 1; i <= NF; ++i) n *= $i; print n }' <<<"$shape")
  [ "$(stat -c %s "$1")" -eq $((10 + hlen + 4 * count)) ] ||
    fail "$1: $(stat -c %s "$1") bytes, expected a $((10 + hlen))-byte header and $count floats"
  echo "$shape"
}

# expect_npy_images FILE SHAPE: a float32 array of that shape with values in [-1, 1] that are
# not all equal (a generator's output, not a blank).
expect_npy_images() {
  local shape hlen
  shape=$(npy_shape "$1") || fail "$shape"
  [ "$shape" = "$2" ] || fail "$1 has shape ($shape), expected ($2)"
  hlen=$(od -An -tu2 --endian=little -j8 -N2 "$1" | tr -d ' ')
  od -An -v -tf4 -j$((10 + hlen)) "$1" | awk -v f="$1" '
    { for (i = 1; i <= NF; ++i) { v = $i + 0; if ($i ~ /nan|inf/ || v < -1 || v > 1) bad = $i
                                  if (NR == 1 && i == 1) first = v; else if (v != first) varied = 1 } }
    END { if (bad != "") { print f ": value " bad " outside [-1, 1]"; exit 1 }
          if (!varied) { print f ": every value is " first; exit 1 } }' || fail "values of $1"
}

# expect_png_dir DIR N "W H C": DIR holds exactly N PNGs 000000.png ..., each of that size.
expect_png_dir() {
  [ -d "$1" ] || fail "$1 is not a directory"
  local n
  n=$(find "$1" -maxdepth 1 -name '*.png' | wc -l)
  [ "$n" -eq "$2" ] || fail "$1 holds $n PNGs, expected $2"
  for ((i = 0; i < $2; ++i)); do expect_png "$(printf '%s/%06d.png' "$1" "$i")" "$3"; done
}

# make_idx_set DIR N: a tiny MNIST-layout set in DIR/mnist (train-images-idx3-ubyte with N
# 28x28 images of varied bytes, train-labels-idx1-ubyte with digits 0-9; the same images serve as
# the test split, t10k-*), for `--data mnist --data-root DIR`.
make_idx_set() {
  mkdir -p "$1/mnist"
  local n=$2
  # big-endian 32-bit integers as \xHH escapes for printf
  be32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) \
    $(($1 >> 8 & 255)) $(($1 & 255)); }
  {
    printf "\x00\x00\x08\x03$(be32 "$n")$(be32 28)$(be32 28)"
    LC_ALL=C awk -v n="$n" 'BEGIN { for (i = 0; i < n * 784; ++i) printf "%c", (i * 37 + int(i / 784) * 11) % 256 }'
  } >"$1/mnist/train-images-idx3-ubyte"
  {
    printf "\x00\x00\x08\x01$(be32 "$n")"
    LC_ALL=C awk -v n="$n" 'BEGIN { for (i = 0; i < n; ++i) printf "%c", i % 10 }'
  } >"$1/mnist/train-labels-idx1-ubyte"
  cp "$1/mnist/train-images-idx3-ubyte" "$1/mnist/t10k-images-idx3-ubyte"
  cp "$1/mnist/train-labels-idx1-ubyte" "$1/mnist/t10k-labels-idx1-ubyte"
}
