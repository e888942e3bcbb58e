// /healthz: the agent is healthy when its runtime answers Status in time and calls itself
// ready. A hung runtime must not hang the health check, so the call races a deadline.
import type { RuntimeServiceApi } from "../../cri/service-types.js";

export interface HealthResult {
  readonly ok: boolean;
  /** Why not, when not ok. */
  readonly message: string;
}

export type HealthCheck = () => Promise<HealthResult>;

export function runtimeHealthCheck(
  runtime: Pick<RuntimeServiceApi, "status">,
  timeoutMs = 5_000,
): HealthCheck {
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<HealthResult>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, message: `runtime did not answer within ${timeoutMs} ms` }),
        timeoutMs,
      );
    });
    const answer = runtime.status({ verbose: false }).then(
      (res): HealthResult => {
        const ready = res.status?.conditions.find((c) => c.type === "RuntimeReady");
        return ready?.status
          ? { ok: true, message: "ok" }
          : { ok: false, message: `runtime not ready: ${ready?.reason || "no RuntimeReady condition"}` };
      },
      (err: unknown): HealthResult => ({
        ok: false,
        message: `runtime status failed: ${err instanceof Error ? err.message : String(err)}`,
      }),
    );
    try {
      return await Promise.race([answer, deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}
