// One SPDY/3.1 session over a byte stream (a TCP socket after an HTTP upgrade, or a
// WebSocket tunnel): streams as Node Duplexes, SYN_STREAM/SYN_REPLY, FIN and RST_STREAM,
// PING replies, GOAWAY, SETTINGS and WINDOW_UPDATE.
//
// Flow control: the windows SPDY/3.1 defines are granted to the peer as berth consumes
// data (a stream's as its reader pulls, the session's as frames arrive). Outgoing data is
// not held back by the peer's windows: kubectl, crictl and the kubelet speak SPDY through
// a library that never sends WINDOW_UPDATE, so waiting for one would stall every stream
// after 64 KiB. Writes wait for the socket instead, which bounds memory the same way.
//
// Frames are handled strictly in arrival order on one promise chain, because header
// blocks share one zlib context and a stream's data must not overtake its SYN_STREAM.
import { EventEmitter } from "node:events";
import { Duplex } from "node:stream";
import type { Logger } from "../../../common/logger.js";
import {
  FLAG_FIN,
  FrameParser,
  GoAwayStatus,
  RstStatus,
  SpdyProtocolError,
  encodeFrame,
  type Frame,
} from "./frames.js";
import { decodeHeaderBlock, encodeHeaderBlock, type SpdyHeaders } from "./header-block.js";
import { HeaderCompressor, HeaderDecompressor } from "./header-compression.js";

/** The window both directions start with (SPDY/3.1 default). */
export const DEFAULT_WINDOW = 64 * 1024;
/** Outgoing data is cut into frames of at most this many bytes. */
const MAX_DATA_FRAME = 16 * 1024;

export type SpdyRole = "server" | "client";

export class SpdyStream extends Duplex {
  /** Set once SYN_REPLY went out (incoming streams) or came in (outgoing streams). */
  replied = false;
  private localFinished = false;
  private remoteFinished = false;
  private resetDone = false;
  private unacknowledged = 0;
  private replyWaiters: { resolve: (h: SpdyHeaders) => void; reject: (e: Error) => void }[] = [];

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    /** The SYN_STREAM headers (ours for outgoing streams, the peer's for incoming ones). */
    readonly headers: SpdyHeaders,
  ) {
    super({ allowHalfOpen: true });
  }

  /** Answers an incoming stream with SYN_REPLY; only then may the peer send data on it. */
  respond(headers: SpdyHeaders = new Map()): void {
    if (this.replied || this.resetDone) return;
    this.replied = true;
    this.session.sendHeaders("syn_reply", this.id, headers, 0);
  }

  /** Resolves with the SYN_REPLY headers of an outgoing stream. */
  waitForReply(): Promise<SpdyHeaders> {
    return new Promise((resolve, reject) => {
      if (this.resetDone) return reject(new Error(`stream ${this.id} was reset`));
      this.replyWaiters.push({ resolve, reject });
    });
  }

  /** Aborts the stream in both directions. */
  reset(status: number = RstStatus.Cancel): void {
    if (this.resetDone) return;
    this.resetDone = true;
    if (!(this.localFinished && this.remoteFinished))
      this.session.sendFrame({ type: "rst_stream", streamId: this.id, status });
    this.session.forget(this.id);
    this.destroy();
  }

  override _read(): void {
    if (this.unacknowledged > 0) {
      this.session.sendFrame({ type: "window_update", streamId: this.id, delta: this.unacknowledged });
      this.unacknowledged = 0;
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.resetDone || this.localFinished)
      return callback(new Error(`stream ${this.id} is closed for writing`));
    let offset = 0;
    const next = (err?: Error | null): void => {
      if (err) return callback(err);
      if (offset >= chunk.length) return callback();
      const piece = chunk.subarray(offset, offset + MAX_DATA_FRAME);
      offset += piece.length;
      this.session.sendFrame({ type: "data", streamId: this.id, flags: 0, data: piece }, next);
    };
    next();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finishLocal();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.resetDone && !(this.localFinished && this.remoteFinished) && !this.session.closed) {
      this.resetDone = true;
      this.session.sendFrame({ type: "rst_stream", streamId: this.id, status: RstStatus.Cancel });
    }
    this.session.forget(this.id);
    for (const w of this.replyWaiters.splice(0)) w.reject(error ?? new Error(`stream ${this.id} closed`));
    callback(error);
  }

  private finishLocal(): void {
    if (this.localFinished || this.resetDone) return;
    this.localFinished = true;
    this.session.sendFrame({ type: "data", streamId: this.id, flags: FLAG_FIN, data: Buffer.alloc(0) });
    this.maybeDone();
  }

  /** @internal */
  onData(data: Buffer, fin: boolean): void {
    if (this.remoteFinished) {
      this.session.sendFrame({
        type: "rst_stream",
        streamId: this.id,
        status: RstStatus.StreamAlreadyClosed,
      });
      return;
    }
    if (data.length > 0) {
      this.unacknowledged += data.length;
      if (this.push(data)) this._read();
    }
    if (fin) this.onRemoteFin();
  }

  /** @internal */
  onRemoteFin(): void {
    if (this.remoteFinished) return;
    this.remoteFinished = true;
    this.push(null);
    this.maybeDone();
  }

  /** @internal */
  onReply(headers: SpdyHeaders, fin: boolean): void {
    this.replied = true;
    for (const w of this.replyWaiters.splice(0)) w.resolve(headers);
    if (fin) this.onRemoteFin();
  }

  /** @internal */
  onReset(status: number): void {
    this.resetDone = true;
    this.session.forget(this.id);
    this.destroy(new Error(`stream ${this.id} reset by peer (status ${status})`));
  }

  private maybeDone(): void {
    if (this.localFinished && this.remoteFinished) this.session.forget(this.id);
  }
}

