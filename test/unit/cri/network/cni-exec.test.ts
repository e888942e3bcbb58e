import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeadlineExceededError, RuntimeFailureError } from "../../../../common/errors.js";
import {
  CniPluginError,
  execPlugin,
  pluginFailure,
  queryPluginVersions,
  type PluginCall,
} from "../../../../cri/network/cni-exec.js";
import { installFakePlugins, readCalls } from "./fake-plugins.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-cni-exec-"));
  await installFakePlugins(dir, ["fake"], "0.4.0,1.0.0");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function call(overrides: Partial<PluginCall> = {}): PluginCall {
  return {
    pluginName: "fake",
    pluginPath: join(dir, "fake"),
    command: "ADD",
    containerId: "c1",
    netnsPath: "/run/berth/netns/c1",
    ifName: "eth0",
    cniArgs: "IgnoreUnknown=1;K8S_POD_NAME=p",
    pluginDirs: ["/x/bin", "/y/bin"],
    config: { cniVersion: "1.0.0", name: "net", type: "fake", fakeIp: "10.9.0.5" },
    ...overrides,
  };
}

describe("execPlugin", () => {
  it("passes the CNI_* environment and the config on stdin, and parses the result", async () => {
    const result = await execPlugin(call());
    expect(result).toMatchObject({ cniVersion: "1.0.0", ips: [{ address: "10.9.0.5/24" }] });
    const [recorded] = (await readCalls(dir)).slice(-1);
    expect(recorded).toEqual({
      plugin: "fake",
      command: "ADD",
      containerId: "c1",
      netns: "/run/berth/netns/c1",
      ifName: "eth0",
      args: "IgnoreUnknown=1;K8S_POD_NAME=p",
      path: "/x/bin:/y/bin",
      config: { cniVersion: "1.0.0", name: "net", type: "fake", fakeIp: "10.9.0.5" },
    });
  });

  it("returns undefined when the plugin prints nothing, and passes an empty CNI_NETNS", async () => {
    expect(await execPlugin(call({ command: "DEL", netnsPath: "" }))).toBeUndefined();
    const [recorded] = (await readCalls(dir)).slice(-1);
    expect(recorded?.netns).toBe("");
  });

  it("throws the plugin's error object with its name, code, msg and details", async () => {
    const attempt = execPlugin(
      call({ config: { cniVersion: "1.0.0", name: "net", type: "fake", fakeFail: "ADD" } }),
    );
    await expect(attempt).rejects.toBeInstanceOf(CniPluginError);
    await expect(attempt).rejects.toBeInstanceOf(RuntimeFailureError);
    const err = (await attempt.catch((e: unknown) => e)) as CniPluginError;
    expect(err.plugin).toBe("fake");
    expect(err.code).toBe(11);
    expect(err.msg).toBe("fake refused");
    expect(err.details).toBe("by request");
    expect(err.message).toBe('CNI plugin "fake" ADD failed (code 11): fake refused: by request');
  });

  it("uses stderr when a failing plugin prints no error object", async () => {
    const attempt = execPlugin(
      call({
        config: { cniVersion: "1.0.0", name: "n", type: "fake", fakeFail: "ADD", fakeStderrOnly: true },
      }),
    );
    await expect(attempt).rejects.toThrow('CNI plugin "fake" ADD failed: plain failure from fake');
  });

  it("kills a plugin that outlives its deadline", async () => {
    const started = Date.now();
    const attempt = execPlugin(
      call({ timeoutMs: 300, config: { cniVersion: "1.0.0", name: "n", type: "fake", fakeHang: "ADD" } }),
    );
    await expect(attempt).rejects.toBeInstanceOf(DeadlineExceededError);
    await expect(attempt).rejects.toThrow(/fake.*ADD.*300 ms/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("reports a plugin that cannot be run", async () => {
    await expect(execPlugin(call({ pluginPath: join(dir, "absent") }))).rejects.toBeInstanceOf(
      CniPluginError,
    );
  });
});

describe("pluginFailure", () => {
  it("falls back to the exit status when the plugin said nothing", () => {
    expect(pluginFailure("p", "DEL", { stdout: "", stderr: "", exitCode: 2 }).message).toBe(
      'CNI plugin "p" DEL failed: exited with status 2',
    );
  });
});

describe("queryPluginVersions", () => {
  it("returns the versions a plugin supports", async () => {
    expect(await queryPluginVersions("fake", join(dir, "fake"))).toEqual({
      cniVersion: "1.0.0",
      supportedVersions: ["0.4.0", "1.0.0"],
    });
  });
});
