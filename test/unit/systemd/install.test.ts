import { access, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  RuntimeFailureError,
} from "../../../common/errors.js";
import {
  installService,
  requireNoStartForRoot,
  systemdVersion,
  uninstallService,
  type CommandRunner,
} from "../../../systemd/install.js";

const unit = { nodeBinary: "/usr/bin/node", mainScript: "/opt/berth/dist/agent/cli/main.js" };

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function recordingRunner(failOn?: string): { calls: string[]; run: CommandRunner } {
  const calls: string[] = [];
  return {
    calls,
    run: async (command, args) => {
      const line = [command, ...args].join(" ");
      calls.push(line);
      if (failOn !== undefined && line.includes(failOn)) {
        return { exitCode: 1, stdout: "", stderr: "Failed to enable unit: Access denied" };
      }
      return { exitCode: 0, stdout: "", stderr: "" };
    },
  };
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "berth-install-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("installService", () => {
  it("with --no-start writes the unit, the commented config and the manifests folder, and runs nothing", async () => {
    const { calls, run } = recordingRunner();
    const report = await installService({ root, start: false, unit, run });
    expect(report.written).toEqual(["/etc/systemd/system/berth.service", "/etc/berth/config.yaml"]);
    expect(calls).toEqual([]);
    const unitText = await readFile(join(root, "etc/systemd/system/berth.service"), "utf8");
    expect(unitText).toContain("ExecStart=/usr/bin/node /opt/berth/dist/agent/cli/main.js agent\n");
    expect((await stat(join(root, "etc/systemd/system/berth.service"))).mode & 0o777).toBe(0o644);
    expect(await readFile(join(root, "etc/berth/config.yaml"), "utf8")).toMatch(
      /^# berth agent configuration/,
    );
    expect((await stat(join(root, "etc/berth/manifests"))).isDirectory()).toBe(true);
  });

  it("keeps an existing config file untouched", async () => {
    await mkdir(join(root, "etc/berth"), { recursive: true });
    await writeFile(join(root, "etc/berth/config.yaml"), "logLevel: debug\n");
    const report = await installService({ root, start: false, unit });
    expect(report.kept).toEqual(["/etc/berth/config.yaml"]);
    expect(await readFile(join(root, "etc/berth/config.yaml"), "utf8")).toBe("logLevel: debug\n");
  });

  it("on a systemd host reloads systemd, then enables and starts berth", async () => {
    const { calls, run } = recordingRunner();
    const report = await installService({ root, start: true, unit, run, systemdRunning: async () => true });
    expect(calls).toEqual(["systemctl daemon-reload", "systemctl enable --now berth.service"]);
    expect(report.commands).toEqual(calls);
    expect(await exists(join(root, "etc/systemd/system/berth.service"))).toBe(true);
  });

  it("reports systemctl's refusal", async () => {
    const { run } = recordingRunner("enable");
    await expect(
      installService({ root, start: true, unit, run, systemdRunning: async () => true }),
    ).rejects.toThrow(
      /systemctl enable --now berth.service failed \(exit 1\): Failed to enable unit: Access denied/,
    );
  });

  it("refuses to start anything when systemd is not PID 1, naming --no-start", async () => {
    const { calls, run } = recordingRunner();
    const attempt = installService({ root, start: true, unit, run, systemdRunning: async () => false });
    await expect(attempt).rejects.toThrow(FailedPreconditionError);
    await expect(attempt).rejects.toThrow(/systemd is not running as PID 1 .*--no-start/);
    expect(calls).toEqual([]);
    expect(await exists(join(root, "etc"))).toBe(false);
  });

  it("--root without --no-start is refused: the tree has no systemd to start anything in", () => {
    expect(() => requireNoStartForRoot(root, true)).toThrow(InvalidArgumentError);
    expect(() => requireNoStartForRoot(root, false)).not.toThrow();
    expect(() => requireNoStartForRoot("/", true)).not.toThrow();
  });
});

