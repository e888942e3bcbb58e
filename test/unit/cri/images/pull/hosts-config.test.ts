import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FailedPreconditionError } from "../../../../../common/errors.js";
import { silentLogger } from "../../../../../common/logger.js";
import {
  defaultEndpoint,
  parseHostsFile,
  RegistryHosts,
} from "../../../../../cri/images/pull/hosts-config.js";

describe("defaultEndpoint", () => {
  it("reaches Docker Hub at registry-1.docker.io and others at their name, over HTTPS", () => {
    expect(defaultEndpoint("docker.io")).toMatchObject({
      scheme: "https",
      host: "registry-1.docker.io",
      apiBase: "https://registry-1.docker.io/v2",
      capabilities: ["pull", "resolve", "push"],
      skipVerify: false,
      mirror: false,
    });
    expect(defaultEndpoint("localhost:5000").apiBase).toBe("https://localhost:5000/v2");
    expect(defaultEndpoint("127.0.0.1:5000").scheme).toBe("https");
  });
});

describe("parseHostsFile", () => {
  it("lists mirrors in order, then the server, with their settings", () => {
    const { endpoints, warnings } = parseHostsFile(
      [
        'server = "https://registry-1.docker.io"',
        '[host."https://mirror.example.com/dockerhub"]',
        '  capabilities = ["pull", "resolve"]',
        '  ca = "mirror-ca.pem"',
        '[host."http://10.0.0.1:5000"]',
        '  capabilities = ["pull"]',
        "  skip_verify = true",
        '[host."https://proxy.example.com/v2/custom"]',
        "  override_path = true",
        '  [host."https://proxy.example.com/v2/custom".header]',
        '    x-mirror = "yes"',
      ].join("\n"),
      "docker.io",
      "/etc/berth/certs.d/docker.io",
    );
    expect(warnings).toEqual([]);
    expect(endpoints.map((e) => [e.apiBase, e.capabilities, e.mirror])).toEqual([
      ["https://mirror.example.com/dockerhub/v2", ["pull", "resolve"], true],
      ["http://10.0.0.1:5000/v2", ["pull"], true],
      ["https://proxy.example.com/v2/custom", ["pull", "resolve", "push"], true],
      ["https://registry-1.docker.io/v2", ["pull", "resolve", "push"], false],
    ]);
    expect(endpoints[0]!.caFiles).toEqual(["/etc/berth/certs.d/docker.io/mirror-ca.pem"]);
    expect(endpoints[1]).toMatchObject({ scheme: "http", host: "10.0.0.1:5000", skipVerify: true });
    expect(endpoints[2]!.headers).toEqual({ "x-mirror": ["yes"] });
  });

  it("takes the server's own TLS settings and defaults the server to the registry", () => {
    const { endpoints } = parseHostsFile(
      'ca = ["/a.pem", "/b.pem"]\nskip_verify = true\n',
      "reg.example.com",
      "/x",
    );
    expect(endpoints).toEqual([
      expect.objectContaining({
        apiBase: "https://reg.example.com/v2",
        caFiles: ["/a.pem", "/b.pem"],
        skipVerify: true,
        mirror: false,
      }),
    ]);
  });

  it("makes a registry insecure only through an http:// URL", () => {
    const { endpoints } = parseHostsFile('server = "http://127.0.0.1:5000"\n', "127.0.0.1:5000", "/x");
    expect(endpoints[0]).toMatchObject({ scheme: "http", apiBase: "http://127.0.0.1:5000/v2" });
  });

  it("warns about settings it does not act on", () => {
    const { warnings } = parseHostsFile(
      'colour = "blue"\n[host."https://m.example.com"]\n  client = "/c.pem"\n',
      "r.example.com",
      "/x",
    );
    expect(warnings.sort()).toEqual([
      '"host."https://m.example.com".client": client certificates are not supported and are ignored',
      'unknown key "colour" ignored',
    ]);
  });

  it.each([
    ['server = "ftp://r.example.com"', /must start with http/],
    ['server = "https://user:pw@r.example.com"', /must not carry credentials/],
    ['[host."https://m.example.com"]\ncapabilities = ["fetch"]', /unknown capability "fetch"/],
    ["skip_verify = 1", /must be true or false/],
    ["server = 5", /"server" must be a string/],
    ["ca = [1]", /must be a string or a list of strings/],
  ])("refuses %j", (text, message) => {
    expect(() => parseHostsFile(text, "r.example.com", "/x")).toThrow(message);
  });
});

describe("RegistryHosts", () => {
  let dir: string;
  let hosts: RegistryHosts;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-hosts-"));
    hosts = new RegistryHosts({ configDir: dir, logger: silentLogger() });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("uses the registry's own hosts.toml, else _default, else HTTPS at its name", async () => {
    expect(await hosts.endpointsFor("a.example.com")).toEqual([defaultEndpoint("a.example.com")]);
    await mkdir(join(dir, "_default"));
    await writeFile(join(dir, "_default", "hosts.toml"), '[host."https://mirror.example.com"]\n');
    expect((await hosts.endpointsFor("a.example.com")).map((e) => e.apiBase)).toEqual([
      "https://mirror.example.com/v2",
      "https://a.example.com/v2",
    ]);
    await mkdir(join(dir, "a.example.com:5000"));
    await writeFile(join(dir, "a.example.com:5000", "hosts.toml"), 'server = "http://a.example.com:5000"\n');
    expect((await hosts.endpointsFor("a.example.com:5000")).map((e) => e.apiBase)).toEqual([
      "http://a.example.com:5000/v2",
    ]);
  });

  it("trusts *.crt files of a host folder without hosts.toml", async () => {
    await mkdir(join(dir, "b.example.com"));
    await writeFile(join(dir, "b.example.com", "ca.crt"), "pem");
    await writeFile(join(dir, "b.example.com", "notes.txt"), "x");
    const [endpoint] = await hosts.endpointsFor("b.example.com");
    expect(endpoint!.caFiles).toEqual([join(dir, "b.example.com", "ca.crt")]);
  });

  it("fails the pull on a malformed hosts.toml, naming the file and line", async () => {
    await mkdir(join(dir, "c.example.com"));
    await writeFile(join(dir, "c.example.com", "hosts.toml"), 'server = "https://c.example.com"\nbad line\n');
    const err = await hosts.endpointsFor("c.example.com").catch((e: Error) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as Error).message).toContain(join(dir, "c.example.com", "hosts.toml"));
    expect((err as Error).message).toContain("line 2");
  });
});
