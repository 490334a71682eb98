import { describe, expect, it } from "vitest";
import { assertHttpUrl, parseDestination, splitQuery } from "../../../lambdas/core/destination.ts";
import { expectBadRequest } from "../../support/http-error.ts";

const INVALID_SCHEME = "invalid destination url: endpoint has invalid scheme, add http:// or https://";

describe("parseDestination: URLs", () => {
  it("keeps the raw URL exactly as given", () => {
    expect(parseDestination("https://example.com/", "")).toEqual({ kind: "url", url: "https://example.com/" });
    expect(parseDestination("http://localhost:8080/a//b/%20c", "")).toEqual({
      kind: "url",
      url: "http://localhost:8080/a//b/%20c",
    });
  });

  it("lower-cases only the scheme (the URL is signed and requested as stored)", () => {
    expect(parseDestination("HTTPS://Example.com/Path", "")).toEqual({ kind: "url", url: "https://Example.com/Path" });
  });

  it("refuses a URL without a host that URL parsing would forgive", () => {
    expectBadRequest(() => parseDestination("http:///nohost", ""), "has no host");
  });

  it("repairs https:/ and http:/ collapsed by a proxy", () => {
    expect(parseDestination("https:/host/p", "")).toEqual({ kind: "url", url: "https://host/p" });
    expect(parseDestination("http:/host:81/p", "")).toEqual({ kind: "url", url: "http://host:81/p" });
  });

  it("decodes a fully percent-encoded URL", () => {
    expect(parseDestination("https%3A%2F%2Fx.com%2Fa", "")).toEqual({ kind: "url", url: "https://x.com/a" });
    expect(parseDestination("http%3a%2f%2fx.com%2fa%3fq%3d1", "")).toEqual({ kind: "url", url: "http://x.com/a?q=1" });
  });

  it("rejects broken percent-encoding with 400", () => {
    expectBadRequest(() => parseDestination("https%3A%2F%2Fx.com%E0%A4%A", ""), "not valid percent-encoding");
  });

  it("re-appends the destination's query without qstash_token and upstash-* keys, others raw and in order", () => {
    const got = parseDestination(
      "https://example.com/hook",
      "z=1&qstash_token=secret&a=%20x+y&Upstash-Retries=3&upstash-delay=10s&flag&b=2",
    );
    expect(got).toEqual({ kind: "url", url: "https://example.com/hook?z=1&a=%20x+y&flag&b=2" });
  });

  it("matches the removed keys case-insensitively, also when the key is percent-encoded", () => {
    const got = parseDestination("https://example.com/", "QSTASH_TOKEN=a&qstash%5Ftoken=b&UPSTASH%2DDELAY=1s&keep=1");
    expect(got).toEqual({ kind: "url", url: "https://example.com/?keep=1" });
  });

  it("appends with & when the remainder already has a query", () => {
    expect(parseDestination("https%3A%2F%2Fx.com%2Fa%3Fq%3D1", "b=2")).toEqual({
      kind: "url",
      url: "https://x.com/a?q=1&b=2",
    });
  });

  it("adds no ? when nothing remains of the query", () => {
    expect(parseDestination("https://x.com/a", "qstash_token=t&upstash-retries=1")).toEqual({
      kind: "url",
      url: "https://x.com/a",
    });
    expect(parseDestination("https://x.com/a", "&&")).toEqual({ kind: "url", url: "https://x.com/a" });
  });

  it.each([
    "ftp://x.com/a",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "ws://x.com",
    "mailto:a@b.c",
    "localhost:3000",
  ])("rejects the scheme of %s", (raw) => {
    const message = expectBadRequest(() => parseDestination(raw, ""));
    expect(message).toBe(INVALID_SCHEME);
  });

  it("rejects an http(s) URL that does not parse or has no host", () => {
    expectBadRequest(() => parseDestination("https://", ""), "invalid destination url");
    expectBadRequest(() => parseDestination("https://exa mple.com/", ""), "not a valid URL");
    expectBadRequest(() => parseDestination("http://[::1/", ""), "not a valid URL");
  });
});

describe("parseDestination: fragments", () => {
  it("puts the forwarded query before a #fragment of a decoded destination", () => {
    expect(parseDestination("https%3A%2F%2Fx.com%2Fa%23frag", "b=1")).toEqual({
      kind: "url",
      url: "https://x.com/a?b=1#frag",
    });
  });
});

describe("parseDestination: URL groups and junk", () => {
  it.each(["my-group.v1", "group_1", "G", "a".repeat(128)])("reads %s as a URL group", (name) => {
    expect(parseDestination(name, "a=1")).toEqual({ kind: "urlGroup", name });
  });

  it.each(["", "a/b", "my group", "a".repeat(129), "grüppe", "api/llm", "%2F"])("rejects %j", (raw) => {
    expectBadRequest(() => parseDestination(raw, ""), "invalid destination url");
  });
});

describe("splitQuery", () => {
  it("collects upstash-* keys lower-cased with decoded values", () => {
    expect(splitQuery("Upstash-Retries=3&upstash-delay=10%20s&UPSTASH-LABEL=a+b&upstash-header-forward")).toEqual({
      forwardQuery: "",
      config: { "upstash-retries": "3", "upstash-delay": "10 s", "upstash-label": "a b", "upstash-header-forward": "" },
    });
  });

  it("keeps other parts raw and in order, drops qstash_token and empty parts", () => {
    expect(splitQuery("b=%2F&qstash_token=x&&a&c=1=2")).toEqual({ forwardQuery: "b=%2F&a&c=1=2", config: {} });
  });

  it("keeps values it cannot decode raw", () => {
    expect(splitQuery("upstash-label=%E0%A4%A&x=%")).toEqual({
      forwardQuery: "x=%",
      config: { "upstash-label": "%E0%A4%A" },
    });
  });

  it("returns nothing for an empty query", () => {
    expect(splitQuery("")).toEqual({ forwardQuery: "", config: {} });
  });
});

describe("assertHttpUrl", () => {
  it("accepts absolute http(s) URLs", () => {
    expect(() => assertHttpUrl("https://cb.example.com/x?y=1", "Upstash-Callback")).not.toThrow();
    expect(() => assertHttpUrl("http://127.0.0.1:9000", "Upstash-Callback")).not.toThrow();
  });

  it("rejects other schemes, relative and unparsable URLs with 400 naming the header", () => {
    expectBadRequest(() => assertHttpUrl("ftp://x.com", "Upstash-Callback"), "invalid Upstash-Callback", "scheme");
    expectBadRequest(
      () => assertHttpUrl("/relative", "Upstash-Callback"),
      "invalid Upstash-Callback",
      "not a valid URL",
    );
    expectBadRequest(() => assertHttpUrl("not a url", "Upstash-Failure-Callback"), "invalid Upstash-Failure-Callback");
  });
});
