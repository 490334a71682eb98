import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDuration } from "../../../lambdas/core/duration.ts";
import { resultOrBadRequest } from "../../support/http-error.ts";

const UNIT_SECONDS = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;
type Unit = keyof typeof UNIT_SECONDS;

const group = fc.record({
  amount: fc.nat({ max: 100_000 }),
  unit: fc.constantFrom<Unit>("d", "h", "m", "s"),
  upper: fc.boolean(),
});

describe("parseDuration (fuzz)", () => {
  it("returns a non-negative safe integer or throws HttpError 400 for any string", () => {
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: fc.constantFrom(..."0123456789dhmsDHMS .-+"), maxLength: 80 }),
      fc.string({ unit: "grapheme", maxLength: 30 }),
    );
    fc.assert(
      fc.property(text, (raw) => {
        const result = resultOrBadRequest(() => parseDuration(raw, "Upstash-Delay"));
        if (result.ok) {
          expect(Number.isSafeInteger(result.value)).toBe(true);
          expect(result.value).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("returns the sum of generated <int><unit> groups", () => {
    fc.assert(
      fc.property(fc.array(group, { minLength: 1, maxLength: 6 }), (groups) => {
        const raw = groups.map((g) => `${g.amount}${g.upper ? g.unit.toUpperCase() : g.unit}`).join("");
        const expected = groups.reduce((sum, g) => sum + g.amount * UNIT_SECONDS[g.unit], 0);
        expect(parseDuration(raw, "Upstash-Delay")).toBe(expected);
      }),
    );
  });

  it("reads bare integers of up to 12 digits as seconds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999_999_999 }), (n) => {
        expect(parseDuration(String(n), "Upstash-Delay")).toBe(n);
      }),
    );
  });
});
