import { describe, expect, it } from "vitest";
import { callbackMessage, callbackPayload } from "../../../lambdas/core/callbacks.ts";
import type { AttemptResponse, CallbackSettings } from "../../../lambdas/core/message.ts";
import { makeMessage } from "../../support/message-fixture.ts";

const NOW = 1_800_000_000_000;
const b64 = (text: string): string => Buffer.from(text).toString("base64");
const decodeBody = (body: Uint8Array): Record<string, unknown> =>
  JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;

const source = makeMessage({
  messageId: "msg_SOURCE",
  url: "https://dest.example.com/hook",
  method: "PUT",
  header: { "Content-Type": ["application/json"], "X-Custom": ["a", "b"] },
  body: new TextEncoder().encode('{"order":1}'),
  maxRetries: 4,
  retryDelayExpression: "1000 * retried",
  timeoutSec: 30,
  labels: ["billing"],
  notBefore: 1_700_000_001_000,
  createdAt: 1_700_000_000_000,
  callerIp: "203.0.113.9",
});
const response: AttemptResponse = {
  status: 503,
  header: { "Retry-After": ["5"], "Content-Type": ["text/plain"] },
  body: new TextEncoder().encode("try later"),
};
const settings: CallbackSettings = { url: "https://cb.example.com/done", header: { "X-Token": ["t"] } };

describe("callbackPayload", () => {
  it("carries the response and the source message (docs/qstash-api.md §22)", () => {
    expect(callbackPayload({ source, retried: 2, response })).toEqual({
      status: 503,
      header: { "Retry-After": ["5"], "Content-Type": ["text/plain"] },
      body: b64("try later"),
      retried: 2,
      maxRetries: 4,
      sourceMessageId: "msg_SOURCE",
      url: "https://dest.example.com/hook",
      method: "PUT",
      sourceHeader: { "Content-Type": ["application/json"], "X-Custom": ["a", "b"] },
      sourceBody: b64('{"order":1}'),
      notBefore: 1_700_000_001_000,
      createdAt: 1_700_000_000_000,
      callerIP: "203.0.113.9",
    });
  });

  it("adds dlqId only when given (failure callbacks)", () => {
    expect(callbackPayload({ source, retried: 4, response })).not.toHaveProperty("dlqId");
    expect(callbackPayload({ source, retried: 4, response, dlqId: "1700000000000-SOURCE" })).toMatchObject({
      dlqId: "1700000000000-SOURCE",
    });
  });

  it("reports status 0, no headers, an empty body and the error when there was no response", () => {
    const payload = callbackPayload({ source, retried: 0, error: "connect ECONNREFUSED" });
    expect(payload).toMatchObject({ status: 0, header: {}, body: "", error: "connect ECONNREFUSED" });
  });

  it("omits optional source fields that are absent and includes them when present", () => {
    const bare = makeMessage({ body: new Uint8Array() });
    const payload = callbackPayload({ source: bare, retried: 0, response });
    expect(payload.sourceBody).toBe("");
    for (const key of ["callerIP", "topicName", "endpointName", "scheduleId", "error", "dlqId"]) {
      expect(payload).not.toHaveProperty(key);
    }
    const grouped = makeMessage({ topicName: "grp", endpointName: "ep", scheduleId: "scd_1" });
    expect(callbackPayload({ source: grouped, retried: 0, response })).toMatchObject({
      topicName: "grp",
      endpointName: "ep",
      scheduleId: "scd_1",
    });
  });

  it("encodes binary bodies as base64", () => {
    const binary: AttemptResponse = { status: 200, header: {}, body: new Uint8Array([0, 255, 128]) };
    expect(callbackPayload({ source, retried: 0, response: binary }).body).toBe("AP+A");
  });
});

describe("callbackMessage", () => {
  const base = { kind: "callback" as const, source, settings, retried: 1, response, nowMs: NOW };

  it("is a POST of the JSON payload to the callback URL with its forwarded headers", () => {
    const message = callbackMessage(base);
    expect(message.url).toBe("https://cb.example.com/done");
    expect(message.method).toBe("POST");
    expect(message.header).toEqual({ "X-Token": ["t"], "Content-Type": ["application/json"] });
    expect(decodeBody(message.body)).toEqual(callbackPayload({ source, retried: 1, response }));
    expect(message.createdAt).toBe(NOW);
    expect(message.notBefore).toBe(NOW);
    expect(message.labels).toEqual(["billing"]);
    expect(message.callerIp).toBe("203.0.113.9");
    expect(message.origin).toEqual({ kind: "callback", sourceMessageId: "msg_SOURCE" });
  });

  it("always sends Content-Type application/json, even if a forwarded header says otherwise", () => {
    const message = callbackMessage({ ...base, settings: { ...settings, header: { "Content-Type": ["text/xml"] } } });
    expect(message.header["Content-Type"]).toEqual(["application/json"]);
  });

  it("derives its id deterministically from the source and the attempt", () => {
    const a = callbackMessage(base).messageId;
    expect(callbackMessage({ ...base, nowMs: NOW + 5 }).messageId).toBe(a);
    expect(callbackMessage({ ...base, retried: 2 }).messageId).not.toBe(a);
    const failure = { ...base, kind: "failureCallback" as const, dlqId: "d1" };
    const f = callbackMessage(failure).messageId;
    expect(f).not.toBe(a);
    expect(callbackMessage({ ...failure, retried: 4 }).messageId).toBe(f);
    expect(callbackMessage({ ...base, source: { ...source, messageId: "msg_OTHER" } }).messageId).not.toBe(a);
  });

  it("inherits retries, retry delay and timeout from the source", () => {
    const message = callbackMessage(base);
    expect(message.maxRetries).toBe(4);
    expect(message.retryDelayExpression).toBe("1000 * retried");
    expect(message.timeoutSec).toBe(30);
  });

  it("uses its own settings where given", () => {
    const own: CallbackSettings = {
      ...settings,
      method: "PATCH",
      retries: 0,
      retryDelayExpression: "500",
      timeoutSec: 5,
      delaySec: 60,
    };
    const message = callbackMessage({ ...base, settings: own });
    expect(message).toMatchObject({
      method: "PATCH",
      maxRetries: 0,
      retryDelayExpression: "500",
      timeoutSec: 5,
      notBefore: NOW + 60_000,
    });
  });

  it("leaves out retry delay and timeout when neither source nor settings have them", () => {
    const plain = makeMessage();
    const message = callbackMessage({ ...base, source: plain });
    expect(message).not.toHaveProperty("retryDelayExpression");
    expect(message).not.toHaveProperty("timeoutSec");
    expect(message).not.toHaveProperty("callerIp");
    expect(message.maxRetries).toBe(plain.maxRetries);
  });

  it("a failure callback carries the dlqId and its own origin", () => {
    const message = callbackMessage({ ...base, kind: "failureCallback", retried: 4, dlqId: "1700000000000-SOURCE" });
    expect(message.origin).toEqual({ kind: "failureCallback", sourceMessageId: "msg_SOURCE" });
    expect(decodeBody(message.body)).toMatchObject({ dlqId: "1700000000000-SOURCE", retried: 4, status: 503 });
  });

  it("carries status 0 and the error when the attempt got no response", () => {
    const message = callbackMessage({ kind: "callback", source, settings, retried: 0, error: "timeout", nowMs: NOW });
    expect(decodeBody(message.body)).toMatchObject({ status: 0, header: {}, body: "", error: "timeout" });
  });
});
