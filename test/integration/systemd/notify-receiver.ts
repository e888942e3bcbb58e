// A stand-in for systemd's notification socket: a unix datagram socket (through python3,
// since Node has none) that records each message with the sender pid from its credentials,
// and closes received descriptors so that systemd-notify's barrier completes as with PID 1.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

export interface Notification {
  /** Sender pid from SCM_CREDENTIALS. */
  pid: number;
  /** The message's KEY=VALUE lines. */
  fields: Record<string, string>;
}

const RECEIVER = `
import json, os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    data, anc, _flags, _addr = s.recvmsg(65536, socket.CMSG_SPACE(64) * 2)
    pid = 0
    for level, kind, payload in anc:
        if kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", payload[:12])[0]
        elif kind == socket.SCM_RIGHTS:
            for fd in struct.unpack("%di" % (len(payload) // 4), payload[: len(payload) // 4 * 4]):
                os.close(fd)
    print(json.dumps({"pid": pid, "text": data.decode()}), flush=True)
`;

export interface NotifyReceiver {
  socket: string;
  messages: Notification[];
  /** Waits until a message satisfies `match`, returning it. */
  waitFor(match: (n: Notification) => boolean, timeoutMs?: number): Promise<Notification>;
  close(): Promise<void>;
}

export async function startNotifyReceiver(dir: string): Promise<NotifyReceiver> {
  const socket = join(dir, "notify.sock");
  const child: ChildProcess = spawn("python3", ["-c", RECEIVER, socket], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const messages: Notification[] = [];
  let buffered = "";
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const listening = new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`notify receiver exited (${code}): ${stderr}`)));
    child.stdout?.on("data", (d: Buffer) => {
      buffered += d.toString();
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line === "listening") {
          resolve();
          continue;
        }
        const { pid, text } = JSON.parse(line) as { pid: number; text: string };
        const fields = Object.fromEntries(
          text
            .split("\n")
            .filter((l) => l.includes("="))
            .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
        );
        messages.push({ pid, fields });
      }
    });
  });
  await listening;
  return {
    socket,
    messages,
    async waitFor(match, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find(match);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(`no matching notification; got ${JSON.stringify(messages.map((m) => m.fields))}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}
