// `berth pull` through the agent from a real registry on loopback.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { buildBusyboxImage } from "../../../harness/oci-image.js";
import {
  agentTestDirs,
  BERTH_BIN,
  startAgentProcess,
  type AgentDirs,
  type AgentProcess,
} from "../../../harness/agent-process.js";
import { forceCleanup } from "../../../harness/force-cleanup.js";
import {
  insecureHostsToml,
  layoutTagOf,
  pushLayout,
  startRegistry,
  writeHostsToml,
  type RunningRegistry,
} from "../../../harness/registry-harness.js";

describe("berth pull", () => {
  let root: string;
  let dirs: AgentDirs;
  let agent: AgentProcess | undefined;
  let registry: RunningRegistry | undefined;

  beforeAll(async () => {
    ({ root, dirs } = await agentTestDirs("bpull-"));
    registry = await startRegistry();
    const name = "berth.test/pulled:1";
    await buildBusyboxImage(join(root, "layout"), {
      name,
      extraLayers: [[{ path: "etc/motd", content: "pulled\n" }]],
    });
    await pushLayout(join(root, "layout"), layoutTagOf(name), registry.host, "library/pulled:1");
    const hostsDir = join(root, "certs.d");
    await writeHostsToml(hostsDir, registry.host, insecureHostsToml(registry.host));
    const config = join(root, "config.yaml");
    await writeFile(config, `registry:\n  hostsDir: ${hostsDir}\n`);
    agent = await startAgentProcess(dirs, ["--no-cni", "--config", config]);
  });
  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
    await registry?.stop();
    await forceCleanup(root, join(dirs.runDir, "runc"), dirs.cgroupRoot);
  });

  it("pulls with plain progress lines off a terminal, then lists the image", async () => {
    const ref = `${registry!.host}/library/pulled:1`;
    const res = await execa(process.execPath, [BERTH_BIN, "--endpoint", dirs.socket, "pull", ref], {
      reject: false,
    });
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toMatch(/^Pulling .*\(\d+ layers/m);
    expect(res.stdout).toMatch(/^Pulled .*: image [0-9a-f]{12}/m);
    const images = await execa(process.execPath, [
      BERTH_BIN,
      "--endpoint",
      dirs.socket,
      "images",
      "-o",
      "json",
    ]);
    const list = JSON.parse(images.stdout) as { repoTags: string[]; repoDigests: string[] }[];
    const pulled = list.find((i) => i.repoTags.includes(ref));
    expect(pulled?.repoDigests[0]).toMatch(
      new RegExp(`^${registry!.host}/library/pulled@sha256:[0-9a-f]{64}$`),
    );
    const again = await execa(process.execPath, [BERTH_BIN, "--endpoint", dirs.socket, "pull", "-q", ref]);
    expect(again.stdout).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("fails with exit code 1 and the registry's answer for an unknown image", async () => {
    const res = await execa(
      process.execPath,
      [BERTH_BIN, "--endpoint", dirs.socket, "pull", `${registry!.host}/library/nothing:1`],
      { reject: false },
    );
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toMatch(/^berth: .*not found/i);
  });
});
