#!/usr/bin/env bash
# Starts the real WordPress site of the harness: a private MariaDB, php-fpm 8.2 with the crmhook
# extension and opcache, and nginx, all on 127.0.0.1 and all under $RUN_DIR. Idempotent: it starts
# only what is not running, installs WordPress only once, and restarts a service only when its
# configuration (or, for php-fpm, the extension's .so) changed since it started.
#
#   scripts/site/up.sh            start (or check) everything
#   scripts/site/up.sh --reset    the same, with the demo site's database wiped and WordPress installed afresh
#
# A second php-fpm master (pool crmhook-b, 4 workers) behind a second nginx port, SITE2_PORT
# (SITE_PORT + 1), serves the same files and database: two "web servers" sharing one queue.
#
# Env: RUN_DIR (default <repo>/.run), SITE_PORT (8088), SITE2_PORT (SITE_PORT + 1), DB_PORT (3307),
#      CRMHOOK_SO (<repo>/target/release/libcrmhook.so), WP_DEBUG=1 to turn WordPress debugging on,
#      CRMHOOK_LANE (1: the fast lane's INI on in both pools; 0 off).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

reset=0
case "${1:-}" in
  "") ;;
  --reset) reset=1 ;;
  *) die "usage: $0 [--reset]" ;;
esac

# ---- preflight: everything we run must exist, before anything is started ---------------------------
missing=()
for bin in mariadbd:mariadb-server mariadb-install-db:mariadb-server mariadb:mariadb-client \
  mariadb-admin:mariadb-client php-fpm8.2:php8.2-fpm php:php8.2-cli nginx:nginx; do
  command -v "${bin%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${bin%%:*}" ] || missing+=("${bin#*:}")
