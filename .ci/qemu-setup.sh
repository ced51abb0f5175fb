#!/usr/bin/env bash
# Prepares the real cgroup v2 test guest (internal/testenv/qemu): installs
# qemu, then fetches the Debian cloud kernel with `apt-get download` and
# unpacks it with `dpkg-deb -x` into $RIGHTSIZE_QEMU_CACHE (default
# /var/cache/rightsize-qemu as root). The kernel package is never installed.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

updated=""
apt_update() {
	if [ -z "$updated" ]; then
		$sudo apt-get update -qq
		updated=1
	fi
}

if ! command -v qemu-system-x86_64 >/dev/null; then
	apt_update
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
fi

# PrepareKernel needs current package lists to resolve the kernel package;
# it does nothing when the kernel is already cached.
if ! go run ./internal/testenv/qemu/cmd/qemu-prepare; then
	apt_update
	go run ./internal/testenv/qemu/cmd/qemu-prepare
fi
