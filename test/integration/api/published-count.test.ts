// The publishing routes say how many messages a request accepted; the API Lambda records that as its
// Published metric (lambdas/handlers/api.ts). Duplicates and refused requests count none.
import { describe, expect, it } from "vitest";
import type { ApiRequest, ApiResponse } from "../../../lambdas/api/http.ts";
import { handleApiRequest } from "../../../lambdas/api/router.ts";
import { localContext } from "../../support/local.ts";

const ctx = localContext();

async function call(method: string, path: string, body = "", headers: Record<string, string> = {}) {
  const [token] = await ctx.keys.apiTokens();
  const request: ApiRequest = {
    method,
    path,
    rawQuery: "",
    headers: {
      authorization: `Bearer ${token?.value}`,
      "content-type": "application/json",
      // As both platforms hand them over: lower-case names.
      ...Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value])),
    },
    body: new TextEncoder().encode(body),
  };
  const response: ApiResponse = await handleApiRequest(ctx, request, () => undefined);
  expect(response.status, JSON.stringify(response.body)).toBeLessThan(500);
  return response;
}

describe("the Published count of a response", () => {
  it("is 1 for a publish and for an enqueue", async () => {
    expect((await call("POST", "/v2/publish/https://example.com/a", "{}")).published).toBe(1);
    expect((await call("POST", "/v2/enqueue/counted-queue/https://example.com/a", "{}")).published).toBe(1);
  });

  it("is one per endpoint for a URL group", async () => {
    const endpoints = ["a", "b", "c"].map((e) => ({ url: `https://example.com/${e}` }));
    await call("POST", "/v2/topics/counted-group/endpoints", JSON.stringify({ endpoints }));
    expect((await call("POST", "/v2/publish/counted-group", "{}")).published).toBe(3);
  });

  it("counts every message of a batch, URL group entries once per endpoint", async () => {
    const entries = [
      { destination: "https://example.com/1", body: "{}" },
      { destination: "counted-group", body: "{}" },
      { destination: "https://example.com/2", queue: "counted-queue", body: "{}" },
    ];
    expect((await call("POST", "/v2/batch", JSON.stringify(entries))).published).toBe(5);
  });

  it("leaves duplicates out", async () => {
    const dedup = { "Upstash-Deduplication-Id": "counted-once" };
    expect((await call("POST", "/v2/publish/https://example.com/d", "{}", dedup)).published).toBe(1);
    const again = await call("POST", "/v2/publish/https://example.com/d", "{}", dedup);
    expect(again.status).toBe(202);
    expect(again.published).toBe(0);
  });

  it("is absent on refused requests and on routes that publish nothing", async () => {
    const refused = await call("POST", "/v2/publish/not-a-url-or-group", "{}");
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.published).toBeUndefined();
    const schedule = await call("POST", "/v2/schedules/https://example.com/s", "{}", { "Upstash-Cron": "* * * * *" });
    expect(schedule.status).toBe(200);
    expect(schedule.published).toBeUndefined();
    expect((await call("GET", "/v2/messages")).published).toBeUndefined();
  });
});
