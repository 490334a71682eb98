import { createHash, createHmac } from "node:crypto";
import { Receiver } from "@upstash/qstash";
import fc from "fast-check";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { bodyHash, signDelivery } from "../../../lambdas/core/signature.ts";

const CURRENT = "sig_currentCurrentCurrentCurrent00";
const NEXT = "sig_nextNextNextNextNextNextNext0000";
const URL_ = "https://example.com/api/hook?a=1&b=two";
const encoder = new TextEncoder();

function decodePart(jwt: string, index: number): Record<string, unknown> {
  const part = jwt.split(".")[index];
  if (part === undefined) throw new Error("not a compact JWS");
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}

const sign = (body: string | Uint8Array, overrides: Partial<Parameters<typeof signDelivery>[0]> = {}) =>
  signDelivery({
    signingKey: CURRENT,
    url: URL_,
    body: typeof body === "string" ? encoder.encode(body) : body,
    nowMs: Date.now(),
    jwtId: "jwt_abc123",
    ...overrides,
  });

describe("bodyHash", () => {
  it("is base64url SHA-256 with a trailing =", () => {
    const expected = createHash("sha256").update("hello").digest("base64url");
    expect(bodyHash(encoder.encode("hello"))).toBe(`${expected}=`);
    expect(bodyHash(new Uint8Array())).toBe("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=");
  });

  it("hashes the exact bytes, including binary", () => {
    const bytes = new Uint8Array([0, 255, 1, 254, 0x80]);
    expect(bodyHash(bytes)).toBe(`${createHash("sha256").update(bytes).digest("base64url")}=`);
    expect(bodyHash(bytes)).not.toBe(bodyHash(new Uint8Array([0, 255, 1, 254, 0x81])));
  });
});

describe("signDelivery", () => {
  it("is verified by the official Receiver with the current key", async () => {
    const body = '{"hello":"wörld"}';
    const signature = await sign(body);
    const receiver = new Receiver({ currentSigningKey: CURRENT, nextSigningKey: NEXT });
    await expect(receiver.verify({ signature, body, url: URL_ })).resolves.toBe(true);
    await expect(receiver.verify({ signature, body })).resolves.toBe(true);
  });

  it("is verified when the receiver only knows the key as its next key (rotation)", async () => {
    const signature = await sign("x", { signingKey: NEXT });
    const receiver = new Receiver({ currentSigningKey: CURRENT, nextSigningKey: NEXT });
    await expect(receiver.verify({ signature, body: "x", url: URL_ })).resolves.toBe(true);
  });

  it("is rejected for another URL, another body or a wrong key", async () => {
    const body = "payload";
    const signature = await sign(body);
    const receiver = new Receiver({ currentSigningKey: CURRENT, nextSigningKey: NEXT });
    await expect(receiver.verify({ signature, body, url: "https://example.com/api/hook?a=1" })).rejects.toThrow();
    await expect(receiver.verify({ signature, body: `${body} `, url: URL_ })).rejects.toThrow();
    const strangers = new Receiver({ currentSigningKey: "sig_wrong1", nextSigningKey: "sig_wrong2" });
    await expect(strangers.verify({ signature, body, url: URL_ })).rejects.toThrow();
  });

  it("is rejected once expired", async () => {
    const signature = await sign("x", { nowMs: Date.now() - 3_600_000 });
    const receiver = new Receiver({ currentSigningKey: CURRENT, nextSigningKey: NEXT });
    await expect(receiver.verify({ signature, body: "x", url: URL_ })).rejects.toThrow();
  });

  it("carries the documented header and claims", async () => {
    const nowMs = 1_725_323_658_779;
    const body = new Uint8Array([1, 2, 3]);
    const jwt = await signDelivery({ signingKey: CURRENT, url: URL_, body, nowMs, jwtId: "jwt_xyz" });
    expect(jwt.split(".")).toHaveLength(3);
    expect(decodePart(jwt, 0)).toEqual({ alg: "HS256", typ: "JWT" });
    const claims = decodePart(jwt, 1);
    expect(claims).toEqual({
      iss: "Upstash",
      sub: URL_,
      iat: 1_725_323_658,
      exp: 1_725_323_658 + 300,
      nbf: 0,
      jti: "jwt_xyz",
      body: bodyHash(body),
    });
    expect(claims.body).toMatch(/^[A-Za-z0-9_-]{43}=$/);
  });

  it("signs with HMAC-SHA256 keyed by the signing key's UTF-8 bytes", async () => {
    const jwt = await sign("x");
    const [header, payload, mac] = jwt.split(".");
    const expected = createHmac("sha256", Buffer.from(CURRENT, "utf8"))
      .update(`${header}.${payload}`)
      .digest("base64url");
    expect(mac).toBe(expected);
  });

  it("produces exactly the token jose's SignJWT produces, for any key, URL, body, time and id", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, unit: "grapheme" }),
        fc.webUrl({ withQueryParameters: true, withFragments: true }),
        fc.uint8Array({ maxLength: 512 }),
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        fc.string({ unit: "grapheme" }),
        async (signingKey, url, body, nowMs, jwtId) => {
          const iat = Math.floor(nowMs / 1000);
          const reference = await new SignJWT({ body: bodyHash(body) })
            .setProtectedHeader({ alg: "HS256", typ: "JWT" })
            .setIssuer("Upstash")
            .setSubject(url)
            .setIssuedAt(iat)
            .setExpirationTime(iat + 300)
            .setNotBefore(0)
            .setJti(jwtId)
            .sign(encoder.encode(signingKey));
          expect(signDelivery({ signingKey, url, body, nowMs, jwtId })).toBe(reference);
        },
      ),
      { numRuns: 300 },
    );
  });
});
