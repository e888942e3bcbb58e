import { describe, expect, it } from "vitest";
import { collectNodeInfo, readHostFacts, type HostFacts } from "../../../../agent/node-api/node-info.js";
import type { StatusResponse } from "../../../../cri/api/generated/api.js";

const host: HostFacts = {
  hostname: "Worker-1",
  operatingSystem: "linux",
  osImage: "Debian GNU/Linux 12 (bookworm)",
  kernelVersion: "6.1.0-18-amd64",
  architecture: "amd64",
  cpus: 2,
  memoryBytes: 24 * 1024 * 1024 * 1024 + 512,
};

function status(runtimeReady: boolean, networkReady: boolean): StatusResponse {
  return {
    status: {
      conditions: [
        { type: "RuntimeReady", status: runtimeReady, reason: "", message: "" },
        {
          type: "NetworkReady",
          status: networkReady,
          reason: networkReady ? "" : "NoCNIConfig",
          message: networkReady ? "" : "no network config",
        },
      ],
    },
    info: {},
    runtimeHandlers: [],
  };
}

const sources = (runtimeStatus: () => Promise<StatusResponse>) => ({
  host: async () => host,
  runtimeStatus,
  podCount: () => 3,
  berthVersion: "0.1.0",
});

describe("collectNodeInfo", () => {
  it("reports host facts, capacity in Kubernetes quantities and a Ready node", async () => {
    const info = await collectNodeInfo(sources(async () => status(true, true)));
    expect(info).toMatchObject({
      name: "worker-1",
      operatingSystem: "linux",
      osImage: "Debian GNU/Linux 12 (bookworm)",
      architecture: "amd64",
      capacity: { cpu: "2", memory: "25165824Ki" },
      allocatable: { cpu: "2", memory: "25165824Ki" },
      berthVersion: "0.1.0",
      containerRuntimeVersion: "berth 0.1.0",
      podCount: 3,
    });
    expect(info.conditions.map((c) => `${c.type}=${c.status}`)).toEqual([
      "RuntimeReady=True",
      "NetworkReady=True",
      "Ready=True",
    ]);
  });

  it("is not Ready when the network is not, and says why", async () => {
    const info = await collectNodeInfo(sources(async () => status(true, false)));
    const ready = info.conditions.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "False", reason: "RuntimeNotReady" });
    expect(ready?.message).toContain("NetworkReady is False: no network config");
  });

  it("reports Unknown conditions when the runtime status cannot be had", async () => {
    const info = await collectNodeInfo(
      sources(async () => {
        throw new Error("socket closed");
      }),
    );
    expect(info.conditions.map((c) => c.status)).toEqual(["Unknown", "Unknown", "Unknown"]);
    expect(info.conditions[0]?.message).toContain("socket closed");
  });

  it("reads this host's facts", async () => {
    const facts = await readHostFacts();
    expect(facts.cpus).toBeGreaterThan(0);
    expect(facts.memoryBytes).toBeGreaterThan(0);
    expect(facts.operatingSystem).toBe("linux");
    expect(["amd64", "arm64"]).toContain(facts.architecture);
  });
});
