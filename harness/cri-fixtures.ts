// Small builders for CRI requests used across integration tests.
import { ContainerConfig } from "../cri/api/generated/api.js";

export function containerConfig(
  name: string,
  image: string,
  command: string[],
  extra: Partial<ContainerConfig> = {},
): ContainerConfig {
  return ContainerConfig.fromPartial({
    metadata: { name, attempt: 0 },
    image: { image },
    command,
    labels: { name },
    logPath: `${name}/0.log`,
    ...extra,
  });
}

export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The gRPC status code and details of a failed call. */
export async function grpcError(call: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as { code?: number; details?: string };
    return { code: e.code ?? -1, details: e.details ?? String(err) };
  }
  throw new Error("expected the call to fail, but it succeeded");
}
