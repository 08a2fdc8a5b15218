#!/usr/bin/env bash
# test_names.sh TESTS_DIR: no doctest case name holds a ';' or an unmatched square bracket.
# CTest splits discovered names at semicolons, and each half then selects no case at all, so it
# "passes" without running anything; an unmatched '[' stops CMake's list splitting, which glues
# the names after it into one and breaks test discovery. This check keeps every case running.
set -u
bad=$(perl -0777 -ne 'while (/TEST_CASE\(\s*((?:"[^"]*"\s*)+)\)/g) { my $n = $1; my $o = () = $n =~ /\[/g; my $c = () = $n =~ /\]/g; print "$ARGV: $n\n" if $n =~ /;/ || $o != $c }' \
  $(find "$1" -name '*.cpp'))
[ -z "$bad" ] || { echo "$bad"; echo "FAIL: test case names with ';' or an unmatched bracket (CTest would run none of them)"; exit 1; }
count=$(grep -rhc 'TEST_CASE(' "$1" --include='*.cpp' | awk '{ s += $1 } END { print s }')
[ "$count" -gt 100 ] || { echo "FAIL: found only $count test cases under $1"; exit 1; }
echo "ok: $count test case names without ';' or unmatched brackets"
