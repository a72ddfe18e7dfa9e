#!/usr/bin/env bash
# make demo: a real WordPress (MariaDB, nginx, php-fpm with the extension), the plugin, the CRM
# emulator, one webhook per action for each CRM, and where to log in. `make down` stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
export SITE_PORT="${SITE_PORT:-8088}" EMULATOR_PORT="${EMULATOR_PORT:-8790}"
export SITE_URL="http://127.0.0.1:$SITE_PORT" EMULATOR_URL="http://127.0.0.1:$EMULATOR_PORT"

scripts/site/up.sh --reset    # a fresh site every time: every CRM creates its user
tests/emulator/emulator.sh start
php scripts/site/wp.php -f scripts/demo.php

cat <<EOT

Site:   $SITE_URL/
Admin:  $SITE_URL/wp-admin/options-general.php?page=crmhook
Login:  admin / $(cat "${RUN_DIR:-.run}/admin-password")
CRM emulator: $EMULATOR_URL (calls it received: $EMULATOR_URL/_emulator/calls)
Stop everything with: make down
EOT
