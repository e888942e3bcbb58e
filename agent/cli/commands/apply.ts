// `berth apply -f FILE`: hands Pod manifests to the agent, which validates and runs them.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ServiceError } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { withNodeApi } from "../../node-api/node-client.js";
import type { RegisterCommand } from "../context.js";

const MANIFEST_NAME = /\.(ya?ml|json)$/i;

export const registerApply: RegisterCommand = (program, ctx) => {
  program
    .command("apply")
    .description("create or update pods from Pod manifests (YAML or JSON)")
    .requiredOption(
      "-f, --filename <file...>",
      'manifest file, folder of manifests (*.yaml, *.yml, *.json), or "-" for standard input',
    )
    .addHelpText(
      "after",
      `
Each file may hold several Pod documents separated by "---". Nothing of a file is
applied unless all of its documents are valid; errors name every field at fault.
A pod that already exists (same namespace and name) is updated: the agent restarts
only the containers whose spec changed. Pods from the node's static manifests folder
can only be changed by editing their file.

Examples:
  berth apply -f web.yaml
  berth apply -f pods/ -f extra.json
  cat web.yaml | berth apply -f -

Exit status: 0 applied, 1 refused (invalid manifest, ...), 2 agent unreachable.`,
    )
    .action(async (opts: { filename: string[] }) => {
      const manifests = await readManifests(opts.filename);
      await withNodeApi(ctx.endpoint(), async (api) => {
        for (const { source, text } of manifests) {
          try {
            const { pods } = await api.applyPod({ manifest: text, sourceName: source });
            for (const { pod, action } of pods)
              process.stdout.write(`pod/${pod?.metadata?.name ?? "?"} ${action}\n`);
          } catch (err) {
            const grpc = err as Partial<ServiceError>;
            // An unreachable agent fails every file alike: stop at once (exit status 2).
            if (grpc.code === status.UNAVAILABLE || grpc.details === undefined) throw err;
            process.stderr.write(`berth: ${grpc.details}\n`);
            process.exitCode = 1;
          }
        }
      });
    });
};

interface Manifest {
  source: string;
  text: string;
}

async function readManifests(names: readonly string[]): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  for (const name of names) {
    if (name === "-") {
      manifests.push({ source: "stdin", text: await readStdin() });
    } else if ((await stat(name)).isDirectory()) {
      const files = (await readdir(name)).filter((f) => MANIFEST_NAME.test(f) && !f.startsWith(".")).sort();
      if (files.length === 0) throw new Error(`${name}: no *.yaml, *.yml or *.json file in this folder`);
      for (const f of files)
        manifests.push({ source: join(name, f), text: await readFile(join(name, f), "utf8") });
    } else {
      manifests.push({ source: name, text: await readFile(name, "utf8") });
    }
  }
  return manifests;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
