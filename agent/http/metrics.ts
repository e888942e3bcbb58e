// The agent's Prometheus registry: cadvisor-named container series, machine facts and
// berth's own series, in a registry of its own (never prom-client's global one, so two
// agents in one process, as in tests, do not share counters).
import { Registry } from "prom-client";
import type { RpcObserver } from "../../cri/grpc-binding.js";
import type { StatsCollector } from "../../cri/stats/collector.js";
import { registerContainerMetrics } from "./container-metrics.js";
import { registerRuntimeMetrics } from "./runtime-metrics.js";

export type StatsSource = Pick<StatsCollector, "all" | "onSample">;

export interface AgentMetrics {
  readonly registry: Registry;
  readonly observeRpc: RpcObserver;
  /** Stops listening to the collector. */
  close(): void;
}

export function createAgentMetrics(stats: StatsSource): AgentMetrics {
  const registry = new Registry();
  registerContainerMetrics(registry, () => stats.all());
  const runtime = registerRuntimeMetrics(registry);
  const unsubscribe = stats.onSample((snapshot) => runtime.observeCollection(snapshot.passSeconds));
  return { registry, observeRpc: runtime.observeRpc, close: unsubscribe };
}
