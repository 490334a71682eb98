// Token checks below the HTTP layer: which token grants what, how a token is found in a request, and
// what is left of credentials in a loggable event. No timing assertions: constant time is by
// construction (sha256 digests of equal length, timingSafeEqual, no early exit), which the
// "strongest match wins whatever the order" cases below observe from the outside.
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { loggableEvent } from "../../../lambdas/adapters/aws/api-gateway.ts";
import { authorize, presentedToken, redactHeaders, redactQuery } from "../../../lambdas/api/auth.ts";
import type { ApiRequest } from "../../../lambdas/api/http.ts";
import { ROUTES } from "../../../lambdas/api/routes.ts";
import type { ApiToken, Keys } from "../../../lambdas/ports.ts";

const keysWith = (tokens: ApiToken[]): Keys => ({
  apiTokens: async () => tokens,
  signingKeys: async () => ({ current: "sig_c", next: "sig_n" }),
  rotateSigningKeys: async () => ({ current: "sig_n", next: "sig_x" }),
});

const request = (headers: Record<string, string>, rawQuery = ""): ApiRequest => ({
  method: "GET",
  path: "/v2/logs",
  rawQuery,
  headers,
  body: new Uint8Array(0),
});
const bearer = (token: string): ApiRequest => request({ authorization: `Bearer ${token}` });

async function rejection(promise: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { status: number; message: string };
  }
  throw new Error("expected a rejection");
}

describe("authorize", () => {
  const FULL = "hrld_full_token_0123456789";
  const READ = "hrld_read_token_0123456789";
  const keys = keysWith([
    { value: FULL, access: "write" },
    { value: READ, access: "read" },
    { value: "x", access: "write" }, // a short one: lengths differ, digests do not
    { value: "L".repeat(5000), access: "read" },
  ]);

  it("grants each accepted token its own access, wherever it is in the list", async () => {
    expect(await authorize(bearer(FULL), keys)).toBe("write");
    expect(await authorize(bearer(READ), keys)).toBe("read");
    expect(await authorize(bearer("x"), keys)).toBe("write");
    expect(await authorize(bearer("L".repeat(5000)), keys)).toBe("read");
    expect(await authorize(request({}, `qstash_token=${READ}`), keys)).toBe("read");
  });

  it("lets the strongest match win whatever the order: every token is compared", async () => {
    const same = "hrld_same";
    for (const tokens of [
      [
        { value: same, access: "read" as const },
        { value: same, access: "write" as const },
      ],
      [
        { value: same, access: "write" as const },
        { value: same, access: "read" as const },
      ],
    ]) {
      expect(await authorize(bearer(same), keysWith(tokens))).toBe("write");
    }
  });

  it.each([
    ["a wrong token", "hrld_wrong"],
    ["a prefix of the token", FULL.slice(0, -1)],
    ["the token with one more character", `${FULL}0`],
    ["the token in another case", FULL.toUpperCase()],
    ["two tokens joined", `${FULL},${READ}`],
    ["a very long token", "a".repeat(100_000)],
  ])("refuses %s with 401, without echoing it", async (_name, token) => {
    const error = await rejection(authorize(bearer(token), keys));
    expect(error.status).toBe(401);
    expect(error.message).not.toContain(token);
    expect(error.message).not.toContain(FULL);
  });

  it("refuses everything when no token is accepted", async () => {
    expect((await rejection(authorize(bearer(FULL), keysWith([])))).status).toBe(401);
  });
});

describe("presentedToken", () => {
  it.each([
    [{ authorization: "Bearer abc" }, "", "abc"],
    [{ authorization: "bearer   abc  " }, "", "abc"],
    [{ authorization: "Bearer abc" }, "qstash_token=other", "abc"], // the header wins
    [{}, "a=1&qstash_token=q%2Bt&b=2", "q+t"],
    [{ authorization: "Basic dXNlcjpwYXNz" }, "qstash_token=q", "q"], // a webhook sender's own auth
    [{ authorization: "Bearer " }, "", undefined],
    [{ authorization: "Bearer" }, "", undefined],
    [{ authorization: "Basic abc" }, "", undefined],
    [{ authorization: "Token abc" }, "", undefined],
    [{}, "qstash_token=%E0%A4%A", undefined], // undecodable
    [{}, "", undefined],
  ])("%o ?%s -> %s", (headers, rawQuery, expected) => {
    expect(presentedToken(request(headers, rawQuery))).toBe(expected);
  });
});

describe("route access", () => {
  it("lets read-only tokens call only GET routes, and not the one that reveals the signing keys", () => {
    for (const route of ROUTES) {
      const name = `${route.method} /${route.segments.join("/")}`;
      const expected = route.method === "GET" && name !== "GET /v2/keys" ? "read" : "write";
      expect({ name, access: route.access }).toEqual({ name, access: expected });
    }
  });
});

describe("redaction for logs", () => {
  it("replaces qstash_token values in a query, however the key is spelled", () => {
    expect(redactQuery("a=1&qstash_token=secret&QSTASH_TOKEN=s2&qstash%5Ftoken=s3&b")).toBe(
      "a=1&qstash_token=[redacted]&QSTASH_TOKEN=[redacted]&qstash%5Ftoken=[redacted]&b",
    );
    expect(redactQuery("%E0%A4%A=x")).toBe("%E0%A4%A=x");
  });

  it("replaces credentials in headers and in a whole API Gateway event", () => {
    expect(redactHeaders({ authorization: "Bearer s", "upstash-forward-authorization": "x", host: "h" })).toEqual({
      authorization: "[redacted]",
      "upstash-forward-authorization": "[redacted]",
      host: "h",
    });
    const event = {
      version: "2.0",
      rawPath: "/v2/publish/https:/example.com",
      rawQueryString: "qstash_token=secret&x=1",
      queryStringParameters: { qstash_token: "secret", x: "1" },
      headers: { authorization: "Bearer secret", cookie: "session=secret", "content-type": "text/plain" },
      cookies: ["session=secret"],
      body: "hello",
    } as unknown as APIGatewayProxyEventV2;
    const logged = loggableEvent(event);
    expect(JSON.stringify(logged)).not.toContain("secret");
    expect(logged.queryStringParameters).toEqual({ qstash_token: "[redacted]", x: "1" });
    expect(logged.headers["content-type"]).toBe("text/plain");
    expect(logged.body).toBe("hello");
  });
});
