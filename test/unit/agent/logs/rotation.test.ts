import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, readdir, readFile, rm, writeFile, appendFile, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { silentLogger } from "../../../../common/logger.js";
import { ContainerState, type Container } from "../../../../cri/api/generated/api.js";
import { ContainerLogManager, type LogRuntime } from "../../../../agent/logs/container-log-manager.js";
import {
  classifyRotatedNames,
  listRotatedLogs,
  removeLogFiles,
  rotatedLogName,
  rotationStamp,
} from "../../../../agent/logs/rotated-logs.js";
import {
  needsRotation,
  parseContainerLogConfig,
  planRotation,
} from "../../../../agent/logs/rotation-policy.js";

const T0 = Date.UTC(2026, 11, 6, 2, 45, 1);

describe("rotated log names", () => {
  it("stamps a rotation with the UTC time as YYYYMMDD-HHMMSS", () => {
    expect(rotationStamp(T0)).toBe("20261206-024501");
    expect(rotatedLogName("/l/app/0.log", Date.UTC(2027, 0, 2, 3, 4, 5, 999))).toBe(
      "/l/app/0.log.20270102-030405",
    );
  });

  it("groups the generations of one log, oldest first, and ignores other files", () => {
    const listing = classifyRotatedNames("/l/app/0.log", [
      "0.log",
      "0.log.20261206-024511",
      "0.log.20261206-024501.gz",
      "0.log.20261206-024521",
      "0.log.20261206-024521.gz",
      "0.log.20261206-024531.gz.tmp",
      "1.log.20261206-024501",
      "0.log.notes",
      "0.log.20261206-0245",
    ]);
    expect(listing.rotated).toEqual([
      { stamp: "20261206-024501", compressed: "/l/app/0.log.20261206-024501.gz" },
      { stamp: "20261206-024511", plain: "/l/app/0.log.20261206-024511" },
      {
        stamp: "20261206-024521",
        plain: "/l/app/0.log.20261206-024521",
        compressed: "/l/app/0.log.20261206-024521.gz",
      },
    ]);
    expect(listing.temporary).toEqual(["/l/app/0.log.20261206-024531.gz.tmp"]);
  });
});

describe("the rotation decision", () => {
  const policy = { maxSizeBytes: 100, maxFiles: 3 };

  it("rotates at the size, not below it", () => {
    expect(needsRotation(99, policy)).toBe(false);
    expect(needsRotation(100, policy)).toBe(true);
    expect(needsRotation(1000, policy)).toBe(true);
  });

  it("keeps maxFiles - 2 rotated files before rotating, compresses all but the new one, drops leftovers", () => {
    const log = "/l/0.log";
    const listing = classifyRotatedNames(log, [
      "0.log.20261206-024401.gz",
      "0.log.20261206-024411.gz",
      "0.log.20261206-024421",
      "0.log.20261206-024421.gz",
      "0.log.20261206-024431",
      "0.log.20261206-024441.gz.tmp",
    ]);
    const plan = planRotation(log, listing, policy, T0);
    expect(plan.remove).toEqual([
      "/l/0.log.20261206-024441.gz.tmp",
      "/l/0.log.20261206-024421",
      "/l/0.log.20261206-024401.gz",
      "/l/0.log.20261206-024411.gz",
      "/l/0.log.20261206-024421.gz",
    ]);
    expect(plan.compress).toEqual(["/l/0.log.20261206-024431"]);
    expect(plan.rotateTo).toBe("/l/0.log.20261206-024501");
  });

  it("with 2 files keeps only the current one and the one rotated now", () => {
    const listing = classifyRotatedNames("/l/0.log", ["0.log.20261206-024451"]);
    const plan = planRotation("/l/0.log", listing, { maxSizeBytes: 1, maxFiles: 2 }, T0);
    expect(plan).toEqual({
      remove: ["/l/0.log.20261206-024451"],
      compress: [],
      rotateTo: "/l/0.log.20261206-024501",
    });
  });

  it("defers a second rotation within the same second instead of renaming onto the first", () => {
    const listing = classifyRotatedNames("/l/0.log", ["0.log.20261206-024501"]);
    expect(
      planRotation("/l/0.log", listing, { maxSizeBytes: 1, maxFiles: 5 }, T0 + 400).rotateTo,
    ).toBeUndefined();
  });

  it("validates the config with the kubelet's bounds, naming the field", () => {
    expect(
      parseContainerLogConfig({
        containerLogMaxSize: "10Mi",
        containerLogMaxFiles: 5,
        containerLogMonitorInterval: "10s",
      }),
    ).toEqual({ policy: { maxSizeBytes: 10 * 1024 * 1024, maxFiles: 5 }, intervalMs: 10_000 });
    const base = { containerLogMaxSize: "64Ki", containerLogMaxFiles: 3, containerLogMonitorInterval: "3s" };
    expect(() => parseContainerLogConfig({ ...base, containerLogMaxSize: "ten" })).toThrow(
      /containerLogMaxSize/,
    );
    expect(() => parseContainerLogConfig({ ...base, containerLogMaxSize: "0" })).toThrow(
      /containerLogMaxSize/,
    );
    expect(() => parseContainerLogConfig({ ...base, containerLogMaxFiles: 1 })).toThrow(
      /containerLogMaxFiles/,
    );
    expect(() => parseContainerLogConfig({ ...base, containerLogMaxFiles: 2.5 })).toThrow(
      /containerLogMaxFiles/,
    );
    expect(() => parseContainerLogConfig({ ...base, containerLogMonitorInterval: "1s" })).toThrow(
      /containerLogMonitorInterval/,
    );
  });
});

