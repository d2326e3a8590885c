#!/usr/bin/env bash
# Installs the Debian tools the end-to-end tests and the demo drive (ping, curl, nc, arping,
# tshark, nft, ...), only those missing, only as root. Idempotent and quiet when all are present.
# Usage: scripts/install-test-tools.sh [--check]   (--check: list what is missing, install nothing)
set -euo pipefail

# command -> Debian package
declare -A tools=(
  [ping]=iputils-ping
  [curl]=curl
  [wget]=wget
  [nc]=netcat-openbsd
  [arping]=arping
  [tshark]=tshark
  [nft]=nftables
  [ip]=iproute2
  [tcpdump]=tcpdump
  [socat]=socat
  [ab]=apache2-utils
  [wrk]=wrk
  [ethtool]=ethtool
  [sha256sum]=coreutils
  [chromium]=chromium
  [setpriv]=util-linux
  [dig]=bind9-dnsutils
  [hping3]=hping3
  [python3]=python3
)

# Several test files may call this at once: one apt-get at a time.
if [ "$(id -u)" -eq 0 ]; then exec 9>/run/lock/tapstack-install-test-tools.lock; flock 9; fi

missing=()
for cmd in "${!tools[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${tools[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "${1:-}" = "--check" ]; then
  printf '%s\n' "${missing[@]}" | sort -u
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-tools: missing ${missing[*]}; run as root to install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer for it.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt_log=$(mktemp)
trap 'rm -f "$apt_log"' EXIT
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u); } >"$apt_log" 2>&1; then
  echo "install-test-tools: apt-get failed:" >&2
  tail -20 "$apt_log" >&2
  exit 1
fi
echo "install-test-tools: installed $(printf '%s ' "${missing[@]}" | xargs -n1 | sort -u | xargs)"
