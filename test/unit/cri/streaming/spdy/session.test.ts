import { describe, expect, it } from "vitest";
import { Duplex, PassThrough } from "node:stream";
import { once } from "node:events";
import { FrameParser, encodeFrame } from "../../../../../cri/streaming/spdy/frames.js";
import { headerValue, headersOf } from "../../../../../cri/streaming/spdy/header-block.js";
import { SpdySession, type SpdyStream } from "../../../../../cri/streaming/spdy/session.js";

/** Two connected in-memory byte streams. */
function socketPair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  for (const s of [aToB, bToA]) s.on("error", () => undefined);
  const a = Duplex.from({ readable: bToA, writable: aToB });
  const b = Duplex.from({ readable: aToB, writable: bToA });
  for (const s of [a, b]) s.on("error", () => undefined);
  return [a, b];
}

function readAll(stream: SpdyStream): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    stream.on("data", (c: Buffer) => (text += c.toString()));
    stream.once("end", () => resolve(text));
  });
}

describe("SpdySession", () => {
  it("opens streams with headers, replies, carries data both ways and half-closes", async () => {
    const [clientSocket, serverSocket] = socketPair();
    const client = new SpdySession(clientSocket, "client");
    const server = new SpdySession(serverSocket, "server");
    server.on("stream", (stream) => {
      expect(headerValue(stream.headers, "streamtype")).toBe("stdin");
      stream.respond();
      void readAll(stream).then((text) => stream.end(`echo:${text}`));
    });
    const stream = client.createStream(headersOf({ streamType: "stdin" }));
    expect(stream.id).toBe(1);
    await stream.waitForReply();
    const answer = readAll(stream);
    stream.end("x".repeat(40_000));
    expect(await answer).toBe(`echo:${"x".repeat(40_000)}`);
    const second = client.createStream(headersOf({ streamType: "stdin" }));
    expect(second.id).toBe(3);
    client.destroy();
    server.destroy();
  });

  it("answers pings and ends streams when the connection goes", async () => {
    const [clientSocket, serverSocket] = socketPair();
    const client = new SpdySession(clientSocket, "client");
    const server = new SpdySession(serverSocket, "server");
    await client.ping();
    await server.ping();
    let serverStream: SpdyStream | undefined;
    server.on("stream", (s) => {
      serverStream = s;
      s.respond();
    });
    const stream = client.createStream(headersOf({ streamType: "data" }));
    await stream.waitForReply();
    const closed = once(server, "close");
    clientSocket.destroy();
    serverSocket.destroy();
    await closed;
    expect(serverStream?.destroyed).toBe(true);
  });

  it("resets streams the peer refuses and rejects their reply", async () => {
    const [clientSocket, serverSocket] = socketPair();
    const client = new SpdySession(clientSocket, "client");
    const server = new SpdySession(serverSocket, "server");
    server.on("stream", (s) => s.reset());
    const stream = client.createStream(headersOf({ streamType: "bogus" }));
    stream.on("error", () => undefined);
    await expect(stream.waitForReply()).rejects.toThrow();
    client.destroy();
    server.destroy();
  });

  it("grants window updates for data it consumes and refuses data for unknown streams", async () => {
    const [peer, serverSocket] = socketPair();
    const server = new SpdySession(serverSocket, "server");
    server.on("stream", (s) => {
      s.respond();
      s.resume();
    });
    const parser = new FrameParser();
    const seen: string[] = [];
    peer.on("data", (chunk: Buffer) => {
      for (const f of parser.push(chunk))
        seen.push(
          f.type === "window_update"
            ? `wu:${f.streamId}:${f.delta}`
            : f.type === "rst_stream"
              ? `rst:${f.streamId}:${f.status}`
              : f.type,
        );
    });
    // The peer speaks raw frames here; its SYN_STREAM needs a compressed header block.
    const { HeaderCompressor } = await import("../../../../../cri/streaming/spdy/header-compression.js");
    const { encodeHeaderBlock } = await import("../../../../../cri/streaming/spdy/header-block.js");
    const block = new HeaderCompressor().compress(encodeHeaderBlock(headersOf({ streamType: "data" })));
    peer.write(
      encodeFrame({
        type: "syn_stream",
        streamId: 1,
        associatedTo: 0,
        priority: 0,
        flags: 0,
        headerBlock: block,
      }),
    );
    peer.write(encodeFrame({ type: "data", streamId: 1, flags: 0, data: Buffer.alloc(1000) }));
    peer.write(encodeFrame({ type: "data", streamId: 9, flags: 0, data: Buffer.alloc(10) }));
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toContain("syn_reply");
    expect(seen).toContain("wu:0:1000");
    expect(seen).toContain("wu:1:1000");
    expect(seen).toContain("rst:9:2");
    server.destroy();
  });
});
