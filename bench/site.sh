#!/usr/bin/env bash
# Webhooks through the real stack (nginx + php-fpm with opcache, MariaDB), each case as a ratio
# against a bare WordPress request measured in the same run, then the contact lookup at 1,000
# versus 100,000 users. Run by `make bench-site`; results go in bench/README.md.
#
# Env: DURATION (seconds per case, default 10), CONNECTIONS (default 8), ROUNDS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
export SITE_PORT="${SITE_PORT:-8088}" EMULATOR_PORT="${EMULATOR_PORT:-8790}"
site="http://127.0.0.1:$SITE_PORT" emulator="http://127.0.0.1:$EMULATOR_PORT"
DURATION="${DURATION:-10}" CONNECTIONS="${CONNECTIONS:-8}" ROUNDS="${ROUNDS:-2}"
command -v wrk >/dev/null || { echo "wrk is missing: make deps"; exit 1; }

scripts/site/up.sh >/dev/null
tests/emulator/emulator.sh start >/dev/null
trap 'tests/emulator/emulator.sh stop >/dev/null 2>&1 || true; rm -f "$mu" "$lua"' EXIT

# The bench sends thousands of wrong keys from one address: lift the 429 limit for it.
mu="${RUN_DIR:-.run}/wordpress/wp-content/mu-plugins/crmhook-bench.php"
mkdir -p "$(dirname "$mu")"
echo '<?php add_filter("crmhook_bad_key_limit", "__return_zero");' >"$mu"

key=$(php scripts/site/wp.php '
  CrmHook_Settings::update(["crm" => "activecampaign", "api_url" => "'"$emulator"'/activecampaign",
    "api_key" => "ac-test-key", "async" => false]);
  return CrmHook_Settings::get("access_key");')
# A linked user for contact 1001, so update_tags/update/add hit an existing user.
curl -fsS -o /dev/null -X POST -d "contact[id]=1001" "$site/?wpf_action=add&access_key=$key"

lua=$(mktemp --suffix=.lua)
cat >"$lua" <<'LUA'
wrk.method = os.getenv("WRK_METHOD") or "GET"
wrk.body = os.getenv("WRK_BODY")
if wrk.body then wrk.headers["Content-Type"] = "application/x-www-form-urlencoded" end
done = function(summary, latency, requests)
  -- Statuses are checked before timing (a bad key is meant to get 403): count only transport errors.
  local bad = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.1f %.2f %d\n", summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, bad))
end
LUA

# case NAME METHOD PATH [BODY] → "requests/s median-ms errors"
run() {
  WRK_METHOD="$2" WRK_BODY="${4:-}" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$lua" "$site$3" | awk '/^RESULT/ {print $2, $3, $4}'
}

tags=$(printf 'Tag%%20%d%%2C%%20' $(seq 1 20))
declare -A path method body
cases=(bare bad_key test update_tags update add)
path[bare]="/";                                   method[bare]=GET
path[bad_key]="/?wpf_action=test&access_key=wrong"; method[bad_key]=GET
path[test]="/?wpf_action=test&access_key=$key";  method[test]=GET
path[update_tags]="/?wpf_action=update_tags&access_key=$key"; method[update_tags]=POST; body[update_tags]="contact%5Bid%5D=1001&contact%5Btags%5D=${tags}Gold"
path[update]="/?wpf_action=update&access_key=$key"; method[update]=POST; body[update]="contact%5Bid%5D=1001"
path[add]="/?wpf_action=add&access_key=$key";       method[add]=POST;  body[add]="contact%5Bid%5D=1001"

# Check every case answers what it should before timing it.
for c in "${cases[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X "${method[$c]}" ${body[$c]:+-d "${body[$c]}"} "$site${path[$c]}")
  want=200; [ "$c" = bad_key ] && want=403
  [ "$code" = "$want" ] || { echo "bench: $c answered $code, expected $want"; exit 1; }
done

declare -A rps lat
for ((r = 1; r <= ROUNDS; r++)); do          # interleaved rounds: noise hits every case alike
  for c in "${cases[@]}"; do
    read -r q l e < <(run "$c" "${method[$c]}" "${path[$c]}" "${body[$c]:-}")
    ((e == 0)) || { echo "bench: $c had $e errors"; exit 1; }
    rps[$c]="${rps[$c]:-} $q"; lat[$c]="${lat[$c]:-} $l"
  done
done
best() { tr ' ' '\n' | sed '/^$/d' | sort -g | tail -1; }
low() { tr ' ' '\n' | sed '/^$/d' | sort -g | head -1; }

echo
echo "wrk -t1 -c$CONNECTIONS -d${DURATION}s, best of $ROUNDS interleaved rounds, $(nproc) cores shared with wrk"
printf "%-34s %10s %12s %18s\n" case "req/s" "median ms" "cost vs bare WP"
base=$(echo "${rps[bare]}" | best)
for c in "${cases[@]}"; do
  q=$(echo "${rps[$c]}" | best); l=$(echo "${lat[$c]}" | low)
  printf "%-34s %10.1f %12.2f %17.2fx\n" "$c" "$q" "$l" "$(awk -v a="$base" -v b="$q" 'BEGIN { print a / b }')"
done
echo
php scripts/site/wp.php --tests -f bench/lookup.php
