// The image store on the real filesystem as root: imports of OCI layouts built from the host's
// busybox, each test in its own temp root.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../../../../common/errors.js";
import { silentLogger } from "../../../../common/logger.js";
import { ImageStore } from "../../../../cri/images/store.js";
import {
  buildBusyboxImage,
  buildHostileLayerImage,
  type HostileKind,
} from "../../../../harness/oci-image.js";

let work: string;
let root: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-store-"));
  root = join(work, "store");
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function newStore(): Promise<ImageStore> {
  const store = new ImageStore({
    root,
    logger: silentLogger(),
    clock: { now: () => 1_700_000_000_000, nowNanos: () => 0n },
  });
  await store.init();
  return store;
}

const hex = (digest: string) => digest.slice("sha256:".length);
const notInUse = () => false;

async function listDir(...parts: string[]): Promise<string[]> {
  return (await readdir(join(root, ...parts))).sort();
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("ImageStore import, resolve and list", () => {
  it("imports a layout and finds the image by every name it has", async () => {
    const built = await buildBusyboxImage(join(work, "bb"), {
      name: "docker.io/library/busybox:1.36",
      entrypoint: ["/bin/sh", "-c"],
      cmd: ["echo hi"],
      env: ["PATH=/bin", "A=1"],
      workingDir: "/root",
      user: "1000:1000",
      stopSignal: "SIGTERM",
      labels: { team: "berth" },
      exposedPorts: ["80/tcp"],
      volumes: ["/data"],
    });
    const store = await newStore();
    const [record] = await store.importOciLayout(built.dir);

    expect(record).toMatchObject({
      id: built.imageId,
      repoTags: ["docker.io/library/busybox:1.36"],
      repoDigests: [`docker.io/library/busybox@${built.manifestDigest}`],
      size: built.size,
      diffIds: built.diffIds,
      manifestDigest: built.manifestDigest,
      created: "2024-01-01T00:00:00.000Z",
      importedAt: 1_700_000_000_000,
      config: {
        env: ["PATH=/bin", "A=1"],
        entrypoint: ["/bin/sh", "-c"],
        cmd: ["echo hi"],
        workingDir: "/root",
        user: "1000:1000",
        stopSignal: "SIGTERM",
        labels: { team: "berth" },
        exposedPorts: ["80/tcp"],
        volumes: ["/data"],
      },
    });
    expect(record!.layers.map((l) => l.digest)).toEqual(built.layerDigests);

    for (const ref of [
      built.imageId,
      hex(built.imageId),
      hex(built.imageId).slice(0, 12),
      `sha256:${hex(built.imageId).slice(0, 20)}`,
      "busybox:1.36",
      "library/busybox:1.36",
      "docker.io/library/busybox:1.36",
      `busybox@${built.manifestDigest}`,
    ]) {
      expect(store.resolve(ref)?.id, ref).toBe(built.imageId);
    }
    expect(store.resolve("busybox")).toBeUndefined(); // :latest was never tagged
    expect(store.resolve(hex(built.imageId).slice(0, 11))).toBeUndefined(); // too short a prefix
    expect(store.list().map((r) => r.id)).toEqual([built.imageId]);

    const dirs = store.layerDirs(record!);
    expect(dirs).toEqual([join(root, "layers/sha256", hex(built.diffIds[0]!), "fs")]);
    expect((await stat(join(dirs[0]!, "bin/busybox"))).mode & 0o777).toBe(0o755);
    for (const digest of [built.imageId, built.manifestDigest, ...built.layerDigests]) {
      expect(existsSync(join(root, "blobs/sha256", hex(digest))), digest).toBe(true);
    }
    const onDisk = JSON.parse(await readFile(join(root, "images", `${hex(built.imageId)}.json`), "utf8"));
    expect(onDisk.id).toBe(built.imageId);
  });

  it("reloads its records from disk", async () => {
    const built = await buildBusyboxImage(join(work, "bb"));
    await (await newStore()).importOciLayout(built.dir);
    const reopened = await newStore();
    expect(reopened.resolve("berth.test/library/busybox")?.id).toBe(built.imageId);
  });

  it("accepts Docker media types, plain layers and a nested multi-platform index", async () => {
    const built = await buildBusyboxImage(join(work, "docker"), {
      name: "localhost:5000/tools/bb:v1",
      mediaTypes: "docker",
      nestedIndex: true,
      compressExtraLayers: false,
      extraLayers: [[{ path: "etc/motd", content: "hello\n" }]],
    });
    const store = await newStore();
    const [record] = await store.importOciLayout(built.dir);
    expect(record!.id).toBe(built.imageId);
    expect(record!.layers.map((l) => l.mediaType)).toEqual([
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.diff.tar",
    ]);
    expect(store.resolve("localhost:5000/tools/bb:v1")?.id).toBe(built.imageId);
  });

  it("refuses an image built for another platform", async () => {
    const built = await buildBusyboxImage(join(work, "foreign"), {
      platform: { os: "linux", architecture: "s390x" },
    });
    const store = await newStore();
    const err = await rejection(store.importOciLayout(built.dir));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toContain("linux/s390x");
    expect(store.list()).toEqual([]);
  });

  it("names an unannotated layout with opts.tag, and merges names on re-import", async () => {
    const built = await buildBusyboxImage(join(work, "bb"), { name: null });
    const store = await newStore();
    const [unnamed] = await store.importOciLayout(built.dir);
    expect(unnamed!.repoTags).toEqual([]);

    await store.importOciLayout(built.dir, { tag: "busybox" });
    await store.importOciLayout(built.dir, { tag: "example.com/bb:2" });
    const record = store.resolve(built.imageId)!;
    expect(record.repoTags).toEqual(["docker.io/library/busybox:latest", "example.com/bb:2"]);
    expect(record.repoDigests).toEqual([
      `docker.io/library/busybox@${built.manifestDigest}`,
      `example.com/bb@${built.manifestDigest}`,
    ]);
    expect(store.list()).toHaveLength(1);
    await expect(store.importOciLayout(built.dir, { tag: "Bad:Tag" })).rejects.toThrow(InvalidArgumentError);
  });

  it("moves a tag from the image that had it to the newly imported one", async () => {
    const first = await buildBusyboxImage(join(work, "one"), { name: "app:latest", cmd: ["one"] });
    const second = await buildBusyboxImage(join(work, "two"), { name: "app:latest", cmd: ["two"] });
    const store = await newStore();
    await store.importOciLayout(first.dir);
    await store.importOciLayout(second.dir);
    expect(store.resolve("app")?.id).toBe(second.imageId);
    expect(store.resolve(first.imageId)?.repoTags).toEqual([]);
    expect((await newStore()).resolve(first.imageId)?.repoTags).toEqual([]);
  });

  it("rejects an ambiguous id prefix", async () => {
    const built = await buildBusyboxImage(join(work, "bb"));
    await (await newStore()).importOciLayout(built.dir);
    // Two records whose ids share 12 digits cannot be built honestly; write them as stored.
    const record = JSON.parse(await readFile(join(root, "images", `${hex(built.imageId)}.json`), "utf8"));
    const shared = "0123456789ab";
    for (const suffix of ["1", "2"]) {
      const id = `${shared}${suffix.repeat(52)}`;
      await writeFile(
        join(root, "images", `${id}.json`),
        JSON.stringify({ ...record, id: `sha256:${id}`, repoTags: [] }),
      );
    }
    const store = await newStore();
    expect(() => store.resolve(shared)).toThrow(InvalidArgumentError);
    expect(store.resolve(`${shared}1`)?.id).toBe(`sha256:${shared}${"1".repeat(52)}`);
  });
});

describe("ImageStore layers", () => {
  it("unpacks a layer shared by two images once, also when imported concurrently", async () => {
    const a = await buildBusyboxImage(join(work, "a"), {
      name: "a:1",
      extraLayers: [[{ path: "a", content: "a" }]],
    });
    const b = await buildBusyboxImage(join(work, "b"), {
      name: "b:1",
      extraLayers: [[{ path: "b", content: "b" }]],
    });
    expect(a.diffIds[0]).toBe(b.diffIds[0]);
    const store = await newStore();
    await Promise.all([store.importOciLayout(a.dir), store.importOciLayout(b.dir)]);
    expect(store.stats.layersUnpacked).toBe(3);
    expect(await listDir("layers/sha256")).toEqual(
      [...new Set([...a.diffIds, ...b.diffIds].map(hex))].sort(),
    );
    const inode = (await stat(join(store.layerDirs(store.resolve("a:1")!)[0]!, "bin/busybox"))).ino;

    const c = await buildBusyboxImage(join(work, "c"), { name: "c:1" });
    await store.importOciLayout(c.dir);
    expect(store.stats.layersUnpacked).toBe(3);
    expect((await stat(join(store.layerDirs(store.resolve("c:1")!)[0]!, "bin/busybox"))).ino).toBe(inode);
  });

  it("refuses to remove an image in use, then removes it and only its own layers", async () => {
    const a = await buildBusyboxImage(join(work, "a"), {
      name: "a:1",
      extraLayers: [[{ path: "a", content: "a" }]],
    });
    const b = await buildBusyboxImage(join(work, "b"), { name: "b:1" });
    const store = await newStore();
    await store.importOciLayout(a.dir);
    await store.importOciLayout(a.dir, { tag: "a:also" });
    await store.importOciLayout(b.dir);

    const err = await rejection(store.remove("a:1", (id) => id === a.imageId));
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect(store.resolve("a:1")?.id).toBe(a.imageId);

    await store.remove("a:1", notInUse);
    expect(store.resolve("a:1")).toBeUndefined();
    expect(store.resolve("a:also")).toBeUndefined();
    expect(existsSync(join(root, "images", `${hex(a.imageId)}.json`))).toBe(false);
    expect(await listDir("layers/sha256")).toEqual([hex(b.diffIds[0]!)]);
    expect(await listDir("blobs/sha256")).toEqual(
      [b.imageId, b.manifestDigest, ...b.layerDigests].map(hex).sort(),
    );
    expect(await listDir("layers/tmp")).toEqual([]);

    await expect(store.remove("a:1", notInUse)).rejects.toThrow(NotFoundError);
    await store.remove(b.imageId, notInUse);
    expect(await listDir("layers/sha256")).toEqual([]);
    expect(await listDir("blobs/sha256")).toEqual([]);
    expect(store.list()).toEqual([]);
  });

  const hostileKinds: HostileKind[] = [
    "dotdot-path",
    "absolute-escape",
    "symlink-parent",
    "hardlink-out",
    "device-node",
  ];
  it.each(hostileKinds)("rejects a %s layer and keeps nothing of it", async (kind) => {
    const hostile = await buildHostileLayerImage(join(work, "hostile"), kind);
    await rm(hostile.escapeTarget, { force: true });
    const store = await newStore();
    const err = await rejection(store.importOciLayout(hostile.dir));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toContain("entry");
    expect(existsSync(hostile.escapeTarget)).toBe(false);
    expect(store.list()).toEqual([]);
    for (const dir of ["layers/sha256", "layers/tmp", "blobs/sha256", "ingest", "images"]) {
      expect(await listDir(dir), dir).toEqual([]);
    }
  });

  it("rejects a blob whose content does not match its digest", async () => {
    const built = await buildBusyboxImage(join(work, "bb"), { extraLayers: [[{ path: "x", content: "x" }]] });
    const layerPath = join(built.dir, "blobs/sha256", hex(built.layerDigests[1]!));
    const bytes = await readFile(layerPath);
    bytes[bytes.length - 5]! ^= 0xff;
    await writeFile(layerPath, bytes);
    const store = await newStore();
    const err = await rejection(store.importOciLayout(built.dir));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toContain("digest");
    expect(await listDir("layers/sha256")).toEqual([]);
    expect(await listDir("blobs/sha256")).toEqual([]);
  });

  it("rejects a layer whose content does not match the config's diffID", async () => {
    const good = await buildBusyboxImage(join(work, "good"), {
      extraLayers: [[{ path: "x", content: "x" }]],
    });
    const other = await buildBusyboxImage(join(work, "other"), {
      extraLayers: [[{ path: "y", content: "y" }]],
    });
    // Swap the top layer blob (digest-valid, since the manifest is rewritten) for another one.
    const manifestPath = join(good.dir, "blobs/sha256", hex(good.manifestDigest));
    const manifest = JSON.parse(await readFile(manifestPath, "utf8"));
    const otherBlob = await readFile(join(other.dir, "blobs/sha256", hex(other.layerDigests[1]!)));
    await writeFile(join(good.dir, "blobs/sha256", hex(other.layerDigests[1]!)), otherBlob);
    manifest.layers[1] = { ...manifest.layers[1], digest: other.layerDigests[1], size: otherBlob.byteLength };
    const { sha256Digest } = await import("../../../../cri/images/digest.js");
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const manifestDigest = sha256Digest(manifestBytes);
    await writeFile(join(good.dir, "blobs/sha256", hex(manifestDigest)), manifestBytes);
    const index = JSON.parse(await readFile(join(good.dir, "index.json"), "utf8"));
    index.manifests[0] = { ...index.manifests[0], digest: manifestDigest, size: manifestBytes.byteLength };
    await writeFile(join(good.dir, "index.json"), JSON.stringify(index));

    const store = await newStore();
    const err = await rejection(store.importOciLayout(good.dir));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toContain("diffID");
    expect(await listDir("layers/sha256")).toEqual([]);
    expect(await listDir("blobs/sha256")).toEqual([]);
  });
});

describe("ImageStore crash recovery and usage", () => {
  it("init() removes a half-finished unpack, partial blobs and temp records, keeping good images", async () => {
    const built = await buildBusyboxImage(join(work, "bb"));
    await (await newStore()).importOciLayout(built.dir);
    // What a kill -9 during the next import would leave behind.
    const halfLayer = join(root, "layers/tmp", `unpack-${"e".repeat(64)}-0000`, "fs/bin");
    await mkdir(halfLayer, { recursive: true });
    await writeFile(join(halfLayer, "partial"), "x");
    await writeFile(join(root, "ingest", `${"f".repeat(64)}-1234`), "partial blob");
    await writeFile(join(root, "images", `.${"a".repeat(64)}.json.0000.tmp`), "{");
    // And content that a crash between unpack and record left unreferenced.
    await mkdir(join(root, "layers/sha256", "d".repeat(64), "fs"), { recursive: true });
    await writeFile(join(root, "blobs/sha256", "c".repeat(64)), "orphan");

    const store = await newStore();
    expect(await listDir("layers/tmp")).toEqual([]);
    expect(await listDir("ingest")).toEqual([]);
    expect(await listDir("images")).toEqual([`${hex(built.imageId)}.json`]);
    expect(await listDir("layers/sha256")).toEqual([hex(built.diffIds[0]!)]);
    expect(await listDir("blobs/sha256")).not.toContain("c".repeat(64));
    expect(store.resolve(built.imageId)?.repoTags).toEqual(["berth.test/library/busybox:latest"]);
  });

  it("reports usage of the store root, recomputing only after changes", async () => {
    const store = await newStore();
    const empty = await store.fsUsage();
    expect(empty.inodes).toBeGreaterThan(0);

    const built = await buildBusyboxImage(join(work, "bb"));
    await store.importOciLayout(built.dir);
    const full = await store.fsUsage();
    // busybox is stored twice: compressed blob and unpacked binary.
    expect(full.bytes).toBeGreaterThan(empty.bytes + 2_000_000);
    expect(full.inodes).toBeGreaterThan(empty.inodes + 50);

    // A file written behind the store's back is not seen until the store itself changes.
    await writeFile(join(root, "ingest", "stray"), Buffer.alloc(1_000_000, 1));
    expect(await store.fsUsage()).toEqual(full);
    await store.remove(built.imageId, notInUse);
    const after = await store.fsUsage();
    expect(after.bytes).toBeLessThan(full.bytes);
    expect(after.bytes).toBeGreaterThan(empty.bytes + 900_000);
  });
});