describe("systemdVersion", () => {
  it("reads the number from systemctl --version", async () => {
    const run: CommandRunner = async () => ({
      exitCode: 0,
      stdout: "systemd 252 (252.39-1~deb12u2)\n+PAM +AUDIT",
      stderr: "",
    });
    expect(await systemdVersion(run)).toBe(252);
    expect(await systemdVersion(async () => ({ exitCode: 1, stdout: "", stderr: "" }))).toBeUndefined();
    expect(
      await systemdVersion(async () => {
        throw new Error("ENOENT");
      }),
    ).toBeUndefined();
  });
});

describe("uninstallService", () => {
  const dirs = { stateDir: "/var/lib/berth", runDir: "/run/berth", mountinfo: async () => "" };

  async function installedTree(): Promise<void> {
    await installService({ root, start: false, unit });
    await mkdir(join(root, "etc/systemd/system/berth.service.d"), { recursive: true });
    await writeFile(
      join(root, "etc/systemd/system/berth.service.d/override.conf"),
      "[Service]\nWatchdogSec=5\n",
    );
    await mkdir(join(root, "var/lib/berth/images"), { recursive: true });
    await mkdir(join(root, "run/berth/runc"), { recursive: true });
  }

  it("removes the unit and its drop-ins but keeps config and data", async () => {
    await installedTree();
    const report = await uninstallService({ root, start: false, purge: false, ...dirs });
    expect(report.removed).toEqual([
      "/etc/systemd/system/berth.service",
      "/etc/systemd/system/berth.service.d",
    ]);
    expect(report.kept).toEqual(["/etc/berth", "/var/lib/berth", "/run/berth"]);
    expect(await exists(join(root, "var/lib/berth/images"))).toBe(true);
    expect(await exists(join(root, "etc/systemd/system/berth.service"))).toBe(false);
  });

  it("with --purge also removes config, state and runtime directories", async () => {
    await installedTree();
    const report = await uninstallService({ root, start: false, purge: true, ...dirs });
    expect(report.removed).toContain("/var/lib/berth");
    expect(report.kept).toEqual([]);
    for (const path of ["etc/berth", "var/lib/berth", "run/berth"])
      expect(await exists(join(root, path))).toBe(false);
  });

  it("will not purge while containers exist or something is mounted below the state", async () => {
    await installedTree();
    await mkdir(join(root, "run/berth/runc/0123abcd"), { recursive: true });
    await expect(uninstallService({ root, start: false, purge: true, ...dirs })).rejects.toThrow(
      /1 container/,
    );
    await rm(join(root, "run/berth/runc/0123abcd"), { recursive: true });
    const mountinfo = async () =>
      `99 1 0:50 / ${join(root, "var/lib/berth/snapshots/c1/merged")} rw - overlay overlay rw\n`;
    await expect(uninstallService({ root, start: false, purge: true, ...dirs, mountinfo })).rejects.toThrow(
      /still mounted/,
    );
    expect(await exists(join(root, "var/lib/berth/images"))).toBe(true);
  });

  it("empties a state directory that is a mount point of its own instead of removing it", async () => {
    await installedTree();
    const mountinfo = async () => `99 1 0:50 / ${join(root, "var/lib/berth")} rw - tmpfs tmpfs rw\n`;
    await uninstallService({ root, start: false, purge: true, ...dirs, mountinfo });
    expect(await exists(join(root, "var/lib/berth"))).toBe(true);
    expect(await exists(join(root, "var/lib/berth/images"))).toBe(false);
  });

  it("stops and disables the service through systemctl before removing the unit", async () => {
    await installedTree();
    const { calls, run } = recordingRunner();
    const report = await uninstallService({
      root,
      start: true,
      purge: false,
      ...dirs,
      run,
      systemdRunning: async () => true,
    });
    expect(calls).toEqual(["systemctl disable --now berth.service", "systemctl daemon-reload"]);
    expect(report.removed).toContain("/etc/systemd/system/berth.service");
  });

  it("removes nothing when systemctl refuses to stop the service", async () => {
    await installedTree();
    const { run } = recordingRunner("disable");
    await expect(
      uninstallService({ root, start: true, purge: false, ...dirs, run, systemdRunning: async () => true }),
    ).rejects.toThrow(RuntimeFailureError);
    expect(await exists(join(root, "etc/systemd/system/berth.service"))).toBe(true);
  });
});