export interface SpdySessionEvents {
  stream: [SpdyStream];
  goaway: [number];
  close: [];
  error: [Error];
}

export class SpdySession extends EventEmitter<SpdySessionEvents> {
  closed = false;
  private readonly parser = new FrameParser();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private chain: Promise<void> = Promise.resolve();
  private nextStreamId: number;
  private nextPingId: number;
  private lastPeerStreamId = 0;
  private goneAway = false;
  private readonly pings = new Map<number, () => void>();

  constructor(
    private readonly socket: Duplex,
    readonly role: SpdyRole,
    private readonly logger?: Logger,
  ) {
    super();
    // Clients open odd streams and send odd pings; servers even ones.
    this.nextStreamId = role === "client" ? 1 : 2;
    this.nextPingId = role === "client" ? 1 : 2;
    socket.on("data", (chunk: Buffer) => this.onBytes(chunk));
    socket.on("end", () => this.shutdown());
    socket.on("close", () => this.shutdown());
    socket.on("error", (err) => {
      this.logger?.debug({ err }, "spdy connection error");
      this.shutdown();
    });
  }

  /** Opens a stream to the peer. */
  createStream(headers: SpdyHeaders, options: { fin?: boolean } = {}): SpdyStream {
    if (this.closed || this.goneAway) throw new Error("spdy session is closed");
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new SpdyStream(this, id, headers);
    this.streams.set(id, stream);
    const block = this.compressor.compress(encodeHeaderBlock(headers));
    this.sendFrame({
      type: "syn_stream",
      streamId: id,
      associatedTo: 0,
      priority: 0,
      flags: options.fin ? FLAG_FIN : 0,
      headerBlock: block,
    });
    if (options.fin) stream.end();
    return stream;
  }

  /** Sends a PING and resolves when the peer echoes it. */
  ping(): Promise<void> {
    const id = this.nextPingId;
    this.nextPingId += 2;
    return new Promise((resolve) => {
      this.pings.set(id, resolve);
      this.sendFrame({ type: "ping", id });
    });
  }

  /** Says no more streams will be accepted; existing ones go on. */
  goAway(status: number = GoAwayStatus.Ok): void {
    if (this.goneAway || this.closed) return;
    this.goneAway = true;
    this.sendFrame({ type: "goaway", lastGoodStreamId: this.lastPeerStreamId, status });
  }

