#!/bin/sh
# Runs the CGI script the way httpd would and checks its answer.
set -eu
out=$(QUERY_STRING='id=7&payload=hi' www/cgi-bin/job)
echo "$out"
echo "$out" | grep -q '{"id":"7","payload":"hi"}'
echo "api: ok"
