// Overlay rootfs snapshots on real mounts. Every test checks /proc/self/mountinfo afterwards so
// no mount outlives it.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { FailedPreconditionError, InvalidArgumentError } from "../../../../common/errors.js";
import { silentLogger } from "../../../../common/logger.js";
import { SnapshotManager } from "../../../../cri/images/snapshots.js";
import { mountPoints } from "../../../../common/mounts.js";
import { ImageStore } from "../../../../cri/images/store.js";
import { buildBusyboxImage } from "../../../../harness/oci-image.js";

let work: string;
let snapshots: SnapshotManager;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-snap-"));
  snapshots = new SnapshotManager({ root: join(work, "snapshots"), logger: silentLogger() });
});

afterEach(async () => {
  // Unmount anything a failed test left before deleting, and fail loudly if that was needed.
  const leaked = await mountsUnder(work);
  for (const point of leaked.reverse()) await execa("umount", ["-l", point], { reject: false });
  await rm(work, { recursive: true, force: true });
  expect(leaked).toEqual([]);
});

async function mountsUnder(dir: string): Promise<string[]> {
  return mountPoints(await readFile("/proc/self/mountinfo", "utf8")).filter((p) => p.startsWith(dir));
}

async function storeWith(...images: Parameters<typeof buildBusyboxImage>[1][]): Promise<ImageStore> {
  const store = new ImageStore({ root: join(work, "images"), logger: silentLogger() });
  await store.init();
  for (const [i, opts] of images.entries()) await store.importOciLayout(await layoutDir(i, opts));
  return store;
}

async function layoutDir(i: number, opts: Parameters<typeof buildBusyboxImage>[1]): Promise<string> {
  return (await buildBusyboxImage(join(work, `layout${i}`), opts)).dir;
}

describe("SnapshotManager", () => {
  it("mounts a multi-layer image with whiteouts and an opaque dir, showing the right files", async () => {
    const store = await storeWith({
      name: "layered:1",
      extraLayers: [
        [
          { path: "data", type: "dir" },
          { path: "data/old1", content: "1" },
          { path: "data/old2", content: "2" },
          { path: "keep", type: "dir" },
          { path: "keep/x", content: "kept" },
          { path: "etc/motd", content: "motd" },
        ],
        [
          { path: "etc/motd", type: "whiteout" },
          { path: "bin/ls", type: "whiteout" },
          { path: "data", type: "opaque" },
          { path: "data/new", content: "fresh" },
          { path: "keep/y", content: "added", mode: 0o600 },
        ],
      ],
    });
    const image = store.resolve("layered:1")!;
    const merged = await snapshots.prepare("c1", store.layerDirs(image));

    expect(merged).toBe(join(work, "snapshots/c1/merged"));
    expect(await snapshots.isMounted("c1")).toBe(true);
    expect(await readdir(join(merged, "data"))).toEqual(["new"]);
    expect((await readdir(join(merged, "keep"))).sort()).toEqual(["x", "y"]);
    expect(existsSync(join(merged, "etc/motd"))).toBe(false);
    expect(existsSync(join(merged, "etc/passwd"))).toBe(true);
    expect(existsSync(join(merged, "bin/ls"))).toBe(false);
    expect(existsSync(join(merged, "bin/cat"))).toBe(true);

    // The rootfs really runs: busybox from the bottom layer, files from the top one.
    const run = await execa("chroot", [
      merged,
      "/bin/sh",
      "-c",
      "cat /data/new /keep/x; echo; echo /data/*; id -u",
    ]);
    expect(run.stdout).toBe("freshkept\n/data/new\n0");

    // An unprivileged user reads through the overlay although the store's dirs are root-only.
    const asUser = await execa("chroot", [
      "--userspec=1000:1000",
      merged,
      "/bin/sh",
      "-c",
      "id -u; cat /keep/x",
    ]);
    expect(asUser.stdout).toBe("1000\nkept");
    await expect(execa("chroot", ["--userspec=1000:1000", merged, "/bin/cat", "/keep/y"])).rejects.toThrow();

    // Writes land in the container's upper dir, never in the shared layers.
    await writeFile(join(merged, "keep/x"), "changed");
    const layers = store.layerDirs(image);
    expect(await readFile(join(layers[1]!, "keep/x"), "utf8")).toBe("kept");
    expect(await readFile(join(work, "snapshots/c1/upper/keep/x"), "utf8")).toBe("changed");

    await snapshots.remove("c1");
    expect(await snapshots.isMounted("c1")).toBe(false);
    expect(await mountsUnder(work)).toEqual([]);
    expect(existsSync(join(work, "snapshots/c1"))).toBe(false);
  });

  it("is idempotent: prepare twice mounts once, remove twice and remove of unknown ids succeed", async () => {
    const store = await storeWith({ name: "bb:1" });
    const lowers = store.layerDirs(store.resolve("bb:1")!);
    const first = await snapshots.prepare("c2", lowers);
    const second = await snapshots.prepare("c2", lowers);
    expect(second).toBe(first);
    expect((await mountsUnder(work)).filter((p) => p === first)).toHaveLength(1);

    await snapshots.remove("c2");
    await snapshots.remove("c2");
    await snapshots.remove("never-existed");
    expect(await mountsUnder(work)).toEqual([]);
    expect(await readdir(join(work, "snapshots"))).toEqual([]);
  });

  it("removes a snapshot whose mount is already gone (after a host reboot)", async () => {
    const store = await storeWith({ name: "bb:1" });
    const merged = await snapshots.prepare("c3", store.layerDirs(store.resolve("bb:1")!));
    await execa("umount", [merged]);
    await snapshots.remove("c3");
    expect(existsSync(join(work, "snapshots/c3"))).toBe(false);
  });

  it("gives an image without layers an empty lowerdir", async () => {
    const merged = await snapshots.prepare("empty", []);
    expect(await readdir(merged)).toEqual([]);
    await snapshots.remove("empty");
    expect(await mountsUnder(work)).toEqual([]);
  });

  it("mounts many layers with relative lowerdirs when absolute ones would not fit in a page", async () => {
    // Deep absolute paths (about 190 bytes each) times 40 exceed 4096 bytes; relative to their
    // common parent they are about 40 bytes each.
    const parent = join(work, "x".repeat(100), "y".repeat(50));
    const lowers: string[] = [];
    for (let i = 0; i < 40; i++) {
      const dir = join(parent, `layer-${String(i).padStart(2, "0")}-${"z".repeat(20)}`);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, `f${i}`), `${i}`);
      await writeFile(join(dir, "top"), `${i}`);
      lowers.push(dir);
    }
    expect(lowers.join(":").length).toBeGreaterThan(4096);
    const merged = await snapshots.prepare("many", lowers);
    expect((await readdir(merged)).length).toBe(41);
    // The last layer given (the topmost) wins.
    expect(await readFile(join(merged, "top"), "utf8")).toBe("39");
    await snapshots.remove("many");
    expect(await mountsUnder(work)).toEqual([]);
  });

  it("fails clearly when even relative lowerdirs exceed the page size", async () => {
    const lowers = Array.from({ length: 200 }, (_, i) => join(work, `d${i}`, "a".repeat(30)));
    const err = await snapshots.prepare("toomany", lowers).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as Error).message).toMatch(/200 layers.*limit/);
    expect(existsSync(join(work, "snapshots/toomany"))).toBe(false);
  });

  it("rejects snapshot names that are not one path component", async () => {
    for (const id of ["../x", "a/b", "", ".", ".."]) {
      await expect(snapshots.prepare(id, []), id).rejects.toThrow(InvalidArgumentError);
    }
  });
});
