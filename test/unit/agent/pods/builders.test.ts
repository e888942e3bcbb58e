// The pure builders: $(VAR) expansion, DNS by policy, the pod cgroup's v2 limits, the CRI
// configs' security context, and the runtime adapter's UNIMPLEMENTED answers.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnimplementedError } from "../../../../common/errors.js";
import { SecurityProfile_ProfileType } from "../../../../cri/api/generated/api.js";
import { expandVars } from "../../../../agent/pods/container-env.js";
import { containerSecurityContext } from "../../../../agent/pods/container-config.js";
import { parseResolvConf, podDnsConfig } from "../../../../agent/pods/dns.js";
import { podCgroupParent, podCgroupV2Resources } from "../../../../agent/pods/pod-cgroups.js";
import { toProbeInput } from "../../../../agent/pods/pod-prober.js";
import { podHostname, sandboxHash } from "../../../../agent/pods/sandbox-config.js";
import { goDuration } from "../../../../agent/pods/services.js";
import { inProcessClients, isUnimplemented } from "../../../../agent/runtime-client.js";
import { container, podSpec } from "./pod-spec-fixture.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-pods-builders-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("expandVars", () => {
  const vars = new Map([
    ["A", "1"],
    ["EMPTY", ""],
  ]);
  const lookup = (name: string): string | undefined => vars.get(name);

  it("replaces defined references and leaves others as written", () => {
    expect(expandVars("$(A)-$(B)-$(EMPTY)x", lookup)).toBe("1-$(B)-x");
  });

  it("reads $$ as a literal $ and leaves other dollars alone", () => {
    expect(expandVars("$$(A) $A $ $(", lookup)).toBe("$(A) $A $ $(");
  });
});

describe("podDnsConfig", () => {
  it("leaves the node's resolv.conf alone when the pod adds nothing", async () => {
    expect(await podDnsConfig(podSpec("p"), "/nonexistent")).toBeUndefined();
  });

  it("merges the pod's config into the node's, the pod's options winning", async () => {
    const file = join(dir, "resolv.conf");
    await writeFile(file, "# comment\nnameserver 10.0.0.1\nsearch example.org\noptions ndots:1 edns0\n");
    const spec = podSpec("p", {
      dnsConfig: {
        nameservers: ["10.0.0.1", "10.0.0.2"],
        searches: ["svc.local"],
        options: [{ name: "ndots", value: "5" }],
      },
    });
    expect(await podDnsConfig(spec, file)).toEqual({
      servers: ["10.0.0.1", "10.0.0.2"],
      searches: ["example.org", "svc.local"],
      options: ["ndots:5", "edns0"],
    });
  });

  it("uses only the pod's config with dnsPolicy None", async () => {
    const spec = podSpec("p", { dnsPolicy: "None", dnsConfig: { nameservers: ["1.1.1.1"] } });
    expect(await podDnsConfig(spec, "/nonexistent")).toEqual({
      servers: ["1.1.1.1"],
      searches: [],
      options: [],
    });
  });

  it("parses resolv.conf the resolver's way", () => {
    expect(parseResolvConf("domain a\nsearch b c\nnameserver 1.2.3.4 ; x\n")).toEqual({
      servers: ["1.2.3.4"],
      searches: ["b", "c"],
      options: [],
    });
  });
});

describe("pod cgroup", () => {
  it("sits under the QoS class of the pod", () => {
    expect(podCgroupParent("/berth/", podSpec("p"))).toBe("/berth/pods/besteffort/pod-uid-p");
  });

  it("gets the kubelet's pod limits as cgroup v2 values", () => {
    const guaranteed = podSpec("p", {
      containers: [container("a", { resources: { limits: { cpu: "500m", memory: "256Mi" } } })],
    });
    expect(podCgroupV2Resources(guaranteed)).toEqual({
      cpuWeight: 20,
      cpuMax: { quotaUsec: 50_000, periodUsec: 100_000 },
      memoryMax: 256 * 1024 * 1024,
    });
    // One unlimited container leaves a burstable pod unlimited.
    const burstable = podSpec("p", {
      containers: [container("a", { resources: { limits: { memory: "64Mi" } } }), container("b")],
    });
    expect(podCgroupV2Resources(burstable)).toEqual({ cpuWeight: 1 });
    expect(podCgroupV2Resources(podSpec("p"))).toEqual({ cpuWeight: 1 });
  });
});

