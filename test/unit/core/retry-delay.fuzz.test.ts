import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileRetryDelay } from "../../../lambdas/core/retry-delay.ts";
import { resultOrBadRequest } from "../../support/http-error.ts";

// A tiny, independent model of the documented Upstash-Retry-Delay language.
type Expr =
  | { kind: "num"; value: number }
  | { kind: "var" }
  | { kind: "neg"; arg: Expr }
  | { kind: "bin"; op: "+" | "-" | "*" | "/"; left: Expr; right: Expr }
  | { kind: "call1"; fn: "exp" | "sqrt" | "abs" | "floor" | "ceil" | "round"; arg: Expr }
  | { kind: "call2"; fn: "pow" | "min" | "max"; a: Expr; b: Expr };

const UNARY_FNS = {
  exp: Math.exp,
  sqrt: Math.sqrt,
  abs: Math.abs,
  floor: Math.floor,
  ceil: Math.ceil,
  round: Math.round,
};
const BINARY_FNS = { pow: Math.pow, min: Math.min, max: Math.max };

function reference(e: Expr, retried: number): number {
  switch (e.kind) {
    case "num":
      return e.value;
    case "var":
      return retried;
    case "neg":
      return -reference(e.arg, retried);
    case "bin": {
      const l = reference(e.left, retried);
      const r = reference(e.right, retried);
      return e.op === "+" ? l + r : e.op === "-" ? l - r : e.op === "*" ? l * r : l / r;
    }
    case "call1":
      return UNARY_FNS[e.fn](reference(e.arg, retried));
    case "call2":
      return BINARY_FNS[e.fn](reference(e.a, retried), reference(e.b, retried));
  }
}

function clamp(ms: number): number {
  if (Number.isNaN(ms) || ms <= 0) return 0;
  return Math.min(ms, Number.MAX_SAFE_INTEGER);
}

/** Prints a tree; binary operations are fully parenthesised, whitespace varies. */
function print(e: Expr, space: string): string {
  switch (e.kind) {
    case "num":
      return String(e.value);
    case "var":
      return "retried";
    case "neg":
      return `-${print(e.arg, space)}`;
    case "bin":
      return `(${print(e.left, space)}${space}${e.op}${space}${print(e.right, space)})`;
    case "call1":
      return `${e.fn}(${print(e.arg, space)})`;
    case "call2":
      return `${e.fn}(${print(e.a, space)},${space}${print(e.b, space)})`;
  }
}

const number = fc.oneof(
  fc.nat({ max: 10_000 }),
  fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true }).map((n) => n + 0), // never -0
);

const { expr } = fc.letrec<{ expr: Expr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", maxDepth: 6 },
    number.map((value): Expr => ({ kind: "num", value })),
    fc.constant<Expr>({ kind: "var" }),
    tie("expr").map((arg): Expr => ({ kind: "neg", arg })),
    fc
      .record({ op: fc.constantFrom("+", "-", "*", "/" as const), left: tie("expr"), right: tie("expr") })
      .map((r): Expr => ({ kind: "bin", ...r })),
    fc
      .record({ fn: fc.constantFrom("exp", "sqrt", "abs", "floor", "ceil", "round" as const), arg: tie("expr") })
      .map((r): Expr => ({ kind: "call1", ...r })),
    fc
      .record({ fn: fc.constantFrom("pow", "min", "max" as const), a: tie("expr"), b: tie("expr") })
      .map((r): Expr => ({ kind: "call2", ...r })),
  ),
}));

function closeTo(actual: number, expected: number): boolean {
  if (actual === expected) return true;
  return Math.abs(actual - expected) <= 1e-9 * Math.max(Math.abs(actual), Math.abs(expected));
}

describe("compileRetryDelay (fuzz)", () => {
  it("only ever throws HttpError 400 on arbitrary input, and compiled results are never negative or NaN", () => {
    const source = fc.oneof(
      fc.string({ maxLength: 600 }),
      fc.string({ unit: fc.constantFrom(..."0123456789.e+-*/(), retriedpowmaxsqrt_"), maxLength: 120 }),
      fc.string({ unit: fc.constantFrom("(", ")", "-", "1", "abs", "pow", ",", " "), maxLength: 400 }),
    );
    fc.assert(
      fc.property(source, fc.nat({ max: 50 }), (src, retried) => {
        const compiled = resultOrBadRequest(() => compileRetryDelay(src));
        if (compiled.ok) {
          const ms = compiled.value(retried);
          expect(Number.isNaN(ms)).toBe(false);
          expect(ms).toBeGreaterThanOrEqual(0);
          expect(ms).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
        }
      }),
      // `4e30` (a finite number over the safe range) was once returned as it was.
      {
        numRuns: 1000,
        examples: [
          ["4e30", 0],
          ["1e400", 0],
          ["-1e400", 3],
        ],
      },
    );
  });

  it("compiles every well-formed expression and agrees with a reference evaluator", () => {
    fc.assert(
      fc.property(expr, fc.nat({ max: 30 }), fc.constantFrom("", " ", "  \t"), (tree, retried, space) => {
        const source = print(tree, space);
        fc.pre(source.length <= 512);
        const actual = compileRetryDelay(source)(retried);
        const expected = clamp(reference(tree, retried));
        if (!closeTo(actual, expected)) {
          throw new Error(`${source} at retried=${retried}: got ${actual}, expected ${expected}`);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
