import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseFlowControl } from "../../../lambdas/core/flow-control.ts";
import { expectBadRequest, resultOrBadRequest } from "../../support/http-error.ts";

describe("parseFlowControl", () => {
  it("reads parallelism, rate and period in any order and spacing, as the SDKs and docs write them", () => {
    expect(parseFlowControl("k", "parallelism=2, rate=10, period=1m")).toEqual({
      key: "k",
      parallelism: 2,
      rate: 10,
      periodSec: 60,
    });
    expect(parseFlowControl("k", "rate=5,parallelism=1")).toEqual({ key: "k", rate: 5, parallelism: 1 });
    expect(parseFlowControl("k", " period=1d ,RATE=3")).toEqual({ key: "k", rate: 3, periodSec: 86_400 });
    expect(parseFlowControl(undefined, undefined)).toBeUndefined();
  });

  it("refuses what QStash refuses: no key, no limit, zero, junk, a period over a week", () => {
    expectBadRequest(() => parseFlowControl(undefined, "parallelism=1"), "Upstash-Flow-Control-Key");
    expectBadRequest(() => parseFlowControl("k", undefined), "parallelism or rate");
    expectBadRequest(() => parseFlowControl("k", "period=10s"), "parallelism or rate");
    expectBadRequest(() => parseFlowControl("k", "parallelism=0"), "parallelism");
    expectBadRequest(() => parseFlowControl("k", "parallelism=two"), "parallelism");
    expectBadRequest(() => parseFlowControl("k", "burst=3"), "burst");
    expectBadRequest(() => parseFlowControl("k", "rate=1, period=8d"), "period");
    expectBadRequest(() => parseFlowControl("bad key", "rate=1"), "Upstash-Flow-Control-Key");
  });
});

describe("parseFlowControl (fuzz)", () => {
  it("returns settings with at least one positive limit or throws HttpError 400, for any header values", () => {
    const value = fc.oneof(
      fc.string(),
      fc
        .array(
          fc.tuple(
            fc.constantFrom("parallelism", "rate", "period", "PERIOD", "x"),
            fc.constantFrom("=", " = ", ":"),
            fc.oneof(fc.nat({ max: 2_000_000 }).map(String), fc.constantFrom("1s", "1m", "8d", "-1", "", "1.5")),
          ),
          { maxLength: 5 },
        )
        .map((parts) => parts.map((p) => p.join("")).join(", ")),
    );
    fc.assert(
      fc.property(fc.option(fc.string({ maxLength: 20 })), fc.option(value), (key, raw) => {
        const result = resultOrBadRequest(() => parseFlowControl(key ?? undefined, raw ?? undefined));
        if (result.ok && result.value) {
          const { parallelism, rate, periodSec } = result.value;
          expect((parallelism ?? 0) > 0 || (rate ?? 0) > 0).toBe(true);
          if (periodSec !== undefined) expect(periodSec).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
