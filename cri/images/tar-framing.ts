// Follows the 512-byte block framing of a tar stream as it passes, to tell, once it ends,
// whether it ended right after a complete entry (only the last entry's padding and the
// end-of-archive blocks missing, as some writers leave them: umoci insert 0.4.7 does) or inside
// a header or an entry's data. It reads what the extractor reads (tar-stream's rules): the size
// field in octal or base-256, a pax `size` record for the entry after it, no data for
// directories.

const BLOCK = 512;
const SIZE_OFFSET = 124;
const SIZE_LENGTH = 12;
const TYPEFLAG_OFFSET = 156;
/** pax headers are read whole; tar-stream refuses larger ones anyway. */
const MAX_PAX_BYTES = 1024 * 1024;

type Phase = "header" | "data" | "padding";

export class TarFraming {
  private phase: Phase = "header";
  /** Bytes of the header block being assembled. */
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** Bytes left in the current phase (data or padding). */
  private left = 0;
  /** Size of the current entry's data, for its padding. */
  private entrySize = 0;
  /** The current entry is a pax header: its data is kept to read a `size` record. */
  private paxKind: "local" | "global" | undefined;
  private paxChunks: Buffer[] = [];
  private paxBytes = 0;
  private localPaxSize: number | undefined;
  private globalPaxSize: number | undefined;
  private sawLocalPax = false;
  /** False once the framing is not understood: the stream's end is then never excused. */
  private understood = true;

  update(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && this.understood) {
      if (this.phase === "header") {
        const n = Math.min(BLOCK - this.headerFill, chunk.length - offset);
        chunk.copy(this.header, this.headerFill, offset, offset + n);
        this.headerFill += n;
        offset += n;
        if (this.headerFill === BLOCK) this.startEntry();
      } else {
        const n = Math.min(this.left, chunk.length - offset);
        if (this.phase === "data" && this.paxKind) this.keepPax(chunk.subarray(offset, offset + n));
        this.left -= n;
        offset += n;
        if (this.left === 0) this.endPhase();
      }
    }
  }

  /**
   * Zero bytes that complete the stream if it ended right after a complete entry (0 if nothing
   * is missing); undefined if it ended inside a header or inside an entry's data.
   */
  paddingToComplete(): number | undefined {
    if (!this.understood) return undefined;
    switch (this.phase) {
      case "padding":
        return this.left;
      case "data":
        return undefined;
      case "header":
        // Part of an end-of-archive block is as good as none.
        if (this.header.subarray(0, this.headerFill).some((b) => b !== 0)) return undefined;
        return this.headerFill === 0 ? 0 : BLOCK - this.headerFill;
    }
  }

  private startEntry(): void {
    const block = this.header;
    this.headerFill = 0;
    if (block.every((b) => b === 0)) return; // an end-of-archive block
    const headerSize = parseSize(block.subarray(SIZE_OFFSET, SIZE_OFFSET + SIZE_LENGTH));
    if (headerSize === undefined) {
      this.understood = false;
      return;
    }
    const type = String.fromCharCode(block[TYPEFLAG_OFFSET] ?? 0);
    let size = headerSize;
    this.paxKind = type === "x" ? "local" : type === "g" ? "global" : undefined;
    if (!this.paxKind && type !== "L" && type !== "K") {
      // An entry proper: a pax size applies to it, and is then used up.
      const paxSize = this.sawLocalPax ? (this.localPaxSize ?? this.globalPaxSize) : undefined;
      if (paxSize !== undefined) size = paxSize;
      this.sawLocalPax = false;
      this.localPaxSize = undefined;
      if (type === "5") size = 0;
    }
    this.entrySize = size;
    this.paxChunks = [];
    this.paxBytes = 0;
    if (size > 0) {
      this.phase = "data";
      this.left = size;
    }
  }

  private keepPax(data: Buffer): void {
    this.paxBytes += data.length;
    if (this.paxBytes > MAX_PAX_BYTES) this.understood = false;
    else this.paxChunks.push(Buffer.from(data));
  }

  private endPhase(): void {
    if (this.phase === "data") {
      if (this.paxKind) this.readPax();
      const padding = (BLOCK - (this.entrySize % BLOCK)) % BLOCK;
      if (padding > 0) {
        this.phase = "padding";
        this.left = padding;
        return;
      }
    }
    this.phase = "header";
  }

  private readPax(): void {
    const size = paxSize(Buffer.concat(this.paxChunks).toString("utf8"));
    if (this.paxKind === "local") {
      this.sawLocalPax = true;
      this.localPaxSize = size;
    } else if (size !== undefined) {
      this.globalPaxSize = size;
    }
    this.paxKind = undefined;
  }
}

/** The size field: octal digits (space or NUL padded), or base-256 when the top bit is set. */
function parseSize(field: Buffer): number | undefined {
  if ((field[0] ?? 0) & 0x80) {
    if (field[0] !== 0x80) return undefined; // negative
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return Number.isSafeInteger(value) ? value : undefined;
  }
  const text = field.toString("latin1").replace(/\0.*$/s, "").trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return Number.parseInt(text, 8);
}

/** The `size` record of pax header data ("<len> size=<n>\n" records), if any. */
function paxSize(records: string): number | undefined {
  let size: number | undefined;
  for (const line of records.split("\n")) {
    const match = /^\d+ size=(\d+)$/.exec(line);
    if (match?.[1]) size = Number.parseInt(match[1], 10);
  }
  return size;
}
