// `berth delete POD`: graceful deletion, as `kubectl delete pod` does it.
import { withNodeApi } from "../../node-api/node-client.js";
import type { RegisterCommand } from "../context.js";
import { podNames } from "../pod-args.js";

interface DeleteFlags {
  namespace: string;
  gracePeriod?: string;
  timeout?: string;
}

export const registerDelete: RegisterCommand = (program, ctx) => {
  program
    .command("delete")
    .description("delete pods gracefully (preStop hooks, SIGTERM, grace period, SIGKILL)")
    .argument("<pod...>", 'pod names ("web", "pod/web" or "pod web")')
    .option("-n, --namespace <namespace>", "namespace", "default")
    .option(
      "--grace-period <seconds>",
      "seconds to wait after SIGTERM (default: the pod's own); 0 kills at once",
    )
    .option("--timeout <seconds>", "how long to wait for the pod to be gone", "600")
    .addHelpText(
      "after",
      `
The command returns once the pod and its containers are gone. Pods from the node's
static manifests folder cannot be deleted here: remove their file instead.

Examples:
  berth delete web
  berth delete pod/web -n staging --grace-period 0

Exit status: 0 deleted, 1 refused (unknown pod, static pod), 2 agent unreachable.`,
    )
    .action(async (args: string[], opts: DeleteFlags) => {
      const grace =
        opts.gracePeriod === undefined ? undefined : wholeSeconds(opts.gracePeriod, "--grace-period");
      const timeout = wholeSeconds(opts.timeout ?? "600", "--timeout");
      await withNodeApi(ctx.endpoint(), async (api) => {
        for (const name of podNames(args)) {
          await api.deletePod(
            {
              namespace: opts.namespace,
              name,
              ...(grace !== undefined && { gracePeriodSeconds: BigInt(grace) }),
            },
            (timeout + (grace ?? 0)) * 1000,
          );
          process.stdout.write(`pod "${name}" deleted\n`);
        }
      });
    });
};

function wholeSeconds(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`${flag}: "${value}" is not a whole number of seconds`);
  return Number(value);
}
