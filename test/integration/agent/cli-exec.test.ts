// `berth exec` and `berth port-forward` through the agent's streaming server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { connect } from "node:net";
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
import { sandboxConfig } from "../../../harness/runtime-harness.js";
import { containerConfig } from "../../../harness/cri-fixtures.js";

describe("berth exec and port-forward", () => {
  let root: string;
  let dirs: AgentDirs;
  let agent: AgentProcess;
  let podSandboxId = "";

  beforeAll(async () => {
    ({ root, dirs } = await agentTestDirs("bexec-"));
    agent = await startAgentProcess(dirs);
    await buildBusyboxImage(join(root, "layout"), { name: "berth.test/exec:1" });
    await execa(process.execPath, [
      BERTH_BIN,
      "--endpoint",
      dirs.socket,
      "image",
      "import",
      join(root, "layout"),
    ]);
    const config = sandboxConfig("execpod");
    ({ podSandboxId } = await agent.cri.runtime.runPodSandbox({ config, runtimeHandler: "" }));
    const { containerId } = await agent.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("web", "berth.test/exec:1", ["httpd", "-f", "-p", "8080", "-h", "/etc"]),
      sandboxConfig: config,
    });
    await agent.cri.runtime.startContainer({ containerId });
  });
  afterAll(async () => {
    await agent.cri.runtime.removePodSandbox({ podSandboxId }).catch(() => undefined);
    await agent.stop().catch(() => undefined);
    await forceCleanup(root, join(dirs.runDir, "runc"), dirs.cgroupRoot);
  });

  it("exec runs a command in the pod's container and returns its exit code", async () => {
    const res = await execa(
      process.execPath,
      [
        BERTH_BIN,
        "--endpoint",
        dirs.socket,
        "exec",
        "execpod",
        "--",
        "sh",
        "-c",
        "echo hi; echo oops >&2; exit 3",
      ],
      { reject: false },
    );
    expect(res.stdout).toBe("hi");
    expect(res.stderr).toContain("oops");
    expect(res.exitCode).toBe(3);
    const stdin = await execa(
      process.execPath,
      [BERTH_BIN, "--endpoint", dirs.socket, "exec", "-i", "execpod", "-c", "web", "--", "cat"],
      { input: "piped\n", reject: false },
    );
    expect(stdin.stdout).toBe("piped");
    const missing = await execa(
      process.execPath,
      [BERTH_BIN, "--endpoint", dirs.socket, "exec", "nopod", "--", "true"],
      { reject: false },
    );
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('no pod named "nopod"');
  });

  it("port-forward carries bytes both ways", async () => {
    const pf = execa(
      process.execPath,
      [BERTH_BIN, "--endpoint", dirs.socket, "port-forward", "execpod", "0:8080"],
      { reject: false },
    );
    let out = "";
    pf.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 20_000;
    while (!/Forwarding from 127\.0\.0\.1:(\d+)/.test(out) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    expect(port).toBeGreaterThan(0);
    const reply = await new Promise<string>((resolve) => {
      let data = "";
      const s = connect({ host: "127.0.0.1", port }, () => s.write("GET /hostname HTTP/1.0\r\n\r\n"));
      s.on("data", (d) => (data += d.toString()));
      s.on("close", () => resolve(data));
      s.on("error", () => resolve(data));
    });
    expect(reply).toContain("200 OK");
    expect(reply.trim().endsWith("execpod")).toBe(true);
    pf.kill("SIGTERM");
    await pf;
  });
});