done
[ -f "$WP_SRC/wp-settings.php" ] || missing+=(wordpress)
php -r 'exit(extension_loaded("mysqli") ? 0 : 1);' 2>/dev/null || missing+=(php8.2-mysql)
((${#missing[@]} == 0)) || die "missing Debian packages: ${missing[*]} (run scripts/deps.sh)"
export PATH="$PATH:/usr/sbin"
[ -f "$CRMHOOK_SO" ] || die "no extension at $CRMHOOK_SO: build it first (cargo build --release) or set CRMHOOK_SO"
CRMHOOK_SO="$(cd "$(dirname "$CRMHOOK_SO")" && pwd)/$(basename "$CRMHOOK_SO")"
# A unix socket path must fit in 108 bytes.
((${#DB_SOCK} < 100 && ${#FPM_SOCK} < 100)) || die "RUN_DIR is too long for unix sockets: $RUN_DIR"

mkdir -p "$RUN_DIR" "$LOG_DIR" "$MAIL_DIR" "$DB_DIR" "$FPM_DIR" "$PHP_INI_DIR" "$NGINX_DIR/tmp"
exec 9>"$RUN_DIR/.lock"
flock 9 # one up/down at a time (daemons are started with 9>&- so they do not hold it)

started_at=$(date +%s.%N)

# secret FILE: a random password kept in FILE (mode 600), made once.
secret() {
  if [ ! -s "$1" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24 >"$1")
  fi
  cat "$1"
}
admin_password="$(secret "$RUN_DIR/admin-password")"
db_password="$(secret "$RUN_DIR/db-password")"

# A stamp: a hash of what a service was started with, kept in $RUN_DIR/NAME.stamp; a running service
# whose stamp no longer matches its config is restarted.
stamp_file() { echo "$RUN_DIR/$1.stamp"; }
stamp_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# ---- MariaDB ---------------------------------------------------------------------------------------
cat >"$DB_CNF" <<EOF
# Written by scripts/site/up.sh. A private MariaDB for the crmhook harness: loopback only.
[client]
socket = $DB_SOCK
port = $DB_PORT
user = $RUN_USER

[mysqld]
user = $RUN_USER
datadir = $DB_DIR/data
socket = $DB_SOCK
pid-file = $DB_PID
port = $DB_PORT
bind-address = 127.0.0.1
log-error = $LOG_DIR/mariadb.log
skip-name-resolve
skip-log-bin
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
performance_schema = OFF
innodb_buffer_pool_size = 128M
# A throwaway test site: don't fsync every commit.
innodb_flush_log_at_trx_commit = 2
innodb_buffer_pool_dump_at_shutdown = OFF
innodb_buffer_pool_load_at_startup = OFF
max_connections = 200
EOF

db_stamp="$(stamp_of "$DB_CNF")"
if db_running && [ "$(cat "$(stamp_file mariadb)" 2>/dev/null)" != "$db_stamp" ]; then
  say "MariaDB configuration changed: restarting it"
  stop_pid mariadbd "$DB_PID" "$DB_CNF"
fi

if [ ! -d "$DB_DIR/data/mysql" ]; then
  say "initializing MariaDB in $DB_DIR/data"
  rm -rf "$DB_DIR/data"
  mariadb-install-db --defaults-file="$DB_CNF" --user="$RUN_USER" --skip-test-db \
    --auth-root-authentication-method=socket >"$LOG_DIR/mariadb-install.log" 2>&1 ||
    { log_tail "$LOG_DIR/mariadb-install.log"; die "mariadb-install-db failed"; }
fi

if ! db_running; then
  port_busy "$DB_PORT" && die "127.0.0.1:$DB_PORT is taken by another process: set DB_PORT to a free port"
  rm -f "$DB_PID" "$DB_SOCK"
  say "starting MariaDB on 127.0.0.1:$DB_PORT"
  setsid mariadbd --defaults-file="$DB_CNF" </dev/null >>"$LOG_DIR/mariadb.log" 2>&1 9>&- &
  db_launcher=$!
  for ((i = 0; i < 600; i++)); do
    mariadb-admin --defaults-file="$DB_CNF" --connect-timeout=1 ping >/dev/null 2>&1 && break
    kill -0 "$db_launcher" 2>/dev/null || { log_tail "$LOG_DIR/mariadb.log"; die "MariaDB exited during start"; }
    sleep 0.1
  done
  db_running || { log_tail "$LOG_DIR/mariadb.log"; die "MariaDB did not start in 60 s"; }
  echo "$db_stamp" >"$(stamp_file mariadb)"
fi

reset_sql=""
if ((reset)); then
  say "resetting the database 'wordpress'"
  reset_sql="DROP DATABASE IF EXISTS wordpress;"
fi
db_sql <<EOF || { log_tail "$LOG_DIR/mariadb.log"; die "could not create the databases"; }
$reset_sql
CREATE DATABASE IF NOT EXISTS wordpress CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS wordpress_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'crmhook'@'localhost' IDENTIFIED BY '$db_password';
CREATE USER IF NOT EXISTS 'crmhook'@'127.0.0.1' IDENTIFIED BY '$db_password';
ALTER USER 'crmhook'@'localhost' IDENTIFIED BY '$db_password';
ALTER USER 'crmhook'@'127.0.0.1' IDENTIFIED BY '$db_password';
GRANT ALL PRIVILEGES ON wordpress.* TO 'crmhook'@'localhost', 'crmhook'@'127.0.0.1';
GRANT ALL PRIVILEGES ON wordpress_test.* TO 'crmhook'@'localhost', 'crmhook'@'127.0.0.1';
EOF

# ---- WordPress files -------------------------------------------------------------------------------
# Debian's /usr/share/wordpress is not a site: its wp-config.php reads /etc/wordpress/config-<host>.php,
# and its wp-content lives in /var/lib/wordpress with symlinks into the system. We copy the core with
# every symlink dereferenced into a self-contained site, with our own wp-config.php and wp-content.
wp_version_mark="$(dpkg-query -W -f='${Version}' wordpress 2>/dev/null) themes: $(ls "$WP_SRC/wp-content/themes" 2>/dev/null | tr '\n' ' ')"
if [ "$(cat "$WP_DIR/.crmhook-source" 2>/dev/null)" != "$wp_version_mark" ]; then
  say "copying WordPress from $WP_SRC ($wp_version_mark)"
  mkdir -p "$WP_DIR"
  tar -C "$WP_SRC" -chf - --exclude=./wp-config.php --exclude=./.htaccess \
    --exclude=./wp-content/plugins/akismet . | tar -C "$WP_DIR" -xf -
  echo "$wp_version_mark" >"$WP_DIR/.crmhook-source"
fi
mkdir -p "$WP_DIR/wp-content/plugins" "$WP_DIR/wp-content/themes" "$WP_DIR/wp-content/uploads"
if ! ls -d "$WP_DIR"/wp-content/themes/*/ >/dev/null 2>&1; then
  warn "no theme installed (Debian package wordpress-theme-twentytwentythree): pages will render blank"
fi
if ((reset)); then
  find "$WP_DIR/wp-content/uploads" "$MAIL_DIR" -mindepth 1 -delete
fi

if [ ! -s "$WP_DIR/wp-salts.php" ]; then
  php -r 'echo "<?php\n// Unique keys and salts of this site, made once by scripts/site/up.sh.\n";
    foreach (["AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
              "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"] as $k) {
        printf("define(%s, %s);\n", var_export($k, true), var_export(bin2hex(random_bytes(32)), true));
    }' >"$WP_DIR/wp-salts.php.tmp"
  mv "$WP_DIR/wp-salts.php.tmp" "$WP_DIR/wp-salts.php"
fi

wp_debug=false
[ "${WP_DEBUG:-0}" = 1 ] && wp_debug=true
cat >"$WP_DIR/wp-config.php" <<EOF
<?php
// Written by scripts/site/up.sh on every start: change that script, not this file.

// phpunit-bootstrap.php (and \`wp.php --tests\`) define CRMHOOK_SITE_TESTS to use the test database.
if (defined('CRMHOOK_SITE_TESTS') && CRMHOOK_SITE_TESTS) {
    define('DB_NAME', 'wordpress_test');
    \$table_prefix = 'wptests_';
} else {
    define('DB_NAME', 'wordpress');
    \$table_prefix = 'wp_';
}
define('DB_USER', 'crmhook');
define('DB_PASSWORD', '$db_password');
define('DB_HOST', 'localhost:$DB_SOCK'); // the private MariaDB's socket (also on 127.0.0.1:$DB_PORT)
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');

require __DIR__ . '/wp-salts.php';

define('WP_HOME', '$SITE_URL');
define('WP_SITEURL', '$SITE_URL');
if (PHP_SAPI === 'cli' && empty(\$_SERVER['HTTP_HOST'])) {
    // wp.php, install.php and PHPUnit: look like a request to the site.
    \$_SERVER['HTTP_HOST'] = '127.0.0.1:$SITE_PORT';
    \$_SERVER['SERVER_NAME'] = '127.0.0.1';
    \$_SERVER['SERVER_PORT'] = '$SITE_PORT';
    \$_SERVER['REQUEST_URI'] = \$_SERVER['REQUEST_URI'] ?? '/';
    \$_SERVER['REQUEST_METHOD'] = \$_SERVER['REQUEST_METHOD'] ?? 'GET';
}

define('WP_ENVIRONMENT_TYPE', 'local');
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
// No outgoing HTTP from WordPress (update checks, news): only this host and localhost stay reachable.
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('FS_METHOD', 'direct');

defined('WP_DEBUG') || define('WP_DEBUG', $wp_debug); // up.sh with WP_DEBUG=1 turns it on
define('WP_DEBUG_LOG', '$LOG_DIR/php-error.log'); // the same file PHP logs to without WP_DEBUG
define('WP_DEBUG_DISPLAY', false);

if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
EOF

ln -sfn "$PLUGIN_SRC" "$WP_DIR/wp-content/plugins/crmhook"
cp "$SITE_SCRIPTS/probe.php" "$WP_DIR/probe.php"

installed="$(db_sql -N -e "SELECT option_value FROM wordpress.wp_options WHERE option_name = 'siteurl'" 2>/dev/null || true)"
if [ -z "$installed" ]; then
  say "installing WordPress (crmhook demo)"
  site_php "$SITE_SCRIPTS/install.php" >"$LOG_DIR/install.log" 2>&1 ||
    { log_tail "$LOG_DIR/install.log"; log_tail "$LOG_DIR/php-error.log"; die "WordPress install failed"; }
  cat "$LOG_DIR/install.log"
fi

# ---- php-fpm ---------------------------------------------------------------------------------------
cat >"$PHP_INI_DIR/90-crmhook-site.ini" <<EOF
; Written by scripts/site/up.sh: the harness's PHP settings, read after Debian's fpm conf.d.
opcache.enable = 1
; Checked on every request, so an edit to the plugin is served at once.
opcache.validate_timestamps = 1
opcache.revalidate_freq = 0
opcache.memory_consumption = 128
opcache.max_accelerated_files = 20000
memory_limit = 256M
; Bodies larger than the plugin's own limit must reach the plugin, which answers 413 in JSON.
post_max_size = 64M
upload_max_filesize = 64M
display_errors = Off
log_errors = On
error_log = $LOG_DIR/php-error.log
; Mail goes to files in $MAIL_DIR, one per message.
sendmail_path = "$SITE_SCRIPTS/sendmail.sh $MAIL_DIR"
EOF
cat >"$PHP_INI_DIR/95-crmhook.ini" <<EOF
; Written by scripts/site/up.sh (CRMHOOK_SO overrides the path).
extension = $CRMHOOK_SO
; The fast lane (docs/fast-lane.md), in both pools: webhooks reach the plugin's lane.php first. It
; takes them only when the site's "Fast lane" setting is ticked (the lane's tests and bench/burst.sh
; tick it), so every other test runs the normal path. CRMHOOK_LANE=0 turns it off (bench/lane.sh).
crmhook.lane = $CRMHOOK_LANE
crmhook.lane_entry = $PLUGIN_SRC/lane.php
crmhook.lane_config = $LANE_CONFIG
EOF
# As root, php-fpm's workers stay root (-R and user = root: the harness's files are root's); as another
# user, php-fpm can switch to nobody else, so the pools name no user and run as the one who started it.
fpm_user=""
fpm_flags=()
if ((AS_ROOT)); then
  fpm_user=$'user = root\ngroup = root'
  fpm_flags=(-R)
fi
mkdir -p "$(dirname "$LANE_CONFIG")"
chmod 700 "$(dirname "$LANE_CONFIG")"
# fpm_global PID: a php-fpm master's [global] section. fpm_pool NAME SOCKET WORKERS [EXTRA]: a pool,
# static (every worker exists from the start), its workers' output to the master's log; error_log and
# log_errors come from 90-crmhook-site.ini, as plain settings: WordPress may redirect them.
fpm_global() {
  printf '[global]\npid = %s\nerror_log = %s\ndaemonize = yes\n' "$1" "$LOG_DIR/php-fpm.log"
}
fpm_pool() {
  printf '\n[%s]\n%s\nlisten = %s\nlisten.mode = 0600\npm = static\npm.max_children = %s\n' "$1" "$fpm_user" "$2" "$3"
  printf 'catch_workers_output = yes\ndecorate_workers_output = no\n%s\n' "${4:-}"
}
{
  echo "; Written by scripts/site/up.sh. php-fpm of the crmhook harness, run as $RUN_USER."
  fpm_global "$FPM_PID"
  # Pages (and everything else): 8 workers, as concurrency tests need at least 8 at once.
  fpm_pool crmhook "$FPM_SOCK" 8
  # Webhooks and queue runners (nginx sends every request whose query names wpf_action or
  # crmhook_runner here): a burst of webhooks queues for these workers, never in front of a
  # visitor's page, and at a lower CPU priority (nice 10), so pages keep the CPU while a burst is
  # accepted and drained. docs/fast-lane.md, "A php-fpm pool of its own".
  fpm_pool crmhook-webhooks "$FPM_BG_SOCK" 8 'process.priority = 10'
} >"$FPM_CONF"
# start_fpm NAME CONF PID SOCK WHAT: starts one php-fpm master on CONF, restarting it when its config
# or the .so changed (a running php-fpm keeps the extension it loaded). NAME names its stamp file.
start_fpm() {
  local name="$1" conf="$2" pid="$3" sock="$4" what="$5" stamp i
  stamp="$(stamp_of "$conf" "$PHP_INI_DIR"/*.ini; stat -L -c '%d:%i:%Y:%s' "$CRMHOOK_SO")"
  if our_pid "$pid" "$conf" >/dev/null && [ "$(cat "$(stamp_file "$name")" 2>/dev/null)" != "$stamp" ]; then
    say "$name configuration or extension changed: restarting it"
    stop_pid "$name" "$pid" "$conf"
  fi
  if ! our_pid "$pid" "$conf" >/dev/null; then
    say "starting $name ($what)"
    rm -f "$pid" "$sock"
    PHP_INI_SCAN_DIR="/etc/php/8.2/fpm/conf.d:$PHP_INI_DIR" setsid php-fpm8.2 "${fpm_flags[@]}" -y "$conf" \
      -c /etc/php/8.2/fpm/php.ini </dev/null >>"$LOG_DIR/php-fpm.log" 2>&1 9>&- ||
      { log_tail "$LOG_DIR/php-fpm.log"; die "$name did not start"; }
    for ((i = 0; i < 100; i++)); do
      our_pid "$pid" "$conf" >/dev/null && [ -S "$sock" ] && break
      sleep 0.1
    done
    our_pid "$pid" "$conf" >/dev/null && [ -S "$sock" ] || { log_tail "$LOG_DIR/php-fpm.log"; die "$name did not start"; }
    echo "$stamp" >"$(stamp_file "$name")"
  fi
}
start_fpm php-fpm "$FPM_CONF" "$FPM_PID" "$FPM_SOCK" "8 workers for pages, 8 for webhooks, crmhook extension from $CRMHOOK_SO"

# The second web server's php-fpm: its own master, pool and socket, the same PHP settings.
{
  echo '; Written by scripts/site/up.sh. The second php-fpm ("web server b") of the crmhook harness.'
  fpm_global "$FPM2_PID"
  fpm_pool crmhook-b "$FPM2_SOCK" 4
} >"$FPM2_CONF"
start_fpm php-fpm-b "$FPM2_CONF" "$FPM2_PID" "$FPM2_SOCK" "4 workers: the second web server, on $SITE2_URL"

# ---- nginx -----------------------------------------------------------------------------------------
# site_server PORT PHP: one web server of the site, WordPress's permalinks, PHP to PHP (an nginx
# fastcgi_pass target: unix:SOCKET, or a variable that chooses one per request).
site_server() {
  cat <<EOS
    server {
        listen 127.0.0.1:$1;
        server_name 127.0.0.1;
        root $WP_DIR;
        index index.php;

        location / {
            try_files \$uri \$uri/ /index.php?\$args;
        }

        location ~ \.php\$ {
            try_files \$uri =404;
            fastcgi_pass $2;
            fastcgi_index index.php;
            include $SITE_SCRIPTS/fastcgi_params;
        }

        location ~ /\. {
            deny all;
        }
    }
EOS
}

cat >"$NGINX_CONF" <<EOF
# Written by scripts/site/up.sh. nginx of the crmhook harness: 127.0.0.1:$SITE_PORT only, run as $RUN_USER.
$( ((AS_ROOT)) && echo 'user root;' )
worker_processes 2;
pid $NGINX_PID;
error_log $LOG_DIR/nginx-error.log warn;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    # The CRMs' URLs carry the access key in the query string (their contract): log the path and
    # the status, never the query, so the key stays out of the logs (README: "Your web server's access log").
    map \$request_uri \$crmhook_log_path {
        "~^(?<path>[^?]*)" \$path;
    }
    log_format crmhook '\$remote_addr [\$time_local] "\$request_method \$crmhook_log_path" \$status \$body_bytes_sent \$request_time';
    access_log $LOG_DIR/nginx-access.log crmhook;
    sendfile on;
    keepalive_timeout 65;
    server_tokens off;
    # Larger than any webhook body limit, so the plugin (not nginx) answers 413.
    client_max_body_size 64m;

    client_body_temp_path $NGINX_DIR/tmp/client_body;
    fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
    proxy_temp_path $NGINX_DIR/tmp/proxy;
    uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
    scgi_temp_path $NGINX_DIR/tmp/scgi;

    # Webhooks (wpf_action) and queue runners (crmhook_runner) to their own pool, pages to theirs.
    map \$args \$crmhook_php {
        "~(^|&)(wpf_action|crmhook_runner)(=|&|\$)" unix:$FPM_BG_SOCK;
        default unix:$FPM_SOCK;
    }

$(site_server "$SITE_PORT" '$crmhook_php')

    # The second web server: the same site, served by the second php-fpm.
$(site_server "$SITE2_PORT" "unix:$FPM2_SOCK")
}
EOF

nginx_stamp="$(stamp_of "$NGINX_CONF" "$SITE_SCRIPTS/fastcgi_params")"
if nginx_running && [ "$(cat "$(stamp_file nginx)" 2>/dev/null)" != "$nginx_stamp" ]; then
  say "nginx configuration changed: restarting it"
  stop_pid nginx "$NGINX_PID" "$NGINX_CONF"
fi
if ! nginx_running; then
  port_busy "$SITE_PORT" && die "127.0.0.1:$SITE_PORT is taken by another process: set SITE_PORT to a free port"
  port_busy "$SITE2_PORT" && die "127.0.0.1:$SITE2_PORT is taken by another process: set SITE2_PORT to a free port"
  say "starting nginx on $SITE_URL"
  rm -f "$NGINX_PID"
  nginx -c "$NGINX_CONF" -p "$NGINX_DIR/" -e "$LOG_DIR/nginx-error.log" </dev/null >>"$LOG_DIR/nginx-error.log" 2>&1 9>&- ||
    { log_tail "$LOG_DIR/nginx-error.log"; die "nginx did not start"; }
  for ((i = 0; i < 50; i++)); do
    nginx_running && break
    sleep 0.1
  done
  nginx_running || { log_tail "$LOG_DIR/nginx-error.log"; die "nginx did not start"; }
  echo "$nginx_stamp" >"$(stamp_file nginx)"
fi

# ---- the plugin ------------------------------------------------------------------------------------
if [ -f "$PLUGIN_SRC/crmhook.php" ]; then
  active="$(db_sql -N -e "SELECT option_value FROM wordpress.wp_options WHERE option_name = 'active_plugins'")"
  if [[ "$active" != *'"crmhook/crmhook.php"'* ]]; then
    say "activating the crmhook plugin"
    site_php "$SITE_SCRIPTS/wp.php" '
      require_once ABSPATH . "wp-admin/includes/plugin.php";
      $result = activate_plugin("crmhook/crmhook.php");
      if (is_wp_error($result)) { fwrite(STDERR, $result->get_error_message() . "\n"); exit(1); }' \
      >"$LOG_DIR/activate.log" 2>&1 ||
      { log_tail "$LOG_DIR/activate.log"; log_tail "$LOG_DIR/php-error.log"; die "the crmhook plugin did not activate"; }
  fi
else
  warn "no plugin at $PLUGIN_SRC/crmhook.php yet: linked, not activated"
fi

# ---- is it really up? --------------------------------------------------------------------------------
# php, not curl: it is here for sure. Prints "<status> <body>" of a GET.
http_get() {
  php -r '$ctx = stream_context_create(["http" => ["ignore_errors" => true, "timeout" => 30, "follow_location" => 0]]);
    $body = @file_get_contents($argv[1], false, $ctx);
    $status = isset($http_response_header[0]) ? explode(" ", $http_response_header[0])[1] : "000";
    echo $status, " ", $body === false ? "" : $body;' "$1"
}
probe="$(http_get "$SITE_URL/probe.php")"
if [[ "$probe" != 200\ * ]] || [[ "$probe" != *'"extension_loaded":true'* ]] || [[ "$probe" != *'"opcache_enabled":true'* ]]; then
  log_tail "$LOG_DIR/nginx-error.log"
  log_tail "$LOG_DIR/php-fpm.log"
  log_tail "$LOG_DIR/php-error.log"
  die "$SITE_URL/probe.php should report the extension and opcache loaded, got: ${probe:0:300}"
fi
home="$(http_get "$SITE_URL/")"
if [[ "$home" != 200\ * ]]; then
  log_tail "$LOG_DIR/nginx-error.log"
  log_tail "$LOG_DIR/php-error.log"
  die "$SITE_URL/ answered ${home:0:3} instead of 200"
fi

cat >"$RUN_DIR/site.env" <<EOF
# Written by scripts/site/up.sh: source it to reach the running site.
SITE_URL=$SITE_URL
SITE_PORT=$SITE_PORT
SITE2_URL=$SITE2_URL
DB_PORT=$DB_PORT
DB_SOCKET=$DB_SOCK
DB_USER=crmhook
DB_PASSWORD=$db_password
WP_DIR=$WP_DIR
ADMIN_USER=admin
ADMIN_PASSWORD_FILE=$RUN_DIR/admin-password
CRMHOOK_SO=$CRMHOOK_SO
EOF
chmod 600 "$RUN_DIR/site.env"

elapsed="$(echo "$started_at $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')"
say "up in ${elapsed}s: $SITE_URL/  (admin: $SITE_URL/wp-admin/  user admin, password $admin_password)"
say "logs in $LOG_DIR, mail in $MAIL_DIR, stop with scripts/site/down.sh"
