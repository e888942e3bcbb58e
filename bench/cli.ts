// CLI start-up: `berth --version`, `berth --help` and `berth pods` against a running agent,
// beside `node -e 1` (the floor: starting node itself) and beside the ListPods RPC alone
// from a connected client (what `berth pods` must do whatever its start-up costs). Runs
// are interleaved so that load on the machine hits every command alike.
//   BENCH_CLI_RUNS (15)   runs of each command
//   BENCH_CLI_COMPARE     another build's dist/agent/cli/main.js, timed beside this one
import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { detectHostLayout } from "../cgroups/detect.js";
import { CgroupManager } from "../cgroups/manager.js";
import { connectNode } from "../agent/node-api/node-client.js";
import { agentTestDirs, BERTH_BIN, startAgentProcess } from "../harness/agent-process.js";
import { envCount, percentile, printColumns, timeMs } from "./stats-util.js";

const RUNS = envCount("BENCH_CLI_RUNS", 15);

function run(args: string[]): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      // "No resources found" is how an empty `berth pods` ends; anything else failed.
      if (code === 0) resolve(ms);
      else reject(new Error(`node ${args.join(" ")} exited ${code}: ${err}`));
    });
  });
}

export async function main(): Promise<void> {
  const { root, dirs } = await agentTestDirs("berth-bench-cli-");
  const agent = await startAgentProcess(dirs);
  try {
    const builds = [["", BERTH_BIN]];
    if (process.env.BENCH_CLI_COMPARE) builds.push([" (compared build)", process.env.BENCH_CLI_COMPARE]);
    const cases: [string, string[]][] = [["node -e 1", ["-e", "1"]]];
    for (const [label, bin] of builds) {
      cases.push([`berth --version${label}`, [bin!, "--version"]]);
      cases.push([`berth --help${label}`, [bin!, "--help"]]);
      cases.push([`berth pods${label}`, [bin!, "--endpoint", dirs.socket, "pods"]]);
    }
    const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
    for (let i = 0; i < RUNS; i++) for (const [name, args] of cases) samples.get(name)!.push(await run(args));

    const node = connectNode(dirs.socket);
    const rpc: number[] = [];
    try {
      await node.listPods({ namespace: "default", labelSelector: "" });
      for (let i = 0; i < RUNS; i++)
        rpc.push(await timeMs(() => node.listPods({ namespace: "default", labelSelector: "" })));
    } finally {
      node.close();
    }

    const floor = percentile(samples.get("node -e 1")!, 50);
    console.log(`\nCLI start-up, ms (${RUNS} runs each, interleaved; agent on its own socket, no pods)`);
    printColumns(
      ["command", "median", "p95", "median - node -e 1"],
      [
        ...cases.map(([name]) => {
          const s = samples.get(name)!;
          return [
            name,
            percentile(s, 50).toFixed(0),
            percentile(s, 95).toFixed(0),
            (percentile(s, 50) - floor).toFixed(0),
          ];
        }),
        [
          "ListPods RPC alone (connected client)",
          percentile(rpc, 50).toFixed(1),
          percentile(rpc, 95).toFixed(1),
          "-",
        ],
      ],
    );
  } finally {
    await agent.stop();
    await new CgroupManager({ layout: await detectHostLayout() }).remove(dirs.cgroupRoot);
    await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
