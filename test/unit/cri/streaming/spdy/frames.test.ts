import { describe, expect, it } from "vitest";
import {
  FLAG_FIN,
  FrameParser,
  SpdyProtocolError,
  encodeFrame,
  type Frame,
} from "../../../../../cri/streaming/spdy/frames.js";
import { decodeHeaderBlock, encodeHeaderBlock } from "../../../../../cri/streaming/spdy/header-block.js";

const frames: Frame[] = [
  { type: "data", streamId: 5, flags: FLAG_FIN, data: Buffer.from("hello") },
  {
    type: "syn_stream",
    streamId: 3,
    associatedTo: 0,
    priority: 2,
    flags: FLAG_FIN,
    headerBlock: Buffer.from([1, 2, 3]),
  },
  { type: "syn_reply", streamId: 3, flags: 0, headerBlock: Buffer.from([9]) },
  { type: "headers", streamId: 3, flags: FLAG_FIN, headerBlock: Buffer.from([8]) },
  { type: "rst_stream", streamId: 7, status: 5 },
  {
    type: "settings",
    flags: 0,
    entries: [
      { flags: 1, id: 7, value: 65536 },
      { flags: 0, id: 4, value: 100 },
    ],
  },
  { type: "ping", id: 2 },
  { type: "goaway", lastGoodStreamId: 9, status: 0 },
  { type: "window_update", streamId: 3, delta: 1024 },
];

describe("SPDY/3.1 frames", () => {
  it("encodes and parses every frame type", () => {
    const parser = new FrameParser();
    for (const frame of frames) expect(parser.push(encodeFrame(frame))).toEqual([frame]);
  });

  it("lays out control and data headers as the draft says", () => {
    const ping = encodeFrame({ type: "ping", id: 1 });
    expect([...ping]).toEqual([0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1]);
    const data = encodeFrame({ type: "data", streamId: 1, flags: FLAG_FIN, data: Buffer.from("ab") });
    expect([...data]).toEqual([0, 0, 0, 1, 0x01, 0, 0, 2, 0x61, 0x62]);
    const syn = encodeFrame({
      type: "syn_stream",
      streamId: 1,
      associatedTo: 0,
      priority: 7,
      flags: 0,
      headerBlock: Buffer.alloc(0),
    });
    expect(syn[8 + 8]).toBe(0xe0); // priority in the top 3 bits
  });

  it("reassembles frames split across reads and several in one read", () => {
    const bytes = Buffer.concat(frames.map(encodeFrame));
    const parser = new FrameParser();
    const got: Frame[] = [];
    for (let i = 0; i < bytes.length; i += 3) got.push(...parser.push(bytes.subarray(i, i + 3)));
    expect(got).toEqual(frames);
  });

  it("rejects other SPDY versions and oversized frames", () => {
    const v2 = encodeFrame({ type: "ping", id: 1 });
    v2.writeUInt16BE(0x8002, 0);
    expect(() => new FrameParser().push(v2)).toThrow(SpdyProtocolError);
    const huge = encodeFrame({ type: "data", streamId: 1, flags: 0, data: Buffer.alloc(100) });
    expect(() => new FrameParser(50).push(huge)).toThrow(/exceeds/);
  });

  it("keeps unknown control frames as such", () => {
    const unknown = encodeFrame({ type: "unknown", controlType: 10, flags: 0, payload: Buffer.from([1]) });
    expect(new FrameParser().push(unknown)).toEqual([
      { type: "unknown", controlType: 10, flags: 0, payload: Buffer.from([1]) },
    ]);
  });
});

describe("SPDY/3 name/value header blocks", () => {
  it("round-trips names in lower case and NUL-joined values", () => {
    const block = encodeHeaderBlock(
      new Map([
        ["StreamType", ["data"]],
        ["x", ["a", "b"]],
      ]),
    );
    expect(block.readUInt32BE(0)).toBe(2);
    expect(block.includes(Buffer.from("a\0b"))).toBe(true);
    expect(decodeHeaderBlock(block)).toEqual(
      new Map([
        ["streamtype", ["data"]],
        ["x", ["a", "b"]],
      ]),
    );
  });

  it("rejects truncated blocks", () => {
    const block = encodeHeaderBlock(new Map([["port", ["80"]]]));
    expect(() => decodeHeaderBlock(block.subarray(0, block.length - 1))).toThrow(/truncated/);
  });
});
