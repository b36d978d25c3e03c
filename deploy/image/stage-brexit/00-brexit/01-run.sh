#!/bin/bash -e
# pi-gen runs this on the build host with ROOTFS_DIR set; BREXIT_WHEEL is the wheel that
# deploy/image/build.sh made. on_chroot (pi-gen) runs stdin inside the image.
image_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"${image_dir}/install-rootfs.sh" --copy-only "${ROOTFS_DIR}" "${BREXIT_WHEEL:?set by build.sh}"
on_chroot < "${image_dir}/in-root.sh"
