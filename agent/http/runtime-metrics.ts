// berth's own series: how many runtime operations (gRPC calls) it served, which failed and
// with what code, how long they took, and how long each stats collection pass took.
import { status } from "@grpc/grpc-js";
import { Counter, Histogram, exponentialBuckets, type Registry } from "prom-client";
import type { RpcObserver } from "../../cri/grpc-binding.js";

export interface RuntimeMetrics {
  /** Pass to bindService: counts and times every call. */
  readonly observeRpc: RpcObserver;
  /** Records one stats collection pass. */
  readonly observeCollection: (seconds: number) => void;
}

export function registerRuntimeMetrics(registry: Registry): RuntimeMetrics {
  const operations = new Counter({
    name: "berth_runtime_operations_total",
    help: "Runtime operations served, by operation (gRPC method).",
    labelNames: ["operation"],
    registers: [registry],
  });
  const errors = new Counter({
    name: "berth_runtime_operations_errors_total",
    help: "Runtime operations that failed, by operation and gRPC status code.",
    labelNames: ["operation", "code"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "berth_runtime_operation_duration_seconds",
    help: "Duration of runtime operations, by operation.",
    labelNames: ["operation"],
    // 5 ms up to ~12 min: from a cache read to an image pull.
    buckets: exponentialBuckets(0.005, 2.5, 14),
    registers: [registry],
  });
  const collection = new Histogram({
    name: "berth_stats_collection_duration_seconds",
    help: "Duration of one stats collection pass over every container, pod and the host.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return {
    observeRpc: (rpc, code, seconds) => {
      operations.inc({ operation: rpc });
      duration.observe({ operation: rpc }, seconds);
      if (code !== status.OK) errors.inc({ operation: rpc, code: status[code] ?? String(code) });
    },
    observeCollection: (seconds) => collection.observe(seconds),
  };
}
