import { describe, expect, it } from "vitest";
import { defaultEvictionConfig, parseEvictionConfig } from "../../../../agent/eviction/config.js";
import {
  defaultReservationsConfig,
  nodeAllocatable,
  nodeCapacity,
  parseReservations,
  resourceList,
} from "../../../../agent/node/capacity.js";

const Gi = 1024 ** 3;

describe("capacity and allocatable", () => {
  it("follows the kubelet's documented example: 16 CPUs, 32Gi, 100Gi of storage", () => {
    // --kube-reserved=cpu=1,memory=2Gi,ephemeral-storage=1Gi
    // --system-reserved=cpu=500m,memory=1Gi,ephemeral-storage=1Gi
    // --eviction-hard=memory.available<500Mi,nodefs.available<10%
    const reservations = defaultReservationsConfig();
    reservations.kubeReserved = { cpu: "1", memory: "2Gi", "ephemeral-storage": "1Gi" };
    reservations.systemReserved = { cpu: "500m", memory: "1Gi", "ephemeral-storage": "1Gi" };
    const eviction = defaultEvictionConfig();
    eviction.hard["memory.available"] = "500Mi";
    const { thresholds } = parseEvictionConfig(eviction);
    const capacity = nodeCapacity(
      { cpuCount: 16, memoryBytes: 32 * Gi, stateFilesystemBytes: 100 * Gi },
      110,
    );
    const allocatable = nodeAllocatable(capacity, parseReservations(reservations), thresholds);
    // 14.5 CPUs, "28.5Gi" of memory (32Gi - 3Gi - 500Mi, which the docs round), 88Gi of storage.
    expect(resourceList(allocatable)).toEqual({
      cpu: "14500m",
      memory: "29196Mi",
      pods: "110",
      "ephemeral-storage": "88Gi",
    });
    expect(resourceList(capacity)).toEqual({
      cpu: "16",
      memory: "32Gi",
      pods: "110",
      "ephemeral-storage": "100Gi",
    });
  });

  it("ignores soft thresholds, never goes below zero, and reserves nothing by default", () => {
    const eviction = defaultEvictionConfig();
    eviction.soft["memory.available"] = "1Gi";
    eviction.softGracePeriod["memory.available"] = "1m";
    const { thresholds } = parseEvictionConfig(eviction);
    const capacity = nodeCapacity(
      { cpuCount: 1, memoryBytes: 50 * 1024 * 1024, stateFilesystemBytes: 10 * Gi },
      5,
    );
    const allocatable = nodeAllocatable(capacity, parseReservations(defaultReservationsConfig()), thresholds);
    expect(allocatable.memoryBytes).toBe(0); // 50Mi - 100Mi (the hard default)
    expect(allocatable.cpuMilli).toBe(1000);
    expect(allocatable.ephemeralStorageBytes).toBe(9 * Gi);
  });

  it("names the field of a bad reservation", () => {
    const reservations = defaultReservationsConfig();
    reservations.systemReserved.cpu = "lots";
    expect(() => parseReservations(reservations)).toThrow(/reservations: systemReserved: cpu/);
  });
});
