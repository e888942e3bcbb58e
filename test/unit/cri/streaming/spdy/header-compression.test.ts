import { describe, expect, it } from "vitest";
import { constants, createDeflate, inflateSync } from "node:zlib";
import { SPDY3_DICTIONARY } from "../../../../../cri/streaming/spdy/dictionary.js";
import {
  HeaderCompressor,
  HeaderDecompressor,
  adler32,
} from "../../../../../cri/streaming/spdy/header-compression.js";
import {
  decodeHeaderBlock,
  encodeHeaderBlock,
  headersOf,
} from "../../../../../cri/streaming/spdy/header-block.js";

/** A peer's compressor as Go's and zlib's SPDY framers run it: one stream, sync-flushed per block. */
function peerCompressor(): (block: Buffer) => Promise<Buffer> {
  const deflate = createDeflate({ dictionary: SPDY3_DICTIONARY, level: 9 });
  return (block) =>
    new Promise((resolve) => {
      deflate.write(block);
      deflate.flush(constants.Z_SYNC_FLUSH, () => {
        const out: Buffer[] = [];
        for (let c = deflate.read() as Buffer | null; c; c = deflate.read() as Buffer | null) out.push(c);
        resolve(Buffer.concat(out));
      });
    });
}

describe("SPDY/3 header dictionary", () => {
  it("is the 1423-byte dictionary of the draft", () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423);
    expect(SPDY3_DICTIONARY.subarray(0, 11)).toEqual(
      Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from("options")]),
    );
    expect(SPDY3_DICTIONARY.subarray(-6).toString()).toBe("enq=0.");
    expect(SPDY3_DICTIONARY.includes(Buffer.from("\x00\x00\x00\x06origin100101201"))).toBe(true);
  });

  it("computes Adler-32 as zlib does", () => {
    expect(adler32(Buffer.from("Wikipedia"))).toBe(0x11e60398);
    expect(adler32(Buffer.alloc(0))).toBe(1);
    // zlib names the dictionary by its Adler-32 in the stream header.
    const stream = createDeflate({ dictionary: SPDY3_DICTIONARY });
    stream.end(Buffer.from("x"));
    return new Promise<void>((resolve) => {
      stream.once("data", (chunk: Buffer) => {
        expect(chunk.readUInt32BE(2)).toBe(adler32(SPDY3_DICTIONARY));
        resolve();
      });
    });
  });
});

describe("HeaderCompressor", () => {
  it("writes one zlib stream that a dictionary-primed inflater reads block by block", () => {
    const compressor = new HeaderCompressor();
    const first = encodeHeaderBlock(headersOf({ streamType: "stdout" }));
    const second = encodeHeaderBlock(
      new Map([
        ["port", ["8080"]],
        ["multi", ["a", "b"]],
      ]),
    );
    const a = compressor.compress(first);
    const b = compressor.compress(second);
    expect(a.subarray(0, 2)).toEqual(Buffer.from([0x78, 0xbb]));
    expect(((a[0]! << 8) | a[1]!) % 31).toBe(0);
    expect(b[0]).toBe(0x00); // no second zlib header
    // Each block ends at a sync point (an empty stored block), where Go's inflater releases it.
    for (const out of [a, b]) expect([...out.subarray(-5)]).toEqual([0, 0, 0, 0xff, 0xff]);
    const inflated = inflateSync(Buffer.concat([a, b]), {
      dictionary: SPDY3_DICTIONARY,
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    expect(inflated).toEqual(Buffer.concat([first, second]));
    expect(decodeHeaderBlock(inflated.subarray(0, first.length))).toEqual(
      new Map([["streamtype", ["stdout"]]]),
    );
  });

  it("splits blocks larger than one stored block", () => {
    const big = Buffer.alloc(150_000, 0x61);
    const out = new HeaderCompressor().compress(big);
    expect(inflateSync(out, { dictionary: SPDY3_DICTIONARY, finishFlush: constants.Z_SYNC_FLUSH })).toEqual(
      big,
    );
  });
});

describe("HeaderDecompressor", () => {
  it("inflates consecutive blocks of a peer's shared compression context", async () => {
    const compress = peerCompressor();
    const decompressor = new HeaderDecompressor();
    const blocks = ["error", "stdin", "stdout", "stderr", "resize"].map((t) =>
      encodeHeaderBlock(headersOf({ streamType: t, "x-request": "1" })),
    );
    for (const block of blocks) {
      const compressed = await compress(block);
      expect(await decompressor.decompress(compressed)).toEqual(block);
    }
    decompressor.close();
  });

  it("rejects a block compressed without the dictionary", async () => {
    const decompressor = new HeaderDecompressor();
    const bogus = Buffer.from([0x78, 0x9c, 0xff, 0xff, 0xff, 0xff, 0x00]);
    await expect(decompressor.decompress(bogus)).rejects.toThrow();
    decompressor.close();
  });
});
