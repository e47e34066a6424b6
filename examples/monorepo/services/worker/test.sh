#!/bin/sh
# Feeds the worker two jobs and checks what it reports.
set -eu
out=$(printf '1\thello\n2\tworld\n' | bin/worker)
echo "$out"
[ "$out" = "$(printf 'done 1: HELLO\ndone 2: WORLD')" ]
echo "worker: ok"
