// Container log rotation on the real runtime: a busybox container writes as fast as it can
// through conmon; the log manager, talking CRI over the runtime's socket as it would to any
// runtime, rotates its log at 64Ki keeping 3 files. The rotated files are named and compressed
// as the kubelet's, the container keeps logging into the reopened file, and `berth logs` and
// the log reader return the lines across the rotated files, in order, without gap or repeat.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { execa } from "execa";
import { silentLogger } from "../../../../common/logger.js";
import { ContainerState, type PodSandboxConfig } from "../../../../cri/api/generated/api.js";
import { CriLogDecoder } from "../../../../agent/cli/cri-log-format.js";
import { readLogTail } from "../../../../agent/cli/explain/gather.js";
import { readLogLines } from "../../../../agent/cli/log-reader.js";
import { ContainerLogManager } from "../../../../agent/logs/container-log-manager.js";
import { LABEL_MANAGED, MANAGED_VALUE } from "../../../../agent/pods/labels.js";
import { BERTH_BIN, requireBuild } from "../../../../harness/agent-process.js";
import { containerConfig, waitFor } from "../../../../harness/cri-fixtures.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";

const MAX_SIZE = 64 * 1024;
const MAX_FILES = 3;
const PASSES = 5;

/** "line 123" -> 123; every line the writer prints has this form. */
function numberOf(line: string): number {
  const m = /^line (\d+) x+$/.exec(line);
  if (!m) throw new Error(`not a writer line: ${JSON.stringify(line.slice(0, 80))}`);
  return Number(m[1]);
}

/** The numbers of the writer's lines, asserting they follow each other without gap or repeat. */
function consecutive(lines: string[]): { first: number; last: number } {
  const numbers = lines.map(numberOf);
  const first = numbers[0]!;
  const broken = numbers.findIndex((n, i) => n !== first + i);
  expect(broken, `line ${broken} is ${numbers[broken]}, expected ${first + broken}`).toBe(-1);
  return { first, last: numbers[numbers.length - 1]! };
}

async function textLines(path: string, tailLines?: number): Promise<string[]> {
  const decoder = new CriLogDecoder();
  const out: string[] = [];
  for await (const batch of readLogLines({ path, ...(tailLines !== undefined && { tailLines }) }))
    for (const line of batch) out.push(...decoder.decode(line).map((r) => r.text.toString()));
  out.push(...decoder.end().map((r) => r.text.toString()));
  return out;
}

