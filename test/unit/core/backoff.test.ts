import { describe, expect, it } from "vitest";
import { defaultBackoffMs, destinationDirectedDelayMs, retryDelayMs } from "../../../lambdas/core/backoff.ts";
import { DEFAULT_CONFIG } from "../../../lambdas/core/config.ts";
import { addHeader, type HeaderMap } from "../../../lambdas/core/headers.ts";

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2025, 0, 1, 0, 0, 0);

function headers(entries: Record<string, string>): HeaderMap {
  const map: HeaderMap = {};
  for (const [name, value] of Object.entries(entries)) addHeader(map, name, value);
  return map;
}
const directed = (entries: Record<string, string>): number | undefined =>
  destinationDirectedDelayMs(headers(entries), NOW);

describe("defaultBackoffMs", () => {
  it("is round(e^(factor·n)) seconds in ms", () => {
    expect(defaultBackoffMs(1, 2)).toBe(7389);
    expect(defaultBackoffMs(2, 2)).toBe(54_598);
    expect(defaultBackoffMs(5, 2)).toBe(22_026_466);
    expect(defaultBackoffMs(0, 2)).toBe(1000);
  });

  it("with factor 2.5 follows the documented table: 12s, 2m28s, 30m8s, 6h7m6s, then a day", () => {
    expect(defaultBackoffMs(1, 2.5)).toBe(12_182);
    expect(Math.round(defaultBackoffMs(2, 2.5) / 1000)).toBe(2 * 60 + 28);
    expect(Math.round(defaultBackoffMs(3, 2.5) / 1000)).toBe(30 * 60 + 8);
    expect(Math.round(defaultBackoffMs(4, 2.5) / 1000)).toBe(6 * 3600 + 7 * 60 + 6);
    expect(defaultBackoffMs(5, 2.5)).toBe(DAY_MS);
  });

  it("is capped at one day", () => {
    expect(defaultBackoffMs(6, 2)).toBe(DAY_MS);
    expect(defaultBackoffMs(1000, 2)).toBe(DAY_MS);
  });

  it("grows monotonically with n", () => {
    const delays = Array.from({ length: 12 }, (_, n) => defaultBackoffMs(n, 2));
    for (let n = 1; n < delays.length; n++) expect(delays[n]).toBeGreaterThanOrEqual(delays[n - 1] as number);
  });
});

