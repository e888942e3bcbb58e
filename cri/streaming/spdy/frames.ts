// SPDY/3.1 framing (draft 3.1, section 2.2): an 8-byte header, then the payload. A control
// frame starts with the high bit set, the version (3) and its type; a data frame starts
// with the stream id. Both carry 8 bits of flags and a 24-bit payload length. Header
// blocks stay compressed here: inflating them needs the session's zlib context.

export const SPDY_VERSION = 3;
export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
/** The largest payload a frame can carry (24-bit length). */
export const MAX_FRAME_PAYLOAD = 0xffffff;

export const enum ControlType {
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
}

/** RST_STREAM status codes. */
export const RstStatus = {
  ProtocolError: 1,
  InvalidStream: 2,
  RefusedStream: 3,
  UnsupportedVersion: 4,
  Cancel: 5,
  InternalError: 6,
  FlowControlError: 7,
  StreamInUse: 8,
  StreamAlreadyClosed: 9,
  FrameTooLarge: 11,
} as const;

export const GoAwayStatus = { Ok: 0, ProtocolError: 1, InternalError: 2 } as const;

export const SETTINGS_INITIAL_WINDOW_SIZE = 7;

export type Frame =
  | { type: "data"; streamId: number; flags: number; data: Buffer }
  | {
      type: "syn_stream";
      streamId: number;
      associatedTo: number;
      priority: number;
      flags: number;
      headerBlock: Buffer;
    }
  | { type: "syn_reply"; streamId: number; flags: number; headerBlock: Buffer }
  | { type: "headers"; streamId: number; flags: number; headerBlock: Buffer }
  | { type: "rst_stream"; streamId: number; status: number }
  | { type: "settings"; flags: number; entries: { flags: number; id: number; value: number }[] }
  | { type: "ping"; id: number }
  | { type: "goaway"; lastGoodStreamId: number; status: number }
  | { type: "window_update"; streamId: number; delta: number }
  | { type: "unknown"; controlType: number; flags: number; payload: Buffer };

export class SpdyProtocolError extends Error {}

function controlFrame(type: ControlType, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new SpdyProtocolError("control frame payload too large");
  const header = Buffer.alloc(8);
  header.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  header.writeUInt16BE(type, 2);
  header.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  return Buffer.concat([header, payload]);
}

function u31(value: number): number {
  return value & 0x7fffffff;
}

/** Encodes a frame; header blocks must already be compressed. */
export function encodeFrame(frame: Frame): Buffer {
  switch (frame.type) {
    case "data": {
      if (frame.data.length > MAX_FRAME_PAYLOAD) throw new SpdyProtocolError("data frame payload too large");
      const header = Buffer.alloc(8);
      header.writeUInt32BE(u31(frame.streamId), 0);
      header.writeUInt32BE((((frame.flags & 0xff) << 24) | frame.data.length) >>> 0, 4);
      return Buffer.concat([header, frame.data]);
    }
    case "syn_stream": {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt32BE(u31(frame.streamId), 0);
      fixed.writeUInt32BE(u31(frame.associatedTo), 4);
      fixed[8] = (frame.priority & 0x7) << 5;
      fixed[9] = 0; // credential slot
      return controlFrame(ControlType.SynStream, frame.flags, Buffer.concat([fixed, frame.headerBlock]));
    }
    case "syn_reply":
    case "headers": {
      const id = Buffer.alloc(4);
      id.writeUInt32BE(u31(frame.streamId), 0);
      const type = frame.type === "syn_reply" ? ControlType.SynReply : ControlType.Headers;
      return controlFrame(type, frame.flags, Buffer.concat([id, frame.headerBlock]));
    }
    case "rst_stream": {
      const payload = Buffer.alloc(8);
      payload.writeUInt32BE(u31(frame.streamId), 0);
      payload.writeUInt32BE(frame.status >>> 0, 4);
      return controlFrame(ControlType.RstStream, 0, payload);
    }
    case "settings": {
      const payload = Buffer.alloc(4 + 8 * frame.entries.length);
      payload.writeUInt32BE(frame.entries.length, 0);
      frame.entries.forEach((e, i) => {
        payload.writeUInt32BE((((e.flags & 0xff) << 24) | (e.id & 0xffffff)) >>> 0, 4 + 8 * i);
        payload.writeUInt32BE(e.value >>> 0, 8 + 8 * i);
      });
      return controlFrame(ControlType.Settings, frame.flags, payload);
    }
    case "ping": {
      const payload = Buffer.alloc(4);
      payload.writeUInt32BE(frame.id >>> 0, 0);
      return controlFrame(ControlType.Ping, 0, payload);
    }
    case "goaway": {
      const payload = Buffer.alloc(8);
      payload.writeUInt32BE(u31(frame.lastGoodStreamId), 0);
      payload.writeUInt32BE(frame.status >>> 0, 4);
      return controlFrame(ControlType.GoAway, 0, payload);
    }
    case "window_update": {
      const payload = Buffer.alloc(8);
      payload.writeUInt32BE(u31(frame.streamId), 0);
      payload.writeUInt32BE(u31(frame.delta), 4);
      return controlFrame(ControlType.WindowUpdate, 0, payload);
    }
    case "unknown":
      return controlFrame(frame.controlType as ControlType, frame.flags, frame.payload);
  }
}

