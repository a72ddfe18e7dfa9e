#!/usr/bin/env bash
# The CRM emulator's lifecycle: start | stop | status. Binds to 127.0.0.1 only.
# Env: EMULATOR_PORT (8790), EMULATOR_STATE ($RUN_DIR/emulator, RUN_DIR defaulting to <repo>/.run), EMULATOR_WORKERS (4).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
port="${EMULATOR_PORT:-8790}"
export EMULATOR_STATE="${EMULATOR_STATE:-${RUN_DIR:-$repo/.run}/emulator}"
pidfile="$EMULATOR_STATE/emulator.pid"
url="http://127.0.0.1:$port"

running() {
  [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$(cat "$pidfile")/cmdline" 2>/dev/null | grep -qF "$here/router.php"
}

case "${1:-}" in
start)
  mkdir -p "$EMULATOR_STATE"
  if running; then echo "emulator: already running at $url"; exit 0; fi
  if curl -fsS -o /dev/null -m 2 "$url/_emulator/calls" 2>/dev/null; then
    echo "emulator: 127.0.0.1:$port already answers, but not as this checkout's emulator: stop it or set EMULATOR_PORT" >&2
    exit 1
  fi
  # Parallel workers, so a site's concurrent webhooks are served at once (PHP forks them).
  PHP_CLI_SERVER_WORKERS="${EMULATOR_WORKERS:-4}" setsid php -S "127.0.0.1:$port" "$here/router.php" \
    </dev/null >>"$EMULATOR_STATE/emulator.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 100); do
    # Ours must be alive first: a server left on the port by someone else must not pass for it.
    running || break
    curl -fsS -o /dev/null -X POST "$url/_emulator/reset" 2>/dev/null && { echo "emulator: $url"; exit 0; }
    sleep 0.1
  done
  tail -5 "$EMULATOR_STATE/emulator.log" >&2 || true
  echo "emulator: did not start on $url" >&2
  exit 1
  ;;
stop)
  # The server's pid is also its process group (setsid). Its workers stay in that group even when
  # the server itself is gone (a `drop` fault ends a worker, and PHP's server then exits, leaving
  # the other workers on the port), so the group is ended by its members, not by the leader.
  if [ -s "$pidfile" ]; then
    group="$(cat "$pidfile")"
    members() {
      for stat in /proc/[0-9]*/stat; do
        p="${stat#/proc/}"; p="${p%/stat}"
        [ "$(awk '{print $5}' "$stat" 2>/dev/null)" = "$group" ] &&
          tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$here/router.php" && echo "$p"
      done
      return 0
    }
    pids="$(members)"
    [ -n "$pids" ] && kill -TERM $pids 2>/dev/null
    for _ in $(seq 30); do [ -z "$(members)" ] && break; sleep 0.1; done
    pids="$(members)"
    # A worker busy in a request (a delay fault) can outlive the TERM.
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
  fi
  rm -f "$pidfile"
  ;;
status)
  if running; then echo "emulator: running at $url (pid $(cat "$pidfile"))"; else echo "emulator: not running"; exit 1; fi
  ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac
