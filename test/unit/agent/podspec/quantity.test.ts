import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import {
  QUANTITY_FORMAT_ERROR,
  QUANTITY_SUFFIX_ERROR,
  QUANTITY_TOO_LARGE_ERROR,
  compareQuantities,
  parseQuantity,
  quantityToBytes,
  quantityToMilli,
  tryParseQuantity,
} from "../../../../agent/podspec/quantity.js";

/** i * 10^exponent base units, in nano-units (how Kubernetes' tests state expectations). */
function dec(i: bigint | number, exponent: number): bigint {
  const power = exponent + 9;
  return power >= 0 ? BigInt(i) * 10n ** BigInt(power) : BigInt(i) / 10n ** BigInt(-power);
}

const MAX_INT64 = (1n << 63n) - 1n;

function nanos(text: string): bigint {
  const parsed = tryParseQuantity(text);
  if ("error" in parsed) throw new Error(`${text}: ${parsed.error}`);
  return parsed.nanos;
}

describe("parseQuantity: Kubernetes' valid cases", () => {
  const table: [string, bigint][] = [
    ["0", 0n],
    ["0n", 0n],
    ["0u", 0n],
    ["0m", 0n],
    ["0Ki", 0n],
    ["0k", 0n],
    ["0Mi", 0n],
    ["0M", 0n],
    ["0Gi", 0n],
    ["0G", 0n],
    ["0Ti", 0n],
    ["0T", 0n],
    ["1", dec(1, 0)],
    ["1Ki", dec(1024, 0)],
    ["8Ki", dec(8 * 1024, 0)],
    ["7Mi", dec(7 * 1024 * 1024, 0)],
    ["6Gi", dec(6 * 1024 ** 3, 0)],
    ["5Ti", dec(5 * 1024 ** 4, 0)],
    ["4Pi", dec(4n * 1024n ** 5n, 0)],
    ["3Ei", dec(3n * 1024n ** 6n, 0)],
    ["10Ti", dec(10 * 1024 ** 4, 0)],
    ["100Ti", dec(100 * 1024 ** 4, 0)],
    ["5n", dec(5, -9)],
    ["4u", dec(4, -6)],
    ["3m", dec(3, -3)],
    ["9", dec(9, 0)],
    ["8k", dec(8, 3)],
    ["50k", dec(5, 4)],
    ["7M", dec(7, 6)],
    ["6G", dec(6, 9)],
    ["5T", dec(5, 12)],
    ["40T", dec(4, 13)],
    ["300T", dec(3, 14)],
    ["2P", dec(2, 15)],
    ["1E", dec(1, 18)],
    ["1E-3", dec(1, -3)],
    ["1e3", dec(1, 3)],
    ["1E6", dec(1, 6)],
    ["1e9", dec(1, 9)],
    ["1E12", dec(1, 12)],
    ["1e15", dec(1, 15)],
    ["1E18", dec(1, 18)],
    ["1e14", dec(1, 14)],
    ["1e13", dec(1, 13)],
    ["100.035k", dec(100035, 0)],
    ["0.001", dec(1, -3)],
    ["0.0005k", dec(5, -1)],
    ["0.005", dec(5, -3)],
    ["0.05", dec(5, -2)],
    ["0.5", dec(5, -1)],
    ["0.00050k", dec(5, -1)],
    ["0.00500", dec(5, -3)],
    ["0.05000", dec(5, -2)],
    ["0.50000", dec(5, -1)],
    ["0.5e0", dec(5, -1)],
    ["0.5e-1", dec(5, -2)],
    ["0.5e-2", dec(5, -3)],
    ["10.035M", dec(10035, 3)],
    ["1.2e3", dec(12, 2)],
    ["1.3E+6", dec(13, 5)],
    ["1.40e9", dec(14, 8)],
    ["1.53E12", dec(153, 10)],
    ["1.6e15", dec(16, 14)],
    ["1.7E18", dec(17, 17)],
    ["9.01", dec(901, -2)],
    ["8.1k", dec(81, 2)],
    ["7.123456M", dec(7123456, 0)],
    ["6.987654321G", dec(6987654321, 0)],
    ["5.444T", dec(5444, 9)],
    ["40.1T", dec(401, 11)],
    ["300.2T", dec(3002, 11)],
    ["2.5P", dec(25, 14)],
    ["1.01E", dec(101, 16)],
    // Values that round up to the next nano-unit.
    ["3.001n", dec(4, -9)],
    ["1.1E-9", dec(2, -9)],
    ["0.0000000001", dec(1, -9)],
    ["0.0000000005", dec(1, -9)],
    ["0.00000000050", dec(1, -9)],
    ["0.5e-9", dec(1, -9)],
    ["0.9n", dec(1, -9)],
    ["0.00000012345", dec(124, -9)],
    ["0.00000012354", dec(124, -9)],
    // Binary values beyond int64 are capped.
    ["9Ei", MAX_INT64 * 1_000_000_000n],
    ["9223372036854775807Ki", MAX_INT64 * 1_000_000_000n],
    ["12E", dec(12, 18)],
    // Fractional binary values.
    ["100.035Ki", 102435840000000n],
    ["0.5Mi", dec(512 * 1024, 0)],
    ["0.05Gi", 53687091200000000n],
    ["0.025Ti", 27487790694400000000n],
    // "Things written by trolls".
    ["0.000000000001Ki", dec(2, -9)],
    [".001", dec(1, -3)],
    [".0001k", dec(100, -3)],
    ["1.", dec(1, 0)],
    ["1.G", dec(1, 9)],
    [".", 0n],
  ];

  it.each(table)("%s", (text, expected) => {
    expect(nanos(text)).toBe(expected);
  });

  it.each(table)("-%s is the negation, +%s the same value", (text, expected) => {
    expect(nanos(`-${text}`)).toBe(-expected);
    expect(nanos(`+${text}`)).toBe(expected);
  });

  it("records the format of the suffix", () => {
    expect(parseQuantity("1Gi").format).toBe("BinarySI");
    expect(parseQuantity("500m").format).toBe("DecimalSI");
    expect(parseQuantity("1e3").format).toBe("DecimalExponent");
  });
});

