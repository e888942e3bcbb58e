// Lifecycle hooks (postStart, preStop): exec through the runtime's ExecSync, an HTTP GET to the
// pod, a TCP connect (deprecated but accepted), or a sleep. A hook never throws; it reports
// failure with the kubelet's wording, which becomes the FailedPostStartHook/FailedPreStopHook event.
import { runHttpGetProbe } from "../../probes/handlers/http-get.js";
import { runTcpSocketProbe } from "../../probes/handlers/tcp-socket.js";
import type { RuntimeServiceApi } from "../../cri/service-types.js";
import type { Container, LifecycleHandler } from "../podspec/types.js";
import { runtimeErrorMessage } from "../runtime-client.js";
import { resolvePort } from "./pod-prober.js";

export type HookResult = { ok: true } | { ok: false; message: string };

export interface HookContext {
  readonly runtime: Pick<RuntimeServiceApi, "execSync">;
  readonly containerId: string;
  readonly container: Container;
  /** `name_namespace(uid)`, for messages. */
  readonly podFullName: string;
  readonly podIP?: string;
  /** Upper bound on the hook's run; 0 means none (postStart, as in the kubelet). */
  readonly timeoutSeconds: number;
  /** Ends waiting early (the pod is being deleted, or the grace period is over). */
  readonly signal?: AbortSignal;
}

/** HTTP and TCP hooks have no timeout of their own; this keeps one from hanging a worker. */
const NETWORK_HOOK_TIMEOUT_SECONDS = 30;

function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, onAbort: () => T): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.resolve(onAbort());
  return new Promise((resolve, reject) => {
    const abort = (): void => resolve(onAbort());
    signal.addEventListener("abort", abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", abort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", abort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export async function runLifecycleHandler(handler: LifecycleHandler, ctx: HookContext): Promise<HookResult> {
  const where = `for Container "${ctx.container.name}" in Pod "${ctx.podFullName}"`;
  const interrupted = (): HookResult => ({ ok: false, message: `lifecycle hook ${where} was interrupted` });
  switch (handler.type) {
    case "exec": {
      const command = [...handler.command];
      const run = async (): Promise<HookResult> => {
        try {
          const res = await ctx.runtime.execSync({
            containerId: ctx.containerId,
            cmd: command,
            timeout: BigInt(ctx.timeoutSeconds),
          });
          if (res.exitCode === 0) return { ok: true };
          const output = Buffer.concat([res.stdout, res.stderr]).toString("utf8");
          return {
            ok: false,
            message:
              `Exec lifecycle hook (${JSON.stringify(command)}) ${where} failed - error: command ` +
              `'${command.join(" ")}' exited with ${res.exitCode}: ${output}, message: ${JSON.stringify(output)}`,
          };
        } catch (err) {
          return {
            ok: false,
            message: `Exec lifecycle hook (${JSON.stringify(command)}) ${where} failed - error: ${runtimeErrorMessage(err)}`,
          };
        }
      };
      return abortable(run(), ctx.signal, interrupted);
    }
    case "httpGet": {
      const port = resolvePort(handler.port, ctx.container);
      if (port === undefined)
        return { ok: false, message: `HTTP lifecycle hook ${where}: unknown port ${handler.port}` };
      const timeout = ctx.timeoutSeconds > 0 ? ctx.timeoutSeconds : NETWORK_HOOK_TIMEOUT_SECONDS;
      const run = runHttpGetProbe(
        {
          scheme: handler.scheme,
          ...(handler.host !== undefined && { host: handler.host }),
          path: handler.path,
          port,
          httpHeaders: handler.httpHeaders.map((h) => ({ name: h.name, value: h.value })),
        },
        ctx.podIP,
        timeout,
      ).then((outcome): HookResult =>
        outcome.result === "success"
          ? { ok: true }
          : {
              ok: false,
              message: `HTTP lifecycle hook (${handler.path}) ${where} failed - error: ${outcome.output}`,
            },
      );
      return abortable(run, ctx.signal, interrupted);
    }
    case "tcpSocket": {
      const port = resolvePort(handler.port, ctx.container);
      if (port === undefined)
        return { ok: false, message: `TCP lifecycle hook ${where}: unknown port ${handler.port}` };
      const timeout = ctx.timeoutSeconds > 0 ? ctx.timeoutSeconds : NETWORK_HOOK_TIMEOUT_SECONDS;
      const run = runTcpSocketProbe(
        { ...(handler.host !== undefined && { host: handler.host }), port },
        ctx.podIP,
        timeout,
      ).then((outcome): HookResult =>
        outcome.result === "success"
          ? { ok: true }
          : { ok: false, message: `TCP lifecycle hook ${where} failed - error: ${outcome.output}` },
      );
      return abortable(run, ctx.signal, interrupted);
    }
    case "sleep": {
      const limit = ctx.timeoutSeconds > 0 ? Math.min(handler.seconds, ctx.timeoutSeconds) : handler.seconds;
      await abortable(
        new Promise<void>((resolve) => setTimeout(resolve, limit * 1000).unref()),
        ctx.signal,
        () => undefined,
      );
      return { ok: true };
    }
  }
}
