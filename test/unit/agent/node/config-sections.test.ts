import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../../../agent/config.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-config-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(yaml: string, env: NodeJS.ProcessEnv = {}): ReturnType<typeof loadConfig> {
  const path = join(dir, "config.yaml");
  await writeFile(path, yaml);
  return loadConfig({ path, required: true, env });
}

describe("node services config sections", () => {
  it("default to the kubelet's eviction thresholds, no reservations, 110 pods and no reporter", async () => {
    const config = await load("");
    expect(config.eviction.hard).toEqual({
      "memory.available": "100Mi",
      "nodefs.available": "10%",
      "nodefs.inodesFree": "5%",
      "imagefs.available": "15%",
      "imagefs.inodesFree": "",
      "pid.available": "",
    });
    expect(config.eviction.pressureTransitionPeriod).toBe("5m");
    expect(config.eviction.psiMemoryFullAvg10Percent).toBe(0);
    expect(config.reservations.kubeReserved).toEqual({ cpu: "", memory: "", "ephemeral-storage": "" });
    expect(config.nodeStatus.maxPods).toBe(110);
    expect(config.reporter).toMatchObject({
      endpoint: "",
      intervalSeconds: 10,
      queueLimit: 360,
      podUpdateLimit: 10000,
    });
  });

  it("merge what the file sets, signal by signal", async () => {
    const config = await load(
      [
        "reservations:",
        "  kubeReserved: { cpu: 100m, memory: 256Mi }",
        "  systemReserved: { ephemeral-storage: 1Gi }",
        "eviction:",
        "  hard: { memory.available: 200Mi, pid.available: '5%' }",
        "  soft: { memory.available: 1Gi }",
        "  softGracePeriod: { memory.available: 1m30s }",
        "  psiMemoryFullAvg10Percent: 40",
        "reporter:",
        "  endpoint: 127.0.0.1:7443",
        "  tls: { enabled: true, caFile: /etc/berth/orchestrator-ca.pem }",
      ].join("\n"),
    );
    expect(config.reservations.kubeReserved).toEqual({
      cpu: "100m",
      memory: "256Mi",
      "ephemeral-storage": "",
    });
    expect(config.reservations.systemReserved["ephemeral-storage"]).toBe("1Gi");
    expect(config.eviction.hard["memory.available"]).toBe("200Mi");
    expect(config.eviction.hard["nodefs.available"]).toBe("10%");
    expect(config.eviction.hard["pid.available"]).toBe("5%");
    expect(config.reporter.tls).toMatchObject({ enabled: true, caFile: "/etc/berth/orchestrator-ca.pem" });
  });

  it("refuse a misspelt signal, a bad quantity and a soft threshold without grace period", async () => {
    await expect(load("eviction:\n  hard: { memory.availabe: 1Gi }\n")).rejects.toThrow(
      /eviction: hard: memory.availabe: unknown field/,
    );
    await expect(load("reservations:\n  kubeReserved: { memory: 1GB }\n")).rejects.toThrow(
      /reservations: kubeReserved: memory/,
    );
    await expect(load("eviction:\n  soft: { nodefs.available: 20% }\n")).rejects.toThrow(
      /softGracePeriod: nodefs.available/,
    );
    await expect(load("reporter:\n  queueLimit: 0\n")).rejects.toThrow(/reporter: queueLimit/);
  });

  it("take the reporter endpoint from BERTH_REPORTER_ENDPOINT", async () => {
    const config = await load("", { BERTH_REPORTER_ENDPOINT: "unix:///run/orchestrator.sock" });
    expect(config.reporter.endpoint).toBe("unix:///run/orchestrator.sock");
  });
});
