// Reads what conmon records when a container's init process ends: the exit code in the
// bundle's `exit` file (its mtime is the finish time) and an `oom` marker when the kernel
// OOM-killed it.
import { readFile, stat } from "node:fs/promises";
import { conmonFiles } from "./conmon.js";

export interface ExitInfo {
  exitCode: number;
  /** Nanoseconds since the epoch. */
  finishedAt: number;
  oomKilled: boolean;
}

export async function readExit(bundleDir: string): Promise<ExitInfo | undefined> {
  const files = conmonFiles(bundleDir);
  let text: string;
  let mtimeMs: number;
  try {
    [text, mtimeMs] = await Promise.all([
      readFile(files.exitFile, "utf8"),
      stat(files.exitFile).then((s) => s.mtimeMs),
    ]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  // conmon writes the file in one go, but a reader can still race an empty file.
  if (text.trim() === "") return undefined;
  const exitCode = Number.parseInt(text.trim(), 10);
  const oomKilled = await stat(files.oomFile).then(
    () => true,
    () => false,
  );
  return {
    exitCode: Number.isFinite(exitCode) ? exitCode : 255,
    finishedAt: Math.round(mtimeMs * 1e6),
    oomKilled,
  };
}

/** Polls for the exit file until it appears or the time runs out. */
export async function waitForExit(
  bundleDir: string,
  timeoutMs: number,
  pollMs = 50,
): Promise<ExitInfo | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await readExit(bundleDir);
    if (info || Date.now() >= deadline) return info;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
