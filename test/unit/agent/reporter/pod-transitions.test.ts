import { describe, expect, it } from "vitest";
import { podTransitionKey } from "../../../../agent/reporter/pod-transitions.js";
import type { PodStatusView } from "../../../../agent/pods/pod-manager-api.js";
import { pod } from "../eviction/fixtures.js";

const base = pod("p");
const withStatus = (status: Partial<PodStatusView["status"]>, terminating = false): PodStatusView => ({
  ...base,
  status: { ...base.status, ...status },
  terminating,
});

const running = {
  name: "c0",
  state: { running: { startedAt: "2025-01-01T00:00:00Z" } },
  lastState: {},
  ready: false,
  started: true,
  restartCount: 0,
  image: "busybox",
  imageID: "sha256:1",
};

describe("pod transitions", () => {
  it("are phase, conditions, container states, readiness and restarts, and termination", () => {
    const a = withStatus({ containerStatuses: [running] });
    expect(
      podTransitionKey(withStatus({ containerStatuses: [running], message: "x", podIP: "10.0.0.2" })),
    ).toBe(podTransitionKey(a));
    const changes: PodStatusView[] = [
      withStatus({ phase: "Failed", containerStatuses: [running] }),
      withStatus({ reason: "Evicted", containerStatuses: [running] }),
      withStatus({ containerStatuses: [{ ...running, ready: true }] }),
      withStatus({ containerStatuses: [{ ...running, restartCount: 1 }] }),
      withStatus({
        containerStatuses: [{ ...running, state: { waiting: { reason: "CrashLoopBackOff" } } }],
      }),
      withStatus({
        containerStatuses: [running],
        conditions: [{ type: "Ready", status: "True", lastTransitionTime: "t" }],
      }),
      withStatus({ containerStatuses: [running] }, true),
    ];
    for (const changed of changes) expect(podTransitionKey(changed)).not.toBe(podTransitionKey(a));
  });
});
