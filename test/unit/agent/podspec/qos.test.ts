import { describe, expect, it } from "vitest";
import {
  BESTEFFORT_OOM_SCORE_ADJ,
  GUARANTEED_OOM_SCORE_ADJ,
  containerOomScoreAdj,
  isNodeCriticalPod,
  podQosClass,
  type QosClass,
} from "../../../../agent/podspec/qos.js";
import { type ContainerResources, podWith } from "./fixtures.js";

const full = { cpu: "100m", memory: "100Mi" };

describe("podQosClass", () => {
  const table: [string, ContainerResources[], ContainerResources[], QosClass][] = [
    ["no requests or limits", [{}], [], "BestEffort"],
    ["two containers without resources", [{}, {}], [], "BestEffort"],
    ["zero requests count as none", [{ requests: { cpu: "0", memory: "0" } }], [], "BestEffort"],
    ["ephemeral-storage does not count", [{ limits: { "ephemeral-storage": "1Gi" } }], [], "BestEffort"],
    ["cpu and memory limits (requests defaulted)", [{ limits: full }], [], "Guaranteed"],
    ["requests equal to limits", [{ requests: full, limits: full }], [], "Guaranteed"],
    [
      "equal limits in two containers",
      [{ limits: full }, { limits: { cpu: "1", memory: "1Gi" } }],
      [],
      "Guaranteed",
    ],
    [
      "guaranteed app and init containers",
      [{ limits: full }],
      [{ limits: { cpu: "2", memory: "1Gi" } }],
      "Guaranteed",
    ],
    [
      "guaranteed plus ephemeral-storage limit",
      [{ limits: { ...full, "ephemeral-storage": "1Gi" } }],
      [],
      "Guaranteed",
    ],
    ["requests only", [{ requests: full }], [], "Burstable"],
    ["cpu limit only", [{ limits: { cpu: "1" } }], [], "Burstable"],
    [
      "memory request below its limit",
      [{ requests: { cpu: "100m", memory: "50Mi" }, limits: full }],
      [],
      "Burstable",
    ],
    ["one guaranteed and one best-effort container", [{ limits: full }, {}], [], "Burstable"],
    ["guaranteed app, init without limits", [{ limits: full }], [{}], "Burstable"],
    ["best-effort app, init with requests", [{}], [{ requests: { memory: "10Mi" } }], "Burstable"],
    [
      "zero cpu limit is no limit",
      [{ requests: { cpu: "0", memory: "1Gi" }, limits: { cpu: "0", memory: "1Gi" } }],
      [],
      "Burstable",
    ],
  ];

  it.each(table)("%s -> %s", (_name, containers, init, expected) => {
    expect(podQosClass(podWith(containers, init))).toBe(expected);
  });
});

describe("containerOomScoreAdj", () => {
  const capacity = 4 * 1024 ** 3;

  it("gives Guaranteed -997 and BestEffort 1000", () => {
    const guaranteed = podWith([{ limits: full }]);
    expect(containerOomScoreAdj(guaranteed, guaranteed.containers[0]!, capacity)).toBe(
      GUARANTEED_OOM_SCORE_ADJ,
    );
    expect(GUARANTEED_OOM_SCORE_ADJ).toBe(-997);
    const bestEffort = podWith([{}]);
    expect(containerOomScoreAdj(bestEffort, bestEffort.containers[0]!, capacity)).toBe(
      BESTEFFORT_OOM_SCORE_ADJ,
    );
    expect(BESTEFFORT_OOM_SCORE_ADJ).toBe(1000);
  });

  it.each([
    ["1Gi", capacity, 750],
    ["100Mi", capacity, 976],
    ["1", 3, 667], // 1000 - 1000/3, integer division
    ["0.5Gi", 8 * 1024 ** 3, 938],
    ["4Gi", capacity, 3], // 0 is raised to 3
    ["3.99Gi", capacity, 3], // 1000 - 997 = 3
    ["3.95Gi", capacity, 13],
    ["5Gi", capacity, 3], // more than the machine: still 3
    ["1", capacity, 999], // 1000 is lowered to 999
  ])("Burstable with a memory request of %s on %d bytes -> %d", (memory, cap, expected) => {
    const pod = podWith([{ requests: { memory } }]);
    expect(containerOomScoreAdj(pod, pod.containers[0]!, cap)).toBe(expected);
  });

  it("gives a Burstable container without a memory request 999", () => {
    const pod = podWith([{ requests: { cpu: "1" } }]);
    expect(containerOomScoreAdj(pod, pod.containers[0]!, capacity)).toBe(999);
  });

  it("scores each container of a Burstable pod by its own request", () => {
    const pod = podWith([{ requests: { memory: "2Gi" } }, { requests: { cpu: "1" } }]);
    expect(containerOomScoreAdj(pod, pod.containers[0]!, capacity)).toBe(500);
    expect(containerOomScoreAdj(pod, pod.containers[1]!, capacity)).toBe(999);
  });

  it("gives node-critical pods -997 whatever their class", () => {
    const critical = { priorityClassName: "system-node-critical" };
    const staticPod = podWith([{}], [], critical);
    expect(isNodeCriticalPod(staticPod, { isStaticPod: true })).toBe(true);
    expect(containerOomScoreAdj(staticPod, staticPod.containers[0]!, capacity, { isStaticPod: true })).toBe(
      -997,
    );
    // Not static and without a critical priority: an ordinary BestEffort pod.
    expect(isNodeCriticalPod(staticPod)).toBe(false);
    expect(containerOomScoreAdj(staticPod, staticPod.containers[0]!, capacity)).toBe(1000);

    const byPriority = podWith([{ requests: { memory: "1Gi" } }], [], {
      ...critical,
      priority: 2_000_001_000,
    });
    expect(isNodeCriticalPod(byPriority)).toBe(true);
    expect(containerOomScoreAdj(byPriority, byPriority.containers[0]!, capacity)).toBe(-997);

    const otherClass = podWith([{}], [], {
      priorityClassName: "system-cluster-critical",
      priority: 2_000_000_000,
    });
    expect(isNodeCriticalPod(otherClass, { isStaticPod: true })).toBe(false);
  });

  it("refuses a memory capacity that is not positive", () => {
    const pod = podWith([{ requests: { memory: "1Gi" } }]);
    expect(() => containerOomScoreAdj(pod, pod.containers[0]!, 0)).toThrow(RangeError);
  });
});
