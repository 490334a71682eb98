import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type HeraldConfig } from "../../../lambdas/core/config.ts";
import { parsePublishOptions } from "../../../lambdas/core/publish-options.ts";
import { expectBadRequest } from "../../support/http-error.ts";

const NOW = 1_700_000_000_000;
const parse = (
  headers: Record<string, string>,
  query: Record<string, string> = {},
  config: HeraldConfig = DEFAULT_CONFIG,
) => parsePublishOptions(headers, NOW, config, query);

describe("parsePublishOptions: defaults", () => {
  it("POST, default retries, deliver now, nothing else", () => {
    expect(parse({})).toEqual({ method: "POST", header: {}, maxRetries: 3, labels: [], notBefore: NOW });
  });

  it("uses the configured default retries", () => {
    expect(parse({}, {}, { ...DEFAULT_CONFIG, defaultRetries: 7 }).maxRetries).toBe(7);
  });
});

describe("parsePublishOptions: method", () => {
  it.each(["GET", "post", " Put ", "pAtCh", "DELETE"])("accepts %j", (raw) => {
    expect(parse({ "upstash-method": raw }).method).toBe(raw.trim().toUpperCase());
  });

  it.each(["HEAD", "OPTIONS", "", "GETT", "PO ST"])("rejects %j", (raw) => {
    expectBadRequest(() => parse({ "upstash-method": raw }), "invalid Upstash-Method", "GET, POST, PUT, PATCH, DELETE");
  });
});

describe("parsePublishOptions: delay and not-before", () => {
  it("Upstash-Delay moves notBefore", () => {
    expect(parse({ "upstash-delay": "10s" }).notBefore).toBe(NOW + 10_000);
    expect(parse({ "upstash-delay": "1d10h30m" }).notBefore).toBe(NOW + (86_400 + 36_000 + 1_800) * 1000);
    expect(parse({ "upstash-delay": "0s" }).notBefore).toBe(NOW);
  });

  it("rejects a malformed or too long delay", () => {
    expectBadRequest(() => parse({ "upstash-delay": "10x" }), "invalid Upstash-Delay");
    expectBadRequest(() => parse({ "upstash-delay": "366d" }), "invalid Upstash-Delay", "at most 31536000s");
  });

  it("Upstash-Not-Before is unix seconds and wins over Upstash-Delay", () => {
    const at = NOW / 1000 + 3_600;
    expect(parse({ "upstash-not-before": String(at) }).notBefore).toBe(at * 1000);
    expect(parse({ "upstash-not-before": String(at), "upstash-delay": "10s" }).notBefore).toBe(at * 1000);
    // the ignored delay is not even validated
    expect(parse({ "upstash-not-before": String(at), "upstash-delay": "garbage" }).notBefore).toBe(at * 1000);
  });

  it("a Not-Before in the past means now", () => {
    expect(parse({ "upstash-not-before": "1" }).notBefore).toBe(NOW);
  });

  it("rejects a malformed or too distant Not-Before", () => {
    expectBadRequest(() => parse({ "upstash-not-before": "soon" }), "invalid Upstash-Not-Before");
    expectBadRequest(() => parse({ "upstash-not-before": String(NOW) + "0" }), "invalid Upstash-Not-Before");
    expectBadRequest(() => parse({ "upstash-not-before": "1.5" }), "invalid Upstash-Not-Before");
    const tooFar = NOW / 1000 + DEFAULT_CONFIG.maxDelaySec + 1;
    expectBadRequest(() => parse({ "upstash-not-before": String(tooFar) }), "in the future");
  });
});

describe("parsePublishOptions: retries, retry delay, timeout", () => {
  it("accepts 0 up to the configured maximum", () => {
    expect(parse({ "upstash-retries": "0" }).maxRetries).toBe(0);
    expect(parse({ "upstash-retries": " 20 " }).maxRetries).toBe(20);
  });

  it.each(["21", "-1", "1.5", "three", "", "1e2"])("rejects %j", (raw) => {
    expectBadRequest(() => parse({ "upstash-retries": raw }), "invalid Upstash-Retries");
  });

  it("keeps a valid retry-delay expression (trimmed) and rejects a malformed one", () => {
    expect(parse({ "upstash-retry-delay": " pow(2, retried) * 1000 " }).retryDelayExpression).toBe(
      "pow(2, retried) * 1000",
    );
    expectBadRequest(() => parse({ "upstash-retry-delay": "pow(2" }), "invalid Upstash-Retry-Delay");
  });

  it("reads the timeout in seconds within 1s..maxTimeoutSec", () => {
    expect(parse({ "upstash-timeout": "30s" }).timeoutSec).toBe(30);
    expect(parse({ "upstash-timeout": "15m" }).timeoutSec).toBe(900);
    expectBadRequest(() => parse({ "upstash-timeout": "0s" }), "invalid Upstash-Timeout", "at least 1s");
    expectBadRequest(() => parse({ "upstash-timeout": "16m" }), "invalid Upstash-Timeout", "at most 900s");
    expectBadRequest(() => parse({ "upstash-timeout": "x" }), "invalid Upstash-Timeout");
  });
});

