#!/bin/sh
# Install BREXIT into an arm64 root filesystem: the project's wheel into /opt/brexit (a
# venv per release, /opt/brexit/.venv pointing at the current one), the systemd units,
# the brexit system user (sysusers.d), cloud-init's seed location, and the boot
# partition's mount options. Used by the pi-gen stage (stage-brexit/00-brexit/01-run.sh)
# and by the boot test's stand-in image, so both install the same way.
#
#   install-rootfs.sh ROOTFS WHEEL              copy, then run in-root.sh with chroot
#   install-rootfs.sh --copy-only ROOTFS WHEEL  copy only (pi-gen then runs
#                                               `on_chroot < in-root.sh` itself)
#
# in-root.sh needs network for pip unless the venv already has the dependencies (the
# stand-in image of the boot test caches them).
set -eu
copy_only=0
if [ "${1:-}" = "--copy-only" ]; then copy_only=1; shift; fi
rootfs=$1
wheel=$2
here=$(cd "$(dirname "$0")" && pwd)
deploy=$(dirname "$here")

[ -d "$rootfs/etc" ] || { echo "install-rootfs: $rootfs is not a root filesystem" >&2; exit 2; }
[ -f "$wheel" ] || { echo "install-rootfs: no wheel at $wheel (python -m pip wheel --no-deps -w dist .)" >&2; exit 2; }

install -d "$rootfs/tmp/brexit-install"
install -m 0644 "$wheel" "$rootfs/tmp/brexit-install/"
install -m 0644 "$deploy/systemd/brexit-node.service" "$deploy/systemd/brexit-selftest.service" \
  "$deploy/systemd/brexit-site-broker.service" "$rootfs/usr/lib/systemd/system/"
install -D -m 0644 "$deploy/sysusers.d/brexit.conf" "$rootfs/usr/lib/sysusers.d/brexit.conf"
install -D -m 0644 "$here/rootfs/etc/cloud/cloud.cfg.d/90-brexit.cfg" \
  "$rootfs/etc/cloud/cloud.cfg.d/90-brexit.cfg"
install -D -m 0755 "$deploy/update/brexit-update" "$rootfs/usr/local/sbin/brexit-update"
install -d "$rootfs/opt/brexit/share"
for doc in README.md docs/deploy.md; do
  [ -f "$deploy/../$doc" ] && install -m 0644 "$deploy/../$doc" "$rootfs/opt/brexit/share/"
done

[ "$copy_only" -eq 1 ] || chroot "$rootfs" /bin/sh < "$here/in-root.sh"
