#!/usr/bin/env bash
# Installs what crmhook needs and is missing, and nothing else: safe to run again and again.
# Debian 12 packages through apt, plus cargo-php (pinned, for `make stubs` and the stubs test).
set -euo pipefail

packages=(php8.2-dev php8.2-cli libclang-dev build-essential phpunit php8.2-curl php8.2-mbstring php8.2-xml
  wordpress wordpress-theme-twentytwentythree mariadb-server mariadb-client php8.2-fpm php8.2-mysql nginx curl
  chromium wrk openssl gettext php-codesniffer)
# The browser test runs on Debian 12's own nodejs (Node 18) or later: tests/browser pins
# playwright-core 1.61.1, the last release that supports Node 18.
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
CARGO_PHP_VERSION=0.2.2

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  # apt needs root: a normal user goes through sudo (for apt-get and this one policy file only).
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # Daemons the packages would start system-wide (nginx, MariaDB, php-fpm) are not needed: the
  # harness runs its own, as the user who runs it. Debian's policy-rc.d hook keeps them from
  # starting while apt installs them, and goes away again afterwards.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy"
    trap '$sudo rm -f "$policy"' EXIT
  fi
  echo "deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cargo_php="${CARGO_HOME:-$HOME/.cargo}/bin/cargo-php"
if ! "$cargo_php" --version 2>/dev/null | grep -q "cargo-php $CARGO_PHP_VERSION"; then
  echo "deps: installing cargo-php $CARGO_PHP_VERSION"
  cargo install --locked --quiet cargo-php --version "$CARGO_PHP_VERSION"
fi

# playwright-core for the browser test (Debian's chromium is the browser: nothing is downloaded).
root="$(cd "$(dirname "$0")/.." && pwd)"
pinned="$(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' "$root/tests/browser/package.json")"
installed="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$root/tests/browser/node_modules/playwright-core/package.json" 2>/dev/null || true)"
if [ "$installed" != "$pinned" ]; then
  echo "deps: installing tests/browser's npm packages (playwright-core $pinned)"
  (cd "$root/tests/browser" && npm ci --no-audit --no-fund --silent)
fi
