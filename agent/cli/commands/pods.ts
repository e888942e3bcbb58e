// `berth pods`: the node's pods as `kubectl get pods` shows them (Node API);
// `berth pods --sandboxes` and `berth ps`: the CRI sandboxes and containers, as crictl does.
import { Option } from "commander";
import { ContainerState, PodSandboxState } from "../../../cri/api/generated/api.js";
import { withNodeApi } from "../../node-api/node-client.js";
import { podFromJson } from "../../node-api/pod-json.js";
import { colourTable, painter, statusColour } from "../colour-table.js";
import type { CliContext, RegisterCommand } from "../context.js";
import { ago, parseFormat, shortId, structured, table, type OutputFormat } from "../output.js";
import { podColumns } from "../pod-columns.js";

const STATE_NAMES: Record<number, string> = {
  [ContainerState.CONTAINER_CREATED]: "Created",
  [ContainerState.CONTAINER_RUNNING]: "Running",
  [ContainerState.CONTAINER_EXITED]: "Exited",
};

interface PodsFlags {
  namespace: string;
  allNamespaces?: boolean;
  selector?: string;
  sandboxes?: boolean;
  output?: string;
}

export const registerPods: RegisterCommand = (program, ctx) => {
  program
    .command("pods")
    .description("list the node's pods (READY, STATUS and RESTARTS as kubectl shows them)")
    .option("-n, --namespace <namespace>", "namespace", "default")
    .option("-A, --all-namespaces", "pods of every namespace")
    .option("-l, --selector <selector>", "label selector, e.g. app=web,tier!=db")
    .option("--sandboxes", "list the CRI pod sandboxes instead")
    .addOption(new Option("-o, --output <format>", "json, yaml or wide"))
    .addHelpText(
      "after",
      `
STATUS is computed as kubectl computes it: Running, Pending, ContainerCreating,
Init:0/2, CrashLoopBackOff, Completed, Error, Terminating, ...

Examples:
  berth pods                     pods of the default namespace
  berth pods -A -o wide          every pod, with its IP and node
  berth pods -l app=web -o yaml  full status of the pods labelled app=web
  berth pods --sandboxes         CRI pod sandboxes (as crictl pods)`,
    )
    .action(async (opts: PodsFlags) => {
      const format = parseFormat(opts.output);
      if (opts.sandboxes) return listSandboxes(ctx, format);
      await withNodeApi(ctx.endpoint(), async (api) => {
        const { pods } = await api.listPods({
          namespace: opts.allNamespaces ? "" : opts.namespace,
          labelSelector: opts.selector ?? "",
        });
        if (format === "json" || format === "yaml")
          return void process.stdout.write(
            structured(
              pods.map((p) => podFromJson(p.podJson)),
              format,
            ),
          );
        if (pods.length === 0) {
          const where = opts.allNamespaces ? "" : ` in ${opts.namespace} namespace`;
          return void process.stderr.write(`No resources found${where}.\n`);
        }
        const nodeName =
          format === "wide"
            ? await api.getNode().then(
                (n) => n.name,
                () => "",
              )
            : "";
        const now = Date.now();
        const headers = [
          ...(opts.allNamespaces ? ["NAMESPACE"] : []),
          "NAME",
          "READY",
          "STATUS",
          "RESTARTS",
          "AGE",
          ...(format === "wide" ? ["IP", "NODE"] : []),
        ];
        const rows = pods.map((pod) => {
          const c = podColumns(pod, now);
          return [
            ...(opts.allNamespaces ? [c.namespace] : []),
            c.name,
            c.ready,
            c.status,
            c.restarts,
            c.age,
            ...(format === "wide" ? [c.ip, pod.nodeName || nodeName || "<none>"] : []),
          ];
        });
        const statusColumn = headers.indexOf("STATUS");
        process.stdout.write(
          colourTable(headers, rows, painter(process.stdout), (column, value) =>
            column === statusColumn ? statusColour(value) : undefined,
          ),
        );
      });
    });

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

async function listSandboxes(ctx: CliContext, format: OutputFormat): Promise<void> {
  await ctx.withCri(async (cri) => {
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
  });
}
