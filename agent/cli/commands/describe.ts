// `berth describe POD`: everything about a pod, laid out as `kubectl describe pod`.
import { withNodeApi } from "../../node-api/node-client.js";
import { podFromJson } from "../../node-api/pod-json.js";
import type { RegisterCommand } from "../context.js";
import { describePod } from "../describe-pod.js";
import { podNames } from "../pod-args.js";

export const registerDescribe: RegisterCommand = (program, ctx) => {
  program
    .command("describe")
    .description("show a pod in detail: containers, states, probes, conditions, volumes, events")
    .argument("<pod...>", 'pod names ("web", "pod/web" or "pod web")')
    .option("-n, --namespace <namespace>", "namespace", "default")
    .addHelpText(
      "after",
      `
Examples:
  berth describe web
  berth describe pod/web -n staging`,
    )
    .action(async (args: string[], opts: { namespace: string }) =>
      withNodeApi(ctx.endpoint(), async (api) => {
        const nodeName = await api.getNode().then(
          (n) => n.name,
          () => undefined,
        );
        const names = podNames(args);
        for (const [i, name] of names.entries()) {
          const pod = await api.getPod({ namespace: opts.namespace, name });
          const { events } = await api.getEvents({ namespace: opts.namespace, name });
          const text = describePod(podFromJson(pod.podJson), events, {
            now: Date.now(),
            ...(nodeName !== undefined && { nodeName }),
          });
          process.stdout.write(i > 0 ? `\n\n${text}` : text);
        }
      }),
    );
};
