import { describe, expect, it } from "vitest";
import { accessLogLine } from "../../../bench/aws-cost/access-log-line.ts";
import { ACCESS_LOG_FORMAT } from "../../../lib/access-log-format.ts";

const publish = {
  method: "POST",
  url: "/v2/publish/https://example.com/hook?qstash_token=secret",
  status: 201,
  responseBytes: 43,
};

describe("accessLogLine (the access log the cost bench prices)", () => {
  it("is the stack's format with every variable filled in, the request's own values where it has them", () => {
    const line = accessLogLine(publish, ACCESS_LOG_FORMAT);
    expect(line).not.toContain("$context");
    const fields = JSON.parse(line) as Record<string, string>;
    expect(Object.keys(fields)).toEqual(Object.keys(JSON.parse(ACCESS_LOG_FORMAT) as object));
    expect(fields).toMatchObject({ method: "POST", path: "/v2/publish/https://example.com/hook", status: "201" });
    expect(line).not.toContain("qstash_token");
  });

  it("grows with the request's path, as API Gateway's line does", () => {
    const longer = accessLogLine(
      { ...publish, url: `/v2/publish/https://example.com/${"a".repeat(100)}` },
      ACCESS_LOG_FORMAT,
    );
    expect(longer.length - accessLogLine(publish, ACCESS_LOG_FORMAT).length).toBe(100 - "hook".length);
  });

  it("refuses a variable it has no value for, rather than pricing a shorter line", () => {
    expect(() => accessLogLine(publish, '{"x":"$context.authorizer.error"}')).toThrow(/authorizer\.error/);
  });
});
