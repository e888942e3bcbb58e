#!/usr/bin/env bash
# berth as a systemd service, in one throwaway VM whose PID 1 is systemd (test/vm/run-in-
# systemd-vm): install, READY, reload, restart with running containers, watchdog restart of
# a hung agent, uninstall. Runs the compiled test/vm/systemd/service.vm.ts; builds nothing:
# run `npm run build` first. Slow (5-11 minutes under emulation); `npm test` runs it last.
# Needs the shared VM runner in ../shared/vm beside this checkout (or BERTH_SHARED_VM) and the
# host packages scripts/setup.sh installs; anything missing ends it at once, saying what.
set -euo pipefail
cd "$(dirname "$0")/../.."

entry=dist/test/vm/systemd/service.vm.js
if [ ! -f "$entry" ]; then
	echo "test:vm:systemd: $entry is missing: run npm run build first" >&2
	exit 1
fi
for tool in runc conmon systemd-notify /lib/systemd/systemd; do
	command -v "$tool" >/dev/null ||
		{ echo "test:vm:systemd: $tool is not installed on this host: run scripts/setup.sh" >&2; exit 1; }
done
shared=${BERTH_SHARED_VM:-../shared/vm}
if [ ! -x "$shared/run-in-cgroup2-vm" ]; then
	echo "test:vm:systemd: no executable $shared/run-in-cgroup2-vm: check out the shared tree as ../shared beside" \
		"this checkout, or set BERTH_SHARED_VM to its vm directory" >&2
	exit 1
fi

started=$(date +%s)
rc=0
test/vm/run-in-systemd-vm --mem 2G --cpus 2 --timeout 15m -- node "$entry" || rc=$?
echo "test:vm:systemd: systemd VM run took $(($(date +%s) - started)) s (exit $rc)" >&2
exit "$rc"
