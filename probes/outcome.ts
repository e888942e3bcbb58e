// What one run of a probe handler says. "unknown" means the probe could not be carried out at
// all (the container is gone, the runtime failed): it says nothing about the container's
// health, so it is reported but never counted towards a threshold.
export type ProbeResult = "success" | "failure" | "unknown";

export interface HandlerOutcome {
  result: ProbeResult;
  /** What the probe saw: command output, response body or the error, for events and logs. */
  output: string;
  /** Set when the probe passed with a caveat (a redirect that was not followed). */
  warning?: boolean;
}

/** Probe output kept for events and logs is capped, as a probe may print or serve anything. */
export const MAX_PROBE_OUTPUT_BYTES = 10 * 1024;

/** Cuts a buffer to at most `MAX_PROBE_OUTPUT_BYTES` bytes. */
export function capOutput(data: Buffer): Buffer {
  return data.length > MAX_PROBE_OUTPUT_BYTES ? data.subarray(0, MAX_PROBE_OUTPUT_BYTES) : data;
}
