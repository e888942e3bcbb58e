// The pod network with the host's real CNI plugins (bridge, host-local, portmap, tuning),
// as root. Everything is the test's own: conf dir, cache dir, host-local data dir, a bridge
// named bt<random>, a 10.250.<random>.0/24 subnet without masquerading, and namespaces made
// by NetnsManager in a temp dir. Traffic only flows between the host and those namespaces.
// The last test asserts that nothing is left: no veth, no IP reservation, no iptables rule.
import { randomBytes, randomInt } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FailedPreconditionError, NotFoundError } from "../../../../common/errors.js";
import { silentLogger } from "../../../../common/logger.js";
import { DEFAULT_PLUGIN_DIRS } from "../../../../cri/network/cni-config.js";
import { CniPluginError } from "../../../../cri/network/cni-exec.js";
import {
  CniManager,
  NETWORK_NOT_READY_REASON,
  type SetUpInput,
} from "../../../../cri/network/cni-network.js";
import { NetnsManager } from "../../../../cri/network/netns.js";

const suffix = randomBytes(2).toString("hex");
const bridgeName = `bt${suffix}`;
const subnetOctet = randomInt(1, 255);
const subnetPrefix = `10.250.${subnetOctet}.`;
const subnet = `${subnetPrefix}0/24`;
const gatewayIp = `${subnetPrefix}1`;
const networkName = `berth-test-${suffix}`;

let work: string;
let confDir: string;
let cacheDir: string;
let ipamDir: string;
let netns: NetnsManager;
let manager: CniManager;
const sandboxes = new Set<string>();
const servers: ResultPromise[] = [];
// The bridge plugin turns on IPv4 forwarding for a gateway bridge; the host gets its own back.
const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";
let ipForwardBefore: string | undefined;

function sandboxId(label: string): string {
  return `berthtest${suffix}${label}`;
}

function podInput(id: string, netnsPath: string, portMappings: SetUpInput["portMappings"] = []): SetUpInput {
  return {
    sandboxId: id,
    netnsPath,
    podName: `pod-${id}`,
    podNamespace: "berth-test",
    podUid: `uid-${id}`,
    portMappings,
  };
}

async function newNetns(label: string): Promise<{ id: string; path: string }> {
  const id = sandboxId(label);
  sandboxes.add(id);
  return { id, path: await netns.create(id) };
}

interface IpAddrEntry {
  ifname: string;
  addr_info?: { family: string; local: string }[];
}

async function addressesInNetns(path: string): Promise<IpAddrEntry[]> {
  const { stdout } = await execa("nsenter", [`--net=${path}`, "ip", "-j", "addr"]);
  return JSON.parse(stdout) as IpAddrEntry[];
}

async function ping(from: string | undefined, target: string): Promise<boolean> {
  const command = ["busybox", "ping", "-c1", "-W1", target];
  const res = from
    ? await execa("nsenter", [`--net=${from}`, ...command], { reject: false })
    : await execa(command[0]!, command.slice(1), { reject: false });
  return res.exitCode === 0;
}

/** Interfaces enslaved to the test bridge: one veth per attached pod. */
async function bridgePorts(): Promise<string[]> {
  const res = await execa("ip", ["-j", "link", "show", "master", bridgeName], { reject: false });
  if (res.exitCode !== 0 || res.stdout.trim() === "") return [];
  return (JSON.parse(res.stdout) as { ifname: string }[]).map((l) => l.ifname);
}

/** IP reservation files host-local keeps for a network (one file per reserved address). */
async function reservations(network: string): Promise<string[]> {
  try {
    return (await readdir(join(ipamDir, network))).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
  } catch {
    return [];
  }
}

async function iptablesLinesMentioning(needles: string[]): Promise<string[]> {
  const { stdout } = await execa("iptables-save");
  return stdout.split("\n").filter((line) => needles.some((n) => line.includes(n)));
}

/** Reads what a TCP server sends on connect; undefined when the connection fails. */
function readGreeting(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2000 });
    let data = "";
    socket.on("data", (chunk: Buffer) => (data += chunk.toString()));
    socket.on("end", () => resolve(data));
    socket.on("timeout", () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on("error", () => resolve(undefined));
  });
}

async function waitForGreeting(host: string, port: number): Promise<string | undefined> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const greeting = await readGreeting(host, port);
    if (greeting) return greeting;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

