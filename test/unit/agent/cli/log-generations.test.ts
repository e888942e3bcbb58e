// Reading a container log across the generations rotation leaves: `<log>.<stamp>.gz`,
// `<log>.<stamp>`, then `<log>`, in order, for whole reads and for --tail.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendFile, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import { readLogLines } from "../../../../agent/cli/log-reader.js";
import { readLogTail } from "../../../../agent/cli/explain/gather.js";
import { generationBytes, openGeneration } from "../../../../agent/cli/log-generations.js";

const T = "2024-05-01T10:00:00.000000001Z";
const full = (stream: string, text: string) => `${T} ${stream} F ${text}\n`;
const part = (stream: string, text: string) => `${T} ${stream} P ${text}\n`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-loggens-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(gen: AsyncGenerator<Buffer[]>): Promise<string> {
  let out = "";
  for await (const batch of gen) out += batch.map((b) => b.toString() + "\n").join("");
  return out;
}

/** Writes the generations of `<dir>/0.log`: the first compressed, the second plain, the last current. */
async function writeGenerations(parts: [string, string, string]): Promise<string> {
  const log = join(dir, "0.log");
  await writeFile(`${log}.20240501-100000.gz`, gzipSync(parts[0]));
  await writeFile(`${log}.20240501-100010`, parts[1]);
  await writeFile(log, parts[2]);
  return log;
}

const numbered = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) =>
    full((from + i) % 3 === 0 ? "stderr" : "stdout", `n${from + i}`),
  ).join("");

