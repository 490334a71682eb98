import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addHeader, canonicalHeaderName, getHeader, type HeaderMap } from "../../../lambdas/core/headers.ts";

const tokenName = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,20}$/);

describe("canonicalHeaderName (fuzz)", () => {
  it("is idempotent and only changes the case of token names", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (name) => {
        const once = canonicalHeaderName(name);
        expect(canonicalHeaderName(once)).toBe(once);
        expect(once.toLowerCase()).toBe(name.toLowerCase());
        if (/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
          expect(canonicalHeaderName(name.toLowerCase())).toBe(once);
          expect(canonicalHeaderName(name.toUpperCase())).toBe(once);
        } else {
          expect(once).toBe(name);
        }
      }),
    );
  });

  it("makes addHeader and getHeader agree under any spelling of a token name", () => {
    fc.assert(
      fc.property(tokenName, fc.string(), fc.boolean(), (name, value, upper) => {
        const map: HeaderMap = {};
        addHeader(map, name, value);
        expect(getHeader(map, upper ? name.toUpperCase() : name.toLowerCase())).toBe(value);
        expect(Object.keys(map)).toEqual([canonicalHeaderName(name)]);
      }),
    );
  });
});
