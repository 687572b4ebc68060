#!/usr/bin/env bash
# eng/fresh-machine-check.sh — proves that ./test.sh installs everything the tests need on a fresh Debian 12.
#
# A package that is on this machine only because someone installed it by hand, or only as another package's
# Recommends, makes CI green here and red on a new machine. This script builds a minimal Debian 12 (bookworm) in a
# chroot with debootstrap, copies the repository in, lends it this machine's .NET SDK (bind mount: the SDK is the one
# thing a fresh machine is given), and there runs:
#   default   ./test.sh --install-only, then every fixture's prerequisites for real (slapd, samba-tool domain
#             provision, Chromium headless, Node.js and npm, openssl) — a few minutes;
#   --full    the whole ./test.sh inside the chroot (needs ports 389/636 free on 127.0.0.1, like ./test.sh).
# Run as root. The chroot is kept in $DEPROV_FRESH_ROOT (default /var/tmp/deprov-fresh) between runs; --clean starts over.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHROOT="${DEPROV_FRESH_ROOT:-/var/tmp/deprov-fresh}"
MIRROR="${DEPROV_FRESH_MIRROR:-http://deb.debian.org/debian}"
mode=prereqs
for arg in "$@"; do
  case "$arg" in
    --full) mode=full ;;
    --clean) rm -rf "$CHROOT" ;;
    *) echo "usage: $0 [--clean] [--full]" >&2; exit 64 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine-check: run as root (debootstrap and chroot need it)." >&2; exit 1; }
command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }

if [ ! -x "$CHROOT/usr/bin/apt-get" ]; then
  echo "fresh-machine-check: debootstrap bookworm into $CHROOT"
  debootstrap --variant=minbase bookworm "$CHROOT" "$MIRROR" >/tmp/deprov-debootstrap.log 2>&1 \
    || { tail -20 /tmp/deprov-debootstrap.log >&2; exit 1; }
  cat >"$CHROOT/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
fi

mounts=()
cleanup() {
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() { mkdir -p "$CHROOT$2"; mount --bind "$1" "$CHROOT$2"; mounts+=("$CHROOT$2"); }
mount -t proc proc "$CHROOT/proc" && mounts+=("$CHROOT/proc")
bind /dev /dev
bind /dev/pts /dev/pts
bind /sys /sys
bind "$(dirname "$(readlink -f "$(command -v dotnet)")")" /usr/share/dotnet
cp /etc/resolv.conf "$CHROOT/etc/resolv.conf"
# The machine's own trust anchors (a network that inspects TLS adds its CA there): the chroot reaches the package
# registries the way this machine does, or npm and NuGet fail on the certificate before anything is tested.
mkdir -p "$CHROOT/usr/local/share/ca-certificates"
cp -r /usr/local/share/ca-certificates/. "$CHROOT/usr/local/share/ca-certificates/" 2>/dev/null || true
ln -sf /usr/share/dotnet/dotnet "$CHROOT/usr/bin/dotnet"

# A clean copy of the committed tree (what CI clones), not the working folder.
rm -rf "$CHROOT/repo"
mkdir -p "$CHROOT/repo"
git -C "$ROOT" archive HEAD | tar -x -C "$CHROOT/repo"
# The SDK's first run wants git for nothing here, but the tests read no git; ca-certificates for NuGet and npm.
chroot "$CHROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive \
  bash -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates libicu72 >/dev/null && update-ca-certificates >/dev/null'

run() { chroot "$CHROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb \
  NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt bash -c "cd /repo && $1"; }
if [ "$mode" = full ]; then
  run './test.sh'
  exit $?
fi

run './test.sh --install-only'
echo "fresh-machine-check: probing each fixture's prerequisites inside the chroot"
run 'eng/fixture-prereqs.sh'
