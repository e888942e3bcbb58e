// `berth events`: the node's pod events, as `kubectl get events` lists them; --watch keeps
// printing new ones as they happen.
import type { PodEvent } from "../../api/generated/berth.js";
import { withNodeApi, type NodeApi } from "../../node-api/node-client.js";
import { colourTable, painter, type Paint } from "../colour-table.js";
import type { RegisterCommand } from "../context.js";
import { eventAge } from "../describe-pod.js";
import { parseFormat, structured, type OutputFormat } from "../output.js";

interface EventsFlags {
  namespace: string;
  allNamespaces?: boolean;
  for?: string;
  watch?: boolean;
  output?: string;
}

export const registerEvents: RegisterCommand = (program, ctx) => {
  program
    .command("events")
    .description("list pod events (Pulled, Started, BackOff, Unhealthy, Killing, ...)")
    .option("-n, --namespace <namespace>", "namespace", "default")
    .option("-A, --all-namespaces", "events of every namespace")
    .option("--for <pod>", "only the events of this pod")
    .option("-w, --watch", "after the recent events, print new ones as they happen (Ctrl-C ends)")
    .option("-o, --output <format>", "json or yaml")
    .addHelpText(
      "after",
      `
Events are kept in a bounded history on the node, oldest first.

Examples:
  berth events
  berth events -A --watch
  berth events --for web -o yaml`,
    )
    .action(async (opts: EventsFlags) => {
      const format = parseFormat(opts.output);
      const namespace = opts.allNamespaces ? "" : opts.namespace;
      const name = opts.for?.replace(/^pods?\//, "") ?? "";
      const paint = painter(process.stdout);
      const columns = eventColumns(opts.allNamespaces === true);
      await withNodeApi(ctx.endpoint(), async (api) => {
        if (!opts.watch) {
          const { events } = await api.getEvents({ namespace, name });
          if (format === "json" || format === "yaml")
            return void process.stdout.write(structured(events, format));
          if (events.length === 0) {
            const where = opts.allNamespaces ? "" : ` in ${opts.namespace} namespace`;
            return void process.stderr.write(`No events found${where}.\n`);
          }
          const now = Date.now();
          return void process.stdout.write(
            colourTable(
              columns.headers,
              events.map((e) => columns.row(e, now)),
              paint,
              columns.colour,
            ),
          );
        }
        await watchEvents(api, namespace, name, format, paint, columns);
      });
    });
};

interface EventColumns {
  headers: string[];
  row(e: PodEvent, now: number): string[];
  colour(column: number, value: string): "yellow" | undefined;
}

function eventColumns(allNamespaces: boolean): EventColumns {
  const headers = [
    ...(allNamespaces ? ["NAMESPACE"] : []),
    "LAST SEEN",
    "TYPE",
    "REASON",
    "OBJECT",
    "MESSAGE",
  ];
  const typeColumn = headers.indexOf("TYPE");
  return {
    headers,
    row: (e, now) => [
      ...(allNamespaces ? [e.pod?.namespace ?? ""] : []),
      eventAge(e, now),
      e.type,
      e.reason,
      `pod/${e.pod?.name ?? ""}${e.fieldPath ? ` ${e.fieldPath}` : ""}`,
      e.message.trim(),
    ],
    colour: (column, value) => (column === typeColumn && value === "Warning" ? "yellow" : undefined),
  };
}

async function watchEvents(
  api: NodeApi,
  namespace: string,
  name: string,
  format: OutputFormat,
  paint: Paint,
  columns: EventColumns,
): Promise<void> {
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // A streamed table cannot know its widths ahead: columns start wide enough for usual
  // values and each row is aligned to them.
  const widths = columns.headers.map((h) => Math.max(h.length, 10));
  const line = (cells: string[], colour: boolean): string =>
    cells
      .map((c, i) => {
        if (i === cells.length - 1) return c;
        widths[i] = Math.max(widths[i] ?? 0, c.length);
        const padded = c.padEnd(widths[i] ?? 0);
        return colour ? paint(padded, columns.colour(i, c)) : padded;
      })
      .join("   ")
      .trimEnd() + "\n";
  if (format !== "json" && format !== "yaml") process.stdout.write(line(columns.headers, false));
  try {
    for await (const change of api.watchPods(
      { namespace, includeEvents: true, replayEvents: true },
      abort.signal,
    )) {
      const event = change.event;
      if (change.type !== "EVENT" || event === undefined) continue;
      if (name !== "" && event.pod?.name !== name) continue;
      if (format === "json") process.stdout.write(JSON.stringify(event) + "\n");
      else if (format === "yaml") process.stdout.write(`---\n${structured(event, "yaml")}`);
      else process.stdout.write(line(columns.row(event, Date.now()), true));
    }
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
