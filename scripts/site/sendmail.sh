#!/bin/sh
# sendmail stand-in for the harness's PHP (php.ini sendmail_path): keeps each message WordPress sends as
# one file in the folder given as first argument, so tests can read the mail instead of losing it.
# Usage (by PHP, not by hand): sendmail.sh DIR [sendmail options, ignored] < message
dir="$1"
mkdir -p "$dir" || exit 1
file="$dir/$(date +%s.%N)-$$.eml"
cat >"$file.tmp" && mv "$file.tmp" "$file"
