import { describe, expect, it } from "vitest";
import { renderUnit } from "../../../systemd/unit.js";

/** The unit's key=value lines (comments and sections dropped), for lookups. */
function directives(unit: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of unit.split("\n")) {
    if (line.startsWith("#") || line.startsWith("[") || !line.includes("=")) continue;
    const key = line.slice(0, line.indexOf("="));
    map.set(key, [...(map.get(key) ?? []), line.slice(line.indexOf("=") + 1)]);
  }
  return map;
}

const base = { nodeBinary: "/usr/bin/node", mainScript: "/opt/berth/dist/agent/cli/main.js" };

describe("renderUnit", () => {
  it("runs the agent as a notify service that owns its cgroup and leaves containers running", () => {
    const unit = directives(renderUnit(base));
    expect(unit.get("ExecStart")).toEqual(["/usr/bin/node /opt/berth/dist/agent/cli/main.js agent"]);
    const expected: Record<string, string> = {
      Type: "notify",
      NotifyAccess: "all",
      Delegate: "yes",
      KillMode: "process",
      Restart: "always",
      RestartSec: "2",
      WatchdogSec: "30",
      LimitNOFILE: "1048576",
      LimitNPROC: "infinity",
      TasksMax: "infinity",
      OOMScoreAdjust: "-999",
      WantedBy: "multi-user.target",
      ExecReload: "/bin/kill -HUP $MAINPID",
    };
    for (const [key, value] of Object.entries(expected)) expect(unit.get(key), key).toEqual([value]);
    expect(unit.get("TimeoutStartSec")).toHaveLength(1);
    expect(unit.has("DelegateSubgroup")).toBe(false);
  });

  it("says why next to every unusual line", () => {
    const lines = renderUnit(base).split("\n");
    for (const key of [
      "Type=",
      "NotifyAccess=",
      "Delegate=",
      "KillMode=",
      "WatchdogSec=",
      "LimitNOFILE=",
      "OOMScoreAdjust=",
    ]) {
      const index = lines.findIndex((line) => line.startsWith(key));
      expect(index, key).toBeGreaterThan(0);
      expect(lines[index - 1], `comment above ${key}`).toMatch(/^# /);
    }
  });

  it("takes the watchdog period, a config path, and DelegateSubgroup when systemd supports it", () => {
    const unit = directives(
      renderUnit({
        ...base,
        watchdogSec: 5,
        configPath: "/etc/berth/other config.yaml",
        delegateSubgroup: true,
      }),
    );
    expect(unit.get("WatchdogSec")).toEqual(["5"]);
    expect(unit.get("DelegateSubgroup")).toEqual(["agent"]);
    expect(unit.get("ExecStart")).toEqual([
      '/usr/bin/node /opt/berth/dist/agent/cli/main.js agent --config "/etc/berth/other config.yaml"',
    ]);
  });
});
