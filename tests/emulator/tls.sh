#!/usr/bin/env bash
# HTTPS in front of the CRM emulator, as every real CRM speaks it: start | stop | status.
#
# Makes a private CA and, with it, certificates that are good or bad in one way each, and runs
# nginx with one TLS port per certificate, each proxying to the emulator (keep-alive on both
# sides). The tests point the CRM clients at these ports:
#
#   TLS_PORT     127.0.0.1 and localhost, signed by the private CA         (good once trusted)
#   TLS_PORT+1   only for crm.example.com, signed by the private CA        (wrong host name)
#   TLS_PORT+2   127.0.0.1, signed by the private CA, expired in 2020      (expired)
#   TLS_PORT+3   127.0.0.1, signed by another CA that nobody trusts         (unknown issuer)
#
# The CA certificate is $TLS_DIR/ca.pem; the access log ($TLS_DIR/access.log) names each
# request's TLS connection and its number on it, so tests can see connections being reused.
# Env: EMULATOR_PORT (8790), TLS_PORT (EMULATOR_PORT + 1), TLS_DIR (<RUN_DIR>/tls).
set -euo pipefail
# nginx is in /usr/sbin, which only root's PATH has on Debian.
export PATH="$PATH:/usr/sbin"
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
emulator_port="${EMULATOR_PORT:-8790}"
port="${TLS_PORT:-$((emulator_port + 1))}"
dir="${TLS_DIR:-${RUN_DIR:-$repo/.run}/tls}"
pidfile="$dir/nginx.pid"

running() {
  [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$(cat "$pidfile" 2>/dev/null)/cmdline" 2>/dev/null | grep -qF "$dir/nginx.conf"
}

# cert NAME CA SUBJECT_ALT_NAMES [START END]: a key and a certificate signed by CA (ca or other).
cert() {
  local name="$1" ca="$2" san="$3" start="${4:-}" end="${5:-}"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -out "$dir/$name.csr" \
    -subj "/CN=${san%%,*}" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" >"$dir/$name.ext"
  if [ -z "$start" ]; then
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" -CAcreateserial \
      -days 30 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
  else
    # `openssl x509` cannot date a certificate in the past; `openssl ca` can.
    mkdir -p "$dir/ca-db" && : >"$dir/ca-db/index.txt" && echo 1000 >"$dir/ca-db/serial"
    cat >"$dir/ca-db/ca.cnf" <<EOC
[ca]
default_ca = test
[test]
database = $dir/ca-db/index.txt
serial = $dir/ca-db/serial
new_certs_dir = $dir/ca-db
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
EOC
    openssl ca -batch -config "$dir/ca-db/ca.cnf" -cert "$dir/$ca.pem" -keyfile "$dir/$ca.key" \
      -startdate "$start" -enddate "$end" -extfile "$dir/$name.ext" -notext \
      -in "$dir/$name.csr" -out "$dir/$name.pem" 2>/dev/null
  fi
}

make_certificates() {
  rm -rf "$dir/ca-db"
  for ca in ca other-ca; do
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -keyout "$dir/$ca.key" -out "$dir/$ca.pem" \
      -subj "/CN=crmhook test $ca" -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  done
  cert good ca "IP:127.0.0.1,DNS:localhost"
  cert wrong-host ca "DNS:crm.example.com"
  cert expired ca "IP:127.0.0.1,DNS:localhost" 20200101000000Z 20200201000000Z
  cert untrusted other-ca "IP:127.0.0.1,DNS:localhost"
}

server() {
  cat <<EOC
  server {
    listen 127.0.0.1:$1 ssl;
    ssl_certificate $dir/$2.pem;
    ssl_certificate_key $dir/$2.key;
    location / {
      proxy_pass http://emulator;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host 127.0.0.1:$emulator_port;
    }
  }
EOC
}

case "${1:-}" in
start)
  if running; then echo "tls: already running on 127.0.0.1:$port-$((port + 3))"; exit 0; fi
  mkdir -p "$dir"
  make_certificates
  {
    cat <<EOC
pid $pidfile;
error_log $dir/error.log;
$([ "$(id -u)" -eq 0 ] && echo "user root;")
worker_processes 1;
events { worker_connections 256; }
http {
  log_format connections '\$server_port \$connection \$connection_requests \$status \$request_uri';
  access_log $dir/access.log connections;
  keepalive_timeout 75s;
  upstream emulator { server 127.0.0.1:$emulator_port; keepalive 8; }
EOC
    server "$port" good
    server "$((port + 1))" wrong-host
    server "$((port + 2))" expired
    server "$((port + 3))" untrusted
    echo "}"
  } >"$dir/nginx.conf"
  : >"$dir/access.log"
  nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log"
  for _ in $(seq 50); do running && break; sleep 0.1; done
  running || { tail -5 "$dir/error.log" >&2; echo "tls: nginx did not start" >&2; exit 1; }
  echo "tls: https://127.0.0.1:$port (CA $dir/ca.pem)"
  ;;
stop)
  if running; then
    kill "$(cat "$pidfile")"
    for _ in $(seq 30); do running || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
  ;;
status)
  if running; then echo "tls: running on 127.0.0.1:$port-$((port + 3))"; else echo "tls: not running"; exit 1; fi
  ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac
