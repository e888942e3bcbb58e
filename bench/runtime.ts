// CRI latency of berth beside containerd (the real anchor) and raw runc (the floor), in
// one run on this machine: both runtimes driven through the same CRI client, on the same
// CNI network list and the same images from one local registry; then pod start throughput
// and the memory of 100 pods (pod-scale.ts). Counts come from the environment, so a quick
// run is `BENCH_SAMPLES=5 BENCH_PODS=10 npm run bench runtime`.
//   BENCH_SAMPLES (50)  samples per CRI call      BENCH_PULLS (10)       image pulls
//   BENCH_PODS (100)    pods for throughput/PSS   BENCH_CONCURRENCY (10) pods started at once
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import {
  ImageSpec,
  ListImagesRequest,
  PullImageRequest,
  StopContainerRequest,
} from "../cri/api/generated/api.js";
import { containerConfig } from "../harness/cri-fixtures.js";
import { forceCleanup } from "../harness/force-cleanup.js";
import { measurePodScale, printPodScale, type PodScale } from "./pod-scale.js";
import { envCount, percentile, printColumns, timeMs } from "./stats-util.js";
import {
  APP_MARKER,
  networkRestorer,
  startBerth,
  startContainerdTarget,
  startImageRegistry,
  type BenchImages,
  type Target,
} from "./targets.js";

const SAMPLES = envCount("BENCH_SAMPLES", Number(process.env.BENCH_ITERATIONS ?? 50));
const PULLS = envCount("BENCH_PULLS", 10);

const STEPS = [
  "RunPodSandbox",
  "CreateContainer",
  "StartContainer",
  "CreateContainer + StartContainer",
  "ContainerStatus",
  "ImageStatus",
  "ListImages",
  "StopContainer",
  "RemoveContainer",
  "StopPodSandbox",
  "RemovePodSandbox",
  "PullImage",
] as const;
type Step = (typeof STEPS)[number];
type Samples = Partial<Record<Step, number[]>>;

/**
 * A container that stops on SIGTERM at once, as a well-behaved application does. Its shell
 * is PID 1 of the container: a SIGTERM that comes before the trap is set is ignored, so
 * every runtime waits TRAP_SETTLE_MS (untimed) before stopping it.
 */
const TRAP_SETTLE_MS = 200;

function appCommand(): string[] {
  return ["sh", "-c", `trap 'exit 0' TERM; sleep ${APP_MARKER} & wait`];
}

export async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "berth-bench-runtime-"));
  const network = await networkRestorer();
  const { registry, images } = await startImageRegistry(work);
  const results: { name: string; samples: Samples; scale: PodScale }[] = [];
  let containerdAbsent: string | undefined;
  const problems: string[] = [];
  try {
    const raw = await benchRawRunc();
    for (const start of [startBerth, startContainerdTarget]) {
      const target = await start(images, network);
      if (typeof target === "string") {
        containerdAbsent = target;
        continue;
      }
      try {
        await target.cri.images.pullImage(PullImageRequest.fromPartial({ image: { image: images.app } }));
        const samples = await measureLatency(target, images);
        const scale = await measurePodScale(target, images.app, appCommand());
        results.push({ name: target.name, samples, scale });
      } catch (err) {
        problems.push(`${target.name} failed: ${err instanceof Error ? err.stack : String(err)}`);
      } finally {
        problems.push(...(await target.stop()).map((p) => `${target.name}: ${p}`));
      }
    }
    printLatency(results, raw, containerdAbsent);
    printPodScale(results);
  } finally {
    await registry.stop();
    await network.restore();
    await rm(work, { recursive: true, force: true });
  }
  if (problems.length) {
    console.log(`\nproblems (what was left behind has been cleaned up):\n- ${problems.join("\n- ")}`);
    process.exitCode = 1;
  }
}

