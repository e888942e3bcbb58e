// Runs one CNI plugin binary the way the CNI spec's execution protocol says: parameters in
// CNI_* environment variables, the execution config on stdin, a result (or an error
// object) as JSON on stdout, free-form logs on stderr. Every call has a deadline; a plugin
// that hangs is killed so that a pod start or stop never waits forever.
import { execa } from "execa";
import { DeadlineExceededError, RuntimeFailureError } from "../../common/errors.js";

export type CniCommand = "ADD" | "DEL" | "CHECK";

export const DEFAULT_PLUGIN_TIMEOUT_MS = 60_000;

export interface PluginCall {
  /** The plugin's `type`, used in messages. */
  pluginName: string;
  pluginPath: string;
  command: CniCommand;
  containerId: string;
  /** Path of the network namespace; empty for a DEL whose namespace is already gone. */
  netnsPath: string;
  ifName: string;
  /** Already formatted "K=V;K=V". */
  cniArgs: string;
  /** Directories where this plugin finds the plugins it delegates to (IPAM). */
  pluginDirs: readonly string[];
  config: Record<string, unknown>;
  timeoutMs?: number;
}

/** A plugin answered with a CNI error object, or failed without one. */
export class CniPluginError extends RuntimeFailureError {
  constructor(
    readonly plugin: string,
    readonly command: string,
    /** The CNI error code; undefined when the plugin printed no error object. */
    readonly code: number | undefined,
    readonly msg: string,
    readonly details?: string,
  ) {
    const codeText = code === undefined ? "" : ` (code ${code})`;
    const detailsText = details ? `: ${details}` : "";
    super(`CNI plugin "${plugin}" ${command} failed${codeText}: ${msg}${detailsText}`);
  }
}

interface CniErrorObject {
  code?: unknown;
  msg?: unknown;
  details?: unknown;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The error a failed plugin reported: its error object when stdout holds one, else its stderr. */
export function pluginFailure(
  pluginName: string,
  command: string,
  output: { stdout: string; stderr: string; exitCode?: number; reason?: string },
): CniPluginError {
  const parsed = parseJson(output.stdout.trim());
  if (isRecord(parsed) && (typeof parsed.msg === "string" || typeof parsed.code === "number")) {
    const error = parsed as CniErrorObject;
    const msg = typeof error.msg === "string" ? error.msg : "no message";
    const details = typeof error.details === "string" && error.details !== "" ? error.details : undefined;
    return new CniPluginError(
      pluginName,
      command,
      typeof error.code === "number" ? error.code : undefined,
      msg,
      details,
    );
  }
  const words =
    output.stderr.trim() ||
    output.stdout.trim() ||
    output.reason ||
    (output.exitCode === undefined ? "did not run" : `exited with status ${output.exitCode}`);
  return new CniPluginError(pluginName, command, undefined, words);
}

/**
 * Runs the plugin and returns what it printed on success, parsed (undefined when it printed
 * nothing, as DEL and CHECK may). Throws CniPluginError carrying the plugin's own message,
 * or DeadlineExceededError after killing a plugin that outlived its deadline.
 */
export async function execPlugin(call: PluginCall): Promise<unknown> {
  const timeoutMs = call.timeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS;
  const result = await execa(call.pluginPath, [], {
    input: JSON.stringify(call.config),
    env: {
      CNI_COMMAND: call.command,
      CNI_CONTAINERID: call.containerId,
      CNI_NETNS: call.netnsPath,
      CNI_IFNAME: call.ifName,
      CNI_ARGS: call.cniArgs,
      CNI_PATH: call.pluginDirs.join(":"),
    },
    reject: false,
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  if (result.timedOut) {
    throw new DeadlineExceededError(
      `CNI plugin "${call.pluginName}" ${call.command} did not finish within ${timeoutMs} ms and was killed`,
    );
  }
  if (result.failed || result.exitCode !== 0) {
    throw pluginFailure(call.pluginName, call.command, {
      stdout: result.stdout,
      stderr: result.stderr,
      exitCode: result.exitCode,
      reason: result.shortMessage,
    });
  }
  const stdout = result.stdout.trim();
  if (stdout === "") return undefined;
  const parsed = parseJson(stdout);
  if (parsed === undefined) {
    throw new CniPluginError(
      call.pluginName,
      call.command,
      undefined,
      `printed a result that is not JSON: ${stdout}`,
    );
  }
  return parsed;
}

export interface PluginVersionInfo {
  cniVersion: string;
  supportedVersions: string[];
}

/** Asks a plugin which CNI spec versions it speaks (CNI_COMMAND=VERSION). */
export async function queryPluginVersions(
  pluginName: string,
  pluginPath: string,
  timeoutMs = DEFAULT_PLUGIN_TIMEOUT_MS,
): Promise<PluginVersionInfo> {
  const result = await execa(pluginPath, [], {
    input: JSON.stringify({ cniVersion: "1.0.0" }),
    env: { CNI_COMMAND: "VERSION" },
    reject: false,
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  if (result.timedOut) {
    throw new DeadlineExceededError(
      `CNI plugin "${pluginName}" VERSION did not finish within ${timeoutMs} ms`,
    );
  }
  if (result.failed || result.exitCode !== 0) {
    throw pluginFailure(pluginName, "VERSION", {
      stdout: result.stdout,
      stderr: result.stderr,
      exitCode: result.exitCode,
      reason: result.shortMessage,
    });
  }
  const parsed = parseJson(result.stdout.trim());
  if (!isRecord(parsed) || !Array.isArray(parsed.supportedVersions)) {
    throw new CniPluginError(
      pluginName,
      "VERSION",
      undefined,
      `printed no version info: ${result.stdout.trim()}`,
    );
  }
  return {
    cniVersion: typeof parsed.cniVersion === "string" ? parsed.cniVersion : "",
    supportedVersions: parsed.supportedVersions.filter((v): v is string => typeof v === "string"),
  };
}
