import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { sha256Digest } from "../../../../../cri/images/digest.js";
import { BlobVerificationError, downloadBlob } from "../../../../../cri/images/pull/blob-download.js";
import { RegistryRequestError } from "../../../../../cri/images/pull/registry-error.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-blobdl-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A body arriving in small chunks, as from a socket. */
function body(data: Buffer, chunk = 1000): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.byteLength; i += chunk) parts.push(data.subarray(i, i + chunk));
  return Readable.from(parts);
}

// Random bytes do not compress, so the gzip arrives in many chunks.
const raw = Buffer.concat([randomBytes(40_000), Buffer.from("layer content ".repeat(5000))]);
const gz = gzipSync(raw);
const layerDesc = {
  mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
  digest: sha256Digest(gz),
  size: gz.byteLength,
};

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("downloadBlob", () => {
  it("writes a verified gzip layer, checking its diffID, and reports bytes as they come", async () => {
    const dest = join(dir, "blob");
    const seen: number[] = [];
    await downloadBlob(body(gz), {
      descriptor: layerDesc,
      destPath: dest,
      label: "layer",
      layer: { diffId: sha256Digest(raw), maxUncompressedBytes: raw.byteLength },
      onBytes: (n) => seen.push(n),
    });
    expect(await readFile(dest)).toEqual(gz);
    expect(seen.at(-1)).toBe(gz.byteLength);
    expect(seen.length).toBeGreaterThan(1);
  });

  it("accepts a plain tar layer, whose diffID is its digest", async () => {
    const dest = join(dir, "blob");
    const desc = {
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: sha256Digest(raw),
      size: raw.byteLength,
    };
    await downloadBlob(body(raw), {
      descriptor: desc,
      destPath: dest,
      label: "layer",
      layer: { diffId: sha256Digest(raw), maxUncompressedBytes: 1e9 },
    });
    expect(existsSync(dest)).toBe(true);
  });

  it.each([
    [
      "a digest mismatch",
      () => Buffer.from(gz).fill(7, 100, 101),
      /content has digest sha256:[0-9a-f]+, expected/,
    ],
    ["more bytes than declared", () => Buffer.concat([gz, Buffer.from("x")]), /larger than the \d+ bytes/],
  ])("fails on %s and leaves no file", async (_name, tamper, message) => {
    const dest = join(dir, "blob");
    const err = await rejection(
      downloadBlob(body(tamper()), { descriptor: layerDesc, destPath: dest, label: "layer" }),
    );
    expect(err).toBeInstanceOf(BlobVerificationError);
    expect(err.message).toMatch(message);
    expect(existsSync(dest)).toBe(false);
  });

  it("treats a short body as a passing failure, worth retrying", async () => {
    const dest = join(dir, "blob");
    const err = await rejection(
      downloadBlob(body(gz.subarray(0, 100)), { descriptor: layerDesc, destPath: dest, label: "layer" }),
    );
    expect(err).toBeInstanceOf(RegistryRequestError);
    expect((err as RegistryRequestError).kind).toBe("transient");
    expect(existsSync(dest)).toBe(false);
  });

  it("treats a broken connection as transient", async () => {
    const broken = new Readable({
      read() {
        this.push(gz.subarray(0, 500));
        this.destroy(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
      },
    });
    const err = await rejection(
      downloadBlob(broken, { descriptor: layerDesc, destPath: join(dir, "b"), label: "layer" }),
    );
    expect((err as RegistryRequestError).kind).toBe("transient");
  });

  it("fails when the uncompressed content is not the config's diffID", async () => {
    const dest = join(dir, "blob");
    const err = await rejection(
      downloadBlob(body(gz), {
        descriptor: layerDesc,
        destPath: dest,
        label: "layer",
        layer: { diffId: sha256Digest("something else"), maxUncompressedBytes: 1e9 },
      }),
    );
    expect(err).toBeInstanceOf(BlobVerificationError);
    expect(err.message).toMatch(/uncompressed content has digest .* the image config lists/);
    expect(existsSync(dest)).toBe(false);
  });

  it("cuts a download off once the layer inflates past the limit", async () => {
    // A gzip bomb in miniature: 64 MiB of zeros in a few tens of kB.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const desc = { mediaType: layerDesc.mediaType, digest: sha256Digest(bomb), size: bomb.byteLength };
    let received = 0;
    const err = await rejection(
      downloadBlob(body(bomb, 256), {
        descriptor: desc,
        destPath: join(dir, "bomb"),
        label: "layer",
        layer: { diffId: sha256Digest("x"), maxUncompressedBytes: 1024 * 1024 },
        onBytes: (n) => (received = n),
      }),
    );
    expect(err.message).toMatch(/uncompressed layer is larger than the limit of 1048576 bytes/);
    expect(received).toBeLessThan(bomb.byteLength);
  });

  it("refuses zstd layers", async () => {
    const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(100)]);
    const desc = {
      mediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
      digest: sha256Digest(zstd),
      size: zstd.byteLength,
    };
    const err = await rejection(
      downloadBlob(body(zstd), {
        descriptor: desc,
        destPath: join(dir, "z"),
        label: "layer",
        layer: { diffId: sha256Digest("x"), maxUncompressedBytes: 1e9 },
      }),
    );
    expect(err.message).toMatch(/zstd/);
  });
});
