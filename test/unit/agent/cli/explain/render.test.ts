import { describe, expect, it } from "vitest";
import { painter } from "../../../../../agent/cli/colour-table.js";
import { explainPod } from "../../../../../agent/cli/explain/analyze.js";
import { printable, renderExplanation, renderStructured } from "../../../../../agent/cli/explain/render.js";
import {
  NOW,
  at,
  event,
  input,
  pod,
  readyConditions,
  running,
  status,
  terminated,
  waiting,
} from "./fixtures.js";

const clock = { now: NOW, utc: true };

const crashing = () =>
  explainPod(
    input(
      pod({
        containers: [{ name: "app", image: "busybox:1.36" }],
        status: {
          containerStatuses: [
            status(
              "app",
              waiting("CrashLoopBackOff", "back-off 40s restarting failed container=app pod=web_default"),
              {
                restartCount: 2,
                lastState: terminated(1, "Error", "12:04:40", "12:04:42"),
              },
            ),
          ],
        },
      }),
      [
        event("BackOff", "Back-off restarting failed container app in pod web_default", {
          container: "app",
          time: "12:04:43",
        }),
      ],
      {
        logTails: {
          app: {
            path: "/var/log/pods/x/app/1.log",
            lines: ["loading config", "\u001b[31mfatal\u001b[0m: no config"],
          },
        },
      },
    ),
  );

describe("renderExplanation", () => {
  it("prints a headline per problem with its evidence and log lines under it", () => {
    expect(renderExplanation(crashing(), clock)).toBe(
      [
        "pod default/web: 1 problem found (1 critical)",
        "",
        "[critical] CrashLoopBackOff: container app exits with code 1 (Error) after ~2s; last at 12:04:42 (18s ago); " +
          "restarted 2 times; next restart in ~22s (back-off 40s)",
        "    12:04:42  exited with code 1 (Error) after ~2s",
        "    12:04:43  BackOff: Back-off restarting failed container app in pod web_default",
        "    last log lines of app, previous run (/var/log/pods/x/app/1.log):",
        "      | loading config",
        "      | fatal: no config",
        "",
      ].join("\n"),
    );
  });

  it("prints one green line for a healthy pod, colour only on a terminal", () => {
    const healthy = explainPod(
      input(
        pod({
          containers: [{ name: "app", image: "busybox:1.36" }],
          status: {
            conditions: readyConditions(true),
            containerStatuses: [status("app", running("11:00:00"))],
          },
        }),
      ),
    );
    expect(renderExplanation(healthy, clock)).toBe(
      "pod default/web: no problems found: all containers running and ready, 0 restarts\n",
    );
    const tty = painter({ isTTY: true }, {});
    expect(renderExplanation(healthy, clock, tty)).toContain("\u001b[32mno problems found");
    expect(renderExplanation(crashing(), clock, tty)).toContain(
      "\u001b[31m[critical]\u001b[0m CrashLoopBackOff",
    );
    expect(renderExplanation(crashing(), clock, painter({ isTTY: false }, {}))).not.toContain("\u001b[");
  });

  it("gives the findings as JSON for scripts", () => {
    const json = JSON.parse(renderStructured(crashing(), "json")) as {
      healthy: boolean;
      findings: {
        kind: string;
        container: string;
        severity: string;
        lastTime: string;
        count: number;
        evidence: unknown[];
      }[];
    };
    expect(json.healthy).toBe(false);
    expect(json.findings[0]).toMatchObject({
      kind: "crash-loop",
      container: "app",
      severity: "critical",
      lastTime: at("12:04:42"),
      count: 2,
    });
    expect(json.findings[0]?.evidence).toHaveLength(2);
  });
});

describe("printable", () => {
  it("drops terminal escapes and shows other control characters as ?", () => {
    expect(printable("\u001b[2J\u001b]0;owned\u0007ok\u0000\tdone  ")).toBe("ok?\tdone");
    expect(printable("line one\nline two\n")).toBe("line one | line two");
  });
});
