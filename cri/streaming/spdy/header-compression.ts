// SPDY/3 compresses every header block of one direction of a session as one continuous
// zlib stream primed with the SPDY dictionary, flushed at each block's end.
//
// Outgoing blocks are written as deflate "stored" (uncompressed) blocks: still one valid
// zlib stream with the dictionary id in its header, which any SPDY peer inflates, but
// produced synchronously and with no state beyond "header sent". Each block ends with an
// empty stored block, the marker a sync flush writes: Go's inflater (kubectl, crictl)
// hands out a block's bytes only when it reaches that marker. Header blocks here are a
// few dozen bytes, so real compression would save nothing worth an async step in the
// frame writer. Incoming blocks come from real deflaters (Go's zlib in kubectl and
// crictl), so they are inflated with zlib, one inflate context per session.
import { constants, createInflate, type Inflate } from "node:zlib";
import { SPDY3_DICTIONARY } from "./dictionary.js";

/** Adler-32 of the dictionary: the id a zlib header with FDICT names it by. */
export function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length;) {
    // 3800 bytes keep both sums below 2^31 before the modulo.
    const end = Math.min(i + 3800, data.length);
    for (; i < end; i++) {
      a += data[i] as number;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** An empty non-final stored block: what zlib's Z_SYNC_FLUSH appends. */
const SYNC_FLUSH_MARKER = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

/** The largest payload of one deflate stored block. */
const STORED_BLOCK_MAX = 0xffff;

export class HeaderCompressor {
  private started = false;

  compress(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      // CMF 0x78 (deflate, 32 KiB window), FLG 0xbb (FDICT set; the pair is divisible by 31).
      const header = Buffer.alloc(6);
      header[0] = 0x78;
      header[1] = 0xbb;
      header.writeUInt32BE(adler32(SPDY3_DICTIONARY), 2);
      parts.push(header);
      this.started = true;
    }
    let offset = 0;
    do {
      const length = Math.min(STORED_BLOCK_MAX, block.length - offset);
      const blockHeader = Buffer.alloc(5);
      blockHeader[0] = 0x00; // BFINAL=0, BTYPE=00 (stored), padded to the byte boundary
      blockHeader.writeUInt16LE(length, 1);
      blockHeader.writeUInt16LE(~length & 0xffff, 3);
      parts.push(blockHeader, block.subarray(offset, offset + length));
      offset += length;
    } while (offset < block.length);
    parts.push(SYNC_FLUSH_MARKER);
    return Buffer.concat(parts);
  }
}

export class HeaderDecompressor {
  private readonly inflate: Inflate;
  private failure: Error | undefined;

  constructor() {
    this.inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
    this.inflate.on("error", (err) => {
      this.failure = err;
    });
  }

  /** Inflates one header block; blocks must be given in the order they arrived. */
  decompress(block: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const onError = (err: Error): void => reject(err);
      this.inflate.once("error", onError);
      this.inflate.write(block);
      this.inflate.flush(constants.Z_SYNC_FLUSH, () => {
        this.inflate.off("error", onError);
        if (this.failure) return reject(this.failure);
        // Paused mode: everything this block produced is buffered by the time flush calls back.
        const out: Buffer[] = [];
        for (
          let chunk = this.inflate.read() as Buffer | null;
          chunk;
          chunk = this.inflate.read() as Buffer | null
        ) {
          out.push(chunk);
        }
        resolve(Buffer.concat(out));
      });
    });
  }

  close(): void {
    this.inflate.destroy();
  }
}
