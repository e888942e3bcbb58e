// Streams one blob from a registry response into a file, verifying it on the way: never more
// than the descriptor's size is written, and the sha256 must match the digest. For a layer the
// uncompressed stream is measured at the same time (gzip is inflated beside the download), so a
// layer that inflates past the limit is cut off while it downloads, and its diffID is checked
// against the image config before anything is unpacked. Memory stays bounded: chunks go through
// and are gone.
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, type Gunzip } from "node:zlib";
import { BerthError, ResourceExhaustedError } from "../../../common/errors.js";
import { newSha256 } from "../digest.js";
import type { LayerSizeMeter } from "../image-limits.js";
import type { Descriptor } from "../oci-layout.js";
import { networkFailure, RegistryRequestError } from "./registry-error.js";

export interface LayerCheck {
  /** sha256 of the uncompressed content, from the image config's rootfs.diff_ids. */
  diffId: string;
  /** Uncompressed bytes allowed. */
  maxUncompressedBytes: number;
  /** Told of the uncompressed bytes as they stream by; the error it returns stops the download. */
  meter?: LayerSizeMeter;
}

export interface BlobDownload {
  descriptor: Descriptor;
  /** The file to create (it must not exist); removed again when the download fails. */
  destPath: string;
  /** Names the blob in errors. */
  label: string;
  layer?: LayerCheck;
  /** Bytes received so far, called as they arrive. */
  onBytes?(received: number): void;
  signal?: AbortSignal;
}

/** Content that is not what the descriptor promised; trying again at the same place will not help. */
export class BlobVerificationError extends RegistryRequestError {
  constructor(message: string) {
    super("invalid", message);
  }
}

/** Content whose digest is not the one asked for: corrupted or tampered with on the way. */
export class DigestMismatchError extends BlobVerificationError {}

/**
 * Writes `body` to `destPath`, verified. A connection that breaks, or a body that ends short,
 * fails with a transient RegistryRequestError (the caller may retry); wrong content with a
 * BlobVerificationError. The file exists afterwards only on success.
 */
export async function downloadBlob(body: Readable, job: BlobDownload): Promise<void> {
  const { descriptor: desc, label } = job;
  const hash = newSha256();
  const meter = job.layer
    ? new UncompressedMeter(job.layer.maxUncompressedBytes, label, job.layer.meter)
    : undefined;
  let received = 0;
  const verifier = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.byteLength;
      if (received > desc.size) {
        callback(
          new BlobVerificationError(`${label} is larger than the ${desc.size} bytes its descriptor says`),
        );
        return;
      }
      hash.update(chunk);
      job.onBytes?.(received);
      if (!meter) {
        callback(null, chunk);
        return;
      }
      meter.write(chunk).then(
        () => callback(meter.failure, chunk),
        (err: Error) => callback(err),
      );
    },
  });
  try {
    try {
      await pipeline(
        body,
        verifier,
        createWriteStream(job.destPath, { flags: "wx", mode: 0o644, flush: true }),
        ...(job.signal ? [{ signal: job.signal }] : []),
      );
    } catch (err) {
      if (err instanceof RegistryRequestError || err instanceof BerthError) throw err;
      if ((err as Error).name === "AbortError") throw err;
      // A file system error is this host's, not the registry's: report it as it is.
      if (LOCAL_FS_CODES.has((err as NodeJS.ErrnoException).code ?? "")) throw err;
      throw networkFailure(err, `downloading ${label}`);
    }
    if (received !== desc.size) {
      throw new RegistryRequestError(
        "transient",
        `${label}: the registry sent ${received} of ${desc.size} bytes`,
      );
    }
    const actual = `sha256:${hash.digest("hex")}`;
    if (actual !== desc.digest) {
      throw new DigestMismatchError(`${label}: content has digest ${actual}, expected ${desc.digest}`);
    }
    if (meter && job.layer) {
      const { diffId } = await meter.finish();
      if (diffId !== job.layer.diffId) {
        throw new BlobVerificationError(
          `${label}: uncompressed content has digest ${diffId}, the image config lists ${job.layer.diffId}`,
        );
      }
    }
  } catch (err) {
    meter?.abort();
    await rm(job.destPath, { force: true });
    throw err;
  }
}

