// Image pull time from a local registry: berth's puller into an empty store (resolve, download,
// verify, unpack) beside `skopeo copy docker://... oci:<dir>` of the same image (download and
// verify only, no unpack), and beside that copy followed by berth's import of the layout (the
// same work as a pull, done in two steps), on a multi-layer image of random data over busybox
// pushed to a docker-registry on loopback. Also a re-pull with every layer present.
//   npm run build && node dist/bench/pull.js
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../common/logger.js";
import { ImagePuller } from "../cri/images/pull/puller.js";
import { ImageStore } from "../cri/images/store.js";
import { buildBusyboxImage } from "../harness/oci-image.js";
import {
  insecureHostsToml,
  pushLayout,
  skopeoPull,
  startRegistry,
  writeHostsToml,
} from "../harness/registry-harness.js";
import { percentile, printTable, timeMs } from "./stats-util.js";

const RUNS = Number(process.env.BENCH_PULL_RUNS ?? 5);
const LAYERS = Number(process.env.BENCH_PULL_LAYERS ?? 5);
const LAYER_MIB = Number(process.env.BENCH_PULL_LAYER_MIB ?? 4);

export async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "berth-bench-pull-"));
  const registry = await startRegistry();
  try {
    const image = await buildBusyboxImage(join(work, "layout"), {
      name: "berth.bench/pull/data:v1",
      extraLayers: Array.from({ length: LAYERS }, (_, i) => [
        { path: `data/layer-${i}.bin`, content: randomBytes(LAYER_MIB * 1024 * 1024) },
      ]),
    });
    await pushLayout(image.dir, "v1", registry.host, "bench/data:v1");
    const hostsDir = join(work, "certs.d");
    await writeHostsToml(hostsDir, registry.host, insecureHostsToml(registry.host));
    const ref = `${registry.host}/bench/data:v1`;

    const cold: number[] = [];
    const warm: number[] = [];
    const skopeo: number[] = [];
    const skopeoThenImport: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const storeRoot = await mkdtemp(join(work, "store-"));
      const store = new ImageStore({ root: storeRoot, logger: silentLogger() });
      await store.init();
      const puller = new ImagePuller({ store, logger: silentLogger(), hostsConfigDir: hostsDir });
      cold.push(
        await timeMs(async () => {
          const result = await puller.pull(ref);
          if (result.imageRef !== image.imageId)
            throw new Error(`pulled ${result.imageRef}, pushed ${image.imageId}`);
        }),
      );
      warm.push(await timeMs(() => puller.pull(ref)));
      await puller.close();
      await rm(storeRoot, { recursive: true, force: true });

      const layoutDir = await mkdtemp(join(work, "skopeo-"));
      const copyMs = await timeMs(() => skopeoPull(ref, layoutDir));
      skopeo.push(copyMs);
      const importRoot = await mkdtemp(join(work, "import-"));
      const importStore = new ImageStore({ root: importRoot, logger: silentLogger() });
      await importStore.init();
      const importMs = await timeMs(() => importStore.importOciLayout(layoutDir, { tag: "bench/data:v1" }));
      skopeoThenImport.push(copyMs + importMs);
      await rm(layoutDir, { recursive: true, force: true });
      await rm(importRoot, { recursive: true, force: true });
    }

    const mb = image.size / 1e6;
    printTable(
      `image pull from a loopback registry: ${LAYERS} x ${LAYER_MIB} MiB random layers + busybox, ` +
        `${mb.toFixed(1)} MB compressed, ${RUNS} runs`,
      [
        { name: "cold pull vs skopeo copy (no unpack)", samples: cold, baseline: skopeo },
        { name: "cold pull vs skopeo copy + berth import", samples: cold, baseline: skopeoThenImport },
        { name: "re-pull, all layers present", samples: warm },
      ],
    );
    const rate = (samples: number[]) => (mb / (percentile(samples, 50) / 1000)).toFixed(0);
    console.log(`throughput (median): berth ${rate(cold)} MB/s incl. unpack, skopeo ${rate(skopeo)} MB/s`);
  } finally {
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
