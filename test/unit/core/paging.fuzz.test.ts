import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor, takePage } from "../../../lambdas/core/paging.ts";
import type { Positioned } from "../../../lambdas/ports.ts";
import { resultOrBadRequest } from "../../support/http-error.ts";

describe("cursors (fuzz)", () => {
  it("decodeCursor returns a position or throws HttpError 400 for any string", () => {
    const raw = fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(..."0123456789-_.:aZ "), maxLength: 90 }));
    fc.assert(
      fc.property(raw, (text) => {
        const result = resultOrBadRequest(() => decodeCursor(text));
        if (result.ok) {
          expect(Number.isInteger(result.value.time)).toBe(true);
          expect(result.value.time).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("decodeCursor inverts encodeCursor", () => {
    const key = fc.option(fc.stringMatching(/^[A-Za-z0-9_.:]{1,64}$/), { nil: undefined });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9_999_999_999_999 }), key, (time, k) => {
        const position = k === undefined ? { time } : { time, key: k };
        expect(decodeCursor(encodeCursor(position))).toEqual(position);
      }),
    );
  });
});

describe("takePage (fuzz)", () => {
  it("returns the first `count` accepted items, with a cursor exactly when another accepted item follows", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { maxLength: 30 }),
        fc.integer({ min: 1, max: 10 }),
        async (flags, count) => {
          async function* scan(): AsyncGenerator<Positioned<number>> {
            for (let i = 0; i < flags.length; i++) yield { position: { time: i, key: `k${i}` }, item: i };
          }
          const accepted = flags.flatMap((ok, i) => (ok ? [i] : []));
          const page = await takePage(scan(), (i) => flags[i] === true, count);
          expect(page.items).toEqual(accepted.slice(0, count));
          if (accepted.length > count) {
            const last = accepted[count - 1] as number;
            expect(page.cursor).toBe(`${last}-k${last}`);
          } else {
            expect(page.cursor).toBeUndefined();
          }
        },
      ),
    );
  });
});