describe("parseQuantity: invalid input", () => {
  it.each([
    ["1.1.M", QUANTITY_FORMAT_ERROR],
    ["1+1.0M", QUANTITY_FORMAT_ERROR],
    ["0.1mi", QUANTITY_SUFFIX_ERROR],
    ["0.1am", QUANTITY_FORMAT_ERROR],
    ["aoeu", QUANTITY_FORMAT_ERROR],
    [".5i", QUANTITY_SUFFIX_ERROR],
    ["1i", QUANTITY_SUFFIX_ERROR],
    ["-3.01i", QUANTITY_SUFFIX_ERROR],
    ["-3.01e-", QUANTITY_SUFFIX_ERROR],
    [" 1", QUANTITY_FORMAT_ERROR],
    ["1 ", QUANTITY_FORMAT_ERROR],
    ["", QUANTITY_FORMAT_ERROR],
    ["1Gb", QUANTITY_FORMAT_ERROR],
    ["1.5GB", QUANTITY_FORMAT_ERROR],
    ["2mi", QUANTITY_SUFFIX_ERROR],
    ["1K", QUANTITY_SUFFIX_ERROR],
    ["1e", QUANTITY_SUFFIX_ERROR],
    ["Mi", QUANTITY_FORMAT_ERROR],
    ["-", QUANTITY_FORMAT_ERROR],
    ["1e1000", QUANTITY_TOO_LARGE_ERROR],
    ["1e31", QUANTITY_TOO_LARGE_ERROR],
    ["1000000000001E", QUANTITY_TOO_LARGE_ERROR],
  ])("%j is refused: %s", (text, reason) => {
    expect(tryParseQuantity(text)).toEqual({ error: reason });
  });

  it("names the field in the thrown error", () => {
    const attempt = () => parseQuantity("2mi", "spec.containers[0].resources.limits[memory]");
    expect(attempt).toThrow(InvalidArgumentError);
    expect(attempt).toThrow(
      `spec.containers[0].resources.limits[memory]: Invalid value: "2mi": unable to parse quantity's suffix`,
    );
  });

  it("does not build huge numbers for huge negative or positive exponents", () => {
    expect(nanos("1e-1000000000")).toBe(1n);
    expect(tryParseQuantity("1e1000000000")).toEqual({ error: QUANTITY_TOO_LARGE_ERROR });
    expect(nanos("1e30")).toBe(10n ** 39n);
  });
});

describe("conversions", () => {
  it.each([
    ["500m", 500],
    ["1", 1000],
    ["0.1", 100],
    ["100u", 1],
    ["1n", 1],
    ["2.5", 2500],
    ["1e-3", 1],
    ["0", 0],
    ["-100u", -1],
  ])("cpu %s is %d milli-cores", (text, milli) => {
    expect(quantityToMilli(parseQuantity(text))).toBe(milli);
  });

  it.each([
    ["1Gi", 1073741824],
    ["1.5Gi", 1610612736],
    ["128Mi", 134217728],
    ["1G", 1_000_000_000],
    ["0.5", 1],
    ["1.5", 2],
    ["100m", 1],
    ["1e3", 1000],
    ["-0.5", -1],
  ])("memory %s is %d bytes", (text, bytes) => {
    expect(quantityToBytes(parseQuantity(text))).toBe(bytes);
  });

  it("compares by value, whatever the notation", () => {
    expect(compareQuantities(parseQuantity("1Gi"), parseQuantity("1073741824"))).toBe(0);
    expect(compareQuantities(parseQuantity("100m"), parseQuantity("50m"))).toBe(1);
    expect(compareQuantities(parseQuantity("50m"), parseQuantity("100m"))).toBe(-1);
    expect(compareQuantities(parseQuantity("10000T"), parseQuantity("100Gi"))).toBe(1);
    expect(compareQuantities(parseQuantity("1"), parseQuantity("1000m"))).toBe(0);
  });
});
