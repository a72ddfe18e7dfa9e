#!/usr/bin/env bash
# Instructions per extension call, counted by callgrind: repeatable where timings on a shared
# machine are not. Each figure is the difference between a run of B calls and a run of A calls,
# divided by B - A, so PHP's start-up and the corpus set-up cancel out. callgrind runs the real
# allocator (unlike memcheck), so malloc's work is counted.
#
#   bench/callgrind.sh [path/to/libcrmhook.so]      (default: target/release/libcrmhook.so)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
so="${1:-$root/target/release/libcrmhook.so}"

count() { # case what n
  CASE=$1 WHAT=$2 N=$3 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    php -d extension="$so" "$root/bench/calls.php" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_call() { # case what a b
  local a b
  a=$(count "$1" "$2" "$3"); b=$(count "$1" "$2" "$4")
  echo $(((b - a) / ($4 - $3)))
}

printf "%-26s %12s %12s\n" webhook "parse Ir" "map Ir"
printf "%-26s %12s %12s\n" "test (fixed cost)" "$(per_call keap test 50 250)" -
for c in activecampaign convertkit kit fluentcrm funnelkit keap fluentcrm-500-fields activecampaign-1000-tags; do
  if [[ $c == *-* ]]; then a=5 b=25; else a=50 b=250; fi
  printf "%-26s %12s %12s\n" "$c" "$(per_call "$c" parse $a $b)" "$(per_call "$c" map $a $b)"
done
