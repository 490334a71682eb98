import { describe, expect, it } from "vitest";
import { matchRoute } from "../../../lambdas/api/router.ts";

/** The matched route as "METHOD /fixed/segments[/:param]" plus its param, or the allowed methods. */
function route(method: string, path: string): { route?: string; param?: string; allowed: string[] } {
  const { match, allowed } = matchRoute(method, path);
  if (!match) return { allowed };
  const suffix =
    (match.route.param ? `/:${match.route.param}` : "") + (match.route.suffix ?? []).map((x) => `/${x}`).join("");
  return { route: `${match.route.method} /${match.route.segments.join("/")}${suffix}`, param: match.param, allowed };
}

describe("matchRoute: publish", () => {
  it("passes the raw remainder, with the destination's own slashes, as the param", () => {
    expect(route("POST", "/v2/publish/https://x.com/a?b")).toMatchObject({
      route: "POST /v2/publish/:rest",
      param: "https://x.com/a?b",
    });
    expect(route("POST", "/v2/publish/https://example.com/").param).toBe("https://example.com/");
    expect(route("POST", "/v2/publish/http://h//double//slash").param).toBe("http://h//double//slash");
  });

  it("does not decode the remainder", () => {
    expect(route("POST", "/v2/publish/https%3A%2F%2Fx.com%2Fa").param).toBe("https%3A%2F%2Fx.com%2Fa");
    expect(route("POST", "/v2/publish/https://x.com/a%20b").param).toBe("https://x.com/a%20b");
  });

  it("matches the fixed segments case-insensitively and keeps the remainder's case", () => {
    expect(route("POST", "/V2/Publish/HTTPS://X.com/A")).toMatchObject({
      route: "POST /v2/publish/:rest",
      param: "HTTPS://X.com/A",
    });
  });

  it("passes URL-group names and collapsed schemes through", () => {
    expect(route("POST", "/v2/publish/my-group.v1").param).toBe("my-group.v1");
    expect(route("POST", "/v2/publish/https:/host/p").param).toBe("https:/host/p");
  });

  it("tolerates extra leading slashes", () => {
    expect(route("POST", "//v2/publish/https://x.com").param).toBe("https://x.com");
  });

  it("needs a non-empty remainder", () => {
    expect(route("POST", "/v2/publish/")).toEqual({ allowed: [] });
    expect(route("POST", "/v2/publish")).toEqual({ allowed: [] });
    expect(route("POST", "/v2/publisher/https://x.com")).toEqual({ allowed: [] });
  });

  it("only allows POST", () => {
    expect(route("GET", "/v2/publish/https://x.com")).toEqual({ allowed: ["POST"] });
  });
});

describe("matchRoute: id routes and collections", () => {
  it("matches GET and DELETE of one message, decoding the id", () => {
    expect(route("GET", "/v2/messages/msg_123")).toMatchObject({ route: "GET /v2/messages/:id", param: "msg_123" });
    expect(route("DELETE", "/v2/messages/msg%5F1")).toMatchObject({ route: "DELETE /v2/messages/:id", param: "msg_1" });
    expect(route("GET", "/V2/MESSAGES/Msg_AbC").param).toBe("Msg_AbC");
  });

  it("accepts a trailing slash after an id", () => {
    expect(route("GET", "/v2/messages/msg_123/")).toMatchObject({ route: "GET /v2/messages/:id", param: "msg_123" });
  });

  it("maps a trailing slash to the collection: DELETE /v2/messages/ is the bulk cancel", () => {
    expect(route("DELETE", "/v2/messages/")).toMatchObject({ route: "DELETE /v2/messages", param: "" });
    expect(route("DELETE", "/v2/messages")).toMatchObject({ route: "DELETE /v2/messages", param: "" });
  });

  it("does not read an empty id", () => {
    expect(route("GET", "/v2/messages/")).toEqual({ allowed: ["DELETE"] });
    expect(route("GET", "/v2/messages")).toEqual({ allowed: ["DELETE"] });
  });

  it("rejects undecodable ids and extra segments", () => {
    expect(route("GET", "/v2/messages/%E0%A4%A")).toEqual({ allowed: [] });
    expect(route("GET", "/v2/messages/a/b")).toEqual({ allowed: [] });
    expect(route("GET", "/v2/messages//a")).toEqual({ allowed: [] });
  });

  it("routes the DLQ endpoints", () => {
    expect(route("GET", "/v2/dlq")).toMatchObject({ route: "GET /v2/dlq", param: "" });
    expect(route("DELETE", "/v2/dlq/")).toMatchObject({ route: "DELETE /v2/dlq", param: "" });
    expect(route("GET", "/v2/dlq/1700000000000-abc")).toMatchObject({
      route: "GET /v2/dlq/:id",
      param: "1700000000000-abc",
    });
    expect(route("DELETE", "/v2/dlq/1-a")).toMatchObject({ route: "DELETE /v2/dlq/:id", param: "1-a" });
    expect(route("POST", "/v2/dlq/retry")).toMatchObject({ route: "POST /v2/dlq/retry", param: "" });
    expect(route("POST", "/v2/dlq/retry/1-a")).toMatchObject({ route: "POST /v2/dlq/retry/:id", param: "1-a" });
  });

  it("routes logs, events and signing keys", () => {
    expect(route("GET", "/v2/logs").route).toBe("GET /v2/logs");
    expect(route("GET", "/v2/events/").route).toBe("GET /v2/events");
    expect(route("GET", "/v2/keys").route).toBe("GET /v2/keys");
    expect(route("POST", "/v2/keys/rotate").route).toBe("POST /v2/keys/rotate");
    expect(route("POST", "/v2/Rotate").route).toBe("POST /v2/rotate");
  });
});

