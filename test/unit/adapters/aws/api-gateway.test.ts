import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { fromApiGatewayEvent, toApiGatewayResponse } from "../../../../lambdas/adapters/aws/api-gateway.ts";
import { matchRoute } from "../../../../lambdas/api/router.ts";
import { parseDestination } from "../../../../lambdas/core/destination.ts";

function event(overrides: Partial<APIGatewayProxyEventV2>): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/",
    rawQueryString: "",
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      accountId: "1",
      apiId: "a",
      domainName: "x",
      domainPrefix: "x",
      http: { method: "POST", path: "/", protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "" },
      requestId: "r",
      routeKey: "$default",
      stage: "$default",
      time: "",
      timeEpoch: 0,
    },
    ...overrides,
  } as APIGatewayProxyEventV2;
}

describe("API Gateway payload 2.0 mapping", () => {
  it("turns a publish whose // API Gateway collapsed back into the destination the producer meant", () => {
    const request = fromApiGatewayEvent(
      event({
        rawPath: "/v2/publish/https:/example.com/hook",
        rawQueryString: "a=1&qstash_token=t&upstash-retries=2",
        headers: { "content-type": "application/json", "upstash-forward-x": "1" },
        body: Buffer.from([0, 255, 10]).toString("base64"),
        isBase64Encoded: true,
      }),
    );
    expect(request).toMatchObject({
      method: "POST",
      sourceIp: "203.0.113.7",
      headers: { "content-type": "application/json" },
    });
    expect([...request.body]).toEqual([0, 255, 10]);
    const { match } = matchRoute(request.method, request.path);
    expect(match?.param).toBe("https:/example.com/hook");
    expect(parseDestination(match?.param as string, request.rawQuery)).toEqual({
      kind: "url",
      url: "https://example.com/hook?a=1",
    });
  });

  it("reads a text body and answers with JSON", () => {
    expect(new TextDecoder().decode(fromApiGatewayEvent(event({ body: "héllo" })).body)).toBe("héllo");
    expect(fromApiGatewayEvent(event({})).body.byteLength).toBe(0);
    expect(toApiGatewayResponse({ status: 404, body: { error: "nope" } })).toEqual({
      statusCode: 404,
      headers: { "content-type": "application/json" },
      body: '{"error":"nope"}',
    });
  });
});
