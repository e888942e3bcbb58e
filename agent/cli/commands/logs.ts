// `berth logs`: a container's log, read from its CRI log file on this node (the CLI runs
// where the containers do, as crictl does), with the generations log rotation left beside it,
// oldest first. stdout lines go to stdout, stderr lines to stderr.
import { InvalidArgumentError as CommanderArgumentError } from "commander";
import { once } from "node:events";
import { access } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ServiceError } from "@grpc/grpc-js";
import { ContainerState, type Container } from "../../../cri/api/generated/api.js";
import type { CriClients } from "../../../cri/grpc-client.js";
import { resolveContainer } from "../container-ref.js";
import type { RegisterCommand } from "../context.js";
import { CriLogDecoder, formatRecord, parseSince, type LogRecord } from "../cri-log-format.js";
import { readLogLines } from "../log-reader.js";
import { listRotatedLogs } from "../../logs/rotated-logs.js";
import { shortId } from "../output.js";

const GRPC_NOT_FOUND = 5;

interface LogsOptions {
  follow?: boolean;
  tail: number;
  since?: string;
  timestamps?: boolean;
  previous?: boolean;
}

/** A log file to print, and the container whose exit ends a follow (none: the file is final). */
interface LogSource {
  path: string;
  containerId?: string;
}

export const registerLogs: RegisterCommand = (program, ctx) => {
  program
    .command("logs")
    .description("print a container's log")
    .argument("<container>", "container id, unique id prefix or name")
    .option("-f, --follow", "keep printing new lines until the container exits")
    .option("--tail <lines>", "print only the last N lines (-1: all)", parseTail, -1)
    .option("--since <time>", "only lines newer than a duration (10s, 5m, 1h) or an RFC 3339 time")
    .option("-t, --timestamps", "prefix each line with its time")
    .option("-p, --previous", "print the log of the container's previous attempt")
    .action(async (ref: string, opts: LogsOptions) =>
      ctx.withCri(async (cri) => {
        const sinceNanos = opts.since === undefined ? undefined : parseSince(opts.since, Date.now());
        const { containers } = await cri.runtime.listContainers({});
        const { container, note } = resolveContainer(containers, ref);
        if (note) process.stderr.write(`berth: ${note}\n`);
        const source = opts.previous
          ? await previousLog(cri, containers, container)
          : await currentLog(cri, container.id);
        await printLog(cri, source, { ...opts, sinceNanos });
      }),
    );
};

function parseTail(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < -1)
    throw new CommanderArgumentError("expected a whole number, or -1 for all");
  return n;
}

async function currentLog(cri: CriClients, containerId: string): Promise<LogSource> {
  const res = await cri.runtime.containerStatus({ containerId, verbose: true });
  let path = res.status?.logPath ?? "";
  if (!path) {
    // Created without a log path: the runtime keeps the log in the container's bundle.
    const bundle = parseInfo(res.info.info).bundle;
    if (typeof bundle === "string" && bundle) path = join(bundle, "container.log");
  }
  if (!path) throw new Error(`container ${shortId(containerId)} has no log file`);
  return { path, containerId };
}

/**
 * The previous attempt's log: that container's own file while it still exists, else the
 * `<attempt-1>.log` file beside the current one (the kubelet's layout keeps it after the
 * container is removed).
 */
async function previousLog(cri: CriClients, containers: Container[], current: Container): Promise<LogSource> {
  const attempt = current.metadata?.attempt ?? 0;
  const name = current.metadata?.name ?? "";
  if (attempt === 0) {
    throw new Error(
      `container "${name}" (${shortId(current.id)}) is attempt 0: there is no previous attempt`,
    );
  }
  const previous = containers
    .filter(
      (c) =>
        c.podSandboxId === current.podSandboxId &&
        c.metadata?.name === name &&
        c.metadata.attempt === attempt - 1,
    )
    .sort((a, b) => (a.createdAt > b.createdAt ? -1 : 1))[0];
  if (previous) return currentLog(cri, previous.id);
  const { path: currentPath } = await currentLog(cri, current.id);
  const path = join(dirname(currentPath), `${attempt - 1}.log`);
  try {
    await access(path);
  } catch {
    throw new Error(`the log of the previous attempt of "${name}" (${path}) no longer exists`);
  }
  return { path };
}

async function printLog(
  cri: CriClients,
  source: LogSource,
  opts: LogsOptions & { sinceNanos: bigint | undefined },
): Promise<void> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  let outputError: Error | undefined;
  const onOutputError = (err: NodeJS.ErrnoException): void => {
    // A closed pipe (berth logs | head) just ends the output; other failures are reported.
    if (err.code !== "EPIPE") outputError = err;
    stop.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.stdout.on("error", onOutputError);
  process.stderr.on("error", onOutputError);
  const containerId = source.containerId;
  const follow =
    opts.follow === true
      ? {
          signal: stop.signal,
          finished: async () => (containerId ? containerDone(cri, containerId) : true),
        }
      : undefined;
  try {
    // Renamed away by a rotation an instant ago, the log is back soon: the reader waits for it.
    const present = await access(source.path).then(
      () => true,
      async () => (await listRotatedLogs(source.path)).rotated.length > 0,
    );
    if (!present) throw new Error(`the log file ${source.path} does not exist`);
    const timestamps = opts.timestamps === true;
    const decoder = new CriLogDecoder({ sinceNanos: opts.sinceNanos });
    const tailLines = opts.tail >= 0 ? opts.tail : undefined;
    for await (const batch of readLogLines({ path: source.path, tailLines, follow })) {
      await writeRecords(
        batch.flatMap((line) => decoder.decode(line)),
        timestamps,
        stop.signal,
      );
      if (stop.signal.aborted) break;
    }
    if (!stop.signal.aborted) await writeRecords(decoder.end(), timestamps, stop.signal);
    if (outputError) throw outputError;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.stdout.off("error", onOutputError);
    process.stderr.off("error", onOutputError);
  }
}

/** Following ends when the container has exited, or is gone. */
async function containerDone(cri: CriClients, containerId: string): Promise<boolean> {
  try {
    const res = await cri.runtime.containerStatus({ containerId, verbose: false });
    return res.status?.state === ContainerState.CONTAINER_EXITED;
  } catch (err) {
    if ((err as Partial<ServiceError>).code === GRPC_NOT_FOUND) return true;
    throw err;
  }
}

/** Writes records in order, each run of one stream in one write, waiting when a pipe is full. */
async function writeRecords(records: LogRecord[], timestamps: boolean, signal: AbortSignal): Promise<void> {
  let i = 0;
  while (i < records.length && !signal.aborted) {
    const stream = records[i]!.stream;
    const run: Buffer[] = [];
    for (; i < records.length && records[i]!.stream === stream; i++)
      run.push(formatRecord(records[i]!, timestamps));
    const out = stream === "stderr" ? process.stderr : process.stdout;
    if (!out.write(run.length === 1 ? run[0]! : Buffer.concat(run))) {
      await once(out, "drain", { signal }).catch(() => undefined);
    }
  }
}

function parseInfo(json: string | undefined): Record<string, unknown> {
  if (!json) return {};
  try {
    const value = JSON.parse(json) as unknown;
    return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
