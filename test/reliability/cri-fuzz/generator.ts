// Seeded random CRI requests: every RPC of runtime.v1.RuntimeService and ImageService (taken
// from the generated service definitions, so a new RPC is fuzzed as soon as it is generated),
// each either a valid request about the objects the fuzzer made, or one with hostile values
// (random ids, boundary numbers, huge strings and maps, NUL bytes, paths into /proc, /dev, a
// FIFO, /etc/shadow, "..", random enums). A call remembers whether it was left valid: only
// those may fail with INTERNAL.
import type { MethodDefinition } from "@grpc/grpc-js";
import * as api from "../../../cri/api/generated/api.js";
import { ImageServiceService, RuntimeServiceService } from "../../../cri/api/generated/api.js";
import { Rng } from "./rng.js";

type Obj = Record<string, unknown>;
type MessageType = { fromPartial(object: unknown): object; encode(message: object): unknown };

export type ServiceName = "RuntimeService" | "ImageService";

export interface RpcInfo {
  service: ServiceName;
  /** The generated method key, e.g. "runPodSandbox". */
  method: string;
  /** "RuntimeService/RunPodSandbox". */
  name: string;
  definition: MethodDefinition<object, object>;
  requestType: MessageType;
}

/** Request message names that do not follow `<Rpc>Request`. */
const REQUEST_TYPE_EXCEPTIONS: Record<string, string> = { GetContainerEvents: "GetEventsRequest" };

