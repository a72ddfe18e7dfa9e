#!/usr/bin/env bash
# crmhook_fetch_contact calls/s with connection reuse vs a new connection per call, over plain HTTP
# and over TLS (where reuse also saves the handshake). Starts the emulator and a keep-alive, caching
# nginx front for it on 127.0.0.1:8791 (HTTP) and 8792 (HTTPS, a test CA's certificate from
# tests/emulator/tls.sh, trusted through crmhook.ca_file); stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
export EMULATOR_PORT="${EMULATOR_PORT:-8790}"
FRONT_PORT="${FRONT_PORT:-8791}"
TLS_FRONT_PORT="${TLS_FRONT_PORT:-$((FRONT_PORT + 1))}"
dir="${RUN_DIR:-$PWD/.run}/bench-front"
mkdir -p "$dir"
# Certificates only: tls.sh makes a CA and a certificate for 127.0.0.1; its own nginx is not needed.
export TLS_DIR="$dir/tls" TLS_PORT="${TLS_PORT:-$((FRONT_PORT + 10))}"
tests/emulator/tls.sh start >/dev/null && tests/emulator/tls.sh stop
cat >"$dir/nginx.conf" <<EOC
pid $dir/nginx.pid;
error_log $dir/error.log;
user root;
worker_processes 1;
events { worker_connections 256; }
http {
  access_log off;
  keepalive_timeout 75s;
  keepalive_requests 100000;
  upstream emulator { server 127.0.0.1:$EMULATOR_PORT; }
  # The emulator's answers are cached here, so what is left to measure is the client's side:
  # the extension's request and, without keep-alive, its new connection each time.
  proxy_cache_path $dir/cache keys_zone=emulator:1m;
  server {
    listen 127.0.0.1:$FRONT_PORT;
    listen 127.0.0.1:$TLS_FRONT_PORT ssl;
    ssl_certificate $TLS_DIR/good.pem;
    ssl_certificate_key $TLS_DIR/good.key;
    location / {
      proxy_pass http://emulator;
      proxy_set_header Host 127.0.0.1:$EMULATOR_PORT;
      proxy_cache emulator;
      proxy_cache_valid 200 10m;
      proxy_cache_key \$request_uri\$http_api_token\$http_x_keap_api_key;
    }
  }
}
EOC
tests/emulator/emulator.sh start >/dev/null
nginx -c "$dir/nginx.conf" -p "$dir"
trap 'kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true; tests/emulator/emulator.sh stop >/dev/null 2>&1 || true' EXIT
sleep 0.3
php -d extension="$PWD/target/release/libcrmhook.so" bench/crm_calls.php "http://127.0.0.1:$FRONT_PORT"
echo
php -d extension="$PWD/target/release/libcrmhook.so" -d crmhook.ca_file="$TLS_DIR/ca.pem" bench/crm_calls.php "https://127.0.0.1:$TLS_FRONT_PORT"