describe("parsePublishOptions: forwarded headers", () => {
  it("strips Upstash-Forward- and canonicalises names Go-style", () => {
    const options = parse({
      "upstash-forward-my-header": "v1",
      "upstash-forward-authorization": "Bearer downstream",
      "upstash-forward-x-abc-def": "v2",
      "upstash-forward-upstash-foo": "v3",
    });
    expect(options.header).toEqual({
      "My-Header": ["v1"],
      Authorization: ["Bearer downstream"],
      "X-Abc-Def": ["v2"],
      "Upstash-Foo": ["v3"],
    });
  });

  it("keeps Content-Type, ignores an empty forward name", () => {
    expect(parse({ "content-type": "application/json", "upstash-forward-": "x" }).header).toEqual({
      "Content-Type": ["application/json"],
    });
  });

  it("does not forward plain headers or unknown Upstash-* headers by default", () => {
    const options = parse({
      "x-custom": "1",
      authorization: "Bearer herald",
      "upstash-telemetry-sdk": "upstash-qstash-js@2",
      "upstash-something-new": "x",
    });
    expect(options.header).toEqual({});
    expect(options).toEqual({ method: "POST", header: {}, maxRetries: 3, labels: [], notBefore: NOW });
  });

  it("with Upstash-Header-Forward: true forwards plain headers except connection and credentials", () => {
    const options = parse({
      "upstash-header-forward": "TRUE",
      "x-custom": "1",
      "x-github-event": "push",
      authorization: "Bearer herald",
      host: "herald.example.com",
      "content-length": "12",
      connection: "keep-alive",
      cookie: "a=b",
      "upstash-telemetry-sdk": "x",
      "content-type": "text/plain",
    });
    expect(options.header).toEqual({
      "X-Custom": ["1"],
      "X-Github-Event": ["push"],
      "Content-Type": ["text/plain"],
    });
  });

  it("Upstash-Header-Forward other than true forwards nothing extra", () => {
    expect(parse({ "upstash-header-forward": "false", "x-custom": "1" }).header).toEqual({});
    expect(parse({ "upstash-header-forward": "yes", "x-custom": "1" }).header).toEqual({});
  });

  // Regression (fuzz): a batch entry's JSON headers could hold what no HTTP request can; such a message was
  // accepted and then failed inside Herald on every attempt (Node refuses to send the header).
  it.each([
    ["upstash-forward-x", "a\u0001b"],
    ["upstash-forward-x", "line\nbreak"],
    ["upstash-forward-x", "emoji 😀"],
    ["upstash-forward-x", "\u0100"],
    ["upstash-forward-bad name", "v"],
    ["upstash-callback-forward-x", "\u0000"],
    ["content-type", "text/plain\r\nx: y"],
  ])("rejects the unsendable header %j: %j", (name, value) => {
    expectBadRequest(() => parse({ [name]: value }), "invalid header");
  });

  it("keeps Latin-1 (obs-text) values and tabs, which HTTP carries", () => {
    expect(parse({ "upstash-forward-x": "caf\u00e9\tok" }).header).toEqual({ X: ["caf\u00e9\tok"] });
  });
});

describe("parsePublishOptions: labels", () => {
  it("splits on commas, trims and drops empty labels", () => {
    expect(parse({ "upstash-label": " a , b,,c ," }).labels).toEqual(["a", "b", "c"]);
    expect(parse({ "upstash-label": "" }).labels).toEqual([]);
  });

  it("rejects a label over 128 characters", () => {
    expect(parse({ "upstash-label": "x".repeat(128) }).labels).toEqual(["x".repeat(128)]);
    expectBadRequest(() => parse({ "upstash-label": `ok,${"x".repeat(129)}` }), "invalid Upstash-Label");
  });
});

