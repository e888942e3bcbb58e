// The kubelet layer's public surface: the PodManager (one worker per pod over the CRI), the
// contract its front ends use, and the probe counts the metrics endpoint reads.
export type * from "./pod-manager-api.js";
export {
  PodManager,
  criExec,
  DEFAULT_RELIST_INTERVAL_MS,
  DEFAULT_RESYNC_INTERVAL_MS,
  DEFAULT_SOURCES_READY_DELAY_MS,
  type PodManagerOptions,
} from "./pod-manager.js";
export type { ProbeCount, ProbeLabels, ProbeListener } from "./probe-metrics.js";
export { CONTAINER_ID_PREFIX } from "./status.js";
