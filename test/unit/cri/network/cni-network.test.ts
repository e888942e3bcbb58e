// CniManager's use of the CNI protocol, with recording stand-in plugins: the order of
// ADD/DEL/CHECK, prevResult, runtimeConfig, the cache, and undoing a failed ADD. The real
// plugins are exercised by the integration tests.
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FailedPreconditionError, NotFoundError } from "../../../../common/errors.js";
import { silentLogger } from "../../../../common/logger.js";
import { CniPluginError } from "../../../../cri/network/cni-exec.js";
import {
  CniManager,
  NETWORK_NOT_READY_REASON,
  isSpuriousPortmapCheckFailure,
  type SetUpInput,
} from "../../../../cri/network/cni-network.js";
import { clearCalls, installFakePlugins, readCalls } from "./fake-plugins.js";

// A real namespace file, so the manager passes it through; the stand-ins never enter it.
const NETNS = "/proc/self/ns/net";

let dir: string;
let bin: string;
let confDir: string;
let cacheDir: string;
let manager: CniManager;

function input(overrides: Partial<SetUpInput> = {}): SetUpInput {
  return {
    sandboxId: "sb1",
    netnsPath: NETNS,
    podName: "web",
    podNamespace: "default",
    podUid: "uid-1",
    portMappings: [{ protocol: "TCP", containerPort: 80, hostPort: 8080, hostIp: "" }],
    ...overrides,
  };
}