describe("parsePublishOptions: callbacks", () => {
  it("reads the callback and its own settings and forwarded headers", () => {
    const options = parse({
      "upstash-callback": " https://cb.example.com/done ",
      "upstash-callback-forward-x-token": "t1",
      "upstash-callback-method": "put",
      "upstash-callback-retries": "1",
      "upstash-callback-retry-delay": " 500 ",
      "upstash-callback-timeout": "10s",
      "upstash-callback-delay": "1m",
    });
    expect(options.callback).toEqual({
      url: "https://cb.example.com/done",
      header: { "X-Token": ["t1"] },
      method: "PUT",
      retries: 1,
      retryDelayExpression: "500",
      timeoutSec: 10,
      delaySec: 60,
    });
    expect(options.failureCallback).toBeUndefined();
    // callback-forward headers never reach the destination
    expect(options.header).toEqual({});
  });

  it("reads the failure callback separately", () => {
    const options = parse({
      "upstash-failure-callback": "http://fail.example.com/",
      "upstash-failure-callback-forward-authorization": "Bearer f",
      "upstash-failure-callback-method": "GET",
      "upstash-failure-callback-retries": "0",
      "upstash-failure-callback-retry-delay": "1000 * retried",
      "upstash-failure-callback-timeout": "5",
      "upstash-callback-forward-x-other": "not mine",
    });
    expect(options.failureCallback).toEqual({
      url: "http://fail.example.com/",
      header: { Authorization: ["Bearer f"] },
      method: "GET",
      retries: 0,
      retryDelayExpression: "1000 * retried",
      timeoutSec: 5,
    });
    expect(options.callback).toBeUndefined();
  });

  it("a callback has only url and header when nothing else is set", () => {
    expect(parse({ "upstash-callback": "https://cb.example.com" }).callback).toEqual({
      url: "https://cb.example.com",
      header: {},
    });
  });

  it("ignores an empty callback URL", () => {
    expect(parse({ "upstash-callback": "  " }).callback).toBeUndefined();
  });

  it.each([
    [{ "upstash-callback": "ftp://x.com" }, "invalid Upstash-Callback"],
    [{ "upstash-callback": "not a url" }, "invalid Upstash-Callback"],
    [{ "upstash-failure-callback": "/relative" }, "invalid Upstash-Failure-Callback"],
    [{ "upstash-callback": "https://cb.com", "upstash-callback-method": "HEAD" }, "invalid Upstash-Callback-Method"],
    [{ "upstash-callback": "https://cb.com", "upstash-callback-retries": "99" }, "invalid Upstash-Callback-Retries"],
    [{ "upstash-callback": "https://cb.com", "upstash-callback-retry-delay": "x" }, "invalid Upstash-Retry-Delay"],
    [{ "upstash-callback": "https://cb.com", "upstash-callback-timeout": "0" }, "invalid Upstash-Callback-Timeout"],
    [{ "upstash-failure-callback": "https://f.com", "upstash-failure-callback-delay": "x" }, "-Callback-Delay"],
  ])("rejects %j", (headers, fragment) => {
    expectBadRequest(() => parse(headers), fragment);
  });
});

describe("parsePublishOptions: query configuration", () => {
  it("applies upstash-* query parameters when the header is absent", () => {
    const options = parse(
      {},
      {
        "upstash-method": "PUT",
        "upstash-retries": "5",
        "upstash-delay": "10s",
        "upstash-label": "a,b",
        "upstash-timeout": "20s",
        "upstash-retry-delay": "1000",
        "upstash-callback": "https://cb.example.com",
      },
    );
    expect(options).toEqual({
      method: "PUT",
      header: {},
      maxRetries: 5,
      notBefore: NOW + 10_000,
      labels: ["a", "b"],
      timeoutSec: 20,
      retryDelayExpression: "1000",
      callback: { url: "https://cb.example.com", header: {} },
    });
  });

  it("headers win over query parameters", () => {
    const options = parse(
      { "upstash-retries": "1", "upstash-method": "DELETE" },
      { "upstash-retries": "5", "upstash-method": "PUT" },
    );
    expect(options.maxRetries).toBe(1);
    expect(options.method).toBe("DELETE");
  });

  it("upstash-header-forward may come from the query (webhook senders)", () => {
    expect(parse({ "x-hook": "1" }, { "upstash-header-forward": "true" }).header).toEqual({ "X-Hook": ["1"] });
  });

  it("validates query values like headers", () => {
    expectBadRequest(() => parse({}, { "upstash-retries": "lots" }), "invalid Upstash-Retries");
  });
});

describe("parsePublishOptions: review findings", () => {
  const parse = (headers: Record<string, string>) => parsePublishOptions(headers, 0, DEFAULT_CONFIG);

  it("never forwards connection headers, whether prefixed or passed through", () => {
    const options = parse({
      "upstash-forward-transfer-encoding": "chunked",
      "upstash-forward-host": "evil.example",
      "upstash-forward-content-length": "5",
      "upstash-forward-connection": "close",
      "upstash-header-forward": "true",
      upgrade: "websocket",
      "x-kept": "yes",
    });
    expect(options.header).toEqual({ "X-Kept": ["yes"] });
  });

  it("keeps one Content-Type: the request's own wins over a forwarded one", () => {
    expect(parse({ "content-type": "application/json", "upstash-forward-content-type": "text/evil" }).header).toEqual({
      "Content-Type": ["application/json"],
    });
    expect(parse({ "upstash-forward-content-type": "text/plain" }).header).toEqual({ "Content-Type": ["text/plain"] });
  });

  it("validates callback settings even without a callback URL", () => {
    expectBadRequest(() => parse({ "upstash-callback-retries": "x" }), "Upstash-Callback-Retries");
    expectBadRequest(() => parse({ "upstash-failure-callback-method": "TRACE" }), "Upstash-Failure-Callback-Method");
  });
});