async function measureLatency(t: Target, images: BenchImages): Promise<Samples> {
  const out: Samples = {};
  const add = (step: Step, ms: number): void => void (out[step] ??= []).push(ms);
  const { runtime, images: imageApi } = t.cri;
  const appImage = ImageSpec.fromPartial({ image: images.app });
  for (let i = 0; i < SAMPLES; i++) {
    const config = t.sandboxConfig(`bench-${i}-${randomBytes(2).toString("hex")}`);
    let podSandboxId = "";
    add(
      "RunPodSandbox",
      await timeMs(
        async () => ({ podSandboxId } = await runtime.runPodSandbox({ config, runtimeHandler: "" })),
      ),
    );
    let containerId = "";
    const create = await timeMs(
      async () =>
        ({ containerId } = await runtime.createContainer({
          podSandboxId,
          config: containerConfig("app", images.app, appCommand()),
          sandboxConfig: config,
        })),
    );
    const start = await timeMs(() => runtime.startContainer({ containerId }));
    add("CreateContainer", create);
    add("StartContainer", start);
    add("CreateContainer + StartContainer", create + start);
    add("ContainerStatus", await timeMs(() => runtime.containerStatus({ containerId, verbose: false })));
    add("ImageStatus", await timeMs(() => imageApi.imageStatus({ image: appImage, verbose: false })));
    add("ListImages", await timeMs(() => imageApi.listImages(ListImagesRequest.fromPartial({}))));
    await sleep(TRAP_SETTLE_MS);
    add(
      "StopContainer",
      await timeMs(() =>
        runtime.stopContainer(StopContainerRequest.fromPartial({ containerId, timeout: 10n })),
      ),
    );
    add("RemoveContainer", await timeMs(() => runtime.removeContainer({ containerId })));
    add("StopPodSandbox", await timeMs(() => runtime.stopPodSandbox({ podSandboxId })));
    add("RemovePodSandbox", await timeMs(() => runtime.removePodSandbox({ podSandboxId })));
  }
  const pullImage = ImageSpec.fromPartial({ image: images.pull });
  for (let i = 0; i < PULLS; i++) {
    add(
      "PullImage",
      await timeMs(() => imageApi.pullImage(PullImageRequest.fromPartial({ image: pullImage }))),
    );
    await imageApi.removeImage({ image: pullImage });
  }
  return out;
}

