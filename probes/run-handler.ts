// Runs a probe's one handler against one container. Never throws: whatever goes wrong becomes
// an outcome, so a broken probe is reported rather than breaking the scheduler.
import { runExecProbe, type ExecFn } from "./handlers/exec.js";
import { runGrpcProbe } from "./handlers/grpc.js";
import { runHttpGetProbe } from "./handlers/http-get.js";
import { runTcpSocketProbe } from "./handlers/tcp-socket.js";
import type { HandlerOutcome } from "./outcome.js";
import type { Probe } from "./spec.js";

/** What a probe needs to know about the container it probes. */
export interface ProbeTarget {
  containerId: string;
  /** The address network probes use when they name no host. */
  podIP?: string;
  /**
   * When the container started (ms since the epoch), from which initialDelaySeconds counts.
   * Defaults to the time the probe is added; pass it when re-adding probes of containers
   * that were already running (after an agent restart).
   */
  startedAt?: number;
}

export interface HandlerDeps {
  execFn: ExecFn;
  /** User-Agent of HTTP and gRPC probes; defaults to `berth-probe/<version>`. */
  userAgent?: string;
}

export type RunHandler = (probe: Probe, target: ProbeTarget) => Promise<HandlerOutcome>;

export function handlerRunner(deps: HandlerDeps): RunHandler {
  return async (probe, target) => {
    const timeout = probe.timeoutSeconds;
    try {
      if ("exec" in probe) return await runExecProbe(deps.execFn, target.containerId, probe.exec, timeout);
      if ("httpGet" in probe) {
        return await runHttpGetProbe(probe.httpGet, target.podIP, timeout, { userAgent: deps.userAgent });
      }
      if ("tcpSocket" in probe) return await runTcpSocketProbe(probe.tcpSocket, target.podIP, timeout);
      return await runGrpcProbe(probe.grpc, target.podIP, timeout, { userAgent: deps.userAgent });
    } catch (err) {
      return {
        result: "unknown",
        output: `probe could not run: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
  };
}
