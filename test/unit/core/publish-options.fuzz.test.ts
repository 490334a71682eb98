import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../../lambdas/core/config.ts";
import { parsePublishOptions } from "../../../lambdas/core/publish-options.ts";
import { resultOrBadRequest } from "../../support/http-error.ts";

const KNOWN = [
  "content-type",
  "authorization",
  "host",
  "upstash-method",
  "upstash-delay",
  "upstash-not-before",
  "upstash-retries",
  "upstash-retry-delay",
  "upstash-timeout",
  "upstash-label",
  "upstash-header-forward",
  "upstash-callback",
  "upstash-callback-method",
  "upstash-callback-retries",
  "upstash-callback-retry-delay",
  "upstash-callback-timeout",
  "upstash-callback-delay",
  "upstash-failure-callback",
  "upstash-failure-callback-method",
  "upstash-failure-callback-retries",
  "upstash-failure-callback-retry-delay",
  "upstash-failure-callback-timeout",
  "upstash-failure-callback-delay",
  "upstash-telemetry-sdk",
  "upstash-deduplication-id",
  "upstash-redact-fields",
];
const PREFIXES = ["upstash-forward-", "upstash-callback-forward-", "upstash-failure-callback-forward-", "x-", ""];

// Lower-case HTTP token names, as a server hands them over, including names of Object.prototype members.
const token = fc.oneof(
  fc.stringMatching(/^[a-z0-9!#$%&'*+.^_`|~-]{0,12}$/),
  fc.constantFrom("__proto__", "constructor", "tostring", "hasownproperty"),
);
const name = fc.oneof(
  fc.constantFrom(...KNOWN),
  fc.tuple(fc.constantFrom(...PREFIXES), token).map(([p, t]) => p + t),
);
const headerValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom("true", "GET", "post", "10s", "0", "3", "99", "https://cb.example.com/x", "pow(2, retried)", "a,b"),
  fc.nat().map(String),
);
const headers = fc.dictionary(name, headerValue, { maxKeys: 10 });

describe("parsePublishOptions (fuzz)", () => {
  it("returns sane options or throws HttpError 400 for arbitrary headers and query config", () => {
    fc.assert(
      fc.property(headers, headers, fc.integer({ min: 0, max: 4_000_000_000_000 }), (h, q, now) => {
        const query = Object.fromEntries(Object.entries(q).filter(([k]) => k.startsWith("upstash-")));
        const result = resultOrBadRequest(() => parsePublishOptions(h, now, DEFAULT_CONFIG, query));
        if (!result.ok) return;
        const options = result.value;
        expect(["GET", "POST", "PUT", "PATCH", "DELETE"]).toContain(options.method);
        expect(options.maxRetries).toBeGreaterThanOrEqual(0);
        expect(options.maxRetries).toBeLessThanOrEqual(DEFAULT_CONFIG.maxRetries);
        expect(options.notBefore).toBeGreaterThanOrEqual(now);
        expect(options.notBefore - now).toBeLessThanOrEqual(DEFAULT_CONFIG.maxDelaySec * 1000);
        for (const values of Object.values(options.header)) expect(values.length).toBeGreaterThan(0);
        if (h["upstash-forward-authorization"] === undefined) expect(options.header.Authorization).toBeUndefined();
        if (h["upstash-forward-host"] === undefined) expect(options.header.Host).toBeUndefined();
        for (const label of options.labels) expect(label).toBe(label.trim());
      }),
      { numRuns: 1000 },
    );
  });
});