  /** GOAWAY, then closes the connection once queued frames are written. */
  close(): void {
    if (this.closed) return;
    this.goAway();
    this.socket.end();
    this.shutdown();
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.socket.destroy();
    this.shutdown();
  }

  /** @internal */
  sendFrame(frame: Frame, callback?: (err?: Error | null) => void): void {
    if (this.closed || this.socket.destroyed || this.socket.writableEnded) {
      if (callback) queueMicrotask(() => callback(new Error("spdy session is closed")));
      return;
    }
    this.socket.write(encodeFrame(frame), callback);
  }

  /** @internal */
  sendHeaders(type: "syn_reply" | "headers", streamId: number, headers: SpdyHeaders, flags: number): void {
    const headerBlock = this.compressor.compress(encodeHeaderBlock(headers));
    this.sendFrame({ type, streamId, flags, headerBlock });
  }

  /** @internal */
  forget(id: number): void {
    this.streams.delete(id);
  }

  private onBytes(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    for (const frame of frames) {
      this.chain = this.chain.then(() => this.handle(frame)).catch((err: Error) => this.fail(err));
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.logger?.debug({ err }, "spdy protocol error: closing the session");
    this.goAway(err instanceof SpdyProtocolError ? GoAwayStatus.ProtocolError : GoAwayStatus.InternalError);
    this.emit("error", err);
    this.destroy();
  }

  private async handle(frame: Frame): Promise<void> {
    if (this.closed) return;
    switch (frame.type) {
      case "data": {
        const stream = this.streams.get(frame.streamId);
        if (!stream) {
          this.sendFrame({ type: "rst_stream", streamId: frame.streamId, status: RstStatus.InvalidStream });
          return;
        }
        // The session window is returned at once: buffering is bounded per stream.
        if (frame.data.length > 0)
          this.sendFrame({ type: "window_update", streamId: 0, delta: frame.data.length });
        stream.onData(frame.data, (frame.flags & FLAG_FIN) !== 0);
        return;
      }
      case "syn_stream": {
        const headers = decodeHeaderBlock(await this.decompressor.decompress(frame.headerBlock));
        const peerParity = this.role === "server" ? 1 : 0;
        if (frame.streamId % 2 !== peerParity || frame.streamId <= this.lastPeerStreamId) {
          this.sendFrame({ type: "rst_stream", streamId: frame.streamId, status: RstStatus.ProtocolError });
          return;
        }
        this.lastPeerStreamId = frame.streamId;
        if (this.goneAway) {
          this.sendFrame({ type: "rst_stream", streamId: frame.streamId, status: RstStatus.RefusedStream });
          return;
        }
        const stream = new SpdyStream(this, frame.streamId, headers);
        this.streams.set(frame.streamId, stream);
        if (frame.flags & FLAG_FIN) stream.onRemoteFin();
        this.emit("stream", stream);
        return;
      }
      case "syn_reply": {
        const headers = decodeHeaderBlock(await this.decompressor.decompress(frame.headerBlock));
        this.streams.get(frame.streamId)?.onReply(headers, (frame.flags & FLAG_FIN) !== 0);
        return;
      }
      case "headers": {
        await this.decompressor.decompress(frame.headerBlock); // keeps the zlib context in step
        if (frame.flags & FLAG_FIN) this.streams.get(frame.streamId)?.onRemoteFin();
        return;
      }
      case "rst_stream":
        this.streams.get(frame.streamId)?.onReset(frame.status);
        return;
      case "ping": {
        const ours = frame.id % 2 === (this.role === "client" ? 1 : 0);
        if (!ours) return void this.sendFrame({ type: "ping", id: frame.id });
        const resolve = this.pings.get(frame.id);
        this.pings.delete(frame.id);
        resolve?.();
        return;
      }
      case "goaway":
        this.goneAway = true;
        this.emit("goaway", frame.status);
        return;
      case "settings":
      case "window_update":
      case "unknown":
        // See the note on flow control above; unknown control frames must be ignored.
        return;
    }
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    this.decompressor.close();
    for (const stream of [...this.streams.values()]) stream.destroy();
    this.streams.clear();
    for (const resolve of this.pings.values()) resolve();
    this.pings.clear();
    this.emit("close");
  }
}
