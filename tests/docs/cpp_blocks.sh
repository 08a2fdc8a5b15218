#!/usr/bin/env bash
# cpp_blocks.sh BUILD_DIR SOURCE_DIR MIN_BLOCKS: compiles every C++ block of README.md and
# docs/*.md against an installed zoograd (as a reader who copies it would) and runs it, so the
# docs cannot drift from the code. Fails if it finds fewer than MIN_BLOCKS blocks (an emptied
# page must not pass) or a block without a marker saying how it is compiled. The line before a
# ```cpp fence (blank lines aside) is one of
#   <!-- doc-test: main -->       statements: #include and using lines stay at the top, the
#                                 rest becomes the body of main(), which is run
#   <!-- doc-test: namespace -->  declarations (classes, functions), compiled at namespace scope
#                                 after #include <engine/ops.h>, <nn/module.h> and
#                                 `using namespace zg;`, into a program that is run
# Compiler errors point at the Markdown file and line (#line directives).
set -euo pipefail
build_dir=$(cd "$1" && pwd) source_dir=$(cd "$2" && pwd) min_blocks=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/project"

cd "$source_dir"
awk -v out="$scratch/project" '
  function emit(   f, i, n, lines, hoisted, rest, k) {
    f = out "/block_" count ".cpp"
    n = split(body, lines, "\n")
    if (kind == "namespace") {
      print "#include <engine/ops.h>\n#include <nn/module.h>\nusing namespace zg;" > f
      printf "#line %d \"%s\"\n%s", first, src, body > f
      print "int main() { return 0; }" > f
    } else {
      for (i = 1; i < n; ++i)
        if (lines[i] ~ /^(#include|using namespace)/) printf "#line %d \"%s\"\n%s\n", first + i - 1, src, lines[i] > f
      print "int main() {" > f
      for (i = 1; i < n; ++i)
        if (lines[i] !~ /^(#include|using namespace)/) printf "#line %d \"%s\"\n%s\n", first + i - 1, src, lines[i] > f
      print "return 0;\n}" > f
    }
    close(f)
    print count, src ":" first - 1 > (out "/origins")
  }
  FNR == 1 { marker = ""; inblock = 0 }
  inblock && /^```/ { inblock = 0; emit(); next }
  inblock { body = body $0 "\n"; next }
  /^```(cpp|c\+\+)[[:space:]]*$/ {
    ++count
    if (marker == "") { printf "%s:%d: a C++ block without a <!-- doc-test: main|namespace --> line before it\n", FILENAME, FNR; bad = 1 }
    inblock = 1; kind = marker; marker = ""; body = ""; src = FILENAME; first = FNR + 1
    next
  }
  /^<!-- doc-test: (main|namespace) -->[[:space:]]*$/ { marker = $3; next }
  /^[[:space:]]*$/ { next }
  { marker = "" }
  END { print count + 0 > (out "/count"); exit bad }
' README.md docs/*.md || { echo "FAIL: unmarked C++ blocks (see above)"; exit 1; }

found=$(cat "$scratch/project/count")
[ "$found" -ge "$min_blocks" ] ||
  { echo "FAIL: $found C++ blocks in README.md and docs/*.md, expected at least $min_blocks"; exit 1; }

cat >"$scratch/project/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(doc_blocks LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(zoograd REQUIRED)
file(GLOB blocks ${CMAKE_CURRENT_SOURCE_DIR}/block_*.cpp)
foreach(block ${blocks})
  get_filename_component(name ${block} NAME_WE)
  add_executable(${name} ${block})
  target_compile_options(${name} PRIVATE -Wall -Wextra -Werror)
  target_link_libraries(${name} PRIVATE zoograd::zoo)
endforeach()
CMAKE

cmake --install "$build_dir" --prefix "$scratch/prefix" >/dev/null
cmake -S "$scratch/project" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$scratch/build" -j2 >"$scratch/build.log" 2>&1 ||
  { grep -E "error|warning" "$scratch/build.log" | head -20; echo "FAIL: a doc block does not compile"; exit 1; }
while read -r n origin; do
  "$scratch/build/block_$n" >"$scratch/out" 2>&1 ||
    { cat "$scratch/out"; echo "FAIL: the block at $origin exits with an error"; exit 1; }
done <"$scratch/project/origins"
echo "$found C++ blocks compiled and run"
