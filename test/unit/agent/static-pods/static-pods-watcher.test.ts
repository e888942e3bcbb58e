import { mkdir, mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { staticPodUid } from "../../../../agent/static-pods/static-pod-uid.js";
import {
  StaticPodsWatcher,
  type FolderWatch,
  type WatcherTimers,
} from "../../../../agent/static-pods/static-pods-watcher.js";
import { FakePodManager } from "../node-api/fake-pod-manager.js";

/** Timers that fire only when the test says so. */
class ManualTimers implements WatcherTimers {
  private next = 1;
  readonly timeouts = new Map<number, () => void>();
  readonly intervals = new Map<number, { callback: () => void; ms: number }>();

  setTimeout(callback: () => void): unknown {
    const id = this.next++;
    this.timeouts.set(id, callback);
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timeouts.delete(handle as number);
  }
  setInterval(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.intervals.set(id, { callback, ms });
    return id;
  }
  clearInterval(handle: unknown): void {
    this.intervals.delete(handle as number);
  }
  fireTimeouts(): void {
    const due = [...this.timeouts.values()];
    this.timeouts.clear();
    for (const callback of due) callback();
  }
  fireIntervals(): void {
    for (const { callback } of this.intervals.values()) callback();
  }
}

/** A folder watch the test triggers by hand. */
function manualFolderWatch() {
  const state = { onChange: undefined as (() => void) | undefined, closed: 0, dirs: [] as string[] };
  const watch: FolderWatch = (dir, onChange) => {
    state.dirs.push(dir);
    state.onChange = onChange;
    return { close: () => void state.closed++ };
  };
  return { watch, state };
}

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

const pod = (name: string, image = "nginx:1.25", namespace = "default") => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  containers:
    - name: app
      image: ${image}
`;

let dir: string;
let timers: ManualTimers;
let folder: ReturnType<typeof manualFolderWatch>;
let pods: FakePodManager;
let log: ReturnType<typeof capturingLogger>;
let watcher: StaticPodsWatcher;

function newWatcher(manifests = dir): StaticPodsWatcher {
  return new StaticPodsWatcher({
    dir: manifests,
    pods,
    logger: log.logger,
    timers,
    watchFolder: folder.watch,
    rescanIntervalMs: 20_000,
    debounceMs: 300,
  });
}

/** An fs event, then the debounce timer firing, then the scan it starts. */
async function folderChanged(): Promise<void> {
  folder.state.onChange?.();
  timers.fireTimeouts();
  await watcher.scan();
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-static-pods-"));
  timers = new ManualTimers();
  folder = manualFolderWatch();
  pods = new FakePodManager();
  log = capturingLogger();
  watcher = newWatcher();
});

afterEach(async () => {
  await watcher.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("StaticPodsWatcher", () => {
  it("applies the pods of every manifest file on start, as file pods with derived uids", async () => {
    await writeFile(join(dir, "web.yaml"), pod("web"));
    await writeFile(join(dir, "pair.json.yml"), `${pod("a")}---\n${pod("b", "redis:7", "cache")}`);
    await writeFile(join(dir, ".web.yaml.swp"), "not a manifest");
    await writeFile(join(dir, "README.md"), "not a manifest");
    await watcher.start();

    expect(pods.applied.map((a) => `${a.spec.metadata.namespace}/${a.spec.metadata.name}`).sort()).toEqual([
      "cache/b",
      "default/a",
      "default/web",
    ]);
    const web = pods.applied.find((a) => a.spec.metadata.name === "web")!;
    expect(web.source).toEqual({ kind: "file", path: join(dir, "web.yaml") });
    expect(web.spec.metadata.uid).toBe(staticPodUid(join(dir, "web.yaml"), "default", "web"));
    expect(web.spec.metadata.annotations["kubernetes.io/config.source"]).toBe("file");
    expect(web.spec.metadata.annotations["kubernetes.io/config.hash"]).toBe(web.spec.metadata.uid);
    expect(folder.state.dirs).toEqual([dir]);
    expect([...timers.intervals.values()].map((i) => i.ms)).toEqual([20_000]);
  });

  it("follows added, edited and removed files", async () => {
    await watcher.start();
    expect(pods.applied).toHaveLength(0);

    await writeFile(join(dir, "web.yaml"), pod("web"));
    await folderChanged();
    expect(pods.applied.map((a) => a.spec.containers[0]?.image)).toEqual(["nginx:1.25"]);

    await writeFile(join(dir, "web.yaml"), pod("web", "nginx:1.26"));
    await folderChanged();
    expect(pods.applied.map((a) => a.spec.containers[0]?.image)).toEqual(["nginx:1.25", "nginx:1.26"]);
    // The same pod (uid) across edits: the pod manager updates it in place.
    expect(pods.applied[1]?.spec.metadata.uid).toBe(pods.applied[0]?.spec.metadata.uid);

    // A rescan with nothing changed applies nothing.
    timers.fireIntervals();
    await watcher.scan();
    expect(pods.applied).toHaveLength(2);

    await unlink(join(dir, "web.yaml"));
    await folderChanged();
    await watcher.deletionsSettled();
    expect(pods.deleted).toEqual([{ namespace: "default", name: "web" }]);
    expect(pods.get("default", "web")).toBeUndefined();
  });

  it("deletes a pod that its file no longer declares, and keeps the others", async () => {
    await writeFile(join(dir, "pods.yaml"), `${pod("a")}---\n${pod("b")}`);
    await watcher.start();
    await writeFile(join(dir, "pods.yaml"), pod("a"));
    await folderChanged();
    await watcher.deletionsSettled();
    expect(pods.deleted.map((d) => d.name)).toEqual(["b"]);
    expect(pods.get("default", "a")).toBeDefined();
  });

  it("logs an invalid file with its field errors and neither applies nor deletes anything for it", async () => {
    await writeFile(join(dir, "web.yaml"), pod("web"));
    await watcher.start();
    expect(pods.applied).toHaveLength(1);

    await writeFile(
      join(dir, "web.yaml"),
      pod("web").replace("image: nginx:1.25", "image: ''\n      ports: [{ containerPort: 0 }]"),
    );
    await writeFile(join(dir, "broken.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: { name: x }\n");
    await folderChanged();
    expect(pods.applied).toHaveLength(1);
    expect(pods.deleted).toHaveLength(0);
    expect(pods.get("default", "web")).toBeDefined();

    const warnings = log.lines.filter((l) => l.reason === "InvalidManifest");
    expect(warnings.map((w) => w.path).sort()).toEqual([join(dir, "broken.yaml"), join(dir, "web.yaml")]);
    const webWarning = warnings.find((w) => w.path === join(dir, "web.yaml"))!;
    expect(webWarning.type).toBe("Warning");
    expect(webWarning.errors).toEqual(
      expect.arrayContaining([
        "spec.containers[0].image: Required value",
        "spec.containers[0].ports[0].containerPort: Required value",
      ]),
    );
    expect(String(webWarning.msg)).toContain("nothing applied or deleted");
    expect(warnings.find((w) => w.path === join(dir, "broken.yaml"))?.errors).toEqual([
      "spec: Required value",
    ]);

    // Logged once, not at every rescan.
    timers.fireIntervals();
    await watcher.scan();
    expect(log.lines.filter((l) => l.reason === "InvalidManifest")).toHaveLength(2);

    // Fixed: applied again.
    await writeFile(join(dir, "web.yaml"), pod("web", "nginx:1.27"));
    await folderChanged();
    expect(pods.applied.map((a) => a.spec.containers[0]?.image)).toEqual(["nginx:1.25", "nginx:1.27"]);
    expect(pods.deleted).toHaveLength(0);
  });

  it("gives a pod the same uid after an agent restart, and cleans up files removed while it was down", async () => {
    await writeFile(join(dir, "web.yaml"), pod("web"));
    await writeFile(join(dir, "old.yaml"), pod("old"));
    await watcher.start();
    const uid = pods.get("default", "web")?.metadata.uid;
    await watcher.stop();

    // Restart: the pod manager still has both pods; old.yaml is gone meanwhile.
    await unlink(join(dir, "old.yaml"));
    pods.applied.length = 0;
    watcher = newWatcher();
    await watcher.start();
    await watcher.deletionsSettled();
    expect(pods.applied.map((a) => a.spec.metadata.uid)).toEqual([uid]);
    expect(pods.deleted.map((d) => d.name)).toEqual(["old"]);
  });

  it("keeps the pods of a file that is invalid when the agent starts", async () => {
    await writeFile(join(dir, "web.yaml"), pod("web"));
    await watcher.start();
    await watcher.stop();
    await writeFile(join(dir, "web.yaml"), "kind: Pod\n");
    watcher = newWatcher();
    await watcher.start();
    await watcher.deletionsSettled();
    expect(pods.deleted).toHaveLength(0);
    expect(pods.get("default", "web")).toBeDefined();
  });

  it("leaves API pods alone and gives a pod declared by two files to the first", async () => {
    await pods.apply(
      (await import("../../../../agent/podspec/parse.js")).parsePodManifest(pod("api-pod"), "t")[0]!,
      {
        kind: "api",
      },
    );
    await writeFile(join(dir, "a.yaml"), pod("dup"));
    await writeFile(join(dir, "b.yaml"), pod("dup", "redis:7"));
    await watcher.start();
    await watcher.deletionsSettled();
    const dup = pods.applied.filter((a) => a.spec.metadata.name === "dup");
    expect(dup.map((a) => a.source)).toEqual([{ kind: "file", path: join(dir, "a.yaml") }]);
    expect(log.lines.some((l) => String(l.msg).includes(`ignored in ${join(dir, "b.yaml")}`))).toBe(true);
    expect(pods.deleted).toHaveLength(0);

    // a.yaml removed: b.yaml's pod takes over without a deletion.
    await unlink(join(dir, "a.yaml"));
    await folderChanged();
    await watcher.deletionsSettled();
    expect(pods.deleted).toHaveLength(0);
    expect(pods.get("default", "dup")?.source).toEqual({ kind: "file", path: join(dir, "b.yaml") });
    expect(pods.get("default", "dup")?.spec.containers[0]?.image).toBe("redis:7");
  });

  it("brings a pod back once its deletion is over when its file returns", async () => {
    await writeFile(join(dir, "web.yaml"), pod("web"));
    await watcher.start();
    let release = (): void => undefined;
    pods.holdDeletes = new Promise((resolve) => (release = resolve));
    await unlink(join(dir, "web.yaml"));
    await folderChanged();
    expect(pods.get("default", "web")?.terminating).toBe(true);

    await writeFile(join(dir, "web.yaml"), pod("web"));
    folder.state.onChange?.();
    timers.fireTimeouts();
    const scan = watcher.scan();
    await new Promise((r) => setTimeout(r, 20));
    expect(pods.applied).toHaveLength(1);
    release();
    await scan;
    expect(pods.applied).toHaveLength(2);
    expect(pods.get("default", "web")?.terminating).toBe(false);
  });

  it("debounces a burst of folder events into one scan", async () => {
    await watcher.start();
    await writeFile(join(dir, "web.yaml"), pod("web"));
    for (let i = 0; i < 5; i++) folder.state.onChange?.();
    expect(timers.timeouts.size).toBe(1);
    timers.fireTimeouts();
    await watcher.scan();
    expect(pods.applied).toHaveLength(1);
  });

  it("waits for a missing folder and applies its pods once it appears", async () => {
    const missing = join(dir, "manifests");
    await watcher.stop();
    folder = manualFolderWatch();
    const throwingWatch: FolderWatch = (d, onChange, onError) => {
      if (folder.state.dirs.length === 0) {
        folder.state.dirs.push("failed");
        throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
      }
      return folder.watch(d, onChange, onError);
    };
    watcher = new StaticPodsWatcher({
      dir: missing,
      pods,
      logger: log.logger,
      timers,
      watchFolder: throwingWatch,
    });
    await watcher.start();
    expect(log.lines.some((l) => l.msg === "static pods folder does not exist; watching for it")).toBe(true);

    await mkdir(missing);
    await writeFile(join(missing, "web.yaml"), pod("web"));
    timers.fireIntervals();
    await watcher.scan();
    expect(pods.applied.map((a) => a.spec.metadata.name)).toEqual(["web"]);
    // The interval armed the folder watch once the folder existed.
    expect(folder.state.dirs).toEqual(["failed", missing]);
  });

  it("stops: no more timers and the folder watch closed", async () => {
    await watcher.start();
    await watcher.stop();
    expect(timers.intervals.size).toBe(0);
    expect(folder.state.closed).toBe(1);
    await writeFile(join(dir, "web.yaml"), pod("web"));
    await watcher.scan();
    expect(pods.applied).toHaveLength(0);
  });
});

describe("staticPodUid", () => {
  it("is UUID-shaped, stable, and differs by path, namespace and name", () => {
    const uid = staticPodUid("/etc/berth/manifests/web.yaml", "default", "web");
    expect(uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(staticPodUid("/etc/berth/manifests/web.yaml", "default", "web")).toBe(uid);
    expect(staticPodUid("/etc/berth/manifests/../manifests/web.yaml", "default", "web")).toBe(uid);
    expect(staticPodUid("/etc/berth/manifests/web2.yaml", "default", "web")).not.toBe(uid);
    expect(staticPodUid("/etc/berth/manifests/web.yaml", "prod", "web")).not.toBe(uid);
    expect(staticPodUid("/etc/berth/manifests/web.yaml", "default", "api")).not.toBe(uid);
  });
});
