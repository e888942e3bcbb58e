import { describe, expect, it } from "vitest";
import { createPullProgress } from "../../../../agent/cli/pull-progress.js";
import type { PullProgressEvent } from "../../../../cri/images/pull/progress.js";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, out: { isTTY, columns: 80, write: (t: string) => writes.push(t) } };
}

const events: PullProgressEvent[] = [
  {
    type: "resolved",
    reference: "docker.io/library/app:1",
    resolvedDigest: A,
    manifestDigest: A,
    layers: [
      { digest: A, size: 2_000_000 },
      { digest: B, size: 500 },
    ],
  },
  { type: "layer", index: 0, digest: A, state: "waiting", bytesDone: 0, bytesTotal: 2_000_000 },
  { type: "layer", index: 1, digest: B, state: "already-exists", bytesDone: 500, bytesTotal: 500 },
  { type: "layer", index: 0, digest: A, state: "downloading", bytesDone: 0, bytesTotal: 2_000_000 },
  { type: "layer", index: 0, digest: A, state: "downloading", bytesDone: 1_000_000, bytesTotal: 2_000_000 },
  { type: "layer", index: 0, digest: A, state: "downloading", bytesDone: 1_500_000, bytesTotal: 2_000_000 },
  { type: "layer", index: 0, digest: A, state: "verifying", bytesDone: 2_000_000, bytesTotal: 2_000_000 },
  { type: "layer", index: 0, digest: A, state: "unpacking", bytesDone: 2_000_000, bytesTotal: 2_000_000 },
  { type: "layer", index: 0, digest: A, state: "done", bytesDone: 2_000_000, bytesTotal: 2_000_000 },
  { type: "done", reference: "docker.io/library/app:1", imageId: B, elapsedMs: 1234 },
];

describe("createPullProgress", () => {
  it("writes one plain line per state change when not on a terminal", () => {
    const { writes, out } = sink(false);
    const progress = createPullProgress(out);
    events.forEach((e) => progress.update(e));
    progress.finish();
    expect(writes.join("")).toBe(
      [
        "Pulling docker.io/library/app:1 (2 layers, manifest aaaaaaaaaaaaa)",
        "bbbbbbbbbbbbb: Already exists",
        "aaaaaaaaaaaaa: Downloading (2.0MB)",
        "aaaaaaaaaaaaa: Verifying",
        "aaaaaaaaaaaaa: Unpacking",
        "aaaaaaaaaaaaa: Pull complete",
        "Pulled docker.io/library/app:1: image bbbbbbbbbbbbb in 1.2s",
        "",
      ].join("\n"),
    );
  });

  it("redraws per-layer bars in place on a terminal, throttling byte updates", () => {
    const { writes, out } = sink(true);
    let now = 0;
    const progress = createPullProgress(out, { now: () => now, redrawIntervalMs: 100 });
    progress.update(events[0]!);
    progress.update(events[1]!);
    progress.update(events[2]!);
    progress.update(events[3]!);
    const before = writes.length;
    progress.update(events[4]!); // same state, too soon: no redraw
    expect(writes.length).toBe(before);
    now = 200;
    progress.update(events[5]!);
    const frame = writes.at(-1)!;
    expect(frame.startsWith("\x1b[2A")).toBe(true);
    const lines = frame.slice("\x1b[2A".length).split("\n");
    const clear = "\x1b[2K";
    expect(lines.every((l) => l === "" || l.startsWith(clear))).toBe(true);
    expect(lines[0]!.slice(clear.length)).toMatch(/^aaaaaaaaaaaaa: Downloading +\[=+> +\] 1\.5MB\/2\.0MB$/);
    expect(lines[1]).toBe(`${clear}bbbbbbbbbbbbb: Already exists`);
    expect(lines[0]!.slice(clear.length).length).toBeLessThanOrEqual(80);
    for (const e of events.slice(6)) progress.update(e);
    const all = writes.join("");
    expect(all).toContain("aaaaaaaaaaaaa: Pull complete");
    expect(all.endsWith("Pulled docker.io/library/app:1: image bbbbbbbbbbbbb in 1.2s\n")).toBe(true);
  });
});