async function writeList(
  file: string,
  name: string,
  plugins: unknown[],
  extra: Record<string, unknown> = {},
) {
  await writeFile(join(confDir, file), JSON.stringify({ cniVersion: "1.0.0", name, plugins, ...extra }));
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-cni-manager-"));
  bin = join(dir, "bin");
  confDir = join(dir, "net.d");
  cacheDir = join(dir, "cache");
  await mkdir(bin);
  await mkdir(confDir);
  await installFakePlugins(bin, ["first", "second", "third"]);
  await clearCalls(bin);
  manager = new CniManager({
    confDir,
    pluginDirs: [bin],
    cacheDir,
    logger: silentLogger(),
    writeDefault: false,
  });
  await writeList("10-net.conflist", "net", [
    { type: "first", fakeIp: "10.7.0.9" },
    { type: "second", capabilities: { portMappings: true } },
  ]);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("status", () => {
  it("is ready when a config and all its plugins are there", async () => {
    expect(await manager.status()).toEqual({ ready: true });
  });

  it("names the missing plugins and the dirs searched", async () => {
    await writeList("01-net.conflist", "other", [{ type: "first", ipam: { type: "absent-ipam" } }]);
    const status = await manager.status();
    expect(status).toMatchObject({ ready: false, reason: NETWORK_NOT_READY_REASON });
    expect(status.message).toContain('"other"');
    expect(status.message).toContain("absent-ipam");
    expect(status.message).toContain(bin);
    await expect(manager.setUp(input())).rejects.toBeInstanceOf(FailedPreconditionError);
  });

  it("names the skipped files when none is valid", async () => {
    await rm(join(confDir, "10-net.conflist"));
    await writeFile(join(confDir, "10-bad.conf"), "{");
    const status = await manager.status();
    expect(status.ready).toBe(false);
    expect(status.message).toContain(confDir);
    expect(status.message).toContain("10-bad.conf: invalid JSON");
  });
});

describe("setUp", () => {
  it("runs ADD in order, chaining prevResult, and returns the pod IP", async () => {
    expect(await manager.setUp(input())).toEqual({ ips: ["10.7.0.9"], interfaceName: "eth0" });
    const calls = await readCalls(bin);
    expect(calls.map((c) => `${c.command} ${c.plugin}`)).toEqual(["ADD first", "ADD second"]);
    const [first, second] = calls;
    expect(first?.config.prevResult).toBeUndefined();
    expect(first?.config.runtimeConfig).toBeUndefined();
    expect(second?.config.prevResult).toMatchObject({ ips: [{ address: "10.7.0.9/24" }] });
    expect(second?.config.runtimeConfig).toEqual({
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp", hostIP: "" }],
    });
    expect(second?.config.capabilities).toBeUndefined();
    for (const call of calls) {
      expect(call).toMatchObject({ containerId: "sb1", netns: NETNS, ifName: "eth0", path: bin });
      expect(call.config).toMatchObject({ name: "net", cniVersion: "1.0.0" });
      expect(call.args).toBe(
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=sb1;K8S_POD_UID=uid-1",
      );
    }
    expect(await readdir(join(cacheDir, "results"))).toEqual(["net-sb1-eth0"]);
  });

  it("undoes a failed ADD with DEL on every plugin in reverse, then throws the plugin's message", async () => {
    await writeList("10-net.conflist", "net", [
      { type: "first", fakeIp: "10.7.0.9" },
      { type: "second", fakeFail: "ADD" },
      { type: "third" },
    ]);
    await expect(manager.setUp(input())).rejects.toThrow(
      'CNI plugin "second" ADD failed (code 11): second refused',
    );
    const calls = await readCalls(bin);
    expect(calls.map((c) => `${c.command} ${c.plugin}`)).toEqual([
      "ADD first",
      "ADD second",
      "DEL third",
      "DEL second",
      "DEL first",
    ]);
    expect(calls[2]?.config.prevResult).toMatchObject({ ips: [{ address: "10.7.0.9/24" }] });
    expect(await readdir(join(cacheDir, "results"))).toEqual([]);
    await clearCalls(bin);
    await manager.tearDown({ sandboxId: "sb1" });
    expect(await readCalls(bin)).toEqual([]);
  });

  it("keeps the record when the undo itself fails, so teardown retries", async () => {
    await writeList("10-net.conflist", "net", [
      { type: "first", fakeFail: "DEL" },
      { type: "second", fakeFail: "ADD" },
    ]);
    await expect(manager.setUp(input())).rejects.toThrow(/second refused/);
    expect(await readdir(join(cacheDir, "results"))).toEqual(["net-sb1-eth0"]);
    await expect(manager.tearDown({ sandboxId: "sb1" })).rejects.toThrow(/first" DEL failed/);
    expect(await readdir(join(cacheDir, "results"))).toEqual(["net-sb1-eth0"]);
  });

  it("tears down a leftover attachment of the same sandbox before adding again", async () => {
    await manager.setUp(input());
    await clearCalls(bin);
    await manager.setUp(input());
    expect((await readCalls(bin)).map((c) => `${c.command} ${c.plugin}`)).toEqual([
      "DEL second",
      "DEL first",
      "ADD first",
      "ADD second",
    ]);
  });

  it("rejects ids that cannot name a cache file", async () => {
    await expect(manager.setUp(input({ sandboxId: "../x" }))).rejects.toThrow(/sandboxId/);
  });
});

describe("tearDown", () => {
  it("runs DEL in reverse with the recorded config and result, even after the conf dir changed", async () => {
    await manager.setUp(input());
    await rm(join(confDir, "10-net.conflist"));
    await writeList("05-new.conflist", "new", [{ type: "third" }]);
    await clearCalls(bin);
    await manager.tearDown({ sandboxId: "sb1", netnsPath: NETNS });
    const calls = await readCalls(bin);
    expect(calls.map((c) => `${c.command} ${c.plugin}`)).toEqual(["DEL second", "DEL first"]);
    for (const call of calls) {
      expect(call.config).toMatchObject({ name: "net", prevResult: { ips: [{ address: "10.7.0.9/24" }] } });
      expect(call.args).toContain("K8S_POD_UID=uid-1");
      expect(call.netns).toBe(NETNS);
    }
    expect(calls[0]?.config.runtimeConfig).toEqual({
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp", hostIP: "" }],
    });
    expect(await readdir(join(cacheDir, "results"))).toEqual([]);
  });

  it("passes an empty CNI_NETNS when the namespace is gone", async () => {
    await manager.setUp(input());
    await clearCalls(bin);
    await manager.tearDown({ sandboxId: "sb1", netnsPath: join(dir, "gone") });
    expect((await readCalls(bin)).map((c) => c.netns)).toEqual(["", ""]);
  });

  it("does nothing, successfully, when nothing is recorded", async () => {
    await manager.tearDown({ sandboxId: "sb1" });
    await manager.tearDown({ sandboxId: "sb1" });
    expect(await readCalls(bin)).toEqual([]);
  });

  it("tears down only its own sandbox when another id ends the same way", async () => {
    await manager.setUp(input({ sandboxId: "a-sb1" }));
    await manager.setUp(input({ sandboxId: "sb1" }));
    await manager.tearDown({ sandboxId: "sb1" });
    expect(await readdir(join(cacheDir, "results"))).toEqual(["net-a-sb1-eth0"]);
  });
});

describe("check", () => {
  it("runs CHECK in order with the recorded result", async () => {
    await manager.setUp(input());
    await clearCalls(bin);
    await manager.check({ sandboxId: "sb1" });
    const calls = await readCalls(bin);
    expect(calls.map((c) => `${c.command} ${c.plugin}`)).toEqual(["CHECK first", "CHECK second"]);
    expect(calls[0]?.config.prevResult).toMatchObject({ ips: [{ address: "10.7.0.9/24" }] });
  });

  it("throws the plugin's error", async () => {
    await writeList("10-net.conflist", "net", [{ type: "first", fakeFail: "CHECK" }]);
    await manager.setUp(input());
    await expect(manager.check({ sandboxId: "sb1" })).rejects.toBeInstanceOf(CniPluginError);
  });

  it("skips networks with disableCheck or a version before CHECK existed", async () => {
    await writeList("10-net.conflist", "net", [{ type: "first", fakeFail: "CHECK" }], { disableCheck: true });
    await manager.setUp(input());
    await manager.check({ sandboxId: "sb1" });
    await manager.tearDown({ sandboxId: "sb1" });
    await writeList("10-net.conflist", "net", [{ type: "first", fakeFail: "CHECK" }], {
      cniVersion: "0.3.1",
    });
    await manager.setUp(input());
    await manager.check({ sandboxId: "sb1" });
  });

  it("reports a sandbox without a recorded network", async () => {
    await expect(manager.check({ sandboxId: "sb1" })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("ignores portmap's IPv6 complaint only for a pod without IPv6", () => {
    const ipv6Complaint = new CniPluginError(
      "portmap",
      "CHECK",
      999,
      "could not check ipv6 dnat: chain x not found",
    );
    const v4 = { ips: [{ address: "10.0.0.2/24" }] };
    const dual = { ips: [{ address: "10.0.0.2/24" }, { address: "fd00::2/64" }] };
    expect(isSpuriousPortmapCheckFailure(ipv6Complaint, v4)).toBe(true);
    expect(isSpuriousPortmapCheckFailure(ipv6Complaint, dual)).toBe(false);
    const v4Complaint = new CniPluginError(
      "portmap",
      "CHECK",
      999,
      "could not check ipv4 dnat: chain x not found",
    );
    expect(isSpuriousPortmapCheckFailure(v4Complaint, v4)).toBe(false);
    const otherPlugin = new CniPluginError("bridge", "CHECK", 999, "could not check ipv6 dnat");
    expect(isSpuriousPortmapCheckFailure(otherPlugin, v4)).toBe(false);
  });
});
