// The whole pod as JSON (Pod.pod_json): PodStatusView with every quantity written as its
// text ("500m", "1Gi") as kubectl users read them, so the JSON needs no bigint support.
import type { PodStatusView } from "../pods/pod-manager-api.js";
import type { Quantity } from "../podspec/quantity.js";

/** T with every Quantity replaced by its text, as it travels in pod_json. */
export type Jsonified<T> = T extends Quantity
  ? string
  : T extends readonly (infer U)[]
    ? Jsonified<U>[]
    : T extends object
      ? { [K in keyof T]: Jsonified<T[K]> }
      : T;

export type PodJson = Jsonified<PodStatusView>;

function isQuantity(value: unknown): value is Quantity {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Partial<Quantity>).nanos === "bigint" &&
    typeof (value as Partial<Quantity>).text === "string"
  );
}

export function podToJson(pod: PodStatusView, space?: number): string {
  return JSON.stringify(
    pod,
    (_key, value: unknown) => {
      if (isQuantity(value)) return value.text;
      // No bigint but quantities is expected in a pod; any other is kept exactly.
      if (typeof value === "bigint") return value.toString();
      return value;
    },
    space,
  );
}

/** Reads pod_json back; the agent wrote it, so its shape is trusted. */
export function podFromJson(text: string): PodJson {
  return JSON.parse(text) as PodJson;
}