describe("matchRoute: misses", () => {
  it("lists the allowed methods when the path exists", () => {
    expect(route("POST", "/v2/messages/msg_1").allowed.sort()).toEqual(["DELETE", "GET"]);
    expect(route("PUT", "/v2/dlq").allowed.sort()).toEqual(["DELETE", "GET"]);
    expect(route("GET", "/v2/keys/rotate")).toEqual({ allowed: ["POST"] });
    expect(route("PATCH", "/v2/logs")).toEqual({ allowed: ["GET"] });
  });

  it("returns no match and nothing allowed for unknown paths", () => {
    for (const path of ["/", "", "/v2", "/v1/publish/https://x.com", "/v2/unknown", "/v2/logs/extra", "/v2/keysx"]) {
      expect(route("GET", path)).toEqual({ allowed: [] });
    }
  });

  it("is case-sensitive about the method (callers upper-case it)", () => {
    expect(route("get", "/v2/logs")).toEqual({ allowed: ["GET"] });
  });
});

describe("matchRoute: resources with actions", () => {
  it("routes pause and resume of schedules under PATCH (the SDKs) and POST (the OpenAPI)", () => {
    expect(route("PATCH", "/v2/schedules/scd_1/pause")).toMatchObject({
      route: "PATCH /v2/schedules/:id/pause",
      param: "scd_1",
    });
    expect(route("POST", "/v2/schedules/scd_1/resume")).toMatchObject({
      route: "POST /v2/schedules/:id/resume",
      param: "scd_1",
    });
  });

  it("keeps a schedule's destination URL whole, even when it ends in /pause", () => {
    expect(route("POST", "/v2/schedules/https://x.com/pause")).toMatchObject({
      route: "POST /v2/schedules/:rest",
      param: "https://x.com/pause",
    });
    expect(route("POST", "/v2/schedules/my-group")).toMatchObject({ route: "POST /v2/schedules/:rest" });
  });

  it("routes enqueue, URL group endpoints, queue and flow-control actions", () => {
    expect(route("POST", "/v2/enqueue/q1/https://x.com/a")).toMatchObject({
      route: "POST /v2/enqueue/:rest",
      param: "q1/https://x.com/a",
    });
    expect(route("DELETE", "/v2/topics/team/endpoints")).toMatchObject({
      route: "DELETE /v2/topics/:id/endpoints",
      param: "team",
    });
    expect(route("GET", "/v2/topics/team").route).toBe("GET /v2/topics/:id");
    expect(route("POST", "/v2/queues/q1/pause").route).toBe("POST /v2/queues/:id/pause");
    expect(route("POST", "/v2/flowControl/k1/resetRate")).toMatchObject({
      route: "POST /v2/flowcontrol/:id/resetrate",
      param: "k1",
    });
    expect(route("GET", "/v2/globalParallelism").route).toBe("GET /v2/globalparallelism");
    expect(route("GET", "/v2/queues/q1/pause").allowed).toEqual(["POST"]);
  });
});