const LOCAL_FS_CODES = new Set([
  "ENOSPC",
  "EDQUOT",
  "EROFS",
  "EACCES",
  "EPERM",
  "EEXIST",
  "EIO",
  "EMFILE",
  "ENFILE",
  "ENOENT",
]);

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/**
 * Measures the uncompressed form of a layer as its compressed bytes arrive: gzip (detected by
 * its magic bytes) is inflated and hashed; a plain tar is hashed as it is.
 */
class UncompressedMeter {
  private head: Buffer[] = [];
  private headSize = 0;
  private mode: "undecided" | "gzip" | "plain" = "undecided";
  private gunzip?: Gunzip;
  private gunzipDone?: Promise<void>;
  private readonly hash = newSha256();
  private size = 0;
  /** Set once the layer must not be downloaded further (too large, zstd, over a size limit); the
   * download stops. */
  failure: Error | null = null;
  /** Set when the gzip stream is broken; reported after the digest check, which names the
   * cause better when the registry sent corrupted bytes. */
  private corrupt: Error | null = null;

  constructor(
    private readonly limit: number,
    private readonly label: string,
    private readonly meter?: LayerSizeMeter,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    if (this.failure) return;
    if (this.mode === "undecided") {
      this.head.push(chunk);
      this.headSize += chunk.byteLength;
      if (this.headSize < ZSTD_MAGIC.length) return;
      this.decide();
      const head = Buffer.concat(this.head);
      this.head = [];
      return this.feed(head);
    }
    return this.feed(chunk);
  }

  private decide(): void {
    const head = Buffer.concat(this.head);
    if (ZSTD_MAGIC.every((b, i) => head[i] === b)) {
      this.failure = new BlobVerificationError(`${this.label}: zstd-compressed layers are not supported`);
      return;
    }
    if (GZIP_MAGIC.every((b, i) => head[i] === b)) {
      this.mode = "gzip";
      const gunzip = createGunzip();
      gunzip.on("data", (out: Buffer) => this.count(out));
      this.gunzipDone = new Promise((resolve) => {
        gunzip.on("end", resolve);
        gunzip.on("close", resolve);
        gunzip.on("error", (err) => {
          if (!this.failure) {
            this.corrupt ??= new BlobVerificationError(`${this.label}: not valid gzip: ${err.message}`);
          }
          resolve();
        });
      });
      this.gunzip = gunzip;
    } else {
      this.mode = "plain";
    }
  }

  private count(data: Buffer): void {
    if (this.failure) return;
    this.size += data.byteLength;
    const refused =
      this.meter?.(data.byteLength) ??
      (this.size > this.limit
        ? new ResourceExhaustedError(
            `${this.label}: uncompressed layer is larger than the limit of ${this.limit} bytes`,
          )
        : undefined);
    if (refused) {
      this.failure = refused;
      this.gunzip?.destroy();
      return;
    }
    this.hash.update(data);
  }

  private async feed(data: Buffer): Promise<void> {
    if (this.failure || this.corrupt) return;
    if (this.mode === "plain") {
      this.count(data);
      return;
    }
    const gunzip = this.gunzip!;
    if (!gunzip.write(data) && !this.failure && !this.corrupt) {
      await new Promise<void>((resolve) => {
        const done = () => {
          gunzip.off("drain", done);
          gunzip.off("close", done);
          resolve();
        };
        gunzip.on("drain", done);
        gunzip.on("close", done);
      });
    }
  }

  async finish(): Promise<{ diffId: string; size: number }> {
    if (this.mode === "undecided" && !this.failure) {
      this.decide();
      const head = Buffer.concat(this.head);
      this.head = [];
      await this.feed(head);
    }
    if (this.gunzip && !this.failure && !this.corrupt) {
      this.gunzip.end();
      await this.gunzipDone;
    }
    if (this.failure ?? this.corrupt) throw this.failure ?? this.corrupt;
    return { diffId: `sha256:${this.hash.digest("hex")}`, size: this.size };
  }

  abort(): void {
    this.gunzip?.destroy();
  }
}
