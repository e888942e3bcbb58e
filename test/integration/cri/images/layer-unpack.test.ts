// Layer unpacking on the real filesystem as root: ownership, modes, device nodes and xattrs
// need privileges, so this is an integration test.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { lstat, mkdtemp, readFile, readlink, readdir, rm, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import { execa } from "execa";
import { InvalidArgumentError } from "../../../../common/errors.js";
import { sha256Digest } from "../../../../cri/images/digest.js";
import { normalizeEntryPath, unpackLayer } from "../../../../cri/images/layer-unpack.js";
import {
  buildHostileLayerImage,
  FIXED_MTIME,
  packTar,
  type HostileKind,
} from "../../../../harness/oci-image.js";

let work: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-unpack-"));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const base = { uid: 0, gid: 0, mtime: FIXED_MTIME };

async function writeLayer(
  entries: Parameters<typeof packTar>[0],
  gzip = true,
): Promise<{ path: string; tar: Buffer }> {
  const tar = await packTar(entries);
  const path = join(work, `layer-${Math.random().toString(16).slice(2)}`);
  await writeFile(path, gzip ? gzipSync(tar) : tar);
  return { path, tar };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("normalizeEntryPath", () => {
  it.each([
    ["a/b", "a/b"],
    ["./a//b/", "a/b"],
    ["/etc/passwd", "etc/passwd"],
    ["a/../b", "b"],
    ["./", ""],
    ["..", undefined],
    ["a/../../b", undefined],
    ["/../etc", undefined],
  ])("%s -> %s", (input, expected) => {
    expect(normalizeEntryPath(input)).toBe(expected);
  });
});

describe("unpackLayer", () => {
  it("keeps modes (setuid too), owners, mtimes and symlinks, and hashes the uncompressed tar", async () => {
    const { path, tar } = await writeLayer([
      { header: { ...base, name: "./", type: "directory", mode: 0o755 } },
      { header: { ...base, name: "bin/", type: "directory", mode: 0o755 } },
      { header: { ...base, name: "bin/su", type: "file", mode: 0o4755, size: 4 }, data: Buffer.from("#!su") },
      { header: { ...base, name: "bin/sg", type: "file", mode: 0o2711, size: 1 }, data: Buffer.from("x") },
      { header: { ...base, name: "home/u/", type: "directory", mode: 0o700, uid: 1000, gid: 2000 } },
      {
        header: { ...base, name: "home/u/f", type: "file", mode: 0o640, uid: 1000, gid: 2000, size: 2 },
        data: Buffer.from("hi"),
      },
      { header: { ...base, name: "tmp/", type: "directory", mode: 0o1777 } },
      { header: { ...base, name: "bin/abs", type: "symlink", linkname: "/etc/nowhere", uid: 7, gid: 8 } },
      { header: { ...base, name: "bin/rel", type: "symlink", linkname: "../home/u/f" } },
      { header: { ...base, name: "bin/hard", type: "link", linkname: "bin/su" } },
    ]);
    const dest = join(work, "out");
    const result = await unpackLayer(path, dest);

    expect(result.diffId).toBe(sha256Digest(tar));
    expect(result.tarSize).toBe(tar.byteLength);
    expect(result.unpackedSize).toBe(4 + 1 + 2);

    const su = await stat(join(dest, "bin/su"));
    expect(su.mode & 0o7777).toBe(0o4755);
    expect((await stat(join(dest, "bin/sg"))).mode & 0o7777).toBe(0o2711);
    expect((await stat(join(dest, "tmp"))).mode & 0o7777).toBe(0o1777);
    const home = await stat(join(dest, "home/u"));
    expect([home.uid, home.gid, home.mode & 0o7777]).toEqual([1000, 2000, 0o700]);
    const f = await stat(join(dest, "home/u/f"));
    expect([f.uid, f.gid, f.mode & 0o7777]).toEqual([1000, 2000, 0o640]);
    expect(f.mtimeMs).toBe(FIXED_MTIME.getTime());
    // Directory mtimes survive the entries written into them later.
    expect((await stat(join(dest, "bin"))).mtimeMs).toBe(FIXED_MTIME.getTime());

    expect(await readlink(join(dest, "bin/abs"))).toBe("/etc/nowhere");
    const abs = await lstat(join(dest, "bin/abs"));
    expect([abs.uid, abs.gid, abs.mtimeMs]).toEqual([7, 8, FIXED_MTIME.getTime()]);
    expect(await readlink(join(dest, "bin/rel"))).toBe("../home/u/f");
    const hard = await stat(join(dest, "bin/hard"));
    expect(hard.ino).toBe(su.ino);
    expect(hard.nlink).toBe(2);
  });

  it("detects a plain tar by content, whatever it is called", async () => {
    const { path, tar } = await writeLayer(
      [{ header: { ...base, name: "a.txt", type: "file", mode: 0o644, size: 1 }, data: Buffer.from("a") }],
      false,
    );
    const result = await unpackLayer(path, join(work, "out"));
    expect(result.diffId).toBe(sha256Digest(tar));
    expect(await readFile(join(work, "out/a.txt"), "utf8")).toBe("a");
  });

  it("turns whiteouts into 0/0 character devices and opaque markers into an xattr", async () => {
    const { path } = await writeLayer([
      { header: { ...base, name: "etc/.wh.passwd", type: "file", size: 0 }, data: Buffer.alloc(0) },
      { header: { ...base, name: "var/", type: "directory", mode: 0o755 } },
      { header: { ...base, name: "var/.wh..wh..opq", type: "file", size: 0 }, data: Buffer.alloc(0) },
      { header: { ...base, name: "var/.wh..wh.plnk", type: "file", size: 0 }, data: Buffer.alloc(0) },
    ]);
    const dest = join(work, "out");
    await unpackLayer(path, dest);

    const whiteout = await lstat(join(dest, "etc/passwd"));
    expect(whiteout.isCharacterDevice()).toBe(true);
    expect(whiteout.rdev).toBe(0);
    expect(await readdir(join(dest, "etc"))).toEqual(["passwd"]);
    const xattr = await execa("getfattr", [
      "--only-values",
      "-n",
      "trusted.overlay.opaque",
      join(dest, "var"),
    ]);
    expect(xattr.stdout).toBe("y");
    expect(await readdir(join(dest, "var"))).toEqual([]);
  });

  it("replaces a symlink by a later file entry instead of writing through it", async () => {
    const outside = join(work, "outside.txt");
    await writeFile(outside, "untouched");
    const { path } = await writeLayer([
      { header: { ...base, name: "f", type: "symlink", linkname: outside } },
      { header: { ...base, name: "f", type: "file", mode: 0o644, size: 3 }, data: Buffer.from("new") },
    ]);
    await unpackLayer(path, join(work, "out"));
    expect(await readFile(outside, "utf8")).toBe("untouched");
    expect((await lstat(join(work, "out/f"))).isFile()).toBe(true);
    expect(await readFile(join(work, "out/f"), "utf8")).toBe("new");
  });

  it("refuses a symlinked parent even when the symlink points inside the layer", async () => {
    const { path } = await writeLayer([
      { header: { ...base, name: "real/", type: "directory" } },
      { header: { ...base, name: "alias", type: "symlink", linkname: "real" } },
      { header: { ...base, name: "alias/f", type: "file", size: 1 }, data: Buffer.from("x") },
    ]);
    const err = await rejection(unpackLayer(path, join(work, "out")));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toContain('"alias/f"');
    expect(existsSync(join(work, "out"))).toBe(false);
  });

  it("refuses a hard link to a file the layer does not contain", async () => {
    const { path } = await writeLayer([
      { header: { ...base, name: "h", type: "link", linkname: "missing" } },
    ]);
    const err = await rejection(unpackLayer(path, join(work, "out")));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(/"h".*not a file of this layer/);
  });

  it("refuses character devices and fifos", async () => {
    for (const type of ["character-device", "fifo"] as const) {
      const { path } = await writeLayer([
        { header: { ...base, name: "dev/x", type, mode: 0o600, devmajor: 1, devminor: 3 } },
      ]);
      const err = await rejection(unpackLayer(path, join(work, `out-${type}`)));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toContain(type);
      expect(existsSync(join(work, `out-${type}`))).toBe(false);
    }
  });

  it.each([
    ["gzip", true],
    ["plain", false],
  ])("reports a truncated %s archive as corrupt and leaves nothing", async (_kind, gzip) => {
    const content = randomBytes(100_000);
    const tar = await packTar([
      { header: { ...base, name: "big", type: "file", size: content.byteLength }, data: content },
    ]);
    const path = join(work, "truncated");
    await writeFile(path, (gzip ? gzipSync(tar) : tar).subarray(0, 50_000));
    const err = await rejection(unpackLayer(path, join(work, "out"), { label: "layer X" }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(/^layer X: corrupt/);
    expect(existsSync(join(work, "out"))).toBe(false);
  });

  const hostileKinds: HostileKind[] = [
    "dotdot-path",
    "absolute-escape",
    "symlink-parent",
    "hardlink-out",
    "device-node",
  ];
  it.each(hostileKinds)(
    "rejects the hostile layer %s, naming the entry and leaving nothing",
    async (kind) => {
      const image = await buildHostileLayerImage(join(work, "layout"), kind);
      await rm(image.escapeTarget, { force: true });
      const passwdLinks = (await stat("/etc/passwd")).nlink;
      const blob = join(work, "layout/blobs/sha256", image.layerDigests[0]!.slice("sha256:".length));
      const dest = join(work, "out");

      const err = await rejection(unpackLayer(blob, dest));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(/entry "/);
      expect(existsSync(dest)).toBe(false);
      expect(existsSync(image.escapeTarget)).toBe(false);
      expect((await stat("/etc/passwd")).nlink).toBe(passwdLinks);
    },
  );
});
