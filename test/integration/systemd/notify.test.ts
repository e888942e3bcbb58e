// sd_notify through the real systemd-notify binary, to a datagram socket standing in for
// PID 1: the credentials name the agent's pid, and a running `berth agent` sends READY=1,
// WATCHDOG=1, a reload frame and STOPPING=1 at the right moments.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../../common/logger.js";
import { SystemdNotifier, systemdNotifySender } from "../../../systemd/notify.js";
import { BERTH_BIN, requireBuild } from "../../../harness/agent-process.js";
import { forceCleanup } from "../../../harness/force-cleanup.js";
import { startNotifyReceiver, type NotifyReceiver } from "./notify-receiver.js";

let dir: string;
let receiver: NotifyReceiver;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-notify-"));
  receiver = await startNotifyReceiver(dir);
});
afterAll(async () => {
  await receiver.close();
  await rm(dir, { recursive: true, force: true });
});

describe("systemdNotifySender", () => {
  it("delivers messages with the credentials of the pid it names (the helper itself has exited)", async () => {
    const notifier = new SystemdNotifier({
      environment: { socket: receiver.socket },
      logger: silentLogger(),
      pid: process.pid,
      send: systemdNotifySender(),
    });
    await notifier.ready("testing");
    const message = await receiver.waitFor((m) => m.fields.STATUS === "testing");
    expect(message.fields.READY).toBe("1");
    expect(message.pid).toBe(process.pid);
    expect(message.fields.MAINPID).toBe(String(process.pid));
  });
});

describe("berth agent under a notify socket", () => {
  it("sends READY=1 once serving, pings the watchdog, frames a SIGHUP reload and says STOPPING=1", async () => {
    requireBuild();
    const root = join(dir, "agent");
    const cgroupRoot = `berth-it-${randomBytes(4).toString("hex")}`;
    const child = spawn(
      process.execPath,
      [
        BERTH_BIN,
        "agent",
        "--socket",
        join(root, "berth.sock"),
        "--state-dir",
        join(root, "state"),
        "--run-dir",
        join(root, "run"),
        "--cgroup-root",
        cgroupRoot,
        "--no-cni",
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          NOTIFY_SOCKET: receiver.socket,
          WATCHDOG_USEC: "2000000",
          BERTH_HTTP_PORT: "0",
        },
      },
    );
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const ready = await receiver.waitFor((m) => m.pid === child.pid && m.fields.READY === "1", 60_000);
      expect(ready.fields.STATUS).toBe("serving 0 pods, 0 containers running");
      expect(output).toContain("berth agent serving");
      // WATCHDOG_USEC=2s: a ping every second.
      const pingsAt = Date.now();
      await receiver.waitFor(
        (m) =>
          m.pid === child.pid &&
          m.fields.WATCHDOG === "1" &&
          receiver.messages.filter((n) => n.fields.WATCHDOG).length >= 3,
        10_000,
      );
      expect(Date.now() - pingsAt).toBeLessThan(10_000);

      child.kill("SIGHUP");
      const reloading = await receiver.waitFor((m) => m.fields.RELOADING === "1");
      expect(Number(reloading.fields.MONOTONIC_USEC)).toBeGreaterThan(0);
      const reloaded = await receiver.waitFor(
        (m) => m.fields.READY === "1" && /config reload/.test(m.fields.STATUS ?? ""),
      );
      expect(reloaded.fields.STATUS).toMatch(/^serving 0 pods, 0 containers running; config reloaded: /);

      child.kill("SIGTERM");
      const stopping = await receiver.waitFor((m) => m.fields.STOPPING === "1");
      expect(stopping.pid).toBe(child.pid);
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
      await forceCleanup(root, join(root, "run", "runc"), cgroupRoot);
    }
  });
});
