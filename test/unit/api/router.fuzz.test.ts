import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { matchRoute } from "../../../lambdas/api/router.ts";

const segment = fc.oneof(
  fc.constantFrom("v2", "V2", "publish", "messages", "dlq", "retry", "logs", "events", "keys", "rotate", "", "https:"),
  fc.string({ unit: fc.constantFrom(..."abc%20E_-.:?#/"), maxLength: 8 }),
);
const path = fc.oneof(
  fc.array(segment, { maxLength: 6 }).map((s) => `/${s.join("/")}`),
  fc.string({ maxLength: 40 }),
);
const method = fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD");

describe("matchRoute (fuzz)", () => {
  it("never throws; a match uses the requested method, a miss lists only other methods", () => {
    fc.assert(
      fc.property(method, path, (m, p) => {
        const { match, allowed } = matchRoute(m, p);
        if (match) expect(match.route.method).toBe(m);
        else expect(allowed).not.toContain(m);
      }),
      { numRuns: 1000 },
    );
  });

  it("publish's param is exactly what follows /v2/publish/", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("/v2/publish/", "/V2/PUBLISH/", "//v2/Publish/"),
        fc.string({ minLength: 1 }),
        (prefix, rest) => {
          const { match } = matchRoute("POST", prefix + rest);
          expect(match?.route.param).toBe("rest");
          expect(match?.param).toBe(rest);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
