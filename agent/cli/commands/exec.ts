// `berth exec` and `berth port-forward`: interactive access through berth's streaming
// server, with the same protocols kubectl and crictl use.
import type { RegisterCommand } from "../context.js";
import { findRunningContainer, findSandbox } from "../resolve-target.js";
import { forwardPorts, runOnTerminal } from "../stream-client.js";

export const registerExec: RegisterCommand = (program, ctx) => {
  program
    .command("exec")
    .description("run a command in a container: berth exec -it POD [-c CONTAINER] -- CMD [ARGS...]")
    .argument("<pod>", "pod name, or container id")
    .argument("<command...>", "the command and its arguments (after --)")
    .option("-c, --container <name>", "container in the pod (default: its only running container)")
    .option("-n, --namespace <ns>", "namespace of the pod")
    .option("-i, --stdin", "pass stdin to the command")
    .option("-t, --tty", "allocate a terminal")
    .action(
      async (
        target: string,
        command: string[],
        opts: { container?: string; namespace?: string; stdin?: boolean; tty?: boolean },
      ) => {
        let url = "";
        await ctx.withCri(async (cri) => {
          const container = await findRunningContainer(cri, target, opts.container, opts.namespace);
          const tty = Boolean(opts.tty);
          ({ url } = await cri.runtime.exec({
            containerId: container.id,
            cmd: command,
            tty,
            stdin: Boolean(opts.stdin),
            stdout: true,
            stderr: !tty,
            auditRequestId: "",
          }));
        });
        const code = await runOnTerminal(url, { tty: Boolean(opts.tty), stdin: Boolean(opts.stdin) });
        process.exitCode = code;
      },
    );

  program
    .command("port-forward")
    .description("forward local ports to a pod: berth port-forward POD LOCAL:REMOTE [...]")
    .argument("<pod>", "pod name or sandbox id")
    .argument("<ports...>", "LOCAL:REMOTE pairs, or a single PORT for the same number on both sides")
    .option("-n, --namespace <ns>", "namespace of the pod")
    .option("--address <addr>", "local address to listen on", "127.0.0.1")
    .action(async (target: string, specs: string[], opts: { namespace?: string; address: string }) => {
      const mappings = specs.map(parsePortSpec);
      let url = "";
      await ctx.withCri(async (cri) => {
        const sandbox = await findSandbox(cri, target, opts.namespace);
        ({ url } = await cri.runtime.portForward({
          podSandboxId: sandbox.id,
          port: mappings.map((m) => m.remote),
        }));
      });
      const forwarder = await forwardPorts(url, mappings, { address: opts.address });
      for (const p of forwarder.ports)
        process.stdout.write(`Forwarding from ${opts.address}:${p.local} -> ${p.remote}\n`);
      process.once("SIGINT", () => forwarder.close());
      process.once("SIGTERM", () => forwarder.close());
      await forwarder.done;
    });
};

export function parsePortSpec(spec: string): { local: number; remote: number } {
  const [a, b] = spec.split(":");
  const local = Number(a === "" ? "0" : a);
  const remote = Number(b ?? a);
  const valid = (n: number, zeroOk: boolean) => Number.isInteger(n) && n >= (zeroOk ? 0 : 1) && n <= 65535;
  if (!valid(local, true) || !valid(remote, false))
    throw new Error(`invalid port mapping "${spec}" (use LOCAL:REMOTE)`);
  return { local, remote };
}