function conflist(name: string, plugins: unknown[]): string {
  return JSON.stringify({ cniVersion: "1.0.0", name, plugins });
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("the CNI integration tests need root");
  for (const tool of ["nsenter", "iptables-save", "busybox"]) {
    const found = await execa("sh", ["-c", `command -v ${tool}`], { reject: false });
    if (found.exitCode !== 0) throw new Error(`${tool} is required (see scripts/setup.sh)`);
  }
  ipForwardBefore = await readFile(IP_FORWARD, "utf8");
  work = await mkdtemp(join(tmpdir(), "berth-cni-"));
  confDir = join(work, "net.d");
  cacheDir = join(work, "cache");
  ipamDir = join(work, "ipam");
  netns = new NetnsManager(join(work, "netns"));
  manager = new CniManager({
    confDir,
    pluginDirs: DEFAULT_PLUGIN_DIRS,
    cacheDir,
    logger: silentLogger(),
    writeDefault: { ipamDataDir: ipamDir, networkName, bridgeName, subnet, ipMasq: false },
  });
});

afterAll(async () => {
  for (const server of servers) server.kill("SIGKILL");
  for (const id of sandboxes) {
    await manager.tearDown({ sandboxId: id }).catch(() => undefined);
    await netns.remove(id).catch(() => undefined);
  }
  await execa("ip", ["link", "del", bridgeName], { reject: false });
  if (work) await rm(work, { recursive: true, force: true });
  if (ipForwardBefore !== undefined) await writeFile(IP_FORWARD, ipForwardBefore);
});

