import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HttpError } from "../../../lambdas/core/errors.ts";
import { MAX_JSON_DEPTH, parseJsonBody } from "../../../lambdas/core/json-body.ts";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const arrays = (depth: number): string => "[".repeat(depth) + "]".repeat(depth);

function refusal(text: string): HttpError {
  try {
    parseJsonBody(bytes(text), "body must be JSON");
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error(`accepted ${text.slice(0, 40)}`);
}

describe("parseJsonBody", () => {
  it("gives what JSON.parse gives for any JSON value, and it writes back", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        const parsed = parseJsonBody(bytes(text), "body must be JSON");
        expect(parsed).toEqual(JSON.parse(text));
        expect(JSON.stringify(parsed)).toBe(text);
      }),
    );
  });

  it("takes nesting up to the limit and refuses one level more, at any depth, with a 400", () => {
    expect(parseJsonBody(bytes(arrays(MAX_JSON_DEPTH)), "x")).toBeDefined();
    fc.assert(
      fc.property(fc.integer({ min: MAX_JSON_DEPTH + 1, max: 100_000 }), (depth) => {
        const error = refusal(arrays(depth));
        expect(error.status).toBe(400);
        expect(error.message).toMatch(/nested more than 1000 levels deep/);
      }),
      { numRuns: 20 },
    );
  });

  it("answers text that is not JSON with the caller's message", () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => {
          try {
            JSON.parse(s);
            return false;
          } catch {
            return true;
          }
        }),
        (text) => {
          const error = refusal(text);
          expect([error.status, error.message]).toEqual([400, "body must be JSON"]);
        },
      ),
    );
  });
});
