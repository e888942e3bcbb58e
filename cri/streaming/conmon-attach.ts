// A connection to one of conmon's attach sockets, through the seqpacket bridge. conmon
// sends each chunk of output as one message whose first byte names the pipe (conmon's
// numbering: 1 stdin, 2 stdout, 3 stderr) and writes whatever it receives to the
// process's stdin.
import type { CommandStreams } from "./command.js";
import { FrameReader, spawnBridge, type BridgeProcess } from "./socket-bridge.js";

const STDOUT_PIPE = 2;
const STDERR_PIPE = 3;

export interface ConmonAttachment {
  /** Resolves once the socket is connected (conmon has accepted us). */
  connected: Promise<void>;
  /** Resolves when conmon closes the socket (the process and conmon are gone) or we detach. */
  done: Promise<void>;
  /** Disconnects. */
  detach(): void;
}

/**
 * Connects to `<socketDir>/attach` and wires the client's streams to it. Without a TTY,
 * stderr messages go to the client's stderr; with one there is only stdout.
 */
export function attachConmon(
  socketDir: string,
  streams: CommandStreams,
  perlBinary: string,
): ConmonAttachment {
  const bridge: BridgeProcess = spawnBridge("seqpacket", socketDir, { perlBinary });
  const reader = new FrameReader();
  let stderrText = "";
  let resolveConnected!: () => void;
  let rejectConnected!: (err: Error) => void;
  const connected = new Promise<void>((resolve, reject) => {
    resolveConnected = resolve;
    rejectConnected = reject;
  });
  connected.catch(() => undefined);
  let isConnected = false;

  bridge.stdout.on("data", (chunk: Buffer) => {
    for (const message of reader.push(chunk)) {
      if (!isConnected) {
        isConnected = true;
        resolveConnected();
        continue;
      }
      if (message.length < 1) continue;
      const pipe = message[0];
      const data = message.subarray(1);
      if (pipe === STDERR_PIPE && !streams.tty) streams.stderr?.write(data);
      else if (pipe === STDOUT_PIPE || pipe === STDERR_PIPE) streams.stdout?.write(data);
    }
  });
  bridge.stderr.on("data", (chunk: Buffer) => {
    stderrText += chunk.toString();
  });
  bridge.stdin.on("error", () => undefined);
  if (streams.stdin) streams.stdin.pipe(bridge.stdin);

  const done = new Promise<void>((resolve) => {
    bridge.on("error", (err) => {
      rejectConnected(err);
      resolve();
    });
    bridge.once("close", (code: number | null) => {
      if (streams.stdin) streams.stdin.unpipe(bridge.stdin);
      if (!isConnected)
        rejectConnected(new Error(stderrText.trim() || `attach helper exited with status ${code}`));
      resolve();
    });
  });

  return {
    connected,
    done,
    detach: () => {
      if (bridge.exitCode === null && bridge.signalCode === null) bridge.kill("SIGKILL");
    },
  };
}
