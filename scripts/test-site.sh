#!/usr/bin/env bash
# The suites that need the real site or the CRM emulator: the plugin's PHPUnit tests (WordPress on
# a test database), the CRM clients against the emulator, the HTTP end-to-end tests through
# nginx + php-fpm, and the browser test. Starts the site and the
# CRM emulator, and stops on exit exactly what it started (by pid, through their own scripts).
set -euo pipefail
cd "$(dirname "$0")/.."
export SITE_PORT="${SITE_PORT:-8088}" EMULATOR_PORT="${EMULATOR_PORT:-8790}"
export SITE2_PORT="${SITE2_PORT:-$((SITE_PORT + 1))}"
export SITE_URL="http://127.0.0.1:$SITE_PORT" SITE2_URL="http://127.0.0.1:$SITE2_PORT" EMULATOR_URL="http://127.0.0.1:$EMULATOR_PORT"
SO="$PWD/target/release/libcrmhook.so"
PHPUNIT="${PHPUNIT:-/usr/bin/phpunit}"

site_was_up=0; emulator_was_up=0
curl -fsS -o /dev/null -m 2 "$SITE_URL/wp-login.php" 2>/dev/null && site_was_up=1
tests/emulator/emulator.sh status >/dev/null 2>&1 && emulator_was_up=1
cleanup() {
  ((emulator_was_up)) || tests/emulator/emulator.sh stop >/dev/null 2>&1 || true
  ((site_was_up)) || scripts/site/down.sh >/dev/null 2>&1 || true
}
trap cleanup EXIT

# SITE_RESET=1 (`make screenshots`): a fresh database, so the screenshots show only what the tests made.
scripts/site/up.sh ${SITE_RESET:+--reset}
tests/emulator/emulator.sh start

# The browser test: one file per screen, one at a time (they share the site and its settings).
browser_test() {
  (cd tests/browser && node --test --test-concurrency=1 ./*.test.mjs)
}

if [ -n "${BROWSER_ONLY:-}" ]; then
  # `make screenshots`: only the browser test, which takes them.
  browser_test
  exit 0
fi

echo "== plugin unit tests (PHPUnit, WordPress on the test database)"
php -d extension="$SO" "$PHPUNIT" --configuration tests/wordpress/phpunit.xml

echo "== CRM API clients against the emulator (every function, every CRM, every fault)"
php -d extension="$SO" "$PHPUNIT" --configuration tests/crm/phpunit.xml

# The client tests' `drop` faults end emulator workers, and PHP's built-in server exits with the
# first of them: a fresh emulator for the suites after.
tests/emulator/emulator.sh stop >/dev/null
tests/emulator/emulator.sh start

echo "== end-to-end tests (HTTP through nginx + php-fpm, CRM emulator)"
php -d extension="$SO" "$PHPUNIT" --configuration tests/e2e/phpunit.xml

echo "== browser test (headless Chromium)"
browser_test
