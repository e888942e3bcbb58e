// `berth explain POD`: why a pod restarted, was killed, is not ready or was evicted, read
// from its status, events, stats and logs and told as a few headlines with their evidence.
import { Option } from "commander";
import { withNodeApi } from "../../node-api/node-client.js";
import { painter } from "../colour-table.js";
import type { RegisterCommand } from "../context.js";
import { explainPod } from "../explain/analyze.js";
import { gatherExplainInput } from "../explain/gather.js";
import { renderExplanation, renderStructured, renderTimeline } from "../explain/render.js";
import { buildTimeline } from "../explain/timeline.js";
import { podNames } from "../pod-args.js";

/** Exit status when the pod has problems (0: healthy, 1: error, 2: agent unreachable). */
export const EXIT_PROBLEMS_FOUND = 3;

interface ExplainFlags {
  namespace: string;
  output: "text" | "wide" | "json" | "yaml";
  timeline?: boolean;
}

export const registerExplain: RegisterCommand = (program, ctx) => {
  program
    .command("explain")
    .description("diagnose a pod: why it restarted, was killed, is not ready or was evicted")
    .argument("<pod...>", 'pod name ("web", "pod/web" or "pod web")')
    .option("-n, --namespace <namespace>", "namespace", "default")
    .addOption(
      new Option(
        "-o, --output <format>",
        "text; wide (absolute RFC 3339 times in the timeline); or the findings (or timeline) as json or yaml",
      )
        .choices(["text", "wide", "json", "yaml"])
        .default("text"),
    )
    .option("--timeline", "print what happened to the pod, oldest first, one line per happening")
    .addHelpText(
      "after",
      `
Reads the pod's status (with each container's last state), its events, the current CPU and
memory of its containers and the last log lines of crashed containers, and prints one
headline per problem, newest first, with the evidence under it: OOM kills, liveness and
startup probe kills, crash loops, readiness failures, evictions, image pulls, throttling.

With --timeline, prints instead one time-ordered list of what happened to the pod: applied,
sandbox ready, images pulled, containers created, started and restarted, probe failures,
kills, exits with their codes, OOM kills, evictions, deletion; each with its age (or, with
-o wide or json, its RFC 3339 time), the container, and the evidence.

Examples:
  berth explain web
  berth explain pod/web -n staging -o json
  berth explain web --timeline
  berth explain web --timeline -o wide

Exit status: 0 no problems found, 3 problems found, 1 error (such as pod not found),
2 agent unreachable.`,
    )
    .action(async (args: string[], opts: ExplainFlags) => {
      const names = podNames(args);
      if (names.length !== 1) throw new Error("berth explain takes one pod");
      const name = names[0] as string;
      await withNodeApi(ctx.endpoint(), (api) =>
        ctx.withCri(async (cri) => {
          const { input, notes } = await gatherExplainInput(api, cri, opts.namespace, name);
          const now = Date.now();
          const explanation = explainPod({ ...input, now });
          if (!explanation.healthy) process.exitCode = EXIT_PROBLEMS_FOUND;
          if (opts.timeline === true) {
            const timeline = buildTimeline({ ...input, now });
            process.stdout.write(
              opts.output === "json" || opts.output === "yaml"
                ? renderStructured({ ...timeline, ...(notes.length > 0 && { notes }) }, opts.output)
                : renderTimeline(timeline, { now, wide: opts.output === "wide" }, painter(process.stdout)),
            );
            if (opts.output === "text" || opts.output === "wide")
              for (const note of notes) process.stderr.write(`berth: ${note}\n`);
            return;
          }
          if (opts.output === "text" || opts.output === "wide") {
            process.stdout.write(
              renderExplanation(explanation, { now, utc: false }, painter(process.stdout)),
            );
            for (const note of notes) process.stderr.write(`berth: ${note}\n`);
          } else {
            process.stdout.write(
              renderStructured({ ...explanation, ...(notes.length > 0 && { notes }) }, opts.output),
            );
          }
        }),
      );
    });
};
