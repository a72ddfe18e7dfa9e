#!/usr/bin/env bash
# The fast lane's cost on requests that are not webhooks: the same requests through nginx +
# php-fpm with the extension loaded and crmhook.lane on, then off, in interleaved rounds (php-fpm
# restarted with the other INI between rounds). With the lane on, every request's start scans its
# query string for wpf_action (src/lane.rs); these requests carry a query without it, so the scan
# runs in full and finds nothing. Results go in bench/README.md.
#
#   bench/lane.sh            SITE_PORT, DB_PORT as for scripts/site/up.sh
#
# Env: ROUNDS (4 per side), DURATION (8 s per case and round), CONNECTIONS (4).
set -euo pipefail
cd "$(dirname "$0")/.."
export SITE_PORT="${SITE_PORT:-8088}"
site="http://127.0.0.1:$SITE_PORT"
ROUNDS="${ROUNDS:-4}" DURATION="${DURATION:-8}" CONNECTIONS="${CONNECTIONS:-4}"
command -v wrk >/dev/null || { echo "wrk is missing: make deps"; exit 1; }

lua=$(mktemp --suffix=.lua)
trap 'rm -f "$lua"; CRMHOOK_LANE=1 scripts/site/up.sh >/dev/null' EXIT
cat >"$lua" <<'LUA'
done = function(summary, latency, requests)
  local bad = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status
  io.write(string.format("RESULT %.1f %d\n", summary.requests / (summary.duration / 1e6), bad))
end
LUA

# The home page (WordPress and its theme) and the smallest PHP request there is (probe.php,
# no WordPress), where a per-request cost would show most.
cases=("/?utm_source=crm&utm_medium=email" "/probe.php?utm_source=crm&utm_medium=email")
declare -A sum
for ((round = 1; round <= ROUNDS; round++)); do
  for lane in 1 0; do
    CRMHOOK_LANE=$lane scripts/site/up.sh >/dev/null
    want=$( ((lane)) && echo true || echo false)
    curl -fsS "$site/probe.php" | grep -q "\"crmhook_lane\":$want" || { echo "lane.sh: php-fpm does not run with crmhook.lane=$lane" >&2; exit 1; }
    for path in "${cases[@]}"; do
      wrk -t1 -c"$CONNECTIONS" -d2s --timeout 30s "$site$path" >/dev/null # warm-up: opcache, workers
      read -r rps bad < <(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 30s -s "$lua" "$site$path" | awk '/^RESULT/ {print $2, $3}')
      ((bad == 0)) || { echo "lane.sh: $bad failed requests on $path" >&2; exit 1; }
      printf 'round %d lane=%s %-32s %8.1f req/s\n' "$round" "$( ((lane)) && echo on || echo off)" "$path" "$rps"
      sum["$lane $path"]+="$rps "
    done
  done
done

echo
printf '%-32s %14s %14s %10s\n' "request (median of $ROUNDS rounds)" "lane on req/s" "lane off req/s" "on/off"
for path in "${cases[@]}"; do
  on=$(echo ${sum["1 $path"]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
  off=$(echo ${sum["0 $path"]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
  printf '%-32s %14.1f %14.1f %9.3fx\n' "$path" "$on" "$off" "$(echo "$on $off" | awk '{print $1 / $2}')"
done