describe("destinationDirectedDelayMs", () => {
  it("reads Retry-After integer seconds, 0 meaning now", () => {
    expect(directed({ "Retry-After": "120" })).toBe(120_000);
    expect(directed({ "retry-after": " 5 " })).toBe(5_000);
    expect(directed({ "Retry-After": "0" })).toBe(0);
  });

  it("reads an HTTP date relative to now; a past date means now", () => {
    expect(directed({ "Retry-After": "Wed, 01 Jan 2025 00:00:30 GMT" })).toBe(30_000);
    expect(directed({ "Retry-After": "Wed, 01 Jan 2025 01:00:00 GMT" })).toBe(3_600_000);
    expect(directed({ "Retry-After": "Tue, 31 Dec 2024 23:59:00 GMT" })).toBe(0);
  });

  it.each([
    ["6m5s", 365_000],
    ["1.5s", 1_500],
    ["250ms", 250],
    ["1h", 3_600_000],
    ["2h30m", 9_000_000],
    ["1500us", 2],
    ["1500µs", 2],
    ["5000000ns", 5],
    ["1m0.5s", 60_500],
  ])("reads the Go duration %s", (raw, ms) => {
    expect(directed({ "Retry-After": raw })).toBe(ms);
  });

  it.each(["X-RateLimit-Reset", "X-RateLimit-Reset-Requests", "X-RateLimit-Reset-Tokens", "x-ratelimit-reset"])(
    "reads %s",
    (name) => {
      expect(directed({ [name]: "6m5s" })).toBe(365_000);
      expect(directed({ [name]: "7" })).toBe(7_000);
    },
  );

  it("ignores values over one day, keeps exactly one day", () => {
    expect(directed({ "Retry-After": "86400" })).toBe(DAY_MS);
    expect(directed({ "Retry-After": "86401" })).toBeUndefined();
    expect(directed({ "Retry-After": "25h" })).toBeUndefined();
    expect(directed({ "Retry-After": "Fri, 03 Jan 2025 00:00:00 GMT" })).toBeUndefined();
    // a unix timestamp in seconds, as some APIs send in X-RateLimit-Reset, is far over a day
    expect(directed({ "X-RateLimit-Reset": "1735689600" })).toBeUndefined();
  });

  it.each(["", "   ", "abc", "soon", "12 apples", "in 2 minutes", "6x", "1d", "ms", "1.5", "-5", "hello 1", "soon 5"])(
    "ignores garbage %j",
    (raw) => {
      expect(directed({ "Retry-After": raw })).toBeUndefined();
    },
  );

  it("returns undefined without any directive header", () => {
    expect(directed({})).toBeUndefined();
    expect(directed({ "Content-Type": "text/plain", "X-Retry": "5" })).toBeUndefined();
  });

  it("prefers Retry-After, and falls through to the next header when a value is ignored", () => {
    expect(directed({ "Retry-After": "3", "X-RateLimit-Reset": "9" })).toBe(3_000);
    expect(directed({ "Retry-After": "999999", "X-RateLimit-Reset": "9" })).toBe(9_000);
    expect(directed({ "Retry-After": "nonsense", "X-RateLimit-Reset-Tokens": "250ms" })).toBe(250);
  });
});

describe("retryDelayMs", () => {
  const config = DEFAULT_CONFIG;

  it("uses the default backoff with n = retried + 1", () => {
    expect(retryDelayMs({}, 0, undefined, NOW, config)).toBe(defaultBackoffMs(1, config.backoffFactor));
    expect(retryDelayMs({}, 2, undefined, NOW, config)).toBe(defaultBackoffMs(3, config.backoffFactor));
    expect(retryDelayMs({}, 0, undefined, NOW, { ...config, backoffFactor: 2.5 })).toBe(12_182);
  });

  it("evaluates the expression with retried = the 0-based attempt that failed", () => {
    const options = { retryDelayExpression: "1000 * (1 + retried)" };
    expect(retryDelayMs(options, 0, undefined, NOW, config)).toBe(1000);
    expect(retryDelayMs(options, 3, undefined, NOW, config)).toBe(4000);
  });

  it("rounds the expression and caps it at one day", () => {
    expect(retryDelayMs({ retryDelayExpression: "1.6" }, 0, undefined, NOW, config)).toBe(2);
    expect(retryDelayMs({ retryDelayExpression: "pow(10, 12)" }, 0, undefined, NOW, config)).toBe(DAY_MS);
    expect(retryDelayMs({ retryDelayExpression: "1 / 0" }, 0, undefined, NOW, config)).toBe(DAY_MS);
    expect(retryDelayMs({ retryDelayExpression: "0 - 5" }, 0, undefined, NOW, config)).toBe(0);
  });

  it("lets the destination's header win over the expression and the default", () => {
    const response = headers({ "Retry-After": "2" });
    expect(retryDelayMs({ retryDelayExpression: "50000" }, 1, response, NOW, config)).toBe(2000);
    expect(retryDelayMs({}, 1, response, NOW, config)).toBe(2000);
    expect(retryDelayMs({}, 1, headers({ "Retry-After": "0" }), NOW, config)).toBe(0);
  });

  it("ignores an unusable destination header", () => {
    const response = headers({ "Retry-After": "999999", "Content-Type": "text/plain" });
    expect(retryDelayMs({ retryDelayExpression: "50" }, 1, response, NOW, config)).toBe(50);
    expect(retryDelayMs({}, 1, response, NOW, config)).toBe(defaultBackoffMs(2, config.backoffFactor));
  });
});