describe("container log rotation on the real runtime", () => {
  let h: Harness;
  let image: string;
  let podSandboxId: string;
  let config: PodSandboxConfig;
  let logDir: string;
  let now = Date.UTC(2026, 11, 6, 3, 0, 0);

  beforeAll(async () => {
    requireBuild();
    h = await startHarness();
    image = await h.importBusybox();
    logDir = join(h.root, "logs");
    config = sandboxConfig("rotation", { logDirectory: logDir });
    podSandboxId = (await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId;
  }, 60_000);

  afterAll(async () => {
    await h?.cleanup();
  });

  async function run(name: string, script: string, managed: boolean): Promise<string> {
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig(name, image, ["sh", "-c", script], {
        labels: { name, ...(managed && { [LABEL_MANAGED]: MANAGED_VALUE }) },
      }),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    return containerId;
  }

  const sizeOf = (path: string) =>
    stat(path).then(
      (s) => s.size,
      () => 0,
    );

  it("rotates a fast writer's log at the size, keeps N files with the older ones gzipped, and reads back in order", async () => {
    const writer = await run(
      "writer",
      `i=0; while :; do echo "line $i ${"x".repeat(60)}"; i=$((i+1)); done`,
      true,
    );
    // Not created by berth's kubelet layer: its log is never rotated, however large.
    const outsider = await run("outsider", "head -c 200000 /dev/zero | tr '\\0' x; echo; sleep 3600", false);
    const log = join(logDir, "writer", "0.log");
    const outsiderLog = join(logDir, "outsider", "0.log");
    const manager = new ContainerLogManager({
      runtime: h.cri.runtime,
      policy: { maxSizeBytes: MAX_SIZE, maxFiles: MAX_FILES },
      clock: { now: () => now, nowNanos: () => BigInt(now) * 1_000_000n },
      logger: silentLogger(),
    });
    await waitFor(async () => (await sizeOf(outsiderLog)) > MAX_SIZE, 20_000, "the outsider's output");

    for (let pass = 0; pass < PASSES; pass++) {
      await waitFor(
        async () => (await sizeOf(log)) >= MAX_SIZE,
        20_000,
        `log at ${MAX_SIZE} bytes (pass ${pass})`,
      );
      const { outcomes } = await manager.rotateLogs();
      expect(outcomes.get(writer)).toBe("rotated");
      expect(outcomes.has(outsider)).toBe(false);
      now += 10_000;
    }

    // The container goes on logging into the reopened file, after the last rotated line.
    // Once conmon writes to the new file, the rotated one is final.
    await waitFor(async () => (await sizeOf(log)) > 0, 10_000, "new lines in the reopened log");
    // At most N files: the current one, the newest rotated one plain, older ones gzipped.
    const names = (await readdir(join(logDir, "writer"))).sort();
    expect(names).toEqual(["0.log", "0.log.20261206-030030.gz", "0.log.20261206-030040"]);
    expect(await readdir(join(logDir, "outsider"))).toEqual(["0.log"]);
    const rotatedGz = join(logDir, "writer", names[1]!);
    const rotatedPlain = join(logDir, "writer", names[2]!);

    const lastRotated = numberOf(
      (await readFile(rotatedPlain, "utf8")).trimEnd().split("\n").pop()!.split(" F ")[1]!,
    );
    await h.cri.runtime.stopContainer({ containerId: writer, timeout: 0n });
    await h.cri.runtime.stopContainer({ containerId: outsider, timeout: 0n });
    expect((await h.cri.runtime.containerStatus({ containerId: writer, verbose: false })).status?.state).toBe(
      ContainerState.CONTAINER_EXITED,
    );
    const current = (await readFile(log, "utf8")).trimEnd().split("\n");
    expect(numberOf(current[0]!.split(" F ")[1]!)).toBe(lastRotated + 1);

    // The .gz is a real gzip of the generation before the plain one.
    const gzLines = gunzipSync(await readFile(rotatedGz))
      .toString()
      .trimEnd()
      .split("\n");
    const firstKept = numberOf(gzLines[0]!.split(" F ")[1]!);

    // The reader: every kept line once, in order, from the oldest generation to the current file.
    const all = await textLines(log);
    const span = consecutive(all);
    expect(span.first).toBe(firstKept);
    expect(span.last).toBe(numberOf(current[current.length - 1]!.split(" F ")[1]!));
    // --tail reaching back into the .gz.
    expect(await textLines(log, all.length - 5)).toEqual(all.slice(5));
    expect(await readLogTail(log, 3)).toEqual(all.slice(-3));

    // berth logs, the real binary over the runtime's socket.
    const berth = (...args: string[]) =>
      execa(process.execPath, [BERTH_BIN, "--endpoint", h.socket, ...args], {
        reject: false,
        maxBuffer: 1 << 28,
      });
    const printed = await berth("logs", "writer");
    expect(printed.exitCode, printed.stderr).toBe(0);
    const printedLines = printed.stdout.split("\n");
    expect(printedLines.length).toBe(all.length);
    expect(consecutive(printedLines)).toEqual(span);
    const tail = await berth("logs", "--tail", String(all.length - 3), writer);
    expect(tail.exitCode, tail.stderr).toBe(0);
    expect(consecutive(tail.stdout.split("\n"))).toEqual({ first: span.first + 3, last: span.last });
  }, 120_000);
});
