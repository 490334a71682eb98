import { describe, expect, it } from "vitest";
import { parseDuration } from "../../../lambdas/core/duration.ts";
import { expectBadRequest } from "../../support/http-error.ts";

describe("parseDuration", () => {
  it.each([
    ["10s", 10],
    ["5m", 300],
    ["2h", 7_200],
    ["1d", 86_400],
    ["0s", 0],
    ["1d10h30m", 86_400 + 36_000 + 1_800],
    ["1d10m", 86_400 + 600],
    ["1h1h", 7_200],
    ["30s1m", 90],
  ])("parses %s as %i seconds", (raw, seconds) => {
    expect(parseDuration(raw, "Upstash-Delay")).toBe(seconds);
  });

  it("reads a bare integer as seconds", () => {
    expect(parseDuration("0", "Upstash-Delay")).toBe(0);
    expect(parseDuration("90", "Upstash-Delay")).toBe(90);
    expect(parseDuration("999999999999", "Upstash-Delay")).toBe(999_999_999_999);
  });

  it("accepts upper-case units and surrounding whitespace", () => {
    expect(parseDuration("10S", "Upstash-Delay")).toBe(10);
    expect(parseDuration("1D2H3M4S", "Upstash-Delay")).toBe(86_400 + 7_200 + 180 + 4);
    expect(parseDuration("  5m\t", "Upstash-Delay")).toBe(300);
  });

  it.each(["", "   ", "10x", "s", "-1s", "1.5s", "10 s", "1s 2m", "m5", "1e3s", "+5s", "5s,", "0x10s", "１s"])(
    "rejects %j with a 400 naming the header",
    (raw) => {
      expectBadRequest(() => parseDuration(raw, "Upstash-Timeout"), "invalid Upstash-Timeout");
    },
  );

  it("rejects very long input, even when it is made of valid groups", () => {
    expectBadRequest(() => parseDuration("1s".repeat(40), "Upstash-Delay"), "invalid Upstash-Delay");
    expectBadRequest(() => parseDuration(`${"1".repeat(5000)}s`, "Upstash-Delay"), "invalid Upstash-Delay");
  });

  it("rejects a sum that is not a safe integer", () => {
    expectBadRequest(() => parseDuration("99999999999999999999d", "Upstash-Delay"), "invalid Upstash-Delay");
  });

  it("echoes the (clipped) input in the message", () => {
    const message = expectBadRequest(() => parseDuration("10x", "Upstash-Delay"), '"10x"');
    expect(message).toContain("10s, 5m, 2h, 1d");
    const long = expectBadRequest(() => parseDuration("y".repeat(500), "Upstash-Delay"));
    expect(long.length).toBeLessThan(200);
  });
});
