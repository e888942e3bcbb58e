// The binding hands every unary call an AbortSignal that follows the caller: aborted when its
// deadline passes (with a DeadlineExceededError) or when it cancels the call.
import { afterEach, describe, expect, it } from "vitest";
import { credentials, Metadata, status, type Server, type ServiceError } from "@grpc/grpc-js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeadlineExceededError } from "../../../common/errors.js";
import { silentLogger } from "../../../common/logger.js";
import { RuntimeServiceClient, RuntimeServiceService } from "../../../cri/api/generated/api.js";
import { bindService } from "../../../cri/grpc-binding.js";
import { unixTarget } from "../../../cri/grpc-client.js";
import { startGrpcServer, stopGrpcServer } from "../../../cri/grpc-server.js";

let dir: string | undefined;
let server: Server | undefined;
let client: RuntimeServiceClient | undefined;

afterEach(async () => {
  client?.close();
  if (server) await stopGrpcServer(server, 500);
  if (dir) await rm(dir, { recursive: true, force: true });
  client = server = dir = undefined;
});

/** Serves a Version that waits until its signal aborts and reports the reason. */
async function serveWaitingVersion(): Promise<{ aborted: Promise<unknown> }> {
  dir = await mkdtemp(join(tmpdir(), "berth-binding-"));
  const socket = join(dir, "s.sock");
  let report!: (reason: unknown) => void;
  const aborted = new Promise<unknown>((resolve) => (report = resolve));
  const impl = {
    version: (_req: unknown, signal?: AbortSignal) =>
      new Promise((_resolve, reject) => {
        if (!signal) {
          report("no signal");
          return;
        }
        signal.addEventListener("abort", () => {
          report(signal.reason);
          reject(signal.reason as Error);
        });
      }),
  };
  server = await startGrpcServer(socket, [
    {
      definition: RuntimeServiceService,
      implementation: bindService("runtime.v1.RuntimeService", RuntimeServiceService, impl, silentLogger()),
    },
  ]);
  client = new RuntimeServiceClient(unixTarget(socket), credentials.createInsecure());
  return { aborted };
}

describe("unary calls follow their caller", () => {
  it("abort when the caller's deadline passes", async () => {
    const { aborted } = await serveWaitingVersion();
    const code = await new Promise<number>((resolve) =>
      client!.version({ version: "" }, new Metadata(), { deadline: new Date(Date.now() + 300) }, (err) =>
        resolve((err as ServiceError | null)?.code ?? status.OK),
      ),
    );
    expect(code).toBe(status.DEADLINE_EXCEEDED);
    const reason = await aborted;
    expect(reason).toBeInstanceOf(DeadlineExceededError);
    expect((reason as Error).message).toMatch(/RuntimeService\/version: the caller's deadline passed/);
  });

  it("abort when the caller cancels", async () => {
    const { aborted } = await serveWaitingVersion();
    const call = client!.version({ version: "" }, () => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    call.cancel();
    const reason = await aborted;
    expect(reason).toBeInstanceOf(DeadlineExceededError);
    expect((reason as Error).message).toMatch(/cancelled by the caller/);
  });
});
