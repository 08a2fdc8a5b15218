#!/usr/bin/env bash
# expect_error.sh PATTERN COMMAND...: passes when COMMAND exits non-zero and its output
# (stdout and stderr) matches the extended regular expression PATTERN.
pattern=$1
shift
output=$("$@" 2>&1)
status=$?
if [ "$status" -eq 0 ]; then
  echo "expected a failure, but the command succeeded: $*"; echo "$output"; exit 1
fi
if ! grep -Eq -- "$pattern" <<<"$output"; then
  echo "the error message does not match '$pattern':"; echo "$output"; exit 1
fi
echo "ok: $output"