/** The same steps done with runc directly: a netns plus an infra container for a sandbox. */
async function benchRawRunc(): Promise<Samples> {
  const root = await mkdtemp(join(tmpdir(), "bench-runc-"));
  const runcRoot = join(root, "runc");
  const cgroup = `berth-bench-${randomBytes(3).toString("hex")}`;
  const rootfs = join(root, "rootfs");
  await mkdir(join(rootfs, "bin"), { recursive: true });
  await cp("/bin/busybox", join(rootfs, "bin", "busybox"));
  for (const d of ["proc", "dev", "sys", "tmp"]) await mkdir(join(rootfs, d));
  const out: Samples = {};
  const add = (step: Step, ms: number): void => void (out[step] ??= []).push(ms);
  // The container inherits runc's stdio on create/run: ignore it, or the call never ends.
  const runc = (...args: string[]) => execa("runc", ["--root", runcRoot, ...args], { stdio: "ignore" });
  const stopped = async (id: string): Promise<void> => {
    // runc has no wait: poll its state, as a supervisor without an exit pipe would; after the
    // grace period a CRI StopContainer gives (10 s), SIGKILL.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const { stdout } = await execa("runc", ["--root", runcRoot, "state", id]);
      if ((JSON.parse(stdout) as { status: string }).status === "stopped") return;
      await sleep(2);
    }
    await runc("kill", id, "KILL");
    for (let n = 0; n < 500; n++) {
      const { stdout } = await execa("runc", ["--root", runcRoot, "state", id]);
      if ((JSON.parse(stdout) as { status: string }).status === "stopped") return;
      await sleep(2);
    }
    throw new Error(`runc container ${id} did not stop on SIGKILL`);
  };
  try {
    for (let i = 0; i < SAMPLES; i++) {
      const netns = join(root, `netns-${i}`);
      const infraId = `infra-${i}`;
      const ctrId = `ctr-${i}`;
      const infra = await bundle(
        root,
        infraId,
        rootfs,
        `${cgroup}/${infraId}`,
        ["/bin/busybox", "sleep", "1000"],
        netns,
      );
      add(
        "RunPodSandbox",
        await timeMs(async () => {
          await writeFile(netns, "");
          await execa("unshare", [`--net=${netns}`, "ip", "link", "set", "lo", "up"]);
          await runc("run", "--detach", "--bundle", infra, infraId);
        }),
      );
      const ctr = await bundle(
        root,
        ctrId,
        rootfs,
        `${cgroup}/${ctrId}`,
        ["/bin/busybox", ...appCommand()],
        netns,
      );
      const create = await timeMs(() => runc("create", "--bundle", ctr, ctrId));
      const start = await timeMs(() => runc("start", ctrId));
      add("CreateContainer", create);
      add("StartContainer", start);
      add("CreateContainer + StartContainer", create + start);
      add("ContainerStatus", await timeMs(() => runc("state", ctrId)));
      await sleep(TRAP_SETTLE_MS);
      add(
        "StopContainer",
        await timeMs(async () => {
          await runc("kill", ctrId, "TERM");
          await stopped(ctrId);
        }),
      );
      add("RemoveContainer", await timeMs(() => runc("delete", ctrId)));
      add(
        "StopPodSandbox",
        await timeMs(async () => {
          await runc("kill", infraId, "KILL");
          await stopped(infraId);
        }),
      );
      add(
        "RemovePodSandbox",
        await timeMs(async () => {
          await runc("delete", infraId);
          await execa("umount", [netns]);
          await rm(netns);
        }),
      );
    }
  } finally {
    // Kills and deletes what a failed step left, unmounts the netns files, removes the cgroups.
    await forceCleanup(root, runcRoot, cgroup);
  }
  return out;
}

async function bundle(
  root: string,
  name: string,
  rootfs: string,
  cgroupsPath: string,
  args: string[],
  netns: string,
): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  const spec = {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ["PATH=/bin"],
      cwd: "/",
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: true },
    hostname: name,
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
    ],
    linux: {
      cgroupsPath,
      namespaces: [
        { type: "pid" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "network", path: netns },
      ],
    },
  };
  await writeFile(join(dir, "config.json"), JSON.stringify(spec));
  return dir;
}

function printLatency(
  results: { name: string; samples: Samples }[],
  raw: Samples,
  containerdAbsent: string | undefined,
): void {
  const berth = results.find((r) => r.name === "berth")?.samples ?? {};
  const containerd = results.find((r) => r.name === "containerd")?.samples;
  console.log(
    `\nCRI latency, ms (median / p95; ${SAMPLES} samples, ${PULLS} pulls of a 256 KiB layer over busybox; ` +
      `raw runc: the same steps with runc alone, no CNI)`,
  );
  if (containerdAbsent) console.log(`containerd is absent: ${containerdAbsent}`);
  const cell = (s: number[] | undefined): string =>
    s ? `${percentile(s, 50).toFixed(1)} / ${percentile(s, 95).toFixed(1)}` : "-";
  const ratio = (a: number[] | undefined, b: number[] | undefined): string =>
    a && b ? `${(percentile(a, 50) / percentile(b, 50)).toFixed(2)}x` : "-";
  const header = ["step", "berth", "containerd", "raw runc", "berth/containerd", "berth/runc"];
  const rows = STEPS.map((step) => [
    step,
    cell(berth[step]),
    cell(containerd?.[step]),
    cell(raw[step]),
    ratio(berth[step], containerd?.[step]),
    ratio(berth[step], raw[step]),
  ]);
  printColumns(header, rows);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
