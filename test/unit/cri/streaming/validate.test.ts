import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import {
  validateAttachRequest,
  validateExecRequest,
  validatePortForwardRequest,
} from "../../../../cri/streaming/validate.js";

const exec = {
  containerId: "c",
  cmd: ["sh"],
  tty: false,
  stdin: false,
  stdout: true,
  stderr: true,
  auditRequestId: "",
};

describe("streaming request validation", () => {
  it("accepts well-formed requests", () => {
    expect(() => validateExecRequest(exec)).not.toThrow();
    expect(() => validateExecRequest({ ...exec, tty: true, stderr: false, stdin: true })).not.toThrow();
    expect(() => validateAttachRequest({ ...exec })).not.toThrow();
    expect(() => validatePortForwardRequest({ podSandboxId: "p", port: [80, 65535] })).not.toThrow();
    expect(() => validatePortForwardRequest({ podSandboxId: "p", port: [] })).not.toThrow();
  });

  it("names the field at fault", () => {
    const field = (fn: () => void): string | undefined => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidArgumentError);
        return (err as InvalidArgumentError).field;
      }
      return undefined;
    };
    expect(field(() => validateExecRequest({ ...exec, cmd: [] }))).toBe("cmd");
    expect(field(() => validateExecRequest({ ...exec, containerId: "" }))).toBe("container_id");
    expect(field(() => validateExecRequest({ ...exec, tty: true }))).toBe("stderr");
    expect(field(() => validateAttachRequest({ ...exec, stdout: false, stderr: false }))).toBe("stdin");
    expect(field(() => validatePortForwardRequest({ podSandboxId: "", port: [] }))).toBe("pod_sandbox_id");
    expect(field(() => validatePortForwardRequest({ podSandboxId: "p", port: [80, 0] }))).toBe("port[1]");
  });
});
