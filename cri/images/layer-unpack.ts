// Unpacks one image layer (a tar, plain or gzip) into a directory that becomes an overlayfs
// lowerdir. The tar comes from outside, so every entry is checked before anything is written:
// no path may leave the root, nothing is ever written through a symlink, hard links stay inside
// the layer, and device nodes are refused. Whiteouts are turned into overlayfs's own form since
// each layer is mounted as a separate lowerdir. The diffID is hashed while streaming.
import { createReadStream } from "node:fs";
import { chmod, lstat, link, lutimes, lchown, mkdir, open, rm, symlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import { execa } from "execa";
import tar, { type Extract, type Header } from "tar-stream";
import { BerthError, InvalidArgumentError, RuntimeFailureError } from "../../common/errors.js";
import { newSha256 } from "./digest.js";
import type { LayerSizeMeter } from "./image-limits.js";

export interface UnpackedLayer {
  /** sha256 of the uncompressed tar, as an image config's rootfs.diff_ids lists it. */
  diffId: string;
  /** Bytes of the uncompressed tar. */
  tarSize: number;
  /** Bytes of regular file content written. */
  unpackedSize: number;
}

export interface UnpackOptions {
  /** Names the layer in error messages, e.g. "layer sha256:ab12...". */
  label?: string;
  /** Told of the uncompressed bytes as they are read; the error it returns stops the unpack. */
  meter?: LayerSizeMeter;
}

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE_MARKER = ".wh..wh..opq";
/** Other `.wh..wh.` names are aufs bookkeeping with no meaning on overlayfs. */
const AUFS_META_PREFIX = ".wh..wh.";

type Compression = "gzip" | "none";

/**
 * Extracts the layer at `blobPath` into `destDir`, which must not exist yet (its parent must).
 * On any failure `destDir` is removed and the error names the offending entry.
 */
export async function unpackLayer(
  blobPath: string,
  destDir: string,
  opts: UnpackOptions = {},
): Promise<UnpackedLayer> {
  const label = opts.label ?? "layer";
  const compression = await detectCompression(blobPath, label);
  await mkdir(destDir, { mode: 0o755 });
  try {
    return await new LayerExtraction(destDir, label, opts.meter).run(blobPath, compression);
  } catch (err) {
    await rm(destDir, { recursive: true, force: true });
    throw classifyError(err, label);
  }
}

async function detectCompression(blobPath: string, label: string): Promise<Compression> {
  const fh = await open(blobPath, "r");
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await fh.read(magic, 0, 4, 0);
    if (bytesRead >= 2 && magic[0] === 0x1f && magic[1] === 0x8b) return "gzip";
    if (bytesRead === 4 && magic.readUInt32LE(0) === 0xfd2fb528) {
      throw new InvalidArgumentError(label, "zstd-compressed layers are not supported");
    }
    return "none";
  } finally {
    await fh.close();
  }
}

function classifyError(err: unknown, label: string): Error {
  if (err instanceof BerthError) return err;
  const e = err as NodeJS.ErrnoException;
  const message = e instanceof Error ? e.message : String(err);
  if (e.code?.startsWith("Z_") || /tar|unexpected end of data/i.test(message)) {
    return new InvalidArgumentError(label, `corrupt archive: ${message}`);
  }
  return new RuntimeFailureError(`${label}: unpacking failed: ${message}`);
}

/** Lexically normalizes a tar path to a root-relative one ("" is the root); undefined if it escapes. */
export function normalizeEntryPath(name: string): string | undefined {
  const stack: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (stack.length === 0) return undefined;
      stack.pop();
    } else {
      stack.push(part);
    }
  }
  return stack.join("/");
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf("/");
  return i < 0 ? "" : rel.slice(0, i);
}

function baseOf(rel: string): string {
  return rel.slice(rel.lastIndexOf("/") + 1);
}

class LayerExtraction {
  private readonly hash = newSha256();
  private tarSize = 0;
  private unpackedSize = 0;
  /** Directories of this layer known to be real directories (not symlinks), root-relative. */
  private readonly knownDirs = new Set<string>([""]);
  /** Files and symlinks created by this layer, the only valid hard link targets. */
  private readonly linkable = new Set<string>();
  /** Directory mtimes, applied last because creating entries inside a directory changes it. */
  private readonly dirTimes = new Map<string, Date>();

  constructor(
    private readonly root: string,
    private readonly label: string,
    private readonly meter?: LayerSizeMeter,
  ) {}

