#!/usr/bin/env bash
# Runs `make test` the way a newcomer would, on a fresh Debian 12 (bookworm) with Rust and
# nothing else of ours: a debootstrap chroot, the repository cloned into it (committed work
# only), the host's Rust toolchain lent read-only, and the README's command. A green run on a
# machine that already has everything installed can hide a missing install step; this cannot.
#
#   sudo scripts/fresh-debian12.sh [DIR]      (DIR: /var/tmp/crmhook-bookworm; reused when present)
#
# Env: FRESH_PORTS_BASE (9400): the chroot shares this machine's network, so its harness listens on
# other ports than a harness already running here. Needs root (debootstrap, chroot, mounts) and the
# debootstrap package; reaches only Debian's mirror, crates.io and the npm registry.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "fresh-debian12: run as root (debootstrap and chroot need it)" >&2; exit 1; }
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-/var/tmp/crmhook-bookworm}"
base="${FRESH_PORTS_BASE:-9400}"
rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"

command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
if [ ! -x "$dir/bin/bash" ]; then
  echo "fresh-debian12: debootstrap bookworm into $dir"
  debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian >"$dir.debootstrap.log" 2>&1 ||
    { tail -20 "$dir.debootstrap.log" >&2; exit 1; }
fi

mounts=()
mount_into() { # mount_into SOURCE TARGET [OPTIONS]
  mkdir -p "$dir$2"
  mount ${3:+-o "$3"} --bind "$1" "$dir$2"
  mounts=("$dir$2" "${mounts[@]}")
}
cleanup() {
  for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
mount_into /proc /proc
mount_into /sys /sys
mount_into /dev /dev
mount_into /dev/pts /dev/pts
mount_into /dev/shm /dev/shm
mount_into "$rustup_home" /opt/rust/rustup
mount_into "$cargo_home/bin" /opt/rust/cargo-bin
cp /etc/resolv.conf "$dir/etc/resolv.conf"
# What the installer writes and debootstrap does not: the machine's name resolves locally.
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$(hostname)" >"$dir/etc/hosts"

# What "a Debian 12 machine with Rust" has besides the toolchain: git to clone, make to run the
# README's commands, a C toolchain for the linker (rustup needs it) and CA certificates.
chroot "$dir" /bin/bash -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq &&
  apt-get install -y -qq --no-install-recommends git make ca-certificates build-essential sudo >/dev/null'

# Certificate authorities this machine adds to Debian's (a TLS-inspecting proxy's, say): a fresh
# machine of the same kind has them too, so the chroot gets them and every client is pointed at
# the system bundle, as they are here.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$dir/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$dir/usr/local/share/ca-certificates/"
  chroot "$dir" update-ca-certificates >/dev/null 2>&1
fi
bundle=/etc/ssl/certs/ca-certificates.crt

rm -rf "$dir/root/crmhook"
git clone -q "$repo" "$dir/root/crmhook"

echo "fresh-debian12: CI=true make test in a fresh bookworm chroot (ports from $base)"
chroot "$dir" /usr/bin/env -i HOME=/root PATH=/opt/rust/cargo-bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  RUSTUP_HOME=/opt/rust/rustup CARGO_HOME=/root/.cargo CI=true \
  SSL_CERT_FILE="$bundle" NODE_EXTRA_CA_CERTS="$bundle" CARGO_HTTP_CAINFO="$bundle" \
  SITE_PORT="$base" SITE2_PORT="$((base + 1))" DB_PORT="$((base + 2))" EMULATOR_PORT="$((base + 3))" \
  /bin/bash -c 'mkdir -p /root/.cargo && ln -sfn /opt/rust/cargo-bin /root/.cargo/bin && cd /root/crmhook && make test'
