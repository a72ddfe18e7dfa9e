#!/usr/bin/env bash
# Stops what up.sh started, and only that: nginx, php-fpm and MariaDB, each found by its pid file in
# $RUN_DIR and checked to be running our own config. Waits for each to exit and removes its pid file.
# Harmless when nothing runs. The site's files and database stay: the next up.sh is a warm start.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -d "$RUN_DIR" ] || exit 0
exec 9>"$RUN_DIR/.lock"
flock 9

stop_pid nginx "$NGINX_PID" "$NGINX_CONF"
stop_pid php-fpm "$FPM_PID" "$FPM_CONF"
stop_pid php-fpm-b "$FPM2_PID" "$FPM2_CONF"
stop_pid mariadbd "$DB_PID" "$DB_CNF"
rm -f "$FPM_SOCK" "$FPM_BG_SOCK" "$FPM2_SOCK" "$RUN_DIR"/*.stamp
