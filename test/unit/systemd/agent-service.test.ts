import { EventEmitter } from "node:events";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { defaultConfig } from "../../../agent/config.js";
import { detectLayout } from "../../../cgroups/detect.js";
import { InvalidArgumentError } from "../../../common/errors.js";
import { silentLogger } from "../../../common/logger.js";
import { ContainerState, PodSandboxState } from "../../../cri/api/generated/api.js";
import { applyReloadedConfig, describeAgent, prepareAgentService } from "../../../systemd/agent-service.js";
import { trackLogLevel } from "../../../systemd/log-level.js";
import { UNIFIED_MOUNTINFO } from "../cgroups/fixtures.js";

describe("prepareAgentService", () => {
  it("takes NOTIFY_SOCKET out of the environment and settles the pods' root in a delegated subgroup", async () => {
    const env: NodeJS.ProcessEnv = {
      NOTIFY_SOCKET: "/run/systemd/notify",
      INVOCATION_ID: "abc",
      PATH: "/bin",
    };
    const moved: string[] = [];
    const sent: string[][] = [];
    const service = await prepareAgentService(defaultConfig(), silentLogger(), {
      env,
      detectLayout: async () =>
        detectLayout({ mountinfo: UNIFIED_MOUNTINFO, procCgroup: "0::/system.slice/berth.service/agent\n" }),
      cgroups: () => ({ moveSelfToLeaf: async (path) => void moved.push(path) }),
      send: async (args) => void sent.push([...args]),
      pid: 99,
      signals: new EventEmitter(),
    });
    expect(env.NOTIFY_SOCKET).toBeUndefined();
    expect(service.config.cgroupRoot).toBe("/system.slice/berth.service/pods");
    expect(moved).toEqual([]);
    expect(service.notifier.enabled).toBe(true);
    await service.notifier.ready();
    expect(sent).toEqual([["--pid=99", "READY=1"]]);
    expect(service.lifecycle).toBeDefined();
  });

  it("moves the agent when a relative root puts pods in its unit cgroup", async () => {
    const moved: string[] = [];
    const service = await prepareAgentService({ ...defaultConfig(), cgroupRoot: "pods" }, silentLogger(), {
      env: { INVOCATION_ID: "abc" },
      detectLayout: async () =>
        detectLayout({ mountinfo: UNIFIED_MOUNTINFO, procCgroup: "0::/system.slice/berth.service\n" }),
      cgroups: () => ({ moveSelfToLeaf: async (path) => void moved.push(path) }),
      signals: new EventEmitter(),
    });
    expect(moved).toEqual(["/system.slice/berth.service/agent"]);
    expect(service.config.cgroupRoot).toBe("/system.slice/berth.service/pods");
    expect(service.notifier.enabled).toBe(false);
  });

  it("keeps the config when no cgroup layout can be read", async () => {
    const service = await prepareAgentService(defaultConfig(), silentLogger(), {
      env: {},
      detectLayout: async () => {
        throw new Error("no cgroup filesystem");
      },
      signals: new EventEmitter(),
    });
    expect(service.config).toEqual(defaultConfig());
  });
});

describe("describeAgent", () => {
  it("counts ready pods and running containers", async () => {
    const runtime = {
      listPodSandbox: async () => ({
        items: [{ state: PodSandboxState.SANDBOX_READY }, { state: PodSandboxState.SANDBOX_NOTREADY }],
      }),
      listContainers: async () => ({
        containers: [{ state: ContainerState.CONTAINER_RUNNING }, { state: ContainerState.CONTAINER_EXITED }],
      }),
    };
    expect(await describeAgent(runtime as unknown as Parameters<typeof describeAgent>[0])).toBe(
      "serving 1 pod, 1 container running",
    );
  });
});

describe("applyReloadedConfig", () => {
  it("applies a new log level to every logger and reports fields that need a restart", () => {
    const logger = pino({ level: "info" });
    const levels = trackLogLevel(logger);
    const child = logger.child({ component: "x" });
    const current = defaultConfig();
    const next = { ...defaultConfig(), logLevel: "debug", socket: "/run/other.sock" };
    const result = applyReloadedConfig(current, next, logger, levels);
    expect(child.level).toBe("debug");
    expect(result.summary).toBe("config reloaded: applied logLevel; restart needed for socket");
    // The socket in force is still the old one; the next reload compares against it.
    expect(result.config.socket).toBe(current.socket);
    expect(result.config.logLevel).toBe("debug");
  });

  it("refuses an unknown level and changes nothing", () => {
    const logger = pino({ level: "info" });
    const levels = trackLogLevel(logger);
    expect(() =>
      applyReloadedConfig(defaultConfig(), { ...defaultConfig(), logLevel: "loud" }, logger, levels),
    ).toThrow(InvalidArgumentError);
    expect(logger.level).toBe("info");
  });
});
