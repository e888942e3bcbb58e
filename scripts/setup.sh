#!/usr/bin/env bash
# Installs everything berth needs on a Debian 12 host, idempotently: the container
# tools from apt and the npm dependencies. Safe to run again; does nothing when all
# is present. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

# Packages berth runs with (runc, conmon, CNI plugins, busybox for the infra process, criu
# for CheckpointContainer),
# builds with (protoc) and tests with (skopeo, a registry, prometheus, kubectl for protocol
# interop, containerd as the benchmark baseline and the remote-runtime tests, qemu with a
# stock kernel for the cgroup v2 VM tests, systemd, whose PID 1 binary boots the systemd VM
# test, plus what its runner repacks the initramfs with, and gcc with libc6-dev for a static
# setuid test program).
apt_packages=(
  runc conmon containernetworking-plugins busybox-static criu
  iproute2 iptables util-linux mount kmod ca-certificates attr coreutils
  protobuf-compiler skopeo docker-registry apache2-utils prometheus kubectl
  qemu-system-x86 linux-image-amd64 xz-utils systemd gzip containerd gcc libc6-dev
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing apt packages (${missing[*]}); run as root" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# overlayfs is how container root filesystems are assembled.
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true

# npm dependencies: reinstall only when the lock file changed since the last install.
stamp=node_modules/.berth-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  # `npm install` rather than `npm ci`: lock files written with omit-lockfile-registry-resolved
  # (as on these machines) record other platforms' optional packages without versions, which
  # `npm ci` rejects. install keeps the locked versions all the same.
  npm install --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
