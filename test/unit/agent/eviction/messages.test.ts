import { describe, expect, it } from "vitest";
import { admissionMessage, evictionMessage } from "../../../../agent/eviction/messages.js";
import { podUsageFromSnapshot } from "../../../../agent/eviction/ranking.js";
import { Mi, pod, snapshot } from "./fixtures.js";

describe("eviction messages", () => {
  it("name only the containers above their request, with the request as written", () => {
    const p = pod("web", {
      containers: [
        { name: "app", requests: { memory: "256Mi" } },
        { name: "sidecar", requests: { memory: "64Mi" } },
      ],
    });
    const usage = podUsageFromSnapshot(
      snapshot([
        { pod: "web", name: "app", memory: 100 * Mi },
        { pod: "web", name: "sidecar", memory: 300 * Mi },
      ]),
    )(p);
    const message = evictionMessage({
      threshold: {
        signal: "memory.available",
        operator: "LessThan",
        value: { percentage: 0.05 },
        gracePeriodMs: 0,
      },
      observation: { available: 80 * Mi, capacity: 4096 * Mi, timeMs: 0, source: "t" },
      pod: p,
      ...(usage && { usage }),
    });
    expect(message).toBe(
      "The node was low on resource: memory. Threshold quantity: 214748364, available: 80Mi. Container sidecar was using 300Mi, request is 64Mi.",
    );
  });

  it("say what PSI saw for the PSI signal", () => {
    const message = evictionMessage({
      threshold: {
        signal: "memory.psiFullAvg10",
        operator: "GreaterThan",
        value: { quantity: 40 },
        gracePeriodMs: 0,
      },
      observation: { available: 57.25, capacity: 100, timeMs: 0, source: "t" },
      pod: pod("p"),
    });
    expect(message).toBe(
      "The node was low on resource: memory. Pods stalled on memory 57.25% of the time (PSI full avg10), threshold: 40%.",
    );
  });

  it("speak of inodes and pids without container usage", () => {
    const message = evictionMessage({
      threshold: {
        signal: "nodefs.inodesFree",
        operator: "LessThan",
        value: { quantity: 1000 },
        gracePeriodMs: 0,
      },
      observation: { available: 10, capacity: 100000, timeMs: 0, source: "t" },
      pod: pod("p"),
    });
    expect(message).toBe("The node was low on resource: inodes. Threshold quantity: 1000, available: 10.");
    expect(admissionMessage(["DiskPressure", "PIDPressure"])).toBe(
      "The node had condition: [DiskPressure PIDPressure].",
    );
  });
});
