# Runs inside the node's root filesystem (chroot) as root; see install-rootfs.sh.
set -eu
wheel=$(ls /tmp/brexit-install/brexit-*.whl)
version=$(basename "$wheel" | cut -d- -f2)

systemd-sysusers /usr/lib/sysusers.d/brexit.conf

# One venv per release; /opt/brexit/.venv is the current one (brexit-update switches it).
release=/opt/brexit/releases/$version
[ -x "$release/bin/python" ] || python3 -m venv "$release"
"$release/bin/pip" install --disable-pip-version-check --no-cache-dir --quiet \
  --force-reinstall --no-deps "$wheel"
"$release/bin/pip" install --disable-pip-version-check --no-cache-dir --quiet "$wheel"
ln -sfn "$release" /opt/brexit/.venv.new && mv -T /opt/brexit/.venv.new /opt/brexit/.venv
/opt/brexit/.venv/bin/brexit --version

# The site broker's client-id plugin is C, built for this architecture (docs/brokers.md);
# the compiler and headers come with the image's package list.
/opt/brexit/.venv/bin/brexit broker plugin --out /usr/local/lib/brexit

# The boot partition: owned by root, readable and writable by the brexit group only
# (the node's password is there; the self-test writes its report there).
# quiet: chmod/chown there succeed without effect (FAT has no modes), as programs that
# write a file atomically expect.
fstab_options=defaults,uid=0,gid=brexit,fmask=0117,dmask=0007,quiet
if grep -qs '[[:space:]]/boot/firmware[[:space:]]' /etc/fstab; then
  awk -v o="$fstab_options" '$2 == "/boot/firmware" { $4 = o } { print }' /etc/fstab \
    > /etc/fstab.brexit && mv /etc/fstab.brexit /etc/fstab
fi

# The stock broker would take port 1883; the site broker runs the seed's bundle instead.
systemctl disable mosquitto.service 2>/dev/null || true
# The seed's locale must exist: Debian's locale-gen builds only what /etc/locale.gen lists
# (cloud-init 22.4 passes it the name, which Debian's ignores).
if ! locale -a 2>/dev/null | grep -qi '^id_ID\.utf8$'; then
  sed -i 's/^# *\(id_ID\.UTF-8 UTF-8\)/\1/' /etc/locale.gen
  grep -q '^id_ID\.UTF-8 UTF-8' /etc/locale.gen || echo 'id_ID.UTF-8 UTF-8' >> /etc/locale.gen
  locale-gen
fi

systemctl enable brexit-node.service brexit-selftest.service brexit-site-broker.service
rm -rf /tmp/brexit-install
