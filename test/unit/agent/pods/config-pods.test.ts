// The pod layer's config fields: defaults, environment overrides, validation.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../../../agent/config.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-config-pods-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("pod settings in the agent config", () => {
  it("default to the in-process runtime, 8 exec probes at once and the host's name", async () => {
    const config = await loadConfig({ path: join(dir, "absent.yaml"), env: {} });
    expect(config.runtimeEndpoint).toBe("");
    expect(config.maxExecProbes).toBe(8);
    expect(config.nodeName).toBe(hostname());
  });

  it("are read from the file and the environment", async () => {
    const file = join(dir, "config.yaml");
    await writeFile(file, "runtimeEndpoint: unix:///run/containerd/containerd.sock\nmaxExecProbes: 2\n");
    const config = await loadConfig({ path: file, env: { BERTH_NODE_NAME: "node-7" } });
    expect(config.runtimeEndpoint).toBe("unix:///run/containerd/containerd.sock");
    expect(config.maxExecProbes).toBe(2);
    expect(config.nodeName).toBe("node-7");
  });

  it("refuses a maxExecProbes below 1", async () => {
    const file = join(dir, "config.yaml");
    await writeFile(file, "maxExecProbes: 0\n");
    await expect(loadConfig({ path: file, env: {} })).rejects.toThrow(/maxExecProbes/);
  });
});
