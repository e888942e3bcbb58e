// `berth pods` and `berth ps`: what runs on this node, as crictl shows it.
import { Option } from "commander";
import { ContainerState, PodSandboxState } from "../../../cri/api/generated/api.js";
import type { RegisterCommand } from "../context.js";
import { ago, parseFormat, shortId, structured, table } from "../output.js";

const STATE_NAMES: Record<number, string> = {
  [ContainerState.CONTAINER_CREATED]: "Created",
  [ContainerState.CONTAINER_RUNNING]: "Running",
  [ContainerState.CONTAINER_EXITED]: "Exited",
};

export const registerPods: RegisterCommand = (program, ctx) => {
  program
    .command("pods")
    .description("list pod sandboxes")
    .addOption(new Option("-o, --output <format>", "json, yaml or wide"))
    .action(async (opts: { output?: string }) =>
      ctx.withCri(async (cri) => {
        const format = parseFormat(opts.output);
        const { items } = await cri.runtime.listPodSandbox({});
        if (format === "json" || format === "yaml")
          return void process.stdout.write(structured(items, format));
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
    .addOption(new Option("-o, --output <format>", "json, yaml or wide"))
    .action(async (opts: { output?: string; all?: boolean }) =>
      ctx.withCri(async (cri) => {
        const format = parseFormat(opts.output);
        const { containers } = await cri.runtime.listContainers({});
        const shown = containers.filter((c) => opts.all || c.state !== ContainerState.CONTAINER_EXITED);
        if (format === "json" || format === "yaml")
          return void process.stdout.write(structured(shown, format));
        const rows = shown.map((c) => [
          shortId(c.id),
          c.image?.image ?? "",
          ago(c.createdAt),
          STATE_NAMES[c.state] ?? "Unknown",
          c.metadata?.name ?? "",
          String(c.metadata?.attempt ?? 0),
          shortId(c.podSandboxId),
        ]);
        process.stdout.write(
          table(["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID"], rows),
        );
      }),
    );
};
