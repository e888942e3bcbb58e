import { describe, expect, it } from "vitest";
import { createServer } from "node:net";
import { once } from "node:events";
import { FrameReader, spawnBridge } from "../../../../cri/streaming/socket-bridge.js";
import { channelMessage, parseChannelMessage } from "../../../../cri/streaming/websocket-command.js";
import { exitCodeOf } from "../../../../agent/cli/stream-client.js";

describe("FrameReader", () => {
  it("splits length-prefixed messages across reads", () => {
    const frame = (text: string): Buffer => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(text.length);
      return Buffer.concat([len, Buffer.from(text)]);
    };
    const bytes = Buffer.concat([frame(""), frame("\x02hello"), frame("\x03err")]);
    const reader = new FrameReader();
    const got: string[] = [];
    for (let i = 0; i < bytes.length; i += 2)
      got.push(...reader.push(bytes.subarray(i, i + 2)).map((m) => m.toString()));
    expect(got).toEqual(["", "\x02hello", "\x03err"]);
  });
});

describe("the bridge helper's tcp mode", () => {
  it("carries bytes both ways with half-close and reports refused connections", async () => {
    const server = createServer({ allowHalfOpen: true }, (c) => {
      let got = "";
      c.on("data", (d: Buffer) => (got += d.toString()));
      c.on("end", () => c.end(`reply:${got}`));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    const bridge = spawnBridge("tcp", String(port), { perlBinary: "/usr/bin/perl" });
    let out = "";
    bridge.stdout.on("data", (d: Buffer) => (out += d.toString()));
    bridge.stdin.end("question");
    const [code] = await once(bridge, "close");
    expect(code).toBe(0);
    expect(out).toBe("reply:question");
    server.close();

    const refused = spawnBridge("tcp", String(port), { perlBinary: "/usr/bin/perl" });
    let err = "";
    refused.stderr.on("data", (d: Buffer) => (err += d.toString()));
    refused.stdin.end();
    const [refusedCode] = await once(refused, "close");
    expect(refusedCode).not.toBe(0);
    expect(err).toMatch(/connect to 127\.0\.0\.1:\d+: Connection refused/);
  });
});

describe("channel messages", () => {
  it("encode binary and base64 channels", () => {
    expect(channelMessage({ version: 5, base64: false }, 1, Buffer.from("hi"))).toEqual(
      Buffer.from([1, 0x68, 0x69]),
    );
    expect(channelMessage({ version: 4, base64: true }, 2, Buffer.from("hi"))).toBe("2aGk=");
    expect(parseChannelMessage({ version: 4, base64: true }, Buffer.from("0aGk="))).toEqual({
      channel: 0,
      data: Buffer.from("hi"),
    });
    expect(parseChannelMessage({ version: 5, base64: false }, Buffer.alloc(0))).toBeUndefined();
  });
});

describe("the CLI client's status reading", () => {
  it("maps statuses to exit codes", () => {
    expect(exitCodeOf("")).toBe(0);
    expect(exitCodeOf('{"metadata":{},"status":"Success"}')).toBe(0);
    expect(
      exitCodeOf(
        '{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"7"}]}}',
      ),
    ).toBe(7);
    expect(() => exitCodeOf('{"status":"Failure","message":"boom"}')).toThrow("boom");
    expect(() => exitCodeOf("plain text error")).toThrow("plain text error");
  });
});
