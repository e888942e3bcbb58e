// Pods on a real CNI network through CRI: the host's bridge, host-local and portmap
// plugins, a test-only bridge and subnet without masquerading. Traffic flows only between
// the host and the namespaces this test makes. Afterwards nothing is left: no netns, IP
// reservation, veth or iptables rule.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes, randomInt } from "node:crypto";
import { readdir, readFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { connect } from "node:net";
import { execa } from "execa";
import { PodSandboxState, PortMapping, Protocol } from "../../../../cri/api/generated/api.js";
import { CniManager } from "../../../../cri/network/cni-network.js";
import { silentLogger } from "../../../../common/logger.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig, waitFor } from "../../../../harness/cri-fixtures.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";

const suffix = randomBytes(2).toString("hex");
const bridge = `bp${suffix}`;
const subnetPrefix = `10.251.${randomInt(1, 255)}.`;
const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";

describe("pod networking through CRI with the real CNI plugins", () => {
  let h: Harness;
  let image: string;
  let netDir: string;
  let ipForwardBefore: string;

  beforeAll(async () => {
    ipForwardBefore = await readFile(IP_FORWARD, "utf8");
    netDir = await mkdtemp(join(tmpdir(), "bnet-"));
    await mkdir(join(netDir, "conf"));
    const network = new CniManager({
      confDir: join(netDir, "conf"),
      pluginDirs: ["/usr/lib/cni", "/opt/cni/bin"],
      cacheDir: join(netDir, "cache"),
      logger: silentLogger(),
      writeDefault: {
        ipamDataDir: join(netDir, "ipam"),
        bridgeName: bridge,
        subnet: `${subnetPrefix}0/24`,
        ipMasq: false,
        networkName: `berth-test-${suffix}`,
      },
    });
    h = await startHarness({ network });
    image = await h.importBusybox();
  });

  afterAll(async () => {
    try {
      await h.cleanup();
      // Nothing of the pods is left on the host's network.
      const links = (await execa("ip", ["-o", "link"])).stdout;
      expect(links).not.toMatch(/veth.*master bp/);
      expect(links).not.toContain(`master ${bridge}`);
      const reservations = await readdir(join(netDir, "ipam", `berth-test-${suffix}`)).catch(() => []);
      expect(reservations.filter((f) => f.startsWith(subnetPrefix))).toEqual([]);
      const rules = (await execa("iptables-save")).stdout;
      expect(rules).not.toContain(subnetPrefix);
    } finally {
      await execa("ip", ["link", "del", bridge], { reject: false });
      await execa("sh", ["-c", `echo ${ipForwardBefore.trim()} > ${IP_FORWARD}`], { reject: false });
      await rm(netDir, { recursive: true, force: true });
    }
  });

  async function pod(name: string, command: string[], portMappings: PortMapping[] = []) {
    const config = sandboxConfig(name, { portMappings });
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig(name, image, command),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    const status = await h.cri.runtime.podSandboxStatus({ podSandboxId, verbose: false });
    return { podSandboxId, containerId, ip: status.status!.network!.ip };
  }

  it("pods get IPs, reach each other, are reached from the host and through a hostPort", async () => {
    const hostPort = randomInt(20000, 30000);
    const web = await pod(
      "web",
      ["httpd", "-f", "-p", "8080", "-h", "/etc"],
      [PortMapping.fromPartial({ protocol: Protocol.TCP, containerPort: 8080, hostPort, hostIp: "" })],
    );
    const client = await pod("client", ["sleep", "1000"]);
    expect(web.ip.startsWith(subnetPrefix)).toBe(true);
    expect(client.ip.startsWith(subnetPrefix)).toBe(true);
    expect(web.ip).not.toBe(client.ip);

    // Pod to pod by IP.
    const fetch = await h.cri.runtime.execSync({
      containerId: client.containerId,
      cmd: ["wget", "-q", "-O", "-", `http://${web.ip}:8080/hostname`],
      timeout: 10n,
    });
    expect(Buffer.from(fetch.stdout).toString().trim()).toBe("web");
    // Host to pod IP.
    await waitFor(
      async () => (await tcpReply(web.ip, 8080)).includes("200 OK"),
      10_000,
      "host reaches the pod IP",
    );
    // hostPort through portmap, on loopback.
    await waitFor(
      async () => (await tcpReply("127.0.0.1", hostPort)).includes("200 OK"),
      10_000,
      "hostPort reaches the pod",
    );

    await h.cri.runtime.removePodSandbox({ podSandboxId: web.podSandboxId });
    await h.cri.runtime.removePodSandbox({ podSandboxId: client.podSandboxId });
  });

  it("on restart, a sandbox whose network no longer passes CNI CHECK is NOT_READY; healthy ones stay READY", async () => {
    const healthy = await pod("healthy", ["sleep", "1000"]);
    const broken = await pod("broken", ["sleep", "1000"]);
    const brokenNetns = (
      await h.cri.runtime.podSandboxStatus({ podSandboxId: broken.podSandboxId, verbose: true })
    ).info;
    const netnsPath = (JSON.parse(brokenNetns.info!) as { netnsPath: string }).netnsPath;
    await execa("nsenter", [`--net=${netnsPath}`, "ip", "link", "del", "eth0"]);
    await h.stop();
    await h.restart();
    const state = async (id: string) =>
      (await h.cri.runtime.podSandboxStatus({ podSandboxId: id, verbose: false })).status?.state;
    expect(await state(healthy.podSandboxId)).toBe(PodSandboxState.SANDBOX_READY);
    expect(await state(broken.podSandboxId)).toBe(PodSandboxState.SANDBOX_NOTREADY);
    for (const p of [healthy, broken]) await h.cri.runtime.removePodSandbox({ podSandboxId: p.podSandboxId });
  });

  it("NetworkReady is true with a usable network config", async () => {
    const { status } = await h.cri.runtime.status({ verbose: false });
    expect(status?.conditions.find((c) => c.type === "NetworkReady")?.status).toBe(true);
  });
});

/** Sends a plain HTTP/1.0 request and returns what came back (empty on error). */
function tcpReply(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    let data = "";
    const socket = connect({ host, port }, () => socket.write("GET /hostname HTTP/1.0\r\n\r\n"));
    socket.setTimeout(2000, () => socket.destroy());
    socket.on("data", (d) => (data += d.toString()));
    socket.on("close", () => resolve(data));
    socket.on("error", () => resolve(""));
  });
}
