// The older generations of a container log that rotation left beside it (see
// agent/logs/rotated-logs.ts), opened for reading: a plain one as it is, a `.gz` one
// decompressed as a stream, so memory stays bounded whatever their size. The rotator may
// compress or delete a generation at any moment; reading follows it to its `.gz`, or skips it
// once it is gone.
import { lstat, open, type FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { COMPRESSED_SUFFIX, listRotatedLogs, type RotatedLog } from "../logs/rotated-logs.js";

/**
 * The rotated generations of the log at `path`, oldest first, without the file `current` is
 * open on (when a rotation renamed it between its opening and this listing, it is read as the
 * current file).
 */
export async function olderGenerations(path: string, current: FileHandle): Promise<RotatedLog[]> {
  const { rotated } = await listRotatedLogs(path);
  if (rotated.length === 0) return rotated;
  const { ino, dev } = await current.stat();
  const kept: RotatedLog[] = [];
  for (const gen of rotated) {
    if (gen.plain !== undefined) {
      const st = await lstat(gen.plain).catch(() => undefined);
      if (st !== undefined && st.ino === ino && st.dev === dev) continue;
    }
    kept.push(gen);
  }
  return kept;
}

async function openIfPresent(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** An open generation: a plain file (random access) or a compressed one (a stream from its start). */
export type OpenGeneration =
  { kind: "plain"; file: FileHandle; size: number } | { kind: "compressed"; file: FileHandle };

/** Opens a generation's plain file, or its `.gz` once compressed; undefined when it is gone. */
export async function openGeneration(gen: RotatedLog): Promise<OpenGeneration | undefined> {
  if (gen.plain !== undefined) {
    const file = await openIfPresent(gen.plain);
    if (file !== undefined) return { kind: "plain", file, size: (await file.stat()).size };
  }
  const compressedPath =
    gen.compressed ?? (gen.plain !== undefined ? gen.plain + COMPRESSED_SUFFIX : undefined);
  if (compressedPath === undefined) return undefined;
  const file = await openIfPresent(compressedPath);
  return file === undefined ? undefined : { kind: "compressed", file };
}

/**
 * The bytes of an open generation from `offset` (of its uncompressed content) to its end, in
 * chunks of at most about `chunkBytes`. Closes nothing: the caller owns the handle.
 */
export async function* generationBytes(
  gen: OpenGeneration,
  offset: number,
  chunkBytes: number,
): AsyncGenerator<Buffer> {
  if (gen.kind === "plain") {
    yield* fileChunks(gen.file, offset, chunkBytes);
    return;
  }
  // Reads through the handle by position, so the same handle serves pass after pass.
  const source = Readable.from(fileChunks(gen.file, 0, chunkBytes), { objectMode: false });
  const gunzip = createGunzip({ chunkSize: Math.max(MIN_ZLIB_CHUNK_BYTES, chunkBytes) });
  source.on("error", (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  let toSkip = offset;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (toSkip >= chunk.length) {
        toSkip -= chunk.length;
        continue;
      }
      yield toSkip > 0 ? chunk.subarray(toSkip) : chunk;
      toSkip = 0;
    }
  } finally {
    source.unpipe(gunzip);
    source.destroy();
    gunzip.destroy();
  }
}

const MIN_ZLIB_CHUNK_BYTES = 64;

async function* fileChunks(file: FileHandle, offset: number, chunkBytes: number): AsyncGenerator<Buffer> {
  let position = offset;
  for (;;) {
    // A fresh buffer per read: lines handed out are views into it and may be held on to.
    const buf = Buffer.allocUnsafe(chunkBytes);
    const { bytesRead } = await file.read(buf, 0, chunkBytes, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}
