#!/usr/bin/env bash
# berth as a systemd service, in one throwaway VM whose PID 1 is systemd (test/vm/run-in-
# systemd-vm): install, READY, reload, restart with running containers, watchdog restart of
# a hung agent, uninstall. Runs the compiled test/vm/systemd/service.vm.ts; builds nothing:
# run `npm run build` first. Slow (a few minutes under emulation): not part of `npm test`.
set -euo pipefail
cd "$(dirname "$0")/../.."

entry=dist/test/vm/systemd/service.vm.js
if [ ! -f "$entry" ]; then
	echo "test:vm: $entry is missing: run npm run build first" >&2
	exit 1
fi
for tool in runc conmon systemd-notify /lib/systemd/systemd; do
	command -v "$tool" >/dev/null || { echo "test:vm: $tool is not installed on this host" >&2; exit 1; }
done

started=$(date +%s)
rc=0
test/vm/run-in-systemd-vm --mem 2G --cpus 2 --timeout 15m -- node "$entry" || rc=$?
echo "test:vm: systemd VM run took $(($(date +%s) - started)) s (exit $rc)" >&2
exit "$rc"
