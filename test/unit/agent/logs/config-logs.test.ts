// The container log rotation fields of the agent config: kubelet's names, defaults and bounds.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadConfig } from "../../../../agent/config.js";
import { renderDefaultConfig } from "../../../../systemd/default-config.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-config-logs-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("container log settings in the agent config", () => {
  it("default to the kubelet's 10Mi, 5 files, checked every 10s", async () => {
    const config = await loadConfig({ path: join(dir, "absent.yaml"), env: {} });
    expect(config).toMatchObject({
      containerLogMaxSize: "10Mi",
      containerLogMaxFiles: 5,
      containerLogMonitorInterval: "10s",
    });
  });

  it("are read from the file, and refused by name when out of bounds", async () => {
    const file = join(dir, "config.yaml");
    await writeFile(
      file,
      "containerLogMaxSize: 64Ki\ncontainerLogMaxFiles: 3\ncontainerLogMonitorInterval: 3s\n",
    );
    const config = await loadConfig({ path: file, env: {} });
    expect(config).toMatchObject({ containerLogMaxSize: "64Ki", containerLogMaxFiles: 3 });
    await writeFile(file, "containerLogMaxFiles: 1\n");
    await expect(loadConfig({ path: file, env: {} })).rejects.toThrow(/containerLogMaxFiles/);
    await writeFile(file, "containerLogMaxSize: 10MB\n");
    await expect(loadConfig({ path: file, env: {} })).rejects.toThrow(/containerLogMaxSize/);
    await writeFile(file, "containerLogMaxSize: 10\n");
    await expect(loadConfig({ path: file, env: {} })).rejects.toThrow(
      /containerLogMaxSize: must be a string/,
    );
  });

  it("are written, commented out with a note, in the default config file", () => {
    const text = renderDefaultConfig();
    expect(text).toContain("#containerLogMaxSize: 10Mi\n");
    expect(text).toContain("#containerLogMaxFiles: 5\n");
    expect(text).toMatch(/# Container log rotation, as the kubelet's/);
    const uncommented = text
      .split("\n")
      .filter((l) => l.startsWith("#containerLog"))
      .map((l) => l.slice(1))
      .join("\n");
    expect(parseYaml(uncommented)).toEqual({
      containerLogMaxSize: "10Mi",
      containerLogMaxFiles: 5,
      containerLogMonitorInterval: "10s",
    });
  });
});
