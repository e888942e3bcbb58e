#!/usr/bin/env bash
# Runs the cgroup v2 tests (test/vm/main.ts, compiled) in one throwaway VM with a pure cgroup
# v2 kernel: memory kills at memory.max, CPU throttling at cpu.max, PSI. Builds nothing: run
# `npm run build` first. The VM runner installs what it needs on first use (apt-get:
# qemu-system-x86, linux-image-amd64, busybox-static, xz-utils); runc and conmon come from
# this host, whose root the guest mounts read-only.
set -euo pipefail
cd "$(dirname "$0")/../.."

entry=dist/test/vm/main.js
if [ ! -f "$entry" ]; then
	echo "test:vm: $entry is missing: run npm run build first" >&2
	exit 1
fi
for tool in runc conmon; do
	command -v "$tool" >/dev/null || { echo "test:vm: $tool is not installed on this host" >&2; exit 1; }
done

vm=${BERTH_CGROUP2_VM:-../shared/vm/run-in-cgroup2-vm}
if [ ! -x "$vm" ]; then
	echo "test:vm: no executable $vm: check out the shared tree as ../shared beside this checkout," \
		"or set BERTH_CGROUP2_VM to its run-in-cgroup2-vm" >&2
	exit 1
fi
started=$(date +%s)
rc=0
"$vm" --mem 2G --cpus 2 --timeout 12m -- \
	node --test-reporter=spec "$entry" || rc=$?
echo "test:vm: VM run took $(($(date +%s) - started)) s (exit $rc)" >&2
exit "$rc"
