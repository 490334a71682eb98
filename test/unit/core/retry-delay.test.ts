import { describe, expect, it } from "vitest";
import { compileRetryDelay } from "../../../lambdas/core/retry-delay.ts";
import { expectBadRequest } from "../../support/http-error.ts";

const at = (source: string, retried: number): number => compileRetryDelay(source)(retried);

describe("compileRetryDelay: documented examples", () => {
  it("a constant", () => {
    expect(at("1000", 0)).toBe(1000);
    expect(at("1000", 7)).toBe(1000);
  });

  it("1000 * (1 + retried)", () => {
    const delay = compileRetryDelay("1000 * (1 + retried)");
    expect([0, 1, 2, 5].map(delay)).toEqual([1000, 2000, 3000, 6000]);
  });

  it("pow(2, retried) * 1000", () => {
    const delay = compileRetryDelay("pow(2, retried) * 1000");
    expect([0, 1, 2, 10].map(delay)).toEqual([1000, 2000, 4000, 1_024_000]);
  });

  it("max(1000, pow(2, retried) * 100)", () => {
    const delay = compileRetryDelay("max(1000, pow(2, retried) * 100)");
    expect([0, 3, 4, 5].map(delay)).toEqual([1000, 1000, 1600, 3200]);
  });
});

describe("compileRetryDelay: functions and operators", () => {
  it.each([
    ["exp(1)", Math.E],
    ["sqrt(16)", 4],
    ["abs(0 - 7)", 7],
    ["floor(2.7)", 2],
    ["ceil(2.1)", 3],
    ["round(2.5)", 3],
    ["round(2.4)", 2],
    ["min(3, 9)", 3],
    ["max(3, 9)", 9],
    ["pow(3, 2)", 9],
    ["1.5e3", 1500],
    ["2E2", 200],
    ["0.25", 0.25],
  ])("%s = %d", (source, value) => {
    expect(at(source, 0)).toBeCloseTo(value, 10);
  });

  it("gives * and / precedence over + and -, and is left-associative", () => {
    expect(at("1 + 2 * 3", 0)).toBe(7);
    expect(at("(1 + 2) * 3", 0)).toBe(9);
    expect(at("10 - 4 - 3", 0)).toBe(3);
    expect(at("100 / 10 / 2", 0)).toBe(5);
    expect(at("2 * 3 + 4 * 5", 0)).toBe(26);
    expect(at("20 - 2 * 3", 0)).toBe(14);
  });

  it("supports unary minus and plus, also repeated", () => {
    expect(at("-2 * -3", 0)).toBe(6);
    expect(at("10 - -5", 0)).toBe(15);
    expect(at("--7", 0)).toBe(7);
    expect(at("+7", 0)).toBe(7);
    expect(at("-(1 - 8)", 0)).toBe(7);
    expect(at("abs(-retried)", 4)).toBe(4);
  });

  it("ignores whitespace and the case of names", () => {
    expect(at("  pow( 2 ,\tretried )\n*1000  ", 3)).toBe(8000);
    expect(at("POW(2, RETRIED) * 1000", 1)).toBe(2000);
    expect(at("1000*(1+retried)", 2)).toBe(3000);
  });

  it("nests function calls", () => {
    expect(at("min(max(retried, 2), floor(sqrt(50)))", 1)).toBe(2);
    expect(at("min(max(retried, 2), floor(sqrt(50)))", 100)).toBe(7);
  });
});

describe("compileRetryDelay: clamping", () => {
  it("turns negative results into 0", () => {
    expect(at("-1000", 0)).toBe(0);
    expect(at("1000 - retried * 2000", 1)).toBe(0);
  });

  it("turns NaN into 0", () => {
    expect(at("sqrt(-1)", 0)).toBe(0);
    expect(at("0 / 0", 0)).toBe(0);
  });

  it("turns +Infinity into MAX_SAFE_INTEGER and -Infinity into 0", () => {
    expect(at("1 / 0", 0)).toBe(Number.MAX_SAFE_INTEGER);
    expect(at("pow(10, 400)", 0)).toBe(Number.MAX_SAFE_INTEGER);
    expect(at("-1 / 0", 0)).toBe(0);
  });

  it("evaluates per call: one compiled expression serves every retry", () => {
    const delay = compileRetryDelay("retried * 10");
    expect(delay(1)).toBe(10);
    expect(delay(3)).toBe(30);
    expect(delay(1)).toBe(10);
  });
});

describe("compileRetryDelay: rejects malformed input with 400", () => {
  it.each([
    "",
    "   ",
    "pow(2",
    "pow 2, 3)",
    "retried +",
    "* 3",
    "foo(1)",
    "retry",
    "process.exit(1)",
    "1;2",
    "constructor",
    "constructor(1)",
    "__proto__",
    "__proto__(1)",
    "hasOwnProperty(1)",
    "toString(1)",
    "pow(1)",
    "pow(1, 2, 3)",
    "sqrt(1, 2)",
    "min()",
    "max",
    "()",
    "1 2",
    "(1))",
    "1 +* 2",
    ".5",
    "1e",
    "1,2",
    "retried()",
    "1000 ms",
    "x => 1",
    "`1`",
    "[1]",
    "1 ** 2",
    "1 % 2",
  ])("%j", (source) => {
    expectBadRequest(() => compileRetryDelay(source), "invalid Upstash-Retry-Delay");
  });

  it("names the problem in the message", () => {
    expectBadRequest(() => compileRetryDelay("foo(1)"), 'unknown name "foo"');
    expectBadRequest(() => compileRetryDelay("pow(1)"), "pow takes 2 argument(s)");
    expectBadRequest(() => compileRetryDelay("pow(2"), 'expected ")"');
  });

  it("rejects nesting deeper than the limit with 400 instead of overflowing the stack", () => {
    const parens = (n: number): string => `${"(".repeat(n)}1${")".repeat(n)}`;
    expect(at(parens(20), 0)).toBe(1);
    expectBadRequest(() => compileRetryDelay(parens(200)), "nested too deeply");
    expectBadRequest(() => compileRetryDelay(`${"-".repeat(300)}1`), "nested too deeply");
    expectBadRequest(() => compileRetryDelay(`${"abs(".repeat(100)}1${")".repeat(100)}`), "nested too deeply");
  });

  it("accepts long flat expressions up to 512 characters and rejects longer ones", () => {
    const flat = `1${"+1".repeat(255)}`; // 511 characters, a 256-term left-deep sum
    expect(flat.length).toBeLessThanOrEqual(512);
    expect(at(flat, 0)).toBe(256);
    expectBadRequest(() => compileRetryDelay(`${flat}+1`.padEnd(513, " ")), "longer than 512 characters");
    expectBadRequest(() => compileRetryDelay("1".repeat(100_000)), "longer than 512 characters");
  });
});
