// Bringing blobs into the store's content-addressed directory: written or copied into an ingest
// dir first, verified and synced there, then renamed into place, so a blob under its digest is
// always complete and correct.
import { createReadStream, createWriteStream } from "node:fs";
import { open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { randomBytes } from "node:crypto";
import { InvalidArgumentError } from "../../common/errors.js";
import { digestHex, newSha256 } from "./digest.js";
import type { Descriptor } from "./oci-layout.js";

function ingestPath(ingestDir: string, hex: string): string {
  return join(ingestDir, `${hex}-${randomBytes(6).toString("hex")}`);
}

/** Stores bytes already verified against `digest` (small JSON blobs). */
export async function writeBlobBytes(
  blobsDir: string,
  ingestDir: string,
  digest: string,
  bytes: Buffer,
): Promise<void> {
  const hex = digestHex(digest, "digest");
  const dest = join(blobsDir, hex);
  if (await exists(dest)) return;
  const tmp = ingestPath(ingestDir, hex);
  try {
    const fh = await open(tmp, "wx", 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, dest);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Streams `source` into the store, checking its size and digest against `desc` on the way;
 * a blob that is too long is cut off as soon as it passes the declared size. */
export async function copyVerifiedBlob(
  blobsDir: string,
  ingestDir: string,
  source: string,
  desc: Descriptor,
  field: string,
): Promise<void> {
  const hex = digestHex(desc.digest, `${field}.digest`);
  const dest = join(blobsDir, hex);
  if (await exists(dest)) return;
  if (!(await exists(source))) {
    throw new InvalidArgumentError(field, `blob ${desc.digest} is missing from the layout`);
  }
  const tmp = ingestPath(ingestDir, hex);
  const hash = newSha256();
  let size = 0;
  const verifier = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.byteLength;
      if (size > desc.size) {
        callback(
          new InvalidArgumentError(
            field,
            `blob ${desc.digest} is larger than its descriptor's ${desc.size} bytes`,
          ),
        );
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(
      createReadStream(source),
      verifier,
      createWriteStream(tmp, { flags: "wx", mode: 0o644, flush: true }),
    );
    if (size !== desc.size) {
      throw new InvalidArgumentError(
        field,
        `blob ${desc.digest} is ${size} bytes, its descriptor says ${desc.size}`,
      );
    }
    const actual = `sha256:${hash.digest("hex")}`;
    if (actual !== desc.digest) {
      throw new InvalidArgumentError(
        field,
        `blob content has digest ${actual}, its descriptor says ${desc.digest}`,
      );
    }
    await rename(tmp, dest);
  } finally {
    await rm(tmp, { force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}