function need(payload: Buffer, bytes: number, what: string): void {
  if (payload.length < bytes)
    throw new SpdyProtocolError(`${what} frame too short (${payload.length} bytes)`);
}

function decodeControl(type: number, flags: number, payload: Buffer): Frame {
  switch (type) {
    case ControlType.SynStream:
      need(payload, 10, "SYN_STREAM");
      return {
        type: "syn_stream",
        streamId: u31(payload.readUInt32BE(0)),
        associatedTo: u31(payload.readUInt32BE(4)),
        priority: (payload[8] as number) >> 5,
        flags,
        headerBlock: payload.subarray(10),
      };
    case ControlType.SynReply:
    case ControlType.Headers:
      need(payload, 4, type === ControlType.SynReply ? "SYN_REPLY" : "HEADERS");
      return {
        type: type === ControlType.SynReply ? "syn_reply" : "headers",
        streamId: u31(payload.readUInt32BE(0)),
        flags,
        headerBlock: payload.subarray(4),
      };
    case ControlType.RstStream:
      need(payload, 8, "RST_STREAM");
      return { type: "rst_stream", streamId: u31(payload.readUInt32BE(0)), status: payload.readUInt32BE(4) };
    case ControlType.Settings: {
      need(payload, 4, "SETTINGS");
      const count = payload.readUInt32BE(0);
      need(payload, 4 + 8 * count, "SETTINGS");
      const entries = [];
      for (let i = 0; i < count; i++) {
        const word = payload.readUInt32BE(4 + 8 * i);
        entries.push({ flags: word >>> 24, id: word & 0xffffff, value: payload.readUInt32BE(8 + 8 * i) });
      }
      return { type: "settings", flags, entries };
    }
    case ControlType.Ping:
      need(payload, 4, "PING");
      return { type: "ping", id: payload.readUInt32BE(0) };
    case ControlType.GoAway:
      need(payload, 4, "GOAWAY");
      // SPDY/2 peers send no status; 3.1 always does.
      return {
        type: "goaway",
        lastGoodStreamId: u31(payload.readUInt32BE(0)),
        status: payload.length >= 8 ? payload.readUInt32BE(4) : 0,
      };
    case ControlType.WindowUpdate:
      need(payload, 8, "WINDOW_UPDATE");
      return {
        type: "window_update",
        streamId: u31(payload.readUInt32BE(0)),
        delta: u31(payload.readUInt32BE(4)),
      };
    default:
      return { type: "unknown", controlType: type, flags, payload };
  }
}

/** Cuts a byte stream into frames; feed it whatever the socket delivers. */
export class FrameParser {
  private buffered: Buffer[] = [];
  private bufferedLength = 0;

  constructor(private readonly maxPayload = MAX_FRAME_PAYLOAD) {}

  push(chunk: Buffer): Frame[] {
    this.buffered.push(chunk);
    this.bufferedLength += chunk.length;
    const frames: Frame[] = [];
    if (this.bufferedLength < 8) return frames;
    let data = this.buffered.length === 1 ? (this.buffered[0] as Buffer) : Buffer.concat(this.buffered);
    let offset = 0;
    while (data.length - offset >= 8) {
      const first = data.readUInt32BE(offset);
      const second = data.readUInt32BE(offset + 4);
      const flags = second >>> 24;
      const length = second & 0xffffff;
      if (length > this.maxPayload) throw new SpdyProtocolError(`frame of ${length} bytes exceeds the limit`);
      if (data.length - offset < 8 + length) break;
      const payload = data.subarray(offset + 8, offset + 8 + length);
      if (first & 0x80000000) {
        const version = (first >>> 16) & 0x7fff;
        if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
        frames.push(decodeControl(first & 0xffff, flags, payload));
      } else {
        frames.push({ type: "data", streamId: first & 0x7fffffff, flags, data: payload });
      }
      offset += 8 + length;
    }
    data = data.subarray(offset);
    this.buffered = data.length ? [data] : [];
    this.bufferedLength = data.length;
    return frames;
  }
}
