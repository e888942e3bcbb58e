// Layers whose tar stream stops right after the last entry's data, with no padding and no
// end-of-archive blocks (as `umoci insert` 0.4.7 writes them), unpack; a stream cut inside an
// entry's data or a header is still refused. The diffID is the hash of the bytes as they are.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import { InvalidArgumentError } from "../../../../common/errors.js";
import { sha256Digest } from "../../../../cri/images/digest.js";
import { unpackLayer } from "../../../../cri/images/layer-unpack.js";
import { FIXED_MTIME, packTar } from "../../../../harness/oci-image.js";

let work: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-short-tar-"));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const base = { uid: 0, gid: 0, mtime: FIXED_MTIME };
/** Over 100 characters: tar-stream writes a pax header for it. */
const LONG_NAME = `dir/${"n".repeat(120)}`;

/** A tar whose last entry is `last` (1000 bytes), and the offset where its data ends. */
async function tarEndingWith(lastName: string): Promise<{ tar: Buffer; dataEnd: number; last: Buffer }> {
  const first = randomBytes(700);
  const last = randomBytes(1000);
  const tar = await packTar([
    { header: { ...base, name: "dir/", type: "directory", mode: 0o755 } },
    { header: { ...base, name: "dir/first", type: "file", mode: 0o644, size: first.length }, data: first },
    { header: { ...base, name: lastName, type: "file", mode: 0o4755, size: last.length }, data: last },
  ]);
  // The last entry's data starts where its content first appears, on a block boundary.
  const dataStart = tar.indexOf(last);
  expect(dataStart % 512).toBe(0);
  return { tar, dataEnd: dataStart + last.length, last };
}

async function unpack(bytes: Buffer, gzip: boolean) {
  const path = join(work, `layer-${Math.random().toString(16).slice(2)}`);
  await writeFile(path, gzip ? gzipSync(bytes) : bytes);
  const dest = join(work, `out-${Math.random().toString(16).slice(2)}`);
  return { dest, result: unpackLayer(path, dest, { label: "layer X" }) };
}

describe.each([
  ["gzip", true],
  ["plain", false],
])("a %s layer", (_kind, gzip) => {
  it.each([
    ["a short name", "dir/last"],
    ["a pax header", LONG_NAME],
  ])("that stops right after the last entry's data unpacks whole (%s)", async (_what, name) => {
    const { tar, dataEnd, last } = await tarEndingWith(name);
    expect(dataEnd % 512).not.toBe(0);
    const short = tar.subarray(0, dataEnd);
    const { dest, result } = await unpack(short, gzip);
    const unpacked = await result;
    expect(await readFile(join(dest, name))).toEqual(last);
    expect((await stat(join(dest, name))).mode & 0o7777).toBe(0o4755);
    // The diffID is that of the bytes the layer holds, not of what the extractor was given.
    expect(unpacked.diffId).toBe(sha256Digest(short));
    expect(unpacked.tarSize).toBe(short.length);
  });

  it("that stops inside its last padding block, or between end-of-archive blocks, unpacks", async () => {
    const { tar, dataEnd } = await tarEndingWith("dir/last");
    for (const end of [dataEnd + 5, dataEnd + (512 - (dataEnd % 512)) + 100]) {
      const { result } = await unpack(tar.subarray(0, end), gzip);
      expect((await result).diffId).toBe(sha256Digest(tar.subarray(0, end)));
    }
  });

  it.each([
    ["one byte short of the last entry's data", (dataEnd: number) => dataEnd - 1],
    ["inside the last entry's data", (dataEnd: number) => dataEnd - 600],
    ["inside the last entry's header", (dataEnd: number) => dataEnd - 1000 - 200],
  ])("cut %s is refused as corrupt and leaves nothing", async (_where, cut) => {
    const { tar, dataEnd } = await tarEndingWith(LONG_NAME);
    const { dest, result } = await unpack(tar.subarray(0, cut(dataEnd)), gzip);
    const err = await result.then(
      () => new Error("expected a rejection"),
      (e: Error) => e,
    );
    expect(err.message).toMatch(/^layer X: corrupt archive/);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(existsSync(dest)).toBe(false);
  });
});
