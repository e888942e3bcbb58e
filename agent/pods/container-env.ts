// A container's environment, command and args as the kubelet computes them: variables in
// order, each value able to use the ones before it through $(NAME); downward API values
// resolved against facts known only once the pod runs (its IP after the sandbox exists).
import {
  resolveFieldRef,
  resolveResourceFieldRef,
  type NodeAllocatable,
  type PodRuntimeFacts,
} from "../podspec/downward-api.js";
import type { Container, PodSpec } from "../podspec/types.js";

/**
 * Kubernetes' $(VAR) expansion: a defined reference is replaced, an undefined one is left as
 * written, `$$` is a literal `$`, and any other `$` stays as it is.
 */
export function expandVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = "";
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== "$" || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === "$") {
      out += "$";
      i++;
    } else if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const value = lookup(name);
      out += value ?? `$(${name})`;
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

export interface ContainerEnvInput {
  readonly pod: PodSpec;
  readonly container: Container;
  readonly facts: PodRuntimeFacts;
  readonly allocatable: NodeAllocatable;
}

export interface ResolvedProcess {
  readonly envs: { key: string; value: string }[];
  readonly command: string[];
  readonly args: string[];
}

export function resolveContainerProcess(input: ContainerEnvInput): ResolvedProcess {
  const { pod, container } = input;
  const values = new Map<string, string>();
  for (const env of container.env) {
    let value: string;
    if ("value" in env) {
      value = expandVars(env.value, (name) => values.get(name));
    } else if (env.valueFrom.type === "fieldRef") {
      value = resolveFieldRef(env.valueFrom, pod, input.facts);
    } else {
      value = resolveResourceFieldRef(env.valueFrom, pod, container, input.allocatable);
    }
    values.set(env.name, value);
  }
  const lookup = (name: string): string | undefined => values.get(name);
  return {
    envs: [...values].map(([key, value]) => ({ key, value })),
    command: container.command.map((arg) => expandVars(arg, lookup)),
    args: container.args.map((arg) => expandVars(arg, lookup)),
  };
}
