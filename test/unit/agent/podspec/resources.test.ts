import { describe, expect, it } from "vitest";
import { quantityToBytes, quantityToMilli } from "../../../../agent/podspec/quantity.js";
import {
  containerLinuxResources,
  milliCpuToQuota,
  milliCpuToShares,
  podCgroupName,
  podCgroupResources,
  podResourceTotals,
} from "../../../../agent/podspec/resources.js";
import { podWith } from "./fixtures.js";

const node = { memoryCapacityBytes: 8 * 1024 ** 3 };

describe("kubelet cpu formulas", () => {
  it.each([
    [0, 2],
    [1, 2],
    [2, 2],
    [3, 3],
    [10, 10],
    [100, 102],
    [250, 256],
    [500, 512],
    [1000, 1024],
    [1500, 1536],
    [2000, 2048],
    [256000, 262144],
    [300000, 262144],
  ])("%d milli-cpu -> %d shares", (milli, shares) => {
    expect(milliCpuToShares(milli)).toBe(shares);
  });

  it.each([
    [0, 100000, 0],
    [1, 100000, 1000],
    [10, 100000, 1000],
    [11, 100000, 1100],
    [250, 100000, 25000],
    [500, 100000, 50000],
    [1000, 100000, 100000],
    [2500, 100000, 250000],
    [500, 50000, 25000],
    [5, 50000, 1000],
  ])("%d milli-cpu over a %d µs period -> quota %d µs", (milli, period, quota) => {
    expect(milliCpuToQuota(milli, period)).toBe(quota);
  });
});

