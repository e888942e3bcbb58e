// `berth pods`: the node's pods as `kubectl get pods` shows them (Node API);
// `berth pods --sandboxes` and `berth ps`: the CRI sandboxes and containers, as crictl does.
import { Option } from "commander";
import { withNodeApi } from "../../node-api/node-client.js";
import { podFromJson } from "../../node-api/pod-json.js";
import { colourTable, painter, statusColour } from "../colour-table.js";
import type { CliContext, RegisterCommand } from "../context.js";
import { parseFormat, structured, type OutputFormat } from "../output.js";
import { podColumns } from "../pod-columns.js";

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
    .action(async (opts: { output?: string; all?: boolean }) => {
      const format = parseFormat(opts.output);
      const { listContainers } = await import("../cri-listings.js");
      await ctx.withCri((cri) => listContainers(cri, format, opts.all === true));
    });
};

async function listSandboxes(ctx: CliContext, format: OutputFormat): Promise<void> {
  const listings = await import("../cri-listings.js");
  await ctx.withCri((cri) => listings.listSandboxes(cri, format));
}
