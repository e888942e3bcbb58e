// Starts a real berth runtime for an integration test: its own state dir, run dir,
// socket and (relative) cgroup root, with the real runc and conmon; then checks that the
// test left no mount, process, netns or cgroup behind.
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Server } from "@grpc/grpc-js";
import {
  createBerthRuntime,
  type BerthRuntime,
  type BerthRuntimeOptions,
} from "../cri/runtime/berth-runtime.js";
import { startGrpcServer, stopGrpcServer } from "../cri/grpc-server.js";
import { bindService } from "../cri/grpc-binding.js";
import { connectCri, type CriClients } from "../cri/grpc-client.js";
import { ImageServiceService, PodSandboxConfig, RuntimeServiceService } from "../cri/api/generated/api.js";
import { silentLogger } from "../common/logger.js";
import { buildBusyboxImage, type BusyboxImageOptions } from "./oci-image.js";
import { detectHostLayout } from "../cgroups/detect.js";
import { forceCleanup } from "./force-cleanup.js";
import { CgroupManager } from "../cgroups/manager.js";
import { distinctDirs, namedHierarchyDirs } from "../cgroups/paths.js";

export interface Harness {
  root: string;
  socket: string;
  cgroupRoot: string;
  runtime: BerthRuntime;
  cri: CriClients;
  options: BerthRuntimeOptions;
  /** Imports a busybox image into the runtime and returns its name. */
  importBusybox(opts?: BusyboxImageOptions): Promise<string>;
  /** Stops the server and client (the runtime's containers keep running). */
  stop(): Promise<void>;
  /** Starts the runtime and server again on the same dirs, as after an agent restart. */
  restart(): Promise<void>;
  /** Stops everything and asserts nothing is left; throws a descriptive error otherwise. */
  cleanup(): Promise<void>;
}

export async function startHarness(extra: Partial<BerthRuntimeOptions> = {}): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), "bit-"));
  const cgroupRoot = `berth-it-${randomBytes(4).toString("hex")}`;
  const options: BerthRuntimeOptions = {
    stateDir: join(root, "state"),
    runDir: join(root, "run"),
    logger: silentLogger(),
    cgroupRoot,
    ...extra,
  };
  const socket = join(root, "berth.sock");
  let runtime!: BerthRuntime;
  let server: Server | undefined;
  let cri!: CriClients;
  let images = 0;

  const boot = async (): Promise<void> => {
    runtime = await createBerthRuntime(options);
    server = await startGrpcServer(socket, [
      {
        definition: RuntimeServiceService,
        implementation: bindService(
          "runtime.v1.RuntimeService",
          RuntimeServiceService,
          runtime.runtimeService,
          options.logger,
        ),
      },
      {
        definition: ImageServiceService,
        implementation: bindService(
          "runtime.v1.ImageService",
          ImageServiceService,
          runtime.imageService,
          options.logger,
        ),
      },
    ]);
    cri = connectCri(socket);
  };
  const stop = async (): Promise<void> => {
    cri.close();
    if (server) await stopGrpcServer(server, 1000);
    server = undefined;
    await runtime.close();
  };
  await boot();

  const harness: Harness = {
    root,
    socket,
    cgroupRoot,
    get runtime() {
      return runtime;
    },
    get cri() {
      return cri;
    },
    options,
    async importBusybox(opts = {}) {
      const name = opts.name ?? `berth.test/busybox:${++images}`;
      const dir = join(root, `image-${images}-${randomBytes(3).toString("hex")}`);
      await buildBusyboxImage(dir, { ...opts, name });
      await runtime.images.importOciLayout(dir);
      await rm(dir, { recursive: true, force: true });
      return name;
    },
    stop,
    async restart() {
      await boot();
    },
    async cleanup() {
      const problems: string[] = [];
      try {
        // Remove whatever the test left, through the API, then look for leaks.
        const { items } = await cri.runtime.listPodSandbox({});
        for (const s of items) await cri.runtime.removePodSandbox({ podSandboxId: s.id });
        const { containers } = await cri.runtime.listContainers({});
        if (containers.length) problems.push(`${containers.length} containers outlived their sandboxes`);
      } catch (err) {
        await stop().catch(() => undefined);
        await forceCleanup(root, join(options.runDir, "runc"), cgroupRoot);
        throw err;
      }
      await stop();
      const mounts = (await readFile("/proc/self/mountinfo", "utf8"))
        .split("\n")
        .filter((l) => l.includes(root));
      if (mounts.length) problems.push(`mounts left: ${mounts.map((l) => l.split(" ")[4]).join(", ")}`);
      const runcDir = join(options.runDir, "runc");
      const runcLeft = await readdir(runcDir).catch(() => []);
      if (runcLeft.length) problems.push(`runc containers left: ${runcLeft.join(", ")}`);
      const netns = await readdir(join(options.runDir, "netns")).catch(() => []);
      if (netns.length) problems.push(`netns left: ${netns.join(", ")}`);
      for (const kind of ["exits", "attach", "shm"]) {
        const left = await readdir(join(options.runDir, kind)).catch(() => []);
        if (left.length) problems.push(`${kind} entries left: ${left.join(", ")}`);
      }
      const cgroups = new CgroupManager({ layout: await detectHostLayout() });
      const dirs = cgroupDirsOf(cgroups, cgroupRoot);
      const leftovers: string[] = [];
      for (const dir of dirs) {
        const children = await readdir(dir, { withFileTypes: true }).catch(() => []);
        for (const c of children) if (c.isDirectory()) leftovers.push(join(dir, c.name));
      }
      // Only berth's "cri" grouping dir may remain empty-handed; its pod cgroups must be gone.
      for (const dir of leftovers) {
        const sub = await readdir(dir, { withFileTypes: true }).catch(() => []);
        const nested = sub.filter((c) => c.isDirectory());
        if (nested.length)
          problems.push(`cgroups left under ${dir}: ${nested.map((c) => c.name).join(", ")}`);
      }
      await cgroups.remove(cgroupRoot);
      if (problems.length) {
        await forceCleanup(root, runcDir, cgroupRoot);
        throw new Error(`the test left things behind:\n- ${problems.join("\n- ")}`);
      }
      await rm(root, { recursive: true, force: true });
    },
  };
  return harness;
}

function cgroupDirsOf(manager: CgroupManager, path: string): string[] {
  return [...distinctDirs(manager.resolveCgroupDirs(path)), ...namedHierarchyDirs(manager.layout, path)];
}

/** A minimal valid sandbox config. */
export function sandboxConfig(name: string, overrides: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
  return PodSandboxConfig.fromPartial({
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}-${randomBytes(3).toString("hex")}`,
      attempt: 0,
    },
    hostname: name,
    labels: { app: name },
    ...overrides,
  });
}
