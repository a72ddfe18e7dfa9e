#!/usr/bin/env bash
# The burst benchmark: a CRM bulk edit (1,000 contacts, each twice, 200 webhooks at once) against
# the real site, with ActiveCampaign's stand-in at 300 ms a call and its 5 calls/s limit; the queue
# (automatic mode) with the fast lane off and on, and sync mode (async=false), side by side, and the
# floor of as many bare WordPress requests. Run by `make bench-site`; results go in bench/README.md.
# See bench/burst.php. The harness's PHP has the lane's INI on (scripts/site/up.sh); the settings
# saved below write its configuration file.
#
# Env: SITE_PORT, DB_PORT, EMULATOR_PORT; CONTACTS (1000), CONCURRENCY (200), LATENCY_MS (300),
#      DRAIN_CAP (900 s, the longest wait for the queue to drain), LANE=0 / SYNC=0 to skip those runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export SITE_PORT="${SITE_PORT:-8088}" EMULATOR_PORT="${EMULATOR_PORT:-8790}"
site="http://127.0.0.1:$SITE_PORT" emulator="http://127.0.0.1:$EMULATOR_PORT"
RUN_DIR="${RUN_DIR:-$PWD/.run}"

scripts/site/up.sh >/dev/null
# The load generator (bench/burst_client.rs).
"${CARGO:-cargo}" build --release --quiet --example burst-client
emulator_was_up=0
tests/emulator/emulator.sh status >/dev/null 2>&1 && emulator_was_up=1
# More emulator workers than the site has PHP workers: the CRM's latency, not the stand-in, limits.
EMULATOR_WORKERS=16 tests/emulator/emulator.sh start >/dev/null
trap '((emulator_was_up)) || tests/emulator/emulator.sh stop >/dev/null 2>&1 || true' EXIT

key=$(php scripts/site/wp.php '
  CrmHook_Settings::update(["crm" => "activecampaign", "api_url" => "'"$emulator"'/activecampaign",
    "api_key" => "ac-test-key", "async" => false, "queue_mode" => "auto", "queue_max_attempts" => 8,
    "queue_backoff" => 5, "queue_runners" => 3, "field_map" => [], "return_password_field" => "",
    "username_format" => "email", "send_welcome_email" => false]);
  return CrmHook_Settings::get("access_key");')

php -d extension="${CRMHOOK_SO:-$PWD/target/release/libcrmhook.so}" bench/burst.php "$site" "$emulator" "$key" "$RUN_DIR/mariadb/mariadbd.sock"
