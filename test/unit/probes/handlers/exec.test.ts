import { describe, expect, it } from "vitest";
import { DeadlineExceededError, RuntimeFailureError } from "../../../../common/errors.js";
import { runExecProbe, type ExecFn, type ExecResult } from "../../../../probes/handlers/exec.js";

function fakeExec(reply: ExecResult | Error): { execFn: ExecFn; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const execFn: ExecFn = async (...args) => {
    calls.push(args);
    if (reply instanceof Error) throw reply;
    return reply;
  };
  return { execFn, calls };
}

describe("runExecProbe", () => {
  it("passes container, command and timeout to the exec function, and succeeds on exit 0", async () => {
    const { execFn, calls } = fakeExec({ exitCode: 0, stdout: "ok\n", stderr: "" });
    const outcome = await runExecProbe(execFn, "c1", { command: ["cat", "/tmp/healthy"] }, 3);
    expect(calls).toEqual([["c1", ["cat", "/tmp/healthy"], 3]]);
    expect(outcome).toEqual({ result: "success", output: "ok\n" });
  });

  it("fails on a non-zero exit, with stdout then stderr as output", async () => {
    const { execFn } = fakeExec({ exitCode: 1, stdout: Buffer.from("out;"), stderr: "no such file" });
    expect(await runExecProbe(execFn, "c1", { command: ["cat", "x"] }, 1)).toEqual({
      result: "failure",
      output: "out;no such file",
    });
  });

  it("counts a timeout as a failure and says so", async () => {
    const { execFn } = fakeExec(new DeadlineExceededError("exec timed out"));
    const outcome = await runExecProbe(execFn, "c1", { command: ["sleep", "10"] }, 2);
    expect(outcome.result).toBe("failure");
    expect(outcome.output).toBe('command ["sleep","10"] timed out after 2s');
  });

  it("reports unknown when the command could not be run at all", async () => {
    const { execFn } = fakeExec(new RuntimeFailureError("container c1 is not running"));
    const outcome = await runExecProbe(execFn, "c1", { command: ["true"] }, 1);
    expect(outcome).toEqual({ result: "unknown", output: "exec failed: container c1 is not running" });
  });

  it("caps the output at 10 KiB", async () => {
    const { execFn } = fakeExec({ exitCode: 0, stdout: "a".repeat(8 * 1024), stderr: "b".repeat(8 * 1024) });
    const outcome = await runExecProbe(execFn, "c1", { command: ["yes"] }, 1);
    expect(outcome.output).toHaveLength(10 * 1024);
    expect(outcome.output.endsWith("b".repeat(2 * 1024))).toBe(true);
  });
});
