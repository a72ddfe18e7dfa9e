#!/usr/bin/env bash
# The fast lane's cost on a request that is not a webhook, in instructions (callgrind), which a
# shared machine cannot blur as it blurs timings: PHP's built-in web server (one process, one
# request after another, each with its own request start, RINIT) serves the harness's WordPress
# home page with a query string that has no wpf_action, under callgrind, with crmhook.lane on.
# The figure is the instructions spent in the extension's request start and end
# (crmhook::php::lane::request_startup / request_shutdown, inclusive) against all instructions of
# a warm request. Needs the harness's site (scripts/site/up.sh) for its files
# and database.
#
# WEBHOOK=1 counts an accepted webhook instead (update_tags for contact 1001, queued): through the
# lane with the site's Fast lane setting ticked, and through WordPress with it unticked.
#
#   bench/lane-callgrind.sh        Env: REQUESTS (10), LANE (1; 0 for the same run with the lane off),
#                                  WEBHOOK (0)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/site/lib.sh"
REQUESTS="${REQUESTS:-10}" LANE="${LANE:-1}" WEBHOOK="${WEBHOOK:-0}"
path="/?utm_source=crm&utm_medium=email" body="" want=200
if ((WEBHOOK)); then
  key=$(php "$root/scripts/site/wp.php" 'CrmHook_Settings::update(["queue_mode" => "background"]); return CrmHook_Settings::get("access_key");')
  path="/?wpf_action=update_tags&access_key=$key" body="contact%5Bid%5D=1001" want=202
fi
port=$((SITE_PORT + 7))
out="$(mktemp -d)"
server=""
trap '[ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$out"' EXIT

# run N: serves N home-page requests (after one probe.php) under callgrind; prints
# "<all instructions> <instructions in the lane's request hooks>".
run() {
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" \
    php -d extension="$CRMHOOK_SO" -d opcache.enable_cli=1 -d crmhook.lane="$LANE" \
    -d crmhook.lane_entry="$PLUGIN_SRC/lane.php" -d crmhook.lane_config="$LANE_CONFIG" \
    -S "127.0.0.1:$port" -t "$WP_DIR" >"$out/server.log" 2>&1 &
  server=$!
  local i code
  for ((i = 0; i < 600; i++)); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/probe.php" 2>/dev/null && break
    sleep 0.5
  done
  for ((i = 0; i < $1; i++)); do
    code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Host: 127.0.0.1:$SITE_PORT" ${body:+-d "$body"} "http://127.0.0.1:$port$path")
    [ "$code" = "$want" ] || { echo "lane-callgrind: $path answered $code" >&2; exit 1; }
  done
  kill -INT "$server"
  wait "$server" || true
  server=""
  callgrind_annotate --inclusive=yes --threshold=100 "$out/cg.out" >"$out/annotate.txt" 2>/dev/null
  local total lane
  total=$(sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' "$out/annotate.txt" | tr -d ,)
  lane=$( (grep -E 'lane::request_(startup|shutdown)' "$out/annotate.txt" || true) | awk '{gsub(",", "", $1); s += $1} END {print s + 0}')
  echo "$total $lane"
}

# The first requests compile WordPress into opcache: the difference between a short and a long
# run is what a warm request costs.
if ((WEBHOOK)); then
  for fast in 1 0; do
    php "$root/scripts/site/wp.php" "CrmHook_Settings::update(['fast_lane' => (bool) $fast]);" >/dev/null
    read -r total_a lane_a < <(run 2)
    read -r total_b lane_b < <(run $((2 + REQUESTS)))
    printf 'update_tags webhook, queued, %s: %12d instructions per warm request\n' \
      "$( ((fast)) && echo 'through the fast lane' || echo 'through WordPress     ')" $(((total_b - total_a) / REQUESTS))
  done
  exit 0
fi
read -r total_a lane_a < <(run 2)
read -r total_b lane_b < <(run $((2 + REQUESTS)))
per_request=$(((total_b - total_a) / REQUESTS))
lane_per_request=$(((lane_b - lane_a) / REQUESTS))
printf 'crmhook.lane=%s: home page %s, %d warm requests (runs of 2 and %d)\n' "$LANE" "$path" "$REQUESTS" $((2 + REQUESTS))
printf 'instructions per warm request        %12d\n' "$per_request"
printf 'of which the lane'"'"'s request hooks   %12d\n' "$lane_per_request"
awk -v l="$lane_per_request" -v t="$per_request" 'BEGIN {printf "share                                %11.4f %%\n", 100 * l / t}'
