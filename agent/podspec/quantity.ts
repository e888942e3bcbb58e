// Kubernetes resource quantities ("500m", "1.5Gi", "1e3"), parsed with the same grammar,
// suffixes and rounding as Kubernetes' resource.Quantity:
//   <quantity> ::= <sign>? <digits> [ "." <digits>? ] <suffix>   (or "." <digits>)
//   <suffix>   ::= n | u | m | "" | k | M | G | T | P | E        (decimal SI)
//               |  Ki | Mi | Gi | Ti | Pi | Ei                    (binary SI)
//               |  e<int> | E<int>                                (decimal exponent)
// A value is kept exactly, as an integer count of nano-units: Kubernetes rounds every
// non-zero value up (away from zero) to the nearest nano-unit, so that a tiny request
// still gets something. Binary values above 2^63-1 are capped there, as Kubernetes does.
// Decimal values are refused beyond 10^30 (see MAX_DECIMAL_NANOS).
// Where Go's parser reads a string with no digit at all ("Mi", "e3", "-") as zero, berth
// follows the documented format and refuses it; "." alone still reads as 0, as in Kubernetes.
import { InvalidArgumentError } from "../../common/errors.js";

export type QuantityFormat = "DecimalSI" | "BinarySI" | "DecimalExponent";

export interface Quantity {
  /** The text as written in the manifest, used when printing the value back. */
  readonly text: string;
  /** The exact value in nano-units (1 = 10^-9 of a core, of a byte). */
  readonly nanos: bigint;
  readonly format: QuantityFormat;
}

const NANOS_PER_UNIT = 1_000_000_000n;
const NANOS_PER_MILLI = 1_000_000n;
const MAX_INT64 = (1n << 63n) - 1n;
/** Kubernetes' cap for binary quantities: the largest int64, in base units. */
const MAX_BINARY_NANOS = MAX_INT64 * NANOS_PER_UNIT;
// Kubernetes keeps decimal quantities of any size. berth stops at 10^30 base units, far
// beyond any machine, so that a typo such as "1e1000000000" cannot make it build a number
// with a billion digits.
const MAX_DECIMAL_NANOS = 10n ** 30n * NANOS_PER_UNIT;
const MAX_DECIMAL_NANOS_DIGITS = MAX_DECIMAL_NANOS.toString().length;

const DECIMAL_SUFFIXES: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

const BINARY_SUFFIXES: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/** Kubernetes' messages for the three ways a quantity fails to parse. */
export const QUANTITY_FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
export const QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix";
export const QUANTITY_TOO_LARGE_ERROR = "must be at most 10^30 in its base unit (cores, bytes)";

const NUMBER_PART = /^([+-]?)([0-9]*)(?:\.([0-9]*))?/;
const SUFFIX_SHAPE = /^[eEinumkKMGTP]*[-+]?[0-9]*$/;
const EXPONENT = /^[eE]([+-]?[0-9]+)$/;

/** Parses a quantity, or returns Kubernetes' reason why it is not one. */
export function tryParseQuantity(text: string): Quantity | { error: string } {
  const number = NUMBER_PART.exec(text);
  const [whole, sign, intDigits, fracDigits] = number ?? [];
  if (whole === undefined || (intDigits === "" && fracDigits === undefined)) {
    return { error: QUANTITY_FORMAT_ERROR };
  }
  const suffix = text.slice(whole.length);
  if (!SUFFIX_SHAPE.test(suffix)) return { error: QUANTITY_FORMAT_ERROR };

  const fraction = fracDigits ?? "";
  const mantissa = BigInt((intDigits ?? "") + fraction || "0");
  const negative = sign === "-";

  let nanos: bigint | undefined;
  let format: QuantityFormat;
  const decimalExponent = DECIMAL_SUFFIXES[suffix];
  const binaryExponent = BINARY_SUFFIXES[suffix];
  if (decimalExponent !== undefined) {
    format = "DecimalSI";
    nanos = scaleByPowerOfTen(mantissa, decimalExponent - fraction.length + 9);
  } else if (binaryExponent !== undefined) {
    format = "BinarySI";
    const scaled = ceilDiv(
      mantissa * (1n << BigInt(binaryExponent)) * NANOS_PER_UNIT,
      10n ** BigInt(fraction.length),
    );
    // Kubernetes caps binary quantities at the largest int64 rather than refusing them.
    nanos = scaled > MAX_BINARY_NANOS ? MAX_BINARY_NANOS : scaled;
  } else {
    const exponent = EXPONENT.exec(suffix)?.[1];
    if (exponent === undefined) return { error: QUANTITY_SUFFIX_ERROR };
    const power = Number(exponent);
    if (!Number.isSafeInteger(power)) return { error: QUANTITY_SUFFIX_ERROR };
    format = "DecimalExponent";
    nanos = scaleByPowerOfTen(mantissa, power - fraction.length + 9);
  }
  if (nanos === undefined || nanos > MAX_DECIMAL_NANOS) return { error: QUANTITY_TOO_LARGE_ERROR };
  return { text, nanos: negative ? -nanos : nanos, format };
}

