import { describe, expect, it } from "vitest";
import { epochMs, listQuery, parseHeaderLines, publishCall, type PublishForm } from "../../../console/src/query.ts";

const EMPTY_FORM: PublishForm = {
  destination: "",
  queue: "",
  method: "POST",
  delay: "",
  retries: "",
  callback: "",
  failureCallback: "",
  deduplicationId: "",
  label: "",
  contentType: "",
  headers: "",
  body: "",
};

describe("console list queries", () => {
  it("leaves out empty fields and trims the rest", () => {
    expect(
      listQuery({ url: " https://a.example/x ", label: "", queueName: "q" }, { cursor: undefined, count: "50" }),
    ).toBe("url=https%3A%2F%2Fa.example%2Fx&queueName=q&count=50");
  });

  it("turns date fields into epoch ms in the viewer's zone, and keeps epoch ms as they are", () => {
    const local = "2026-12-02T10:30";
    expect(listQuery({ fromDate: local, toDate: "1700000000000" })).toBe(
      `fromDate=${new Date(local).getTime()}&toDate=1700000000000`,
    );
    expect(() => epochMs("fromDate", "yesterday")).toThrow("fromDate: not a date or time");
  });
});

describe("console header lines", () => {
  it("reads Name: value lines, skipping blank ones", () => {
    expect(parseHeaderLines("X-A: 1\n\n  \nUpstash-Forward-B:  two words \r\nX-C:")).toEqual([
      ["X-A", "1"],
      ["Upstash-Forward-B", "two words"],
      ["X-C", ""],
    ]);
  });

  it("names the line a header cannot be read from", () => {
    expect(() => parseHeaderLines("X-A: 1\nno colon here")).toThrow('header line 2: write it as "Name: value"');
    expect(() => parseHeaderLines("Bad Name: 1")).toThrow("header line 1");
    expect(() => parseHeaderLines("X-A: 1\nX-B: a\u0001b")).toThrow("header line 2: the value has characters");
    expect(() => parseHeaderLines("X-A: ☃")).toThrow("header line 1: the value has characters");
  });
});

describe("console request builder", () => {
  it("publishes to the destination as the SDKs do, options as Upstash headers", () => {
    const call = publishCall({
      ...EMPTY_FORM,
      destination: "https://sink.example/a?b=1",
      method: "PUT",
      delay: "10s",
      retries: "2",
      callback: "https://cb.example",
      label: "nightly",
      contentType: "application/json",
      headers: "Upstash-Forward-X: 1",
      body: '{"a":1}',
    });
    expect(call).toEqual({
      path: "/v2/publish/https://sink.example/a?b=1",
      headers: [
        ["Upstash-Method", "PUT"],
        ["Upstash-Delay", "10s"],
        ["Upstash-Retries", "2"],
        ["Upstash-Callback", "https://cb.example"],
        ["Upstash-Label", "nightly"],
        ["Content-Type", "application/json"],
        ["Upstash-Forward-X", "1"],
      ],
      body: '{"a":1}',
    });
  });

  it("enqueues when a queue is named, and needs a destination", () => {
    expect(publishCall({ ...EMPTY_FORM, destination: "my-group", queue: "q1" }).path).toBe("/v2/enqueue/q1/my-group");
    expect(() => publishCall(EMPTY_FORM)).toThrow("Destination");
  });
});
