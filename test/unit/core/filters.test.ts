import { describe, expect, it } from "vitest";
import { matchesFilter, parseListQuery, type QuerySpec } from "../../../lambdas/core/filters.ts";
import { expectBadRequest } from "../../support/http-error.ts";
import { makeMessage } from "../../support/message-fixture.ts";

const LOGS: QuerySpec = { extra: ["state", "order"], idsKey: "messageIds", strict: false, maxCount: 1000 };
const DLQ: QuerySpec = { extra: ["order", "responseStatus"], idsKey: "dlqIds", strict: true, maxCount: 1000 };
const parse = (query: string, spec: QuerySpec = LOGS) => parseListQuery(new URLSearchParams(query), spec);

describe("parseListQuery: filters", () => {
  it("returns an empty filter for an empty query", () => {
    expect(parse("")).toEqual({ filter: {} });
  });

  it("collects repeated keys and comma-separated values, trimmed, empties dropped", () => {
    expect(parse("label=a&label=b,c&label=%20d%20,,&url=https://x.com/a").filter).toEqual({
      label: ["a", "b", "c", "d"],
      url: ["https://x.com/a"],
    });
  });

  it("reads every common filter key", () => {
    const query = parse(
      "messageId=m1&url=u&host=h&path=/p&topicName=t&scheduleId=s&queueName=q&label=l&callerIp=1.1.1.1&flowControlKey=k",
    );
    expect(query.filter).toEqual({
      messageId: ["m1"],
      url: ["u"],
      host: ["h"],
      path: ["/p"],
      topicName: ["t"],
      scheduleId: ["s"],
      queueName: ["q"],
      label: ["l"],
      callerIp: ["1.1.1.1"],
      flowControlKey: ["k"],
    });
  });

  it("accepts callerIP as a spelling of callerIp and merges both", () => {
    expect(parse("callerIP=1.1.1.1").filter).toEqual({ callerIp: ["1.1.1.1"] });
    expect(parse("callerIp=2.2.2.2&callerIP=1.1.1.1").filter).toEqual({ callerIp: ["2.2.2.2", "1.1.1.1"] });
  });

  it("reads the ids key of the endpoint only", () => {
    expect(parse("messageIds=a,b&messageIds=c").ids).toEqual(["a", "b", "c"]);
    expect(parse("dlqIds=a").ids).toBeUndefined();
    expect(parse("dlqIds=1-a&dlqIds=2-b", DLQ).ids).toEqual(["1-a", "2-b"]);
  });

  // Regression (fuzz): a 3000-character dlqId reached DynamoDB as a key and answered 500 on AWS.
  it("refuses an id longer than any Herald makes, and more ids than the endpoint's count", () => {
    expect(parse(`dlqIds=${"a".repeat(256)}`, DLQ).ids).toEqual(["a".repeat(256)]);
    expectBadRequest(() => parse(`dlqIds=1-a,${"a".repeat(257)}`, DLQ), "invalid dlqIds", "at most 256");
    const ids = Array.from({ length: 1001 }, (_, i) => `m${i}`).join(",");
    expectBadRequest(() => parse(`messageIds=${ids}`), "too many messageIds", "at most 1000");
  });
});

describe("parseListQuery: state", () => {
  it("reads states case-insensitively; IN_PROGRESS expands, CANCELLED is an alias", () => {
    expect(parse("state=delivered").states).toEqual(new Set(["DELIVERED"]));
    expect(parse("state=IN_PROGRESS").states).toEqual(new Set(["ACTIVE", "RETRY", "ERROR"]));
    expect(parse("state=CANCELLED").states).toEqual(new Set(["CANCELED"]));
    expect(parse("state=FAILED,CREATED&state=CANCEL_REQUESTED").states).toEqual(
      new Set(["FAILED", "CREATED", "CANCEL_REQUESTED"]),
    );
  });

  it("rejects an unknown state", () => {
    expectBadRequest(() => parse("state=DONE"), 'invalid state "DONE"', "IN_PROGRESS");
  });

  it("ignores state where the endpoint does not support it", () => {
    expect(parse("state=whatever", { ...LOGS, extra: [] }).states).toBeUndefined();
  });
});

describe("parseListQuery: strict mode", () => {
  it("rejects unknown keys with 400 naming the key", () => {
    const message = expectBadRequest(() => parse("labeel=x", DLQ));
    expect(message).toBe('unknown filter "labeel"');
    expectBadRequest(() => parse("x=1", DLQ), 'unknown filter "x"');
    expectBadRequest(() => parse("state=FAILED", DLQ), 'unknown filter "state"');
  });

  it("allows qstash_token and every known key", () => {
    const query = parse(
      "qstash_token=t&label=a&callerIP=1&fromDate=1&toDate=2&count=5&cursor=c&order=latestFirst&responseStatus=500&dlqIds=d",
      DLQ,
    );
    expect(query).toEqual({
      filter: { label: ["a"], callerIp: ["1"] },
      ids: ["d"],
      fromDate: 1,
      toDate: 2,
      count: 5,
      cursor: "c",
      order: "latestFirst",
      responseStatus: [500],
    });
  });

  it("ignores unknown keys when not strict", () => {
    expect(parse("labeel=x&foo=bar")).toEqual({ filter: {} });
  });
});