describe("CniManager with the host's CNI plugins", () => {
  it("is not ready without a config, naming the conf dir", async () => {
    const emptyDir = join(work, "empty.d");
    const bare = new CniManager({
      confDir: emptyDir,
      pluginDirs: DEFAULT_PLUGIN_DIRS,
      cacheDir: join(work, "bare-cache"),
      logger: silentLogger(),
      writeDefault: false,
    });
    const status = await bare.status();
    expect(status.ready).toBe(false);
    expect(status.reason).toBe(NETWORK_NOT_READY_REASON);
    expect(status.message).toContain(emptyDir);
    await expect(bare.setUp(podInput(sandboxId("bare"), "/nonexistent"))).rejects.toBeInstanceOf(
      FailedPreconditionError,
    );
  });

  it("writes the default config when none exists and is then ready", async () => {
    expect(existsSync(join(confDir, "10-berth.conflist"))).toBe(false);
    expect(await manager.status()).toEqual({ ready: true });
    const written = JSON.parse(await readFile(join(confDir, "10-berth.conflist"), "utf8")) as {
      cniVersion: string;
      plugins: { type: string; bridge?: string; ipMasq?: boolean }[];
    };
    expect(written.cniVersion).toBe("1.0.0");
    expect(written.plugins.map((p) => p.type)).toEqual(["bridge", "portmap"]);
    expect(written.plugins[0]).toMatchObject({ bridge: bridgeName, ipMasq: false });
  });

  it("gives two pods addresses in the subnet that reach each other and the host", async () => {
    const a = await newNetns("a");
    const b = await newNetns("b");
    const resultA = await manager.setUp(podInput(a.id, a.path));
    const resultB = await manager.setUp(podInput(b.id, b.path));
    expect(resultA.interfaceName).toBe("eth0");
    const [ipA] = resultA.ips;
    const [ipB] = resultB.ips;
    expect(resultA.ips).toHaveLength(1);
    expect(ipA).toMatch(new RegExp(`^${subnetPrefix.replace(/\./g, "\\.")}\\d+$`));
    expect(ipB?.startsWith(subnetPrefix)).toBe(true);
    expect(ipB).not.toBe(ipA);

    const eth0 = (await addressesInNetns(a.path)).find((l) => l.ifname === "eth0");
    expect(eth0?.addr_info?.map((i) => i.local)).toContain(ipA);
    const lo = (await addressesInNetns(a.path)).find((l) => l.ifname === "lo");
    expect(lo?.addr_info?.map((i) => i.local)).toContain("127.0.0.1");
    expect(await reservations(networkName)).toEqual(expect.arrayContaining([ipA, ipB]));
    expect(await bridgePorts()).toHaveLength(2);

    expect(await ping(a.path, ipB!)).toBe(true);
    expect(await ping(b.path, ipA!)).toBe(true);
    expect(await ping(undefined, ipA!)).toBe(true);
    expect(await ping(a.path, gatewayIp)).toBe(true);

    await manager.check({ sandboxId: a.id });

    await manager.tearDown({ sandboxId: a.id, netnsPath: a.path });
    await manager.tearDown({ sandboxId: a.id, netnsPath: a.path });
    await manager.tearDown({ sandboxId: b.id, netnsPath: b.path });
    expect(await reservations(networkName)).toEqual([]);
    expect(await bridgePorts()).toEqual([]);
    expect(await ping(undefined, ipA!)).toBe(false);
    await expect(manager.check({ sandboxId: a.id })).rejects.toBeInstanceOf(NotFoundError);
    await netns.remove(a.id);
    await netns.remove(b.id);
  });

  it("publishes a host port that reaches a server inside the pod", async () => {
    const c = await newNetns("c");
    const hostPort = randomInt(30000, 40000);
    const { ips } = await manager.setUp(
      podInput(c.id, c.path, [{ protocol: "TCP", containerPort: 8080, hostPort, hostIp: "" }]),
    );
    const podIp = ips[0]!;
    const server = execa(
      "nsenter",
      [
        `--net=${c.path}`,
        process.execPath,
        "-e",
        "require('net').createServer((s) => s.end('hello from the pod')).listen(8080)",
      ],
      { reject: false },
    );
    servers.push(server);
    expect(await waitForGreeting(podIp, 8080)).toBe("hello from the pod");

    // DNAT in the nat OUTPUT chain catches the host's own connections to a local address.
    expect(await readGreeting(gatewayIp, hostPort)).toBe("hello from the pod");
    // portmap sets route_localnet on the bridge and SNATs 127.0.0.1, so loopback works too.
    expect(await readGreeting("127.0.0.1", hostPort)).toBe("hello from the pod");

    // portmap's rules name the container in a comment and match the host port.
    const rules = await iptablesLinesMentioning([c.id]);
    expect(rules.some((line) => new RegExp(`--dports? ${hostPort}\\b`).test(line))).toBe(true);

    await manager.check({ sandboxId: c.id, netnsPath: c.path });
    server.kill("SIGKILL");
    await server;
    await manager.tearDown({ sandboxId: c.id, netnsPath: c.path });
    expect(await iptablesLinesMentioning([c.id, ` ${hostPort} `])).toEqual([]);
    expect(await readGreeting("127.0.0.1", hostPort)).toBeUndefined();
    await netns.remove(c.id);
  });

  it("tears down after the namespace is gone, and is idempotent", async () => {
    const d = await newNetns("d");
    const { ips } = await manager.setUp(
      podInput(d.id, d.path, [
        { protocol: "TCP", containerPort: 80, hostPort: randomInt(40001, 50000), hostIp: "" },
      ]),
    );
    expect(await reservations(networkName)).toContain(ips[0]);
    await netns.remove(d.id);
    await manager.tearDown({ sandboxId: d.id, netnsPath: d.path });
    await manager.tearDown({ sandboxId: d.id });
    expect(await reservations(networkName)).toEqual([]);
    expect(await bridgePorts()).toEqual([]);
    expect(await iptablesLinesMentioning([d.id])).toEqual([]);
  });

  it("tears down with the recorded config after the conf dir changed", async () => {
    const e = await newNetns("e");
    await manager.setUp(podInput(e.id, e.path));
    expect(await reservations(networkName)).toHaveLength(1);
    // A newer file that sorts first now names another network and bridge.
    await writeFile(
      join(confDir, "05-other.conflist"),
      conflist("berth-other", [
        { type: "bridge", bridge: "btother", ipam: { type: "host-local", subnet: "10.251.0.0/24" } },
      ]),
    );
    await manager.tearDown({ sandboxId: e.id, netnsPath: e.path });
    expect(await reservations(networkName)).toEqual([]);
    expect(await bridgePorts()).toEqual([]);
    expect((await execa("ip", ["link", "show", "btother"], { reject: false })).exitCode).not.toBe(0);
    await rm(join(confDir, "05-other.conflist"));
    await netns.remove(e.id);
  });

  it("check reports an attachment that was broken behind its back", async () => {
    const f = await newNetns("f");
    await manager.setUp(podInput(f.id, f.path));
    await manager.check({ sandboxId: f.id });
    await execa("nsenter", [`--net=${f.path}`, "ip", "link", "del", "eth0"]);
    await expect(manager.check({ sandboxId: f.id })).rejects.toBeInstanceOf(CniPluginError);
    await manager.tearDown({ sandboxId: f.id });
    expect(await reservations(networkName)).toEqual([]);
    await netns.remove(f.id);
  });

  describe("a failing ADD", () => {
    let failDir: string;
    let failing: CniManager;
    const failNetwork = `berth-fail-${suffix}`;

    beforeAll(async () => {
      failDir = join(work, "fail.d");
      await mkdir(failDir, { recursive: true });
      failing = new CniManager({
        confDir: failDir,
        pluginDirs: DEFAULT_PLUGIN_DIRS,
        cacheDir,
        logger: silentLogger(),
        writeDefault: false,
      });
    });

    const bridgePlugin = (ipamSubnet: string) => ({
      type: "bridge",
      bridge: bridgeName,
      isGateway: true,
      ipMasq: false,
      ipam: { type: "host-local", subnet: ipamSubnet, dataDir: ipamDir },
    });

    it("with an invalid subnet throws the plugin's message and leaves nothing", async () => {
      await writeFile(
        join(failDir, "10-fail.conflist"),
        conflist(failNetwork, [bridgePlugin("10.250.999.0/24")]),
      );
      const g = await newNetns("g");
      const attempt = failing.setUp(podInput(g.id, g.path));
      await expect(attempt).rejects.toBeInstanceOf(CniPluginError);
      await expect(attempt).rejects.toThrow(/bridge.*ADD failed.*10\.250\.999\.0\/24/);
      expect(await reservations(failNetwork)).toEqual([]);
      expect(await bridgePorts()).toEqual([]);
      expect((await addressesInNetns(g.path)).map((l) => l.ifname)).toEqual(["lo"]);
      // Nothing recorded: a teardown has nothing to do.
      await failing.tearDown({ sandboxId: g.id, netnsPath: g.path });
      await netns.remove(g.id);
    });

    it("in a later plugin undoes the earlier ones: no IP, veth or rule left", async () => {
      await writeFile(
        join(failDir, "10-fail.conflist"),
        conflist(failNetwork, [
          bridgePlugin(subnet),
          { type: "portmap", capabilities: { portMappings: true } },
          { type: "tuning", sysctl: { "net.ipv4.conf.eth0.berth_no_such_knob": "1" } },
        ]),
      );
      const h = await newNetns("h");
      const hostPort = randomInt(50001, 60000);
      const attempt = failing.setUp(
        podInput(h.id, h.path, [{ protocol: "TCP", containerPort: 80, hostPort, hostIp: "" }]),
      );
      await expect(attempt).rejects.toThrow(/tuning.*ADD failed.*berth_no_such_knob/);
      expect(await reservations(failNetwork)).toEqual([]);
      expect(await bridgePorts()).toEqual([]);
      expect((await addressesInNetns(h.path)).map((l) => l.ifname)).toEqual(["lo"]);
      expect(await iptablesLinesMentioning([h.id, ` ${hostPort} `])).toEqual([]);
      await netns.remove(h.id);
    });

    it("with a missing plugin is not ready and names the plugin", async () => {
      await writeFile(
        join(failDir, "10-fail.conflist"),
        conflist(failNetwork, [bridgePlugin(subnet), { type: "berth-no-such-plugin" }]),
      );
      const status = await failing.status();
      expect(status).toMatchObject({ ready: false, reason: NETWORK_NOT_READY_REASON });
      expect(status.message).toContain("berth-no-such-plugin");
      const i = await newNetns("i");
      await expect(failing.setUp(podInput(i.id, i.path))).rejects.toThrow(/berth-no-such-plugin/);
      expect(await reservations(failNetwork)).toEqual([]);
      expect(await bridgePorts()).toEqual([]);
      await netns.remove(i.id);
    });
  });

  it("leaves no veth, reservation, iptables rule or bridge behind", async () => {
    expect(await bridgePorts()).toEqual([]);
    expect(await reservations(networkName)).toEqual([]);
    expect(await reservations(`berth-fail-${suffix}`)).toEqual([]);
    expect(await readdir(join(cacheDir, "results"))).toEqual([]);
    const ids = [...sandboxes];
    expect(await iptablesLinesMentioning([subnetPrefix, ...ids])).toEqual([]);
    for (const id of ids) expect(existsSync(netns.pathOf(id))).toBe(false);
    await execa("ip", ["link", "del", bridgeName]);
    expect((await execa("ip", ["link", "show", bridgeName], { reject: false })).exitCode).not.toBe(0);
  });
});