  async run(blobPath: string, compression: Compression): Promise<UnpackedLayer> {
    const extract = tar.extract();
    const feeding = this.feed(blobPath, compression, extract);
    try {
      for await (const entry of extract) {
        await this.handleEntry(entry.header, entry as unknown as Readable);
      }
    } finally {
      // When an entry is rejected the loop's exit destroys `extract`, which stops the feeder.
      extract.destroy();
      await feeding;
    }
    await this.applyDirTimes();
    return {
      diffId: `sha256:${this.hash.digest("hex")}`,
      tarSize: this.tarSize,
      unpackedSize: this.unpackedSize,
    };
  }

  /** Pushes the (decompressed) tar into the extractor, hashing it on the way. Never rejects:
   * a read or gunzip failure is delivered to the entry loop by destroying the extractor. */
  private async feed(blobPath: string, compression: Compression, extract: Extract): Promise<void> {
    const source = createReadStream(blobPath);
    const input: Readable = compression === "gzip" ? pipeline(source, createGunzip(), () => {}) : source;
    try {
      for await (const chunk of input) {
        const buf = chunk as Buffer;
        this.hash.update(buf);
        this.tarSize += buf.byteLength;
        const refused = this.meter?.(buf.byteLength);
        if (refused) {
          extract.destroy(refused);
          break;
        }
        if (extract.destroyed) break;
        if (!extract.write(buf)) await drained(extract);
        if (extract.destroyed) break;
      }
      if (!extract.destroyed) extract.end(undefined);
    } catch (err) {
      extract.destroy(err as Error);
    } finally {
      input.destroy();
      source.destroy();
    }
  }

  private reject(name: string, problem: string): never {
    throw new InvalidArgumentError(`${this.label} entry "${name}"`, problem);
  }

  private async handleEntry(header: Header, data: Readable): Promise<void> {
    const name = header.name;
    if (name.includes("\0")) this.reject(name, "path contains a NUL byte");
    const rel = normalizeEntryPath(name);
    if (rel === undefined) this.reject(name, "path escapes the layer root");

    const base = baseOf(rel);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      data.resume();
      if (base === OPAQUE_MARKER) return this.markOpaque(name, parentOf(rel));
      if (base.startsWith(AUFS_META_PREFIX)) return;
      return this.createWhiteout(name, parentOf(rel), base.slice(WHITEOUT_PREFIX.length));
    }

