// The pod spec layer's public surface: parse and validate manifests, and the pure kubelet
// formulas that turn a PodSpec into QoS, cgroup and CRI resource settings.
export * from "./types.js";
export { parsePodManifest, validatePod, type ValidateOptions } from "./parse.js";
export { FieldError, type FieldErrorType, PodSpecInvalidError } from "./field-errors.js";
export * from "./quantity.js";
export * from "./qos.js";
export * from "./resources.js";
export * from "./downward-api.js";
export { podSpecHash } from "./hash.js";
export { defaultImagePullPolicy } from "./decode-container.js";
