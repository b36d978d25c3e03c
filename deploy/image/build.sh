#!/usr/bin/env bash
# Build the BREXIT golden image with pi-gen (Raspberry Pi OS Lite arm64, Trixie, plus the
# stage in stage-brexit/). Run on a Debian/Ubuntu laptop with Docker, or natively on a
# Raspberry Pi 5 (--native). Needs network (Raspberry Pi's and Debian's archives, PyPI).
#
#   deploy/image/build.sh [--native] [--pi-gen DIR] [--config-only]
#
# --config-only writes the wheel and pi-gen's config and stops (what the tests check).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
pigen=$here/pi-gen
native=0
config_only=0
PI_GEN_URL=https://github.com/RPi-Distro/pi-gen.git
PI_GEN_BRANCH=arm64

while [ $# -gt 0 ]; do
  case "$1" in
    --native) native=1 ;;
    --pi-gen) pigen=$2; shift ;;
    --config-only) config_only=1 ;;
    *) echo "usage: $0 [--native] [--pi-gen DIR] [--config-only]" >&2; exit 2 ;;
  esac
  shift
done

mkdir -p "$here/dist"
rm -f "$here"/dist/brexit-*.whl
python3 -m pip wheel --quiet --no-deps --wheel-dir "$here/dist" "$repo"
wheel=$(ls "$here"/dist/brexit-*.whl)
echo "build: wheel $wheel"

mkdir -p "$pigen"
cat > "$here/dist/config" <<CONFIG
IMG_NAME=brexit
RELEASE=trixie
TARGET_HOSTNAME=brexit
LOCALE_DEFAULT=id_ID.UTF-8
KEYBOARD_KEYMAP=us
KEYBOARD_LAYOUT="English (US)"
TIMEZONE_DEFAULT=Asia/Jakarta
# The technician's login comes from each node's seed (cloud-init); the image's own first
# user is locked and has no password.
FIRST_USER_NAME=brexit-admin
DISABLE_FIRST_BOOT_USER_RENAME=1
ENABLE_SSH=1
PUBKEY_ONLY_SSH=1
STAGE_LIST="stage0 stage1 stage2 $here/stage-brexit"
BREXIT_WHEEL=$wheel
DEPLOY_COMPRESSION=xz
CONFIG
echo "build: pi-gen config $here/dist/config"
[ "$config_only" -eq 1 ] && exit 0

if [ ! -d "$pigen/.git" ]; then
  git clone --depth 1 --branch "$PI_GEN_BRANCH" "$PI_GEN_URL" "$pigen"
fi
cp "$here/dist/config" "$pigen/config"
# pi-gen reads stage-brexit and the wheel from this checkout; the docker build mounts it.
cd "$pigen"
if [ "$native" -eq 1 ]; then
  sudo ./build.sh
else
  PIGEN_DOCKER_OPTS="--volume $repo:$repo:ro" ./build-docker.sh
fi
ls -l "$pigen"/deploy/*.img* 2>/dev/null || true
