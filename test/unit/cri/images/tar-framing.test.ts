import { describe, expect, it } from "vitest";
import { TarFraming } from "../../../../cri/images/tar-framing.js";

/** A 512-byte header block: name, typeflag and a size field (octal text or raw bytes). */
function header(type: string, size: number | Buffer): Buffer {
  const block = Buffer.alloc(512);
  block.write("entry", 0);
  if (Buffer.isBuffer(size)) size.copy(block, 124);
  else block.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
  block.write(type, 156);
  return block;
}

function pax(records: Record<string, string>, type = "x"): Buffer[] {
  const body = Object.entries(records)
    .map(([k, v]) => {
      const rest = ` ${k}=${v}\n`;
      let len = rest.length + 1;
      while (`${len}${rest}`.length !== len) len++;
      return `${len}${rest}`;
    })
    .join("");
  const data = Buffer.from(body);
  return [header(type, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512)];
}

function framingOf(...parts: Buffer[]): TarFraming {
  const framing = new TarFraming();
  // Odd chunk sizes: the framing must not depend on where chunks break.
  const all = Buffer.concat(parts);
  for (let i = 0; i < all.length; i += 77) framing.update(all.subarray(i, i + 77));
  return framing;
}

describe("TarFraming", () => {
  it("an empty stream or one ending on a block boundary needs nothing", () => {
    expect(framingOf().paddingToComplete()).toBe(0);
    expect(framingOf(header("0", 512), Buffer.alloc(512)).paddingToComplete()).toBe(0);
  });

  it("a stream ending right after an entry's data needs its padding", () => {
    expect(framingOf(header("0", 1000), Buffer.alloc(1000, 1)).paddingToComplete()).toBe(24);
    expect(framingOf(header("0", 1000), Buffer.alloc(1010, 1)).paddingToComplete()).toBe(14);
  });

  it("a stream ending inside an entry's data or a header is not complete", () => {
    expect(framingOf(header("0", 1000), Buffer.alloc(999, 1)).paddingToComplete()).toBeUndefined();
    expect(framingOf(header("0", 1000).subarray(0, 300)).paddingToComplete()).toBeUndefined();
  });

  it("part of an end-of-archive block counts as padding", () => {
    expect(framingOf(header("0", 0), Buffer.alloc(100)).paddingToComplete()).toBe(412);
  });

  it("reads a base-256 size", () => {
    const size = Buffer.alloc(12);
    size[0] = 0x80;
    size.writeUInt32BE(1000, 8);
    expect(framingOf(header("0", size), Buffer.alloc(1000, 1)).paddingToComplete()).toBe(24);
    expect(framingOf(header("0", size), Buffer.alloc(900, 1)).paddingToComplete()).toBeUndefined();
  });

  it("takes a pax size for the next entry only, and a global one only with a local pax header", () => {
    const entry = [...pax({ size: "1000" }), header("0", 0), Buffer.alloc(1000, 1)];
    expect(framingOf(...entry).paddingToComplete()).toBe(24);
    // The entry after it has its own size again.
    expect(framingOf(...entry, Buffer.alloc(24), header("0", 0)).paddingToComplete()).toBe(0);
    const global = pax({ size: "1000" }, "g");
    expect(framingOf(...global, header("0", 0)).paddingToComplete()).toBe(0);
    expect(
      framingOf(...global, ...pax({ path: "x" }), header("0", 0), Buffer.alloc(1000, 1)).paddingToComplete(),
    ).toBe(24);
  });

  it("gives directories no data, as the extractor does", () => {
    expect(framingOf(header("5", 1000)).paddingToComplete()).toBe(0);
  });

  it("a size field it cannot read makes no end complete", () => {
    expect(framingOf(header("0", Buffer.from("zzz"))).paddingToComplete()).toBeUndefined();
  });
});