describe("container security context", () => {
  it("merges pod and container settings as the kubelet does", () => {
    const spec = podSpec("p", {
      securityContext: {
        runAsUser: 1000,
        runAsGroup: 3000,
        supplementalGroups: [4000],
        fsGroup: 2000,
        seccompProfile: { type: "RuntimeDefault" },
      },
      containers: [
        container("a", {
          securityContext: { runAsUser: 1001, capabilities: { add: ["NET_ADMIN"], drop: ["ALL"] } },
        }),
      ],
    });
    const sc = containerSecurityContext(spec, spec.containers[0]!);
    expect(sc.runAsUser?.value).toBe(1001n);
    expect(sc.runAsGroup?.value).toBe(3000n);
    expect(sc.supplementalGroups).toEqual([4000n, 2000n]);
    expect(sc.capabilities).toEqual({
      addCapabilities: ["NET_ADMIN"],
      dropCapabilities: ["ALL"],
      addAmbientCapabilities: [],
    });
    expect(sc.seccomp?.profileType).toBe(SecurityProfile_ProfileType.RuntimeDefault);
    // Unset allowPrivilegeEscalation: berth refuses escalation by default.
    expect(sc.noNewPrivs).toBe(true);
    const plain = containerSecurityContext(podSpec("q"), podSpec("q").containers[0]!);
    expect(plain.seccomp?.profileType).toBe(SecurityProfile_ProfileType.Unconfined);
    expect(plain.noNewPrivs).toBe(true);
    const allowed = podSpec("a", {
      containers: [container("c", { securityContext: { allowPrivilegeEscalation: true } })],
    });
    expect(containerSecurityContext(allowed, allowed.containers[0]!).noNewPrivs).toBe(false);
    const sysAdmin = podSpec("s", {
      containers: [
        container("c", { securityContext: { capabilities: { add: ["CAP_SYS_ADMIN"], drop: [] } } }),
      ],
    });
    expect(containerSecurityContext(sysAdmin, sysAdmin.containers[0]!).noNewPrivs).toBe(false);
  });
});

describe("sandbox", () => {
  it("names the pod's host after spec.hostname or the pod, within 63 characters", () => {
    expect(podHostname(podSpec("p", { hostname: "h" }))).toBe("h");
    expect(podHostname(podSpec(`a${"b".repeat(61)}-x`))).toBe(`a${"b".repeat(61)}`);
  });

  it("changes its hash only with what the sandbox is made of", () => {
    const base = sandboxHash(podSpec("p"));
    expect(sandboxHash(podSpec("p", { containers: [container("app", { args: ["x"] })] }))).toBe(base);
    expect(sandboxHash(podSpec("p", { hostNetwork: true }))).not.toBe(base);
    expect(
      sandboxHash(
        podSpec("p", { containers: [container("app", { ports: [{ containerPort: 80, hostPort: 8080 }] })] }),
      ),
    ).not.toBe(base);
  });
});

describe("probe specs", () => {
  it("resolve named ports from the container's ports", () => {
    const spec = podSpec("p", {
      containers: [
        container("app", {
          ports: [{ name: "http", containerPort: 8080 }],
          readinessProbe: { httpGet: { port: "http", path: "/healthz" }, periodSeconds: 3 },
        }),
      ],
    });
    const app = spec.containers[0]!;
    expect(toProbeInput(app.readinessProbe!, app)).toMatchObject({
      httpGet: { port: 8080, path: "/healthz", scheme: "HTTP" },
      periodSeconds: 3,
      timeoutSeconds: 1,
    });
    expect(toProbeInput(app.readinessProbe!, { ports: [] })).toBeUndefined();
  });
});

describe("goDuration", () => {
  it("prints backoffs as the kubelet does", () => {
    expect([10_000, 20_000, 80_000, 160_000, 300_000].map(goDuration)).toEqual([
      "10s",
      "20s",
      "1m20s",
      "2m40s",
      "5m0s",
    ]);
  });
});

describe("inProcessClients", () => {
  it("answers RPCs the runtime lacks with UNIMPLEMENTED, unary and streaming", async () => {
    const clients = inProcessClients({
      runtimeService: { version: async () => ({ version: "x" }) },
      imageService: {},
    });
    await expect(clients.runtime.version({ version: "" })).resolves.toMatchObject({ version: "x" });
    const err = await clients.runtime
      .checkpointContainer({ containerId: "c", location: "", timeout: 0n })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnimplementedError);
    expect(isUnimplemented(err)).toBe(true);
    expect(isUnimplemented({ code: 12 })).toBe(true);
    const stream = clients.runtime.getContainerEvents({});
    await expect(
      (async () => {
        for await (const _ of stream) void _;
      })(),
    ).rejects.toThrow(/GetContainerEvents is not implemented/);
    await expect(
      clients.images.pullImage({ image: undefined, auth: undefined, sandboxConfig: undefined }),
    ).rejects.toBeInstanceOf(UnimplementedError);
  });
});
