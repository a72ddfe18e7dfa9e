#!/usr/bin/env bash
# The fast lane's cost on a request that is not a webhook, in instructions (callgrind), which a
# shared machine cannot blur as it blurs timings: PHP's built-in web server (one process, one
# request after another, each with its own request start, RINIT) serves the harness's WordPress
# home page with a query string that has no wpf_action, under callgrind, with crmhook.lane on.
# The figure is the instructions spent in the extension's request start and end
# (crmhook::php::lane::request_startup / request_shutdown, inclusive) against all instructions of
# the run, divided by the requests. Needs the harness's site (scripts/site/up.sh) for its files
# and database.
#
#   bench/lane-callgrind.sh        Env: REQUESTS (10), LANE (1; 0 for the same run with the lane off)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/site/lib.sh"
REQUESTS="${REQUESTS:-10}" LANE="${LANE:-1}"
port=$((SITE_PORT + 7))
out="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$out"' EXIT

valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" \
  php -d extension="$CRMHOOK_SO" -d opcache.enable_cli=1 -d crmhook.lane="$LANE" \
  -d crmhook.lane_entry="$PLUGIN_SRC/lane.php" -d crmhook.lane_config="$LANE_CONFIG" \
  -S "127.0.0.1:$port" -t "$WP_DIR" >"$out/server.log" 2>&1 &
server=$!
for ((i = 0; i < 600; i++)); do
  curl -fsS -o /dev/null -H "Host: 127.0.0.1:$SITE_PORT" "http://127.0.0.1:$port/probe.php" 2>/dev/null && break
  sleep 0.5
done
for ((i = 0; i < REQUESTS; i++)); do
  code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Host: 127.0.0.1:$SITE_PORT" "http://127.0.0.1:$port/?utm_source=crm&utm_medium=email")
  [ "$code" = 200 ] || { echo "lane-callgrind: the home page answered $code" >&2; exit 1; }
done
kill -INT "$server"
wait "$server" || true

callgrind_annotate --inclusive=yes "$out/cg.out" 2>/dev/null >"$out/annotate.txt"
total=$(sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' "$out/annotate.txt" | tr -d ,)
lane=$(grep -E 'crmhook::php::lane::request_(startup|shutdown)' "$out/annotate.txt" | awk '{gsub(",", "", $1); s += $1} END {print s + 0}')
requests=$((REQUESTS + 1)) # and the readiness probe
printf 'crmhook.lane=%s, %d requests (+1 probe.php) of /?utm_source=crm&utm_medium=email\n' "$LANE" "$REQUESTS"
printf 'all instructions of the run       %15d (%d per request, start-up included)\n' "$total" $((total / requests))
printf 'lane request start + end          %15d (%d per request)\n' "$lane" $((lane / requests))
awk -v l="$lane" -v t="$total" 'BEGIN {printf "share                             %14.5f %%\n", 100 * l / t}'
