#!/usr/bin/env bash
# mmdebstrap --customize-hook: turns the Debian minbase root file system ($1) into the
# service's: a virtualenv with the runtime part of requirements.lock, the app, the
# service user, and nothing of the build left behind.
#   customize.sh ROOTFS STAGE
# STAGE (prepared by build.sh, outside the rootfs) holds: uv, ca.crt (the build host's CA
# bundle, for uv's downloads only), requirements.runtime.lock, app.tar.
set -euo pipefail
rootfs="${1:?rootfs}"
stage="${2:?stage dir}"
venv=/opt/venv
app=/app
uid=10001
tmp=/tmp/progress-build  # inside the rootfs; removed below
in_root() { chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"; }

mkdir -p "$rootfs$tmp"
cp "$stage/uv" "$stage/ca.crt" "$stage/requirements.runtime.lock" "$rootfs$tmp/"

# The virtualenv, without pip: uv installs into it and is removed afterwards.
in_root python3 -m venv --without-pip "$venv"
in_root SSL_CERT_FILE="$tmp/ca.crt" UV_NO_CACHE=1 UV_PYTHON_DOWNLOADS=never \
  "$tmp/uv" pip sync --quiet --python "$venv/bin/python" --require-hashes --compile-bytecode \
  "$tmp/requirements.runtime.lock"
# every import the runtime lock's packages declare is satisfied by the lock itself
in_root "$tmp/uv" pip check --quiet --python "$venv/bin/python"

# The app, owned by root and read-only to the service user; its bytecode compiled now
# (the root file system is read-only at run time).
mkdir -p "$rootfs$app"
tar -xf "$stage/app.tar" -C "$rootfs$app" --no-same-owner
chmod -R go-w,a+rX "$rootfs$app"
in_root "$venv/bin/python" -m compileall -q "$app"

# The service user: no home, no login shell, no password.
in_root groupadd --gid "$uid" progress
in_root useradd --uid "$uid" --gid "$uid" --no-create-home --home-dir /nonexistent \
  --shell /usr/sbin/nologin --comment "Progress Service" progress

# What the image holds, for audits and CVE scans: Debian packages and Python packages.
mkdir -p "$rootfs/usr/share/progress-service"
in_root dpkg-query -W -f '${Package}=${Version}\n' >"$rootfs/usr/share/progress-service/debian-packages.txt"
cp "$stage/requirements.runtime.lock" "$rootfs/usr/share/progress-service/requirements.runtime.lock"

# Nothing of the build stays: uv and the CA copy, apt's lists, caches and sources (they
# name the build machine's mirrors), logs, the build host's resolver and host name.
rm -rf "$rootfs$tmp" "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* \
  "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/log/* "$rootfs"/root/.cache \
  "$rootfs"/etc/apt/sources.list.d/* "$rootfs"/etc/apt/sources.list
find "$rootfs$venv" "$rootfs$app" -name '*.dist-info' -prune -o -type d -name '.cache' -print0 \
  | xargs -0r rm -rf
: >"$rootfs/etc/resolv.conf"
: >"$rootfs/etc/hostname"
chmod 0644 "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"  # podman mounts its own over them
