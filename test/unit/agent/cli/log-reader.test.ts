import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendFile, mkdtemp, open, rename, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CriLogDecoder } from "../../../../agent/cli/cri-log-format.js";
import {
  detectRotation,
  LineSplitter,
  readLogLines,
  findTailStart,
} from "../../../../agent/cli/log-reader.js";

const T = "2024-05-01T10:00:00.000000001Z";
const full = (stream: string, text: string) => `${T} ${stream} F ${text}\n`;
const part = (stream: string, text: string) => `${T} ${stream} P ${text}\n`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-logreader-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(gen: AsyncGenerator<Buffer[]>): Promise<string[]> {
  const lines: string[] = [];
  for await (const batch of gen) lines.push(...batch.map((b) => b.toString()));
  return lines;
}

/** What readLogLines prints of `content` with --tail `lines`, as raw lines joined with newlines. */
async function tailOf(content: string, lines: number, chunkBytes: number): Promise<string> {
  const path = join(dir, "tail.log");
  await writeFile(path, content);
  const out = await collect(readLogLines({ path, tailLines: lines, chunkBytes }));
  return out.map((l) => l + "\n").join("");
}

async function tailStart(content: string, lines: number, chunkBytes: number) {
  const path = join(dir, "start.log");
  await writeFile(path, content);
  const file = await open(path, "r");
  try {
    return await findTailStart(file, Buffer.byteLength(content), lines, chunkBytes);
  } finally {
    await file.close();
  }
}

