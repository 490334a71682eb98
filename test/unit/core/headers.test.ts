import { describe, expect, it } from "vitest";
import {
  addHeader,
  canonicalHeaderName,
  flattenHeaders,
  getHeader,
  type HeaderMap,
} from "../../../lambdas/core/headers.ts";

describe("canonicalHeaderName (Go's CanonicalMIMEHeaderKey)", () => {
  it.each([
    ["content-type", "Content-Type"],
    ["CONTENT-TYPE", "Content-Type"],
    ["x-abc-def", "X-Abc-Def"],
    ["ETAG", "Etag"],
    ["etag", "Etag"],
    ["bypass-tunnel-reminder", "Bypass-Tunnel-Reminder"],
    ["x-ratelimit-reset", "X-Ratelimit-Reset"],
    ["X-RateLimit-Reset", "X-Ratelimit-Reset"],
    ["a--b", "A--B"],
    ["-leading", "-Leading"],
    ["x-1abc", "X-1abc"],
    ["user_agent", "User_agent"],
    ["www-authenticate", "Www-Authenticate"],
  ])("%s -> %s", (name, canonical) => {
    expect(canonicalHeaderName(name)).toBe(canonical);
  });

  it.each(["my header", "x-abc def", "", "x:y", "ümlaut-header", "a\tb", "(x)"])(
    "leaves %j unchanged (not an HTTP token)",
    (name) => {
      expect(canonicalHeaderName(name)).toBe(name);
    },
  );
});

describe("addHeader", () => {
  it("stores canonical names and appends repeated values", () => {
    const map: HeaderMap = {};
    addHeader(map, "x-custom", "a");
    addHeader(map, "X-CUSTOM", "b");
    addHeader(map, "content-type", "text/plain");
    expect(map).toEqual({ "X-Custom": ["a", "b"], "Content-Type": ["text/plain"] });
  });

  it("keeps an existing array and its other values", () => {
    const map: HeaderMap = { Accept: ["text/html"] };
    addHeader(map, "accept", "application/json");
    expect(map).toEqual({ Accept: ["text/html", "application/json"] });
  });
});

describe("getHeader", () => {
  const map: HeaderMap = {};
  addHeader(map, "Retry-After", "5");
  addHeader(map, "x-multi", "a");
  addHeader(map, "x-multi", "b");

  it("looks names up case-insensitively", () => {
    expect(getHeader(map, "retry-after")).toBe("5");
    expect(getHeader(map, "RETRY-AFTER")).toBe("5");
    expect(getHeader(map, "Retry-After")).toBe("5");
  });

  it("joins several values with a comma", () => {
    expect(getHeader(map, "X-Multi")).toBe("a, b");
  });

  it("returns undefined when absent", () => {
    expect(getHeader(map, "x-absent")).toBeUndefined();
  });
});

describe("flattenHeaders", () => {
  it("joins values per name", () => {
    expect(flattenHeaders({ "X-A": ["1", "2"], "Content-Type": ["text/plain"] })).toEqual({
      "X-A": "1, 2",
      "Content-Type": "text/plain",
    });
  });
});
