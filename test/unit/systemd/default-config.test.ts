import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultConfig, loadConfig } from "../../../agent/config.js";
import { renderDefaultConfig } from "../../../systemd/default-config.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-default-config-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(text: string) {
  const path = join(dir, "config.yaml");
  await writeFile(path, text);
  return loadConfig({ path, required: true, env: {} });
}

describe("renderDefaultConfig", () => {
  it("changes nothing as written: every line is a comment", async () => {
    const text = renderDefaultConfig();
    expect(text.split("\n").filter((line) => line !== "" && !line.startsWith("#"))).toEqual([]);
    expect(await load(text)).toEqual(defaultConfig());
  });

  it("documents real fields: uncommenting every setting gives the defaults again", async () => {
    // Settings are "#<yaml>" (no space after "#", or the indentation of a nested key); notes are "# text".
    const uncommented = renderDefaultConfig()
      .split("\n")
      .filter((line) => /^#(\S| {2})/.test(line))
      .map((line) => line.slice(1))
      .join("\n");
    expect(uncommented).toContain("cgroupRoot: /berth");
    expect(uncommented).toContain("cni:");
    expect(await load(uncommented)).toEqual(defaultConfig());
  });
});
