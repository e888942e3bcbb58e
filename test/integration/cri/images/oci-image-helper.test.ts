// The test image builder: deterministic output and a busybox that has every applet it links.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { BUSYBOX_APPLETS, BUSYBOX_PATH, buildBusyboxImage } from "../../../../harness/oci-image.js";

let work: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-ociimg-"));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("buildBusyboxImage", () => {
  it("gives identical digests for identical inputs and different ones otherwise", async () => {
    const opts = { name: "x.test/a:1", cmd: ["sleep", "1"], extraLayers: [[{ path: "f", content: "f" }]] };
    const a = await buildBusyboxImage(join(work, "a"), opts);
    const b = await buildBusyboxImage(join(work, "b"), opts);
    const c = await buildBusyboxImage(join(work, "c"), { ...opts, cmd: ["sleep", "2"] });
    expect(b.imageId).toBe(a.imageId);
    expect(b.manifestDigest).toBe(a.manifestDigest);
    expect(await readFile(join(b.dir, "index.json"), "utf8")).toBe(
      await readFile(join(a.dir, "index.json"), "utf8"),
    );
    expect(c.imageId).not.toBe(a.imageId);
    expect(c.layerDigests).toEqual(a.layerDigests);
  });

  it("links only applets the host's busybox has", async () => {
    const { stdout } = await execa(BUSYBOX_PATH, ["--list"]);
    const available = new Set(stdout.split("\n"));
    expect(BUSYBOX_APPLETS.filter((a) => !available.has(a))).toEqual([]);
  });
});
