import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultConfig, loadConfig } from "../../../../agent/config.js";
import { InvalidArgumentError } from "../../../../common/errors.js";

describe("config: http endpoint and stats interval", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-config-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const load = async (yaml: string, env: NodeJS.ProcessEnv = {}) => {
    const path = join(dir, "config.yaml");
    await writeFile(path, yaml);
    return loadConfig({ path, env });
  };

  it("defaults to loopback port 10250 and a 10 s interval", () => {
    const config = defaultConfig();
    expect(config.http).toEqual({ enabled: true, address: "127.0.0.1", port: 10250 });
    expect(config.statsIntervalSeconds).toBe(10);
  });

  it("takes them from the file, then the environment", async () => {
    const config = await load("http:\n  port: 0\nstatsIntervalSeconds: 2.5\n", {
      BERTH_HTTP_ADDRESS: "::1",
    });
    expect(config.http).toEqual({ enabled: true, address: "::1", port: 0 });
    expect(config.statsIntervalSeconds).toBe(2.5);
    expect((await load("", { BERTH_HTTP_PORT: "9100" })).http.port).toBe(9100);
  });

  it("refuses bad ports and intervals, naming the field", async () => {
    await expect(load("http:\n  port: 70000\n")).rejects.toThrow(/http: port/);
    await expect(load("", { BERTH_HTTP_PORT: "web" })).rejects.toThrow(/BERTH_HTTP_PORT/);
    await expect(load("statsIntervalSeconds: 0\n")).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(load('http:\n  address: ""\n')).rejects.toThrow(/http: address/);
  });
});