describe("containerLinuxResources", () => {
  it("maps requests and limits", () => {
    const pod = podWith([
      { requests: { cpu: "250m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
    ]);
    expect(containerLinuxResources(pod, pod.containers[0]!, node)).toEqual({
      cpuShares: 256,
      cpuQuota: 50000,
      cpuPeriod: 100000,
      memoryLimitInBytes: 268435456,
      oomScoreAdj: 1000 - Math.trunc((1000 * 128 * 1024 ** 2) / node.memoryCapacityBytes),
    });
  });

  it("takes the request from the limit when only a limit is set", () => {
    const pod = podWith([{ limits: { cpu: "2", memory: "1Gi" } }]);
    expect(containerLinuxResources(pod, pod.containers[0]!, node)).toEqual({
      cpuShares: 2048,
      cpuQuota: 200000,
      cpuPeriod: 100000,
      memoryLimitInBytes: 1073741824,
      oomScoreAdj: -997,
    });
  });

  it("leaves quota and memory unset without limits", () => {
    const pod = podWith([{ requests: { cpu: "100m" } }]);
    expect(containerLinuxResources(pod, pod.containers[0]!, node)).toEqual({
      cpuShares: 102,
      cpuQuota: 0,
      cpuPeriod: 100000,
      memoryLimitInBytes: 0,
      oomScoreAdj: 999,
    });
  });

  it("gives a best-effort container the minimum shares", () => {
    const pod = podWith([{}]);
    expect(containerLinuxResources(pod, pod.containers[0]!, node)).toMatchObject({
      cpuShares: 2,
      cpuQuota: 0,
      oomScoreAdj: 1000,
    });
  });

  it("rounds tiny cpu limits up to the minimum quota", () => {
    const pod = podWith([{ limits: { cpu: "1m", memory: "1Mi" } }]);
    expect(containerLinuxResources(pod, pod.containers[0]!, node)).toMatchObject({
      cpuShares: 2,
      cpuQuota: 1000,
    });
  });

  it("honours a disabled CFS quota and a custom period", () => {
    const pod = podWith([{ limits: { cpu: "500m" } }]);
    expect(containerLinuxResources(pod, pod.containers[0]!, node, { cpuCfsQuota: false })).toMatchObject({
      cpuQuota: 0,
      cpuPeriod: 0,
    });
    expect(containerLinuxResources(pod, pod.containers[0]!, node, { cpuPeriodUs: 50000 })).toMatchObject({
      cpuQuota: 25000,
      cpuPeriod: 50000,
    });
  });
});

describe("pod-level resources", () => {
  it("sums app containers and takes the larger of that and any init container", () => {
    const pod = podWith(
      [
        { requests: { cpu: "250m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
        { requests: { cpu: "500m", memory: "128Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
      ],
      [{ limits: { cpu: "2", memory: "64Mi" } }, { requests: { memory: "512Mi" } }],
    );
    const { requests, limits } = podResourceTotals(pod);
    expect(quantityToMilli(requests.cpu!)).toBe(2000); // init 2 > 250m + 500m
    expect(quantityToBytes(requests.memory!)).toBe(512 * 1024 ** 2); // init 512Mi > 256Mi
    expect(quantityToMilli(limits.cpu!)).toBe(2000);
    expect(quantityToBytes(limits.memory!)).toBe(384 * 1024 ** 2); // 256Mi + 128Mi > init 64Mi
    expect(requests.ephemeralStorage).toBeUndefined();
  });

  it("names the pod cgroup by QoS class and uid", () => {
    expect(podCgroupName(podWith([{ limits: { cpu: "1", memory: "1Gi" } }]))).toBe(
      "pods/guaranteed/pod-uid-1",
    );
    expect(podCgroupName(podWith([{ requests: { cpu: "1" } }]))).toBe("pods/burstable/pod-uid-1");
    expect(podCgroupName(podWith([{}]))).toBe("pods/besteffort/pod-uid-1");
  });

  it("limits a Guaranteed pod fully", () => {
    const pod = podWith([
      { limits: { cpu: "1", memory: "1Gi" } },
      { limits: { cpu: "500m", memory: "512Mi" } },
    ]);
    expect(podCgroupResources(pod)).toEqual({
      qosClass: "Guaranteed",
      cgroupName: "pods/guaranteed/pod-uid-1",
      cpuShares: 1536,
      cpuQuota: 150000,
      cpuPeriod: 100000,
      memoryLimitInBytes: 1536 * 1024 ** 2,
    });
  });

  it("limits a Burstable pod only where every container declares the limit", () => {
    const allLimited = podWith([
      { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1", memory: "1Gi" } },
    ]);
    expect(podCgroupResources(allLimited)).toEqual({
      qosClass: "Burstable",
      cgroupName: "pods/burstable/pod-uid-1",
      cpuShares: 102,
      cpuQuota: 100000,
      cpuPeriod: 100000,
      memoryLimitInBytes: 1073741824,
    });
    const memoryOnly = podWith([
      { limits: { memory: "1Gi" } },
      { requests: { cpu: "100m" }, limits: { memory: "1Gi" } },
    ]);
    expect(podCgroupResources(memoryOnly)).toEqual({
      qosClass: "Burstable",
      cgroupName: "pods/burstable/pod-uid-1",
      cpuShares: 102,
      memoryLimitInBytes: 2 * 1073741824,
    });
    const initUnlimited = podWith([{ limits: { cpu: "1" } }], [{}]);
    expect(podCgroupResources(initUnlimited)).toEqual({
      qosClass: "Burstable",
      cgroupName: "pods/burstable/pod-uid-1",
      cpuShares: 1024,
    });
  });

  it("gives a BestEffort pod the minimum shares and nothing else", () => {
    expect(podCgroupResources(podWith([{}]))).toEqual({
      qosClass: "BestEffort",
      cgroupName: "pods/besteffort/pod-uid-1",
      cpuShares: 2,
    });
  });

  it("marks cpu limits as unenforced with -1", () => {
    const pod = podWith([{ limits: { cpu: "1", memory: "1Gi" } }]);
    expect(podCgroupResources(pod, { enforceCpuLimits: false })).toMatchObject({ cpuQuota: -1 });
  });
});
