// The real `berth install` / `berth uninstall` into a temp tree (--no-start --root), and
// their refusal on this host, where systemd is not PID 1.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BERTH_BIN, requireBuild } from "../../../harness/agent-process.js";

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

  it("refuses to start a service when systemd is not PID 1, and writes nothing", async () => {
    expect(existsSync("/run/systemd/system"), "this test needs a host without systemd as PID 1").toBe(false);
    const result = await berth("install");
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/systemd is not running as PID 1 .*--no-start/);
    expect(existsSync("/etc/systemd/system/berth.service")).toBe(false);
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