    switch (header.type) {
      case "file":
      case "contiguous-file":
        return this.createFile(name, rel, header, data);
      case "directory":
        data.resume();
        return this.createDirectory(name, rel, header);
      case "symlink":
        data.resume();
        return this.createSymlink(name, rel, header);
      case "link":
        data.resume();
        return this.createHardlink(name, rel, header);
      case "block-device":
      case "character-device":
      case "fifo":
        return this.reject(name, `${header.type} entries are not allowed in image layers`);
      default:
        this.reject(name, `unsupported entry type ${String(header.type)}`);
    }
  }

  private abs(rel: string): string {
    return rel === "" ? this.root : join(this.root, rel);
  }

  /** Makes every ancestor of `rel` a real directory, refusing to pass through a symlink. */
  private async ensureParents(name: string, rel: string): Promise<void> {
    const parts = rel.split("/");
    let current = "";
    for (let i = 0; i < parts.length - 1; i++) {
      current = current === "" ? parts[i]! : `${current}/${parts[i]!}`;
      if (this.knownDirs.has(current)) continue;
      const st = await lstatOrUndefined(this.abs(current));
      if (st === undefined) {
        await mkdir(this.abs(current), { mode: 0o755 });
      } else if (st.isSymbolicLink()) {
        this.reject(name, `parent "${current}" is a symlink; refusing to write through it`);
      } else if (!st.isDirectory()) {
        this.reject(name, `parent "${current}" is not a directory`);
      }
      this.knownDirs.add(current);
    }
  }

  /** Removes whatever is at `rel` (so a new entry never writes through an old link) and forgets
   * what this layer knew about it and below it. */
  private async clearPath(rel: string): Promise<void> {
    await rm(this.abs(rel), { recursive: true, force: true });
    const prefix = `${rel}/`;
    for (const set of [this.knownDirs, this.linkable]) {
      for (const p of set) if (p === rel || p.startsWith(prefix)) set.delete(p);
    }
    for (const p of this.dirTimes.keys()) if (p === rel || p.startsWith(prefix)) this.dirTimes.delete(p);
  }

  private async prepareLeaf(name: string, rel: string): Promise<void> {
    if (rel === "") this.reject(name, "only a directory may stand at the layer root");
    await this.ensureParents(name, rel);
    if ((await lstatOrUndefined(this.abs(rel))) !== undefined) await this.clearPath(rel);
  }

  private async createFile(name: string, rel: string, header: Header, data: Readable): Promise<void> {
    await this.prepareLeaf(name, rel);
    const path = this.abs(rel);
    // O_EXCL: the path was just cleared, so this can only create, never follow a link.
    const fh = await open(path, "wx", 0o600);
    let written = 0;
    try {
      for await (const chunk of data) {
        const buf = chunk as Buffer;
        written += buf.byteLength;
        await fh.write(buf);
      }
      if (written !== header.size) this.reject(name, `expected ${header.size} bytes, got ${written}`);
      await fh.chown(header.uid, header.gid);
      // chmod after chown: chown clears setuid/setgid bits.
      await fh.chmod(header.mode & 0o7777);
      await fh.utimes(header.mtime, header.mtime);
    } finally {
      await fh.close();
    }
    this.unpackedSize += written;
    this.linkable.add(rel);
  }

  private async createDirectory(name: string, rel: string, header: Header): Promise<void> {
    const path = this.abs(rel);
    if (rel !== "") {
      await this.ensureParents(name, rel);
      const st = await lstatOrUndefined(path);
      if (st !== undefined && !st.isDirectory()) await this.clearPath(rel);
      if (st === undefined || !st.isDirectory()) await mkdir(path, { mode: 0o700 });
      this.knownDirs.add(rel);
    }
    await lchown(path, header.uid, header.gid);
    // A verified real directory (ensureParents/lstat above), so chmod follows no link.
    await chmod(path, header.mode & 0o7777);
    this.dirTimes.set(rel, header.mtime);
  }

  private async createSymlink(name: string, rel: string, header: Header): Promise<void> {
    if (!header.linkname) this.reject(name, "symlink without a target");
    if (header.linkname.includes("\0")) this.reject(name, "symlink target contains a NUL byte");
    await this.prepareLeaf(name, rel);
    const path = this.abs(rel);
    // Kept as written: it is resolved later inside the container's root, never by berth.
    await symlink(header.linkname, path);
    await lchown(path, header.uid, header.gid);
    await lutimes(path, header.mtime, header.mtime);
    this.linkable.add(rel);
  }

  private async createHardlink(name: string, rel: string, header: Header): Promise<void> {
    const target = header.linkname ? normalizeEntryPath(header.linkname) : undefined;
    if (target === undefined || target === "") {
      this.reject(name, `hard link target "${header.linkname}" escapes the layer root`);
    }
    if (!this.linkable.has(target)) {
      this.reject(name, `hard link target "${header.linkname}" is not a file of this layer`);
    }
    if (target === rel) this.reject(name, "hard link points to itself");
    await this.prepareLeaf(name, rel);
    await link(this.abs(target), this.abs(rel));
    this.linkable.add(rel);
  }

  /** `.wh.NAME` becomes a 0/0 character device NAME, overlayfs's mark of a deleted file. */
  private async createWhiteout(name: string, dirRel: string, hidden: string): Promise<void> {
    if (hidden === "" || hidden === "." || hidden === "..") this.reject(name, "whiteout names nothing");
    const rel = dirRel === "" ? hidden : `${dirRel}/${hidden}`;
    await this.prepareLeaf(name, rel);
    await run(name, "mknod", ["-m", "0000", this.abs(rel), "c", "0", "0"]);
  }

  /** `.wh..wh..opq` hides everything the lower layers hold in its directory. */
  private async markOpaque(name: string, dirRel: string): Promise<void> {
    if (dirRel !== "") {
      await this.ensureParents(name, `${dirRel}/${OPAQUE_MARKER}`);
      this.knownDirs.add(dirRel);
    }
    await run(name, "setfattr", ["-n", "trusted.overlay.opaque", "-v", "y", this.abs(dirRel)]);
  }

  private async applyDirTimes(): Promise<void> {
    const deepestFirst = [...this.dirTimes].sort(([a], [b]) => depth(b) - depth(a));
    for (const [rel, mtime] of deepestFirst) await utimes(this.abs(rel), mtime, mtime);
  }
}

function depth(rel: string): number {
  return rel === "" ? 0 : rel.split("/").length;
}

async function run(entry: string, command: string, args: string[]): Promise<void> {
  const result = await execa(command, args, { reject: false });
  if (result.failed) {
    const why = result.stderr || result.shortMessage;
    throw new RuntimeFailureError(`layer entry "${entry}": ${command} failed: ${why}`);
  }
}

async function lstatOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function drained(stream: Extract): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}