describe("findTailStart and --tail reading", () => {
  const log =
    full("stdout", "one") +
    part("stdout", "two-a") +
    part("stdout", "two-b") +
    full("stdout", "two-c") +
    "not a cri line\n" +
    full("stderr", "four") +
    full("stdout", "five with a somewhat longer text than the chunk");

  for (const chunk of [1, 3, 7, 16, 64, 4096]) {
    it(`finds the last N logical lines with ${chunk}-byte chunks`, async () => {
      expect(await tailOf(log, 1, chunk)).toBe(
        full("stdout", "five with a somewhat longer text than the chunk"),
      );
      expect(await tailOf(log, 2, chunk)).toBe(
        full("stderr", "four") + full("stdout", "five with a somewhat longer text than the chunk"),
      );
      // A P-run and its F count as one line.
      expect(await tailOf(log, 4, chunk)).toBe(log.slice(log.indexOf(part("stdout", "two-a"))));
      expect(await tailOf(log, 5, chunk)).toBe(log);
      expect(await tailOf(log, 50, chunk)).toBe(log);
    });
  }

  // stdout's long line is split in fragments with stderr lines written between them.
  const interleaved =
    full("stderr", "e0") +
    part("stdout", "long-1") +
    full("stderr", "e1") +
    part("stdout", "long-2") +
    full("stderr", "e2") +
    full("stdout", "long-3") +
    full("stderr", "e3");

  // In full, this prints e0, e1, e2, long, e3: a line is printed when its F comes.
  for (const chunk of [2, 9, 4096]) {
    it(`gives the last N printed lines when streams interleave (${chunk}-byte chunks)`, async () => {
      const fromLong = interleaved.slice(interleaved.indexOf(part("stdout", "long-1")));
      expect(await tailOf(interleaved, 1, chunk)).toBe(full("stderr", "e3"));
      // The long line, whose fragments enclose e1 and e2, but not e1 and e2.
      expect(await tailOf(interleaved, 2, chunk)).toBe(
        part("stdout", "long-1") + part("stdout", "long-2") + full("stdout", "long-3") + full("stderr", "e3"),
      );
      expect(await tailStart(interleaved, 2, chunk)).toEqual({
        offset: interleaved.indexOf(part("stdout", "long-1")),
        skip: { stderr: 2 },
      });
      expect(await tailOf(interleaved, 3, chunk)).toBe(fromLong.replace(full("stderr", "e1"), ""));
      expect(await tailOf(interleaved, 4, chunk)).toBe(fromLong);
      expect(await tailStart(interleaved, 4, chunk)).toEqual({
        offset: fromLong.length ? interleaved.indexOf(fromLong) : 0,
        skip: {},
      });
      expect(await tailOf(interleaved, 5, chunk)).toBe(interleaved);
    });
  }

  it("skips malformed lines that lie inside the span but are not among the last N", async () => {
    const content = part("stdout", "a-1") + "junk\n" + full("stdout", "a-2") + full("stderr", "b");
    // Printed in full: junk, a, b.
    expect(await tailOf(content, 2, 4)).toBe(
      part("stdout", "a-1") + full("stdout", "a-2") + full("stderr", "b"),
    );
    expect(await tailOf(content, 3, 4)).toBe(content);
  });

  it("counts a stream's unfinished line where its latest fragment is", async () => {
    const content = full("stdout", "a") + part("stderr", "pending") + full("stdout", "b");
    expect(await tailOf(content, 1, 4)).toBe(full("stdout", "b"));
    expect(await tailOf(content, 2, 4)).toBe(part("stderr", "pending") + full("stdout", "b"));
  });

  it("always prints the last N lines of the full output (random interleavings)", async () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const printed = (content: string): string[] => {
      const decoder = new CriLogDecoder();
      const lines = content.split("\n").slice(0, -1);
      return [...lines.flatMap((l) => decoder.decode(Buffer.from(l))), ...decoder.end()].map(
        (r) => `${r.stream}:${r.text.toString()}`,
      );
    };
    for (let round = 0; round < 40; round++) {
      let content = "";
      const fragmentsLeft = { stdout: 0, stderr: 0 };
      for (let i = 0; i < 12; i++) {
        const pick = random(5);
        if (pick === 0) {
          content += `junk${i}\n`;
          continue;
        }
        const stream = pick % 2 === 0 ? "stdout" : "stderr";
        if (fragmentsLeft[stream] === 0) fragmentsLeft[stream] = 1 + random(3);
        fragmentsLeft[stream]--;
        content += fragmentsLeft[stream] > 0 ? part(stream, `${i}`) : full(stream, `${i}`);
      }
      // Every line finished: an unfinished one is printed last in full but counted where it is.
      for (const stream of ["stderr", "stdout"] as const) {
        if (fragmentsLeft[stream] > 0) content += full(stream, "end");
      }
      const all = printed(content);
      for (let n = 0; n <= all.length + 1; n++) {
        const tail = printed(await tailOf(content, n, 1 + random(40)));
        expect(tail, `round ${round}, --tail ${n}:\n${content}`).toEqual(n === 0 ? [] : all.slice(-n));
      }
    }
  }, 60_000);

  it("prints nothing for --tail 0 and handles empty files", async () => {
    expect(await tailOf(log, 0, 8)).toBe("");
    expect(await tailOf("", 3, 8)).toBe("");
  });
  it("counts an unfinished trailing line (P without its F yet, or no newline)", async () => {
    const pending = full("stdout", "a") + full("stdout", "b") + part("stdout", "c-start");
    expect(await tailOf(pending, 1, 5)).toBe(part("stdout", "c-start"));
    expect(await tailOf(pending, 2, 5)).toBe(full("stdout", "b") + part("stdout", "c-start"));
    const noNewline = full("stdout", "a") + `${T} stdout F b`;
    expect(await tailOf(noNewline, 1, 5)).toBe(`${T} stdout F b\n`);
  });
});

describe("LineSplitter", () => {
  it("joins lines across chunks and cuts one longer than the bound", () => {
    const s = new LineSplitter(8);
    expect(s.push(Buffer.from("ab")).map(String)).toEqual([]);
    expect(s.push(Buffer.from("c\nde\nf")).map(String)).toEqual(["abc", "de"]);
    expect(s.push(Buffer.from("ghijklm")).map(String)).toEqual(["fghijklm"]);
    expect(s.push(Buffer.from("n\n")).map(String)).toEqual(["n"]);
    expect(s.flush()).toEqual([]);
  });
});

