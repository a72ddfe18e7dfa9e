#!/usr/bin/env bash
# Proves the running site works end to end, the way a person would check it: the front page and the
# login page answer 200, `admin` logs in and reaches the dashboard, php-fpm has the crmhook extension
# and opcache, and WordPress from the CLI (wp.php) sees the extension and the active plugin.
# Run after up.sh. Prints one line per check and "N passed, N failed"; exits 1 on any failure.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v curl >/dev/null || die "smoke.sh needs curl (Debian package curl)"

passed=0 failed=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then
    echo "ok    $1"
    passed=$((passed + 1))
  else
    echo "FAIL  $1: expected '$2', got '$3'"
    failed=$((failed + 1))
  fi
}
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

check "front page answers 200" 200 "$(status "$SITE_URL/")"
check "login page answers 200" 200 "$(status "$SITE_URL/wp-login.php")"
check "pretty permalink /hello-world/ answers 200" 200 "$(status "$SITE_URL/hello-world/")"

jar="$(mktemp)"
trap 'rm -f "$jar"' EXIT
curl -s -c "$jar" -b "$jar" -o /dev/null "$SITE_URL/wp-login.php" # sets WordPress's test cookie
login="$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{http_code} %{redirect_url}' \
  --data-urlencode log=admin --data-urlencode "pwd=$(cat "$RUN_DIR/admin-password")" \
  --data-urlencode wp-submit="Log In" --data-urlencode testcookie=1 \
  --data-urlencode redirect_to="$SITE_URL/wp-admin/" "$SITE_URL/wp-login.php")"
check "admin logs in (302 to the dashboard)" "302 $SITE_URL/wp-admin/" "$login"
check "dashboard answers 200 to the logged-in admin" 200 "$(status -b "$jar" "$SITE_URL/wp-admin/")"

probe="$(curl -s "$SITE_URL/probe.php")"
field() { php -r '$p = json_decode($argv[1], true); echo json_encode($p[$argv[2]] ?? null);' "$probe" "$1"; }
check "php-fpm has the crmhook extension loaded" true "$(field extension_loaded)"
check "php-fpm has opcache enabled" true "$(field opcache_enabled)"
check "probe is served by php-fpm" '"fpm-fcgi"' "$(field php_sapi)"

check "wp.php: extension loaded in the CLI" true "$(php "$SITE_SCRIPTS/wp.php" 'extension_loaded("crmhook")')"
if [ -f "$PLUGIN_SRC/crmhook.php" ]; then
  check "wp.php: the crmhook plugin is active" true \
    "$(php "$SITE_SCRIPTS/wp.php" 'in_array("crmhook/crmhook.php", get_option("active_plugins"), true)')"
fi

echo "$passed passed, $failed failed"
((failed == 0))
