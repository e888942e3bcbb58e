// A terminated container's message, as the kubelet reads it: the file the container wrote at
// its terminationMessagePath (at most 4 KiB), or with FallbackToLogsOnError and a failed, silent
// exit, the tail of its log (80 lines, at most 2 KiB).
import { open } from "node:fs/promises";

export const MAX_TERMINATION_MESSAGE_BYTES = 4096;
export const FALLBACK_LOG_LINES = 80;
export const FALLBACK_LOG_BYTES = 2048;

async function readTail(path: string, maxBytes: number): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await fh.read(buffer, 0, length, size - length);
    return buffer;
  } finally {
    await fh.close();
  }
}

async function readHead(path: string, maxBytes: number): Promise<string> {
  const fh = await open(path, "r");
  try {
    const buffer = Buffer.alloc(maxBytes);
    const { bytesRead } = await fh.read(buffer, 0, maxBytes, 0);
    return buffer.subarray(0, bytesRead).toString("utf8");
  } finally {
    await fh.close();
  }
}

/** The content of CRI log lines (`<time> <stream> <P|F> <text>`), partial lines joined. */
export function criLogText(raw: string): string {
  let out = "";
  for (const line of raw.split("\n")) {
    if (line === "") continue;
    const parts = line.split(" ");
    if (parts.length < 3) continue;
    const tag = parts[2];
    const text = parts.slice(3).join(" ");
    out += tag === "P" ? text : `${text}\n`;
  }
  return out;
}

export interface TerminationMessageInput {
  /** Host path of the file mounted at terminationMessagePath, when there is one. */
  readonly messageFile?: string;
  readonly policy: string;
  readonly exitCode: number;
  /** Full path of the container's CRI log. */
  readonly logPath?: string;
}

export async function readTerminationMessage(input: TerminationMessageInput): Promise<string> {
  let message = "";
  if (input.messageFile) {
    message = await readHead(input.messageFile, MAX_TERMINATION_MESSAGE_BYTES).catch(() => "");
  }
  if (message !== "" || input.policy !== "FallbackToLogsOnError" || input.exitCode === 0 || !input.logPath) {
    return message;
  }
  // Read generously, then keep the last lines and bytes of the text itself.
  const raw = await readTail(input.logPath, FALLBACK_LOG_BYTES * 8).catch(() => undefined);
  if (raw === undefined) return "";
  const rawText = raw.toString("utf8");
  // The first line may have been cut in the middle; drop it unless the read began at the start.
  const lines = criLogText(rawText.slice(raw.length < FALLBACK_LOG_BYTES * 8 ? 0 : rawText.indexOf("\n") + 1))
    .split("\n")
    .slice(-(FALLBACK_LOG_LINES + 1))
    .join("\n");
  const bytes = Buffer.from(lines, "utf8");
  return bytes.subarray(Math.max(0, bytes.length - FALLBACK_LOG_BYTES)).toString("utf8");
}