/** A runtime of containers writing into files in a temp dir; reopening creates the file anew. */
class FakeRuntime implements LogRuntime {
  reopened: string[] = [];
  failStatus = new Set<string>();
  failReopen = new Set<string>();
  constructor(
    readonly logs: Map<string, string>,
    readonly states = new Map<string, ContainerState>(),
  ) {}

  listContainers: LogRuntime["listContainers"] = async () => ({
    containers: [...this.logs.keys()].map(
      (id) => ({ id, state: this.states.get(id) ?? ContainerState.CONTAINER_RUNNING }) as Container,
    ),
  });

  containerStatus: LogRuntime["containerStatus"] = async ({ containerId }) => {
    if (this.failStatus.has(containerId)) throw new Error("status unavailable");
    return { status: { logPath: this.logs.get(containerId) ?? "" }, info: {} } as Awaited<
      ReturnType<LogRuntime["containerStatus"]>
    >;
  };

  reopenContainerLog: LogRuntime["reopenContainerLog"] = async ({ containerId }) => {
    if (this.failReopen.has(containerId)) throw new Error("reopen refused");
    this.reopened.push(containerId);
    await appendFile(this.logs.get(containerId)!, "");
    return {};
  };
}

describe("ContainerLogManager", () => {
  let dir: string;
  let now: number;
  const clock = { now: () => now, nowNanos: () => BigInt(now) * 1_000_000n };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-logrotate-"));
    now = T0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const line = (n: number) => `2026-12-06T02:45:01.000000000Z stdout F line ${String(n).padStart(4, "0")}\n`;

  it("rotates a log past the size, keeps at most N files with the older ones gzipped, and loses no line", async () => {
    const log = join(dir, "0.log");
    const runtime = new FakeRuntime(new Map([["c1", log]]));
    const manager = new ContainerLogManager({
      runtime,
      policy: { maxSizeBytes: 200, maxFiles: 3 },
      clock,
      logger: silentLogger(),
    });
    let n = 0;
    const written: string[] = [];
    for (let pass = 0; pass < 6; pass++) {
      for (let i = 0; i < 5; i++) {
        written.push(line(n));
        await appendFile(log, line(n++));
      }
      const result = await manager.rotateLogs();
      expect(result.outcomes.get("c1")).toBe("rotated");
      now += 10_000;
    }
    const names = (await readdir(dir)).sort();
    expect(names).toEqual(["0.log", "0.log.20261206-024541.gz", "0.log.20261206-024551"]);
    expect(runtime.reopened).toHaveLength(6);
    // The kept files hold the last lines written, in order: gz, then plain, then current (empty).
    const gz = gunzipSync(await readFile(join(dir, "0.log.20261206-024541.gz"))).toString();
    const plain = await readFile(join(dir, "0.log.20261206-024551"), "utf8");
    expect(gz + plain).toBe(written.slice(-10).join(""));
    expect(await readFile(log, "utf8")).toBe("");
  });

  it("leaves a log below the size alone, and non-running containers too", async () => {
    const small = join(dir, "small.log");
    const stopped = join(dir, "stopped.log");
    await writeFile(small, line(1));
    await writeFile(stopped, line(1).repeat(50));
    const runtime = new FakeRuntime(
      new Map([
        ["small", small],
        ["stopped", stopped],
      ]),
      new Map([["stopped", ContainerState.CONTAINER_EXITED]]),
    );
    const manager = new ContainerLogManager({
      runtime,
      policy: { maxSizeBytes: 200, maxFiles: 3 },
      clock,
      logger: silentLogger(),
    });
    const { outcomes } = await manager.rotateLogs();
    expect(outcomes.get("small")).toBe("small");
    expect(outcomes.has("stopped")).toBe(false);
    expect((await readdir(dir)).sort()).toEqual(["small.log", "stopped.log"]);
  });

  it("goes on with the other containers when one fails, and puts a log back when its reopen fails", async () => {
    const logs = new Map(["a", "b", "c"].map((id) => [id, join(dir, `${id}.log`)]));
    for (const path of logs.values()) await writeFile(path, line(1).repeat(10));
    const runtime = new FakeRuntime(logs);
    runtime.failStatus.add("a");
    runtime.failReopen.add("b");
    const manager = new ContainerLogManager({
      runtime,
      policy: { maxSizeBytes: 200, maxFiles: 3 },
      clock,
      logger: silentLogger(),
    });
    const { outcomes } = await manager.rotateLogs();
    expect(Object.fromEntries(outcomes)).toEqual({ a: "failed", b: "failed", c: "rotated" });
    expect((await readdir(dir)).sort()).toEqual(["a.log", "b.log", "c.log", "c.log.20261206-024501"]);
    expect(await readFile(join(dir, "b.log"), "utf8")).toBe(line(1).repeat(10));
  });

  it("reopens a log that is missing, and never follows a symlinked log", async () => {
    const missing = join(dir, "missing.log");
    const linked = join(dir, "linked.log");
    const target = join(dir, "target");
    await writeFile(target, line(1).repeat(10));
    await symlink(target, linked);
    const runtime = new FakeRuntime(
      new Map([
        ["m", missing],
        ["l", linked],
      ]),
    );
    runtime.reopenContainerLog = async ({ containerId }) => {
      runtime.reopened.push(containerId);
      if (containerId === "m") await writeFile(missing, "");
      return {};
    };
    const manager = new ContainerLogManager({
      runtime,
      policy: { maxSizeBytes: 200, maxFiles: 3 },
      clock,
      logger: silentLogger(),
    });
    const { outcomes } = await manager.rotateLogs();
    expect(outcomes.get("m")).toBe("small");
    expect(outcomes.get("l")).toBe("no-log");
    expect((await readdir(dir)).sort()).toEqual(["linked.log", "missing.log", "target"]);
  });

  it("removes a log with every rotated generation", async () => {
    const log = join(dir, "0.log");
    for (const name of [
      "0.log",
      "0.log.20261206-024501.gz",
      "0.log.20261206-024511",
      "0.log.20261206-024521.gz.tmp",
      "1.log",
    ])
      await writeFile(join(dir, name), "x");
    await removeLogFiles(log);
    expect(await readdir(dir)).toEqual(["1.log"]);
    expect((await listRotatedLogs(log)).rotated).toEqual([]);
  });
});
