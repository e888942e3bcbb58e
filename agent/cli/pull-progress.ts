// Shows a pull's progress (the events ImagePuller.pull reports) to a person. On a terminal, one
// line per layer with a bar, redrawn in place; anywhere else (a pipe, a log), one plain line per
// change of a layer's state, never per byte, so logs stay short.
import type { LayerState, PullProgressEvent } from "../../cri/images/pull/progress.js";
import { humanBytes, shortId } from "./output.js";

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface PullProgressOptions {
  /** Draw bars in place; by default when the output is a terminal. */
  tty?: boolean;
  /** Milliseconds; for redraw throttling. */
  now?: () => number;
  /** Byte counts are redrawn at most this often; state changes at once. */
  redrawIntervalMs?: number;
}

export interface PullProgressRenderer {
  /** Pass as ImagePuller.pull's onProgress. */
  update(event: PullProgressEvent): void;
  /** Draws the final state; call once the pull has ended, successfully or not. */
  finish(): void;
}

interface LayerRow {
  digest: string;
  state: LayerState;
  done: number;
  total: number;
}

const STATE_LABEL: Record<LayerState, string> = {
  waiting: "Waiting",
  downloading: "Downloading",
  verifying: "Verifying",
  unpacking: "Unpacking",
  done: "Pull complete",
  "already-exists": "Already exists",
};
const LABEL_WIDTH = Math.max(...Object.values(STATE_LABEL).map((l) => l.length));
const CLEAR_LINE = "\x1b[2K";

export function createPullProgress(
  out: ProgressOutput,
  opts: PullProgressOptions = {},
): PullProgressRenderer {
  const tty = opts.tty ?? out.isTTY === true;
  const now = opts.now ?? Date.now;
  const interval = opts.redrawIntervalMs ?? 100;
  const rows: LayerRow[] = [];
  let drawnLines = 0;
  let lastDraw = -Infinity;
  let finished = false;

  const width = () => Math.max(40, out.columns ?? 80);

  const line = (row: LayerRow): string => {
    const label = STATE_LABEL[row.state].padEnd(LABEL_WIDTH);
    const head = `${shortId(row.digest)}: ${label}`;
    if (row.state !== "downloading" && row.state !== "verifying") return head;
    const amount = `${humanBytes(row.done)}/${humanBytes(row.total)}`;
    const barWidth = Math.max(10, Math.min(50, width() - head.length - amount.length - 5));
    return `${head} ${bar(row.done, row.total, barWidth)} ${amount}`;
  };

  const redraw = (force: boolean): void => {
    const t = now();
    if (!force && t - lastDraw < interval) return;
    lastDraw = t;
    let text = drawnLines > 0 ? `\x1b[${drawnLines}A` : "";
    for (const row of rows) text += `${CLEAR_LINE}${line(row)}\n`;
    out.write(text);
    drawnLines = rows.length;
  };

  return {
    update(event) {
      if (finished) return;
      switch (event.type) {
        case "resolved":
          out.write(
            `Pulling ${event.reference} (${event.layers.length} layers, manifest ${shortId(event.manifestDigest)})\n`,
          );
          rows.length = 0;
          drawnLines = 0;
          for (const l of event.layers)
            rows.push({ digest: l.digest, state: "waiting", done: 0, total: l.size });
          if (tty) redraw(true);
          return;
        case "layer": {
          const row =
            rows[event.index] ??
            (rows[event.index] = { digest: event.digest, state: "waiting", done: 0, total: 0 });
          const changed = row.state !== event.state;
          row.state = event.state;
          row.done = event.bytesDone;
          row.total = event.bytesTotal;
          if (tty) redraw(changed);
          else if (changed) {
            const size = event.state === "downloading" ? ` (${humanBytes(event.bytesTotal)})` : "";
            out.write(`${shortId(event.digest)}: ${STATE_LABEL[event.state]}${size}\n`);
          }
          return;
        }
        case "done":
          if (tty) redraw(true);
          finished = true;
          out.write(
            `Pulled ${event.reference}: image ${shortId(event.imageId)} in ${(event.elapsedMs / 1000).toFixed(1)}s\n`,
          );
          return;
      }
    },
    finish() {
      if (!finished && tty && rows.length > 0) redraw(true);
      finished = true;
    },
  };
}

function bar(done: number, total: number, width: number): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.floor(fraction * width);
  const head = filled < width && filled > 0 ? ">" : "";
  return `[${"=".repeat(Math.max(0, filled - (head ? 1 : 0)))}${head}${" ".repeat(width - filled)}]`;
}
