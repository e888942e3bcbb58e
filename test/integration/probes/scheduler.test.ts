// The scheduler with its real clock, timers and handlers, against servers on 127.0.0.1.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DeadlineExceededError } from "../../../common/errors.js";
import { silentLogger } from "../../../common/logger.js";
import type { ExecFn } from "../../../probes/handlers/exec.js";
import { ProbeScheduler, type ProbeUpdate } from "../../../probes/scheduler.js";

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Resolves with the first update of `key` that `matches`, or rejects after `ms`. */
function waitFor(
  updates: Map<string, ProbeUpdate[]>,
  key: string,
  matches: (u: ProbeUpdate) => boolean,
  ms = 10_000,
): Promise<ProbeUpdate> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const found = updates.get(key)?.find(matches);
      if (found) {
        clearInterval(poll);
        resolve(found);
      } else if (Date.now() - started > ms) {
        clearInterval(poll);
        reject(new Error(`no matching update for ${key} within ${ms}ms`));
      }
    }, 20);
  });
}

describe("ProbeScheduler on real timers", () => {
  it("drives HTTP, TCP and exec probes to their results", async () => {
    let healthy = true;
    const server = http.createServer((_req, res) => res.writeHead(healthy ? 200 : 503).end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;

    const execFn: ExecFn = async (containerId, command) => {
      if (command[0] === "hang") throw new DeadlineExceededError(`exec in ${containerId} timed out`);
      return { exitCode: 0, stdout: "fine", stderr: "" };
    };
    const counted: string[] = [];
    const scheduler = new ProbeScheduler({
      execFn,
      logger: silentLogger(),
      onProbe: (kind, result) => counted.push(`${kind}:${result}`),
    });
    cleanups.push(() => scheduler.close());

    const updates = new Map<string, ProbeUpdate[]>();
    const record = (key: string, update: ProbeUpdate): void => {
      updates.set(key, [...(updates.get(key) ?? []), update]);
    };
    const target = { containerId: "c1", podIP: "127.0.0.1" };
    scheduler.add(
      "c1/ready",
      { httpGet: { port, path: "/ready" }, periodSeconds: 1 },
      "readiness",
      target,
      record,
    );
    scheduler.add(
      "c1/tcp",
      { tcpSocket: { port: 1 }, periodSeconds: 1, failureThreshold: 1 },
      "liveness",
      target,
      record,
    );
    scheduler.add(
      "c1/exec",
      { exec: { command: ["hang"] }, periodSeconds: 1, failureThreshold: 2 },
      "liveness",
      {
        containerId: "c2",
      },
      record,
    );

    const ready = await waitFor(updates, "c1/ready", (u) => u.changed);
    expect(ready).toMatchObject({ kind: "readiness", result: "success", previous: "failure" });

    const dead = await waitFor(updates, "c1/tcp", (u) => u.changed);
    expect(dead).toMatchObject({ kind: "liveness", result: "failure", previous: "success" });
    expect(dead.output).toContain("ECONNREFUSED");

    const hung = await waitFor(updates, "c1/exec", (u) => u.changed);
    expect(hung).toMatchObject({ result: "failure", output: 'command ["hang"] timed out after 1s' });
    expect(updates.get("c1/exec")).toHaveLength(2);

    healthy = false;
    const unready = await waitFor(updates, "c1/ready", (u) => u.changed && u.result === "failure");
    expect(unready.output).toBe("HTTP probe failed with statuscode: 503");
    expect(counted).toContain("readiness:success");
    expect(counted).toContain("readiness:failure");
  });
});
