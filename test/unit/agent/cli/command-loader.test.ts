import { Command, Help } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import { moduleOf, registerCommands, requestedCommand } from "../../../../agent/cli/command-loader.js";
import { COMMAND_MODULES } from "../../../../agent/cli/commands/index.js";
import type { CliContext } from "../../../../agent/cli/context.js";

const ctx: CliContext = {
  endpoint: () => "/nonexistent.sock",
  withCri: () => Promise.reject(new Error("no agent in unit tests")),
};

function program(): Command {
  return new Command().name("berth").option("--endpoint <socket>", "agent socket");
}

/** Every module loaded and registered in full, as the CLI did before it loaded lazily. */
async function fullyRegistered(): Promise<Command> {
  const p = program();
  for (const module of COMMAND_MODULES) (await module.load())(p, ctx);
  return p;
}

describe("requestedCommand: the command an invocation names", () => {
  it.each([
    [["pods"], "pods"],
    [["pods", "-A", "-o", "wide"], "pods"],
    [["--endpoint", "/x.sock", "logs", "-f", "web"], "logs"],
    [["--endpoint=/x.sock", "ps", "-a"], "ps"],
    [["help", "logs"], "logs"],
    [["--endpoint", "pods", "describe", "web"], "describe"],
    [["image", "import", "/dir"], "image"],
    [["--version"], undefined],
    [["--help"], undefined],
    [[], undefined],
    [["help"], undefined],
  ])("%j -> %s", (args, expected) => {
    expect(requestedCommand(args)).toBe(expected);
  });

  it("maps each listed name to the module that registers it", () => {
    expect(moduleOf("top")?.commands.map((c) => c.name)).toEqual(["stats", "top"]);
    expect(moduleOf("bogus")).toBeUndefined();
  });
});

describe("the light command summaries", () => {
  // Transforming every command module (and the daemon behind `berth agent`) takes a while.
  beforeAll(async () => {
    for (const module of COMMAND_MODULES) await module.load();
  }, 120_000);

  it("list exactly what each module registers, with its help term and description", async () => {
    const help = new Help();
    for (const module of COMMAND_MODULES) {
      const p = program();
      (await module.load())(p, ctx);
      const registered = p.commands.map((c) => ({
        name: c.name(),
        term: help.subcommandTerm(c),
        description: c.description(),
      }));
      expect(registered).toEqual(module.commands);
    }
  });

  it("give the same top-level help as registering every module in full", async () => {
    const light = program();
    await registerCommands(light, ctx, ["--help"]);
    expect(light.helpInformation()).toBe((await fullyRegistered()).helpInformation());
  });

  it("register the requested command in full and the others for the listing only", async () => {
    const p = program();
    await registerCommands(p, ctx, ["logs", "-f", "web"]);
    const logs = p.commands.find((c) => c.name() === "logs")!;
    const pods = p.commands.find((c) => c.name() === "pods")!;
    expect(logs.options.map((o) => o.long)).toContain("--follow");
    expect(pods.options).toEqual([]);
    expect(p.helpInformation()).toBe((await fullyRegistered()).helpInformation());
  });
});
