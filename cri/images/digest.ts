// Content digests as OCI writes them ("sha256:<64 lowercase hex>"). berth stores and verifies
// sha256 only; every digest read from outside is checked here before it becomes part of a path.
import { createHash, type Hash } from "node:crypto";
import { InvalidArgumentError } from "../../common/errors.js";

const SHA256_DIGEST = /^sha256:([a-f0-9]{64})$/;

/** True for a well-formed sha256 digest. */
export function isSha256Digest(value: string): boolean {
  return SHA256_DIGEST.test(value);
}

/** The hex part of a sha256 digest; throws InvalidArgumentError naming `field` when malformed. */
export function digestHex(digest: string, field: string): string {
  const match = SHA256_DIGEST.exec(digest);
  if (!match?.[1]) throw new InvalidArgumentError(field, `"${digest}" is not a sha256 digest`);
  return match[1];
}

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function newSha256(): Hash {
  return createHash("sha256");
}