/** Every RPC of both CRI services, in definition order; throws if a request type cannot be found. */
export function allRpcs(): RpcInfo[] {
  const services: [ServiceName, Record<string, MethodDefinition<object, object>>][] = [
    ["RuntimeService", RuntimeServiceService as unknown as Record<string, MethodDefinition<object, object>>],
    ["ImageService", ImageServiceService as unknown as Record<string, MethodDefinition<object, object>>],
  ];
  return services.flatMap(([service, definition]) =>
    Object.entries(definition).map(([method, def]) => {
      const rpcName = def.path.split("/").pop()!;
      const typeName = REQUEST_TYPE_EXCEPTIONS[rpcName] ?? `${rpcName}Request`;
      const requestType = (api as unknown as Record<string, MessageType | undefined>)[typeName];
      if (!requestType?.fromPartial)
        throw new Error(`no request message ${typeName} for ${service}/${rpcName} in the generated code`);
      return { service, method, name: `${service}/${rpcName}`, definition: def, requestType };
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// The world the fuzzer has made: live objects its valid requests refer to, and hostile files.

export interface LiveSandbox {
  id: string;
  config: Obj;
}

export interface LiveContainer {
  id: string;
  sandboxId: string;
  state: "created" | "running" | "exited";
}

export interface FuzzWorld {
  /** The agent's temp root; the hostile files live here. */
  root: string;
  /** A FIFO nobody writes to: reading it blocks forever. */
  fifo: string;
  /** A regular file (not a directory). */
  textFile: string;
  /** Parent of the sandboxes' log directories. */
  logRoot: string;
  /** The busybox image every valid container uses; never removed. */
  image: string;
  imageId: string;
  /** Images that may be removed. */
  spareImages: string[];
  sandboxes: Map<string, LiveSandbox>;
  containers: Map<string, LiveContainer>;
}

export interface FuzzCall {
  seq: number;
  rpc: RpcInfo;
  /** The message as sent (after fromPartial). */
  request: Obj;
  /** True when no hostile value was put in: only such calls may fail with INTERNAL. */
  valid: boolean;
  /** What was done to the request, for the failure report. */
  mutations: string[];
  /** Client deadline. */
  deadlineMs: number;
  /** The call may legitimately take longer than its deadline (a grace period the caller asked for). */
  mayOutliveDeadline: boolean;
  /** Server streams: read this long, then cancel (for streams that never end by themselves). */
  cancelStreamAfterMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Known problems not fixed yet: inputs listed here are not generated (input) or their outcome is
// not held against berth (outcome). Empty: every problem the fuzzer has found is fixed.

export interface KnownPending {
  name: string;
  /** Requests that crash or hang the agent today: not sent at all. */
  input?: (call: FuzzCall) => boolean;
  /** Requests still answered INTERNAL although the input is at fault: INTERNAL is not held against them. */
  internal?: (call: FuzzCall) => boolean;
  /** Errors that still echo the input without bound: their size is not held against them. */
  echoesInput?: true;
}

export const KNOWN_PENDING: KnownPending[] = [];

// ---------------------------------------------------------------------------------------------
// Hostile values.

const KB100 = "x".repeat(100 * 1024);
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

function hostilePaths(world: FuzzWorld): string[] {
  return [
    "",
    ".",
    "..",
    "../../../../etc",
    "sub/",
    "a/../../b",
    "/",
    "/proc/self/fdinfo/x",
    "/proc/self/mem",
    "/proc/1/root",
    "/proc/sys/kernel/panic",
    "/sys/kernel",
    "/dev/zero",
    "/dev/null",
    "/dev/full",
    "/dev/kmsg",
    "/etc/shadow",
    world.fifo,
    world.textFile,
    `${world.textFile}/below-a-file`,
    `${world.root}/does/not/exist`,
    "relative/path",
    "/tmp/../etc/passwd",
    `/${"a/".repeat(3000)}`,
    `/${"n".repeat(300)}`,
    "/with\u0000nul",
    "/unicode/\u{1F4A5}\u00fc",
  ];
}

export function hostileString(rng: Rng, world: FuzzWorld): string {
  const liveIds = [...world.sandboxes.keys(), ...world.containers.keys()];
  switch (rng.int(6)) {
    case 0:
      return rng.pick(hostilePaths(world));
    case 1:
      if (liveIds.length) {
        const id = rng.pick(liveIds);
        // A live id, an unambiguous or ambiguous prefix of one, or one with junk after it.
        return rng.pick([id, id.slice(0, 1 + rng.int(12)), `${id}x`, id.toUpperCase(), ` ${id}`]);
      }
      return rng.hex(64);
    case 2:
      return rng.pick([rng.hex(64), rng.hex(1 + rng.int(20)), `sha256:${rng.hex(64)}`, "sha256:", "*"]);
    default:
      return rng.pick([
        "",
        " ",
        KB100,
        "\u0000",
        "a\u0000b",
        "\u{1F4A5}\u00fc\u4e2d",
        "\uFFFD\uFEFF",
        "%s%n%x",
        "${jndi:ldap://x}",
        "-rf",
        "--help",
        "\n\r\t",
        "line1\nline2",
        "a=b",
        "key:value",
        "UPPER",
        "-1",
        "18446744073709551616",
        "NaN",
        "Infinity",
        "1e309",
        "0x7fffffff",
        "null",
        "{}",
        "'; DROP TABLE x; --",
        "x".repeat(253),
        "x".repeat(254),
        "y".repeat(64 * 1024),
      ]);
  }
}

export function hostileInt64(rng: Rng): bigint {
  return rng.pick([
    0n,
    -1n,
    1n,
    INT64_MAX,
    INT64_MIN,
    INT64_MAX - 1n,
    2n ** 31n,
    2n ** 32n,
    2n ** 53n + 1n,
    -(2n ** 53n) - 1n,
    -1000n,
    1000n,
    BigInt(rng.int(2 ** 31)) * BigInt(rng.int(2 ** 31)),
  ]);
}

/** A number for an int32, uint32 or enum field; out-of-range picks are caught by the encode check. */
export function hostileNumber(rng: Rng): number {
  return rng.pick([
    0,
    1,
    -1,
    2,
    3,
    7,
    65,
    66,
    999,
    65535,
    65536,
    2 ** 31 - 1,
    -(2 ** 31),
    2 ** 32 - 1,
    rng.int(100),
  ]);
}

const MAP_FIELDS = new Set(["labels", "annotations", "sysctls", "unified", "labelSelector"]);

function hostileMap(rng: Rng, world: FuzzWorld): Record<string, string> {
  switch (rng.int(5)) {
    case 0: {
      // Many entries.
      const n = rng.pick([100, 1000, 5000]);
      return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]));
    }
    case 1:
      return { huge: KB100, [KB100.slice(0, 10 * 1024)]: "big-key" };
    case 2:
      // A "deep" value: nested JSON, as annotations often carry.
      return { deep: JSON.stringify(nest(200)), "k/../x": "v" };
    case 3:
      return {
        "": "empty-key",
        "\u0000": "nul",
        "a=b": "c",
        "\u{1F4A5}": "\u{1F4A5}",
        "kubernetes.io/x": "",
      };
    default:
      return { [hostileString(rng, world)]: hostileString(rng, world) };
  }
}

function nest(depth: number): unknown {
  let v: unknown = "leaf";
  for (let i = 0; i < depth; i++) v = { d: v };
  return v;
}

function hostileResources(rng: Rng): Obj {
  return rng.pick<Obj>([
    { cpuPeriod: hostileInt64(rng), cpuQuota: hostileInt64(rng) },
    { cpuShares: hostileInt64(rng) },
    { memoryLimitInBytes: hostileInt64(rng), memorySwapLimitInBytes: hostileInt64(rng) },
    { memoryLimitInBytes: 1n },
    { oomScoreAdj: rng.pick([-1000n, -1n, 1000n, 1001n, 99999n, INT64_MIN]) },
    { cpusetCpus: rng.pick(["0", "0-1", "abc", "-1", "0-", "1-0", "0,,1", "x".repeat(5000)]) },
    { cpusetMems: rng.pick(["0", "1", "abc", "0-9999"]) },
    {
      hugepageLimits: [
        { pageSize: rng.pick(["2MB", "1GB", "3KB", "", "2MBx", "-2MB"]), limit: hostileInt64(rng) },
      ],
    },
    {
      unified: rng.pick([
        { "../../x": "1" },
        { "cgroup.procs": "1" },
        { "": "" },
        { "nonexistent.file": "1" },
      ]),
    },
  ]);
}

function hostileSecurityProfile(rng: Rng, world: FuzzWorld): Obj {
  return {
    profileType: rng.pick([0, 1, 2, 3, 999]),
    localhostRef: rng.pick([...hostilePaths(world), "runtime/default", "unconfined", "localhost/x"]),
  };
}

function hostileNamespaceOptions(rng: Rng, world: FuzzWorld): Obj {
  const ids = [...world.containers.keys(), ...world.sandboxes.keys()];
  return {
    network: rng.pick([0, 1, 2, 3, 999]),
    pid: rng.pick([0, 1, 2, 3, 999]),
    ipc: rng.pick([0, 1, 2, 3, 999]),
    targetId: ids.length && rng.chance(0.6) ? rng.pick(ids) : hostileString(rng, world),
    ...(rng.chance(0.3)
      ? {
          usernsOptions: {
            mode: rng.pick([0, 1, 2, 3, 999]),
            uids: [
              {
                hostId: rng.pick([0, 1000, 2 ** 32 - 1]),
                containerId: 0,
                length: rng.pick([0, 1, 65536, 2 ** 32 - 1]),
              },
            ],
            gids: [],
          },
        }
      : {}),
  };
}

function hostileSandboxSecurity(rng: Rng, world: FuzzWorld): Obj {
  return rng.pick<Obj>([
    { namespaceOptions: hostileNamespaceOptions(rng, world) },
    { runAsUser: { value: hostileInt64(rng) } },
    { runAsGroup: { value: hostileInt64(rng) } },
    {
      supplementalGroups: [hostileInt64(rng), hostileInt64(rng)],
      supplementalGroupsPolicy: rng.pick([0, 1, 2, 999]),
    },
    { seccomp: hostileSecurityProfile(rng, world) },
    { apparmor: hostileSecurityProfile(rng, world) },
    { seccompProfilePath: rng.pick([...hostilePaths(world), "localhost/x", "runtime/default"]) },
    { selinuxOptions: { user: "u", role: "r", type: hostileString(rng, world), level: "s0:c1" } },
    { privileged: true, readonlyRootfs: true },
  ]);
}

function hostileContainerSecurity(rng: Rng, world: FuzzWorld): Obj {
  const caps = [
    "CAP_SYS_ADMIN",
    "ALL",
    "all",
    "NOT_A_CAP",
    "",
    "cap_net_raw",
    "NET_ADMIN",
    "CAP_\u0000",
    KB100,
  ];
  return rng.pick<Obj>([
    {
      capabilities: {
        addCapabilities: [rng.pick(caps)],
        dropCapabilities: [rng.pick(caps)],
        addAmbientCapabilities: [rng.pick(caps)],
      },
    },
    { privileged: true },
    { namespaceOptions: hostileNamespaceOptions(rng, world) },
    { runAsUser: { value: hostileInt64(rng) }, runAsGroup: { value: hostileInt64(rng) } },
    { runAsGroup: { value: 5n } },
    {
      runAsUsername: rng.pick([
        "nobody",
        "berth",
        "doesnotexist",
        "0",
        "../../etc/passwd",
        "",
        KB100,
        "root\u0000",
      ]),
    },
    { runAsUser: { value: 0n }, runAsUsername: "nobody" },
    { supplementalGroups: [hostileInt64(rng)], supplementalGroupsPolicy: rng.pick([0, 1, 999]) },
    { maskedPaths: [rng.pick(hostilePaths(world))], readonlyPaths: [rng.pick(hostilePaths(world))] },
    { seccomp: hostileSecurityProfile(rng, world) },
    { apparmor: hostileSecurityProfile(rng, world) },
    { apparmorProfile: hostileString(rng, world), seccompProfilePath: rng.pick(hostilePaths(world)) },
    { readonlyRootfs: true, noNewPrivs: true },
  ]);
}

function hostileMount(rng: Rng, world: FuzzWorld): Obj {
  const containerPaths = [
    "/proc",
    "/proc/sys",
    "/sys",
    "/dev/x",
    "/etc/hostname",
    "/",
    "",
    "relative",
    "/tmp/m",
    "/mnt/../../etc",
    "/dev/shm",
  ];
  if (rng.chance(0.2)) {
    return {
      containerPath: rng.pick(containerPaths),
      image: { image: rng.pick([world.image, world.imageId, hostileString(rng, world)]) },
      imageSubPath: rng.pick(["", "bin", "..", "../..", "/etc", "nonexistent", "bin/busybox"]),
    };
  }
  return {
    containerPath: rng.pick(containerPaths),
    hostPath: rng.pick(hostilePaths(world)),
    readonly: rng.chance(0.5),
    recursiveReadOnly: rng.chance(0.2),
    propagation: rng.pick([0, 1, 2, 999]),
    ...(rng.chance(0.15)
      ? {
          uidMappings: [{ hostId: 0, containerId: 0, length: rng.pick([0, 1, 2 ** 32 - 1]) }],
          gidMappings: [],
        }
      : {}),
  };
}

function hostileDevice(rng: Rng, world: FuzzWorld): Obj {
  return {
    hostPath: rng.pick(["/dev/null", "/dev/zero", "/dev/fuse", "/dev/../etc/shadow", ...hostilePaths(world)]),
    containerPath: rng.pick(["/dev/xnull", "", "relative", "/dev/null", "/proc/x", "/"]),
    permissions: rng.pick(["rwm", "r", "", "xyz", "rwmrwm", "R"]),
  };
}

// ---------------------------------------------------------------------------------------------
// Valid requests.

const TRAP_COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];
const MAX_SANDBOXES = 4;
const MAX_CONTAINERS = 8;

/** Calls that start processes or touch runc: a longer client deadline. */
const SLOW_RPCS = new Set([
  "runPodSandbox",
  "stopPodSandbox",
  "removePodSandbox",
  "createContainer",
  "startContainer",
  "stopContainer",
  "removeContainer",
  "execSync",
  "pullImage",
  "removeImage",
  "updateContainerResources",
  "updatePodSandboxResources",
  "checkpointContainer",
]);

/** Server streams that never end by themselves: read briefly, then cancel. */
const ENDLESS_STREAMS = new Set(["getContainerEvents"]);

export const FAST_DEADLINE_MS = 15_000;
export const SLOW_DEADLINE_MS = 60_000;

export class CriFuzzGenerator {
  private seq = 0;
  private names = 0;
  readonly rpcs = allRpcs();
  /** How often each KNOWN_PENDING input was drawn and skipped. */
  readonly skippedKnown = new Map<string, number>();

  constructor(
    private readonly rng: Rng,
    private readonly world: FuzzWorld,
    private readonly knownPending: KnownPending[] = KNOWN_PENDING,
  ) {}

  next(): FuzzCall {
    for (;;) {
      const call = this.draw();
      const known = this.knownPending.find((k) => k.input?.(call));
      if (!known) return call;
      this.skippedKnown.set(known.name, (this.skippedKnown.get(known.name) ?? 0) + 1);
    }
  }

  private draw(): FuzzCall {
    const rpc = this.pickRpc();
    const rng = this.rng;
    const partial = this.validPartial(rpc.method);
    const mutations: string[] = [];
    let request = rpc.requestType.fromPartial(partial) as Obj;
    if (rng.chance(0.65)) {
      const count = 1 + rng.int(3);
      for (let i = 0; i < count; i++) {
        const candidate = structuredClone(request);
        const label = rng.chance(0.5) ? this.targeted(rpc.method, candidate) : undefined;
        const done = label ?? this.generic(candidate);
        if (!done) continue;
        const message = toWireMessage(rpc, candidate);
        if (!message) continue; // not representable on the wire (e.g. a string in an int64 list)
        request = message;
        mutations.push(done);
      }
    }
    if (rpc.method === "pullImage") request = keepPullsOnLoopback(request);
    const deadlineMs = SLOW_RPCS.has(rpc.method) ? SLOW_DEADLINE_MS : FAST_DEADLINE_MS;
    return {
      seq: ++this.seq,
      rpc,
      request,
      valid: mutations.length === 0,
      mutations,
      deadlineMs,
      mayOutliveDeadline: this.graceExceeds(rpc.method, request, deadlineMs),
      ...(ENDLESS_STREAMS.has(rpc.method) ? { cancelStreamAfterMs: 300 } : {}),
    };
  }

  /** A stop or exec whose own timeout is longer than the client's deadline may run into it. */
  private graceExceeds(method: string, request: Obj, deadlineMs: number): boolean {
    if (method !== "stopContainer" && method !== "execSync") return false;
    const timeout = request.timeout as bigint;
    return timeout < 0n || timeout * 1000n >= BigInt(deadlineMs) - 1000n;
  }

  private pickRpc(): RpcInfo {
    const w = this.world;
    const created = [...w.containers.values()].filter((c) => c.state === "created").length;
    const weight = (method: string): number => {
      switch (method) {
        case "runPodSandbox":
          return w.sandboxes.size < 2 ? 6 : w.sandboxes.size >= MAX_SANDBOXES ? 0.2 : 1.5;
        case "removePodSandbox":
          return w.sandboxes.size >= MAX_SANDBOXES ? 4 : 1;
        case "createContainer":
          return w.sandboxes.size === 0 ? 0.3 : w.containers.size >= MAX_CONTAINERS ? 0.3 : 4;
        case "removeContainer":
          return w.containers.size >= MAX_CONTAINERS ? 4 : 1;
        case "startContainer":
          return created ? 3 : 0.5;
        default:
          return 1;
      }
    };
    const weights = this.rpcs.map((r) => weight(r.method));
    let roll = this.rng.next() * weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < this.rpcs.length; i++) {
      roll -= weights[i]!;
      if (roll < 0) return this.rpcs[i]!;
    }
    return this.rpcs[this.rpcs.length - 1]!;
  }

  private sandbox(): LiveSandbox | undefined {
    const all = [...this.world.sandboxes.values()];
    return all.length ? this.rng.pick(all) : undefined;
  }

  private container(state?: LiveContainer["state"]): LiveContainer | undefined {
    const all = [...this.world.containers.values()].filter((c) => !state || c.state === state);
    return all.length ? this.rng.pick(all) : undefined;
  }

  private sandboxId(): string {
    return this.sandbox()?.id ?? this.rng.hex(64);
  }

  private containerId(state?: LiveContainer["state"]): string {
    return (this.container(state) ?? this.container())?.id ?? this.rng.hex(64);
  }

  newSandboxConfig(): Obj {
    const name = `fuzz-${++this.names}`;
    return {
      metadata: { name, namespace: "fuzz", uid: `uid-${name}-${this.rng.hex(6)}`, attempt: 0 },
      hostname: name,
      logDirectory: `${this.world.logRoot}/${name}`,
      labels: { app: name },
      annotations: { note: "fuzz" },
      linux: { securityContext: { namespaceOptions: { network: 0, pid: 1, ipc: 0 } } },
    };
  }

  /** A request that should succeed against the current world (or fail only for a good reason). */
  private validPartial(method: string): Obj {
    const rng = this.rng;
    const w = this.world;
    const filter = (): Obj =>
      rng.pick<Obj>([
        {},
        { id: this.sandboxId() },
        { state: { state: rng.int(2) } },
        { labelSelector: { app: "fuzz-1" } },
      ]);
    const containerFilter = (): Obj =>
      rng.pick<Obj>([
        {},
        { id: this.containerId() },
        { podSandboxId: this.sandboxId() },
        { state: { state: rng.int(4) } },
      ]);
    switch (method) {
      case "version":
        return { version: "v1" };
      case "runPodSandbox":
        return { config: this.newSandboxConfig(), runtimeHandler: "" };
      case "stopPodSandbox":
      case "removePodSandbox":
      case "podSandboxStats":
        return { podSandboxId: this.sandboxId() };
      case "podSandboxStatus":
        return { podSandboxId: this.sandboxId(), verbose: rng.chance(0.5) };
      case "listPodSandbox":
      case "streamPodSandboxes":
        return { filter: filter() };
      case "listPodSandboxStats":
      case "streamPodSandboxStats":
        return { filter: rng.pick<Obj>([{}, { id: this.sandboxId() }, { labelSelector: { app: "x" } }]) };
      case "createContainer": {
        const sandbox = this.sandbox();
        const name = `c${++this.names}`;
        return {
          podSandboxId: sandbox?.id ?? rng.hex(64),
          config: {
            metadata: { name, attempt: 0 },
            image: { image: rng.pick([w.image, w.imageId]) },
            command: TRAP_COMMAND,
            envs: [{ key: "FUZZ", value: "1" }],
            labels: { name },
            annotations: { a: "b" },
            logPath: `${name}/0.log`,
            linux: { resources: { cpuShares: 256n, memoryLimitInBytes: 256n * 1024n * 1024n } },
          },
          sandboxConfig: sandbox?.config ?? this.newSandboxConfig(),
        };
      }
      case "startContainer":
        return { containerId: this.containerId("created") };
      case "stopContainer":
        return { containerId: this.containerId("running"), timeout: BigInt(rng.int(3)) };
      case "removeContainer":
      case "containerStats":
        return { containerId: this.containerId() };
      case "reopenContainerLog":
        return { containerId: this.containerId("running") };
      case "containerStatus":
        return { containerId: this.containerId(), verbose: rng.chance(0.5) };
      case "listContainers":
      case "streamContainers":
        return { filter: containerFilter() };
      case "listContainerStats":
      case "streamContainerStats":
        return {
          filter: rng.pick<Obj>([{}, { id: this.containerId() }, { podSandboxId: this.sandboxId() }]),
        };
      case "updateContainerResources":
        return {
          containerId: this.containerId("running"),
          linux: { cpuShares: BigInt(2 + rng.int(1024)), memoryLimitInBytes: 128n * 1024n * 1024n },
        };
      case "execSync":
        return {
          containerId: this.containerId("running"),
          cmd: rng.pick([["echo", "hi"], ["true"], ["id"]]),
          timeout: 10n,
        };
      case "exec":
        return {
          containerId: this.containerId("running"),
          cmd: ["sh"],
          stdin: true,
          stdout: true,
          tty: rng.chance(0.5),
        };
      case "attach":
        return { containerId: this.containerId("running"), stdout: true, stderr: true };
      case "portForward":
        return { podSandboxId: this.sandboxId(), port: [80] };
      case "updateRuntimeConfig":
        return { runtimeConfig: { networkConfig: { podCidr: "10.77.0.0/16" } } };
      case "status":
        return { verbose: rng.chance(0.5) };
      case "checkpointContainer":
        return {
          containerId: this.containerId("running"),
          location: `${w.root}/checkpoint.tar`,
          timeout: 5n,
        };
      case "updatePodSandboxResources":
        return { podSandboxId: this.sandboxId(), resources: { cpuShares: 512n } };
      case "listImages":
      case "streamImages":
        return { filter: rng.chance(0.5) ? {} : { image: { image: w.image } } };
      case "imageStatus":
        return {
          image: { image: rng.pick([w.image, w.imageId, ...w.spareImages]) },
          verbose: rng.chance(0.5),
        };
      case "removeImage":
        return {
          image: { image: w.spareImages.length ? rng.pick(w.spareImages) : `berth.test/gone:${rng.hex(4)}` },
        };
      case "pullImage":
        return { image: { image: `127.0.0.1:1/fuzz/img:${rng.hex(4)}` } };
      default:
        // RPCs with no specific builder (new ones, and argument-less ones): the empty request.
        return {};
    }
  }

  /** A domain-specific hostile value for one field of this RPC's request; undefined if none. */
  private targeted(method: string, req: Obj): string | undefined {
    const rng = this.rng;
    const w = this.world;
    const config = req.config as Obj | undefined;
    switch (method) {
      case "runPodSandbox": {
        if (!config) return undefined;
        const linux = ((config.linux as Obj | undefined) ?? {}) as Obj;
        config.linux = linux;
        switch (rng.int(10)) {
          case 0:
            config.logDirectory = rng.pick(hostilePaths(w));
            return `config.log_directory=${show(config.logDirectory)}`;
          case 1:
            linux.cgroupParent = rng.pick([
              "..",
              "../..",
              "/../x",
              "a/../../b",
              "/",
              "kubepods.slice",
              "x".repeat(5000),
              "/a\u0000b",
            ]);
            return `config.linux.cgroup_parent=${show(linux.cgroupParent)}`;
          case 2:
            linux.sysctls = rng.pick<Obj>([
              { "kernel.shm_rmid_forced": "1" },
              { "net.ipv4.ip_forward": "1" },
              { "../../x": "1" },
              { "kernel.panic": "1" },
              { "net.core.somaxconn": "x".repeat(1000) },
              { "fs.file-max": "1" },
              { "net/ipv4/ping_group_range": "0 0" },
              { "": "" },
            ]);
            return `config.linux.sysctls=${show(linux.sysctls)}`;
          case 3:
            linux.securityContext = hostileSandboxSecurity(rng, w);
            return `config.linux.security_context=${show(linux.securityContext)}`;
          case 4:
            config.dnsConfig = rng.pick<Obj>([
              {
                servers: [hostileString(rng, w)],
                searches: [hostileString(rng, w)],
                options: ["ndots:5\nnameserver 1.2.3.4"],
              },
              { servers: Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`) },
            ]);
            return `config.dns_config=${show(config.dnsConfig)}`;
          case 5:
            config.portMappings = [
              {
                protocol: rng.pick([0, 1, 2, 999]),
                containerPort: hostileNumber(rng),
                hostPort: rng.pick([0, -1, 70000, 1, 2 ** 31 - 1]),
                hostIp: rng.pick(["", "127.0.0.1", "::1", "garbage", "999.1.1.1"]),
              },
            ];
            return `config.port_mappings=${show(config.portMappings)}`;
          case 6:
            linux[rng.pick(["overhead", "resources"])] = hostileResources(rng);
            return `config.linux.overhead/resources=${show(linux)}`;
          case 7:
            config.hostname = hostileString(rng, w);
            return `config.hostname=${show(config.hostname)}`;
          case 8:
            config.metadata = {
              name: hostileString(rng, w),
              namespace: hostileString(rng, w),
              uid: hostileString(rng, w),
              attempt: hostileNumber(rng),
            };
            return `config.metadata=${show(config.metadata)}`;
          default:
            req.runtimeHandler = hostileString(rng, w);
            return `runtime_handler=${show(req.runtimeHandler)}`;
        }
      }
      case "createContainer": {
        if (!config) return undefined;
        const linux = ((config.linux as Obj | undefined) ?? {}) as Obj;
        config.linux = linux;
        switch (rng.int(13)) {
          case 0:
            config.logPath = rng.pick([
              ".",
              "sub/",
              "../escape.log",
              "/abs.log",
              "a/../../b",
              "",
              w.fifo,
              "x".repeat(300),
              "a\u0000b",
              "..",
              "/",
            ]);
            return `config.log_path=${show(config.logPath)}`;
          case 1:
            config.mounts = [hostileMount(rng, w)];
            return `config.mounts=${show(config.mounts)}`;
          case 2:
            config.devices = [hostileDevice(rng, w)];
            return `config.devices=${show(config.devices)}`;
          case 3:
            config.envs = rng.pick<Obj[]>([
              [{ key: "", value: "x" }],
              [{ key: "A=B", value: "c" }],
              [{ key: "NUL\u0000", value: "\u0000" }],
              [{ key: "BIG", value: KB100 }],
              Array.from({ length: 10_000 }, (_, i) => ({ key: `E${i}`, value: `${i}` })),
            ]);
            return `config.envs=${show(config.envs)}`;
          case 4:
            config.workingDir = rng.pick(hostilePaths(w));
            return `config.working_dir=${show(config.workingDir)}`;
          case 5:
            config.command = rng.pick<string[]>([
              [],
              ["/nonexistent"],
              ["sh", "-c", "exit 3"],
              [KB100],
              ["a\u0000b"],
              ["/etc/shadow"],
              ["/dev/zero"],
              [w.fifo],
              [""],
            ]);
            config.args = rng.pick<string[]>([[], ["x"], Array.from({ length: 5000 }, () => "arg")]);
            return `config.command=${show(config.command)} args=${show(config.args)}`;
          case 6:
            linux.resources = hostileResources(rng);
            return `config.linux.resources=${show(linux.resources)}`;
          case 7:
            linux.securityContext = hostileContainerSecurity(rng, w);
            return `config.linux.security_context=${show(linux.securityContext)}`;
          case 8:
            config.stopSignal = rng.pick([0, 13, 21, 65, 66, 999, -1]);
            return `config.stop_signal=${config.stopSignal}`;
          case 9:
            Object.assign(config, {
              tty: rng.chance(0.5),
              stdin: rng.chance(0.5),
              stdinOnce: rng.chance(0.5),
            });
            return `config.tty/stdin=${show([config.tty, config.stdin, config.stdinOnce])}`;
          case 10:
            config.cdiDevices = [{ name: rng.pick(["vendor.com/class=x", "", "../..", KB100]) }];
            return `config.cdi_devices=${show(config.cdiDevices)}`;
          case 11:
            config.image = { image: hostileString(rng, w) };
            return `config.image=${show(config.image)}`;
          default: {
            // The config of another (or no) sandbox, or another sandbox's id.
            const other = this.sandbox();
            if (rng.chance(0.5) && other) req.sandboxConfig = other.config;
            else req.podSandboxId = hostileString(rng, w);
            return `pod_sandbox_id/sandbox_config mismatch (${show(req.podSandboxId)})`;
          }
        }
      }
      case "execSync":
        if (rng.chance(0.5)) {
          req.timeout = rng.pick([-1n, 1n, 0n, INT64_MAX, 2n ** 40n, 3600n]);
          return `timeout=${String(req.timeout)}`;
        }
        req.cmd = rng.pick<string[]>([
          [],
          ["/nonexistent"],
          [KB100],
          ["sh", "-c", "sleep 2"],
          ["a\u0000b"],
          [w.fifo],
          ["cat", "/dev/zero"],
        ]);
        return `cmd=${show(req.cmd)}`;
      case "exec":
      case "attach":
        Object.assign(req, {
          tty: rng.chance(0.5),
          stdin: rng.chance(0.5),
          stdout: rng.chance(0.5),
          stderr: rng.chance(0.5),
        });
        if (method === "exec") req.cmd = rng.pick<string[]>([[], [KB100], ["/nonexistent"]]);
        return `streams/tty=${show([req.tty, req.stdin, req.stdout, req.stderr])}`;
      case "portForward":
        req.port = rng.pick<number[]>([
          [-1],
          [0],
          [70000],
          [2 ** 31 - 1],
          [],
          Array.from({ length: 10_000 }, (_, i) => i),
        ]);
        return `port=${show(req.port)}`;
      case "stopContainer":
        req.timeout = rng.pick([-1n, INT64_MAX, INT64_MIN, 2n ** 40n]);
        return `timeout=${String(req.timeout)}`;
      case "updateContainerResources":
        req.linux = hostileResources(rng);
        if (rng.chance(0.3)) req.annotations = hostileMap(rng, w);
        return `linux=${show(req.linux)}`;
      case "updatePodSandboxResources":
        req[rng.pick(["overhead", "resources"])] = hostileResources(rng);
        return `resources=${show(req)}`;
      case "pullImage":
        req.auth = {
          username: hostileString(rng, w),
          password: hostileString(rng, w),
          auth: rng.pick(["", "!!!notbase64", Buffer.from("nocolon").toString("base64"), KB100]),
          serverAddress: hostileString(rng, w),
          identityToken: hostileString(rng, w),
          registryToken: hostileString(rng, w),
        };
        return "auth=hostile";
      case "imageStatus":
      case "removeImage":
      case "listImages":
      case "streamImages": {
        const image = {
          image: rng.pick([
            `${w.image}@sha256:${rng.hex(64)}`,
            `sha256:${rng.hex(64)}`,
            w.imageId.slice(0, 12),
            "sha256:xyz",
            hostileString(rng, w),
          ]),
        };
        if (method === "listImages" || method === "streamImages") req.filter = { image };
        else req.image = image;
        return `image=${show(image)}`;
      }
      case "checkpointContainer":
        req.location = rng.pick(hostilePaths(w));
        return `location=${show(req.location)}`;
      case "updateRuntimeConfig":
        req.runtimeConfig = { networkConfig: { podCidr: hostileString(rng, w) } };
        return "pod_cidr=hostile";
      default:
        return undefined;
    }
  }

  /** Replaces one leaf, map or list anywhere in the request with a hostile value of its kind. */
  private generic(req: Obj): string | undefined {
    const rng = this.rng;
    const slots = leafSlots(req, "");
    if (slots.length === 0) return undefined;
    const slot = rng.pick(slots);
    const value = slot.parent[slot.key];
    let replacement: unknown;
    if (slot.isMap) replacement = { ...(value as Obj), ...hostileMap(rng, this.world) };
    else if (typeof value === "string") replacement = hostileString(rng, this.world);
    else if (typeof value === "bigint") replacement = hostileInt64(rng);
    else if (typeof value === "number") replacement = hostileNumber(rng);
    else if (typeof value === "boolean") replacement = !value;
    else if (value instanceof Uint8Array)
      replacement = Buffer.alloc(rng.pick([0, 1, 100 * 1024]), rng.int(256));
    else if (Array.isArray(value)) replacement = hostileList(rng, this.world, value);
    else return undefined;
    slot.parent[slot.key] = replacement;
    return `${slot.path}=${show(replacement)}`;
  }
}

interface Slot {
  parent: Obj;
  key: string;
  path: string;
  isMap: boolean;
}

function leafSlots(obj: Obj, prefix: string): Slot[] {
  const slots: Slot[] = [];
  for (const [key, value] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (MAP_FIELDS.has(key)) slots.push({ parent: obj, key, path, isMap: true });
    else if (Array.isArray(value)) {
      slots.push({ parent: obj, key, path, isMap: false });
      value.forEach((v, i) => {
        if (v && typeof v === "object") slots.push(...leafSlots(v as Obj, `${path}[${i}]`));
      });
    } else if (value && typeof value === "object" && !(value instanceof Uint8Array)) {
      slots.push(...leafSlots(value as Obj, path));
    } else slots.push({ parent: obj, key, path, isMap: false });
  }
  return slots;
}

function hostileList(rng: Rng, world: FuzzWorld, list: unknown[]): unknown[] {
  const sample = list[0];
  if (sample === undefined || typeof sample === "string") {
    return rng.pick<unknown[]>([
      [],
      [hostileString(rng, world)],
      Array.from({ length: 10_000 }, () => ""),
      [...list, hostileString(rng, world), hostileString(rng, world)],
    ]);
  }
  if (typeof sample === "bigint") return [hostileInt64(rng), hostileInt64(rng)];
  if (typeof sample === "number") return [hostileNumber(rng)];
  // Messages: drop them, or repeat one many times.
  return rng.chance(0.5) ? [] : Array.from({ length: 200 }, () => structuredClone(sample));
}

/** The message for a partial request, or undefined if its values cannot be encoded. */
function toWireMessage(rpc: RpcInfo, partial: Obj): Obj | undefined {
  try {
    const message = rpc.requestType.fromPartial(partial) as Obj;
    rpc.definition.requestSerialize(message);
    return message;
  } catch {
    return undefined;
  }
}

/** Pulls must never leave the host: every image reference is pointed at a closed loopback port. */
function keepPullsOnLoopback(request: Obj): Obj {
  const image = request.image as Obj | undefined;
  const ref = String(image?.image ?? "");
  if (ref.startsWith("127.0.0.1:1/")) return request;
  return { ...request, image: { ...(image ?? {}), image: `127.0.0.1:1/${ref}` } };
}

/** A short printable form of a value for failure reports. */
export function show(value: unknown): string {
  const text =
    JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(value);
  return text.length > 160 ? `${text.slice(0, 150)}…(${text.length} chars)` : text;
}
