import { describe, expect, it } from "vitest";
import { Container, ContainerStats, PodSandbox } from "../../../../cri/api/generated/api.js";
import type { CriClients } from "../../../../cri/grpc-client.js";
import {
  cpuPercent,
  fetchStats,
  renderStats,
  sortRows,
  statsRows,
} from "../../../../agent/cli/commands/stats.js";

const stats = (id: string, extra: Partial<ContainerStats> = {}) =>
  ContainerStats.fromPartial({ attributes: { id, metadata: { name: `n-${id}`, attempt: 0 } }, ...extra });

describe("cpuPercent", () => {
  it("shows usage_nano_cores as percent of one core", () => {
    expect(
      cpuPercent(stats("a", { cpu: { timestamp: 1n, usageNanoCores: { value: 250_000_000n } } }), undefined),
    ).toBe(25);
    expect(
      cpuPercent(
        stats("a", { cpu: { timestamp: 1n, usageNanoCores: { value: 2_000_000_000n } } }),
        undefined,
      ),
    ).toBe(200);
  });
  it("falls back to the rate between two readings, and to nothing", () => {
    const now = stats("a", {
      cpu: { timestamp: 3_000_000_000n, usageCoreNanoSeconds: { value: 1_500_000_000n } },
    });
    expect(cpuPercent(now, { timestamp: 1_000_000_000n, usageCoreNanoSeconds: 500_000_000n })).toBe(50);
    expect(cpuPercent(now, undefined)).toBeUndefined();
    expect(cpuPercent(stats("a"), undefined)).toBeUndefined();
  });
});

describe("statsRows and renderStats", () => {
  const containers = [Container.fromPartial({ id: "c1", podSandboxId: "p1", metadata: { name: "web" } })];
  const sandboxes = [PodSandbox.fromPartial({ id: "p1", metadata: { name: "shop" } })];

  it("names rows, computes the memory limit, and sorts by CPU", () => {
    const rows = statsRows(
      [
        stats("c1", {
          cpu: { timestamp: 1n, usageNanoCores: { value: 10_000_000n } },
          memory: {
            timestamp: 1n,
            workingSetBytes: { value: 2_000_000n },
            availableBytes: { value: 8_000_000n },
          },
        }),
        stats("c2", { cpu: { timestamp: 1n, usageNanoCores: { value: 500_000_000n } } }),
      ],
      containers,
      sandboxes,
    );
    expect(rows[0]).toEqual({
      id: "c1",
      name: "n-c1",
      pod: "shop",
      cpuPercent: 1,
      memoryBytes: 2_000_000,
      memoryLimitBytes: 10_000_000,
    });
    expect(rows[1]).toMatchObject({ id: "c2", pod: "", memoryBytes: undefined, memoryLimitBytes: undefined });
    expect(sortRows(rows, true).map((r) => r.id)).toEqual(["c2", "c1"]);
    const text = renderStats(sortRows(rows, true));
    expect(text.split("\n")[0]).toMatch(/^CONTAINER\s+NAME\s+POD\s+CPU %\s+MEM\s+MEM LIMIT$/);
    expect(text).toMatch(/c1\s+n-c1\s+shop\s+1\.00\s+2\.0MB\s+10\.0MB/);
    expect(text).toMatch(/c2\s+n-c2\s+50\.00\s+-\s+-/);
  });
  it("leaves out MEM LIMIT when no container has one", () => {
    expect(renderStats([{ id: "x", name: "x", pod: "p" }]).split("\n")[0]).toMatch(/MEM$/);
  });
});

describe("fetchStats", () => {
  const criWith = (listContainerStats: () => Promise<unknown>) =>
    ({
      runtime: {
        listContainerStats,
        listContainers: async () => ({ containers: [] }),
        listPodSandbox: async () => ({ items: [] }),
      },
    }) as unknown as CriClients;

  it("says clearly when the runtime does not serve stats", async () => {
    const unimplemented = Object.assign(new Error("12 UNIMPLEMENTED"), { code: 12 });
    await expect(fetchStats(criWith(() => Promise.reject(unimplemented)))).rejects.toThrow(
      /does not serve container stats \(ListContainerStats is unimplemented\)/,
    );
  });
  it("passes other failures through, so an unreachable agent still exits 2", async () => {
    const unavailable = Object.assign(new Error("14 UNAVAILABLE"), { code: 14 });
    await expect(fetchStats(criWith(() => Promise.reject(unavailable)))).rejects.toBe(unavailable);
  });
});