/**
 * Parses a quantity or throws InvalidArgumentError naming `field`, e.g.
 * `spec.containers[0].resources.limits[memory]: Invalid value: "1Gb": unable to parse quantity's suffix`.
 */
export function parseQuantity(text: string, field = "quantity"): Quantity {
  const parsed = tryParseQuantity(text);
  if ("error" in parsed) {
    throw new InvalidArgumentError(field, `Invalid value: ${JSON.stringify(text)}: ${parsed.error}`);
  }
  return parsed;
}

/** The value in whole base units (bytes, cores), rounded up away from zero as Quantity.Value() does. */
export function quantityToUnits(q: Quantity): number {
  return Number(quantityToBigUnits(q));
}

/** As quantityToUnits, exact for values beyond 2^53 (arithmetic that must match int64 code). */
export function quantityToBigUnits(q: Quantity): bigint {
  return divideAwayFromZero(q.nanos, NANOS_PER_UNIT);
}

/** Bytes for memory and storage quantities: "1.5Gi" -> 1610612736, "0.5" -> 1. */
export function quantityToBytes(q: Quantity): number {
  return quantityToUnits(q);
}

/** Milli-units as Quantity.MilliValue(): "500m" -> 500, "1" -> 1000, "100u" -> 1. */
export function quantityToMilli(q: Quantity): number {
  return Number(divideAwayFromZero(q.nanos, NANOS_PER_MILLI));
}

export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  if (a.nanos === b.nanos) return 0;
  return a.nanos < b.nanos ? -1 : 1;
}

export function isZeroQuantity(q: Quantity | undefined): boolean {
  return q === undefined || q.nanos === 0n;
}

/** A quantity for an exact value in nano-units (used for sums; printed in canonical base units). */
export function quantityFromNanos(nanos: bigint, format: QuantityFormat = "DecimalSI"): Quantity {
  const units = nanos / NANOS_PER_UNIT;
  const text = nanos % NANOS_PER_UNIT === 0n ? units.toString() : `${nanos}n`;
  return { text, nanos, format };
}

/** mantissa * 10^power, rounded up to an integer; undefined when beyond berth's bound. */
function scaleByPowerOfTen(mantissa: bigint, power: number): bigint | undefined {
  if (mantissa === 0n) return 0n;
  const digits = mantissa.toString().length;
  if (power >= 0) {
    if (digits + power > MAX_DECIMAL_NANOS_DIGITS) return undefined;
    return mantissa * 10n ** BigInt(power);
  }
  // A divisor longer than the mantissa leaves a value in (0, 1), which rounds up to one nano.
  if (-power > digits) return 1n;
  return ceilDiv(mantissa, 10n ** BigInt(-power));
}

function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  return numerator % denominator === 0n ? quotient : quotient + 1n;
}

function divideAwayFromZero(value: bigint, divisor: bigint): bigint {
  const magnitude = ceilDiv(value < 0n ? -value : value, divisor);
  return value < 0n ? -magnitude : magnitude;
}
