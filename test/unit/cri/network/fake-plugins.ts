// Stand-in CNI plugins for the unit tests: small node scripts that record every call
// (command, CNI_* environment, stdin config) in a JSON-lines log and answer as the config
// tells them (`fakeFail` / `fakeHang` with a command name, `fakeIp` for ADD's address).
// They test what berth sends and how it reacts, not networking.
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface RecordedCall {
  plugin: string;
  command: string;
  containerId: string;
  netns: string;
  ifName: string;
  args: string;
  path: string;
  config: Record<string, unknown>;
}

const SCRIPT = `
const fs = require("node:fs");
const path = require("node:path");
const name = path.basename(process.argv[1]);
const command = process.env.CNI_COMMAND;
const stdin = fs.readFileSync(0, "utf8");
if (command === "VERSION") {
  const versions = process.env.FAKE_CNI_VERSIONS || fs.readFileSync(__filename + ".versions", "utf8").trim();
  process.stdout.write(JSON.stringify({ cniVersion: "1.0.0", supportedVersions: versions.split(",") }));
  process.exit(0);
}
const config = JSON.parse(stdin);
fs.appendFileSync(path.join(path.dirname(process.argv[1]), "calls.log"), JSON.stringify({
  plugin: name, command, containerId: process.env.CNI_CONTAINERID, netns: process.env.CNI_NETNS,
  ifName: process.env.CNI_IFNAME, args: process.env.CNI_ARGS, path: process.env.CNI_PATH, config,
}) + "\\n");
if (config.fakeHang === command) setInterval(() => {}, 1000);
else if (config.fakeFail === command) {
  if (config.fakeStderrOnly) { process.stderr.write("plain failure from " + name + "\\n"); process.exit(3); }
  process.stdout.write(JSON.stringify({ cniVersion: config.cniVersion, code: 11, msg: name + " refused", details: "by request" }));
  process.exit(1);
} else if (command === "ADD") {
  const result = config.prevResult || {
    cniVersion: config.cniVersion,
    interfaces: [{ name: "br" }, { name: process.env.CNI_IFNAME, sandbox: process.env.CNI_NETNS }],
    ips: [{ address: (config.fakeIp || "10.99.0.2") + "/24", interface: 1 }],
  };
  process.stdout.write(JSON.stringify(result));
}
`;

/** Installs fake plugins with these names in dir; VERSION answers with `versions`. */
export async function installFakePlugins(
  dir: string,
  names: string[],
  versions = "0.3.1,0.4.0,1.0.0",
): Promise<void> {
  for (const name of names) {
    const file = join(dir, name);
    await writeFile(file, `#!${process.execPath}\n${SCRIPT}`);
    await writeFile(`${file}.versions`, versions);
    await chmod(file, 0o755);
  }
}

export async function readCalls(dir: string): Promise<RecordedCall[]> {
  try {
    const text = await readFile(join(dir, "calls.log"), "utf8");
    return text
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as RecordedCall);
  } catch {
    return [];
  }
}

export async function clearCalls(dir: string): Promise<void> {
  await writeFile(join(dir, "calls.log"), "");
}
