#!/bin/sh
# Reads jobs from stdin, one per line, fields tab-separated in the order of
# libs/proto's jobs.proto (JOB_FIELDS), and reports each one done.
. "$(dirname "$0")/jobs.sh"
set -- $JOB_FIELDS
nfields=$#
n=0
while IFS='	' read -r id payload rest; do
  [ -n "$id" ] || continue
  if [ -n "$rest" ] || [ "$nfields" -ne 2 ]; then
    echo "worker: job '$id' does not match JOB_FIELDS=\"$JOB_FIELDS\"" >&2
    exit 1
  fi
  echo "done $id: $(echo "$payload" | tr 'a-z' 'A-Z')"
  n=$((n + 1))
done
echo "worker: $n jobs" >&2