describe("reading across rotated generations", () => {
  it("reads the .gz, the plain rotated file and the current one, in order", async () => {
    const log = await writeGenerations([numbered(0, 10), numbered(10, 20), numbered(20, 30)]);
    expect(await collect(readLogLines({ path: log }))).toBe(numbered(0, 30));
    // Other logs' generations and files that are not generations are not read.
    await writeFile(join(dir, "1.log.20240501-100005"), full("stdout", "other"));
    await writeFile(`${log}.backup`, full("stdout", "other"));
    expect(await collect(readLogLines({ path: log, chunkBytes: 7 }))).toBe(numbered(0, 30));
  });

  for (const chunkBytes of [5, 64, 65536]) {
    it(`--tail takes the last lines from as many generations as it needs (${chunkBytes}-byte chunks)`, async () => {
      const log = await writeGenerations([numbered(0, 10), numbered(10, 20), numbered(20, 30)]);
      const tail = (n: number) => collect(readLogLines({ path: log, tailLines: n, chunkBytes }));
      expect(await tail(0)).toBe("");
      expect(await tail(5)).toBe(numbered(25, 30));
      expect(await tail(10)).toBe(numbered(20, 30));
      expect(await tail(15)).toBe(numbered(15, 30));
      expect(await tail(25)).toBe(numbered(5, 30));
      expect(await tail(30)).toBe(numbered(0, 30));
      expect(await tail(100)).toBe(numbered(0, 30));
    });
  }

  it("--tail inside a .gz counts fragments and interleaved streams as the current file's tail does", async () => {
    // Each generation ends after a whole line of each stream; stdout's long line is in
    // fragments with stderr lines between them.
    const first =
      full("stdout", "a1") +
      part("stdout", "b1-") +
      full("stderr", "e1") +
      part("stdout", "b1+") +
      full("stderr", "e2") +
      full("stdout", "b1!") +
      "not a cri line\n" +
      full("stderr", "e3");
    const second = full("stdout", "c1") + full("stderr", "e4");
    const current = full("stdout", "d1");
    const log = await writeGenerations([first, second, current]);
    const single = join(dir, "single.log");
    await writeFile(single, first + second + current);
    for (let n = 0; n <= 11; n++) {
      const across = await collect(readLogLines({ path: log, tailLines: n }));
      const whole = await collect(readLogLines({ path: single, tailLines: n }));
      expect(across, `--tail ${n}`).toBe(whole);
    }
  });

  it("--tail counts a line split across a rotation once, whichever generations hold its fragments", async () => {
    // conmon may write a line's first fragments before a reopen and its F after it: both the
    // .gz and the plain generation end inside a stdout line that the next generation finishes.
    const first = full("stdout", "a1") + full("stderr", "e1") + part("stdout", "b1-");
    const second =
      part("stdout", "b1+") + full("stdout", "b1!") + full("stderr", "e2") + part("stdout", "c1-");
    const current = full("stdout", "c1!") + full("stdout", "d1") + full("stderr", "e3");
    const log = await writeGenerations([first, second, current]);
    const single = join(dir, "single.log");
    await writeFile(single, first + second + current);
    // The lines that end (F) are the same; the first fragments of the oldest line shown are
    // left out when they lie in an older generation than the one --tail starts in.
    const ended = (text: string) => text.split("\n").filter((l) => / F /.test(l));
    for (const chunkBytes of [5, 65536]) {
      for (let n = 0; n <= 9; n++) {
        const across = await collect(readLogLines({ path: log, tailLines: n, chunkBytes }));
        const whole = await collect(readLogLines({ path: single, tailLines: n, chunkBytes }));
        expect(ended(across), `--tail ${n}, ${chunkBytes}-byte chunks`).toEqual(ended(whole));
      }
    }
  });

  it("follows a generation to its .gz when it was compressed after the listing, and skips one removed", async () => {
    const plain = join(dir, "0.log.20240501-100010");
    await writeFile(`${plain}.gz`, gzipSync(numbered(0, 3)));
    const opened = await openGeneration({ stamp: "20240501-100010", plain });
    expect(opened?.kind).toBe("compressed");
    let text = "";
    for await (const chunk of generationBytes(opened!, 0, 4)) text += chunk.toString();
    await opened!.file.close();
    expect(text).toBe(numbered(0, 3));
    expect(await openGeneration({ stamp: "20240501-100020", plain: join(dir, "gone") })).toBeUndefined();
  });

  it("waits for a current log renamed away by a rotation to be reopened", async () => {
    const log = join(dir, "0.log");
    await writeFile(`${log}.20240501-100000`, numbered(0, 2));
    const reading = collect(readLogLines({ path: log }));
    await sleep(150);
    await writeFile(log, numbered(2, 4));
    expect(await reading).toBe(numbered(0, 4));
    // Without any generation, a missing log is an error at once.
    await expect(collect(readLogLines({ path: join(dir, "none.log") }))).rejects.toThrow(/ENOENT/);
  });
});

describe("berth explain's log tail", () => {
  it("reaches into rotated generations when the current file holds too few lines", async () => {
    const log = await writeGenerations([numbered(0, 10), numbered(10, 12), ""]);
    expect(await readLogTail(log, 5)).toEqual(["n7", "n8", "n9", "n10", "n11"]);
  });
});

describe("following across a rotation", () => {
  it("reads the rest of the renamed file, then the new one, while older generations are compressed", async () => {
    const log = join(dir, "0.log");
    await writeFile(log, numbered(0, 3));
    let done = false;
    const stop = new AbortController();
    const reading = collect(
      readLogLines({
        path: log,
        follow: { finished: async () => done, finishCheckMs: 0, pollMs: 20, signal: stop.signal },
      }),
    );
    await sleep(100);
    // A rotation as the log manager does it: rename, the writer's last lines into the renamed
    // file, the reopened file, and the renamed file compressed away later.
    const rotated = `${log}.20240501-100000`;
    await rename(log, rotated);
    await appendFile(rotated, numbered(3, 5));
    await writeFile(log, numbered(5, 7));
    await sleep(100);
    await writeFile(`${rotated}.gz`, gzipSync(await readFile(rotated)));
    await rm(rotated);
    await appendFile(log, numbered(7, 9));
    done = true;
    expect(await reading).toBe(numbered(0, 9));
  });
});
