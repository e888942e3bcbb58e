// The SPDY/3 name/value header block (draft 3, section 2.6.10), before compression: a
// 32-bit count, then each name and value as 32-bit length + bytes. Names are lower case;
// several values of one name travel as one value joined by NUL bytes.
import { SpdyProtocolError } from "./frames.js";

export type SpdyHeaders = Map<string, string[]>;

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  count.writeUInt32BE(headers.size);
  parts.push(count);
  for (const [name, values] of headers) {
    for (const text of [name.toLowerCase(), values.join("\0")]) {
      const bytes = Buffer.from(text, "utf8");
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      parts.push(length, bytes);
    }
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const headers: SpdyHeaders = new Map();
  let offset = 0;
  const readString = (): string => {
    if (block.length - offset < 4) throw new SpdyProtocolError("header block truncated");
    const length = block.readUInt32BE(offset);
    offset += 4;
    if (block.length - offset < length) throw new SpdyProtocolError("header block truncated");
    const text = block.toString("utf8", offset, offset + length);
    offset += length;
    return text;
  };
  if (block.length < 4) throw new SpdyProtocolError("header block truncated");
  const count = block.readUInt32BE(0);
  offset = 4;
  for (let i = 0; i < count; i++) {
    const name = readString().toLowerCase();
    const values = readString().split("\0");
    headers.set(name, [...(headers.get(name) ?? []), ...values]);
  }
  return headers;
}

/** The first value of a header, or undefined. */
export function headerValue(headers: SpdyHeaders, name: string): string | undefined {
  return headers.get(name.toLowerCase())?.[0];
}

export function headersOf(record: Record<string, string>): SpdyHeaders {
  return new Map(Object.entries(record).map(([k, v]) => [k.toLowerCase(), [v]]));
}