describe("readLogLines", () => {
  it("reads a whole file in small chunks, and from the tail", async () => {
    const path = join(dir, "0.log");
    const content = full("stdout", "a") + full("stderr", "b") + full("stdout", "c") + "no newline";
    await writeFile(path, content);
    expect(await collect(readLogLines({ path, chunkBytes: 5 }))).toEqual([
      `${T} stdout F a`,
      `${T} stderr F b`,
      `${T} stdout F c`,
      "no newline",
    ]);
    expect(await collect(readLogLines({ path, chunkBytes: 5, tailLines: 2 }))).toEqual([
      `${T} stdout F c`,
      "no newline",
    ]);
  });

  it("follows new lines and ends after draining once the writer is finished", async () => {
    const path = join(dir, "0.log");
    await writeFile(path, full("stdout", "first"));
    let done = false;
    const seen: string[] = [];
    const reading = (async () => {
      for await (const batch of readLogLines({
        path,
        follow: { finished: async () => done, finishCheckMs: 0, pollMs: 10 },
      })) {
        seen.push(...batch.map(String));
      }
    })();
    await waitUntil(() => seen.length === 1);
    await appendFile(path, full("stdout", "second"));
    await waitUntil(() => seen.length === 2);
    // Written just before the writer is reported finished: still printed.
    await appendFile(path, full("stdout", "last"));
    done = true;
    await reading;
    expect(seen).toEqual([`${T} stdout F first`, `${T} stdout F second`, `${T} stdout F last`]);
  });

  it("follows across a rotation: renamed away, written to, then recreated", async () => {
    const path = join(dir, "0.log");
    await writeFile(path, full("stdout", "before"));
    let done = false;
    const seen: string[] = [];
    const reading = (async () => {
      for await (const batch of readLogLines({
        path,
        follow: { finished: async () => done, finishCheckMs: 0, pollMs: 10 },
      })) {
        seen.push(...batch.map(String));
      }
    })();
    await waitUntil(() => seen.length === 1);
    await rename(path, `${path}.1`);
    // The writer still holds the old file until it reopens.
    await appendFile(`${path}.1`, full("stdout", "old file"));
    await waitUntil(() => seen.length === 2);
    await appendFile(`${path}.1`, full("stdout", "old file, late"));
    await writeFile(path, full("stdout", "new file"));
    await waitUntil(() => seen.length === 4);
    await appendFile(path, full("stdout", "new file 2"));
    await waitUntil(() => seen.length === 5);
    done = true;
    await reading;
    expect(seen.map((l) => l.slice(T.length + 10))).toEqual([
      "before",
      "old file",
      "old file, late",
      "new file",
      "new file 2",
    ]);
  });

  it("starts over when the file is truncated in place", async () => {
    const path = join(dir, "0.log");
    await writeFile(path, full("stdout", "a long first line before truncation"));
    let done = false;
    const seen: string[] = [];
    const reading = (async () => {
      for await (const batch of readLogLines({
        path,
        follow: { finished: async () => done, finishCheckMs: 0, pollMs: 10 },
      })) {
        seen.push(...batch.map(String));
      }
    })();
    await waitUntil(() => seen.length === 1);
    await truncate(path, 0);
    await appendFile(path, full("stdout", "after"));
    await waitUntil(() => seen.length === 2);
    done = true;
    await reading;
    expect(seen[1]).toBe(`${T} stdout F after`);
  });

  it("stops at once when aborted", async () => {
    const path = join(dir, "0.log");
    await writeFile(path, full("stdout", "x"));
    const abort = new AbortController();
    const reading = collect(
      readLogLines({ path, follow: { finished: async () => false, pollMs: 10_000, signal: abort.signal } }),
    );
    await new Promise((r) => setTimeout(r, 50));
    abort.abort();
    expect(await reading).toEqual([`${T} stdout F x`]);
  });
});

describe("detectRotation", () => {
  it("tells a replaced, truncated, missing and unchanged file apart", async () => {
    const path = join(dir, "0.log");
    await writeFile(path, "0123456789\n");
    const file = await open(path, "r");
    try {
      expect(await detectRotation(path, file, 11)).toBe("unchanged");
      await truncate(path, 3);
      expect(await detectRotation(path, file, 11)).toBe("truncated");
      await rename(path, `${path}.1`);
      expect(await detectRotation(path, file, 3)).toBe("missing");
      await writeFile(path, "new\n");
      expect(await detectRotation(path, file, 3)).toBe("replaced");
    } finally {
      await file.close();
    }
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 5));
  }
}
