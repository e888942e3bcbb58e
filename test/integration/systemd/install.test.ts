// The real `berth install` / `berth uninstall` into a temp tree (--no-start --root), and what
// they do on this host as it is: berth must tell whether systemd is PID 1 as /proc/1 does, and
// without systemd refuse clearly (changing nothing) unless told --no-start. With systemd as PID 1
// they would really install the service on this host, so that path is left to the systemd VM
// test (npm run test:vm:systemd), which boots systemd and runs the real install there.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { systemdIsRunning } from "../../../systemd/install.js";
import { BERTH_BIN, requireBuild } from "../../../harness/agent-process.js";
import { systemdIsPid1 } from "../../../harness/host-kind.js";

function berth(...args: string[]) {
  return execa(process.execPath, [BERTH_BIN, ...args], { reject: false });
}

let root: string;
beforeEach(async () => {
  requireBuild();
  root = await mkdtemp(join(tmpdir(), "berth-install-it-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("berth install", () => {
  it("--no-start --root writes a unit that runs this build with this node, and the default config", async () => {
    const result = await berth("install", "--no-start", "--root", root, "--watchdog-sec", "7");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("wrote /etc/systemd/system/berth.service");
    const unit = await readFile(join(root, "etc/systemd/system/berth.service"), "utf8");
    expect(unit).toContain(`\nExecStart=${process.execPath} ${BERTH_BIN} agent\n`);
    expect(unit).toContain("\nWatchdogSec=7\n");
    expect(unit).toContain("\nType=notify\n");
    expect(await readFile(join(root, "etc/berth/config.yaml"), "utf8")).toMatch(
      /^# berth agent configuration/,
    );
    expect((await stat(join(root, "etc/berth/manifests"))).isDirectory()).toBe(true);

    // A second install keeps the operator's config.
    await writeFile(join(root, "etc/berth/config.yaml"), "logLevel: debug\n");
    const again = await berth("install", "--no-start", "--root", root);
    expect(again.stdout).toContain("kept /etc/berth/config.yaml (exists)");
    expect(await readFile(join(root, "etc/berth/config.yaml"), "utf8")).toBe("logLevel: debug\n");
  });

  it("tells whether systemd is PID 1 as /proc/1 does", async () => {
    expect(await systemdIsRunning()).toBe(await systemdIsPid1());
  });

  it("without systemd as PID 1, refuses to start a service or stop one, and changes nothing", async () => {
    if (await systemdIsPid1()) {
      // Here install would enable the real service; the systemd VM test covers that path.
      expect(existsSync("/run/systemd/system")).toBe(true);
      return;
    }
    const unitExisted = existsSync("/etc/systemd/system/berth.service");
    const configExisted = existsSync("/etc/berth");
    const result = await berth("install");
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/systemd is not running as PID 1 .*--no-start to only write the files/);
    expect(existsSync("/etc/systemd/system/berth.service")).toBe(unitExisted);
    expect(existsSync("/etc/berth")).toBe(configExisted);
    const removal = await berth("uninstall");
    expect(removal.exitCode).toBe(1);
    expect(removal.stderr).toMatch(/systemd is not running as PID 1 .*--no-start to only remove the files/);
    expect(existsSync("/etc/systemd/system/berth.service")).toBe(unitExisted);
  });

  it("refuses --root without --no-start", async () => {
    const result = await berth("install", "--root", root);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("--no-start");
    expect(existsSync(join(root, "etc"))).toBe(false);
  });
});

describe("berth uninstall", () => {
  it("removes the unit and keeps data; --purge removes data too", async () => {
    expect((await berth("install", "--no-start", "--root", root)).exitCode).toBe(0);
    await mkdir(join(root, "var/lib/berth/images"), { recursive: true });
    const kept = await berth("uninstall", "--no-start", "--root", root);
    expect(kept.exitCode, kept.stderr).toBe(0);
    expect(kept.stdout).toContain("removed /etc/systemd/system/berth.service");
    expect(kept.stdout).toContain("kept /var/lib/berth (remove with --purge)");
    expect(existsSync(join(root, "var/lib/berth/images"))).toBe(true);
    const purged = await berth("uninstall", "--no-start", "--root", root, "--purge");
    expect(purged.exitCode, purged.stderr).toBe(0);
    expect(existsSync(join(root, "var/lib/berth"))).toBe(false);
    expect(existsSync(join(root, "etc/berth"))).toBe(false);
  });
});
