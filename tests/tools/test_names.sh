#!/usr/bin/env bash
# test_names.sh TESTS_DIR: no doctest case name holds a ';'. CTest splits discovered names at
# semicolons, and each half then selects no case at all, so it "passes" without running
# anything; this check keeps every case running.
set -u
bad=$(perl -0777 -ne 'while (/TEST_CASE\(\s*((?:"[^"]*"\s*)+)\)/g) { my $n = $1; print "$ARGV: $n\n" if $n =~ /;/ }' \
  $(find "$1" -name '*.cpp'))
[ -z "$bad" ] || { echo "$bad"; echo "FAIL: test case names with ';' (CTest would run none of them)"; exit 1; }
count=$(grep -rhc 'TEST_CASE(' "$1" --include='*.cpp' | awk '{ s += $1 } END { print s }')
[ "$count" -gt 100 ] || { echo "FAIL: found only $count test cases under $1"; exit 1; }
echo "ok: $count test case names without ';'"
