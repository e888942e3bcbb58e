#!/usr/bin/env node
// The berth command: `berth agent` runs the daemon; the other subcommands talk to a
// running agent over its socket, the way crictl and kubectl users expect.
import { Command, Option } from "commander";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { resolve } from "node:path";
import { createLogger } from "../../common/logger.js";
import { connectCri, type CriClients } from "../../cri/grpc-client.js";
import { ContainerState, PodSandboxState } from "../../cri/api/generated/api.js";
import { ImagesClient, type ImportImageResponse } from "../api/generated/berth.js";
import { loadConfig, defaultConfig } from "../config.js";
import { runAgent } from "../daemon.js";
import { ago, humanBytes, parseFormat, shortId, structured, table } from "./output.js";
import { RUNTIME_VERSION } from "../../cri/runtime/runtime-service.js";

const program = new Command();
program
  .name("berth")
  .description("berth: a per-host container agent (kubelet + CRI runtime on runc and conmon)")
  .version(RUNTIME_VERSION)
  .option("--endpoint <socket>", "agent socket", process.env.BERTH_SOCKET ?? defaultConfig().socket);

program
  .command("agent")
  .description("run the berth agent (the daemon)")
  .option("-c, --config <file>", "config file (default /etc/berth/config.yaml if it exists)")
  .option("--socket <path>", "gRPC socket to serve CRI and berth.v1 on")
  .option("--state-dir <dir>", "persistent state directory")
  .option("--run-dir <dir>", "runtime directory (runc state, netns, exit files)")
  .option("--cgroup-root <path>", "parent cgroup of pods; relative nests under the agent's cgroup")
  .option("--log-level <level>", "pino log level")
  .option("--no-cni", "no pod network: sandboxes get loopback only")
  .action(
    async (opts: {
      config?: string;
      socket?: string;
      stateDir?: string;
      runDir?: string;
      cgroupRoot?: string;
      logLevel?: string;
      cni: boolean;
    }) => {
      const config = await loadConfig({
        path: opts.config,
        required: opts.config !== undefined,
        overrides: {
          socket: opts.socket,
          stateDir: opts.stateDir,
          runDir: opts.runDir,
          cgroupRoot: opts.cgroupRoot,
          logLevel: opts.logLevel,
          cni: opts.cni ? undefined : { enabled: false },
        },
      });
      await runAgent(config, createLogger(config.logLevel));
    },
  );

const image = program.command("image").description("manage images on this node");
image
  .command("import <dir>")
  .description("load an OCI image layout directory into berth's image store")
  .option("-t, --tag <name>", "name the image (overrides the layout's annotations)")
  .action(async (dir: string, opts: { tag?: string }) => {
    const client = new ImagesClient(`unix:${endpoint()}`, credentials.createInsecure());
    const res = await new Promise<ImportImageResponse>((ok, fail) =>
      client.importImage({ path: resolve(dir), tag: opts.tag ?? "" }, new Metadata(), (err, r) =>
        err ? fail(err) : ok(r),
      ),
    );
    client.close();
    for (const img of res.images)
      process.stdout.write(`imported ${img.repoTags.join(", ") || "<untagged>"} ${img.id}\n`);
  });

const formatOption = new Option("-o, --output <format>", "json, yaml or wide");

program
  .command("images")
  .description("list images")
  .addOption(formatOption)
  .action(async (opts: { output?: string }) =>
    withCri(async (cri) => {
      const format = parseFormat(opts.output);
      const { images } = await cri.images.listImages({});
      if (format === "json" || format === "yaml")
        return void process.stdout.write(structured(images, format));
      const rows = images.flatMap((img) =>
        (img.repoTags.length ? img.repoTags : ["<none>:<none>"]).map((tag) => {
          const i = tag.lastIndexOf(":");
          return [tag.slice(0, i), tag.slice(i + 1), shortId(img.id), humanBytes(Number(img.size))];
        }),
      );
      process.stdout.write(table(["IMAGE", "TAG", "IMAGE ID", "SIZE"], rows));
    }),
  );

program
  .command("pods")
  .description("list pod sandboxes")
  .addOption(formatOption)
  .action(async (opts: { output?: string }) =>
    withCri(async (cri) => {
      const format = parseFormat(opts.output);
      const { items } = await cri.runtime.listPodSandbox({});
      if (format === "json" || format === "yaml") return void process.stdout.write(structured(items, format));
      const rows = items.map((s) => [
        shortId(s.id),
        ago(s.createdAt),
        s.state === PodSandboxState.SANDBOX_READY ? "Ready" : "NotReady",
        s.metadata?.name ?? "",
        s.metadata?.namespace ?? "",
        String(s.metadata?.attempt ?? 0),
      ]);
      process.stdout.write(table(["POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT"], rows));
    }),
  );

program
  .command("ps")
  .description("list containers")
  .option("-a, --all", "include exited containers")
  .addOption(formatOption)
  .action(async (opts: { output?: string; all?: boolean }) =>
    withCri(async (cri) => {
      const format = parseFormat(opts.output);
      const { containers } = await cri.runtime.listContainers({});
      const shown = containers.filter((c) => opts.all || c.state !== ContainerState.CONTAINER_EXITED);
      if (format === "json" || format === "yaml") return void process.stdout.write(structured(shown, format));
      const rows = shown.map((c) => [
        shortId(c.id),
        c.image?.image ?? "",
        ago(c.createdAt),
        stateName(c.state),
        c.metadata?.name ?? "",
        String(c.metadata?.attempt ?? 0),
        shortId(c.podSandboxId),
      ]);
      process.stdout.write(
        table(["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID"], rows),
      );
    }),
  );

function stateName(state: ContainerState): string {
  return (
    {
      [ContainerState.CONTAINER_CREATED]: "Created",
      [ContainerState.CONTAINER_RUNNING]: "Running",
      [ContainerState.CONTAINER_EXITED]: "Exited",
    }[state as 0 | 1 | 2] ?? "Unknown"
  );
}

function endpoint(): string {
  return (program.opts() as { endpoint: string }).endpoint;
}

async function withCri(work: (cri: CriClients) => Promise<void>): Promise<void> {
  const cri = connectCri(endpoint(), 30_000);
  try {
    await work(cri);
  } finally {
    cri.close();
  }
}

program.parseAsync().catch((err: unknown) => {
  const grpc = err as Partial<ServiceError>;
  const message = grpc.details ?? (err instanceof Error ? err.message : String(err));
  process.stderr.write(`berth: ${message}\n`);
  // 2: the agent could not be reached; 1: it refused or failed the request.
  process.exit(grpc.code === 14 ? 2 : 1);
});