describe("parseListQuery: numbers, order, cursor", () => {
  it("reads count within 1..maxCount", () => {
    expect(parse("count=1").count).toBe(1);
    expect(parse("count=1000").count).toBe(1000);
    expectBadRequest(() => parse("count=0"), "invalid count", "between 1 and 1000");
    expectBadRequest(() => parse("count=1001"), "invalid count");
    expectBadRequest(() => parse("count=-5"), "invalid count");
    expectBadRequest(() => parse("count=ten"), "invalid count");
  });

  it("reads fromDate and toDate as integers (epoch ms)", () => {
    expect(parse("fromDate=1700000000000&toDate=1800000000000")).toMatchObject({
      fromDate: 1_700_000_000_000,
      toDate: 1_800_000_000_000,
    });
    expect(parse("fromDate=").fromDate).toBeUndefined();
  });

  it.each(["yesterday", "1.5", "2025-01-01", "1e12", "12345678901234567"])("rejects fromDate=%s", (raw) => {
    expectBadRequest(() => parse(`fromDate=${raw}`), "invalid fromDate");
  });

  it("rejects a bad toDate", () => {
    expectBadRequest(() => parse("toDate=now"), "invalid toDate");
  });

  it("reads order only where supported and validates it", () => {
    expect(parse("order=earliestFirst").order).toBe("earliestFirst");
    expectBadRequest(() => parse("order=newest"), 'invalid order "newest"');
    expect(parse("order=newest", { ...LOGS, extra: [] }).order).toBeUndefined();
  });

  it("reads responseStatus values as numbers", () => {
    expect(parse("responseStatus=500,404", DLQ).responseStatus).toEqual([500, 404]);
    expectBadRequest(() => parse("responseStatus=5xx", DLQ), 'invalid responseStatus "5xx"');
  });

  it("keeps a non-empty cursor as given", () => {
    expect(parse("cursor=1700000000000-42").cursor).toBe("1700000000000-42");
    expect(parse("cursor=").cursor).toBeUndefined();
  });
});

describe("matchesFilter", () => {
  const message = makeMessage({
    messageId: "msg_1",
    url: "https://example.com:8443/api/hook?x=1",
    labels: ["blue", "green"],
    topicName: "group",
    queueName: "queue",
    scheduleId: "scd_1",
    callerIp: "10.0.0.1",
  });

  it("matches everything with an empty filter", () => {
    expect(matchesFilter(message, {})).toBe(true);
  });

  it("ORs values within one key", () => {
    expect(matchesFilter(message, { messageId: ["msg_0", "msg_1"] })).toBe(true);
    expect(matchesFilter(message, { messageId: ["msg_0", "msg_2"] })).toBe(false);
  });

  it("ANDs across keys", () => {
    expect(matchesFilter(message, { messageId: ["msg_1"], queueName: ["queue"] })).toBe(true);
    expect(matchesFilter(message, { messageId: ["msg_1"], queueName: ["other"] })).toBe(false);
  });

  it("compares url exactly", () => {
    expect(matchesFilter(message, { url: ["https://example.com:8443/api/hook?x=1"] })).toBe(true);
    expect(matchesFilter(message, { url: ["https://example.com:8443/api/hook"] })).toBe(false);
  });

  it("matches host against host with port or hostname", () => {
    expect(matchesFilter(message, { host: ["example.com:8443"] })).toBe(true);
    expect(matchesFilter(message, { host: ["example.com"] })).toBe(true);
    expect(matchesFilter(message, { host: ["example.org"] })).toBe(false);
    expect(matchesFilter(message, { host: ["example.com:80"] })).toBe(false);
  });

  it("matches path against the pathname only", () => {
    expect(matchesFilter(message, { path: ["/api/hook"] })).toBe(true);
    expect(matchesFilter(message, { path: ["/api/hook?x=1"] })).toBe(false);
    expect(matchesFilter(message, { path: ["/api"] })).toBe(false);
    expect(matchesFilter(message, { host: ["example.com"], path: ["/api/hook"] })).toBe(true);
    expect(matchesFilter(message, { host: ["other.com"], path: ["/api/hook"] })).toBe(false);
  });

  it("matches a label when the message has any of the wanted labels", () => {
    expect(matchesFilter(message, { label: ["red", "green"] })).toBe(true);
    expect(matchesFilter(message, { label: ["red"] })).toBe(false);
    expect(matchesFilter(makeMessage({ labels: [] }), { label: ["red"] })).toBe(false);
  });

  it("requires optional fields to be present when filtered on", () => {
    const bare = makeMessage();
    expect(matchesFilter(bare, { topicName: ["group"] })).toBe(false);
    expect(matchesFilter(bare, { scheduleId: ["scd_1"] })).toBe(false);
    expect(matchesFilter(bare, { callerIp: ["10.0.0.1"] })).toBe(false);
    expect(matchesFilter(message, { topicName: ["group"], scheduleId: ["scd_1"], callerIp: ["10.0.0.1"] })).toBe(true);
  });

  it("matches no message by flow-control key yet", () => {
    expect(matchesFilter(message, { flowControlKey: ["k"] })).toBe(false);
  });

  it("does not match host or path filters when the url does not parse", () => {
    expect(matchesFilter(makeMessage({ url: "not a url" }), { host: ["not a url"] })).toBe(false);
  });
});
