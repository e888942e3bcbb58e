// Reads a file someone named in a request (a seccomp profile, say) without letting it stall
// berth: only a regular file is read, never a FIFO that waits for a writer, a device or a
// /proc file that never ends, and never more than a limit. All of it is asynchronous.
import { constants } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";

/** Why a named file cannot be used, in words that fit after its path: "... is not a regular file". */
export class UnusableFileError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path} ${problem}`);
  }
}

function openProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") return "does not exist";
  return `cannot be read (${code ?? "unknown error"})`;
}

/**
 * The bytes of the regular file at `path`, at most `maxBytes` of them. Throws
 * UnusableFileError when it is missing, unreadable, not a regular file or larger.
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<Buffer> {
  // A look before opening: opening a device or FIFO can itself do something.
  try {
    if (!(await stat(path)).isFile()) throw new UnusableFileError(path, "is not a regular file");
  } catch (err) {
    if (err instanceof UnusableFileError) throw err;
    throw new UnusableFileError(path, openProblem(err));
  }
  let handle: FileHandle;
  try {
    // O_NONBLOCK: should a FIFO have been swapped in since, the open does not wait for a writer.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw new UnusableFileError(path, openProblem(err));
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UnusableFileError(path, "is not a regular file");
    if (info.size > maxBytes) throw new UnusableFileError(path, `is larger than ${maxBytes} bytes`);
    // Room for one byte more than the stat said: a file that grew since is refused, not cut.
    const buffer = Buffer.alloc(info.size + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) return buffer.subarray(0, filled);
      filled += bytesRead;
      if (filled === buffer.length) throw new UnusableFileError(path, "changed while it was read");
    }
  } catch (err) {
    if (err instanceof UnusableFileError) throw err;
    throw new UnusableFileError(path, openProblem(err));
  } finally {
    await handle.close();
  }
}
