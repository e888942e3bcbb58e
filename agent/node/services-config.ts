// Checks the config sections of the node services (reservations, nodeStatus, eviction,
// reporter) when the config is loaded, so that a bad value stops the agent at start or is
// refused on reload, with the field named.
import { InvalidArgumentError } from "../../common/errors.js";
import { parseEvictionConfig, type EvictionConfig } from "../eviction/config.js";
import { validateReporterConfig, type ReporterConfig } from "../reporter/config.js";
import { parseReservations, type NodeStatusConfig, type ReservationsConfig } from "./capacity.js";

export interface NodeServicesConfig {
  reservations: ReservationsConfig;
  nodeStatus: NodeStatusConfig;
  eviction: EvictionConfig;
  reporter: ReporterConfig;
}

export function validateNodeServicesConfig(config: NodeServicesConfig): void {
  parseReservations(config.reservations);
  if (!Number.isInteger(config.nodeStatus.maxPods) || config.nodeStatus.maxPods < 1)
    throw new InvalidArgumentError("nodeStatus: maxPods", "must be a whole number, 1 or more");
  parseEvictionConfig(config.eviction);
  validateReporterConfig(config.reporter);
}
