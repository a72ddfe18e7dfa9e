# Shared by up.sh, down.sh and reset.sh: where everything lives, and the few helpers they share.
# Sourced, never run. Every path the harness writes is under $RUN_DIR; every port is on 127.0.0.1.

SITE_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SITE_SCRIPTS/../.." && pwd)"

RUN_DIR="${RUN_DIR:-$REPO_ROOT/.run}"
SITE_PORT="${SITE_PORT:-8088}"
DB_PORT="${DB_PORT:-3307}"
# The second "web server": another php-fpm master and nginx port on the same database and files.
SITE2_PORT="${SITE2_PORT:-$((SITE_PORT + 1))}"
CRMHOOK_SO="${CRMHOOK_SO:-$REPO_ROOT/target/release/libcrmhook.so}"
CRMHOOK_LANE="${CRMHOOK_LANE:-1}"

SITE_URL="http://127.0.0.1:$SITE_PORT"
SITE2_URL="http://127.0.0.1:$SITE2_PORT"
PLUGIN_SRC="$REPO_ROOT/wordpress-plugin/crmhook"
WP_SRC=/usr/share/wordpress
WP_DIR="$RUN_DIR/wordpress"
LOG_DIR="$RUN_DIR/logs"
MAIL_DIR="$RUN_DIR/mail"
# The fast lane's configuration file: outside the web root, written by the plugin.
LANE_CONFIG="$RUN_DIR/lane/lane.json"

DB_DIR="$RUN_DIR/mariadb"
DB_CNF="$DB_DIR/my.cnf"
DB_SOCK="$DB_DIR/mariadbd.sock"
DB_PID="$DB_DIR/mariadbd.pid"

FPM_DIR="$RUN_DIR/php-fpm"
FPM_CONF="$FPM_DIR/php-fpm.conf"
FPM_SOCK="$FPM_DIR/php-fpm.sock"
# The pool of webhooks and queue runners (docs/fast-lane.md, "A php-fpm pool of its own").
FPM_BG_SOCK="$FPM_DIR/php-fpm-webhooks.sock"
FPM_PID="$FPM_DIR/php-fpm.pid"
FPM2_CONF="$FPM_DIR/php-fpm-b.conf"
FPM2_SOCK="$FPM_DIR/php-fpm-b.sock"
FPM2_PID="$FPM_DIR/php-fpm-b.pid"
PHP_INI_DIR="$RUN_DIR/php/conf.d"

NGINX_DIR="$RUN_DIR/nginx"

# Who runs the harness. As root, the daemons need telling to stay root (MariaDB and php-fpm refuse
# root otherwise, nginx would drop to nobody); as any other user they simply run as that user, and
# nothing needs root: the ports are above 1024 and every file is under $RUN_DIR.
RUN_USER="$(id -un)"
AS_ROOT=0
[ "$(id -u)" -eq 0 ] && AS_ROOT=1
NGINX_CONF="$NGINX_DIR/nginx.conf"
NGINX_PID="$NGINX_DIR/nginx.pid"

say() { echo "site: $*"; }
warn() { echo "site: warning: $*" >&2; }
die() { echo "site: error: $*" >&2; exit 1; }

# log_tail FILE: the last lines of a log, to show why something failed.
log_tail() {
  if [ -s "$1" ]; then
    echo "---- last lines of $1 ----" >&2
    tail -n "${2:-25}" "$1" >&2
    echo "----" >&2
  fi
}

# our_pid PIDFILE PATTERN: prints the pid when the pid file names a live process whose command line
# contains PATTERN (our own config path), so a recycled pid or a system service is never mistaken for ours.
our_pid() {
  local pid
  [ -s "$1" ] || return 1
  pid="$(tr -dc '0-9' <"$1")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
  echo "$pid"
}

db_running() { our_pid "$DB_PID" "$DB_CNF" >/dev/null; }
fpm_running() { our_pid "$FPM_PID" "$FPM_CONF" >/dev/null; }
fpm2_running() { our_pid "$FPM2_PID" "$FPM2_CONF" >/dev/null; }
nginx_running() { our_pid "$NGINX_PID" "$NGINX_CONF" >/dev/null; }

# alive PID: the process exists and is not a zombie (an exited daemon stays one until init reaps it).
alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }" # the state follows the command name, which may hold spaces
  [ "${stat%% *}" != Z ]
}

# stop_pid NAME PIDFILE PATTERN: TERM, wait up to 30 s, then KILL; removes the pid file.
stop_pid() {
  local name="$1" pidfile="$2" pid i
  if pid="$(our_pid "$pidfile" "$3")"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
      alive "$pid" || break
      sleep 0.05
    done
    if alive "$pid"; then
      warn "$name (pid $pid) did not stop in 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    say "stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
}

# mysql client as the database's superuser, over our socket: unix_socket auth maps the user running the
# harness to the account mariadb-install-db made for it (root, or $RUN_USER).
db_sql() { mariadb --defaults-file="$DB_CNF" "$@"; }

# php CLI the way the site runs it: with the extension, and mail captured in $MAIL_DIR.
site_php() {
  php -d "extension=$CRMHOOK_SO" -d "sendmail_path=$SITE_SCRIPTS/sendmail.sh $MAIL_DIR" -d "crmhook.lane_config=$LANE_CONFIG" "$@"
}

# port_busy PORT: something already accepts connections on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# write_if_changed FILE: stdin becomes FILE unless FILE already holds exactly that; returns 0 when it changed.
write_if_changed() {
  local tmp
  tmp="$(mktemp "$1.XXXXXX")"
  cat >"$tmp"
  if [ -f "$1" ] && cmp -s "$tmp" "$1"; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$1"
  return 0
}

export RUN_DIR SITE_PORT SITE2_PORT DB_PORT CRMHOOK_SO
