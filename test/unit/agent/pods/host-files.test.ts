// What the pod layer keeps on the host, on fixture trees in a temp dir: volumes, termination
// messages, stored specs.
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../../common/logger.js";
import { quantityToBytes } from "../../../../agent/podspec/quantity.js";
import { PodPaths } from "../../../../agent/pods/pod-paths.js";
import { SpecStore } from "../../../../agent/pods/spec-store.js";
import { criLogText, readTerminationMessage } from "../../../../agent/pods/termination-message.js";
import { mountSource, PodVolumes, VolumeSetupError, type MountOps } from "../../../../agent/pods/volumes.js";
import { container, podSpec } from "./pod-spec-fixture.js";

let dir: string;
let paths: PodPaths;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-pod-files-"));
  paths = new PodPaths({
    podsDir: join(dir, "pods"),
    logsDir: join(dir, "logs"),
    specsDir: join(dir, "specs"),
  });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

class FakeMounts implements MountOps {
  readonly mounted = new Map<string, number | undefined>();
  async mountTmpfs(target: string, size: number | undefined): Promise<void> {
    this.mounted.set(target, size);
  }
  async unmount(target: string): Promise<void> {
    this.mounted.delete(target);
  }
  async mountsUnder(target: string): Promise<string[]> {
    return [...this.mounted.keys()].filter((m) => m === target || m.startsWith(`${target}/`));
  }
}

describe("PodVolumes", () => {
  it("makes emptyDirs (tmpfs for medium Memory) and hostPaths by type, and removes it all", async () => {
    const mounts = new FakeMounts();
    const volumes = new PodVolumes(paths, silentLogger(), mounts);
    const host = join(dir, "host");
    await mkdir(host);
    const spec = podSpec("p", {
      volumes: [
        { name: "scratch", emptyDir: {} },
        { name: "fast", emptyDir: { medium: "Memory", sizeLimit: "32Mi" } },
        { name: "made", hostPath: { path: join(host, "made"), type: "DirectoryOrCreate" } },
        { name: "file", hostPath: { path: join(host, "f.txt"), type: "FileOrCreate" } },
      ],
    });
    const hostPaths = await volumes.setUp(spec);
    expect(hostPaths.get("scratch")).toBe(paths.emptyDir("uid-p", "scratch"));
    expect((await stat(hostPaths.get("scratch")!)).mode & 0o777).toBe(0o777);
    expect(mounts.mounted.get(paths.emptyDir("uid-p", "fast"))).toBe(32 * 1024 * 1024);
    expect((await stat(join(host, "made"))).isDirectory()).toBe(true);
    expect((await stat(join(host, "f.txt"))).isFile()).toBe(true);
    // Idempotent: a second run mounts nothing again.
    await volumes.setUp(spec);
    expect(mounts.mounted.size).toBe(1);
    await volumes.tearDown("uid-p");
    expect(mounts.mounted.size).toBe(0);
    await expect(stat(paths.podDir("uid-p"))).rejects.toThrow(/ENOENT/);
    // hostPaths are the host's: untouched.
    expect((await stat(join(host, "made"))).isDirectory()).toBe(true);
  });

  it("sizes a Memory emptyDir without a limit by the pod's memory limit", async () => {
    const mounts = new FakeMounts();
    const spec = podSpec("p", {
      volumes: [{ name: "fast", emptyDir: { medium: "Memory" } }],
      containers: [container("a", { resources: { limits: { memory: "100Mi" } } })],
    });
    await new PodVolumes(paths, silentLogger(), mounts).setUp(spec);
    expect([...mounts.mounted.values()]).toEqual([
      quantityToBytes(spec.containers[0]!.resources.limits.memory!),
    ]);
  });

  it("refuses hostPaths of the wrong type with the kubelet's message", async () => {
    const file = join(dir, "plain");
    await writeFile(file, "x");
    const volumes = new PodVolumes(paths, silentLogger(), new FakeMounts());
    const spec = podSpec("p", { volumes: [{ name: "d", hostPath: { path: file, type: "Directory" } }] });
    const err = await volumes.setUp(spec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VolumeSetupError);
    expect((err as Error).message).toBe(
      `MountVolume.SetUp failed for volume "d" : hostPath type check failed: ${file} is not a directory`,
    );
    const missing = podSpec("p", {
      volumes: [{ name: "s", hostPath: { path: join(dir, "nope"), type: "Socket" } }],
    });
    await expect(volumes.setUp(missing)).rejects.toThrow(/is not a socket file/);
  });

  it("creates subPaths inside the volume and refuses ones that lead out", async () => {
    const volume = join(dir, "vol");
    await mkdir(volume);
    const source = await mountSource(volume, { name: "v", mountPath: "/x", readOnly: false, subPath: "a/b" });
    expect(source).toBe(join(volume, "a", "b"));
    expect((await stat(source)).isDirectory()).toBe(true);
    await symlink(dir, join(volume, "escape"));
    await expect(
      mountSource(volume, { name: "v", mountPath: "/x", readOnly: false, subPath: "escape/vol2" }),
    ).rejects.toThrow(/leaves the volume/);
  });
});

describe("termination messages", () => {
  it("reads the container's file, at most 4 KiB", async () => {
    const file = join(dir, "msg");
    await writeFile(file, "x".repeat(5000));
    const message = await readTerminationMessage({ messageFile: file, policy: "File", exitCode: 1 });
    expect(message).toHaveLength(4096);
  });

  it("falls back to the log's tail on a failed, silent exit with FallbackToLogsOnError", async () => {
    const log = join(dir, "0.log");
    const lines = Array.from({ length: 100 }, (_, i) => `2025-01-01T00:00:00.000000000Z stderr F line ${i}`);
    await writeFile(log, `${lines.join("\n")}\n2025-01-01T00:00:00.000000000Z stdout P part\n`);
    const empty = join(dir, "empty");
    await writeFile(empty, "");
    const message = await readTerminationMessage({
      messageFile: empty,
      policy: "FallbackToLogsOnError",
      exitCode: 1,
      logPath: log,
    });
    expect(message.startsWith("line 20\n")).toBe(true);
    expect(message.endsWith("line 99\npart")).toBe(true);
    expect(
      await readTerminationMessage({
        messageFile: empty,
        policy: "FallbackToLogsOnError",
        exitCode: 0,
        logPath: log,
      }),
    ).toBe("");
    expect(
      await readTerminationMessage({ messageFile: empty, policy: "File", exitCode: 1, logPath: log }),
    ).toBe("");
  });

  it("joins partial CRI log lines", () => {
    expect(criLogText("t stdout P ab\nt stdout F c d\n")).toBe("abc d\n");
  });
});

describe("SpecStore", () => {
  it("keeps applied specs, quantities and all, and skips files it cannot read", async () => {
    const store = new SpecStore(paths, silentLogger());
    const spec = podSpec("p", { containers: [container("a", { resources: { limits: { memory: "1Gi" } } })] });
    await store.save(spec);
    await writeFile(join(dir, "specs", "broken.json"), "{not json");
    const [loaded, ...rest] = await store.loadAll();
    expect(rest).toEqual([]);
    expect(loaded).toEqual(spec);
    expect(loaded!.containers[0]!.resources.limits.memory!.nanos).toBe(1024n ** 3n * 1_000_000_000n);
    expect(JSON.parse(await readFile(paths.specFile("uid-p"), "utf8")).version).toBe(1);
    await store.remove("uid-p");
    expect(await store.loadAll()).toEqual([]);
  });
});
